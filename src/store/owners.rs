//! Which sign-in identity gave an employee's answers (decision 0017), and the one-login-per-
//! record lookups that account creation needs.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{accounts, declaration_history as dh, declaration_owners as o, declarations};
use super::{Conn, StoreResult};

/// The identity recorded as having given the record's answers, if any.
pub fn find(conn: &mut Conn, employee: &str) -> StoreResult<Option<String>> {
    Ok(crate::with_conn!(conn, |c| o::table
        .find(employee)
        .select(o::identity)
        .first::<String>(c)
        .optional())?)
}

/// Records `identity` as the giver of the record's answers (replacing a stale owner left by
/// an erasure, which matters only while answers exist).
pub fn set(conn: &mut Conn, employee: &str, identity: &str, now: NaiveDateTime) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(o::table)
        .values((
            o::employee_id.eq(employee),
            o::identity.eq(identity),
            o::recorded_at.eq(now),
        ))
        .on_conflict(o::employee_id)
        .do_update()
        .set((o::identity.eq(identity), o::recorded_at.eq(now)))
        .execute(c))?;
    Ok(())
}

/// Whether anything answered is stored for the record: a declaration or any history row.
pub fn has_answers(conn: &mut Conn, employee: &str) -> StoreResult<bool> {
    let declared: bool = crate::with_conn!(conn, |c| diesel::select(diesel::dsl::exists(
        declarations::table.filter(declarations::employee_id.eq(employee))
    ))
    .get_result(c))?;
    if declared {
        return Ok(true);
    }
    Ok(crate::with_conn!(conn, |c| diesel::select(
        diesel::dsl::exists(dh::table.filter(dh::employee_id.eq(employee)))
    )
    .get_result(c))?)
}

/// The account (id) already linked to an employee record, if any.
pub fn account_for_employee(conn: &mut Conn, employee: &str) -> StoreResult<Option<String>> {
    Ok(crate::with_conn!(conn, |c| accounts::table
        .filter(accounts::employee_id.eq(employee))
        .select(accounts::id)
        .first::<String>(c)
        .optional())?)
}
