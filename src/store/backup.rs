//! An online backup of a SQLite database (PostgreSQL's is `pg_dump`, run by the service).

use diesel::connection::SimpleConnection as _;

use super::{Conn, StoreError, StoreResult};

/// Writes a consistent copy of the whole SQLite database to `path` (which must not exist)
/// while writers carry on: `VACUUM INTO` reads one snapshot and writes it compacted, so the
/// copy holds no free pages or WAL frames of rows already deleted.
pub fn sqlite_vacuum_into(conn: &mut Conn, path: &str) -> StoreResult<()> {
    let Conn::Sqlite(c) = conn else {
        return Err(StoreError::Url("VACUUM INTO is SQLite's".into()));
    };
    // A path is a string literal in SQL: double any quote.
    c.batch_execute(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))?;
    Ok(())
}
