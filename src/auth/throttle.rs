//! Login throttling without lockout (decision 0018): exponential backoff per account *and*
//! address, so a stranger's wrong guesses slow the stranger, never the person.
//!
//! NIST SP 800-63B §5.2.2 asks verifiers to limit failed attempts without letting an attacker
//! deny service to the subscriber, suggesting waits that grow with each failure and favouring
//! addresses the subscriber has signed in from before; the OWASP Authentication Cheat Sheet
//! (account lockout) warns that a hard lock is itself a denial of service and suggests
//! exponential delays instead. So:
//!
//! - **account and address** (`pair`): after `free` failures of one account from one address,
//!   each further attempt from there waits `first`, then twice that, and so on up to `cap`;
//! - **address** (`address`): the same from one address across all accounts (password spraying),
//!   with a larger allowance;
//! - **account from unrecognised addresses** (`account`): password accounts only. Failures from
//!   addresses the account has never signed in from count together, so guessing from many
//!   addresses is as slow as from one; an address the account has signed in from is exempt, so
//!   the person keeps signing in while a stranger is refused. Client secrets (256 random bits)
//!   cannot be guessed, so clients are throttled per pair and address only.
//!
//! A key's failures are forgotten after `forget_after` without a new one (or at a success for
//! that account). The counts live behind [`ThrottleStore`], in memory per process today; the
//! interface is small so that a PostgreSQL table can hold them for several instances. Time is a
//! parameter throughout, so tests never sleep.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Refused: try again after this long (send it as `Retry-After`, rounded up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; retry after {}s", .0.as_secs())]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, rounded up and at least 1, for the `Retry-After` header.
    pub fn secs_ceil(&self) -> u64 {
        let d = self.0;
        (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
    }
}

/// Failed attempts under one key: how many since it was last forgotten, and the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last: Instant,
}

/// Where throttle state lives. One process keeps it in memory ([`MemoryStore`]); several
/// instances would share a table with one row per key (count, last failure) and one per
/// (account, address) that signed in.
pub trait ThrottleStore: Send + Sync + fmt::Debug {
    /// The failures under `key`, unless forgotten (none for `forget_after` before `now`).
    fn failures(&self, key: &str, now: Instant) -> Option<Failures>;
    /// Counts one more failure under `key` at `now`.
    fn add_failure(&self, key: &str, now: Instant);
    /// Forgets `key`'s failures.
    fn clear(&self, key: &str);
    /// Remembers that `account` signed in from `address` at `now`.
    fn remember_address(&self, account: &str, address: &str, now: Instant);
    /// Whether `account` has signed in from `address` (and it is not yet forgotten).
    fn knows_address(&self, account: &str, address: &str, now: Instant) -> bool;
}

/// How long an attempt must wait after a key's failures: nothing for the first `free`, then
/// `first`, doubling per further failure, never more than `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free: u32,
    pub first: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The wait still to run at `now`, if any.
    pub fn wait(&self, failures: Failures, now: Instant) -> Option<Duration> {
        if failures.count < self.free {
            return None;
        }
        let doublings = (failures.count - self.free).min(30);
        let wait = self
            .first
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.cap)
            .min(self.cap);
        let ready = failures.last + wait;
        (ready > now).then(|| ready - now)
    }
}

/// The throttle's settings. Defaults: 5 free failures per account and address (and per account
/// from unrecognised addresses), 20 per address, first wait 225 s, at most 900 s.
#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    pub pair: Backoff,
    pub address: Backoff,
    pub account: Backoff,
    /// A key with no new failure for this long starts again from nothing.
    pub forget_after: Duration,
    /// Most keys the in-memory store tracks (memory bound); the idlest go first.
    pub max_keys: usize,
}

impl ThrottleSettings {
    /// From the configuration: `per_account` and `per_address` free failures, and `cap` the
    /// longest wait (the first is a quarter of it).
    pub fn from_limits(per_account: u32, per_address: u32, cap: Duration) -> Self {
        let first = (cap / 4).max(Duration::from_secs(1));
        let backoff = |free| Backoff { free, first, cap };
        ThrottleSettings {
            pair: backoff(per_account),
            address: backoff(per_address),
            account: backoff(per_account),
            forget_after: Duration::from_secs(24 * 3600).max(cap * 4),
            max_keys: 100_000,
        }
    }
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings::from_limits(5, 20, Duration::from_secs(900))
    }
}

/// Whose credential is being tried: a person's password or a machine client's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Password,
    ClientSecret,
}

fn pair_key(account: &str, address: &str) -> String {
    format!("pair\n{account}\n{address}")
}

fn address_key(address: &str) -> String {
    format!("address\n{address}")
}

fn account_key(account: &str) -> String {
    format!("account\n{account}")
}

/// The limits a login consults, over a [`ThrottleStore`].
#[derive(Debug)]
pub struct LoginThrottle {
    settings: ThrottleSettings,
    store: Box<dyn ThrottleStore>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(&ThrottleSettings::default())
    }
}

impl LoginThrottle {
    /// In memory, for one process.
    pub fn new(settings: &ThrottleSettings) -> Self {
        LoginThrottle::with_store(
            settings,
            Box::new(MemoryStore::new(settings.max_keys, settings.forget_after)),
        )
    }

    pub fn with_store(settings: &ThrottleSettings, store: Box<dyn ThrottleStore>) -> Self {
        LoginThrottle {
            settings: settings.clone(),
            store,
        }
    }

    /// The keys an attempt is counted under, each with its backoff.
    fn keys(
        &self,
        account: &str,
        address: &str,
        credential: Credential,
        now: Instant,
    ) -> Vec<(String, Backoff)> {
        let mut keys = vec![
            (pair_key(account, address), self.settings.pair),
            (address_key(address), self.settings.address),
        ];
        if credential == Credential::Password && !self.store.knows_address(account, address, now) {
            keys.push((account_key(account), self.settings.account));
        }
        keys
    }

    /// Call before verifying the credential (so a refused attempt costs no hashing). Refuses
    /// with the longest wait any of its keys still has. `account` is the normalised user name
    /// or client id as sent, whether or not it exists.
    pub fn check(
        &self,
        account: &str,
        address: &str,
        credential: Credential,
        now: Instant,
    ) -> Result<(), RetryAfter> {
        let wait = self
            .keys(account, address, credential, now)
            .into_iter()
            .filter_map(|(key, backoff)| {
                let failures = self.store.failures(&key, now)?;
                backoff.wait(failures, now)
            })
            .max();
        match wait {
            Some(wait) => Err(RetryAfter(wait)),
            None => Ok(()),
        }
    }

    /// A wrong credential (or unknown account): counts under every key the attempt was
    /// checked against.
    pub fn record_failure(
        &self,
        account: &str,
        address: &str,
        credential: Credential,
        now: Instant,
    ) {
        for (key, _) in self.keys(account, address, credential, now) {
            self.store.add_failure(&key, now);
        }
    }

    /// A successful sign-in: the address becomes one the account is known at, and the
    /// account's failures (from here and from unrecognised addresses) are forgotten. The
    /// address keeps its count, so one valid account cannot launder guesses against others.
    pub fn record_success(&self, account: &str, address: &str, now: Instant) {
        self.store.clear(&pair_key(account, address));
        self.store.clear(&account_key(account));
        self.store.remember_address(account, address, now);
    }
}

/// Addresses remembered per account: the most recent few are enough to recognise the person.
const ADDRESSES_PER_ACCOUNT: usize = 8;

#[derive(Debug, Default)]
struct MemoryState {
    failures: HashMap<String, Failures>,
    known: HashMap<String, VecDeque<(String, Instant)>>,
    last_prune: Option<Instant>,
}

/// The throttle's state in this process's memory, bounded by `max_keys` per map.
#[derive(Debug)]
pub struct MemoryStore {
    max_keys: usize,
    forget_after: Duration,
    state: Mutex<MemoryState>,
}

impl MemoryStore {
    pub fn new(max_keys: usize, forget_after: Duration) -> Self {
        MemoryStore {
            max_keys: max_keys.max(1),
            forget_after,
            state: Mutex::new(MemoryState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // A panic elsewhere cannot leave these maps inconsistent; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self, t: Instant, now: Instant) -> bool {
        now.saturating_duration_since(t) < self.forget_after
    }

    /// Drops what is forgotten, at most once per `forget_after / 4`, then, if a map is still
    /// full, the idlest eighth of it (amortised, rather than once per insert).
    fn make_room(&self, state: &mut MemoryState, now: Instant) {
        let due = state.last_prune.map_or(true, |last| {
            now.saturating_duration_since(last) >= self.forget_after / 4
        });
        if due {
            state.failures.retain(|_, f| self.live(f.last, now));
            state.known.retain(|_, addresses| {
                addresses.retain(|(_, t)| self.live(*t, now));
                !addresses.is_empty()
            });
            state.last_prune = Some(now);
        }
        if state.failures.len() >= self.max_keys {
            let mut by_age: Vec<(Instant, String)> = state
                .failures
                .iter()
                .map(|(k, f)| (f.last, k.clone()))
                .collect();
            by_age.sort_unstable();
            for (_, key) in by_age.into_iter().take((self.max_keys / 8).max(1)) {
                state.failures.remove(&key);
            }
        }
        if state.known.len() >= self.max_keys {
            let mut by_age: Vec<(Instant, String)> = state
                .known
                .iter()
                .filter_map(|(k, a)| a.back().map(|(_, t)| (*t, k.clone())))
                .collect();
            by_age.sort_unstable();
            for (_, key) in by_age.into_iter().take((self.max_keys / 8).max(1)) {
                state.known.remove(&key);
            }
        }
    }

    /// Keys tracked (failures and accounts with known addresses).
    pub fn len(&self) -> usize {
        let state = self.lock();
        state.failures.len() + state.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ThrottleStore for MemoryStore {
    fn failures(&self, key: &str, now: Instant) -> Option<Failures> {
        let state = self.lock();
        state
            .failures
            .get(key)
            .copied()
            .filter(|f| self.live(f.last, now))
    }

    fn add_failure(&self, key: &str, now: Instant) {
        let mut state = self.lock();
        if !state.failures.contains_key(key) {
            self.make_room(&mut state, now);
        }
        let live = state
            .failures
            .get(key)
            .filter(|f| self.live(f.last, now))
            .map_or(0, |f| f.count);
        state.failures.insert(
            key.to_owned(),
            Failures {
                count: live.saturating_add(1),
                last: now,
            },
        );
    }

    fn clear(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    fn remember_address(&self, account: &str, address: &str, now: Instant) {
        let mut state = self.lock();
        if !state.known.contains_key(account) {
            self.make_room(&mut state, now);
        }
        let addresses = state.known.entry(account.to_owned()).or_default();
        addresses.retain(|(a, _)| a != address);
        addresses.push_back((address.to_owned(), now));
        while addresses.len() > ADDRESSES_PER_ACCOUNT {
            addresses.pop_front();
        }
    }

    fn knows_address(&self, account: &str, address: &str, now: Instant) -> bool {
        self.lock().known.get(account).is_some_and(|addresses| {
            addresses
                .iter()
                .any(|(a, t)| a == address && self.live(*t, now))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const P: Credential = Credential::Password;

    fn fail(t: &LoginThrottle, account: &str, address: &str, now: Instant, n: u32) {
        for _ in 0..n {
            t.record_failure(account, address, P, now);
        }
    }

    #[test]
    fn backoff_is_free_then_doubles_up_to_the_cap() {
        let b = Backoff {
            free: 5,
            first: 225 * S,
            cap: 900 * S,
        };
        let t0 = Instant::now();
        let at = |count| Failures { count, last: t0 };
        assert_eq!(b.wait(at(4), t0), None);
        assert_eq!(b.wait(at(5), t0), Some(225 * S));
        assert_eq!(b.wait(at(6), t0), Some(450 * S));
        assert_eq!(b.wait(at(7), t0), Some(900 * S));
        assert_eq!(b.wait(at(70), t0), Some(900 * S));
        assert_eq!(b.wait(at(5), t0 + 100 * S), Some(125 * S));
        assert_eq!(b.wait(at(5), t0 + 225 * S), None);
        assert_eq!(b.wait(at(u32::MAX), t0), Some(900 * S), "no overflow");
    }

    #[test]
    fn a_strangers_failures_do_not_stop_the_person_at_their_own_address() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        // The person has signed in from home before.
        t.record_success("jo", "home", t0);
        fail(&t, "jo", "stranger", t0, 50);
        assert!(t.check("jo", "stranger", P, t0).is_err());
        assert_eq!(t.check("jo", "home", P, t0), Ok(()));
        // Nor the HR system's client, which is not throttled across addresses at all.
        fail_client(&t, "dc_hr", "stranger", t0, 50);
        assert!(t
            .check("dc_hr", "stranger", Credential::ClientSecret, t0)
            .is_err());
        assert_eq!(
            t.check("dc_hr", "hr-server", Credential::ClientSecret, t0),
            Ok(())
        );
    }

    fn fail_client(t: &LoginThrottle, client: &str, address: &str, now: Instant, n: u32) {
        for _ in 0..n {
            t.record_failure(client, address, Credential::ClientSecret, now);
        }
    }

    #[test]
    fn guessing_from_many_unrecognised_addresses_is_as_slow_as_from_one() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..5 {
            let address = format!("bot-{i}");
            assert_eq!(t.check("jo", &address, P, t0), Ok(()));
            t.record_failure("jo", &address, P, t0);
        }
        assert_eq!(
            t.check("jo", "bot-99", P, t0),
            Err(RetryAfter(225 * S)),
            "a sixth address waits like the first would"
        );
        // An address the person signed in from is not held up by them.
        t.record_success("jo", "office", t0);
        assert_eq!(t.check("jo", "office", P, t0), Ok(()));
    }

    #[test]
    fn one_address_guessing_one_account_waits_longer_each_time() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        fail(&t, "jo", "x", t0, 5);
        assert_eq!(t.check("jo", "x", P, t0), Err(RetryAfter(225 * S)));
        let t1 = t0 + 225 * S;
        assert_eq!(t.check("jo", "x", P, t1), Ok(()));
        t.record_failure("jo", "x", P, t1);
        assert_eq!(t.check("jo", "x", P, t1), Err(RetryAfter(450 * S)));
        let t2 = t1 + 450 * S;
        t.record_failure("jo", "x", P, t2);
        assert_eq!(t.check("jo", "x", P, t2), Err(RetryAfter(900 * S)));
        // Then one guess per 900 s: 4 an hour, where a 5-per-15-minutes window allowed 20.
        let t3 = t2 + 900 * S;
        t.record_failure("jo", "x", P, t3);
        assert_eq!(t.check("jo", "x", P, t3), Err(RetryAfter(900 * S)));
    }

    #[test]
    fn an_address_spraying_many_accounts_is_slowed_too() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..20 {
            t.record_failure(&format!("user{i}"), "sprayer", P, t0);
        }
        assert_eq!(
            t.check("someone-else", "sprayer", P, t0),
            Err(RetryAfter(225 * S))
        );
        assert_eq!(t.check("someone-else", "elsewhere", P, t0), Ok(()));
    }

    #[test]
    fn success_forgets_the_accounts_failures_but_not_the_addresss() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        fail(&t, "jo", "x", t0, 4);
        t.record_success("jo", "x", t0);
        fail(&t, "jo", "x", t0, 4);
        assert_eq!(t.check("jo", "x", P, t0), Ok(()));
        for i in 0..12 {
            t.record_failure(&format!("u{i}"), "x", P, t0);
        }
        assert!(
            t.check("jo", "x", P, t0).is_err(),
            "the address's count survives"
        );
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_day_and_memory_stays_bounded() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        fail(&t, "jo", "x", t0, 9);
        assert!(t.check("jo", "x", P, t0 + 600 * S).is_err());
        // A failure an hour on still counts as the tenth; one after a quiet day as the first.
        let t1 = t0 + 3600 * S;
        t.record_failure("jo", "x", P, t1);
        assert_eq!(t.check("jo", "x", P, t1), Err(RetryAfter(900 * S)));
        let t2 = t1 + 24 * 3600 * S;
        t.record_failure("jo", "x", P, t2);
        assert_eq!(t.check("jo", "x", P, t2), Ok(()));

        let store = MemoryStore::new(64, 60 * S);
        for i in 0..10_000u64 {
            store.add_failure(&format!("k{i}"), t0 + Duration::from_millis(i));
            assert!(store.len() <= 64);
        }
        assert!(store
            .failures("k9999", t0 + Duration::from_millis(9_999))
            .is_some());
        for i in 0..1_000u64 {
            store.remember_address(&format!("a{i}"), "ip", t0);
            assert!(store.len() <= 128);
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(RetryAfter(Duration::from_millis(1500)).secs_ceil(), 2);
        assert_eq!(RetryAfter(Duration::from_secs(3)).secs_ceil(), 3);
        assert_eq!(RetryAfter(Duration::ZERO).secs_ceil(), 1);
    }

    #[test]
    fn the_throttle_is_shareable_across_threads() {
        let t = std::sync::Arc::new(LoginThrottle::default());
        let t0 = Instant::now();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        t.record_failure("shared", "ip", P, t0);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            t.store
                .failures(&pair_key("shared", "ip"), t0)
                .map(|f| f.count),
            Some(400)
        );
    }
}
