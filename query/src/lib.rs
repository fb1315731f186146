//! Hearth's read side: DataFusion over storage, SQL, and the Prometheus read
//! and Loki APIs Grafana calls. PromQL and LogQL are parsed and evaluated;
//! TraceQL arrives with its issue.
#![deny(missing_docs)]

pub mod error;
pub mod http;
pub mod logql;
pub mod promql;
pub mod sql;
pub mod table;
pub mod traceql;

use axum::Router;
use axum::routing::{get, post};
use hearth_storage::logs::LogsCell;
use hearth_storage::{EngineCell, TracesCell};

pub use error::ApiError;

/// What the query routes need.
#[derive(Clone, Debug)]
pub struct QueryState {
    /// The metrics engine, once replay is done.
    pub engine: EngineCell,
    /// The logs engine, once replay is done.
    pub logs: LogsCell,
    /// The traces engine, once replay is done.
    pub traces: TracesCell,
    /// Bytes DataFusion may use per query before failing it.
    pub query_memory_limit: usize,
    /// PromQL engine settings.
    pub promql: http::query::PromqlSettings,
}

/// The query crate's HTTP routes.
pub fn routes(state: QueryState) -> Router {
    use http::{metadata, query, series, status, tools};
    Router::new()
        .route("/api/v1/query", get(query::query).post(query::query))
        .route(
            "/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        )
        .route(
            "/api/v1/format_query",
            get(tools::format_query).post(tools::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(tools::parse_query).post(tools::parse_query),
        )
        .route(
            "/api/v1/query_exemplars",
            get(tools::query_exemplars).post(tools::query_exemplars),
        )
        .route("/api/v1/series", get(series::series).post(series::series))
        .route("/api/v1/labels", get(series::labels).post(series::labels))
        .route(
            "/api/v1/label/{name}/values",
            get(series::label_values).post(series::label_values),
        )
        .route("/api/v1/metadata", get(metadata::metadata))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/sql", post(sql::handler::sql))
        .merge(loki_routes())
        .merge(http::tempo::routes())
        .with_state(state)
}

/// Loki's read API.
fn loki_routes() -> Router<QueryState> {
    use http::loki::{detected, labels, query, tail};
    Router::new()
        .route("/loki/api/v1/query", get(query::query).post(query::query))
        .route(
            "/loki/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        )
        .route(
            "/loki/api/v1/labels",
            get(labels::labels).post(labels::labels),
        )
        .route(
            "/loki/api/v1/label/{name}/values",
            get(labels::label_values).post(labels::label_values),
        )
        .route(
            "/loki/api/v1/series",
            get(labels::series).post(labels::series),
        )
        .route(
            "/loki/api/v1/index/stats",
            get(labels::index_stats).post(labels::index_stats),
        )
        .route(
            "/loki/api/v1/index/volume",
            get(labels::volume).post(labels::volume),
        )
        .route(
            "/loki/api/v1/index/volume_range",
            get(labels::volume_range).post(labels::volume_range),
        )
        .route(
            "/loki/api/v1/detected_labels",
            get(detected::labels_handler),
        )
        .route(
            "/loki/api/v1/detected_fields",
            get(detected::fields_handler).post(detected::fields_handler),
        )
        .route(
            "/loki/api/v1/detected_field/{name}/values",
            get(detected::field_values_handler).post(detected::field_values_handler),
        )
        .route("/loki/api/v1/patterns", get(detected::patterns_handler))
        .route(
            "/loki/api/v1/drilldown-limits",
            get(detected::drilldown_limits),
        )
        .route("/loki/api/v1/status/buildinfo", get(labels::buildinfo))
        .route("/loki/api/v1/tail", get(tail::tail))
}
