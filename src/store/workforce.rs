//! Employees (the workforce HR systems sync) and the set-based merge a bulk sync applies.
//!
//! A sync stages its validated rows in a temporary table (binary COPY on PostgreSQL, multi-row
//! inserts on SQLite), then applies them set-based: on PostgreSQL one statement (a single join
//! of stage and employees feeding data-modifying CTEs), on SQLite, which has no such CTEs, three
//! (update changed, insert new, mark leavers). Both share the comparison and the columns written.

use crate::domain::scim::{Clause, FilterAttribute, FilterOp};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::schema::{employees, org_units, ranks, staff_types, sync_requests};
use super::{placeholders, Conn, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = employees)]
pub struct Employee {
    pub id: String,
    pub organisation_id: String,
    pub employee_number: String,
    pub external_subject: Option<String>,
    pub org_unit_id: String,
    pub staff_type_id: String,
    pub rank_id: Option<String>,
    pub fte: f64,
    pub start_date: String,
    pub leave_date: Option<String>,
    pub updated_at: NaiveDateTime,
}

/// A page of employees ordered by employee number, after `after` when given.
pub fn list_employees(
    conn: &mut Conn,
    org: &str,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<Employee>> {
    let after = after.unwrap_or("").to_owned();
    Ok(crate::with_conn!(conn, |c| employees::table
        .filter(employees::organisation_id.eq(org))
        .filter(employees::employee_number.gt(&after))
        .order(employees::employee_number)
        .limit(limit)
        .select(Employee::as_select())
        .load(c))?)
}

pub fn find_employee(conn: &mut Conn, org: &str, id: &str) -> StoreResult<Employee> {
    Ok(crate::with_conn!(conn, |c| employees::table
        .filter(employees::organisation_id.eq(org))
        .filter(employees::id.eq(id))
        .select(Employee::as_select())
        .first(c))?)
}

/// (code, id) pairs of units, staff types and ranks, for resolving the codes rows carry.
pub type CodeIds = Vec<(String, String)>;

pub fn structure_codes(conn: &mut Conn, org: &str) -> StoreResult<(CodeIds, CodeIds, CodeIds)> {
    let units = crate::with_conn!(conn, |c| org_units::table
        .filter(org_units::organisation_id.eq(org))
        .select((org_units::code, org_units::id))
        .load(c))?;
    let types = crate::with_conn!(conn, |c| staff_types::table
        .filter(staff_types::organisation_id.eq(org))
        .select((staff_types::code, staff_types::id))
        .load(c))?;
    let rank_ids = crate::with_conn!(conn, |c| ranks::table
        .filter(ranks::organisation_id.eq(org))
        .select((ranks::code, ranks::id))
        .load(c))?;
    Ok((units, types, rank_ids))
}

// The staging table lives only inside the sync's transaction. It is not in `schema.rs` because
// it is not part of the persistent schema the parity test compares.
diesel::table! {
    sync_stage (line) {
        line -> BigInt,
        new_id -> Text,
        employee_number -> Text,
        external_subject -> Nullable<Text>,
        org_unit_id -> Text,
        staff_type_id -> Text,
        rank_id -> Nullable<Text>,
        fte -> Double,
        start_date -> Text,
        leave_date -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(sync_stage, employees);

// NULL for None, not DEFAULT: binary COPY needs every value, and SQLite (which has no DEFAULT
// in VALUES) can then take a batch as one multi-row INSERT.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sync_stage, treat_none_as_default_value = false)]
pub struct StagedRow {
    pub line: i64,
    pub new_id: String,
    pub employee_number: String,
    pub external_subject: Option<String>,
    pub org_unit_id: String,
    pub staff_type_id: String,
    pub rank_id: Option<String>,
    pub fte: f64,
    pub start_date: String,
    pub leave_date: Option<String>,
}

/// Rows staged per round trip. On PostgreSQL one binary `COPY`; on SQLite multi-row INSERTs
/// of [`SQLITE_INSERT_ROWS`] (10 binds a row stays under its bind limit).
pub const STAGE_BATCH: usize = 10_000;
const SQLITE_INSERT_ROWS: usize = 1000;

const STAGE_COLUMNS: &str = "line BIGINT NOT NULL, new_id TEXT NOT NULL, \
    employee_number TEXT NOT NULL, external_subject TEXT, org_unit_id TEXT NOT NULL, \
    staff_type_id TEXT NOT NULL, rank_id TEXT, fte DOUBLE PRECISION NOT NULL, \
    start_date TEXT NOT NULL, leave_date TEXT";

/// Creates the empty staging table. Call inside the sync's transaction: on PostgreSQL it is
/// dropped at commit or rollback; on SQLite a rollback undoes it and [`drop_stage`] removes it
/// before a commit.
pub fn create_stage(conn: &mut Conn) -> StoreResult<()> {
    match conn {
        Conn::Postgres(c) => c.batch_execute(&format!(
            "CREATE TEMP TABLE sync_stage ({STAGE_COLUMNS}) ON COMMIT DROP"
        ))?,
        Conn::Sqlite(c) => c.batch_execute(&format!(
            "DROP TABLE IF EXISTS temp.sync_stage; CREATE TEMP TABLE sync_stage ({STAGE_COLUMNS})"
        ))?,
    }
    Ok(())
}

/// Readies the staged rows for the merge once they are all in. On PostgreSQL: analyse them,
/// since autovacuum never sees a temporary table and without row counts the planner joins
/// 250k staged rows as if they were a handful; the one-statement merge hash-joins, so no index.
/// On SQLite: index the employee number, which its three merge statements look rows up by
/// (cheaper built once than maintained per insert).
pub fn index_stage(conn: &mut Conn) -> StoreResult<()> {
    match conn {
        Conn::Postgres(c) => c.batch_execute("ANALYZE sync_stage")?,
        Conn::Sqlite(c) => {
            c.batch_execute("CREATE INDEX sync_stage_number ON sync_stage (employee_number)")?
        }
    }
    Ok(())
}

pub fn drop_stage(conn: &mut Conn) -> StoreResult<()> {
    if let Conn::Sqlite(c) = conn {
        c.batch_execute("DROP TABLE IF EXISTS temp.sync_stage")?;
    }
    Ok(())
}

pub fn stage_rows(conn: &mut Conn, rows: &[StagedRow]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        Conn::Postgres(c) => {
            diesel::copy_from(sync_stage::table)
                .from_insertable(rows)
                .execute(&mut **c)?;
        }
        Conn::Sqlite(c) => {
            for chunk in rows.chunks(SQLITE_INSERT_ROWS) {
                diesel::insert_into(sync_stage::table)
                    .values(chunk)
                    .execute(&mut **c)?;
            }
        }
    }
    Ok(())
}

/// A staged row `s` differs from the stored employee `e` with the same number, or revives
/// someone a SCIM client deleted (see [`apply_merge`]). `today` is the bind holding today.
fn changed(today: &str) -> String {
    format!(
        "(e.external_subject IS DISTINCT FROM s.external_subject \
         OR e.org_unit_id <> s.org_unit_id OR e.staff_type_id <> s.staff_type_id \
         OR e.rank_id IS DISTINCT FROM s.rank_id OR e.fte <> s.fte \
         OR e.start_date <> s.start_date OR e.leave_date IS DISTINCT FROM s.leave_date \
         OR (e.scim_deleted_at IS NOT NULL AND (s.leave_date IS NULL OR s.leave_date > {today})))"
    )
}

/// The columns an update from the stage writes (`s` the staged row, `e` the employee).
fn set_from_stage(now: &str, today: &str) -> String {
    format!(
        "external_subject = s.external_subject, org_unit_id = s.org_unit_id, \
         staff_type_id = s.staff_type_id, rank_id = s.rank_id, fte = s.fte, \
         start_date = s.start_date, leave_date = s.leave_date, updated_at = {now}, \
         scim_deleted_at = CASE WHEN s.leave_date IS NULL OR s.leave_date > {today} THEN NULL \
         ELSE e.scim_deleted_at END"
    )
}

const INSERT_COLUMNS: &str = "INSERT INTO employees (id, organisation_id, employee_number, \
    external_subject, org_unit_id, staff_type_id, rank_id, fte, start_date, leave_date, \
    updated_at)";

/// What applying the staged rows did: the row counts of the statements themselves, so the
/// rows are compared once, not once to plan and again to apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeCounts {
    pub created: i64,
    pub updated: i64,
    /// Employees who were in post, absent from the staged rows, and made leavers (`full` mode).
    pub leavers: i64,
}

/// Employees of the organisation in post now (no leave date).
pub fn count_in_post(conn: &mut Conn, org: &str) -> StoreResult<i64> {
    Ok(crate::with_conn!(conn, |c| employees::table
        .filter(employees::organisation_id.eq(org))
        .filter(employees::leave_date.is_null())
        .count()
        .get_result(c))?)
}

#[derive(QueryableByName)]
struct Clash {
    #[diesel(sql_type = BigInt)]
    line: i64,
}

#[derive(QueryableByName)]
struct Relinked {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Employees already stored whose external subject (their sign-in) the staged rows change:
/// set, replaced or cleared. Read before the merge, for the audit trail (decision 0017).
pub fn subject_changes(conn: &mut Conn, org: &str) -> StoreResult<Vec<String>> {
    let sql = placeholders(
        conn,
        "SELECT e.id AS id FROM sync_stage s JOIN employees e \
         ON e.organisation_id = $1 AND e.employee_number = s.employee_number \
         WHERE e.external_subject IS DISTINCT FROM s.external_subject ORDER BY e.id",
    );
    let rows: Vec<Relinked> = crate::with_conn!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(org)
        .load(c))?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Lines whose external subject already belongs to another employee who keeps it.
pub fn subject_clashes(conn: &mut Conn, org: &str) -> StoreResult<Vec<i64>> {
    let sql = placeholders(
        conn,
        "SELECT s.line AS line FROM sync_stage s JOIN employees e \
         ON e.organisation_id = $1 AND e.external_subject = s.external_subject \
         AND e.employee_number <> s.employee_number \
         WHERE NOT EXISTS (SELECT 1 FROM sync_stage s2 WHERE s2.employee_number = e.employee_number \
         AND s2.external_subject IS DISTINCT FROM e.external_subject) ORDER BY s.line",
    );
    let rows: Vec<Clash> = crate::with_conn!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(org)
        .load(c))?;
    Ok(rows.into_iter().map(|r| r.line).collect())
}

/// Applies the staged rows: inserts new employees, updates changed ones and, when `leave_date`
/// is given (`full` mode), marks everyone in post but absent from the stage as a leaver.
/// It runs under a savepoint, so a failed merge (an external subject another employee keeps
/// trips the unique index) leaves the transaction usable for finding out which lines clash.
///
/// A person a SCIM client deleted who is in the file and in post there (no leave date, or one
/// after `today`) is SCIM-visible again: the HR system, which is the truth about who works
/// here, says they do. A leaver row keeps them hidden, so a file that lists past leavers does
/// not undo the identity provider's DELETE on every sync.
pub fn apply_merge(
    conn: &mut Conn,
    org: &str,
    now: NaiveDateTime,
    today: &str,
    leave_date: Option<&str>,
) -> StoreResult<MergeCounts> {
    let merged = match conn {
        Conn::Postgres(c) => {
            Connection::transaction(&mut **c, |c| merge_postgres(c, org, now, today, leave_date))
        }
        Conn::Sqlite(c) => {
            Connection::transaction(&mut **c, |c| merge_sqlite(c, org, now, today, leave_date))
        }
    }?;
    Ok(merged)
}

#[derive(QueryableByName)]
struct Merged {
    #[diesel(sql_type = BigInt)]
    created: i64,
    #[diesel(sql_type = BigInt)]
    updated: i64,
    #[diesel(sql_type = BigInt)]
    leavers: i64,
}

/// PostgreSQL: one statement. The stage is joined with the organisation's employees once (a
/// full join in `full` mode, so absent people in post are found in the same pass); only rows
/// needing a write survive it, and data-modifying CTEs insert, update and mark leavers from
/// that. An unchanged re-sync therefore costs one hash join and no writes.
///
/// CTEs run in no promised order, so the insert waits on the update's count: a subject that
/// moves from an employee in the file to a new one must be released before it is taken.
fn merge_postgres(
    c: &mut diesel::PgConnection,
    org: &str,
    now: NaiveDateTime,
    today: &str,
    leave_date: Option<&str>,
) -> QueryResult<MergeCounts> {
    // An organisation's first load (no employees yet): every staged row is new and nobody
    // can become a leaver, so a plain INSERT .. SELECT does it without the join and without
    // materialising 250k joined rows for the CTEs. Two first loads racing still collide on
    // the (organisation_id, employee_number) unique index, as with the merge.
    let loaded: bool = diesel::select(diesel::dsl::exists(
        employees::table.filter(employees::organisation_id.eq(org)),
    ))
    .get_result(c)?;
    if !loaded {
        let created = diesel::sql_query(format!(
            "{INSERT_COLUMNS} SELECT s.new_id, $1, s.employee_number, s.external_subject, \
             s.org_unit_id, s.staff_type_id, s.rank_id, s.fte, s.start_date, s.leave_date, $2 \
             FROM sync_stage s"
        ))
        .bind::<Text, _>(org)
        .bind::<Timestamp, _>(now)
        .execute(c)?;
        return Ok(MergeCounts {
            created: created as i64,
            updated: 0,
            leavers: 0,
        });
    }
    // $1 organisation, $2 now, $3 today, $4 the leavers' leave date (`full` mode only).
    let (join, leaver, leavers) = match leave_date {
        Some(_) => (
            "FULL JOIN",
            "OR (s.line IS NULL AND e.leave_date IS NULL)",
            "UPDATE employees AS e SET leave_date = $4, updated_at = $2 FROM m \
             WHERE e.id = m.employee_id AND m.line IS NULL RETURNING 1",
        ),
        None => ("LEFT JOIN", "", "SELECT 1 WHERE false"),
    };
    let sql = format!(
        "WITH m AS (SELECT s.*, e.id AS employee_id FROM sync_stage s {join} \
         (SELECT * FROM employees WHERE organisation_id = $1) e \
         ON e.employee_number = s.employee_number \
         WHERE e.id IS NULL OR (s.line IS NOT NULL AND {changed}) {leaver}), \
         upd AS (UPDATE employees AS e SET {set} FROM m AS s \
         WHERE e.id = s.employee_id AND s.line IS NOT NULL RETURNING 1), \
         ins AS ({INSERT_COLUMNS} SELECT s.new_id, $1, s.employee_number, s.external_subject, \
         s.org_unit_id, s.staff_type_id, s.rank_id, s.fte, s.start_date, s.leave_date, $2 \
         FROM m AS s WHERE s.employee_id IS NULL AND (SELECT count(*) FROM upd) >= 0 \
         RETURNING 1), \
         lv AS ({leavers}) \
         SELECT (SELECT count(*) FROM ins) AS created, (SELECT count(*) FROM upd) AS updated, \
         (SELECT count(*) FROM lv) AS leavers",
        changed = changed("$3"),
        set = set_from_stage("$2", "$3"),
    );
    let query = diesel::sql_query(sql)
        .bind::<Text, _>(org)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(today);
    let merged: Merged = match leave_date {
        Some(date) => query.bind::<Text, _>(date).get_result(c)?,
        None => query.get_result(c)?,
    };
    Ok(MergeCounts {
        created: merged.created,
        updated: merged.updated,
        leavers: merged.leavers,
    })
}

/// SQLite (no data-modifying CTEs): update changed, insert new, mark leavers, in that order.
fn merge_sqlite(
    c: &mut diesel::SqliteConnection,
    org: &str,
    now: NaiveDateTime,
    today: &str,
    leave_date: Option<&str>,
) -> QueryResult<MergeCounts> {
    let update = format!(
        "UPDATE employees AS e SET {set} FROM sync_stage AS s WHERE e.organisation_id = ? \
         AND e.employee_number = s.employee_number AND {changed}",
        set = set_from_stage("?", "?"),
        changed = changed("?"),
    );
    let insert = format!(
        "{INSERT_COLUMNS} SELECT s.new_id, ?, s.employee_number, s.external_subject, \
         s.org_unit_id, s.staff_type_id, s.rank_id, s.fte, s.start_date, s.leave_date, ? \
         FROM sync_stage s WHERE NOT EXISTS (SELECT 1 FROM employees e \
         WHERE e.organisation_id = ? AND e.employee_number = s.employee_number)"
    );
    let leavers = "UPDATE employees SET leave_date = ?, updated_at = ? WHERE organisation_id = ? \
         AND leave_date IS NULL AND NOT EXISTS \
         (SELECT 1 FROM sync_stage s WHERE s.employee_number = employees.employee_number)";
    // Updates first: a row inserted afterwards would otherwise be compared with itself.
    let updated = diesel::sql_query(update)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(today)
        .bind::<Text, _>(org)
        .bind::<Text, _>(today)
        .execute(c)?;
    let created = diesel::sql_query(insert)
        .bind::<Text, _>(org)
        .bind::<Timestamp, _>(now)
        .bind::<Text, _>(org)
        .execute(c)?;
    let left = match leave_date {
        Some(date) => diesel::sql_query(leavers)
            .bind::<Text, _>(date)
            .bind::<Timestamp, _>(now)
            .bind::<Text, _>(org)
            .execute(c)?,
        None => 0,
    };
    let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    Ok(MergeCounts {
        created: n(created),
        updated: n(updated),
        leavers: n(left),
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sync_requests)]
pub struct SyncRequest {
    pub organisation_id: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub response: String,
    pub created_at: NaiveDateTime,
}

pub fn find_sync_request(
    conn: &mut Conn,
    org: &str,
    key: &str,
) -> StoreResult<Option<SyncRequest>> {
    Ok(crate::with_conn!(conn, |c| sync_requests::table
        .find((org, key))
        .select(SyncRequest::as_select())
        .first(c)
        .optional())?)
}

pub fn insert_sync_request(conn: &mut Conn, request: &SyncRequest) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(sync_requests::table)
        .values(request)
        .execute(c))?;
    Ok(())
}

/// Which employees a SCIM query names: all, or those every clause of a filter holds for.
#[derive(Debug, Clone, Copy)]
pub enum ScimKey<'a> {
    All,
    Matching(&'a [Clause]),
}

diesel::define_sql_function! {
    /// `lower(text)`, on both backends, so `sw`/`co` match alike on SQLite (whose LIKE ignores
    /// ASCII case) and PostgreSQL (whose LIKE does not).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// `lower(text)` for a nullable column.
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// A LIKE pattern matching `value` literally (with `\\` as the escape character).
fn like_pattern(value: &str, op: FilterOp) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    for c in value.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    match op {
        FilterOp::StartsWith => format!("{escaped}%"),
        _ => format!("%{escaped}%"),
    }
}

/// Employees a SCIM client may see (those it has not deleted), in employee-number order:
/// the total that match and the page from `offset`.
pub fn scim_page(
    conn: &mut Conn,
    org: &str,
    key: ScimKey<'_>,
    offset: i64,
    limit: i64,
) -> StoreResult<(i64, Vec<Employee>)> {
    // A boxed query is consumed by `count`, so the filter is written once per query.
    macro_rules! matching {
        () => {{
            let mut q = employees::table
                .filter(employees::organisation_id.eq(org.to_owned()))
                .filter(employees::scim_deleted_at.is_null())
                .into_boxed();
            if let ScimKey::Matching(clauses) = key {
                for clause in clauses {
                    let value = clause.value.clone();
                    q = match (clause.attribute, clause.op) {
                        (FilterAttribute::UserName, FilterOp::Eq) => {
                            q.filter(employees::employee_number.eq(value))
                        }
                        (FilterAttribute::ExternalId, FilterOp::Eq) => {
                            q.filter(employees::external_subject.eq(value))
                        }
                        (FilterAttribute::UserName, op) => q.filter(
                            lower(employees::employee_number)
                                .like(like_pattern(&value, op))
                                .escape('\\'),
                        ),
                        (FilterAttribute::ExternalId, op) => q.filter(
                            lower_nullable(employees::external_subject)
                                .like(like_pattern(&value, op))
                                .escape('\\'),
                        ),
                    };
                }
            }
            q
        }};
    }
    let total: i64 = crate::with_conn!(&mut *conn, |c| matching!().count().get_result(c))?;
    let rows = crate::with_conn!(conn, |c| matching!()
        .order(employees::employee_number)
        .offset(offset)
        .limit(limit)
        .select(Employee::as_select())
        .load(c))?;
    Ok((total, rows))
}

/// An employee by number with whether SCIM deleted them (a rejoiner is revived, not duplicated).
pub fn find_by_number(
    conn: &mut Conn,
    org: &str,
    number: &str,
) -> StoreResult<Option<(Employee, Option<NaiveDateTime>)>> {
    Ok(crate::with_conn!(conn, |c| employees::table
        .filter(employees::organisation_id.eq(org))
        .filter(employees::employee_number.eq(number))
        .select((Employee::as_select(), employees::scim_deleted_at))
        .first(c)
        .optional())?)
}

/// An employee SCIM may see (not deleted through SCIM).
pub fn find_scim_visible(conn: &mut Conn, org: &str, id: &str) -> StoreResult<Employee> {
    Ok(crate::with_conn!(conn, |c| employees::table
        .filter(employees::organisation_id.eq(org))
        .filter(employees::id.eq(id))
        .filter(employees::scim_deleted_at.is_null())
        .select(Employee::as_select())
        .first(c))?)
}

/// Another employee of the organisation already holding this external subject.
pub fn subject_holder(
    conn: &mut Conn,
    org: &str,
    subject: &str,
    except_id: &str,
) -> StoreResult<bool> {
    let n: i64 = crate::with_conn!(conn, |c| employees::table
        .filter(employees::organisation_id.eq(org))
        .filter(employees::external_subject.eq(subject))
        .filter(employees::id.ne(except_id))
        .count()
        .get_result(c))?;
    Ok(n > 0)
}

pub fn insert_employee(conn: &mut Conn, row: &Employee) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::insert_into(employees::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// Writes every field of `row` (absent options become NULL) and sets the SCIM deletion mark.
pub fn write_employee(
    conn: &mut Conn,
    row: &Employee,
    scim_deleted_at: Option<NaiveDateTime>,
) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::update(
        employees::table
            .filter(employees::organisation_id.eq(&row.organisation_id))
            .filter(employees::id.eq(&row.id))
    )
    .set((
        employees::employee_number.eq(&row.employee_number),
        employees::external_subject.eq(&row.external_subject),
        employees::org_unit_id.eq(&row.org_unit_id),
        employees::staff_type_id.eq(&row.staff_type_id),
        employees::rank_id.eq(&row.rank_id),
        employees::fte.eq(row.fte),
        employees::start_date.eq(&row.start_date),
        employees::leave_date.eq(&row.leave_date),
        employees::updated_at.eq(row.updated_at),
        employees::scim_deleted_at.eq(scim_deleted_at),
    ))
    .execute(c))?;
    Ok(())
}

/// (org unit id, staff type id, rank id, people in post there).
pub type CellHeadcount = (String, String, Option<String>, i64);

/// How many people are in post on `today` (ISO date) in each cell, by one GROUP BY: the
/// headcounts a tally recount starts from.
pub fn in_post_headcounts(
    conn: &mut Conn,
    org: &str,
    today: &str,
) -> StoreResult<Vec<CellHeadcount>> {
    use super::schema::employees::dsl as e;
    Ok(crate::with_conn!(conn, |c| e::employees
        .filter(e::organisation_id.eq(org.to_owned()))
        .filter(
            e::leave_date
                .is_null()
                .or(e::leave_date.gt(today.to_owned()))
        )
        .group_by((e::org_unit_id, e::staff_type_id, e::rank_id))
        .select((
            e::org_unit_id,
            e::staff_type_id,
            e::rank_id,
            diesel::dsl::count_star()
        ))
        .load(c))?)
}

/// (employee id, org unit id, staff type id, rank id).
pub type PersonCell = (String, String, String, Option<String>);

/// Where each person in post on `today` (ISO date) sits: (employee id, org unit, staff type,
/// rank). One pass over the organisation's workforce, used to rebuild its tallies.
pub fn in_post_cells(conn: &mut Conn, org: &str, today: &str) -> StoreResult<Vec<PersonCell>> {
    use super::schema::employees::dsl as e;
    Ok(crate::with_conn!(conn, |c| e::employees
        .filter(e::organisation_id.eq(org.to_owned()))
        .filter(
            e::leave_date
                .is_null()
                .or(e::leave_date.gt(today.to_owned()))
        )
        .select((e::id, e::org_unit_id, e::staff_type_id, e::rank_id))
        .load(c))?)
}

/// [`in_post_cells`], holding the organisation's employee rows (`FOR SHARE` on PostgreSQL) until
/// the transaction ends, so no sync or SCIM change moves a person between cells while the
/// caller adjusts the tallies by where people are. SQLite callers hold the write lock already.
pub fn in_post_cells_locked(
    conn: &mut Conn,
    org: &str,
    today: &str,
) -> StoreResult<Vec<PersonCell>> {
    use super::schema::employees::dsl as e;
    let query = || {
        e::employees
            .filter(e::organisation_id.eq(org.to_owned()))
            .filter(
                e::leave_date
                    .is_null()
                    .or(e::leave_date.gt(today.to_owned())),
            )
            .select((e::id, e::org_unit_id, e::staff_type_id, e::rank_id))
    };
    Ok(match conn {
        Conn::Postgres(c) => {
            // Every row of the organisation, leavers too: a leaver rejoining is a move as well.
            e::employees
                .filter(e::organisation_id.eq(org.to_owned()))
                .select(e::id)
                .for_share()
                .load::<String>(&mut **c)?;
            query().load(&mut **c)?
        }
        Conn::Sqlite(c) => query().load(&mut **c)?,
    })
}

/// (leave date, row last written) of the organisation's people whose leave date is after
/// `after` and no later than `today` (ISO dates compare as text): those whose leave date
/// arrived since the tallies were last brought up to date on `after`.
pub fn leave_dates_arrived(
    conn: &mut Conn,
    org: &str,
    after: &str,
    today: &str,
) -> StoreResult<Vec<(Option<String>, chrono::NaiveDateTime)>> {
    use super::schema::employees::dsl as e;
    Ok(crate::with_conn!(conn, |c| e::employees
        .filter(e::organisation_id.eq(org.to_owned()))
        .filter(e::leave_date.gt(after.to_owned()))
        .filter(e::leave_date.le(today.to_owned()))
        .select((e::leave_date, e::updated_at))
        .load(c))?)
}
