//! Each organisation's perturbation secret (decision 0016): read once per process, created on
//! first use.
//!
//! The secret never changes once created (key rotation re-seals the same bytes), so a copy
//! kept in memory by organisation id is never stale, in this process or any other.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use rand::RngCore;

use crate::crypto::{Sealed, Sealer};
use crate::domain::disclosure::NoiseSecret;
use crate::error::{AppError, AppResult};
use crate::store::noise_secrets::{self as store, NoiseSecretRow};
use crate::store::Conn;

fn cache() -> &'static Mutex<HashMap<String, NoiseSecret>> {
    static CACHE: OnceLock<Mutex<HashMap<String, NoiseSecret>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Binds the sealed secret to its organisation, so a row copied to another does not open.
pub(crate) fn context(org: &str) -> Vec<u8> {
    format!("noise-secret:{org}").into_bytes()
}

/// The organisation's secret, created (and sealed) if it has none yet.
pub fn secret(conn: &mut Conn, sealer: &Sealer, org: &str) -> AppResult<NoiseSecret> {
    if let Some(secret) = cache().lock().ok().and_then(|m| m.get(org).cloned()) {
        return Ok(secret);
    }
    let row = match store::find(conn, org)? {
        Some(row) => row,
        None => {
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            let sealed = sealer
                .seal(&bytes, &context(org))
                .map_err(AppError::internal)?;
            store::insert_once(
                conn,
                &NoiseSecretRow {
                    organisation_id: org.to_owned(),
                    key_id: sealed.key_id,
                    sealed: sealed.blob,
                },
            )?;
            store::find(conn, org)?
                .ok_or_else(|| AppError::internal("the noise secret vanished"))?
        }
    };
    let plain = sealer
        .open(
            &Sealed {
                key_id: row.key_id,
                blob: row.sealed,
            },
            &context(org),
        )
        .map_err(AppError::internal)?;
    let bytes: [u8; 32] = plain
        .try_into()
        .map_err(|_| AppError::internal("a noise secret is not 32 bytes"))?;
    let secret = NoiseSecret::new(bytes);
    if let Ok(mut map) = cache().lock() {
        map.insert(org.to_owned(), secret.clone());
    }
    Ok(secret)
}
