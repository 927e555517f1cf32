//! The HTTP edge: the route table, shared state and the OpenAPI document.
//!
//! Handlers are thin: extract, authorise, call a service, map the result. Every handler is
//! registered through `utoipa_actix_web`'s `service`, so a served route without an OpenAPI
//! entry cannot exist; `tests/api/openapi.rs` checks the committed `openapi.yaml` against it.

pub mod audit;
pub mod catalogue;
pub mod contract;
pub mod cors;
pub mod declarations;
pub mod employees;
pub mod examples;
pub mod extract;
pub mod health;
pub mod me;
pub mod meta;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod organisations;
pub mod paging;
pub mod principal;
pub mod scim;
pub mod state;
pub mod stats;
pub mod strict;
pub mod structure;
pub mod sync;

use actix_web::web;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt as _};

use crate::error::{AppError, FieldError, Problem};

pub use metrics::Metrics;
pub use state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Declare",
        description = "Voluntary, consented equality monitoring for police forces and public bodies: \
                       staff declare protected characteristics on the national Yes / No / Prefer not to say \
                       standard; HR systems sync the workforce; EDI boards read anonymised, \
                       disclosure-controlled figures. Every error is RFC 9457 `application/problem+json`. \
                       Input is strict: a JSON body is exactly one document of the documented type (an array \
                       where an object belongs, or anything after the document, is refused), and text \
                       anywhere (bodies, forms, query and path parameters, uploads) may not hold a NUL \
                       character (400 or 422 naming the field or parameter). A documented path asked with \
                       a method it does not serve answers 405 with `Allow` listing those it does."
    ),
    components(schemas(Problem, FieldError, crate::error::RejectedRow)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "OAuth 2.0 tokens and the caller's identity"),
        (name = "stats", description = "Anonymised completion and declaration figures (EDI viewers; national viewers \
            for any organisation), disclosure-controlled: live, frozen snapshots, trends; JSON or CSV"),
        (name = "audit", description = "The hash-chained audit trail (auditors)"),
        (name = "catalogue", description = "The question catalogue front ends render declaration forms from: \
            characteristics in order, each a gateway question (Yes / No / Prefer not to say, or a list that \
            includes Prefer not to say) with optional detail lists shown on a condition; English and Welsh; \
            published versions are immutable, editors work on one draft"),
        (name = "organisations", description = "Organisations, their accounts and API clients (administrators)"),
        (name = "structure", description = "Org units, staff types and ranks (HR staff and HR systems)"),
        (name = "declarations", description = "Self-declaration: the caller's own consents, answers, history \
            and export. No endpoint takes another person's id; answers are sealed at rest and every access is audited"),
        (name = "workforce", description = "Employee records and bulk workforce sync; never any answer"),
        (name = "scim", description = "SCIM 2.0 (RFC 7643/7644) for identity providers and HR connectors: \
            Users are the organisation's employees; bodies and errors are application/scim+json"),
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "meta", description = "About the API"),
    )
)]
struct ApiDoc;

/// Bearer JWTs from `/oauth/token` (password or client credentials), or from the force's
/// identity provider.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
            SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([
                Flow::Password(Password::new("/oauth/token", Scopes::new())),
                Flow::ClientCredentials(ClientCredentials::new("/oauth/token", Scopes::new())),
            ])),
        );
    }
}

/// The route table: every endpoint the service serves, in one screen.
fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::get_health)
        .service(health::get_readiness)
        .service(health::get_metrics)
        .service(oauth::create_token)
        .service(
            scope::scope("/v1")
                .service(meta::get_api_root)
                .service(me::get_me)
                .service(declarations::get_consents)
                .service(declarations::update_consents)
                .service(declarations::get_declaration)
                .service(declarations::replace_declaration)
                .service(declarations::patch_declaration)
                .service(declarations::delete_declaration)
                .service(declarations::get_declaration_history)
                .service(declarations::review_declaration)
                .service(declarations::get_export)
                .service(declarations::list_due_reviews)
                .service(declarations::publish_privacy_notice)
                .service(audit::list_audit_events)
                .service(stats::get_completion)
                .service(stats::get_distribution)
                .service(stats::list_snapshots)
                .service(stats::get_trend)
                .service(organisations::list_organisations)
                .service(organisations::create_organisation)
                .service(organisations::create_account)
                .service(organisations::create_client)
                .service(catalogue::get_national_catalogue)
                .service(catalogue::get_catalogue)
                .service(catalogue::list_catalogue_versions)
                .service(catalogue::get_catalogue_version)
                .service(catalogue::create_catalogue_draft)
                .service(catalogue::get_catalogue_draft)
                .service(catalogue::replace_catalogue_draft)
                .service(catalogue::validate_catalogue_draft)
                .service(catalogue::publish_catalogue_draft)
                .service(catalogue::delete_catalogue_draft)
                .service(catalogue::migrate_declarations)
                .service(structure::list_org_units)
                .service(structure::create_org_unit)
                .service(structure::get_org_unit)
                .service(structure::update_org_unit)
                .service(structure::delete_org_unit)
                .service(structure::list_staff_types)
                .service(structure::create_staff_type)
                .service(structure::get_staff_type)
                .service(structure::update_staff_type)
                .service(structure::list_ranks)
                .service(structure::create_rank)
                .service(structure::get_rank)
                .service(structure::update_rank)
                .service(employees::list_employees)
                .service(employees::get_employee)
                .service(sync::sync_employees),
        )
        .service(
            scope::scope("/scim/v2")
                .service(scim::discovery::service_provider_config)
                .service(scim::discovery::list_schemas)
                .service(scim::discovery::get_schema)
                .service(scim::discovery::list_resource_types)
                .service(scim::discovery::get_resource_type)
                .service(scim::users::list_users)
                .service(scim::users::get_user)
                .service(scim::users::create_user)
                .service(scim::users::replace_user)
                .service(scim::users::patch_user)
                .service(scim::users::delete_user)
                .default_service(web::to(scim::unknown_scim_route)),
        );
}

/// The OpenAPI document generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1;
    contract::complete(&mut doc);
    doc
}

/// Adds the routes, state and extractor settings to an actix `App`.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let limit = state.config.body_limit;
        cfg.app_data(state)
            .app_data(web::PayloadConfig::new(limit))
            .app_data(web::QueryConfig::default().error_handler(extract::query_error))
            .app_data(web::PathConfig::default().error_handler(extract::path_error))
            .app_data(
                web::JsonConfig::default()
                    .limit(limit)
                    .error_handler(|err, _| {
                        AppError::bad_request("body", "invalid_json", err.to_string()).into()
                    }),
            );
        routes(&mut ServiceConfig::new(cfg));
        cfg.route("/openapi.json", web::get().to(serve_openapi));
        // Used only when no route matches, the pages' included (startup adds them).
        cfg.default_service(web::to(unknown_route));
    }
}

/// The methods handlers are written for, in the order `Allow` lists them.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A path the service serves, and the methods it serves it with.
struct KnownPath {
    template: String,
    methods: Vec<&'static str>,
}

/// Every served path outside `/scim/v2` (whose scope answers its own 405s), read from the
/// OpenAPI document generated from the handlers, so it cannot drift from the route table.
fn known_paths() -> &'static [KnownPath] {
    static PATHS: std::sync::OnceLock<Vec<KnownPath>> = std::sync::OnceLock::new();
    PATHS.get_or_init(|| {
        let mut paths: Vec<KnownPath> = openapi()
            .paths
            .paths
            .into_iter()
            .map(|(template, item)| KnownPath {
                template,
                methods: METHODS
                    .into_iter()
                    .zip([&item.get, &item.post, &item.put, &item.patch, &item.delete])
                    .filter_map(|(method, operation)| operation.is_some().then_some(method))
                    .collect(),
            })
            .collect();
        paths.push(KnownPath {
            template: "/openapi.json".into(),
            methods: vec!["GET"],
        });
        paths
    })
}

/// Whether `path` is an instance of `template` (`{name}` stands for one non-empty segment).
fn instance_of(template: &str, path: &str) -> bool {
    let (mut template, mut path) = (template.split('/'), path.split('/'));
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => {}
            (Some(t), Some(p)) if t == p => {}
            _ => return false,
        }
    }
}

/// What no handler matched: a known path with a method it does not serve is 405 with
/// `Allow` (RFC 9110 15.5.6); anything else is 404.
async fn unknown_route(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::http::header::{HeaderValue, ALLOW};
    use actix_web::ResponseError as _;
    let matching: Vec<&KnownPath> = known_paths()
        .iter()
        .filter(|k| instance_of(&k.template, req.path()))
        .collect();
    let allowed: Vec<&str> = METHODS
        .into_iter()
        .filter(|method| matching.iter().any(|k| k.methods.contains(method)))
        .collect();
    if allowed.is_empty() {
        return AppError::UnknownRoute.error_response();
    }
    let allow = allowed.join(", ");
    let mut response = AppError::MethodNotAllowed(format!(
        "{} is not allowed on this path; it allows {allow}",
        req.method()
    ))
    .error_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

/// Serves the generated OpenAPI document (the same one `declare openapi` prints).
async fn serve_openapi() -> actix_web::HttpResponse {
    match openapi().to_json() {
        Ok(json) => actix_web::HttpResponse::Ok()
            .content_type("application/json")
            .body(json),
        Err(e) => actix_web::ResponseError::error_response(&AppError::internal(e)),
    }
}
