//! Crypto-shredding (issue 14 item 3): erasing a person destroys their data key in the same
//! transaction, so the copies of their ciphertexts a database keeps after a DELETE (SQLite's
//! WAL and free pages, PostgreSQL's dead tuples) no longer open with any person key still
//! held, and on SQLite they are gone from the files too (decision 0019). A copy of the *key*
//! row taken before (a backup) no longer opens either: the key is also sealed under a leaf of
//! the key tree, whose cover is outside the database, and the erasure punctures that leaf
//! (decision 0027). The attacker here holds everything the service holds: the service keys,
//! every person key left in the database, and the key store's whole cover.

use std::sync::Arc;

use declare::config::{random_secret, KeyedSecret};
use declare::crypto::{Sealed, Sealer, PERSON_KEY_ID};
use declare::services::answer_keys::{declaration_context, history_context, person_key_context};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{raw_count, spawn_app, Backend, TestApp};
use crate::on_both_backends;

/// A sealed row as a backup holds it: the bytes and the context the service would open it with.
struct Copy {
    sealed: Sealed,
    context: Vec<u8>,
    leaf: Option<i64>,
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
            leaf: None,
        });
    }
    for h in declare::store::declarations::history(&mut conn, employee).unwrap() {
        out.push(Copy {
            sealed: Sealed {
                key_id: h.key_id,
                blob: h.sealed,
            },
            context: history_context(employee, h.seq),
            leaf: None,
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
        leaf: row.leaf,
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
                row.leaf,
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

/// Whether a copy of a sealed person key opens with anything the service holds: the service
/// keys open its outer layer; inside is the key sealed under a leaf, tried with its own leaf
/// number (as the service would) and with every key the key store's cover derives for the
/// leaves near it (an attacker's guess at any other number fails the leaf binding anyway).
fn key_opens_with_anything_held(app: &TestApp, sealer: &Sealer, key: &Copy) -> bool {
    if sealer
        .open_data_key(&key.sealed, &key.context, key.leaf)
        .is_ok()
    {
        return true;
    }
    let Some(leaf) = key.leaf else {
        return sealer
            .open_data_key(&key.sealed, &key.context, None)
            .is_ok();
    };
    let tree = sealer.leaf_keys().unwrap();
    assert!(
        tree.leaf_key(leaf as u64).unwrap().is_none(),
        "the leaf is still derivable"
    );
    // Every node left in the key store, read as an administrator would.
    let store = declare::store::Database::connect(
        &declare::store::key_store::default_url(&app.db.url).unwrap(),
        1,
    )
    .unwrap();
    let cover = declare::store::key_store::cover(
        &mut store.get(std::time::Duration::from_secs(5)).unwrap(),
    )
    .unwrap();
    assert!(!cover.is_empty());
    let leaf = leaf as u64;
    cover.iter().any(|(node, node_key)| {
        // The node itself, and every leaf key it derives near this one, as this leaf's key.
        let near = leaf.saturating_sub(64)..leaf + 64;
        sealer.opens_with_leaf_key(&key.sealed, &key.context, leaf, node_key)
            || near
                .filter_map(|l| declare::crypto::key_tree::derive(*node, node_key, l))
                .any(|k| sealer.opens_with_leaf_key(&key.sealed, &key.context, leaf, &k))
    })
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

        // A backup from before holds the sealed key: it no longer opens, with its leaf or with
        // any key the key store's cover still derives.
        assert!(key.leaf.is_some());
        assert!(!key_opens_with_anything_held(&app, &sealer, &key));
        let mut conn = app.raw_connection();
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM pending_punctures"), 0);
        // The person who stayed still reads their answers.
        let (answers, _) = declare::services::declarations::stored_answers(
            &app.state.db, sealer.clone(), kept).await.unwrap().unwrap();
        assert_eq!(answers["sex"].gateway, "female");
        // Rotation keeps working over keys under leaves: it re-seals their outer layer and the
        // erased key stays closed.
        let old = app.state.config.encryption_key.clone();
        let new = KeyedSecret { id: "k-after".into(), secret: random_secret(32) };
        let tree = sealer.leaf_keys().unwrap().clone();
        let rotating = Arc::new(Sealer::new(&new, std::slice::from_ref(&old)).unwrap().with_leaf_keys(tree.clone()));
        let done = declare::services::rotation::rotate_keys(&app.state.db, rotating.clone(), 10, |_| {}).await.unwrap();
        assert_eq!(done.person_keys, 1);
        assert!(!key_opens_with_anything_held(&app, &rotating, &key));
        let retired = Arc::new(Sealer::new(&new, &[]).unwrap().with_leaf_keys(tree));
        let (answers, _) = declare::services::declarations::stored_answers(
            &app.state.db, retired, kept).await.unwrap().unwrap();
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

// A crash between an erasure's commit and its puncture leaves the leaf queued in the main
// database; the next start punctures it. On SQLite the replaced node keys are gone from the
// key store's files too.
on_both_backends! {
    async fn queued_punctures_are_finished_at_the_next_start(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("queued-force").await;
        let (token, id) = app.consenting_employee(org.id, "pc-queued").await;
        app.declare_answers(&token, json!({"sex": {"gateway": "female"}})).await;
        let key = key_copy(&app, &id.to_string());
        let leaf = key.leaf.unwrap();
        let store_url = declare::store::key_store::default_url(&app.db.url).unwrap();
        let store = declare::store::Database::connect(&store_url, 1).unwrap();
        let cover_before = declare::store::key_store::cover(&mut store.get(std::time::Duration::from_secs(5)).unwrap()).unwrap();
        // As a crash would leave it: the leaf queued, not yet punctured.
        let mut conn = app.raw_connection();
        declare::with_conn!(&mut conn, |c| diesel::RunQueryDsl::execute(
            diesel::sql_query(format!("INSERT INTO pending_punctures (leaf, created_at) VALUES ({leaf}, CURRENT_TIMESTAMP)")), c)).unwrap();
        assert!(app.state.sealer.open_data_key(&key.sealed, &key.context, key.leaf).is_ok());

        let again = app.restart_with(|_| {}).await;
        assert_eq!(raw_count(&mut conn, "SELECT COUNT(*) AS n FROM pending_punctures"), 0);
        assert_eq!(
            again.state.sealer.open_data_key(&key.sealed, &key.context, key.leaf).err(),
            Some(declare::crypto::CryptoError::Erased)
        );
        assert!(!key_opens_with_anything_held(&app, &again.state.sealer, &key));
        let cover_after = declare::store::key_store::cover(&mut store.get(std::time::Duration::from_secs(5)).unwrap()).unwrap();
        let replaced: Vec<_> = cover_before.iter().filter(|n| !cover_after.contains(n)).collect();
        assert!(!replaced.is_empty());
        if backend == Backend::Sqlite {
            let path = store_url.strip_prefix("sqlite://").unwrap();
            let mut files = std::fs::read(path).unwrap();
            files.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
            for (_, node_key) in replaced {
                assert!(!files.windows(32).any(|w| w == node_key), "a replaced node key is still in the key store's files");
            }
        }
    }
}
