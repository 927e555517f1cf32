//! A bounded cache of protected figures, so a figures request whose inputs have not changed
//! since they were last computed skips opening every sealed tally and re-running disclosure
//! control (together most of a request's cost; see decision 0011).
//!
//! An entry is one characteristic's whole protected family (every breakdown, level and view
//! is a selection from it), keyed by organisation, characteristic and the disclosure
//! settings. It is served only while its
//! [`Fingerprint`] still matches: the current catalogue version, a digest of the structure
//! (units, staff types, ranks: names, codes, parents), and the organisation's tallies summed
//! without opening any (rows, sum of versions, latest `updated_at`). Every tally write bumps
//! its row's version and `updated_at`, and a recount rewrites every row, so a change of counts
//! always changes the fingerprint; no per-organisation counter row exists for every
//! declaration write to queue on.
//!
//! Figures from a statistics snapshot are keyed by the snapshot too and stored under
//! [`Fingerprint::frozen`]: a snapshot never changes, so they are computed once.
//!
//! The fingerprint is read BEFORE the figures' own reads. A write landing between the two
//! leaves an entry computed from newer data under an older fingerprint, which only costs one
//! recomputation; the reverse (older data under a newer fingerprint) cannot happen.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::disclosure::DisclosureConfig;
use crate::error::AppResult;
use crate::store::{catalogue, structure, tallies, Conn};

/// Most entries kept, whatever their size.
pub const MAX_ENTRIES: usize = 1024;
/// Most published cells kept over all entries (a cell is about 100 bytes with its row), so the
/// cache stays within a few tens of MiB however many organisations ask.
const MAX_CELLS: usize = 250_000;

/// What a cached response was computed from. Equal fingerprints mean equal figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    catalogue: Option<String>,
    structure: [u8; 32],
    tally_rows: i64,
    tally_versions: i64,
    tallies_updated: Option<NaiveDateTime>,
}

impl Fingerprint {
    /// The fingerprint of figures whose inputs can never change: a statistics snapshot has no
    /// delete and its one update swaps only the key its content is sealed under.
    pub fn frozen() -> Self {
        Fingerprint {
            catalogue: None,
            structure: [0; 32],
            tally_rows: 0,
            tally_versions: 0,
            tallies_updated: None,
        }
    }
}

/// Reads the fingerprint of an organisation's figures; opens nothing sealed.
pub fn fingerprint(conn: &mut Conn, org: &str) -> AppResult<Fingerprint> {
    let (tally_rows, tally_versions, tallies_updated) = tallies::stamp(conn, org)?;
    let catalogue = catalogue::current_published_id(conn, org)?;
    let mut digest = Sha256::new();
    let mut field = |value: &str| {
        digest.update((value.len() as u64).to_le_bytes());
        digest.update(value.as_bytes());
    };
    for unit in structure::list_units(conn, org)? {
        field(&unit.id);
        field(unit.parent_id.as_deref().unwrap_or(""));
        field(&unit.code);
        field(&unit.name);
    }
    field("staff_types");
    for staff_type in structure::list_staff_types(conn, org)? {
        field(&staff_type.id);
        field(&staff_type.code);
        field(&staff_type.name);
    }
    field("ranks");
    for rank in structure::list_ranks(conn, org)? {
        field(&rank.id);
        field(&rank.code);
        field(&rank.name);
        field(&rank.sort_order.to_string());
    }
    Ok(Fingerprint {
        catalogue,
        structure: digest.finalize().into(),
        tally_rows,
        tally_versions,
        tallies_updated,
    })
}

/// Everything a response depends on besides the data the fingerprint covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub org: Uuid,
    /// The snapshot the figures come from; `None` for the live tallies.
    pub snapshot: Option<Uuid>,
    pub characteristic: String,
    /// Every disclosure setting: figures computed under others are never served.
    pub config: DisclosureConfig,
}

impl Key {
    pub fn new(org: Uuid, characteristic: &str, config: &DisclosureConfig) -> Self {
        Key {
            org,
            snapshot: None,
            characteristic: characteristic.to_owned(),
            config: *config,
        }
    }

    /// The same question asked of one snapshot of the organisation.
    pub fn at_snapshot(self, snapshot: Uuid) -> Self {
        Key {
            snapshot: Some(snapshot),
            ..self
        }
    }
}

struct Entry<T> {
    fingerprint: Fingerprint,
    /// `None`: computed, and there was nothing to keep (see [`FigureCache::get_or_compute`]).
    value: Option<T>,
    cells: usize,
    used: u64,
}

struct Inner<T> {
    entries: HashMap<Key, Entry<T>>,
    cells: usize,
    clock: u64,
}

/// Least-recently-used, bounded by entries and by published cells.
pub struct FigureCache<T> {
    inner: Mutex<Inner<T>>,
    max_entries: usize,
    max_cells: usize,
    /// One computation per key at a time (see [`FigureCache::get_or_compute`]). Weak, so a
    /// key's lock lives only while someone computes or waits on it.
    flights: Mutex<HashMap<Key, Weak<tokio::sync::Mutex<()>>>>,
    computed: AtomicU64,
}

/// Past this many keys in the flight map, dead entries are swept on the next flight.
const FLIGHTS_SWEPT_PAST: usize = 64;

impl<T: Clone> Default for FigureCache<T> {
    fn default() -> Self {
        Self::with_limits(MAX_ENTRIES, MAX_CELLS)
    }
}

impl<T: Clone> FigureCache<T> {
    pub fn with_limits(max_entries: usize, max_cells: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                cells: 0,
                clock: 0,
            }),
            max_entries,
            max_cells,
            flights: Mutex::new(HashMap::new()),
            computed: AtomicU64::new(0),
        }
    }

    /// The value under `key` for `fingerprint`, computing and storing it on a miss. Misses on
    /// one key wait for the computation already running, then read what it stored, rather
    /// than each running disclosure control at once: a board opening a dashboard asks for
    /// several views of one family together, and one family of a small force's many small
    /// cells can take seconds of CPU on a 2-core machine. `compute` yields the value and its
    /// weight in cells, or `None` when there is nothing to give (a snapshot from before the
    /// characteristic existed); that answer is remembered too, under the same fingerprint.
    pub async fn get_or_compute<F, Fut, E>(
        &self,
        key: Key,
        fingerprint: Fingerprint,
        compute: F,
    ) -> Result<Option<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<(T, usize)>, E>>,
    {
        if let Some(found) = self.lookup(&key, &fingerprint) {
            crate::metrics::figure_cache_lookup(true);
            return Ok(found);
        }
        let flight = self.flight(&key);
        let _computing = flight.lock().await;
        // Whoever held the lock before us may have stored it: a hit, computed once.
        if let Some(found) = self.lookup(&key, &fingerprint) {
            crate::metrics::figure_cache_lookup(true);
            return Ok(found);
        }
        crate::metrics::figure_cache_lookup(false);
        self.computed.fetch_add(1, Ordering::Relaxed);
        let computed = compute().await?;
        let (value, cells) = match computed {
            Some((value, cells)) => (Some(value), cells),
            None => (None, 0),
        };
        self.store(key, fingerprint, value.clone(), cells);
        Ok(value)
    }

    /// How many values [`FigureCache::get_or_compute`] has computed (for tests).
    pub fn computations(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    fn flight(&self, key: &Key) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(flight) = flights.get(key).and_then(Weak::upgrade) {
            return flight;
        }
        if flights.len() >= FLIGHTS_SWEPT_PAST {
            flights.retain(|_, flight| flight.strong_count() > 0);
        }
        let flight = Arc::new(tokio::sync::Mutex::new(()));
        flights.insert(key.clone(), Arc::downgrade(&flight));
        flight
    }

    /// The value stored under `key`, if it was computed from exactly `fingerprint`.
    pub fn get(&self, key: &Key, fingerprint: &Fingerprint) -> Option<T> {
        self.lookup(key, fingerprint).flatten()
    }

    /// What was computed under `key` from exactly `fingerprint`, if anything was:
    /// `Some(None)` when that computation had nothing to keep.
    fn lookup(&self, key: &Key, fingerprint: &Fingerprint) -> Option<Option<T>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let clock = inner.clock;
        let entry = inner.entries.get_mut(key)?;
        if entry.fingerprint != *fingerprint {
            return None;
        }
        entry.used = clock;
        Some(entry.value.clone())
    }

    /// Stores `value` (weighing `cells` published cells), evicting the least recently used
    /// entries until both limits hold. A value larger than the whole budget is not kept.
    pub fn put(&self, key: Key, fingerprint: Fingerprint, value: T, cells: usize) {
        self.store(key, fingerprint, Some(value), cells);
    }

    fn store(&self, key: Key, fingerprint: Fingerprint, value: Option<T>, cells: usize) {
        if self.max_entries == 0 || self.max_cells == 0 || cells > self.max_cells {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.entries.remove(&key) {
            inner.cells -= old.cells;
        }
        while inner.entries.len() >= self.max_entries || inner.cells + cells > self.max_cells {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.cells -= gone.cells;
            }
        }
        inner.cells += cells;
        inner.entries.insert(
            key,
            Entry {
                fingerprint,
                value,
                cells,
                used,
            },
        );
    }

    /// Entries and cells held, for tests and metrics.
    pub fn size(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.entries.len(), inner.cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(n: i64) -> Fingerprint {
        Fingerprint {
            catalogue: Some("c1".into()),
            structure: [0; 32],
            tally_rows: 1,
            tally_versions: n,
            tallies_updated: None,
        }
    }

    fn key(org: Uuid, characteristic: &str, config: &DisclosureConfig) -> Key {
        Key::new(org, characteristic, config)
    }

    #[test]
    fn serves_only_the_same_key_and_fingerprint() {
        let cache = FigureCache::default();
        let config = DisclosureConfig::default();
        let org = Uuid::new_v4();
        cache.put(key(org, "overall", &config), print(1), "a", 1);
        assert_eq!(
            cache.get(&key(org, "overall", &config), &print(1)),
            Some("a")
        );
        assert_eq!(cache.get(&key(org, "overall", &config), &print(2)), None);
        assert_eq!(
            cache.get(&key(Uuid::new_v4(), "overall", &config), &print(1)),
            None
        );
        assert_eq!(cache.get(&key(org, "rank", &config), &print(1)), None);
        let snapshot = key(org, "overall", &config).at_snapshot(Uuid::new_v4());
        assert_eq!(cache.get(&snapshot, &print(1)), None);
        let rounded = DisclosureConfig {
            round_to: Some(5),
            ..config
        };
        assert_eq!(cache.get(&key(org, "overall", &rounded), &print(1)), None);
        let stricter = DisclosureConfig {
            min_cell: 10,
            ..config
        };
        assert_eq!(cache.get(&key(org, "overall", &stricter), &print(1)), None);
    }

    #[test]
    fn stays_within_its_limits_evicting_the_least_recently_used() {
        let cache = FigureCache::with_limits(3, 100);
        let config = DisclosureConfig::default();
        let org = Uuid::new_v4();
        for (i, request) in ["a", "b", "c"].iter().enumerate() {
            cache.put(key(org, request, &config), print(1), i, 10);
        }
        assert!(cache.get(&key(org, "a", &config), &print(1)).is_some());
        cache.put(key(org, "d", &config), print(1), 3, 10);
        assert_eq!(cache.size(), (3, 30));
        assert!(
            cache.get(&key(org, "b", &config), &print(1)).is_none(),
            "b was oldest"
        );
        assert!(cache.get(&key(org, "a", &config), &print(1)).is_some());
        cache.put(key(org, "big", &config), print(1), 4, 95);
        assert_eq!(cache.size(), (1, 95), "cells bound evicts the rest");
        cache.put(key(org, "huge", &config), print(1), 5, 101);
        assert!(cache.get(&key(org, "huge", &config), &print(1)).is_none());
        assert_eq!(cache.size(), (1, 95));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_on_one_key_compute_once() {
        let cache = Arc::new(FigureCache::<u64>::default());
        let runs = Arc::new(AtomicU64::new(0));
        let ask = |fingerprint: Fingerprint| {
            let (cache, runs) = (cache.clone(), runs.clone());
            tokio::spawn(async move {
                cache
                    .get_or_compute(
                        key(Uuid::nil(), "race", &DisclosureConfig::default()),
                        fingerprint,
                        || async {
                            runs.fetch_add(1, Ordering::SeqCst);
                            // Long enough that every asker arrives while it runs.
                            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                            Ok::<_, ()>(Some((42, 1)))
                        },
                    )
                    .await
            })
        };
        let askers: Vec<_> = (0..6).map(|_| ask(print(1))).collect();
        for asker in askers {
            assert_eq!(asker.await.unwrap(), Ok(Some(42)));
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "one computation for six misses"
        );
        assert_eq!(cache.computations(), 1);
        // Changed inputs are a new computation.
        assert_eq!(ask(print(2)).await.unwrap(), Ok(Some(42)));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // "Nothing to give" (a snapshot from before the characteristic) is remembered too.
        for _ in 0..2 {
            let runs = runs.clone();
            let nothing = cache
                .get_or_compute(
                    key(Uuid::nil(), "welsh", &DisclosureConfig::default()),
                    print(1),
                    || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok::<Option<(u64, usize)>, ()>(None)
                    },
                )
                .await;
            assert_eq!(nothing, Ok(None));
        }
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "the second ask found the first's"
        );
        assert_eq!(
            cache.size(),
            (2, 1),
            "the remembered nothing weighs no cells"
        );
    }
}
