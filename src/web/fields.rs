//! The fields of a form or a query string (NUL refused), one field's value, and the
//! same-origin and CSRF checks every POSTed form goes through.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::AppError;
use crate::http::state::AppState;

use super::layout;
use super::respond::{error_page, html};
use super::session::{self, Page};

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

/// The query string's fields, read as [`form_fields`] reads a body (a NUL never reaches a
/// page: the middleware refuses it in any URL, so none are dropped here in practice).
pub fn query_fields(req: &HttpRequest) -> Vec<(String, String)> {
    form_fields(req.query_string().as_bytes()).unwrap_or_default()
}

/// The first value of `name` that is not empty (an empty choice in a GET form means "none").
pub fn filled<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, v)| k == name && !v.is_empty())
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
