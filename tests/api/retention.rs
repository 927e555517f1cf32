//! Retention: leavers' answers, history and consents are erased for real once the period after
//! their leave date has run, by `declare retention run` and by the schedule inside `serve`;
//! nobody else is touched, the tallies equal a recount, and each erasure is audited.

use chrono::{Days, Utc};
use declare::config::Retention;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{cli, raw_count, spawn_app, spawn_app_with, TestApp};
use crate::on_both_backends;
use crate::tallies::{recount, snapshot};

pub(crate) const HEADER: &str =
    "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n";

pub(crate) fn days_ago(n: u64) -> String {
    (Utc::now().date_naive() - Days::new(n)).to_string()
}

/// An employee who consented and declared, then changed their answers (so history has rows).
pub(crate) async fn declared(app: &TestApp, org: uuid::Uuid, name: &str) -> uuid::Uuid {
    let (token, id) = app.consenting_employee(org, name).await;
    for answers in [
        json!({"disability": {"gateway": "yes"}, "sex": {"gateway": "female"}}),
        json!({"disability": {"gateway": "no"}}),
    ] {
        app.declare_answers(&token, answers).await;
    }
    id
}

/// Sets leave dates the way HR does, through a delta sync (which moves the tallies too).
/// `create_employee` gave each person their own unit and staff type, named after the number.
pub(crate) async fn set_leave_dates(app: &TestApp, token: &str, people: &[(&str, &str)]) {
    let mut csv = HEADER.to_owned();
    for (name, leave_date) in people {
        let number = format!("E-{name}");
        csv.push_str(&format!(
            "{number},,unit-{number},type-{number},,1,2020-01-01,{leave_date}\n"
        ));
    }
    let r = app
        .authed(Method::POST, "/v1/sync/employees?mode=delta", token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// (declarations, history rows, consents) the person still has, read from the raw tables.
fn held(app: &TestApp, employee: uuid::Uuid) -> (i64, i64, i64) {
    let mut conn = app.raw_connection();
    let count = |conn: &mut declare::store::Conn, table: &str| {
        raw_count(
            conn,
            &format!("SELECT COUNT(*) AS n FROM {table} WHERE employee_id = '{employee}'"),
        )
    };
    (
        count(&mut conn, "declarations"),
        count(&mut conn, "declaration_history"),
        count(&mut conn, "consents"),
    )
}

/// Whether the person still has a data key (decision 0019): 1 or 0.
fn key_held(app: &TestApp, employee: uuid::Uuid) -> i64 {
    raw_count(
        &mut app.raw_connection(),
        &format!("SELECT COUNT(*) AS n FROM person_keys WHERE employee_id = '{employee}'"),
    )
}

pub(crate) async fn audit_events(app: &TestApp, org: uuid::Uuid) -> Vec<Value> {
    let login = app
        .create_account(
            Some(org),
            &format!("auditor-{}", uuid::Uuid::new_v4()),
            &["auditor"],
        )
        .await;
    let token = app.login(&login).await;
    let page: Value = app
        .authed(Method::GET, "/v1/audit?limit=1000", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["events"].as_array().unwrap().clone()
}

/// People counted in the organisation's live tallies, and how many of them answered disability.
pub(crate) async fn counted(app: &TestApp, org: uuid::Uuid) -> (u64, u64) {
    let cells = snapshot(app, org).await;
    let people = cells.iter().map(|(_, c)| c.headcount).sum();
    let answered = cells
        .iter()
        .map(|(_, c)| {
            c.answers
                .get("disability")
                .map_or(0, |g| g.values().sum::<u64>())
        })
        .sum();
    (people, answered)
}

on_both_backends! {
    async fn a_leave_date_set_in_advance_is_recounted_when_erased(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("advance-force").await;
        let early = declared(&app, org.id, "early").await;
        declared(&app, org.id, "stays").await;
        // HR set this leave date back when it was still to come: the write counted the person
        // as in post, and no write since has taken them out of the tallies.
        let mut conn = app.raw_connection();
        let sql = format!(
            "UPDATE employees SET leave_date = '{}', updated_at = '2020-01-01 00:00:00' WHERE id = '{early}'",
            days_ago(400)
        );
        declare::with_conn!(&mut conn, |c| diesel::RunQueryDsl::execute(diesel::sql_query(&sql), c)).unwrap();
        assert_eq!(counted(&app, org.id).await, (2, 2), "the stale tallies still count the leaver");
        let report = declare::services::retention::run(
            &app.state.db,
            app.state.sealer.clone(),
            declare::services::retention::RunOptions {
                today: Utc::now().date_naive(),
                period_days: 365,
                dry_run: false,
                batch: 1,
                actor: declare::services::audit::Actor::cli(),
            },
        )
        .await
        .unwrap();
        assert_eq!(report.people, 1);
        assert_eq!(held(&app, early), (0, 0, 0));
        assert_eq!(counted(&app, org.id).await, (1, 1));
        assert_eq!(snapshot(&app, org.id).await, recount(&app, org.id).await);
    }

    async fn leavers_drop_out_of_current_figures_by_every_path(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("leavers-force").await;
        let hr = app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await;
        let hr_token = app.login(&hr).await;
        for name in ["full", "delta", "scim"] {
            declared(&app, org.id, name).await;
        }
        declared(&app, org.id, "kept").await;
        let scim_person = {
            let mut conn = app.raw_connection();
            assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM employees WHERE employee_number = 'E-scim'"), 1);
            app.state.db.run(move |c| declare::store::workforce::list_employees(c, &org.id.to_string(), None, 10)).await.unwrap()
                .into_iter().find(|e| e.employee_number == "E-scim").unwrap().id
        };
        assert_eq!(counted(&app, org.id).await, (4, 4));
        // A full sync without the person makes them a leaver today.
        let mut csv = HEADER.to_owned();
        for name in ["delta", "scim", "kept"] {
            let number = format!("E-{name}");
            csv.push_str(&format!("{number},,unit-{number},type-{number},,1,2020-01-01,\n"));
        }
        let r = app.authed(Method::POST, "/v1/sync/employees?mode=full&allow_mass_leavers=true", &hr_token)
            .header("content-type", "text/csv").body(csv).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(counted(&app, org.id).await, (3, 3));
        // A delta row with today's leave date.
        set_leave_dates(&app, &hr_token, &[("delta", &days_ago(0))]).await;
        assert_eq!(counted(&app, org.id).await, (2, 2));
        // SCIM de-provisioning.
        let r = app.authed(Method::DELETE, &format!("/scim/v2/Users/{scim_person}"), &hr_token).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(counted(&app, org.id).await, (1, 1));
        // A cell emptied by a single move keeps a zero row; a recount does not write one.
        let occupied = |mut cells: Vec<(declare::services::tallies::CellKey, declare::domain::tally::CellCounts)>| {
            cells.retain(|(_, c)| c.headcount > 0);
            cells
        };
        assert_eq!(occupied(snapshot(&app, org.id).await), occupied(recount(&app, org.id).await));
    }

    async fn leavers_past_the_period_are_erased_and_no_one_else(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("retention-force").await;
        let hr = app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await;
        let hr_token = app.login(&hr).await;
        let gone = declared(&app, org.id, "gone").await;
        let recent = declared(&app, org.id, "recent").await;
        let back = declared(&app, org.id, "back").await;
        let stays = declared(&app, org.id, "stays").await;
        // `back` left long ago, then came back: the sync cleared the leave date.
        set_leave_dates(&app, &hr_token, &[("gone", &days_ago(400)), ("recent", &days_ago(30)), ("back", &days_ago(500))]).await;
        set_leave_dates(&app, &hr_token, &[("back", "")]).await;
        let before = held(&app, gone);
        assert_eq!(before, (1, 2, 1), "the leaver's answers, two history rows and a consent");
        assert_eq!(key_held(&app, gone), 1);

        let (ok, out) = cli(&app, &["retention", "run", "--dry-run"]);
        assert!(ok, "{out}");
        assert!(out.contains("1 leaver(s)") && out.contains("dry run"), "{out}");
        assert!(out.contains("1 declaration(s), 2 history row(s) and 1 consent record(s) would be erased"), "{out}");
        assert_eq!(held(&app, gone), before, "a dry run erases nothing");
        assert_eq!(key_held(&app, gone), 1, "nor destroys a key");

        let (ok, out) = cli(&app, &["retention", "run"]);
        assert!(ok, "{out}");
        assert!(out.contains("1 leaver(s) in 1 organisation(s)"), "{out}");
        assert_eq!(held(&app, gone), (0, 0, 0), "erased for real, not flagged");
        assert_eq!(key_held(&app, gone), 0, "their key is destroyed with them");
        for kept in [recent, back, stays] {
            assert_eq!(held(&app, kept), (1, 2, 1), "only the leaver past the period is erased");
            assert_eq!(key_held(&app, kept), 1);
        }
        let mut conn = app.raw_connection();
        assert_eq!(
            raw_count(&mut conn, &format!("SELECT COUNT(*) AS n FROM employees WHERE id = '{gone}'")),
            1,
            "the workforce record is HR's and stays"
        );
        assert_eq!(snapshot(&app, org.id).await, recount(&app, org.id).await, "tallies equal a recount");

        let (ok, out) = cli(&app, &["retention", "run"]);
        assert!(ok, "{out}");
        assert!(out.contains("0 leaver(s)"), "a second run has nothing to do: {out}");

        let events = audit_events(&app, org.id).await;
        let erase: Vec<&Value> = events.iter().filter(|e| e["action"] == "retention.erase").collect();
        assert_eq!(erase.len(), 1, "one event per person erased, none for the dry or second run");
        assert_eq!(erase[0]["subject"], format!("employee:{gone}"));
        assert_eq!(erase[0]["actor"], "cli");
        assert_eq!(erase[0]["detail"], json!({"declarations": 1, "history": 2, "consents": 1}));
        let runs: Vec<&Value> = events.iter().filter(|e| e["action"] == "retention.run").collect();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0]["detail"]["people"], 1);
        assert_eq!(runs[0]["detail"]["period_days"], 365);
        assert_eq!(runs[0]["detail"]["cutoff"], days_ago(365));
        let text = serde_json::to_string(&events).unwrap();
        for value in ["female", "\"yes\"", "\"no\"", "disability"] {
            assert!(!text.contains(value), "the audit trail shows no answer ({value})");
        }
        let (ok, out) = cli(&app, &["audit", "verify"]);
        assert!(ok && out.contains("audit chain intact"), "{out}");
    }

    async fn serve_runs_retention_on_its_schedule(backend) {
        let app = spawn_app_with(backend, |config| {
            config.retention = Retention { period_days: 365, interval_seconds: 1 };
        })
        .await;
        let org = app.create_org("schedule-force").await;
        let hr = app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await;
        let hr_token = app.login(&hr).await;
        let gone = declared(&app, org.id, "gone").await;
        let stays = declared(&app, org.id, "stays").await;
        set_leave_dates(&app, &hr_token, &[("gone", &days_ago(366))]).await;
        // Wait for the schedule by polling what it does, not by timing it.
        let mut waited = 0;
        while held(&app, gone) != (0, 0, 0) {
            assert!(waited < 600, "the scheduled retention never ran");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }
        assert_eq!(held(&app, stays), (1, 2, 1));
        let events = audit_events(&app, org.id).await;
        let erase = events.iter().find(|e| e["action"] == "retention.erase").unwrap();
        assert_eq!(erase["actor"], "system:retention");
        assert_eq!(erase["subject"], format!("employee:{gone}"));
        assert_eq!(snapshot(&app, org.id).await, recount(&app, org.id).await);
        assert!(declare::services::audit::verify(&app.state.db).await.unwrap().is_ok());
    }
}

/// Decision 0022: two instances running retention at once make one run. Whoever finds the
/// PostgreSQL advisory lock taken does nothing, so there is one `retention.run` with the whole
/// count (without the lock, two runs in small batches each erased part of the leavers and each
/// recorded a `retention.run` with part of the count), and still one `retention.erase` each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_at_once_on_postgresql_make_one_run() {
    let app = spawn_app(crate::helpers::Backend::Postgres).await;
    let org = app.create_org("two-runs").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let (token, id) = app.consenting_employee(org.id, &format!("leaver{i}")).await;
        app.declare_answers(&token, json!({"disability": {"gateway": "yes"}}))
            .await;
        ids.push(format!("'{id}'"));
    }
    let mut conn = app.raw_connection();
    let sql = format!(
        "UPDATE employees SET leave_date = '{}' WHERE id IN ({})",
        days_ago(400),
        ids.join(",")
    );
    declare::with_conn!(&mut conn, |c| diesel::RunQueryDsl::execute(
        diesel::sql_query(&sql),
        c
    ))
    .unwrap();
    let run = || {
        declare::services::retention::run(
            &app.state.db,
            app.state.sealer.clone(),
            declare::services::retention::RunOptions {
                today: Utc::now().date_naive(),
                period_days: 365,
                dry_run: false,
                batch: 1,
                actor: declare::services::audit::Actor::cli(),
            },
        )
    };
    let (a, b) = tokio::join!(run(), run());
    let people = a.unwrap().people + b.unwrap().people;
    assert_eq!(people, 12);
    let mut conn = app.raw_connection();
    assert_eq!(
        raw_count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'retention.erase'"
        ),
        12
    );
    assert_eq!(
        raw_count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'retention.run'"
        ),
        1,
        "one run, not two halves"
    );
    // The lock is released: a later run takes it (and finds nothing due).
    assert_eq!(run().await.unwrap().people, 0);
    assert_eq!(
        raw_count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory'"
        ),
        0
    );
}
