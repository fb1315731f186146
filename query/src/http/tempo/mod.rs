//! Tempo's HTTP API, for Grafana's Tempo data source: the health check
//! (`/api/echo`), build info, trace by id (`/api/traces/{id}`,
//! `/api/v2/traces/{id}`), TraceQL search, tag names and values for the
//! search builder, and TraceQL metrics for Traces Drilldown.

mod assemble;
mod candidates;
mod metrics;
mod params;
mod search;
mod tags;
pub mod trace_by_id;

use axum::Json;
use axum::Router;
use axum::routing::get;

use crate::QueryState;

/// The Tempo routes.
pub fn routes() -> Router<QueryState> {
    Router::new()
        .route("/api/echo", get(echo))
        .route("/api/status/buildinfo", get(buildinfo))
        .route("/api/traces/{id}", get(trace_by_id::v1))
        .route("/api/v2/traces/{id}", get(trace_by_id::v2))
        .route("/api/search", get(search::search))
        .route("/api/metrics/query_range", get(metrics::query_range))
        .route("/api/metrics/query", get(metrics::query_instant))
        .route("/api/search/tags", get(tags::tags_v1))
        .route("/api/v2/search/tags", get(tags::tags_v2))
        .route("/api/search/tag/{tag}/values", get(tags::values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tags::values_v2))
}

/// Grafana's "Save & test" asks for this and wants 200.
async fn echo() -> &'static str {
    "echo"
}

/// Tempo answers with a bare object, no envelope.
async fn buildinfo() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "version": "2.8.0",
        "revision": env!("CARGO_PKG_VERSION"),
        "branch": "hearth",
        "buildUser": "hearth",
        "buildDate": "",
        "goVersion": "",
    }))
}
