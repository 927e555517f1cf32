//! The audit trail: recorded, paged for auditors only, hash-chained, tamper-evident, and
//! never forked by concurrent writers.

use declare::services::audit::{self, Actor};
use reqwest::Method;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

fn actor(org: uuid::Uuid) -> Actor {
    Actor {
        id: "account:test".into(),
        organisation_id: Some(org),
        request_id: None,
    }
}

fn verify_cli(app: &TestApp) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_declare"))
        .args(["audit", "verify"])
        .env("DECLARE_DATABASE_URL", &app.db.url)
        .env("DECLARE_DATA_DIR", app.db.data_dir())
        .output()
        .unwrap()
}

fn raw_sql(app: &TestApp, sql: &str) {
    use diesel::{Connection as _, RunQueryDsl as _};
    match app.db.backend {
        Backend::Sqlite => {
            let mut c =
                diesel::SqliteConnection::establish(app.db.url.trim_start_matches("sqlite://"))
                    .unwrap();
            diesel::sql_query(sql).execute(&mut c).unwrap();
        }
        Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(&app.db.url).unwrap();
            diesel::sql_query(sql).execute(&mut c).unwrap();
        }
    };
}

on_both_backends! {
    async fn auditors_page_through_their_organisations_trail(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("audit-force").await;
        let other = app.create_org("other-force").await;
        for i in 0..5 {
            audit::record(&app.state.db, actor(org.id).event("declaration.read", Some(format!("employee:{i}")))).await.unwrap();
        }
        audit::record(&app.state.db, actor(other.id).event("declaration.read", Some("employee:x".into()))).await.unwrap();
        let auditor = app.create_account(Some(org.id), "audrey", &["auditor"]).await;
        let token = app.login(&auditor).await;

        let first: serde_json::Value =
            app.authed(Method::GET, "/v1/audit?limit=3", &token).send().await.unwrap().json().await.unwrap();
        assert_eq!(first["events"].as_array().unwrap().len(), 3);
        let after = first["next_after"].as_i64().unwrap();
        let rest: serde_json::Value = app
            .authed(Method::GET, &format!("/v1/audit?limit=10&after={after}"), &token)
            .send().await.unwrap().json().await.unwrap();
        // The organisation's creation, five reads, the auditor's account and own login; never
        // the other organisation's events.
        let all: Vec<_> = first["events"].as_array().unwrap().iter().chain(rest["events"].as_array().unwrap()).collect();
        assert_eq!(all.len(), 8);
        assert!(all.iter().any(|e| e["action"] == "organisation.create"));
        assert!(all.iter().any(|e| e["action"] == "account.create"));
        assert!(all.iter().all(|e| e["subject"] != "employee:x"));
        assert!(all.iter().any(|e| e["action"] == "auth.login"));
        let bad = app.authed(Method::GET, "/v1/audit?limit=0", &token).send().await.unwrap();
        assert_problem(bad, 400).await;
        let hr = app.create_account(Some(org.id), "harriet", &["hr_admin"]).await;
        let hr_token = app.login(&hr).await;
        assert_eq!(app.authed(Method::GET, "/v1/audit", &hr_token).send().await.unwrap().status(), 403);
    }

    async fn verify_finds_an_edited_or_deleted_event(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("tamper-force").await;
        for action in ["consent.grant", "declaration.write", "declaration.read", "export.read"] {
            audit::record(&app.state.db, actor(org.id).event(action, Some("employee:1".into()))).await.unwrap();
        }
        let ok = verify_cli(&app);
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        // The four and the organisation's creation.
        assert!(String::from_utf8_lossy(&ok.stdout).contains("5 event(s)"));

        raw_sql(&app, "UPDATE audit_events SET action = 'declaration.read' WHERE seq = 2");
        let broken = verify_cli(&app);
        assert!(!broken.status.success());
        assert!(String::from_utf8_lossy(&broken.stderr).contains("broken at event 2"), "{}", String::from_utf8_lossy(&broken.stderr));
    }

    async fn concurrent_appends_never_fork_the_chain(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("busy-force").await;
        let writers: Vec<_> = (0..24)
            .map(|i| {
                let db = app.state.db.clone();
                let event = actor(org.id).event("declaration.write", Some(format!("employee:{i}")));
                tokio::spawn(async move { audit::record(&db, event).await })
            })
            .collect();
        for w in writers {
            w.await.unwrap().unwrap();
        }
        let report = audit::verify(&app.state.db).await.unwrap().unwrap();
        assert_eq!(report.events, 24 + 1, "and the organisation's creation");
    }

    async fn an_event_commits_with_its_change_and_is_chained_by_the_backends_rule(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("pending-force").await;
        // The organisation's creation is the trail's first event, sealed before counting.
        audit::seal(&app.state.db).await.unwrap();
        let counts = || {
            let mut conn = app.state.db.get(std::time::Duration::from_secs(5)).unwrap();
            let pending = declare::store::audit::pending_count(&mut conn).unwrap();
            let sealed = declare::store::audit::page(&mut conn, None, 0, 1000).unwrap().len();
            (pending, sealed)
        };
        // A transaction that fails after recording leaves nothing behind, pending or sealed.
        let failed: Result<(), declare::store::StoreError> = app.state.db.run(move |conn| conn.transaction(|conn| {
            audit::append(conn, actor(org.id).event("declaration.write", None))?;
            Err(declare::store::StoreError::Corrupt("abandoned".into()))
        })).await;
        assert!(failed.is_err());
        assert_eq!(counts(), (0, 1));
        audit::record(&app.state.db, actor(org.id).event("declaration.write", None)).await.unwrap();
        match backend {
            // One writer: chained in the recording transaction.
            Backend::Sqlite => assert_eq!(counts(), (0, 2)),
            // Recorded unsealed, off the trail's lock; chained by the next seal.
            Backend::Postgres => assert_eq!(counts(), (1, 1)),
        }
        audit::seal(&app.state.db).await.unwrap();
        assert_eq!(counts(), (0, 2));
        assert_eq!(audit::verify(&app.state.db).await.unwrap().unwrap().events, 2);
    }

    async fn serve_seals_pending_events_without_any_reader(backend) {
        let app = spawn_app_with(backend, |c| c.audit_seal_interval_ms = 20).await;
        let org = app.create_org("sealer-force").await;
        for i in 0..5 {
            audit::record(&app.state.db, actor(org.id).event("declaration.write", Some(format!("employee:{i}")))).await.unwrap();
        }
        let mut conn = app.state.db.get(std::time::Duration::from_secs(5)).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while declare::store::audit::pending_count(&mut conn).unwrap() > 0 {
            assert!(std::time::Instant::now() < deadline, "the seal task never sealed");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // create_org's own events are on the trail too; all of them chained, none lost.
        let sealed = declare::store::audit::page(&mut conn, Some(&org.id.to_string()), 0, 1000).unwrap();
        assert_eq!(sealed.iter().filter(|e| e.action == "declaration.write").count(), 5);
    }

    async fn paging_with_after_never_misses_or_repeats_an_event_while_others_write(backend) {
        // The seal task runs too, racing the readers' own sealing.
        let app = spawn_app_with(backend, |c| c.audit_seal_interval_ms = 10).await;
        let org = app.create_org("paging-force").await;
        let auditor = app.create_account(Some(org.id), "audra", &["auditor"]).await;
        let token = app.login(&auditor).await;
        let app = Arc::new(app);
        let done = Arc::new(AtomicBool::new(false));
        let (writers, per_writer) = (6, 20);
        let writing: Vec<_> = (0..writers)
            .map(|w| {
                let db = app.state.db.clone();
                tokio::spawn(async move {
                    for i in 0..per_writer {
                        let event = actor(org.id).event("declaration.write", Some(format!("employee:{w}-{i}")));
                        audit::record(&db, event).await.unwrap();
                    }
                })
            })
            .collect();
        let paging: Vec<_> = (0..2)
            .map(|_| {
                let (app, token, done) = (app.clone(), token.clone(), done.clone());
                tokio::spawn(async move {
                    let (mut after, mut seen) = (0i64, Vec::<(i64, String, String)>::new());
                    loop {
                        // Read `done` before the page: a page read after the last write
                        // committed and coming back empty means the trail has been read to its end.
                        let finished = done.load(Ordering::SeqCst);
                        let page: serde_json::Value = app
                            .authed(Method::GET, &format!("/v1/audit?limit=7&after={after}"), &token)
                            .send().await.unwrap().json().await.unwrap();
                        let events = page["events"].as_array().unwrap();
                        for e in events {
                            let seq = e["seq"].as_i64().unwrap();
                            seen.push((seq, e["action"].as_str().unwrap().to_owned(),
                                e["subject"].as_str().unwrap_or("").to_owned()));
                            after = seq;
                        }
                        if events.is_empty() && finished {
                            return seen;
                        }
                    }
                })
            })
            .collect();
        for w in writing {
            w.await.unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let expected: BTreeSet<String> = (0..writers)
            .flat_map(|w| (0..per_writer).map(move |i| format!("employee:{w}-{i}")))
            .collect();
        for p in paging {
            let seen = p.await.unwrap();
            assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "seqs repeat or go backwards");
            let writes: Vec<&String> = seen.iter().filter(|e| e.1 == "declaration.write").map(|e| &e.2).collect();
            let distinct: BTreeSet<String> = writes.iter().map(|s| s.to_string()).collect();
            assert_eq!(writes.len(), distinct.len(), "an event was returned twice");
            assert_eq!(distinct, expected, "an event was skipped");
        }
        assert!(audit::verify(&app.state.db).await.unwrap().is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_event_is_a_gap() {
    let app = spawn_app(Backend::Sqlite).await;
    let org = app.create_org("gap-force").await;
    for _ in 0..3 {
        audit::record(&app.state.db, actor(org.id).event("declaration.read", None))
            .await
            .unwrap();
    }
    raw_sql(&app, "DELETE FROM audit_events WHERE seq = 2");
    let broken = audit::verify(&app.state.db).await.unwrap().unwrap_err();
    assert_eq!(broken.seq, 3);
}
