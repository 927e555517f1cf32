//! Structured logs through `tracing`: pretty for a developer's terminal, JSON in production;
//! and, when `DECLARE_OTLP_ENDPOINT` is set, OpenTelemetry traces exported over OTLP/HTTP.
//!
//! Only two kinds of span are exported, both built to carry no personal data: `request`
//! (request id, method, route *pattern*, status; set in `http::middleware`) and `db` (the
//! operation's code path and the backend; set in `store::pool`). Every other span and every
//! event (log line) stays out of traces: a log field written for a developer must never become
//! a trace attribute by accident.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

use crate::config::LogFormat;

/// The spans a trace may hold.
pub const EXPORTED_SPANS: [&str; 2] = ["request", "db"];

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber once; later calls (tests building several apps) are no-ops.
/// `otlp_endpoint`: the collector's base URL, or `None` for no trace export.
pub fn init(format: LogFormat, level: &str, otlp_endpoint: Option<&str>) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let fmt = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Pretty => fmt.compact().boxed(),
    };
    let traces = otlp_endpoint.and_then(|endpoint| match tracer_provider(endpoint) {
        Ok(provider) => {
            let tracer = provider.tracer("declare");
            let _ = PROVIDER.set(provider);
            // Its own filter, not the log level's: spans are exported whatever is logged.
            let only_ours =
                filter_fn(|meta| meta.is_span() && EXPORTED_SPANS.contains(&meta.name()));
            Some(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(only_ours),
            )
        }
        Err(e) => {
            eprintln!("trace export is off: the OTLP exporter could not be built: {e}");
            None
        }
    });
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(traces)
        .try_init();
}

fn tracer_provider(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("declare")
        .build();
    // Batched on the SDK's own thread (the blocking HTTP client never runs on an async
    // worker); `OTEL_BSP_*` tune the batches.
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Sends the spans still batched; call before the process exits.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        if let Err(e) = provider.shutdown() {
            eprintln!("trace export: spans may be lost at shutdown: {e}");
        }
    }
}
