//! Sealed tally rows. The store never sees a count in clear: services seal and open.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{tallies, tally_state};
use super::{Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tallies)]
pub struct TallyRow {
    pub organisation_id: String,
    pub cell: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

/// One cell's row, locked for the rest of the transaction on PostgreSQL (SQLite callers
/// already hold the write lock through `Conn::transaction`).
pub fn find_for_update(conn: &mut Conn, org: &str, cell: &str) -> StoreResult<Option<TallyRow>> {
    let query = || {
        tallies::table
            .filter(tallies::organisation_id.eq(org.to_owned()))
            .filter(tallies::cell.eq(cell.to_owned()))
    };
    Ok(match conn {
        Conn::Postgres(c) => query()
            .select(TallyRow::as_select())
            .for_update()
            .first(&mut **c)
            .optional()?,
        Conn::Sqlite(c) => query()
            .select(TallyRow::as_select())
            .first(&mut **c)
            .optional()?,
    })
}

pub fn upsert(conn: &mut Conn, row: &TallyRow) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(tallies::table)
        .values(row)
        .on_conflict((tallies::organisation_id, tallies::cell))
        .do_update()
        .set((
            tallies::key_id.eq(&row.key_id),
            tallies::sealed.eq(&row.sealed),
            tallies::version.eq(row.version),
            tallies::updated_at.eq(row.updated_at),
        ))
        .execute(c))?;
    Ok(())
}

pub fn list_org(conn: &mut Conn, org: &str) -> StoreResult<Vec<TallyRow>> {
    Ok(crate::with_conn!(conn, |c| tallies::table
        .filter(tallies::organisation_id.eq(org.to_owned()))
        .order(tallies::cell)
        .select(TallyRow::as_select())
        .load(c))?)
}

/// Replaces the organisation's rows with `rows` in place: cells not in `rows` are deleted, the
/// rest upserted. In place, not delete-and-insert, so a writer waiting on a cell's row lock
/// (`find_for_update`) reads the new row when the lock is released rather than finding it gone.
pub fn replace_org_rows(conn: &mut Conn, org: &str, rows: &[TallyRow]) -> StoreResult<()> {
    let keep: Vec<&str> = rows.iter().map(|r| r.cell.as_str()).collect();
    let existing: Vec<String> = list_org(conn, org)?.into_iter().map(|r| r.cell).collect();
    let gone: Vec<&String> = existing
        .iter()
        .filter(|c| !keep.contains(&c.as_str()))
        .collect();
    for chunk in gone.chunks(INSERT_ROWS) {
        crate::with_conn!(&mut *conn, |c| diesel::delete(
            tallies::table
                .filter(tallies::organisation_id.eq(org.to_owned()))
                .filter(tallies::cell.eq_any(chunk))
        )
        .execute(c))?;
    }
    use diesel::upsert::excluded;
    match conn {
        Conn::Postgres(c) => {
            for chunk in rows.chunks(INSERT_ROWS) {
                diesel::insert_into(tallies::table)
                    .values(chunk)
                    .on_conflict((tallies::organisation_id, tallies::cell))
                    .do_update()
                    .set((
                        tallies::key_id.eq(excluded(tallies::key_id)),
                        tallies::sealed.eq(excluded(tallies::sealed)),
                        tallies::version.eq(excluded(tallies::version)),
                        tallies::updated_at.eq(excluded(tallies::updated_at)),
                    ))
                    .execute(&mut **c)?;
            }
        }
        // Diesel has no multi-row upsert for SQLite; in-process statements are cheap.
        Conn::Sqlite(_) => {
            for row in rows {
                upsert(conn, row)?;
            }
        }
    }
    Ok(())
}

/// Rows per multi-row INSERT: 6 binds a row stays under SQLite's bind limit.
const INSERT_ROWS: usize = 1000;

/// Locks every tally row of the organisation until the transaction ends (PostgreSQL; SQLite
/// callers hold the write lock already), so a recount reads declarations and workforce only
/// after every writer that already moved a cell has committed, and later writers wait for it.
///
/// Rows are locked in the cell's byte order, whatever the database's collation: the one order
/// every writer holding more than one tally row takes them in (`services::tallies::
/// follow_person` changes a move's two cells in it), so none can hold a row another waits for.
pub fn lock_org(conn: &mut Conn, org: &str) -> StoreResult<()> {
    if let Conn::Postgres(c) = conn {
        tallies::table
            .filter(tallies::organisation_id.eq(org.to_owned()))
            .select(tallies::cell)
            .order(diesel::dsl::sql::<diesel::sql_types::Text>(
                "cell COLLATE \"C\"",
            ))
            .for_update()
            .load::<String>(&mut **c)?;
    }
    Ok(())
}

/// The day the organisation's tallies were last brought up to date with who is in post, locked
/// until the transaction ends on PostgreSQL (a recount or leavers' pass of the same organisation
/// waits). `None`: never recorded (tallies written before the record existed).
pub fn counted_on_for_update(conn: &mut Conn, org: &str) -> StoreResult<Option<String>> {
    let query = || {
        tally_state::table
            .find(org.to_owned())
            .select(tally_state::counted_on)
    };
    Ok(match conn {
        Conn::Postgres(c) => query().for_update().first(&mut **c).optional()?,
        Conn::Sqlite(c) => query().first(&mut **c).optional()?,
    })
}

/// Records that the organisation's tallies count exactly the people in post on `day` (ISO).
/// On PostgreSQL the upsert holds the row lock until the transaction ends.
pub fn set_counted_on(conn: &mut Conn, org: &str, day: &str) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(tally_state::table)
        .values((
            tally_state::organisation_id.eq(org),
            tally_state::counted_on.eq(day)
        ))
        .on_conflict(tally_state::organisation_id)
        .do_update()
        .set(tally_state::counted_on.eq(day))
        .execute(c))?;
    Ok(())
}

/// A tally row to re-seal: (organisation id, cell, version, key id, sealed).
pub type StaleTally = (String, String, i64, String, Vec<u8>);

/// Tally rows not under `current_key`, oldest cells first.
pub fn stale(conn: &mut Conn, current_key: &str, limit: i64) -> StoreResult<Vec<StaleTally>> {
    Ok(crate::with_conn!(conn, |c| tallies::table
        .filter(tallies::key_id.ne(current_key))
        .order((tallies::organisation_id.asc(), tallies::cell.asc()))
        .limit(limit)
        .select((
            tallies::organisation_id,
            tallies::cell,
            tallies::version,
            tallies::key_id,
            tallies::sealed
        ))
        .load(c))?)
}

/// Re-seals one tally row if it is unchanged since it was read (same version and key): a
/// count that moved meanwhile was sealed under the current key by its writer, and a stale
/// re-seal must not put the old count back. Returns rows updated. The version is kept, since
/// the counts did not change.
pub fn reseal(
    conn: &mut Conn,
    org: &str,
    cell: &str,
    version: i64,
    old_key: &str,
    new_key: &str,
    sealed: &[u8],
) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::update(
        tallies::table
            .filter(tallies::organisation_id.eq(org))
            .filter(tallies::cell.eq(cell))
            .filter(tallies::version.eq(version))
            .filter(tallies::key_id.eq(old_key))
    )
    .set((tallies::key_id.eq(new_key), tallies::sealed.eq(sealed)))
    .execute(c))?)
}

/// The organisation's tallies summed without opening any: rows, sum of versions, latest
/// update. Every write changes it (see `services::figure_cache`).
pub fn stamp(conn: &mut Conn, org: &str) -> StoreResult<(i64, i64, Option<NaiveDateTime>)> {
    use diesel::dsl::{count_star, max, sql};
    // SUM of a BIGINT is NUMERIC on PostgreSQL; the cast keeps one type on both backends.
    let versions = || sql::<diesel::sql_types::BigInt>("CAST(COALESCE(SUM(version), 0) AS BIGINT)");
    Ok(crate::with_conn!(conn, |c| tallies::table
        .filter(tallies::organisation_id.eq(org.to_owned()))
        .select((count_star(), versions(), max(tallies::updated_at)))
        .first(c))?)
}
