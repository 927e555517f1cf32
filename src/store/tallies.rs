//! Sealed tally rows. The store never sees a count in clear: services seal and open.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::tallies;
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

pub fn delete_org(conn: &mut Conn, org: &str) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::delete(
        tallies::table.filter(tallies::organisation_id.eq(org.to_owned()))
    )
    .execute(c))?)
}

/// Rows per multi-row INSERT: 6 binds a row stays under SQLite's bind limit.
const INSERT_ROWS: usize = 1000;

/// Inserts fresh rows (after [`delete_org`]) a thousand to a statement, not one per cell.
pub fn insert_many(conn: &mut Conn, rows: &[TallyRow]) -> StoreResult<()> {
    for chunk in rows.chunks(INSERT_ROWS) {
        crate::with_conn!(&mut *conn, |c| diesel::insert_into(tallies::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}
