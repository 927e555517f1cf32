//! Carrying stored declarations onto a new catalogue version (`POST /v1/catalogue/migrations`):
//! a force splits, merges and renames options, publishes, and moves everyone who declared
//! under the old version. Report counts, re-sealed answers, history, tallies against a
//! recount, audit, dry run, bad mappings, concurrency.

use std::sync::Arc;

use declare::domain::catalogue::{self, AnswerOption, Catalogue, Localised};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, raw_count, raw_sealed, spawn_app, TestApp};
use crate::on_both_backends;

/// Values that appear only inside answers: none may be in clear anywhere in the database.
const VALUES: [&str; 5] = [
    "single_never_married",
    "physical_or_sensory_impairment",
    "tinnitus",
    "yes_20_to_34_hours",
    "never_married",
];

fn option(code: &str, label: &str, group: &str) -> AnswerOption {
    AnswerOption {
        code: code.into(),
        order: 0,
        label: Localised::new(label, format!("{label} (cy)")),
        help: None,
        publication_group: group.into(),
        retired: false,
    }
}

/// Retires `old` in `options` and inserts `new` right after it, keeping orders increasing.
fn replace_with(options: &mut Vec<AnswerOption>, old: &[&str], new: Vec<AnswerOption>) {
    let at = options
        .iter()
        .rposition(|o| old.contains(&o.code.as_str()))
        .unwrap()
        + 1;
    for o in options
        .iter_mut()
        .filter(|o| old.contains(&o.code.as_str()))
    {
        o.retired = true;
    }
    for (i, o) in new.into_iter().enumerate() {
        options.insert(at + i, o);
    }
    for (i, o) in options.iter_mut().enumerate() {
        o.order = i as u32 + 1;
    }
}

/// The force's version 2: caring hours 20-34 split in two, two health conditions merged into
/// one, "never married" reworded under a new code.
fn version_two() -> Catalogue {
    let mut cat = catalogue::national().unwrap();
    cat.version = "force-2026.1".into();
    let caring = cat.characteristic_mut("caring_responsibilities").unwrap();
    replace_with(
        &mut caring.gateway.options,
        &["yes_20_to_34_hours"],
        vec![
            option("yes_20_to_29_hours", "Yes, 20 to 29 hours a week", "yes"),
            option("yes_30_to_34_hours", "Yes, 30 to 34 hours a week", "yes"),
        ],
    );
    let marriage = cat
        .characteristic_mut("marriage_civil_partnership")
        .unwrap();
    replace_with(
        &mut marriage.gateway.options,
        &["never_married"],
        vec![option(
            "single_never_married",
            "Single, never married or in a civil partnership",
            "not_married_or_civil_partnership",
        )],
    );
    let disability = cat.characteristic_mut("disability").unwrap();
    let list = disability
        .details
        .iter_mut()
        .find(|d| d.code == "health_conditions")
        .unwrap();
    replace_with(
        &mut list.options,
        &["physical_impairment", "sensory_impairment"],
        vec![option(
            "physical_or_sensory_impairment",
            "Physical, mobility or sensory impairment",
            "physical_or_sensory_impairment",
        )],
    );
    cat
}

fn good_mapping() -> Value {
    json!({"characteristics": {
        "caring_responsibilities": {"gateway": {"yes_20_to_34_hours": "needs_reasking"}},
        "marriage_civil_partnership": {"gateway": {
            "never_married": {"map_to": {"option": "single_never_married"}}}},
        "disability": {"details": {"health_conditions": {"options": {
            "physical_impairment": {"map_to": "physical_or_sensory_impairment"},
            "sensory_impairment": {"map_to": "physical_or_sensory_impairment"}}}}}
    }})
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.authed(method, path, token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_declaration(app: &TestApp, token: &str) -> (String, Value) {
    let r = app
        .authed(Method::GET, "/v1/me/declaration", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    (etag, r.json().await.unwrap())
}

struct Force {
    org: uuid::Uuid,
    hr: String,
    staff: Vec<String>,
}

/// An organisation with an hr_admin and `n` consenting employees.
async fn force(app: &TestApp, n: usize) -> Force {
    let org = app.create_org("migrating-force").await;
    let hr = app
        .create_account(Some(org.id), "mig-hr", &["hr_admin"])
        .await;
    let hr = app.login(&hr).await;
    let mut staff = Vec::new();
    for i in 0..n {
        let (login, _) = app
            .create_employee_account(org.id, &format!("mig-{i}"))
            .await;
        let token = app.login(&login).await;
        let (status, _) = send(
            app,
            Method::PUT,
            "/v1/me/consents",
            &token,
            Some(json!({"notice_version": 1, "purposes": {"equality_monitoring": true}})),
        )
        .await;
        assert_eq!(status, 200);
        staff.push(token);
    }
    Force {
        org: org.id,
        hr,
        staff,
    }
}

/// Drafts, replaces and publishes version two; returns its id.
async fn publish_version_two(app: &TestApp, hr: &str) -> String {
    let (status, _) = send(app, Method::POST, "/v1/catalogue/drafts", hr, None).await;
    assert_eq!(status, 201);
    let doc = serde_json::to_value(version_two()).unwrap();
    let (status, body) = send(
        app,
        Method::PUT,
        "/v1/catalogue/drafts/current",
        hr,
        Some(doc),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, published) = send(
        app,
        Method::POST,
        "/v1/catalogue/drafts/current/publish",
        hr,
        None,
    )
    .await;
    assert_eq!(status, 200, "{published}");
    published["id"].as_str().unwrap().to_owned()
}

/// Declarations' sealed bytes, history rows, tally rows, migration audit events.
type RawState = (Vec<Vec<u8>>, i64, Vec<(String, Vec<u8>)>, i64);

/// Everything a migration could change, as a database administrator sees it.
fn raw_state(app: &TestApp) -> RawState {
    let mut conn = app.raw_connection();
    let declarations = raw_sealed(
        &mut conn,
        "SELECT sealed FROM declarations ORDER BY employee_id",
    );
    let history = raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declaration_history");
    let migrations = raw_count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'catalogue.migrate'",
    );
    (declarations, history, app.raw_tally_rows(), migrations)
}

async fn migrate(app: &TestApp, hr: &str, body: Value) -> (u16, Value) {
    send(
        app,
        Method::POST,
        "/v1/catalogue/migrations",
        hr,
        Some(body),
    )
    .await
}

on_both_backends! {
    async fn a_force_moves_everyone_onto_its_new_version(backend) {
        let app = spawn_app(backend).await;
        let f = force(&app, 6).await;
        // Under version 1 (the national catalogue).
        app.declare_answers(&f.staff[0], json!({
            "caring_responsibilities": {"gateway": "yes_20_to_34_hours"},
            "marriage_civil_partnership": {"gateway": "never_married"},
            "disability": {"gateway": "yes", "details": {"health_conditions":
                {"selected": ["physical_impairment", "sensory_impairment"]}}}})).await;
        app.declare_answers(&f.staff[1], json!({
            "caring_responsibilities": {"gateway": "yes_20_to_34_hours"},
            "marriage_civil_partnership": {"gateway": "married"}})).await;
        app.declare_answers(&f.staff[2], json!({
            "marriage_civil_partnership": {"gateway": "never_married"},
            "disability": {"gateway": "yes", "details": {"health_conditions":
                {"selected": ["sensory_impairment", "other"], "other_text": "tinnitus"}}}})).await;
        app.declare_answers(&f.staff[3], json!({"sex": {"gateway": "female"}})).await;
        // staff[4] never declares.
        let v2 = publish_version_two(&app, &f.hr).await;
        // staff[5] declares under version 2: nothing to map, so the migration leaves it alone.
        app.declare_answers(&f.staff[5], json!({"sex": {"gateway": "male"}})).await;
        let caring_yes_before: u64 = crate::tallies::snapshot(&app, f.org).await.iter()
            .map(|(_, c)| c.count("caring_responsibilities", "yes")).sum();
        assert_eq!(caring_yes_before, 2);

        // A bad mapping: every problem named, nothing written.
        let before = raw_state(&app);
        let (status, problem) = migrate(&app, &f.hr, json!({"mapping": {"characteristics": {
            "star_sign": {},
            "caring_responsibilities": {"gateway": {
                "yes_9_hours_or_less": {"map_to": {"option": "yes_20_to_34_hours"}},
                "yes_10_to_20_hours": "needs_reasking"}},
            "marriage_civil_partnership": {"gateway": {"never_married": {"map_to": {"option": "singel"}}}},
            "disability": {"details": {"health_conditions": {"to": "conditions_list"}}}
        }}})).await;
        assert_eq!(status, 422, "{problem}");
        let mut fields: Vec<&str> = problem["errors"].as_array().unwrap().iter()
            .map(|e| e["field"].as_str().unwrap()).collect();
        fields.sort();
        assert_eq!(fields, [
            "mapping.characteristics.caring_responsibilities.gateway.yes_10_to_20_hours",
            "mapping.characteristics.caring_responsibilities.gateway.yes_9_hours_or_less.map_to.option",
            "mapping.characteristics.disability.details.health_conditions",
            "mapping.characteristics.marriage_civil_partnership.gateway.never_married.map_to.option",
            "mapping.characteristics.star_sign",
        ], "{problem}");
        assert!(problem.to_string().contains("retired_option"));
        let (status, problem) = migrate(&app, &f.hr, json!({"mapping": {},
            "target_version": uuid::Uuid::new_v4()})).await;
        assert_eq!(status, 422);
        assert_eq!(problem["errors"][0]["field"], "target_version");
        assert_eq!(raw_state(&app), before, "a refused mapping writes nothing");

        // A dry run reports exactly what the real run does, and writes nothing.
        let (status, dry) = migrate(&app, &f.hr, json!({"mapping": good_mapping(), "dry_run": true})).await;
        assert_eq!(status, 200, "{dry}");
        assert_eq!(dry["dry_run"], true);
        assert_eq!(raw_state(&app), before, "a dry run writes nothing");

        let (status, report) = migrate(&app, &f.hr, json!({"mapping": good_mapping()})).await;
        assert_eq!(status, 200, "{report}");
        let mut same = dry.clone();
        same["dry_run"] = json!(false);
        assert_eq!(same, report, "the dry run predicted the real run");
        assert_eq!(report["target_version_id"], v2.as_str());
        assert_eq!((report["declarations"].as_u64(), report["rewritten"].as_u64(), report["left_alone"].as_u64()),
            (Some(5), Some(4), Some(1)));
        let r = &report["mapping"]["characteristics"];
        let counts = |c: &str| (r[c]["mapped"].as_u64().unwrap(), r[c]["unchanged"].as_u64().unwrap(),
            r[c]["needs_reasking"].as_u64().unwrap(), r[c]["invalid_after_mapping"].as_u64().unwrap());
        assert_eq!(counts("caring_responsibilities"), (0, 0, 2, 0));
        assert_eq!(counts("marriage_civil_partnership"), (2, 1, 0, 0));
        assert_eq!(counts("disability"), (2, 0, 0, 0));
        assert_eq!(counts("sex"), (0, 2, 0, 0));
        assert_eq!(r["caring_responsibilities"]["gateway_options"]["yes_20_to_34_hours"]["needs_reasking"], 2);
        assert_eq!(r["marriage_civil_partnership"]["gateway_options"]["never_married"]["mapped"], 2);
        assert_eq!(r["marriage_civil_partnership"]["gateway_options"]["married"]["unchanged"], 1);
        let details = &r["disability"]["detail_options"];
        assert_eq!(details["health_conditions.physical_impairment"]["mapped"], 1);
        assert_eq!(details["health_conditions.sensory_impairment"]["mapped"], 2);
        assert_eq!(details["health_conditions.other"]["unchanged"], 1);
        assert!(!report.to_string().contains("employee"), "counts only, never who");

        // The people see their answers against version 2.
        let (etag, view) = get_declaration(&app, &f.staff[0]).await;
        assert_eq!(etag, "\"v2\"", "the migration is a new version of the declaration");
        assert_eq!(view["catalogue_version_id"], v2.as_str());
        assert_eq!(view["current_catalogue_version_id"], v2.as_str());
        assert_eq!(view["answers"], json!({
            "marriage_civil_partnership": {"gateway": "single_never_married"},
            "disability": {"gateway": "yes", "details": {"health_conditions":
                {"selected": ["physical_or_sensory_impairment"]}}}}));
        assert!(view["unanswered"].as_array().unwrap().iter().any(|c| c == "caring_responsibilities"),
            "a split answer is blank, to be asked again");
        let (_, view) = get_declaration(&app, &f.staff[2]).await;
        assert_eq!(view["answers"]["disability"]["details"]["health_conditions"],
            json!({"selected": ["physical_or_sensory_impairment", "other"], "other_text": "tinnitus"}));
        let (status, history) = send(&app, Method::GET, "/v1/me/declaration/history", &f.staff[0], None).await;
        assert_eq!(status, 200);
        assert_eq!(history.as_array().unwrap().len(), 2);
        assert_eq!(history[1]["answers"]["marriage_civil_partnership"]["gateway"], "single_never_married");
        assert_eq!(history[0]["answers"]["marriage_civil_partnership"]["gateway"], "never_married");
        let (etag, view) = get_declaration(&app, &f.staff[5]).await;
        assert_eq!(etag, "\"v1\"", "left alone");
        assert_eq!(view["answers"]["sex"]["gateway"], "male");
        let (etag, _) = get_declaration(&app, &f.staff[4]).await;
        assert_eq!(etag, "\"v0\"");
        // They can go on declaring under version 2 with the new ETag.
        let (etag, _) = get_declaration(&app, &f.staff[1]).await;
        let r = app.authed(Method::PATCH, "/v1/me/declaration", &f.staff[1]).header("if-match", etag)
            .json(&json!({"answers": {"caring_responsibilities": {"gateway": "yes_30_to_34_hours"}}}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);

        // Tallies: the split answers left "yes"; staff[1] answered again; equal to a recount.
        let live = crate::tallies::snapshot(&app, f.org).await;
        let caring_yes: u64 = live.iter().map(|(_, c)| c.count("caring_responsibilities", "yes")).sum();
        assert_eq!(caring_yes, 1);
        assert_eq!(live, crate::tallies::recount(&app, f.org).await, "tallies differ from a recount");

        // Nothing in clear; one audit event, about the version, never a person.
        let mut conn = app.raw_connection();
        let mut blobs = raw_sealed(&mut conn, "SELECT sealed FROM declarations");
        blobs.extend(raw_sealed(&mut conn, "SELECT sealed FROM declaration_history"));
        for blob in &blobs {
            for value in VALUES {
                assert!(!blob.windows(value.len()).any(|w| w == value.as_bytes()), "{value} in clear");
            }
        }
        // Re-sealed under each person's own key (decision 0019), at the one declaration length.
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declarations WHERE key_id <> 'person'"), 0);
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM declaration_history WHERE key_id <> 'person'"), 0);
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM person_keys"), 5);
        assert!(blobs.iter().all(|b| b.len() == blobs[0].len()), "sealed lengths differ");
        assert_eq!(raw_count(&mut conn, &format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'catalogue.migrate' \
             AND subject = 'catalogue_version:{v2}' AND actor LIKE 'account:%'")), 1);
        assert_eq!(raw_count(&mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'catalogue.migrate.dry_run'"), 1);
        assert!(declare::services::audit::verify(&app.state.db).await.unwrap().is_ok());

        // Running the same mapping again finds nothing to do.
        let (status, again) = migrate(&app, &f.hr, json!({"mapping": good_mapping()})).await;
        assert_eq!(status, 200);
        assert_eq!((again["rewritten"].as_u64(), again["left_alone"].as_u64()), (Some(0), Some(5)));
    }

    async fn only_catalogue_editors_migrate(backend) {
        let app = spawn_app(backend).await;
        let f = force(&app, 1).await;
        for (role, org) in [("edi_viewer", Some(f.org)), ("auditor", Some(f.org)), ("national_viewer", None)] {
            let login = app.create_account(org, &format!("mig-{role}"), &[role]).await;
            let token = app.login(&login).await;
            let r = app.authed(Method::POST, "/v1/catalogue/migrations", &token)
                .json(&json!({"mapping": {}})).send().await.unwrap();
            assert_problem(r, 403).await;
        }
        let r = app.authed(Method::POST, "/v1/catalogue/migrations", &f.staff[0])
            .json(&json!({"mapping": {}})).send().await.unwrap();
        assert_problem(r, 403).await;
        // A body that is not a mapping is named field by field.
        let (status, problem) = migrate(&app, &f.hr, json!({"mapping": {"characteristics": {"sex": {"gateway": {"male": "maybe"}}}}})).await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["errors"][0]["field"].as_str().unwrap().starts_with("mapping"), "{problem}");
    }

    async fn a_migration_racing_declarations_loses_nothing(backend) {
        let app = Arc::new(spawn_app(backend).await);
        let f = force(&app, 4).await;
        for token in &f.staff {
            app.declare_answers(token, json!({
                "marriage_civil_partnership": {"gateway": "never_married"},
                "caring_responsibilities": {"gateway": "yes_20_to_34_hours"}})).await;
        }
        publish_version_two(&app, &f.hr).await;
        let mut tasks = Vec::new();
        for token in f.staff.clone() {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for i in 0..6 {
                    let (etag, _) = get_declaration(&app, &token).await;
                    let gateway = ["female", "male", "prefer_not_to_say"][i % 3];
                    let r = app.authed(Method::PATCH, "/v1/me/declaration", &token).header("if-match", etag)
                        .json(&json!({"answers": {"sex": {"gateway": gateway}}})).send().await.unwrap();
                    outcomes.push(r.status().as_u16());
                }
                outcomes
            }));
        }
        let (status, report) = migrate(&app, &f.hr, json!({"mapping": good_mapping()})).await;
        assert_eq!(status, 200, "{report}");
        for task in tasks {
            for status in task.await.unwrap() {
                assert!(status == 200 || status == 412, "a racing write got {status}");
            }
        }
        // Every declaration ended on version 2 with its mapped answer, whatever the interleaving.
        for token in &f.staff {
            let (_, view) = get_declaration(&app, token).await;
            assert_eq!(view["answers"]["marriage_civil_partnership"]["gateway"], "single_never_married");
            assert!(view["answers"].get("caring_responsibilities").is_none());
        }
        let live = crate::tallies::snapshot(&app, f.org).await;
        assert_eq!(live, crate::tallies::recount(&app, f.org).await);
    }
}
