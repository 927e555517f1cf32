//! JWT plumbing shared by local tokens and external tokens: header parsing before any
//! key is chosen, signature verification with the algorithm fixed by the key, and the
//! registered-claim checks with an injected clock.
//!
//! jsonwebtoken checks the signature; everything about claims is checked here so that
//! each failure has its own [`AuthError`] and time is a parameter (tests never sleep).

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::error::AuthError;

/// Longest token we parse at all; real ones are well under 2 KiB.
pub(super) const MAX_TOKEN_LEN: usize = 8 * 1024;

pub(super) type Claims = Map<String, Value>;

/// The header fields that pick a key.
#[derive(Debug)]
pub(super) struct Header {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

fn split(token: &str) -> Result<[&str; 3], AuthError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Malformed);
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !p.is_empty() => Ok([h, p, s]),
        _ => Err(AuthError::Malformed),
    }
}

fn decode_json_object(part: &str) -> Result<Claims, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)
}

/// Reads the protected header without trusting it. `alg: none` (any case) is refused
/// here, before a key is ever looked at; so is any `crit` extension (we implement none).
pub(super) fn parse_header(token: &str) -> Result<Header, AuthError> {
    let [header, _, _] = split(token)?;
    let header = decode_json_object(header)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(AuthError::Malformed)?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(AuthError::UnsignedToken);
    }
    if header.contains_key("crit") {
        return Err(AuthError::Malformed);
    }
    let alg = Algorithm::from_str(alg).map_err(|_| AuthError::AlgorithmNotAllowed)?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if !kid.is_empty() => Some(kid.clone()),
        Some(_) => return Err(AuthError::Malformed),
    };
    Ok(Header { alg, kid })
}

/// One unverified string claim (for routing only).
pub(super) fn peek_claim_str(token: &str, name: &str) -> Option<String> {
    let [_, payload, _] = split(token).ok()?;
    decode_json_object(payload)
        .ok()?
        .get(name)?
        .as_str()
        .map(str::to_owned)
}

/// Verifies the signature with `key` under exactly `alg` (the key's algorithm, not the
/// header's) and returns the claims. Claim checks are the caller's.
pub(super) fn verify_signature(
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<Claims, AuthError> {
    let mut validation = Validation::new(alg);
    // Claims are checked by `check_registered` with an injected clock.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => AuthError::InvalidSignature,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::MissingAlgorithm
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidRsaKey(_) => AuthError::AlgorithmMismatch,
            _ => AuthError::Malformed,
        })
}

/// What the registered claims must satisfy.
pub(super) struct Expectations<'a> {
    pub issuer: &'a str,
    /// The token's `aud` must contain at least one of these.
    pub audiences: &'a [String],
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: i64,
    /// Local tokens must carry `nbf` and `iat`; external ones may omit them.
    pub require_nbf_iat: bool,
}

fn numeric_date(claims: &Claims, name: &str, required: bool) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(AuthError::MissingClaim(name.to_owned())),
        Some(v) => v
            .as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or_else(|| AuthError::InvalidClaim(name.to_owned())),
    }
}

/// Checks `iss`, `aud`, `exp`, `nbf` and `iat` against `now` (seconds since the epoch).
pub(super) fn check_registered(
    claims: &Claims,
    expect: &Expectations<'_>,
    now: i64,
) -> Result<(), AuthError> {
    match claims.get("iss") {
        None => return Err(AuthError::MissingClaim("iss".into())),
        Some(Value::String(iss)) if iss == expect.issuer => {}
        Some(Value::String(_)) => return Err(AuthError::WrongIssuer),
        Some(_) => return Err(AuthError::InvalidClaim("iss".into())),
    }

    let accepted = |aud: &str| expect.audiences.iter().any(|a| a == aud);
    match claims.get("aud") {
        None => return Err(AuthError::MissingClaim("aud".into())),
        Some(Value::String(aud)) => {
            if !accepted(aud) {
                return Err(AuthError::WrongAudience);
            }
        }
        Some(Value::Array(auds)) => {
            let mut any = false;
            for aud in auds {
                let aud = aud
                    .as_str()
                    .ok_or_else(|| AuthError::InvalidClaim("aud".into()))?;
                any |= accepted(aud);
            }
            if !any {
                return Err(AuthError::WrongAudience);
            }
        }
        Some(_) => return Err(AuthError::InvalidClaim("aud".into())),
    }

    let leeway = expect.leeway;
    if let Some(exp) = numeric_date(claims, "exp", true)? {
        // RFC 7519 4.1.4: not accepted on or after `exp`.
        if now >= exp.saturating_add(leeway) {
            return Err(AuthError::Expired);
        }
    }
    for name in ["nbf", "iat"] {
        if let Some(t) = numeric_date(claims, name, expect.require_nbf_iat)? {
            if t > now.saturating_add(leeway) {
                return Err(AuthError::NotYetValid);
            }
        }
    }
    Ok(())
}

/// Encodes a header and payload with a fake or foreign signature (tests only): lets the
/// tests forge `alg: none` and algorithm-confusion tokens that no library would sign.
#[cfg(test)]
pub(super) fn forge(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_parsing_classifies_failures() {
        let t = |h: Value| forge(&h, &json!({}), b"sig");
        assert_eq!(parse_header("a.b").unwrap_err(), AuthError::Malformed);
        assert_eq!(parse_header("a.b.c.d.e").unwrap_err(), AuthError::Malformed);
        assert_eq!(parse_header("!!.e30.x").unwrap_err(), AuthError::Malformed);
        assert_eq!(
            parse_header(&"a".repeat(MAX_TOKEN_LEN + 1)).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            parse_header(&t(json!({"alg": "none"}))).unwrap_err(),
            AuthError::UnsignedToken
        );
        assert_eq!(
            parse_header(&t(json!({"alg": "NONE", "kid": "k"}))).unwrap_err(),
            AuthError::UnsignedToken
        );
        assert_eq!(
            parse_header(&t(json!({"alg": "XS999", "kid": "k"}))).unwrap_err(),
            AuthError::AlgorithmNotAllowed
        );
        assert_eq!(
            parse_header(&t(json!({"alg": "HS256", "kid": 7}))).unwrap_err(),
            AuthError::Malformed
        );
        assert_eq!(
            parse_header(&t(json!({"alg": "HS256", "kid": "k", "crit": ["exp"]}))).unwrap_err(),
            AuthError::Malformed
        );
        let h = parse_header(&t(json!({"alg": "ES256", "kid": "k1"}))).unwrap();
        assert_eq!((h.alg, h.kid.as_deref()), (Algorithm::ES256, Some("k1")));
    }

    #[test]
    fn registered_claims_are_checked_with_leeway() {
        let auds = vec!["api".to_string()];
        let expect = Expectations {
            issuer: "iss",
            audiences: &auds,
            leeway: 10,
            require_nbf_iat: true,
        };
        let claims = |v: Value| v.as_object().unwrap().clone();
        let ok = json!({"iss": "iss", "aud": "api", "exp": 1000, "nbf": 900, "iat": 900});
        assert_eq!(check_registered(&claims(ok.clone()), &expect, 950), Ok(()));
        // within leeway either side
        assert_eq!(check_registered(&claims(ok.clone()), &expect, 1009), Ok(()));
        assert_eq!(check_registered(&claims(ok.clone()), &expect, 890), Ok(()));
        assert_eq!(
            check_registered(&claims(ok.clone()), &expect, 1010),
            Err(AuthError::Expired)
        );
        assert_eq!(
            check_registered(&claims(ok), &expect, 889),
            Err(AuthError::NotYetValid)
        );
        let multi = json!({"iss": "iss", "aud": ["x", "api"], "exp": 1000, "nbf": 900, "iat": 900});
        assert_eq!(check_registered(&claims(multi), &expect, 950), Ok(()));
        let no_iat = json!({"iss": "iss", "aud": "api", "exp": 1000, "nbf": 900});
        assert_eq!(
            check_registered(&claims(no_iat), &expect, 950),
            Err(AuthError::MissingClaim("iat".into()))
        );
        let bad_exp = json!({"iss": "iss", "aud": "api", "exp": "soon"});
        assert_eq!(
            check_registered(&claims(bad_exp), &expect, 950),
            Err(AuthError::InvalidClaim("exp".into()))
        );
    }
}
