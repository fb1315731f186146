//! Hearth's read side: DataFusion over storage, SQL, and the Prometheus read
//! APIs Grafana calls. PromQL is parsed and evaluated; LogQL is parsed
//! (`logql`); TraceQL arrives with its issue.
#![deny(missing_docs)]

pub mod error;
pub mod http;
pub mod logql;
pub mod promql;
pub mod sql;
pub mod table;

use axum::Router;
use axum::routing::{get, post};
use hearth_storage::EngineCell;

pub use error::ApiError;

/// What the query routes need.
#[derive(Clone, Debug)]
pub struct QueryState {
    /// The metrics engine, once replay is done.
    pub engine: EngineCell,
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
        .with_state(state)
}
