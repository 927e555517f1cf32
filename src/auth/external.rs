//! Tokens from an external identity provider (the force's IdP): verified against the
//! provider's public keys (JWKS or PEM), for one configured issuer and audience, and
//! mapped to the employee's external identity subject through one configured claim.
//!
//! Only asymmetric algorithms are accepted (the [`ExternalAlgorithm`] type has no HMAC
//! member), so a token MACed with a public key, or with an `oct` key smuggled into the
//! JWKS, never verifies. Keys are never fetched from token headers (`jku`, `x5u`, `jwk`).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{AuthError, KeyError};
use super::jwt::{self, Expectations};

/// Algorithms accepted from an external provider. Deliberately no HS*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExternalAlgorithm {
    RS256,
    ES256,
    EdDSA,
}

impl ExternalAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            ExternalAlgorithm::RS256 => Algorithm::RS256,
            ExternalAlgorithm::ES256 => Algorithm::ES256,
            ExternalAlgorithm::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// A provider public key given as PEM.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalPemKey {
    pub kid: String,
    pub alg: ExternalAlgorithm,
    pub public_key_pem: String,
}

/// Configuration of one external identity provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIdpSettings {
    /// Exact `iss` of the provider's tokens.
    pub issuer: String,
    /// The `aud` this service is known by at the provider (its client id).
    pub audience: String,
    /// Accepted algorithms, e.g. `["RS256"]`.
    pub algorithms: Vec<ExternalAlgorithm>,
    /// Claim carrying the employee's external identity subject (`sub`, `oid`, ...).
    pub subject_claim: String,
    /// Clock skew tolerated, seconds (default 60: provider clocks are not ours).
    #[serde(default = "default_external_leeway")]
    pub leeway_secs: u64,
    /// The provider's JWKS document (JSON text); fetching and refreshing it is the
    /// caller's job.
    #[serde(default)]
    pub jwks: Option<String>,
    #[serde(default)]
    pub pem_keys: Vec<ExternalPemKey>,
}

fn default_external_leeway() -> u64 {
    60
}

/// Who the external provider says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The provider's issuer (as configured, hence as in the token).
    pub issuer: String,
    /// Value of the configured subject claim, to match `employees.external_subject`.
    pub subject_claim_value: String,
}

#[derive(Debug, Clone)]
struct ExternalKey {
    alg: Algorithm,
    decoding: DecodingKey,
}

/// Verifies one provider's tokens.
#[derive(Debug, Clone)]
pub struct ExternalVerifier {
    issuer: String,
    audience: String,
    algorithms: Vec<ExternalAlgorithm>,
    subject_claim: String,
    leeway: Duration,
    keys: HashMap<String, ExternalKey>,
}

impl ExternalVerifier {
    /// A verifier with no keys yet: add them with [`Self::load_jwks`] or [`Self::add_pem`].
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        algorithms: &[ExternalAlgorithm],
        subject_claim: impl Into<String>,
    ) -> Self {
        ExternalVerifier {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: algorithms.to_vec(),
            subject_claim: subject_claim.into(),
            leeway: Duration::from_secs(default_external_leeway()),
            keys: HashMap::new(),
        }
    }

    /// Builds a verifier from configuration; fails if it would have no usable key.
    pub fn from_settings(s: &ExternalIdpSettings) -> Result<Self, KeyError> {
        if s.issuer.is_empty() || s.audience.is_empty() || s.subject_claim.is_empty() {
            return Err(KeyError::Settings(
                "external issuer, audience and subject_claim must be set".into(),
            ));
        }
        if s.algorithms.is_empty() {
            return Err(KeyError::Settings(
                "external algorithms must not be empty".into(),
            ));
        }
        let mut v = ExternalVerifier::new(&s.issuer, &s.audience, &s.algorithms, &s.subject_claim)
            .with_leeway(Duration::from_secs(s.leeway_secs));
        if let Some(jwks) = &s.jwks {
            v.load_jwks(jwks)?;
        }
        for k in &s.pem_keys {
            v.add_pem(&k.kid, k.alg, k.public_key_pem.as_bytes())?;
        }
        if v.keys.is_empty() {
            return Err(KeyError::NoVerificationKey);
        }
        Ok(v)
    }

    /// Sets the clock-skew tolerance.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Key ids currently trusted.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Adds the usable signature keys of a JWKS document and returns how many. Keys
    /// without `kid`, for encryption, symmetric (`oct`), of an algorithm or curve not
    /// in the accepted list, or that do not parse are skipped, so one odd key in the
    /// provider's set does not stop the rest. A key with a known `kid` is replaced.
    pub fn load_jwks(&mut self, jwks_json: &str) -> Result<usize, KeyError> {
        let doc: Value =
            serde_json::from_str(jwks_json).map_err(|_| KeyError::Jwks("not JSON".into()))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::Jwks("no \"keys\" array".into()))?;
        let mut loaded = 0;
        for key in keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(key.clone()) else {
                continue;
            };
            if let Some((kid, key)) = self.usable(&jwk) {
                self.keys.insert(kid, key);
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    /// Replaces all keys with those of a freshly fetched JWKS (the provider rotated).
    /// On error the old keys stay.
    pub fn replace_jwks(&mut self, jwks_json: &str) -> Result<usize, KeyError> {
        let mut fresh = self.clone();
        fresh.keys.clear();
        let n = fresh.load_jwks(jwks_json)?;
        if n == 0 {
            return Err(KeyError::NoVerificationKey);
        }
        self.keys = fresh.keys;
        Ok(n)
    }

    fn usable(&self, jwk: &Jwk) -> Option<(String, ExternalKey)> {
        let kid = jwk.common.key_id.clone().filter(|k| !k.is_empty())?;
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption) | Some(PublicKeyUse::Other(_))
        ) {
            return None;
        }
        if let Some(ops) = &jwk.common.key_operations {
            if !ops.contains(&KeyOperations::Verify) {
                return None;
            }
        }
        let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => {
                ExternalAlgorithm::RS256
            }
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                ExternalAlgorithm::ES256
            }
            (AlgorithmParameters::OctetKeyPair(p), None | Some(KeyAlgorithm::EdDSA))
                if p.curve == EllipticCurve::Ed25519 =>
            {
                ExternalAlgorithm::EdDSA
            }
            _ => return None, // oct keys, other curves, other algorithms
        };
        if !self.algorithms.contains(&alg) {
            return None;
        }
        let decoding = DecodingKey::from_jwk(jwk).ok()?;
        Some((
            kid,
            ExternalKey {
                alg: alg.jwt(),
                decoding,
            },
        ))
    }

    /// Adds a provider key from a PEM public key.
    pub fn add_pem(
        &mut self,
        kid: &str,
        alg: ExternalAlgorithm,
        public_pem: &[u8],
    ) -> Result<(), KeyError> {
        if kid.is_empty() {
            return Err(KeyError::invalid(kid, "key id is empty"));
        }
        if !self.algorithms.contains(&alg) {
            return Err(KeyError::invalid(
                kid,
                "algorithm is not in the accepted list",
            ));
        }
        let decoding = match alg {
            ExternalAlgorithm::RS256 => DecodingKey::from_rsa_pem(public_pem),
            ExternalAlgorithm::ES256 => DecodingKey::from_ec_pem(public_pem),
            ExternalAlgorithm::EdDSA => DecodingKey::from_ed_pem(public_pem),
        }
        .map_err(|_| KeyError::invalid(kid, format!("not a valid {alg:?} public key PEM")))?;
        if self.keys.contains_key(kid) {
            return Err(KeyError::DuplicateKeyId(kid.to_owned()));
        }
        self.keys.insert(
            kid.to_owned(),
            ExternalKey {
                alg: alg.jwt(),
                decoding,
            },
        );
        Ok(())
    }

    /// Verifies a provider token now. See [`Self::verify_at`].
    pub fn verify(&self, token: &str) -> Result<ExternalIdentity, AuthError> {
        self.verify_at(token, Utc::now())
    }

    /// Verifies a provider token as of `now` and returns the identity it asserts.
    pub fn verify_at(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ExternalIdentity, AuthError> {
        let header = jwt::parse_header(token)?;
        if !self.algorithms.iter().any(|a| a.jwt() == header.alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let kid = header.kid.ok_or(AuthError::MissingKeyId)?;
        let key = self.keys.get(&kid).ok_or(AuthError::UnknownKeyId)?;
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
                require_nbf_iat: false,
            },
            now.timestamp(),
        )?;
        let value = match claims.get(&self.subject_claim) {
            None | Some(Value::Null) => {
                return Err(AuthError::MissingClaim(self.subject_claim.clone()))
            }
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            // Some HR-fed IdPs put employee numbers in as JSON numbers.
            Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            Some(_) => return Err(AuthError::InvalidClaim(self.subject_claim.clone())),
        };
        Ok(ExternalIdentity {
            issuer: self.issuer.clone(),
            subject_claim_value: value,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    // Test-only keys of a pretend provider; the JWKS holds their public halves.
    const JWKS: &str = include_str!("testdata/idp_jwks.json");
    const RSA_PRIVATE: &[u8] = include_bytes!("testdata/idp_rsa_private.pem");
    const RSA_PUBLIC: &[u8] = include_bytes!("testdata/idp_rsa_public.pem");
    const EC_PRIVATE: &[u8] = include_bytes!("testdata/idp_ec_p256_private.pem");
    const ED_PRIVATE: &[u8] = include_bytes!("testdata/idp_ed25519_private.pem");
    const ED_PUBLIC: &[u8] = include_bytes!("testdata/idp_ed25519_public.pem");

    const ISS: &str = "https://login.idp.test/tenant/v2.0";
    const AUD: &str = "declare-client-id";
    const ALL: [ExternalAlgorithm; 3] = [
        ExternalAlgorithm::RS256,
        ExternalAlgorithm::ES256,
        ExternalAlgorithm::EdDSA,
    ];

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap()
    }

    fn verifier(claim: &str) -> ExternalVerifier {
        let mut v = ExternalVerifier::new(ISS, AUD, &ALL, claim);
        assert_eq!(v.load_jwks(JWKS).unwrap(), 3);
        v
    }

    fn claims() -> Value {
        let t = now().timestamp();
        json!({
            "iss": ISS, "aud": AUD, "sub": "pairwise-sub-123", "oid": "0b5c-oid",
            "employee_id": 40961, "iat": t - 5, "nbf": t - 5, "exp": t + 3600,
        })
    }

    fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn rsa() -> EncodingKey {
        EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap()
    }

    #[test]
    fn jwks_keys_of_each_algorithm_verify() {
        let v = verifier("sub");
        let mut kids: Vec<_> = v.kids().collect();
        kids.sort_unstable();
        assert_eq!(kids, vec!["idp-ec", "idp-ed", "idp-rsa"]); // oct and enc skipped
        let c = claims();
        for (alg, kid, key) in [
            (Algorithm::RS256, "idp-rsa", rsa()),
            (
                Algorithm::ES256,
                "idp-ec",
                EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
            ),
            (
                Algorithm::EdDSA,
                "idp-ed",
                EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
            ),
        ] {
            let id = v.verify_at(&sign(alg, Some(kid), &key, &c), now()).unwrap();
            assert_eq!(
                id,
                ExternalIdentity {
                    issuer: ISS.into(),
                    subject_claim_value: "pairwise-sub-123".into()
                },
                "{alg:?}"
            );
        }
    }

    #[test]
    fn configured_claim_is_mapped() {
        let token = sign(Algorithm::RS256, Some("idp-rsa"), &rsa(), &claims());
        let value = |claim: &str| verifier(claim).verify_at(&token, now());
        assert_eq!(value("oid").unwrap().subject_claim_value, "0b5c-oid");
        assert_eq!(value("employee_id").unwrap().subject_claim_value, "40961");
        assert_eq!(value("upn"), Err(AuthError::MissingClaim("upn".into())));
        assert_eq!(
            value("iat"),
            Ok(ExternalIdentity {
                issuer: ISS.into(),
                subject_claim_value: (now().timestamp() - 5).to_string()
            })
        );
        let mut c = claims();
        c["oid"] = json!({"nested": true});
        let token = sign(Algorithm::RS256, Some("idp-rsa"), &rsa(), &c);
        assert_eq!(
            verifier("oid").verify_at(&token, now()),
            Err(AuthError::InvalidClaim("oid".into()))
        );
    }

    #[test]
    fn rejects_wrong_issuer_and_audience() {
        let v = verifier("sub");
        let mut c = claims();
        c["iss"] = json!("https://evil.test");
        let token = sign(Algorithm::RS256, Some("idp-rsa"), &rsa(), &c);
        assert_eq!(v.verify_at(&token, now()), Err(AuthError::WrongIssuer));

        let mut c = claims();
        c["aud"] = json!(["some-other-app"]);
        let token = sign(Algorithm::RS256, Some("idp-rsa"), &rsa(), &c);
        assert_eq!(v.verify_at(&token, now()), Err(AuthError::WrongAudience));

        let mut c = claims();
        c.as_object_mut().unwrap().remove("aud");
        let token = sign(Algorithm::RS256, Some("idp-rsa"), &rsa(), &c);
        assert_eq!(
            v.verify_at(&token, now()),
            Err(AuthError::MissingClaim("aud".into()))
        );
    }

    #[test]
    fn rejects_hs256_tokens_whatever_the_secret() {
        let v = verifier("sub");
        let c = claims();
        // MACed with the oct key the JWKS carries (which must have been ignored),
        // and with the RSA public key PEM: the algorithm-confusion attack.
        let oct = EncodingKey::from_secret(b"an-hmac-secret-that-must-never-be-trusted");
        for (kid, key) in [
            ("idp-oct", oct),
            ("idp-rsa", EncodingKey::from_secret(RSA_PUBLIC)),
        ] {
            let token = sign(Algorithm::HS256, Some(kid), &key, &c);
            assert_eq!(
                v.verify_at(&token, now()),
                Err(AuthError::AlgorithmNotAllowed)
            );
        }
    }

    #[test]
    fn rejects_alg_none_missing_and_unknown_kid() {
        let v = verifier("sub");
        let forged = jwt::forge(&json!({"alg": "none", "kid": "idp-rsa"}), &claims(), b"");
        assert_eq!(v.verify_at(&forged, now()), Err(AuthError::UnsignedToken));
        let no_kid = sign(Algorithm::RS256, None, &rsa(), &claims());
        assert_eq!(v.verify_at(&no_kid, now()), Err(AuthError::MissingKeyId));
        let unknown = sign(Algorithm::RS256, Some("idp-rsa-2"), &rsa(), &claims());
        assert_eq!(v.verify_at(&unknown, now()), Err(AuthError::UnknownKeyId));
    }

    #[test]
    fn rejects_allowed_algorithm_under_another_keys_kid() {
        let v = verifier("sub");
        let ed = EncodingKey::from_ed_pem(ED_PRIVATE).unwrap();
        let token = sign(Algorithm::EdDSA, Some("idp-rsa"), &ed, &claims());
        assert_eq!(
            v.verify_at(&token, now()),
            Err(AuthError::AlgorithmMismatch)
        );
    }

    #[test]
    fn rejects_algorithms_not_configured() {
        let mut v = ExternalVerifier::new(ISS, AUD, &[ExternalAlgorithm::RS256], "sub");
        assert_eq!(v.load_jwks(JWKS).unwrap(), 1);
        let ed = EncodingKey::from_ed_pem(ED_PRIVATE).unwrap();
        let token = sign(Algorithm::EdDSA, Some("idp-ed"), &ed, &claims());
        assert_eq!(
            v.verify_at(&token, now()),
            Err(AuthError::AlgorithmNotAllowed)
        );
        assert!(v
            .add_pem("ed", ExternalAlgorithm::EdDSA, ED_PUBLIC)
            .is_err());
    }

    #[test]
    fn rejects_expired_not_yet_valid_and_tampered() {
        let v = verifier("sub").with_leeway(Duration::from_secs(60));
        let token = sign(Algorithm::RS256, Some("idp-rsa"), &rsa(), &claims());
        let later = |s: i64| now() + chrono::Duration::seconds(s);
        assert!(v.verify_at(&token, later(3600 + 59)).is_ok());
        assert_eq!(
            v.verify_at(&token, later(3600 + 60)),
            Err(AuthError::Expired)
        );
        assert_eq!(v.verify_at(&token, later(-66)), Err(AuthError::NotYetValid));

        let (rest, _) = token.rsplit_once('.').unwrap();
        let other = sign(
            Algorithm::RS256,
            Some("idp-rsa"),
            &rsa(),
            &json!({"sub": "x"}),
        );
        let (_, other_sig) = other.rsplit_once('.').unwrap();
        assert_eq!(
            v.verify_at(&format!("{rest}.{other_sig}"), now()),
            Err(AuthError::InvalidSignature)
        );
        assert_eq!(v.verify_at("x.y", now()), Err(AuthError::Malformed));
    }

    #[test]
    fn pem_keys_and_settings() {
        let settings: ExternalIdpSettings = serde_json::from_value(json!({
            "issuer": ISS, "audience": AUD, "algorithms": ["EdDSA"],
            "subject_claim": "oid",
            "pem_keys": [{"kid": "ed-pem", "alg": "EdDSA",
                          "public_key_pem": std::str::from_utf8(ED_PUBLIC).unwrap()}]
        }))
        .unwrap();
        let v = ExternalVerifier::from_settings(&settings).unwrap();
        let ed = EncodingKey::from_ed_pem(ED_PRIVATE).unwrap();
        let token = sign(Algorithm::EdDSA, Some("ed-pem"), &ed, &claims());
        assert_eq!(
            v.verify_at(&token, now()).unwrap().subject_claim_value,
            "0b5c-oid"
        );

        let hs = serde_json::from_value::<ExternalIdpSettings>(json!({
            "issuer": ISS, "audience": AUD, "algorithms": ["HS256"], "subject_claim": "sub"
        }));
        assert!(hs.is_err(), "HS256 must not even be configurable");

        let no_keys: ExternalIdpSettings = serde_json::from_value(json!({
            "issuer": ISS, "audience": AUD, "algorithms": ["RS256"], "subject_claim": "sub",
            "jwks": "{\"keys\": []}"
        }))
        .unwrap();
        assert_eq!(
            ExternalVerifier::from_settings(&no_keys).unwrap_err(),
            KeyError::NoVerificationKey
        );
    }

    #[test]
    fn jwks_refresh_replaces_keys_and_keeps_them_on_error() {
        let mut v = verifier("sub");
        assert!(v.replace_jwks("not json").is_err());
        assert!(v.replace_jwks("{\"keys\": []}").is_err());
        assert_eq!(v.kids().count(), 3);
        let only_rsa = json!({"keys": [serde_json::from_str::<Value>(JWKS).unwrap()["keys"][0]]});
        assert_eq!(v.replace_jwks(&only_rsa.to_string()).unwrap(), 1);
        let ed = EncodingKey::from_ed_pem(ED_PRIVATE).unwrap();
        let token = sign(Algorithm::EdDSA, Some("idp-ed"), &ed, &claims());
        assert_eq!(v.verify_at(&token, now()), Err(AuthError::UnknownKeyId));
    }
}
