//! Tokens: both grants, every rejection, throttling, key rotation, the external identity provider.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.authed(Method::GET, "/v1/me", token)
        .send()
        .await
        .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims as the service issues them, for forging variants.
fn claims(app: &TestApp, org: uuid::Uuid) -> serde_json::Value {
    json!({
        "iss": app.state.config.token_issuer, "aud": app.state.config.token_audience,
        "sub": "someone", "exp": now() + 300, "nbf": now() - 10, "iat": now() - 10,
        "jti": uuid::Uuid::new_v4(), "org": org, "roles": ["hr_admin"], "typ": "access", "knd": "user",
    })
}

fn sign(app: &TestApp, kid: &str, claims: &serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.into());
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(&app.state.config.token_signing_key.bytes()),
    )
    .unwrap()
}

async fn assert_rejected(app: &TestApp, token: &str, why: &str) {
    let response = me(app, token).await;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_problem(response, 401).await;
    let challenge = challenge.unwrap_or_else(|| panic!("{why}: no WWW-Authenticate"));
    assert!(challenge.starts_with("Bearer"), "{why}: {challenge}");
    assert!(challenge.contains("invalid_token"), "{why}: {challenge}");
}

on_both_backends! {
    async fn password_grant_issues_a_token_that_says_who_you_are(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("gwent").await;
        let login = app.create_account(Some(org.id), "sam.hr", &["hr_admin"]).await;
        let response = app
            .token_response(&[("grant_type", "password"), ("username", "Sam.HR"), ("password", &login.password)])
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        let who: serde_json::Value = me(&app, body["access_token"].as_str().unwrap()).await.json().await.unwrap();
        assert_eq!(who["roles"], json!(["hr_admin"]));
        assert_eq!(who["organisation_id"], json!(org.id));
        assert_eq!(who["kind"], "user");
        // The token's header names the signing key, so keys can rotate.
        let header = jsonwebtoken::decode_header(body["access_token"].as_str().unwrap()).unwrap();
        assert_eq!(header.kid.as_deref(), Some("t1"));
    }

    async fn wrong_password_and_unknown_user_look_the_same(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("dyfed").await;
        app.create_account(Some(org.id), "alex", &["employee"]).await;
        let wrong = app.token_response(&[("grant_type", "password"), ("username", "alex"), ("password", "not-the-password")]).await;
        let unknown = app.token_response(&[("grant_type", "password"), ("username", "nobody"), ("password", "not-the-password")]).await;
        let wrong = assert_problem(wrong, 400).await;
        let unknown = assert_problem(unknown, 400).await;
        assert_eq!(wrong["error"], "invalid_grant");
        assert_eq!(wrong, unknown);
    }

    async fn client_credentials_by_form_and_by_basic(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("kent").await;
        let client = declare::services::identity::create_client(
            &app.state.db, &app.state.auth, org.id,
            declare::services::identity::NewClient { name: "HR".into(), roles: vec!["hr_sync".into()] },
        ).await.unwrap();
        let by_form = app.token_response(&[
            ("grant_type", "client_credentials"), ("client_id", &client.client_id), ("client_secret", &client.client_secret),
        ]).await;
        assert_eq!(by_form.status(), 200);
        let token = by_form.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        let who: serde_json::Value = me(&app, &token).await.json().await.unwrap();
        assert_eq!(who["kind"], "client");
        assert_eq!(who["roles"], json!(["hr_sync"]));
        let by_basic = app.client.post(app.url("/oauth/token"))
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        assert_eq!(by_basic.status(), 200);
        let bad = app.token_response(&[
            ("grant_type", "client_credentials"), ("client_id", &client.client_id), ("client_secret", "guess"),
        ]).await;
        assert_eq!(assert_problem(bad, 401).await["error"], "invalid_client");
    }

    async fn malformed_token_requests_are_refused_clearly(backend) {
        let app = spawn_app(backend).await;
        let unsupported = app.token_response(&[("grant_type", "implicit")]).await;
        assert_eq!(assert_problem(unsupported, 400).await["error"], "unsupported_grant_type");
        let missing = app.token_response(&[("grant_type", "password"), ("username", "x")]).await;
        assert_eq!(assert_problem(missing, 400).await["error"], "invalid_request");
        let json_body = app.client.post(app.url("/oauth/token")).json(&json!({"grant_type": "password"})).send().await.unwrap();
        assert_eq!(assert_problem(json_body, 400).await["error"], "invalid_request");
    }

    async fn failed_logins_are_throttled_per_account(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("essex").await;
        let login = app.create_account(Some(org.id), "jo.smith", &["employee"]).await;
        for _ in 0..5 {
            let r = app.token_response(&[("grant_type", "password"), ("username", "jo.smith"), ("password", "wrong-wrong-wrong")]).await;
            assert_eq!(r.status(), 400);
        }
        // Even the right password is refused until the window passes.
        let r = app.token_response(&[("grant_type", "password"), ("username", "jo.smith"), ("password", &login.password)]).await;
        let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
        assert_eq!(assert_problem(r, 429).await["error"], "temporarily_unavailable");
        assert!(retry.is_some_and(|s| s > 0 && s <= 900));
        // Another account from the same address is not locked out yet.
        let other = app.create_account(Some(org.id), "kim", &["employee"]).await;
        app.login(&other).await;
    }

    async fn every_bad_token_is_a_401_with_a_challenge(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("surrey").await;
        let good = claims(&app, org.id);
        assert_eq!(me(&app, &sign(&app, "t1", &good)).await.status(), 200, "the forging helper itself is right");

        let missing = app.get("/v1/me").await;
        assert_eq!(missing.headers()["www-authenticate"].to_str().unwrap().split_whitespace().next(), Some("Bearer"));
        assert_problem(missing, 401).await;

        let mut expired = good.clone();
        expired["exp"] = json!(now() - 3600);
        assert_rejected(&app, &sign(&app, "t1", &expired), "expired").await;
        let mut early = good.clone();
        early["nbf"] = json!(now() + 3600);
        assert_rejected(&app, &sign(&app, "t1", &early), "not yet valid").await;
        let mut issuer = good.clone();
        issuer["iss"] = json!("someone-else");
        assert_rejected(&app, &sign(&app, "t1", &issuer), "wrong issuer").await;
        let mut audience = good.clone();
        audience["aud"] = json!("another-api");
        assert_rejected(&app, &sign(&app, "t1", &audience), "wrong audience").await;
        assert_rejected(&app, &sign(&app, "t9", &good), "unknown kid").await;

        let token = sign(&app, "t1", &good);
        let (rest, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        assert_rejected(&app, &format!("{rest}.{flipped}{}", &signature[1..]), "tampered signature").await;
        let mut elevated = good.clone();
        elevated["roles"] = json!(["admin"]);
        let forged_payload = sign(&app, "t1", &elevated).split('.').nth(1).unwrap().to_owned();
        let parts: Vec<&str> = token.split('.').collect();
        assert_rejected(&app, &format!("{}.{}.{}", parts[0], forged_payload, parts[2]), "payload swapped").await;

        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let none_header = b64.encode(r#"{"alg":"none","typ":"JWT","kid":"t1"}"#);
        let payload = b64.encode(good.to_string());
        assert_rejected(&app, &format!("{none_header}.{payload}."), "alg none").await;
        // Algorithm confusion: claim RS256 for a key that is HS256.
        let confused_header = b64.encode(r#"{"alg":"RS256","typ":"JWT","kid":"t1"}"#);
        assert_rejected(&app, &format!("{confused_header}.{payload}.{}", parts[2]), "algorithm confusion").await;
        assert_rejected(&app, "not-a-jwt", "garbage").await;

        let basic = app.client.get(app.url("/v1/me")).header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
        assert_problem(basic, 400).await;
    }

    async fn rotated_keys_keep_old_tokens_until_removed(backend) {
        use declare::config::{Config, KeyedSecret, random_secret};
        let first = spawn_app(backend).await;
        let org = first.create_org("thames").await;
        let login = first.create_account(Some(org.id), "riley", &["edi_viewer"]).await;
        let old_token = first.login(&login).await;
        let old_key = first.state.config.token_signing_key.clone();
        let url = first.db.url.clone();
        let dir = first.db.data_dir();

        let start = |keys: Vec<KeyedSecret>| {
            let mut config = Config::for_tests(url.clone(), dir.clone());
            config.token_signing_key = KeyedSecret { id: "t2".into(), secret: random_secret(32) };
            config.token_previous_keys = keys;
            let app = declare::startup::Application::build(config).unwrap();
            let port = app.port();
            (tokio::spawn(app.run_until_stopped()), format!("http://127.0.0.1:{port}"))
        };
        let (server, address) = start(vec![old_key]);
        let client = reqwest::Client::new();
        let r = client.get(format!("{address}/v1/me")).bearer_auth(&old_token).send().await.unwrap();
        assert_eq!(r.status(), 200, "a token signed before rotation is still good");
        let body: serde_json::Value = client.post(format!("{address}/oauth/token"))
            .form(&[("grant_type", "password"), ("username", &login.username), ("password", &login.password)])
            .send().await.unwrap().json().await.unwrap();
        let new_token = body["access_token"].as_str().unwrap();
        assert_eq!(jsonwebtoken::decode_header(new_token).unwrap().kid.as_deref(), Some("t2"));
        server.abort();

        let (server, address) = start(Vec::new());
        let r = client.get(format!("{address}/v1/me")).bearer_auth(&old_token).send().await.unwrap();
        assert_eq!(r.status(), 401, "once the old key is retired its tokens stop working");
        server.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_identity_provider_tokens_are_accepted_for_staff() {
    let jwks = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/auth/testdata/idp_jwks.json"
    );
    // The organisation must exist before a server that trusts the IdP for it starts.
    let probe = spawn_app(Backend::Sqlite).await;
    probe.create_org("north-wales").await;
    let url = probe.db.url.clone();
    let dir = probe.db.data_dir();
    let mut config = declare::config::Config::for_tests(url, dir);
    config.external_idp = Some(declare::config::ExternalIdp {
        issuer: "https://idp.north-wales.test".into(),
        audience: "declare".into(),
        algorithms: vec!["RS256".into()],
        subject_claim: "oid".into(),
        keys: declare::config::IdpKeySource::File(jwks.into()),
        key_refresh: Default::default(),
        organisation: "north-wales".into(),
    });
    let app = declare::startup::Application::build(config).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());

    let private = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/auth/testdata/idp_rsa_private.pem"
    ))
    .unwrap();
    let claims = json!({
        "iss": "https://idp.north-wales.test", "aud": "declare", "sub": "x", "oid": "staff-00042",
        "exp": now() + 300, "nbf": now() - 5, "iat": now() - 5,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("idp-rsa".into());
    let token = encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let who: serde_json::Value = client
        .get(format!("{address}/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["subject"], "staff-00042");
    assert_eq!(who["kind"], "external");
    assert_eq!(who["roles"], json!(["employee"]));

    // An HS256 token claiming the IdP's issuer (signed with a guessable secret) is refused.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("idp-rsa".into());
    let forged = encode(
        &hs,
        &claims,
        &EncodingKey::from_secret(b"public-key-bytes-are-no-secret-at-all"),
    )
    .unwrap();
    let r = client
        .get(format!("{address}/v1/me"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let mut wrong_audience = claims.clone();
    wrong_audience["aud"] = json!("another-service");
    let token = encode(
        &header,
        &wrong_audience,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap();
    let r = client
        .get(format!("{address}/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_install_gets_its_first_admin_from_the_cli() {
    let db = crate::helpers::TestDatabase::new(Backend::Sqlite);
    let binary = env!("CARGO_BIN_EXE_declare");
    let run = |args: &[&str]| {
        std::process::Command::new(binary)
            .args(args)
            .env("DECLARE_DATABASE_URL", &db.url)
            .env("DECLARE_DATA_DIR", db.data_dir())
            .output()
            .unwrap()
    };
    let out = run(&[
        "admin",
        "create-account",
        "--username",
        "root",
        "--role",
        "admin",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap()
        .to_owned();
    let out = run(&[
        "admin",
        "create-org",
        "--code",
        "cleveland",
        "--name",
        "Cleveland Police",
    ]);
    assert!(out.status.success());
    let out = run(&[
        "admin",
        "create-client",
        "--org",
        "cleveland",
        "--name",
        "HR",
        "--role",
        "hr_sync",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("client_secret (shown once): "));
    let refused = run(&[
        "admin",
        "create-account",
        "--username",
        "x",
        "--role",
        "employee",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("roles"));

    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.database_url = db.url.clone();
        c.token_signing_key = declare::config::KeyedSecret {
            id: "t1".into(),
            secret: declare::config::random_secret(32),
        };
    })
    .await;
    let token = app
        .login(&crate::helpers::Login {
            username: "root".into(),
            password,
        })
        .await;
    let orgs: serde_json::Value = app
        .authed(Method::GET, "/v1/organisations", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orgs[0]["code"], "cleveland");
}

on_both_backends! {
    async fn oauth_and_bearer_errors_follow_rfc_6749_and_6750(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("rfc").await;
        let login = app.create_account(Some(org.id), "rfc.hr", &["hr_admin"]).await;
        // RFC 6749 5.2: a client that fails to authenticate gets 401 invalid_client with a
        // challenge for the scheme it used, and errors come as application/json.
        let r = app
            .client
            .post(app.url("/oauth/token"))
            .basic_auth("no-such-client", Some("wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"declare\"");
        let body = assert_problem(r, 401).await;
        assert_eq!(body["error"], "invalid_client");
        let r = app.token_response(&[("grant_type", "implicit")]).await;
        assert_eq!(assert_problem(r, 400).await["error"], "unsupported_grant_type");

        // RFC 6750 3.1: a malformed Authorization header is 400 invalid_request with a
        // challenge; a token without the role is 403 insufficient_scope with a challenge.
        let r = app.client.get(app.url("/v1/me")).header("authorization", "Bearer").send().await.unwrap();
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer realm=\"declare\", error=\"invalid_request\""), "{challenge}");
        assert_eq!(assert_problem(r, 400).await["error"], "invalid_request");
        let token = app.login(&login).await;
        let r = app.authed(Method::GET, "/v1/stats/completion?characteristic=disability", &token).send().await.unwrap();
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
        assert_eq!(assert_problem(r, 403).await["error"], "insufficient_scope");
    }
}
