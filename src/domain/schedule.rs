//! When statistics snapshots fall due: on each configured publication date (31 March and
//! 30 September by default, the Home Office reporting dates) and on one day of every month.
//!
//! The rule a reader must keep: for each kind only the LATEST due date on or before today
//! counts, and only if the organisation already existed on it. A service that was down on
//! 31 March takes that snapshot when it comes back (late, and the snapshot says so); it never
//! back-fills years of missed months with today's data pretending to be theirs.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// A publication date: the figures a force publishes.
    Publication,
    /// The monthly snapshot that makes a trend.
    Monthly,
}

impl SnapshotKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Publication => "publication",
            SnapshotKind::Monthly => "monthly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "publication" => Some(SnapshotKind::Publication),
            "monthly" => Some(SnapshotKind::Monthly),
            _ => None,
        }
    }
}

/// The configured schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// (month, day) pairs.
    pub publication_dates: Vec<(u32, u32)>,
    /// Day of the month of the monthly snapshot (past the month's end means its last day);
    /// `None`: no monthly snapshots.
    pub monthly_day: Option<u32>,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            publication_dates: vec![(3, 31), (9, 30)],
            monthly_day: Some(1),
        }
    }
}

/// A snapshot that should exist: its period key (`2027-03-31`, `2027-04`) is unique per
/// organisation, which is what makes taking it idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub period: String,
    pub kind: SnapshotKind,
    pub due_on: NaiveDate,
}

impl Due {
    /// Taken after the day it describes.
    pub fn late(&self, today: NaiveDate) -> bool {
        today > self.due_on
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a MM-DD date")]
pub struct BadDate(pub String);

/// Parses `03-31,09-30`; `none` (or nothing) for no publication dates. 29 February is allowed
/// and falls due only in leap years.
pub fn parse_publication_dates(raw: &str) -> Result<Vec<(u32, u32)>, BadDate> {
    let raw = raw.trim();
    if raw.is_empty() || raw.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut dates = Vec::new();
    for part in raw.split(',') {
        let part = part.trim();
        let bad = || BadDate(part.to_owned());
        let (m, d) = part.split_once('-').ok_or_else(bad)?;
        let (m, d): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        // 2000 is a leap year, so 02-29 is accepted.
        NaiveDate::from_ymd_opt(2000, m, d).ok_or_else(bad)?;
        if !dates.contains(&(m, d)) {
            dates.push((m, d));
        }
    }
    dates.sort_unstable();
    Ok(dates)
}

/// The snapshots due on `today` for an organisation that has existed since `since`: at most
/// one of each kind, the latest whose date is on or before today and on or after `since`.
pub fn due(schedule: &Schedule, today: NaiveDate, since: NaiveDate) -> Vec<Due> {
    let mut out = Vec::new();
    let latest_publication = [today.year(), today.year() - 1]
        .into_iter()
        .flat_map(|year| {
            schedule
                .publication_dates
                .iter()
                .filter_map(move |&(m, d)| NaiveDate::from_ymd_opt(year, m, d))
        })
        .filter(|date| *date <= today)
        .max();
    if let Some(date) = latest_publication.filter(|date| *date >= since) {
        out.push(Due {
            period: date.format("%Y-%m-%d").to_string(),
            kind: SnapshotKind::Publication,
            due_on: date,
        });
    }
    if let Some(day) = schedule.monthly_day {
        let this_month = monthly_date(today.year(), today.month(), day);
        let date = if this_month <= today {
            this_month
        } else if today.month() == 1 {
            monthly_date(today.year() - 1, 12, day)
        } else {
            monthly_date(today.year(), today.month() - 1, day)
        };
        if date >= since {
            out.push(Due {
                period: date.format("%Y-%m").to_string(),
                kind: SnapshotKind::Monthly,
                due_on: date,
            });
        }
    }
    out
}

/// Day `day` of the month, or its last day when the month is shorter.
fn monthly_date(year: i32, month: u32, day: u32) -> NaiveDate {
    (1..=day.clamp(1, 31))
        .rev()
        .find_map(|d| NaiveDate::from_ymd_opt(year, month, d))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn periods(today: &str, since: &str) -> Vec<(String, bool)> {
        due(&Schedule::default(), date(today), date(since))
            .into_iter()
            .map(|d| (d.period.clone(), d.late(date(today))))
            .collect()
    }

    #[test]
    fn on_the_day_the_snapshot_is_on_time() {
        assert_eq!(
            periods("2027-03-31", "2020-01-01"),
            [("2027-03-31".into(), false), ("2027-03".into(), true)]
        );
        assert_eq!(
            periods("2027-04-01", "2020-01-01"),
            [("2027-03-31".into(), true), ("2027-04".into(), false)]
        );
    }

    #[test]
    fn a_missed_date_is_taken_late_and_only_the_latest() {
        // Down from February to mid-October: 31 March is gone, 30 September is due late.
        assert_eq!(
            periods("2027-10-15", "2020-01-01"),
            [("2027-09-30".into(), true), ("2027-10".into(), true)]
        );
        // Early in the year, last September's date is the latest.
        assert_eq!(periods("2027-01-15", "2020-01-01")[0].0, "2026-09-30");
    }

    #[test]
    fn nothing_before_the_organisation_existed() {
        assert!(periods("2027-04-10", "2027-04-05").is_empty());
        assert_eq!(
            periods("2027-05-01", "2027-04-05"),
            [("2027-05".into(), false)]
        );
    }

    #[test]
    fn monthly_day_past_the_end_is_the_last_day() {
        let schedule = Schedule {
            publication_dates: vec![],
            monthly_day: Some(31),
        };
        let d = due(&schedule, date("2027-02-28"), date("2020-01-01"));
        assert_eq!(d[0].due_on, date("2027-02-28"));
        assert_eq!(d[0].period, "2027-02");
        let d = due(&schedule, date("2027-03-30"), date("2020-01-01"));
        assert_eq!(d[0].due_on, date("2027-02-28"));
    }

    #[test]
    fn publication_dates_parse() {
        assert_eq!(
            parse_publication_dates("09-30, 03-31").unwrap(),
            [(3, 31), (9, 30)]
        );
        assert_eq!(parse_publication_dates("none").unwrap(), []);
        assert!(parse_publication_dates("02-30").is_err());
        assert!(parse_publication_dates("31-03").is_err());
        assert_eq!(parse_publication_dates("02-29").unwrap(), [(2, 29)]);
        // 29 February falls due only in leap years.
        let schedule = Schedule {
            publication_dates: vec![(2, 29)],
            monthly_day: None,
        };
        assert!(due(&schedule, date("2027-03-01"), date("2020-01-01")).is_empty());
        assert_eq!(
            due(&schedule, date("2028-03-01"), date("2020-01-01"))[0].period,
            "2028-02-29"
        );
    }
}
