//! Workforce rows as HR systems send them: which fields exist, which are refused because they
//! name a protected characteristic, and how one raw row becomes a valid employee record.
//!
//! The same rules serve the bulk API (CSV and NDJSON) and the CLI import, so a file rejected by
//! one is rejected by the other with the same codes.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::error::FieldError;

/// The fields an employee row may carry, in CSV column order.
pub const FIELDS: [&str; 8] = [
    "employee_number",
    "external_subject",
    "org_unit",
    "staff_type",
    "rank",
    "fte",
    "start_date",
    "leave_date",
];

/// Names that are a protected characteristic (or a proxy for one) once lower-cased and stripped
/// of everything but letters and digits. Matched whole, because short words such as `sex` or
/// `age` occur inside innocent names (`sussex_division`, `manager`).
const PROTECTED_EXACT: &[&str] = &[
    "sex",
    "gender",
    "race",
    "age",
    "dob",
    "religion",
    "belief",
    "disabled",
    "disability",
    "ethnicity",
    "ethnic",
    "ethnicorigin",
    "nationality",
    "pregnant",
    "pregnancy",
    "maternity",
    "marital",
    "maritalstatus",
    "married",
    "civilpartnership",
    "transgender",
    "trans",
    "sexuality",
    "orientation",
    "sexualorientation",
    "birthdate",
    "dateofbirth",
    "yearofbirth",
    "genderidentity",
    "genderreassignment",
    "religionorbelief",
    "agegroup",
    "ageband",
];

/// Stems that name a characteristic wherever they appear (`disability_status`, `ethnic_group`).
const PROTECTED_STEMS: &[&str] = &[
    "ethnic",
    "religio",
    "disab",
    "sexualorient",
    "dateofbirth",
    "birthdate",
    "pregnan",
    "maternit",
    "marital",
    "transgender",
    "genderident",
    "genderreassign",
    "nationalit",
];

/// True when `name` names a protected characteristic. HR systems must not route
/// characteristics around the staff member's own consented declaration.
pub fn is_protected_characteristic(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    PROTECTED_EXACT.contains(&folded.as_str())
        || PROTECTED_STEMS.iter().any(|stem| folded.contains(stem))
}

/// The error for a field that is not part of an employee row.
pub fn field_problem(name: &str) -> Option<FieldError> {
    if FIELDS.contains(&name) {
        None
    } else if is_protected_characteristic(name) {
        Some(FieldError::new(
            name,
            "protected_characteristic_refused",
            format!(
                "`{name}` is a protected characteristic; it is only ever declared by the member of \
                 staff, never synced from HR"
            ),
        ))
    } else {
        Some(FieldError::new(
            name,
            "unknown_field",
            format!(
                "`{name}` is not an employee field; expected one of {}",
                FIELDS.join(", ")
            ),
        ))
    }
}

/// One row as sent: each field's value by its position in [`FIELDS`], empty when absent.
/// It borrows the reader's buffer, so reading a row allocates nothing. Unknown and refused
/// field names never get this far: the reader refuses them (CSV header, NDJSON keys).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RawRow<'a> {
    pub values: [&'a str; FIELDS.len()],
}

/// Positions in [`FIELDS`] (and so in [`RawRow::values`]).
const NUMBER: usize = 0;
const SUBJECT: usize = 1;
const UNIT: usize = 2;
const STAFF_TYPE: usize = 3;
const RANK: usize = 4;
const FTE: usize = 5;
const START: usize = 6;
const LEAVE: usize = 7;

impl<'a> RawRow<'a> {
    /// The position of `name` in [`FIELDS`].
    pub fn position(name: &str) -> Option<usize> {
        FIELDS.iter().position(|f| *f == name)
    }

    fn get(&self, field: usize) -> Option<&'a str> {
        Some(self.values[field].trim()).filter(|v| !v.is_empty())
    }
}

/// The organisation's structure by code, as rows reference it.
#[derive(Debug, Clone, Default)]
pub struct Codes {
    pub org_units: HashMap<String, String>,
    pub staff_types: HashMap<String, String>,
    pub ranks: HashMap<String, String>,
}

/// A row that passed every check, with codes resolved to ids.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRow {
    pub employee_number: String,
    pub external_subject: Option<String>,
    pub org_unit_id: String,
    pub staff_type_id: String,
    pub rank_id: Option<String>,
    pub fte: f64,
    /// ISO 8601 `YYYY-MM-DD`.
    pub start_date: String,
    pub leave_date: Option<String>,
}

fn required<'a>(row: &RawRow<'a>, at: usize, problems: &mut Vec<FieldError>) -> Option<&'a str> {
    let value = row.get(at);
    if value.is_none() {
        let field = FIELDS[at];
        problems.push(FieldError::new(
            field,
            "required",
            format!("`{field}` is required"),
        ));
    }
    value
}

fn resolve(
    field: &str,
    code: &str,
    table: &HashMap<String, String>,
    what: &str,
    problems: &mut Vec<FieldError>,
) -> Option<String> {
    let id = table.get(code).cloned();
    if id.is_none() {
        problems.push(FieldError::new(
            field,
            "unknown_code",
            format!("no {what} has the code `{code}`"),
        ));
    }
    id
}

/// An ISO date already in canonical `YYYY-MM-DD` form: read without the general parser (the
/// common case, once a row per field), so it can be stored as sent.
fn canonical_date(value: &str) -> Option<NaiveDate> {
    let b = value.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| value[r].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(i32::try_from(n(0..4)?).ok()?, n(5..7)?, n(8..10)?)
}

/// A date and its canonical text: the value itself when it is already canonical.
fn date(field: &str, value: &str, problems: &mut Vec<FieldError>) -> Option<(NaiveDate, String)> {
    let parsed = match canonical_date(value) {
        Some(d) => Some((d, value.to_owned())),
        None => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()
            .map(|d| (d, d.format("%Y-%m-%d").to_string())),
    };
    if parsed.is_none() {
        problems.push(FieldError::new(
            field,
            "invalid_date",
            format!("`{value}` is not a date in the form YYYY-MM-DD"),
        ));
    }
    parsed
}

fn short_text(field: &str, value: &str, problems: &mut Vec<FieldError>) {
    if value.len() > 100 || value.chars().any(char::is_control) {
        problems.push(FieldError::new(
            field,
            "invalid_value",
            "at most 100 printable characters",
        ));
    }
}

/// Checks one row against the organisation's structure. Every problem is reported, not just
/// the first, so an HR team fixes a file in one pass.
pub fn validate(row: &RawRow<'_>, codes: &Codes) -> Result<ValidRow, Vec<FieldError>> {
    let mut problems = Vec::new();
    let number = required(row, NUMBER, &mut problems);
    if let Some(n) = number {
        short_text("employee_number", n, &mut problems);
    }
    let subject = row.get(SUBJECT);
    if let Some(s) = subject {
        short_text("external_subject", s, &mut problems);
    }
    let unit = required(row, UNIT, &mut problems)
        .and_then(|c| resolve("org_unit", c, &codes.org_units, "org unit", &mut problems));
    let staff_type = required(row, STAFF_TYPE, &mut problems).and_then(|c| {
        resolve(
            "staff_type",
            c,
            &codes.staff_types,
            "staff type",
            &mut problems,
        )
    });
    let rank = match row.get(RANK) {
        Some(c) => resolve("rank", c, &codes.ranks, "rank or grade", &mut problems).map(Some),
        None => Some(None),
    };
    let fte = match row.get(FTE) {
        // Absent FTE means full time: most HR extracts only state it for part-timers.
        None => Some(1.0),
        Some(v) => match v.parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 1.0 => Some(f),
            _ => {
                problems.push(FieldError::new(
                    "fte",
                    "invalid_fte",
                    format!("`{v}` is not a number greater than 0 and at most 1"),
                ));
                None
            }
        },
    };
    let start =
        required(row, START, &mut problems).and_then(|v| date("start_date", v, &mut problems));
    let leave = match row.get(LEAVE) {
        Some(v) => date("leave_date", v, &mut problems).map(Some),
        None => Some(None),
    };
    if let (Some((start, _)), Some(Some((leave, _)))) = (&start, &leave) {
        if leave < start {
            problems.push(FieldError::new(
                "leave_date",
                "leave_before_start",
                "`leave_date` is before `start_date`",
            ));
        }
    }
    match (number, unit, staff_type, rank, fte, start, leave) {
        (
            Some(number),
            Some(unit),
            Some(staff_type),
            Some(rank),
            Some(fte),
            Some(start),
            Some(leave),
        ) if problems.is_empty() => Ok(ValidRow {
            employee_number: number.to_owned(),
            external_subject: subject.map(str::to_owned),
            org_unit_id: unit,
            staff_type_id: staff_type,
            rank_id: rank,
            fte,
            start_date: start.1,
            leave_date: leave.map(|d| d.1),
        }),
        _ => Err(problems),
    }
}

/// Whether someone with this leave date (ISO 8601, or none) is in post on `day` (ISO 8601).
/// The one rule for who counts in figures and who may declare: a leave date still ahead
/// means the person is serving until then.
pub fn in_post_on(leave_date: Option<&str>, day: &str) -> bool {
    leave_date.map_or(true, |date| date > day)
}

/// Whether tallies last brought up to date on `counted_on` (a recount or a leavers' pass; `None`
/// if never recorded) may still count someone who is not in post on `today`: they were in post
/// on the day the tallies were last evaluated for them. With a record that day is `counted_on`;
/// without one, the best evidence left is the day their row was last written (`written_on`),
/// the write that moved them in the tallies.
pub fn counted_after_leaving(
    leave_date: Option<&str>,
    written_on: &str,
    counted_on: Option<&str>,
    today: &str,
) -> bool {
    let evaluated = counted_on.unwrap_or(written_on);
    !in_post_on(leave_date, today) && in_post_on(leave_date, evaluated)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {

    #[test]
    fn tallies_still_count_a_leaver_whose_date_arrived_after_they_last_counted() {
        let today = "2027-01-10";
        // Counted on the 5th, left on the 8th: still counted.
        assert!(counted_after_leaving(
            Some("2027-01-08"),
            "2026-01-01",
            Some("2027-01-05"),
            today
        ));
        // Left on the day of the last count, or before: that count already left them out.
        assert!(!counted_after_leaving(
            Some("2027-01-05"),
            "2026-01-01",
            Some("2027-01-05"),
            today
        ));
        // Leaving tomorrow, or never: in post, counted rightly.
        assert!(!counted_after_leaving(
            Some("2027-01-11"),
            "2026-01-01",
            Some("2027-01-05"),
            today
        ));
        assert!(!counted_after_leaving(None, "2026-01-01", None, today));
        // No record: the last write is the evidence (a date set in advance, or set after it).
        assert!(counted_after_leaving(
            Some("2027-01-08"),
            "2027-01-02",
            None,
            today
        ));
        assert!(!counted_after_leaving(
            Some("2027-01-08"),
            "2027-01-09",
            None,
            today
        ));
    }

    #[test]
    fn a_leave_date_still_ahead_is_in_post_until_the_day() {
        assert!(in_post_on(None, "2027-01-01"));
        assert!(in_post_on(Some("2027-01-02"), "2027-01-01"));
        assert!(!in_post_on(Some("2027-01-01"), "2027-01-01"));
        assert!(!in_post_on(Some("2026-12-31"), "2027-01-01"));
    }

    use super::*;

    fn codes() -> Codes {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Codes {
            org_units: map(&[("north", "u1")]),
            staff_types: map(&[("police_officer", "s1")]),
            ranks: map(&[("pc", "r1")]),
        }
    }

    fn row<'a>(pairs: &[(&str, &'a str)]) -> RawRow<'a> {
        let mut row = RawRow::default();
        for (k, v) in pairs {
            row.values[RawRow::position(k).unwrap()] = v;
        }
        row
    }

    #[test]
    fn a_complete_row_resolves_codes() {
        let valid = validate(
            &row(&[
                ("employee_number", "E1"),
                ("org_unit", "north"),
                ("staff_type", "police_officer"),
                ("rank", "pc"),
                ("fte", "0.5"),
                ("start_date", "2020-01-02"),
            ]),
            &codes(),
        )
        .unwrap();
        assert_eq!(valid.org_unit_id, "u1");
        assert_eq!(valid.rank_id.as_deref(), Some("r1"));
        assert_eq!(valid.fte, 0.5);
    }

    #[test]
    fn dates_are_stored_canonical_and_impossible_ones_refused() {
        let with = |start: &'static str| {
            validate(
                &row(&[
                    ("employee_number", "E1"),
                    ("org_unit", "north"),
                    ("staff_type", "police_officer"),
                    ("start_date", start),
                ]),
                &codes(),
            )
        };
        assert_eq!(with("2020-01-02").unwrap().start_date, "2020-01-02");
        assert_eq!(with("2020-1-2").unwrap().start_date, "2020-01-02");
        assert_eq!(with("2024-02-29").unwrap().start_date, "2024-02-29");
        for bad in ["2021-02-29", "2020-13-01", "2020-01-0x", "20200102"] {
            assert_eq!(with(bad).unwrap_err()[0].code, "invalid_date", "{bad}");
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let problems = validate(
            &row(&[
                ("org_unit", "south"),
                ("fte", "2"),
                ("start_date", "02/01/2020"),
            ]),
            &codes(),
        )
        .unwrap_err();
        let codes: Vec<_> = problems.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "required",
                "unknown_code",
                "required",
                "invalid_fte",
                "invalid_date"
            ]
        );
    }

    #[test]
    fn characteristics_are_refused_by_name_but_innocent_names_are_not() {
        for name in [
            "ethnicity",
            "Religion",
            "disability_status",
            "sexual_orientation",
            "sex",
            "Gender",
            "race",
            "age",
            "date_of_birth",
            "DOB",
            "ethnic-group",
        ] {
            assert!(is_protected_characteristic(name), "{name}");
            assert_eq!(
                field_problem(name).unwrap().code,
                "protected_characteristic_refused"
            );
        }
        for name in ["sussex_division", "manager", "grade", "start_date", "page"] {
            assert!(!is_protected_characteristic(name), "{name}");
        }
        assert_eq!(field_problem("shoe_size").unwrap().code, "unknown_field");
        assert!(field_problem("rank").is_none());
    }
}
