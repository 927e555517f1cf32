//! What figures are computed from, and the computation itself.
//!
//! A [`Basis`] is everything one organisation's figures depend on: the catalogue version
//! (which answers publish under which group), the org-unit tree, staff types and ranks with
//! their labels, and the tally cells. [`live`] reads today's; a snapshot stores a frozen copy
//! ([`Frozen`]) and the catalogue version's id. [`protect_family`] is a pure function of the
//! basis, the characteristic and the disclosure settings, and [`table`] selects a request's rows
//! and columns from it, so equal bases give equal figures.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::domain::catalogue::{Catalogue, PREFER_NOT_TO_SAY};
use crate::domain::disclosure::{
    build_family, protect, Cell, Dimension, DisclosureConfig, FamilySpec, NoiseSecret, OrgUnit,
    PublishedCell, RowKind, RulesApplied, Subtotal,
};
use crate::domain::tally::{self as tally, CellCounts};
use crate::error::{AppError, AppResult, FieldError};
use crate::services::tallies;
use crate::store::{catalogue as catalogues, structure, Conn, Database};

use super::{Breakdown, FigureRequest, FigureRow, View};

const DECLARED: &str = "declared";
const BLANK: &str = "blank";
const NO_RANK: &str = "no_rank";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenUnit {
    pub id: String,
    pub parent_id: Option<String>,
    pub name: String,
}

/// A staff type or rank: its id (what tallies name), code (what figures show) and label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenCode {
    pub id: String,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenCell {
    pub org_unit: String,
    pub staff_type: String,
    pub rank: Option<String>,
    pub counts: CellCounts,
}

/// The structure and tallies as they were: what a snapshot seals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frozen {
    pub units: Vec<FrozenUnit>,
    pub staff_types: Vec<FrozenCode>,
    pub ranks: Vec<FrozenCode>,
    pub cells: Vec<FrozenCell>,
}

pub struct Basis {
    pub catalogue: Catalogue,
    pub frozen: Frozen,
    /// The organisation's perturbation secret: the noise is keyed on it.
    pub secret: NoiseSecret,
}

/// Reads the organisation's structure and opened tallies inside the caller's connection.
/// Tallies first: a unit created between the two reads only adds an empty row, while one
/// read before its tallies could be missing for them.
pub fn freeze(conn: &mut Conn, sealer: &Sealer, org: &str) -> AppResult<Frozen> {
    let cells = tallies::load_org(conn, sealer, org)?
        .into_iter()
        .map(|(key, counts)| FrozenCell {
            org_unit: key.org_unit,
            staff_type: key.staff_type,
            rank: key.rank,
            counts,
        })
        .collect();
    let units = structure::list_units(conn, org)?
        .into_iter()
        .map(|u| FrozenUnit {
            id: u.id,
            parent_id: u.parent_id,
            name: u.name,
        })
        .collect();
    let staff_types = structure::list_staff_types(conn, org)?
        .into_iter()
        .map(|s| FrozenCode {
            id: s.id,
            code: s.code,
            name: s.name,
        })
        .collect();
    let ranks = structure::list_ranks(conn, org)?
        .into_iter()
        .map(|r| FrozenCode {
            id: r.id,
            code: r.code,
            name: r.name,
        })
        .collect();
    Ok(Frozen {
        units,
        staff_types,
        ranks,
        cells,
    })
}

/// The organisation's current published catalogue version: (id, document).
pub fn current_catalogue(conn: &mut Conn, org: &str) -> AppResult<(String, Catalogue)> {
    let version = catalogues::current_published(conn, org)?
        .ok_or_else(|| AppError::NotFound("the organisation has no published catalogue".into()))?;
    let document = super::super::catalogue::parse_document(&version.document)?;
    Ok((version.id, document))
}

/// Today's basis.
pub async fn live(db: &Database, sealer: Arc<Sealer>, org: Uuid) -> AppResult<Basis> {
    let org = org.to_string();
    db.run(move |conn| {
        Ok((|| {
            let (_, catalogue) = current_catalogue(conn, &org)?;
            let frozen = freeze(conn, &sealer, &org)?;
            let secret = crate::services::noise::secret(conn, &sealer, &org)?;
            Ok(Basis {
                catalogue,
                frozen,
                secret,
            })
        })())
    })
    .await?
}

/// The answer groups a characteristic publishes under, in catalogue order, prefer-not-to-say last.
fn publication_groups(catalogue: &Catalogue, characteristic: &str) -> AppResult<Vec<String>> {
    let found = catalogue
        .characteristics
        .iter()
        .find(|c| c.code == characteristic)
        .ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "characteristic",
                "unknown_characteristic",
                format!("`{characteristic}` is not in the organisation's catalogue"),
            )])
        })?;
    Ok(tally::publication_groups(found))
}

/// True when the basis's catalogue has the characteristic.
pub fn knows(basis: &Basis, characteristic: &str) -> bool {
    publication_groups(&basis.catalogue, characteristic).is_ok()
}

/// [`protect_family`] on the blocking pool: disclosure control on a large family is CPU work
/// that must not stall an async worker serving other requests.
pub async fn protect_blocking(
    basis: Basis,
    characteristic: String,
    config: DisclosureConfig,
) -> AppResult<Protected> {
    crate::metrics::block(move || {
        let started = std::time::Instant::now();
        let protected = protect_family(&basis, &characteristic, &config);
        crate::metrics::disclosure_took(started.elapsed().as_secs_f64());
        protected
    })
    .await
    .map_err(AppError::internal)?
}

/// One protected table: the rows of the requested breakdown, the requested columns.
pub struct Table {
    /// For org units, the tree level shown (with a unit asked for: the level below it).
    pub level: Option<u32>,
    pub columns: Vec<String>,
    pub rows: Vec<FigureRow>,
    pub rules: RulesApplied,
}

/// Where a row of the family is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Overall,
    /// Among the org units at this level of the tree.
    Level(u32),
    StaffType,
    Rank,
    /// In no table (a unit's own people at a depth where its children are not shown).
    Nowhere,
}

#[derive(Debug, Clone)]
struct ProtectedRow {
    shown: Shown,
    /// For org-unit rows, the unit above (a unit's own people: that unit).
    parent: Option<String>,
    key: String,
    label: String,
    headcount: u64,
    cells: Vec<PublishedCell>,
}

/// One characteristic's whole family after disclosure control: every table a viewer can ask
/// for (any breakdown, level or view) is a selection from it, so it is protected once.
#[derive(Debug, Clone)]
pub struct Protected {
    answers: Vec<String>,
    rows: Vec<ProtectedRow>,
    rules: RulesApplied,
}

impl Protected {
    /// Published cells, as the figure cache weighs an entry.
    pub fn weight(&self) -> usize {
        self.rows.iter().map(|r| r.cells.len() + 1).sum()
    }
}

/// The rows and columns `request` asks for, from the protected family.
pub fn table(protected: &Protected, request: &FigureRequest) -> Table {
    let answers = &protected.answers;
    let columns: Vec<String> = match request.view {
        View::Completion => vec![DECLARED.into(), PREFER_NOT_TO_SAY.into(), BLANK.into()],
        View::Distribution => answers.iter().cloned().chain([BLANK.to_owned()]).collect(),
        View::Trend => [DECLARED.to_owned()]
            .into_iter()
            .chain(answers.iter().cloned())
            .chain([BLANK.to_owned()])
            .collect(),
    };
    // Scoped to a unit: its children, shown at the level below its own.
    let scope = match (&request.unit, request.breakdown) {
        (Some(unit), Breakdown::OrgUnit) => Some(unit.as_str()),
        _ => None,
    };
    let level = match scope {
        Some(unit) => protected.rows.iter().find_map(|row| match row.shown {
            Shown::Level(level) if row.key == unit => Some(level + 1),
            _ => None,
        }),
        None => (request.breakdown == Breakdown::OrgUnit).then_some(request.level),
    };
    let rows = protected
        .rows
        .iter()
        .filter(|row| match (&row.shown, request.breakdown) {
            (Shown::Overall, Breakdown::Overall) => true,
            (Shown::Level(shown), Breakdown::OrgUnit) => match scope {
                Some(unit) => row.parent.as_deref() == Some(unit) && Some(*shown) == level,
                None => *shown == request.level,
            },
            (Shown::StaffType, Breakdown::StaffType) => true,
            (Shown::Rank, Breakdown::Rank) => true,
            _ => false,
        })
        .map(|row| FigureRow {
            key: row.key.clone(),
            parent: row.parent.clone(),
            label: row.label.clone(),
            headcount: row.headcount,
            cells: columns
                .iter()
                .filter_map(|column| row.cells.iter().find(|c| &c.column == column))
                .cloned()
                .collect(),
        })
        .collect();
    Table {
        level,
        columns,
        rows,
        rules: protected.rules.clone(),
    }
}

/// Builds one characteristic's family from the basis and runs disclosure control on it.
pub fn protect_family(
    basis: &Basis,
    characteristic: &str,
    config: &DisclosureConfig,
) -> AppResult<Protected> {
    let answers = publication_groups(&basis.catalogue, characteristic)?;
    let Frozen {
        units,
        staff_types,
        ranks,
        cells,
    } = &basis.frozen;

    // The org-unit tree. A unit with children gets a "direct" child for people attached to it,
    // which always exists, so a parent is always the sum of its children.
    let parents: BTreeMap<String, Option<String>> = units
        .iter()
        .map(|u| (u.id.clone(), u.parent_id.clone()))
        .collect();
    let has_children: BTreeSet<String> = units.iter().filter_map(|u| u.parent_id.clone()).collect();
    let mut family_units: Vec<OrgUnit> = Vec::new();
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for unit in units {
        family_units.push(OrgUnit {
            key: unit.id.clone(),
            parent: unit.parent_id.clone(),
        });
        labels.insert(unit.id.clone(), unit.name.clone());
        if has_children.contains(&unit.id) {
            let direct = format!("{}/direct", unit.id);
            family_units.push(OrgUnit {
                key: direct.clone(),
                parent: Some(unit.id.clone()),
            });
            labels.insert(direct, format!("{} (not in a sub-unit)", unit.name));
        }
    }
    let leaf_of = |unit: &str| {
        if has_children.contains(unit) {
            format!("{unit}/direct")
        } else {
            unit.to_owned()
        }
    };
    let depth_of = |unit: &str| {
        let mut depth = 0u32;
        let mut at = parents.get(unit).cloned().flatten();
        while let Some(parent) = at {
            depth += 1;
            at = parents.get(&parent).cloned().flatten();
        }
        depth
    };

    let staff_codes: BTreeMap<String, String> = staff_types
        .iter()
        .map(|s| (s.id.clone(), s.code.clone()))
        .collect();
    let rank_codes: BTreeMap<String, String> = ranks
        .iter()
        .map(|r| (r.id.clone(), r.code.clone()))
        .collect();
    for s in staff_types {
        labels.insert(format!("staff_type:{}", s.code), s.name.clone());
    }
    for r in ranks {
        labels.insert(format!("rank:{}", r.code), r.name.clone());
    }
    let mut rank_groups: Vec<String> = ranks.iter().map(|r| r.code.clone()).collect();
    rank_groups.push(NO_RANK.to_owned());
    labels.insert(
        format!("rank:{NO_RANK}"),
        "No rank (staff and volunteers)".into(),
    );

    // An emptied cell may outlive its unit or staff type; it counts no one, so it is skipped
    // rather than fail the whole family.
    let family_cells: Vec<Cell> = cells
        .iter()
        .filter(|c| c.counts.headcount > 0)
        .map(|cell| {
            let counts = &cell.counts;
            Cell {
                org_unit: leaf_of(&cell.org_unit),
                groups: vec![
                    staff_codes
                        .get(&cell.staff_type)
                        .cloned()
                        .unwrap_or_else(|| cell.staff_type.clone()),
                    cell.rank
                        .as_ref()
                        .and_then(|r| rank_codes.get(r).cloned())
                        .unwrap_or_else(|| NO_RANK.to_owned()),
                ],
                headcount: counts.headcount,
                answers: answers
                    .iter()
                    .map(|a| (a.clone(), counts.count(characteristic, a)))
                    .filter(|(_, n)| *n > 0)
                    .collect(),
                signature: counts.signature(characteristic),
            }
        })
        .collect();
    let spec = FamilySpec {
        characteristic: characteristic.to_owned(),
        answers: answers.clone(),
        status_answers: vec![PREFER_NOT_TO_SAY.to_owned()],
        subtotals: vec![Subtotal {
            key: DECLARED.to_owned(),
            parts: answers
                .iter()
                .filter(|a| *a != PREFER_NOT_TO_SAY)
                .cloned()
                .collect(),
        }],
        org_units: family_units,
        dimensions: vec![
            Dimension {
                key: "staff_type".into(),
                groups: staff_types.iter().map(|s| s.code.clone()).collect(),
            },
            Dimension {
                key: "rank".into(),
                groups: rank_groups,
            },
        ],
    };
    let family = build_family(&spec, &family_cells).map_err(AppError::internal)?;
    let protected = protect(&family, config, &basis.secret);

    let rows = protected
        .rows
        .into_iter()
        .map(|row| {
            let parent = match &row.kind {
                RowKind::OrgUnit { parent, .. } => parent.clone(),
                _ => None,
            };
            let (shown, key, label) = match &row.kind {
                RowKind::Overall => (
                    Shown::Overall,
                    "overall".to_owned(),
                    "Whole organisation".to_owned(),
                ),
                RowKind::Group { dimension } => {
                    let label = labels
                        .get(&format!("{dimension}:{}", row.key))
                        .cloned()
                        .unwrap_or_else(|| row.key.clone());
                    let shown = match dimension.as_str() {
                        "staff_type" => Shown::StaffType,
                        "rank" => Shown::Rank,
                        _ => Shown::Nowhere,
                    };
                    (shown, row.key.clone(), label)
                }
                RowKind::OrgUnit { depth, .. } => {
                    // A unit's own people show beside its children, one level down.
                    let unit = row.key.trim_end_matches("/direct");
                    let shown_depth = if row.key.ends_with("/direct") {
                        depth_of(unit) + 1
                    } else {
                        *depth
                    };
                    let shown = if *depth == shown_depth {
                        Shown::Level(shown_depth)
                    } else {
                        Shown::Nowhere
                    };
                    let label = labels
                        .get(&row.key)
                        .cloned()
                        .unwrap_or_else(|| row.key.clone());
                    (shown, row.key.clone(), label)
                }
            };
            ProtectedRow {
                shown,
                parent,
                key,
                label,
                headcount: row.headcount,
                cells: row.cells,
            }
        })
        .collect();
    Ok(Protected {
        answers,
        rows,
        rules: protected.rules.clone(),
    })
}
