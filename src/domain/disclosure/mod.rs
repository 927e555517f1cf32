//! Statistical disclosure control: the rule every published figure passes.
//!
//! # The rule
//!
//! Input is a [`Problem`]: non-negative integer cells (every figure a viewer may see, across
//! every table they may combine) and additive constraints `total = sum(parts)` that a viewer
//! is assumed to know (row and column totals, parent unit = sum of its children, overall = sum
//! over each dimension, headcount = answers + blank, subtotals).
//!
//! 1. **Primary suppression.** A cell with a count in `1..min_cell` (k, default 5) is
//!    suppressed. Zero is published as 0 unless [`DisclosureConfig::suppress_zeros`].
//! 2. **Small groups are not broken down.** For every [`BreakdownGroup`] (a row: headcount and
//!    its parts) whose headcount fails [`may_break_down`], every part is suppressed, zeros
//!    included (otherwise "0 blank" in a team of 3 says all three answered).
//! 3. **Secondary suppression.** Repeat until every suppressed cell has a witness (below):
//!    take the lowest-id suppressed cell for which the witness search over the suppressed
//!    cells finds none (a cell a viewer could pin down by linear recovery, or by the zero-sum
//!    rule where non-negativity forces cells to 0, has no witness, so it is among these),
//!    and suppress more published cells to protect it. The fix is the cheapest witness the
//!    search finds when it may also move published cells: fewest published cells first
//!    (iterative deepening up to 6), and among them the search tries, in every constraint,
//!    already-suppressed cells, then published ones by smallest non-zero count (zeros last: a
//!    suppressed zero can only move up, so it protects less), ties by id. So the first cell
//!    it adds is the smallest published count in a constraint containing the exposed cell,
//!    and the rest are the partners that cell needs in its own constraints (in a two-way
//!    table: the other corners of a rectangle). If that search fails (its node budget is
//!    bounded), one cell is added greedily: the smallest non-zero published count in a
//!    constraint containing the exposed cell, ties by id (then any constraint touching a
//!    suppressed cell, then any cell). Every round suppresses at least one more cell or
//!    certifies one more, so it terminates; rerunning on the same input gives the same
//!    result (no randomness, no hash order).
//! 4. **Rounding** (optional, [`DisclosureConfig::round_to`]) of published counts to the
//!    nearest multiple of the base, halves up, after suppression. Rounding is a presentation
//!    step only; protection comes from suppression, computed against exact published counts.
//!
//! # The guarantee
//!
//! Every suppressed cell ends with a **witness**: an integer change `d` to the suppressed cells
//! (entries -1, 0, +1) that keeps every constraint balanced, keeps every count non-negative,
//! and changes that cell. So two different non-negative integer tables agree on everything
//! published and on every constraint, and differ in that cell: nobody who knows only the
//! published cells, the constraints, integrality and non-negativity can work out its value,
//! whatever method they use (linear algebra, bounds, linear or integer programming). Witnesses
//! are verified exactly before they are accepted; a cell whose witness search runs out of
//! budget is treated as exposed, which costs extra suppression, never protection. If a cell can
//! not be protected at all (nothing left to suppress), [`protect_problem`] returns
//! [`DisclosureError::Unprotectable`] rather than publish.
//!
//! # Limits (read before relying on it)
//!
//! - The guarantee is non-uniqueness, not a protection interval: a viewer may learn that a
//!   suppressed cell is, say, 3 or 4. There is no minimum width of the feasible range.
//! - A viewer who knows the *rules* learns more than the constraints: a published count is 0
//!   or at least k, a group whose parts are published has headcount at least k. Those bounds
//!   are not part of the witness check.
//! - Outside knowledge (a colleague who knows some of the people) is out of scope: the ICO
//!   motivated-intruder test still needs pre-defined breakdowns and human judgement.
//! - Constraints the caller does not declare are not defended: every table a viewer can see
//!   together must be in one [`Problem`], and figures published at other times (differencing
//!   across snapshots) are not covered.
//! - Rates ([`publish_rate`]) use the exact counts, so with rounding on, a rate can narrow a
//!   rounded count back down; they are published only when both counts are published.
//! - Cost is bounded per witness search; very large families (thousands of suppressed cells)
//!   are slow in debug builds.

mod family;
mod problem;
mod suppress;
mod witness;

#[cfg(test)]
mod tests;

pub use family::{
    build_family, protect, ColumnInfo, ColumnKind, Dimension, Family, FamilyRow, FamilySpec,
    OrgUnit, ProtectedFamily, ProtectedRow, PublishedCell, RowKind, Subtotal, Tally, BLANK,
    HEADCOUNT,
};
pub use problem::{BreakdownGroup, Cell, CellId, Constraint, Problem};
pub use suppress::{protect_problem, CellStatus, Protection};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Disclosure control settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", default)]
pub struct DisclosureConfig {
    /// k: counts in `1..k` are suppressed, groups with headcount below k are not broken down.
    pub min_cell: u64,
    /// Treat 0 as sensitive too.
    pub suppress_zeros: bool,
    /// Round published counts to the nearest multiple of this base after suppression.
    pub round_to: Option<u64>,
    /// Decimal places of published rates (percentages).
    pub rate_decimals: u32,
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        Self {
            min_cell: 5,
            suppress_zeros: false,
            round_to: None,
            rate_decimals: 1,
        }
    }
}

/// Whether a group with this headcount may be broken down: headcount at least k, or an empty
/// group when zeros are not sensitive (its breakdown is all zeros and says nothing).
pub fn may_break_down(headcount: u64, config: &DisclosureConfig) -> bool {
    headcount >= config.min_cell || (headcount == 0 && !config.suppress_zeros)
}

/// A published count. Serializes as a JSON number, or as the string `"suppressed"`; a
/// suppressed cell is never shown as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    Count(u64),
    Suppressed,
}

impl Published {
    pub fn count(self) -> Option<u64> {
        match self {
            Published::Count(n) => Some(n),
            Published::Suppressed => None,
        }
    }

    pub fn is_suppressed(self) -> bool {
        self == Published::Suppressed
    }
}

const SUPPRESSED: &str = "suppressed";

impl Serialize for Published {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Published::Count(n) => s.serialize_u64(*n),
            Published::Suppressed => s.serialize_str(SUPPRESSED),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText<T> {
    Number(T),
    Text(String),
    Null,
}

impl<'de> Deserialize<'de> for Published {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumberOrText::<u64>::deserialize(d)? {
            NumberOrText::Number(n) => Ok(Published::Count(n)),
            NumberOrText::Text(t) if t == SUPPRESSED => Ok(Published::Suppressed),
            _ => Err(serde::de::Error::custom(
                "expected a count or \"suppressed\"",
            )),
        }
    }
}

/// A published percentage. Serializes as a JSON number, `"suppressed"`, or `null` when the
/// denominator is zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PublishedRate {
    Percent(f64),
    Suppressed,
    Undefined,
}

impl Serialize for PublishedRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PublishedRate::Percent(p) => s.serialize_f64(*p),
            PublishedRate::Suppressed => s.serialize_str(SUPPRESSED),
            PublishedRate::Undefined => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for PublishedRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NumberOrText::<f64>::deserialize(d)? {
            NumberOrText::Number(p) => Ok(PublishedRate::Percent(p)),
            NumberOrText::Text(t) if t == SUPPRESSED => Ok(PublishedRate::Suppressed),
            NumberOrText::Null => Ok(PublishedRate::Undefined),
            NumberOrText::Text(_) => Err(serde::de::Error::custom(
                "expected a percentage, \"suppressed\" or null",
            )),
        }
    }
}

/// `100 * numerator / denominator`, rounded to `rate_decimals`, from the EXACT counts; only
/// when both cells are published (a rate from a suppressed count would give it away, and one
/// from a suppressed denominator would give the denominator away). `Undefined` when the
/// denominator is zero.
pub fn publish_rate(
    numerator: (u64, Published),
    denominator: (u64, Published),
    config: &DisclosureConfig,
) -> PublishedRate {
    if numerator.1.is_suppressed() || denominator.1.is_suppressed() {
        return PublishedRate::Suppressed;
    }
    match super::completion::percent_rounded(numerator.0, denominator.0, config.rate_decimals) {
        Some(p) => PublishedRate::Percent(p),
        None => PublishedRate::Undefined,
    }
}

/// The rules applied to a response, for it to echo. Counts of suppressed cells only, never
/// which cell was suppressed for which reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct RulesApplied {
    pub min_cell: u64,
    pub suppress_zeros: bool,
    pub round_to: Option<u64>,
    pub rate_decimals: u32,
    pub primary_suppressions: usize,
    pub small_group_suppressions: usize,
    pub secondary_suppressions: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DisclosureError {
    #[error("unknown cell id {0}")]
    UnknownCell(usize),
    #[error("malformed constraint: {0}")]
    MalformedConstraint(&'static str),
    #[error(
        "constraint {constraint} does not hold: {total_label} is {total}, its parts sum to {sum_of_parts}"
    )]
    InconsistentCounts {
        constraint: usize,
        total_label: String,
        total: u128,
        sum_of_parts: u128,
    },
    #[error("cell {label} cannot be protected: nothing left to suppress")]
    Unprotectable { label: String },
    #[error("invalid table family: {0}")]
    InvalidFamily(String),
}
