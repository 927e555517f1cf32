//! One error type for the HTTP edge, rendered as RFC 9457 `application/problem+json`.
//!
//! The rule: handlers return [`AppResult`]; lower layers return their own errors and are
//! converted here. A 500 never carries its cause to the client: the cause is logged inside the
//! request's span (which carries the request id) and the body says only that it happened.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub type AppResult<T> = Result<T, AppError>;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem with one field of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// Path of the field, e.g. `answers.disability.gateway` or `body` for the whole body.
    pub field: String,
    /// Machine-readable reason, e.g. `unknown_option`.
    pub code: String,
    /// Human-readable explanation in English.
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A row of a bulk upload that was refused, with the line it starts on (1 is the first line,
/// the header in a CSV file) and every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct RejectedRow {
    pub line: u64,
    pub errors: Vec<FieldError>,
}

/// The RFC 9457 body every error response carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Per-field problems, present on validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Every refused row of a bulk upload, present when a batch was rejected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected_rows: Vec<RejectedRow>,
    /// RFC 6749 error code, present on token-endpoint errors so OAuth clients read them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request has {} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// A bulk batch refused as a whole because some of its rows are invalid (422).
    #[error("{} row(s) were rejected; nothing was written", .0.len())]
    RejectedRows(Vec<RejectedRow>),
    #[error("{0}")]
    NotFound(String),
    #[error("no endpoint matches this method and path")]
    UnknownRoute,
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PreconditionRequired(String),
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{detail}")]
    Unauthorized { detail: String, challenge: String },
    #[error("{0}")]
    Forbidden(String),
    /// A bearer token without the role an operation needs (RFC 6750: 403 with a challenge
    /// naming `insufficient_scope`).
    #[error("{detail}")]
    InsufficientScope { detail: String, challenge: String },
    /// An `Authorization` header that is not a well-formed bearer credential (RFC 6750: 400
    /// `invalid_request`, with a challenge).
    #[error("{detail}")]
    InvalidBearer { detail: String, challenge: String },
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// An RFC 6749 token-endpoint error (`invalid_grant`, `invalid_client`, ...).
    #[error("{description}")]
    OAuth {
        status: u16,
        error: &'static str,
        description: String,
        retry_after: Option<u64>,
    },
    /// An RFC 6749 `invalid_request` that names the offending form fields (400).
    #[error("{detail}")]
    OAuthInvalidRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_request(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::BadRequest {
            detail: message.clone(),
            errors: vec![FieldError::new(field, code, message)],
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(anyhow::anyhow!("{cause}"))
    }

    fn slug(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation-error",
            AppError::RejectedRows(_) => "rejected-rows",
            AppError::BadRequest { .. } => "bad-request",
            AppError::NotFound(_) => "not-found",
            AppError::UnknownRoute => "unknown-route",
            AppError::MethodNotAllowed(_) => "method-not-allowed",
            AppError::Conflict(_) => "conflict",
            AppError::PreconditionFailed(_) => "precondition-failed",
            AppError::PreconditionRequired(_) => "precondition-required",
            AppError::PayloadTooLarge { .. } => "payload-too-large",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::Unauthorized { .. } => "unauthorized",
            AppError::Forbidden(_) | AppError::InsufficientScope { .. } => "forbidden",
            AppError::InvalidBearer { .. } => "invalid-request",
            AppError::TooManyRequests { .. } => "too-many-requests",
            AppError::Unavailable(_) => "unavailable",
            AppError::OAuth { error, .. } if *error == "invalid_client" => "invalid-client",
            AppError::OAuth { error, .. } if *error == "invalid_grant" => "invalid-grant",
            AppError::OAuth { .. } => "oauth-error",
            AppError::OAuthInvalidRequest { .. } => "invalid-request",
            AppError::Internal(_) => "internal-error",
        }
    }

    fn to_problem(&self) -> Problem {
        let status = self.status_code();
        let (detail, errors) = match self {
            AppError::Validation(errors) => (Some(self.to_string()), errors.clone()),
            AppError::RejectedRows(_) => (Some(self.to_string()), Vec::new()),
            AppError::BadRequest { detail, errors }
            | AppError::OAuthInvalidRequest { detail, errors } => {
                (Some(detail.clone()), errors.clone())
            }
            AppError::Internal(_) => (
                Some("an unexpected error occurred; it has been logged".into()),
                Vec::new(),
            ),
            other => (Some(other.to_string()), Vec::new()),
        };
        let (error, error_description) = match self {
            AppError::OAuth {
                error, description, ..
            } => (Some((*error).to_owned()), Some(description.clone())),
            AppError::OAuthInvalidRequest { detail, .. } => {
                (Some("invalid_request".to_owned()), Some(detail.clone()))
            }
            AppError::InvalidBearer { detail, .. } => {
                (Some("invalid_request".to_owned()), Some(detail.clone()))
            }
            AppError::InsufficientScope { detail, .. } => {
                (Some("insufficient_scope".to_owned()), Some(detail.clone()))
            }
            _ => (None, None),
        };
        Problem {
            kind: problem_type(self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors,
            rejected_rows: match self {
                AppError::RejectedRows(rows) => rows.clone(),
                _ => Vec::new(),
            },
            error,
            error_description,
        }
    }
}

/// The `type` URI of a problem kind.
pub fn problem_type(slug: &str) -> String {
    format!("urn:declare:problem:{slug}")
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) | AppError::RejectedRows(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } | AppError::OAuthInvalidRequest { .. } => {
                StatusCode::BAD_REQUEST
            }
            AppError::NotFound(_) | AppError::UnknownRoute => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            AppError::InvalidBearer { .. } => StatusCode::BAD_REQUEST,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::OAuth { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = %format!("{cause:#}"), "request failed");
        }
        let mut response = problem_response(&self.to_problem());
        let headers = response.headers_mut();
        if matches!(
            self,
            AppError::OAuth { .. } | AppError::OAuthInvalidRequest { .. }
        ) {
            // RFC 6749 section 5.2: the token endpoint answers errors as application/json (the
            // body still carries the problem fields beside `error` and `error_description`).
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        match self {
            AppError::Unauthorized { challenge, .. }
            | AppError::InsufficientScope { challenge, .. }
            | AppError::InvalidBearer { challenge, .. } => {
                if let Ok(value) = HeaderValue::from_str(challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            AppError::OAuth { error, status, .. }
                if *error == "invalid_client" && *status == 401 =>
            {
                // RFC 6749 section 5.2: a 401 invalid_client names the scheme to authenticate with.
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"declare\""),
                );
            }
            AppError::TooManyRequests { retry_after }
            | AppError::OAuth {
                retry_after: Some(retry_after),
                ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        response
    }
}

/// Renders a problem body with the right media type.
pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(serde_json::to_string(problem).unwrap_or_else(|_| "{}".into()))
}

/// A generic problem for a status produced outside our handlers (e.g. by actix itself).
pub fn generic_problem(status: StatusCode) -> Problem {
    let slug = status
        .canonical_reason()
        .unwrap_or("error")
        .to_lowercase()
        .replace(' ', "-");
    Problem {
        kind: problem_type(&slug),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: None,
        errors: Vec::new(),
        rejected_rows: Vec::new(),
        error: None,
        error_description: None,
    }
}
