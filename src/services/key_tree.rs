//! The key tree the person keys are sealed under, held in the key store outside the main
//! database, and the erasures' last step: puncturing the erased people's leaves (decision
//! 0027).
//!
//! What it guarantees: once an erasure's punctures are done, no copy of the erased person's
//! sealed key (a backup of the main database taken at any time before, a dead tuple, a
//! replica) opens with anything the service holds, so neither do their answers. Everyone
//! else's keys derive as before, so a restored backup still opens for them.
//! Its limits: a copy of the *key store* from before the puncture undoes it for the backups
//! of the same time, so the key store must not be backed up with the database (or its
//! backups must expire sooner; README, "Backups"). Node keys are held in memory, and a
//! punctured node leaves another instance's memory at its next reload (at most
//! [`RELOAD_AFTER`]); memory is not a copy this design claims to reach.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::RngCore as _;

use crate::config::Config;
use crate::crypto::key_tree::{self, Node, NodeKey};
use crate::crypto::{CryptoError, LeafKeys, Sealer};
use crate::error::{AppError, AppResult};
use crate::store::{key_store, person_keys, Backend, Conn, Database, StoreError};

/// Leaf numbers are reserved from the store this many at a time; unused ones are simply
/// never handed out.
const RESERVE: i64 = 64;

/// How long the cover is trusted in memory before it is read again (so another instance's
/// punctures leave this one's memory too).
pub const RELOAD_AFTER: Duration = Duration::from_secs(300);

struct Cover {
    nodes: HashMap<Node, NodeKey>,
    loaded: Instant,
}

/// The key tree: the store, the cover as last read, and the leaves reserved.
pub struct KeyTree {
    store: Database,
    cover: RwLock<Cover>,
    reserved: Mutex<(u64, u64)>,
}

fn store_error(e: StoreError) -> CryptoError {
    CryptoError::KeyStore(e.to_string())
}

impl KeyTree {
    /// Opens the key store at `url` (creating it, and the tree, when absent), and checks it is
    /// the one `db`'s person keys were sealed under.
    pub fn open(url: &str, db: &Database) -> anyhow::Result<Self> {
        let store =
            Database::connect(url, 2).map_err(|e| anyhow::anyhow!("DECLARE_KEY_STORE_URL: {e}"))?;
        let mut root = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut root);
        let store_id = key_store::initialise(&store, &root)
            .map_err(|e| anyhow::anyhow!("DECLARE_KEY_STORE_URL: the key store: {e}"))?;
        root.fill(0);
        let mut conn = db.get(Duration::from_secs(30))?;
        let bound = person_keys::bind_key_store(&mut conn, &store_id)?;
        if bound != store_id {
            anyhow::bail!(
                "DECLARE_KEY_STORE_URL: the key store at {} is not the one this database's \
                 person keys are sealed under (store {bound}); with it no one's answers would \
                 open. Point DECLARE_KEY_STORE_URL at that key store (see README, Backups)",
                redact(url)
            );
        }
        let tree = KeyTree {
            cover: RwLock::new(Cover {
                nodes: HashMap::new(),
                loaded: Instant::now(),
            }),
            store,
            reserved: Mutex::new((0, 0)),
        };
        tree.reload().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(tree)
    }

    fn conn(&self) -> Result<Conn, CryptoError> {
        self.store.get(Duration::from_secs(10)).map_err(store_error)
    }

    fn reload(&self) -> Result<(), CryptoError> {
        let nodes = key_store::cover(&mut self.conn()?).map_err(store_error)?;
        let mut cover = self
            .cover
            .write()
            .map_err(|_| CryptoError::KeyStore("the cover's lock".into()))?;
        cover.nodes = nodes.into_iter().collect();
        cover.loaded = Instant::now();
        Ok(())
    }

    fn derive_cached(&self, leaf: u64) -> Result<(Option<NodeKey>, bool), CryptoError> {
        let cover = self
            .cover
            .read()
            .map_err(|_| CryptoError::KeyStore("the cover's lock".into()))?;
        let key = key_tree::path(leaf).find_map(|node| {
            cover
                .nodes
                .get(&node)
                .and_then(|k| key_tree::derive(node, k, leaf))
        });
        Ok((key, cover.loaded.elapsed() > RELOAD_AFTER))
    }
}

impl LeafKeys for KeyTree {
    fn allocate(&self) -> Result<u64, CryptoError> {
        let mut reserved = self
            .reserved
            .lock()
            .map_err(|_| CryptoError::KeyStore("the reservation's lock".into()))?;
        if reserved.0 == reserved.1 {
            let first =
                key_store::reserve_leaves(&mut self.conn()?, RESERVE).map_err(store_error)?;
            let first = u64::try_from(first).map_err(|_| CryptoError::KeyStore("leaf".into()))?;
            *reserved = (first, first + RESERVE as u64);
        }
        let leaf = reserved.0;
        if !key_tree::is_leaf(leaf) {
            return Err(CryptoError::KeyStore(
                "the key tree has no leaves left".into(),
            ));
        }
        reserved.0 += 1;
        Ok(leaf)
    }

    fn leaf_key(&self, leaf: u64) -> Result<Option<NodeKey>, CryptoError> {
        let (key, stale) = self.derive_cached(leaf)?;
        if key.is_some() && !stale {
            return Ok(key);
        }
        // Not derivable from what we hold: punctured, or the cover is older than this leaf's
        // node (another process replaced it). Read it again once before saying "erased".
        self.reload()?;
        Ok(self.derive_cached(leaf)?.0)
    }

    fn puncture(&self, leaves: &[u64]) -> Result<(), CryptoError> {
        let mut conn = self.conn()?;
        for &leaf in leaves {
            loop {
                let done = conn
                    .transaction(|conn| {
                        let Some((node, key)) = key_store::covering(conn, leaf)? else {
                            return Ok::<_, StoreError>(true); // punctured already
                        };
                        let Some(siblings) = key_tree::puncture(node, &key, leaf) else {
                            return Err(StoreError::Corrupt("a covering node".into()));
                        };
                        Ok(key_store::replace(conn, node, &siblings)? == 1)
                    })
                    .map_err(store_error)?;
                if done {
                    break;
                }
            }
        }
        // The replaced nodes' bytes leave the key store's WAL too (secure_delete zeroed them in
        // the file itself).
        person_keys::checkpoint_after_erasure(&mut conn);
        drop(conn);
        self.reload()
    }
}

/// The sealer the service and its commands use: the configured service keys, with the key
/// tree from the key store (`DECLARE_KEY_STORE_URL`, or beside the database).
pub fn sealer(config: &Config, db: &Database) -> anyhow::Result<Sealer> {
    let url = match &config.key_store_url {
        Some(url) => url.clone(),
        None => key_store::default_url(&config.database_url)
            .map_err(|e| anyhow::anyhow!("DECLARE_KEY_STORE_URL: {e}"))?,
    };
    if db.backend() == Backend::Postgres && crate::store::sqlite_path(&url).is_none() {
        // On the same server as the main database, whose credentials reach it.
        key_store::create_postgres_database(&config.database_url, &url).map_err(|e| {
            anyhow::anyhow!("DECLARE_KEY_STORE_URL: could not create the key store database: {e}")
        })?;
    }
    let tree = KeyTree::open(&url, db)?;
    let sealer = Sealer::new(&config.encryption_key, &config.encryption_previous_keys)
        .map_err(|e| anyhow::anyhow!("encryption keys: {e}"))?
        .with_leaf_keys(Arc::new(tree));
    // Erasures whose punctures a crash interrupted are finished before anything else.
    let mut conn = db.get(Duration::from_secs(30))?;
    finish_erasures(&mut conn, &sealer).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(sealer)
}

/// The last step of every erasure, run after its transaction commits: punctures the leaves it
/// queued, then forgets them, and checkpoints SQLite's WAL. Safe to run twice or concurrently
/// (a puncture is idempotent). Returns leaves punctured.
pub fn finish_erasures(conn: &mut Conn, sealer: &Sealer) -> AppResult<usize> {
    let mut done = 0;
    if let Some(tree) = sealer.leaf_keys() {
        loop {
            let pending = person_keys::pending_punctures(conn, 1000)?;
            if pending.is_empty() {
                break;
            }
            let leaves = pending
                .iter()
                .map(|&l| u64::try_from(l))
                .collect::<Result<Vec<_>, _>>()
                .map_err(AppError::internal)?;
            tree.puncture(&leaves).map_err(AppError::internal)?;
            done += person_keys::punctured(conn, &pending)?;
        }
    }
    person_keys::checkpoint_after_erasure(conn);
    Ok(done)
}

/// A URL fit for a message: no password.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://…@{host}"),
        _ => url.to_owned(),
    }
}

/// What [`purge_erased`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Purged {
    /// People whose rows came back with a restore but whose key had been erased.
    pub people: usize,
    /// Organisations whose figures were recounted without them.
    pub organisations: usize,
}

/// After restoring a backup taken before some erasures: the people erased since have their
/// rows back but their leaves are punctured, so nothing of theirs opens. Erases those rows
/// (answers, history, consents, key) for good, one audit event each, and recounts the figures
/// of their organisations, which the backup still counted them in.
pub fn purge_erased(conn: &mut Conn, sealer: &Sealer) -> AppResult<Purged> {
    let Some(tree) = sealer.leaf_keys() else {
        return Ok(Purged::default());
    };
    let mut erased: Vec<(String, String)> = Vec::new();
    for row in person_keys::all(conn)? {
        let Some(leaf) = row.leaf.and_then(|l| u64::try_from(l).ok()) else {
            continue;
        };
        if tree.leaf_key(leaf).map_err(AppError::internal)?.is_none() {
            erased.push((row.employee_id, row.organisation_id));
        }
    }
    let mut organisations: Vec<String> = erased.iter().map(|(_, org)| org.clone()).collect();
    organisations.sort();
    organisations.dedup();
    conn.transaction(|conn| -> AppResult<()> {
        let ids: Vec<String> = erased.iter().map(|(id, _)| id.clone()).collect();
        crate::store::retention::erase_people(conn, &ids)?;
        person_keys::destroy(conn, &ids)?;
        let mut events = Vec::with_capacity(erased.len());
        for (employee, org) in &erased {
            let org = uuid::Uuid::parse_str(org).map_err(AppError::internal)?;
            events.push(super::audit::Actor::cli_for(org).event(
                "erasure.purge_restored",
                Some(format!("employee:{employee}")),
            ));
        }
        super::audit::append_many(conn, events)?;
        for org in &organisations {
            super::tallies::recount(conn, sealer, org)?;
        }
        Ok(())
    })?;
    finish_erasures(conn, sealer)?;
    Ok(Purged {
        people: erased.len(),
        organisations: organisations.len(),
    })
}
