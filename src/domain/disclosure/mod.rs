//! Statistical disclosure control: the rule every published figure passes.
//!
//! # The threat
//!
//! A motivated intruder: an EDI viewer who holds every table ever published (every breakdown,
//! level and view, live and from every snapshot, at every moment), and who knows what any
//! colleague knows: the structure, every group's headcount, who is in which team, staff type
//! and rank, and who joined, left, moved or declared between two publications. They combine
//! tables by any relation (the unit hierarchy, ranks within staff types, completion against
//! distribution, totals), by integer programming over all of them at once, and by differencing
//! two published states.
//!
//! # The method: cell-key perturbation (decision 0016)
//!
//! Exact counts cannot survive that intruder: the overall row alone, published exactly before
//! and after one person declares, tells what they declared. So every published count except
//! the headcount (which the intruder knows anyway) carries noise, fixed by the population
//! behind it, in the manner of ONS's Census 2021 tables and ABS TableBuilder:
//!
//! 1. **Record keys.** Each person has a secret record key, fixed for life (derived from the
//!    organisation's sealed secret and their id, never stored). For each characteristic a
//!    person who answered contributes `contribution(key, characteristic, group)`, a 64-bit
//!    value; tallies keep the sum of their members' contributions (a *signature*), sealed,
//!    so a row's signature is the sum of its cells' and costs O(cells).
//! 2. **Cell keys.** The noise of a published cell is drawn from
//!    `HMAC(secret, row signature, row headcount, characteristic, column)`, so it depends on
//!    exactly who is in the row and what each of them answered. The same population always
//!    gives the same figure (asking again, or from another breakdown of the same people,
//!    gains nothing), and any change in the row (a declaration, change, withdrawal, join,
//!    leave or move) draws all of the row's noise afresh, so the cells that did not change
//!    cannot be told from those that did.
//! 3. **The perturbation.** A two-sided geometric draw (`P(e) ∝ α^|e|`, standard deviation
//!    [`DisclosureConfig::noise_sd`]), published as `max(0, count + e)`. Its support is
//!    unbounded, so no published value rules any true count in or out: there are no bounds
//!    for integer programming to tighten, and zeros are perturbed too.
//! 4. **Small counts.** A perturbed count from 1 to k-1 ([`DisclosureConfig::min_cell`]) is
//!    shown as suppressed (`[c]`), following the threshold convention.
//! 5. **Groups.** A row whose headcount is under G ([`DisclosureConfig::min_group`]) is not
//!    broken down at all: only its headcount is published. A row in which fewer than G people
//!    answered (truly, or as its published answers add up) shows completion (declared, prefer
//!    not to say, blank) but not the split of answers. No published group under G can show
//!    all of its members, or all who answered, in one answer, nor all but any number of them.
//! 6. **Rounding** (optional, [`DisclosureConfig::round_to`]) after perturbation, for
//!    presentation only.
//!
//! The computation is one pass over the rows: O(rows x columns), no search, no failure.
//!
//! # The guarantee
//!
//! - Nothing a reader sees is an exact function of anyone's answer: every count but the
//!   headcount has noise of unbounded support, so every true table is consistent with what is
//!   published, and no cell or answer is pinned by arithmetic or integer bounds over any set of
//!   tables, whatever relations the reader knows.
//! - Two published states that differ by one person differ in every row containing that
//!   person by fresh noise in every column: an intruder who averages the change over every
//!   view containing the person guesses their answer little better than chance (measured in
//!   the attacker tests and stated in decision 0016 with the noise chosen).
//! - No group under G shows its members' answers (rule 5).
//!
//! # Limits (read before relying on it)
//!
//! - Perturbation is statistical protection, not a proof of zero information: each published
//!   state gives the intruder one noisy look at the people in it. Many *different* states of
//!   the same people (an intruder toggling their own answer to refresh the noise on a team
//!   that otherwise never changes) let them average. Publication epochs (figures refresh once
//!   a day by default, `DECLARE_FIGURES_REFRESH_SECONDS`) bound how many such states exist.
//! - Counts are not additive: a parent is not exactly the sum of its children, nor `declared`
//!   the sum of the answers. Rates are the perturbed count over the exact headcount.
//! - Small rows lose their breakdown entirely; boards read command areas, not teams of five.
//! - The noise is secret only while the organisation's secret is: whoever holds the database
//!   and the encryption key can compute it (they can open the answers anyway).

mod family;
mod noise;

#[cfg(test)]
mod tests;

pub use family::{
    build_family, protect, Cell, ColumnInfo, ColumnKind, Dimension, Family, FamilyRow, FamilySpec,
    OrgUnit, ProtectedFamily, ProtectedRow, PublishedCell, RowKind, Subtotal, BLANK,
};
pub use noise::{contribution, NoiseSecret, RecordKey, Signature};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Disclosure control settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", default)]
pub struct DisclosureConfig {
    /// k: perturbed counts from 1 to k-1 are shown as suppressed.
    pub min_cell: u64,
    /// G: a row under this headcount is not broken down; a row with fewer than this many
    /// answers shows completion but not the split of answers.
    pub min_group: u64,
    /// Standard deviation of the perturbation, in hundredths (500 = 5.0). 0 publishes exact
    /// counts, which protects nothing against differencing: for tests and demonstrations only
    /// (production refuses it).
    pub noise_sd_centi: u32,
    /// Round published counts to the nearest multiple of this base after perturbation.
    pub round_to: Option<u64>,
    /// Decimal places of published rates (percentages).
    pub rate_decimals: u32,
    /// Live figures move to a new publication epoch this often (seconds); between epochs the
    /// same question gets the same answer. 0: every request reads the tallies as they are.
    pub refresh_seconds: u64,
}

/// A day: boards read figures that change once a day, not on every write.
pub const DEFAULT_REFRESH_SECONDS: u64 = 86_400;

/// The default perturbation: standard deviation 5. Chosen so that an intruder who averages a
/// single change over every view containing the person (overall, every level of units, staff
/// type, rank) guesses a yes/no/prefer-not-to-say answer about 10 points above chance, against
/// 17 points at 4 and 100 points for exact figures (decision 0016).
pub const DEFAULT_NOISE_SD_CENTI: u32 = 500;

impl Default for DisclosureConfig {
    fn default() -> Self {
        Self {
            min_cell: 5,
            min_group: 10,
            noise_sd_centi: DEFAULT_NOISE_SD_CENTI,
            round_to: None,
            rate_decimals: 1,
            refresh_seconds: DEFAULT_REFRESH_SECONDS,
        }
    }
}

impl DisclosureConfig {
    /// The perturbation's standard deviation.
    pub fn noise_sd(&self) -> f64 {
        f64::from(self.noise_sd_centi) / 100.0
    }
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

/// `100 * count / headcount`, rounded to `rate_decimals`, from the PUBLISHED (perturbed)
/// count, never the exact one, and only when the count is published. `Undefined` when the
/// headcount is zero.
pub fn publish_rate(count: Published, headcount: u64, config: &DisclosureConfig) -> PublishedRate {
    let Published::Count(n) = count else {
        return PublishedRate::Suppressed;
    };
    match super::completion::percent_rounded(n, headcount, config.rate_decimals) {
        Some(p) => PublishedRate::Percent(p),
        None => PublishedRate::Undefined,
    }
}

/// The method's name in `rules`.
pub const METHOD: &str = "cell_key_perturbation";

/// The rules applied to a response, for it to echo: the method and every parameter, so a
/// board knows what a figure can and cannot mean. Counts of suppressed cells only, never
/// which cell was suppressed for which reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct RulesApplied {
    /// `cell_key_perturbation`.
    pub method: String,
    /// Standard deviation of the two-sided geometric noise on every count but the headcount.
    pub noise_sd: f64,
    pub min_cell: u64,
    pub min_group: u64,
    pub round_to: Option<u64>,
    pub rate_decimals: u32,
    /// How often live figures move to a new publication epoch, in seconds (0: at every
    /// request).
    pub refresh_seconds: u64,
    /// Perturbed counts from 1 to k-1, shown as suppressed.
    pub small_count_suppressions: usize,
    /// Cells of rows under G, or of answer splits with fewer than G answers.
    pub small_group_suppressions: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DisclosureError {
    #[error("invalid table family: {0}")]
    InvalidFamily(String),
}
