//! Health, readiness and the admin endpoints used by tests, benchmarks and
//! operators.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hearth_query::ApiError;
use hearth_query::http::envelope::Success;
use hearth_storage::EngineCell;

/// `/-/healthy`, `/-/ready`, `/api/v1/admin/{flush,compact}`.
pub fn routes(engine: EngineCell) -> Router {
    Router::new()
        .route("/-/healthy", get(|| async { "Hearth is Healthy.\n" }))
        .route("/-/ready", get(ready))
        .route("/api/v1/admin/flush", post(flush))
        .route("/api/v1/admin/compact", post(compact))
        .with_state(engine)
}

async fn ready(State(engine): State<EngineCell>) -> Response {
    if engine.get().is_some() {
        (StatusCode::OK, "Hearth is Ready.\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Hearth is replaying its write-ahead log.\n",
        )
            .into_response()
    }
}

async fn flush(State(engine): State<EngineCell>) -> Result<Response, ApiError> {
    let engine = engine.get().ok_or_else(ApiError::not_ready)?;
    let report = engine
        .flush()
        .await
        .map_err(|e| ApiError::internal(format!("flush failed: {e}")))?;
    Ok(Success::new(serde_json::json!({
        "parts": report.parts.len(),
        "samples": report.samples,
    }))
    .into_response())
}

async fn compact(State(engine): State<EngineCell>) -> Result<Response, ApiError> {
    let engine = engine.get().ok_or_else(ApiError::not_ready)?;
    let jobs = engine
        .compact(true)
        .await
        .map_err(|e| ApiError::internal(format!("compaction failed: {e}")))?;
    Ok(Success::new(serde_json::json!({ "merges": jobs })).into_response())
}
