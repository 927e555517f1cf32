//! Server-rendered pages on GOV.UK Frontend, in English and Welsh (decision 0025).
//!
//! Handlers here are as thin as the API's: read the session, call the same services the API
//! handlers call, render. They never touch SQL and never log an answer. Every page works with
//! JavaScript off; personal data never goes in a URL; every form carries a CSRF token; every
//! page is `Cache-Control: no-store` and served with a CSP that allows no inline script or
//! style, and no framing. Pages are not part of the API, so they stay out of `openapi.yaml`.

pub mod assets;
pub mod dashboard;
pub mod form;
pub mod hr;
pub mod i18n;
pub mod layout;
pub mod oidc;
pub mod session;
pub mod signin;
pub mod staff;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError as _};
use maud::Markup;

use crate::auth::{Principal, Role};
use crate::error::AppError;
use crate::http::AppState;
use session::{Page, State};

/// The signed-in principal if they hold any of `roles`; otherwise the response that sends
/// them elsewhere: to sign in when signed out, the "cannot use these pages" page (403) when
/// signed in without the role. Every page gate goes through here.
pub fn require(
    page: &Page,
    state: &AppState,
    roles: &[Role],
) -> Result<Principal, Box<HttpResponse>> {
    match &page.principal {
        None => Err(Box::new(redirect(page, "/sign-in"))),
        Some(p) if roles.iter().any(|r| p.has_role(*r)) => Ok(p.clone()),
        Some(_) => Err(Box::new(html(
            page,
            StatusCode::FORBIDDEN,
            layout::simple(
                page,
                state,
                page.lang.t("no_role"),
                page.lang.t("no_role_lead"),
            ),
        ))),
    }
}

/// The pages' routes, added to the app beside the API's.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(staff::home))
        .route("/sign-in", web::get().to(signin::show))
        .route("/sign-in", web::post().to(signin::submit))
        .route("/sign-out", web::post().to(signin::sign_out))
        .route("/signed-out", web::get().to(signin::signed_out))
        .route("/sign-in/idp", web::get().to(oidc::start))
        .route(oidc::CALLBACK_PATH, web::get().to(oidc::callback))
        .route("/language", web::get().to(switch_language))
        .route("/assets/{file}", web::get().to(assets::serve))
        .route("/assets/images/{file}", web::get().to(assets::serve))
        .route("/declare/privacy", web::get().to(staff::privacy))
        .route("/declare/privacy", web::post().to(staff::submit_privacy))
        .route("/declare/answers", web::get().to(staff::answers))
        .route("/declare/answers", web::post().to(staff::edit_answers))
        .route("/declare/steps", web::get().to(staff::steps))
        .route("/declare/steps", web::post().to(staff::submit_step))
        .route("/declare/check", web::post().to(staff::check))
        .route("/declare/save", web::post().to(staff::save))
        .route("/declare/saved", web::get().to(staff::saved))
        .route("/declare/withdraw", web::get().to(staff::withdraw))
        .route("/declare/withdraw", web::post().to(staff::submit_withdraw))
        .route("/declare/history", web::get().to(staff::history))
        .route("/declare/export", web::get().to(staff::export))
        .route("/hr/reviews", web::get().to(hr::reviews))
        .route("/hr/reviews.csv", web::get().to(hr::reviews_csv))
        .route("/dashboard", web::get().to(dashboard::show))
        .route(
            "/dashboard/completion.csv",
            web::get().to(dashboard::completion_csv),
        )
        .route(
            "/dashboard/distribution.csv",
            web::get().to(dashboard::distribution_csv),
        )
        .route("/dashboard/trend.csv", web::get().to(dashboard::trend_csv));
}

/// The Content Security Policy of every page: only the service's own script and styles, no
/// inline script or style attribute, no framing, forms post only here.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       font-src 'self'; connect-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// [`CSP`], with the identity provider's origin added to `form-action` when signing out
/// redirects there: browsers apply `form-action` to the redirects that follow a form's POST,
/// so without it the sign-out form could not end the session at the provider (decision 0029).
pub fn csp(page: &Page) -> std::borrow::Cow<'static, str> {
    match &page.sign_out_origin {
        Some(origin) => CSP
            .replace(
                "form-action 'self'",
                &format!("form-action 'self' {origin}"),
            )
            .into(),
        None => CSP.into(),
    }
}

/// A page: HTML with the pages' security headers and any cookie the session must set.
pub fn html(page: &Page, status: StatusCode, body: Markup) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp(page).as_ref()))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ))
        // Pages show answers, or carry a CSRF token bound to the session: never stored.
        .insert_header((header::CACHE_CONTROL, "no-store"));
    for cookie in page.cookies() {
        response.cookie(cookie);
    }
    response.body(body.into_string())
}

/// A redirect after a POST (303) or to sign in.
pub fn redirect(page: &Page, to: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    for cookie in page.cookies() {
        response.cookie(cookie);
    }
    response.finish()
}

/// A service error as a page in the reader's language; the cause is logged, never shown.
pub fn error_page(page: &Page, state: &AppState, err: &AppError) -> HttpResponse {
    let status = err.status_code();
    let (title, lead) = match status {
        StatusCode::NOT_FOUND => ("not_found", "error_lead"),
        StatusCode::FORBIDDEN => ("no_role", "no_role_lead"),
        _ => ("error_title", "error_lead"),
    };
    if status.is_server_error() {
        tracing::error!(error = %err, "page failed");
    }
    let body = layout::simple(page, state, page.lang.t(title), page.lang.t(lead));
    html(page, status, body)
}

/// `GET /language?to=cy&back=/declare/answers`: sets the language cookie and goes back. The
/// return path must be one of ours (a path, never another site).
async fn switch_language(req: HttpRequest, state: State) -> HttpResponse {
    let page = Page::of(&req, &state);
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let lang = get("to")
        .and_then(i18n::Lang::parse)
        .unwrap_or(i18n::Lang::En);
    let back = get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or("/");
    let mut response = redirect(&page, back);
    let cookie = page.cookie(
        session::LANG_COOKIE,
        lang.code().to_owned(),
        Some(actix_web::cookie::time::Duration::days(365)),
    );
    if let Err(e) = response.add_cookie(&cookie) {
        tracing::warn!(error = %e, "language cookie not set");
    }
    response
}

/// The fields of a submitted form, in order (tick boxes repeat a name). Text holding NUL is
/// refused, as everywhere else in the service.
pub fn form_fields(body: &[u8]) -> Option<Vec<(String, String)>> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    if fields
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return None;
    }
    Some(fields)
}

/// The first value of `name` in a form.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The page answering a form whose CSRF token or origin did not check out.
pub fn csrf_failed(page: &Page, state: &AppState) -> HttpResponse {
    tracing::info!("form refused: CSRF token or origin did not verify");
    let body = layout::simple(
        page,
        state,
        page.lang.t("csrf_title"),
        page.lang.t("csrf_lead"),
    );
    html(page, StatusCode::FORBIDDEN, body)
}

/// Checks a POSTed form: same origin, a valid CSRF token. The fields, or the refusal page.
pub fn checked_form(
    req: &HttpRequest,
    page: &Page,
    state: &AppState,
    body: &[u8],
) -> Result<Vec<(String, String)>, Box<HttpResponse>> {
    let fields = form_fields(body).ok_or_else(|| {
        Box::new(error_page(
            page,
            state,
            &AppError::bad_request("body", "nul", "the form holds a NUL character"),
        ))
    })?;
    if !session::same_origin(req) || !page.csrf_ok(state, field(&fields, "csrf")) {
        return Err(Box::new(csrf_failed(page, state)));
    }
    Ok(fields)
}
