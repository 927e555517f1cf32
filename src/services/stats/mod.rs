//! Completion and declaration figures for EDI boards, from the tallies only, through
//! disclosure control.
//!
//! For one characteristic, every table a viewer can ask for (overall; org units at every level
//! of the tree; staff types; ranks) is built as ONE disclosure family and protected together,
//! so no suppressed cell can be recovered by combining tables. Completion columns (`declared`,
//! `prefer_not_to_say`, `blank`) and declaration columns (the catalogue's publication groups)
//! come from the same protected family, so they are consistent with each other too.
//!
//! Figures come from a [`Basis`]: the live tallies with today's structure and catalogue, or a
//! snapshot's frozen copy of them ([`snapshots`]). The same computation ([`basis::protect_family`])
//! runs on either, so a snapshot answers exactly as the live tallies did when it was taken.

mod basis;
pub mod csv;
pub mod epochs;
pub mod schema;
pub mod snapshots;
pub mod trend;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::domain::disclosure::{DisclosureConfig, PublishedCell, RulesApplied};
use crate::error::{AppError, AppResult};
use crate::store::Database;

use super::figure_cache::{Fingerprint, Key as CacheKey};

pub use basis::Basis;
pub use snapshots::SnapshotSummary;

/// The pre-defined breakdowns. Every one is a selection from the same perturbed family, and
/// figures change only at publication epochs (see `rules`), so combining breakdowns or
/// differencing two publications gives only noisy counts (decision 0016).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    #[default]
    Overall,
    OrgUnit,
    StaffType,
    Rank,
}

impl Breakdown {
    pub fn as_str(self) -> &'static str {
        match self {
            Breakdown::Overall => "overall",
            Breakdown::OrgUnit => "org_unit",
            Breakdown::StaffType => "staff_type",
            Breakdown::Rank => "rank",
        }
    }
}

/// Which columns a response shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Completion,
    Distribution,
    /// Both: `declared`, every publication group, `blank`.
    Trend,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FigureRow {
    /// Org unit, staff type or rank code; `overall` for the whole organisation.
    pub key: String,
    pub label: String,
    /// For org-unit rows, the unit above (for a unit's own people, that unit): what the pages
    /// drill down by. Not published: a viewer asks for a unit's children with `unit`.
    #[serde(skip)]
    pub parent: Option<String>,
    /// People in post, exact (a reader is assumed to know every group's headcount).
    pub headcount: u64,
    /// One entry per column, in column order: `{column, count, percent}`; a count or percent
    /// may be `"suppressed"`, a percent `null` when the headcount is zero.
    #[schema(value_type = Vec<schema::PublishedCellSchema>)]
    pub cells: Vec<PublishedCell>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub characteristic: String,
    pub breakdown: Breakdown,
    /// For org units, the tree level shown (1 = the units directly under the top).
    pub level: Option<u32>,
    /// For org units, the unit whose children are shown, when one was asked for.
    pub unit: Option<String>,
    /// The moment the figures describe: now for live tallies, or when the snapshot was taken.
    #[schema(format = DateTime)]
    pub as_at: String,
    /// The snapshot the figures come from; absent for live figures.
    pub snapshot: Option<SnapshotSummary>,
    pub columns: Vec<String>,
    pub rows: Vec<FigureRow>,
    /// The disclosure rules applied to every figure here.
    pub rules: RulesApplied,
}

/// What a viewer asked for: one characteristic, one pre-defined breakdown, one view.
#[derive(Debug, Clone)]
pub struct FigureRequest {
    pub characteristic: String,
    pub breakdown: Breakdown,
    pub level: u32,
    /// For org units: only the children of this unit (an org unit id), at the level below it;
    /// `level` is then not used.
    pub unit: Option<String>,
    pub view: View,
}

/// Figures for one characteristic of one organisation, from the live tallies.
pub async fn figures(
    db: &Database,
    sealer: Arc<Sealer>,
    config: DisclosureConfig,
    cache: &FigureCache,
    org: Uuid,
    request: FigureRequest,
) -> AppResult<Figures> {
    if config.refresh_seconds > 0 {
        return epoch_figures(db, sealer, config, cache, org, request).await;
    }
    let key = cache_key(org, &request.characteristic, &config);
    let org_key = org.to_string();
    // Read before the figures' own reads: see `figure_cache` on why that order is safe.
    let fingerprint = db
        .run(move |conn| Ok(super::figure_cache::fingerprint(conn, &org_key)))
        .await??;
    let characteristic = request.characteristic.clone();
    let kept = cache
        .get_or_compute(key, fingerprint, || async move {
            let basis = basis::live(db, sealer, org).await?;
            let family = basis::protect_blocking(basis, characteristic, config).await?;
            Ok::<_, AppError>(Some(Kept::weighed(family, None)))
        })
        .await?
        .ok_or_else(|| AppError::internal("live figures computed nothing"))?;
    // A kept family describes now too: nothing it counts has changed since.
    let table = basis::table(&kept.family, &request);
    Ok(Figures::of(request, table, now(), None))
}

/// Live figures as the current publication epoch froze them: the same for every request and
/// every instance until the next epoch.
async fn epoch_figures(
    db: &Database,
    sealer: Arc<Sealer>,
    config: DisclosureConfig,
    cache: &FigureCache,
    org: Uuid,
    request: FigureRequest,
) -> AppResult<Figures> {
    let (epoch, taken_at) =
        epochs::current(db, sealer.clone(), org, config.refresh_seconds).await?;
    let key = cache_key(org, &request.characteristic, &config).at_snapshot(epoch);
    let characteristic = request.characteristic.clone();
    let kept = cache
        .get_or_compute(key, Fingerprint::frozen(), || async move {
            let basis = epochs::load(db, sealer, org, epoch).await?;
            let family = basis::protect_blocking(basis, characteristic, config).await?;
            Ok::<_, AppError>(Some(Kept::weighed(family, None)))
        })
        .await?
        .ok_or_else(|| AppError::internal("epoch figures computed nothing"))?;
    let table = basis::table(&kept.family, &request);
    let as_at = taken_at
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(Figures::of(request, table, as_at, None))
}

/// One characteristic's protected family, and the snapshot it comes from if any.
pub struct Kept {
    family: basis::Protected,
    snapshot: Option<SnapshotSummary>,
}

/// Protected families already computed, served while their inputs are unchanged: every
/// breakdown, level and view of a characteristic is a selection from one family.
pub type FigureCache = super::figure_cache::FigureCache<Arc<Kept>>;

fn cache_key(org: Uuid, characteristic: &str, config: &DisclosureConfig) -> CacheKey {
    CacheKey::new(org, characteristic, config)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Figures from the live tallies, or (with `snapshot`) from that snapshot of the
/// organisation: the same question asked of a snapshot always gets the same answer. A unit
/// asked for that is not in the figures' tree is not found.
pub async fn figures_at(
    db: &Database,
    sealer: Arc<Sealer>,
    config: DisclosureConfig,
    cache: &FigureCache,
    org: Uuid,
    snapshot: Option<Uuid>,
    request: FigureRequest,
) -> AppResult<Figures> {
    let figures = match snapshot {
        None => figures(db, sealer, config, cache, org, request).await?,
        Some(id) => {
            let key = cache_key(org, &request.characteristic, &config).at_snapshot(id);
            // Only a snapshot this organisation could open was ever stored under its key.
            let characteristic = request.characteristic.clone();
            let kept = cache
                .get_or_compute(key, Fingerprint::frozen(), || async move {
                    let (summary, basis) = snapshots::load(db, sealer, org, id).await?;
                    protect_snapshot(summary, basis, characteristic, config)
                        .await
                        .map(Some)
                })
                .await?
                .ok_or_else(|| AppError::internal("snapshot figures computed nothing"))?;
            let summary = kept.snapshot()?;
            let table = basis::table(&kept.family, &request);
            Figures::of(request, table, summary.taken_at.clone(), Some(summary))
        }
    };
    if figures.unit.is_some() && figures.level.is_none() {
        return Err(AppError::NotFound(
            "no such org unit in these figures".into(),
        ));
    }
    Ok(figures)
}

impl Kept {
    /// A family to keep, with its weight in the cache (its published cells).
    fn weighed(family: basis::Protected, snapshot: Option<SnapshotSummary>) -> (Arc<Kept>, usize) {
        let weight = family.weight();
        (Arc::new(Kept { family, snapshot }), weight)
    }

    fn snapshot(&self) -> AppResult<SnapshotSummary> {
        self.snapshot
            .clone()
            .ok_or_else(|| AppError::internal("snapshot figures kept without their snapshot"))
    }
}

/// Protects one snapshot's family, to be kept for good under [`Fingerprint::frozen`]: a
/// snapshot never changes, so disclosure control runs once per characteristic, however often
/// a board asks.
async fn protect_snapshot(
    summary: SnapshotSummary,
    basis: Basis,
    characteristic: String,
    config: DisclosureConfig,
) -> AppResult<(Arc<Kept>, usize)> {
    let family = basis::protect_blocking(basis, characteristic, config).await?;
    Ok(Kept::weighed(family, Some(summary)))
}

impl Figures {
    /// The response for `request` from its protected table, live or from a snapshot.
    fn of(
        request: FigureRequest,
        table: basis::Table,
        as_at: String,
        snapshot: Option<SnapshotSummary>,
    ) -> Self {
        Figures {
            level: table.level,
            unit: match request.breakdown {
                Breakdown::OrgUnit => request.unit,
                _ => None,
            },
            characteristic: request.characteristic,
            breakdown: request.breakdown,
            as_at,
            snapshot,
            columns: table.columns,
            rows: table.rows,
            rules: table.rules,
        }
    }
}
