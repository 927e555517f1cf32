//! Persistence: the only module that speaks SQL.
//!
//! One logical schema ([`schema`]) serves SQLite and PostgreSQL. A [`Conn`] is either
//! backend; repository functions write a query once inside [`with_conn!`], which compiles it for
//! each backend, and branch by hand only where the SQL must differ (upserts, `COPY`).
//! Every call runs on the blocking pool through [`Database::run`], never on an async worker.

pub mod accounts;
pub mod audit;
pub mod introspect;
mod migrate;
pub mod organisations;
mod pool;
pub mod schema;
pub mod structure;
pub mod workforce;

pub use migrate::{status as migration_status, MigrationStatus};
pub use pool::{Backend, Conn, Database};

/// Errors from the store. Handlers see them through `AppError`'s `From` impl.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database URL is not understood: {0}")]
    Url(String),
    #[error("could not get a database connection: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("the blocking pool refused the work")]
    Blocking,
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::Query(diesel::result::Error::NotFound))
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Runs `work` in one transaction, committing only when it returns `Ok((value, true))`: a
/// rejected or dry-run batch returns `false` and everything it wrote is rolled back. SQLite
/// takes the write lock up front (`BEGIN IMMEDIATE`), so a long batch cannot fail half way
/// because another writer got in first.
pub fn in_transaction<T, E>(
    conn: &mut Conn,
    work: impl FnOnce(&mut Conn) -> Result<(T, bool), E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager as _};
    match conn {
        Conn::Postgres(c) => AnsiTransactionManager::begin_transaction(&mut **c),
        Conn::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")
        }
    }
    .map_err(StoreError::from)?;
    let outcome = work(conn);
    let commit = matches!(outcome, Ok((_, true)));
    let finish = if commit {
        crate::with_conn!(conn, |c| AnsiTransactionManager::commit_transaction(c))
    } else {
        crate::with_conn!(conn, |c| AnsiTransactionManager::rollback_transaction(c))
    };
    let (value, _) = outcome?;
    finish.map_err(StoreError::from)?;
    Ok(value)
}

/// Runs `$body` with `$c` bound to the concrete connection of whichever backend `$conn` is.
/// The body is compiled once per backend, so it must be valid diesel for both.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::Conn::Postgres(pooled) => {
                let $c: &mut ::diesel::PgConnection = &mut *pooled;
                $body
            }
            $crate::store::Conn::Sqlite(pooled) => {
                let $c: &mut ::diesel::SqliteConnection = &mut *pooled;
                $body
            }
        }
    };
}

impl From<StoreError> for crate::error::AppError {
    fn from(err: StoreError) -> Self {
        use crate::error::AppError;
        match err {
            StoreError::Query(diesel::result::Error::NotFound) => {
                AppError::NotFound("no such resource".into())
            }
            e if e.is_unique_violation() => {
                AppError::Conflict("a resource with the same key already exists".into())
            }
            StoreError::Pool(e) => {
                AppError::Unavailable(format!("the database is unavailable: {e}"))
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}
