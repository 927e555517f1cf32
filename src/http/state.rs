//! The state every handler (API and pages) can reach, built once at start-up.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::store::Database;

use super::metrics::Metrics;

/// What every handler can reach.
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Database,
    pub metrics: Metrics,
    pub auth: Arc<Authenticator>,
    /// Seals and opens answers and tallies at rest (current key plus previous keys during a
    /// rotation).
    pub sealer: Arc<crate::crypto::Sealer>,
    /// Published figures until their inputs change (`services::figure_cache`).
    pub figures: Arc<crate::services::stats::FigureCache>,
}
