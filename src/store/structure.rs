//! Organisation structure: the org-unit tree, staff types and ranks or grades.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{employees, org_units, ranks, staff_types};
use super::{Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = org_units, treat_none_as_null = true)]
pub struct OrgUnit {
    pub id: String,
    pub organisation_id: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = staff_types)]
pub struct StaffType {
    pub id: String,
    pub organisation_id: String,
    pub code: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = ranks, treat_none_as_null = true)]
pub struct Rank {
    pub id: String,
    pub organisation_id: String,
    pub code: String,
    pub name: String,
    pub sort_order: i64,
    pub staff_type_id: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn list_units(conn: &mut Conn, org: &str) -> StoreResult<Vec<OrgUnit>> {
    Ok(crate::with_conn!(conn, |c| org_units::table
        .filter(org_units::organisation_id.eq(org))
        .order(org_units::code)
        .select(OrgUnit::as_select())
        .load(c))?)
}

/// A unit of this organisation; `NotFound` for another organisation's unit.
pub fn find_unit(conn: &mut Conn, org: &str, id: &str) -> StoreResult<OrgUnit> {
    Ok(crate::with_conn!(conn, |c| org_units::table
        .filter(org_units::organisation_id.eq(org))
        .filter(org_units::id.eq(id))
        .select(OrgUnit::as_select())
        .first(c))?)
}

pub fn insert_unit(conn: &mut Conn, unit: &OrgUnit) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(org_units::table)
        .values(unit)
        .execute(c))?;
    Ok(())
}

pub fn update_unit(conn: &mut Conn, unit: &OrgUnit) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::update(org_units::table.find(&unit.id))
        .set(unit)
        .execute(c))?;
    Ok(())
}

/// The parent id of `id`, for walking up the tree when re-parenting.
pub fn parent_of(conn: &mut Conn, id: &str) -> StoreResult<Option<String>> {
    Ok(crate::with_conn!(conn, |c| org_units::table
        .find(id)
        .select(org_units::parent_id)
        .first(c))?)
}

/// (child units, employees) that still hang off a unit.
pub fn unit_dependants(conn: &mut Conn, id: &str) -> StoreResult<(i64, i64)> {
    let children = crate::with_conn!(conn, |c| org_units::table
        .filter(org_units::parent_id.eq(id))
        .count()
        .get_result(c))?;
    let people = crate::with_conn!(conn, |c| employees::table
        .filter(employees::org_unit_id.eq(id))
        .count()
        .get_result(c))?;
    Ok((children, people))
}

pub fn delete_unit(conn: &mut Conn, id: &str) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::delete(
        org_units::table.find(id)
    )
    .execute(c))?)
}

pub fn list_staff_types(conn: &mut Conn, org: &str) -> StoreResult<Vec<StaffType>> {
    Ok(crate::with_conn!(conn, |c| staff_types::table
        .filter(staff_types::organisation_id.eq(org))
        .order(staff_types::code)
        .select(StaffType::as_select())
        .load(c))?)
}

pub fn find_staff_type(conn: &mut Conn, org: &str, id: &str) -> StoreResult<StaffType> {
    Ok(crate::with_conn!(conn, |c| staff_types::table
        .filter(staff_types::organisation_id.eq(org))
        .filter(staff_types::id.eq(id))
        .select(StaffType::as_select())
        .first(c))?)
}

pub fn insert_staff_types(conn: &mut Conn, rows: &[StaffType]) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(staff_types::table)
        .values(rows)
        .execute(c))?;
    Ok(())
}

pub fn update_staff_type(conn: &mut Conn, row: &StaffType) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::update(staff_types::table.find(&row.id))
        .set(row)
        .execute(c))?;
    Ok(())
}

pub fn count_staff_types(conn: &mut Conn, org: &str) -> StoreResult<i64> {
    Ok(crate::with_conn!(conn, |c| staff_types::table
        .filter(staff_types::organisation_id.eq(org))
        .count()
        .get_result(c))?)
}

pub fn list_ranks(conn: &mut Conn, org: &str) -> StoreResult<Vec<Rank>> {
    Ok(crate::with_conn!(conn, |c| ranks::table
        .filter(ranks::organisation_id.eq(org))
        .order((ranks::sort_order, ranks::code))
        .select(Rank::as_select())
        .load(c))?)
}

pub fn find_rank(conn: &mut Conn, org: &str, id: &str) -> StoreResult<Rank> {
    Ok(crate::with_conn!(conn, |c| ranks::table
        .filter(ranks::organisation_id.eq(org))
        .filter(ranks::id.eq(id))
        .select(Rank::as_select())
        .first(c))?)
}

pub fn insert_rank(conn: &mut Conn, row: &Rank) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(ranks::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

pub fn update_rank(conn: &mut Conn, row: &Rank) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::update(ranks::table.find(&row.id))
        .set(row)
        .execute(c))?;
    Ok(())
}
