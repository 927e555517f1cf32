//! Declarations (one sealed answer set per employee, versioned for optimistic concurrency)
//! and their sealed history. This module never sees a plaintext answer: sealing and opening
//! happen in the service, with the key the store never holds.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::person_keys::PersonKeyRow;
use super::schema::{declaration_history as dh, declarations as d, employees, org_units};
use super::{Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = d)]
pub struct Declaration {
    pub employee_id: String,
    pub organisation_id: String,
    pub catalogue_version_id: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
    pub version: i64,
    pub last_reviewed_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dh)]
pub struct HistoryRow {
    pub id: String,
    pub employee_id: String,
    pub seq: i64,
    pub key_id: String,
    pub sealed: Vec<u8>,
    pub changed_at: NaiveDateTime,
}

pub fn find(conn: &mut Conn, employee: &str) -> StoreResult<Option<Declaration>> {
    Ok(crate::with_conn!(conn, |c| d::table
        .find(employee)
        .select(Declaration::as_select())
        .first(c)
        .optional())?)
}

/// Every declaration of an organisation, locked until the transaction ends: on PostgreSQL by
/// `FOR UPDATE`, so a concurrent write waits and then fails its version check; on SQLite the
/// caller's `BEGIN IMMEDIATE` already holds the write lock.
pub fn for_org_locked(conn: &mut Conn, org: &str) -> StoreResult<Vec<Declaration>> {
    let query = || {
        d::table
            .filter(d::organisation_id.eq(org.to_owned()))
            .order(d::employee_id.asc())
    };
    Ok(match conn {
        Conn::Postgres(c) => query()
            .select(Declaration::as_select())
            .for_update()
            .load(&mut **c)?,
        Conn::Sqlite(c) => query().select(Declaration::as_select()).load(&mut **c)?,
    })
}

/// Locks one employee's declaration row (if any) until the transaction ends on PostgreSQL, so
/// what the caller reads next is what it deletes; SQLite callers hold the write lock already.
pub fn lock(conn: &mut Conn, employee: &str) -> StoreResult<()> {
    if let Conn::Postgres(c) = conn {
        d::table
            .find(employee)
            .select(d::employee_id)
            .for_update()
            .load::<String>(&mut **c)?;
    }
    Ok(())
}

/// A declaration with the cell its owner counts in and the key it opens with: (org unit, staff
/// type, rank, declaration, sealed person key if they have one).
pub type PlacedDeclaration = (
    String,
    String,
    Option<String>,
    Declaration,
    Option<PersonKeyRow>,
);

/// The declarations of people in post on `today` (ISO date) in the organisation, in employee
/// id order after `after`, at most `limit`: a recount pages through them instead of asking
/// for each person in turn (their keys come in one more read per page, for the same reason).
pub fn in_post_page(
    conn: &mut Conn,
    org: &str,
    today: &str,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<PlacedDeclaration>> {
    let rows: Vec<(String, String, Option<String>, Declaration)> =
        crate::with_conn!(conn, |c| d::table
            .inner_join(employees::table.on(employees::id.eq(d::employee_id)))
            .filter(employees::organisation_id.eq(org.to_owned()))
            .filter(
                employees::leave_date
                    .is_null()
                    .or(employees::leave_date.gt(today.to_owned()))
            )
            .filter(d::employee_id.gt(after.to_owned()))
            .order(d::employee_id)
            .limit(limit)
            .select((
                employees::org_unit_id,
                employees::staff_type_id,
                employees::rank_id,
                Declaration::as_select()
            ))
            .load(c))?;
    let ids: Vec<String> = rows.iter().map(|r| r.3.employee_id.clone()).collect();
    let mut keys: std::collections::HashMap<String, PersonKeyRow> =
        super::person_keys::for_employees(conn, &ids)?
            .into_iter()
            .map(|k| (k.employee_id.clone(), k))
            .collect();
    Ok(rows
        .into_iter()
        .map(|(unit, staff, rank, row)| {
            let key = keys.remove(&row.employee_id);
            (unit, staff, rank, row, key)
        })
        .collect())
}

pub fn insert(conn: &mut Conn, row: &Declaration) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(d::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// Inserts many rows in multi-row statements (a bulk load into an empty organisation).
pub fn insert_many(conn: &mut Conn, rows: &[Declaration]) -> StoreResult<()> {
    // 8 columns a row: 1000 rows stay well under both backends' bind-parameter limits.
    for chunk in rows.chunks(1000) {
        crate::with_conn!(conn, |c| diesel::insert_into(d::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Replaces the stored answers only if the row is still at `expected` version. The condition
/// is in the UPDATE itself, so on PostgreSQL a writer that lost the race re-checks it after
/// the winner commits and updates nothing: 0 means "someone else changed it".
pub fn update_if_version(conn: &mut Conn, row: &Declaration, expected: i64) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::update(
        d::table
            .filter(d::employee_id.eq(&row.employee_id))
            .filter(d::version.eq(expected))
    )
    .set((
        d::catalogue_version_id.eq(&row.catalogue_version_id),
        d::key_id.eq(&row.key_id),
        d::sealed.eq(&row.sealed),
        d::version.eq(row.version),
        d::last_reviewed_at.eq(row.last_reviewed_at),
        d::updated_at.eq(row.updated_at),
    ))
    .execute(c))?)
}

/// Confirms the answers unchanged: only the review time moves. The version (and so the ETag)
/// stays, because the answers a front end holds are still the stored ones.
pub fn mark_reviewed(conn: &mut Conn, employee: &str, at: NaiveDateTime) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::update(
        d::table.filter(d::employee_id.eq(employee))
    )
    .set(d::last_reviewed_at.eq(at))
    .execute(c))?)
}

pub fn append_history(conn: &mut Conn, row: &HistoryRow) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(dh::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

pub fn history(conn: &mut Conn, employee: &str) -> StoreResult<Vec<HistoryRow>> {
    Ok(crate::with_conn!(conn, |c| dh::table
        .filter(dh::employee_id.eq(employee))
        .order(dh::seq.asc())
        .select(HistoryRow::as_select())
        .load(c))?)
}

/// Erases the answers and every history row for real (not a flag). Returns rows deleted.
pub fn erase(conn: &mut Conn, employee: &str) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| {
        let history = diesel::delete(dh::table.filter(dh::employee_id.eq(employee))).execute(c)?;
        let current = diesel::delete(d::table.filter(d::employee_id.eq(employee))).execute(c)?;
        Ok::<_, diesel::result::Error>(history + current)
    })?)
}

/// An employee due a review: id, employee number, never declared (`None`) or last reviewed at
/// that time, and the code of their org unit.
pub type DueRow = (String, String, Option<NaiveDateTime>, String);

/// Employees in post in `org` who never declared or last reviewed before `cutoff`, by
/// employee number after `after`, with their unit's code; only those in the unit with code
/// `unit` when one is given. Reads no sealed column.
pub fn due_for_review(
    conn: &mut Conn,
    org: &str,
    cutoff: NaiveDateTime,
    after: &str,
    unit: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<DueRow>> {
    use diesel::sql_types::Bool;
    let any_unit = unit.is_none();
    let unit = unit.unwrap_or("");
    Ok(crate::with_conn!(conn, |c| employees::table
        .left_join(d::table.on(d::employee_id.eq(employees::id)))
        .inner_join(org_units::table.on(org_units::id.eq(employees::org_unit_id)))
        .filter(employees::organisation_id.eq(org))
        .filter(employees::leave_date.is_null())
        .filter(employees::employee_number.gt(after))
        .filter(d::employee_id.is_null().or(d::last_reviewed_at.lt(cutoff)))
        .filter(any_unit.into_sql::<Bool>().or(org_units::code.eq(unit)))
        .order(employees::employee_number.asc())
        .limit(limit)
        .select((
            employees::id,
            employees::employee_number,
            d::last_reviewed_at.nullable(),
            org_units::code,
        ))
        .load(c))?)
}

/// A declaration to re-seal: (employee id, version, key id, sealed).
pub type StaleDeclaration = (String, i64, String, Vec<u8>);
/// A history row to re-seal: (id, employee id, seq, key id, sealed).
pub type StaleHistory = (String, String, i64, String, Vec<u8>);

/// Sealed rows not under `current_key`: (employee id, version, key id, sealed).
pub fn stale_declarations(
    conn: &mut Conn,
    current_key: &str,
    limit: i64,
) -> StoreResult<Vec<StaleDeclaration>> {
    Ok(crate::with_conn!(conn, |c| d::table
        .filter(d::key_id.ne(current_key))
        .order(d::employee_id.asc())
        .limit(limit)
        .select((d::employee_id, d::version, d::key_id, d::sealed))
        .load(c))?)
}

/// Re-seals one declaration if it is unchanged since it was read (same version and key), so
/// rotation never overwrites a write that happened meanwhile. Returns rows updated.
pub fn reseal_declaration(
    conn: &mut Conn,
    employee: &str,
    version: i64,
    old_key: &str,
    new_key: &str,
    sealed: &[u8],
) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::update(
        d::table
            .filter(d::employee_id.eq(employee))
            .filter(d::version.eq(version))
            .filter(d::key_id.eq(old_key))
    )
    .set((d::key_id.eq(new_key), d::sealed.eq(sealed)))
    .execute(c))?)
}

/// History rows not under `current_key`: (id, employee id, seq, key id, sealed).
pub fn stale_history(
    conn: &mut Conn,
    current_key: &str,
    limit: i64,
) -> StoreResult<Vec<StaleHistory>> {
    Ok(crate::with_conn!(conn, |c| dh::table
        .filter(dh::key_id.ne(current_key))
        .order(dh::id.asc())
        .limit(limit)
        .select((dh::id, dh::employee_id, dh::seq, dh::key_id, dh::sealed))
        .load(c))?)
}

pub fn reseal_history(
    conn: &mut Conn,
    id: &str,
    old_key: &str,
    new_key: &str,
    sealed: &[u8],
) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::update(
        dh::table
            .filter(dh::id.eq(id))
            .filter(dh::key_id.eq(old_key))
    )
    .set((dh::key_id.eq(new_key), dh::sealed.eq(sealed)))
    .execute(c))?)
}

/// Employee by external identity subject within an organisation.
pub fn employee_by_subject(
    conn: &mut Conn,
    org: &str,
    subject: &str,
) -> StoreResult<Option<super::workforce::Employee>> {
    Ok(crate::with_conn!(conn, |c| employees::table
        .filter(employees::organisation_id.eq(org))
        .filter(employees::external_subject.eq(subject))
        .select(super::workforce::Employee::as_select())
        .first(c)
        .optional())?)
}
