//! Figures as CSV for the annual equality publication.
//!
//! A header block of `field,value` lines says what the table is, which moment it describes
//! and which disclosure rules were applied; a blank line; then the table. Suppressed cells are
//! `[c]` (confidential) and rates with no denominator `[z]` (not applicable), the ONS
//! shorthand, so a suppressed cell can never be read as a zero. In a trend, a column a
//! snapshot's catalogue did not have is `[x]` (not available).

use crate::domain::disclosure::{Published, PublishedCell, PublishedRate, RulesApplied};
use crate::error::{AppError, AppResult};

use super::trend::Trend;
use super::{FigureRow, Figures, SnapshotSummary};

pub const SUPPRESSED: &str = "[c]";
pub const NOT_APPLICABLE: &str = "[z]";
pub const NOT_AVAILABLE: &str = "[x]";

fn writer() -> csv::Writer<Vec<u8>> {
    writer_after(Vec::new())
}

/// A writer that carries on after what is already in `buffer`.
fn writer_after(buffer: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_writer(buffer)
}

fn finish(w: csv::Writer<Vec<u8>>) -> AppResult<String> {
    let bytes = w.into_inner().map_err(AppError::internal)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

/// Ends the header block and starts the table. The empty line is written by hand: what the
/// csv crate writes for an empty record is not a guaranteed empty line.
fn blank_line(w: &mut csv::Writer<Vec<u8>>) -> AppResult<()> {
    let mut block = std::mem::replace(w, writer())
        .into_inner()
        .map_err(AppError::internal)?;
    block.extend_from_slice(b"\r\n");
    *w = writer_after(block);
    Ok(())
}

fn count(p: Published) -> String {
    match p {
        Published::Count(n) => n.to_string(),
        Published::Suppressed => SUPPRESSED.to_owned(),
    }
}

fn rate(p: PublishedRate, decimals: u32) -> String {
    match p {
        PublishedRate::Percent(v) => format!("{v:.*}", decimals as usize),
        PublishedRate::Suppressed => SUPPRESSED.to_owned(),
        PublishedRate::Undefined => NOT_APPLICABLE.to_owned(),
    }
}

/// The header block lines that state the rules, so a board knows what a figure can and
/// cannot mean.
fn rules_block(rules: &RulesApplied) -> Vec<(String, String)> {
    let k = rules.min_cell;
    let g = rules.min_group;
    vec![
        (
            "method".into(),
            format!(
                "{}: every count but the headcount carries noise (two-sided geometric, standard deviation {}) fixed by the people behind it, so counts do not add up exactly and one person's change cannot be told apart",
                rules.method, rules.noise_sd
            ),
        ),
        (
            "suppression".into(),
            format!(
                "perturbed counts from 1 to {} are shown as {SUPPRESSED}; groups under {g} are not broken down, and answers are not split where fewer than {g} answered",
                k.saturating_sub(1)
            ),
        ),
        (
            "refresh".into(),
            match rules.refresh_seconds {
                0 => "live figures follow every change".to_owned(),
                s => format!("live figures change once every {s} seconds (at a publication epoch)"),
            },
        ),
        (
            "rounding".into(),
            match rules.round_to {
                Some(base) => format!("counts rounded to the nearest {base} after perturbation"),
                None => "none".into(),
            },
        ),
        (
            "rates".into(),
            format!(
                "percent of the row's exact headcount from the published count, to {} decimal place(s); {NOT_APPLICABLE} where the headcount is 0",
                rules.rate_decimals
            ),
        ),
        (
            "cells suppressed".into(),
            format!(
                "{} small, {} in small groups",
                rules.small_count_suppressions, rules.small_group_suppressions
            ),
        ),
    ]
}

fn snapshot_text(s: &SnapshotSummary) -> String {
    let late = if s.late {
        format!(" (taken late, on {}: figures are as at then)", s.taken_at)
    } else {
        String::new()
    };
    format!("{} {} {}{late}", s.kind.as_str(), s.period, s.id)
}

fn table_header(columns: &[String]) -> Vec<String> {
    let mut header = vec!["key".to_owned(), "label".into(), "headcount".into()];
    for c in columns {
        header.push(c.clone());
        header.push(format!("{c}_percent"));
    }
    header
}

fn table_cells(row: &FigureRow, columns: &[String], decimals: u32) -> Vec<String> {
    let mut out = vec![
        row.key.clone(),
        row.label.clone(),
        row.headcount.to_string(),
    ];
    for column in columns {
        match row.cells.iter().find(|c| &c.column == column) {
            Some(PublishedCell {
                count: n, percent, ..
            }) => {
                out.push(count(*n));
                out.push(rate(*percent, decimals));
            }
            None => {
                out.push(NOT_AVAILABLE.into());
                out.push(NOT_AVAILABLE.into());
            }
        }
    }
    out
}

/// Completion or distribution figures as CSV; `title` names the table.
pub fn figures(figures: &Figures, title: &str) -> AppResult<String> {
    let mut w = writer();
    let mut block: Vec<(String, String)> = vec![
        ("title".into(), title.to_owned()),
        ("characteristic".into(), figures.characteristic.clone()),
        (
            "breakdown".into(),
            match &figures.unit {
                Some(unit) => format!(
                    "{} under unit {unit}",
                    breakdown_text(figures.breakdown.as_str(), figures.level)
                ),
                None => breakdown_text(figures.breakdown.as_str(), figures.level),
            },
        ),
        ("as_at".into(), figures.as_at.clone()),
        (
            "snapshot".into(),
            figures
                .snapshot
                .as_ref()
                .map_or_else(|| "none (live figures)".to_owned(), snapshot_text),
        ),
    ];
    block.extend(rules_block(&figures.rules));
    for (field, value) in &block {
        w.write_record([field, value]).map_err(AppError::internal)?;
    }
    blank_line(&mut w)?;
    w.write_record(table_header(&figures.columns))
        .map_err(AppError::internal)?;
    for row in &figures.rows {
        w.write_record(table_cells(
            row,
            &figures.columns,
            figures.rules.rate_decimals,
        ))
        .map_err(AppError::internal)?;
    }
    finish(w)
}

fn breakdown_text(breakdown: &str, level: Option<u32>) -> String {
    match level {
        Some(level) => format!("{breakdown} (level {level})"),
        None => breakdown.to_owned(),
    }
}

/// A trend as CSV: one line per snapshot and row, oldest snapshot first.
pub fn trend(trend: &Trend) -> AppResult<String> {
    let mut columns: Vec<String> = Vec::new();
    for point in &trend.points {
        for c in &point.columns {
            if !columns.contains(c) {
                columns.push(c.clone());
            }
        }
    }
    let mut w = writer();
    let mut block: Vec<(String, String)> = vec![
        ("title".into(), "Completion and declaration trend".into()),
        ("characteristic".into(), trend.characteristic.clone()),
        (
            "breakdown".into(),
            breakdown_text(trend.breakdown.as_str(), trend.level),
        ),
        (
            "snapshots".into(),
            match trend.kind {
                Some(kind) => format!("{} snapshots, oldest first", kind.as_str()),
                None => "all snapshots, oldest first".into(),
            },
        ),
    ];
    if let Some(point) = trend.points.first() {
        // Every rule but the counts of suppressed cells, which are each snapshot's own.
        let rules = rules_block(&point.rules);
        let shared = rules.len() - 1;
        block.extend(rules.into_iter().take(shared));
    }
    block.push((
        "protection".into(),
        "each snapshot is protected on its own; see each line's snapshot".into(),
    ));
    for (field, value) in &block {
        w.write_record([field, value]).map_err(AppError::internal)?;
    }
    blank_line(&mut w)?;
    let mut header = vec![
        "period".to_owned(),
        "kind".into(),
        "due_on".into(),
        "taken_at".into(),
        "late".into(),
    ];
    header.extend(table_header(&columns));
    w.write_record(&header).map_err(AppError::internal)?;
    for point in &trend.points {
        let s = &point.snapshot;
        for row in &point.rows {
            let mut line = vec![
                s.period.clone(),
                s.kind.as_str().to_owned(),
                s.due_on.clone(),
                s.taken_at.clone(),
                s.late.to_string(),
            ];
            line.extend(table_cells(row, &columns, point.rules.rate_decimals));
            w.write_record(&line).map_err(AppError::internal)?;
        }
    }
    finish(w)
}
