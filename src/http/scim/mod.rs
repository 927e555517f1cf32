//! SCIM 2.0 under `/scim/v2`: discovery documents and Users (employees of the caller's
//! organisation). Callers are HR systems (`hr_sync` client-credentials tokens) and HR staff
//! (`hr_admin`); every response, errors included, is `application/scim+json`.

pub mod discovery;
pub mod error;
pub mod users;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::scim::ScimError;
use crate::http::principal::{own_organisation, Authorized, WorkforceWriters};
pub use error::SCIM_JSON;

/// A caller allowed to provision: an HR system or HR staff, bound to one organisation.
pub struct ScimCaller {
    pub org: Uuid,
    /// Who the audit trail records for this request.
    pub actor: crate::services::audit::Actor,
}

impl FromRequest for ScimCaller {
    type Error = ScimError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authorized = Authorized::<WorkforceWriters>::from_request(req, payload);
        Box::pin(async move {
            let caller = authorized.await.map_err(ScimError::from)?;
            let org = own_organisation(&caller.principal).map_err(ScimError::from)?;
            Ok(ScimCaller {
                org,
                actor: caller.actor(),
            })
        })
    }
}

/// The absolute base URL of the SCIM service as the caller reached it, for `meta.location`.
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/scim/v2", info.scheme(), info.host())
}

pub fn scim_response(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((actix_web::http::header::CONTENT_TYPE, SCIM_JSON))
        .body(body.to_string())
}

/// The methods each SCIM path serves, for telling a wrong method (405) from a wrong path (404).
fn allowed_methods(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/scim/v2/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        ["ServiceProviderConfig" | "Schemas" | "ResourceTypes"]
        | ["Schemas" | "ResourceTypes", _] => Some("GET"),
        ["Users"] => Some("GET, POST"),
        ["Users", _] => Some("GET, PUT, PATCH, DELETE"),
        _ => None,
    }
}

/// Anything under `/scim/v2` that is not an endpoint: a SCIM 405 or 404, not a problem document.
pub async fn unknown_scim_route(req: HttpRequest) -> HttpResponse {
    use actix_web::http::header::{HeaderValue, ALLOW};
    use actix_web::ResponseError as _;
    match allowed_methods(req.path()) {
        Some(allow) => {
            let error = ScimError::new(405, None, format!("this endpoint allows {allow}"));
            let mut response = error.error_response();
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
            response
        }
        None => ScimError::new(404, None, "no SCIM endpoint matches this method and path")
            .error_response(),
    }
}
