//! The EDI board's figures: completion for one characteristic, overall or by command area (at
//! a chosen level of the unit tree, or the units under one unit, reached by clicking a unit
//! row, with a breadcrumb back up), staff type or rank, as a table with a server-rendered SVG
//! bar chart beside it, then the distribution of answers, then completion across snapshots
//! (the trend); a CSV of each table. The figures are the API's (`services::stats::figures_at`
//! and `stats::trend::trend`, through the same disclosure control and cache, with the API's
//! `unit` scope); suppressed cells show as `[c]`. Nothing here computes a figure: the page
//! only selects and lays out what those functions published.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup};
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::domain::disclosure::{Published, PublishedRate};
use crate::error::AppError;
use std::collections::{BTreeMap, BTreeSet};

use crate::domain::disclosure::PublishedCell;
use crate::domain::schedule::SnapshotKind;
use crate::services::stats::trend::{self, Trend, TrendRequest};
use crate::services::stats::{
    self, csv as stats_csv, Breakdown, FigureRequest, FigureRow, Figures, View,
};
use crate::services::{catalogue, identity};

use super::i18n::Lang;
use super::layout::page as layout;
use super::session::{Page, State};
use super::{error_page, html as respond, require};

const BREAKDOWNS: [Breakdown; 4] = [
    Breakdown::Overall,
    Breakdown::OrgUnit,
    Breakdown::StaffType,
    Breakdown::Rank,
];

fn breakdown_key(b: Breakdown) -> &'static str {
    match b {
        Breakdown::Overall => "by_overall",
        Breakdown::OrgUnit => "by_org_unit",
        Breakdown::StaffType => "by_staff_type",
        Breakdown::Rank => "by_rank",
    }
}

fn column_key(column: &str) -> Option<&'static str> {
    match column {
        "declared" => Some("col_declared"),
        "prefer_not_to_say" => Some("col_prefer_not_to_say"),
        "blank" => Some("col_blank"),
        _ => None,
    }
}

/// What the page was asked for (no personal data: a characteristic code, a breakdown, an
/// organisation id for national viewers).
struct Asked {
    characteristic: Option<String>,
    by: Breakdown,
    /// For command areas: the level of the unit tree (1 = directly under the force; 1 to 8).
    level: u32,
    /// For command areas: the unit whose units are shown (the API's `unit` scope).
    unit: Option<Uuid>,
    organisation: Option<Uuid>,
}

fn asked(req: &HttpRequest) -> Asked {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty() && !v.contains('\0'))
            .map(|(_, v)| v.clone())
    };
    Asked {
        characteristic: get("characteristic"),
        by: get("by")
            .and_then(|b| BREAKDOWNS.into_iter().find(|x| x.as_str() == b))
            .unwrap_or_default(),
        level: get("level")
            .and_then(|l| l.parse().ok())
            .filter(|l| (1..=8).contains(l))
            .unwrap_or(1),
        unit: get("unit").and_then(|u| Uuid::parse_str(&u).ok()),
        organisation: get("organisation").and_then(|o| Uuid::parse_str(&o).ok()),
    }
}

fn viewer(page: &Page, state: &State) -> Result<Principal, Box<HttpResponse>> {
    require(page, state, &[Role::EdiViewer, Role::NationalViewer])
}

/// The organisation read: the viewer's own, or for a national viewer the one named (else the
/// first there is).
async fn organisation(
    state: &State,
    principal: &Principal,
    asked: Option<Uuid>,
) -> Result<Uuid, AppError> {
    match principal.org_id {
        Some(own) => Ok(own),
        None => match asked {
            Some(id) => Ok(identity::find_organisation(&state.db, id).await?.id),
            None => identity::list_organisations(&state.db)
                .await?
                .first()
                .map(|o| o.id)
                .ok_or_else(|| AppError::NotFound("no organisation exists yet".into())),
        },
    }
}

async fn load(
    state: &State,
    org: Uuid,
    characteristic: String,
    asked: &Asked,
    view: View,
) -> Result<Figures, AppError> {
    stats::figures_at(
        &state.db,
        state.sealer.clone(),
        state.config.disclosure,
        &state.figures,
        org,
        None,
        FigureRequest {
            characteristic,
            breakdown: asked.by,
            level: asked.level,
            unit: asked.unit.map(|u| u.to_string()),
            view,
        },
    )
    .await
}

/// The org-unit rows of every level from 1 to `upto`, as published: what the page links and
/// the breadcrumb are drawn from (each a selection from the same protected family).
async fn unit_rows(
    state: &State,
    org: Uuid,
    characteristic: &str,
    upto: u32,
) -> Result<Vec<FigureRow>, AppError> {
    let mut rows = Vec::new();
    for level in 1..=upto.min(8) {
        let asked = Asked {
            characteristic: None,
            by: Breakdown::OrgUnit,
            level,
            unit: None,
            organisation: None,
        };
        rows.extend(
            load(
                state,
                org,
                characteristic.to_owned(),
                &asked,
                View::Completion,
            )
            .await?
            .rows,
        );
    }
    Ok(rows)
}

/// The completion trend across snapshots, for the whole organisation: the API's
/// `GET /v1/stats/trend` for the same characteristic.
async fn load_trend(state: &State, org: Uuid, characteristic: String) -> Result<Trend, AppError> {
    trend::trend(
        &state.db,
        state.sealer.clone(),
        state.config.disclosure,
        &state.figures,
        org,
        TrendRequest {
            characteristic,
            breakdown: Breakdown::Overall,
            level: 1,
            kind: None,
        },
    )
    .await
}

/// A link to the dashboard (codes and ids only: nothing personal goes in these URLs).
fn dashboard_href(
    characteristic: &str,
    by: Breakdown,
    level: u32,
    unit: Option<&str>,
    org: Uuid,
) -> String {
    let mut href = format!(
        "/dashboard?characteristic={characteristic}&by={}&level={level}",
        by.as_str()
    );
    if let Some(unit) = unit {
        href.push_str("&unit=");
        href.push_str(unit);
    }
    href.push_str(&format!("&organisation={org}"));
    href
}

/// `GET /dashboard`.
pub async fn show(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let principal = match viewer(&page, &state) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let asked = asked(&req);
    let org = match organisation(&state, &principal, asked.organisation).await {
        Ok(org) => org,
        Err(e) => return error_page(&page, &state, &e),
    };
    let doc = match catalogue::current(&state.db, org).await {
        Ok(v) => v.document,
        Err(e) => return error_page(&page, &state, &e),
    };
    let organisations = if principal.org_id.is_none() {
        identity::list_organisations(&state.db)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let characteristic = asked
        .characteristic
        .clone()
        .filter(|c| doc.characteristic(c).is_some())
        .or_else(|| doc.characteristics.first().map(|c| c.code.clone()))
        .unwrap_or_default();
    let figures = match load(
        &state,
        org,
        characteristic.clone(),
        &asked,
        View::Completion,
    )
    .await
    {
        Ok(f) => f,
        Err(e) => return error_page(&page, &state, &e),
    };
    let distribution = match load(
        &state,
        org,
        characteristic.clone(),
        &asked,
        View::Distribution,
    )
    .await
    {
        Ok(f) => f,
        Err(e) => return error_page(&page, &state, &e),
    };
    let trend = match load_trend(&state, org, characteristic.clone()).await {
        Ok(t) => t,
        Err(e) => return error_page(&page, &state, &e),
    };
    // Drilling down: which rows have units under them, and the way back up.
    let scoped_unit = figures.unit.clone();
    let shown_level = figures.level.unwrap_or(asked.level);
    let tree = if asked.by == Breakdown::OrgUnit {
        match unit_rows(&state, org, &characteristic, shown_level + 1).await {
            Ok(rows) => rows,
            Err(e) => return error_page(&page, &state, &e),
        }
    } else {
        Vec::new()
    };
    let with_children: BTreeSet<&str> = tree.iter().filter_map(|r| r.parent.as_deref()).collect();
    let by_key: BTreeMap<&str, &FigureRow> = tree.iter().map(|r| (r.key.as_str(), r)).collect();
    let mut trail: Vec<&FigureRow> = Vec::new();
    let mut at = scoped_unit.as_deref();
    while let Some(row) = at.and_then(|k| by_key.get(k)) {
        trail.push(row);
        at = row.parent.as_deref();
    }
    trail.reverse();
    let drill = |key: &str| -> Option<String> {
        (asked.by == Breakdown::OrgUnit && with_children.contains(key) && shown_level < 8).then(
            || {
                dashboard_href(
                    &characteristic,
                    Breakdown::OrgUnit,
                    shown_level + 1,
                    Some(key),
                    org,
                )
            },
        )
    };
    let lang = page.lang;
    let t = |k| lang.t(k);
    let label = doc
        .characteristic(&characteristic)
        .map_or(characteristic.as_str(), |c| lang.pick(&c.label));
    // Codes and ids only: nothing personal goes in these URLs.
    let mut query = format!(
        "characteristic={}&by={}&level={}&organisation={org}",
        characteristic,
        asked.by.as_str(),
        shown_level
    );
    if let Some(unit) = &scoped_unit {
        query.push_str(&format!("&unit={unit}"));
    }
    let csv_href = format!("/dashboard/completion.csv?{query}");
    let distribution_csv = format!("/dashboard/distribution.csv?{query}");
    let trend_csv =
        format!("/dashboard/trend.csv?characteristic={characteristic}&organisation={org}");
    // Distribution columns are publication groups: named by the gateway option counted there.
    let group_label = |column: &str| -> String {
        doc.characteristic(&characteristic)
            .and_then(|c| {
                c.gateway
                    .options
                    .iter()
                    .find(|o| o.publication_group == column)
            })
            .map_or_else(
                || column_key(column).map_or(column.to_owned(), |k| lang.t(k).to_owned()),
                |o| lang.pick(&o.label).to_owned(),
            )
    };
    let caption = match trail.last() {
        Some(unit) => format!("{} – {} {}", label, t("units_under"), unit.label),
        None => format!("{} – {}", label, t(breakdown_key(asked.by))),
    };
    let trend_caption = format!("{} – {} – {}", label, t("trend"), t("by_overall"));
    let body = html! {
        h1 class="govuk-heading-l" { (t("dashboard")) }
        p class="govuk-body" { (t("dashboard_lead")) }
        form method="get" action="/dashboard" class="govuk-!-margin-bottom-6" {
            @if !organisations.is_empty() {
                div class="govuk-form-group" {
                    label class="govuk-label" for="organisation" { (t("organisation")) }
                    select class="govuk-select" id="organisation" name="organisation" {
                        @for o in &organisations {
                            option value=(o.id) selected[o.id == org] { (o.name) }
                        }
                    }
                }
            }
            div class="govuk-form-group" {
                label class="govuk-label" for="characteristic" { (t("characteristic")) }
                select class="govuk-select" id="characteristic" name="characteristic" {
                    @for c in &doc.characteristics {
                        option value=(c.code) selected[c.code == characteristic] { (lang.pick(&c.label)) }
                    }
                }
            }
            div class="govuk-form-group" {
                fieldset class="govuk-fieldset" {
                    legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { (t("breakdown")) }
                    div class="govuk-radios govuk-radios--small govuk-radios--inline" data-module="govuk-radios" {
                        @for b in BREAKDOWNS {
                            div class="govuk-radios__item" {
                                input class="govuk-radios__input" id={ "by-" (b.as_str()) } name="by" type="radio"
                                    value=(b.as_str()) checked[b == asked.by];
                                label class="govuk-label govuk-radios__label" for={ "by-" (b.as_str()) } { (t(breakdown_key(b))) }
                            }
                        }
                    }
                }
            }
            @if let Some(unit) = &scoped_unit {
                // Drilled into a unit: the level follows from it (the breadcrumb goes back up).
                input type="hidden" name="unit" value=(unit);
                input type="hidden" name="level" value=(shown_level);
            } @else {
                div class="govuk-form-group" {
                    label class="govuk-label" for="level" { (t("level")) }
                    div class="govuk-hint" id="level-hint" { (t("level_hint")) }
                    select class="govuk-select" id="level" name="level" aria-describedby="level-hint" {
                        @for l in 1..=4u32 {
                            option value=(l) selected[l == asked.level] { (l) }
                        }
                    }
                }
            }
            button type="submit" class="govuk-button govuk-button--secondary" data-module="govuk-button" { (t("show")) }
        }
        @if asked.by == Breakdown::OrgUnit && scoped_unit.is_some() {
            nav class="govuk-breadcrumbs" id="unit-trail" aria-label=(t("unit_trail")) {
                ol class="govuk-breadcrumbs__list" {
                    li class="govuk-breadcrumbs__list-item" {
                        a class="govuk-breadcrumbs__link" href=(dashboard_href(&characteristic, Breakdown::OrgUnit, 1, None, org)) { (t("by_overall")) }
                    }
                    @for (i, unit) in trail.iter().enumerate() {
                        li class="govuk-breadcrumbs__list-item" {
                            @if i + 1 == trail.len() {
                                span aria-current="page" { (unit.label) }
                            } @else {
                                a class="govuk-breadcrumbs__link" href=(dashboard_href(&characteristic, Breakdown::OrgUnit, shown_level - (trail.len() - i - 1) as u32, Some(&unit.key), org)) { (unit.label) }
                            }
                        }
                    }
                }
            }
        }
        h2 class="govuk-heading-m" { (caption) }
        @if asked.by == Breakdown::OrgUnit {
            @if figures.rows.iter().any(|r| drill(&r.key).is_some()) {
                p class="govuk-body" { (t("drill_hint")) }
            }
            @if figures.rows.is_empty() {
                p class="govuk-body" id="no-units" { (t("no_units")) }
            }
        }
        (chart(lang, &figures, &caption, "chart"))
        (table(lang, &figures, &caption, "figures", &|c| column_key(c).map_or(c.to_owned(), |k| lang.t(k).to_owned()), &drill))
        p class="govuk-body" { a class="govuk-link" href=(csv_href) download { (t("csv")) } }
        h2 class="govuk-heading-m" { (t("distribution")) }
        (table(lang, &distribution, &format!("{} – {}", t("distribution"), caption), "distribution", &group_label, &|_| None))
        p class="govuk-body" { a class="govuk-link" href=(distribution_csv) download { (t("csv")) } }
        h2 class="govuk-heading-m" id="trend-heading" { (t("trend")) }
        @if trend.points.is_empty() {
            p class="govuk-body" id="trend-none" { (t("trend_none")) }
        } @else {
            p class="govuk-body" { (t("trend_lead")) }
            (trend_chart(lang, &trend, &trend_caption))
            (trend_table(lang, &trend, &trend_caption))
            p class="govuk-body" { a class="govuk-link" href=(trend_csv) download { (t("csv")) } }
        }
        div class="govuk-inset-text" id="suppression" {
            (t("suppressed_explained"))
            " (" (figures.rules.method) ", min_cell " (figures.rules.min_cell) ", min_group " (figures.rules.min_group) ")."
        }
    };
    respond(
        &page,
        StatusCode::OK,
        layout(&page, &state, t("dashboard"), false, body),
    )
}

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
fn table(
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
fn chart(lang: Lang, figures: &Figures, caption: &str, id: &str) -> Markup {
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
fn trend_table(lang: Lang, trend: &Trend, caption: &str) -> Markup {
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
fn trend_chart(lang: Lang, trend: &Trend, caption: &str) -> Markup {
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

/// `GET /dashboard/completion.csv`: the completion table as the API's CSV (`[c]` for
/// suppressed cells).
pub async fn completion_csv(req: HttpRequest, state: State) -> HttpResponse {
    csv(req, state, View::Completion).await
}

/// `GET /dashboard/distribution.csv`: the distribution table, likewise.
pub async fn distribution_csv(req: HttpRequest, state: State) -> HttpResponse {
    csv(req, state, View::Distribution).await
}

/// `GET /dashboard/trend.csv`: the trend across snapshots as the API's trend CSV (whole
/// organisation; every column the snapshots published, `[c]` for suppressed cells).
pub async fn trend_csv(req: HttpRequest, state: State) -> HttpResponse {
    download(
        req,
        state,
        |state, org, characteristic, _asked| async move {
            let trend = load_trend(&state, org, characteristic).await?;
            let name = format!("trend-{}", trend.characteristic);
            Ok((stats_csv::trend(&trend)?, name))
        },
    )
    .await
}

fn csv_file(body: String, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

async fn csv(req: HttpRequest, state: State, view: View) -> HttpResponse {
    download(
        req,
        state,
        move |state, org, characteristic, asked| async move {
            let figures = load(&state, org, characteristic, &asked, view).await?;
            let kind = match view {
                View::Completion => "completion",
                _ => "distribution",
            };
            let title = format!("{kind}: {}", figures.characteristic);
            let name = format!("{kind}-{}-{}", figures.characteristic, asked.by.as_str());
            Ok((stats_csv::figures(&figures, &title)?, name))
        },
    )
    .await
}

/// A CSV download for a viewer: the role gate, the organisation and characteristic asked
/// for, then `make`'s (body, file name), or the error page.
async fn download<F, Fut>(req: HttpRequest, state: State, make: F) -> HttpResponse
where
    F: FnOnce(State, Uuid, String, Asked) -> Fut,
    Fut: std::future::Future<Output = Result<(String, String), AppError>>,
{
    let page = Page::of(&req, &state);
    let principal = match viewer(&page, &state) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let asked = asked(&req);
    let result = async {
        let org = organisation(&state, &principal, asked.organisation).await?;
        let characteristic = asked.characteristic.clone().ok_or_else(|| {
            AppError::bad_request("characteristic", "required", "name a characteristic")
        })?;
        make(state.clone(), org, characteristic, asked).await
    }
    .await;
    match result {
        Ok((body, name)) => csv_file(body, &name),
        Err(e) => error_page(&page, &state, &e),
    }
}
