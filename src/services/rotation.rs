//! Key rotation: re-sealing everything sealed under an older key with the current one, so the
//! older key can be retired (`declare admin rotate-key`).
//!
//! The rules a reader must keep:
//! - Every kind of sealed data is covered: the per-person keys, the tallies and the statistics
//!   snapshots and the organisations' noise secrets under
//!   the service key, and declarations and their history still under it
//!   (rows from before per-person keys, which move under their owner's key, created if need
//!   be: decision 0019). A new sealed table must be added here, or dropping an old key from
//!   `DECLARE_ENCRYPTION_PREVIOUS_KEYS` breaks it. Rows under a person's key never need it:
//!   re-sealing that person's key is enough.
//! - The plaintext is re-sealed byte for byte under the same context: rotation never
//!   reinterprets what it moves, so a snapshot's figures and a tally's counts are exactly
//!   what they were. Every re-seal is padded, so old unpadded rows come out padded.
//! - `batch` rows per short transaction, so the service keeps serving throughout. Each update
//!   is conditional on the row being unchanged since it was read (its key, and its version
//!   where it has one): a row written meanwhile is already under the current key (the writer
//!   sealed it), and a stale re-seal must never put old content back. Rows skipped that way
//!   are picked up by the next batch if they are still stale.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::crypto::{Sealed, Sealer, PERSON_KEY_ID};
use crate::error::{AppError, AppResult};
use crate::services::answer_keys::{
    declaration_context, history_context, person_key_context, Keys,
};
use crate::services::audit::{self, Actor};
use crate::services::stats::snapshots;
use crate::services::tallies;
use crate::store::{self, Conn, Database, StoreError};

/// Rows re-sealed so far, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rotation {
    /// Declarations moved from the service key to their owner's key.
    pub declarations: u64,
    /// History rows moved from the service key to their owner's key.
    pub history: u64,
    pub person_keys: u64,
    pub tallies: u64,
    pub snapshots: u64,
    /// Organisations' perturbation secrets (decision 0016).
    pub noise_secrets: u64,
}

impl Rotation {
    pub fn total(&self) -> u64 {
        self.declarations
            + self.history
            + self.person_keys
            + self.tallies
            + self.snapshots
            + self.noise_secrets
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} declaration(s), {} history row(s), {} person key(s), {} tally row(s), {} snapshot(s), {} noise secret(s)",
            self.declarations, self.history, self.person_keys, self.tallies, self.snapshots, self.noise_secrets
        )
    }
}

/// Re-seals every row not under the current key, `batch` rows per transaction, reporting
/// after each batch.
pub async fn rotate_keys(
    db: &Database,
    sealer: Arc<Sealer>,
    batch: i64,
    mut progress: impl FnMut(Rotation) + Send + 'static,
) -> AppResult<Rotation> {
    let batch = batch.clamp(1, 10_000);
    db.run(move |conn| Ok(rotate_all(conn, &sealer, batch, &mut progress)))
        .await?
}

fn rotate_all(
    conn: &mut Conn,
    sealer: &Sealer,
    batch: i64,
    progress: &mut dyn FnMut(Rotation),
) -> AppResult<Rotation> {
    let mut done = Rotation::default();
    drain(
        conn,
        &mut done,
        progress,
        |d| &mut d.declarations,
        |conn| declarations(conn, sealer, batch),
    )?;
    drain(
        conn,
        &mut done,
        progress,
        |d| &mut d.history,
        |conn| history(conn, sealer, batch),
    )?;
    drain(
        conn,
        &mut done,
        progress,
        |d| &mut d.person_keys,
        |conn| person_key_rows(conn, sealer, batch),
    )?;
    drain(
        conn,
        &mut done,
        progress,
        |d| &mut d.tallies,
        |conn| tally_rows(conn, sealer, batch),
    )?;
    drain(
        conn,
        &mut done,
        progress,
        |d| &mut d.snapshots,
        |conn| snapshot_rows(conn, sealer, batch),
    )?;
    drain(
        conn,
        &mut done,
        progress,
        |d| &mut d.noise_secrets,
        |conn| noise_secret_rows(conn, sealer, batch),
    )?;
    conn.transaction(|conn| -> Result<(), StoreError> {
        audit::append(conn, Actor::cli().event("keys.rotate", None))
    })?;
    Ok(done)
}

/// What one batch did: rows found under an older key, and rows re-sealed.
struct Batch {
    found: usize,
    moved: u64,
}

/// Runs `step` in its own transaction until it finds nothing left under an older key.
fn drain(
    conn: &mut Conn,
    done: &mut Rotation,
    progress: &mut dyn FnMut(Rotation),
    count: impl Fn(&mut Rotation) -> &mut u64,
    mut step: impl FnMut(&mut Conn) -> AppResult<Batch>,
) -> AppResult<()> {
    loop {
        let batch = conn.transaction(|conn| step(conn))?;
        if batch.found == 0 {
            return Ok(());
        }
        *count(done) += batch.moved;
        progress(*done);
    }
}

/// The same plaintext, sealed under the current key and the same context.
fn reseal(sealer: &Sealer, key_id: &str, blob: Vec<u8>, context: &[u8]) -> AppResult<Sealed> {
    let old = Sealed {
        key_id: key_id.to_owned(),
        blob,
    };
    let plain = sealer.open(&old, context).map_err(AppError::internal)?;
    sealer.seal(&plain, context).map_err(AppError::internal)
}

/// The plaintext of a row from before per-person keys, sealed again under its owner's key
/// (made now if they have none).
fn to_person_key(
    conn: &mut Conn,
    sealer: &Sealer,
    employee: &str,
    key_id: &str,
    blob: Vec<u8>,
    context: &[u8],
) -> AppResult<Sealed> {
    let mut keys = Keys::load(conn, sealer, employee)?;
    let plain = keys.open_bytes(
        &Sealed {
            key_id: key_id.to_owned(),
            blob,
        },
        context,
    )?;
    let org = store::person_keys::organisation_of(conn, employee)?;
    keys.ensure(conn, &org, employee)?;
    keys.seal_bytes(&plain, context)
}

fn declarations(conn: &mut Conn, sealer: &Sealer, batch: i64) -> AppResult<Batch> {
    // Everything not yet under a person key is stale, whichever service key sealed it.
    let rows = store::declarations::stale_declarations(conn, PERSON_KEY_ID, batch)?;
    let found = rows.len();
    let mut moved = 0;
    for (employee, version, key_id, blob) in rows {
        let context = declaration_context(&employee);
        let fresh = to_person_key(conn, sealer, &employee, &key_id, blob, &context)?;
        moved += store::declarations::reseal_declaration(
            conn,
            &employee,
            version,
            &key_id,
            &fresh.key_id,
            &fresh.blob,
        )? as u64;
    }
    Ok(Batch { found, moved })
}

fn history(conn: &mut Conn, sealer: &Sealer, batch: i64) -> AppResult<Batch> {
    let rows = store::declarations::stale_history(conn, PERSON_KEY_ID, batch)?;
    let found = rows.len();
    let mut moved = 0;
    for (id, employee, seq, key_id, blob) in rows {
        let context = history_context(&employee, seq);
        let fresh = to_person_key(conn, sealer, &employee, &key_id, blob, &context)?;
        moved +=
            store::declarations::reseal_history(conn, &id, &key_id, &fresh.key_id, &fresh.blob)?
                as u64;
    }
    Ok(Batch { found, moved })
}

/// Re-seals the per-person keys themselves: their content (the key) is unchanged, so nothing
/// sealed under them needs touching. A key from before the key tree is also moved under a
/// leaf of it (decision 0027), after which erasing its owner reaches its backups too.
fn person_key_rows(conn: &mut Conn, sealer: &Sealer, batch: i64) -> AppResult<Batch> {
    let want_leaf = sealer.leaf_keys().is_some();
    let rows = store::person_keys::stale(conn, sealer.current_key_id(), want_leaf, batch)?;
    let found = rows.len();
    let mut moved = 0;
    for (employee, org, key_id, blob, leaf) in rows {
        let context = person_key_context(&org, &employee);
        let old = Sealed { key_id, blob };
        let (fresh, new_leaf) = match sealer
            .move_data_key_to_leaf(&old, &context, leaf)
            .map_err(AppError::internal)?
        {
            Some((fresh, new_leaf)) => (fresh, Some(new_leaf)),
            None if sealer.needs_reseal(&old) => (
                reseal(sealer, &old.key_id, old.blob.clone(), &context)?,
                leaf,
            ),
            // Under the current key and no tree to move it under: nothing to do.
            None => continue,
        };
        moved += store::person_keys::reseal(
            conn,
            &employee,
            (&old.key_id, leaf),
            (&fresh.key_id, new_leaf),
            &fresh.blob,
        )? as u64;
    }
    Ok(Batch { found, moved })
}

fn tally_rows(conn: &mut Conn, sealer: &Sealer, batch: i64) -> AppResult<Batch> {
    let rows = store::tallies::stale(conn, sealer.current_key_id(), batch)?;
    let found = rows.len();
    let mut moved = 0;
    for (org, cell, version, key_id, blob) in rows {
        let fresh = reseal(sealer, &key_id, blob, &tallies::context(&org, &cell))?;
        moved += store::tallies::reseal(
            conn,
            &org,
            &cell,
            version,
            &key_id,
            &fresh.key_id,
            &fresh.blob,
        )? as u64;
    }
    Ok(Batch { found, moved })
}

fn snapshot_rows(conn: &mut Conn, sealer: &Sealer, batch: i64) -> AppResult<Batch> {
    let rows = store::snapshots::stale(conn, sealer.current_key_id(), batch)?;
    let found = rows.len();
    let mut moved = 0;
    for (id, org, key_id, blob) in rows {
        let fresh = reseal(sealer, &key_id, blob, &snapshots::context(&org, &id))?;
        moved += store::snapshots::reseal(conn, &id, &key_id, &fresh.key_id, &fresh.blob)? as u64;
    }
    Ok(Batch { found, moved })
}

fn noise_secret_rows(conn: &mut Conn, sealer: &Sealer, batch: i64) -> AppResult<Batch> {
    let rows = store::noise_secrets::stale(conn, sealer.current_key_id(), batch)?;
    let found = rows.len();
    let mut moved = 0;
    for (org, key_id, blob) in rows {
        let fresh = reseal(
            sealer,
            &key_id,
            blob,
            &crate::services::noise::context(&org),
        )?;
        moved +=
            store::noise_secrets::reseal(conn, &org, &key_id, &fresh.key_id, &fresh.blob)? as u64;
    }
    Ok(Batch { found, moved })
}
