//! Declaration write benchmark (issue 5): PUT/PATCH /v1/me/declaration through real HTTP by a
//! handful of concurrent clients, each employee writing only their own declaration with
//! If-Match, beside the raw database's single-row upsert of a comparable row (an id and a blob
//! of the same size, one upsert per transaction) at the same concurrency, on the same backend,
//! in the same run. Goal: HTTP writes/s at least 40% of the raw upserts/s.
//!
//! Run: `cargo bench --bench declarations` (SQLite, then PostgreSQL at
//! DECLARE_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres; a database
//! is created and dropped here). DECLARE_BENCH_EMPLOYEES (default 200), DECLARE_BENCH_CLIENTS
//! (default 8) and DECLARE_BENCH_ROUNDS (writes per employee, default 10) change the size.
//! The service runs with `serve`'s audit seal task (every 200 ms) and a pool of as many
//! connections as clients, like the raw side.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use declare::auth::{Principal, PrincipalKind, Role};
use declare::services::sync::{Mode, SyncOutcome};
use declare::store::{Conn, Database};
use diesel::RunQueryDsl as _;
use serde_json::json;

struct Size {
    employees: usize,
    clients: usize,
    rounds: usize,
}

/// An organisation with `n` employees in 20 teams (through the bulk sync, so tallies exist),
/// and a token per employee (issued directly: argon2 logins are not what is measured).
async fn seed(app: &common::BenchApp, n: usize) -> (uuid::Uuid, Vec<String>) {
    let db = &app.state.db;
    let org = declare::services::identity::create_organisation(db, "bench".into(), "Bench".into())
        .await
        .unwrap();
    for t in 0..20 {
        declare::services::structure::create_unit(
            db,
            org.id,
            declare::services::audit::Actor::cli_for(org.id),
            declare::services::structure::NewOrgUnit {
                code: format!("team-{t}"),
                name: format!("Team {t}"),
                kind: declare::services::structure::UnitKind::Team,
                parent_id: None,
            },
        )
        .await
        .unwrap();
    }
    declare::services::structure::list_staff_types(db, org.id)
        .await
        .unwrap();
    let mut csv = String::from(
        "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date\n",
    );
    for i in 0..n {
        csv.push_str(&format!(
            "E{i:06},,team-{},police_staff,,1.0,2020-01-01,\n",
            i % 20
        ));
    }
    let (db2, sealer) = (db.clone(), app.state.sealer.clone());
    let org_id = org.id;
    let outcome = tokio::task::spawn_blocking(move || {
        let mut conn = db2.get(Duration::from_secs(30)).unwrap();
        common::force::sync_csv(
            &mut conn,
            &sealer,
            org_id,
            Mode::Full,
            std::io::Cursor::new(csv.into_bytes()),
        )
    })
    .await
    .unwrap();
    assert!(matches!(outcome, Ok(SyncOutcome::Applied(_))), "seed sync");
    let ids: Vec<String> = db
        .run(move |conn| {
            use declare::store::schema::employees::dsl as e;
            use diesel::prelude::*;
            Ok(declare::with_conn!(conn, |c| e::employees
                .filter(e::organisation_id.eq(org_id.to_string()))
                .order(e::employee_number)
                .select(e::id)
                .load::<String>(c))?)
        })
        .await
        .unwrap();
    let tokens = ids
        .iter()
        .map(|id| {
            let principal = Principal {
                subject: uuid::Uuid::new_v4().to_string(),
                org_id: Some(org.id),
                roles: vec![Role::Employee],
                employee_id: Some(uuid::Uuid::parse_str(id).unwrap()),
                kind: PrincipalKind::User,
            };
            app.state
                .auth
                .tokens
                .issue(&principal, Duration::from_secs(3600))
                .unwrap()
                .0
        })
        .collect();
    (org.id, tokens)
}

/// The answers written: a realistic full set, then one characteristic changed per PATCH.
fn full_answers() -> serde_json::Value {
    json!({
        "age": {"gateway": "age_26_40"},
        "sex": {"gateway": "female"},
        "race": {"gateway": "white", "details": {"white_background": {"selected": ["irish"]}}},
        "religion_belief": {"gateway": "no_religion"},
        "sexual_orientation": {"gateway": "prefer_not_to_say"},
        "disability": {"gateway": "yes", "details": {
            "neurodivergent_conditions": {"selected": ["adhd", "dyslexia"]}}},
        "welsh_language": {"gateway": "yes", "details": {"welsh_skills": {"selected": ["speak"]}}},
        "caring_responsibilities": {"gateway": "no"}
    })
}

const SEXES: [&str; 3] = ["female", "male", "prefer_not_to_say"];

/// Every employee consents once (not timed).
async fn consent_all(app: &common::BenchApp, client: &reqwest::Client, tokens: &[String]) {
    for token in tokens {
        let r = client
            .put(format!("{}/v1/me/consents", app.address))
            .bearer_auth(token)
            .json(&json!({"notice_version": 1, "purposes": {"equality_monitoring": true}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

/// `clients` tasks, each owning every `clients`-th employee; each employee writes `rounds`
/// times (a PUT, then PATCHes), carrying the ETag from each response into the next If-Match.
async fn http_writes(
    app: &common::BenchApp,
    client: &reqwest::Client,
    tokens: &[String],
    size: &Size,
) -> (Duration, Vec<Duration>) {
    let tokens = Arc::new(tokens.to_vec());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..size.clients {
        let (tokens, client) = (tokens.clone(), client.clone());
        let url = format!("{}/v1/me/declaration", app.address);
        let rounds = size.rounds;
        let clients = size.clients;
        tasks.push(tokio::spawn(async move {
            let mine: Vec<&String> = tokens.iter().skip(k).step_by(clients).collect();
            let mut etags = vec!["\"v0\"".to_owned(); mine.len()];
            let mut samples = Vec::new();
            for round in 0..rounds {
                for (i, token) in mine.iter().enumerate() {
                    let request = if round == 0 {
                        client.put(&url).json(&json!({ "answers": full_answers() }))
                    } else {
                        client.patch(&url).json(&json!({"answers": {
                            "sex": {"gateway": SEXES[(round + i) % 3]}}}))
                    };
                    let t = Instant::now();
                    let r = request
                        .bearer_auth(token)
                        .header("if-match", &etags[i])
                        .send()
                        .await
                        .unwrap();
                    let status = r.status();
                    let etag = r
                        .headers()
                        .get("etag")
                        .map(|v| v.to_str().unwrap().to_owned());
                    r.bytes().await.unwrap();
                    samples.push(t.elapsed());
                    assert_eq!(status, 200, "write refused");
                    etags[i] = etag.unwrap();
                }
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    (started.elapsed(), samples)
}

/// The raw database: the same number of single-row upserts of an id and a blob of the sealed
/// declaration's size, one per transaction, over the same ids, at the same concurrency.
fn raw_upserts(db: &Database, ids: usize, blob: usize, size: &Size) -> (Duration, Vec<Duration>) {
    let mut conn = db.get(Duration::from_secs(10)).unwrap();
    let ddl = match &conn {
        Conn::Postgres(_) => "CREATE TABLE raw_declarations (id TEXT PRIMARY KEY, sealed BYTEA NOT NULL, version BIGINT NOT NULL)",
        Conn::Sqlite(_) => "CREATE TABLE raw_declarations (id TEXT PRIMARY KEY, sealed BLOB NOT NULL, version BIGINT NOT NULL)",
    };
    declare::with_conn!(&mut conn, |c| diesel::sql_query(ddl).execute(c)).unwrap();
    drop(conn);
    let started = Instant::now();
    let threads: Vec<_> = (0..size.clients)
        .map(|k| {
            let db = db.clone();
            let (clients, rounds) = (size.clients, size.rounds);
            std::thread::spawn(move || {
                let mut conn = db.get(Duration::from_secs(10)).unwrap();
                let sql = match &conn {
                    Conn::Postgres(_) => "INSERT INTO raw_declarations (id, sealed, version) VALUES ($1, $2, 1) \
                        ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, version = raw_declarations.version + 1",
                    Conn::Sqlite(_) => "INSERT INTO raw_declarations (id, sealed, version) VALUES (?, ?, 1) \
                        ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, version = raw_declarations.version + 1",
                };
                let mut samples = Vec::new();
                for round in 0..rounds {
                    for id in (k..ids).step_by(clients) {
                        let bytes: Vec<u8> = (0..blob).map(|b| (b + round) as u8).collect();
                        let key = format!("employee-{id:06}");
                        let t = Instant::now();
                        conn.transaction(|conn| -> Result<(), declare::store::StoreError> {
                            use diesel::sql_types::{Binary, Text};
                            declare::with_conn!(conn, |c| diesel::sql_query(sql)
                                .bind::<Text, _>(&key)
                                .bind::<Binary, _>(&bytes)
                                .execute(c))?;
                            Ok(())
                        })
                        .unwrap();
                        samples.push(t.elapsed());
                    }
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for thread in threads {
        samples.extend(thread.join().unwrap());
    }
    (started.elapsed(), samples)
}

fn sealed_size(db: &Database) -> usize {
    let mut conn = db.get(Duration::from_secs(10)).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Size {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = match &conn {
        Conn::Postgres(_) => "SELECT MAX(octet_length(sealed))::BIGINT AS n FROM declarations",
        Conn::Sqlite(_) => "SELECT MAX(length(sealed)) AS n FROM declarations",
    };
    let size: Size =
        declare::with_conn!(&mut conn, |c| diesel::sql_query(sql).get_result(c)).unwrap();
    size.n as usize
}

async fn run(backend: &str, app: common::BenchApp, size: &Size) {
    let (_, tokens) = seed(&app, size.employees).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(size.clients)
        .build()
        .unwrap();
    consent_all(&app, &client, &tokens).await;
    let (elapsed, mut samples) = http_writes(&app, &client, &tokens, size).await;
    let blob = sealed_size(&app.state.db);
    let writes = samples.len();
    let http = common::percentiles(&mut samples);
    let http_rate = writes as f64 / elapsed.as_secs_f64();

    let raw_db = Database::connect(&app.database_url, size.clients as u32).unwrap();
    let (raw_elapsed, mut raw_samples) = raw_upserts(&raw_db, size.employees, blob, size);
    let raw = common::percentiles(&mut raw_samples);
    let raw_rate = raw_samples.len() as f64 / raw_elapsed.as_secs_f64();

    println!(
        "== declaration writes, {backend}: {} employees, {} clients, {writes} writes (PUT then PATCHes), sealed row {blob} bytes",
        size.employees, size.clients
    );
    println!(
        "{:<44} {:>9.0} writes/s   p50 {:>10}   p99 {:>10}",
        "declare: PUT/PATCH /v1/me/declaration",
        http_rate,
        common::ms(http.p50),
        common::ms(http.p99)
    );
    println!(
        "{:<44} {:>9.0} upserts/s  p50 {:>10}   p99 {:>10}",
        "raw: one-row upsert per transaction",
        raw_rate,
        common::ms(raw.p50),
        common::ms(raw.p99)
    );
    println!(
        "{:<44} {:>8.1}%   (goal: at least 40%)\n",
        "declare writes/s as a share of raw",
        100.0 * http_rate / raw_rate
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let size = Size {
        employees: common::env_usize("DECLARE_BENCH_EMPLOYEES", 200),
        clients: common::env_usize("DECLARE_BENCH_CLIENTS", 8),
        rounds: common::env_usize("DECLARE_BENCH_ROUNDS", 10),
    };

    // As `serve` runs by default: the audit seal task on (PostgreSQL), and as many pooled
    // connections as the raw side uses, so both sides have the same concurrency.
    let serving = |config: &mut declare::config::Config| {
        config.audit_seal_interval_ms = 200;
        config.pool_size = size.clients as u32;
    };
    let app = common::start(serving).await;
    run("SQLite", app, &size).await;

    let pg = common::BenchDatabase::create();
    let app = common::start(|config| {
        serving(config);
        config.database_url = pg.url.clone();
    })
    .await;
    run("PostgreSQL", app, &size).await;
    // Nothing recorded is left unchained when the run ends.
    let mut conn = Database::connect(&pg.url, 1)
        .unwrap()
        .get(Duration::from_secs(10))
        .unwrap();
    let pending = declare::store::audit::pending_count(&mut conn).unwrap();
    println!("audit events left pending when the service stopped: {pending} (the seal task runs every 200 ms; the next reader seals them)");
}
