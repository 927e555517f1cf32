//! The question catalogue: the shipped national catalogue, reads in English and Welsh with
//! ETags, drafts edited and published, immutability, retirement, legacy mapping, and bad
//! drafts refused with every problem listed.

use declare::domain::catalogue::{
    self, validate_answers, validate_catalogue, validate_stored_answers, AnswerSet, Catalogue,
    Mapping,
};
use declare::services::catalogue as service;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, Backend, TestApp};
use crate::on_both_backends;

fn national() -> Catalogue {
    catalogue::national().unwrap()
}

/// An organisation with an employee and an hr_admin; returns their tokens.
async fn force(app: &TestApp) -> (uuid::Uuid, String, String) {
    let org = app.create_org("gwent").await;
    let employee = app
        .create_account(Some(org.id), "cat-employee", &["employee"])
        .await;
    let hr = app
        .create_account(Some(org.id), "cat-hr", &["hr_admin"])
        .await;
    (org.id, app.login(&employee).await, app.login(&hr).await)
}

async fn json(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = app.authed(method, path, token);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[test]
fn the_shipped_national_catalogue_loads_and_validates() {
    let cat = national();
    assert_eq!(validate_catalogue(&cat), Ok(()));
    assert!(cat.characteristics.len() >= 13);
    for code in [
        "age",
        "disability",
        "race",
        "sex",
        "sexual_orientation",
        "welsh_language",
    ] {
        assert!(cat.characteristic(code).is_some(), "{code}");
    }
}

/// A draft from the national catalogue with one neurodivergent condition retired.
fn with_retired_condition() -> (Catalogue, String) {
    let mut cat = national();
    cat.version = "gwent-2026.1".into();
    let list = cat
        .characteristics
        .iter_mut()
        .find(|c| c.code == "neurodivergence")
        .unwrap()
        .details
        .iter_mut()
        .find(|d| d.code == "conditions")
        .unwrap();
    list.options[0].retired = true;
    let retired = list.options[0].code.clone();
    (cat, retired)
}

on_both_backends! {
    async fn a_new_organisation_serves_the_national_catalogue_in_english_and_welsh(backend) {
        let app = spawn_app(backend).await;
        let (_, employee, _) = force(&app).await;

        let r = app.authed(Method::GET, "/v1/catalogue", &employee).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "strong ETag: {etag}");
        assert!(r.headers()["cache-control"].to_str().unwrap().contains("no-cache"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["version_number"], 1);
        assert_eq!(body["status"], "published");
        assert_eq!(body["document"]["version"], national().version);
        let sex = &body["document"]["characteristics"].as_array().unwrap().iter()
            .find(|c| c["code"] == "sex").unwrap().clone();
        assert!(sex["label"]["en"].is_string() && sex["label"]["cy"].is_string());

        let r = app.authed(Method::GET, "/v1/catalogue", &employee)
            .header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(r.status(), 304);

        let welsh_label = national().characteristic("sex").unwrap().label.cy.clone();
        for request in [
            app.authed(Method::GET, "/v1/catalogue?lang=cy", &employee),
            app.authed(Method::GET, "/v1/catalogue", &employee).header("accept-language", "cy, en;q=0.5"),
        ] {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-language"], "cy");
            let cy_etag = r.headers()["etag"].to_str().unwrap().to_owned();
            assert_ne!(cy_etag, etag, "each form has its own tag");
            let body: Value = r.json().await.unwrap();
            let sex = body["document"]["characteristics"].as_array().unwrap().iter()
                .find(|c| c["code"] == "sex").unwrap().clone();
            assert_eq!(sex["label"], Value::String(welsh_label.clone()));
            assert!(sex["gateway"]["options"][0]["label"].is_string());
        }
        let r = app.authed(Method::GET, "/v1/catalogue?lang=fr", &employee).send().await.unwrap();
        assert_problem(r, 400).await;

        // The national catalogue is public, for front ends built before any organisation.
        let r = app.get("/v1/catalogue/national?lang=en").await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["version"], national().version);
        assert!(body["characteristics"][0]["label"].is_string());
    }

    async fn a_draft_is_edited_published_and_then_immutable(backend) {
        let app = spawn_app(backend).await;
        let (org, employee, hr) = force(&app).await;

        let (status, draft) = json(&app, Method::POST, "/v1/catalogue/drafts", &hr, None).await;
        assert_eq!(status, 201, "{draft}");
        assert_eq!(draft["status"], "draft");
        assert_eq!(draft["version_number"], 2);
        let (status, _) = json(&app, Method::POST, "/v1/catalogue/drafts", &hr, None).await;
        assert_eq!(status, 409, "one draft at a time");
        // Staff never see drafts.
        let (status, _) = json(&app, Method::GET, "/v1/catalogue/drafts/current", &employee, None).await;
        assert_eq!(status, 403);

        let (edited, retired) = with_retired_condition();
        let doc = serde_json::to_value(&edited).unwrap();
        // A stale If-Match is refused rather than overwriting someone else's edit.
        let r = app.authed(Method::PUT, "/v1/catalogue/drafts/current", &hr)
            .header("if-match", "\"stale\"").json(&doc).send().await.unwrap();
        assert_problem(r, 412).await;
        let r = app.authed(Method::PUT, "/v1/catalogue/drafts/current", &hr)
            .header("if-match", format!("\"{}\"", draft["etag"].as_str().unwrap()))
            .json(&doc).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let (status, report) = json(&app, Method::POST, "/v1/catalogue/drafts/current/validate", &hr, Some(&doc)).await;
        assert_eq!(status, 200);
        assert_eq!(report["valid"], true, "{report}");
        assert!(report["changes"].as_array().unwrap().iter().any(|c| c["kind"] == "retired"), "{report}");

        let (status, published) = json(&app, Method::POST, "/v1/catalogue/drafts/current/publish", &hr, None).await;
        assert_eq!(status, 200, "{published}");
        assert_eq!(published["status"], "published");
        let (_, current) = json(&app, Method::GET, "/v1/catalogue", &employee, None).await;
        assert_eq!(current["version_number"], 2);
        assert_eq!(current["document"]["version"], "gwent-2026.1");
        let (_, versions) = json(&app, Method::GET, "/v1/catalogue/versions", &employee, None).await;
        let numbers: Vec<i64> = versions.as_array().unwrap().iter().map(|v| v["version_number"].as_i64().unwrap()).collect();
        assert_eq!(numbers, vec![2, 1]);
        let first = versions[1]["id"].as_str().unwrap();
        let (status, v1) = json(&app, Method::GET, &format!("/v1/catalogue/versions/{first}"), &employee, None).await;
        assert_eq!(status, 200);
        assert_eq!(v1["document"], serde_json::to_value(national()).unwrap(), "version 1 unchanged");

        // The draft became the published version: nothing is left to edit.
        let r = app.authed(Method::PUT, "/v1/catalogue/drafts/current", &hr).json(&doc).send().await.unwrap();
        assert_problem(r, 404).await;
        let r = app.authed(Method::DELETE, "/v1/catalogue/drafts/current", &hr).send().await.unwrap();
        assert_problem(r, 404).await;

        // And the store itself refuses to change a published row.
        let published_id = published["id"].as_str().unwrap().to_owned();
        let outcome = app.state.db.run(move |conn| {
            use declare::store::catalogue as repo;
            Ok((
                repo::update_draft(conn, &published_id, "x", "{}", "x").err(),
                repo::publish_draft(conn, &published_id, chrono::Utc::now().naive_utc()).err(),
                repo::delete_draft(conn, &published_id).err(),
            ))
        }).await.unwrap();
        for error in [outcome.0, outcome.1, outcome.2] {
            assert!(matches!(error, Some(declare::store::StoreError::Immutable)), "{error:?}");
        }

        // Retired: old answers still read; new writes with it are refused.
        let current = service::current(&app.state.db, org).await.unwrap().document;
        let answers: AnswerSet = serde_json::from_value(serde_json::json!({
            "neurodivergence": {"gateway": "yes", "details": {"conditions": {"selected": [retired]}}}
        })).unwrap();
        assert_eq!(validate_stored_answers(&current, &answers), Ok(()));
        let problems = validate_answers(&current, &answers).unwrap_err();
        assert!(problems.iter().any(|p| p.field.starts_with("answers.neurodivergence.details.conditions")), "{problems:?}");

        // A later draft may not drop what was published: retire instead.
        let (status, _) = json(&app, Method::POST, "/v1/catalogue/drafts", &hr, None).await;
        assert_eq!(status, 201);
        let mut removed = edited.clone();
        removed.characteristics.retain(|c| c.code != "age");
        let r = app.authed(Method::PUT, "/v1/catalogue/drafts/current", &hr).json(&removed).send().await.unwrap();
        let problem = assert_problem(r, 422).await;
        assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == "age" && e["code"] == "removed"), "{problem}");
        let r = app.authed(Method::DELETE, "/v1/catalogue/drafts/current", &hr).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }

    async fn a_bad_draft_is_refused_with_every_problem_listed(backend) {
        let app = spawn_app(backend).await;
        let (_, _, hr) = force(&app).await;
        let (status, draft) = json(&app, Method::POST, "/v1/catalogue/drafts", &hr, None).await;
        assert_eq!(status, 201);

        let mut bad = serde_json::to_value(national()).unwrap();
        bad["characteristics"][0]["label"]["cy"] = "".into();
        bad["characteristics"][1]["details"][0]["shown_when"] = serde_json::json!({"gateway_in": ["no_such_option"]});
        let sex = bad["characteristics"].as_array().unwrap().iter().position(|c| c["code"] == "sex").unwrap();
        bad["characteristics"][sex]["gateway"]["options"].as_array_mut().unwrap().retain(|o| o["code"] != "prefer_not_to_say");

        let r = app.authed(Method::PUT, "/v1/catalogue/drafts/current", &hr).json(&bad).send().await.unwrap();
        let problem = assert_problem(r, 422).await;
        let fields: std::collections::BTreeSet<String> = problem["errors"].as_array().unwrap().iter()
            .map(|e| e["field"].as_str().unwrap().to_owned()).collect();
        assert!(fields.len() >= 3, "every problem listed: {problem}");
        assert!(fields.contains("characteristics[0].label.cy"), "{fields:?}");
        assert!(fields.iter().any(|f| f.starts_with("characteristics[1].details[0].shown_when")), "{fields:?}");
        assert!(fields.iter().any(|f| f.starts_with(&format!("characteristics[{sex}]"))), "{fields:?}");

        let (status, report) = json(&app, Method::POST, "/v1/catalogue/drafts/current/validate", &hr, Some(&bad)).await;
        assert_eq!(status, 200);
        assert_eq!(report["valid"], false);
        assert_eq!(report["problems"].as_array().unwrap().len(), problem["errors"].as_array().unwrap().len());

        // Nothing was saved.
        let (_, after) = json(&app, Method::GET, "/v1/catalogue/drafts/current", &hr, None).await;
        assert_eq!(after["etag"], draft["etag"]);
        // A body that is not a catalogue names the field.
        let r = app.authed(Method::PUT, "/v1/catalogue/drafts/current", &hr)
            .json(&serde_json::json!({"version": "x", "characteristics": [{"code": 3}]})).send().await.unwrap();
        let problem = assert_problem(r, 422).await;
        assert!(problem["errors"][0]["field"].as_str().unwrap().starts_with("characteristics"), "{problem}");
    }

    async fn a_legacy_mapping_carries_answers_with_a_report(backend) {
        let app = spawn_app(backend).await;
        let (org, _, _) = force(&app).await;
        let target = service::current(&app.state.db, org).await.unwrap().document;
        let mapping: Mapping = serde_json::from_value(serde_json::json!({"characteristics": {
            "ethnicity": {"to": "race", "gateway": {
                "white_british": {"map_to": {"option": "white"}},
                "not_stated": {"map_to": {"option": "prefer_not_to_say"}},
                "unknown": "needs_reasking"
            }}
        }})).unwrap();
        let legacy = |code: &str| -> AnswerSet {
            serde_json::from_value(serde_json::json!({"ethnicity": {"gateway": code}})).unwrap()
        };
        let (mapped, report) = service::apply_mapping_to_all(&mapping, &target, vec![
            (1, legacy("white_british")), (2, legacy("not_stated")), (3, legacy("unknown")), (4, AnswerSet::new()),
        ]).unwrap();
        assert_eq!(mapped.len(), 4);
        assert_eq!(mapped[0].1["race"].gateway, "white");
        assert_eq!(mapped[1].1["race"].gateway, "prefer_not_to_say");
        assert!(mapped[2].1.is_empty() && mapped[3].1.is_empty());
        for (_, answers) in &mapped {
            assert_eq!(validate_stored_answers(&target, answers), Ok(()));
        }
        let ethnicity = &report.characteristics["ethnicity"];
        assert_eq!((ethnicity.mapped, ethnicity.needs_reasking), (2, 1));

        // A mapping onto codes the target lacks is refused whole, naming the field.
        let bad: Mapping = serde_json::from_value(serde_json::json!({"characteristics": {
            "ethnicity": {"to": "race", "gateway": {"x": {"map_to": {"option": "no_such_option"}}}}
        }})).unwrap();
        let problems = service::apply_mapping_to_all(&bad, &target, vec![(1, legacy("x"))]).unwrap_err();
        assert!(!problems.is_empty() && problems[0].field.contains("ethnicity"), "{problems:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_without_a_catalogue_get_the_national_one_at_start() {
    let db = crate::helpers::TestDatabase::new(Backend::Sqlite);
    let database = declare::store::Database::connect(&db.url, 1).unwrap();
    database.migrate().unwrap();
    let org = declare::store::organisations::Organisation {
        id: uuid::Uuid::new_v4().to_string(),
        code: "legacy".into(),
        name: "Legacy Police".into(),
        created_at: chrono::Utc::now().naive_utc(),
    };
    let id = uuid::Uuid::parse_str(&org.id).unwrap();
    database
        .run(move |conn| declare::store::organisations::insert(conn, &org))
        .await
        .unwrap();
    let config = declare::config::Config::for_tests(db.url.clone(), db.data_dir());
    let app = declare::startup::Application::build(config).unwrap();
    let current = service::current(&app.state().db, id).await.unwrap();
    assert_eq!(current.version_number, 1);
    assert_eq!(current.document, national());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_import_of_a_bad_file_writes_nothing_and_exits_1() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.create_org("dyfed-powys").await;
    let binary = env!("CARGO_BIN_EXE_declare");
    let run = |args: &[&str]| {
        std::process::Command::new(binary)
            .args(args)
            .env("DECLARE_DATABASE_URL", &app.db.url)
            .env("DECLARE_DATA_DIR", app.db.data_dir())
            .output()
            .unwrap()
    };
    let mut bad = serde_json::to_value(national()).unwrap();
    bad["characteristics"][0]["label"]["cy"] = "".into();
    bad["characteristics"][1]["code"] = bad["characteristics"][0]["code"].clone();
    let path = app.db.data_dir().join("bad.json");
    std::fs::write(&path, bad.to_string()).unwrap();
    let out = run(&[
        "catalogue",
        "import",
        "--org",
        "dyfed-powys",
        "--publish",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("characteristics[0].label.cy"), "{stderr}");
    assert!(stderr.contains("characteristics[1].code"), "{stderr}");
    assert!(
        service::current_draft(&app.state.db, org.id).await.is_err(),
        "no draft written"
    );
    assert_eq!(
        service::list_versions(&app.state.db, org.id)
            .await
            .unwrap()
            .len(),
        1
    );

    // Export, then import as the next published version.
    let out = run(&["catalogue", "export", "--org", "dyfed-powys"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported: Catalogue = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported, national());
    std::fs::write(&path, &out.stdout).unwrap();
    let out = run(&[
        "catalogue",
        "import",
        "--org",
        "dyfed-powys",
        "--publish",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        service::current(&app.state.db, org.id)
            .await
            .unwrap()
            .version_number,
        2
    );
}
