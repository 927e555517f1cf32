//! Staff who sign in through the force's identity provider: the token's subject claim is
//! matched to `employees.external_subject`, and that person declares and reads their own
//! answers; a subject that matches no employee is refused clearly.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, raw_count, spawn_app, TestApp};
use crate::on_both_backends;

const ISSUER: &str = "https://idp.north-wales.test";

/// A server that trusts the test identity provider for `org_code`, on `probe`'s database and
/// with its encryption key (the probe sealed the new employee's tally cell).
async fn trusting_server(
    probe: &TestApp,
    org_code: &str,
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let mut config = declare::config::Config::for_tests(probe.db.url.clone(), probe.db.data_dir());
    config.encryption_key = probe.state.config.encryption_key.clone();
    config.external_idp = Some(declare::config::ExternalIdp {
        issuer: ISSUER.into(),
        audience: "declare".into(),
        algorithms: vec!["RS256".into()],
        subject_claim: "oid".into(),
        keys: declare::config::IdpKeySource::File(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/src/auth/testdata/idp_jwks.json"
            )
            .into(),
        ),
        key_refresh: Default::default(),
        organisation: org_code.into(),
    });
    let app = declare::startup::Application::build(config).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    (address, tokio::spawn(app.run_until_stopped()))
}

fn idp_token(subject: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let private = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/auth/testdata/idp_rsa_private.pem"
    ))
    .unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("idp-rsa".into());
    let claims = json!({"iss": ISSUER, "aud": "declare", "sub": "pairwise-x", "oid": subject,
        "exp": now + 300, "nbf": now - 5, "iat": now - 5});
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap()
}

on_both_backends! {
    async fn an_identity_provider_employee_declares_and_reads_their_own_answers(backend) {
        let probe = spawn_app(backend).await;
        let org = probe.create_org("north-wales").await;
        let employee = probe.create_employee(org.id, "NW-00042", Some("staff-00042")).await;
        let (address, server) = trusting_server(&probe, "north-wales").await;
        let client = reqwest::Client::new();
        let call = |method: Method, path: &str, token: &str| {
            client.request(method, format!("{address}{path}")).bearer_auth(token.to_owned())
        };
        let token = idp_token("staff-00042");

        let r = call(Method::GET, "/v1/me/declaration", &token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["etag"], "\"v0\"");
        let r = call(Method::PUT, "/v1/me/consents", &token)
            .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": true}})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = call(Method::PUT, "/v1/me/declaration", &token).header("if-match", "\"v0\"")
            .json(&json!({"answers": {"welsh_language": {"gateway": "yes", "details": {"welsh_skills": {"selected": ["speak", "read"]}}}}}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = call(Method::PATCH, "/v1/me/declaration", &token).header("if-match", "\"v1\"")
            .json(&json!({"answers": {"sex": {"gateway": "prefer_not_to_say"}}})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = call(Method::GET, "/v1/me/declaration", &token).send().await.unwrap();
        assert_eq!(r.headers()["etag"], "\"v2\"");
        let view: Value = r.json().await.unwrap();
        assert_eq!(view["answers"]["welsh_language"]["details"]["welsh_skills"]["selected"], json!(["speak", "read"]));
        assert_eq!(view["answers"]["sex"]["gateway"], "prefer_not_to_say");
        let export: Value = call(Method::GET, "/v1/me/export", &token).send().await.unwrap().json().await.unwrap();
        assert_eq!(export["employee"]["id"], employee.to_string());
        assert_eq!(export["employee"]["employee_number"], "NW-00042");
        assert_eq!(export["history"].as_array().unwrap().len(), 2);

        // The trail names the identity-provider subject as actor and the employee as subject.
        let mut conn = probe.raw_connection();
        let n = raw_count(&mut conn, &format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE actor = 'external:staff-00042' \
             AND subject = 'employee:{employee}' AND action = 'declaration.write'"));
        assert_eq!(n, 2);
        let live = crate::tallies::snapshot(&probe, org.id).await;
        assert_eq!(live.iter().map(|(_, c)| c.count("welsh_language", "yes")).sum::<u64>(), 1);
        assert_eq!(live, crate::tallies::recount(&probe, org.id).await);

        // A valid token whose subject is nobody's: a clear 403 on every self-service path.
        let stranger = idp_token("staff-99999");
        let r = call(Method::GET, "/v1/me", &stranger).send().await.unwrap();
        assert_eq!(r.status(), 200, "the token itself is good");
        for (method, path) in [(Method::GET, "/v1/me/declaration"), (Method::PUT, "/v1/me/declaration"),
                               (Method::GET, "/v1/me/consents"), (Method::GET, "/v1/me/export")] {
            let mut request = call(method.clone(), path, &stranger);
            if method == Method::PUT {
                request = request.header("if-match", "\"v0\"").json(&json!({"answers": {}}));
            }
            let problem = assert_problem(request.send().await.unwrap(), 403).await;
            assert!(problem["detail"].as_str().unwrap().contains("external_subject"), "{path}: {problem}");
        }
        // Nor does a subject from the same IdP reach someone else's answers by any id: there is none to send.
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declarations"), 1);
        server.abort();
    }
}
