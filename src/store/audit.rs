//! The audit trail: events recorded with the change they audit, chained (sealed) under a lock
//! so the hash chain never forks, read in pages. See decision 0013 for when sealing happens.

use diesel::prelude::*;

use super::schema::{audit_events, audit_pending};
use super::{Conn, StoreResult};
use crate::domain::audit::{chain_hash, EventFields, GENESIS};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub seq: i64,
    pub occurred_at: String,
    pub organisation_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn fields(&self) -> EventFields<'_> {
        EventFields {
            seq: self.seq,
            occurred_at: &self.occurred_at,
            organisation_id: self.organisation_id.as_deref(),
            actor: &self.actor,
            action: &self.action,
            subject: self.subject.as_deref(),
            request_id: self.request_id.as_deref(),
            detail: self.detail.as_deref(),
        }
    }
}

/// What a caller records; sequence and hashes are assigned here. On PostgreSQL it is first
/// inserted as it is into `audit_pending`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_pending)]
pub struct NewEvent {
    pub occurred_at: String,
    pub organisation_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub request_id: Option<String>,
    /// JSON of counts and codes (never a value), for events that summarise many changes.
    pub detail: Option<String>,
}

impl NewEvent {
    /// Attaches what the event counted.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail.to_string());
        self
    }
}

/// A recorded event not yet chained: what a PostgreSQL write inserts in its own transaction.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_pending)]
struct Pending {
    id: i64,
    occurred_at: String,
    organisation_id: Option<String>,
    actor: String,
    action: String,
    subject: Option<String>,
    request_id: Option<String>,
    detail: Option<String>,
}

/// Serialises sealers (chain appenders) for the rest of the enclosing transaction.
trait AppendLock {
    fn lock_for_append(&mut self) -> QueryResult<()>;
}

impl AppendLock for diesel::PgConnection {
    fn lock_for_append(&mut self) -> QueryResult<()> {
        // EXCLUSIVE blocks other writers of the table but not plain readers. Only sealing
        // writes audit_events, so only sealers wait here, never a declaration write.
        diesel::sql_query("LOCK TABLE audit_events IN EXCLUSIVE MODE")
            .execute(self)
            .map(|_| ())
    }
}

impl AppendLock for diesel::SqliteConnection {
    fn lock_for_append(&mut self) -> QueryResult<()> {
        Ok(()) // callers hold BEGIN IMMEDIATE: SQLite already has one writer at a time
    }
}

/// Rows per multi-row INSERT/DELETE, well inside both backends' bind-parameter limits.
const CHUNK: usize = 500;

/// Chains `events` onto the head of the trail, in the order given, and inserts them. The
/// caller holds the append lock (or SQLite's write lock) until its transaction commits.
fn chain(conn: &mut Conn, events: Vec<NewEvent>) -> StoreResult<usize> {
    let count = events.len();
    crate::with_conn!(conn, |c| {
        c.lock_for_append()?;
        let last: Option<(i64, String)> = audit_events::table
            .order(audit_events::seq.desc())
            .select((audit_events::seq, audit_events::hash))
            .first(c)
            .optional()?;
        let (mut seq, mut previous) =
            last.map_or((0, GENESIS.to_owned()), |(seq, hash)| (seq, hash));
        let mut rows = Vec::with_capacity(count.min(CHUNK));
        for event in events {
            seq += 1;
            let mut row = AuditEvent {
                seq,
                occurred_at: event.occurred_at,
                organisation_id: event.organisation_id,
                actor: event.actor,
                action: event.action,
                subject: event.subject,
                request_id: event.request_id,
                prev_hash: previous,
                hash: String::new(),
                detail: event.detail,
            };
            row.hash = chain_hash(&row.prev_hash, &row.fields());
            previous = row.hash.clone();
            rows.push(row);
            if rows.len() == CHUNK {
                diesel::insert_into(audit_events::table)
                    .values(&rows)
                    .execute(c)?;
                rows.clear();
            }
        }
        if !rows.is_empty() {
            diesel::insert_into(audit_events::table)
                .values(&rows)
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(count)
}

/// Records one event. Call it inside `Conn::transaction` with the change it audits, so the
/// event and the change land (or roll back) together.
///
/// The backend decides when the event is chained: on PostgreSQL it is inserted unsealed into
/// `audit_pending` (no lock, so concurrent writers commit in parallel) and [`seal`] chains it
/// after commit; on SQLite, which has one writer anyway, it is chained here, in the caller's
/// transaction, and `audit_pending` stays empty.
pub fn append(conn: &mut Conn, event: NewEvent) -> StoreResult<()> {
    append_many(conn, vec![event])
}

/// Records events in the order given, as [`append`] does, in multi-row INSERTs: what a batch
/// that audits each of many people needs.
pub fn append_many(conn: &mut Conn, events: Vec<NewEvent>) -> StoreResult<()> {
    match conn {
        Conn::Postgres(c) => {
            // Pending ids follow insertion order, and sealing chains in id order.
            for chunk in events.chunks(CHUNK) {
                diesel::insert_into(audit_pending::table)
                    .values(chunk)
                    .execute(&mut **c)?;
            }
        }
        Conn::Sqlite(_) => {
            chain(conn, events)?;
        }
    }
    Ok(())
}

/// Chains every pending event this transaction can see, in the order they were recorded, and
/// deletes them from `audit_pending`, inside the caller's transaction: the append lock is
/// held until it commits, so sealings commit one after another and sealed seqs only ever grow
/// at the end (a reader paging with `after` can never skip one). Also sees the caller's own
/// uncommitted events (the export seals its own `export.read` this way). Returns how many.
pub fn seal_in(conn: &mut Conn) -> StoreResult<usize> {
    let pending: Vec<Pending> = crate::with_conn!(conn, |c| {
        // The lock comes first: under READ COMMITTED the SELECT after it then sees every
        // event committed before the previous sealer committed, and no sealer can interleave.
        c.lock_for_append()?;
        audit_pending::table
            .order(audit_pending::id.asc())
            .select(Pending::as_select())
            .load(c)
    })?;
    if pending.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = pending.iter().map(|p| p.id).collect();
    let events = pending
        .into_iter()
        .map(|p| NewEvent {
            occurred_at: p.occurred_at,
            organisation_id: p.organisation_id,
            actor: p.actor,
            action: p.action,
            subject: p.subject,
            request_id: p.request_id,
            detail: p.detail,
        })
        .collect();
    let sealed = chain(conn, events)?;
    // Exactly the rows read: one committed after the SELECT is left for the next sealing.
    for chunk in ids.chunks(CHUNK) {
        crate::with_conn!(conn, |c| diesel::delete(
            audit_pending::table.filter(audit_pending::id.eq_any(chunk))
        )
        .execute(c))?;
    }
    Ok(sealed)
}

/// Seals every pending event in a short transaction of its own, if there are any (checked
/// first without the lock, so an idle trail costs one indexed read). Every reader of the
/// trail calls this before it reads, so nobody reads a trail with committed events missing.
pub fn seal(conn: &mut Conn) -> StoreResult<usize> {
    let any: Option<i64> = crate::with_conn!(conn, |c| audit_pending::table
        .select(audit_pending::id)
        .first(c)
        .optional())?;
    if any.is_none() {
        return Ok(0);
    }
    conn.transaction(seal_in)
}

/// How many events are recorded but not yet sealed (for tests and the seal task's log).
pub fn pending_count(conn: &mut Conn) -> StoreResult<i64> {
    Ok(crate::with_conn!(conn, |c| audit_pending::table
        .count()
        .get_result(c))?)
}

/// Events after `after`, oldest first, optionally only one organisation's.
pub fn page(
    conn: &mut Conn,
    organisation_id: Option<&str>,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    Ok(crate::with_conn!(conn, |c| {
        let mut query = audit_events::table
            .filter(audit_events::seq.gt(after))
            .order(audit_events::seq.asc())
            .limit(limit)
            .select(AuditEvent::as_select())
            .into_boxed();
        if let Some(org) = organisation_id {
            query = query.filter(audit_events::organisation_id.eq(org.to_owned()));
        }
        query.load(c)
    })?)
}

/// Events about one subject (a person), oldest first: for their own export.
pub fn about_subject(conn: &mut Conn, subject: &str) -> StoreResult<Vec<AuditEvent>> {
    Ok(crate::with_conn!(conn, |c| audit_events::table
        .filter(audit_events::subject.eq(subject))
        .order(audit_events::seq.asc())
        .select(AuditEvent::as_select())
        .load(c))?)
}
