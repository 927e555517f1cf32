//! Reads employee rows one at a time from a CSV or NDJSON stream, so a national file is never
//! held in memory. Each row comes with the line it starts on; a row that cannot even be read
//! (bad JSON, wrong number of CSV fields) is a rejected row, not a failed request.

use std::io::{BufRead, BufReader, Read};

use crate::domain::text::nul_problem;
use crate::domain::workforce::{field_problem, RawRow, FIELDS};
use crate::error::FieldError;

/// The media types a sync accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

/// One row as read: its line number and its values (borrowed until the callback returns), or
/// why it could not be read.
pub type ReadRow<'a> = (u64, Result<RawRow<'a>, Vec<FieldError>>);

/// Longest NDJSON line accepted; a longer one is rejected without being buffered whole.
const MAX_LINE: usize = 64 * 1024;

/// Calls `each` for every row in `reader`. An I/O error (the upload broke off, or went over
/// the size limit) ends the read and is returned.
pub fn read_rows(
    format: Format,
    reader: impl Read,
    each: &mut dyn FnMut(ReadRow<'_>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    match format {
        Format::Csv => read_csv(reader, each),
        Format::Ndjson => read_ndjson(reader, each),
    }
}

fn read_csv(
    reader: impl Read,
    each: &mut dyn FnMut(ReadRow<'_>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = match csv.headers() {
        Ok(h) => h.clone(),
        Err(e) => return csv_failure(e, 1, each),
    };
    let header_problems: Vec<FieldError> = headers.iter().filter_map(field_problem).collect();
    if !header_problems.is_empty() {
        // A bad header makes every row unreadable; report it once, at line 1.
        return each((1, Err(header_problems)));
    }
    // Which column holds each field, resolved once (a repeated column: the last one wins).
    let mut columns = [None; FIELDS.len()];
    for (column, name) in headers.iter().enumerate() {
        if let Some(at) = RawRow::position(name) {
            columns[at] = Some(column);
        }
    }
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                let mut row = RawRow::default();
                for (value, column) in row.values.iter_mut().zip(columns) {
                    *value = column.and_then(|c| record.get(c)).unwrap_or("");
                }
                each((line, refuse_nul(row)))?;
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                csv_failure(e, line, each)?;
            }
        }
    }
}

fn csv_failure(
    error: csv::Error,
    line: u64,
    each: &mut dyn FnMut(ReadRow<'_>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => Err(io),
        other => each((
            line,
            Err(vec![FieldError::new(
                "row",
                "malformed_row",
                csv_message(&other),
            )]),
        )),
    }
}

fn csv_message(kind: &csv::ErrorKind) -> String {
    match kind {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields; the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".into(),
        _ => "the row could not be read as CSV".into(),
    }
}

fn read_ndjson(
    reader: impl Read,
    each: &mut dyn FnMut(ReadRow<'_>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut buf = Vec::with_capacity(1024);
    let mut values: [String; FIELDS.len()] = Default::default();
    let mut line = 0u64;
    loop {
        buf.clear();
        line += 1;
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if read == 0 {
            return Ok(());
        }
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            // Skip the rest of the over-long line without keeping it.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let n = (&mut reader)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut sink)?;
                if n == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            each((
                line,
                Err(vec![FieldError::new(
                    "row",
                    "line_too_long",
                    format!("lines are limited to {MAX_LINE} bytes"),
                )]),
            ))?;
            continue;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = parse_json_row(&buf, &mut values).and_then(|()| {
            let mut row = RawRow::default();
            for (to, from) in row.values.iter_mut().zip(&values) {
                *to = from.as_str();
            }
            refuse_nul(row)
        });
        each((line, row))?;
    }
}

/// A row with a NUL in any value is rejected, naming each such field (decision 0020).
fn refuse_nul(row: RawRow<'_>) -> Result<RawRow<'_>, Vec<FieldError>> {
    let problems: Vec<FieldError> = FIELDS
        .iter()
        .zip(row.values)
        .filter_map(|(field, value)| nul_problem(field, value))
        .collect();
    if problems.is_empty() {
        Ok(row)
    } else {
        Err(problems)
    }
}

/// One NDJSON object into `values` (by position in [`FIELDS`]). Numbers become their text;
/// `null` means absent.
fn parse_json_row(
    bytes: &[u8],
    values: &mut [String; FIELDS.len()],
) -> Result<(), Vec<FieldError>> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)
        .map_err(|e| {
            vec![FieldError::new(
                "row",
                "malformed_json",
                format!("the line is not a JSON object: {e}"),
            )]
        })?;
    values.iter_mut().for_each(String::clear);
    let mut problems = Vec::new();
    for (key, value) in object {
        let Some(at) = RawRow::position(&key) else {
            problems.extend(field_problem(&key));
            continue;
        };
        match value {
            serde_json::Value::Null => values[at].clear(),
            serde_json::Value::String(s) => values[at] = s,
            serde_json::Value::Number(n) => values[at] = n.to_string(),
            _ => problems.push(FieldError::new(
                key,
                "invalid_value",
                "expected a string, a number or null",
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Rows as (line, values by field name) or (line, problems).
    type Owned = (u64, Result<Vec<(String, String)>, Vec<FieldError>>);

    fn collect(format: Format, text: &str) -> Vec<Owned> {
        let mut rows = Vec::new();
        read_rows(format, text.as_bytes(), &mut |(line, row)| {
            let row = row.map(|r| {
                FIELDS
                    .iter()
                    .zip(r.values)
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(f, v)| (f.to_string(), v.to_owned()))
                    .collect()
            });
            rows.push((line, row));
            Ok(())
        })
        .unwrap();
        rows
    }

    fn value<'a>(row: &'a Owned, field: &str) -> &'a str {
        let values = row.1.as_ref().unwrap();
        values.iter().find(|(f, _)| f == field).unwrap().1.as_str()
    }

    #[test]
    fn csv_rows_carry_their_line_numbers() {
        let rows = collect(
            Format::Csv,
            "employee_number,org_unit\nE1,north\nE2\nE3,south\n",
        );
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(rows[1].1.is_err());
        assert_eq!(value(&rows[2], "org_unit"), "south");
    }

    #[test]
    fn a_csv_header_naming_a_characteristic_is_refused_at_line_one() {
        let rows = collect(Format::Csv, "employee_number,ethnicity\nE1,x\n");
        assert_eq!(rows.len(), 1);
        let problems = rows[0].1.as_ref().unwrap_err();
        assert_eq!(problems[0].field, "ethnicity");
        assert_eq!(problems[0].code, "protected_characteristic_refused");
    }

    #[test]
    fn an_ndjson_row_never_keeps_a_value_from_the_row_before() {
        let rows = collect(
            Format::Ndjson,
            "{\"employee_number\":\"E1\",\"rank\":\"pc\"}\n{\"employee_number\":\"E2\",\"fte\":null}\n",
        );
        assert_eq!(value(&rows[0], "rank"), "pc");
        assert_eq!(
            rows[1].1.as_ref().unwrap(),
            &vec![("employee_number".to_string(), "E2".to_string())]
        );
    }

    #[test]
    fn a_nul_in_a_csv_or_ndjson_value_rejects_the_row_naming_the_field() {
        let rows = collect(
            Format::Csv,
            "employee_number,org_unit\nE\u{0}1,north\nE2,north\n",
        );
        assert_eq!(rows[0].1.as_ref().unwrap_err()[0].field, "employee_number");
        assert_eq!(rows[0].1.as_ref().unwrap_err()[0].code, "nul_character");
        assert!(rows[1].1.is_ok());
        let rows = collect(
            Format::Ndjson,
            "{\"employee_number\":\"E1\",\"org_unit\":\"n\\u0000\"}\n",
        );
        assert_eq!(rows[0].1.as_ref().unwrap_err()[0].field, "org_unit");
    }

    #[test]
    fn ndjson_skips_blank_lines_but_counts_them() {
        let rows = collect(
            Format::Ndjson,
            "{\"employee_number\":\"E1\",\"fte\":0.5}\n\nnot json\n{\"religion\":\"x\"}\n",
        );
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 3, 4]);
        assert_eq!(value(&rows[0], "fte"), "0.5");
        assert_eq!(rows[1].1.as_ref().unwrap_err()[0].code, "malformed_json");
        assert_eq!(
            rows[2].1.as_ref().unwrap_err()[0].code,
            "protected_characteristic_refused"
        );
    }
}
