//! Errors of the authentication core.
//!
//! [`AuthError`] is what a request can fail with; the HTTP layer maps it with
//! [`AuthError::status_code`] and [`AuthError::www_authenticate`]. Every message is safe
//! to send to the caller: none contains key material, token contents or account names.
//! [`KeyError`] is a configuration error, raised while building key rings at start-up.

use crate::error::AppError;

/// Why a request was not authenticated or not authorised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented at all.
    #[error("no bearer token was presented")]
    MissingToken,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("authorization header is not a bearer token")]
    InvalidAuthorizationHeader,
    /// Not a compact JWS: wrong number of parts, bad base64 or JSON, too long.
    #[error("token is malformed")]
    Malformed,
    /// `alg: none`: unsigned tokens are never accepted.
    #[error("unsigned tokens are not accepted")]
    UnsignedToken,
    /// The header names an algorithm this verifier does not accept at all.
    #[error("token algorithm is not accepted")]
    AlgorithmNotAllowed,
    /// The header algorithm differs from the algorithm of the key its `kid` names.
    #[error("token algorithm does not match its key")]
    AlgorithmMismatch,
    /// The header has no `kid`.
    #[error("token has no key id")]
    MissingKeyId,
    /// The header `kid` names no configured key.
    #[error("token key id is unknown")]
    UnknownKeyId,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token is not yet valid")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A required claim is absent. The payload is a claim name, never a value.
    #[error("token lacks the {0} claim")]
    MissingClaim(String),
    /// A claim is present but of the wrong shape. The payload is a claim name.
    #[error("token claim {0} is invalid")]
    InvalidClaim(String),
    /// A signed, valid JWT that is not one of our access tokens (`typ` claim).
    #[error("token is not an access token")]
    WrongTokenType,
    /// Authenticated, but none of the required roles is held (403).
    #[error("a required role is missing")]
    InsufficientRole,
    /// Authenticated, but bound to another organisation (403).
    #[error("not permitted for this organisation")]
    WrongOrganisation,
    /// A token could not be issued (500). The payload is a fixed reason.
    #[error("token could not be issued: {0}")]
    Issue(&'static str),
}

/// Realm announced in every challenge.
pub const REALM: &str = "declare";

impl AuthError {
    /// The HTTP status the service answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            AuthError::InvalidAuthorizationHeader => 400,
            AuthError::InsufficientRole | AuthError::WrongOrganisation => 403,
            AuthError::Issue(_) => 500,
            _ => 401,
        }
    }

    /// RFC 6750 section 3.1 error code, or `None` when the request simply had no token
    /// (then the challenge carries no error, as the RFC asks) or the fault is ours.
    pub fn oauth_error(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingToken | AuthError::Issue(_) => None,
            AuthError::InvalidAuthorizationHeader => Some("invalid_request"),
            AuthError::InsufficientRole | AuthError::WrongOrganisation => {
                Some("insufficient_scope")
            }
            _ => Some("invalid_token"),
        }
    }

    /// True for the variants that mean "this token is not acceptable" (401).
    pub fn is_invalid_token(&self) -> bool {
        self.oauth_error() == Some("invalid_token")
    }

    /// Value of the `WWW-Authenticate` header for this error (RFC 6750 section 3), e.g.
    /// `Bearer realm="declare", error="invalid_token", error_description="token has expired"`.
    pub fn www_authenticate(&self) -> String {
        match self.oauth_error() {
            None => format!("Bearer realm=\"{REALM}\""),
            Some(code) => format!(
                "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{}\"",
                quoted_string_safe(&self.to_string())
            ),
        }
    }
}

/// Keeps only the characters RFC 6750 allows in `error_description`
/// (%x20-21 / %x23-5B / %x5D-7E): no quotes, backslashes or control characters.
fn quoted_string_safe(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(*c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
        .collect()
}

/// A key or verifier configuration that cannot be used. Raised at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A key that cannot be loaded; `reason` never contains key material.
    #[error("key {kid:?}: {reason}")]
    Invalid { kid: String, reason: String },
    /// Two keys share a key id.
    #[error("duplicate key id {0:?}")]
    DuplicateKeyId(String),
    /// No key can sign tokens.
    #[error("no active signing key is configured")]
    NoSigningKey,
    /// A verifier would have no key to verify with.
    #[error("no verification key is configured")]
    NoVerificationKey,
    /// A JWKS document that is not a JSON object with a `keys` array.
    #[error("JWKS document is invalid: {0}")]
    Jwks(String),
    /// Settings that contradict each other.
    #[error("invalid settings: {0}")]
    Settings(String),
}

impl KeyError {
    pub(super) fn invalid(kid: &str, reason: impl Into<String>) -> Self {
        KeyError::Invalid {
            kid: kid.to_owned(),
            reason: reason.into(),
        }
    }
}

/// How a refused credential reaches the caller: 401 or 403 with the challenge, 400 for a
/// malformed bearer header.
impl From<AuthError> for AppError {
    fn from(err: AuthError) -> Self {
        match err.status_code() {
            401 => AppError::Unauthorized {
                detail: err.to_string(),
                challenge: err.www_authenticate(),
            },
            403 => AppError::InsufficientScope {
                detail: err.to_string(),
                challenge: err.www_authenticate(),
            },
            400 => AppError::InvalidBearer {
                detail: err.to_string(),
                challenge: err.www_authenticate(),
            },
            _ => AppError::internal(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_for_missing_token_has_no_error_code() {
        assert_eq!(
            AuthError::MissingToken.www_authenticate(),
            "Bearer realm=\"declare\""
        );
        assert_eq!(AuthError::MissingToken.status_code(), 401);
    }

    #[test]
    fn challenge_for_rejected_token_is_invalid_token() {
        assert_eq!(
            AuthError::Expired.www_authenticate(),
            "Bearer realm=\"declare\", error=\"invalid_token\", error_description=\"token has expired\""
        );
        assert!(AuthError::UnknownKeyId.is_invalid_token());
        assert_eq!(AuthError::InvalidSignature.status_code(), 401);
    }

    #[test]
    fn challenge_for_missing_role_is_insufficient_scope_403() {
        assert_eq!(AuthError::InsufficientRole.status_code(), 403);
        assert!(AuthError::InsufficientRole
            .www_authenticate()
            .contains("error=\"insufficient_scope\""));
    }

    #[test]
    fn description_is_stripped_of_quotes_and_controls() {
        let e = AuthError::MissingClaim("a\"b\\c\nd".into());
        let h = e.www_authenticate();
        assert!(
            h.ends_with("error_description=\"token lacks the abcd claim\""),
            "{h}"
        );
    }
}
