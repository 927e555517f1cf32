//! Bulk workforce sync: one batch of rows (CSV or NDJSON, streamed) applied atomically.
//!
//! The order of work: read and validate each row as it arrives, staging valid rows in a
//! temporary table inside one transaction; at the end, if any row was rejected, roll back and
//! report every rejected row; otherwise apply with set-based statements (their row counts are
//! the report), check the leaver ceiling, and roll back (refused, or `dry_run`) or commit.
//! So nothing is ever half-applied, whether the batch is refused or the process dies.

use std::collections::HashSet;
use std::io::Read;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::workforce::{self, Codes};
use crate::error::{AppError, AppResult, FieldError, RejectedRow};
use crate::services::rows::{self, Format};
use crate::services::structure::ensure_staff_types;
use crate::store::workforce::{self as store, StagedRow, SyncRequest, STAGE_BATCH};
use crate::store::{Conn, Database};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The file is the whole workforce: people in post but absent from it become leavers.
    #[default]
    Full,
    /// The file lists changes only: nobody leaves unless their row says so.
    Delta,
}

#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub mode: Mode,
    pub dry_run: bool,
    pub allow_mass_leavers: bool,
    pub idempotency_key: Option<String>,
    /// Most of the workforce in post that one `full` batch may mark as leavers.
    pub max_leaver_fraction: f64,
    /// Who the audit trail records for an applied batch (one event with its counts).
    pub actor: crate::services::audit::Actor,
}

/// What a batch did (or, on a dry run, would do).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SyncReport {
    pub mode: Mode,
    pub dry_run: bool,
    /// Rows read (rejected ones included).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub leavers: u64,
    pub rejected: Vec<RejectedRow>,
}

/// How a sync request ended when it did not fail.
#[derive(Debug)]
pub enum SyncOutcome {
    Applied(SyncReport),
    /// The same `Idempotency-Key` and body were applied before: the stored response, verbatim.
    Replayed(String),
}

/// Wraps the upload: hashes what is read (for the idempotency record) and reports progress.
pub struct Tap<R> {
    inner: R,
    hash: Sha256,
    on_read: Box<dyn FnMut(usize) + Send>,
}

impl<R: Read> Tap<R> {
    fn new(inner: R, on_read: Box<dyn FnMut(usize) + Send>) -> Self {
        Tap {
            inner,
            hash: Sha256::new(),
            on_read,
        }
    }

    /// Reads whatever the parser left (a rejected header stops it early) and returns the hash.
    fn finish(mut self, options_tag: &str) -> std::io::Result<String> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        self.hash.update(options_tag.as_bytes());
        Ok(hex::encode(self.hash.finalize()))
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        (self.on_read)(n);
        Ok(n)
    }
}

/// Maps a broken or oversized upload to its HTTP problem.
fn read_error(e: std::io::Error) -> AppError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<AppError>())
    {
        Some(AppError::PayloadTooLarge { limit }) => AppError::PayloadTooLarge { limit: *limit },
        _ => AppError::bad_request("body", "unreadable_body", e.to_string()),
    }
}

/// Syncs one batch for organisation `org`. Blocking: call on the blocking pool (the HTTP
/// handler does so through [`sync_employees`]; the CLI calls it from a plain thread).
pub fn sync_blocking(
    conn: &mut Conn,
    sealer: &crate::crypto::Sealer,
    org: Uuid,
    format: Format,
    reader: impl Read,
    options: &SyncOptions,
    on_read: Box<dyn FnMut(usize) + Send>,
) -> AppResult<SyncOutcome> {
    let org = org.to_string();
    let tap = Tap::new(reader, on_read);
    // The options are part of the request: the same file as a dry run is a different request.
    let tag = format!(
        "\n{:?}|{:?}|{}|{}",
        format, options.mode, options.dry_run, options.allow_mass_leavers
    );
    if let Some(key) = &options.idempotency_key {
        if let Some(previous) = store::find_sync_request(conn, &org, key)? {
            let hash = tap.finish(&tag).map_err(read_error)?;
            return if hash == previous.request_hash {
                Ok(SyncOutcome::Replayed(previous.response))
            } else {
                Err(AppError::Validation(vec![FieldError::new(
                    "idempotency-key",
                    "idempotency_key_reused",
                    "this Idempotency-Key was already used for a different request",
                )]))
            };
        }
    }
    ensure_staff_types(conn, &org)?;
    let (units, types, ranks) = store::structure_codes(conn, &org)?;
    let codes = Codes {
        org_units: units.into_iter().collect(),
        staff_types: types.into_iter().collect(),
        ranks: ranks.into_iter().collect(),
    };
    let mut clock = Phases::start();
    let outcome = conn.transaction_deciding(|conn| -> AppResult<(SyncOutcome, bool)> {
        store::create_stage(conn)?;
        let mut tap = tap;
        let mut rejected: Vec<RejectedRow> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut subjects: HashSet<String> = HashSet::new();
        let mut batch: Vec<StagedRow> = Vec::with_capacity(STAGE_BATCH);
        let mut total = 0u64;
        let mut store_error = None;
        let read = rows::read_rows(format, &mut tap, &mut |(line, row)| {
            total += 1;
            let checked = row.and_then(|row| workforce::validate(&row, &codes));
            let mut valid = match checked {
                Ok(valid) => valid,
                Err(errors) => {
                    rejected.push(RejectedRow { line, errors });
                    return Ok(());
                }
            };
            let mut errors = Vec::new();
            if !seen.insert(valid.employee_number.clone()) {
                errors.push(FieldError::new(
                    "employee_number",
                    "duplicate",
                    "this employee number appears earlier in the file",
                ));
            }
            if let Some(subject) = &valid.external_subject {
                if !subjects.insert(subject.clone()) {
                    errors.push(FieldError::new(
                        "external_subject",
                        "duplicate",
                        "this external subject appears earlier in the file",
                    ));
                }
            }
            if !errors.is_empty() {
                rejected.push(RejectedRow { line, errors });
                return Ok(());
            }
            // Once a row is rejected the batch cannot apply: keep validating, stop staging.
            if rejected.is_empty() {
                batch.push(StagedRow {
                    line: i64::try_from(line).unwrap_or(i64::MAX),
                    new_id: Uuid::new_v4().to_string(),
                    employee_number: std::mem::take(&mut valid.employee_number),
                    external_subject: valid.external_subject.take(),
                    org_unit_id: std::mem::take(&mut valid.org_unit_id),
                    staff_type_id: std::mem::take(&mut valid.staff_type_id),
                    rank_id: valid.rank_id.take(),
                    fte: valid.fte,
                    start_date: std::mem::take(&mut valid.start_date),
                    leave_date: valid.leave_date.take(),
                });
                if batch.len() >= STAGE_BATCH {
                    if let Err(e) = store::stage_rows(conn, &batch) {
                        store_error = Some(e);
                        return Err(std::io::Error::other("staging failed"));
                    }
                    batch.clear();
                }
            }
            Ok(())
        });
        if let Some(e) = store_error {
            return Err(e.into());
        }
        read.map_err(read_error)?;
        let hash = tap.finish(&tag).map_err(read_error)?;
        if !rejected.is_empty() {
            return Err(AppError::RejectedRows(rejected));
        }
        store::stage_rows(conn, &batch)?;
        clock.lap("parse, validate and stage");
        store::index_stage(conn)?;
        clock.lap("index stage");
        // The counts come from applying the merge itself; a refused batch or a dry run is
        // rolled back, so it is the real path either way.
        let in_post = store::count_in_post(conn, &org)?;
        let now = Utc::now().naive_utc();
        let today = now.date().format("%Y-%m-%d").to_string();
        let leave_date = (options.mode == Mode::Full).then_some(today.as_str());
        // Whose sign-in this batch changes, read while the old subjects are still there: each
        // is an identity-link event (decision 0017). A dry run records nothing.
        let relinked = if options.dry_run {
            Vec::new()
        } else {
            store::subject_changes(conn, &org)?
        };
        // An external subject another employee keeps trips the unique index; only then are
        // the clashing lines looked for, so a clean batch never pays for the search.
        let merged = match store::apply_merge(conn, &org, now, &today, leave_date) {
            Ok(merged) => merged,
            Err(e) if e.is_unique_violation() => {
                let clashes = store::subject_clashes(conn, &org)?;
                return Err(if clashes.is_empty() {
                    e.into()
                } else {
                    subject_taken(clashes)
                });
            }
            Err(e) => return Err(e.into()),
        };
        store::drop_stage(conn)?;
        clock.lap("merge");
        let leavers = merged.leavers;
        let ceiling = (in_post as f64 * options.max_leaver_fraction).floor() as i64;
        if leavers > ceiling && !options.allow_mass_leavers {
            return Err(AppError::Validation(vec![FieldError::new(
                "mode",
                "leaver_ceiling_exceeded",
                format!(
                    "this full sync would make {leavers} of {in_post} people in post leavers, \
                     more than the ceiling of {ceiling} ({}%); nothing was written. If the file \
                     is complete, repeat with allow_mass_leavers=true",
                    options.max_leaver_fraction * 100.0
                ),
            )]));
        }
        let as_u64 = |n: i64| u64::try_from(n).unwrap_or(0);
        let report = SyncReport {
            mode: options.mode,
            dry_run: options.dry_run,
            rows: total,
            created: as_u64(merged.created),
            updated: as_u64(merged.updated),
            unchanged: total.saturating_sub(as_u64(merged.created + merged.updated)),
            leavers: as_u64(leavers),
            rejected: Vec::new(),
        };
        if options.dry_run {
            return Ok((SyncOutcome::Applied(report), false));
        }
        // Joiners, leavers and moves change which cell people count in: recount the
        // organisation's tallies in this same transaction, so figures never disagree with
        // the workforce they describe.
        super::tallies::recount(conn, sealer, &org)?;
        clock.lap("tally rebuild");
        if let Some(key) = &options.idempotency_key {
            let response = serde_json::to_string(&report).map_err(AppError::internal)?;
            store::insert_sync_request(
                conn,
                &SyncRequest {
                    organisation_id: org.clone(),
                    idempotency_key: key.clone(),
                    request_hash: hash,
                    response,
                    created_at: now,
                },
            )
            .map_err(|e| {
                if e.is_unique_violation() {
                    AppError::Conflict(
                        "another request with this Idempotency-Key finished first; retry to \
                         read its response"
                            .into(),
                    )
                } else {
                    e.into()
                }
            })?;
        }
        clock.lap("idempotency record");
        crate::services::audit::append(conn, sync_event(options, &report))?;
        let links = relinked
            .into_iter()
            .map(|id| link_event(&options.actor, &id, "sync"))
            .collect();
        crate::services::audit::append_many(conn, links)?;
        clock.lap("audit");
        Ok((SyncOutcome::Applied(report), true))
    });
    clock.lap("commit");
    outcome
}

/// The rejection of lines whose external subject another employee keeps.
fn subject_taken(lines: Vec<i64>) -> AppError {
    AppError::RejectedRows(
        lines
            .into_iter()
            .map(|line| RejectedRow {
                line: u64::try_from(line).unwrap_or(0),
                errors: vec![FieldError::new(
                    "external_subject",
                    "subject_taken",
                    "another employee already has this external subject",
                )],
            })
            .collect(),
    )
}

/// Times the phases of a batch at debug level (durations only, never a value), so a slow
/// sync can be explained from the logs.
struct Phases(std::time::Instant);

impl Phases {
    fn start() -> Self {
        Phases(std::time::Instant::now())
    }

    fn lap(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        tracing::debug!(
            phase,
            ms = now.duration_since(self.0).as_secs_f64() * 1000.0,
            "sync phase"
        );
        self.0 = now;
    }
}

/// An employee's external subject (the sign-in that reaches their record) was set, changed or
/// cleared: answers already on the record stay with the sign-in that gave them (decision
/// 0017). Never the subject itself.
pub fn link_event(
    actor: &crate::services::audit::Actor,
    employee_id: &str,
    via: &str,
) -> crate::store::audit::NewEvent {
    actor
        .event("identity.link", Some(format!("employee:{employee_id}")))
        .with_detail(serde_json::json!({ "via": via }))
}

/// One audit event per applied batch, however many rows: its counts, never a row.
fn sync_event(options: &SyncOptions, report: &SyncReport) -> crate::store::audit::NewEvent {
    options
        .actor
        .event("workforce.sync", None)
        .with_detail(serde_json::json!({
            "mode": report.mode,
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "leavers": report.leavers,
        }))
}

/// Runs [`sync_blocking`] on the blocking pool. A big batch holds its connection for as long
/// as the upload takes, so the wait for a connection is the normal one, not the batch's.
pub async fn sync_employees(
    db: &Database,
    org: Uuid,
    format: Format,
    reader: Box<dyn Read + Send>,
    options: SyncOptions,
    sealer: std::sync::Arc<crate::crypto::Sealer>,
) -> AppResult<SyncOutcome> {
    let outcome = db
        .run(move |conn| {
            Ok(sync_blocking(
                conn,
                &sealer,
                org,
                format,
                reader,
                &options,
                Box::new(|_| {}),
            ))
        })
        .await?;
    crate::metrics::sync_finished(outcome.is_ok());
    outcome
}
