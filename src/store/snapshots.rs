//! Statistics snapshots: insert once, read many times. The one update (`reseal`) swaps the key
//! and ciphertext only: a snapshot's content is immutable once taken, so figures asked of it
//! never change. The one delete is of publication epochs (kind `epoch`, decision 0016) that a
//! newer epoch has replaced: live figures only ever read the newest.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::stats_snapshots as ss;
use super::{Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ss)]
pub struct SnapshotRow {
    pub id: String,
    pub organisation_id: String,
    pub period: String,
    pub kind: String,
    pub due_on: String,
    pub taken_at: NaiveDateTime,
    pub label: Option<String>,
    pub catalogue_version_id: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
}

/// Everything but the ciphertext, for listings.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ss)]
pub struct SnapshotMeta {
    pub id: String,
    pub organisation_id: String,
    pub period: String,
    pub kind: String,
    pub due_on: String,
    pub taken_at: NaiveDateTime,
    pub label: Option<String>,
    pub catalogue_version_id: String,
}

/// Inserts a snapshot unless the organisation already has one for the period; true when this
/// call took it. The unique key decides a race between two takers, so neither duplicates.
pub fn insert_once(conn: &mut Conn, row: &SnapshotRow) -> StoreResult<bool> {
    let inserted = crate::with_conn!(conn, |c| diesel::insert_into(ss::table)
        .values(row)
        .on_conflict((ss::organisation_id, ss::period))
        .do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

pub fn exists(conn: &mut Conn, org: &str, period: &str) -> StoreResult<bool> {
    let found: i64 = crate::with_conn!(conn, |c| ss::table
        .filter(ss::organisation_id.eq(org))
        .filter(ss::period.eq(period))
        .count()
        .get_result(c))?;
    Ok(found > 0)
}

/// The kind of the rows live figures are read from; never listed as snapshots.
pub const EPOCH: &str = "epoch";

/// The organisation's snapshot for one period, if taken: (id, taken at).
pub fn find_period(
    conn: &mut Conn,
    org: &str,
    period: &str,
) -> StoreResult<Option<(String, NaiveDateTime)>> {
    Ok(crate::with_conn!(conn, |c| ss::table
        .filter(ss::organisation_id.eq(org))
        .filter(ss::period.eq(period))
        .select((ss::id, ss::taken_at))
        .first(c)
        .optional())?)
}

/// Deletes the organisation's publication epochs other than `keep`.
pub fn delete_other_epochs(conn: &mut Conn, org: &str, keep: &str) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::delete(
        ss::table
            .filter(ss::organisation_id.eq(org))
            .filter(ss::kind.eq(EPOCH))
            .filter(ss::period.ne(keep))
    )
    .execute(c))?)
}

/// The organisation's snapshots, oldest first (by the date they describe, then when taken);
/// publication epochs are not snapshots and are left out.
pub fn list(conn: &mut Conn, org: &str) -> StoreResult<Vec<SnapshotMeta>> {
    Ok(crate::with_conn!(conn, |c| ss::table
        .filter(ss::organisation_id.eq(org))
        .filter(ss::kind.ne(EPOCH))
        .order((ss::due_on, ss::taken_at, ss::period))
        .select(SnapshotMeta::as_select())
        .load(c))?)
}

/// One snapshot of this organisation; `NotFound` for another organisation's.
pub fn find(conn: &mut Conn, org: &str, id: &str) -> StoreResult<SnapshotRow> {
    Ok(crate::with_conn!(conn, |c| ss::table
        .filter(ss::organisation_id.eq(org))
        .filter(ss::id.eq(id))
        .select(SnapshotRow::as_select())
        .first(c))?)
}

/// Makes the rest of the caller's just-begun transaction read one consistent state of the
/// database: `REPEATABLE READ` on PostgreSQL (READ COMMITTED would let a declaration commit
/// between reading the tallies and the structure). SQLite's `BEGIN IMMEDIATE` already holds
/// the write lock, so nothing changes underneath it.
pub fn consistent_reads(conn: &mut Conn) -> StoreResult<()> {
    if let Conn::Postgres(c) = conn {
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut **c)?;
    }
    Ok(())
}

/// A snapshot to re-seal: (id, organisation id, key id, sealed).
pub type StaleSnapshot = (String, String, String, Vec<u8>);

/// Snapshots not under `current_key`.
pub fn stale(conn: &mut Conn, current_key: &str, limit: i64) -> StoreResult<Vec<StaleSnapshot>> {
    Ok(crate::with_conn!(conn, |c| ss::table
        .filter(ss::key_id.ne(current_key))
        .order(ss::id.asc())
        .limit(limit)
        .select((ss::id, ss::organisation_id, ss::key_id, ss::sealed))
        .load(c))?)
}

/// Replaces one snapshot's ciphertext with the same content sealed under `new_key`, if it is
/// still under `old_key` (another rotation may have got there first). Nothing else changes.
pub fn reseal(
    conn: &mut Conn,
    id: &str,
    old_key: &str,
    new_key: &str,
    sealed: &[u8],
) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::update(
        ss::table
            .filter(ss::id.eq(id))
            .filter(ss::key_id.eq(old_key))
    )
    .set((ss::key_id.eq(new_key), ss::sealed.eq(sealed)))
    .execute(c))?)
}
