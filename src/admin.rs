//! Health, readiness and the admin endpoints used by tests, benchmarks and
//! operators.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hearth_query::ApiError;
use hearth_query::http::envelope::Success;
use hearth_storage::logs::LogsCell;
use hearth_storage::{EngineCell, TracesCell};

/// The engines the admin endpoints act on.
#[derive(Clone, Debug)]
pub struct Engines {
    /// Metrics.
    pub metrics: EngineCell,
    /// Logs.
    pub logs: LogsCell,
    /// Traces.
    pub traces: TracesCell,
}

/// `/-/healthy`, `/-/ready`, `/api/v1/admin/{flush,compact}` (both act on
/// every signal).
pub fn routes(engine: Engines) -> Router {
    Router::new()
        .route("/-/healthy", get(|| async { "Hearth is Healthy.\n" }))
        .route("/-/ready", get(ready))
        // Loki's readiness path.
        .route("/ready", get(ready))
        .route("/api/v1/admin/flush", post(flush))
        .route("/api/v1/admin/compact", post(compact))
        .with_state(engine)
}

async fn ready(State(engines): State<Engines>) -> Response {
    if engines.metrics.get().is_some()
        && engines.logs.get().is_some()
        && engines.traces.get().is_some()
    {
        (StatusCode::OK, "Hearth is Ready.\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Hearth is replaying its write-ahead log.\n",
        )
            .into_response()
    }
}

async fn flush(State(engines): State<Engines>) -> Result<Response, ApiError> {
    let engine = engines.metrics.get().ok_or_else(ApiError::not_ready)?;
    let logs = engines.logs.get().ok_or_else(ApiError::not_ready)?;
    let traces = engines.traces.get().ok_or_else(ApiError::not_ready)?;
    let report = engine
        .flush()
        .await
        .map_err(|e| ApiError::internal(format!("flush failed: {e}")))?;
    let logs_report = logs
        .flush()
        .await
        .map_err(|e| ApiError::internal(format!("logs flush failed: {e}")))?;
    let traces_report = traces
        .flush()
        .await
        .map_err(|e| ApiError::internal(format!("traces flush failed: {e}")))?;
    Ok(Success::new(serde_json::json!({
        "parts": report.parts.len(),
        "samples": report.samples,
        "logs_parts": logs_report.parts.len(),
        "log_entries": logs_report.samples,
        "traces_parts": traces_report.parts.len(),
        "spans": traces_report.samples,
    }))
    .into_response())
}

async fn compact(State(engines): State<Engines>) -> Result<Response, ApiError> {
    let engine = engines.metrics.get().ok_or_else(ApiError::not_ready)?;
    let logs = engines.logs.get().ok_or_else(ApiError::not_ready)?;
    let traces = engines.traces.get().ok_or_else(ApiError::not_ready)?;
    let jobs = engine
        .compact(true)
        .await
        .map_err(|e| ApiError::internal(format!("compaction failed: {e}")))?;
    let logs_jobs = logs
        .compact(true)
        .await
        .map_err(|e| ApiError::internal(format!("logs compaction failed: {e}")))?;
    let traces_jobs = traces
        .compact(true)
        .await
        .map_err(|e| ApiError::internal(format!("traces compaction failed: {e}")))?;
    Ok(Success::new(serde_json::json!({
        "merges": jobs,
        "logs_merges": logs_jobs,
        "traces_merges": traces_jobs,
    }))
    .into_response())
}
