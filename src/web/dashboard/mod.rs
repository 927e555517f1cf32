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
use maud::html;
use uuid::Uuid;

use crate::auth::{Principal, Role};
use crate::error::AppError;
use std::collections::{BTreeMap, BTreeSet};

use crate::services::stats::trend::{self, Trend, TrendRequest};
use crate::services::stats::{
    self, csv as stats_csv, Breakdown, FigureRequest, FigureRow, Figures, View,
};
use crate::services::{catalogue, identity};

use super::fields::{filled, query_fields};
use super::layout::page as layout;
use super::respond::{error_page, html as respond, require};
use super::session::{Page, State};

mod render;
use render::{chart, table, trend_chart, trend_table};

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
    let query = query_fields(req);
    let get = |name: &str| filled(&query, name).map(str::to_owned);
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
