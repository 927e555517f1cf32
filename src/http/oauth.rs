//! `POST /oauth/token` (RFC 6749): `password` for local accounts, `client_credentials` for
//! HR systems. Errors carry RFC 6749's `error` member inside a problem+json body.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{post, web, HttpMessage as _, HttpRequest, HttpResponse};
use base64::Engine as _;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::http::extract::{parse_form, refuse_nul};
use crate::http::AppState;
use crate::services::identity::{self, TokenResponse};

/// The form fields of a token request.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TokenRequest {
    /// `password` or `client_credentials`.
    grant_type: String,
    username: Option<String>,
    password: Option<String>,
    /// For `client_credentials`, unless sent with HTTP Basic authentication.
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn invalid_request(description: &str) -> AppError {
    AppError::OAuth {
        status: 400,
        error: "invalid_request",
        description: description.into(),
        retry_after: None,
    }
}

/// A refused form field, told the RFC 6749 way (`invalid_request`) and naming the field.
fn as_oauth(err: AppError) -> AppError {
    match err {
        AppError::BadRequest { detail, errors } => AppError::OAuthInvalidRequest { detail, errors },
        other => other,
    }
}

/// Client credentials from HTTP Basic (RFC 6749 section 2.3.1) or the form.
fn client_credentials(
    req: &HttpRequest,
    form: &mut HashMap<String, String>,
) -> AppResult<(String, String)> {
    if let Some(value) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let encoded = value
            .strip_prefix("Basic ")
            .ok_or_else(|| invalid_request("only Basic client authentication is supported"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| invalid_request("malformed Basic credentials"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid_request("malformed Basic credentials"))?;
        refuse_nul("client_id", id).map_err(as_oauth)?;
        refuse_nul("client_secret", secret).map_err(as_oauth)?;
        return Ok((id.to_owned(), secret.to_owned()));
    }
    match (form.remove("client_id"), form.remove("client_secret")) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(AppError::OAuth {
            status: 401,
            error: "invalid_client",
            description: "client_id and client_secret are required".into(),
            retry_after: None,
        }),
    }
}

/// Issues an access token.
#[utoipa::path(
    tag = "auth",
    operation_id = "create_token",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_grant or unsupported_grant_type (RFC 6749 section 5.2: `error`, `error_description`, beside the problem fields)", body = crate::error::Problem, content_type = "application/json"),
        (status = 401, description = "invalid_client, with `WWW-Authenticate: Basic`", body = crate::error::Problem, content_type = "application/json"),
        (status = 429, description = "too many failed attempts: `temporarily_unavailable`, with Retry-After", body = crate::error::Problem, content_type = "application/json"),
    )
)]
#[post("/oauth/token")]
pub async fn create_token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    if req.content_type() != "application/x-www-form-urlencoded" {
        return Err(invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut form = parse_form(&body).map_err(as_oauth)?;
    // Throttle by the connecting address: forwarded headers are the caller's to forge.
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let grant = form
        .remove("grant_type")
        .ok_or_else(|| invalid_request("grant_type is required"))?;
    let token = match grant.as_str() {
        "password" => {
            let username = form
                .remove("username")
                .ok_or_else(|| invalid_request("username is required"))?;
            let password = form
                .remove("password")
                .ok_or_else(|| invalid_request("password is required"))?;
            identity::password_grant(
                &state.db,
                &state.auth,
                username,
                SecretString::from(password),
                address,
            )
            .await?
        }
        "client_credentials" => {
            let (id, secret) = client_credentials(&req, &mut form)?;
            identity::client_credentials_grant(
                &state.db,
                &state.auth,
                id,
                SecretString::from(secret),
                address,
            )
            .await?
        }
        _ => {
            return Err(AppError::OAuth {
                status: 400,
                error: "unsupported_grant_type",
                description: "grant_type must be password or client_credentials".into(),
                retry_after: None,
            })
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(token))
}
