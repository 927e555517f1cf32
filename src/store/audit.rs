//! The audit trail table: append under a lock so the hash chain never forks, read in pages.

use diesel::prelude::*;

use super::schema::audit_events;
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

/// What a caller records; sequence and hashes are assigned here.
#[derive(Debug, Clone)]
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

/// Serialises appenders for the rest of the enclosing transaction.
trait AppendLock {
    fn lock_for_append(&mut self) -> QueryResult<()>;
}

impl AppendLock for diesel::PgConnection {
    fn lock_for_append(&mut self) -> QueryResult<()> {
        // EXCLUSIVE blocks other writers of the table but not plain readers.
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

/// Appends one event. Call it inside `Conn::transaction` with the change it audits, so
/// the lock is held to commit and the event and the change land (or roll back) together.
pub fn append(conn: &mut Conn, event: NewEvent) -> StoreResult<AuditEvent> {
    let mut rows = append_many(conn, vec![event])?;
    rows.pop()
        .ok_or_else(|| diesel::result::Error::NotFound.into())
}

/// Rows per multi-row INSERT: 10 binds a row stays well under SQLite's bind limit.
const APPEND_ROWS: usize = 500;

/// Appends events in order, chained one to the next, under one lock and one read of the
/// chain's end, in multi-row INSERTs: what a batch that audits each of many people needs.
/// Same transaction rules as [`append`].
pub fn append_many(conn: &mut Conn, events: Vec<NewEvent>) -> StoreResult<Vec<AuditEvent>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    crate::with_conn!(conn, |c| {
        c.lock_for_append()?;
        let last: Option<(i64, String)> = audit_events::table
            .order(audit_events::seq.desc())
            .select((audit_events::seq, audit_events::hash))
            .first(c)
            .optional()?;
        let (mut seq, mut prev_hash) =
            last.map_or((1, GENESIS.to_owned()), |(seq, hash)| (seq + 1, hash));
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            let mut row = AuditEvent {
                seq,
                occurred_at: event.occurred_at,
                organisation_id: event.organisation_id,
                actor: event.actor,
                action: event.action,
                subject: event.subject,
                request_id: event.request_id,
                prev_hash,
                hash: String::new(),
                detail: event.detail,
            };
            row.hash = chain_hash(&row.prev_hash, &row.fields());
            prev_hash = row.hash.clone();
            seq += 1;
            rows.push(row);
        }
        for chunk in rows.chunks(APPEND_ROWS) {
            diesel::insert_into(audit_events::table)
                .values(chunk)
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(rows)
    })
    .map_err(Into::into)
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
