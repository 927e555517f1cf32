//! Snapshots: frozen copies of an organisation's tallies, structure and catalogue version,
//! taken when due (see `domain::schedule`) by `declare stats snapshot` or the service's own
//! scheduled task, and never changed afterwards.
//!
//! The rules a reader must keep:
//! - One snapshot per organisation and period key; taking one twice (a restart, two
//!   processes, the CLI and the service at once) finds the first and writes nothing.
//! - The frozen tallies stay sealed, bound to `snapshot:{org}:{id}`: a snapshot's ciphertext
//!   copied into another snapshot's row, or into a live tally row, does not open.
//! - The snapshot reads the tallies and structure in one transaction (repeatable read on
//!   PostgreSQL, the write lock on SQLite), so what it freezes was true at one moment.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::{Sealed, Sealer};
use crate::domain::schedule::{self, Due, Schedule, SnapshotKind};
use crate::error::{AppError, AppResult};
use crate::services::audit::{self, Actor};
use crate::store::snapshots::{self as store, SnapshotMeta, SnapshotRow};
use crate::store::{organisations, Conn, Database};

use super::basis::{self, Basis, Frozen};

/// A snapshot as listings and figures describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SnapshotSummary {
    pub id: Uuid,
    /// `2027-03-31` for a publication date, `2027-04` for a month.
    pub period: String,
    pub kind: SnapshotKind,
    /// The date the snapshot describes.
    #[schema(format = Date)]
    pub due_on: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub taken_at: String,
    /// Taken after the date it describes (the service was not running then): the figures are
    /// as at `taken_at`, not `due_on`.
    pub late: bool,
    pub label: Option<String>,
    pub catalogue_version_id: Uuid,
}

impl TryFrom<SnapshotMeta> for SnapshotSummary {
    type Error = AppError;

    fn try_from(m: SnapshotMeta) -> AppResult<Self> {
        let due_on: NaiveDate = m.due_on.parse().map_err(AppError::internal)?;
        Ok(SnapshotSummary {
            id: Uuid::parse_str(&m.id).map_err(AppError::internal)?,
            period: m.period,
            kind: SnapshotKind::parse(&m.kind)
                .ok_or_else(|| AppError::internal("unknown snapshot kind"))?,
            due_on: m.due_on,
            taken_at: rfc3339(m.taken_at),
            late: m.taken_at.date() > due_on,
            label: m.label,
            catalogue_version_id: Uuid::parse_str(&m.catalogue_version_id)
                .map_err(AppError::internal)?,
        })
    }
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(crate) fn context(org: &str, id: &str) -> Vec<u8> {
    format!("snapshot:{org}:{id}").into_bytes()
}

/// What one attempt to take a due snapshot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub organisation: String,
    pub period: String,
    pub kind: SnapshotKind,
    /// False when the organisation already had it.
    pub new: bool,
    pub late: bool,
}

/// Takes one due snapshot of one organisation unless it exists. Runs in the caller's
/// connection, in its own transaction.
fn take_one(
    conn: &mut Conn,
    sealer: &Sealer,
    actor: &Actor,
    org: &str,
    due: &Due,
    label: Option<&str>,
    now: NaiveDateTime,
) -> AppResult<bool> {
    if store::exists(conn, org, &due.period)? {
        return Ok(false);
    }
    conn.transaction(|conn| {
        let frame = Frame {
            period: &due.period,
            kind: due.kind.as_str(),
            due_on: due.due_on.to_string(),
            label,
        };
        let row = freeze_row(conn, sealer, org, frame, now)?;
        let new = store::insert_once(conn, &row)?;
        if new {
            let id = &row.id;
            let mut event = actor.event("stats.snapshot.take", Some(format!("snapshot:{id}")));
            event.organisation_id = Some(org.to_owned());
            audit::append(conn, event)?;
        }
        Ok(new)
    })
}

/// Takes every snapshot due at `now` (of one organisation, or of all), each at most once.
pub async fn take_due(
    db: &Database,
    sealer: Arc<Sealer>,
    schedule: Schedule,
    actor: Actor,
    org: Option<Uuid>,
    label: Option<String>,
    now: NaiveDateTime,
) -> AppResult<Vec<Taken>> {
    db.run(move |conn| {
        Ok((|| {
            let orgs = match org {
                Some(id) => vec![organisations::find(conn, &id.to_string())?],
                None => organisations::list(conn)?,
            };
            let mut taken = Vec::new();
            for org in orgs {
                for due in schedule::due(&schedule, now.date(), org.created_at.date()) {
                    let new =
                        take_one(conn, &sealer, &actor, &org.id, &due, label.as_deref(), now)?;
                    taken.push(Taken {
                        organisation: org.code.clone(),
                        period: due.period.clone(),
                        kind: due.kind,
                        new,
                        late: due.late(now.date()),
                    });
                }
            }
            Ok(taken)
        })())
    })
    .await?
}

/// The scheduled task inside `declare serve`: takes whatever is due now, then every
/// `interval`. A failure is logged and retried at the next tick; idempotence makes that safe.
pub async fn run_schedule(
    db: Database,
    sealer: Arc<Sealer>,
    schedule: Schedule,
    interval: Duration,
) {
    let actor = Actor::system("snapshots");
    loop {
        let now = Utc::now().naive_utc();
        match take_due(
            &db,
            sealer.clone(),
            schedule.clone(),
            actor.clone(),
            None,
            None,
            now,
        )
        .await
        {
            Ok(taken) => {
                for t in taken.iter().filter(|t| t.new) {
                    tracing::info!(organisation = %t.organisation, period = %t.period,
                        kind = t.kind.as_str(), late = t.late, "statistics snapshot taken");
                }
            }
            Err(error) => tracing::warn!(%error, "taking due statistics snapshots failed"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// The organisation's snapshots, oldest first, optionally of one kind.
pub async fn list(
    db: &Database,
    org: Uuid,
    kind: Option<SnapshotKind>,
) -> AppResult<Vec<SnapshotSummary>> {
    let org = org.to_string();
    let rows = db.run(move |conn| store::list(conn, &org)).await?;
    rows.into_iter()
        .filter(|m| kind.map_or(true, |k| m.kind == k.as_str()))
        .map(SnapshotSummary::try_from)
        .collect()
}

fn not_found() -> AppError {
    AppError::NotFound("no such snapshot".into())
}

/// Opens one snapshot of the organisation; another organisation's id is a 404, like an
/// unknown one.
pub async fn load(
    db: &Database,
    sealer: Arc<Sealer>,
    org: Uuid,
    id: Uuid,
) -> AppResult<(SnapshotSummary, Basis)> {
    let org = org.to_string();
    db.run(move |conn| Ok(open(conn, &sealer, &org, &id.to_string())))
        .await?
}

/// Opens one snapshot row in the caller's connection.
pub fn open(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
    id: &str,
) -> AppResult<(SnapshotSummary, Basis)> {
    let row = store::find(conn, org, id).map_err(|e| {
        if e.is_not_found() {
            not_found()
        } else {
            e.into()
        }
    })?;
    // A publication epoch is not a snapshot: its id is never listed, and asking for it is
    // asking for a snapshot that does not exist.
    if row.kind == store::EPOCH {
        return Err(not_found());
    }
    let basis = basis_of(conn, sealer, org, &row)?;
    let summary = SnapshotSummary::try_from(SnapshotMeta {
        id: row.id,
        organisation_id: row.organisation_id,
        period: row.period,
        kind: row.kind,
        due_on: row.due_on,
        taken_at: row.taken_at,
        label: row.label,
        catalogue_version_id: row.catalogue_version_id,
    })?;
    Ok((summary, basis))
}

/// What a snapshot (or publication epoch) row froze, opened.
pub(super) fn basis_of(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
    row: &SnapshotRow,
) -> AppResult<Basis> {
    let sealed = Sealed {
        key_id: row.key_id.clone(),
        blob: row.sealed.clone(),
    };
    let plain = sealer
        .open(&sealed, &context(&row.organisation_id, &row.id))
        .map_err(AppError::internal)?;
    let frozen: Frozen = serde_json::from_slice(&plain).map_err(AppError::internal)?;
    let catalogue = crate::services::published::version(conn, org, &row.catalogue_version_id)?;
    let secret = crate::services::noise::secret(conn, sealer, org)?;
    Ok(Basis {
        catalogue: (*catalogue).clone(),
        frozen,
        secret,
    })
}

/// What a frozen row is: its period key, kind, the date it describes and its label.
pub(super) struct Frame<'a> {
    pub period: &'a str,
    pub kind: &'a str,
    pub due_on: String,
    pub label: Option<&'a str>,
}

/// Freezes the organisation's tallies, structure and catalogue version into a new sealed row
/// framed by `frame`, in the caller's just-begun transaction. The row is not inserted.
pub(super) fn freeze_row(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
    frame: Frame<'_>,
    now: NaiveDateTime,
) -> AppResult<SnapshotRow> {
    let Frame {
        period,
        kind,
        due_on,
        label,
    } = frame;
    store::consistent_reads(conn)?;
    let (catalogue_version_id, _) = basis::current_catalogue(conn, org)?;
    let frozen = basis::freeze(conn, sealer, org)?;
    let id = Uuid::new_v4().to_string();
    let plain = serde_json::to_vec(&frozen).map_err(AppError::internal)?;
    let sealed = sealer
        .seal(&plain, &context(org, &id))
        .map_err(AppError::internal)?;
    Ok(SnapshotRow {
        id,
        organisation_id: org.to_owned(),
        period: period.to_owned(),
        kind: kind.to_owned(),
        due_on,
        taken_at: now,
        label: label.map(str::to_owned),
        catalogue_version_id,
        key_id: sealed.key_id,
        sealed: sealed.blob,
    })
}
