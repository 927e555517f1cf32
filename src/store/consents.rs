//! Privacy notices (versioned per organisation) and employees' agreements to them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{consents, privacy_notices};
use super::{Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = privacy_notices)]
pub struct PrivacyNotice {
    pub id: String,
    pub organisation_id: String,
    pub version: i64,
    pub text_en: String,
    pub text_cy: String,
    pub lawful_basis: String,
    pub published_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct Consent {
    pub employee_id: String,
    pub purpose: String,
    pub notice_version: i64,
    pub granted_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
}

/// The organisation's newest notice, if it has any.
pub fn current_notice(conn: &mut Conn, org: &str) -> StoreResult<Option<PrivacyNotice>> {
    Ok(crate::with_conn!(conn, |c| privacy_notices::table
        .filter(privacy_notices::organisation_id.eq(org))
        .order(privacy_notices::version.desc())
        .select(PrivacyNotice::as_select())
        .first(c)
        .optional())?)
}

pub fn insert_notice(conn: &mut Conn, notice: &PrivacyNotice) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(privacy_notices::table)
        .values(notice)
        .execute(c))?;
    Ok(())
}

/// Every agreement the employee has made, oldest notice first.
pub fn for_employee(conn: &mut Conn, employee: &str) -> StoreResult<Vec<Consent>> {
    Ok(crate::with_conn!(conn, |c| consents::table
        .filter(consents::employee_id.eq(employee))
        .order((consents::notice_version.asc(), consents::purpose.asc()))
        .select(Consent::as_select())
        .load(c))?)
}

/// Records a grant of `purpose` under `notice_version` (re-granting after a withdrawal
/// replaces the row: the grant time is the latest agreement).
pub fn grant(conn: &mut Conn, row: &Consent) -> StoreResult<()> {
    crate::with_conn!(conn, |c| {
        diesel::delete(
            consents::table
                .filter(consents::employee_id.eq(&row.employee_id))
                .filter(consents::purpose.eq(&row.purpose))
                .filter(consents::notice_version.eq(row.notice_version)),
        )
        .execute(c)?;
        diesel::insert_into(consents::table).values(row).execute(c)
    })?;
    Ok(())
}

/// Stamps every live agreement to `purpose` as withdrawn. Returns how many were live.
pub fn withdraw(
    conn: &mut Conn,
    employee: &str,
    purpose: &str,
    at: NaiveDateTime,
) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| diesel::update(
        consents::table
            .filter(consents::employee_id.eq(employee))
            .filter(consents::purpose.eq(purpose))
            .filter(consents::withdrawn_at.is_null())
    )
    .set(consents::withdrawn_at.eq(Some(at)))
    .execute(c))?)
}
