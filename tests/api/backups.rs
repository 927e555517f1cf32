//! Backup and restore on both backends (issue 17), and what erasure does to a backup (issue 14,
//! decision 0027): `declare admin backup` while the service runs; a person withdraws after it;
//! the backup restored beside the same key store gives everyone else's answers back, while the
//! withdrawn person's sealed key, back in the restored database, opens with nothing the
//! service holds; `declare admin purge-erased` then removes their rows and recounts.

use diesel::{Connection as _, PgConnection, RunQueryDsl as _};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{
    cli, cli_with_env, postgres_admin_url, raw_count, spawn_app, Backend, TestApp,
};
use crate::on_both_backends;

/// Restores `backup` as a new database: (its URL, its PostgreSQL name to drop afterwards).
fn restore(app: &TestApp, backup: &std::path::Path) -> (String, Option<String>) {
    match app.db.backend {
        Backend::Sqlite => {
            let restored = app.db.data_dir().join("restored.db");
            std::fs::copy(backup, &restored).unwrap();
            (format!("sqlite://{}", restored.display()), None)
        }
        Backend::Postgres => {
            let name = format!("declare_test_restored_{}", uuid::Uuid::new_v4().simple());
            let admin = postgres_admin_url();
            let mut conn = PgConnection::establish(&admin).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .unwrap();
            let base = admin.rsplit_once('/').unwrap().0.to_owned();
            let url = format!("{base}/{name}");
            let out = std::process::Command::new("pg_restore")
                .args(["--no-owner", "--dbname", &url])
                .arg(backup)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            (url, Some(name))
        }
    }
}

/// Drops the restored PostgreSQL database when the test ends, passed or failed.
struct Restored(Option<String>);

impl Drop for Restored {
    fn drop(&mut self) {
        if let Some(name) = &self.0 {
            if let Ok(mut conn) = PgConnection::establish(&postgres_admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

on_both_backends! {
    async fn a_restored_backup_reads_back_everyone_but_those_erased_since(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("backup-force").await;
        let (gone_token, gone) = app.consenting_employee(org.id, "pc-gone").await;
        let (kept_token, kept) = app.consenting_employee(org.id, "pc-kept").await;
        app.declare_answers(&gone_token, json!({"sex": {"gateway": "female"}})).await;
        app.declare_answers(&kept_token, json!({"sex": {"gateway": "male"}, "religion_belief": {"gateway": "christian"}})).await;

        let backup = app.db.data_dir().join("backup.dump");
        let (ok, out) = cli(&app, &["admin", "backup", "--to", backup.to_str().unwrap()]);
        assert!(ok, "{out}");
        assert!(out.contains("backup written"), "{out}");
        let (ok, out) = cli(&app, &["admin", "backup", "--to", backup.to_str().unwrap()]);
        assert!(!ok && out.contains("exists already"), "a backup never overwrites: {out}");

        // After the backup, one person withdraws: an erasure.
        let r = app.authed(Method::PUT, "/v1/me/consents", &gone_token)
            .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": false}}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);

        let key_store = declare::store::key_store::default_url(&app.db.url).unwrap();
        let (url, pg_name) = restore(&app, &backup);
        let _restored_db = Restored(pg_name);
        let restored = app.restart_with(|c| {
            c.database_url = url.clone();
            c.key_store_url = Some(key_store.clone());
        }).await;

        // Everyone else's answers read back, through the API, with their sign-in.
        let r = restored.authed(Method::GET, "/v1/me/declaration", &kept_token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["answers"]["sex"]["gateway"], "male", "{body}");
        assert_eq!(body["answers"]["religion_belief"]["gateway"], "christian");

        // The erased person's rows came back with the backup, but nothing of theirs opens.
        let store = declare::store::Database::connect(&url, 1).unwrap();
        let mut conn = store.get(std::time::Duration::from_secs(5)).unwrap();
        let row = declare::store::person_keys::find(&mut conn, &gone.to_string()).unwrap().unwrap();
        let sealed = declare::crypto::Sealed { key_id: row.key_id.clone(), blob: row.sealed.clone() };
        let context = declare::services::answer_keys::person_key_context(&row.organisation_id, &row.employee_id);
        assert_eq!(
            restored.state.sealer.open_data_key(&sealed, &context, row.leaf).err(),
            Some(declare::crypto::CryptoError::Erased)
        );
        let r = restored.authed(Method::GET, "/v1/me/declaration", &gone_token).send().await.unwrap();
        let problem = crate::helpers::assert_problem(r, 409).await;
        assert!(problem["detail"].as_str().unwrap().contains("erased"), "{problem}");

        // The purge removes them for good and recounts; the others are untouched.
        let env = [("DECLARE_DATABASE_URL", url.as_str()), ("DECLARE_KEY_STORE_URL", key_store.as_str())];
        let (ok, out) = cli_with_env(&app, &["admin", "purge-erased"], &env);
        assert!(ok, "{out}");
        assert!(out.contains("purged 1 erased person(s); recounted 1 organisation(s)"), "{out}");
        let gone_id = gone.to_string();
        assert_eq!(raw_count(&mut conn, &format!("SELECT COUNT(*) AS n FROM declarations WHERE employee_id = '{gone_id}'")), 0);
        assert_eq!(raw_count(&mut conn, &format!("SELECT COUNT(*) AS n FROM person_keys WHERE employee_id = '{gone_id}'")), 0);
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM person_keys"), 1);
        let (ok, out) = cli_with_env(&app, &["admin", "purge-erased"], &env);
        assert!(ok && out.contains("purged 0"), "a rerun purges no one: {out}");
        let (ok, out) = cli_with_env(&app, &["audit", "verify"], &env);
        assert!(ok, "{out}");
        let r = restored.authed(Method::GET, "/v1/me/declaration", &kept_token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let _ = kept;
    }

    async fn a_database_refuses_a_key_store_that_is_not_its_own(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("keystore-force").await;
        let (token, _) = app.consenting_employee(org.id, "pc-one").await;
        app.declare_answers(&token, json!({"sex": {"gateway": "female"}})).await;
        let elsewhere = format!("sqlite://{}", app.db.data_dir().join("other.keystore").display());
        let (ok, out) = cli_with_env(&app, &["retention", "run", "--dry-run"], &[("DECLARE_KEY_STORE_URL", &elsewhere)]);
        assert!(!ok, "{out}");
        assert!(out.contains("is not the one this database's person keys are sealed under"), "{out}");
        let (ok, out) = cli(&app, &["retention", "run", "--dry-run"]);
        assert!(ok, "{out}");
    }
}
