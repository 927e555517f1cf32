//! Key rotation covers every kind of sealed data: after `rotate-key`, the service restarted
//! with only the new key still reads every declaration, its history, the live figures and the
//! snapshot figures, unchanged, and no row is left under the old key. Per-person keys are
//! re-sealed (the answers under them are untouched), and rows from before per-person keys
//! and padding move under their owner's key, padded.

use std::sync::Arc;

use declare::config::{random_secret, KeyedSecret};
use declare::crypto::Sealer;
use declare::services::rotation::{self, Rotation};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{raw_count, spawn_app, TestApp};
use crate::on_both_backends;
use crate::snapshots::{first_of_month, take_at};
use crate::stats::{figures, force_named, sync_and_answer, workforce};

const SEALED_TABLES: [&str; 6] = [
    "declarations",
    "declaration_history",
    "person_keys",
    "tallies",
    "stats_snapshots",
    "noise_secrets",
];

/// Seals as the service did before per-person keys and padding: the plaintext as it is,
/// under the service key, the context as associated data.
fn legacy_seal(key: &KeyedSecret, plain: &[u8], context: &[u8]) -> Vec<u8> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key.bytes()).unwrap();
    let nonce = [7u8; 12];
    let sealed = cipher
        .encrypt(
            aes_gcm::Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: context,
            },
        )
        .unwrap();
    [&nonce[..], &sealed].concat()
}

/// Rewrites one person's declaration and history as rows written before per-person keys
/// (unpadded, under the service key `key`), and destroys their key.
async fn make_legacy(app: &TestApp, key: &KeyedSecret, employee: uuid::Uuid) {
    use declare::services::declarations::{declaration_context, history_context};
    let (answers, history) = declare::services::declarations::stored_answers(
        &app.state.db,
        app.state.sealer.clone(),
        employee,
    )
    .await
    .unwrap()
    .unwrap();
    let mut conn = app.raw_connection();
    let id = employee.to_string();
    let row = declare::store::declarations::find(&mut conn, &id)
        .unwrap()
        .unwrap();
    let blob = legacy_seal(
        key,
        &serde_json::to_vec(&answers).unwrap(),
        &declaration_context(&id),
    );
    assert_eq!(
        declare::store::declarations::reseal_declaration(
            &mut conn,
            &id,
            row.version,
            "person",
            &key.id,
            &blob
        )
        .unwrap(),
        1
    );
    for (h, answers) in declare::store::declarations::history(&mut conn, &id)
        .unwrap()
        .into_iter()
        .zip(history)
    {
        let blob = legacy_seal(
            key,
            &serde_json::to_vec(&answers).unwrap(),
            &history_context(&id, h.seq),
        );
        assert_eq!(
            declare::store::declarations::reseal_history(
                &mut conn, &h.id, "person", &key.id, &blob
            )
            .unwrap(),
            1
        );
    }
    assert_eq!(
        declare::store::person_keys::destroy(&mut conn, &[id]).unwrap(),
        1
    );
}

fn keyed_rows(app: &TestApp, key_id: &str) -> Vec<i64> {
    let mut conn = app.raw_connection();
    SEALED_TABLES
        .iter()
        .map(|table| {
            raw_count(
                &mut conn,
                &format!("SELECT COUNT(*) AS n FROM {table} WHERE key_id = '{key_id}'"),
            )
        })
        .collect()
}

/// Declares `answers` (consenting first if needed) through the API.
async fn answer(app: &TestApp, token: &str, answers: Value) {
    let r = app
        .authed(Method::PUT, "/v1/me/consents", token)
        .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.declare_answers(token, answers).await;
}

async fn declaration(app: &TestApp, token: &str) -> Value {
    let r = app
        .authed(Method::GET, "/v1/me/declaration", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

on_both_backends! {
    async fn after_rotation_only_the_new_key_is_needed_for_anything(backend) {
        let app = spawn_app(backend).await;
        let old = app.state.config.encryption_key.clone();
        let (hr, edi, org) = force_named(&app, "rotor").await;
        sync_and_answer(&app, &hr, org, &workforce()).await;
        let (login, employee) = app.create_employee_account(org, "pc-rota").await;
        let token = app.login(&login).await;
        answer(&app, &token, json!({"disability": {"gateway": "yes"}, "sex": {"gateway": "female"}})).await;
        answer(&app, &token, json!({"disability": {"gateway": "no"}, "sex": {"gateway": "female"}})).await;
        take_at(&app, org, first_of_month(1)).await;
        let snapshot = figures(&app, &edi, "/v1/stats/snapshots").await[0]["id"].as_str().unwrap().to_owned();
        let (legacy_login, legacy) = app.create_employee_account(org, "pc-legacy").await;
        let legacy_token = app.login(&legacy_login).await;
        answer(&app, &legacy_token, json!({"sex": {"gateway": "male"}})).await;
        answer(&app, &legacy_token, json!({"sex": {"gateway": "male"}, "disability": {"gateway": "no"}})).await;
        let legacy_before = declare::services::declarations::stored_answers(
            &app.state.db, app.state.sealer.clone(), legacy).await.unwrap().unwrap();
        make_legacy(&app, &old, legacy).await;
        assert_eq!(
            declare::services::declarations::stored_answers(&app.state.db, app.state.sealer.clone(), legacy).await.unwrap().unwrap(),
            legacy_before,
            "rows from before per-person keys and padding still read"
        );

        // A re-seal read before a tally changed must not overwrite the change.
        let before_change = app.state.db.run(|conn| declare::store::tallies::stale(conn, "none", 1000)).await.unwrap();
        answer(&app, &token, json!({"disability": {"gateway": "prefer_not_to_say"}, "sex": {"gateway": "female"}})).await;
        let after_change = app.state.db.run(|conn| declare::store::tallies::stale(conn, "none", 1000)).await.unwrap();
        let changed: Vec<_> = before_change.into_iter().filter(|row| !after_change.contains(row)).collect();
        assert!(!changed.is_empty(), "the answer moved between tally groups");
        for (org, cell, version, key, _) in changed {
            let written = app.state.db
                .run(move |conn| declare::store::tallies::reseal(conn, &org, &cell, version, &key, "stale", b"stale"))
                .await
                .unwrap();
            assert_eq!(written, 0, "a stale re-seal lost a concurrent change");
        }

        let questions: Vec<String> = [
            "/v1/stats/completion?characteristic=disability&by=org_unit",
            "/v1/stats/distribution?characteristic=disability&by=staff_type",
            "/v1/stats/distribution?characteristic=sex&by=org_unit",
        ]
        .iter()
        .flat_map(|q| [q.to_string(), format!("{q}&snapshot={snapshot}")])
        .collect();
        let mut before = Vec::new();
        for q in &questions {
            before.push(figures(&app, &edi, q).await);
        }
        let declared = declaration(&app, &token).await;
        let (answers, history) = declare::services::declarations::stored_answers(
            &app.state.db, app.state.sealer.clone(), employee).await.unwrap().unwrap();
        assert!(keyed_rows(&app, &old.id).iter().all(|&n| n > 0), "every kind is sealed under the old key");

        let new = KeyedSecret { id: "k-new".into(), secret: random_secret(32) };
        let rotating = Arc::new(Sealer::new(&new, std::slice::from_ref(&old)).unwrap());
        let done = rotation::rotate_keys(&app.state.db, rotating.clone(), 2, |_| {}).await.unwrap();
        // The legacy person's rows moved under a key of their own; the other's key was re-sealed.
        assert_eq!((done.declarations, done.history, done.person_keys, done.snapshots, done.noise_secrets), (1, 2, 1, 1, 1));
        assert!(done.tallies >= 3, "{done}");
        assert_eq!(keyed_rows(&app, &old.id), vec![0; SEALED_TABLES.len()], "nothing left under the old key");
        assert_eq!(keyed_rows(&app, "k-new")[..3], [0, 0, 2], "answers under person keys, both keys under the new one");
        let padded = 12 + declare::crypto::padding::DECLARATION_CLASS + 16;
        let mut conn = app.raw_connection();
        let lengths: Vec<usize> = crate::helpers::raw_sealed(&mut conn, "SELECT sealed FROM declarations")
            .into_iter()
            .chain(crate::helpers::raw_sealed(&mut conn, "SELECT sealed FROM declaration_history"))
            .map(|b| b.len())
            .collect();
        assert!(lengths.iter().all(|&n| n == padded), "re-sealed rows are padded: {lengths:?}");
        let again = rotation::rotate_keys(&app.state.db, rotating, 10, |_| {}).await.unwrap();
        assert_eq!(again, Rotation::default(), "rerunning finds nothing to do");

        // The operator drops the old key and restarts: everything still reads, unchanged.
        let restarted = app.restart_with(|config| {
            config.encryption_key = new.clone();
            config.encryption_previous_keys = Vec::new();
        }).await;
        for (q, then) in questions.iter().zip(&before) {
            let now = figures(&restarted, &edi, q).await;
            if q.contains("snapshot=") {
                assert_eq!(&now, then, "{q} changed");
            } else {
                assert_eq!(now["rows"], then["rows"], "{q} changed");
            }
        }
        assert_eq!(declaration(&restarted, &token).await, declared);
        let (answers_now, history_now) = declare::services::declarations::stored_answers(
            &restarted.state.db, restarted.state.sealer.clone(), employee).await.unwrap().unwrap();
        assert_eq!((answers_now, history_now), (answers, history));
        assert_eq!(
            declare::services::declarations::stored_answers(&restarted.state.db, restarted.state.sealer.clone(), legacy).await.unwrap().unwrap(),
            legacy_before
        );
        // The re-sealed tallies still take changes under the new key alone.
        let tallies_then = crate::tallies::snapshot(&restarted, org).await;
        answer(&restarted, &token, json!({"disability": {"gateway": "yes"}, "sex": {"gateway": "female"}})).await;
        assert_ne!(crate::tallies::snapshot(&restarted, org).await, tallies_then);
        assert_eq!(keyed_rows(&restarted, &old.id), vec![0; SEALED_TABLES.len()]);
    }
}
