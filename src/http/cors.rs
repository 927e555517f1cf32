//! Cross-origin access for browser front ends on another origin (`DECLARE_CORS_ALLOWED_ORIGINS`).
//!
//! Only listed origins, echoed exactly: the API's answers are personal data, so there is no
//! wildcard, and since callers authenticate with bearer tokens rather than cookies,
//! credentials are never allowed. With no origin listed the middleware is not installed at
//! all, so no response carries a CORS header.

use actix_cors::Cors;
use actix_web::http::{header, Method};

/// How long a browser may reuse a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 3600;

/// The CORS policy for `origins` (already checked to be exact origins by the config).
pub fn policy(origins: &[String]) -> Cors {
    let cors = origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin));
    cors.allowed_methods([
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ])
    .allowed_headers([
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::IF_MATCH,
        header::IF_NONE_MATCH,
        header::HeaderName::from_static("idempotency-key"),
        crate::http::middleware::REQUEST_ID,
    ])
    .expose_headers([
        header::ETAG,
        header::LOCATION,
        header::RETRY_AFTER,
        crate::http::middleware::REQUEST_ID,
    ])
    .max_age(PREFLIGHT_MAX_AGE)
}
