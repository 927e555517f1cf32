//! How the dashboard lays out published figures: the tables with `[c]` and their
//! explanation, the SVG bar charts beside them, and the trend's table and chart. Pure
//! rendering of what `services::stats` published; nothing here computes a figure.

use maud::{html, Markup};

use crate::domain::disclosure::{Published, PublishedCell, PublishedRate};
use crate::domain::schedule::SnapshotKind;
use crate::services::stats::trend::{self, Trend};
use crate::services::stats::{FigureRow, Figures};

use super::column_key;
use crate::web::i18n::Lang;

/// A count as published: `[c]` for a suppressed cell, as the API's CSV shows it.
fn count(c: Published) -> String {
    match c {
        Published::Count(n) => n.to_string(),
        Published::Suppressed => "[c]".into(),
    }
}

fn percent(p: PublishedRate) -> Option<f64> {
    match p {
        PublishedRate::Percent(x) => Some(x),
        _ => None,
    }
}

/// One published cell: `[c]` (with the explanation) when suppressed, else the count and rate.
fn cell_markup(lang: Lang, cell: &PublishedCell) -> Markup {
    html! {
        @if cell.count.is_suppressed() {
            abbr title=(lang.t("suppressed_explained")) { "[c]" }
        } @else {
            (count(cell.count))
            @if let Some(p) = percent(cell.percent) { " (" (format!("{p:.1}")) "%)" }
        }
    }
}

/// A table of figures; `drill` gives a row's link to the units under it, if it has any.
pub(super) fn table(
    lang: Lang,
    figures: &Figures,
    caption: &str,
    id: &str,
    column_label: &dyn Fn(&str) -> String,
    drill: &dyn Fn(&str) -> Option<String>,
) -> Markup {
    html! {
        table class="govuk-table" id=(id) {
            caption class="govuk-table__caption govuk-table__caption--s govuk-visually-hidden" { (caption) }
            thead class="govuk-table__head" {
                tr class="govuk-table__row" {
                    th scope="col" class="govuk-table__header" { (lang.t("group")) }
                    th scope="col" class="govuk-table__header govuk-table__header--numeric" { (lang.t("headcount")) }
                    @for col in &figures.columns {
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" {
                            (column_label(col))
                        }
                    }
                }
            }
            tbody class="govuk-table__body" {
                @for row in &figures.rows {
                    tr class="govuk-table__row" {
                        th scope="row" class="govuk-table__header" {
                            @if let Some(href) = drill(&row.key) {
                                a class="govuk-link" href=(href) { (row.label) }
                            } @else {
                                (row.label)
                            }
                        }
                        td class="govuk-table__cell govuk-table__cell--numeric" { (row.headcount) }
                        @for cell in &row.cells {
                            td class="govuk-table__cell govuk-table__cell--numeric" { (cell_markup(lang, cell)) }
                        }
                    }
                }
            }
        }
    }
}

/// One row of the chart: its top, its label, its segments (class, x, width), and whether any
/// of its cells is suppressed.
type Bar<'a> = (f64, &'a str, Vec<(&'static str, f64, f64)>, bool);

/// Stacked horizontal bars, one per row, of each column's share of the headcount. The table
/// beside it holds every figure, so the chart is one image with a text alternative.
pub(super) fn chart(lang: Lang, figures: &Figures, caption: &str, id: &str) -> Markup {
    const LABEL_W: f64 = 220.0;
    const BAR_W: f64 = 400.0;
    const ROW_H: f64 = 28.0;
    let height = ROW_H * figures.rows.len() as f64 + 30.0;
    let width = LABEL_W + BAR_W + 20.0;
    let class_of = |col: &str| match col {
        "declared" => "app-chart__bar--declared",
        "prefer_not_to_say" => "app-chart__bar--pnts",
        _ => "app-chart__bar--blank",
    };
    let bars: Vec<Bar> = figures
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            // Noise can make the shares add up past 100%: scale so the bar never overflows.
            let total: f64 = row
                .cells
                .iter()
                .map(|c| percent(c.percent).unwrap_or(0.0).max(0.0))
                .sum();
            let scale = if total > 100.0 { 100.0 / total } else { 1.0 };
            let mut x = LABEL_W;
            let segments = row
                .cells
                .iter()
                .map(|cell| {
                    let w = percent(cell.percent).unwrap_or(0.0).clamp(0.0, 100.0) * scale / 100.0
                        * BAR_W;
                    let segment = (class_of(&cell.column), x, w);
                    x += w;
                    segment
                })
                // An empty share draws nothing (its outline would be a stray line).
                .filter(|(_, _, w)| *w > 0.0)
                .collect();
            let suppressed = row.cells.iter().any(|c| c.count.is_suppressed());
            (
                i as f64 * ROW_H + 4.0,
                row.label.as_str(),
                segments,
                suppressed,
            )
        })
        .collect();
    html! {
        p class="govuk-body-s" {
            @for col in &figures.columns {
                span class={ "app-key app-key--" (match col.as_str() { "declared" => "declared", "prefer_not_to_say" => "pnts", _ => "blank" }) } {}
                (column_key(col).map_or(col.as_str(), |k| lang.t(k))) " "
            }
        }
        svg class="app-chart" role="img" aria-labelledby={ (id) "-title " (id) "-desc" } width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } xmlns="http://www.w3.org/2000/svg" {
            title id={ (id) "-title" } { (lang.t("chart_title")) ": " (caption) }
            desc id={ (id) "-desc" } { (lang.t("chart_title")) ". " (lang.t("suppressed_explained")) "." }
            @for (y, label, segments, suppressed) in &bars {
                text x="0" y=(y + 16.0) { (truncate(label, 28)) }
                @for (class, x, w) in segments {
                    rect class=(class) x=(x) y=(y) width=(w) height=(ROW_H - 8.0) {}
                }
                @if *suppressed {
                    text x=(LABEL_W + BAR_W + 2.0) y=(y + 16.0) { "[c]" }
                }
            }
        }
    }
}

/// The completion columns of a trend point's whole-organisation row, in the completion
/// table's order (a trend point also carries each publication group; only these are shown).
const TREND_COLUMNS: [&str; 3] = ["declared", "prefer_not_to_say", "blank"];

fn trend_cells(row: &FigureRow) -> Vec<Option<&PublishedCell>> {
    TREND_COLUMNS
        .iter()
        .map(|col| row.cells.iter().find(|c| c.column == *col))
        .collect()
}

fn snapshot_label(lang: Lang, point: &trend::TrendPoint) -> String {
    let kind = match point.snapshot.kind {
        SnapshotKind::Publication => lang.t("kind_publication"),
        SnapshotKind::Monthly => lang.t("kind_monthly"),
    };
    format!("{} ({kind})", point.snapshot.period)
}

/// One table row per snapshot, oldest first: its headcount and the three completion figures.
pub(super) fn trend_table(lang: Lang, trend: &Trend, caption: &str) -> Markup {
    html! {
        table class="govuk-table" id="trend" {
            caption class="govuk-table__caption govuk-table__caption--s govuk-visually-hidden" { (caption) }
            thead class="govuk-table__head" {
                tr class="govuk-table__row" {
                    th scope="col" class="govuk-table__header" { (lang.t("snapshot")) }
                    th scope="col" class="govuk-table__header govuk-table__header--numeric" { (lang.t("headcount")) }
                    @for col in TREND_COLUMNS {
                        th scope="col" class="govuk-table__header govuk-table__header--numeric" {
                            (column_key(col).map_or(col, |k| lang.t(k)))
                        }
                    }
                }
            }
            tbody class="govuk-table__body" {
                @for point in &trend.points {
                    @for row in &point.rows {
                        tr class="govuk-table__row" {
                            th scope="row" class="govuk-table__header" {
                                (snapshot_label(lang, point))
                                @if point.snapshot.late {
                                    " – " (lang.t("taken_late")) " " (point.snapshot.taken_at.get(..10).unwrap_or(&point.snapshot.taken_at))
                                }
                            }
                            td class="govuk-table__cell govuk-table__cell--numeric" { (row.headcount) }
                            @for cell in trend_cells(row) {
                                td class="govuk-table__cell govuk-table__cell--numeric" {
                                    @match cell {
                                        Some(cell) => (cell_markup(lang, cell)),
                                        None => abbr title=(lang.t("not_available")) { "[x]" },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Completion over time: one stacked column per snapshot (oldest on the left) of each
/// completion column's share of the headcount, as published. The table beside it holds every
/// figure, so the chart is one image with a text alternative.
pub(super) fn trend_chart(lang: Lang, trend: &Trend, caption: &str) -> Markup {
    const LEFT: f64 = 40.0;
    const PLOT_H: f64 = 200.0;
    const TOP: f64 = 10.0;
    let columns: Vec<(String, &FigureRow)> = trend
        .points
        .iter()
        .flat_map(|p| p.rows.iter().map(move |r| (p.snapshot.period.clone(), r)))
        .collect();
    let n = columns.len().max(1) as f64;
    let step = (560.0 / n).clamp(16.0, 80.0);
    let bar_w = step * 0.6;
    let width = LEFT + step * n + 20.0;
    let height = TOP + PLOT_H + 40.0;
    // Label every column while they fit; otherwise every k-th, oldest and newest always.
    let every = (columns.len() / 12).max(1);
    let class_of = |col: &str| match col {
        "declared" => "app-chart__bar--declared",
        "prefer_not_to_say" => "app-chart__bar--pnts",
        _ => "app-chart__bar--blank",
    };
    let drawn: Vec<TrendColumn> = columns
        .iter()
        .enumerate()
        .map(|(i, (period, row))| {
            let x = LEFT + step * i as f64 + (step - bar_w) / 2.0;
            let cells = trend_cells(row);
            let share = |c: &Option<&PublishedCell>| {
                c.and_then(|c| percent(c.percent))
                    .unwrap_or(0.0)
                    .clamp(0.0, 100.0)
            };
            // Noise can make the shares add up past 100%: scale so the column never overflows.
            let total: f64 = cells.iter().map(share).sum();
            let scale = if total > 100.0 { 100.0 / total } else { 1.0 };
            let mut y = TOP + PLOT_H;
            let segments = TREND_COLUMNS
                .iter()
                .zip(&cells)
                .filter_map(|(col, cell)| {
                    let h = share(cell) * scale / 100.0 * PLOT_H;
                    // An empty share draws nothing (its outline would be a stray line).
                    (h > 0.0).then(|| {
                        y -= h;
                        (class_of(col), y, h)
                    })
                })
                .collect();
            let suppressed = cells
                .iter()
                .any(|c| c.is_some_and(|c| c.count.is_suppressed()));
            let label = (i % every == 0 || i + 1 == columns.len()).then(|| truncate(period, 10));
            (x, segments, suppressed, label)
        })
        .collect();
    html! {
        p class="govuk-body-s" {
            @for col in TREND_COLUMNS {
                span class={ "app-key app-key--" (match col { "declared" => "declared", "prefer_not_to_say" => "pnts", _ => "blank" }) } {}
                (column_key(col).map_or(col, |k| lang.t(k))) " "
            }
        }
        svg class="app-chart" role="img" aria-labelledby="trend-chart-title trend-chart-desc" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } xmlns="http://www.w3.org/2000/svg" {
            title id="trend-chart-title" { (lang.t("trend_chart_title")) ": " (caption) }
            desc id="trend-chart-desc" { (lang.t("trend_chart_title")) ". " (lang.t("suppressed_explained")) "." }
            @for pct in [0u32, 50, 100] {
                text x="0" y=(TOP + PLOT_H - f64::from(pct) / 100.0 * PLOT_H + 5.0) { (pct) "%" }
            }
            line class="app-chart__axis" x1=(LEFT - 4.0) y1=(TOP + PLOT_H) x2=(width - 10.0) y2=(TOP + PLOT_H) {}
            @for (x, segments, suppressed, label) in &drawn {
                @for (class, y, h) in segments {
                    rect class=(class) x=(x) y=(y) width=(bar_w) height=(h) {}
                }
                @if *suppressed {
                    text x=(x) y=(TOP + 12.0) { "[c]" }
                }
                @if let Some(label) = label {
                    text x=(x) y=(TOP + PLOT_H + 18.0) { (label) }
                }
            }
        }
    }
}

/// One column of the trend chart: its left edge, its segments (class, top, height), whether
/// any of its cells is suppressed, and its label if it has room for one.
type TrendColumn = (f64, Vec<(&'static str, f64, f64)>, bool, Option<String>);

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
