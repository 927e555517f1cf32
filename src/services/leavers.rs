//! Taking people out of the current figures on their leave date.
//!
//! Every write decides whether a person counts by today's date, so a leave date set in advance
//! (staff serving notice) is counted as in post by the write that set it, and no write happens
//! when the date arrives. This pass finds, per organisation, the people whose leave date
//! arrived since the tallies were last brought up to date (`tally_state.counted_on`, set by
//! every recount) and recounts that organisation with the set-based recount, which records
//! today. So a second run the same day finds nothing, and the pass is exact whatever writes
//! happened in between (a write after the leave date cannot take the person out itself: it
//! already judges them not in post). Decision 0014.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::domain::workforce::counted_after_leaving;
use crate::error::{AppError, AppResult};
use crate::services::audit::{self, Actor};
use crate::store::{organisations, tallies as tally_store, workforce, Conn, Database};

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeaversReport {
    /// People whose leave date arrived while the tallies still counted them.
    pub people: u64,
    /// Organisations recounted for them.
    pub organisations: u64,
}

/// Brings one organisation's tallies up to date with leave dates that have arrived, in one
/// transaction: the organisation's tally record is locked first (as a recount does), so a
/// concurrent sync or pass of the same organisation waits, and `counted_on` read under the
/// lock is what the tallies really reflect. Returns the people taken out (0: nothing to do).
pub fn bring_up_to_date(
    conn: &mut Conn,
    sealer: &Sealer,
    org: &str,
    today: NaiveDate,
    actor: &Actor,
) -> AppResult<u64> {
    let today = today.format("%Y-%m-%d").to_string();
    conn.transaction(|conn| -> AppResult<u64> {
        let counted_on = tally_store::counted_on_for_update(conn, org)?;
        let after = counted_on.as_deref().unwrap_or("");
        let arrived = workforce::leave_dates_arrived(conn, org, after, &today)?;
        let people = arrived
            .iter()
            .filter(|(leave_date, written)| {
                let written_on = written.date().format("%Y-%m-%d").to_string();
                counted_after_leaving(
                    leave_date.as_deref(),
                    &written_on,
                    counted_on.as_deref(),
                    &today,
                )
            })
            .count() as u64;
        if people == 0 {
            if counted_on.is_none() {
                // Nothing stale by the only evidence there is: from now on the record decides.
                tally_store::set_counted_on(conn, org, &today)?;
            }
            return Ok(0);
        }
        super::tallies::recount(conn, sealer, org)?;
        let id = Uuid::parse_str(org).map_err(AppError::internal)?;
        let event = actor
            .in_organisation(id)
            .event("tallies.leavers", None)
            .with_detail(json!({ "people": people, "on": today }));
        audit::append(conn, event)?;
        Ok(people)
    })
}

/// [`bring_up_to_date`] for every organisation, each in its own transaction. Blocking.
pub fn run_blocking(
    conn: &mut Conn,
    sealer: &Sealer,
    today: NaiveDate,
    actor: &Actor,
) -> AppResult<LeaversReport> {
    let mut report = LeaversReport::default();
    for org in organisations::list(conn)? {
        let people = bring_up_to_date(conn, sealer, &org.id, today, actor)?;
        if people > 0 {
            report.people += people;
            report.organisations += 1;
        }
    }
    Ok(report)
}

/// Runs [`run_blocking`] on the blocking pool, for today.
pub async fn run(
    db: &Database,
    sealer: std::sync::Arc<Sealer>,
    actor: Actor,
) -> AppResult<LeaversReport> {
    db.run(move |conn| {
        Ok(run_blocking(
            conn,
            &sealer,
            chrono::Utc::now().date_naive(),
            &actor,
        ))
    })
    .await?
}

/// The schedule inside `serve`: a pass at start-up, then one just after every midnight (UTC,
/// the day every in-post decision uses), so a leaver is out of the figures from the start of
/// their leave date. A failed pass is logged and retried at the next midnight.
pub async fn schedule(db: Database, sealer: std::sync::Arc<Sealer>) {
    loop {
        match run(&db, sealer.clone(), Actor::system("leavers")).await {
            Ok(report) if report.people > 0 => tracing::info!(
                people = report.people,
                organisations = report.organisations,
                "leavers taken out of the current figures"
            ),
            Ok(_) => tracing::debug!("leavers: nothing due"),
            Err(e) => tracing::error!(error = %e, "leavers pass failed; retrying at midnight"),
        }
        let now = chrono::Utc::now();
        let next = (now.date_naive() + chrono::Days::new(1))
            .and_hms_opt(0, 0, 5)
            .map(|t| t.and_utc())
            .unwrap_or(now + chrono::Duration::hours(24));
        let wait = (next - now)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(60));
        tokio::time::sleep(wait).await;
    }
}
