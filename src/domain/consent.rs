//! Consent rules, pure: which purposes exist, and whether an employee's consent records allow
//! a declaration change under the organisation's current privacy notice.
//!
//! "Consent" here is the API's name for an explicit, voluntary agreement to a versioned
//! privacy notice (see STANDARDS.md "Lawful basis and consent"): the lawful basis is whatever
//! the notice states, but declaring stays voluntary and withdrawal is an instruction to erase.

use serde::{Deserialize, Serialize};

/// What an employee agrees their answers may be used for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Anonymised statistics. Required before any answer is stored; withdrawing it erases.
    EqualityMonitoring,
    /// Sharing a disability declaration with HR for workplace adjustments. Optional.
    WorkplaceAdjustments,
}

impl Purpose {
    pub const ALL: [Purpose; 2] = [Purpose::EqualityMonitoring, Purpose::WorkplaceAdjustments];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::EqualityMonitoring => "equality_monitoring",
            Purpose::WorkplaceAdjustments => "workplace_adjustments",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// One stored agreement: a purpose under one notice version, perhaps withdrawn since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub purpose: Purpose,
    pub notice_version: i64,
    pub withdrawn: bool,
}

/// Why a declaration change is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentProblem {
    /// Never agreed to monitoring, or withdrew it.
    Missing,
    /// Agreed to an older notice; the current one must be agreed before further changes.
    Stale { agreed: i64, current: i64 },
}

/// The live (not withdrawn) agreement with the highest notice version for `purpose`.
pub fn live(records: &[ConsentRecord], purpose: Purpose) -> Option<&ConsentRecord> {
    records
        .iter()
        .filter(|r| r.purpose == purpose && !r.withdrawn)
        .max_by_key(|r| r.notice_version)
}

/// Whether answers may be stored or changed: a live monitoring agreement to the current notice.
pub fn may_change_declaration(
    records: &[ConsentRecord],
    current_notice: i64,
) -> Result<(), ConsentProblem> {
    match live(records, Purpose::EqualityMonitoring) {
        None => Err(ConsentProblem::Missing),
        Some(r) if r.notice_version < current_notice => Err(ConsentProblem::Stale {
            agreed: r.notice_version,
            current: current_notice,
        }),
        Some(_) => Ok(()),
    }
}

/// A grant must name the notice the person actually read: the current one. Withdrawals are
/// honoured whatever version they name, because taking consent back must never be blocked.
pub fn grant_names_current(requested: i64, current: i64) -> Result<(), ConsentProblem> {
    if requested == current {
        Ok(())
    } else {
        Err(ConsentProblem::Stale {
            agreed: requested,
            current,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(purpose: Purpose, v: i64, withdrawn: bool) -> ConsentRecord {
        ConsentRecord {
            purpose,
            notice_version: v,
            withdrawn,
        }
    }

    #[test]
    fn no_record_or_withdrawn_means_missing() {
        assert_eq!(may_change_declaration(&[], 1), Err(ConsentProblem::Missing));
        let withdrawn = [rec(Purpose::EqualityMonitoring, 1, true)];
        assert_eq!(
            may_change_declaration(&withdrawn, 1),
            Err(ConsentProblem::Missing)
        );
        // Another purpose does not stand in for monitoring.
        let other = [rec(Purpose::WorkplaceAdjustments, 1, false)];
        assert_eq!(
            may_change_declaration(&other, 1),
            Err(ConsentProblem::Missing)
        );
    }

    #[test]
    fn an_older_notice_needs_a_fresh_grant() {
        let old = [rec(Purpose::EqualityMonitoring, 1, false)];
        assert_eq!(
            may_change_declaration(&old, 2),
            Err(ConsentProblem::Stale {
                agreed: 1,
                current: 2
            })
        );
        let fresh = [
            rec(Purpose::EqualityMonitoring, 1, false),
            rec(Purpose::EqualityMonitoring, 2, false),
        ];
        assert_eq!(may_change_declaration(&fresh, 2), Ok(()));
    }

    #[test]
    fn grants_must_name_the_current_notice() {
        assert!(grant_names_current(2, 2).is_ok());
        assert!(grant_names_current(1, 2).is_err());
        assert!(grant_names_current(3, 2).is_err());
    }

    #[test]
    fn purposes_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(Purpose::parse("marketing"), None);
    }
}
