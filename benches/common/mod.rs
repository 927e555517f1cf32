//! Shared benchmark plumbing: start the real app, time things, print each figure beside the
//! raw database doing the same work, as a ratio (ratios hold on a noisy machine; absolute
//! numbers do not).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use declare::config::Config;
use declare::startup::Application;

pub mod force;

/// A running app on a temp SQLite file, or on a fresh PostgreSQL database when
/// `DECLARE_BENCH_POSTGRES_URL` names a server (database created and dropped here).
pub struct BenchApp {
    pub address: String,
    pub state: actix_web::web::Data<declare::http::AppState>,
    pub database_url: String,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for BenchApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("bench.db").display())
}

pub async fn start(adjust: impl FnOnce(&mut Config)) -> BenchApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(sqlite_url(&dir), dir.path().to_path_buf());
    config.log_level = "error".into();
    config.workers = 2;
    adjust(&mut config);
    let database_url = config.database_url.clone();
    let app = Application::build(config).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let server = tokio::spawn(app.run_until_stopped());
    BenchApp {
        address,
        state,
        database_url,
        _dir: dir,
        server,
    }
}

/// This process's CPU time so far (user and system, every thread), from `/proc/self/stat` in
/// clock ticks of 10 ms: subtract two readings around work that runs for a second or more.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rfind(')')
        .map(|end| stat[end + 2..].split(' ').collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are the 14th and 15th fields of the line, 12th and 13th after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Runs `work` `n` times and returns the mean time per call.
pub fn per_call(n: u32, mut work: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        work();
    }
    started.elapsed() / n
}

pub struct Percentiles {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn percentiles(samples: &mut [Duration]) -> Percentiles {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Percentiles {
        p50: at(0.50),
        p99: at(0.99),
        max: *samples.last().unwrap(),
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

pub fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1_000_000.0)
}

/// One line: our figure, the raw database's, and ours as a multiple of it.
pub fn row(what: &str, ours: Duration, raw_what: &str, raw: Duration) {
    let ratio = ours.as_secs_f64() / raw.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "{what:<46} {:>12}   | raw: {raw_what:<34} {:>12}   | ratio {ratio:>6.2}x",
        us(ours),
        us(raw)
    );
}

/// A benchmark setting from the environment (`DECLARE_BENCH_*`), or its default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A fresh PostgreSQL database on the server at `DECLARE_BENCH_POSTGRES_URL` (default: the
/// local one), dropped with this value, connections and all, however the bench ends.
pub struct BenchDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl BenchDatabase {
    pub fn create() -> Self {
        use diesel::{Connection as _, RunQueryDsl as _};
        let admin = std::env::var("DECLARE_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("declare_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        BenchDatabase {
            url: format!("{base}/{name}"),
            admin,
            name,
        }
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        use diesel::{Connection as _, RunQueryDsl as _};
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin) {
            // The key store the service made beside it goes too.
            for name in [self.name.clone(), format!("{}_keystore", self.name)] {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}
