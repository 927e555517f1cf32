//! Workforce sync benchmark (issue 6): a 250k-employee full sync through the same service the
//! API and CLI use, beside a raw PostgreSQL `COPY` of the same rows (psql `\copy`) in the same
//! run, plus the process's peak memory (the service runs in this process). A second raw line
//! copies the same rows, ids resolved, into a table of `employees`' own shape (indexes and
//! foreign keys): what PostgreSQL itself takes to hold them with their integrity.
//!
//! Run: `cargo bench --bench sync` (PostgreSQL at DECLARE_BENCH_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/postgres; a database is created and dropped here).
//! `DECLARE_BENCH_EMPLOYEES` changes the size (default 250000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use declare::services::sync::{Mode, SyncOutcome};
use declare::store::Database;

/// VmHWM (peak resident set) of this process, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn timed_sync(
    db: &Database,
    org: uuid::Uuid,
    path: &std::path::Path,
    mode: Mode,
) -> (f64, declare::services::sync::SyncReport) {
    let db = db.clone();
    let path = path.to_owned();
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut conn = db.get(std::time::Duration::from_secs(30)).unwrap();
        let file =
            std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&path).unwrap());
        let key = declare::config::KeyedSecret {
            id: "k1".into(),
            secret: declare::config::random_secret(32),
        };
        let sealer = declare::crypto::Sealer::new(&key, &[]).unwrap();
        common::force::sync_csv(&mut conn, &sealer, org, mode, file)
    })
    .await
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(SyncOutcome::Applied(report)) => (seconds, report),
        other => panic!("sync failed: {other:?}"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var_os("DECLARE_BENCH_PHASES").is_some() {
        // Each batch's phase timings (debug events from services::sync).
        tracing_subscriber::fmt()
            .with_env_filter("declare::services::sync=debug")
            .with_writer(std::io::stderr)
            .init();
    }
    let employees = common::env_usize("DECLARE_BENCH_EMPLOYEES", 250_000);
    let pg = common::BenchDatabase::create();
    let url = pg.url.clone();

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("workforce.csv");
    let db = Database::connect(&url, 4).unwrap();
    db.migrate().unwrap();
    let org =
        declare::services::identity::create_organisation(&db, "bench-force".into(), "Bench".into())
            .await
            .unwrap();
    let teams = common::force::build_structure(&db, org.id).await;
    common::force::write_csv(&csv, employees, &teams, None, false);
    // A delta file: one person in twenty moves team.
    let delta = dir.path().join("moves.csv");
    common::force::write_csv(&delta, employees, &teams, Some(20), true);
    let size_mib = std::fs::metadata(&csv).unwrap().len() as f64 / (1024.0 * 1024.0);
    println!("== workforce sync: {employees} employees, {} teams, 6 staff types, 9 ranks ({size_mib:.1} MiB CSV)", teams.len());

    let psql = |commands: &[String]| {
        let mut cmd = std::process::Command::new("psql");
        cmd.arg(&url).args(["-v", "ON_ERROR_STOP=1", "-q"]);
        for c in commands {
            cmd.args(["-c", c]);
        }
        assert!(cmd.status().unwrap().success());
    };
    // The raw database doing the same work: COPY the same rows into a plain table.
    let raw_started = Instant::now();
    psql(&[
        "CREATE TABLE raw_employees (employee_number TEXT, external_subject TEXT, org_unit TEXT, \
         staff_type TEXT, rank TEXT, fte TEXT, start_date TEXT, leave_date TEXT)"
            .into(),
        format!("\\copy raw_employees FROM '{}' CSV HEADER", csv.display()),
    ]);
    let raw = raw_started.elapsed().as_secs_f64();

    // Each timed load starts from a checkpoint, so neither pays for the other's dirty pages.
    psql(&["CHECKPOINT".into()]);
    let rss_before = peak_mib();
    let (first, report) = timed_sync(&db, org.id, &csv, Mode::Full).await;
    assert_eq!(report.created as usize, employees);
    let peak_after_first = peak_mib();
    let (second, report) = timed_sync(&db, org.id, &csv, Mode::Full).await;
    assert_eq!(report.unchanged as usize, employees);
    let (third, report) = timed_sync(&db, org.id, &delta, Mode::Delta).await;
    let moves = employees.div_ceil(20);
    assert_eq!(report.updated as usize, moves);

    // The raw database loading the same rows into a table with `employees`' own shape: its
    // columns, unique and plain indexes and foreign keys to the same structure, ids resolved.
    // PostgreSQL's own cost of holding the rows with their integrity, which a sync cannot beat.
    let resolved = dir.path().join("resolved.csv");
    psql(&[
        format!(
            "\\copy (SELECT * FROM employees WHERE organisation_id = '{}') TO '{}' CSV",
            org.id,
            resolved.display()
        ),
        "CREATE TABLE raw_employees_same_shape (LIKE employees INCLUDING ALL)".into(),
        "ALTER TABLE raw_employees_same_shape \
         ADD FOREIGN KEY (organisation_id) REFERENCES organisations (id), \
         ADD FOREIGN KEY (org_unit_id) REFERENCES org_units (id), \
         ADD FOREIGN KEY (staff_type_id) REFERENCES staff_types (id), \
         ADD FOREIGN KEY (rank_id) REFERENCES ranks (id)"
            .into(),
        "CHECKPOINT".into(),
    ]);
    let same_shape_started = Instant::now();
    psql(&[format!(
        "\\copy raw_employees_same_shape FROM '{}' CSV",
        resolved.display()
    )]);
    let same_shape = same_shape_started.elapsed().as_secs_f64();

    println!("{:<48} {:>9.2} s", "raw: psql \\copy of the same CSV", raw);
    println!(
        "{:<48} {:>9.2} s   ratio {:>5.2}x raw COPY",
        "raw: \\copy, same rows into employees' shape",
        same_shape,
        same_shape / raw
    );
    println!(
        "{:<48} {:>9.2} s   ratio {:>5.2}x raw COPY",
        "declare: full sync, all new (PostgreSQL)",
        first,
        first / raw
    );
    println!(
        "{:<48} {:>9.2} s   ratio {:>5.2}x raw COPY",
        "declare: same file again, all unchanged",
        second,
        second / raw
    );
    println!(
        "{:<48} {:>9.2} s   ratio {:>5.2}x raw COPY",
        format!("declare: delta of {moves} moves"),
        third,
        third / raw
    );
    println!(
        "{:<48} {:>9.2} s   ratio {:>5.2}x raw COPY into employees' shape",
        "declare: full sync, all new, against that",
        first,
        first / same_shape
    );
    println!(
        "{:<48} {:>9.0} rows/s",
        "declare: first sync throughput",
        employees as f64 / first
    );
    println!(
        "{:<48} {:>9.1} MiB (peak before the sync {rss_before:.1} MiB; the CSV is {size_mib:.1} MiB)",
        "peak resident memory of the process after sync", peak_after_first
    );

    drop(db);
    drop(pg);
}
