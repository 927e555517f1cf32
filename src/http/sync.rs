//! `POST /v1/sync/employees`: the bulk workforce upload. The body is streamed from the socket
//! to the service through a small bounded channel, so memory stays flat however big the file.

use std::io::Read;

use actix_web::http::header;
use actix_web::{post, web, HttpMessage as _, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use crate::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::principal::{own_organisation, Authorized, WorkforceWriters};
use crate::http::AppState;
use crate::services::rows::Format;
use crate::services::sync::{self, Mode, SyncOptions, SyncOutcome, SyncReport};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SyncQuery {
    /// `full` (default): the file is the whole workforce; `delta`: changes only.
    pub mode: Option<Mode>,
    /// Report what would change and write nothing.
    pub dry_run: Option<bool>,
    /// Let a `full` sync exceed the leaver ceiling.
    pub allow_mass_leavers: Option<bool>,
}

/// Blocking `Read` over the chunks the async side forwards.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<web::Bytes>>,
    current: web::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

fn format_of(req: &HttpRequest) -> AppResult<Format> {
    match req.mime_type() {
        Ok(Some(m)) if m.type_() == mime::TEXT && m.subtype() == mime::CSV => Ok(Format::Csv),
        Ok(Some(m)) if m.subtype() == "x-ndjson" || m.subtype() == "jsonl" => Ok(Format::Ndjson),
        _ => Err(AppError::UnsupportedMediaType(
            "the body must be text/csv or application/x-ndjson".into(),
        )),
    }
}

fn idempotency_key(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=200).contains(&key.len()) => Ok(Some(key.to_owned())),
        _ => Err(AppError::bad_request(
            "idempotency-key",
            "invalid_idempotency_key",
            "1 to 200 visible ASCII characters",
        )),
    }
}

/// Syncs the workforce from CSV or NDJSON. The batch applies whole or not at all: any rejected
/// row refuses it with 422 listing every rejected row and its line number.
#[utoipa::path(tag = "workforce", operation_id = "sync_employees", security(("bearer" = [])),
    params(SyncQuery, ("Idempotency-Key" = Option<String>, Header,
        description = "Makes a retried upload harmless: the same key and body return the first response. \
            1 to 200 visible ASCII characters (inner spaces allowed)",
        pattern = r"^[!-~]([\t -~]{0,198}[!-~])?$")),
    request_body(content(
        (String = "text/csv"),
        (String = "application/x-ndjson"),
    ), description = "One employee per row: employee_number, external_subject, org_unit, staff_type, rank, fte, start_date, leave_date (codes, not ids)"),
    responses((status = 200, body = SyncReport), (status = 400), (status = 401), (status = 403),
        (status = 409), (status = 413), (status = 415), (status = 422)))]
#[post("/sync/employees")]
pub async fn sync_employees(
    caller: Authorized<WorkforceWriters>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<SyncQuery>,
    mut payload: web::Payload,
) -> AppResult<HttpResponse> {
    let org = own_organisation(&caller.principal)?;
    let format = format_of(&req)?;
    let key = idempotency_key(&req)?;
    let limit = state.config.sync_body_limit;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(AppError::PayloadTooLarge { limit });
    }
    let query = query.into_inner();
    let options = SyncOptions {
        mode: query.mode.unwrap_or_default(),
        dry_run: query.dry_run.unwrap_or(false),
        allow_mass_leavers: query.allow_mass_leavers.unwrap_or(false),
        idempotency_key: key,
        max_leaver_fraction: state.config.sync_max_leaver_fraction,
        actor: caller.actor(),
    };
    let (tx, rx) = mpsc::channel(16);
    let reader = ChannelReader {
        rx,
        current: web::Bytes::new(),
    };
    let pump = async move {
        let mut total = 0usize;
        while let Some(chunk) = payload.next().await {
            let item = match chunk {
                Ok(bytes) => {
                    total += bytes.len();
                    if total > limit {
                        Err(std::io::Error::other(AppError::PayloadTooLarge { limit }))
                    } else {
                        Ok(bytes)
                    }
                }
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let stop = item.is_err();
            // A closed channel means the service has finished (or failed): stop reading.
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    };
    let work = sync::sync_employees(
        &state.db,
        org,
        format,
        Box::new(reader),
        options,
        state.sealer.clone(),
    );
    let ((), outcome) = futures_util::future::join(pump, work).await;
    match outcome? {
        SyncOutcome::Applied(report) => Ok(HttpResponse::Ok().json(report)),
        SyncOutcome::Replayed(stored) => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("idempotent-replayed", "true"))
            .body(stored)),
    }
}
