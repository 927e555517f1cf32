//! Paged lists: the documented page-size range, and the RFC 8288 `Link: <...>; rel="next"`
//! header beside the body's `next_after`, so generic clients (and humans with curl) can follow
//! pages without knowing each list's cursor field.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::{AppError, AppResult};

/// The page size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 100;
/// The largest page: anything outside `1..=MAX_LIMIT` is refused, never clamped, so a client
/// asking for 5000 learns it will not get them.
pub const MAX_LIMIT: i64 = 1000;

/// The page size asked for, or 400 naming `limit`.
pub fn limit(asked: Option<i64>) -> AppResult<i64> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::bad_request(
            "limit",
            "out_of_range",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}

/// A 200 with `body`, and `Link: <this path?...&after=NEXT>; rel="next"` when there is a next
/// page. Every other query parameter is kept as the client sent it.
pub fn page_response(
    req: &HttpRequest,
    next_after: Option<&str>,
    body: &impl Serialize,
) -> HttpResponse {
    let mut response = HttpResponse::Ok().json(body);
    if let Some(value) = next_after.and_then(|after| next_link(req, after)) {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

fn next_link(req: &HttpRequest, after: &str) -> Option<HeaderValue> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if name != "after" {
            query.append_pair(&name, &value);
        }
    }
    query.append_pair("after", after);
    HeaderValue::from_str(&format!(
        "<{}?{}>; rel=\"next\"",
        req.path(),
        query.finish()
    ))
    .ok()
}
