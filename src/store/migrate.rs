//! Embedded migrations, one folder per backend, applied at start and by `declare migrate`.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{Conn, Database, StoreError, StoreResult};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Where the schema stands against the migrations built into this binary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationStatus {
    pub applied: usize,
    pub pending: usize,
}

fn migration_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Migration(e.to_string())
}

impl Database {
    /// Applies every pending migration; returns the versions it applied (none on a restart).
    pub fn migrate(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.get(std::time::Duration::from_secs(30))?;
        let applied = crate::with_conn!(&mut conn, |c| {
            let source = embedded_for_conn(c);
            c.run_pending_migrations(source)
                .map_err(migration_error)?
                .into_iter()
                .map(|v| v.to_string())
                .collect()
        });
        Ok(applied)
    }

    /// Reverts every migration, newest first (used to prove each one reverts cleanly).
    pub fn revert_all(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.get(std::time::Duration::from_secs(30))?;
        let reverted = crate::with_conn!(&mut conn, |c| {
            let source = embedded_for_conn(c);
            c.revert_all_migrations(source)
                .map_err(migration_error)?
                .into_iter()
                .map(|v| v.to_string())
                .collect()
        });
        Ok(reverted)
    }
}

/// Counts applied and pending migrations on a connection (readiness uses it).
pub fn status(conn: &mut Conn) -> StoreResult<super::MigrationStatus> {
    crate::with_conn!(conn, |c| {
        let source = embedded_for_conn(c);
        let pending = c.pending_migrations(source).map_err(migration_error)?.len();
        let applied = c.applied_migrations().map_err(migration_error)?.len();
        Ok(super::MigrationStatus { applied, pending })
    })
}

/// Picks the migration set for a concrete connection type.
trait MigrationsFor {
    fn migrations() -> EmbeddedMigrations;
}
impl MigrationsFor for diesel::PgConnection {
    fn migrations() -> EmbeddedMigrations {
        POSTGRES
    }
}
impl MigrationsFor for diesel::SqliteConnection {
    fn migrations() -> EmbeddedMigrations {
        SQLITE
    }
}
fn embedded_for_conn<C: MigrationsFor>(_: &C) -> EmbeddedMigrations {
    C::migrations()
}
