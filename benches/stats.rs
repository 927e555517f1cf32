//! Figures benchmark (issue 7): p50/p99 latency of `GET /v1/stats/completion` and
//! `/v1/stats/distribution` over real HTTP at 10k, 100k and 1M employees, beside a raw SQL
//! `GROUP BY` computing the same figures from individual plaintext answers (the naive design
//! the sealed tallies replace) in the same run, as a ratio.
//!
//! Seeding follows the real path: the workforce through the sync service, declarations sealed
//! by the service's own sealing and bulk-inserted in one transaction, then the tallies
//! recounted by `services::tallies::rebuild` from the sealed rows (the recount a sync runs).
//! Every published count is checked against the raw GROUP BY before anything is timed.
//!
//! Run: `cargo bench --bench stats`. Environment:
//! - `DECLARE_BENCH_SIZES` (default `10000,100000,1000000`)
//! - `DECLARE_BENCH_BACKENDS` (default `sqlite,postgres`)
//! - `DECLARE_BENCH_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres; a
//!   database is created and dropped per size)
//! - `DECLARE_BENCH_REQUESTS` (default 300 per figure), `DECLARE_BENCH_RAW_RUNS` (default 3, the
//!   verifying run included)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use declare::auth::{Principal, PrincipalKind, Role};
use declare::domain::catalogue::{Answer, AnswerSet, Catalogue};
use declare::services::sync::{Mode, SyncOutcome};
use declare::store::declarations::Declaration;
use declare::store::Conn;
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl as _};
use serde_json::Value;

/// Characteristics declared, with realistic weights for each gateway answer.
const MIX: [(&str, &[(&str, u64)]); 6] = [
    ("disability", &[("yes", 10), ("no", 90)]),
    (
        "race",
        &[
            ("white", 85),
            ("mixed", 3),
            ("asian", 6),
            ("black", 3),
            ("other_ethnic_group", 3),
        ],
    ),
    ("sex", &[("female", 36), ("male", 64)]),
    (
        "sexual_orientation",
        &[
            ("straight_or_heterosexual", 92),
            ("gay_or_lesbian", 4),
            ("bisexual", 3),
            ("other_sexual_orientation", 1),
        ],
    ),
    (
        "religion_belief",
        &[
            ("no_religion", 50),
            ("christian", 42),
            ("buddhist", 1),
            ("hindu", 1),
            ("jewish", 1),
            ("muslim", 3),
            ("sikh", 1),
            ("other_religion", 1),
        ],
    ),
    (
        "age",
        &[
            ("under_26", 15),
            ("age_26_40", 45),
            ("age_41_55", 32),
            ("over_55", 8),
        ],
    ),
];

/// The figures timed: characteristic x view x breakdown.
const TIMED_CHARACTERISTICS: [&str; 3] = ["disability", "race", "religion_belief"];
const VIEWS: [&str; 2] = ["completion", "distribution"];
const BREAKDOWNS: [(&str, &str); 5] = [
    ("overall", ""),
    ("org_unit L1", "&by=org_unit&level=1"),
    ("org_unit L3", "&by=org_unit&level=3"),
    ("staff_type", "&by=staff_type"),
    ("rank", "&by=rank"),
];

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// splitmix64: a deterministic, well-mixed draw per (person, question).
fn draw(i: u64, salt: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Person `i`'s answers: 70% have declared; of those, each characteristic is blank 10% of the
/// time and prefer-not-to-say 6%, otherwise weighted as in [`MIX`].
fn answers_of(i: u64) -> Option<AnswerSet> {
    if draw(i, 0) % 100 >= 70 {
        return None;
    }
    let mut set = AnswerSet::new();
    for (q, (code, options)) in MIX.iter().enumerate() {
        let roll = draw(i, q as u64 + 1) % 100;
        let gateway = if roll < 10 {
            continue;
        } else if roll < 16 {
            "prefer_not_to_say"
        } else {
            let total: u64 = options.iter().map(|(_, w)| w).sum();
            let mut pick = draw(i, q as u64 + 100) % total;
            options
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .unwrap()
                .0
        };
        set.insert(
            (*code).to_owned(),
            Answer {
                gateway: gateway.to_owned(),
                details: BTreeMap::new(),
            },
        );
    }
    Some(set)
}

#[derive(QueryableByName)]
struct RawCount {
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = Text)]
    g: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn raw_load(conn: &mut Conn, sql: &str) -> Vec<RawCount> {
    match conn {
        Conn::Sqlite(c) => diesel::sql_query(sql).load(&mut **c).unwrap(),
        Conn::Postgres(c) => diesel::sql_query(sql).load(&mut **c).unwrap(),
    }
}

fn raw_execute(conn: &mut Conn, sql: &str) {
    match conn {
        Conn::Sqlite(c) => diesel::sql_query(sql).execute(&mut **c).unwrap(),
        Conn::Postgres(c) => diesel::sql_query(sql).execute(&mut **c).unwrap(),
    };
}

/// The naive design: the same figure as a GROUP BY over every person's plaintext answer,
/// joined to employees (and to the unit tree for level 1). Rows: (row key, column, count).
fn raw_sql(org: &str, characteristic: &str, view: &str, by: &str) -> String {
    let (key, joins) = match by {
        "overall" => ("'overall'", ""),
        "org_unit L1" => (
            "area.id",
            "JOIN org_units team ON team.id = e.org_unit_id \
             JOIN org_units dept ON dept.id = team.parent_id \
             JOIN org_units area ON area.id = dept.parent_id",
        ),
        "org_unit L3" => ("e.org_unit_id", ""),
        "staff_type" => ("st.code", "JOIN staff_types st ON st.id = e.staff_type_id"),
        "rank" => (
            "COALESCE(r.code, 'no_rank')",
            "LEFT JOIN ranks r ON r.id = e.rank_id",
        ),
        other => panic!("unknown breakdown {other}"),
    };
    let column = if view == "completion" {
        "CASE WHEN a.answer_group IS NULL THEN 'blank' \
         WHEN a.answer_group = 'prefer_not_to_say' THEN 'prefer_not_to_say' \
         ELSE 'declared' END"
    } else {
        "COALESCE(a.answer_group, 'blank')"
    };
    let today = chrono::Utc::now().date_naive();
    format!(
        "SELECT {key} AS k, {column} AS g, COUNT(*) AS n FROM employees e {joins} \
         LEFT JOIN bench_answers a ON a.employee_id = e.id AND a.characteristic = '{characteristic}' \
         WHERE e.organisation_id = '{org}' AND (e.leave_date IS NULL OR e.leave_date > '{today}') \
         GROUP BY 1, 2"
    )
}

struct Seeded {
    employees: usize,
    declared: usize,
    sync: Duration,
    declarations: Duration,
    rebuild: Duration,
    tally_cells: usize,
}

/// The workforce through the sync service, sealed declarations and plaintext answers in one
/// transaction, then the real recount of the tallies from the sealed rows.
async fn seed(app: &common::BenchApp, org: uuid::Uuid, size: usize) -> Seeded {
    let db = &app.state.db;
    let teams = common::force::build_structure(db, org).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("workforce.csv");
    common::force::write_csv(&csv, size, &teams, None, false);

    let sealer = app.state.sealer.clone();
    let db2 = db.clone();
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut conn = db2.get(Duration::from_secs(30)).unwrap();
        let file = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(csv).unwrap());
        common::force::sync_csv(&mut conn, &sealer, org, Mode::Full, file)
    })
    .await
    .unwrap();
    let sync = started.elapsed();
    match outcome {
        Ok(SyncOutcome::Applied(report)) => assert_eq!(report.created as usize, size),
        other => panic!("sync failed: {other:?}"),
    }

    let catalogue = declare::services::catalogue::current(db, org)
        .await
        .unwrap();
    let catalogue_id = catalogue.id.to_string();
    let document: Catalogue = catalogue.document;
    let sealer = app.state.sealer.clone();
    let db2 = db.clone();
    let org_key = org.to_string();
    tokio::task::spawn_blocking(move || {
        let mut conn = db2.get(Duration::from_secs(30)).unwrap();
        raw_execute(
            &mut conn,
            "CREATE TABLE bench_answers (employee_id TEXT NOT NULL, characteristic TEXT NOT NULL, \
             answer_group TEXT NOT NULL, PRIMARY KEY (employee_id, characteristic))",
        );
        let started = Instant::now();
        let mut employees = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = declare::store::workforce::list_employees(
                &mut conn,
                &org_key,
                after.as_deref(),
                50_000,
            )
            .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.employee_number.clone());
            employees.extend(page.into_iter().map(|e| (e.id, e.employee_number)));
        }
        assert_eq!(employees.len(), size);
        let now = chrono::Utc::now().naive_utc();
        let mut rows = Vec::new();
        let mut keys = Vec::new();
        let mut plain: Vec<(String, String, String)> = Vec::new();
        for (id, number) in &employees {
            let i: u64 = number.trim_start_matches('E').parse().unwrap();
            let Some(answers) = answers_of(i) else {
                continue;
            };
            let (sealed, key) =
                declare::services::answer_keys::seal_declaration(&sealer, &org_key, id, &answers)
                    .unwrap();
            keys.push(key);
            for (characteristic, group) in declare::domain::tally::groups_of(&document, &answers) {
                plain.push((id.clone(), characteristic, group));
            }
            rows.push(Declaration {
                employee_id: id.clone(),
                organisation_id: org_key.clone(),
                catalogue_version_id: catalogue_id.clone(),
                key_id: sealed.key_id,
                sealed: sealed.blob,
                version: 1,
                last_reviewed_at: now,
                updated_at: now,
            });
        }
        let declared = rows.len();
        conn.transaction(|conn| -> declare::error::AppResult<()> {
            declare::store::declarations::insert_many(conn, &rows)?;
            declare::store::person_keys::insert_many(conn, &keys)?;
            for chunk in plain.chunks(2000) {
                let values: Vec<String> = chunk
                    .iter()
                    .map(|(e, c, g)| format!("('{e}','{c}','{g}')"))
                    .collect();
                raw_execute(
                    conn,
                    &format!("INSERT INTO bench_answers VALUES {}", values.join(",")),
                );
            }
            Ok(())
        })
        .unwrap();
        let declarations = started.elapsed();

        let started = Instant::now();
        let tally_cells = conn
            .transaction(|conn| {
                declare::services::tallies::rebuild(
                    conn,
                    &sealer,
                    &org_key,
                    declare::services::tallies::counted_groups(&sealer),
                )
            })
            .unwrap();
        let rebuild = started.elapsed();
        // Both raw planners get their statistics, so the GROUP BY they are compared with is
        // the best the raw database can do.
        raw_execute(&mut conn, "ANALYZE");
        Seeded {
            employees: size,
            declared,
            sync,
            declarations,
            rebuild,
            tally_cells,
        }
    })
    .await
    .unwrap()
}

/// The most a perturbed count may stray from the truth before the bench calls it wrong: 20
/// standard deviations of the default noise (a draw that far has probability under 1e-17).
const NOISE_TOLERANCE: i64 = 100;

/// Every headcount the API publishes must be the raw GROUP BY's, and every count within the
/// perturbation's reach of it (the production rules: noise, no rounding).
fn verify(figures: &Value, raw: &[RawCount]) -> usize {
    let mut truth: HashMap<(&str, &str), i64> = HashMap::new();
    let mut headcount: HashMap<&str, i64> = HashMap::new();
    for r in raw {
        truth.insert((&r.k, &r.g), r.n);
        *headcount.entry(&r.k).or_default() += r.n;
    }
    let mut checked = 0;
    for row in figures["rows"].as_array().unwrap() {
        let key = row["key"].as_str().unwrap();
        if let Some(n) = row["headcount"].as_i64() {
            assert_eq!(
                n,
                headcount.get(key).copied().unwrap_or(0),
                "headcount {key}"
            );
            checked += 1;
        }
        for cell in row["cells"].as_array().unwrap() {
            if let Some(n) = cell["count"].as_i64() {
                let column = cell["column"].as_str().unwrap();
                let want = truth.get(&(key, column)).copied().unwrap_or(0);
                assert!(
                    (n - want).abs() <= NOISE_TOLERANCE,
                    "{key}/{column}: {n} published, {want} true"
                );
                checked += 1;
            }
        }
    }
    checked
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> Value {
    let r = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

async fn run(backend: &str, size: usize, requests: usize, raw_runs: usize) {
    let pg = (backend == "postgres").then(common::BenchDatabase::create);
    let url = pg.as_ref().map(|db| db.url.clone());
    // The production disclosure rules: perturbation, G = 10, daily publication epochs (the
    // first request of a figure freezes or reads the epoch, then protects: the cold miss).
    let app = common::start(|config| {
        config.disclosure = declare::domain::disclosure::DisclosureConfig::default();
        if let Some(url) = url {
            config.database_url = url;
        }
    })
    .await;
    let org = declare::services::identity::create_organisation(
        &app.state.db,
        "bench-force".into(),
        "Bench".into(),
    )
    .await
    .unwrap();
    let seeded = seed(&app, org.id, size).await;
    println!(
        "\n== {backend}, {} employees ({} declared), {} tally cells; seeded: sync {:.1} s, \
         declarations {:.1} s, tally recount {:.1} s",
        seeded.employees,
        seeded.declared,
        seeded.tally_cells,
        seeded.sync.as_secs_f64(),
        seeded.declarations.as_secs_f64(),
        seeded.rebuild.as_secs_f64()
    );

    let principal = Principal {
        subject: uuid::Uuid::new_v4().to_string(),
        org_id: Some(org.id),
        roles: vec![Role::EdiViewer],
        employee_id: None,
        kind: PrincipalKind::User,
    };
    let (token, _) = app
        .state
        .auth
        .tokens
        .issue(&principal, Duration::from_secs(3600))
        .unwrap();
    let client = reqwest::Client::new();
    let org_key = org.id.to_string();
    let mut raw_conn = app.state.db.get(Duration::from_secs(30)).unwrap();

    for characteristic in TIMED_CHARACTERISTICS {
        for view in VIEWS {
            for (by, query) in BREAKDOWNS {
                let url = format!(
                    "{}/v1/stats/{view}?characteristic={characteristic}{query}",
                    app.address
                );
                let sql = raw_sql(&org_key, characteristic, view, by);
                // The first request pays for anything not yet warm; it is reported apart.
                let started = Instant::now();
                let first = get(&client, &url, &token).await;
                let cold = started.elapsed();
                let started = Instant::now();
                let raw = raw_load(&mut raw_conn, &sql);
                let verify_run = started.elapsed();
                let checked = verify(&first, &raw);
                assert!(checked > 0, "nothing published for {url}");

                // Timed to the response's last byte; the bench's own JSON parsing is not the
                // service's latency.
                let mut samples = Vec::with_capacity(requests);
                for _ in 0..requests {
                    let started = Instant::now();
                    let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
                    let status = r.status();
                    let body = r.bytes().await.unwrap();
                    samples.push(started.elapsed());
                    assert_eq!(status, 200, "{url}");
                    assert!(!body.is_empty());
                }
                let p = common::percentiles(&mut samples);
                // The verifying run counts as one raw run: at 1M a SQLite GROUP BY takes a minute.
                let mut raw_samples: Vec<Duration> = std::iter::once(verify_run)
                    .chain((1..raw_runs.max(1)).map(|_| {
                        let started = Instant::now();
                        let _ = raw_load(&mut raw_conn, &sql);
                        started.elapsed()
                    }))
                    .collect();
                raw_samples.sort();
                let raw_median = raw_samples[raw_samples.len() / 2];
                println!(
                    "{backend:<8} {size:>8} {view:<12} {characteristic:<10} {by:<12} \
                     first {:>10}  p50 {:>10}  p99 {:>10}  | raw GROUP BY {:>11} | p99/raw {:>7.4}x  ({checked} counts verified)",
                    common::ms(cold),
                    common::ms(p.p50),
                    common::ms(p.p99),
                    common::ms(raw_median),
                    p.p99.as_secs_f64() / raw_median.as_secs_f64(),
                );
            }
        }
    }
    drop(raw_conn);
    drop(app);
    drop(pg);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = env_list("DECLARE_BENCH_SIZES", "10000,100000,1000000")
        .iter()
        .map(|s| {
            s.parse()
                .expect("DECLARE_BENCH_SIZES: comma-separated numbers")
        })
        .collect();
    let backends = env_list("DECLARE_BENCH_BACKENDS", "sqlite,postgres");
    let requests = common::env_usize("DECLARE_BENCH_REQUESTS", 300);
    let raw_runs = common::env_usize("DECLARE_BENCH_RAW_RUNS", 3);
    println!(
        "== figures: {requests} requests per figure over HTTP (one at a time), raw GROUP BY median of {raw_runs}"
    );
    for backend in &backends {
        assert!(
            backend == "sqlite" || backend == "postgres",
            "DECLARE_BENCH_BACKENDS: sqlite and/or postgres"
        );
        for &size in &sizes {
            run(backend, size, requests, raw_runs).await;
        }
    }
}
