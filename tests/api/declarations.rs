//! Self-declaration on both backends: consent, If-Match, validation, erasure, encryption at
//! rest, export, audit, roles, concurrency and key rotation.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, raw_count, raw_sealed, spawn_app, TestApp};
use crate::on_both_backends;

/// Option codes and free text the tests answer with: none may appear in a raw table or log.
const VALUES: [&str; 6] = [
    "prefer_not_to_say",
    "female",
    "adhd",
    "Irlen syndrome",
    "christian",
    "dyslexia",
];

struct Caller {
    token: String,
    employee: uuid::Uuid,
    org: uuid::Uuid,
}

async fn setup(app: &TestApp) -> Caller {
    let org = app.create_org("decl-force").await;
    let (login, employee) = app.create_employee_account(org.id, "pc-jones").await;
    Caller {
        token: app.login(&login).await,
        employee,
        org: org.id,
    }
}

async fn consent(app: &TestApp, token: &str, version: i64, grant: bool) -> reqwest::Response {
    app.authed(Method::PUT, "/v1/me/consents", token)
        .json(&json!({"notice_version": version, "purposes": {"equality_monitoring": grant}}))
        .send()
        .await
        .unwrap()
}

async fn write(
    app: &TestApp,
    token: &str,
    method: Method,
    etag: Option<&str>,
    answers: Value,
) -> reqwest::Response {
    let mut request = app
        .authed(method, "/v1/me/declaration", token)
        .json(&json!({ "answers": answers }));
    if let Some(etag) = etag {
        request = request.header("if-match", etag);
    }
    request.send().await.unwrap()
}

async fn get(app: &TestApp, token: &str) -> (String, Value) {
    let r = app
        .authed(Method::GET, "/v1/me/declaration", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    (etag, r.json().await.unwrap())
}

fn full_answers() -> Value {
    json!({
        "sex": {"gateway": "female"},
        "religion_belief": {"gateway": "christian"},
        "disability": {"gateway": "yes", "details": {
            "neurodivergent_conditions": {"selected": ["adhd", "dyslexia", "other"], "other_text": "Irlen syndrome"}
        }}
    })
}

/// Consents and declares the full answer set; returns the new ETag.
async fn declare(app: &TestApp, token: &str) -> String {
    assert_eq!(consent(app, token, 1, true).await.status(), 200);
    let (etag, _) = get(app, token).await;
    let r = write(app, token, Method::PUT, Some(&etag), full_answers()).await;
    assert_eq!(r.status(), 200);
    r.headers()["etag"].to_str().unwrap().to_owned()
}

fn counts(app: &TestApp) -> (i64, i64) {
    let mut conn = app.raw_connection();
    (
        raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declarations"),
        raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declaration_history"),
    )
}

on_both_backends! {
    async fn declare_change_stale_etag_and_history(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;

        let (etag, view) = get(&app, &c.token).await;
        assert_eq!(etag, "\"v0\"");
        assert_eq!(view["version"], 0);
        assert!(view["unanswered"].as_array().unwrap().iter().any(|v| v == "sex"));

        // No consent yet: refused, nothing stored.
        let r = write(&app, &c.token, Method::PUT, Some("\"v0\""), full_answers()).await;
        let problem = assert_problem(r, 403).await;
        assert!(problem["detail"].as_str().unwrap().contains("equality_monitoring"));
        assert_eq!(counts(&app), (0, 0));

        let r = app.authed(Method::GET, "/v1/me/consents", &c.token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let consents: Value = r.json().await.unwrap();
        assert_eq!(consents["notice"]["version"], 1);
        assert!(consents["notice"]["lawful_basis"].as_str().unwrap().contains("Schedule 1, Part 2, paragraph 8"));
        assert!(consents["notice"]["text_en"].as_str().unwrap().contains("voluntary"));
        assert!(consents["notice"]["text_cy"].as_str().unwrap().contains("wirfoddol"));
        assert_eq!(consents["may_declare"], false);
        let r = consent(&app, &c.token, 1, true).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["may_declare"], true);

        // Missing If-Match: 428, nothing stored.
        let r = write(&app, &c.token, Method::PUT, None, full_answers()).await;
        assert_problem(r, 428).await;
        assert_eq!(counts(&app), (0, 0));

        let r = write(&app, &c.token, Method::PUT, Some("\"v0\""), full_answers()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["etag"], "\"v1\"");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["answers"]["sex"]["gateway"], "female");

        // A stale ETag: 412, and the stored answers are untouched.
        let r = write(&app, &c.token, Method::PATCH, Some("\"v0\""), json!({"sex": {"gateway": "male"}})).await;
        assert_problem(r, 412).await;
        let (etag, view) = get(&app, &c.token).await;
        assert_eq!(etag, "\"v1\"");
        assert_eq!(view["answers"]["sex"]["gateway"], "female");

        // PATCH: one answer to prefer not to say, one deleted (blank), the rest unchanged.
        let r = write(&app, &c.token, Method::PATCH, Some("\"v1\""),
            json!({"sex": {"gateway": "prefer_not_to_say"}, "religion_belief": null})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["etag"], "\"v2\"");
        let (_, view) = get(&app, &c.token).await;
        assert_eq!(view["answers"]["sex"]["gateway"], "prefer_not_to_say");
        assert!(view["answers"].get("religion_belief").is_none(), "deleted answer is blank");
        assert!(view["unanswered"].as_array().unwrap().iter().any(|v| v == "religion_belief"));
        assert!(!view["unanswered"].as_array().unwrap().iter().any(|v| v == "sex"),
            "prefer not to say is an answer, not a blank");
        assert_eq!(view["answers"]["disability"]["details"]["neurodivergent_conditions"]["other_text"], "Irlen syndrome");

        let r = app.authed(Method::GET, "/v1/me/declaration/history", &c.token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let history: Value = r.json().await.unwrap();
        let history = history.as_array().unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0]["answers"]["sex"]["gateway"], "female");
        assert_eq!(history[1]["answers"]["sex"]["gateway"], "prefer_not_to_say");

        // Confirming unchanged moves the review time, not the version.
        let before = view["last_reviewed_at"].as_str().unwrap().to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let r = app.authed(Method::POST, "/v1/me/declaration/review", &c.token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let reviewed: Value = r.json().await.unwrap();
        assert_eq!(reviewed["version"], 2);
        assert_ne!(reviewed["last_reviewed_at"].as_str().unwrap(), before);
        assert_eq!(c.employee.to_string().len(), 36);
    }

    async fn every_validation_failure_names_its_field_and_stores_nothing(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        assert_eq!(consent(&app, &c.token, 1, true).await.status(), 200);
        let long = "x".repeat(101);
        let cases = [
            (json!({"star_sign": {"gateway": "leo"}}), "answers.star_sign", "unknown_characteristic"),
            (json!({"sex": {"gateway": "sometimes"}}), "answers.sex.gateway", "unknown_option"),
            (json!({"disability": {"gateway": "no", "details": {"health_conditions": {"selected": ["long_term_illness"]}}}}),
                "answers.disability.details.health_conditions", "condition_not_met"),
            (json!({"disability": {"gateway": "yes", "details": {"health_conditions": {"selected":
                ["long_term_illness", "mental_health_condition", "physical_impairment", "sensory_impairment",
                 "learning_disability", "long_term_illness", "mental_health_condition"]}}}}),
                "answers.disability.details.health_conditions.selected", "too_many_selections"),
            (json!({"disability": {"gateway": "yes", "details": {"neurodivergent_conditions": {"selected": ["other"], "other_text": long}}}}),
                "answers.disability.details.neurodivergent_conditions.other_text", "other_text_too_long"),
        ];
        for (answers, field, code) in cases {
            for method in [Method::PUT, Method::PATCH] {
                let r = write(&app, &c.token, method.clone(), Some("\"v0\""), answers.clone()).await;
                let problem = assert_problem(r, 422).await;
                let errors = problem["errors"].as_array().unwrap();
                assert!(errors.iter().any(|e| e["field"] == field && e["code"] == code),
                    "{method} {answers}: expected {field} {code}, got {problem}");
                assert_eq!(counts(&app), (0, 0), "nothing stored after {code}");
            }
        }
        // Several problems at once are all reported.
        let r = write(&app, &c.token, Method::PUT, Some("\"v0\""),
            json!({"star_sign": {"gateway": "leo"}, "sex": {"gateway": "sometimes"}})).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
        let (etag, _) = get(&app, &c.token).await;
        assert_eq!(etag, "\"v0\"");
    }

    async fn a_new_notice_version_needs_a_fresh_grant(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        let etag = declare(&app, &c.token).await;
        let hr = app.create_account(Some(c.org), "hr-notices", &["hr_admin"]).await;
        let hr = app.login(&hr).await;
        let r = app.authed(Method::POST, "/v1/privacy-notices", &hr)
            .json(&json!({"text_en": "Version two", "text_cy": "Fersiwn dau", "lawful_basis": "Employment condition, DPA 2018 Sch.1 Pt 1 para 1"}))
            .send().await.unwrap();
        assert_eq!(r.status(), 201);
        let notice: Value = r.json().await.unwrap();
        assert_eq!(notice["version"], 2);

        let r = write(&app, &c.token, Method::PATCH, Some(&etag), json!({"sex": {"gateway": "male"}})).await;
        let problem = assert_problem(r, 409).await;
        assert!(problem["detail"].as_str().unwrap().contains("version 2"));
        let (_, view) = get(&app, &c.token).await;
        assert_eq!(view["answers"]["sex"]["gateway"], "female", "nothing stored");

        // Agreeing to the old version is refused; the current one is accepted.
        assert_problem(consent(&app, &c.token, 1, true).await, 409).await;
        assert_eq!(consent(&app, &c.token, 2, true).await.status(), 200);
        let r = write(&app, &c.token, Method::PATCH, Some(&etag), json!({"sex": {"gateway": "male"}})).await;
        assert_eq!(r.status(), 200);
    }

    async fn withdrawal_and_delete_erase_for_real(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        let etag = declare(&app, &c.token).await;
        let r = write(&app, &c.token, Method::PATCH, Some(&etag), json!({"sex": {"gateway": "male"}})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(counts(&app), (1, 2));

        let r = consent(&app, &c.token, 1, false).await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["may_declare"], false);
        assert!(body["consents"][0]["withdrawn_at"].is_string());
        assert_eq!(counts(&app), (0, 0), "withdrawal deletes the answers and every history row");
        let (etag, view) = get(&app, &c.token).await;
        assert_eq!(etag, "\"v0\"");
        assert_eq!(view["answers"], json!({}));
        // After withdrawal nothing can be stored until consent is granted again.
        let r = write(&app, &c.token, Method::PUT, Some("\"v0\""), full_answers()).await;
        assert_problem(r, 403).await;

        // DELETE erases too, but keeps the consent.
        let etag = declare(&app, &c.token).await;
        assert_eq!(etag, "\"v1\"");
        assert_eq!(counts(&app), (1, 1));
        let r = app.authed(Method::DELETE, "/v1/me/declaration", &c.token).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(counts(&app), (0, 0));
        let r = app.authed(Method::GET, "/v1/me/consents", &c.token).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["may_declare"], true);

        let mut conn = app.raw_connection();
        let erase_events = raw_count(&mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'declaration.erase'");
        assert_eq!(erase_events, 2);
    }

    async fn every_declaration_and_history_row_is_stored_at_one_length(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        assert_eq!(consent(&app, &c.token, 1, true).await.status(), 200);
        let national = declare::domain::catalogue::national().unwrap();
        let smallest = serde_json::to_value(declare::domain::catalogue::smallest_answers(&national)).unwrap();
        let largest = serde_json::to_value(declare::domain::catalogue::largest_answers(&national)).unwrap();
        let mut conn = app.raw_connection();
        let stored = |conn: &mut declare::store::Conn| raw_sealed(conn, "SELECT sealed FROM declarations")[0].len();
        app.declare_answers(&c.token, smallest.clone()).await;
        let short = stored(&mut conn);
        app.declare_answers(&c.token, largest).await;
        assert_eq!(stored(&mut conn), short, "the longest valid declaration is stored at the shortest's length");
        // Two answers that differ only by an option code's length: the attack issue 13 describes.
        app.declare_answers(&c.token, json!({"sex": {"gateway": "male"}})).await;
        app.declare_answers(&c.token, json!({"sex": {"gateway": "female"}})).await;
        app.declare_answers(&c.token, smallest).await;
        let history: Vec<usize> = raw_sealed(&mut conn, "SELECT sealed FROM declaration_history")
            .iter().map(Vec::len).collect();
        assert_eq!(history.len(), 5);
        assert!(history.iter().all(|&n| n == short), "history lengths differ: {history:?}");
    }

    async fn the_raw_database_holds_no_answer_in_clear(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        let etag = declare(&app, &c.token).await;
        write(&app, &c.token, Method::PATCH, Some(&etag), json!({"sex": {"gateway": "prefer_not_to_say"}})).await;
        let mut conn = app.raw_connection();
        let mut blobs = raw_sealed(&mut conn, "SELECT sealed FROM declarations");
        blobs.extend(raw_sealed(&mut conn, "SELECT sealed FROM declaration_history"));
        assert_eq!(blobs.len(), 3);
        for blob in &blobs {
            for value in VALUES {
                assert!(!blob.windows(value.len()).any(|w| w == value.as_bytes()),
                    "{value} found in clear in a sealed column");
            }
        }
        // Nor anywhere else a dump would show: every text column of the new tables and the audit trail.
        for table in ["declarations", "declaration_history", "consents", "audit_events"] {
            for value in VALUES {
                let n = match table {
                    "audit_events" => raw_count(&mut conn, &format!(
                        "SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE '%{value}%' OR COALESCE(subject, '') LIKE '%{value}%'")),
                    "consents" => raw_count(&mut conn, &format!(
                        "SELECT COUNT(*) AS n FROM consents WHERE purpose LIKE '%{value}%'")),
                    _ => raw_count(&mut conn, &format!(
                        "SELECT COUNT(*) AS n FROM {table} WHERE key_id LIKE '%{value}%'")),
                };
                assert_eq!(n, 0, "{value} in {table}");
            }
        }
    }

    async fn export_holds_everything_and_the_audit_chain_verifies(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        let etag = declare(&app, &c.token).await;
        write(&app, &c.token, Method::PATCH, Some(&etag), json!({"sex": {"gateway": "prefer_not_to_say"}})).await;
        let r = app.authed(Method::GET, "/v1/me/export", &c.token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let export: Value = r.json().await.unwrap();
        assert_eq!(export["employee"]["id"], c.employee.to_string());
        assert_eq!(export["employee"]["employee_number"], "E-pc-jones");
        assert_eq!(export["privacy_notice"]["version"], 1);
        assert_eq!(export["consents"][0]["purpose"], "equality_monitoring");
        assert_eq!(export["declaration"]["version"], 2);
        assert_eq!(export["declaration"]["answers"]["sex"]["gateway"], "prefer_not_to_say");
        assert_eq!(export["history"].as_array().unwrap().len(), 2);
        let actions: Vec<&str> = export["audit_events"].as_array().unwrap().iter()
            .map(|e| e["action"].as_str().unwrap()).collect();
        for expected in ["consent.grant.equality_monitoring", "declaration.read", "declaration.write", "export.read"] {
            assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
        }
        let subject = format!("employee:{}", c.employee);
        assert!(export["audit_events"].as_array().unwrap().iter().all(|e| e["subject"] == subject.as_str()));

        let report = declare::services::audit::verify(&app.state.db).await.unwrap();
        let report = report.expect("audit chain verifies");
        assert!(report.events >= 6);
        // The audit trail as a whole never holds a value.
        let auditor = app.create_account(Some(c.org), "auditor-1", &["auditor"]).await;
        let auditor = app.login(&auditor).await;
        let r = app.authed(Method::GET, "/v1/audit?limit=1000", &auditor).send().await.unwrap();
        let text = r.text().await.unwrap();
        for value in VALUES {
            assert!(!text.contains(value), "{value} in the audit trail");
        }
    }

    async fn no_other_role_reaches_anyones_answers(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        declare(&app, &c.token).await;
        let mut tokens = Vec::new();
        for role in ["hr_admin", "edi_viewer", "auditor", "admin"] {
            let login = app.create_account(Some(c.org), &format!("other-{role}"), &[role]).await;
            tokens.push((role.to_owned(), app.login(&login).await));
        }
        let client = declare::services::identity::create_client(
            &app.state.db, &app.state.auth, c.org,
            declare::services::identity::NewClient { name: "HR".into(), roles: vec!["hr_sync".into()] },
        ).await.unwrap();
        let r = app.token_response(&[("grant_type", "client_credentials"),
            ("client_id", &client.client_id), ("client_secret", &client.client_secret)]).await;
        let body: Value = r.json().await.unwrap();
        tokens.push(("hr_sync".into(), body["access_token"].as_str().unwrap().to_owned()));
        // An employee-role account with no employee record has no declaration either.
        let unlinked = app.create_account(Some(c.org), "unlinked", &["employee"]).await;
        tokens.push(("unlinked employee".into(), app.login(&unlinked).await));
        for (role, token) in &tokens {
            for (method, path) in [(Method::GET, "/v1/me/declaration"), (Method::GET, "/v1/me/export"),
                                   (Method::GET, "/v1/me/declaration/history"), (Method::GET, "/v1/me/consents")] {
                let r = app.authed(method, path, token).send().await.unwrap();
                let problem = assert_problem(r, 403).await;
                assert!(!problem.to_string().contains("female"), "{role} {path}");
            }
        }
        // HR sees who is due a review, never what anyone answered.
        let hr = &tokens[0].1;
        let r = app.authed(Method::GET, "/v1/reviews", hr).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        assert!(page["items"].as_array().unwrap().is_empty(), "just declared: not due");
        let due = (chrono::Utc::now() + chrono::Duration::days(400)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let r = app.authed(Method::GET, &format!("/v1/reviews?due_before={due}"), hr).send().await.unwrap();
        let text = r.text().await.unwrap();
        let page: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(page["items"][0]["employee_id"], c.employee.to_string());
        assert_eq!(page["items"][0]["status"], "review_due");
        for value in VALUES {
            assert!(!text.contains(value));
        }
        let newcomer = app.create_employee(c.org, "E-new", None).await;
        let r = app.authed(Method::GET, "/v1/reviews", hr).send().await.unwrap();
        let page: Value = r.json().await.unwrap();
        assert_eq!(page["items"][0]["employee_id"], newcomer.to_string());
        assert_eq!(page["items"][0]["status"], "never_declared");
    }

    async fn leavers_cannot_declare_but_keep_their_rights(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        let etag = declare(&app, &c.token).await;
        let mut conn = app.raw_connection();
        declare::with_conn!(&mut conn, |x| diesel::RunQueryDsl::execute(
            diesel::sql_query(format!("UPDATE employees SET leave_date = '2026-01-31' WHERE id = '{}'", c.employee)), x)).unwrap();
        let r = write(&app, &c.token, Method::PATCH, Some(&etag), json!({"sex": {"gateway": "male"}})).await;
        let problem = assert_problem(r, 403).await;
        assert!(problem["detail"].as_str().unwrap().contains("left"));
        assert_eq!(app.authed(Method::GET, "/v1/me/export", &c.token).send().await.unwrap().status(), 200);
        assert_eq!(consent(&app, &c.token, 1, false).await.status(), 200);
        assert_eq!(counts(&app), (0, 0));
    }

    async fn staff_serving_notice_may_still_declare(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        let etag = declare(&app, &c.token).await;
        let leaving = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive();
        let mut conn = app.raw_connection();
        declare::with_conn!(&mut conn, |x| diesel::RunQueryDsl::execute(
            diesel::sql_query(format!("UPDATE employees SET leave_date = '{leaving}' WHERE id = '{}'", c.employee)), x)).unwrap();
        let r = write(&app, &c.token, Method::PATCH, Some(&etag), json!({"sex": {"gateway": "male"}})).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // Still counted where they serve, as the figures count them until the leave date.
        let live = crate::tallies::snapshot(&app, c.org).await;
        assert_eq!(live, crate::tallies::recount(&app, c.org).await);
    }

    async fn concurrent_patches_lose_no_update(backend) {
        let app = Arc::new(spawn_app(backend).await);
        let c = setup(&app).await;
        assert_eq!(consent(&app, &c.token, 1, true).await.status(), 200);
        let second = app.login(&crate::helpers::Login {
            username: "pc-jones".into(), password: "pw-pc-jones-correct-horse".into() }).await;
        let gateways = ["female", "male", "prefer_not_to_say"];
        let mut tasks = Vec::new();
        for (session, token) in [c.token.clone(), second].into_iter().enumerate() {
            for i in 0..20 {
                let (app, token) = (app.clone(), token.clone());
                tasks.push(tokio::spawn(async move {
                    let answer = json!({"sex": {"gateway": gateways[(i + session) % 3]}});
                    for _ in 0..200 {
                        let (etag, _) = get(&app, &token).await;
                        let r = write(&app, &token, Method::PATCH, Some(&etag), answer.clone()).await;
                        match r.status().as_u16() {
                            200 => return 1u32,
                            412 => continue,
                            other => panic!("unexpected {other}: {}", r.text().await.unwrap()),
                        }
                    }
                    panic!("no success after 200 attempts");
                }));
            }
        }
        let mut successes = 0;
        for task in tasks {
            successes += task.await.unwrap();
        }
        assert_eq!(successes, 40);
        let (etag, view) = get(&app, &c.token).await;
        assert_eq!(view["version"], 40);
        assert_eq!(etag, "\"v40\"");
        assert_eq!(counts(&app), (1, 40), "one history row per successful write");
        // Forty racing writes later, the tallies still equal a recount.
        let live = crate::tallies::snapshot(&app, c.org).await;
        assert_eq!(live, crate::tallies::recount(&app, c.org).await);
    }

    async fn rotate_key_reseals_everything(backend) {
        let app = spawn_app(backend).await;
        let c = setup(&app).await;
        let etag = declare(&app, &c.token).await;
        write(&app, &c.token, Method::PATCH, Some(&etag), json!({"sex": {"gateway": "male"}})).await;
        let old = app.state.config.encryption_key.clone();
        let new = declare::config::KeyedSecret { id: "k2".into(), secret: declare::config::random_secret(32) };
        // The key tree stays: it is not a service key.
        let tree = app.state.sealer.leaf_keys().unwrap().clone();
        let rotating = Arc::new(declare::crypto::Sealer::new(&new, std::slice::from_ref(&old)).unwrap().with_leaf_keys(tree.clone()));
        let done = declare::services::rotation::rotate_keys(&app.state.db, rotating, 1, |_| {}).await.unwrap();
        // The answers are under the person's key: only that key is re-sealed.
        assert_eq!((done.declarations, done.history, done.person_keys), (0, 0, 1));
        let mut conn = app.raw_connection();
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM person_keys WHERE key_id = 'k2'"), 1);
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declarations WHERE key_id = 'person'"), 1);
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declaration_history WHERE key_id = 'person'"), 2);
        // Only the new key is needed now.
        let only_new = Arc::new(declare::crypto::Sealer::new(&new, &[]).unwrap().with_leaf_keys(tree.clone()));
        let (answers, history) = declare::services::declarations::stored_answers(&app.state.db, only_new.clone(), c.employee)
            .await.unwrap().unwrap();
        assert_eq!(answers["sex"].gateway, "male");
        assert_eq!(history.len(), 2);
        assert_eq!(history[0]["sex"].gateway, "female");
        // Rerunning finds nothing to do.
        let again = declare::services::rotation::rotate_keys(&app.state.db, only_new, 10, |_| {}).await.unwrap();
        assert_eq!(again, declare::services::rotation::Rotation::default());
        // The old key alone no longer opens them.
        let only_old = Arc::new(declare::crypto::Sealer::new(&old, &[]).unwrap().with_leaf_keys(tree));
        assert!(declare::services::declarations::stored_answers(&app.state.db, only_old, c.employee).await.is_err());
    }
}
