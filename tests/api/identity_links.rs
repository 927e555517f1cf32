//! Issue 14 items 1 and 2 (decision 0017): answers follow the sign-in identity that gave them.
//! An administrator who links a new account to a record, or an HR system that moves an SSO
//! subject onto it, gets a login that reaches none of the answers already there; the person
//! is told, and every link change is in the audit trail.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, raw_count, spawn_app, TestApp};
use crate::on_both_backends;

const ISSUER: &str = "https://idp.links.test";
const CSV_HEADER: &str =
    "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n";

/// A server on `probe`'s database that also trusts the test identity provider for `org_code`.
async fn trusting_server(
    probe: &TestApp,
    org_code: &str,
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let mut config = (*probe.state.config).clone();
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
    let claims = json!({"iss": ISSUER, "aud": "declare", "sub": "pairwise", "oid": subject,
        "exp": now + 300, "nbf": now - 5, "iat": now - 5});
    encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap()
}

/// Calls `address` as `token`.
fn call(address: &str, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{address}{path}"))
        .bearer_auth(token)
}

/// Consents, then declares `answers` (as version 1) through `address` as `token`.
async fn consent_and_declare(address: &str, token: &str, answers: Value) {
    let r = call(address, Method::PUT, "/v1/me/consents", token)
        .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = call(address, Method::PUT, "/v1/me/declaration", token)
        .header("if-match", "\"v0\"")
        .json(&json!({ "answers": answers }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = call(address, Method::PATCH, "/v1/me/declaration", token)
        .header("if-match", "\"v1\"")
        .json(&json!({"answers": {"sex": {"gateway": "prefer_not_to_say"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Everything `token` could try on someone else's answers finds nothing and changes nothing.
async fn reaches_nothing(address: &str, token: &str) {
    let me: Value = call(address, Method::GET, "/v1/me", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["held_answers"]["reason"], "sign_in_changed", "{me}");

    let r = call(address, Method::GET, "/v1/me/declaration", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"v0\"");
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["answers"], json!({}), "{view}");
    assert_eq!(view["version"], 0);
    assert_eq!(view["held_answers"]["reason"], "sign_in_changed");

    let history: Value = call(address, Method::GET, "/v1/me/declaration/history", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history, json!([]));

    let export: Value = call(address, Method::GET, "/v1/me/export", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(export["declaration"].is_null(), "{export}");
    assert_eq!(export["history"], json!([]));
    assert_eq!(export["held_answers"]["reason"], "sign_in_changed");
    let text = export.to_string();
    assert!(
        !text.contains("prefer_not_to_say") && !text.contains("welsh_language"),
        "{text}"
    );
    for e in export["audit_events"].as_array().unwrap() {
        let action = e["action"].as_str().unwrap();
        assert!(
            !action.starts_with("declaration.write"),
            "the other sign-in's activity is not this one's: {e}"
        );
    }

    // No write, erasure, review or withdrawal, whatever version it names.
    for tag in ["\"v0\"", "\"v1\"", "\"v2\"", "\"v3\"", "\"v1\", \"v2\""] {
        for method in [Method::PUT, Method::PATCH] {
            let r = call(address, method.clone(), "/v1/me/declaration", token)
                .header("if-match", tag)
                .json(&json!({"answers": {"sex": {"gateway": "yes"}}}))
                .send()
                .await
                .unwrap();
            let problem = assert_problem(r, 409).await;
            assert!(
                problem["detail"].as_str().unwrap().contains("answers_held"),
                "{method} {tag}: {problem}"
            );
            assert!(
                !problem["detail"].as_str().unwrap().contains("version 2"),
                "the held version is not revealed"
            );
        }
        let r = call(address, Method::DELETE, "/v1/me/declaration", token)
            .header("if-match", tag)
            .send()
            .await
            .unwrap();
        assert_problem(r, 409).await;
    }
    let r = call(address, Method::POST, "/v1/me/declaration/review", token)
        .send()
        .await
        .unwrap();
    assert_problem(r, 409).await;
    let r = call(address, Method::PUT, "/v1/me/consents", token)
        .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": false}}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 409).await;
}

/// The answers and history stored for `employee`, opened with the service's key.
async fn stored(app: &TestApp, employee: uuid::Uuid) -> (Value, usize) {
    let (answers, history) = declare::services::declarations::stored_answers(
        &app.state.db,
        app.state.sealer.clone(),
        employee,
    )
    .await
    .unwrap()
    .expect("the answers are still stored");
    (serde_json::to_value(answers).unwrap(), history.len())
}

async fn audit_verifies(app: &TestApp) {
    let verdict = declare::services::audit::verify(&app.state.db)
        .await
        .unwrap();
    assert!(verdict.is_ok(), "the audit chain verifies: {verdict:?}");
}

fn answers() -> Value {
    json!({"welsh_language": {"gateway": "yes", "details": {"welsh_skills": {"selected": ["speak"]}}}})
}

on_both_backends! {
    async fn a_subject_moved_onto_another_record_reaches_none_of_its_answers(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("links").await;
        let victim = app.create_employee(org.id, "V1", Some("sso-victim")).await;
        let _attacker = app.create_employee(org.id, "X1", Some("sso-x")).await;
        let (address, server) = trusting_server(&app, "links").await;
        consent_and_declare(&address, &idp_token("sso-victim"), answers()).await;
        let before = stored(&app, victim).await;

        // HR moves the attacker's subject onto the victim's record in two delta syncs.
        let hr = app.login(&app.create_account(Some(org.id), "links-hr", &["hr_admin"]).await).await;
        for csv in ["V1,,unit-V1,type-V1,,1,2020-01-01,\nX1,,unit-X1,type-X1,,1,2020-01-01,\n",
                    "V1,sso-x,unit-V1,type-V1,,1,2020-01-01,\n"] {
            let r = app.authed(Method::POST, "/v1/sync/employees?mode=delta", &hr)
                .header("content-type", "text/csv")
                .body(format!("{CSV_HEADER}{csv}"))
                .send().await.unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
        reaches_nothing(&address, &idp_token("sso-x")).await;
        assert_eq!(stored(&app, victim).await, before, "nothing changed or erased");

        // Each link change is an event on the record it touched; the chain verifies.
        let mut conn = app.raw_connection();
        assert_eq!(raw_count(&mut conn, &format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'identity.link' \
             AND subject = 'employee:{victim}'")), 2);
        assert_eq!(raw_count(&mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'identity.link'"), 3);
        assert_eq!(raw_count(&mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE detail LIKE '%sso-%'"), 0,
            "subjects are not written into the trail");
        audit_verifies(&app).await;

        // The person proves they are the same by signing in as the identity that answered:
        // once HR puts their subject back, they read their answers again.
        let r = app.authed(Method::POST, "/v1/sync/employees?mode=delta", &hr)
            .header("content-type", "text/csv")
            .body(format!("{CSV_HEADER}V1,sso-victim,unit-V1,type-V1,,1,2020-01-01,\n"))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);
        let view: Value = call(&address, Method::GET, "/v1/me/declaration", &idp_token("sso-victim"))
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(view["version"], 2);
        assert_eq!(view["answers"]["sex"]["gateway"], "prefer_not_to_say");
        assert!(view.get("held_answers").is_none(), "{view}");
        server.abort();
    }

    async fn a_scim_external_id_change_holds_the_answers_too(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("links").await;
        let victim = app.create_employee(org.id, "V2", Some("sso-v2")).await;
        let (address, server) = trusting_server(&app, "links").await;
        consent_and_declare(&address, &idp_token("sso-v2"), answers()).await;
        let before = stored(&app, victim).await;
        let client = declare::services::identity::create_client(
            &app.state.db, &app.state.auth, org.id,
            declare::services::identity::NewClient { name: "IdP".into(), roles: vec!["hr_sync".into()] },
        ).await.unwrap();
        let token: Value = app.token_response(&[("grant_type", "client_credentials"),
            ("client_id", &client.client_id), ("client_secret", &client.client_secret)])
            .await.json().await.unwrap();
        let scim = token["access_token"].as_str().unwrap();
        let r = app.authed(Method::PATCH, &format!("/scim/v2/Users/{victim}"), scim)
            .header("content-type", "application/scim+json")
            .json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "externalId", "value": "sso-new"}]}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        reaches_nothing(&address, &idp_token("sso-new")).await;
        assert_eq!(stored(&app, victim).await, before);
        let mut conn = app.raw_connection();
        assert_eq!(raw_count(&mut conn, &format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'identity.link' \
             AND subject = 'employee:{victim}'")), 1);
        audit_verifies(&app).await;
        server.abort();
    }

    async fn an_account_made_for_a_record_that_declared_reaches_none_of_its_answers(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("links").await;
        let other = app.create_org("elsewhere").await;
        let record = app.create_employee(org.id, "A1", Some("sso-a1")).await;
        let foreign = app.create_employee(other.id, "F1", None).await;
        let (address, server) = trusting_server(&app, "links").await;
        consent_and_declare(&address, &idp_token("sso-a1"), answers()).await;
        let before = stored(&app, record).await;

        let admin = app.login(&app.create_account(Some(org.id), "links-admin", &["admin"]).await).await;
        let root = app.login(&app.create_account(None, "links-root", &["admin"]).await).await;
        let new_account = |username: &str, employee: uuid::Uuid, roles: Value| json!({
            "username": username, "password": "a-long-enough-password", "roles": roles,
            "employee_id": employee});
        let path = format!("/v1/organisations/{}/accounts", org.id);

        // Another organisation's employee: refused, naming the field, by either administrator.
        for token in [&admin, &root] {
            let r = app.authed(Method::POST, &path, token)
                .json(&new_account("thief", foreign, json!(["employee"]))).send().await.unwrap();
            let problem = assert_problem(r, 422).await;
            assert_eq!(problem["errors"][0]["field"], "employee_id", "{problem}");
        }
        // A record that signs in through the identity provider takes no second login.
        let r = app.authed(Method::POST, &path, &admin)
            .json(&new_account("thief", record, json!(["employee"]))).send().await.unwrap();
        assert_problem(r, 409).await;
        // Only employee accounts are linked.
        let r = app.authed(Method::POST, &path, &admin)
            .json(&new_account("thief", record, json!(["hr_admin"]))).send().await.unwrap();
        assert_problem(r, 422).await;

        // HR clears the subject; the administrator's account now links, once, and reaches nothing.
        let hr = app.login(&app.create_account(Some(org.id), "links-hr", &["hr_admin"]).await).await;
        let r = app.authed(Method::POST, "/v1/sync/employees?mode=delta", &hr)
            .header("content-type", "text/csv")
            .body(format!("{CSV_HEADER}A1,,unit-A1,type-A1,,1,2020-01-01,\n"))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = app.authed(Method::POST, &path, &admin)
            .json(&new_account("thief", record, json!(["employee"]))).send().await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = app.authed(Method::POST, &path, &root)
            .json(&new_account("thief2", record, json!(["employee"]))).send().await.unwrap();
        assert_problem(r, 409).await;
        let thief = app.login(&crate::helpers::Login {
            username: "thief".into(), password: "a-long-enough-password".into() }).await;
        reaches_nothing(&app.address, &thief).await;
        assert_eq!(stored(&app, record).await, before);

        // The new login may not declare over them either; the held answers still count.
        let mut conn = app.raw_connection();
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declarations"), 1);
        assert_eq!(raw_count(&mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'account.create'"), 4);
        assert_eq!(raw_count(&mut conn, &format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'identity.link' \
             AND subject = 'employee:{record}'")), 2, "the sync's unlink and the account's link");
        assert_eq!(raw_count(&mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'organisation.create'"), 2);
        audit_verifies(&app).await;
        server.abort();
    }

    async fn a_record_takes_one_account_and_new_answers_belong_to_their_giver(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("links").await;
        let (token, employee) = app.consenting_employee(org.id, "owner").await;
        app.declare_answers(&token, answers()).await;
        // A second account for the same record is refused by the database itself.
        let mut conn = app.raw_connection();
        let second = declare::with_conn!(&mut conn, |c| diesel::sql_query(format!(
            "INSERT INTO accounts (id, organisation_id, username, password_hash, roles, employee_id, \
             disabled, created_at) VALUES ('x', '{}', 'second', 'h', 'employee', '{employee}', false, \
             '2026-01-01 00:00:00')", org.id)).execute(c));
        assert!(second.is_err(), "one login per record is a unique constraint");
        // The giver keeps reading and changing their own answers.
        let view: Value = app.authed(Method::GET, "/v1/me/declaration", &token)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(view["version"], 1);
        assert!(view.get("held_answers").is_none());
        let me: Value = app.authed(Method::GET, "/v1/me", &token).send().await.unwrap().json().await.unwrap();
        assert!(me.get("held_answers").is_none(), "{me}");
        let r = app.authed(Method::DELETE, "/v1/me/declaration", &token).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }
}

// The database statement in the test above needs diesel's `RunQueryDsl` in scope.
#[allow(unused_imports)]
use diesel::RunQueryDsl as _;
