//! Issue 14 item 5 (decision 0018): a stranger's failed sign-ins slow the stranger, and never
//! lock the person or the HR system's client out from their own addresses.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, TestApp};
use crate::on_both_backends;

/// A client whose connections come from `127.0.0.<last>` (the whole of 127/8 is loopback).
fn from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .unwrap()
}

async fn token(
    app: &TestApp,
    client: &reqwest::Client,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

on_both_backends! {
    async fn a_strangers_failures_lock_out_neither_the_person_nor_the_hr_client(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("throttle").await;
        let person = app.create_account(Some(org.id), "jo.person", &["employee"]).await;
        let hr = declare::services::identity::create_client(
            &app.state.db, &app.state.auth, org.id,
            declare::services::identity::NewClient { name: "HR".into(), roles: vec!["hr_sync".into()] },
        ).await.unwrap();
        let (home, stranger, new_place) = (from(1), from(2), from(3));
        let right = [("grant_type", "password"), ("username", "jo.person"), ("password", person.password.as_str())];
        let wrong = [("grant_type", "password"), ("username", "jo.person"), ("password", "not-the-password")];
        // The person has signed in from home before.
        assert_eq!(token(&app, &home, &right).await.status(), 200);

        // A stranger guesses from elsewhere until refused, with Retry-After, and stays refused.
        let mut refused = 0;
        for _ in 0..12 {
            let r = token(&app, &stranger, &wrong).await;
            if r.status() == 429 {
                let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=900).contains(&retry), "{retry}");
                assert_eq!(assert_problem(r, 429).await["error"], "temporarily_unavailable");
                refused += 1;
            } else {
                assert_eq!(r.status(), 400);
            }
        }
        assert_eq!(refused, 7, "five free guesses, then a wait");
        assert_eq!(token(&app, &stranger, &right).await.status(), 429, "even the right password waits");

        // An address the account never signed in from shares the guessers' wait: guessing from
        // many addresses is as slow as from one.
        assert_eq!(token(&app, &new_place, &right).await.status(), 429);
        // The person signs in from home at once (which also lifts that shared wait).
        let r = token(&app, &home, &right).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        assert_eq!(token(&app, &new_place, &right).await.status(), 200);

        // The HR system's client: a stranger's wrong secrets do not stop the nightly sync.
        let bad = [("grant_type", "client_credentials"), ("client_id", hr.client_id.as_str()),
                   ("client_secret", "guessed-secret")];
        for _ in 0..12 {
            let status = token(&app, &stranger, &bad).await.status();
            assert!(status == 401 || status == 429, "{status}");
        }
        assert_eq!(token(&app, &stranger, &bad).await.status(), 429);
        let good = [("grant_type", "client_credentials"), ("client_id", hr.client_id.as_str()),
                    ("client_secret", hr.client_secret.as_str())];
        let r = token(&app, &new_place, &good).await;
        assert_eq!(r.status(), 200, "the HR client gets its token at once");
        let body: Value = r.json().await.unwrap();
        assert!(body["access_token"].is_string());
    }
}

/// Decision 0022: two instances on one PostgreSQL share the throttle's counts. Guesses spread
/// over both are throttled as if made at one (with counts per process, each instance would
/// allow its own five and the guesser would get ten), and a success at one lifts the wait at
/// the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_spread_over_two_instances_on_postgresql_count_as_one() {
    let a = spawn_app(crate::helpers::Backend::Postgres).await;
    let b = a.second_instance().await;
    let org = a.create_org("throttle-two").await;
    let person = a
        .create_account(Some(org.id), "jo.twice", &["employee"])
        .await;
    let (home, stranger) = (from(1), from(2));
    let right = [
        ("grant_type", "password"),
        ("username", "jo.twice"),
        ("password", person.password.as_str()),
    ];
    let wrong = [
        ("grant_type", "password"),
        ("username", "jo.twice"),
        ("password", "not-the-password"),
    ];
    assert_eq!(token(&b, &home, &right).await.status(), 200);
    let mut statuses = Vec::new();
    for i in 0..8 {
        let app = if i % 2 == 0 { &a } else { &b };
        statuses.push(token(app, &stranger, &wrong).await.status().as_u16());
    }
    assert_eq!(
        statuses,
        [400, 400, 400, 400, 400, 429, 429, 429],
        "five free guesses across both instances, then a wait on both"
    );
    assert_eq!(token(&a, &stranger, &right).await.status(), 429);
    assert_eq!(token(&b, &stranger, &right).await.status(), 429);
    // The address the person signed in from at B is known at A too.
    assert_eq!(token(&a, &home, &right).await.status(), 200);
}
