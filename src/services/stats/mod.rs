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
//! snapshot's frozen copy of them ([`snapshots`]). The same computation ([`basis::compute`])
//! runs on either, so a snapshot answers exactly as the live tallies did when it was taken.

mod basis;
pub mod csv;
pub mod snapshots;
pub mod trend;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::Sealer;
use crate::domain::disclosure::{DisclosureConfig, Published, PublishedCell, RulesApplied};
use crate::error::AppResult;
use crate::store::Database;

use super::figure_cache::{Fingerprint, Key as CacheKey};

pub use basis::Basis;
pub use snapshots::SnapshotSummary;

/// The pre-defined breakdowns: no free filters, so figures cannot be differenced.
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
    /// People in post; a number, or `"suppressed"`.
    #[schema(value_type = Object)]
    pub headcount: Published,
    /// One entry per column: `{column, count, percent}`; a count or percent may be
    /// `"suppressed"`, a percent `null` when the headcount is zero.
    #[schema(value_type = Vec<Object>)]
    pub cells: Vec<PublishedCell>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub characteristic: String,
    pub breakdown: Breakdown,
    /// For org units, the tree level shown (1 = the units directly under the top).
    pub level: Option<u32>,
    /// The moment the figures describe: now for live tallies, or when the snapshot was taken.
    pub as_at: String,
    /// The snapshot the figures come from; absent for live figures.
    pub snapshot: Option<SnapshotSummary>,
    pub columns: Vec<String>,
    pub rows: Vec<FigureRow>,
    /// The disclosure rules applied to every figure here.
    #[schema(value_type = Object)]
    pub rules: RulesApplied,
}

/// What a viewer asked for: one characteristic, one pre-defined breakdown, one view.
#[derive(Debug, Clone)]
pub struct FigureRequest {
    pub characteristic: String,
    pub breakdown: Breakdown,
    pub level: u32,
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
    let key = cache_key(org, &request, &config);
    let org_key = org.to_string();
    // Read before the figures' own reads: see `figure_cache` on why that order is safe.
    let fingerprint = db
        .run(move |conn| Ok(super::figure_cache::fingerprint(conn, &org_key)))
        .await??;
    if let Some(mut cached) = cache.get(&key, &fingerprint) {
        // Nothing they count has changed since: they describe now too.
        cached.as_at = now();
        return Ok(cached);
    }
    let basis = basis::live(db, sealer, org).await?;
    let table = basis::compute_blocking(basis, request.clone(), config).await?;
    let fresh = Figures::of(request, table, now(), None);
    cache.put(key, fingerprint, fresh.clone(), fresh.weight());
    Ok(fresh)
}

/// Figures already computed, served while their inputs are unchanged.
pub type FigureCache = super::figure_cache::FigureCache<Figures>;

fn cache_key(org: Uuid, request: &FigureRequest, config: &DisclosureConfig) -> CacheKey {
    let shape = format!(
        "{:?}/{}/{:?}",
        request.breakdown, request.level, request.view
    );
    CacheKey::new(org, &request.characteristic, shape, config)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Figures from the live tallies, or (with `snapshot`) from that snapshot of the
/// organisation: the same question asked of a snapshot always gets the same answer.
pub async fn figures_at(
    db: &Database,
    sealer: Arc<Sealer>,
    config: DisclosureConfig,
    cache: &FigureCache,
    org: Uuid,
    snapshot: Option<Uuid>,
    request: FigureRequest,
) -> AppResult<Figures> {
    let Some(id) = snapshot else {
        return figures(db, sealer, config, cache, org, request).await;
    };
    let key = cache_key(org, &request, &config).at_snapshot(id);
    // Only a snapshot this organisation could open was ever stored under its key.
    if let Some(cached) = cache.get(&key, &Fingerprint::frozen()) {
        return Ok(cached);
    }
    let (summary, basis) = snapshots::load(db, sealer, org, id).await?;
    from_snapshot(cache, key, summary, basis, request, config).await
}

/// Computes one snapshot's figures and keeps them for good: a snapshot never changes, so
/// disclosure control runs once per question, however often a board asks it.
async fn from_snapshot(
    cache: &FigureCache,
    key: CacheKey,
    summary: SnapshotSummary,
    basis: Basis,
    request: FigureRequest,
    config: DisclosureConfig,
) -> AppResult<Figures> {
    let table = basis::compute_blocking(basis, request.clone(), config).await?;
    let taken_at = summary.taken_at.clone();
    let figures = Figures::of(request, table, taken_at, Some(summary));
    cache.put(
        key,
        Fingerprint::frozen(),
        figures.clone(),
        figures.weight(),
    );
    Ok(figures)
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
            level: (request.breakdown == Breakdown::OrgUnit).then_some(request.level),
            characteristic: request.characteristic,
            breakdown: request.breakdown,
            as_at,
            snapshot,
            columns: table.columns,
            rows: table.rows,
            rules: table.rules,
        }
    }

    /// Published cells, as the cache weighs an entry.
    fn weight(&self) -> usize {
        self.rows.iter().map(|r| r.cells.len() + 1).sum()
    }
}
