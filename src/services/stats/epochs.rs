//! Publication epochs (decision 0016): live figures change once per refresh period, not on
//! every write. The first request of an epoch freezes the organisation's tallies, structure
//! and catalogue version (a sealed row of `stats_snapshots` of kind `epoch`, never listed);
//! every request of the epoch, on every instance, answers from that row, so between refreshes
//! the same question gets the same answer. The epoch it replaces is deleted.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::error::{AppError, AppResult};
use crate::store::snapshots::{self as store, EPOCH};
use crate::store::Database;

use super::basis::Basis;
use super::snapshots::{basis_of, freeze_row, Frame};

/// The epoch `now` falls in: periods of `seconds` counted from the Unix epoch (so a daily
/// refresh turns at midnight UTC). Its key and its start.
pub fn period_of(now: NaiveDateTime, seconds: u64) -> (String, NaiveDateTime) {
    let seconds = i64::try_from(seconds.max(1)).unwrap_or(i64::MAX);
    let at = now.and_utc().timestamp();
    let start = at - at.rem_euclid(seconds);
    let start = DateTime::<Utc>::from_timestamp(start, 0).map_or(now, |d| d.naive_utc());
    (
        format!("epoch:{}", start.format("%Y-%m-%dT%H:%M:%SZ")),
        start,
    )
}

/// The current epoch of the organisation: its row id and when it was frozen, taking it if
/// this is the epoch's first request (anywhere).
pub async fn current(
    db: &Database,
    sealer: Arc<Sealer>,
    org: Uuid,
    seconds: u64,
) -> AppResult<(Uuid, NaiveDateTime)> {
    let org = org.to_string();
    let now = Utc::now().naive_utc();
    let (period, start) = period_of(now, seconds);
    let (id, taken_at) = db
        .run(move |conn| {
            Ok((|| {
                if let Some(found) = store::find_period(conn, &org, &period)? {
                    return Ok(found);
                }
                conn.transaction(|conn| {
                    let frame = Frame {
                        period: &period,
                        kind: EPOCH,
                        due_on: start.date().to_string(),
                        label: None,
                    };
                    let row = freeze_row(conn, &sealer, &org, frame, now)?;
                    // Two instances may freeze the same epoch at once: the unique period
                    // keeps the first, and both answer from it.
                    store::insert_once(conn, &row)?;
                    store::delete_other_epochs(conn, &org, &period)?;
                    store::find_period(conn, &org, &period)?
                        .ok_or_else(|| AppError::internal("an epoch vanished as it was taken"))
                })
            })())
        })
        .await??;
    Ok((Uuid::parse_str(&id).map_err(AppError::internal)?, taken_at))
}

/// The basis an epoch froze.
pub async fn load(db: &Database, sealer: Arc<Sealer>, org: Uuid, id: Uuid) -> AppResult<Basis> {
    let org = org.to_string();
    db.run(move |conn| {
        Ok((|| {
            let row = store::find(conn, &org, &id.to_string())?;
            basis_of(conn, &sealer, &org, &row)
        })())
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_epoch_turns_at_midnight_utc() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let (a, start) = period_of(at("2026-12-04 07:05:00"), 86_400);
        assert_eq!(a, "epoch:2026-12-04T00:00:00Z");
        assert_eq!(start, at("2026-12-04 00:00:00"));
        assert_eq!(period_of(at("2026-12-04 23:59:59"), 86_400).0, a);
        assert_ne!(period_of(at("2026-12-05 00:00:00"), 86_400).0, a);
        assert_eq!(
            period_of(at("2026-12-04 07:59:59"), 3600).0,
            "epoch:2026-12-04T07:00:00Z"
        );
    }
}
