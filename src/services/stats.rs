//! Completion and declaration figures for EDI boards, from the tallies only, through
//! disclosure control.
//!
//! For one characteristic, every table a viewer can ask for (overall; org units at every level
//! of the tree; staff types; ranks) is built as ONE disclosure family and protected together,
//! so no suppressed cell can be recovered by combining tables. Completion columns (`declared`,
//! `prefer_not_to_say`, `blank`) and declaration columns (the catalogue's publication groups)
//! come from the same protected family, so they are consistent with each other too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::domain::catalogue::{Catalogue, PREFER_NOT_TO_SAY};
use crate::domain::disclosure::{
    build_family, protect, Dimension, FamilySpec, OrgUnit, PublishedCell, RowKind, Subtotal, Tally,
};
use crate::domain::disclosure::{DisclosureConfig, Published, RulesApplied};
use crate::error::{AppError, AppResult, FieldError};
use crate::store::{structure, Database};

use super::tallies::{self, CellKey};

/// The pre-defined breakdowns: no free filters, so figures cannot be differenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    #[default]
    Overall,
    OrgUnit,
    StaffType,
    Rank,
}

/// Which columns a response shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Completion,
    Distribution,
}

const DECLARED: &str = "declared";
const BLANK: &str = "blank";
const NO_RANK: &str = "no_rank";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FigureRow {
    /// Org unit, staff type or rank code; `overall` for the whole organisation.
    pub key: String,
    pub label: String,
    /// People in post; a number, or `"suppressed"`.
    #[schema(value_type = Object)]
    pub headcount: Published,
    /// One entry per column: `{column, count, percent}`; a count or percent may be
    /// `"suppressed"`, a percent `null` when the headcount is zero.
    #[schema(value_type = Vec<Object>)]
    pub cells: Vec<PublishedCell>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub characteristic: String,
    pub breakdown: Breakdown,
    /// For org units, the tree level shown (1 = the units directly under the top).
    pub level: Option<u32>,
    /// The moment the figures describe: live tallies at this time.
    pub as_at: String,
    pub columns: Vec<String>,
    pub rows: Vec<FigureRow>,
    /// The disclosure rules applied to every figure here.
    #[schema(value_type = Object)]
    pub rules: RulesApplied,
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
    let mut groups: Vec<String> = Vec::new();
    for option in &found.gateway.options {
        if option.publication_group != PREFER_NOT_TO_SAY
            && !groups.contains(&option.publication_group)
        {
            groups.push(option.publication_group.clone());
        }
    }
    groups.push(PREFER_NOT_TO_SAY.to_owned());
    Ok(groups)
}

/// What a viewer asked for: one characteristic, one pre-defined breakdown, one view.
pub struct FigureRequest {
    pub characteristic: String,
    pub breakdown: Breakdown,
    pub level: u32,
    pub view: View,
}

/// Figures already computed, served while their inputs are unchanged.
pub type FigureCache = super::figure_cache::FigureCache<Figures>;

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Figures for one characteristic of one organisation: from the cache while the tallies,
/// structure and catalogue they were computed from are unchanged, else computed afresh.
pub async fn figures(
    db: &Database,
    sealer: std::sync::Arc<Sealer>,
    config: DisclosureConfig,
    cache: &FigureCache,
    org: Uuid,
    request: FigureRequest,
) -> AppResult<Figures> {
    let shape = format!(
        "{:?}/{}/{:?}",
        request.breakdown, request.level, request.view
    );
    let key = super::figure_cache::Key::new(org, &request.characteristic, shape, &config);
    let org_key = org.to_string();
    // Read before the figures' own reads: see `figure_cache` on why that order is safe.
    let fingerprint = db
        .run(move |conn| Ok(super::figure_cache::fingerprint(conn, &org_key)))
        .await??;
    if let Some(mut cached) = cache.get(&key, &fingerprint) {
        // Nothing they count has changed since: they describe now too.
        cached.as_at = now();
        return Ok(cached);
    }
    let fresh = compute(db, sealer, config, org, request).await?;
    let cells = fresh.rows.iter().map(|r| r.cells.len() + 1).sum();
    cache.put(key, fingerprint, fresh.clone(), cells);
    Ok(fresh)
}

async fn compute(
    db: &Database,
    sealer: std::sync::Arc<Sealer>,
    config: DisclosureConfig,
    org: Uuid,
    request: FigureRequest,
) -> AppResult<Figures> {
    let FigureRequest {
        characteristic,
        breakdown,
        level,
        view,
    } = request;
    let catalogue = super::catalogue::current(db, org).await?.document;
    let answers = publication_groups(&catalogue, &characteristic)?;
    let org_key = org.to_string();
    let (units, staff_types, ranks, cells) = db
        .run(move |conn| {
            let units = structure::list_units(conn, &org_key)?;
            let staff_types = structure::list_staff_types(conn, &org_key)?;
            let ranks = structure::list_ranks(conn, &org_key)?;
            Ok((
                units,
                staff_types,
                ranks,
                conn_cells(conn, &sealer, &org_key),
            ))
        })
        .await?;
    let cells = cells?;

    // The org-unit tree. A unit with children gets a "direct" child for people attached to it,
    // which always exists, so a parent is always the sum of its children.
    let parents: BTreeMap<String, Option<String>> = units
        .iter()
        .map(|u| (u.id.clone(), u.parent_id.clone()))
        .collect();
    let has_children: BTreeSet<String> = units.iter().filter_map(|u| u.parent_id.clone()).collect();
    let mut family_units: Vec<OrgUnit> = Vec::new();
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for unit in &units {
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
    for s in &staff_types {
        labels.insert(format!("staff_type:{}", s.code), s.name.clone());
    }
    for r in &ranks {
        labels.insert(format!("rank:{}", r.code), r.name.clone());
    }
    let mut rank_groups: Vec<String> = ranks.iter().map(|r| r.code.clone()).collect();
    rank_groups.push(NO_RANK.to_owned());
    labels.insert(
        format!("rank:{NO_RANK}"),
        "No rank (staff and volunteers)".into(),
    );

    let mut family_tallies = Vec::new();
    for (cell, counts) in &cells {
        let groups = vec![
            staff_codes
                .get(&cell.staff_type)
                .cloned()
                .unwrap_or_else(|| cell.staff_type.clone()),
            cell.rank
                .as_ref()
                .and_then(|r| rank_codes.get(r).cloned())
                .unwrap_or_else(|| NO_RANK.to_owned()),
        ];
        let org_unit = leaf_of(&cell.org_unit);
        for answer in &answers {
            family_tallies.push(Tally {
                org_unit: org_unit.clone(),
                groups: groups.clone(),
                answer: Some(answer.clone()),
                count: counts.count(&characteristic, answer),
            });
        }
        family_tallies.push(Tally {
            org_unit,
            groups,
            answer: None,
            count: counts.blank(&characteristic),
        });
    }
    let spec = FamilySpec {
        answers: answers.clone(),
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
    let family = build_family(&spec, &family_tallies).map_err(AppError::internal)?;
    let protected = protect(&family, &config).map_err(AppError::internal)?;

    let columns: Vec<String> = match view {
        View::Completion => vec![DECLARED.into(), PREFER_NOT_TO_SAY.into(), BLANK.into()],
        View::Distribution => answers.iter().cloned().chain([BLANK.to_owned()]).collect(),
    };
    let rows = protected
        .rows
        .into_iter()
        .filter(|row| match (&row.kind, breakdown) {
            (RowKind::Overall, Breakdown::Overall) => true,
            (RowKind::OrgUnit { depth, .. }, Breakdown::OrgUnit) => {
                let unit = row.key.trim_end_matches("/direct");
                let shown_depth = if row.key.ends_with("/direct") {
                    depth_of(unit) + 1
                } else {
                    *depth
                };
                shown_depth == level && *depth == shown_depth
            }
            (RowKind::Group { dimension }, Breakdown::StaffType) => dimension == "staff_type",
            (RowKind::Group { dimension }, Breakdown::Rank) => dimension == "rank",
            _ => false,
        })
        .map(|row| {
            let (key, label) = match &row.kind {
                RowKind::Overall => ("overall".to_owned(), "Whole organisation".to_owned()),
                RowKind::Group { dimension } => {
                    let label = labels
                        .get(&format!("{dimension}:{}", row.key))
                        .cloned()
                        .unwrap_or_else(|| row.key.clone());
                    (row.key.clone(), label)
                }
                RowKind::OrgUnit { .. } => {
                    let label = labels
                        .get(&row.key)
                        .cloned()
                        .unwrap_or_else(|| row.key.clone());
                    (row.key.clone(), label)
                }
            };
            FigureRow {
                key,
                label,
                headcount: row.headcount,
                cells: row
                    .cells
                    .into_iter()
                    .filter(|c| columns.contains(&c.column))
                    .collect(),
            }
        })
        .collect();
    Ok(Figures {
        characteristic,
        breakdown,
        level: (breakdown == Breakdown::OrgUnit).then_some(level),
        as_at: now(),
        columns,
        rows,
        rules: protected.rules,
    })
}

fn conn_cells(
    conn: &mut crate::store::Conn,
    sealer: &Sealer,
    org: &str,
) -> AppResult<Vec<(CellKey, crate::domain::tally::CellCounts)>> {
    tallies::load_org(conn, sealer, org)
}
