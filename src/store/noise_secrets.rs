//! Each organisation's sealed perturbation secret. Created once, never changed but re-sealed.

use diesel::prelude::*;

use super::schema::noise_secrets as ns;
use super::{Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ns)]
pub struct NoiseSecretRow {
    pub organisation_id: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
}

pub fn find(conn: &mut Conn, org: &str) -> StoreResult<Option<NoiseSecretRow>> {
    Ok(crate::with_conn!(conn, |c| ns::table
        .filter(ns::organisation_id.eq(org))
        .select(NoiseSecretRow::as_select())
        .first(c)
        .optional())?)
}

/// Inserts the row unless the organisation already has one (another process got there first);
/// the caller reads back whichever won.
pub fn insert_once(conn: &mut Conn, row: &NoiseSecretRow) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(ns::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// Rows not under `current_key`: (organisation, key id, sealed).
pub fn stale(
    conn: &mut Conn,
    current_key: &str,
    limit: i64,
) -> StoreResult<Vec<(String, String, Vec<u8>)>> {
    Ok(crate::with_conn!(conn, |c| ns::table
        .filter(ns::key_id.ne(current_key))
        .order(ns::organisation_id.asc())
        .limit(limit)
        .select((ns::organisation_id, ns::key_id, ns::sealed))
        .load(c))?)
}

/// Re-seals one row if it is still under `old_key`.
pub fn reseal(
    conn: &mut Conn,
    org: &str,
    old_key: &str,
    new_key: &str,
    sealed: &[u8],
) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::update(
        ns::table
            .filter(ns::organisation_id.eq(org))
            .filter(ns::key_id.eq(old_key))
    )
    .set((ns::key_id.eq(new_key), ns::sealed.eq(sealed)))
    .execute(c))?)
}
