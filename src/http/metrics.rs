//! Prometheus metrics: request counts and latency histograms per route pattern.
//!
//! Labels use the route *pattern* (`/v1/employees/{id}`), never the concrete path, so the
//! number of series stays bounded and no identifier ends up in a metrics store.
//!
//! The registry also exposes the process-wide series of [`crate::metrics`] and this app's
//! database pool, read at each scrape.

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::store::Database;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "declare_http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "declare_http_request_duration_seconds",
                "HTTP request latency by route pattern",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "declare_db_pool_connections",
                "Open database connections by state (in_use, idle)",
            ),
            &["state"],
        )?;
        let pool_max = IntGauge::new(
            "declare_db_pool_max_connections",
            "Most connections the database pool opens",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        crate::metrics::register(&registry)?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            pool_connections,
            pool_max,
        })
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// The Prometheus text exposition of everything registered, the gauges read from the
    /// process and `db`'s pool first.
    pub fn render(&self, db: &Database) -> String {
        let (open, idle, max) = db.pool_state();
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(open.saturating_sub(idle)));
        self.pool_connections
            .with_label_values(&["idle"])
            .set(i64::from(idle));
        self.pool_max.set(i64::from(max));
        if let Some(global) = crate::metrics::global() {
            global.refresh_process();
        }
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
