//! `GET /v1/audit`: the organisation's audit trail, for auditors. Never holds answer values.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthError;
use crate::error::{AppError, AppResult};
use crate::http::principal::{Auditors, Authorized};
use crate::http::AppState;
use crate::services::audit::{self, AuditPage};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Return events with a sequence number after this one (default 0: from the start).
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// Reads the audit trail of the caller's organisation, oldest first, in pages.
#[utoipa::path(tag = "audit", operation_id = "list_audit_events", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400), (status = 401), (status = 403)))]
#[get("/audit")]
pub async fn list_audit_events(
    caller: Authorized<Auditors>,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> AppResult<web::Json<AuditPage>> {
    let organisation_id = caller
        .principal
        .org_id
        .ok_or(AuthError::WrongOrganisation)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad_request(
            "limit",
            "out_of_range",
            "limit must be between 1 and 1000",
        ));
    }
    let after = query.after.unwrap_or(0).max(0);
    Ok(web::Json(
        audit::page(&state.db, organisation_id, after, limit).await?,
    ))
}
