//! OTLP receivers: traces, metrics and logs over gRPC and OTLP/HTTP
//! (protobuf and JSON, gzip). One decoded export goes through
//! [`OtlpIngest`] whichever transport brought it, so both answer alike.
//! Logs land in the logs store shaped as Loki's OTLP endpoint shapes them,
//! metrics in the metrics store named as Prometheus names them, spans in
//! the traces store (with span metrics and service-graph series derived
//! from them into the metrics store).

pub mod attrs;
pub mod codec;
pub mod export;
pub mod grpc;
pub mod http;
pub mod limits;
pub mod logs;
pub mod metrics;
pub mod signal;
pub mod spanmetrics;
pub mod traces;
pub mod value;

pub use export::{Accepted, ExportError, OtlpIngest};
pub use limits::OtlpLimits;
pub use logs::OtlpLogsOptions;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

/// The OTLP/HTTP routes, for the main port and the OTLP/HTTP port alike.
pub fn routes(state: OtlpIngest) -> Router {
    // The body limit is checked by the handlers, which answer in the
    // request's format; axum's own limit only has to stay out of the way.
    let limit = state.limits.max_body_bytes.saturating_add(1);
    Router::new()
        .route("/v1/logs", post(http::export::<signal::Logs>))
        .route("/v1/metrics", post(http::export::<signal::Metrics>))
        .route("/v1/traces", post(http::export::<signal::Traces>))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
