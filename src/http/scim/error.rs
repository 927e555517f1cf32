//! SCIM error bodies (RFC 7644 §3.12) for everything under `/scim/v2`: identity-provider
//! connectors parse `scimType`, not RFC 9457 problems, so the SCIM scope speaks their language.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::domain::scim::ScimError;
use crate::error::AppError;

pub const SCIM_JSON: &str = "application/scim+json";

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, SCIM_JSON));
        if self.status == 401 {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.body(self.body().to_string())
    }
}

/// The shared extractors (authentication, body reading) fail with `AppError`; on the SCIM
/// scope the same failure is told as a SCIM error with the nearest `scimType`.
impl From<AppError> for ScimError {
    fn from(err: AppError) -> Self {
        let status = err.status_code().as_u16();
        let scim_type = match &err {
            AppError::BadRequest { .. } => Some("invalidSyntax"),
            AppError::Validation(_) => Some("invalidValue"),
            _ => None,
        };
        let detail = match &err {
            AppError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "SCIM request failed");
                "an unexpected error occurred; it has been logged".to_owned()
            }
            AppError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        // A body that is not valid JSON is a 400 in SCIM, not a 422.
        let status = if status == 422 { 400 } else { status };
        ScimError::new(status, scim_type, detail)
    }
}
