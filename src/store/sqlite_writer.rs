//! SQLite's one writer, queued in this process, and its WAL checkpoints, moved off the writes.
//!
//! SQLite lets one connection write at a time. Without help, a transaction that finds the
//! write lock taken sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms steps) and retries;
//! under eight concurrent writers an unlucky one keeps losing the race and sleeps its way to
//! the 80-100 ms tail issue 17 measured, while the lock sits idle between its sleeps. Here
//! every write transaction first takes a turn in a first-come first-served queue, so it
//! reaches `BEGIN IMMEDIATE` only when no other transaction of this process holds the lock:
//! it never sleeps in the busy handler, and its wait is the work queued before it.
//!
//! The queue covers this process's transactions. A second process is refused at start
//! (decision 0022); SQLite's busy timeout still covers the statements that write outside a
//! transaction and the key store's own file.
//!
//! Checkpoints: SQLite's automatic checkpoint runs inside the commit that crosses the WAL's
//! size limit, so one write in every few hundred paid for copying the WAL back (and, with the
//! queue, every write queued behind it). Pool connections turn it off; a background thread
//! runs a PASSIVE checkpoint, which never blocks readers or writers, once enough commits have
//! gone by. An erasure's TRUNCATE checkpoint (decision 0019) shares the checkpointer's lock
//! and takes a writer's turn, so it is never refused as busy by either.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, RunQueryDsl as _, SqliteConnection};

use super::StoreError;

/// The longest a transaction waits for its turn: SQLite's busy timeout, which bounded the
/// same wait before. Only a write held open that long (or a transaction waiting on another of
/// the same process, a deadlock) reaches it; the caller gets a 503, not a hang.
pub const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// Commits between background checkpoints. A declaration write dirties about fifteen pages,
/// so this keeps the WAL near 4,000 pages (16 MiB) between checkpoints under load.
const COMMITS_PER_CHECKPOINT: u64 = 250;
/// How often the checkpointer looks, so a quiet database is still checkpointed soon after
/// its last write.
const CHECKPOINT_POLL: Duration = Duration::from_millis(200);

/// What every connection of one SQLite database shares.
pub struct Writer {
    queue: Mutex<Queue>,
    turns_taken: AtomicU64,
    checkpointing: Mutex<()>,
}

/// Whether a turn is out, and who waits for one, in order. A finished turn is handed straight
/// to the first waiter and only that thread is woken: waking every waiter to race for it
/// left the lock idle while the scheduler sorted them out.
#[derive(Default)]
struct Queue {
    held: bool,
    waiting: VecDeque<Arc<Waiter>>,
}

struct Waiter {
    thread: std::thread::Thread,
    granted: AtomicBool,
}

/// A write turn: held from before `BEGIN IMMEDIATE` until after `COMMIT` or `ROLLBACK`.
pub struct Turn {
    writer: Arc<Writer>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.writer.turns_taken.fetch_add(1, Ordering::Relaxed);
        let mut queue = self.writer.lock_queue();
        match queue.waiting.pop_front() {
            Some(next) => {
                drop(queue);
                next.granted.store(true, Ordering::Release);
                next.thread.unpark();
            }
            None => queue.held = false,
        }
    }
}

impl Writer {
    /// A writer for the database at `path`, with its checkpoint thread (which stops once the
    /// last handle on the writer is dropped).
    pub fn start(path: &str) -> Arc<Writer> {
        let writer = Arc::new(Writer {
            queue: Mutex::new(Queue::default()),
            turns_taken: AtomicU64::new(0),
            checkpointing: Mutex::new(()),
        });
        let (weak, path) = (Arc::downgrade(&writer), path.to_owned());
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(weak, &path));
        if let Err(e) = spawned {
            // Without the thread the WAL grows until an erasure or the last connection
            // checkpoints it; writes stay correct.
            tracing::warn!(error = %e, "the SQLite checkpoint thread did not start");
        }
        writer
    }

    /// Waits for this caller's turn to write, first come first served, for at most
    /// [`TURN_TIMEOUT`] (as SQLite's busy timeout bounded the wait before the queue).
    pub fn turn(self: &Arc<Self>) -> Result<Turn, StoreError> {
        self.turn_within(TURN_TIMEOUT)
    }

    fn turn_within(self: &Arc<Self>, timeout: Duration) -> Result<Turn, StoreError> {
        let mut queue = self.lock_queue();
        if queue.held {
            let me = Arc::new(Waiter {
                thread: std::thread::current(),
                granted: AtomicBool::new(false),
            });
            queue.waiting.push_back(me.clone());
            drop(queue);
            let deadline = Instant::now() + timeout;
            // `park` may return early; only the hand-over sets `granted`.
            while !me.granted.load(Ordering::Acquire) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let mut queue = self.lock_queue();
                    // Handed over while the clock ran out: the turn is ours after all.
                    if !me.granted.load(Ordering::Acquire) {
                        queue.waiting.retain(|w| !Arc::ptr_eq(w, &me));
                        return Err(StoreError::WriterBusy(timeout));
                    }
                    break;
                }
                std::thread::park_timeout(left);
            }
        } else {
            queue.held = true;
        }
        Ok(Turn {
            writer: self.clone(),
        })
    }

    /// Copies the whole WAL back into the database and truncates it (after an erasure).
    /// Holds the checkpointer's lock and a write turn, so neither the background checkpoint
    /// nor a writer of this process makes it give up; readers holding an old snapshot are
    /// waited for up to the busy timeout. Returns whether the WAL was emptied.
    pub fn truncate_wal(self: &Arc<Self>, conn: &mut SqliteConnection) -> bool {
        let _checkpointing = self.lock_checkpointing();
        let Ok(_turn) = self.turn() else {
            return false;
        };
        matches!(checkpoint(conn, "TRUNCATE"), Ok(Checkpoint { busy: 0 }))
    }

    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        // The counters stay consistent whatever panicked while holding them.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_checkpointing(&self) -> MutexGuard<'_, ()> {
        self.checkpointing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether `PRAGMA wal_checkpoint` was kept from finishing (its other columns, the WAL's
/// frames and how many were copied back, are not needed).
#[derive(diesel::QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
}

fn checkpoint(conn: &mut SqliteConnection, mode: &str) -> diesel::QueryResult<Checkpoint> {
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(conn)
}

/// Runs a PASSIVE checkpoint whenever enough commits have gone by (or some have and the
/// database went quiet), on a connection of its own, until the writer is dropped.
fn checkpoint_loop(writer: Weak<Writer>, path: &str) {
    let mut conn: Option<SqliteConnection> = None;
    let mut checkpointed_at = 0;
    let mut polls_pending = 0;
    loop {
        std::thread::sleep(CHECKPOINT_POLL);
        let Some(writer) = writer.upgrade() else {
            return;
        };
        let turns = writer.turns_taken.load(Ordering::Relaxed);
        let pending = turns - checkpointed_at;
        polls_pending = if pending == 0 { 0 } else { polls_pending + 1 };
        // Enough writes, or a few since the last checkpoint and two polls gone by.
        if pending < COMMITS_PER_CHECKPOINT && polls_pending < 2 {
            continue;
        }
        if conn.is_none() {
            conn = match SqliteConnection::establish(path) {
                Ok(mut c) => c
                    .batch_execute("PRAGMA busy_timeout = 10000; PRAGMA wal_autocheckpoint = 0;")
                    .map(|()| c)
                    .map_err(|e| tracing::debug!(error = %e, "checkpoint connection failed"))
                    .ok(),
                Err(e) => {
                    tracing::debug!(error = %e, "checkpoint connection failed");
                    None
                }
            };
        }
        let Some(c) = conn.as_mut() else {
            continue;
        };
        let _checkpointing = writer.lock_checkpointing();
        match checkpoint(c, "PASSIVE") {
            Ok(_) => {
                checkpointed_at = turns;
                polls_pending = 0;
            }
            Err(e) => {
                tracing::debug!(error = %e, "background checkpoint failed");
                conn = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits until `n` threads wait for a turn.
    fn wait_for_waiters(writer: &Writer, n: usize) {
        while writer.lock_queue().waiting.len() < n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn turns_are_served_one_at_a_time_in_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::start(dir.path().join("q.db").to_str().unwrap());
        let order = Arc::new(Mutex::new(Vec::new()));
        let inside = Arc::new(AtomicU64::new(0));
        let first = writer.turn().unwrap();
        let mut waiting = Vec::new();
        for who in 0..6u64 {
            let (writer2, order, inside) = (writer.clone(), order.clone(), inside.clone());
            waiting.push(std::thread::spawn(move || {
                let _turn = writer2.turn().unwrap();
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two turns at once"
                );
                order.lock().unwrap().push(who);
                std::thread::sleep(Duration::from_millis(2));
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
            // The next thread asks only once this one is queued, so arrival order is known.
            wait_for_waiters(&writer, who as usize + 1);
        }
        assert!(
            order.lock().unwrap().is_empty(),
            "a turn was given while one was held"
        );
        drop(first);
        for thread in waiting {
            thread.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..6).collect::<Vec<_>>());
        assert_eq!(writer.turns_taken.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn a_wait_gives_up_after_its_time_and_leaves_the_queue_working() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::start(dir.path().join("t.db").to_str().unwrap());
        let held = writer.turn().unwrap();
        let waiting = writer.clone();
        let gave_up = std::thread::spawn(move || {
            let started = Instant::now();
            let outcome = waiting.turn_within(Duration::from_millis(100));
            (outcome.is_err(), started.elapsed())
        })
        .join()
        .unwrap();
        assert!(gave_up.0, "a turn was given while another was held");
        assert!(gave_up.1 >= Duration::from_millis(100));
        assert!(
            writer.lock_queue().waiting.is_empty(),
            "the timed-out waiter stayed queued"
        );
        drop(held);
        // Nobody is left holding or queued, so the next turn is immediate.
        let next = writer.turn_within(Duration::from_millis(1));
        assert!(next.is_ok());
    }

    #[test]
    fn a_truncating_checkpoint_empties_the_wal_while_others_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let db = crate::store::Database::connect(path.to_str().unwrap(), 4).unwrap();
        let mut conn = db.get(Duration::from_secs(5)).unwrap();
        crate::with_conn!(&mut conn, |c| c
            .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"))
        .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..3)
            .map(|_| {
                let (db, stop) = (db.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut conn = db.get(Duration::from_secs(5)).unwrap();
                    while !stop.load(Ordering::Relaxed) {
                        conn.transaction(|c| -> crate::store::StoreResult<()> {
                            crate::with_conn!(c, |c| c
                                .batch_execute("INSERT INTO t (v) VALUES (randomblob(3000))"))?;
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let wal = dir.path().join("wal.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        // Each truncation is taken between two writes, with the background checkpointer
        // running too: none is refused as busy.
        for _ in 0..5 {
            let crate::store::Conn::Sqlite(c) = &mut conn else {
                unreachable!()
            };
            assert!(c.writer().truncate_wal(c), "the checkpoint gave up");
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        let crate::store::Conn::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        assert!(c.writer().truncate_wal(c));
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    }
}
