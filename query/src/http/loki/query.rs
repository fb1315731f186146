//! `/loki/api/v1/query` and `/loki/api/v1/query_range`.

use std::time::Instant;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use super::params::{self, DEFAULT_SINCE_NS};
use super::{LokiError, bounded, render};
use crate::QueryState;
use crate::http::params::Params;
use crate::logql::Expr;
use crate::logql::eval::metric::{MAX_STEPS, MetricLimits, MetricQuery};
use crate::logql::exec::{LogQueryParams, run_log_query, run_metric_query};

/// Most entries one log query may return.
pub const MAX_ENTRIES_LIMIT: usize = 5000;

fn categorize(headers: &HeaderMap) -> bool {
    headers
        .get_all("x-loki-response-encoding-flags")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|flag| flag.trim() == "categorize-labels")
}

fn parse(params: &Params) -> Result<Expr, LokiError> {
    let text = params
        .get("query")
        .ok_or_else(|| LokiError::bad("query parameter is required"))?;
    crate::logql::parse(text).map_err(LokiError::bad)
}

fn success(data: serde_json::Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

/// `GET|POST /loki/api/v1/query_range`.
pub async fn query_range(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let started = Instant::now();
    let params = Params::new(&headers, query.as_deref(), &body);
    let expr = parse(&params)?;
    let (start, end) = params::range(&params, DEFAULT_SINCE_NS)?;
    let engine = state.logs()?;
    match expr {
        Expr::Log(q) => {
            let limit = params::limit(&params, 100)?;
            if limit > MAX_ENTRIES_LIMIT {
                return Err(LokiError::bad(format!(
                    "max entries limit per query exceeded, limit > max_entries_limit ({limit} > {MAX_ENTRIES_LIMIT})"
                )));
            }
            let backward = params::backward(&params)?;
            let log_params = LogQueryParams {
                start_ns: start,
                end_ns: end,
                limit,
                backward,
                interval_ns: params::interval(&params)?,
            };
            let result = bounded(state.promql.timeout, async {
                Ok(run_log_query(engine, &q, log_params).await?)
            })
            .await?;
            let flags = categorize(&headers);
            let mut data = json!({
                "resultType": "streams",
                "result": render::streams(&result.lines, flags),
                "stats": render::stats(&result.stats, result.lines.len(), started.elapsed().as_secs_f64()),
            });
            if flags {
                data["encodingFlags"] = json!(["categorize-labels"]);
            }
            Ok(success(data))
        }
        Expr::Metric(m) => {
            let step = params::step(&params, start, end)?;
            if end.saturating_sub(start) / step > MAX_STEPS as i64 {
                return Err(LokiError::bad(
                    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
                ));
            }
            let q = MetricQuery {
                start_ns: start,
                end_ns: end,
                step_ns: step,
            };
            let (result, stats) = bounded(state.promql.timeout, async {
                Ok(run_metric_query(engine, &m, q, MetricLimits::default()).await?)
            })
            .await?;
            let (kind, data) = render::metric(&result);
            Ok(success(json!({
                "resultType": kind,
                "result": data,
                "stats": render::stats(&stats, 0, started.elapsed().as_secs_f64()),
            })))
        }
    }
}

/// `GET|POST /loki/api/v1/query`: metric queries at one instant.
pub async fn query(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let started = Instant::now();
    let params = Params::new(&headers, query.as_deref(), &body);
    let expr = parse(&params)?;
    let at = params::instant(&params)?;
    let Expr::Metric(m) = expr else {
        return Err(LokiError::bad(
            "log queries are not supported as an instant query type, please change your query to a range query type",
        ));
    };
    let engine = state.logs()?;
    let q = MetricQuery {
        start_ns: at,
        end_ns: at,
        step_ns: 1,
    };
    let (result, stats) = bounded(state.promql.timeout, async {
        Ok(run_metric_query(engine, &m, q, MetricLimits::default()).await?)
    })
    .await?;
    let (kind, data) = render::metric(&result);
    Ok(success(json!({
        "resultType": kind,
        "result": data,
        "stats": render::stats(&stats, 0, started.elapsed().as_secs_f64()),
    })))
}
