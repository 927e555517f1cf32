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
use super::{Breakdown, FigureRequest, FigureRow, SnapshotSummary, View};

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    pub snapshot: SnapshotSummary,
    /// `declared`, each publication group of the snapshot's catalogue, `blank`.
    pub columns: Vec<String>,
    pub rows: Vec<FigureRow>,
    /// The disclosure rules applied to this point.
    #[schema(value_type = Object)]
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
    org: Uuid,
    request: TrendRequest,
) -> AppResult<Trend> {
    let snapshots = super::snapshots::load_all(db, sealer.clone(), org, request.kind).await?;
    let figure = FigureRequest {
        characteristic: request.characteristic.clone(),
        breakdown: request.breakdown,
        level: request.level,
        view: View::Trend,
    };
    // A characteristic no catalogue has, now or then, is a mistake worth a 422.
    if !snapshots
        .iter()
        .any(|(_, b)| basis::knows(b, &request.characteristic))
    {
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
    let mut points = Vec::new();
    for (summary, basis) in snapshots {
        if !basis::knows(&basis, &request.characteristic) {
            continue;
        }
        let table = basis::compute_blocking(basis, figure.clone(), config).await?;
        points.push(TrendPoint {
            snapshot: summary,
            columns: table.columns,
            rows: table.rows,
            rules: table.rules,
        });
    }
    Ok(Trend {
        characteristic: request.characteristic,
        breakdown: request.breakdown,
        level: (request.breakdown == Breakdown::OrgUnit).then_some(request.level),
        kind: request.kind,
        points,
    })
}
