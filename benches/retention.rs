//! Retention benchmark: erasing leavers through `services::retention` (batched transactions,
//! one audit event per person; no recount, as no leave date here was set in advance) beside
//! the raw database deleting the same rows in three set-based statements, on identical data,
//! in the same run.
//!
//! Run: `cargo bench --bench retention` (SQLite in a temp file, and PostgreSQL at
//! DECLARE_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres; databases
//! are created and dropped here). `DECLARE_BENCH_EMPLOYEES` sets the force size (default
//! 50000, a large force) and `DECLARE_BENCH_LEAVERS` how many of them are erased (default 5000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use chrono::Utc;
use declare::services::audit::Actor;
use declare::services::retention::{self, RunOptions, DEFAULT_BATCH};
use declare::store::consents::Consent;
use declare::store::declarations::{Declaration, HistoryRow};
use declare::store::schema::{consents, declaration_history, declarations, employees};
use declare::store::structure::{insert_staff_types, insert_unit, OrgUnit, StaffType};
use declare::store::workforce::Employee;
use declare::store::{Conn, Database};
use diesel::RunQueryDsl as _;

/// A force of `people`, the first `leavers` of whom left two years ago, each leaver with a
/// (dummy-sealed) declaration, two history rows and a consent. The rest are in post with no
/// declaration, so the recount reads every one of them.
async fn seed(db: &Database, people: usize, leavers: usize) {
    let org = declare::services::identity::create_organisation(db, "bench".into(), "Bench".into())
        .await
        .unwrap();
    db.run(move |conn| {
        let now = Utc::now().naive_utc();
        let org = org.id.to_string();
        let version: String = declare::with_conn!(conn, |c| {
            use declare::store::schema::catalogue_versions::dsl as v;
            use diesel::prelude::*;
            v::catalogue_versions.select(v::id).first(c)
        })?;
        let unit = OrgUnit {
            id: uuid::Uuid::new_v4().to_string(),
            organisation_id: org.clone(),
            code: "team".into(),
            name: "Team".into(),
            kind: "team".into(),
            parent_id: None,
            created_at: now,
            updated_at: now,
        };
        insert_unit(conn, &unit)?;
        let staff = StaffType {
            id: uuid::Uuid::new_v4().to_string(),
            organisation_id: org.clone(),
            code: "police_staff".into(),
            name: "Police staff".into(),
            created_at: now,
        };
        insert_staff_types(conn, std::slice::from_ref(&staff))?;
        let left = (Utc::now().date_naive() - chrono::Days::new(730)).to_string();
        conn.transaction(|conn| -> declare::store::StoreResult<()> {
            for chunk in (0..people).collect::<Vec<_>>().chunks(500) {
                let rows: Vec<Employee> = chunk
                    .iter()
                    .map(|i| Employee {
                        id: format!("{i:08}-0000-4000-8000-000000000000"),
                        organisation_id: org.clone(),
                        employee_number: format!("E{i:07}"),
                        external_subject: None,
                        org_unit_id: unit.id.clone(),
                        staff_type_id: staff.id.clone(),
                        rank_id: None,
                        fte: 1.0,
                        start_date: "2015-01-01".into(),
                        leave_date: (*i < leavers).then(|| left.clone()),
                        updated_at: now,
                    })
                    .collect();
                let gone: Vec<&Employee> = rows.iter().filter(|e| e.leave_date.is_some()).collect();
                let decl: Vec<Declaration> = gone
                    .iter()
                    .map(|e| Declaration {
                        employee_id: e.id.clone(),
                        organisation_id: org.clone(),
                        catalogue_version_id: version.clone(),
                        key_id: "k1".into(),
                        sealed: vec![7; 200],
                        version: 2,
                        last_reviewed_at: now,
                        updated_at: now,
                    })
                    .collect();
                let history: Vec<HistoryRow> = gone
                    .iter()
                    .flat_map(|e| {
                        (1..=2).map(|seq| HistoryRow {
                            id: uuid::Uuid::new_v4().to_string(),
                            employee_id: e.id.clone(),
                            seq,
                            key_id: "k1".into(),
                            sealed: vec![7; 200],
                            changed_at: now,
                        })
                    })
                    .collect();
                let consent: Vec<Consent> = gone
                    .iter()
                    .map(|e| Consent {
                        employee_id: e.id.clone(),
                        purpose: "equality_monitoring".into(),
                        notice_version: 1,
                        granted_at: now,
                        withdrawn_at: None,
                    })
                    .collect();
                declare::with_conn!(conn, |c| {
                    diesel::insert_into(employees::table)
                        .values(&rows)
                        .execute(c)?;
                    diesel::insert_into(declarations::table)
                        .values(&decl)
                        .execute(c)?;
                    diesel::insert_into(declaration_history::table)
                        .values(&history)
                        .execute(c)?;
                    diesel::insert_into(consents::table)
                        .values(&consent)
                        .execute(c)
                })?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// The raw database doing the same erasure: three set-based deletes in one transaction.
fn raw_erase(conn: &mut Conn, cutoff: &str) -> usize {
    let mut deleted = 0;
    conn.transaction(|conn| -> declare::store::StoreResult<()> {
        for table in ["declaration_history", "declarations", "consents"] {
            let sql = format!(
                "DELETE FROM {table} WHERE employee_id IN \
                 (SELECT id FROM employees WHERE leave_date < '{cutoff}')"
            );
            deleted += declare::with_conn!(conn, |c| diesel::sql_query(&sql).execute(c))?;
        }
        Ok(())
    })
    .unwrap();
    deleted
}

async fn measure(label: &str, ours_url: &str, raw_url: &str, people: usize, leavers: usize) {
    let ours = Database::connect(ours_url, 2).unwrap();
    let raw = Database::connect(raw_url, 2).unwrap();
    for db in [&ours, &raw] {
        db.migrate().unwrap();
        seed(db, people, leavers).await;
    }
    let key = declare::config::KeyedSecret {
        id: "k1".into(),
        secret: declare::config::random_secret(32),
    };
    let sealer = declare::crypto::Sealer::new(&key, &[]).unwrap();
    let today = Utc::now().date_naive();
    let cutoff = retention::cutoff(today, 365).to_string();

    let mut conn = raw.get(std::time::Duration::from_secs(30)).unwrap();
    let started = Instant::now();
    let deleted = raw_erase(&mut conn, &cutoff);
    let raw_seconds = started.elapsed().as_secs_f64();
    assert_eq!(deleted, leavers * 4);

    let mut conn = ours.get(std::time::Duration::from_secs(30)).unwrap();
    let options = RunOptions {
        today,
        period_days: 365,
        dry_run: false,
        batch: DEFAULT_BATCH,
        actor: Actor::cli(),
    };
    let started = Instant::now();
    let report = retention::run_blocking(&mut conn, &sealer, &options, |_| {}).unwrap();
    let ours_seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.people as usize, leavers);

    let started = Instant::now();
    let again = retention::run_blocking(&mut conn, &sealer, &options, |_| {}).unwrap();
    let idle_seconds = started.elapsed().as_secs_f64();
    assert_eq!(again.people, 0);

    println!("== retention on {label}: {people} employees, {leavers} leavers past the period");
    println!(
        "{:<58} {:>8.3} s",
        "raw: 3 set-based DELETEs, one transaction", raw_seconds
    );
    println!(
        "{:<58} {:>8.3} s   ratio {:>6.2}x raw",
        format!("declare: batches of {DEFAULT_BATCH}, one audit event per person"),
        ours_seconds,
        ours_seconds / raw_seconds
    );
    println!(
        "{:<58} {:>8.3} s   ratio {:>6.2}x raw",
        "declare: second run, nothing due",
        idle_seconds,
        idle_seconds / raw_seconds
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let people = common::env_usize("DECLARE_BENCH_EMPLOYEES", 50_000);
    let leavers = common::env_usize("DECLARE_BENCH_LEAVERS", 5_000).min(people);

    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    measure(
        "SQLite",
        &sqlite("ours.db"),
        &sqlite("raw.db"),
        people,
        leavers,
    )
    .await;

    let (ours, raw) = (
        common::BenchDatabase::create(),
        common::BenchDatabase::create(),
    );
    measure("PostgreSQL", &ours.url, &raw.url, people, leavers).await;
}
