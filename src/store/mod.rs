//! Persistence: the only module that speaks SQL.
//!
//! One logical schema ([`schema`]) serves SQLite and PostgreSQL. A [`Conn`] is either
//! backend; repository functions write a query once inside [`with_conn!`], which compiles it for
//! each backend, and branch by hand only where the SQL must differ (upserts, `COPY`).
//! Every call runs on the blocking pool through [`Database::run`], never on an async worker.

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod catalogue;
pub mod consents;
pub mod declarations;
pub mod introspect;
pub mod key_store;
mod migrate;
pub mod noise_secrets;
pub mod organisations;
pub mod owners;
pub mod person_keys;
mod pool;
pub mod retention;
pub mod schema;
pub mod snapshots;
pub mod sqlite_writer;
pub mod structure;
pub mod tallies;
pub mod throttle;
pub mod workforce;

pub use migrate::{status as migration_status, MigrationStatus};
pub use pool::{sqlite_path, Backend, Conn, Database, SqliteConn};

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
    /// SQLite's one writer stayed busy longer than the wait allows.
    #[error("no turn to write to the database within {0:?}")]
    WriterBusy(std::time::Duration),
    /// An update was aimed at a published catalogue version, which never changes.
    #[error("a published catalogue version is immutable")]
    Immutable,
    /// A stored value could not be read back (e.g. a document that no longer parses).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
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

impl Conn {
    /// Runs `work` in one transaction on whichever backend this is: committed when it returns
    /// `Ok`, rolled back on `Err`, so a service never leaves a partial write behind. The work
    /// gets the same `Conn`, so repository functions compose inside it (their own
    /// transactions become savepoints).
    ///
    /// On SQLite it is `BEGIN IMMEDIATE`, holding the write lock from the first statement: a
    /// deferred transaction that reads and then writes fails with `SQLITE_BUSY` when another
    /// writer committed in between, which `busy_timeout` cannot wait out. It begins only at
    /// this process's turn to write ([`sqlite_writer`]), so it never waits in SQLite's busy
    /// handler. Not to be nested: inner work composes through the `Conn` it is given.
    ///
    /// Generic over the error so a service can abort with its own error (a validation
    /// failure found mid-transaction rolls back like a database error does).
    pub fn transaction<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        self.transaction_deciding(|conn| work(conn).map(|value| (value, true)))
    }

    /// Like [`Conn::transaction`], but commits only when `work` returns `Ok((value, true))`:
    /// a dry run returns `false` and everything it wrote is rolled back.
    pub fn transaction_deciding<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut Conn) -> Result<(T, bool), E>,
    ) -> Result<T, E> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager as _};
        // Released after the commit or rollback below, when `_turn` goes out of scope.
        let _turn;
        match &mut *self {
            Conn::Postgres(c) => AnsiTransactionManager::begin_transaction(&mut **c),
            Conn::Sqlite(c) => {
                _turn = c.writer().turn()?;
                AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")
            }
        }
        .map_err(StoreError::from)?;
        let outcome = work(self);
        let finish = if matches!(outcome, Ok((_, true))) {
            crate::with_conn!(&mut *self, |c| AnsiTransactionManager::commit_transaction(
                c
            ))
        } else {
            crate::with_conn!(
                &mut *self,
                |c| AnsiTransactionManager::rollback_transaction(c)
            )
        };
        match (outcome, finish) {
            (Ok((value, _)), Ok(())) => Ok(value),
            (Ok(_), Err(finish)) => Err(StoreError::from(finish).into()),
            (Err(error), finish) => {
                // The work's error is what the caller needs; a failed rollback leaves the
                // connection broken, which r2d2 detects and discards.
                if let Err(rollback) = finish {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(error)
            }
        }
    }
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
            StoreError::Immutable => AppError::Conflict(
                "a published catalogue version never changes; make a draft instead".into(),
            ),
            StoreError::Pool(e) => {
                AppError::Unavailable(format!("the database is unavailable: {e}"))
            }
            e @ StoreError::WriterBusy(_) => {
                AppError::Unavailable(format!("the database is busy: {e}"))
            }
            other => AppError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// Writes `$1`, `$2`... as SQLite's `?`, for SQL written once for both backends. Only for
/// statements that use each bind once, in order (SQLite's `?` are positional).
pub fn placeholders(conn: &Conn, sql: &str) -> String {
    match conn {
        Conn::Postgres(_) => sql.to_owned(),
        Conn::Sqlite(_) => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(ch) = chars.next() {
                if ch == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}
