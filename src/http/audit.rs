//! `GET /v1/audit`: the organisation's audit trail, for auditors. Never holds answer values.

use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthError;
use crate::error::AppResult;
use crate::http::extract::Query;
use crate::http::paging;
use crate::http::principal::{Auditors, Authorized};
use crate::http::AppState;
use crate::services::audit::{self, AuditPage};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Return events with a sequence number after this one (default 0: from the start).
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100); outside that range is refused (400 naming `limit`).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Reads the audit trail of the caller's organisation, oldest first, in pages.
#[utoipa::path(tag = "audit", operation_id = "list_audit_events", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditPage, headers(("Link" = String, description = "RFC 8288 `<...>; rel=\"next\"` when there is a next page"))), (status = 400), (status = 401), (status = 403)))]
#[get("/audit")]
pub async fn list_audit_events(
    caller: Authorized<Auditors>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    let organisation_id = caller
        .principal
        .org_id
        .ok_or(AuthError::WrongOrganisation)?;
    let limit = paging::limit(query.limit)?;
    let after = query.after.unwrap_or(0).max(0);
    let page = audit::page(&state.db, organisation_id, after, limit).await?;
    let next = page.next_after.map(|n| n.to_string());
    Ok(paging::page_response(&req, next.as_deref(), &page))
}
