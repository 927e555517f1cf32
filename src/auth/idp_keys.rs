//! The identity provider's public keys, kept current without a restart (decision 0023).
//!
//! Keys come from a JWKS file (read once), a JWKS URL, or an OpenID Connect discovery
//! document whose `jwks_uri` names the JWKS. Keys from a URL are fetched at start and then on
//! a schedule (so a key the provider dropped stops being trusted), and again when a token
//! names a `kid` not in the set (so a key the provider just added works at once), but at most
//! once per cool-down: a flood of tokens with forged `kid`s makes one fetch, not one each.
//! Concurrent callers wait for the one fetch in flight rather than start their own. A fetch
//! that fails (provider down, bad document, no usable key) leaves the last good keys in use.
//!
//! Rules a reader must keep: keys are only ever fetched from the configured URL (or the
//! `jwks_uri` of the configured discovery document), never from anything a token names; every
//! URL fetched is https, or http to a loopback address; nothing about a token is logged.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;

pub use crate::fetch_url::check_fetch_url;

use super::error::AuthError;
use super::external::{ExternalIdentity, ExternalVerifier};

/// Largest discovery document or JWKS read (real ones are a few KiB).
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Whole-request limit of one fetch, so a stalled provider cannot hold callers for long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REDIRECTS: usize = 3;

/// What an OpenID Connect discovery document says (OpenID Connect Discovery 1.0, section 3),
/// the parts Declare uses: the keys now, and the endpoints for server-rendered sign-in later.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OidcDiscovery {
    pub issuer: String,
    pub jwks_uri: String,
    pub authorization_endpoint: String,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

/// Where a remote key set is fetched from.
#[derive(Debug, Clone)]
pub enum RemoteKeys {
    Jwks(Url),
    /// The discovery document's URL; its `issuer` must be the configured issuer.
    Discovery(Url),
}

/// Why a fetch failed: what the operator's log says, never anything about a token.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP client: {0}")]
    Client(String),
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { url: String },
    #[error("{url}: {reason}")]
    Document { url: String, reason: String },
}

/// Counters for operators and tests: fetches tried, and of those, failed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FetchCounts {
    pub attempts: u64,
    pub failures: u64,
}

#[derive(Debug, Default)]
struct FetchState {
    /// When the last fetch started; the cool-down counts from here.
    last_attempt: Option<Instant>,
    /// Whether it failed, so the schedule tries again soon rather than in an interval.
    last_failed: bool,
    counts: FetchCounts,
}

#[derive(Debug)]
struct Remote {
    source: RemoteKeys,
    client: reqwest::Client,
    refresh: Duration,
    cooldown: Duration,
    /// Held for the whole of a fetch: the single-flight lock.
    state: tokio::sync::Mutex<FetchState>,
}

/// The provider's current keys (swapped whole on each good fetch) and where they come from.
#[derive(Debug)]
pub struct IdpKeys {
    /// Readers clone the `Arc` and verify without holding the lock.
    verifier: RwLock<Arc<ExternalVerifier>>,
    discovery: RwLock<Option<Arc<OidcDiscovery>>>,
    remote: Option<Remote>,
}

impl IdpKeys {
    /// Keys that never change (a JWKS file or PEM keys already loaded into `verifier`).
    pub fn fixed(verifier: ExternalVerifier) -> Self {
        IdpKeys {
            verifier: RwLock::new(Arc::new(verifier)),
            discovery: RwLock::new(None),
            remote: None,
        }
    }

    /// Keys fetched from `source`; `verifier` holds the issuer, audience and algorithms, and
    /// no keys until the first fetch ([`Self::run_schedule`] makes it at start).
    pub fn remote(
        verifier: ExternalVerifier,
        source: RemoteKeys,
        refresh: Duration,
        cooldown: Duration,
    ) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if check_fetch_url(attempt.url().as_str()).is_err() {
                    attempt.error("redirected to a URL that is not https")
                } else {
                    attempt.follow()
                }
            }))
            // Fetches are rare and may come from any actix worker's runtime; a pooled
            // connection belongs to the runtime that opened it, so none is kept.
            .pool_max_idle_per_host(0)
            .user_agent(concat!("declare/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(IdpKeys {
            verifier: RwLock::new(Arc::new(verifier)),
            discovery: RwLock::new(None),
            remote: Some(Remote {
                source,
                client,
                refresh,
                cooldown,
                state: tokio::sync::Mutex::new(FetchState::default()),
            }),
        })
    }

    /// The keys in use now.
    pub fn current(&self) -> Arc<ExternalVerifier> {
        match self.verifier.read() {
            Ok(v) => v.clone(),
            // A panic while swapping cannot leave a half-written Arc; keep serving it.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The last discovery document fetched, if keys come from one.
    pub fn discovery(&self) -> Option<Arc<OidcDiscovery>> {
        match self.discovery.read() {
            Ok(d) => d.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn issuer(&self) -> String {
        self.current().issuer().to_owned()
    }

    /// Whether keys are fetched (and so refreshed) rather than fixed.
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// Fetches so far (all zero for fixed keys).
    pub async fn fetch_counts(&self) -> FetchCounts {
        match &self.remote {
            Some(remote) => remote.state.lock().await.counts,
            None => FetchCounts::default(),
        }
    }

    /// Verifies with the keys in use now, fetching nothing.
    pub fn verify(&self, token: &str) -> Result<ExternalIdentity, AuthError> {
        self.current().verify(token)
    }

    /// Verifies; if the token names a `kid` not in the set, fetches the keys again (unless
    /// the cool-down forbids it) and tries once more.
    pub async fn verify_refreshing(&self, token: &str) -> Result<ExternalIdentity, AuthError> {
        match self.verify(token) {
            Err(AuthError::UnknownKeyId) if self.remote.is_some() => {
                self.refetch_for_unknown_kid(token).await;
                self.verify(token)
            }
            other => other,
        }
    }

    /// A fetch for a token whose `kid` is not in the set: waits for a fetch already in flight
    /// and uses its result; else fetches, unless the last fetch started within the cool-down.
    async fn refetch_for_unknown_kid(&self, token: &str) {
        let Some(remote) = &self.remote else {
            return;
        };
        let Some(kid) = super::jwt::parse_header(token).ok().and_then(|h| h.kid) else {
            return;
        };
        let mut state = remote.state.lock().await;
        if self.current().kids().any(|k| k == kid) {
            return; // another caller's fetch, which we waited for, brought it
        }
        if state
            .last_attempt
            .is_some_and(|at| at.elapsed() < remote.cooldown)
        {
            return;
        }
        tracing::info!("a token names a key id not in the identity provider's key set: fetching the keys again");
        let _ = self.fetch_locked(remote, &mut state).await;
    }

    /// Fetches the keys now, whatever the cool-down (the schedule, or an operator).
    pub async fn refresh(&self) -> Result<usize, FetchError> {
        let Some(remote) = &self.remote else {
            return Ok(self.current().kids().count());
        };
        let mut state = remote.state.lock().await;
        self.fetch_locked(remote, &mut state).await
    }

    /// Fetches at once, then whenever the keys are one refresh interval old, for as long as
    /// the service runs: a fetch for an unknown `kid` counts, so the two never come in a row.
    /// A failure is logged, the last good keys stay in use, and the next try comes after the
    /// cool-down.
    pub async fn run_schedule(self: Arc<Self>) {
        let Some(remote) = &self.remote else {
            return;
        };
        loop {
            let wait = {
                let mut state = remote.state.lock().await;
                // After a failure (the provider down, perhaps at start with no keys at all),
                // the next try comes after the cool-down, not a whole interval later.
                let period = if state.last_failed {
                    remote.cooldown.min(remote.refresh)
                } else {
                    remote.refresh
                };
                let due_in = state
                    .last_attempt
                    .map_or(Duration::ZERO, |at| period.saturating_sub(at.elapsed()));
                if due_in.is_zero() {
                    // `fetch_locked` has logged the outcome.
                    match self.fetch_locked(remote, &mut state).await {
                        Ok(_) => remote.refresh,
                        Err(_) => remote.cooldown.min(remote.refresh),
                    }
                } else {
                    due_in
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn fetch_locked(
        &self,
        remote: &Remote,
        state: &mut FetchState,
    ) -> Result<usize, FetchError> {
        state.last_attempt = Some(Instant::now());
        state.counts.attempts += 1;
        let outcome = self.fetch_and_swap(remote).await;
        state.last_failed = outcome.is_err();
        match &outcome {
            Ok(n) => {
                let current = self.current();
                let mut kids: Vec<&str> = current.kids().collect();
                kids.sort_unstable();
                tracing::info!(keys = n, ?kids, "identity provider keys fetched");
            }
            Err(e) => {
                state.counts.failures += 1;
                let keys = self.current().kids().count();
                if keys == 0 {
                    tracing::error!(
                        error = %e,
                        "could not fetch the identity provider's keys and none are held: its tokens are refused until a fetch succeeds"
                    );
                } else {
                    tracing::warn!(
                        error = %e,
                        keys_kept = keys,
                        "could not fetch the identity provider's keys; the last good keys stay in use"
                    );
                }
            }
        }
        outcome
    }

    async fn fetch_and_swap(&self, remote: &Remote) -> Result<usize, FetchError> {
        let jwks_url = match &remote.source {
            RemoteKeys::Jwks(url) => url.clone(),
            RemoteKeys::Discovery(url) => {
                let body = get(&remote.client, url).await?;
                let doc = self.parse_discovery(url, &body)?;
                let jwks =
                    check_fetch_url(&doc.jwks_uri).map_err(|reason| FetchError::Document {
                        url: url.to_string(),
                        reason: format!("jwks_uri: {reason}"),
                    })?;
                self.set_discovery(doc);
                jwks
            }
        };
        let body = get(&remote.client, &jwks_url).await?;
        let text = String::from_utf8(body).map_err(|_| FetchError::Document {
            url: jwks_url.to_string(),
            reason: "not UTF-8".into(),
        })?;
        let mut fresh = (*self.current()).clone();
        let n = fresh
            .replace_jwks(&text)
            .map_err(|e| FetchError::Document {
                url: jwks_url.to_string(),
                reason: e.to_string(),
            })?;
        match self.verifier.write() {
            Ok(mut v) => *v = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(n)
    }

    fn parse_discovery(&self, url: &Url, body: &[u8]) -> Result<OidcDiscovery, FetchError> {
        let doc: OidcDiscovery =
            serde_json::from_slice(body).map_err(|e| FetchError::Document {
                url: url.to_string(),
                reason: format!("not an OpenID Connect discovery document: {e}"),
            })?;
        // OpenID Connect Discovery 1.0 section 4.3: the issuer must be exactly the one
        // expected, or another tenant's document (and keys) could be served in its place.
        let expected = self.issuer();
        if doc.issuer != expected {
            return Err(FetchError::Document {
                url: url.to_string(),
                reason: format!(
                    "issuer `{}` is not DECLARE_IDP_ISSUER `{expected}`",
                    doc.issuer
                ),
            });
        }
        Ok(doc)
    }

    fn set_discovery(&self, doc: OidcDiscovery) {
        let doc = Some(Arc::new(doc));
        match self.discovery.write() {
            Ok(mut d) => *d = doc,
            Err(poisoned) => *poisoned.into_inner() = doc,
        }
    }
}

/// GETs `url` and reads at most [`MAX_DOCUMENT_BYTES`] of a 2xx body.
async fn get(client: &reqwest::Client, url: &Url) -> Result<Vec<u8>, FetchError> {
    let failed = |e: reqwest::Error| FetchError::Request {
        url: url.to_string(),
        reason: with_causes(&e.without_url()),
    };
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(failed)?;
    if !response.status().is_success() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    let too_large = || FetchError::TooLarge {
        url: url.to_string(),
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's own message is "error sending request"; the causes say why (refused, timed
/// out, certificate not trusted), which is what the operator needs.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_fetched() {
        for ok in [
            "https://login.idp.test/tenant/v2.0/.well-known/openid-configuration",
            "http://127.0.0.1:8081/jwks",
            "http://127.9.9.9/jwks",
            "http://[::1]:9000/jwks",
            "http://localhost:9000/jwks",
        ] {
            assert!(check_fetch_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://login.idp.test/jwks",
            "http://10.0.0.1/jwks",
            "http://127.0.0.1.evil.test/jwks",
            "file:///etc/declare/jwks.json",
            "ftp://idp.test/jwks",
            "jwks.json",
        ] {
            assert!(check_fetch_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn discovery_document_keeps_the_endpoints() {
        let doc: OidcDiscovery = serde_json::from_str(
            r#"{"issuer": "https://idp.test", "jwks_uri": "https://idp.test/keys",
                "authorization_endpoint": "https://idp.test/authorize",
                "token_endpoint": "https://idp.test/token",
                "code_challenge_methods_supported": ["S256"],
                "response_types_supported": ["code"]}"#,
        )
        .unwrap();
        assert_eq!(
            doc.token_endpoint.as_deref(),
            Some("https://idp.test/token")
        );
        assert_eq!(doc.end_session_endpoint, None);
        assert_eq!(doc.code_challenge_methods_supported, ["S256"]);
    }
}
