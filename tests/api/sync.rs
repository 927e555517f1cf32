//! Organisation structure, workforce records and the bulk sync, on both backends.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};
use crate::on_both_backends;

const HEADER: &str =
    "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n";

/// An organisation with units `force` > `north`, `south`, a rank `pc`, and an hr_admin token.
async fn setup(app: &TestApp) -> String {
    let org = app.create_org("sync-force").await;
    let login = app
        .create_account(Some(org.id), "hr-lead", &["hr_admin"])
        .await;
    let token = app.login(&login).await;
    let force = create(
        app,
        &token,
        "/v1/org-units",
        json!({"code": "force", "name": "Force", "kind": "force"}),
    )
    .await;
    for code in ["north", "south"] {
        create(
            app,
            &token,
            "/v1/org-units",
            json!({"code": code, "name": code, "kind": "command_area", "parent_id": force["id"]}),
        )
        .await;
    }
    create(
        app,
        &token,
        "/v1/ranks",
        json!({"code": "pc", "name": "Constable", "order": 1}),
    )
    .await;
    token
}

async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let r = app
        .authed(Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{path} {body}");
    r.json().await.unwrap()
}

async fn sync(
    app: &TestApp,
    token: &str,
    query: &str,
    media: &str,
    body: String,
) -> reqwest::Response {
    app.authed(Method::POST, &format!("/v1/sync/employees{query}"), token)
        .header("content-type", media)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn sync_ok(app: &TestApp, token: &str, query: &str, csv: &str) -> Value {
    let r = sync(app, token, query, "text/csv", format!("{HEADER}{csv}")).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Every employee, in employee-number order.
async fn employees(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app
        .authed(Method::GET, "/v1/employees?limit=1000", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

fn counts(report: &Value) -> [u64; 4] {
    ["created", "updated", "unchanged", "leavers"].map(|k| report[k].as_u64().unwrap())
}

const THREE: &str = "E1,sub-1,north,police_officer,pc,1,2020-01-01,\n\
                     E2,,south,police_staff,,0.5,2021-02-03,\n\
                     E3,sub-3,north,pcso,,,2022-03-04,\n";

on_both_backends! {
    async fn structure_crud_seeds_staff_types_and_refuses_cycles(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let types: Vec<Value> = app.authed(Method::GET, "/v1/staff-types", &token).send().await.unwrap().json().await.unwrap();
        let codes: Vec<&str> = types.iter().map(|t| t["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["designated_officer", "pcso", "police_officer", "police_staff", "police_support_volunteer", "special_constable"]);

        let units: Vec<Value> = app.authed(Method::GET, "/v1/org-units", &token).send().await.unwrap().json().await.unwrap();
        let id = |code: &str| units.iter().find(|u| u["code"] == code).unwrap()["id"].as_str().unwrap().to_owned();
        let team = create(&app, &token, "/v1/org-units", json!({"code": "team-1", "name": "Team 1", "kind": "team", "parent_id": id("north")})).await;

        // Moving the root under its grandchild, or a unit under itself, would make a cycle.
        for (unit, parent) in [(id("force"), team["id"].as_str().unwrap().to_owned()), (id("north"), id("north"))] {
            let r = app.authed(Method::PATCH, &format!("/v1/org-units/{unit}"), &token)
                .json(&json!({"parent_id": parent})).send().await.unwrap();
            let problem = assert_problem(r, 422).await;
            assert_eq!(problem["errors"][0]["code"], "cycle");
        }
        // A legal move and a rename.
        let r = app.authed(Method::PATCH, &format!("/v1/org-units/{}", team["id"].as_str().unwrap()), &token)
            .json(&json!({"parent_id": id("south"), "name": "Team One"})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let moved: Value = r.json().await.unwrap();
        assert_eq!(moved["parent_id"].as_str().unwrap(), id("south"));

        let r = app.authed(Method::DELETE, &format!("/v1/org-units/{}", id("south")), &token).send().await.unwrap();
        assert_problem(r, 409).await;
        let r = app.authed(Method::DELETE, &format!("/v1/org-units/{}", team["id"].as_str().unwrap()), &token).send().await.unwrap();
        assert_eq!(r.status(), 204);
        let r = app.authed(Method::POST, "/v1/org-units", &token).json(&json!({"code": "north", "name": "x", "kind": "team"})).send().await.unwrap();
        assert_problem(r, 409).await;

        // A unit with employees cannot be deleted either.
        sync_ok(&app, &token, "", THREE).await;
        let r = app.authed(Method::DELETE, &format!("/v1/org-units/{}", id("north")), &token).send().await.unwrap();
        assert_problem(r, 409).await;
    }

    async fn full_and_delta_syncs_create_update_and_mark_leavers(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let report = sync_ok(&app, &token, "?mode=full", THREE).await;
        assert_eq!(counts(&report), [3, 0, 0, 0]);
        let staff = employees(&app, &token).await;
        assert_eq!(staff.len(), 3);
        assert_eq!(staff[1]["fte"], 0.5);
        assert_eq!(staff[2]["fte"], 1.0);

        // Delta: E2 moves to north, E4 joins; nobody leaves.
        let report = sync_ok(&app, &token, "?mode=delta",
            "E2,,north,police_staff,,0.5,2021-02-03,\nE4,,south,police_officer,pc,1,2023-01-01,\n").await;
        assert_eq!(counts(&report), [1, 1, 0, 0]);
        let staff = employees(&app, &token).await;
        assert_eq!(staff.len(), 4);
        assert!(staff.iter().all(|e| e["leave_date"].is_null()));

        // The same full file again changes nothing, except that E4 (absent) would leave.
        // One of four in post is 25%, over the 10% ceiling: refused, nothing written.
        let r = sync(&app, &token, "?mode=full", "text/csv",
            format!("{HEADER}E1,sub-1,north,police_officer,pc,1,2020-01-01,\nE2,,north,police_staff,,0.5,2021-02-03,\nE3,sub-3,north,pcso,,,2022-03-04,\n")).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(problem["errors"][0]["code"], "leaver_ceiling_exceeded");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("allow_mass_leavers"));
        assert_eq!(employees(&app, &token).await, staff);

        let report = sync_ok(&app, &token, "?mode=full&allow_mass_leavers=true",
            "E1,sub-1,north,police_officer,pc,1,2020-01-01,\nE2,,north,police_staff,,0.5,2021-02-03,\nE3,sub-3,north,pcso,,,2022-03-04,\n").await;
        assert_eq!(counts(&report), [0, 0, 3, 1]);
        let staff = employees(&app, &token).await;
        let today = chrono::Utc::now().date_naive().to_string();
        assert_eq!(staff[3]["employee_number"], "E4");
        assert_eq!(staff[3]["leave_date"], today.as_str());
        assert!(staff[..3].iter().all(|e| e["leave_date"].is_null()));

        // An employee record is fetchable by id, and never carries an answer.
        let id = staff[0]["id"].as_str().unwrap();
        let one: Value = app.authed(Method::GET, &format!("/v1/employees/{id}"), &token).send().await.unwrap().json().await.unwrap();
        assert_eq!(one, staff[0]);
    }

    async fn dry_run_reports_and_writes_nothing(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        sync_ok(&app, &token, "", THREE).await;
        let before = employees(&app, &token).await;
        let report = sync_ok(&app, &token, "?mode=full&dry_run=true&allow_mass_leavers=true",
            "E1,sub-1,south,police_officer,pc,1,2020-01-01,\nE9,,south,police_staff,,1,2024-01-01,\n").await;
        assert_eq!(report["dry_run"], true);
        assert_eq!(counts(&report), [1, 1, 0, 2]);
        assert_eq!(employees(&app, &token).await, before);
    }

    async fn an_idempotent_retry_is_answered_without_reapplying(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let send = |body: String| {
            app.authed(Method::POST, "/v1/sync/employees?mode=delta", &token)
                .header("content-type", "text/csv")
                .header("idempotency-key", "batch-2026-01-01")
                .body(body)
                .send()
        };
        let first = send(format!("{HEADER}{THREE}")).await.unwrap();
        assert_eq!(first.status(), 200);
        let first: Value = first.json().await.unwrap();
        let after_first = employees(&app, &token).await;
        let retry = send(format!("{HEADER}{THREE}")).await.unwrap();
        assert_eq!(retry.status(), 200);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.json::<Value>().await.unwrap(), first);
        assert_eq!(counts(&first), [3, 0, 0, 0]);
        assert_eq!(employees(&app, &token).await, after_first);

        let other = send(format!("{HEADER}E5,,north,pcso,,,2022-03-04,\n")).await.unwrap();
        let problem = assert_problem(other, 422).await;
        assert_eq!(problem["errors"][0]["code"], "idempotency_key_reused");
        assert_eq!(employees(&app, &token).await, after_first);
    }

    async fn rejected_rows_are_listed_with_line_numbers_and_nothing_is_written(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let csv = format!("{HEADER}E1,sub-1,north,police_officer,pc,1,2020-01-01,\n\
                           E2,,atlantis,police_staff,,0.5,2021-02-03,\n\
                           E3,,north,pcso,,2,yesterday,\n\
                           E1,,north,pcso,,,2022-03-04,\n\
                           E4,,north\n");
        let r = sync(&app, &token, "", "text/csv", csv).await;
        let problem = assert_problem(r, 422).await;
        let rejected = problem["rejected_rows"].as_array().unwrap();
        let lines: Vec<u64> = rejected.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        assert_eq!(rejected[0]["errors"][0]["field"], "org_unit");
        assert_eq!(rejected[0]["errors"][0]["code"], "unknown_code");
        let codes: Vec<&str> = rejected[1]["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["invalid_fte", "invalid_date"]);
        assert_eq!(rejected[2]["errors"][0]["code"], "duplicate");
        assert_eq!(rejected[3]["errors"][0]["code"], "malformed_row");
        assert!(employees(&app, &token).await.is_empty());

        let ndjson = "{\"employee_number\":\"E1\",\"org_unit\":\"north\",\"staff_type\":\"pcso\",\"start_date\":\"2020-01-01\"}\n\
                      {\"employee_number\":\"E2\",\"org_unit\":\"north\",\"staff_type\":\"cook\",\"start_date\":\"2020-01-01\"}\n\
                      \n\
                      {not json\n";
        let r = sync(&app, &token, "", "application/x-ndjson", ndjson.into()).await;
        let problem = assert_problem(r, 422).await;
        let rejected = problem["rejected_rows"].as_array().unwrap();
        let lines: Vec<u64> = rejected.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, [2, 4]);
        assert_eq!(rejected[0]["errors"][0]["field"], "staff_type");
        assert_eq!(rejected[1]["errors"][0]["code"], "malformed_json");
        assert!(employees(&app, &token).await.is_empty());

        let ok = "{\"employee_number\":\"E1\",\"org_unit\":\"north\",\"staff_type\":\"pcso\",\"fte\":0.8,\"start_date\":\"2020-01-01\",\"rank\":null}\n";
        let r = sync(&app, &token, "", "application/x-ndjson", ok.into()).await;
        assert_eq!(r.status(), 200);
        assert_eq!(employees(&app, &token).await[0]["fte"], 0.8);
        let r = sync(&app, &token, "", "application/json", ok.into()).await;
        assert_problem(r, 415).await;
    }

    async fn an_external_subject_another_employee_keeps_is_refused_by_line(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        sync_ok(&app, &token, "", THREE).await;
        let before = employees(&app, &token).await;
        let csv = format!("{HEADER}E4,sub-1,south,pcso,,,2023-01-01,\n\
                           E2,sub-3,south,police_staff,,0.5,2021-02-03,\n");
        let r = sync(&app, &token, "?mode=delta", "text/csv", csv).await;
        let problem = assert_problem(r, 422).await;
        let rejected = problem["rejected_rows"].as_array().unwrap();
        let lines: Vec<u64> = rejected.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, [2, 3], "{problem}");
        assert_eq!(rejected[0]["errors"][0]["field"], "external_subject");
        assert_eq!(rejected[0]["errors"][0]["code"], "subject_taken");
        assert_eq!(employees(&app, &token).await, before);

        // Once its holder is given another subject in the same file, the subject is free.
        let report = sync_ok(&app, &token, "?mode=delta", "E1,sub-9,north,police_officer,pc,1,2020-01-01,\n\
                                                           E4,sub-1,south,pcso,,,2023-01-01,\n").await;
        assert_eq!(counts(&report), [1, 1, 0, 0]);
    }

    async fn a_protected_characteristic_is_refused_by_name(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        let ndjson = "{\"employee_number\":\"E1\",\"org_unit\":\"north\",\"staff_type\":\"pcso\",\"start_date\":\"2020-01-01\",\"ethnicity\":\"x\"}\n";
        let r = sync(&app, &token, "", "application/x-ndjson", ndjson.into()).await;
        let problem = assert_problem(r, 422).await;
        let error = &problem["rejected_rows"][0]["errors"][0];
        assert_eq!(error["field"], "ethnicity");
        assert_eq!(error["code"], "protected_characteristic_refused");

        let csv = "employee_number,org_unit,staff_type,start_date,Sexual Orientation\nE1,north,pcso,2020-01-01,x\n";
        let r = sync(&app, &token, "", "text/csv", csv.into()).await;
        let problem = assert_problem(r, 422).await;
        assert_eq!(problem["rejected_rows"][0]["line"], 1);
        assert_eq!(problem["rejected_rows"][0]["errors"][0]["field"], "Sexual Orientation");
        assert_eq!(problem["rejected_rows"][0]["errors"][0]["code"], "protected_characteristic_refused");
        assert!(employees(&app, &token).await.is_empty());
    }

    async fn the_cli_import_reports_rejections_and_a_killed_import_changes_nothing(backend) {
        let app = spawn_app(backend).await;
        let token = setup(&app).await;
        sync_ok(&app, &token, "", THREE).await;
        let before = employees(&app, &token).await;
        let dir = tempfile::tempdir().unwrap();
        let cli = |file: &std::path::Path| {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_declare"));
            cmd.args(["import", "employees", "--org", "sync-force", "--mode", "delta"])
                .arg(file)
                .env("DECLARE_DATABASE_URL", &app.db.url)
                .env("DECLARE_DATA_DIR", dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd
        };

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, format!("{HEADER}E1,sub-1,north,police_officer,pc,1,2020-01-01,\nE7,,nowhere,pcso,,,2020-01-01,\n")).unwrap();
        let out = cli(&bad).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("line 3: org_unit"), "{stdout}");
        assert_eq!(employees(&app, &token).await, before);

        // A large file that changes every record; kill the import part way through.
        let big = dir.path().join("big.csv");
        let mut text = String::from(HEADER);
        for i in 0..400_000 {
            text.push_str(&format!("E{i},,south,police_staff,,0.5,2019-01-01,\n"));
        }
        std::fs::write(&big, text).unwrap();
        let mut child = cli(&big).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert!(child.try_wait().unwrap().is_none(), "the import finished before it could be killed");
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(employees(&app, &token).await, before);
    }
}
