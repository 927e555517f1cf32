//! The one middleware every request passes through: request id, access log, metrics, and the
//! guarantee that every error response is problem+json (even those actix makes itself), or a
//! SCIM error body on `/scim/v2`.
//!
//! The access log records method, route pattern, status and latency. It never records a body
//! or a query string: answers must never reach a log.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _};
use tracing::Instrument as _;

use crate::domain::scim::ScimError;
use crate::error::{generic_problem, AppError, PROBLEM_JSON};

/// The OAuth token endpoint, whose errors are `application/json` by RFC 6749.
const TOKEN_ROUTE: &str = "/oauth/token";
use crate::http::scim::error::SCIM_JSON;
use crate::http::strict::{has_nul, NUL_CODE, NUL_MESSAGE};
use crate::http::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts a caller's request id if it is short and plain, so ids can be traced across
/// systems without letting a caller inject log lines.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let plain = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    plain.then(|| value.to_owned())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let method_label = metric_method(req.method());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    // Exported as the trace's server span (`telemetry`): only these fields, never a path,
    // query string, header or body, so no identifier or answer can reach a trace.
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        request_id = %request_id,
        method = %method,
        route = %route,
        status = tracing::field::Empty,
    );

    // Handlers' and extractors' errors arrive here as responses already; an `Err` can only
    // come from actix's own plumbing, and actix renders it (without our headers).
    let mut response = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_boxed_body();

    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            // SCIM error bodies (RFC 7644 §3.12) are the error format on `/scim/v2`, and the
            // token endpoint's are `application/json` (RFC 6749 §5.2), the problem inside.
            v.as_bytes().starts_with(PROBLEM_JSON.as_bytes())
                || v.as_bytes().starts_with(SCIM_JSON.as_bytes())
                || (route == TOKEN_ROUTE && v.as_bytes().starts_with(b"application/json"))
                // The pages' own error pages (`web`), in the reader's language.
                || v.as_bytes().starts_with(b"text/html")
        });
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let body = serde_json::to_string(&generic_problem(status)).unwrap_or_default();
        response = response.map_body(|head, _| {
            head.headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
            head.headers.remove(header::CONTENT_LENGTH);
            BoxBody::new(body)
        });
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Nearly every response carries personal data or secrets (answers, workforce records,
    // the audit trail, tokens, client secrets), so none may be stored by a browser or a
    // shared cache unless its handler chose a policy (the catalogue, revalidated by ETag).
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // actix-cors lists the exposed headers on every response; only an allowed origin's
    // response is meant to carry CORS headers (`Vary` stays, for caches).
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.remove(header::ACCESS_CONTROL_EXPOSE_HEADERS);
    }

    let elapsed = started.elapsed();
    if let Some(state) = state {
        state
            .metrics
            .observe(method_label, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    span.record("status", status.as_u16());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status = status.as_u16(), latency_ms, "request handled"));
    Ok(response)
}

/// The method as a metrics label: any method the service does not know is `OTHER`, so
/// invented methods cannot add series (each one used to add a counter and a histogram).
fn metric_method(method: &Method) -> &'static str {
    static KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("OTHER", Method::as_str)
}

/// Refuses a NUL character (`%00`) anywhere in the path or the query string, naming the path
/// parameter or query parameter that holds it: 400, before any extractor or handler sees it.
/// One check here covers every cursor, id and filter, including those read as raw strings.
/// `%00` is the only way a NUL reaches a URL: the request line cannot carry a raw one.
pub async fn refuse_nul_in_url(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(place) = nul_in_url(&req) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let message = format!("{place} {NUL_MESSAGE}");
    let response = if req.path().starts_with("/scim/v2") {
        req.error_response(ScimError::bad("invalidValue", message))
    } else {
        req.error_response(AppError::bad_request(place, NUL_CODE, message))
    };
    Ok(response.map_into_boxed_body())
}

/// The path or query parameter holding a percent-encoded NUL, if any.
fn nul_in_url(req: &ServiceRequest) -> Option<String> {
    let path = req.uri().path();
    if path.contains("%00") {
        return Some(path_parameter(req, path));
    }
    let query = req.query_string();
    if !query.contains("%00") {
        return None;
    }
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default();
    let name = pairs
        .into_iter()
        .find(|(name, value)| has_nul(name) || has_nul(value))
        .map_or_else(|| "query".to_owned(), |(name, _)| name.replace('\0', ""));
    Some(name)
}

/// The name of the route's `{parameter}` whose segment holds the NUL, or `path`.
fn path_parameter(req: &ServiceRequest, path: &str) -> String {
    let pattern = req.match_pattern().unwrap_or_default();
    path.split('/')
        .zip(pattern.split('/'))
        .find(|(segment, _)| segment.contains("%00"))
        .and_then(|(_, template)| template.strip_prefix('{')?.strip_suffix('}'))
        .map_or_else(
            || "path".to_owned(),
            |name| name.split(':').next().unwrap_or(name).to_owned(),
        )
}
