//! The audit trail: recorded, paged for auditors only, hash-chained, tamper-evident, and
//! never forked by concurrent writers.

use declare::services::audit::{self, Actor};
use reqwest::Method;

use crate::helpers::{assert_problem, spawn_app, Backend, TestApp};
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
            .authed(Method::GET, &format!("/v1/audit?limit=3&after={after}"), &token)
            .send().await.unwrap().json().await.unwrap();
        // Five reads plus the auditor's own login; never the other organisation's event.
        let all: Vec<_> = first["events"].as_array().unwrap().iter().chain(rest["events"].as_array().unwrap()).collect();
        assert_eq!(all.len(), 6);
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
        assert!(String::from_utf8_lossy(&ok.stdout).contains("4 event(s)"));

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
        assert_eq!(report.events, 24);
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
