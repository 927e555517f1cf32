//! The intruder, over HTTP, on both backends: an EDI viewer who pulls every table before and
//! after one colleague declares, changes or withdraws (through the real API), averages the
//! change over every view containing that colleague, and guesses the answer. Against the
//! production rules they must do little better than chance; against exact figures the same
//! attacker must win, or it proves nothing. Every table they can reach is also checked for
//! group disclosure. (Joins, leaves and moves are attacked in `domain::disclosure::tests`,
//! where hundreds of trials are cheap.)

use std::collections::HashMap;

use declare::domain::disclosure::DisclosureConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both_backends;
use crate::stats::{force_named, people, sync_and_answer};

const ANSWERS: [&str; 3] = ["yes", "no", "prefer_not_to_say"];
const TABLES: [&str; 4] = [
    "by=overall",
    "by=org_unit&level=1",
    "by=staff_type",
    "by=rank",
];

/// Every row of every distribution table: label -> (headcount, answer -> published count).
async fn pull(app: &TestApp, edi: &str) -> HashMap<String, (u64, HashMap<String, Option<u64>>)> {
    let mut rows = HashMap::new();
    for table in TABLES {
        let r = app
            .authed(
                Method::GET,
                &format!("/v1/stats/distribution?characteristic=disability&{table}"),
                edi,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{table}");
        let f: Value = r.json().await.unwrap();
        for row in f["rows"].as_array().unwrap() {
            let cells = row["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["column"].as_str().unwrap().to_owned(),
                        c["count"].as_u64(),
                    )
                })
                .collect();
            rows.insert(
                format!("{}:{}", table, row["label"].as_str().unwrap()),
                (row["headcount"].as_u64().unwrap(), cells),
            );
        }
    }
    rows
}

/// The labels of the rows a person in `area` (NORTH or SOUTH), a police officer constable,
/// is counted in.
fn views_of(area: &str) -> Vec<String> {
    vec![
        "by=overall:Whole organisation".into(),
        format!("by=org_unit&level=1:{area}"),
        "by=staff_type:Police officer".into(),
        "by=rank:Constable".into(),
    ]
}

/// The force: two areas of 45 and 35 officers with skewed answers, and `targets` blank
/// officers in each who will change during the attack. Returns (edi token, targets as
/// (token, area)).
async fn intruders_force(
    app: &TestApp,
    name: &str,
    targets: usize,
) -> (String, Vec<(String, &'static str)>) {
    let (hr, edi, org) = force_named(app, name).await;
    let mut all = people(
        "N",
        "north",
        "police_officer",
        "pc",
        &[("yes", 5), ("no", 30), ("prefer_not_to_say", 3), ("", 7)],
    );
    all.extend(people(
        "S",
        "south",
        "police_officer",
        "pc",
        &[("yes", 3), ("no", 22), ("prefer_not_to_say", 2), ("", 8)],
    ));
    for i in 0..targets {
        all.push((format!("TN{i}"), "north", "police_officer", "pc", ""));
        all.push((format!("TS{i}"), "south", "police_officer", "pc", ""));
    }
    sync_and_answer(app, &hr, org, &all).await;
    let org_key = org.to_string();
    let ids: HashMap<String, String> = app
        .state
        .db
        .run(move |conn| {
            Ok(
                declare::store::workforce::list_employees(conn, &org_key, None, 10_000)?
                    .into_iter()
                    .map(|e| (e.employee_number, e.id))
                    .collect(),
            )
        })
        .await
        .unwrap();
    let mut out = Vec::new();
    for i in 0..targets {
        for (prefix, area) in [("TN", "NORTH"), ("TS", "SOUTH")] {
            let number = format!("{prefix}{i}");
            let username = format!("{name}-{number}").to_lowercase();
            let password = format!("pw-{username}-correct-horse");
            let employee = uuid::Uuid::parse_str(&ids[&number]).unwrap();
            declare::services::identity::create_account(
                &app.state.db,
                &app.state.auth,
                Some(org),
                declare::services::identity::NewAccount {
                    username: username.clone(),
                    password: password.clone().into(),
                    roles: vec!["employee".into()],
                    employee_id: Some(employee),
                },
            )
            .await
            .expect("account");
            let token = app
                .login(&crate::helpers::Login { username, password })
                .await;
            let r = app
                .authed(Method::PUT, "/v1/me/consents", &token)
                .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": true}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            out.push((token, area));
        }
    }
    (edi, out)
}

fn answer(code: &str) -> Value {
    json!({"disability": {"gateway": code}})
}

/// One trial: the target declares, changes or withdraws; the attacker averages the change of
/// each answer over the target's views and guesses. True when they guess right.
async fn trial(
    app: &TestApp,
    edi: &str,
    token: &str,
    area: &str,
    kind: usize,
    rng: &mut StdRng,
) -> bool {
    let truth = rng.gen_range(0..ANSWERS.len());
    let sign = match kind {
        // Declare: from blank.
        0 => 1.0,
        // Change: from another answer, declared before the first pull.
        1 => {
            let from = (truth + rng.gen_range(1..ANSWERS.len())) % ANSWERS.len();
            app.declare_answers(token, json!({"disability": {"gateway": ANSWERS[from]}}))
                .await;
            1.0
        }
        // Withdraw: the answer was there at the first pull, and goes.
        _ => {
            app.declare_answers(token, answer(ANSWERS[truth])).await;
            -1.0
        }
    };
    let before = pull(app, edi).await;
    if kind == 2 {
        let r = app
            .authed(Method::DELETE, "/v1/me/declaration", token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    } else {
        app.declare_answers(token, answer(ANSWERS[truth])).await;
    }
    let after = pull(app, edi).await;
    let mut score = [0.0f64; 3];
    for view in views_of(area) {
        let (Some(a), Some(b)) = (before.get(&view), after.get(&view)) else {
            continue;
        };
        for (j, column) in ANSWERS.iter().enumerate() {
            if let (Some(Some(x)), Some(Some(y))) = (a.1.get(*column), b.1.get(*column)) {
                score[j] += sign * (*y as f64 - *x as f64);
            }
        }
    }
    let best = (0..3)
        .max_by(|&x, &y| {
            score[x]
                .total_cmp(&score[y])
                .then_with(|| rng.gen::<u8>().cmp(&rng.gen::<u8>()))
        })
        .unwrap_or(0);
    best == truth
}

/// Every published row: no group under G shows anything but its headcount, and no split of
/// answers is shown where fewer than G answered as the published answers add up.
fn assert_no_group_disclosure(rows: &HashMap<String, (u64, HashMap<String, Option<u64>>)>, g: u64) {
    for (label, (headcount, cells)) in rows {
        if *headcount > 0 && *headcount < g {
            assert!(
                cells.values().all(Option::is_none),
                "{label} ({headcount} people) is broken down: {cells:?}"
            );
        }
        let split = cells.get("yes").copied().flatten().is_some()
            || cells.get("no").copied().flatten().is_some();
        // An empty group publishes zeros: it holds nobody to protect.
        if *headcount > 0 && split {
            let answered: u64 = ANSWERS
                .iter()
                .filter_map(|a| cells.get(*a).copied().flatten())
                .sum();
            assert!(
                answered >= g,
                "{label} splits the answers of {answered} people"
            );
        }
    }
}

async fn attack(backend: Backend, config: DisclosureConfig, trials: usize, seed: u64) -> f64 {
    let app = spawn_app_with(backend, move |c| c.disclosure = config).await;
    let (edi, targets) = intruders_force(&app, "intruded", trials.div_ceil(2)).await;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut right = [0usize; 3];
    let mut tried = [0usize; 3];
    for (i, (token, area)) in targets.iter().take(trials).enumerate() {
        let kind = i % 3;
        tried[kind] += 1;
        if trial(&app, &edi, token, area, kind, &mut rng).await {
            right[kind] += 1;
        }
    }
    assert_no_group_disclosure(&pull(&app, &edi).await, config.min_group);
    let rate = right.iter().sum::<usize>() as f64 / trials as f64;
    println!(
        "{backend:?} noise sd {}: the intruder guessed {:.1}% of {trials} changes (declare {}/{}, change {}/{}, withdraw {}/{}); chance 33.3%",
        config.noise_sd(),
        rate * 100.0,
        right[0], tried[0], right[1], tried[1], right[2], tried[2]
    );
    rate
}

on_both_backends! {
    async fn an_intruder_differencing_live_figures_learns_no_answer(backend) {
        // Figures follow every write (refresh 0): the intruder's best case.
        let production = DisclosureConfig { refresh_seconds: 0, ..DisclosureConfig::default() };
        let rate = attack(backend, production, 150, 17).await;
        assert!(rate <= 1.0 / 3.0 + 0.20, "the intruder guessed {rate:.3}");
        // The same intruder against exact figures: a real attacker.
        let exact = DisclosureConfig { noise_sd_centi: 0, refresh_seconds: 0, ..DisclosureConfig::default() };
        let naked = attack(backend, exact, 12, 18).await;
        assert!(naked >= 0.9, "the intruder could not even read exact figures ({naked:.3})");
    }

    async fn figures_change_only_at_a_publication_epoch(backend) {
        let config = DisclosureConfig::default();
        assert_eq!(config.refresh_seconds, 86_400);
        let app = spawn_app_with(backend, move |c| c.disclosure = config).await;
        let (edi, targets) = intruders_force(&app, "epoch", 1).await;
        let first = pull(&app, &edi).await;
        let path = "/v1/stats/completion?characteristic=disability";
        let r: Value = app.authed(Method::GET, path, &edi).send().await.unwrap().json().await.unwrap();
        assert_eq!(r["rules"]["refresh_seconds"], 86_400);
        // A declaration (and anything else) today changes nothing until the next epoch.
        for (token, _) in &targets {
            app.declare_answers(token, answer("yes")).await;
        }
        assert_eq!(pull(&app, &edi).await, first, "figures moved between epochs");
        let again: Value = app.authed(Method::GET, path, &edi).send().await.unwrap().json().await.unwrap();
        assert_eq!(again, r, "the same question got another answer within the epoch");
        // A restarted service (another instance) answers from the same epoch.
        let restarted = app.restart_with(|_| {}).await;
        assert_eq!(pull(&restarted, &edi).await, first);
    }
}
