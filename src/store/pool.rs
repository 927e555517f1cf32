//! The connection pool over either backend, and the bridge from async handlers to it.

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::{PgConnection, SqliteConnection};
use tracing::Instrument as _;

use super::sqlite_writer::Writer;
use super::{StoreError, StoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A pooled connection of either backend. PostgreSQL comes first: it is the production store.
pub enum Conn {
    Postgres(PooledConnection<ConnectionManager<PgConnection>>),
    Sqlite(SqliteConn),
}

/// A pooled SQLite connection and its database's writer queue (see [`Writer`]). It derefs to
/// the connection, so queries run on it as on any `SqliteConnection`.
pub struct SqliteConn {
    conn: PooledConnection<ConnectionManager<SqliteConnection>>,
    writer: Arc<Writer>,
}

impl SqliteConn {
    pub fn writer(&self) -> Arc<Writer> {
        self.writer.clone()
    }
}

impl std::ops::Deref for SqliteConn {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for SqliteConn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

#[derive(Clone)]
enum Pools {
    Postgres(Pool<ConnectionManager<PgConnection>>),
    Sqlite(Pool<ConnectionManager<SqliteConnection>>, Arc<Writer>),
}

/// A handle on the database, cheap to clone.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
}

/// SQLite settings every connection needs: WAL so readers never wait on the writer, a busy
/// timeout for the writes outside the writer queue, and foreign keys (off by default).
/// No automatic checkpoint: it ran inside whichever commit crossed the WAL's limit, holding up
/// that write and every one queued behind it; [`Writer`]'s thread checkpoints instead.
/// `secure_delete` zeroes deleted content instead of leaving it in free space, so an erased
/// person's rows do not linger in the file (decision 0019).
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA secure_delete = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The file path of a SQLite database URL (`sqlite://PATH` or a bare path); `None` for
/// PostgreSQL or any other scheme.
pub fn sqlite_path(url: &str) -> Option<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    (!path.contains("://")).then_some(path)
}

/// The function a closure was written in, from the closure's type name
/// (`declare::services::declarations::write::{{closure}}::{{closure}}` becomes
/// `services::declarations::write`).
fn operation_name(closure: &'static str) -> &'static str {
    let mut name = closure;
    while let Some(outer) = name.strip_suffix("::{{closure}}") {
        name = outer;
    }
    // Generic arguments (`<...>`) never name a value, but keep the operation readable.
    let name = name.split('<').next().unwrap_or(name);
    name.strip_prefix("declare::").unwrap_or(name)
}

impl Database {
    /// Connects to `sqlite://PATH`, a bare path, or `postgres://...`/`postgresql://...`.
    pub fn connect(url: &str, pool_size: u32) -> StoreResult<Self> {
        let pools = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let manager = ConnectionManager::<PgConnection>::new(url);
            Pools::Postgres(
                Pool::builder()
                    .max_size(pool_size)
                    .connection_timeout(Duration::from_secs(10))
                    .build(manager)?,
            )
        } else {
            let Some(path) = sqlite_path(url) else {
                return Err(StoreError::Url(format!("unsupported scheme in `{url}`")));
            };
            if let Some(parent) = std::path::Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Url(format!("{}: {e}", parent.display())))?;
            }
            let manager = ConnectionManager::<SqliteConnection>::new(path);
            Pools::Sqlite(
                Pool::builder()
                    .max_size(pool_size)
                    .connection_timeout(Duration::from_secs(10))
                    // A file connection does not go stale as a server's socket can; the
                    // check (a `SELECT 1` on every checkout) was a statement per request.
                    .test_on_check_out(false)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(manager)?,
                Writer::start(path),
            )
        };
        Ok(Database { pools })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite(..) => Backend::Sqlite,
        }
    }

    /// A connection, waiting at most `timeout` for one. The wait is measured: r2d2's only
    /// checkout error is running out of time (a failed connect is retried until then).
    pub fn get(&self, timeout: Duration) -> StoreResult<Conn> {
        let conn = crate::metrics::checkout(
            |_| true,
            || match &self.pools {
                Pools::Postgres(pool) => pool.get_timeout(timeout).map(Conn::Postgres),
                Pools::Sqlite(pool, writer) => pool.get_timeout(timeout).map(|conn| {
                    Conn::Sqlite(SqliteConn {
                        conn,
                        writer: writer.clone(),
                    })
                }),
            },
        )?;
        Ok(conn)
    }

    /// The pool's connections: (open, idle, most allowed).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let (state, max) = match &self.pools {
            Pools::Postgres(pool) => (pool.state(), pool.max_size()),
            Pools::Sqlite(pool, _) => (pool.state(), pool.max_size()),
        };
        (state.connections, state.idle_connections, max)
    }

    /// Runs blocking database work on the blocking pool, keeping the caller's tracing span.
    pub async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> StoreResult<T> + Send + 'static,
    {
        self.run_within(Duration::from_secs(10), work).await
    }

    /// Like [`Database::run`], waiting at most `timeout` for a connection.
    ///
    /// Each call is a `db` span (exported as a trace span when tracing is on) named by the
    /// function that asked for it, e.g. `services::declarations::write`: the code path, never
    /// a value, so no personal data can reach a trace from here.
    pub async fn run_within<T, F>(&self, timeout: Duration, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> StoreResult<T> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::info_span!(
            "db",
            otel.name = "db",
            db.operation = operation_name(std::any::type_name::<F>()),
            db.system = self.system(),
        );
        let inner = span.clone();
        crate::metrics::block(move || {
            let _entered = inner.enter();
            let mut conn = db.get(timeout)?;
            work(&mut conn)
        })
        .instrument(span)
        .await
        .map_err(|_| StoreError::Blocking)?
    }

    /// The OpenTelemetry `db.system` name of the backend.
    fn system(&self) -> &'static str {
        match self.pools {
            Pools::Postgres(_) => "postgresql",
            Pools::Sqlite(..) => "sqlite",
        }
    }
}
