//! Parsed published catalogue versions, shared by every request in the process.
//!
//! A published version never changes (decision 0003) and its id is a UUID never reused, so a
//! parsed document can be kept by id without invalidation. Parsing the national document
//! (about 64 KiB of JSON) on every declaration read and write was most of a write's CPU. The
//! map is bounded: past the limit it is cleared, and the next calls parse again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::domain::catalogue::{parse_catalogue, Catalogue};
use crate::error::{AppError, AppResult};
use crate::store::catalogue as catalogues;
use crate::store::Conn;

/// Far more versions than one deployment's forces publish between restarts.
const LIMIT: usize = 512;

fn cache() -> &'static Mutex<HashMap<String, Arc<Catalogue>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Catalogue>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached(id: &str) -> Option<Arc<Catalogue>> {
    cache().lock().ok()?.get(id).cloned()
}

fn remember(id: &str, document: Arc<Catalogue>) {
    if let Ok(mut map) = cache().lock() {
        if map.len() >= LIMIT {
            map.clear();
        }
        map.insert(id.to_owned(), document);
    }
}

/// One published version of `org` by id (404 as the store reports it when there is none).
pub fn version(conn: &mut Conn, org: &str, id: &str) -> AppResult<Arc<Catalogue>> {
    // Keyed by organisation too, so a hit never skips the ownership the query checks.
    let key = format!("{org}/{id}");
    if let Some(document) = cached(&key) {
        return Ok(document);
    }
    let row = catalogues::find_published(conn, org, id)?;
    let document = Arc::new(
        parse_catalogue(&row.document)
            .map_err(|e| AppError::internal(format!("catalogue {} unreadable: {e}", row.id)))?,
    );
    remember(&key, document.clone());
    Ok(document)
}

/// The organisation's current published version: its id and document.
pub fn current(conn: &mut Conn, org: &str) -> AppResult<(String, Arc<Catalogue>)> {
    let id = catalogues::current_published_id(conn, org)?
        .ok_or_else(|| AppError::NotFound("this organisation has no published catalogue".into()))?;
    let document = version(conn, org, &id)?;
    Ok((id, document))
}
