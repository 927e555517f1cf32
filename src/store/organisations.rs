//! Organisations (forces): the owner of every other record.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::organisations;
use super::{Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: String,
    pub code: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut Conn, org: &Organisation) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(organisations::table)
        .values(org)
        .execute(c))?;
    Ok(())
}

pub fn list(conn: &mut Conn) -> StoreResult<Vec<Organisation>> {
    Ok(crate::with_conn!(conn, |c| organisations::table
        .order(organisations::code)
        .select(Organisation::as_select())
        .load(c))?)
}

pub fn find(conn: &mut Conn, id: &str) -> StoreResult<Organisation> {
    Ok(crate::with_conn!(conn, |c| organisations::table
        .find(id)
        .select(Organisation::as_select())
        .first(c))?)
}

pub fn find_by_code(conn: &mut Conn, code: &str) -> StoreResult<Organisation> {
    Ok(crate::with_conn!(conn, |c| organisations::table
        .filter(organisations::code.eq(code))
        .select(Organisation::as_select())
        .first(c))?)
}
