//! Erasing a person's answers for real (a DELETE, a withdrawal of consent): the rows, their
//! key and their part of the tallies in the caller's transaction, then the key tree's
//! punctures once it has committed.

use std::sync::Arc;

use crate::crypto::Sealer;
use crate::domain::tally::Counted;
use crate::error::AppResult;
use crate::store::declarations as repo;
use crate::store::person_keys;
use crate::store::workforce::Employee;
use crate::store::{Conn, Database};

use super::counted::counted_groups;
use super::tallies;

/// Erases an employee's answers and history for real, destroys their key (so every other
/// copy of those ciphertexts no longer opens) and takes them out of the tallies, in the
/// caller's transaction (a DELETE, or a withdrawal of consent). The caller finishes the
/// erasure after commit ([`finish_erasures`]).
pub fn erase_counted(conn: &mut Conn, sealer: &Sealer, employee: &Employee) -> AppResult<()> {
    // A write (or a catalogue migration) committing between our read and the DELETE would
    // leave the tallies subtracting answers that are no longer the stored ones.
    repo::lock(conn, &employee.id)?;
    let before = counted_groups(conn, sealer, &employee.id)?;
    repo::erase(conn, &employee.id)?;
    person_keys::destroy(conn, std::slice::from_ref(&employee.id))?;
    if let Some(cell) = tallies::counted_cell(employee) {
        tallies::update_cell(conn, sealer, &employee.organisation_id, &cell, |c| {
            c.replace(&before, &Counted::blank())
        })?;
    }
    Ok(())
}

/// [`super::key_tree::finish_erasures`] on the blocking pool, once an erasure committed: the
/// erased keys' leaves are punctured, so the copies of those keys in backups stop opening.
/// The erasure itself has committed, so a failure here does not fail the request: the
/// punctures stay queued and the next erasure, or the next start, does them.
pub async fn finish_erasures(db: &Database, sealer: Arc<Sealer>) {
    let done = db
        .run(move |conn| {
            super::key_tree::finish_erasures(conn, &sealer)
                .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))
        })
        .await;
    if let Err(e) = done {
        tracing::error!(error = %e, "an erasure's punctures are still queued");
    }
}
