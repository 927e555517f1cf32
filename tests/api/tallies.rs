//! The tallies follow every declaration change through the API (declare, change, erase,
//! withdraw) and always equal a recount; a database dump shows no one's answer in them.

use declare::domain::tally::CellCounts;
use declare::services::tallies::{self, CellKey};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::on_both_backends;

async fn consent(app: &TestApp, token: &str, grant: bool) {
    let r = app
        .authed(Method::PUT, "/v1/me/consents", token)
        .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": grant}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// The organisation's tallies as they stand, with zero counts dropped.
pub async fn snapshot(app: &TestApp, org: uuid::Uuid) -> Vec<(CellKey, CellCounts)> {
    let sealer = app.state.sealer.clone();
    let mut cells = app
        .state
        .db
        .run(move |conn| Ok(tallies::load_org(conn, &sealer, &org.to_string())))
        .await
        .unwrap()
        .unwrap();
    for (_, counts) in &mut cells {
        counts.answers.retain(|_, groups| {
            groups.retain(|_, n| *n > 0);
            !groups.is_empty()
        });
    }
    cells
}

/// Recounts from the workforce and the stored declarations (what a sync does), then reads back.
pub async fn recount(app: &TestApp, org: uuid::Uuid) -> Vec<(CellKey, CellCounts)> {
    let sealer = app.state.sealer.clone();
    app.state
        .db
        .run(move |conn| {
            Ok(conn.transaction(|conn| {
                tallies::rebuild(
                    conn,
                    &sealer,
                    &org.to_string(),
                    tallies::counted_groups(&sealer),
                )
            }))
        })
        .await
        .unwrap()
        .unwrap();
    snapshot(app, org).await
}

on_both_backends! {
    async fn tallies_follow_every_change_and_equal_a_recount(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("tally-force").await;
        let mut tokens = Vec::new();
        for name in ["ana", "ben", "cat", "dev"] {
            let (login, _) = app.create_employee_account(org.id, name).await;
            tokens.push(app.login(&login).await);
        }
        for token in &tokens {
            consent(&app, token, true).await;
        }
        app.declare_answers(&tokens[0], json!({"disability": {"gateway": "yes"}, "sex": {"gateway": "female"}})).await;
        app.declare_answers(&tokens[1], json!({"disability": {"gateway": "prefer_not_to_say"}})).await;
        app.declare_answers(&tokens[2], json!({"sex": {"gateway": "male"}})).await;
        // Changes: ana changes her answer, ben erases, cat withdraws consent (erases), dev never answers.
        app.declare_answers(&tokens[0], json!({"disability": {"gateway": "no"}})).await;
        let r = app.authed(Method::DELETE, "/v1/me/declaration", &tokens[1]).send().await.unwrap();
        assert!(r.status().is_success());
        consent(&app, &tokens[2], false).await;

        let live = snapshot(&app, org.id).await;
        let total: u64 = live.iter().map(|(_, c)| c.headcount).sum();
        assert_eq!(total, 4, "everyone in post is counted once");
        let disability_no: u64 = live.iter().map(|(_, c)| c.count("disability", "no")).sum();
        let sex_answers: u64 = live.iter().map(|(_, c)| c.answers.get("sex").map_or(0, |g| g.values().sum())).sum();
        assert_eq!(disability_no, 1);
        assert_eq!(sex_answers, 0, "ana's PUT replaced her set; cat withdrew");
        assert_eq!(live, recount(&app, org.id).await, "live tallies differ from a recount");
    }

    async fn a_sync_that_moves_joins_and_removes_declared_people_equals_a_recount(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("moving-force").await;
        let mut tokens = Vec::new();
        for name in ["ana", "ben", "cat", "dev"] {
            let (login, _) = app.create_employee_account(org.id, name).await;
            let token = app.login(&login).await;
            consent(&app, &token, true).await;
            tokens.push(token);
        }
        app.declare_answers(&tokens[0], json!({"disability": {"gateway": "yes"}, "sex": {"gateway": "female"}})).await;
        app.declare_answers(&tokens[1], json!({"disability": {"gateway": "prefer_not_to_say"}})).await;
        app.declare_answers(&tokens[2], json!({"sex": {"gateway": "male"}})).await;
        let hr = app.create_account(Some(org.id), "hr-lead", &["hr_admin"]).await;
        let hr = app.login(&hr).await;
        // ana moves into ben's unit, ben and dev stay, cat leaves (absent), eve joins.
        let r = app
            .authed(Method::POST, "/v1/sync/employees?mode=full&allow_mass_leavers=true", &hr)
            .header("content-type", "text/csv")
            .body(
                "employee_number,org_unit,staff_type,start_date\n\
                 E-ana,unit-E-ben,type-E-ana,2020-01-01\n\
                 E-ben,unit-E-ben,type-E-ben,2020-01-01\n\
                 E-dev,unit-E-dev,type-E-dev,2020-01-01\n\
                 E-eve,unit-E-dev,type-E-dev,2024-05-01\n",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let report: Value = r.json().await.unwrap();
        assert_eq!(
            ["created", "updated", "unchanged", "leavers"].map(|k| report[k].as_u64().unwrap()),
            [1, 1, 2, 1]
        );

        let synced = snapshot(&app, org.id).await;
        assert_eq!(synced.iter().map(|(_, c)| c.headcount).sum::<u64>(), 4);
        let cell_of = |group: &str| {
            synced.iter().find(|(_, c)| c.count("disability", group) == 1).map(|(k, _)| k.org_unit.clone())
        };
        assert_eq!(cell_of("yes"), cell_of("prefer_not_to_say"), "ana's answers moved to ben's unit");
        let yes: u64 = synced.iter().map(|(_, c)| c.count("disability", "yes")).sum();
        let male: u64 = synced.iter().map(|(_, c)| c.count("sex", "male")).sum();
        assert_eq!((yes, male), (1, 0), "ana still counts, cat left");
        assert_eq!(synced, recount(&app, org.id).await, "a sync's recount differs from the reference");

        // The paged read crosses every page boundary when a page holds one declaration.
        let sealer = app.state.sealer.clone();
        app.state
            .db
            .run(move |conn| {
                Ok(conn.transaction(|conn| {
                    tallies::recount_paged(conn, &sealer, &org.id.to_string(), 1)
                }))
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(snapshot(&app, org.id).await, synced);
    }

    async fn a_dump_of_the_tallies_shows_no_answer(backend) {
        let app = spawn_app(backend).await;
        let org = app.create_org("dump-force").await;
        let (login, _) = app.create_employee_account(org.id, "solo").await;
        let token = app.login(&login).await;
        consent(&app, &token, true).await;
        app.declare_answers(&token, json!({"disability": {"gateway": "yes"}, "sexual_orientation": {"gateway": "bisexual"}})).await;
        // What a database administrator with a dump but no key can read: one row per occupied
        // cell (occupancy is in the plain workforce tables anyway), its counts sealed.
        let rows: Vec<(String, Vec<u8>)> = app.raw_tally_rows();
        assert!(!rows.is_empty());
        for (cell, sealed) in rows {
            for word in ["disability", "sexual_orientation", "bisexual", "yes", "headcount"] {
                assert!(!cell.contains(word), "cell key leaks {word}");
                assert!(!sealed.windows(word.len()).any(|w| w == word.as_bytes()), "sealed tally leaks {word}");
            }
        }
    }
}
