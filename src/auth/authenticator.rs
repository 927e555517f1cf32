//! Everything the service needs to authenticate a caller, built once from [`Config`].

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::idp_keys::{check_fetch_url, IdpKeys, RemoteKeys};
use super::{
    Argon2Hasher, AuthError, ExternalAlgorithm, ExternalIdentity, ExternalVerifier, KeyRing,
    LoginThrottle, Principal, PrincipalKind, Role, ThrottleSettings, TokenService,
};
use crate::config::{Config, IdpKeySource};

/// The throttle's settings from the configuration.
pub fn throttle_settings(config: &Config) -> ThrottleSettings {
    let limits = config.login_throttle;
    ThrottleSettings::from_limits(
        limits.per_account,
        limits.per_address,
        Duration::from_secs(limits.window_seconds),
    )
}

/// Tokens of the force's identity provider, accepted for its members of staff.
pub struct ExternalLogin {
    /// Its keys, refreshed in place when they come from a URL.
    pub keys: Arc<IdpKeys>,
    pub organisation_id: Uuid,
}

pub struct Authenticator {
    pub tokens: TokenService,
    pub external: Option<ExternalLogin>,
    pub hasher: Argon2Hasher,
    pub throttle: LoginThrottle,
    pub token_ttl: Duration,
    /// Bounds concurrent argon2 work. Each hash is ~20 MiB and tens of milliseconds of one
    /// core; unbounded, a burst of logins would take every core and stall all other requests.
    hashing: tokio::sync::Semaphore,
}

impl Authenticator {
    /// Builds the key ring (previous keys verify, the configured key signs), the hasher and
    /// the throttle. `external_org` is the resolved id of `DECLARE_IDP_ORGANISATION`.
    pub fn from_config(config: &Config, external_org: Option<Uuid>) -> anyhow::Result<Self> {
        let mut ring = KeyRing::new();
        for previous in &config.token_previous_keys {
            ring.add_hs256(&previous.id, &previous.bytes())?;
        }
        ring.add_hs256(
            &config.token_signing_key.id,
            &config.token_signing_key.bytes(),
        )?;
        let tokens = TokenService::new(
            config.token_issuer.clone(),
            config.token_audience.clone(),
            ring,
        );

        let external = match (&config.external_idp, external_org) {
            (Some(idp), Some(organisation_id)) => {
                let algorithms = idp
                    .algorithms
                    .iter()
                    .map(|a| {
                        serde_json::from_value::<ExternalAlgorithm>(serde_json::Value::String(
                            a.clone(),
                        ))
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "DECLARE_IDP_ALGORITHMS: `{a}` is not RS256, ES256 or EdDSA"
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let mut verifier = ExternalVerifier::new(
                    idp.issuer.clone(),
                    idp.audience.clone(),
                    &algorithms,
                    idp.subject_claim.clone(),
                );
                let refresh = Duration::from_secs(idp.key_refresh.interval_seconds);
                let cooldown = Duration::from_secs(idp.key_refresh.cooldown_seconds);
                let remote = |source| {
                    IdpKeys::remote(verifier.clone(), source, refresh, cooldown)
                        .map_err(|e| anyhow::anyhow!("identity provider keys: {e}"))
                };
                let keys = match &idp.keys {
                    IdpKeySource::File(path) => {
                        let jwks = std::fs::read_to_string(path).map_err(|e| {
                            anyhow::anyhow!("DECLARE_IDP_JWKS_FILE {}: {e}", path.display())
                        })?;
                        let loaded = verifier.load_jwks(&jwks)?;
                        if loaded == 0 {
                            anyhow::bail!(
                                "DECLARE_IDP_JWKS_FILE holds no usable key for {:?}",
                                idp.algorithms
                            );
                        }
                        IdpKeys::fixed(verifier)
                    }
                    // Checked when the configuration was read; checked again here because a
                    // `Config` can also be built in code.
                    IdpKeySource::JwksUrl(url) => remote(RemoteKeys::Jwks(
                        check_fetch_url(url)
                            .map_err(|e| anyhow::anyhow!("DECLARE_IDP_JWKS_URL: {e}"))?,
                    ))?,
                    IdpKeySource::Discovery(url) => remote(RemoteKeys::Discovery(
                        check_fetch_url(url)
                            .map_err(|e| anyhow::anyhow!("DECLARE_IDP_DISCOVERY_URL: {e}"))?,
                    ))?,
                };
                Some(ExternalLogin {
                    keys: Arc::new(keys),
                    organisation_id,
                })
            }
            (Some(_), None) => {
                anyhow::bail!("DECLARE_IDP_ORGANISATION does not name an existing organisation")
            }
            _ => None,
        };

        let (m, t, p) = config.argon2_cost;
        let throttle = LoginThrottle::new(&throttle_settings(config));
        Ok(Authenticator {
            tokens,
            external,
            hasher: Argon2Hasher::new(m, t, p)?.keep_buffers(hashing_slots()),
            throttle,
            token_ttl: Duration::from_secs(config.token_ttl_seconds),
            hashing: tokio::sync::Semaphore::new(hashing_slots()),
        })
    }

    /// Keeps the throttle's state in `store` instead of this process's memory (several
    /// instances on one PostgreSQL share it: decision 0022).
    pub fn share_throttle(&mut self, config: &Config, store: Box<dyn super::ThrottleStore>) {
        self.throttle = LoginThrottle::with_store(&throttle_settings(config), store);
    }

    /// Runs argon2 work (`job`) on the blocking pool, at most `hashing_slots()` at a time;
    /// callers beyond that wait their turn without holding a thread.
    pub async fn hash_work<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        job: impl FnOnce(&Argon2Hasher) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _slot = self.hashing.acquire().await?;
        let this = self.clone();
        Ok(crate::metrics::block(move || job(&this.hasher)).await?)
    }

    /// Verifies a bearer token (the service's own, or the identity provider's) with the keys
    /// in hand, fetching nothing.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        match self.external_for(token) {
            Some(external) => external.keys.verify(token).map(|id| external.principal(id)),
            None => self.tokens.verify(token),
        }
    }

    /// As [`Self::verify`], but an identity provider token naming a key id not yet known
    /// makes its keys be fetched again (rate limited) before it is refused: the provider
    /// rotated keys.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        match self.external_for(token) {
            Some(external) => external
                .keys
                .verify_refreshing(token)
                .await
                .map(|id| external.principal(id)),
            None => self.tokens.verify(token),
        }
    }

    /// The identity provider, if the token claims to be from it (unverified: only chooses
    /// which keys to verify with).
    fn external_for(&self, token: &str) -> Option<&ExternalLogin> {
        self.external.as_ref().filter(|external| {
            super::peek_issuer(token).as_deref() == Some(external.keys.current().issuer())
        })
    }
}

impl ExternalLogin {
    fn principal(&self, identity: ExternalIdentity) -> Principal {
        Principal {
            subject: identity.subject_claim_value,
            org_id: Some(self.organisation_id),
            roles: vec![Role::Employee],
            employee_id: None,
            kind: PrincipalKind::External,
        }
    }
}

/// Leaves at least one core for everything else.
fn hashing_slots() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}
