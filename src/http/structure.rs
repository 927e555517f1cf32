//! Organisation structure: org units, staff types, ranks or grades. For HR staff and HR systems
//! of the caller's own organisation.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

use crate::error::AppResult;
use crate::http::extract::JsonBody;
use crate::http::principal::{own_organisation, Authorized, WorkforceReaders, WorkforceWriters};
use crate::http::AppState;
use crate::services::structure::{
    self, NewOrgUnit, NewRank, NewStaffType, OrgUnitChanges, OrgUnitView, RankChanges, RankView,
    StaffTypeChanges, StaffTypeView,
};

/// Lists the organisation's units (the tree, flat; rebuild it from `parent_id`).
#[utoipa::path(tag = "structure", operation_id = "list_org_units", security(("bearer" = [])),
    responses((status = 200, body = [OrgUnitView]), (status = 401), (status = 403)))]
#[get("/org-units")]
pub async fn list_org_units(
    caller: Authorized<WorkforceReaders>,
    state: web::Data<AppState>,
) -> AppResult<web::Json<Vec<OrgUnitView>>> {
    let org = own_organisation(&caller.principal)?;
    Ok(web::Json(structure::list_units(&state.db, org).await?))
}

#[utoipa::path(tag = "structure", operation_id = "get_org_unit", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OrgUnitView), (status = 401), (status = 403), (status = 404)))]
#[get("/org-units/{id}")]
pub async fn get_org_unit(
    caller: Authorized<WorkforceReaders>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> AppResult<web::Json<OrgUnitView>> {
    let org = own_organisation(&caller.principal)?;
    Ok(web::Json(
        structure::get_unit(&state.db, org, path.into_inner()).await?,
    ))
}

#[utoipa::path(tag = "structure", operation_id = "create_org_unit", security(("bearer" = [])),
    request_body = NewOrgUnit,
    responses((status = 201, body = OrgUnitView), (status = 401), (status = 403), (status = 409), (status = 422)))]
#[post("/org-units")]
pub async fn create_org_unit(
    caller: Authorized<WorkforceWriters>,
    state: web::Data<AppState>,
    body: JsonBody<NewOrgUnit>,
) -> AppResult<HttpResponse> {
    let org = own_organisation(&caller.principal)?;
    let unit = structure::create_unit(&state.db, org, caller.actor(), body.parse()?).await?;
    Ok(HttpResponse::Created().json(unit))
}

/// Renames, re-codes or re-parents a unit. Moving a unit under itself or a descendant is refused.
#[utoipa::path(tag = "structure", operation_id = "update_org_unit", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = OrgUnitChanges,
    responses((status = 200, body = OrgUnitView), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
#[patch("/org-units/{id}")]
pub async fn update_org_unit(
    caller: Authorized<WorkforceWriters>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: JsonBody<OrgUnitChanges>,
) -> AppResult<web::Json<OrgUnitView>> {
    let org = own_organisation(&caller.principal)?;
    let changes = body.parse()?;
    Ok(web::Json(
        structure::update_unit(&state.db, org, caller.actor(), path.into_inner(), changes).await?,
    ))
}

/// Deletes a unit with no child units and no employees (409 otherwise).
#[utoipa::path(tag = "structure", operation_id = "delete_org_unit", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409)))]
#[delete("/org-units/{id}")]
pub async fn delete_org_unit(
    caller: Authorized<WorkforceWriters>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let org = own_organisation(&caller.principal)?;
    structure::delete_unit(&state.db, org, caller.actor(), path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lists staff types; the six national ones are created on first use.
#[utoipa::path(tag = "structure", operation_id = "list_staff_types", security(("bearer" = [])),
    responses((status = 200, body = [StaffTypeView]), (status = 401), (status = 403)))]
#[get("/staff-types")]
pub async fn list_staff_types(
    caller: Authorized<WorkforceReaders>,
    state: web::Data<AppState>,
) -> AppResult<web::Json<Vec<StaffTypeView>>> {
    let org = own_organisation(&caller.principal)?;
    Ok(web::Json(
        structure::list_staff_types(&state.db, org).await?,
    ))
}

#[utoipa::path(tag = "structure", operation_id = "get_staff_type", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = StaffTypeView), (status = 401), (status = 403), (status = 404)))]
#[get("/staff-types/{id}")]
pub async fn get_staff_type(
    caller: Authorized<WorkforceReaders>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> AppResult<web::Json<StaffTypeView>> {
    let org = own_organisation(&caller.principal)?;
    Ok(web::Json(
        structure::get_staff_type(&state.db, org, path.into_inner()).await?,
    ))
}

#[utoipa::path(tag = "structure", operation_id = "create_staff_type", security(("bearer" = [])),
    request_body = NewStaffType,
    responses((status = 201, body = StaffTypeView), (status = 401), (status = 403), (status = 409), (status = 422)))]
#[post("/staff-types")]
pub async fn create_staff_type(
    caller: Authorized<WorkforceWriters>,
    state: web::Data<AppState>,
    body: JsonBody<NewStaffType>,
) -> AppResult<HttpResponse> {
    let org = own_organisation(&caller.principal)?;
    let row = structure::create_staff_type(&state.db, org, caller.actor(), body.parse()?).await?;
    Ok(HttpResponse::Created().json(row))
}

#[utoipa::path(tag = "structure", operation_id = "update_staff_type", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = StaffTypeChanges,
    responses((status = 200, body = StaffTypeView), (status = 401), (status = 403), (status = 404), (status = 422)))]
#[patch("/staff-types/{id}")]
pub async fn update_staff_type(
    caller: Authorized<WorkforceWriters>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: JsonBody<StaffTypeChanges>,
) -> AppResult<web::Json<StaffTypeView>> {
    let org = own_organisation(&caller.principal)?;
    let changes = body.parse()?;
    Ok(web::Json(
        structure::update_staff_type(&state.db, org, caller.actor(), path.into_inner(), changes)
            .await?,
    ))
}

/// Lists ranks or grades in seniority order.
#[utoipa::path(tag = "structure", operation_id = "list_ranks", security(("bearer" = [])),
    responses((status = 200, body = [RankView]), (status = 401), (status = 403)))]
#[get("/ranks")]
pub async fn list_ranks(
    caller: Authorized<WorkforceReaders>,
    state: web::Data<AppState>,
) -> AppResult<web::Json<Vec<RankView>>> {
    let org = own_organisation(&caller.principal)?;
    Ok(web::Json(structure::list_ranks(&state.db, org).await?))
}

#[utoipa::path(tag = "structure", operation_id = "get_rank", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RankView), (status = 401), (status = 403), (status = 404)))]
#[get("/ranks/{id}")]
pub async fn get_rank(
    caller: Authorized<WorkforceReaders>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> AppResult<web::Json<RankView>> {
    let org = own_organisation(&caller.principal)?;
    Ok(web::Json(
        structure::get_rank(&state.db, org, path.into_inner()).await?,
    ))
}

#[utoipa::path(tag = "structure", operation_id = "create_rank", security(("bearer" = [])),
    request_body = NewRank,
    responses((status = 201, body = RankView), (status = 401), (status = 403), (status = 409), (status = 422)))]
#[post("/ranks")]
pub async fn create_rank(
    caller: Authorized<WorkforceWriters>,
    state: web::Data<AppState>,
    body: JsonBody<NewRank>,
) -> AppResult<HttpResponse> {
    let org = own_organisation(&caller.principal)?;
    let row = structure::create_rank(&state.db, org, caller.actor(), body.parse()?).await?;
    Ok(HttpResponse::Created().json(row))
}

#[utoipa::path(tag = "structure", operation_id = "update_rank", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RankChanges,
    responses((status = 200, body = RankView), (status = 401), (status = 403), (status = 404), (status = 422)))]
#[patch("/ranks/{id}")]
pub async fn update_rank(
    caller: Authorized<WorkforceWriters>,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: JsonBody<RankChanges>,
) -> AppResult<web::Json<RankView>> {
    let org = own_organisation(&caller.principal)?;
    let changes = body.parse()?;
    Ok(web::Json(
        structure::update_rank(&state.db, org, caller.actor(), path.into_inner(), changes).await?,
    ))
}
