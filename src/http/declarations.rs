//! The caller's own consents, declaration, history and export, and HR's review reminders.
//! Self-service paths are all under `/me`: the employee is derived from the token, so there
//! is no id to change to reach somebody else's answers.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, put, web, HttpMessage as _, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{AppError, AppResult};
use crate::http::extract::{JsonBody, Query};
use crate::http::middleware::RequestId;
use crate::http::paging;
use crate::http::principal::{
    own_organisation, Authorized, CatalogueEditors, Employees, ReviewReaders,
};
use crate::http::AppState;
use crate::services::audit::Actor;
use crate::services::consent::{self, ConsentsView, NewNotice, NoticeView, UpdateConsents};
use crate::services::declarations::{
    self as service, Change, DeclarationView, Export, HistoryEntry, PatchDeclaration,
    ReplaceDeclaration, ReviewPage,
};

/// Answers belong to one person and change: never cached by intermediaries or the browser.
const NO_STORE: &str = "no-store";

fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// The versions `If-Match` names (`"v3"`, or a list). Missing is 428 so a client that forgot
/// it learns at once, rather than overwriting a change it never saw.
fn if_match(req: &HttpRequest) -> AppResult<Vec<i64>> {
    let values: Vec<&str> = req
        .headers()
        .get_all(header::IF_MATCH)
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return Err(AppError::PreconditionRequired(
            "send If-Match with the declaration's ETag from GET /v1/me/declaration \
             (\"v0\" before anything is declared); nothing was stored"
                .into(),
        ));
    }
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|tag| {
            // If-Match uses strong comparison (RFC 9110 13.1.1): weak tags never match.
            tag.trim()
                .strip_prefix("\"v")
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| {
                    AppError::bad_request(
                        "If-Match",
                        "invalid_etag",
                        format!("`{}` is not a declaration ETag such as \"v3\"", tag.trim()),
                    )
                })
        })
        .collect()
}

fn with_etag(view: &DeclarationView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"v{}\"", view.version)))
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .json(view)
}

fn private_json(body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .json(body)
}

/// The current privacy notice (English and Welsh, with the organisation's lawful basis) and
/// what the caller has agreed to.
#[utoipa::path(tag = "declarations", operation_id = "get_consents", security(("bearer" = [])),
    responses((status = 200, body = ConsentsView), (status = 401), (status = 403)))]
#[get("/me/consents")]
pub async fn get_consents(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let view = consent::get(&state.db, caller.principal, request_id(&req)).await?;
    Ok(private_json(&view))
}

/// Grants or withdraws purposes. A grant must name the current notice version (409 if not).
/// Withdrawing `equality_monitoring` erases the answers and their history at once.
#[utoipa::path(tag = "declarations", operation_id = "update_consents", security(("bearer" = [])),
    request_body = UpdateConsents,
    responses((status = 200, body = ConsentsView), (status = 400), (status = 401), (status = 403),
              (status = 409, description = "The notice version named is not the current one"), (status = 422)))]
#[put("/me/consents")]
pub async fn update_consents(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<UpdateConsents>,
) -> AppResult<HttpResponse> {
    let change = body.parse()?;
    let view = consent::update(
        &state.db,
        state.sealer.clone(),
        caller.principal,
        request_id(&req),
        change,
    )
    .await?;
    Ok(private_json(&view))
}

/// The caller's answers against the catalogue version they answered, what is blank, and what
/// the current catalogue asks that theirs did not. `ETag: "v{version}"` for `If-Match`.
#[utoipa::path(tag = "declarations", operation_id = "get_declaration", security(("bearer" = [])),
    responses((status = 200, body = DeclarationView, headers(("ETag" = String))), (status = 401), (status = 403)))]
#[get("/me/declaration")]
pub async fn get_declaration(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let view = service::read(
        &state.db,
        state.sealer.clone(),
        caller.principal,
        request_id(&req),
    )
    .await?;
    Ok(with_etag(&view))
}

/// Replaces the whole answer set. Needs consent to the current notice and `If-Match`; every
/// validation problem is listed (422, each naming its field) and nothing is stored.
#[utoipa::path(tag = "declarations", operation_id = "replace_declaration", security(("bearer" = [])),
    request_body = ReplaceDeclaration,
    params(("If-Match" = String, Header, description = "The declaration's ETag, e.g. \"v3\" (\"v0\" before the first), or a list of them; not `*`", pattern = r#"^"v[0-9]{1,18}"([ \t]*,[ \t]*"v[0-9]{1,18}")*$"#)),
    responses((status = 200, body = DeclarationView, headers(("ETag" = String))), (status = 400), (status = 401),
              (status = 403, description = "Not an employee, a leaver, or no consent"), (status = 409, description = "A newer privacy notice needs agreeing"),
              (status = 412), (status = 422), (status = 428)))]
#[put("/me/declaration")]
pub async fn replace_declaration(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<ReplaceDeclaration>,
) -> AppResult<HttpResponse> {
    let change = Change::Replace(body.parse()?.answers);
    write_change(caller, state, req, change).await
}

/// Changes one or more characteristics: each to a new answer, or `null` to delete that one
/// answer (it becomes blank). The rest stay as they are.
#[utoipa::path(tag = "declarations", operation_id = "patch_declaration", security(("bearer" = [])),
    request_body = PatchDeclaration,
    params(("If-Match" = String, Header, description = "The declaration's ETag, or a list of them; not `*`", pattern = r#"^"v[0-9]{1,18}"([ \t]*,[ \t]*"v[0-9]{1,18}")*$"#)),
    responses((status = 200, body = DeclarationView, headers(("ETag" = String))), (status = 400), (status = 401),
              (status = 403), (status = 409), (status = 412), (status = 422), (status = 428)))]
#[patch("/me/declaration")]
pub async fn patch_declaration(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<PatchDeclaration>,
) -> AppResult<HttpResponse> {
    let change = Change::Patch(body.parse()?.answers);
    write_change(caller, state, req, change).await
}

/// PUT and PATCH alike: the body is parsed (after authorising), then `If-Match` is checked.
async fn write_change(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
    change: Change,
) -> AppResult<HttpResponse> {
    let expected = if_match(&req)?;
    let view = service::write(
        &state.db,
        state.sealer.clone(),
        caller.principal,
        request_id(&req),
        expected,
        change,
    )
    .await?;
    Ok(with_etag(&view))
}

/// Erases every answer and the history (for real), keeping the caller's consent as it is.
#[utoipa::path(tag = "declarations", operation_id = "delete_declaration", security(("bearer" = [])),
    responses((status = 204), (status = 401), (status = 403)))]
#[delete("/me/declaration")]
pub async fn delete_declaration(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    service::erase(
        &state.db,
        state.sealer.clone(),
        caller.principal,
        request_id(&req),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own past answer sets, oldest first.
#[utoipa::path(tag = "declarations", operation_id = "get_declaration_history", security(("bearer" = [])),
    responses((status = 200, body = [HistoryEntry]), (status = 401), (status = 403)))]
#[get("/me/declaration/history")]
pub async fn get_declaration_history(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let history = service::history(
        &state.db,
        state.sealer.clone(),
        caller.principal,
        request_id(&req),
    )
    .await?;
    Ok(private_json(&history))
}

/// Confirms the answers are still right (the annual review), without changing them.
#[utoipa::path(tag = "declarations", operation_id = "review_declaration", security(("bearer" = [])),
    responses((status = 200, body = DeclarationView, headers(("ETag" = String))), (status = 401), (status = 403),
              (status = 404, description = "Nothing declared yet"), (status = 409)))]
#[post("/me/declaration/review")]
pub async fn review_declaration(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let view = service::review(
        &state.db,
        state.sealer.clone(),
        caller.principal,
        request_id(&req),
    )
    .await?;
    Ok(with_etag(&view))
}

/// Everything held about the caller (record, notice, consents, answers, history, audit events
/// about them): a subject access request in one call.
#[utoipa::path(tag = "declarations", operation_id = "get_export", security(("bearer" = [])),
    responses((status = 200, body = Export), (status = 401), (status = 403)))]
#[get("/me/export")]
pub async fn get_export(
    caller: Authorized<Employees>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let export = service::export(
        &state.db,
        state.sealer.clone(),
        caller.principal,
        request_id(&req),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, NO_STORE))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"declare-export.json\"",
        ))
        .json(export))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// RFC 3339 time the reminder round is for (default now): anyone whose last review is more
    /// than a year before it is due.
    pub due_before: Option<chrono::DateTime<chrono::Utc>>,
    /// Employee number to continue after (from `next_after`).
    pub after: Option<String>,
    /// Only people in the org unit with this code (that unit alone, not the units under it);
    /// a code no unit has lists nobody.
    pub unit: Option<String>,
    /// Page size, 1 to 1000 (default 100); outside that range is refused (400 naming `limit`).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Employees in post who have never declared or are due their annual review: ids, numbers and
/// a status, never any answer.
#[utoipa::path(tag = "declarations", operation_id = "list_due_reviews", security(("bearer" = [])),
    params(ReviewQuery),
    responses((status = 200, body = ReviewPage, headers(("Link" = String, description = "RFC 8288 `<...>; rel=\"next\"` when there is a next page"))), (status = 400), (status = 401), (status = 403)))]
#[get("/reviews")]
pub async fn list_due_reviews(
    caller: Authorized<ReviewReaders>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<ReviewQuery>,
) -> AppResult<HttpResponse> {
    let org = own_organisation(&caller.principal)?;
    let limit = paging::limit(query.limit)?;
    let due_before = query
        .due_before
        .unwrap_or_else(chrono::Utc::now)
        .naive_utc();
    let actor = Actor::of(&caller.principal, request_id(&req));
    let page = service::due_reviews(
        &state.db,
        org,
        actor,
        due_before,
        query.after.clone(),
        query.unit.clone(),
        limit,
    )
    .await?;
    Ok(paging::page_response(
        &req,
        page.next_after.as_deref(),
        &page,
    ))
}

/// Publishes a new privacy notice version (the organisation's wording and lawful basis).
/// Everyone must agree to it before changing their declaration again.
#[utoipa::path(tag = "declarations", operation_id = "publish_privacy_notice", security(("bearer" = [])),
    request_body = NewNotice,
    responses((status = 201, body = NoticeView), (status = 400), (status = 401), (status = 403), (status = 422)))]
#[post("/privacy-notices")]
pub async fn publish_privacy_notice(
    caller: Authorized<CatalogueEditors>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<NewNotice>,
) -> AppResult<HttpResponse> {
    let org = own_organisation(&caller.principal)?;
    let new = body.parse()?;
    let actor = Actor::of(&caller.principal, request_id(&req));
    let notice = consent::publish_notice(&state.db, org, actor, new).await?;
    Ok(HttpResponse::Created().json(notice))
}
