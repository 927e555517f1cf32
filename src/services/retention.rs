//! Erasing leavers' equality data once the retention period after their leave date has run.
//!
//! Who: people whose leave date is more than `period_days` before today and who still hold a
//! declaration, answer history or consent record. A person whose leave date was cleared (they
//! came back) is never touched. What: those rows, deleted for real, in batches of short
//! transactions so a big run never holds the write lock for long; each person's erasure is an
//! audit event (their employee id and row counts, never a value) in the same transaction, and
//! their data key is destroyed with them.
//! Afterwards each organisation touched gets one summary event. A real run first takes
//! leavers whose date has arrived out of the tallies ([`super::leavers`]), so erasing someone
//! never changes a count. A second run finds nothing left to do.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::error::{AppError, AppResult};
use crate::services::audit::{self, Actor};
use crate::store::retention::{self as store, Erased};
use crate::store::{Conn, Database};

/// People per transaction: small enough that a run never holds the write lock for long.
pub const DEFAULT_BATCH: i64 = 200;

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub dry_run: bool,
    /// Leave dates before this day are past the retention period.
    pub cutoff: String,
    pub people: u64,
    pub organisations: u64,
    #[serde(flatten)]
    pub erased: Erased,
    /// The leavers' pass run first (real runs only).
    pub leavers: super::leavers::LeaversReport,
}

/// The first leave date that is still kept: leave dates before it are erased.
pub fn cutoff(today: NaiveDate, period_days: u32) -> NaiveDate {
    today - chrono::Days::new(u64::from(period_days))
}

pub struct RunOptions {
    pub today: NaiveDate,
    pub period_days: u32,
    pub dry_run: bool,
    pub batch: i64,
    /// Who the audit trail names: the CLI or the scheduled task.
    pub actor: Actor,
}

/// Runs retention over every organisation. Blocking: call on the blocking pool (see [`run`]).
/// `on_batch` is told how many people each batch covered (for a progress bar).
pub fn run_blocking(
    conn: &mut Conn,
    sealer: &Sealer,
    options: &RunOptions,
    on_batch: impl FnMut(u64),
) -> AppResult<RetentionReport> {
    if options.dry_run {
        return run_unlocked(conn, sealer, options, on_batch);
    }
    // One run at a time across every instance (decision 0022): two runs at once would each
    // erase part of the leavers and each record a `retention.run` with part of the counts.
    // Whoever finds the lock taken does nothing; the run under way covers the same leavers.
    if !store::try_lock_run(conn)? {
        tracing::info!("retention: another instance is running it; skipped");
        return Ok(RetentionReport {
            cutoff: cutoff(options.today, options.period_days)
                .format("%Y-%m-%d")
                .to_string(),
            ..Default::default()
        });
    }
    let report = run_unlocked(conn, sealer, options, on_batch);
    store::unlock_run(conn)?;
    report
}

fn run_unlocked(
    conn: &mut Conn,
    sealer: &Sealer,
    options: &RunOptions,
    mut on_batch: impl FnMut(u64),
) -> AppResult<RetentionReport> {
    let cutoff = cutoff(options.today, options.period_days)
        .format("%Y-%m-%d")
        .to_string();
    let batch = options.batch.max(1);
    // Erased people are past their leave date; after this pass no tally counts them.
    let leavers = if options.dry_run {
        Default::default()
    } else {
        super::leavers::run_blocking(conn, sealer, options.today, &options.actor)?
    };
    // Per organisation: people and rows.
    let mut per_org: BTreeMap<String, (u64, Erased)> = BTreeMap::new();
    let mut after = String::new();
    loop {
        let done = if options.dry_run {
            let due = store::next_due(conn, &cutoff, &after, batch, false)?;
            let mut by_org: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (employee, org, _, _) in &due {
                by_org.entry(org).or_default().push(employee.clone());
            }
            for (org, ids) in by_org {
                let held = store::count_held(conn, &ids)?;
                let entry = per_org.entry(org.to_owned()).or_default();
                entry.0 += ids.len() as u64;
                entry.1.add(held);
            }
            due
        } else {
            conn.transaction(|conn| -> AppResult<Vec<store::Due>> {
                let due = store::next_due(conn, &cutoff, &after, batch, true)?;
                let ids: Vec<String> = due.iter().map(|(employee, ..)| employee.clone()).collect();
                let erased = store::erase_people(conn, &ids)?;
                // Their keys go in the same transaction: any copy of what they declared left in
                // free pages, dead tuples or the WAL no longer opens (decision 0019); their
                // leaves are queued for puncturing (decision 0027).
                crate::store::person_keys::destroy(conn, &ids)?;
                let mut events = Vec::with_capacity(erased.len());
                // In the batch's order (by id), one event per person who lost anything.
                for (employee, org, ..) in &due {
                    let Some(erased) = erased.get(employee) else {
                        continue; // a concurrent run got there first
                    };
                    let entry = per_org.entry(org.clone()).or_default();
                    entry.0 += 1;
                    entry.1.add(*erased);
                    events.push(
                        in_org(&options.actor, org)?
                            .event("retention.erase", Some(format!("employee:{employee}")))
                            .with_detail(json!(erased)),
                    );
                }
                audit::append_many(conn, events)?;
                Ok(due)
            })?
        };
        let Some((last, ..)) = done.last() else { break };
        after = last.clone();
        on_batch(done.len() as u64);
    }
    if !options.dry_run && !per_org.is_empty() {
        // Their leaves are punctured now that the erasures committed: the copies of their
        // keys in backups stop opening (decision 0027).
        crate::services::key_tree::finish_erasures(conn, sealer)?;
    }
    let mut report = RetentionReport {
        dry_run: options.dry_run,
        cutoff: cutoff.clone(),
        leavers,
        ..Default::default()
    };
    for (org, (people, erased)) in &per_org {
        report.people += people;
        report.erased.add(*erased);
        if *people > 0 {
            report.organisations += 1;
        }
        if options.dry_run || *people == 0 {
            continue;
        }
        conn.transaction(|conn| -> AppResult<()> {
            let event = in_org(&options.actor, org)?
                .event("retention.run", None)
                .with_detail(json!({
                    "cutoff": cutoff,
                    "period_days": options.period_days,
                    "people": people,
                    "declarations": erased.declarations,
                    "history": erased.history,
                    "consents": erased.consents,
                }));
            audit::append(conn, event)?;
            Ok(())
        })?;
    }
    Ok(report)
}

fn in_org(actor: &Actor, org: &str) -> AppResult<Actor> {
    let id = Uuid::parse_str(org).map_err(AppError::internal)?;
    Ok(actor.in_organisation(id))
}

/// Runs [`run_blocking`] on the blocking pool.
pub async fn run(
    db: &Database,
    sealer: std::sync::Arc<Sealer>,
    options: RunOptions,
) -> AppResult<RetentionReport> {
    db.run(move |conn| Ok(run_blocking(conn, &sealer, &options, |_| {})))
        .await?
}

/// How many leavers a run would erase now (for a progress bar's length).
pub fn count_due(conn: &mut Conn, today: NaiveDate, period_days: u32) -> AppResult<u64> {
    let cutoff = cutoff(today, period_days).format("%Y-%m-%d").to_string();
    Ok(u64::try_from(store::count_due(conn, &cutoff)?).unwrap_or(0))
}

/// The schedule inside `serve`: a run at start-up, then one every `interval`. A failed run is
/// logged and retried at the next tick; it never stops the service.
pub async fn schedule(
    db: Database,
    sealer: std::sync::Arc<Sealer>,
    period_days: u32,
    interval: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let options = RunOptions {
            today: chrono::Utc::now().date_naive(),
            period_days,
            dry_run: false,
            batch: DEFAULT_BATCH,
            actor: Actor::system("retention"),
        };
        match run(&db, sealer.clone(), options).await {
            Ok(report) if report.people > 0 => tracing::info!(
                people = report.people,
                organisations = report.organisations,
                declarations = report.erased.declarations,
                history = report.erased.history,
                consents = report.erased.consents,
                cutoff = %report.cutoff,
                "retention erased leavers' answers"
            ),
            Ok(_) => tracing::debug!("retention: nothing due"),
            Err(e) => {
                tracing::error!(error = %e, "retention run failed; retrying at the next interval")
            }
        }
    }
}
