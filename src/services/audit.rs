//! Recording and reading the audit trail, and verifying its hash chain end to end.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::audit::{verify_chain, ChainBreak, GENESIS};
use crate::error::AppResult;
use crate::store::audit::{self, AuditEvent, NewEvent};
use crate::store::{Conn, Database, StoreResult};

/// Who did something, as the trail records it: an id, never a name.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub organisation_id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn of(principal: &Principal, request_id: Option<String>) -> Self {
        let kind = match principal.kind {
            crate::auth::PrincipalKind::User => "account",
            crate::auth::PrincipalKind::Client => "client",
            crate::auth::PrincipalKind::External => "external",
        };
        Actor {
            id: format!("{kind}:{}", principal.subject),
            organisation_id: principal.org_id,
            request_id,
        }
    }

    /// The command line, run by whoever has the server's configuration.
    pub fn cli() -> Self {
        Actor {
            id: "cli".into(),
            organisation_id: None,
            request_id: None,
        }
    }

    /// The command line acting on one organisation, so its auditors see what it did.
    pub fn cli_for(organisation_id: Uuid) -> Self {
        Actor {
            organisation_id: Some(organisation_id),
            ..Actor::cli()
        }
    }

    /// The service itself, running a scheduled task.
    pub fn system(task: &str) -> Self {
        Actor {
            id: format!("system:{task}"),
            organisation_id: None,
            request_id: None,
        }
    }

    /// The same actor acting on another organisation (a deployment-wide task's per-org events).
    pub fn in_organisation(&self, organisation_id: Uuid) -> Self {
        Actor {
            organisation_id: Some(organisation_id),
            ..self.clone()
        }
    }

    pub fn event(&self, action: &str, subject: Option<String>) -> NewEvent {
        NewEvent {
            occurred_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            organisation_id: self.organisation_id.map(|id| id.to_string()),
            actor: self.id.clone(),
            action: action.to_owned(),
            subject,
            request_id: self.request_id.clone(),
            detail: None,
        }
    }
}

/// Records an event inside the caller's write transaction (chained at once on SQLite, sealed
/// after commit on PostgreSQL: see [`seal`]).
pub fn append(conn: &mut Conn, event: NewEvent) -> StoreResult<()> {
    audit::append(conn, event)
}

/// Chains every event recorded but not yet sealed. Readers of the trail call it first; `serve`
/// also runs it every `DECLARE_AUDIT_SEAL_INTERVAL_MS` ([`seal_schedule`]).
pub async fn seal(db: &Database) -> AppResult<usize> {
    Ok(db.run(audit::seal).await?)
}

/// Seals the trail every `interval` until the task is dropped. PostgreSQL only: on SQLite
/// every event is chained by the transaction that records it.
pub async fn seal_schedule(db: Database, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = seal(&db).await {
            tracing::warn!(error = %error, "sealing the audit trail failed; the next tick retries");
        }
    }
}

/// Records events in order, in multi-row INSERTs (see [`append`]).
pub fn append_many(conn: &mut Conn, events: Vec<NewEvent>) -> StoreResult<()> {
    audit::append_many(conn, events)
}

/// Records an event on its own (for actions that change nothing else, like a login).
pub async fn record(db: &Database, event: NewEvent) -> AppResult<()> {
    db.run(move |conn| conn.transaction(|conn| append(conn, event)))
        .await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub seq: i64,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub occurred_at: String,
    pub actor: String,
    /// What was done, e.g. `declaration.read`, `consent.withdraw`, `auth.login`.
    pub action: String,
    /// Whose record it concerned, e.g. `employee:<id>`.
    pub subject: Option<String>,
    pub request_id: Option<String>,
    /// What the event counted, e.g. a sync batch's `{"created": 3, "leavers": 1, ...}`; never
    /// an answer value.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub hash: String,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        AuditEventView {
            seq: e.seq,
            occurred_at: e.occurred_at,
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            request_id: e.request_id,
            detail: e
                .detail
                .map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d))),
            hash: e.hash,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

pub async fn page(
    db: &Database,
    organisation_id: Uuid,
    after: i64,
    limit: i64,
) -> AppResult<AuditPage> {
    let org = organisation_id.to_string();
    let events = db
        .run(move |conn| {
            audit::seal(conn)?;
            audit::page(conn, Some(&org), after, limit)
        })
        .await?;
    let next_after = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok(AuditPage {
        events: events.into_iter().map(Into::into).collect(),
        next_after,
    })
}

#[derive(Debug, Serialize)]
pub struct ChainReport {
    pub events: i64,
    pub head: String,
}

/// Walks the whole chain in pages; `Err` names the first event that fails.
pub async fn verify(db: &Database) -> AppResult<Result<ChainReport, ChainBreak>> {
    let db = db.clone();
    Ok(db
        .run(|conn| {
            audit::seal(conn)?;
            let (mut previous, mut next_seq) = (GENESIS.to_owned(), 1i64);
            loop {
                let page = audit::page(conn, None, next_seq - 1, 1000)?;
                if page.is_empty() {
                    return Ok(Ok(ChainReport {
                        events: next_seq - 1,
                        head: previous,
                    }));
                }
                let items = page
                    .iter()
                    .map(|e| (e.fields(), e.prev_hash.as_str(), e.hash.as_str()));
                match verify_chain(previous.clone(), next_seq, items) {
                    Ok((head, seq)) => (previous, next_seq) = (head, seq),
                    Err(broken) => return Ok(Err(broken)),
                }
            }
        })
        .await?)
}
