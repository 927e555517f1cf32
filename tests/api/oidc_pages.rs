//! Signing in to the pages through the force's identity provider (OIDC authorization code with
//! PKCE, decision 0029), over real HTTP against a small provider of our own on a local port:
//! discovery, JWKS, an `/authorize` that sends the browser straight back with a code, and a
//! `/token` that checks the PKCE verifier against the challenge, takes each code once, and
//! returns an ID token signed with the test key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use declare::config::{ExternalIdp, IdpClient, IdpKeySource};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::browsing::{csrf_of, post as submit, visit, Jar};
use crate::helpers::{spawn_app, TestApp};
use crate::on_both_backends;
use crate::stub_http::{self, Response};

const ISSUER: &str = "https://idp.oidc-pages.test";
const CLIENT_ID: &str = "declare";
const SUBJECT: &str = "staff-00042";
/// The audit trail: chained events, and on PostgreSQL those not yet chained.
const TRAIL: &str = "(SELECT actor, action, subject FROM audit_events \
                     UNION ALL SELECT actor, action, subject FROM audit_pending) AS trail";

/// A code the provider handed out: what `/token` must see with it.
struct Grant {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

#[derive(Default)]
struct ProviderState {
    codes: HashMap<String, Grant>,
    next_code: u64,
    /// Remember a wrong challenge with the next code, as if the code had been taken by
    /// someone without this browser's verifier.
    tamper_challenge: bool,
    token_requests: usize,
    /// Whether discovery names an `end_session_endpoint` (RP-Initiated Logout).
    end_session: bool,
}

#[derive(Clone)]
struct Provider {
    base: String,
    state: Arc<Mutex<ProviderState>>,
}

fn query_of(target: &str) -> HashMap<String, String> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

impl Provider {
    fn start() -> Self {
        let (listener, base) = stub_http::listen();
        let provider = Provider {
            base,
            state: Arc::default(),
        };
        let serving = provider.clone();
        stub_http::serve(listener, move |request| {
            let (status, headers, body) = serving.answer(&request.target, &request.body);
            Response {
                status,
                headers,
                body,
            }
        });
        provider
    }

    fn answer(&self, target: &str, body: &[u8]) -> (&'static str, String, String) {
        let path = target.split('?').next().unwrap_or("");
        let mut s = self.state.lock().unwrap();
        match path {
            "/.well-known/openid-configuration" => {
                let mut doc = json!({
                    "issuer": ISSUER,
                    "jwks_uri": format!("{}/keys", self.base),
                    "authorization_endpoint": format!("{}/authorize", self.base),
                    "token_endpoint": format!("{}/token", self.base),
                    "code_challenge_methods_supported": ["S256"],
                });
                if s.end_session {
                    doc["end_session_endpoint"] = json!(format!("{}/logout", self.base));
                }
                ("200 OK", String::new(), doc.to_string())
            }
            "/keys" => (
                "200 OK",
                String::new(),
                include_str!("../../src/auth/testdata/idp_jwks.json").to_owned(),
            ),
            "/authorize" => {
                let q = query_of(target);
                assert_eq!(q["response_type"], "code");
                assert_eq!(q["client_id"], CLIENT_ID);
                assert_eq!(q["scope"], "openid");
                assert_eq!(q["code_challenge_method"], "S256");
                s.next_code += 1;
                let code = format!("code-{}", s.next_code);
                let challenge = if std::mem::take(&mut s.tamper_challenge) {
                    B64URL.encode(Sha256::digest(b"someone else's verifier"))
                } else {
                    q["code_challenge"].clone()
                };
                s.codes.insert(
                    code.clone(),
                    Grant {
                        challenge,
                        nonce: q["nonce"].clone(),
                        redirect_uri: q["redirect_uri"].clone(),
                    },
                );
                let mut back = reqwest::Url::parse(&q["redirect_uri"]).unwrap();
                back.query_pairs_mut()
                    .append_pair("code", &code)
                    .append_pair("state", &q["state"]);
                ("302 Found", format!("location: {back}\r\n"), String::new())
            }
            "/token" => {
                s.token_requests += 1;
                let form: HashMap<String, String> =
                    form_urlencoded::parse(body).into_owned().collect();
                let refuse = (
                    "400 Bad Request",
                    String::new(),
                    json!({"error": "invalid_grant"}).to_string(),
                );
                if form.get("grant_type").map(String::as_str) != Some("authorization_code")
                    || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
                {
                    return refuse;
                }
                // Each code once: a replayed callback gets nothing.
                let Some(grant) = form.get("code").and_then(|c| s.codes.remove(c)) else {
                    return refuse;
                };
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                if B64URL.encode(Sha256::digest(verifier.as_bytes())) != grant.challenge
                    || form.get("redirect_uri") != Some(&grant.redirect_uri)
                {
                    return refuse;
                }
                (
                    "200 OK",
                    String::new(),
                    json!({"access_token": "opaque", "token_type": "Bearer",
                        "id_token": id_token(&grant.nonce)})
                    .to_string(),
                )
            }
            _ => ("404 Not Found", String::new(), "{}".into()),
        }
    }
}

fn id_token(nonce: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("idp-rsa".into());
    let claims = json!({"iss": ISSUER, "aud": CLIENT_ID, "sub": SUBJECT, "nonce": nonce,
        "exp": now + 300, "iat": now - 5});
    let private = include_bytes!("../../src/auth/testdata/idp_rsa_private.pem");
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(private).unwrap(),
    )
    .unwrap()
}

/// Signs in through the provider; the jar then holds the session.
async fn signed_in_through_provider(app: &TestApp) -> Jar {
    let mut jar = Jar::default();
    let back = to_provider_and_back(app, &mut jar).await;
    let (status, _, _) = visit(app, &mut jar, &back).await;
    assert_eq!(status, 303);
    assert!(jar.0.contains_key("declare_session"));
    jar
}

/// Declare trusting the provider for organisation `north-wales`, with an employee linked to
/// the provider's subject.
async fn declare_trusting(
    provider: &Provider,
    backend: crate::helpers::Backend,
) -> (TestApp, TestApp) {
    let probe = spawn_app(backend).await;
    let org = probe.create_org("north-wales").await;
    probe
        .create_employee(org.id, "NW-00042", Some(SUBJECT))
        .await;
    let discovery = format!("{}/.well-known/openid-configuration", provider.base);
    let app = probe
        .restart_with(|config| {
            config.external_idp = Some(ExternalIdp {
                issuer: ISSUER.into(),
                audience: CLIENT_ID.into(),
                algorithms: vec!["RS256".into()],
                subject_claim: "sub".into(),
                keys: IdpKeySource::Discovery(discovery),
                key_refresh: Default::default(),
                organisation: "north-wales".into(),
            });
            config.idp_client = Some(IdpClient {
                client_id: CLIENT_ID.into(),
                client_secret: None,
                redirect_uri: None,
            });
        })
        .await;
    (probe, app)
}

/// Starts a flow: the redirect to the provider (waiting for the discovery document's first
/// fetch), and the provider's redirect back. The callback URL.
async fn to_provider_and_back(app: &TestApp, jar: &mut Jar) -> String {
    let mut tries = 0;
    let to_provider = loop {
        let (status, headers, _) = visit(app, jar, &app.url("/sign-in/idp")).await;
        if status == 303 {
            break headers[LOCATION].to_str().unwrap().to_owned();
        }
        assert_eq!(
            status, 503,
            "only while the discovery document is not yet fetched"
        );
        tries += 1;
        assert!(tries < 100, "the discovery document was never fetched");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(jar.0.contains_key("declare_oidc"), "the flow cookie is set");
    let (status, headers, _) = visit(app, jar, &to_provider).await;
    assert_eq!(status, 302);
    let back = headers[LOCATION].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&app.url("/sign-in/idp/callback?")),
        "{back}"
    );
    back
}

on_both_backends! {
    async fn staff_sign_in_through_the_identity_provider_and_reach_their_own_record(backend) {
        let provider = Provider::start();
        let (_probe, app) = declare_trusting(&provider, backend).await;
        let mut jar = Jar::default();
        let (status, _, html) = visit(&app, &mut jar, &app.url("/sign-in")).await;
        assert_eq!(status, 200);
        assert!(html.contains("href=\"/sign-in/idp\""), "{html}");

        let back = to_provider_and_back(&app, &mut jar).await;
        let flow_cookie = jar.0["declare_oidc"].clone();
        let (status, headers, _) = visit(&app, &mut jar, &back).await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/");
        assert!(jar.0.contains_key("declare_session"));
        assert!(!jar.0.contains_key("declare_oidc"), "one callback per flow");
        let session = headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with("declare_session=")).unwrap();
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");

        // Signed in as the linked employee: the declaration starts at the privacy notice.
        let (status, headers, _) = visit(&app, &mut jar, &app.url("/declare/answers")).await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/declare/privacy");
        let (status, _, _) = visit(&app, &mut jar, &app.url("/declare/privacy")).await;
        assert_eq!(status, 200);

        // The same callback again, even with the flow cookie copied back: the provider takes
        // each code once, so it is refused with a page, not a session.
        let mut replay = Jar::default();
        replay.0.insert("declare_oidc".into(), flow_cookie);
        let (status, headers, html) = visit(&app, &mut replay, &back).await;
        assert_eq!(status, 502);
        assert!(html.contains("You could not be signed in"), "{html}");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(!replay.0.contains_key("declare_session"));
        // And with no flow cookie at all (another browser): refused before the provider is asked.
        let asked = provider.state.lock().unwrap().token_requests;
        let (status, _, _) = visit(&app, &mut Jar::default(), &back).await;
        assert_eq!(status, 400);
        assert_eq!(provider.state.lock().unwrap().token_requests, asked);

        // Audited like logins: the sign-in as the provider's subject, the refusals by reason
        // (never a code or token).
        let mut conn = app.state.db.get(std::time::Duration::from_secs(5)).unwrap();
        let mut count = |sql: &str| crate::helpers::raw_count(&mut conn, sql);
        assert_eq!(count(&format!("SELECT COUNT(*) AS n FROM {TRAIL} WHERE action = 'auth.login' AND actor LIKE '%{SUBJECT}%'")), 1);
        assert_eq!(count(&format!("SELECT COUNT(*) AS n FROM {TRAIL} WHERE action = 'auth.sso_refused' AND subject = 'token_refused'")), 1);
        assert_eq!(count(&format!("SELECT COUNT(*) AS n FROM {TRAIL} WHERE action = 'auth.sso_refused' AND subject = 'no_flow'")), 1);
        assert_eq!(count(&format!("SELECT COUNT(*) AS n FROM {TRAIL} WHERE subject LIKE '%code-%'")), 0);
    }

    async fn a_wrong_state_or_a_wrong_verifier_gives_an_error_page_and_no_session(backend) {
        let provider = Provider::start();
        let (_probe, app) = declare_trusting(&provider, backend).await;

        let mut jar = Jar::default();
        let back = to_provider_and_back(&app, &mut jar).await;
        let forged = back.replace("state=", "state=x");
        let asked = provider.state.lock().unwrap().token_requests;
        let (status, _, html) = visit(&app, &mut jar, &forged).await;
        assert_eq!(status, 400);
        assert!(html.contains("You could not be signed in"), "{html}");
        assert!(!jar.0.contains_key("declare_session"));
        assert_eq!(provider.state.lock().unwrap().token_requests, asked, "the code is never sent");

        // The provider holds a challenge this browser's verifier does not answer.
        let mut jar = Jar::default();
        provider.state.lock().unwrap().tamper_challenge = true;
        let back = to_provider_and_back(&app, &mut jar).await;
        let (status, _, html) = visit(&app, &mut jar, &back).await;
        assert_eq!(status, 502);
        assert!(html.contains("You could not be signed in"), "{html}");
        assert!(!jar.0.contains_key("declare_session"));

        // The person says no at the provider.
        let mut jar = Jar::default();
        let back = to_provider_and_back(&app, &mut jar).await;
        let state = query_of(&back)["state"].clone();
        let denied = app.url(&format!("/sign-in/idp/callback?error=access_denied&state={state}"));
        let (status, _, html) = visit(&app, &mut jar, &denied).await;
        assert_eq!(status, 403);
        assert!(html.contains("You could not be signed in"), "{html}");
        let mut conn = app.state.db.get(std::time::Duration::from_secs(5)).unwrap();
        for reason in ["bad_state", "token_refused", "denied"] {
            let sql = format!("SELECT COUNT(*) AS n FROM {TRAIL} WHERE action = 'auth.sso_refused' AND subject = '{reason}'");
            assert_eq!(crate::helpers::raw_count(&mut conn, &sql), 1, "{reason}");
        }
    }
}

on_both_backends! {
    async fn signing_out_of_a_provider_session_ends_it_at_the_provider_when_it_offers_to(backend) {
        let provider = Provider::start();
        provider.state.lock().unwrap().end_session = true;
        let (_probe, app) = declare_trusting(&provider, backend).await;
        let mut jar = signed_in_through_provider(&app).await;
        let (_, headers, html) = visit(&app, &mut jar, &app.url("/declare/privacy")).await;
        let csrf = csrf_of(&html);
        let session = jar.0["declare_session"].clone();
        // Browsers hold a form's redirects to `form-action`: the provider is let in, for this
        // session's pages only.
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains(&format!("form-action 'self' {};", provider.base)), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");

        let (status, headers, _) = submit(&app, &mut jar, "/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(status, 303);
        let to = headers[LOCATION].to_str().unwrap().to_owned();
        assert!(to.starts_with(&format!("{}/logout?", provider.base)), "{to}");
        let q = query_of(&to);
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["post_logout_redirect_uri"], app.url("/signed-out"));
        // The ID token is the session and an API bearer token: never in a URL.
        assert!(!q.contains_key("id_token_hint") && !to.contains(&session), "{to}");
        assert!(!jar.0.contains_key("declare_session"), "the local session is gone first");

        // Back from the provider: a page saying so, signed out (and the CSP back to 'self').
        let (status, headers, html) = visit(&app, &mut jar, &app.url("/signed-out")).await;
        assert_eq!(status, 200);
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("form-action 'self';"), "{csp}");
        assert!(html.contains("You have signed out"), "{html}");
        assert_eq!(headers["cache-control"], "no-store");
        let (status, headers, _) = visit(&app, &mut jar, &app.url("/declare/privacy")).await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/sign-in");
    }

    async fn without_an_end_session_endpoint_signing_out_ends_only_the_local_session(backend) {
        let provider = Provider::start();
        let (_probe, app) = declare_trusting(&provider, backend).await;
        let mut jar = signed_in_through_provider(&app).await;
        let (_, headers, html) = visit(&app, &mut jar, &app.url("/declare/privacy")).await;
        let csrf = csrf_of(&html);
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("form-action 'self';"), "{csp}");
        let (status, headers, _) = submit(&app, &mut jar, "/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/sign-in");
        assert!(!jar.0.contains_key("declare_session"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_client_id_there_is_no_button_and_no_flow() {
    let app = spawn_app(crate::helpers::Backend::Sqlite).await;
    let mut jar = Jar::default();
    let (status, _, html) = visit(&app, &mut jar, &app.url("/sign-in")).await;
    assert_eq!(status, 200);
    assert!(!html.contains("/sign-in/idp"), "{html}");
    let (status, headers, html) = visit(&app, &mut jar, &app.url("/sign-in/idp")).await;
    assert_eq!(status, 404);
    assert!(html.contains("You could not be signed in"), "{html}");
    assert!(!headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("unsafe-inline"));
    assert!(!jar.0.contains_key("declare_oidc"));
}
