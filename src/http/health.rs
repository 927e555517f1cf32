//! Liveness, readiness and metrics: what a load balancer and Prometheus poll.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::store::Backend;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    pub version: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when the database answers and every migration is applied.
    pub status: &'static str,
    #[schema(value_type = String)]
    pub backend: Backend,
    pub migrations_applied: usize,
}

/// The process is up.
#[utoipa::path(tag = "health", operation_id = "get_health", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn get_health() -> web::Json<Health> {
    web::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The database is reachable and fully migrated; 503 otherwise.
#[utoipa::path(
    tag = "health",
    operation_id = "get_readiness",
    responses(
        (status = 200, body = Readiness),
        (status = 503, description = "database unreachable or not migrated", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn get_readiness(state: web::Data<AppState>) -> AppResult<web::Json<Readiness>> {
    let backend = state.db.backend();
    let status = state
        .db
        .run_within(Duration::from_secs(2), |conn| {
            crate::store::migration_status(conn)
        })
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            AppError::Unavailable("the database is unreachable".into())
        })?;
    if status.pending > 0 || status.applied == 0 {
        return Err(AppError::Unavailable(format!(
            "the database is not migrated ({} pending)",
            status.pending
        )));
    }
    Ok(web::Json(Readiness {
        status: "ready",
        backend,
        migrations_applied: status.applied,
    }))
}

/// Prometheus text exposition of request counts and latencies per route.
#[utoipa::path(
    tag = "health",
    operation_id = "get_metrics",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&state.db))
}
