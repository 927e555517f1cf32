//! Local accounts and API clients, with their credential hashes. Hashes never leave the
//! service layer; handlers see `AccountView`-style projections built there.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{accounts, api_clients};
use super::{Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: String,
    pub organisation_id: Option<String>,
    pub username: String,
    pub password_hash: String,
    pub roles: String,
    pub employee_id: Option<String>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_clients)]
pub struct ApiClient {
    pub id: String,
    pub organisation_id: String,
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub roles: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
}

pub fn insert_account(conn: &mut Conn, account: &Account) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(accounts::table)
        .values(account)
        .execute(c))?;
    Ok(())
}

pub fn find_account_by_username(conn: &mut Conn, username: &str) -> StoreResult<Option<Account>> {
    Ok(crate::with_conn!(conn, |c| accounts::table
        .filter(accounts::username.eq(username))
        .select(Account::as_select())
        .first(c)
        .optional())?)
}

pub fn list_accounts(conn: &mut Conn, organisation_id: &str) -> StoreResult<Vec<Account>> {
    Ok(crate::with_conn!(conn, |c| accounts::table
        .filter(accounts::organisation_id.eq(organisation_id))
        .order(accounts::username)
        .select(Account::as_select())
        .load(c))?)
}

pub fn count_admins(conn: &mut Conn) -> StoreResult<i64> {
    Ok(crate::with_conn!(conn, |c| accounts::table
        .filter(accounts::roles.like("%admin%"))
        .filter(accounts::organisation_id.is_null())
        .count()
        .get_result(c))?)
}

pub fn insert_client(conn: &mut Conn, client: &ApiClient) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(api_clients::table)
        .values(client)
        .execute(c))?;
    Ok(())
}

pub fn find_client(conn: &mut Conn, client_id: &str) -> StoreResult<Option<ApiClient>> {
    Ok(crate::with_conn!(conn, |c| api_clients::table
        .filter(api_clients::client_id.eq(client_id))
        .select(ApiClient::as_select())
        .first(c)
        .optional())?)
}
