//! Workforce records for HR staff and HR systems. These carry workforce facts only: no answer
//! and no protected characteristic is ever part of an employee record.

use actix_web::{get, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::paging;
use crate::http::principal::{own_organisation, Authorized, WorkforceReaders};
use crate::http::AppState;
use crate::services::workforce::{self, EmployeePage, EmployeeView};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EmployeeQuery {
    /// Return employees whose number sorts after this one (the previous page's `next_after`).
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100); outside that range is refused (400 naming `limit`).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Lists employees in employee-number order, a page at a time.
#[utoipa::path(tag = "workforce", operation_id = "list_employees", security(("bearer" = [])),
    params(EmployeeQuery),
    responses((status = 200, body = EmployeePage, headers(("Link" = String, description = "RFC 8288 `<...>; rel=\"next\"` when there is a next page"))), (status = 400), (status = 401), (status = 403)))]
#[get("/employees")]
pub async fn list_employees(
    caller: Authorized<WorkforceReaders>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<EmployeeQuery>,
) -> AppResult<HttpResponse> {
    let org = own_organisation(&caller.principal)?;
    let query = query.into_inner();
    let limit = paging::limit(query.limit)?;
    // In range, so it fits the service's u32 and is never clamped there.
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    let page: EmployeePage = workforce::list(&state.db, org, query.after, limit).await?;
    Ok(paging::page_response(
        &req,
        page.next_after.as_deref(),
        &page,
    ))
}

#[utoipa::path(tag = "workforce", operation_id = "get_employee", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = EmployeeView), (status = 401), (status = 403), (status = 404)))]
#[get("/employees/{id}")]
pub async fn get_employee(
    caller: Authorized<WorkforceReaders>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> AppResult<web::Json<EmployeeView>> {
    let org = own_organisation(&caller.principal)?;
    Ok(web::Json(
        workforce::get(&state.db, org, path.into_inner()).await?,
    ))
}
