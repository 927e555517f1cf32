//! Completion and declaration rates across snapshots, oldest first.
//!
//! Each point is exactly the figure a viewer gets by asking that snapshot the same question
//! (`?snapshot=ID`): the same family, the same protection, so a cell suppressed there is
//! suppressed here. Protection is per snapshot; differencing two snapshots is NOT defended
//! (see docs/decisions/0010-snapshots-and-trend.md).

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::domain::disclosure::{DisclosureConfig, RulesApplied};
use crate::domain::schedule::SnapshotKind;
use crate::error::{AppError, AppResult, FieldError};
use crate::store::Database;

use super::basis;
use super::{
    cache_key, protect_snapshot, Breakdown, FigureCache, FigureRequest, FigureRow, SnapshotSummary,
    View,
};
use crate::services::figure_cache::Fingerprint;

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    pub snapshot: SnapshotSummary,
    /// `declared`, each publication group of the snapshot's catalogue, `blank`.
    pub columns: Vec<String>,
    pub rows: Vec<FigureRow>,
    /// The disclosure rules applied to this point.
    pub rules: RulesApplied,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Trend {
    pub characteristic: String,
    pub breakdown: Breakdown,
    pub level: Option<u32>,
    /// Only snapshots of this kind, when asked.
    pub kind: Option<SnapshotKind>,
    /// One point per snapshot whose catalogue has the characteristic, oldest first.
    pub points: Vec<TrendPoint>,
}

pub struct TrendRequest {
    pub characteristic: String,
    pub breakdown: Breakdown,
    pub level: u32,
    pub kind: Option<SnapshotKind>,
}

pub async fn trend(
    db: &Database,
    sealer: Arc<Sealer>,
    config: DisclosureConfig,
    cache: &FigureCache,
    org: Uuid,
    request: TrendRequest,
) -> AppResult<Trend> {
    let figure = FigureRequest {
        characteristic: request.characteristic.clone(),
        breakdown: request.breakdown,
        level: request.level,
        unit: None,
        view: View::Trend,
    };
    let mut points = Vec::new();
    for summary in super::snapshots::list(db, org, request.kind).await? {
        let key = cache_key(org, &figure.characteristic, &config).at_snapshot(summary.id);
        let (sealer, characteristic) = (sealer.clone(), figure.characteristic.clone());
        let kept = cache
            .get_or_compute(key, Fingerprint::frozen(), || async move {
                let (summary, basis) = super::snapshots::load(db, sealer, org, summary.id).await?;
                // A snapshot from before the characteristic existed has no point to give.
                if !basis::knows(&basis, &characteristic) {
                    return Ok(None);
                }
                protect_snapshot(summary, basis, characteristic, config)
                    .await
                    .map(Some)
            })
            .await?;
        let Some(kept) = kept else {
            continue;
        };
        let table = basis::table(&kept.family, &figure);
        points.push(TrendPoint {
            snapshot: kept.snapshot()?,
            columns: table.columns,
            rows: table.rows,
            rules: table.rules,
        });
    }
    // A characteristic no catalogue has, now or then, is a mistake worth a 422.
    if points.is_empty() {
        let live = basis::live(db, sealer, org).await?;
        if !basis::knows(&live, &request.characteristic) {
            return Err(AppError::Validation(vec![FieldError::new(
                "characteristic",
                "unknown_characteristic",
                format!(
                    "`{}` is not in the organisation's catalogue",
                    request.characteristic
                ),
            )]));
        }
    }
    Ok(Trend {
        characteristic: request.characteristic,
        breakdown: request.breakdown,
        level: (request.breakdown == Breakdown::OrgUnit).then_some(request.level),
        kind: request.kind,
        points,
    })
}
