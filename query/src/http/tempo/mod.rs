//! Tempo's HTTP API, for Grafana's Tempo data source: the health check
//! (`/api/echo`), build info, and trace by id (`/api/traces/{id}`,
//! `/api/v2/traces/{id}`). Search, tags and TraceQL metrics are not served
//! yet.

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
