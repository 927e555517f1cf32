//! The identity provider's keys fetched from its JWKS URL or discovery document and kept
//! current with no restart (decision 0023), against a stub provider on a local port that
//! serves a discovery document and a JWKS, rotates keys, goes down, and counts requests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use declare::config::{ExternalIdp, IdpKeySource, KeyRefresh};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::stub_http::{self, Response};

const ISSUER: &str = "https://idp.north-wales.test";
const KEY_A: &str = "idp-rsa";
const KEY_B: &str = "idp-rsa-next";

/// What the stub provider serves, and what it was asked.
struct IdpState {
    /// The JWKS it serves now.
    keys: Vec<Value>,
    /// The discovery document's `issuer`.
    issuer: String,
    /// Answers 503 to everything while set.
    down: bool,
    /// How long it takes to answer (a slow provider).
    delay: Duration,
    discovery_requests: usize,
    jwks_requests: usize,
}

#[derive(Clone)]
struct StubIdp {
    base: String,
    state: Arc<Mutex<IdpState>>,
}

impl StubIdp {
    /// Serves `/.well-known/openid-configuration` and `/keys` on a free loopback port, one
    /// connection at a time, each closed after its answer.
    fn start(keys: Vec<Value>) -> Self {
        let (listener, base) = stub_http::listen();
        let state = Arc::new(Mutex::new(IdpState {
            keys,
            issuer: ISSUER.into(),
            down: false,
            delay: Duration::ZERO,
            discovery_requests: 0,
            jwks_requests: 0,
        }));
        let stub = StubIdp { base, state };
        let serving = stub.clone();
        stub_http::serve(listener, move |request| {
            let delay = serving.state.lock().unwrap().delay;
            std::thread::sleep(delay);
            let (status, body) = serving.answer(&request.target);
            Response::json(status, body)
        });
        stub
    }

    fn answer(&self, path: &str) -> (&'static str, String) {
        let mut s = self.state.lock().unwrap();
        match path {
            "/.well-known/openid-configuration" => s.discovery_requests += 1,
            "/keys" => s.jwks_requests += 1,
            _ => return ("404 Not Found", "{}".into()),
        }
        if s.down {
            return ("503 Service Unavailable", "{}".into());
        }
        let body = if path == "/keys" {
            json!({ "keys": s.keys })
        } else {
            json!({
                "issuer": s.issuer,
                "jwks_uri": format!("{}/keys", self.base),
                "authorization_endpoint": format!("{}/authorize", self.base),
                "token_endpoint": format!("{}/token", self.base),
                "end_session_endpoint": format!("{}/logout", self.base),
                "code_challenge_methods_supported": ["S256"],
            })
        };
        ("200 OK", body.to_string())
    }

    fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.base)
    }

    fn jwks_url(&self) -> String {
        format!("{}/keys", self.base)
    }

    fn serve_keys(&self, keys: Vec<Value>) {
        self.state.lock().unwrap().keys = keys;
    }

    fn jwks_requests(&self) -> usize {
        self.state.lock().unwrap().jwks_requests
    }
}

/// The public JWK of key A (the provider's current key) or B (its next one).
fn jwk(kid: &str) -> Value {
    let file = if kid == KEY_A {
        include_str!("../../src/auth/testdata/idp_jwks.json")
    } else {
        include_str!("../../src/auth/testdata/idp_jwks_next.json")
    };
    let doc: Value = serde_json::from_str(file).unwrap();
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap()
        .clone()
}

/// A provider token for `subject`, signed with the private half of `key` (A or B) and
/// naming `kid` in its header (normally the same; a forger names any).
fn token(key: &str, kid: &str) -> String {
    let private: &[u8] = if key == KEY_A {
        include_bytes!("../../src/auth/testdata/idp_rsa_private.pem")
    } else {
        include_bytes!("../../src/auth/testdata/idp_rsa_next_private.pem")
    };
    let now = chrono::Utc::now().timestamp();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let claims = json!({"iss": ISSUER, "aud": "declare", "sub": "staff-00042",
        "exp": now + 300, "nbf": now - 5, "iat": now - 5});
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(private).unwrap(),
    )
    .unwrap()
}

/// A running Declare that trusts the stub provider, with its keys from `keys` and refreshed
/// as `refresh` says. `probe` owns the database and must outlive the returned app.
async fn trusting(probe: &TestApp, keys: IdpKeySource, refresh: KeyRefresh) -> TestApp {
    probe
        .restart_with(|config| {
            config.external_idp = Some(ExternalIdp {
                issuer: ISSUER.into(),
                audience: "declare".into(),
                algorithms: vec!["RS256".into()],
                subject_claim: "sub".into(),
                keys,
                key_refresh: refresh,
                organisation: "north-wales".into(),
            });
        })
        .await
}

async fn probe() -> TestApp {
    let probe = spawn_app(Backend::Sqlite).await;
    probe.create_org("north-wales").await;
    probe
}

/// The status of `GET /v1/me` with `token` (200: the token was accepted).
async fn me(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(app.url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Waits (at most 10 s) until `done` holds.
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut done: impl FnMut() -> F,
) {
    for _ in 0..100 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_provider_rotates_to_is_accepted_with_no_restart() {
    let idp = StubIdp::start(vec![jwk(KEY_A)]);
    let probe = probe().await;
    let refresh = KeyRefresh {
        interval_seconds: 3600, // only an unknown kid brings the new key here
        cooldown_seconds: 1,
    };
    let app = trusting(
        &probe,
        IdpKeySource::Discovery(idp.discovery_url()),
        refresh,
    )
    .await;
    assert_eq!(me(&app, &token(KEY_A, KEY_A)).await, 200);

    // The discovery document is kept for the sign-in pages that will use its endpoints.
    let external = app.state.auth.external.as_ref().unwrap();
    let discovery = external.keys.discovery().unwrap();
    assert_eq!(discovery.issuer, ISSUER);
    assert_eq!(
        discovery.authorization_endpoint,
        format!("{}/authorize", idp.base)
    );
    assert_eq!(
        discovery.token_endpoint,
        Some(format!("{}/token", idp.base))
    );
    assert_eq!(
        discovery.end_session_endpoint,
        Some(format!("{}/logout", idp.base))
    );

    // The provider publishes B beside A and starts signing with B.
    idp.serve_keys(vec![jwk(KEY_A), jwk(KEY_B)]);
    let before = idp.jwks_requests();
    tokio::time::sleep(Duration::from_millis(1100)).await; // past the start-up fetch's cool-down
                                                           // Staff signing in at once with B's tokens all get in, on one fetch between them: those
                                                           // who arrive while it is in flight wait for it rather than being refused or fetching.
    idp.state.lock().unwrap().delay = Duration::from_millis(400);
    let b_tokens: Vec<String> = (0..8).map(|_| token(KEY_B, KEY_B)).collect();
    let statuses = futures_util::future::join_all(b_tokens.iter().map(|t| me(&app, t))).await;
    assert_eq!(statuses, [200; 8], "B accepted, same process");
    assert_eq!(idp.jwks_requests(), before + 1, "one fetch brought B");
    assert_eq!(
        me(&app, &token(KEY_A, KEY_A)).await,
        200,
        "A still listed, still good"
    );
    assert_eq!(me(&app, &token(KEY_B, KEY_B)).await, 200);
    assert_eq!(idp.jwks_requests(), before + 1, "known keys fetch nothing");
    // B's key id with A's signature is no key at all.
    assert_eq!(me(&app, &token(KEY_A, KEY_B)).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_key_ids_fetch_at_most_once_per_cooldown() {
    let idp = StubIdp::start(vec![jwk(KEY_A)]);
    let probe = probe().await;
    let refresh = KeyRefresh {
        interval_seconds: 3600,
        cooldown_seconds: 4, // long enough that a slow machine sends the whole flood within it
    };
    let app = trusting(&probe, IdpKeySource::JwksUrl(idp.jwks_url()), refresh).await;
    assert_eq!(me(&app, &token(KEY_A, KEY_A)).await, 200);
    let start_up = idp.jwks_requests();
    assert_eq!(start_up, 1, "the start-up fetch");
    tokio::time::sleep(Duration::from_millis(4100)).await;

    // A flood of tokens, each naming a key id of its own, all at once: one fetch between
    // them (the first caller's; the others wait for it, then find their kid still unknown).
    let forged: Vec<String> = (0..40)
        .map(|_| token(KEY_A, &uuid::Uuid::new_v4().to_string()))
        .collect();
    let statuses = futures_util::future::join_all(forged.iter().map(|t| me(&app, t))).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(idp.jwks_requests(), start_up + 1);
    // And more of them within the cool-down fetch nothing at all.
    for t in forged.iter().take(10) {
        assert_eq!(me(&app, t).await, 401);
    }
    assert_eq!(idp.jwks_requests(), start_up + 1);
    // After it, the next unknown kid may fetch again (once).
    tokio::time::sleep(Duration::from_millis(4100)).await;
    for t in forged.iter().take(5) {
        assert_eq!(me(&app, t).await, 401);
    }
    assert_eq!(idp.jwks_requests(), start_up + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_keys_are_refused_after_a_refresh_and_an_outage_keeps_the_last_good_keys() {
    let idp = StubIdp::start(vec![jwk(KEY_A)]);
    let probe = probe().await;
    let refresh = KeyRefresh {
        interval_seconds: 1,
        cooldown_seconds: 3600, // nothing but the schedule fetches here
    };
    let app = trusting(&probe, IdpKeySource::JwksUrl(idp.jwks_url()), refresh).await;
    let a = token(KEY_A, KEY_A);
    let b = token(KEY_B, KEY_B);
    assert_eq!(me(&app, &a).await, 200);

    // The provider rotates: B only. The next scheduled refresh takes B and drops A.
    idp.serve_keys(vec![jwk(KEY_B)]);
    eventually("A's tokens are refused", || async {
        me(&app, &a).await == 401
    })
    .await;
    assert_eq!(me(&app, &b).await, 200);

    // The provider goes down: refreshes fail, B keeps working.
    idp.state.lock().unwrap().down = true;
    let at_outage = idp.jwks_requests();
    eventually("two refreshes failed", || async {
        idp.jwks_requests() >= at_outage + 2
    })
    .await;
    assert_eq!(me(&app, &b).await, 200, "the last good keys stay in use");
    assert_eq!(me(&app, &a).await, 401);
    let counts = app
        .state
        .auth
        .external
        .as_ref()
        .unwrap()
        .keys
        .fetch_counts()
        .await;
    assert!(counts.failures >= 2, "{counts:?}");

    // A key set with no usable key (an empty set, as a broken provider might serve) is
    // refused too; it does not wipe the keys.
    {
        let mut s = idp.state.lock().unwrap();
        s.down = false;
        s.keys = Vec::new();
    }
    let at_empty = idp.jwks_requests();
    eventually("two refreshes of an empty set", || async {
        idp.jwks_requests() >= at_empty + 2
    })
    .await;
    assert_eq!(me(&app, &b).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_document_of_another_issuer_gives_no_keys() {
    let idp = StubIdp::start(vec![jwk(KEY_A)]);
    idp.state.lock().unwrap().issuer = "https://idp.another-force.test".into();
    let probe = probe().await;
    let refresh = KeyRefresh {
        interval_seconds: 3600,
        cooldown_seconds: 1,
    };
    let app = trusting(
        &probe,
        IdpKeySource::Discovery(idp.discovery_url()),
        refresh,
    )
    .await;
    eventually("the start-up fetch", || async {
        idp.state.lock().unwrap().discovery_requests >= 1
    })
    .await;
    assert_eq!(me(&app, &token(KEY_A, KEY_A)).await, 401);
    assert_eq!(idp.jwks_requests(), 0, "its jwks_uri is never followed");
    let external = app.state.auth.external.as_ref().unwrap();
    assert!(external.keys.discovery().is_none());

    // Once the provider serves its own document, the next fetch (an unknown kid, after the
    // cool-down) brings the keys.
    idp.state.lock().unwrap().issuer = ISSUER.into();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(me(&app, &token(KEY_A, KEY_A)).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_down_at_start_is_tried_again_after_the_cooldown() {
    let idp = StubIdp::start(vec![jwk(KEY_A)]);
    idp.state.lock().unwrap().down = true;
    let probe = probe().await;
    let refresh = KeyRefresh {
        interval_seconds: 3600,
        cooldown_seconds: 1,
    };
    // The service starts without the provider's keys; local sign-in is unaffected.
    let app = trusting(&probe, IdpKeySource::JwksUrl(idp.jwks_url()), refresh).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    // No token asks for the keys: the schedule itself tries again after the cool-down, not
    // an hour later.
    eventually("the schedule tried twice", || async {
        idp.jwks_requests() >= 2
    })
    .await;
    idp.state.lock().unwrap().down = false;
    let counts = || async {
        app.state
            .auth
            .external
            .as_ref()
            .unwrap()
            .keys
            .fetch_counts()
            .await
    };
    eventually("a fetch succeeded", || async {
        let c = counts().await;
        c.attempts > c.failures
    })
    .await;
    let before = idp.jwks_requests();
    assert_eq!(me(&app, &token(KEY_A, KEY_A)).await, 200);
    assert_eq!(idp.jwks_requests(), before, "the keys were already there");
}
