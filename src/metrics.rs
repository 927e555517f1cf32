//! Process-wide metrics: the process itself, the database pool's waits, the blocking pool's
//! queue and the domain's counters. They are process-wide because what they count is (one
//! process, one blocking pool); every [`crate::http::Metrics`] registry exposes the same
//! series, and tests that start several apps in one process see counts only rise.
//!
//! Names follow the existing `declare_*` ones (`_total` for counters, `_seconds` for
//! durations, a label for a closed set of outcomes); the process series keep the names every
//! Prometheus client library gives them (`process_*`), which dashboards already expect.
//! No label ever holds an identifier.

use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use prometheus::core::Collector;
use prometheus::{
    Counter, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

pub struct Global {
    pub process_resident_memory_bytes: IntGauge,
    pub process_cpu_seconds_total: Counter,
    pub process_open_fds: IntGauge,
    pub process_max_fds: IntGauge,
    /// Callers waiting for a pooled connection right now.
    pub db_pool_waiting: IntGauge,
    pub db_pool_wait_seconds: Histogram,
    pub db_pool_timeouts_total: IntCounter,
    /// Work handed to the blocking pool that has not started yet.
    pub blocking_queue_depth: IntGauge,
    pub declarations_written_total: IntCounter,
    pub syncs_total: IntCounterVec,
    pub figure_cache_lookups_total: IntCounterVec,
    pub disclosure_seconds: Histogram,
    /// Serialises the CPU counter's catch-up, so two scrapes at once never add the same time.
    cpu_seen: Mutex<()>,
}

static GLOBAL: LazyLock<Result<Global, prometheus::Error>> = LazyLock::new(Global::new);

/// The process-wide metrics; `None` only if their definitions were invalid, which the test
/// suite would show at once (so the code that counts never has to fail).
pub fn global() -> Option<&'static Global> {
    GLOBAL.as_ref().ok()
}

const SECONDS_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

impl Global {
    fn new() -> Result<Self, prometheus::Error> {
        let gauge = |name: &str, help: &str| IntGauge::new(name, help);
        let seconds = |name: &str, help: &str| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(SECONDS_BUCKETS.to_vec()))
        };
        let global = Global {
            process_resident_memory_bytes: gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
            )?,
            process_cpu_seconds_total: Counter::new(
                "process_cpu_seconds_total",
                "User and system CPU time spent in seconds",
            )?,
            process_open_fds: gauge("process_open_fds", "Open file descriptors")?,
            process_max_fds: gauge("process_max_fds", "Most open file descriptors allowed")?,
            db_pool_waiting: gauge(
                "declare_db_pool_waiting",
                "Callers waiting for a database connection from the pool",
            )?,
            db_pool_wait_seconds: seconds(
                "declare_db_pool_wait_seconds",
                "Time spent waiting for a database connection from the pool",
            )?,
            db_pool_timeouts_total: IntCounter::new(
                "declare_db_pool_timeouts_total",
                "Waits for a database connection that timed out",
            )?,
            blocking_queue_depth: gauge(
                "declare_blocking_queue_depth",
                "Database and CPU work handed to the blocking pool that has not started yet",
            )?,
            declarations_written_total: IntCounter::new(
                "declare_declarations_written_total",
                "Declarations written (PUT or PATCH of one's own declaration, committed)",
            )?,
            syncs_total: IntCounterVec::new(
                Opts::new(
                    "declare_syncs_total",
                    "Bulk workforce syncs by result (applied, refused)",
                ),
                &["result"],
            )?,
            figure_cache_lookups_total: IntCounterVec::new(
                Opts::new(
                    "declare_figure_cache_lookups_total",
                    "Figure cache lookups by result (hit, miss)",
                ),
                &["result"],
            )?,
            disclosure_seconds: seconds(
                "declare_disclosure_seconds",
                "Time disclosure control took to protect one family of figures",
            )?,
            cpu_seen: Mutex::new(()),
        };
        // Every outcome is exposed from the start (at 0), so a rate over it never begins with
        // a missing series.
        for result in ["applied", "refused"] {
            global.syncs_total.with_label_values(&[result]);
        }
        for result in ["hit", "miss"] {
            global
                .figure_cache_lookups_total
                .with_label_values(&[result]);
        }
        Ok(global)
    }

    fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.process_resident_memory_bytes.clone()),
            Box::new(self.process_cpu_seconds_total.clone()),
            Box::new(self.process_open_fds.clone()),
            Box::new(self.process_max_fds.clone()),
            Box::new(self.db_pool_waiting.clone()),
            Box::new(self.db_pool_wait_seconds.clone()),
            Box::new(self.db_pool_timeouts_total.clone()),
            Box::new(self.blocking_queue_depth.clone()),
            Box::new(self.declarations_written_total.clone()),
            Box::new(self.syncs_total.clone()),
            Box::new(self.figure_cache_lookups_total.clone()),
            Box::new(self.disclosure_seconds.clone()),
        ]
    }

    /// Reads `/proc/self` into the process series, just before a scrape. Not Linux (or no
    /// `/proc`): they stay at 0 rather than fail the scrape.
    pub fn refresh_process(&self) {
        if let Some(rss) = proc_status_kib("VmRSS") {
            self.process_resident_memory_bytes.set(rss * 1024);
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle read_dir holds is one of the entries.
            let open = entries.count().saturating_sub(1);
            self.process_open_fds
                .set(i64::try_from(open).unwrap_or(i64::MAX));
        }
        if let Some(max) = max_open_files() {
            self.process_max_fds.set(max);
        }
        if let Some(cpu) = cpu_seconds() {
            let _one_at_a_time = self.cpu_seen.lock().unwrap_or_else(|e| e.into_inner());
            let behind = cpu - self.process_cpu_seconds_total.get();
            if behind > 0.0 {
                self.process_cpu_seconds_total.inc_by(behind);
            }
        }
    }
}

/// Adds every process-wide series to `registry`.
pub fn register(registry: &Registry) -> Result<(), prometheus::Error> {
    if let Some(global) = global() {
        for collector in global.collectors() {
            registry.register(collector)?;
        }
    }
    Ok(())
}

/// A field of `/proc/self/status` given in kB (`VmRSS:   1234 kB`).
fn proc_status_kib(field: &str) -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

fn max_open_files() -> Option<i64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// User plus system CPU time from `/proc/self/stat` (fields 14 and 15, in clock ticks). The
/// kernel reports them in USER_HZ, which is 100 on every Linux architecture's user ABI.
fn cpu_seconds() -> Option<f64> {
    const USER_HZ: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = stat.rsplit_once(')')?.1;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / USER_HZ)
}

/// Counts a task in [`Global::blocking_queue_depth`] from when it is handed to the blocking
/// pool until it starts (or is dropped unstarted, when the pool refuses it).
pub struct Queued {
    counted: bool,
}

impl Queued {
    pub fn enter() -> Self {
        let counted = global().map(|g| g.blocking_queue_depth.inc()).is_some();
        Queued { counted }
    }

    /// The task has started: it is no longer waiting.
    pub fn started(mut self) {
        self.leave();
    }

    fn leave(&mut self) {
        if std::mem::take(&mut self.counted) {
            if let Some(g) = global() {
                g.blocking_queue_depth.dec();
            }
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.leave();
    }
}

/// `actix_web::web::block`, counted in the blocking queue gauge: every piece of work the
/// service sends to the blocking pool goes through here.
pub async fn block<F, R>(work: F) -> Result<R, actix_web::error::BlockingError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let queued = Queued::enter();
    actix_web::web::block(move || {
        queued.started();
        work()
    })
    .await
}

/// Counts a wait for a pooled connection: the waiting gauge while it lasts, its duration,
/// and whether it timed out.
pub fn checkout<T, E>(
    timed_out: impl Fn(&E) -> bool,
    get: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let Some(g) = global() else {
        return get();
    };
    g.db_pool_waiting.inc();
    let started = Instant::now();
    let got = get();
    g.db_pool_waiting.dec();
    g.db_pool_wait_seconds
        .observe(started.elapsed().as_secs_f64());
    if got.as_ref().is_err_and(&timed_out) {
        g.db_pool_timeouts_total.inc();
    }
    got
}

pub fn declaration_written() {
    if let Some(g) = global() {
        g.declarations_written_total.inc();
    }
}

pub fn sync_finished(applied: bool) {
    if let Some(g) = global() {
        let result = if applied { "applied" } else { "refused" };
        g.syncs_total.with_label_values(&[result]).inc();
    }
}

pub fn figure_cache_lookup(hit: bool) {
    if let Some(g) = global() {
        let result = if hit { "hit" } else { "miss" };
        g.figure_cache_lookups_total
            .with_label_values(&[result])
            .inc();
    }
}

pub fn disclosure_took(seconds: f64) {
    if let Some(g) = global() {
        g.disclosure_seconds.observe(seconds);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn process_series_are_read_from_proc() {
        let g = global().unwrap();
        g.refresh_process();
        assert!(g.process_resident_memory_bytes.get() > 1024 * 1024);
        assert!(g.process_open_fds.get() >= 3);
        assert!(g.process_max_fds.get() >= g.process_open_fds.get());
        // Burn some CPU so the counter must move.
        let before = g.process_cpu_seconds_total.get();
        let mut x = 0u64;
        let started = Instant::now();
        while started.elapsed().as_millis() < 150 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        g.refresh_process();
        assert!(g.process_cpu_seconds_total.get() > before);
    }

    #[test]
    fn a_checkout_that_times_out_is_counted() {
        let g = global().unwrap();
        let before = g.db_pool_timeouts_total.get();
        let got: Result<(), &str> = checkout(|e: &&str| *e == "timeout", || Err("timeout"));
        assert!(got.is_err());
        assert!(g.db_pool_timeouts_total.get() > before);
    }
}
