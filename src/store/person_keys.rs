//! Per-person data keys, each sealed by the service key (decision 0019). The store never sees
//! a key in the clear: sealing and opening happen in the service.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::person_keys as pk;
use super::{Conn, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pk)]
pub struct PersonKeyRow {
    pub employee_id: String,
    pub organisation_id: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
    pub created_at: NaiveDateTime,
    /// The key tree leaf it is also sealed under (decision 0027); `None` from before the tree.
    pub leaf: Option<i64>,
}

pub fn find(conn: &mut Conn, employee: &str) -> StoreResult<Option<PersonKeyRow>> {
    Ok(crate::with_conn!(conn, |c| pk::table
        .find(employee)
        .select(PersonKeyRow::as_select())
        .first(c)
        .optional())?)
}

/// Every key of an organisation (a catalogue migration opens everyone's answers at once).
pub fn for_org(conn: &mut Conn, org: &str) -> StoreResult<Vec<PersonKeyRow>> {
    Ok(crate::with_conn!(conn, |c| pk::table
        .filter(pk::organisation_id.eq(org))
        .select(PersonKeyRow::as_select())
        .load(c))?)
}

/// Stores a new key unless the person already has one (a concurrent first write made it):
/// 0 then, and the caller reads that one instead.
/// The keys of these people (those who have one).
pub fn for_employees(conn: &mut Conn, employees: &[String]) -> StoreResult<Vec<PersonKeyRow>> {
    Ok(crate::with_conn!(conn, |c| pk::table
        .filter(pk::employee_id.eq_any(employees))
        .select(PersonKeyRow::as_select())
        .load(c))?)
}

pub fn insert_if_absent(conn: &mut Conn, row: &PersonKeyRow) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::insert_into(pk::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?)
}

/// The organisation an employee belongs to (the binding of their key).
pub fn organisation_of(conn: &mut Conn, employee: &str) -> StoreResult<String> {
    use super::schema::employees;
    Ok(crate::with_conn!(conn, |c| employees::table
        .find(employee)
        .select(employees::organisation_id)
        .first(c))?)
}

/// Inserts many keys in multi-row statements (bulk loaders).
pub fn insert_many(conn: &mut Conn, rows: &[PersonKeyRow]) -> StoreResult<()> {
    for chunk in rows.chunks(1000) {
        crate::with_conn!(conn, |c| diesel::insert_into(pk::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Destroys these people's keys: whatever of their ciphertexts survives elsewhere no longer
/// opens. Their leaves are queued for puncturing in the same transaction, so the copies of
/// the keys themselves (backups) stop opening once [`take_pending_punctures`]'s caller has
/// punctured them. Returns keys deleted.
pub fn destroy(conn: &mut Conn, employees: &[String]) -> StoreResult<usize> {
    use super::schema::pending_punctures as pp;
    let leaves: Vec<Option<i64>> = crate::with_conn!(conn, |c| pk::table
        .filter(pk::employee_id.eq_any(employees))
        .select(pk::leaf)
        .load(c))?;
    let now = chrono::Utc::now().naive_utc();
    let queued: Vec<_> = leaves
        .into_iter()
        .flatten()
        .map(|leaf| (pp::leaf.eq(leaf), pp::created_at.eq(now)))
        .collect();
    for chunk in queued.chunks(1000) {
        crate::with_conn!(conn, |c| diesel::insert_into(pp::table)
            .values(chunk)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(crate::with_conn!(conn, |c| diesel::delete(
        pk::table.filter(pk::employee_id.eq_any(employees))
    )
    .execute(c))?)
}

/// Leaves waiting to be punctured (at most `limit`).
pub fn pending_punctures(conn: &mut Conn, limit: i64) -> StoreResult<Vec<i64>> {
    use super::schema::pending_punctures as pp;
    Ok(crate::with_conn!(conn, |c| pp::table
        .select(pp::leaf)
        .order(pp::leaf.asc())
        .limit(limit)
        .load(c))?)
}

/// Forgets leaves the key store has punctured.
pub fn punctured(conn: &mut Conn, leaves: &[i64]) -> StoreResult<usize> {
    use super::schema::pending_punctures as pp;
    Ok(crate::with_conn!(conn, |c| diesel::delete(
        pp::table.filter(pp::leaf.eq_any(leaves))
    )
    .execute(c))?)
}

/// The key store this database is bound to, binding it to `store_id` if it is bound to none.
pub fn bind_key_store(conn: &mut Conn, store_id: &str) -> StoreResult<String> {
    use super::schema::key_store_binding as b;
    crate::with_conn!(conn, |c| diesel::insert_into(b::table)
        .values((b::id.eq(1), b::store_id.eq(store_id)))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(crate::with_conn!(conn, |c| b::table
        .select(b::store_id)
        .first(c))?)
}

/// A key to re-seal: (employee id, organisation id, key id, sealed, leaf).
pub type StaleKey = (String, String, String, Vec<u8>, Option<i64>);

/// Keys not sealed under `current_key`, or (`want_leaf`) under no leaf of the key tree.
pub fn stale(
    conn: &mut Conn,
    current_key: &str,
    want_leaf: bool,
    limit: i64,
) -> StoreResult<Vec<StaleKey>> {
    let columns = (
        pk::employee_id,
        pk::organisation_id,
        pk::key_id,
        pk::sealed,
        pk::leaf,
    );
    let order = pk::employee_id.asc();
    Ok(if want_leaf {
        crate::with_conn!(conn, |c| pk::table
            .filter(pk::key_id.ne(current_key).or(pk::leaf.is_null()))
            .order(order)
            .limit(limit)
            .select(columns)
            .load(c))?
    } else {
        crate::with_conn!(conn, |c| pk::table
            .filter(pk::key_id.ne(current_key))
            .order(order)
            .limit(limit)
            .select(columns)
            .load(c))?
    })
}

/// Re-seals one key if it is still under `old_key` and `old_leaf`. A key's content never
/// changes (a destroyed key is never re-created with the same bytes), so those are the
/// condition.
pub fn reseal(
    conn: &mut Conn,
    employee: &str,
    (old_key, old_leaf): (&str, Option<i64>),
    (new_key, new_leaf): (&str, Option<i64>),
    sealed: &[u8],
) -> StoreResult<usize> {
    let set = (
        pk::key_id.eq(new_key),
        pk::sealed.eq(sealed),
        pk::leaf.eq(new_leaf),
    );
    let row = pk::table
        .filter(pk::employee_id.eq(employee))
        .filter(pk::key_id.eq(old_key));
    Ok(match old_leaf {
        Some(leaf) => crate::with_conn!(conn, |c| diesel::update(row.filter(pk::leaf.eq(leaf)))
            .set(set)
            .execute(c))?,
        None => crate::with_conn!(conn, |c| diesel::update(row.filter(pk::leaf.is_null()))
            .set(set)
            .execute(c))?,
    })
}

/// After an erasure has committed: on SQLite, copies the WAL back into the database and
/// truncates it, so the erased rows' old page images leave the WAL (`secure_delete` has
/// zeroed them in the database file). Best effort: a reader still holding an old snapshot
/// keeps its frames until the next checkpoint. PostgreSQL has nothing comparable; its dead
/// tuples go at the next vacuum.
pub fn checkpoint_after_erasure(conn: &mut Conn) {
    if let Conn::Sqlite(c) = conn {
        if !c.writer().truncate_wal(c) {
            tracing::debug!("the checkpoint after an erasure did not empty the WAL");
        }
    }
}

/// Every key held (operators' checks and tests).
pub fn all(conn: &mut Conn) -> StoreResult<Vec<PersonKeyRow>> {
    Ok(crate::with_conn!(conn, |c| pk::table
        .select(PersonKeyRow::as_select())
        .load(c))?)
}
