//! The question catalogue: the shipped national catalogue (public), each organisation's
//! published versions (any of its callers), and its one draft (catalogue editors).
//!
//! Reads come in two forms: the full bilingual document (the default), or with `?lang=cy`
//! (or `Accept-Language` preferring Welsh) every `{en, cy}` text resolved to plain strings.
//! Both carry a strong `ETag`, so a front end revalidates its cached form with a cheap 304.

use actix_web::http::header;
use actix_web::{delete, get, post, put, web, HttpMessage as _, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::catalogue::Catalogue;
use crate::error::{AppError, AppResult};
use crate::http::extract::{JsonBody, LargeJsonBody, Query};
use crate::http::middleware::RequestId;
use crate::http::principal::{AnyRole, Authorized, CatalogueEditors};
use crate::http::AppState;
use crate::services::audit::Actor;
use crate::services::catalogue::{
    self as service, CatalogueVersionSummary, CatalogueVersionView, DraftValidation,
};
use crate::services::catalogue_migration::{self as migration, MigrationReport, MigrationRequest};

/// The language of the single-language form.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    En,
    Cy,
}

impl Lang {
    fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Cy => "cy",
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LangQuery {
    /// `en` or `cy`: return every text as a plain string in that language instead of the
    /// bilingual `{en, cy}` objects. Without it, `Accept-Language` preferring `cy` selects
    /// Welsh; otherwise the full bilingual document is returned.
    #[param(inline)]
    pub lang: Option<Lang>,
}

/// Published versions change the current catalogue, so clients must revalidate (cheaply,
/// with the ETag); `private` because the catalogue belongs to the caller's organisation.
const CURRENT_CACHE: &str = "private, no-cache";
/// A published version never changes, so its representation may be kept.
const IMMUTABLE_CACHE: &str = "private, max-age=86400, immutable";
const NATIONAL_CACHE: &str = "public, no-cache";
/// Drafts are work in progress seen only by editors.
const DRAFT_CACHE: &str = "no-store";

/// The organisation a caller acts for: catalogues belong to organisations.
fn organisation(principal: &Principal) -> AppResult<Uuid> {
    principal.org_id.ok_or_else(|| {
        AppError::Forbidden(
            "catalogues belong to an organisation and this caller acts for none".into(),
        )
    })
}

/// `?lang` wins; else Welsh if `Accept-Language` rates it above English; else bilingual.
fn language(req: &HttpRequest, query: &LangQuery) -> Option<&'static str> {
    if let Some(lang) = query.lang {
        return Some(lang.as_str());
    }
    let accept = req.headers().get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let (mut cy, mut en) = (0.0_f32, 0.0_f32);
    for entry in accept.split(',') {
        let mut parts = entry.trim().split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        if primary == "cy" {
            cy = cy.max(q);
        } else if primary == "en" {
            en = en.max(q);
        }
    }
    (cy > 0.0 && cy > en).then_some("cy")
}

/// True when `If-None-Match` names this entity tag (weak comparison, RFC 9110 13.1.2).
fn not_modified(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// Renders a catalogue representation with its ETag, cache headers and language form.
fn render(
    req: &HttpRequest,
    query: &LangQuery,
    body: &impl Serialize,
    etag: &str,
    cache: &str,
) -> AppResult<HttpResponse> {
    let lang = language(req, query);
    // Each form is a different representation, so each has its own tag.
    let tag = match lang {
        Some(lang) => format!("\"{etag}-{lang}\""),
        None => format!("\"{etag}\""),
    };
    let mut response = if not_modified(req, &tag) {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, tag.clone()))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Language"));
    if not_modified(req, &tag) {
        return Ok(response.finish());
    }
    let mut json = serde_json::to_value(body).map_err(AppError::internal)?;
    if let Some(lang) = lang {
        service::resolve_language(&mut json, lang);
        response.insert_header((header::CONTENT_LANGUAGE, lang));
    }
    Ok(response.json(json))
}

/// The national catalogue shipped with Declare, from which every organisation starts.
/// Public: it holds no one's data, and lets a front end be built before any organisation exists.
#[utoipa::path(tag = "catalogue", operation_id = "get_national_catalogue", params(LangQuery),
    responses((status = 200, body = Catalogue, description = "The national catalogue (bilingual, or resolved to `lang`)",
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified (If-None-Match)"), (status = 400)))]
#[get("/catalogue/national")]
pub async fn get_national_catalogue(
    req: HttpRequest,
    query: Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let national = service::national()?;
    let etag = service::etag_of(crate::domain::catalogue::NATIONAL_JSON);
    render(&req, &query, &national, &etag, NATIONAL_CACHE)
}

/// The caller's organisation's current catalogue: the published version a front end renders
/// its declaration form from.
#[utoipa::path(tag = "catalogue", operation_id = "get_catalogue", security(("bearer" = [])), params(LangQuery),
    responses((status = 200, body = CatalogueVersionView, description = "The current published version (bilingual, or resolved to `lang`)",
               headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified (If-None-Match)"), (status = 400), (status = 401), (status = 403), (status = 404)))]
#[get("/catalogue")]
pub async fn get_catalogue(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let org = organisation(&caller.principal)?;
    let current = service::current(&state.db, org).await?;
    render(&req, &query, &current, &current.etag, CURRENT_CACHE)
}

/// The organisation's published catalogue versions, newest first.
#[utoipa::path(tag = "catalogue", operation_id = "list_catalogue_versions", security(("bearer" = [])),
    responses((status = 200, body = [CatalogueVersionSummary]), (status = 401), (status = 403)))]
#[get("/catalogue/versions")]
pub async fn list_catalogue_versions(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
) -> AppResult<web::Json<Vec<CatalogueVersionSummary>>> {
    let org = organisation(&caller.principal)?;
    Ok(web::Json(service::list_versions(&state.db, org).await?))
}

/// One published version (immutable, so cacheable), e.g. to read answers given under it.
#[utoipa::path(tag = "catalogue", operation_id = "get_catalogue_version", security(("bearer" = [])),
    params(("version_id" = Uuid, Path), LangQuery),
    responses((status = 200, body = CatalogueVersionView, headers(("ETag" = String), ("Cache-Control" = String))),
              (status = 304, description = "Not modified (If-None-Match)"), (status = 400), (status = 401), (status = 403), (status = 404)))]
#[get("/catalogue/versions/{version_id}")]
pub async fn get_catalogue_version(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<Uuid>,
    query: Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let org = organisation(&caller.principal)?;
    let version = service::find_version(&state.db, org, path.into_inner()).await?;
    render(&req, &query, &version, &version.etag, IMMUTABLE_CACHE)
}

/// Starts a draft as a copy of the current published version (one draft at a time).
#[utoipa::path(tag = "catalogue", operation_id = "create_catalogue_draft", security(("bearer" = [])),
    responses((status = 201, body = CatalogueVersionView), (status = 401), (status = 403), (status = 409)))]
#[post("/catalogue/drafts")]
pub async fn create_catalogue_draft(
    caller: Authorized<CatalogueEditors>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let org = organisation(&caller.principal)?;
    let draft = service::create_draft(&state.db, org).await?;
    Ok(draft_response(HttpResponse::Created(), &draft))
}

fn draft_response(
    mut builder: actix_web::HttpResponseBuilder,
    draft: &CatalogueVersionView,
) -> HttpResponse {
    builder
        .insert_header((header::ETAG, format!("\"{}\"", draft.etag)))
        .insert_header((header::CACHE_CONTROL, DRAFT_CACHE))
        .json(draft)
}

/// The organisation's draft.
#[utoipa::path(tag = "catalogue", operation_id = "get_catalogue_draft", security(("bearer" = [])),
    responses((status = 200, body = CatalogueVersionView, headers(("ETag" = String))), (status = 401), (status = 403), (status = 404)))]
#[get("/catalogue/drafts/current")]
pub async fn get_catalogue_draft(
    caller: Authorized<CatalogueEditors>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let org = organisation(&caller.principal)?;
    let draft = service::current_draft(&state.db, org).await?;
    Ok(draft_response(HttpResponse::Ok(), &draft))
}

/// Replaces the draft's document. The whole document is validated and every problem is
/// listed (422, each naming its field); nothing is saved unless it is valid. Nothing the
/// published version has may be removed: retire options instead. Send `If-Match` with the
/// draft's ETag to avoid overwriting another editor's change (412 if it moved).
#[utoipa::path(tag = "catalogue", operation_id = "replace_catalogue_draft", security(("bearer" = [])),
    request_body = Catalogue,
    params(("If-Match" = Option<String>, Header, description = "The draft's ETag")),
    responses((status = 200, body = CatalogueVersionView, headers(("ETag" = String))), (status = 401), (status = 403),
              (status = 404), (status = 412), (status = 422)))]
#[put("/catalogue/drafts/current")]
pub async fn replace_catalogue_draft(
    caller: Authorized<CatalogueEditors>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: LargeJsonBody<Catalogue>,
) -> AppResult<HttpResponse> {
    let org = organisation(&caller.principal)?;
    let document = body.parse()?;
    let if_match = req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches('"').to_owned());
    let draft = service::replace_draft(&state.db, org, document, if_match).await?;
    Ok(draft_response(HttpResponse::Ok(), &draft))
}

/// Validates a candidate draft document without saving it: every problem, and what it changes
/// relative to the published version.
#[utoipa::path(tag = "catalogue", operation_id = "validate_catalogue_draft", security(("bearer" = [])),
    request_body = Catalogue,
    responses((status = 200, body = DraftValidation), (status = 401), (status = 403), (status = 404), (status = 422)))]
#[post("/catalogue/drafts/current/validate")]
pub async fn validate_catalogue_draft(
    caller: Authorized<CatalogueEditors>,
    state: web::Data<AppState>,
    body: LargeJsonBody<Catalogue>,
) -> AppResult<web::Json<DraftValidation>> {
    let org = organisation(&caller.principal)?;
    let document = body.parse()?;
    Ok(web::Json(
        service::validate_draft(&state.db, org, document).await?,
    ))
}

/// Publishes the draft: validated again, then immutable and the current version.
#[utoipa::path(tag = "catalogue", operation_id = "publish_catalogue_draft", security(("bearer" = [])),
    responses((status = 200, body = CatalogueVersionView), (status = 401), (status = 403), (status = 404), (status = 422)))]
#[post("/catalogue/drafts/current/publish")]
pub async fn publish_catalogue_draft(
    caller: Authorized<CatalogueEditors>,
    state: web::Data<AppState>,
) -> AppResult<web::Json<CatalogueVersionView>> {
    let org = organisation(&caller.principal)?;
    Ok(web::Json(service::publish_draft(&state.db, org).await?))
}

/// Discards the draft.
#[utoipa::path(tag = "catalogue", operation_id = "delete_catalogue_draft", security(("bearer" = [])),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
#[delete("/catalogue/drafts/current")]
pub async fn delete_catalogue_draft(
    caller: Authorized<CatalogueEditors>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let org = organisation(&caller.principal)?;
    service::delete_draft(&state.db, org).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Carries every stored declaration of the organisation onto a published version (the current
/// one unless `target_version`) with a legacy or version-to-version mapping, in one
/// transaction: answers re-sealed against the target with a history entry each, tallies
/// adjusted, one audit event. Declarations already on the target with nothing to map are left
/// alone. Returns counts only (per characteristic and option, never who). A mapping naming a
/// code no published version has, or a target the version lacks (or has retired), is a 422
/// listing every problem, and nothing is written. `dry_run: true` reports and rolls back.
#[utoipa::path(tag = "catalogue", operation_id = "migrate_declarations", security(("bearer" = [])),
    request_body = MigrationRequest,
    responses((status = 200, body = MigrationReport), (status = 400), (status = 401), (status = 403),
              (status = 404, description = "The organisation has no published catalogue"), (status = 422)))]
#[post("/catalogue/migrations")]
pub async fn migrate_declarations(
    caller: Authorized<CatalogueEditors>,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<MigrationRequest>,
) -> AppResult<HttpResponse> {
    let org = organisation(&caller.principal)?;
    let request = body.parse()?;
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    let actor = Actor::of(&caller.principal, request_id);
    let report = migration::migrate(&state.db, state.sealer.clone(), org, actor, request).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(report))
}
