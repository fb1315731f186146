//! Wire decoding and validation for everything Hearth takes in, and the HTTP
//! routes that receive it: Prometheus remote write 1.0 and 2.0, Loki push,
//! and OTLP (gRPC and HTTP).
#![deny(missing_docs)]

pub mod level;
pub mod loki_push;
pub mod metrics;
pub mod otlp;
pub mod prom_remote_write;
pub mod proto;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

pub use loki_push::LokiPushState;
pub use metrics::IngestMetrics;
pub use prom_remote_write::handler::RemoteWriteState;

/// The ingest routes: remote write at Prometheus' path and at the
/// Mimir/Cortex-style alias.
pub fn routes(state: RemoteWriteState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        .route(
            "/api/v1/write",
            post(prom_remote_write::handler::remote_write),
        )
        .route(
            "/api/v1/push",
            post(prom_remote_write::handler::remote_write),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// The Loki push route.
pub fn loki_routes(state: LokiPushState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        .route("/loki/api/v1/push", post(loki_push::handler::push))
        .route("/api/prom/push", post(loki_push::handler::push))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
