//! The table family the API offers for ONE characteristic: the overall row, org units (a tree,
//! at every level), and one-way breakdowns by other dimensions (staff type, rank). Every row
//! has the answer columns, `blank` and optional subtotal columns (e.g. `declared`), each a
//! perturbed count, and its headcount, exact. Every table a viewer can ask for is a selection
//! of these rows, protected by one pass of [`protect`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::noise::{cell_noise, NoiseSecret, Signature};
use super::{
    publish_rate, DisclosureConfig, DisclosureError, Published, PublishedRate, RulesApplied, METHOD,
};

/// Column key of the "no answer recorded" column.
pub const BLANK: &str = "blank";

/// An org unit in the family. Units with `parent: None` are top level. A unit with children
/// has no people of its own: the caller maps people attached higher up to a pseudo-unit (such
/// as "<unit> (not in a sub-unit)") so every person is in exactly one leaf.
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

/// A derived column: the people whose answer is one of `parts`. Perturbed as a population of
/// its own, like every other column.
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
    /// The characteristic, part of every cell key.
    pub characteristic: String,
    /// Answer group keys, e.g. `["yes", "no", "prefer_not_to_say"]`.
    pub answers: Vec<String>,
    /// Answers that say whether someone answered rather than what (prefer not to say): shown
    /// with completion even where the split of answers is not.
    pub status_answers: Vec<String>,
    pub subtotals: Vec<Subtotal>,
    pub org_units: Vec<OrgUnit>,
    pub dimensions: Vec<Dimension>,
}

/// The people of one leaf org unit and one group of each dimension (in the order of
/// [`FamilySpec::dimensions`]): how many, how many gave each answer, and the sum of their
/// contributions for this characteristic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Cell {
    pub org_unit: String,
    pub groups: Vec<String>,
    pub headcount: u64,
    pub answers: BTreeMap<String, u64>,
    pub signature: Signature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Answer,
    Blank,
    Subtotal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ColumnInfo {
    pub key: String,
    pub kind: ColumnKind,
    /// Part of the split of answers (hidden where fewer than G answered), rather than of
    /// completion.
    pub split: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RowKind {
    Overall,
    OrgUnit { parent: Option<String>, depth: u32 },
    Group { dimension: String },
}

/// One row of the family: exact counts, one per column, and what the noise is keyed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyRow {
    pub kind: RowKind,
    pub key: String,
    pub headcount: u64,
    /// One per column, in column order.
    pub counts: Vec<u64>,
    pub signature: Signature,
}

/// A built family: exact rows and columns, before protection. Never leaves the service.
#[derive(Debug, Clone)]
pub struct Family {
    characteristic: String,
    columns: Vec<ColumnInfo>,
    rows: Vec<FamilyRow>,
}

impl Family {
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns
    }

    /// Overall first, then org units in spec order, then each dimension's groups.
    pub fn rows(&self) -> &[FamilyRow] {
        &self.rows
    }
}

/// One published cell of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct PublishedCell {
    pub column: String,
    pub count: Published,
    /// Percentage of the row's headcount, from the published count.
    pub percent: PublishedRate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ProtectedRow {
    #[serde(flatten)]
    pub kind: RowKind,
    pub key: String,
    /// Exact: a reader is assumed to know every group's headcount.
    pub headcount: u64,
    /// Every column, in column order.
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

/// Build the family for one characteristic from its cells: every row's counts and signature
/// are sums over the cells it contains.
pub fn build_family(spec: &FamilySpec, cells: &[Cell]) -> Result<Family, DisclosureError> {
    if spec.answers.is_empty() {
        return Err(invalid("no answer columns"));
    }
    unique(spec.answers.iter().map(String::as_str), "answer")?;
    let mut columns: Vec<ColumnInfo> = spec
        .answers
        .iter()
        .map(|a| ColumnInfo {
            key: a.clone(),
            kind: ColumnKind::Answer,
            split: !spec.status_answers.contains(a),
        })
        .collect();
    columns.push(ColumnInfo {
        key: BLANK.into(),
        kind: ColumnKind::Blank,
        split: false,
    });
    let mut subtotal_parts = Vec::new();
    for s in &spec.subtotals {
        let parts = s
            .parts
            .iter()
            .map(|p| {
                spec.answers
                    .iter()
                    .position(|a| a == p)
                    .ok_or_else(|| invalid(format!("subtotal {} has unknown part {p}", s.key)))
            })
            .collect::<Result<BTreeSet<usize>, _>>()?;
        if parts.is_empty() || parts.len() != s.parts.len() {
            return Err(invalid(format!(
                "subtotal {} has no or repeated parts",
                s.key
            )));
        }
        subtotal_parts.push(parts);
        columns.push(ColumnInfo {
            key: s.key.clone(),
            kind: ColumnKind::Subtotal,
            split: false,
        });
    }
    unique(columns.iter().map(|c| c.key.as_str()), "column")?;

    // Rows.
    unique(spec.org_units.iter().map(|u| u.key.as_str()), "org unit")?;
    unique(spec.dimensions.iter().map(|d| d.key.as_str()), "dimension")?;
    let unit_index: BTreeMap<&str, usize> = spec
        .org_units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.key.as_str(), i))
        .collect();
    let parent_of = spec
        .org_units
        .iter()
        .map(|u| match &u.parent {
            None => Ok(None),
            Some(p) => unit_index
                .get(p.as_str())
                .copied()
                .map(Some)
                .ok_or_else(|| invalid(format!("org unit {} has unknown parent {p}", u.key))),
        })
        .collect::<Result<Vec<Option<usize>>, _>>()?;
    let mut rows: Vec<FamilyRow> = vec![empty_row(RowKind::Overall, "overall", columns.len())];
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
        let kind = RowKind::OrgUnit {
            parent: u.parent.clone(),
            depth,
        };
        rows.push(empty_row(kind, &u.key, columns.len()));
    }
    let mut dimension_rows = Vec::new();
    for d in &spec.dimensions {
        unique(d.groups.iter().map(String::as_str), "group")?;
        dimension_rows.push(rows.len());
        for g in &d.groups {
            let kind = RowKind::Group {
                dimension: d.key.clone(),
            };
            rows.push(empty_row(kind, g, columns.len()));
        }
    }

    // Every cell adds to its leaf, the leaf's ancestors, overall, and one group per dimension.
    let has_children: BTreeSet<usize> = parent_of.iter().flatten().copied().collect();
    let blank_col = spec.answers.len();
    for cell in cells {
        let &unit = unit_index
            .get(cell.org_unit.as_str())
            .ok_or_else(|| invalid(format!("cell in unknown org unit {}", cell.org_unit)))?;
        if has_children.contains(&unit) {
            return Err(invalid(format!(
                "cell at org unit {} which has sub-units",
                cell.org_unit
            )));
        }
        if cell.groups.len() != spec.dimensions.len() {
            return Err(invalid("cell has the wrong number of groups"));
        }
        let mut counts = vec![0u64; columns.len()];
        for (answer, &n) in &cell.answers {
            let at = spec
                .answers
                .iter()
                .position(|a| a == answer)
                .ok_or_else(|| invalid(format!("cell counts unknown answer {answer}")))?;
            counts[at] = n;
        }
        let answered: u64 = counts[..blank_col].iter().sum();
        counts[blank_col] = cell
            .headcount
            .checked_sub(answered)
            .ok_or_else(|| invalid("a cell has more answers than people"))?;
        for (s, parts) in subtotal_parts.iter().enumerate() {
            counts[blank_col + 1 + s] = parts.iter().map(|&p| counts[p]).sum();
        }
        let mut targets = vec![0];
        let mut at = Some(unit);
        while let Some(u) = at {
            targets.push(first_unit_row + u);
            at = parent_of[u];
        }
        for ((d, g), &first) in spec
            .dimensions
            .iter()
            .zip(&cell.groups)
            .zip(&dimension_rows)
        {
            let gi = d
                .groups
                .iter()
                .position(|x| x == g)
                .ok_or_else(|| invalid(format!("cell in unknown {} group {g}", d.key)))?;
            targets.push(first + gi);
        }
        for row in targets {
            let row = &mut rows[row];
            row.headcount = add(row.headcount, cell.headcount)?;
            for (total, &n) in row.counts.iter_mut().zip(&counts) {
                *total = add(*total, n)?;
            }
            row.signature = row.signature.plus(cell.signature);
        }
    }
    Ok(Family {
        characteristic: spec.characteristic.clone(),
        columns,
        rows,
    })
}

fn empty_row(kind: RowKind, key: &str, columns: usize) -> FamilyRow {
    FamilyRow {
        kind,
        key: key.to_owned(),
        headcount: 0,
        counts: vec![0; columns],
        signature: Signature::default(),
    }
}

fn add(a: u64, b: u64) -> Result<u64, DisclosureError> {
    a.checked_add(b).ok_or_else(|| invalid("count overflow"))
}

/// Protects a family: one pass over the rows, O(rows x columns), never failing.
pub fn protect(
    family: &Family,
    config: &DisclosureConfig,
    secret: &NoiseSecret,
) -> ProtectedFamily {
    let mut rules = RulesApplied {
        method: METHOD.to_owned(),
        noise_sd: config.noise_sd(),
        min_cell: config.min_cell,
        min_group: config.min_group,
        round_to: config.round_to,
        rate_decimals: config.rate_decimals,
        refresh_seconds: config.refresh_seconds,
        small_count_suppressions: 0,
        small_group_suppressions: 0,
    };
    let rows = family
        .rows
        .iter()
        .map(|row| protect_row(family, row, config, secret, &mut rules))
        .collect();
    ProtectedFamily {
        columns: family.columns.clone(),
        rows,
        rules,
    }
}

fn protect_row(
    family: &Family,
    row: &FamilyRow,
    config: &DisclosureConfig,
    secret: &NoiseSecret,
    rules: &mut RulesApplied,
) -> ProtectedRow {
    let headcount = row.headcount;
    let published: Vec<Published> = if headcount == 0 {
        // An empty group says nothing about anyone.
        vec![Published::Count(0); row.counts.len()]
    } else if headcount < config.min_group {
        rules.small_group_suppressions += row.counts.len();
        vec![Published::Suppressed; row.counts.len()]
    } else {
        let mut cells: Vec<Published> = family
            .columns
            .iter()
            .zip(&row.counts)
            .map(|(column, &count)| {
                let noise = cell_noise(
                    secret,
                    row.signature,
                    headcount,
                    &family.characteristic,
                    &column.key,
                    config.noise_sd(),
                );
                perturbed(count, noise, config, rules)
            })
            .collect();
        // "All who answered" is a group too: the split of answers is shown only when at least
        // G answered, both truly and as the published answers add up.
        let answers = family
            .columns
            .iter()
            .position(|c| c.kind == ColumnKind::Blank)
            .unwrap_or(cells.len());
        let answered: u64 = row.counts[..answers].iter().sum();
        let published_answered: u64 = cells[..answers].iter().filter_map(|p| p.count()).sum();
        if answered < config.min_group || published_answered < config.min_group {
            for (cell, column) in cells.iter_mut().zip(&family.columns) {
                if column.split && !cell.is_suppressed() {
                    *cell = Published::Suppressed;
                    rules.small_group_suppressions += 1;
                }
            }
        }
        cells
    };
    ProtectedRow {
        kind: row.kind.clone(),
        key: row.key.clone(),
        headcount,
        cells: family
            .columns
            .iter()
            .zip(published)
            .map(|(column, count)| PublishedCell {
                column: column.key.clone(),
                count,
                percent: publish_rate(count, headcount, config),
            })
            .collect(),
    }
}

/// `max(0, count + noise)`, then the small-count rule, then rounding.
fn perturbed(
    count: u64,
    noise: i64,
    config: &DisclosureConfig,
    rules: &mut RulesApplied,
) -> Published {
    let value = i128::from(count) + i128::from(noise);
    let value = u64::try_from(value.max(0)).unwrap_or(u64::MAX);
    if value > 0 && value < config.min_cell {
        rules.small_count_suppressions += 1;
        return Published::Suppressed;
    }
    Published::Count(match config.round_to {
        Some(base) if base > 1 => value.saturating_add(base / 2) / base * base,
        _ => value,
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
