//! Access tokens issued by this service: a [`KeyRing`] of signing keys and the
//! [`TokenService`] that issues and verifies tokens with it.
//!
//! Rotation: add the new key last; it signs from then on, while tokens signed by older
//! keys still verify until they expire. Retire an old key (verify-only) or drop it once
//! the longest token lifetime has passed; its tokens then fail with `UnknownKeyId`.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::error::{AuthError, KeyError};
use super::jwt::{self, Claims, Expectations};
use super::roles::{Principal, PrincipalKind, Role};
use super::secrets;

/// The `typ` claim of our access tokens: a valid JWT of any other type is refused.
pub const ACCESS_TOKEN_TYPE: &str = "access";
/// Default clock-skew tolerance.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// Algorithms this service signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// HMAC-SHA-256 with a shared secret: the embedded default.
    #[serde(rename = "HS256")]
    Hs256,
    /// Ed25519 from PEM (PKCS#8 private, SPKI public).
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// ECDSA P-256 from PEM (PKCS#8 private, SPKI public).
    #[serde(rename = "ES256")]
    Es256,
}

impl SigningAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            SigningAlgorithm::Hs256 => Algorithm::HS256,
            SigningAlgorithm::EdDsa => Algorithm::EdDSA,
            SigningAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

/// One configured key. HS256 needs `secret` (base64, at least 32 bytes); EdDSA and
/// ES256 need `public_key_pem`, plus `private_key_pem` unless `verify_only`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub kid: String,
    pub alg: SigningAlgorithm,
    #[serde(default)]
    pub secret: Option<SecretString>,
    #[serde(default)]
    pub private_key_pem: Option<SecretString>,
    #[serde(default)]
    pub public_key_pem: Option<String>,
    /// Keep verifying this key's tokens but never sign with it (rotation).
    #[serde(default)]
    pub verify_only: bool,
}

/// Everything needed to build a [`TokenService`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// `iss` of issued tokens, e.g. `https://declare.example.police.uk`.
    pub issuer: String,
    /// `aud` of issued tokens, e.g. `declare-api`.
    pub audience: String,
    /// Clock skew tolerated on `exp`/`nbf`/`iat`, seconds (default 30).
    #[serde(default = "default_leeway_secs")]
    pub leeway_secs: u64,
    /// Oldest first: the last key that is not `verify_only` signs.
    pub keys: Vec<KeySettings>,
}

fn default_leeway_secs() -> u64 {
    DEFAULT_LEEWAY.as_secs()
}

struct RingKey {
    kid: String,
    alg: Algorithm,
    /// `None` for a verify-only key.
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
}

/// Signing and verification keys, oldest first. The newest key able to sign signs;
/// every key verifies tokens that name its `kid` and its algorithm.
#[derive(Default)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key ids and algorithms only: never key material.
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|k| (&k.kid, k.alg, k.encoding.is_some())),
            )
            .finish()
    }
}

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a ring from settings, oldest first; fails unless some key can sign.
    pub fn from_settings(keys: &[KeySettings]) -> Result<Self, KeyError> {
        let mut ring = KeyRing::new();
        for k in keys {
            match k.alg {
                SigningAlgorithm::Hs256 => {
                    if k.private_key_pem.is_some() || k.public_key_pem.is_some() {
                        return Err(KeyError::invalid(&k.kid, "HS256 takes only a secret"));
                    }
                    let secret = k
                        .secret
                        .as_ref()
                        .ok_or_else(|| KeyError::invalid(&k.kid, "HS256 needs a secret"))?;
                    let bytes = secrets::decode_b64(secret)
                        .ok_or_else(|| KeyError::invalid(&k.kid, "secret is not base64"))?;
                    ring.add_hs256(&k.kid, bytes.expose_secret())?;
                }
                alg => {
                    if k.secret.is_some() {
                        return Err(KeyError::invalid(&k.kid, "PEM keys take no secret"));
                    }
                    let public = k
                        .public_key_pem
                        .as_deref()
                        .ok_or_else(|| KeyError::invalid(&k.kid, "public_key_pem is required"))?;
                    let private = match (&k.private_key_pem, k.verify_only) {
                        (Some(p), _) => Some(p.expose_secret().as_bytes()),
                        (None, true) => None,
                        (None, false) => {
                            return Err(KeyError::invalid(
                                &k.kid,
                                "private_key_pem is required unless verify_only",
                            ))
                        }
                    };
                    ring.add_pem(&k.kid, alg, private, public.as_bytes())?;
                }
            }
            if k.verify_only {
                ring.retire(&k.kid)?;
            }
        }
        if ring.signing_kid().is_none() {
            return Err(KeyError::NoSigningKey);
        }
        Ok(ring)
    }

    fn push(&mut self, key: RingKey) -> Result<(), KeyError> {
        if key.kid.is_empty() {
            return Err(KeyError::invalid("", "key id is empty"));
        }
        if self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(KeyError::DuplicateKeyId(key.kid));
        }
        self.keys.push(key);
        Ok(())
    }

    /// Adds an HS256 key that signs from now on. The secret must be at least 32 bytes.
    pub fn add_hs256(&mut self, kid: &str, secret: &[u8]) -> Result<(), KeyError> {
        if secret.len() < secrets::HS256_MIN_SECRET_LEN {
            return Err(KeyError::invalid(
                kid,
                "HS256 secret must be at least 32 bytes",
            ));
        }
        self.push(RingKey {
            kid: kid.to_owned(),
            alg: Algorithm::HS256,
            encoding: Some(EncodingKey::from_secret(secret)),
            decoding: DecodingKey::from_secret(secret),
        })
    }

    /// Adds an EdDSA or ES256 key from PEM. With `private_pem` it signs from now on
    /// (and the pair is checked to match); without, it only verifies.
    pub fn add_pem(
        &mut self,
        kid: &str,
        alg: SigningAlgorithm,
        private_pem: Option<&[u8]>,
        public_pem: &[u8],
    ) -> Result<(), KeyError> {
        let bad = |what: &str| KeyError::invalid(kid, format!("{what} is not a valid {alg:?} PEM"));
        let (decoding, encoding) = match alg {
            SigningAlgorithm::Hs256 => {
                return Err(KeyError::invalid(kid, "HS256 keys are secrets, not PEM"))
            }
            SigningAlgorithm::EdDsa => (
                DecodingKey::from_ed_pem(public_pem).map_err(|_| bad("public key"))?,
                private_pem
                    .map(EncodingKey::from_ed_pem)
                    .transpose()
                    .map_err(|_| bad("private key"))?,
            ),
            SigningAlgorithm::Es256 => (
                DecodingKey::from_ec_pem(public_pem).map_err(|_| bad("public key"))?,
                private_pem
                    .map(EncodingKey::from_ec_pem)
                    .transpose()
                    .map_err(|_| bad("private key"))?,
            ),
        };
        let alg = alg.jwt();
        if let Some(encoding) = &encoding {
            // Sign a probe and verify it: catches a private key paired with the wrong
            // public key, or a P-384 key offered as ES256, at start-up.
            let probe = b"declare key probe";
            let sig =
                jsonwebtoken::crypto::sign(probe, encoding, alg).map_err(|_| bad("private key"))?;
            let ok = jsonwebtoken::crypto::verify(&sig, probe, &decoding, alg).unwrap_or(false);
            if !ok {
                return Err(KeyError::invalid(
                    kid,
                    "private and public keys do not match",
                ));
            }
        }
        self.push(RingKey {
            kid: kid.to_owned(),
            alg,
            encoding,
            decoding,
        })
    }

    /// Stops signing with `kid`; its tokens still verify.
    pub fn retire(&mut self, kid: &str) -> Result<(), KeyError> {
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.kid == kid)
            .ok_or_else(|| KeyError::invalid(kid, "no such key"))?;
        key.encoding = None;
        Ok(())
    }

    /// Drops `kid` entirely: its tokens fail with `UnknownKeyId`. True if it was there.
    pub fn remove(&mut self, kid: &str) -> bool {
        let before = self.keys.len();
        self.keys.retain(|k| k.kid != kid);
        self.keys.len() != before
    }

    /// The key id new tokens are signed with.
    pub fn signing_kid(&self) -> Option<&str> {
        self.signing_key().map(|k| k.kid.as_str())
    }

    /// All key ids, oldest first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    fn signing_key(&self) -> Option<&RingKey> {
        self.keys.iter().rev().find(|k| k.encoding.is_some())
    }

    fn find(&self, kid: &str) -> Option<&RingKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    org: Option<Uuid>,
    roles: &'a [Role],
    #[serde(skip_serializing_if = "Option::is_none")]
    emp: Option<Uuid>,
    typ: &'static str,
    /// How the principal authenticated (not a registered claim).
    knd: PrincipalKind,
}

/// Issues and verifies this service's access tokens.
#[derive(Debug)]
pub struct TokenService {
    issuer: String,
    audience: String,
    leeway: Duration,
    keys: KeyRing,
}

impl TokenService {
    /// A service with the default leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, keys: KeyRing) -> Self {
        TokenService {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: DEFAULT_LEEWAY,
            keys,
        }
    }

    /// Builds the service from configuration.
    pub fn from_settings(settings: &TokenSettings) -> Result<Self, KeyError> {
        if settings.issuer.is_empty() || settings.audience.is_empty() {
            return Err(KeyError::Settings("issuer and audience must be set".into()));
        }
        Ok(TokenService::new(
            settings.issuer.clone(),
            settings.audience.clone(),
            KeyRing::from_settings(&settings.keys)?,
        )
        .with_leeway(Duration::from_secs(settings.leeway_secs)))
    }

    /// Sets the clock-skew tolerance.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// For rotation while running (behind the caller's lock).
    pub fn keys_mut(&mut self) -> &mut KeyRing {
        &mut self.keys
    }

    /// Issues a token for `principal` valid for `ttl` (whole seconds, at least one).
    /// Returns the token and `expires_in` seconds, as the OAuth token response wants.
    pub fn issue(&self, principal: &Principal, ttl: Duration) -> Result<(String, u64), AuthError> {
        self.issue_at(principal, ttl, Utc::now())
    }

    /// [`Self::issue`] at a given time (tests, and issuing with one clock reading).
    pub fn issue_at(
        &self,
        principal: &Principal,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(String, u64), AuthError> {
        if !principal.is_well_formed() {
            return Err(AuthError::Issue(
                "principal has no roles or no organisation",
            ));
        }
        let secs = ttl.as_secs();
        let ttl_i64 = i64::try_from(secs).map_err(|_| AuthError::Issue("ttl too long"))?;
        if secs == 0 {
            return Err(AuthError::Issue("ttl must be at least one second"));
        }
        let key = self
            .keys
            .signing_key()
            .ok_or(AuthError::Issue("no signing key"))?;
        let encoding = key
            .encoding
            .as_ref()
            .ok_or(AuthError::Issue("no signing key"))?;
        let iat = now.timestamp();
        let claims = AccessClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: &principal.subject,
            exp: iat.saturating_add(ttl_i64),
            nbf: iat,
            iat,
            jti: Uuid::new_v4(),
            org: principal.org_id,
            roles: &principal.roles,
            emp: principal.employee_id,
            typ: ACCESS_TOKEN_TYPE,
            knd: principal.kind,
        };
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, encoding)
            .map_err(|_| AuthError::Issue("signing failed"))?;
        Ok((token, secs))
    }

    /// Verifies a token now. See [`Self::verify_at`].
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_at(token, Utc::now())
    }

    /// Verifies a token as of `now`: header (`alg`, `kid`) against the ring, signature
    /// under the key's own algorithm, then `iss`, `aud`, `exp`, `nbf`, `iat`, `typ`, and
    /// the principal claims.
    pub fn verify_at(&self, token: &str, now: DateTime<Utc>) -> Result<Principal, AuthError> {
        let header = jwt::parse_header(token)?;
        let kid = header.kid.ok_or(AuthError::MissingKeyId)?;
        let key = self.keys.find(&kid).ok_or(AuthError::UnknownKeyId)?;
        if header.alg != key.alg {
            return Err(AuthError::AlgorithmMismatch);
        }
        let claims = jwt::verify_signature(token, &key.decoding, key.alg)?;
        jwt::check_registered(
            &claims,
            &Expectations {
                issuer: &self.issuer,
                audiences: std::slice::from_ref(&self.audience),
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                require_nbf_iat: true,
            },
            now.timestamp(),
        )?;
        principal_from_claims(&claims)
    }
}

fn claim<T: serde::de::DeserializeOwned>(claims: &Claims, name: &str) -> Result<T, AuthError> {
    let value = claims
        .get(name)
        .ok_or_else(|| AuthError::MissingClaim(name.to_owned()))?;
    serde_json::from_value(value.clone()).map_err(|_| AuthError::InvalidClaim(name.to_owned()))
}

fn optional_claim<T: serde::de::DeserializeOwned>(
    claims: &Claims,
    name: &str,
) -> Result<Option<T>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => claim(claims, name).map(Some),
    }
}

fn principal_from_claims(claims: &Claims) -> Result<Principal, AuthError> {
    let typ: String = claim(claims, "typ")?;
    if typ != ACCESS_TOKEN_TYPE {
        return Err(AuthError::WrongTokenType);
    }
    let _jti: Uuid = claim(claims, "jti")?;
    let principal = Principal {
        subject: claim(claims, "sub")?,
        org_id: optional_claim(claims, "org")?,
        roles: claim(claims, "roles")?,
        employee_id: optional_claim(claims, "emp")?,
        kind: claim(claims, "knd")?,
    };
    if principal.subject.is_empty() {
        return Err(AuthError::InvalidClaim("sub".into()));
    }
    if principal.roles.is_empty() {
        return Err(AuthError::InvalidClaim("roles".into()));
    }
    if !principal.is_well_formed() {
        return Err(AuthError::MissingClaim("org".into()));
    }
    Ok(principal)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    // Test-only keys; paths are relative to this file so the fixtures move with it.
    const ED_PRIVATE: &[u8] = include_bytes!("testdata/ed25519_private.pem");
    const ED_PUBLIC: &[u8] = include_bytes!("testdata/ed25519_public.pem");
    const EC_PRIVATE: &[u8] = include_bytes!("testdata/ec_p256_private.pem");
    const EC_PUBLIC: &[u8] = include_bytes!("testdata/ec_p256_public.pem");

    const ISS: &str = "https://declare.test";
    const AUD: &str = "declare-api";
    const HOUR: Duration = Duration::from_secs(3600);

    fn secret(n: u8) -> Vec<u8> {
        vec![n; 32]
    }

    fn hs_ring(kid: &str) -> KeyRing {
        let mut ring = KeyRing::new();
        ring.add_hs256(kid, &secret(1)).unwrap();
        ring
    }

    fn service(ring: KeyRing) -> TokenService {
        TokenService::new(ISS, AUD, ring)
    }

    fn employee() -> Principal {
        Principal {
            subject: "user-42".into(),
            org_id: Some(Uuid::new_v4()),
            roles: vec![Role::Employee, Role::HrAdmin],
            employee_id: Some(Uuid::new_v4()),
            kind: PrincipalKind::User,
        }
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        t0() + chrono::Duration::seconds(secs)
    }

    /// A valid claim set as `issue` would write it, for hand-built tokens.
    fn claims_json(p: &Principal, iat: i64) -> Value {
        json!({
            "iss": ISS, "aud": AUD, "sub": p.subject, "iat": iat, "nbf": iat,
            "exp": iat + 3600, "jti": Uuid::new_v4(), "org": p.org_id,
            "roles": p.roles, "emp": p.employee_id, "typ": "access", "knd": p.kind,
        })
    }

    fn sign_hs(kid: Option<&str>, key: &[u8], claims: &Value) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key)).unwrap()
    }

    #[test]
    fn hs256_round_trip_restores_the_principal() {
        let svc = service(hs_ring("k1"));
        let p = employee();
        let (token, expires_in) = svc.issue_at(&p, HOUR, t0()).unwrap();
        assert_eq!(expires_in, 3600);
        assert_eq!(svc.verify_at(&token, at(10)).unwrap(), p);
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(header.alg, Algorithm::HS256);
    }

    #[test]
    fn verify_uses_the_real_clock() {
        let svc = service(hs_ring("k1"));
        let (token, _) = svc.issue(&employee(), HOUR).unwrap();
        assert!(svc.verify(&token).is_ok());
    }

    #[test]
    fn eddsa_and_es256_round_trip_from_pem() {
        for (alg, private, public) in [
            (SigningAlgorithm::EdDsa, ED_PRIVATE, ED_PUBLIC),
            (SigningAlgorithm::Es256, EC_PRIVATE, EC_PUBLIC),
        ] {
            let mut ring = KeyRing::new();
            ring.add_pem("pk", alg, Some(private), public).unwrap();
            let svc = service(ring);
            let p = employee();
            let (token, _) = svc.issue_at(&p, HOUR, t0()).unwrap();
            assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, alg.jwt());
            assert_eq!(svc.verify_at(&token, at(1)).unwrap(), p, "{alg:?}");
        }
    }

    #[test]
    fn national_principal_without_org_round_trips() {
        let svc = service(hs_ring("k1"));
        let p = Principal {
            subject: "nat-1".into(),
            org_id: None,
            roles: vec![Role::NationalViewer],
            employee_id: None,
            kind: PrincipalKind::Client,
        };
        let (token, _) = svc.issue_at(&p, HOUR, t0()).unwrap();
        assert_eq!(svc.verify_at(&token, at(1)).unwrap(), p);
    }

    #[test]
    fn issue_refuses_unscoped_non_national_principals_and_zero_ttl() {
        let svc = service(hs_ring("k1"));
        let mut p = employee();
        assert!(matches!(
            svc.issue_at(&p, Duration::from_millis(500), t0()),
            Err(AuthError::Issue(_))
        ));
        p.org_id = None;
        assert!(matches!(
            svc.issue_at(&p, HOUR, t0()),
            Err(AuthError::Issue(_))
        ));
    }

    #[test]
    fn rejects_alg_none() {
        let svc = service(hs_ring("k1"));
        let p = employee();
        let forged = jwt::forge(
            &json!({"alg": "none", "kid": "k1"}),
            &claims_json(&p, t0().timestamp()),
            b"",
        );
        assert_eq!(svc.verify_at(&forged, at(1)), Err(AuthError::UnsignedToken));
        let no_sig = forged.trim_end_matches('.').to_owned() + ".";
        assert_eq!(svc.verify_at(&no_sig, at(1)), Err(AuthError::UnsignedToken));
    }

    #[test]
    fn rejects_hs256_token_signed_with_the_public_key_bytes() {
        // The classic confusion attack: the attacker knows the public key and uses its
        // PEM as an HMAC secret, claiming alg HS256 under the asymmetric key's kid.
        for (alg, private, public) in [
            (SigningAlgorithm::EdDsa, ED_PRIVATE, ED_PUBLIC),
            (SigningAlgorithm::Es256, EC_PRIVATE, EC_PUBLIC),
        ] {
            let mut ring = KeyRing::new();
            ring.add_pem("asym", alg, Some(private), public).unwrap();
            let svc = service(ring);
            let claims = claims_json(&employee(), t0().timestamp());
            let forged = sign_hs(Some("asym"), public, &claims);
            assert_eq!(
                svc.verify_at(&forged, at(1)),
                Err(AuthError::AlgorithmMismatch)
            );
        }
    }

    #[test]
    fn rejects_asymmetric_alg_under_an_hmac_kid() {
        let mut ring = hs_ring("hs");
        ring.add_pem("ed", SigningAlgorithm::EdDsa, Some(ED_PRIVATE), ED_PUBLIC)
            .unwrap();
        let svc = service(ring);
        let (token, _) = svc.issue_at(&employee(), HOUR, t0()).unwrap();
        // Re-label the EdDSA token as coming from the HMAC key.
        let parts: Vec<&str> = token.split('.').collect();
        let header = jwt::forge(&json!({"alg": "EdDSA", "kid": "hs"}), &json!({}), b"");
        let relabelled = format!(
            "{}.{}.{}",
            header.split('.').next().unwrap(),
            parts[1],
            parts[2]
        );
        assert_eq!(
            svc.verify_at(&relabelled, at(1)),
            Err(AuthError::AlgorithmMismatch)
        );
    }

    #[test]
    fn rejects_expired_and_not_yet_valid_with_leeway() {
        let svc = service(hs_ring("k1")).with_leeway(Duration::from_secs(30));
        let (token, _) = svc.issue_at(&employee(), HOUR, t0()).unwrap();
        assert!(svc.verify_at(&token, at(3600 + 29)).is_ok());
        assert_eq!(
            svc.verify_at(&token, at(3600 + 30)),
            Err(AuthError::Expired)
        );
        assert!(svc.verify_at(&token, at(-30)).is_ok());
        assert_eq!(svc.verify_at(&token, at(-31)), Err(AuthError::NotYetValid));

        let strict = service(hs_ring("k1")).with_leeway(Duration::ZERO);
        let (token, _) = strict.issue_at(&employee(), HOUR, t0()).unwrap();
        assert_eq!(strict.verify_at(&token, at(3600)), Err(AuthError::Expired));
        assert_eq!(
            strict.verify_at(&token, at(-1)),
            Err(AuthError::NotYetValid)
        );
    }

    #[test]
    fn rejects_wrong_issuer_and_audience() {
        let ring = || hs_ring("k1");
        let (token, _) = service(ring()).issue_at(&employee(), HOUR, t0()).unwrap();
        let other_iss = TokenService::new("https://elsewhere.test", AUD, ring());
        assert_eq!(
            other_iss.verify_at(&token, at(1)),
            Err(AuthError::WrongIssuer)
        );
        let other_aud = TokenService::new(ISS, "another-api", ring());
        assert_eq!(
            other_aud.verify_at(&token, at(1)),
            Err(AuthError::WrongAudience)
        );
    }

    #[test]
    fn rejects_missing_and_unknown_kid() {
        let svc = service(hs_ring("k1"));
        let claims = claims_json(&employee(), t0().timestamp());
        let no_kid = sign_hs(None, &secret(1), &claims);
        assert_eq!(svc.verify_at(&no_kid, at(1)), Err(AuthError::MissingKeyId));
        let unknown = sign_hs(Some("k9"), &secret(1), &claims);
        assert_eq!(svc.verify_at(&unknown, at(1)), Err(AuthError::UnknownKeyId));
        // and the same claims under the right kid are fine: the fixture is valid
        let good = sign_hs(Some("k1"), &secret(1), &claims);
        assert!(svc.verify_at(&good, at(1)).is_ok());
    }

    #[test]
    fn rejects_tampered_signature_and_payload() {
        let svc = service(hs_ring("k1"));
        let (token, _) = svc.issue_at(&employee(), HOUR, t0()).unwrap();
        let (rest, sig) = token.rsplit_once('.').unwrap();
        let mut sig = sig.to_owned();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        sig.replace_range(0..1, flipped);
        assert_eq!(
            svc.verify_at(&format!("{rest}.{sig}"), at(1)),
            Err(AuthError::InvalidSignature)
        );

        // A payload granting more roles, with the original signature.
        let mut p = employee();
        p.roles.push(Role::Admin);
        let forged_payload = jwt::forge(&json!({}), &claims_json(&p, t0().timestamp()), b"");
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            forged_payload.split('.').nth(1).unwrap(),
            parts[2]
        );
        assert_eq!(
            svc.verify_at(&tampered, at(1)),
            Err(AuthError::InvalidSignature)
        );

        // Signed with another secret under the right kid.
        let claims = claims_json(&employee(), t0().timestamp());
        let wrong_key = sign_hs(Some("k1"), &secret(2), &claims);
        assert_eq!(
            svc.verify_at(&wrong_key, at(1)),
            Err(AuthError::InvalidSignature)
        );
    }

    #[test]
    fn rejects_malformed_tokens() {
        let svc = service(hs_ring("k1"));
        for bad in [
            "",
            "abc",
            "a.b",
            "a.b.c",
            "....",
            "e30.e30.e30.e30",
            "ey!.ey!.sig",
        ] {
            assert_eq!(
                svc.verify_at(bad, at(1)),
                Err(AuthError::Malformed),
                "{bad:?}"
            );
        }
        // valid header, payload that is not JSON
        let (token, _) = svc.issue_at(&employee(), HOUR, t0()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let bad_payload = format!("{}.bm90IGpzb24.{}", parts[0], parts[2]);
        let err = svc.verify_at(&bad_payload, at(1)).unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidSignature | AuthError::Malformed),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_wrong_type_missing_claims_and_unknown_roles() {
        let svc = service(hs_ring("k1"));
        let p = employee();
        let iat = t0().timestamp();
        let sign = |c: &Value| sign_hs(Some("k1"), &secret(1), c);

        let mut c = claims_json(&p, iat);
        c["typ"] = json!("refresh");
        assert_eq!(
            svc.verify_at(&sign(&c), at(1)),
            Err(AuthError::WrongTokenType)
        );

        let mut c = claims_json(&p, iat);
        c.as_object_mut().unwrap().remove("sub");
        assert_eq!(
            svc.verify_at(&sign(&c), at(1)),
            Err(AuthError::MissingClaim("sub".into()))
        );

        let mut c = claims_json(&p, iat);
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            svc.verify_at(&sign(&c), at(1)),
            Err(AuthError::MissingClaim("exp".into()))
        );

        let mut c = claims_json(&p, iat);
        c["roles"] = json!(["employee", "superuser"]);
        assert_eq!(
            svc.verify_at(&sign(&c), at(1)),
            Err(AuthError::InvalidClaim("roles".into()))
        );

        let mut c = claims_json(&p, iat);
        c["org"] = Value::Null; // an employee must be bound to an organisation
        assert_eq!(
            svc.verify_at(&sign(&c), at(1)),
            Err(AuthError::MissingClaim("org".into()))
        );
    }

    #[test]
    fn rotation_keeps_old_tokens_until_the_old_key_is_removed() {
        let mut svc = service(hs_ring("A"));
        let p = employee();
        let (old, _) = svc.issue_at(&p, HOUR, t0()).unwrap();

        svc.keys_mut().add_hs256("B", &secret(2)).unwrap();
        assert_eq!(svc.keys().signing_kid(), Some("B"));
        let (new, _) = svc.issue_at(&p, HOUR, t0()).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(),
            Some("B")
        );
        assert_eq!(svc.verify_at(&old, at(1)).unwrap(), p);
        assert_eq!(svc.verify_at(&new, at(1)).unwrap(), p);

        assert!(svc.keys_mut().remove("A"));
        assert_eq!(svc.verify_at(&old, at(1)), Err(AuthError::UnknownKeyId));
        assert!(svc.verify_at(&new, at(1)).is_ok());
    }

    #[test]
    fn retired_key_verifies_but_does_not_sign() {
        let mut ring = hs_ring("A");
        ring.add_hs256("B", &secret(2)).unwrap();
        ring.retire("B").unwrap();
        assert_eq!(ring.signing_kid(), Some("A"));
        ring.retire("A").unwrap();
        let svc = service(ring);
        assert_eq!(
            svc.issue_at(&employee(), HOUR, t0()),
            Err(AuthError::Issue("no signing key"))
        );
    }

    #[test]
    fn ring_refuses_short_secrets_duplicates_and_mismatched_pairs() {
        let mut ring = KeyRing::new();
        assert!(matches!(
            ring.add_hs256("k", &[0u8; 31]),
            Err(KeyError::Invalid { .. })
        ));
        ring.add_hs256("k", &secret(1)).unwrap();
        assert_eq!(
            ring.add_hs256("k", &secret(2)),
            Err(KeyError::DuplicateKeyId("k".into()))
        );
        let mismatched = ring.add_pem("e", SigningAlgorithm::Es256, Some(EC_PRIVATE), ED_PUBLIC);
        assert!(matches!(mismatched, Err(KeyError::Invalid { .. })));
        let other_ec = include_bytes!("testdata/idp_ec_p256_public.pem");
        let mismatched = ring.add_pem("e", SigningAlgorithm::Es256, Some(EC_PRIVATE), other_ec);
        assert_eq!(
            mismatched,
            Err(KeyError::invalid(
                "e",
                "private and public keys do not match"
            ))
        );
        assert!(ring
            .add_pem("e", SigningAlgorithm::Hs256, None, ED_PUBLIC)
            .is_err());
        assert_eq!(ring.kids().collect::<Vec<_>>(), vec!["k"]);
        // Debug output names keys, never material.
        assert_eq!(format!("{ring:?}"), r#"[("k", HS256, true)]"#);
    }

    #[test]
    fn settings_build_a_ring_where_the_last_active_key_signs() {
        let settings: TokenSettings = serde_json::from_value(json!({
            "issuer": ISS,
            "audience": AUD,
            "leeway_secs": 5,
            "keys": [
                {"kid": "old", "alg": "HS256", "secret": secrets::generate_hs256_secret().expose_secret()},
                {"kid": "ed", "alg": "EdDSA",
                 "private_key_pem": std::str::from_utf8(ED_PRIVATE).unwrap(),
                 "public_key_pem": std::str::from_utf8(ED_PUBLIC).unwrap()},
                {"kid": "pub-only", "alg": "ES256", "verify_only": true,
                 "public_key_pem": std::str::from_utf8(EC_PUBLIC).unwrap()}
            ]
        }))
        .unwrap();
        let svc = TokenService::from_settings(&settings).unwrap();
        assert_eq!(svc.keys().signing_kid(), Some("ed"));
        assert_eq!(svc.keys().kids().count(), 3);
        let (token, _) = svc.issue_at(&employee(), HOUR, t0()).unwrap();
        assert!(svc.verify_at(&token, at(1)).is_ok());
        // Secrets never reach Debug output.
        assert!(!format!("{settings:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn settings_refuse_unknown_fields_and_rings_that_cannot_sign() {
        let unknown = serde_json::from_value::<TokenSettings>(json!({
            "issuer": ISS, "audience": AUD, "keys": [], "algorithm": "HS256"
        }));
        assert!(unknown.is_err());
        let verify_only: TokenSettings = serde_json::from_value(json!({
            "issuer": ISS, "audience": AUD,
            "keys": [{"kid": "a", "alg": "HS256", "verify_only": true,
                      "secret": secrets::generate_hs256_secret().expose_secret()}]
        }))
        .unwrap();
        assert_eq!(
            TokenService::from_settings(&verify_only).unwrap_err(),
            KeyError::NoSigningKey
        );
        let no_private: TokenSettings = serde_json::from_value(json!({
            "issuer": ISS, "audience": AUD,
            "keys": [{"kid": "a", "alg": "EdDSA",
                      "public_key_pem": std::str::from_utf8(ED_PUBLIC).unwrap()}]
        }))
        .unwrap();
        assert!(matches!(
            TokenService::from_settings(&no_private),
            Err(KeyError::Invalid { .. })
        ));
    }
}
