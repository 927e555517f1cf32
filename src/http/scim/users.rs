//! SCIM Users: employees of the caller's organisation (RFC 7644 §3). Handlers extract,
//! call `services::scim`, and set `ETag`/`Location`; the rules live in the service and domain.

use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::domain::scim::{parse_filter, ScimError};
use crate::error::AppError;
use crate::http::extract::JsonBody;
use crate::http::scim::{base_url, scim_response, ScimCaller};
use crate::http::AppState;
use crate::services::scim::{self, Change, Provisioner, UserDoc};

fn with_version(status: StatusCode, doc: &UserDoc) -> HttpResponse {
    let mut response = scim_response(status, &doc.body);
    if let Ok(value) = header::HeaderValue::from_str(&doc.version) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn body(body: Result<JsonBody<Value>, AppError>) -> Result<Value, ScimError> {
    Ok(body?.parse()?)
}

fn number(params: &[(String, String)], name: &str, default: i64) -> Result<i64, ScimError> {
    match params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        None => Ok(default),
        Some((_, v)) => v
            .trim()
            .parse()
            .map_err(|_| ScimError::bad("invalidValue", format!("`{name}` must be an integer"))),
    }
}

/// Query parameters the list understands (`filter`, `startIndex`, `count`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListParams {
    /// `userName` or `externalId` compared with `eq`, `sw` or `co` to a quoted value, clauses
    /// joined by `and` (e.g. `userName sw "E1" and externalId eq "x"`); anything else is
    /// `invalidFilter`.
    filter: Option<String>,
    /// 1-based index of the first result (default 1).
    #[param(rename = "startIndex")]
    start_index: Option<i64>,
    /// Page size, 0 to 200 (default 100).
    count: Option<i64>,
    /// Comma-separated attributes to return (RFC 7644 section 3.4.2.5), e.g.
    /// `userName,externalId`; `id` and `schemas` always come back.
    attributes: Option<String>,
    /// Comma-separated attributes to leave out.
    #[param(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

/// `attributes` and `excludedAttributes` on a single User.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ProjectionParams {
    /// Comma-separated attributes to return, e.g. `userName,externalId`; `id` and `schemas`
    /// always come back.
    attributes: Option<String>,
    /// Comma-separated attributes to leave out.
    #[param(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

/// The query's parameters (names case-insensitive, as SCIM has them).
fn query_params(req: &HttpRequest) -> Result<Vec<(String, String)>, ScimError> {
    Ok(
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map_err(|e| ScimError::bad("invalidSyntax", e.to_string()))?
            .into_inner(),
    )
}

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Applies `attributes` / `excludedAttributes` to one rendered User.
fn project(params: &[(String, String)], doc: &mut Value) {
    crate::domain::scim::project(
        doc,
        param(params, "attributes"),
        param(params, "excludedAttributes"),
    );
}

/// Lists Users in employee-number order, filtered on `userName` or `externalId` (`eq`, `sw`,
/// `co`, joined by `and`), trimmed by `attributes` or `excludedAttributes`.
#[utoipa::path(tag = "scim", operation_id = "scim_list_users", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "ListResponse of User", content_type = "application/scim+json"),
        (status = 400, description = "invalidFilter or invalidValue"), (status = 401), (status = 403)))]
#[get("/Users")]
pub async fn list_users(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    let params = query_params(&req)?;
    let filter = param(&params, "filter").map(parse_filter).transpose()?;
    let start = number(&params, "startIndex", 1)?;
    let count = number(&params, "count", 100)?;
    let mut page = scim::list(&state.db, caller.org, filter, start, count, base_url(&req)).await?;
    if let Some(resources) = page.get_mut("Resources").and_then(Value::as_array_mut) {
        resources.iter_mut().for_each(|doc| project(&params, doc));
    }
    Ok(scim_response(StatusCode::OK, &page))
}

#[utoipa::path(tag = "scim", operation_id = "scim_get_user", security(("bearer" = [])),
    params(("id" = String, Path), ProjectionParams),
    responses((status = 200, description = "User", content_type = "application/scim+json"),
        (status = 401), (status = 403), (status = 404)))]
#[get("/Users/{id}")]
pub async fn get_user(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let params = query_params(&req)?;
    let mut doc = scim::get(&state.db, caller.org, path.into_inner(), base_url(&req)).await?;
    project(&params, &mut doc.body);
    Ok(with_version(StatusCode::OK, &doc))
}

/// Provisions a person (201 with `Location` and `ETag`). A userName already in use is 409
/// `uniqueness`; a protected characteristic anywhere in the body is 400 `invalidValue`.
#[utoipa::path(tag = "scim", operation_id = "scim_create_user", security(("bearer" = [])),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 201, description = "User", content_type = "application/scim+json"),
        (status = 400), (status = 401), (status = 403), (status = 409)))]
#[post("/Users")]
pub async fn create_user(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    json: Result<JsonBody<Value>, AppError>,
) -> Result<HttpResponse, ScimError> {
    let doc = scim::create(
        &state.db,
        state.sealer.clone(),
        Provisioner {
            org: caller.org,
            actor: caller.actor,
        },
        body(json)?,
        base_url(&req),
    )
    .await?;
    let mut response = with_version(StatusCode::CREATED, &doc);
    if let Some(location) = doc.body["meta"]["location"].as_str() {
        if let Ok(value) = header::HeaderValue::from_str(location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    Ok(response)
}

/// Replaces a User. With `If-Match`, a stale version is 412.
#[utoipa::path(tag = "scim", operation_id = "scim_replace_user", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "User", content_type = "application/scim+json"),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 409), (status = 412)))]
#[put("/Users/{id}")]
pub async fn replace_user(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    json: Result<JsonBody<Value>, AppError>,
) -> Result<HttpResponse, ScimError> {
    let change = Change::Replace(body(json)?);
    update_user(caller, state, req, path, change).await
}

/// Applies a PatchOp (add, replace, remove) to `userName`, `externalId`, `active` and the
/// extension attributes. With `If-Match`, a stale version is 412.
#[utoipa::path(tag = "scim", operation_id = "scim_patch_user", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = Object, content_type = "application/scim+json"),
    responses((status = 200, description = "User", content_type = "application/scim+json"),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 409), (status = 412)))]
#[patch("/Users/{id}")]
pub async fn patch_user(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    json: Result<JsonBody<Value>, AppError>,
) -> Result<HttpResponse, ScimError> {
    let change = Change::Patch(body(json)?);
    update_user(caller, state, req, path, change).await
}

/// PUT and PATCH alike: one update through the service, answered with the new version.
async fn update_user(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    change: Change,
) -> Result<HttpResponse, ScimError> {
    let doc = scim::update(
        &state.db,
        state.sealer.clone(),
        Provisioner {
            org: caller.org,
            actor: caller.actor,
        },
        path.into_inner(),
        change,
        if_match(&req),
        base_url(&req),
    )
    .await?;
    Ok(with_version(StatusCode::OK, &doc))
}

/// De-provisions a person: they become a leaver today and SCIM answers 404 for them from then
/// on. Their workforce record is never deleted (the figures and the bulk sync keep it).
#[utoipa::path(tag = "scim", operation_id = "scim_delete_user", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 412)))]
#[delete("/Users/{id}")]
pub async fn delete_user(
    caller: ScimCaller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    scim::delete(
        &state.db,
        state.sealer.clone(),
        Provisioner {
            org: caller.org,
            actor: caller.actor,
        },
        path.into_inner(),
        if_match(&req),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
