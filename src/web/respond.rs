//! What every page handler answers with: the page itself with the pages' security headers
//! (CSP, no framing, no-store), a redirect, a service error as a page, and the role gate.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError as _};
use maud::Markup;

use crate::auth::{Principal, Role};
use crate::error::AppError;
use crate::http::state::AppState;

use super::layout;
use super::session::Page;

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
