//! Login throttle state in the database (decision 0022), so that every instance behind a load
//! balancer counts the same failures: with per-process memory, N instances gave an attacker N
//! times the guesses. The policy stays in `auth::throttle`; this is only a [`ThrottleStore`].
//!
//! Each failure is one atomic upsert (`INSERT .. ON CONFLICT DO UPDATE`), so concurrent
//! failures on different instances add up and none is lost. Times are stored as milliseconds
//! since the Unix epoch: the throttle works in `Instant`s (so its tests never sleep), which
//! mean nothing outside one process, so each store maps them onto the wall clock from one
//! anchor taken when it is made. Instances must therefore keep their clocks in step (NTP), as
//! token expiry already requires.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::schema::{login_failures as lf, login_known_addresses as lka};
use super::{placeholders, Conn, Database, StoreResult};
use crate::auth::{Failures, ThrottleStore};

/// Addresses remembered per account, as in the in-memory store.
const ADDRESSES_PER_ACCOUNT: i64 = 8;

/// Forgotten rows are deleted once every this many failures, not on every one.
const PRUNE_EVERY: u64 = 512;

/// The failures under `key` whose last failure is after `since_ms`: (count, last).
pub fn failures(conn: &mut Conn, key: &str, since_ms: i64) -> StoreResult<Option<(i64, i64)>> {
    Ok(crate::with_conn!(conn, |c| lf::table
        .filter(lf::throttle_key.eq(key))
        .filter(lf::last_failure_ms.gt(since_ms))
        .select((lf::failures, lf::last_failure_ms))
        .first(c)
        .optional())?)
}

/// Counts one failure under `key` at `now_ms`, starting again from one when the last was at
/// or before `forget_before_ms`. One statement, so concurrent callers never lose a count.
pub fn add_failure(
    conn: &mut Conn,
    key: &str,
    now_ms: i64,
    forget_before_ms: i64,
) -> StoreResult<()> {
    let sql = placeholders(
        conn,
        "INSERT INTO login_failures (throttle_key, failures, last_failure_ms) VALUES ($1, 1, $2) \
         ON CONFLICT (throttle_key) DO UPDATE SET \
         failures = CASE WHEN login_failures.last_failure_ms > $3 \
             THEN login_failures.failures + 1 ELSE 1 END, \
         last_failure_ms = CASE WHEN login_failures.last_failure_ms > excluded.last_failure_ms \
             THEN login_failures.last_failure_ms ELSE excluded.last_failure_ms END",
    );
    crate::with_conn!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(now_ms)
        .bind::<BigInt, _>(forget_before_ms)
        .execute(c))?;
    Ok(())
}

pub fn clear(conn: &mut Conn, key: &str) -> StoreResult<()> {
    crate::with_conn!(conn, |c| diesel::delete(
        lf::table.filter(lf::throttle_key.eq(key))
    )
    .execute(c))?;
    Ok(())
}

/// Remembers `address` for `account` at `now_ms`, keeping only the most recent few.
pub fn remember_address(
    conn: &mut Conn,
    account: &str,
    address: &str,
    now_ms: i64,
) -> StoreResult<()> {
    crate::with_conn!(conn, |c| {
        diesel::insert_into(lka::table)
            .values((
                lka::account.eq(account),
                lka::address.eq(address),
                lka::seen_ms.eq(now_ms),
            ))
            .on_conflict((lka::account, lka::address))
            .do_update()
            .set(lka::seen_ms.eq(now_ms))
            .execute(c)?;
        // Two instances trimming at once may each keep a slightly different few: harmless,
        // the set stays bounded either way.
        let recent: Vec<String> = lka::table
            .filter(lka::account.eq(account))
            .order((lka::seen_ms.desc(), lka::address.asc()))
            .limit(ADDRESSES_PER_ACCOUNT)
            .select(lka::address)
            .load(c)?;
        diesel::delete(
            lka::table
                .filter(lka::account.eq(account))
                .filter(lka::address.ne_all(recent)),
        )
        .execute(c)
    })?;
    Ok(())
}

pub fn knows_address(
    conn: &mut Conn,
    account: &str,
    address: &str,
    since_ms: i64,
) -> StoreResult<bool> {
    let found: Option<i64> = crate::with_conn!(conn, |c| lka::table
        .filter(lka::account.eq(account))
        .filter(lka::address.eq(address))
        .filter(lka::seen_ms.gt(since_ms))
        .select(lka::seen_ms)
        .first(c)
        .optional())?;
    Ok(found.is_some())
}

/// Deletes what is forgotten anyway (no failure or sign-in after `before_ms`).
pub fn prune(conn: &mut Conn, before_ms: i64) -> StoreResult<usize> {
    Ok(crate::with_conn!(conn, |c| {
        let failures =
            diesel::delete(lf::table.filter(lf::last_failure_ms.le(before_ms))).execute(c)?;
        let known = diesel::delete(lka::table.filter(lka::seen_ms.le(before_ms))).execute(c)?;
        Ok::<_, diesel::result::Error>(failures + known)
    })?)
}

/// The throttle's state in the database, for several instances on one PostgreSQL.
///
/// Its methods block on the database: call the throttle from the blocking pool. A database
/// error is logged and the attempt let through (fail open): the sign-in that follows needs the
/// same database, so an outage refuses it anyway, and nothing an attacker sends can make only
/// the throttle's statements fail.
pub struct DatabaseStore {
    db: Database,
    forget_after: Duration,
    anchor: Instant,
    anchor_ms: i64,
    failures_since_prune: AtomicU64,
}

impl std::fmt::Debug for DatabaseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseStore")
            .field("backend", &self.db.backend())
            .field("forget_after", &self.forget_after)
            .finish_non_exhaustive()
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl DatabaseStore {
    pub fn new(db: Database, forget_after: Duration) -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        DatabaseStore {
            db,
            forget_after,
            anchor: Instant::now(),
            anchor_ms: millis(wall),
            failures_since_prune: AtomicU64::new(0),
        }
    }

    /// `at` on the wall clock, in milliseconds since the Unix epoch.
    fn wall_ms(&self, at: Instant) -> i64 {
        match at.checked_duration_since(self.anchor) {
            Some(after) => self.anchor_ms.saturating_add(millis(after)),
            None => self
                .anchor_ms
                .saturating_sub(millis(self.anchor.saturating_duration_since(at))),
        }
    }

    /// A wall-clock time back on this process's `Instant` scale.
    fn instant(&self, ms: i64) -> Instant {
        let offset = Duration::from_millis(ms.abs_diff(self.anchor_ms));
        if ms >= self.anchor_ms {
            self.anchor + offset
        } else {
            // Before this process's clock can express it: as early as it can, which only
            // shortens a wait that was long over anyway.
            self.anchor.checked_sub(offset).unwrap_or(self.anchor)
        }
    }

    fn forget_before(&self, now: Instant) -> i64 {
        self.wall_ms(now).saturating_sub(millis(self.forget_after))
    }

    fn with<T>(
        &self,
        what: &str,
        fallback: T,
        work: impl FnOnce(&mut Conn) -> StoreResult<T>,
    ) -> T {
        match self
            .db
            .get(Duration::from_secs(10))
            .and_then(|mut conn| work(&mut conn))
        {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(%error, what, "login throttle store");
                fallback
            }
        }
    }
}

impl ThrottleStore for DatabaseStore {
    fn failures(&self, key: &str, now: Instant) -> Option<Failures> {
        let since = self.forget_before(now);
        self.with("failures", None, |conn| failures(conn, key, since))
            .map(|(count, last)| Failures {
                count: u32::try_from(count).unwrap_or(u32::MAX),
                last: self.instant(last),
            })
    }

    fn add_failure(&self, key: &str, now: Instant) {
        let (now_ms, forget_before) = (self.wall_ms(now), self.forget_before(now));
        self.with("add_failure", (), |conn| {
            add_failure(conn, key, now_ms, forget_before)
        });
        if self.failures_since_prune.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY
            == PRUNE_EVERY - 1
        {
            self.with("prune", 0, |conn| prune(conn, forget_before));
        }
    }

    fn clear(&self, key: &str) {
        self.with("clear", (), |conn| clear(conn, key));
    }

    fn remember_address(&self, account: &str, address: &str, now: Instant) {
        let now_ms = self.wall_ms(now);
        self.with("remember_address", (), |conn| {
            remember_address(conn, account, address, now_ms)
        });
    }

    fn knows_address(&self, account: &str, address: &str, now: Instant) -> bool {
        let since = self.forget_before(now);
        self.with("knows_address", false, |conn| {
            knows_address(conn, account, address, since)
        })
    }
}
