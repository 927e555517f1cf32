//! Crypto-shredding (issue 14 item 3): erasing a person destroys their data key in the same
//! transaction, so the copies of their ciphertexts a database keeps after a DELETE (SQLite's
//! WAL and free pages, PostgreSQL's dead tuples) no longer open with any person key still
//! held, and on SQLite they are gone from the files too. A copy of the *key* row taken before
//! (a backup) still opens with the service key until that key is rotated out: the last part
//! of the test rotates and proves nothing taken before opens any more (decision 0019).

use std::sync::Arc;

use declare::config::{random_secret, KeyedSecret};
use declare::crypto::{Sealed, Sealer, PERSON_KEY_ID};
use declare::services::declarations::{declaration_context, history_context, person_key_context};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{raw_count, spawn_app, Backend, TestApp};
use crate::on_both_backends;

/// A sealed row as a backup holds it: the bytes and the context the service would open it with.
struct Copy {
    sealed: Sealed,
    context: Vec<u8>,
}

fn person_rows(app: &TestApp, employee: &str) -> Vec<Copy> {
    let mut conn = app.raw_connection();
    let mut out = Vec::new();
    if let Some(row) = declare::store::declarations::find(&mut conn, employee).unwrap() {
        out.push(Copy {
            sealed: Sealed {
                key_id: row.key_id,
                blob: row.sealed,
            },
            context: declaration_context(employee),
        });
    }
    for h in declare::store::declarations::history(&mut conn, employee).unwrap() {
        out.push(Copy {
            sealed: Sealed {
                key_id: h.key_id,
                blob: h.sealed,
            },
            context: history_context(employee, h.seq),
        });
    }
    out
}

fn key_copy(app: &TestApp, employee: &str) -> Copy {
    let mut conn = app.raw_connection();
    let row = declare::store::person_keys::find(&mut conn, employee)
        .unwrap()
        .unwrap();
    Copy {
        context: person_key_context(&row.organisation_id, employee),
        sealed: Sealed {
            key_id: row.key_id,
            blob: row.sealed,
        },
    }
}

/// Every key `sealer` can still reach: the service keys themselves, and each person key left
/// in the database opened with them.
fn answers_open_with_a_held_key(app: &TestApp, sealer: &Sealer, copy: &Copy) -> bool {
    let mut conn = app.raw_connection();
    let people = declare::store::person_keys::all(&mut conn).unwrap();
    let person_opens = people.iter().any(|row| {
        let key = sealer
            .open_data_key(
                &Sealed {
                    key_id: row.key_id.clone(),
                    blob: row.sealed.clone(),
                },
                &person_key_context(&row.organisation_id, &row.employee_id),
            )
            .unwrap();
        key.open(&copy.sealed, &copy.context).is_ok()
    });
    let as_service = Sealed {
        key_id: sealer.current_key_id().to_owned(),
        blob: copy.sealed.blob.clone(),
    };
    person_opens
        || sealer.open(&copy.sealed, &copy.context).is_ok()
        || sealer.open(&as_service, &copy.context).is_ok()
}

/// The raw SQLite database and WAL files, as a copy of them would hold.
fn sqlite_files(app: &TestApp) -> Vec<u8> {
    let path = app.db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
    bytes
}

fn holds(files: &[u8], copy: &Copy) -> bool {
    // The start of the ciphertext: always in one page, whatever overflow pages follow.
    let probe = &copy.sealed.blob[12..60];
    files.windows(probe.len()).any(|w| w == probe)
}

on_both_backends! {
    async fn withdrawal_destroys_the_key_so_earlier_copies_no_longer_open(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("shred-force").await;
        let (token, gone) = app.consenting_employee(org.id, "pc-gone").await;
        let (other, kept) = app.consenting_employee(org.id, "pc-kept").await;
        let gone = gone.to_string();
        app.declare_answers(&token, json!({"sex": {"gateway": "female"}})).await;
        let mut copies = person_rows(&app, &gone);
        app.declare_answers(&token, json!({"sex": {"gateway": "male"}, "religion_belief": {"gateway": "christian"}})).await;
        copies.extend(person_rows(&app, &gone));
        app.declare_answers(&other, json!({"sex": {"gateway": "female"}})).await;
        let key = key_copy(&app, &gone);
        assert!(copies.iter().all(|c| c.sealed.key_id == PERSON_KEY_ID));
        let sealer = app.state.sealer.clone();
        assert!(copies.iter().all(|c| answers_open_with_a_held_key(&app, &sealer, c)), "before: every copy opens");
        let files_before = (backend == Backend::Sqlite).then(|| sqlite_files(&app));
        if let Some(files) = &files_before {
            assert!(copies.iter().chain([&key]).all(|c| holds(files, c)), "the files hold every copy before");
        }

        let r = app.authed(Method::PUT, "/v1/me/consents", &token)
            .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": false}}))
            .send().await.unwrap();
        assert_eq!(r.status(), 200);

        let mut conn = app.raw_connection();
        assert_eq!(raw_count(&mut conn, &format!("SELECT COUNT(*) AS n FROM person_keys WHERE employee_id = '{gone}'")), 0);
        assert_eq!(raw_count(&mut conn, &format!("SELECT COUNT(*) AS n FROM person_keys WHERE employee_id = '{kept}'")), 1);
        for copy in &copies {
            assert!(!answers_open_with_a_held_key(&app, &sealer, copy), "a copy of the answers still opens");
        }
        if backend == Backend::Sqlite {
            let files = sqlite_files(&app);
            for copy in copies.iter().chain([&key]) {
                assert!(!holds(&files, copy), "an erased ciphertext is still in the database files");
            }
        }

        // A backup from before still holds the sealed key, which the service key opens...
        assert!(sealer.open_data_key(&key.sealed, &key.context).is_ok());
        // ...until that key is retired: then nothing taken before opens with any key held.
        let old = app.state.config.encryption_key.clone();
        let new = KeyedSecret { id: "k-after".into(), secret: random_secret(32) };
        let rotating = Arc::new(Sealer::new(&new, std::slice::from_ref(&old)).unwrap());
        declare::services::rotation::rotate_keys(&app.state.db, rotating, 10, |_| {}).await.unwrap();
        let retired = Sealer::new(&new, &[]).unwrap();
        assert!(retired.open_data_key(&key.sealed, &key.context).is_err());
        let as_new = Sealed { key_id: new.id.clone(), blob: key.sealed.blob.clone() };
        assert!(retired.open_data_key(&as_new, &key.context).is_err());
        for copy in &copies {
            assert!(!answers_open_with_a_held_key(&app, &retired, copy));
        }
        // The person who stayed still reads their answers with the new key alone.
        let (answers, _) = declare::services::declarations::stored_answers(
            &app.state.db, Arc::new(retired), kept).await.unwrap().unwrap();
        assert_eq!(answers["sex"].gateway, "female");
    }

    async fn deleting_the_declaration_destroys_the_key_too(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("shred-delete").await;
        let (token, gone) = app.consenting_employee(org.id, "pc-delete").await;
        app.declare_answers(&token, json!({"sex": {"gateway": "female"}})).await;
        let copies = person_rows(&app, &gone.to_string());
        let mut conn = app.raw_connection();
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM person_keys"), 1);
        let r = app.authed(Method::DELETE, "/v1/me/declaration", &token).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM person_keys"), 0);
        let sealer = app.state.sealer.clone();
        for copy in &copies {
            assert!(!answers_open_with_a_held_key(&app, &sealer, copy));
        }
        // Declaring again makes a new key: the old copies stay closed.
        app.declare_answers(&token, json!({"sex": {"gateway": "male"}})).await;
        for copy in &copies {
            assert!(!answers_open_with_a_held_key(&app, &sealer, copy));
        }
    }
}
