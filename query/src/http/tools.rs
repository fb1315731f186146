//! `/api/v1/format_query`, `/api/v1/parse_query` and
//! `/api/v1/query_exemplars`: what Grafana and Prometheus' UI call around
//! queries.

use std::fmt::Write as _;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::envelope::Success;
use super::params::Params;
use super::query::write_ts;
use crate::QueryState;
use crate::error::ApiError;
use crate::promql::parse::visit_selectors;
use crate::promql::value::format_float;

/// The `query` parameter as the parser crate's tree, checked as
/// /api/v1/query checks it (so errors read the same).
fn upstream(params: &Params) -> Result<promql_parser::parser::Expr, ApiError> {
    crate::promql::parse::parse_upstream(params.get("query").unwrap_or(""))
        .map_err(|e| ApiError::bad_param("query", e.message))
}

/// `GET|POST /api/v1/format_query`: the query pretty-printed.
pub async fn format_query(
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, raw.as_deref(), &body);
    let expr = upstream(&params)?;
    Ok(Success::new(expr.prettify()).into_response())
}

/// `GET|POST /api/v1/parse_query`: the syntax tree as JSON, in the shape
/// Prometheus' UI renders.
pub async fn parse_query(
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, raw.as_deref(), &body);
    let expr = upstream(&params)?;
    let tree = serde_json::to_value(&expr).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Success::new(tree).into_response())
}

/// `GET|POST /api/v1/query_exemplars`: exemplars of the series the query's
/// selectors pick, between `start` and `end`.
pub async fn query_exemplars(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, raw.as_deref(), &body);
    let engine = std::sync::Arc::clone(state.engine()?);
    let text = params.get("query").unwrap_or("");
    let expr = crate::promql::parse(text).map_err(|e| ApiError::bad_param("query", e.message))?;
    let (start, end) = params.range()?;
    let mut sets = Vec::new();
    visit_selectors(&expr, &mut |s| sets.extend(s.matcher_sets.iter().cloned()));
    let found = engine
        .exemplars(&sets, start, end)
        .await
        .map_err(|e| ApiError::internal(format!("reading exemplars: {e}")))?;

    let json_str = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::from("{\"status\":\"success\",\"data\":[");
    for (i, (entry, exemplars)) in found.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"seriesLabels\":{");
        for (j, (n, v)) in entry.labels.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}:{}", json_str(n), json_str(v));
        }
        out.push_str("},\"exemplars\":[");
        for (j, e) in exemplars.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str("{\"labels\":{");
            for (k, l) in e.labels.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:{}", json_str(&l.name), json_str(&l.value));
            }
            let _ = write!(
                out,
                "}},\"value\":\"{}\",\"timestamp\":",
                format_float(e.value)
            );
            write_ts(&mut out, e.ts);
            out.push('}');
        }
        out.push_str("]}");
    }
    out.push_str("]}");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        out,
    )
        .into_response())
}
