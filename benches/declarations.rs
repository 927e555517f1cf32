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
//!
//! Beside it: the raw database running a write's own statements (the same work, without
//! HTTP), and the HTTP floor: those statements behind a bare actix handler with the same JSON
//! in and out and the service's writer queue, which is as fast as any HTTP service doing this
//! work on this machine could be (decision 0028). On SQLite the raw side waits in SQLite's
//! own busy handler; the service and the floor queue in the process (`store::sqlite_writer`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use declare::auth::{Principal, PrincipalKind, Role};
use declare::services::sync::{Mode, SyncOutcome};
use declare::store::{placeholders, Conn, Database};
use diesel::connection::SimpleConnection as _;
use diesel::RunQueryDsl as _;
use serde_json::json;

struct Size {
    employees: usize,
    clients: usize,
    rounds: usize,
}

/// An organisation with `n` employees in 20 teams (through the bulk sync, so tallies exist),
/// and a token per employee (issued directly: argon2 logins are not what is measured).
async fn seed(app: &common::BenchApp, n: usize) -> (uuid::Uuid, Vec<String>, Vec<String>) {
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
    (org.id, ids, tokens)
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
/// times (a PUT, then PATCHes) to their URL, carrying the ETag from each response into the
/// next If-Match.
async fn http_writes(
    client: &reqwest::Client,
    urls: Vec<String>,
    tokens: &[String],
    size: &Size,
) -> (Duration, Vec<Duration>) {
    let writers: Arc<Vec<(String, String)>> =
        Arc::new(urls.into_iter().zip(tokens.iter().cloned()).collect());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..size.clients {
        let (writers, client) = (writers.clone(), client.clone());
        let rounds = size.rounds;
        let clients = size.clients;
        tasks.push(tokio::spawn(async move {
            let mine: Vec<&(String, String)> = writers.iter().skip(k).step_by(clients).collect();
            let mut etags = vec!["\"v0\"".to_owned(); mine.len()];
            let mut samples = Vec::new();
            for round in 0..rounds {
                for (i, (url, token)) in mine.iter().enumerate() {
                    let request = if round == 0 {
                        client.put(url).json(&json!({ "answers": full_answers() }))
                    } else {
                        client.patch(url).json(&json!({"answers": {
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

/// One transaction as the raw database runs it: on SQLite a plain `BEGIN IMMEDIATE` that waits
/// in SQLite's own busy handler, not the service's writer queue ([`Conn::transaction`]).
fn raw_transaction(
    conn: &mut Conn,
    work: impl FnOnce(&mut Conn) -> Result<(), declare::store::StoreError>,
) -> Result<(), declare::store::StoreError> {
    if matches!(conn, Conn::Postgres(_)) {
        return conn.transaction(work);
    }
    declare::with_conn!(&mut *conn, |c| c.batch_execute("BEGIN IMMEDIATE"))?;
    let done = work(conn);
    let finish = if done.is_ok() { "COMMIT" } else { "ROLLBACK" };
    declare::with_conn!(&mut *conn, |c| c.batch_execute(finish))?;
    done
}

/// Runs `work(conn, employee index, round)` as one transaction per write, the same number of
/// times as the HTTP side, over the same employees, at the same concurrency, timing each.
fn raw_transactions<W>(db: &Database, ids: usize, size: &Size, work: W) -> (Duration, Vec<Duration>)
where
    W: Fn(&mut Conn, usize, usize) -> Result<(), declare::store::StoreError>
        + Clone
        + Send
        + 'static,
{
    let started = Instant::now();
    let threads: Vec<_> = (0..size.clients)
        .map(|k| {
            let (db, work) = (db.clone(), work.clone());
            let (clients, rounds) = (size.clients, size.rounds);
            std::thread::spawn(move || {
                let mut conn = db.get(Duration::from_secs(10)).unwrap();
                // The raw side checkpoints inside its commits, as SQLite does by itself (at
                // the limit the service used before its checkpoint thread): the service's
                // thread only counts the service's own turns.
                if matches!(conn, Conn::Sqlite(_)) {
                    declare::with_conn!(&mut conn, |c| c
                        .batch_execute("PRAGMA wal_autocheckpoint = 10000"))
                    .unwrap();
                }
                let mut samples = Vec::new();
                for round in 0..rounds {
                    for id in (k..ids).step_by(clients) {
                        let t = Instant::now();
                        raw_transaction(&mut conn, |conn| work(conn, id, round)).unwrap();
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

/// The raw database: a single-row upsert of an id and a blob of the sealed declaration's size,
/// one per transaction (the issue's yardstick).
fn raw_upserts(db: &Database, ids: usize, blob: usize, size: &Size) -> (Duration, Vec<Duration>) {
    let mut conn = db.get(Duration::from_secs(10)).unwrap();
    let ddl = match &conn {
        Conn::Postgres(_) => "CREATE TABLE raw_declarations (id TEXT PRIMARY KEY, sealed BYTEA NOT NULL, version BIGINT NOT NULL)",
        Conn::Sqlite(_) => "CREATE TABLE raw_declarations (id TEXT PRIMARY KEY, sealed BLOB NOT NULL, version BIGINT NOT NULL)",
    };
    declare::with_conn!(&mut conn, |c| diesel::sql_query(ddl).execute(c)).unwrap();
    let sql = placeholders(
        &conn,
        "INSERT INTO raw_declarations (id, sealed, version) VALUES ($1, $2, 1) \
         ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, version = raw_declarations.version + 1",
    );
    drop(conn);
    raw_transactions(db, ids, size, move |conn, id, round| {
        use diesel::sql_types::{Binary, Text};
        let bytes: Vec<u8> = (0..blob).map(|b| (b + round) as u8).collect();
        declare::with_conn!(conn, |c| diesel::sql_query(&sql)
            .bind::<Text, _>(format!("employee-{id:06}"))
            .bind::<Binary, _>(&bytes)
            .execute(c))?;
        Ok(())
    })
}

/// What the raw side needs to replay a declaration write: each employee's id, tally cell and
/// stored version, the sizes of the sealed declaration and tally rows, and the statements.
struct Replay {
    org: String,
    employees: Vec<(String, String)>,
    versions: Vec<std::sync::atomic::AtomicI64>,
    blob: usize,
    tally_blob: usize,
    sql: ReplaySql,
}

/// The statements a declaration write sends, in the backend's placeholder style, written
/// once so the raw side's timed loop does no more than the database work.
struct ReplaySql {
    employee: String,
    notice: String,
    consents: String,
    declaration: String,
    person_key: String,
    catalogue: String,
    update: String,
    history: String,
    tally_lock: String,
    tally_upsert: String,
    /// SQLite chains its audit inline: it reads the chain's end first.
    chain_end: Option<&'static str>,
    audit: String,
}

impl ReplaySql {
    fn for_backend(conn: &Conn) -> Self {
        let sql = |text: &str| placeholders(conn, text);
        let postgres = matches!(conn, Conn::Postgres(_));
        ReplaySql {
            employee: sql("SELECT * FROM employees WHERE organisation_id = $1 AND id = $2 LIMIT 1"),
            notice: sql("SELECT * FROM privacy_notices WHERE organisation_id = $1 ORDER BY version DESC LIMIT 1"),
            consents: sql("SELECT * FROM consents WHERE employee_id = $1 ORDER BY purpose"),
            declaration: sql("SELECT * FROM declarations WHERE employee_id = $1 LIMIT 1"),
            person_key: sql("SELECT * FROM person_keys WHERE employee_id = $1 LIMIT 1"),
            catalogue: sql("SELECT id FROM catalogue_versions WHERE organisation_id = $1 AND status <> 'draft' \
                            ORDER BY version_number DESC LIMIT 1"),
            update: sql("UPDATE declarations SET sealed = $1, version = $2, last_reviewed_at = $3, \
                         updated_at = $4 WHERE employee_id = $5 AND version = $6"),
            history: sql("INSERT INTO declaration_history (id, employee_id, seq, key_id, sealed, changed_at) \
                          VALUES ($1, $2, $3, 'k1', $4, $5)"),
            tally_lock: sql(&format!(
                "SELECT * FROM tallies WHERE organisation_id = $1 AND cell = $2{}",
                if postgres { " FOR UPDATE" } else { "" }
            )),
            tally_upsert: sql("INSERT INTO tallies (organisation_id, cell, key_id, sealed, version, updated_at) \
                               VALUES ($1, $2, 'k1', $3, 1, $4) ON CONFLICT (organisation_id, cell) DO UPDATE \
                               SET sealed = excluded.sealed, version = tallies.version + 1, updated_at = excluded.updated_at"),
            // The service records the event unsealed on PostgreSQL; its seal task chains it
            // (decision 0013). On SQLite it appends after the chain's end (placeholder hashes
            // here: the bench's database is thrown away).
            chain_end: (!postgres).then_some("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"),
            audit: if postgres {
                sql("INSERT INTO audit_pending (occurred_at, organisation_id, actor, action, subject) \
                     VALUES ($1, $2, 'bench:raw', 'bench.raw_write', $3)")
            } else {
                sql("INSERT INTO audit_events (seq, occurred_at, organisation_id, actor, action, subject, prev_hash, hash) \
                     SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, 'bench:raw', 'bench.raw_write', $3, 'raw', 'raw' FROM audit_events")
            },
        }
    }
}

/// The raw database doing the same work as a declaration write: the statements the service
/// sends for one (read the employee, notice, consents, declaration, the person's key and
/// current catalogue; update the declaration, append its history, lock and rewrite the tally
/// cell, record the audit event), as plain SQL in one transaction, with blobs of the same sizes and none of the
/// service's HTTP, JSON, validation or encryption. Values read are discarded; the stored
/// version is tracked here so the history's sequence stays unique.
fn raw_same_statements(
    db: &Database,
    replay: Arc<Replay>,
    size: &Size,
) -> (Duration, Vec<Duration>) {
    let ids = replay.employees.len();
    raw_transactions(db, ids, size, move |conn, id, round| {
        same_work(&replay, conn, id, round)
    })
}

/// One declaration write's statements for employee `id` (see [`raw_same_statements`]).
fn same_work(
    replay: &Replay,
    conn: &mut Conn,
    id: usize,
    round: usize,
) -> Result<(), declare::store::StoreError> {
    {
        use diesel::sql_types::{BigInt, Binary, Text, Timestamp};
        let (sql, org) = (&replay.sql, &replay.org);
        let (employee, cell) = &replay.employees[id];
        let version = replay.versions[id].fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let blob: Vec<u8> = (0..replay.blob).map(|b| (b + round) as u8).collect();
        let tally: Vec<u8> = (0..replay.tally_blob).map(|b| (b + round) as u8).collect();
        let now = chrono::Utc::now().naive_utc();
        let read = |conn: &mut Conn, sql: &str, a: &str, b: Option<&str>| {
            declare::with_conn!(conn, |c| match b {
                Some(b) => diesel::sql_query(sql)
                    .bind::<Text, _>(a)
                    .bind::<Text, _>(b)
                    .execute(c),
                None => diesel::sql_query(sql).bind::<Text, _>(a).execute(c),
            })
        };
        read(conn, &sql.employee, org, Some(employee))?;
        read(conn, &sql.notice, org, None)?;
        read(conn, &sql.consents, employee, None)?;
        read(conn, &sql.declaration, employee, None)?;
        read(conn, &sql.person_key, employee, None)?;
        read(conn, &sql.catalogue, org, None)?;
        let updated = declare::with_conn!(conn, |c| diesel::sql_query(&sql.update)
            .bind::<Binary, _>(&blob)
            .bind::<BigInt, _>(version)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(employee)
            .bind::<BigInt, _>(version - 1)
            .execute(c))?;
        assert_eq!(
            updated, 1,
            "the replayed declaration moved under the raw side"
        );
        declare::with_conn!(conn, |c| diesel::sql_query(&sql.history)
            .bind::<Text, _>(uuid::Uuid::new_v4().to_string())
            .bind::<Text, _>(employee)
            .bind::<BigInt, _>(version)
            .bind::<Binary, _>(&blob)
            .bind::<Timestamp, _>(now)
            .execute(c))?;
        read(conn, &sql.tally_lock, org, Some(cell))?;
        declare::with_conn!(conn, |c| diesel::sql_query(&sql.tally_upsert)
            .bind::<Text, _>(org)
            .bind::<Text, _>(cell)
            .bind::<Binary, _>(&tally)
            .bind::<Timestamp, _>(now)
            .execute(c))?;
        if let Some(chain_end) = sql.chain_end {
            declare::with_conn!(conn, |c| c.batch_execute(chain_end))?;
        }
        declare::with_conn!(conn, |c| diesel::sql_query(&sql.audit)
            .bind::<Text, _>(now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
            .bind::<Text, _>(org)
            .bind::<Text, _>(format!("employee:{employee}"))
            .execute(c))?;
        Ok(())
    }
}

/// The floor any HTTP service doing this work could reach here: an actix server (as many
/// workers as the service) whose handler parses the same JSON body, runs [`same_work`] in one
/// transaction (through the writer queue on SQLite, which only shortens its tail) on the
/// blocking pool and answers with a JSON body and an ETag, driven by
/// the same client at the same concurrency. It has no sign-in, validation or encryption, so
/// it is above what the service can reach; the gap to the raw line is the HTTP and JSON
/// sharing this machine's cores with the client.
async fn http_floor(
    db: Database,
    replay: Arc<Replay>,
    client: &reqwest::Client,
    tokens: &[String],
    size: &Size,
) -> (Duration, Vec<Duration>) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    struct Floor {
        db: Database,
        replay: Arc<Replay>,
        round: std::sync::atomic::AtomicUsize,
    }
    async fn write(
        floor: web::Data<Floor>,
        id: web::Path<usize>,
        body: web::Json<serde_json::Value>,
    ) -> HttpResponse {
        let id = id.into_inner();
        let round = floor
            .round
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let worker = floor.clone();
        web::block(move || {
            let mut conn = worker.db.get(Duration::from_secs(10)).unwrap();
            conn.transaction(|conn| same_work(&worker.replay, conn, id, round))
                .unwrap();
        })
        .await
        .unwrap();
        let version = floor.replay.versions[id].load(std::sync::atomic::Ordering::Relaxed);
        HttpResponse::Ok()
            .insert_header(("etag", format!("\"v{version}\"")))
            .json(json!({ "version": version, "answers": body.into_inner()["answers"] }))
    }
    let floor = web::Data::new(Floor {
        db,
        replay,
        round: std::sync::atomic::AtomicUsize::new(0),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(floor.clone())
            .route("/floor/{id}", web::put().to(write))
            .route("/floor/{id}", web::patch().to(write))
    })
    .workers(2)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let address = format!("http://{}", server.addrs()[0]);
    let running = server.run();
    let handle = running.handle();
    let serving = tokio::spawn(running);
    let urls = (0..tokens.len())
        .map(|i| format!("{address}/floor/{i}"))
        .collect();
    let timed = http_writes(client, urls, tokens, size).await;
    handle.stop(true).await;
    serving.await.unwrap().unwrap();
    timed
}

/// Reads what [`raw_same_statements`] replays: each employee's tally cell (as the service
/// names it) and stored version, and the sealed tally size.
fn replay_of(db: &Database, org: uuid::Uuid, ids: Vec<String>, blob: usize) -> Replay {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        cell: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        version: i64,
    }
    #[derive(diesel::QueryableByName)]
    struct Size {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = db.get(Duration::from_secs(10)).unwrap();
    let rows: Vec<Row> = declare::with_conn!(&mut conn, |c| diesel::sql_query(
        "SELECT e.id, e.org_unit_id || '|' || e.staff_type_id || '|' || COALESCE(e.rank_id, '-') AS cell, \
         d.version FROM employees e JOIN declarations d ON d.employee_id = e.id"
    )
    .load(c))
    .unwrap();
    let sql = match &conn {
        Conn::Postgres(_) => "SELECT MAX(octet_length(sealed))::BIGINT AS n FROM tallies",
        Conn::Sqlite(_) => "SELECT MAX(length(sealed)) AS n FROM tallies",
    };
    let tally: Size =
        declare::with_conn!(&mut conn, |c| diesel::sql_query(sql).get_result(c)).unwrap();
    let by_id: std::collections::HashMap<String, Row> =
        rows.into_iter().map(|r| (r.id.clone(), r)).collect();
    let mut employees = Vec::new();
    let mut versions = Vec::new();
    for id in ids {
        let row = &by_id[&id];
        employees.push((id.clone(), row.cell.clone()));
        versions.push(std::sync::atomic::AtomicI64::new(row.version));
    }
    Replay {
        org: org.to_string(),
        employees,
        versions,
        blob,
        tally_blob: tally.n as usize,
        sql: ReplaySql::for_backend(&conn),
    }
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

/// Prints one line of writes per second, latency percentiles and the process's CPU time per
/// write (both cores, client included); returns the rate.
fn rate_line(
    what: &str,
    unit: &str,
    (elapsed, mut samples): (Duration, Vec<Duration>),
    cpu: Duration,
) -> f64 {
    let rate = samples.len() as f64 / elapsed.as_secs_f64();
    let cpu_per = cpu / u32::try_from(samples.len().max(1)).unwrap_or(u32::MAX);
    let p = common::percentiles(&mut samples);
    println!(
        "{what:<44} {rate:>9.0} {unit:<9}  p50 {:>10}   p99 {:>10}   CPU {:>10}/op",
        common::ms(p.p50),
        common::ms(p.p99),
        common::us(cpu_per)
    );
    rate
}

async fn run(backend: &str, app: common::BenchApp, size: &Size) {
    let (org, ids, tokens) = seed(&app, size.employees).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(size.clients)
        .build()
        .unwrap();
    consent_all(&app, &client, &tokens).await;
    let urls = vec![format!("{}/v1/me/declaration", app.address); tokens.len()];
    let cpu = common::cpu_time();
    let http = http_writes(&client, urls, &tokens, size).await;
    let http_cpu = common::cpu_time() - cpu;
    let blob = sealed_size(&app.state.db);
    let writes = http.1.len();

    let raw_db = Database::connect(&app.database_url, size.clients as u32).unwrap();
    let cpu = common::cpu_time();
    let raw = raw_upserts(&raw_db, size.employees, blob, size);
    let raw_cpu = common::cpu_time() - cpu;
    let replay = Arc::new(replay_of(&raw_db, org, ids, blob));
    let cpu = common::cpu_time();
    let same = raw_same_statements(&raw_db, replay.clone(), size);
    let same_cpu = common::cpu_time() - cpu;
    // A pool of its own: the raw side's connections checkpoint inside their commits.
    let floor_db = Database::connect(&app.database_url, size.clients as u32).unwrap();
    let cpu = common::cpu_time();
    let floor = http_floor(floor_db, replay, &client, &tokens, size).await;
    let floor_cpu = common::cpu_time() - cpu;
    // The replay's own audit rows are pending on PostgreSQL: let the seal task take them, so
    // the count printed at the end is about the service's.
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!(
        "== declaration writes, {backend}: {} employees, {} clients, {writes} writes (PUT then PATCHes), sealed row {blob} bytes",
        size.employees, size.clients
    );
    let http_rate = rate_line(
        "declare: PUT/PATCH /v1/me/declaration",
        "writes/s",
        http,
        http_cpu,
    );
    let raw_rate = rate_line(
        "raw: one-row upsert per transaction",
        "upserts/s",
        raw,
        raw_cpu,
    );
    let same_rate = rate_line(
        "raw: a write's own statements, one transaction",
        "writes/s",
        same,
        same_cpu,
    );
    let floor_rate = rate_line(
        "floor: the same statements behind HTTP + JSON",
        "writes/s",
        floor,
        floor_cpu,
    );
    println!(
        "{:<44} {:>8.1}%   (goal: at least 40%)",
        "declare writes/s as a share of raw upserts",
        100.0 * http_rate / raw_rate
    );
    println!(
        "{:<44} {:>8.1}%   (the same statements as raw SQL: {:.1}% of raw upserts)",
        "declare writes/s as a share of raw same work",
        100.0 * http_rate / same_rate,
        100.0 * same_rate / raw_rate
    );
    println!(
        "{:<44} {:>8.1}%   (the HTTP floor itself: {:.1}% of raw same work)\n",
        "declare writes/s as a share of the HTTP floor",
        100.0 * http_rate / floor_rate,
        100.0 * floor_rate / same_rate
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
