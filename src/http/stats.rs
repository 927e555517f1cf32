//! Anonymised figures for EDI boards: completion and declaration figures for one
//! characteristic, by a pre-defined breakdown, always through disclosure control.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthError;
use crate::error::{AppError, AppResult};
use crate::http::principal::{Authorized, EdiViewers};
use crate::http::AppState;
use crate::services::stats::{self, Breakdown, FigureRequest, Figures, View};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FigureQuery {
    /// A characteristic code from the organisation's catalogue, e.g. `disability`.
    pub characteristic: String,
    /// `overall` (default), `org_unit`, `staff_type` or `rank`.
    #[param(inline)]
    pub by: Option<Breakdown>,
    /// For `org_unit`: the tree level, 1 (default) for the units directly under the top.
    pub level: Option<u32>,
}

async fn figures(
    caller: Authorized<EdiViewers>,
    state: web::Data<AppState>,
    query: FigureQuery,
    view: View,
) -> AppResult<Figures> {
    let org = caller
        .principal
        .org_id
        .ok_or(AuthError::WrongOrganisation)?;
    let level = query.level.unwrap_or(1);
    if !(1..=8).contains(&level) {
        return Err(AppError::bad_request(
            "level",
            "out_of_range",
            "level must be between 1 and 8",
        ));
    }
    let request = FigureRequest {
        characteristic: query.characteristic,
        breakdown: query.by.unwrap_or_default(),
        level,
        view,
    };
    stats::figures(
        &state.db,
        state.sealer.clone(),
        state.config.disclosure,
        &state.figures,
        org,
        request,
    )
    .await
}

/// Completion for one characteristic: headcount, declared, prefer not to say and blank, with
/// rates, overall or by one pre-defined breakdown. Small counts are suppressed (and enough
/// others that none can be recovered); every figure says which rules were applied.
#[utoipa::path(tag = "stats", operation_id = "get_completion", security(("bearer" = [])),
    params(FigureQuery),
    responses((status = 200, body = Figures), (status = 400), (status = 401), (status = 403), (status = 422)))]
#[get("/stats/completion")]
pub async fn get_completion(
    caller: Authorized<EdiViewers>,
    state: web::Data<AppState>,
    query: web::Query<FigureQuery>,
) -> AppResult<web::Json<Figures>> {
    Ok(web::Json(
        figures(caller, state, query.into_inner(), View::Completion).await?,
    ))
}

/// The spread of answers for one characteristic, collapsed to the catalogue's publication
/// groups (detail lists never reach published cells), under the same disclosure control.
#[utoipa::path(tag = "stats", operation_id = "get_distribution", security(("bearer" = [])),
    params(FigureQuery),
    responses((status = 200, body = Figures), (status = 400), (status = 401), (status = 403), (status = 422)))]
#[get("/stats/distribution")]
pub async fn get_distribution(
    caller: Authorized<EdiViewers>,
    state: web::Data<AppState>,
    query: web::Query<FigureQuery>,
) -> AppResult<web::Json<Figures>> {
    Ok(web::Json(
        figures(caller, state, query.into_inner(), View::Distribution).await?,
    ))
}
