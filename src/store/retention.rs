//! Finding leavers whose retention period has run out, and erasing what they declared.
//!
//! Only the equality-monitoring data goes (the sealed answers, their history and the consent
//! records); the workforce row stays, because it is HR's record and the sync would re-create it.

use diesel::dsl::exists;
use diesel::prelude::*;

use super::schema::{consents, declaration_history, declarations, employees};
use super::{Conn, StoreResult};

diesel::allow_tables_to_appear_in_same_query!(employees, declaration_history);
diesel::allow_tables_to_appear_in_same_query!(employees, consents);

/// A leaver due for erasure: (employee id, organisation id, leave date, row last written).
pub type Due = (String, String, Option<String>, chrono::NaiveDateTime);

/// What was (or would be) erased for one person or a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Erased {
    pub declarations: u64,
    pub history: u64,
    pub consents: u64,
}

impl Erased {
    pub fn is_empty(&self) -> bool {
        *self == Erased::default()
    }

    pub fn add(&mut self, other: Erased) {
        self.declarations += other.declarations;
        self.history += other.history;
        self.consents += other.consents;
    }
}

// Leavers whose leave date is before `$cutoff` (ISO dates compare as text) and who still hold
// anything to erase. A person whose leave date was cleared (they came back) never matches.
macro_rules! due_query {
    ($cutoff:expr) => {
        employees::table
            .filter(employees::leave_date.lt($cutoff))
            .filter(
                exists(declarations::table.filter(declarations::employee_id.eq(employees::id)))
                    .or(exists(
                        declaration_history::table
                            .filter(declaration_history::employee_id.eq(employees::id)),
                    ))
                    .or(exists(
                        consents::table.filter(consents::employee_id.eq(employees::id)),
                    )),
            )
    };
}

/// How many leavers are due (for a progress bar and a dry run's total).
pub fn count_due(conn: &mut Conn, cutoff: &str) -> StoreResult<i64> {
    let cutoff = cutoff.to_owned();
    Ok(crate::with_conn!(conn, |c| due_query!(&cutoff)
        .count()
        .get_result(c))?)
}

/// The next `limit` leavers due, by id after `after`. With `lock` (a real run), PostgreSQL
/// locks them until the batch commits and skips rows another writer holds (a rejoiner being
/// revived right now is left for the next run); SQLite's write lock already excludes others.
pub fn next_due(
    conn: &mut Conn,
    cutoff: &str,
    after: &str,
    limit: i64,
    lock: bool,
) -> StoreResult<Vec<Due>> {
    let (cutoff, after) = (cutoff.to_owned(), after.to_owned());
    macro_rules! page {
        () => {
            due_query!(&cutoff)
                .filter(employees::id.gt(&after))
                .order(employees::id)
                .limit(limit)
                .select((
                    employees::id,
                    employees::organisation_id,
                    employees::leave_date,
                    employees::updated_at,
                ))
        };
    }
    Ok(match conn {
        Conn::Postgres(pooled) => {
            let c: &mut diesel::PgConnection = &mut *pooled;
            if lock {
                page!().for_update().skip_locked().load(c)?
            } else {
                page!().load(c)?
            }
        }
        Conn::Sqlite(pooled) => {
            let c: &mut diesel::SqliteConnection = &mut *pooled;
            page!().load(c)?
        }
    })
}

/// What erasing these people would delete, without deleting it.
pub fn count_held(conn: &mut Conn, ids: &[String]) -> StoreResult<Erased> {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(crate::with_conn!(conn, |c| {
        let d: i64 = declarations::table
            .filter(declarations::employee_id.eq_any(ids))
            .count()
            .get_result(c)?;
        let h: i64 = declaration_history::table
            .filter(declaration_history::employee_id.eq_any(ids))
            .count()
            .get_result(c)?;
        let k: i64 = consents::table
            .filter(consents::employee_id.eq_any(ids))
            .count()
            .get_result(c)?;
        Ok::<_, diesel::result::Error>(Erased {
            declarations: count(d),
            history: count(h),
            consents: count(k),
        })
    })?)
}

/// Deletes these people's answers, answer history and consent records, for real, by three
/// set-based DELETEs, and says what each person lost (people with nothing left are absent:
/// a concurrent run got there first). PostgreSQL counts the deleted rows (`RETURNING`); on
/// SQLite the caller's write lock makes a count just before the DELETEs exact.
pub fn erase_people(
    conn: &mut Conn,
    ids: &[String],
) -> StoreResult<std::collections::BTreeMap<String, Erased>> {
    use std::collections::BTreeMap;
    let mut out: BTreeMap<String, Erased> = BTreeMap::new();
    let mut tally = |owners: Vec<String>, field: fn(&mut Erased) -> &mut u64| {
        for owner in owners {
            *field(out.entry(owner).or_default()) += 1;
        }
    };
    match conn {
        Conn::Postgres(pooled) => {
            let c: &mut diesel::PgConnection = &mut *pooled;
            let history = diesel::delete(
                declaration_history::table.filter(declaration_history::employee_id.eq_any(ids)),
            )
            .returning(declaration_history::employee_id)
            .get_results(c)?;
            tally(history, |e| &mut e.history);
            let current =
                diesel::delete(declarations::table.filter(declarations::employee_id.eq_any(ids)))
                    .returning(declarations::employee_id)
                    .get_results(c)?;
            tally(current, |e| &mut e.declarations);
            let given = diesel::delete(consents::table.filter(consents::employee_id.eq_any(ids)))
                .returning(consents::employee_id)
                .get_results(c)?;
            tally(given, |e| &mut e.consents);
        }
        Conn::Sqlite(pooled) => {
            let c: &mut diesel::SqliteConnection = &mut *pooled;
            tally(
                declaration_history::table
                    .filter(declaration_history::employee_id.eq_any(ids))
                    .select(declaration_history::employee_id)
                    .load(c)?,
                |e| &mut e.history,
            );
            tally(
                declarations::table
                    .filter(declarations::employee_id.eq_any(ids))
                    .select(declarations::employee_id)
                    .load(c)?,
                |e| &mut e.declarations,
            );
            tally(
                consents::table
                    .filter(consents::employee_id.eq_any(ids))
                    .select(consents::employee_id)
                    .load(c)?,
                |e| &mut e.consents,
            );
            diesel::delete(
                declaration_history::table.filter(declaration_history::employee_id.eq_any(ids)),
            )
            .execute(c)?;
            diesel::delete(declarations::table.filter(declarations::employee_id.eq_any(ids)))
                .execute(c)?;
            diesel::delete(consents::table.filter(consents::employee_id.eq_any(ids))).execute(c)?;
        }
    }
    Ok(out)
}

/// The PostgreSQL advisory lock key of a retention run (any fixed number; this is "retention"
/// in ASCII, so it is recognisable in `pg_locks`).
const RUN_LOCK: i64 = 0x7265_7465_6e74_696f;

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Takes the retention run's lock for this session unless another session (another instance)
/// holds it: `false` means a run is under way elsewhere (decision 0022). Session-level, so it
/// outlives the run's many short transactions, and PostgreSQL drops it if the process dies.
/// SQLite serves one instance and its write lock orders runs, so there it is always `true`.
pub fn try_lock_run(conn: &mut Conn) -> StoreResult<bool> {
    match conn {
        Conn::Postgres(pooled) => {
            let c: &mut diesel::PgConnection = &mut *pooled;
            let row: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(RUN_LOCK)
                .get_result(c)?;
            Ok(row.locked)
        }
        Conn::Sqlite(_) => Ok(true),
    }
}

/// Releases what [`try_lock_run`] took, on the same connection.
pub fn unlock_run(conn: &mut Conn) -> StoreResult<()> {
    if let Conn::Postgres(pooled) = conn {
        let c: &mut diesel::PgConnection = &mut *pooled;
        diesel::sql_query("SELECT pg_advisory_unlock($1) AS locked")
            .bind::<diesel::sql_types::BigInt, _>(RUN_LOCK)
            .execute(c)?;
    }
    Ok(())
}
