//! Workforce sync benchmark (issue 6): a 250k-employee full sync through the same service the
//! API and CLI use, beside a raw PostgreSQL `COPY` of the same rows (psql `\copy`) in the same
//! run, plus the process's peak memory (the service runs in this process).
//!
//! Run: `cargo bench --bench sync` (PostgreSQL at DECLARE_BENCH_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/postgres; a database is created and dropped here).
//! `DECLARE_BENCH_EMPLOYEES` changes the size (default 250000).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::time::Instant;

use declare::services::structure::{self, NewOrgUnit, NewRank, UnitKind};
use declare::services::sync::{self, Mode, SyncOptions, SyncOutcome};
use declare::store::Database;
use diesel::{Connection as _, RunQueryDsl as _};

const STAFF_TYPES: [&str; 6] = [
    "police_officer",
    "police_staff",
    "pcso",
    "special_constable",
    "police_support_volunteer",
    "designated_officer",
];
const RANKS: [&str; 9] = [
    "constable",
    "sergeant",
    "inspector",
    "chief_inspector",
    "superintendent",
    "chief_superintendent",
    "assistant_chief_constable",
    "deputy_chief_constable",
    "chief_constable",
];

/// VmHWM (peak resident set) of this process, in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A realistic force: 10 command areas x 8 departments x 5 teams; returns the team codes.
async fn build_structure(db: &Database, org: uuid::Uuid) -> Vec<String> {
    let unit = |code: String, kind, parent| NewOrgUnit {
        name: code.to_uppercase(),
        code,
        kind,
        parent_id: parent,
    };
    let cli = declare::services::audit::Actor::cli_for(org);
    let force = structure::create_unit(
        db,
        org,
        cli.clone(),
        unit("force".into(), UnitKind::Force, None),
    )
    .await
    .unwrap();
    let mut teams = Vec::new();
    for a in 0..10 {
        let area = structure::create_unit(
            db,
            org,
            cli.clone(),
            unit(format!("area-{a}"), UnitKind::CommandArea, Some(force.id)),
        )
        .await
        .unwrap();
        for d in 0..8 {
            let dept = structure::create_unit(
                db,
                org,
                cli.clone(),
                unit(format!("dept-{a}-{d}"), UnitKind::Department, Some(area.id)),
            )
            .await
            .unwrap();
            for t in 0..5 {
                let code = format!("team-{a}-{d}-{t}");
                structure::create_unit(
                    db,
                    org,
                    cli.clone(),
                    unit(code.clone(), UnitKind::Team, Some(dept.id)),
                )
                .await
                .unwrap();
                teams.push(code);
            }
        }
    }
    // Listing staff types seeds the six national ones.
    structure::list_staff_types(db, org).await.unwrap();
    for (order, rank) in RANKS.iter().enumerate() {
        let new = NewRank {
            code: (*rank).into(),
            name: rank.replace('_', " "),
            order: order as i64,
            staff_type_id: None,
        };
        structure::create_rank(db, org, cli.clone(), new)
            .await
            .unwrap();
    }
    teams
}

/// Writes the workforce CSV; `moved` shifts every row whose index is a multiple of it to the
/// next team (a delta of moves), and `only_moved` writes just those rows.
fn write_csv(
    path: &std::path::Path,
    employees: usize,
    teams: &[String],
    moved: Option<usize>,
    only_moved: bool,
) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        out,
        "employee_number,external_subject,org_unit,staff_type,rank,fte,start_date,leave_date"
    )
    .unwrap();
    for i in 0..employees {
        let shift = match moved {
            Some(every) if i % every == 0 => 1,
            _ if only_moved => continue,
            _ => 0,
        };
        let staff_type = STAFF_TYPES[(i * 7) % 10 % 6];
        let rank = if staff_type == "police_officer" {
            RANKS[(i * 13) % 100 / 12 % 9]
        } else {
            ""
        };
        let fte = if i % 5 == 0 { "0.6" } else { "1.0" };
        let start = format!("20{:02}-{:02}-01", 5 + i % 20, 1 + i % 12);
        writeln!(
            out,
            "E{i:07},sub-{i:07},{},{staff_type},{rank},{fte},{start},",
            teams[(i + shift) % teams.len()]
        )
        .unwrap();
    }
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
        let options = SyncOptions {
            mode,
            dry_run: false,
            allow_mass_leavers: false,
            idempotency_key: None,
            max_leaver_fraction: 0.1,
            actor: declare::services::audit::Actor::cli_for(org),
        };
        let file =
            std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&path).unwrap());
        let key = declare::config::KeyedSecret {
            id: "k1".into(),
            secret: declare::config::random_secret(32),
        };
        let sealer = declare::crypto::Sealer::new(&key, &[]).unwrap();
        sync::sync_blocking(
            &mut conn,
            &sealer,
            org,
            declare::services::rows::Format::Csv,
            file,
            &options,
            Box::new(|_| {}),
        )
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
    let employees: usize = std::env::var("DECLARE_BENCH_EMPLOYEES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250_000);
    let admin = std::env::var("DECLARE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("declare_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin_conn = diesel::PgConnection::establish(&admin).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin_conn)
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_owned();
    let url = format!("{base}/{name}");

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("workforce.csv");
    let db = Database::connect(&url, 4).unwrap();
    db.migrate().unwrap();
    let org =
        declare::services::identity::create_organisation(&db, "bench-force".into(), "Bench".into())
            .await
            .unwrap();
    let teams = build_structure(&db, org.id).await;
    write_csv(&csv, employees, &teams, None, false);
    // A delta file: one person in twenty moves team.
    let delta = dir.path().join("moves.csv");
    write_csv(&delta, employees, &teams, Some(20), true);
    let size_mib = std::fs::metadata(&csv).unwrap().len() as f64 / (1024.0 * 1024.0);
    println!("== workforce sync: {employees} employees, {} teams, 6 staff types, 9 ranks ({size_mib:.1} MiB CSV)", teams.len());

    // The raw database doing the same work: COPY the same rows into a plain table.
    let raw_started = Instant::now();
    let status = std::process::Command::new("psql")
        .arg(&url)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg(
            "CREATE TABLE raw_employees (employee_number TEXT, external_subject TEXT, org_unit TEXT, \
             staff_type TEXT, rank TEXT, fte TEXT, start_date TEXT, leave_date TEXT)",
        )
        .args(["-c", &format!("\\copy raw_employees FROM '{}' CSV HEADER", csv.display())])
        .status()
        .unwrap();
    assert!(status.success());
    let raw = raw_started.elapsed().as_secs_f64();

    let rss_before = peak_mib();
    let (first, report) = timed_sync(&db, org.id, &csv, Mode::Full).await;
    assert_eq!(report.created as usize, employees);
    let peak_after_first = peak_mib();
    let (second, report) = timed_sync(&db, org.id, &csv, Mode::Full).await;
    assert_eq!(report.unchanged as usize, employees);
    let (third, report) = timed_sync(&db, org.id, &delta, Mode::Delta).await;
    let moves = employees.div_ceil(20);
    assert_eq!(report.updated as usize, moves);

    println!("{:<48} {:>9.2} s", "raw: psql \\copy of the same CSV", raw);
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
        "{:<48} {:>9.0} rows/s",
        "declare: first sync throughput",
        employees as f64 / first
    );
    println!(
        "{:<48} {:>9.1} MiB (peak before the sync {rss_before:.1} MiB; the CSV is {size_mib:.1} MiB)",
        "peak resident memory of the process after sync", peak_after_first
    );

    drop(db);
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin_conn)
        .unwrap();
}
