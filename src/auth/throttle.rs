//! Login throttling: sliding windows of recent failures, per account and per client
//! address, kept in memory.
//!
//! Each key keeps the instants of its failures inside the window (at most `max`
//! of them), so a check is exact, not a bucket approximation. Memory is bounded:
//! expired keys are pruned every `window`, and when `max_keys` live keys exist the keys
//! idle longest are evicted. Time is a parameter, so tests never sleep.
//!
//! The state is per process: with several API processes an attacker gets `max` tries
//! per process. That is acceptable for the numbers here; a shared store would be the
//! next step if it ever is not.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

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

/// Limits per key. Defaults: 5 failures per account and 20 per address per 15 minutes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleSettings {
    pub account_max_failures: u32,
    pub account_window_secs: u64,
    pub address_max_failures: u32,
    pub address_window_secs: u64,
    /// Most keys tracked per limiter (memory bound).
    pub max_keys: usize,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            account_max_failures: 5,
            account_window_secs: 15 * 60,
            address_max_failures: 20,
            address_window_secs: 15 * 60,
            max_keys: 100_000,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    failures: HashMap<String, VecDeque<Instant>>,
    last_prune: Option<Instant>,
}

/// A thread-safe sliding-window failure counter keyed by string.
#[derive(Debug)]
pub struct SlidingWindowLimiter {
    max: u32,
    window: Duration,
    max_keys: usize,
    state: Mutex<State>,
}

impl SlidingWindowLimiter {
    /// Allows `max` failures per key in any `window`; tracks at most `max_keys` keys.
    pub fn new(max: u32, window: Duration, max_keys: usize) -> Self {
        SlidingWindowLimiter {
            max: max.max(1),
            window,
            max_keys: max_keys.max(1),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave this map inconsistent; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn in_window(&self, t: Instant, now: Instant) -> bool {
        now.saturating_duration_since(t) < self.window
    }

    /// Ok while `key` has fewer than `max` failures in the window ending at `now`;
    /// otherwise how long until the oldest of them leaves the window.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let mut state = self.lock();
        let Some(times) = state.failures.get_mut(key) else {
            return Ok(());
        };
        while times.front().is_some_and(|t| !self.in_window(*t, now)) {
            times.pop_front();
        }
        if times.len() < self.max as usize {
            if times.is_empty() {
                state.failures.remove(key);
            }
            return Ok(());
        }
        let oldest = times.front().copied().unwrap_or(now);
        let free_at = oldest + self.window;
        Err(RetryAfter(free_at.saturating_duration_since(now)))
    }

    /// Counts a failure for `key` at `now`.
    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut state = self.lock();
        self.prune_if_due(&mut state, now);
        if !state.failures.contains_key(key) && state.failures.len() >= self.max_keys {
            self.prune(&mut state, now);
            if state.failures.len() >= self.max_keys {
                Self::evict_idlest(&mut state, self.max_keys);
            }
        }
        let times = state.failures.entry(key.to_owned()).or_default();
        while times.front().is_some_and(|t| !self.in_window(*t, now)) {
            times.pop_front();
        }
        times.push_back(now);
        // Only the newest `max` matter for the decision: bound each key's memory too.
        while times.len() > self.max as usize {
            times.pop_front();
        }
    }

    /// Forgets `key` (after a successful login).
    pub fn reset(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.lock().failures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn prune_if_due(&self, state: &mut State, now: Instant) {
        let due = state.last_prune.map_or(true, |last| {
            now.saturating_duration_since(last) >= self.window
        });
        if due {
            self.prune(state, now);
        }
    }

    fn prune(&self, state: &mut State, now: Instant) {
        state
            .failures
            .retain(|_, times| times.back().is_some_and(|t| self.in_window(*t, now)));
        state.last_prune = Some(now);
    }

    /// Drops the eighth of the keys whose latest failure is oldest, so that under a
    /// flood of distinct keys eviction is amortised rather than once per insert.
    fn evict_idlest(state: &mut State, max_keys: usize) {
        let mut latest: Vec<(Instant, String)> = state
            .failures
            .iter()
            .filter_map(|(k, times)| times.back().map(|t| (*t, k.clone())))
            .collect();
        latest.sort_unstable();
        let drop = (max_keys / 8).max(1);
        for (_, key) in latest.into_iter().take(drop) {
            state.failures.remove(&key);
        }
    }
}

/// The two limiters a login consults: per account and per client address.
#[derive(Debug)]
pub struct LoginThrottle {
    account: SlidingWindowLimiter,
    address: SlidingWindowLimiter,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(&ThrottleSettings::default())
    }
}

impl LoginThrottle {
    pub fn new(s: &ThrottleSettings) -> Self {
        LoginThrottle {
            account: SlidingWindowLimiter::new(
                s.account_max_failures,
                Duration::from_secs(s.account_window_secs),
                s.max_keys,
            ),
            address: SlidingWindowLimiter::new(
                s.address_max_failures,
                Duration::from_secs(s.address_window_secs),
                s.max_keys,
            ),
        }
    }

    /// Call before verifying the password. Refuses when either the account or the
    /// address is over its limit, with the longer wait. `account` should be the
    /// normalised user name as typed (whether or not such an account exists).
    pub fn check(&self, account: &str, address: &str, now: Instant) -> Result<(), RetryAfter> {
        match (
            self.account.check(account, now),
            self.address.check(address, now),
        ) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(a), Err(b)) => Err(RetryAfter(a.0.max(b.0))),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// A wrong password (or unknown account): counts against both keys.
    pub fn record_failure(&self, account: &str, address: &str, now: Instant) {
        self.account.record_failure(account, now);
        self.address.record_failure(address, now);
    }

    /// A successful login clears the account's failures. The address keeps its count,
    /// so one valid account cannot launder guesses against others.
    pub fn record_success(&self, account: &str) {
        self.account.reset(account);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn allows_max_failures_then_refuses_until_the_oldest_leaves_the_window() {
        let l = SlidingWindowLimiter::new(3, 10 * MIN, 100);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(l.check("a", t0 + i * MIN), Ok(()));
            l.record_failure("a", t0 + i * MIN);
        }
        // Failures at 0, 1, 2 min: the one at 0 leaves at 10 min.
        assert_eq!(l.check("a", t0 + 2 * MIN), Err(RetryAfter(8 * MIN)));
        assert_eq!(
            l.check("a", t0 + 10 * MIN - Duration::from_secs(1)),
            Err(RetryAfter(Duration::from_secs(1)))
        );
        assert_eq!(l.check("a", t0 + 10 * MIN), Ok(()));
        // Sliding, not fixed: one slot frees up, not all three.
        l.record_failure("a", t0 + 10 * MIN);
        assert_eq!(l.check("a", t0 + 10 * MIN), Err(RetryAfter(MIN)));
        // Other keys are unaffected.
        assert_eq!(l.check("b", t0 + 2 * MIN), Ok(()));
    }

    #[test]
    fn reset_clears_a_key() {
        let l = SlidingWindowLimiter::new(1, MIN, 100);
        let t0 = Instant::now();
        l.record_failure("a", t0);
        assert!(l.check("a", t0).is_err());
        l.reset("a");
        assert_eq!(l.check("a", t0), Ok(()));
        assert!(l.is_empty());
    }

    #[test]
    fn expired_keys_are_pruned_and_memory_stays_bounded() {
        let l = SlidingWindowLimiter::new(5, MIN, 1_000);
        let t0 = Instant::now();
        for i in 0..500 {
            l.record_failure(&format!("k{i}"), t0);
        }
        assert_eq!(l.len(), 500);
        // One window later the next failure prunes everything idle.
        l.record_failure("late", t0 + MIN);
        assert_eq!(l.len(), 1);

        // A flood of distinct live keys never exceeds max_keys.
        let l = SlidingWindowLimiter::new(5, MIN, 64);
        for i in 0..10_000u32 {
            l.record_failure(
                &format!("flood{i}"),
                t0 + Duration::from_millis(u64::from(i)),
            );
            assert!(l.len() <= 64);
        }
        // The newest key is tracked, the idlest were evicted.
        assert!(l.check("flood9999", t0 + MIN / 2).is_ok());
        let l2 = SlidingWindowLimiter::new(1, MIN, 64);
        l2.record_failure("x", t0);
        assert!(l2.check("x", t0).is_err());
    }

    #[test]
    fn per_key_history_is_capped_at_max() {
        let l = SlidingWindowLimiter::new(2, MIN, 10);
        let t0 = Instant::now();
        for i in 0..100 {
            l.record_failure("a", t0 + Duration::from_millis(i));
        }
        let len = l.lock().failures.get("a").map(VecDeque::len);
        assert_eq!(len, Some(2));
    }

    #[test]
    fn login_throttle_limits_account_and_address_and_success_resets_only_the_account() {
        let t = LoginThrottle::new(&ThrottleSettings {
            account_max_failures: 2,
            account_window_secs: 900,
            address_max_failures: 3,
            address_window_secs: 600,
            max_keys: 100,
        });
        let t0 = Instant::now();
        t.record_failure("alice", "10.0.0.1", t0);
        t.record_failure("alice", "10.0.0.1", t0);
        assert_eq!(
            t.check("alice", "10.0.0.2", t0),
            Err(RetryAfter(Duration::from_secs(900)))
        );
        // The address has 2 of 3: another account from it is still allowed.
        assert_eq!(t.check("bob", "10.0.0.1", t0), Ok(()));
        t.record_failure("bob", "10.0.0.1", t0);
        assert_eq!(
            t.check("carol", "10.0.0.1", t0),
            Err(RetryAfter(Duration::from_secs(600)))
        );
        // Both over: the longer wait wins.
        assert_eq!(
            t.check("alice", "10.0.0.1", t0),
            Err(RetryAfter(Duration::from_secs(900)))
        );
        t.record_success("alice");
        assert_eq!(t.check("alice", "10.0.0.9", t0), Ok(()));
        assert!(
            t.check("alice", "10.0.0.1", t0).is_err(),
            "address count survives"
        );
    }

    #[test]
    fn defaults_are_5_per_account_and_20_per_address_per_15_minutes() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..4 {
            t.record_failure("a", "ip", t0);
        }
        assert_eq!(t.check("a", "ip", t0), Ok(()));
        t.record_failure("a", "ip", t0);
        assert_eq!(
            t.check("a", "ip", t0),
            Err(RetryAfter(Duration::from_secs(900)))
        );
        assert_eq!(t.check("a", "ip", t0 + Duration::from_secs(900)), Ok(()));
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(RetryAfter(Duration::from_millis(1500)).secs_ceil(), 2);
        assert_eq!(RetryAfter(Duration::from_secs(3)).secs_ceil(), 3);
        assert_eq!(RetryAfter(Duration::ZERO).secs_ceil(), 1);
    }

    #[test]
    fn limiter_is_shareable_across_threads() {
        let l = std::sync::Arc::new(SlidingWindowLimiter::new(1000, MIN, 100));
        let t0 = Instant::now();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        l.record_failure("shared", t0);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            l.lock().failures.get("shared").map(VecDeque::len),
            Some(400)
        );
    }
}
