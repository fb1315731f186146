//! Logs (`tracing`) and self-metrics: the process registry, `/metrics`, and
//! a middleware that counts HTTP requests by route and status code.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Starts logging. `RUST_LOG`, when set, wins over the configured level.
pub fn init_logging(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: logs piped to files or collectors stay plain.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// `route` and `code` labels.
pub type RouteLabels = Vec<(&'static str, String)>;

/// The registry and the HTTP counter.
#[derive(Clone)]
pub struct Telemetry {
    registry: Arc<Mutex<Registry>>,
    http_requests: Family<RouteLabels, Counter>,
}

impl Telemetry {
    /// Wraps a registry that the components have registered into.
    pub fn new(mut registry: Registry) -> Self {
        let http_requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "hearth_http_requests",
            "HTTP requests by route and status code",
            http_requests.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            http_requests,
        }
    }

    /// Renders every metric in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry.lock()) {
            tracing::error!(error = %e, "could not encode metrics");
        }
        out
    }
}

/// `GET /metrics`.
pub async fn metrics_handler(State(t): State<Telemetry>) -> Response {
    let mut resp = t.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

/// Counts each request under its route pattern (not the raw path, so that
/// label cardinality stays bounded).
pub async fn count_requests(State(t): State<Telemetry>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    t.http_requests
        .get_or_create(&vec![
            ("route", route),
            ("code", resp.status().as_u16().to_string()),
        ])
        .inc();
    resp
}
