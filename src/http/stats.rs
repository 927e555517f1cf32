//! Anonymised figures for EDI boards: completion and declaration figures for one
//! characteristic, by a pre-defined breakdown, always through disclosure control; live or from
//! a frozen snapshot; across snapshots as a trend; JSON or CSV.
//!
//! Who: `edi_viewer` for their own organisation, `national_viewer` (deployment-wide) for any
//! organisation named by `?organisation=ID`, and nobody else.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{AuthError, Principal};
use crate::domain::schedule::SnapshotKind;
use crate::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::principal::{Authorized, FigureViewers};
use crate::http::AppState;
use crate::services::identity;
use crate::services::stats::trend::{self, Trend, TrendRequest};
use crate::services::stats::{
    self, csv, snapshots, Breakdown, FigureRequest, Figures, SnapshotSummary, View,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Csv,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FigureQuery {
    /// A characteristic code from the organisation's catalogue, e.g. `disability`.
    pub characteristic: String,
    /// `overall` (default), `org_unit`, `staff_type` or `rank`.
    #[param(inline)]
    pub by: Option<Breakdown>,
    /// For `org_unit`: the tree level, 1 (default) for the units directly under the top; 1 to 8.
    #[param(minimum = 1, maximum = 8)]
    pub level: Option<u32>,
    /// For `org_unit`: only the units directly under this org unit (and its people in none of
    /// them), at the level below it (`level` is then not used); 404 if the figures' tree has
    /// no such unit. Ignored for other breakdowns.
    pub unit: Option<Uuid>,
    /// A snapshot id (`GET /v1/stats/snapshots`): answer from its frozen figures.
    pub snapshot: Option<Uuid>,
    /// The organisation: required for national viewers; others may only name their own.
    pub organisation: Option<Uuid>,
    /// `json` (default) or `csv`; `Accept: text/csv` also selects CSV.
    #[param(inline)]
    pub format: Option<Format>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    /// A characteristic code, e.g. `disability`.
    pub characteristic: String,
    /// `overall` (default), `org_unit`, `staff_type` or `rank`.
    #[param(inline)]
    pub by: Option<Breakdown>,
    /// For `org_unit`: the tree level, 1 (default); 1 to 8.
    #[param(minimum = 1, maximum = 8)]
    pub level: Option<u32>,
    /// Only `publication` or only `monthly` snapshots.
    #[param(inline)]
    pub kind: Option<SnapshotKind>,
    /// The organisation: required for national viewers; others may only name their own.
    pub organisation: Option<Uuid>,
    /// `json` (default) or `csv`; `Accept: text/csv` also selects CSV.
    #[param(inline)]
    pub format: Option<Format>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// Only `publication` or only `monthly` snapshots.
    #[param(inline)]
    pub kind: Option<SnapshotKind>,
    /// The organisation: required for national viewers; others may only name their own.
    pub organisation: Option<Uuid>,
}

/// The organisation whose figures the caller reads. An organisation-bound viewer reads only
/// their own (naming another is 403); a national viewer must name one that exists.
async fn organisation_of(
    state: &AppState,
    principal: &Principal,
    asked: Option<Uuid>,
) -> AppResult<Uuid> {
    match (principal.org_id, asked) {
        (Some(own), None) => Ok(own),
        (Some(own), Some(asked)) if asked == own => Ok(own),
        (Some(_), Some(_)) => Err(AuthError::WrongOrganisation.into()),
        (None, None) => Err(AppError::bad_request(
            "organisation",
            "required",
            "a national viewer names the organisation: ?organisation=ID",
        )),
        (None, Some(asked)) => {
            identity::find_organisation(&state.db, asked).await?;
            Ok(asked)
        }
    }
}

fn level_of(level: Option<u32>) -> AppResult<u32> {
    let level = level.unwrap_or(1);
    if !(1..=8).contains(&level) {
        return Err(AppError::bad_request(
            "level",
            "out_of_range",
            "level must be between 1 and 8",
        ));
    }
    Ok(level)
}

/// CSV when asked by `?format=csv`, or by an `Accept` that names `text/csv` (and no
/// `?format=json` overrides it).
fn wants_csv(req: &HttpRequest, format: Option<Format>) -> bool {
    match format {
        Some(format) => format == Format::Csv,
        None => req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv")),
    }
}

fn csv_response(body: String, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .insert_header((header::VARY, "Accept"))
        .body(body)
}

async fn figures(
    caller: Authorized<FigureViewers>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: FigureQuery,
    view: View,
) -> AppResult<HttpResponse> {
    let org = organisation_of(&state, &caller.principal, query.organisation).await?;
    let request = FigureRequest {
        characteristic: query.characteristic,
        breakdown: query.by.unwrap_or_default(),
        level: level_of(query.level)?,
        unit: query.unit.map(|u| u.to_string()),
        view,
    };
    let figures: Figures = stats::figures_at(
        &state.db,
        state.sealer.clone(),
        state.config.disclosure,
        &state.figures,
        org,
        query.snapshot,
        request,
    )
    .await?;
    if wants_csv(&req, query.format) {
        let (title, name) = match view {
            View::Completion => ("Completion", "completion"),
            _ => ("Declarations", "distribution"),
        };
        let title = format!("{title}: {}", figures.characteristic);
        let name = format!("{name}-{}", figures.characteristic);
        return Ok(csv_response(csv::figures(&figures, &title)?, &name));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::VARY, "Accept"))
        .json(figures))
}

/// Completion for one characteristic: headcount, declared, prefer not to say and blank, with
/// rates, overall or by one pre-defined breakdown, live (as frozen at the current publication
/// epoch) or from a snapshot. Every count but the headcount carries cell-key noise fixed by the
/// people behind it, so counts do not add up exactly and no answer can be worked out by
/// combining tables or comparing publications; groups under `min_group` are not broken down;
/// `rules` states the method and its parameters. CSV (`?format=csv` or `Accept: text/csv`)
/// shows suppressed cells as `[c]`.
#[utoipa::path(tag = "stats", operation_id = "get_completion", security(("bearer" = [])),
    params(FigureQuery),
    responses(
        (status = 200, content((Figures = "application/json"), (String = "text/csv"))),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)))]
#[get("/stats/completion")]
pub async fn get_completion(
    caller: Authorized<FigureViewers>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<FigureQuery>,
) -> AppResult<HttpResponse> {
    figures(caller, state, req, query.into_inner(), View::Completion).await
}

/// The spread of answers for one characteristic, collapsed to the catalogue's publication
/// groups (detail lists never reach published cells), under the same disclosure control;
/// live or from a snapshot, JSON or CSV.
#[utoipa::path(tag = "stats", operation_id = "get_distribution", security(("bearer" = [])),
    params(FigureQuery),
    responses(
        (status = 200, content((Figures = "application/json"), (String = "text/csv"))),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)))]
#[get("/stats/distribution")]
pub async fn get_distribution(
    caller: Authorized<FigureViewers>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<FigureQuery>,
) -> AppResult<HttpResponse> {
    figures(caller, state, req, query.into_inner(), View::Distribution).await
}

/// The organisation's snapshots (frozen figures at publication dates and monthly), oldest
/// first. A snapshot never changes once taken; `late` says it was taken after its date.
#[utoipa::path(tag = "stats", operation_id = "list_snapshots", security(("bearer" = [])),
    params(SnapshotQuery),
    responses((status = 200, body = Vec<SnapshotSummary>), (status = 400), (status = 401), (status = 403), (status = 404)))]
#[get("/stats/snapshots")]
pub async fn list_snapshots(
    caller: Authorized<FigureViewers>,
    state: web::Data<AppState>,
    query: Query<SnapshotQuery>,
) -> AppResult<web::Json<Vec<SnapshotSummary>>> {
    let query = query.into_inner();
    let org = organisation_of(&state, &caller.principal, query.organisation).await?;
    Ok(web::Json(
        snapshots::list(&state.db, org, query.kind).await?,
    ))
}

/// Completion and declaration rates across snapshots, oldest first: each point is exactly
/// what the same question asked of that snapshot answers, under the same disclosure control.
#[utoipa::path(tag = "stats", operation_id = "get_trend", security(("bearer" = [])),
    params(TrendQuery),
    responses(
        (status = 200, content((Trend = "application/json"), (String = "text/csv"))),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 422)))]
#[get("/stats/trend")]
pub async fn get_trend(
    caller: Authorized<FigureViewers>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<TrendQuery>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let org = organisation_of(&state, &caller.principal, query.organisation).await?;
    let request = TrendRequest {
        characteristic: query.characteristic,
        breakdown: query.by.unwrap_or_default(),
        level: level_of(query.level)?,
        kind: query.kind,
    };
    let trend: Trend = trend::trend(
        &state.db,
        state.sealer.clone(),
        state.config.disclosure,
        &state.figures,
        org,
        request,
    )
    .await?;
    if wants_csv(&req, query.format) {
        let name = format!("trend-{}", trend.characteristic);
        return Ok(csv_response(csv::trend(&trend)?, &name));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::VARY, "Accept"))
        .json(trend))
}
