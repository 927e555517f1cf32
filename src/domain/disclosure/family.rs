//! The table family the API offers for ONE characteristic: the overall row, org units (a tree,
//! each parent the sum of its children, the top level summing to overall), and any number of
//! one-way breakdowns by other dimensions (staff type, rank band), each summing to overall.
//! Every row has the answer columns, `blank`, optional subtotal columns (e.g. `declared` =
//! every answer but prefer not to say) and `headcount` (the row total). All of it is one
//! [`Problem`], so figures a viewer could combine are protected together.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::problem::{CellId, Problem};
use super::suppress::protect_problem;
use super::{DisclosureConfig, DisclosureError, Published, PublishedRate, RulesApplied};

/// Column key of the "no answer recorded" column.
pub const BLANK: &str = "blank";
/// Column key of the row total.
pub const HEADCOUNT: &str = "headcount";

/// An org unit in the family. Units with `parent: None` are top level and sum to overall.
/// A unit with children must have no tallies of its own: the caller maps people to units at
/// the reported level (deeper units to their ancestor; people attached higher up to a
/// pseudo-unit such as "<unit> (not in a team)" that always exists), so that every parent is
/// exactly the sum of its children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct OrgUnit {
    pub key: String,
    pub parent: Option<String>,
}

/// A one-way breakdown (e.g. `staff_type` with groups `police_officer`, ...). Every person is
/// in exactly one group (use an explicit "not applicable" group where needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Dimension {
    pub key: String,
    pub groups: Vec<String>,
}

/// A derived column: the sum of some answer columns (and/or `blank`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Subtotal {
    pub key: String,
    pub parts: Vec<String>,
}

/// The shape of the family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct FamilySpec {
    /// Answer group keys, e.g. `["yes", "no", "prefer_not_to_say"]`.
    pub answers: Vec<String>,
    pub subtotals: Vec<Subtotal>,
    pub org_units: Vec<OrgUnit>,
    pub dimensions: Vec<Dimension>,
}

/// The count of people in one leaf org unit, one group of each dimension (in the order of
/// [`FamilySpec::dimensions`]) and one answer (`None`: blank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Tally {
    pub org_unit: String,
    pub groups: Vec<String>,
    pub answer: Option<String>,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Answer,
    Blank,
    Subtotal,
    Headcount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ColumnInfo {
    pub key: String,
    pub kind: ColumnKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RowKind {
    Overall,
    OrgUnit { parent: Option<String>, depth: u32 },
    Group { dimension: String },
}

/// One row of the family: its cells, one per column, in column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRow {
    pub kind: RowKind,
    pub key: String,
    pub cells: Vec<CellId>,
}

/// A built family: the [`Problem`] plus where each row and column landed.
#[derive(Debug, Clone)]
pub struct Family {
    problem: Problem,
    columns: Vec<ColumnInfo>,
    rows: Vec<FamilyRow>,
}

impl Family {
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns
    }

    /// Overall first, then org units in spec order, then each dimension's groups.
    pub fn rows(&self) -> &[FamilyRow] {
        &self.rows
    }

    /// The cell of a row (by index in [`Family::rows`]) and column key.
    pub fn cell(&self, row: usize, column: &str) -> Option<CellId> {
        let c = self.columns.iter().position(|c| c.key == column)?;
        self.rows.get(row).map(|r| r.cells[c])
    }
}

/// One published cell of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct PublishedCell {
    pub column: String,
    pub count: Published,
    /// Percentage of the row's headcount.
    pub percent: PublishedRate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ProtectedRow {
    #[serde(flatten)]
    pub kind: RowKind,
    pub key: String,
    pub headcount: Published,
    /// Every column but `headcount`, in column order.
    pub cells: Vec<PublishedCell>,
}

/// What the API returns: published cells only, and the rules applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ProtectedFamily {
    pub columns: Vec<ColumnInfo>,
    pub rows: Vec<ProtectedRow>,
    pub rules: RulesApplied,
}

fn invalid(msg: impl Into<String>) -> DisclosureError {
    DisclosureError::InvalidFamily(msg.into())
}

/// Build the family for one characteristic from leaf tallies. Counts of every row are sums of
/// tallies, so every constraint holds by construction.
pub fn build_family(spec: &FamilySpec, tallies: &[Tally]) -> Result<Family, DisclosureError> {
    // Columns.
    if spec.answers.is_empty() {
        return Err(invalid("no answer columns"));
    }
    let mut columns: Vec<ColumnInfo> = spec
        .answers
        .iter()
        .map(|a| ColumnInfo {
            key: a.clone(),
            kind: ColumnKind::Answer,
        })
        .collect();
    columns.push(ColumnInfo {
        key: BLANK.into(),
        kind: ColumnKind::Blank,
    });
    let base_columns = columns.len();
    let mut subtotal_parts = Vec::new();
    for s in &spec.subtotals {
        let parts = s
            .parts
            .iter()
            .map(|p| {
                columns[..base_columns]
                    .iter()
                    .position(|c| &c.key == p)
                    .ok_or_else(|| invalid(format!("subtotal {} has unknown part {p}", s.key)))
            })
            .collect::<Result<BTreeSet<usize>, _>>()?;
        if parts.is_empty() || parts.len() != s.parts.len() {
            return Err(invalid(format!(
                "subtotal {} has no or repeated parts",
                s.key
            )));
        }
        subtotal_parts.push(parts.into_iter().collect::<Vec<_>>());
        columns.push(ColumnInfo {
            key: s.key.clone(),
            kind: ColumnKind::Subtotal,
        });
    }
    columns.push(ColumnInfo {
        key: HEADCOUNT.into(),
        kind: ColumnKind::Headcount,
    });
    let headcount_col = columns.len() - 1;
    unique(columns.iter().map(|c| c.key.as_str()), "column")?;

    // Rows.
    let mut rows: Vec<(RowKind, String)> = vec![(RowKind::Overall, "overall".into())];
    let unit_index: BTreeMap<&str, usize> = spec
        .org_units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.key.as_str(), i))
        .collect();
    unique(spec.org_units.iter().map(|u| u.key.as_str()), "org unit")?;
    let mut parent_of = Vec::new();
    for u in &spec.org_units {
        let parent =
            match &u.parent {
                None => None,
                Some(p) => Some(*unit_index.get(p.as_str()).ok_or_else(|| {
                    invalid(format!("org unit {} has unknown parent {p}", u.key))
                })?),
            };
        parent_of.push(parent);
    }
    let first_unit_row = rows.len();
    for (i, u) in spec.org_units.iter().enumerate() {
        let mut depth = 0u32;
        let mut at = i;
        while let Some(p) = parent_of[at] {
            depth += 1;
            at = p;
            if depth as usize > spec.org_units.len() {
                return Err(invalid(format!("org unit {} is in a cycle", u.key)));
            }
        }
        rows.push((
            RowKind::OrgUnit {
                parent: u.parent.clone(),
                depth,
            },
            u.key.clone(),
        ));
    }
    let mut dimension_rows = Vec::new();
    for d in &spec.dimensions {
        unique(d.groups.iter().map(String::as_str), "group")?;
        let first = rows.len();
        for g in &d.groups {
            rows.push((
                RowKind::Group {
                    dimension: d.key.clone(),
                },
                g.clone(),
            ));
        }
        dimension_rows.push((first, d.groups.len()));
    }
    unique(spec.dimensions.iter().map(|d| d.key.as_str()), "dimension")?;

    // Counts: every tally adds to its leaf, the leaf's ancestors, overall, and one group of
    // each dimension.
    let has_children: BTreeSet<usize> = parent_of.iter().flatten().copied().collect();
    let mut counts = vec![vec![0u64; base_columns]; rows.len()];
    for t in tallies {
        let &unit = unit_index
            .get(t.org_unit.as_str())
            .ok_or_else(|| invalid(format!("tally for unknown org unit {}", t.org_unit)))?;
        if has_children.contains(&unit) {
            return Err(invalid(format!(
                "tally at org unit {} which has sub-units",
                t.org_unit
            )));
        }
        let column = match &t.answer {
            None => base_columns - 1,
            Some(a) => spec
                .answers
                .iter()
                .position(|x| x == a)
                .ok_or_else(|| invalid(format!("tally for unknown answer {a}")))?,
        };
        if t.groups.len() != spec.dimensions.len() {
            return Err(invalid("tally has the wrong number of groups"));
        }
        let mut targets = vec![0];
        let mut at = Some(unit);
        while let Some(u) = at {
            targets.push(first_unit_row + u);
            at = parent_of[u];
        }
        for ((d, g), (first, _)) in spec.dimensions.iter().zip(&t.groups).zip(&dimension_rows) {
            let gi = d
                .groups
                .iter()
                .position(|x| x == g)
                .ok_or_else(|| invalid(format!("tally for unknown {} group {g}", d.key)))?;
            targets.push(first + gi);
        }
        for row in targets {
            let cell = &mut counts[row][column];
            *cell = cell
                .checked_add(t.count)
                .ok_or_else(|| invalid("count overflow"))?;
        }
    }

    // Cells and constraints.
    let mut problem = Problem::new();
    let mut family_rows = Vec::with_capacity(rows.len());
    for ((kind, key), base) in rows.into_iter().zip(&counts) {
        let mut values = base.clone();
        for parts in &subtotal_parts {
            values.push(parts.iter().map(|&p| base[p]).sum());
        }
        values.push(base.iter().sum());
        let prefix = match &kind {
            RowKind::Overall => "overall".to_string(),
            RowKind::OrgUnit { .. } => format!("org_unit:{key}"),
            RowKind::Group { dimension } => format!("{dimension}:{key}"),
        };
        let cells: Vec<CellId> = columns
            .iter()
            .zip(values)
            .map(|(c, v)| problem.add_cell(format!("{prefix}/{}", c.key), v))
            .collect();
        problem.add_constraint(cells[headcount_col], cells[..base_columns].to_vec())?;
        for (s, parts) in subtotal_parts.iter().enumerate() {
            let parts = parts.iter().map(|&p| cells[p]).collect();
            problem.add_constraint(cells[base_columns + s], parts)?;
        }
        problem.add_breakdown_group(cells[headcount_col], cells[..headcount_col].to_vec())?;
        family_rows.push(FamilyRow { kind, key, cells });
    }
    for col in 0..columns.len() {
        let cell = |row: usize| family_rows[row].cells[col];
        let top: Vec<CellId> = (0..spec.org_units.len())
            .filter(|&u| parent_of[u].is_none())
            .map(|u| cell(first_unit_row + u))
            .collect();
        if !top.is_empty() {
            problem.add_constraint(cell(0), top)?;
        }
        for &parent in &has_children {
            let children = (0..spec.org_units.len())
                .filter(|&u| parent_of[u] == Some(parent))
                .map(|u| cell(first_unit_row + u))
                .collect();
            problem.add_constraint(cell(first_unit_row + parent), children)?;
        }
        for &(first, len) in &dimension_rows {
            if len > 0 {
                problem.add_constraint(cell(0), (first..first + len).map(cell).collect())?;
            }
        }
    }
    Ok(Family {
        problem,
        columns,
        rows: family_rows,
    })
}

/// Apply disclosure control to a family and lay the result out for the API.
pub fn protect(
    family: &Family,
    config: &DisclosureConfig,
) -> Result<ProtectedFamily, DisclosureError> {
    let protection = protect_problem(&family.problem, config)?;
    let headcount_col = family.columns.len() - 1;
    let rows = family
        .rows
        .iter()
        .map(|row| {
            let value = |c: CellId| (family.problem.cells()[c.0].count, protection.published(c));
            let headcount = value(row.cells[headcount_col]);
            ProtectedRow {
                kind: row.kind.clone(),
                key: row.key.clone(),
                headcount: headcount.1,
                cells: family.columns[..headcount_col]
                    .iter()
                    .zip(&row.cells)
                    .map(|(col, &c)| PublishedCell {
                        column: col.key.clone(),
                        count: value(c).1,
                        percent: super::publish_rate(value(c), headcount, config),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(ProtectedFamily {
        columns: family.columns.clone(),
        rows,
        rules: *protection.rules(),
    })
}

fn unique<'a>(keys: impl Iterator<Item = &'a str>, what: &str) -> Result<(), DisclosureError> {
    let mut seen = BTreeSet::new();
    for k in keys {
        if !seen.insert(k) {
            return Err(invalid(format!("duplicate {what} key {k}")));
        }
    }
    Ok(())
}
