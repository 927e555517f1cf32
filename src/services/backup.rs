//! `declare admin backup`: a consistent copy of the main database, online, on either backend.
//!
//! What a backup holds and what it does not (README, "Backups"; decision 0027): every row of
//! the main database, answers sealed under person keys, those keys sealed under the service
//! key *and* a leaf of the key tree. The key store (the tree) and the service keys are not in
//! it: a restore needs the same key store and the service keys (current or listed as
//! previous) to open anything, and people erased after the backup was taken stay unreadable
//! in it for good (`declare admin purge-erased` removes their rows after a restore).

use std::path::Path;
use std::process::Command;

use crate::config::Config;
use crate::store::{backup, Backend, Database};

/// Writes the backup to `to` (a new file). On PostgreSQL it runs `pg_dump` in its custom
/// format (restore with `pg_restore`).
pub fn create(config: &Config, db: &Database, to: &Path) -> anyhow::Result<()> {
    if to.exists() {
        anyhow::bail!("{} exists already: a backup never overwrites", to.display());
    }
    let target = to
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("{}: the path is not UTF-8", to.display()))?;
    match db.backend() {
        Backend::Sqlite => {
            let mut conn = db.get(std::time::Duration::from_secs(30))?;
            backup::sqlite_vacuum_into(&mut conn, target)?;
        }
        Backend::Postgres => {
            let status = Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file", target])
                .arg(&config.database_url)
                .status()
                .map_err(|e| anyhow::anyhow!("pg_dump could not run (is it installed?): {e}"))?;
            if !status.success() {
                anyhow::bail!("pg_dump failed ({status})");
            }
        }
    }
    Ok(())
}
