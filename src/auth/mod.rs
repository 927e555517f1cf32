//! Authentication core: who is calling, and may they do this?
//!
//! Framework-independent: nothing here knows about actix or diesel, so the HTTP layer
//! wraps these types (extractor, token endpoint) and the store supplies account rows.
//! Paths stay `super::`/`self::` so the module can live anywhere in a crate.
//!
//! Rules a reader must keep:
//! - Role checks live in one place: [`Principal::require_any`]. Handlers never compare
//!   roles by hand.
//! - Every rejected token maps to one [`AuthError`] variant; the HTTP layer answers 401
//!   with [`AuthError::www_authenticate`] and never puts anything else about the token in
//!   the response.
//! - Tokens are only ever verified against configured keys, with the algorithm fixed by
//!   the key (never by the token header), so `alg: none` and algorithm confusion fail.
//! - Password and client-secret checks run argon2 (slow: call from a blocking thread) and
//!   run it even when the account does not exist.

mod authenticator;
pub mod error;
pub mod external;
pub mod idp_keys;
mod jwt;
pub mod password;
pub mod roles;
pub mod secrets;
pub mod throttle;
pub mod tokens;

pub use self::authenticator::{throttle_settings, Authenticator, ExternalLogin};
pub use self::error::{AuthError, KeyError};
pub use self::external::{
    ExternalAlgorithm, ExternalIdentity, ExternalIdpSettings, ExternalPemKey, ExternalVerifier,
};
pub use self::idp_keys::{FetchCounts, IdpKeys, OidcDiscovery};
pub use self::password::{verify_password, Argon2Hasher, PasswordError, PhcString};
pub use self::roles::{Principal, PrincipalKind, Role};
pub use self::throttle::{
    Backoff, Credential, Failures, LoginThrottle, MemoryStore, RetryAfter, ThrottleSettings,
    ThrottleStore,
};
pub use self::tokens::{KeyRing, KeySettings, SigningAlgorithm, TokenService, TokenSettings};

/// Takes the token out of an `Authorization` header value (`Bearer <token>`, scheme
/// case-insensitive, RFC 6750 section 2.1).
pub fn bearer_token(authorization: &str) -> Result<&str, AuthError> {
    let (scheme, rest) = authorization
        .trim()
        .split_once(' ')
        .ok_or(AuthError::InvalidAuthorizationHeader)?;
    let token = rest.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(AuthError::InvalidAuthorizationHeader);
    }
    Ok(token)
}

/// The `iss` claim of a token, read WITHOUT verifying anything. Use it only to choose
/// which verifier (local [`TokenService`] or one of the [`ExternalVerifier`]s) gets the
/// token; never trust it for anything else.
pub fn peek_issuer(token: &str) -> Option<String> {
    jwt::peek_claim_str(token, "iss")
}

/// A string claim of a token, read WITHOUT verifying anything: only for a token that has
/// just been verified (the pages' sign-in reads the ID token's `nonce` this way).
pub fn peek_claim(token: &str, name: &str) -> Option<String> {
    jwt::peek_claim_str(token, name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_parses_scheme_case_insensitively() {
        assert_eq!(bearer_token("Bearer abc.def.ghi").unwrap(), "abc.def.ghi");
        assert_eq!(bearer_token("bearer  abc").unwrap(), "abc");
    }

    #[test]
    fn bearer_token_rejects_other_schemes_and_empty_tokens() {
        for bad in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "",
            "abc",
            "Bearer a b",
        ] {
            assert_eq!(
                bearer_token(bad),
                Err(AuthError::InvalidAuthorizationHeader),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn shared_state_is_send_and_sync() {
        // These live in actix `web::Data` and move into blocking threads.
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<TokenService>();
        assert_send_sync::<ExternalVerifier>();
        assert_send_sync::<IdpKeys>();
        assert_send_sync::<LoginThrottle>();
        assert_send_sync::<Argon2Hasher>();
        assert_send_sync::<PhcString>();
    }

    #[test]
    fn peek_issuer_reads_unverified_iss() {
        // header {"alg":"HS256"}, payload {"iss":"https://idp.example"}, junk signature
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0.x";
        assert_eq!(peek_issuer(token).as_deref(), Some("https://idp.example"));
        assert_eq!(peek_issuer("not a token"), None);
    }
}
