//! Completion arithmetic for one characteristic.
//!
//! For a group of staff (an org unit, a staff type, a rank band, or the whole force) and one
//! characteristic, the service knows three counts:
//!
//! - `headcount`: people in the group;
//! - `declared`: people who gave any answer other than "prefer not to say";
//! - `prefer_not_to_say`: people who chose "prefer not to say".
//!
//! Everyone else is `blank` (never answered): `blank = headcount - declared - prefer_not_to_say`,
//! computed with checked arithmetic; a negative result is an error, never a wrap-around.
//!
//! Rates are percentages of the headcount (`0.0..=100.0`), `None` when the headcount is zero.
//! These figures are RAW: anything that leaves the service must go through
//! [`super::disclosure`] first.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Raw counts for one group and one characteristic, as kept by the tallies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct GroupCounts {
    pub headcount: u64,
    /// Any answer other than "prefer not to say".
    pub declared: u64,
    pub prefer_not_to_say: u64,
}

/// Completion figures for one group and one characteristic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Completion {
    pub headcount: u64,
    pub declared: u64,
    pub prefer_not_to_say: u64,
    /// `headcount - declared - prefer_not_to_say`.
    pub blank: u64,
    /// `declared + prefer_not_to_say`: people who answered the question at all.
    pub answered: u64,
    pub rates: CompletionRates,
}

/// Percentages of the headcount, unrounded; `None` when the headcount is zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct CompletionRates {
    /// `answered / headcount`: the completion rate boards hold command areas to.
    pub completion: Option<f64>,
    pub declared: Option<f64>,
    pub prefer_not_to_say: Option<f64>,
    pub blank: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CompletionError {
    #[error(
        "declared ({declared}) plus prefer not to say ({prefer_not_to_say}) exceeds the headcount ({headcount})"
    )]
    AnswersExceedHeadcount {
        headcount: u64,
        declared: u64,
        prefer_not_to_say: u64,
    },
}

impl GroupCounts {
    pub fn new(headcount: u64, declared: u64, prefer_not_to_say: u64) -> Self {
        Self {
            headcount,
            declared,
            prefer_not_to_say,
        }
    }

    /// `headcount - declared - prefer_not_to_say`, or an error if that is negative (or the sum
    /// of answers overflows).
    pub fn blank(&self) -> Result<u64, CompletionError> {
        self.declared
            .checked_add(self.prefer_not_to_say)
            .and_then(|answered| self.headcount.checked_sub(answered))
            .ok_or(CompletionError::AnswersExceedHeadcount {
                headcount: self.headcount,
                declared: self.declared,
                prefer_not_to_say: self.prefer_not_to_say,
            })
    }

    /// All completion figures (counts and unrounded percentages).
    pub fn completion(&self) -> Result<Completion, CompletionError> {
        let blank = self.blank()?;
        let answered = self.headcount - blank;
        let of_headcount = |n: u64| percent(n, self.headcount);
        Ok(Completion {
            headcount: self.headcount,
            declared: self.declared,
            prefer_not_to_say: self.prefer_not_to_say,
            blank,
            answered,
            rates: CompletionRates {
                completion: of_headcount(answered),
                declared: of_headcount(self.declared),
                prefer_not_to_say: of_headcount(self.prefer_not_to_say),
                blank: of_headcount(blank),
            },
        })
    }
}

impl CompletionRates {
    /// The same rates rounded half away from zero to `decimals` places.
    pub fn rounded(&self, decimals: u32) -> Self {
        let r = |v: Option<f64>| v.map(|v| round_decimals(v, decimals));
        Self {
            completion: r(self.completion),
            declared: r(self.declared),
            prefer_not_to_say: r(self.prefer_not_to_say),
            blank: r(self.blank),
        }
    }
}

/// `100 * numerator / denominator`, unrounded; `None` when the denominator is zero.
pub fn percent(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator != 0).then(|| 100.0 * numerator as f64 / denominator as f64)
}

/// `100 * numerator / denominator` rounded half away from zero to `decimals` places, computed
/// from the exact integers (so 1/8 = 12.5 rounds to 13 at 0 decimals, with no binary-float
/// surprises); `None` when the denominator is zero.
pub fn percent_rounded(numerator: u64, denominator: u64, decimals: u32) -> Option<f64> {
    if denominator == 0 {
        return None;
    }
    // Work in u128: scaled = round(100 * 10^d * n / den), exactly.
    let decimals = decimals.min(12);
    let scale = 10u128.pow(decimals);
    let num = 100u128 * scale * numerator as u128;
    let den = denominator as u128;
    let scaled = (2 * num + den) / (2 * den);
    Some(scaled as f64 / scale as f64)
}

/// Round a float half away from zero to `decimals` places.
pub fn round_decimals(value: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals.min(12) as i32);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_the_remainder() {
        let c = GroupCounts::new(20, 12, 3).completion().unwrap();
        assert_eq!(c.blank, 5);
        assert_eq!(c.answered, 15);
        assert_eq!(c.rates.completion, Some(75.0));
        assert_eq!(c.rates.declared, Some(60.0));
        assert_eq!(c.rates.prefer_not_to_say, Some(15.0));
        assert_eq!(c.rates.blank, Some(25.0));
    }

    #[test]
    fn negative_blank_is_an_error() {
        let err = GroupCounts::new(10, 8, 3).blank().unwrap_err();
        assert!(matches!(
            err,
            CompletionError::AnswersExceedHeadcount { .. }
        ));
        assert!(GroupCounts::new(u64::MAX, u64::MAX, 1).blank().is_err());
    }

    #[test]
    fn zero_headcount_has_no_rates() {
        let c = GroupCounts::new(0, 0, 0).completion().unwrap();
        assert_eq!(c.blank, 0);
        assert_eq!(c.rates.completion, None);
    }

    #[test]
    fn rounding_of_rates() {
        assert_eq!(percent_rounded(1, 3, 1), Some(33.3));
        assert_eq!(percent_rounded(2, 3, 1), Some(66.7));
        assert_eq!(percent_rounded(1, 8, 0), Some(13.0));
        assert_eq!(percent_rounded(1, 0, 1), None);
        let r = GroupCounts::new(3, 1, 1)
            .completion()
            .unwrap()
            .rates
            .rounded(1);
        assert_eq!(r.declared, Some(33.3));
    }

    #[test]
    fn serializes_snake_case() {
        let c = GroupCounts::new(4, 2, 1).completion().unwrap();
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["prefer_not_to_say"], 1);
        assert_eq!(json["rates"]["blank"], 25.0);
    }
}
