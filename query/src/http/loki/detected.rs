//! The discovery endpoints of Grafana's Logs Drilldown and label browser:
//! `detected_labels`, `detected_fields`, `detected_field/{name}/values`,
//! `patterns` and `drilldown-limits`. Bodies are bare objects except
//! `patterns`, which has Loki's `status`/`data` envelope.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::params::{self, DEFAULT_SINCE_NS};
use super::query::MAX_ENTRIES_LIMIT;
use super::{LokiError, bounded, labels};
use crate::QueryState;
use crate::http::params::Params;
use crate::logql::Expr;
use crate::logql::ast::LogQuery;
use crate::logql::eval::metric::MAX_STEPS;
use crate::logql::exec::detected::{
    DetectParams, detected_field_values, detected_fields, detected_labels,
};
use crate::logql::exec::patterns::{PatternParams, run_patterns};
use crate::logql::exec::storage_matchers;

/// Lines examined by default, as Loki's `line_limit`.
const DEFAULT_LINE_LIMIT: usize = 100;
/// Fields or values returned by default, as Loki's `limit`.
const DEFAULT_FIELD_LIMIT: usize = 1000;

/// A log query from `query`; metric queries are refused, as Loki does.
fn log_query(params: &Params) -> Result<LogQuery, LokiError> {
    let text = params
        .get("query")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| LokiError::bad("query parameter is required"))?;
    match crate::logql::parse(text).map_err(LokiError::bad)? {
        Expr::Log(q) => Ok(q),
        Expr::Metric(_) => Err(LokiError::bad(format!(
            "only log queries are accepted here, not a metric query: {text}"
        ))),
    }
}

fn positive(params: &Params, name: &str, default: usize) -> Result<usize, LokiError> {
    match params.get(name) {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n as usize),
            _ => Err(LokiError::bad(format!("{name} must be a positive integer"))),
        },
    }
}

/// `step` is only validated, as in Loki: sampling ignores it.
fn check_step(params: &Params, start: i64, end: i64) -> Result<i64, LokiError> {
    let step = params::step(params, start, end)?;
    if end.saturating_sub(start) / step > MAX_STEPS as i64 {
        return Err(LokiError::bad(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    Ok(step)
}

/// The query, range and line sample of a detected-fields request.
fn detect_request(params: &Params) -> Result<(LogQuery, DetectParams), LokiError> {
    let query = log_query(params)?;
    let (start, end) = params::range(params, DEFAULT_SINCE_NS)?;
    check_step(params, start, end)?;
    let line_limit = positive(params, "line_limit", DEFAULT_LINE_LIMIT)?;
    if line_limit > MAX_ENTRIES_LIMIT {
        return Err(LokiError::bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit ({line_limit} > {MAX_ENTRIES_LIMIT})"
        )));
    }
    Ok((
        query,
        DetectParams {
            start_ns: start,
            end_ns: end,
            line_limit,
        },
    ))
}

/// `limit`, or the older `field_limit` when `limit` is absent.
fn result_limit(params: &Params) -> Result<usize, LokiError> {
    if params.get("limit").is_some() {
        positive(params, "limit", DEFAULT_FIELD_LIMIT)
    } else {
        positive(params, "field_limit", DEFAULT_FIELD_LIMIT)
    }
}

/// `GET /loki/api/v1/detected_labels`.
pub async fn labels_handler(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let (start, end) = params::range(&params, labels::LABELS_SINCE_NS)?;
    let engine = state.logs()?;
    // Drilldown sends an empty query for "every stream"; `{}` means the
    // same to a person, though Loki's parser refuses it.
    let matchers = match params.get("query").map(str::trim) {
        None | Some("" | "{}") => Vec::new(),
        Some(text) => labels::selector(text)?,
    };
    let streams = engine.streams(&matchers, start, end.saturating_add(1));
    let list: Vec<Value> = detected_labels(&streams)
        .into_iter()
        .map(|l| json!({"label": l.label, "cardinality": l.cardinality}))
        .collect();
    Ok(Json(json!({ "detectedLabels": list })).into_response())
}

/// `GET|POST /loki/api/v1/detected_fields`.
pub async fn fields_handler(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let (query, detect) = detect_request(&params)?;
    let limit = result_limit(&params)?;
    let engine = state.logs()?;
    let fields = bounded(state.promql.timeout, async {
        Ok(detected_fields(engine, &query, detect, limit).await?)
    })
    .await?;
    let list: Vec<Value> = fields
        .into_iter()
        .map(|f| {
            let parsers = f.parsers.map(|set| {
                set.into_iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<&'static str>>()
            });
            let mut field = json!({
                "label": f.label,
                "type": f.field_type.as_str(),
                "cardinality": f.cardinality,
                "parsers": parsers,
            });
            if let Some(path) = f.json_path {
                field["jsonPath"] = json!(path);
            }
            field
        })
        .collect();
    Ok(Json(json!({ "fields": list, "limit": limit })).into_response())
}

/// `GET|POST /loki/api/v1/detected_field/{name}/values`.
pub async fn field_values_handler(
    State(state): State<QueryState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let (query, detect) = detect_request(&params)?;
    let limit = result_limit(&params)?;
    let engine = state.logs()?;
    let values = bounded(state.promql.timeout, async {
        Ok(detected_field_values(engine, &query, detect, &name, limit).await?)
    })
    .await?;
    Ok(Json(json!({ "values": values, "limit": limit })).into_response())
}

/// `GET /loki/api/v1/patterns`.
pub async fn patterns_handler(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let params = Params::new(&headers, query.as_deref(), &body);
    let query = log_query(&params)?;
    // Fail on a bad selector before any reading.
    storage_matchers(&query.matchers)?;
    let (start, end) = params::range(&params, DEFAULT_SINCE_NS)?;
    let step = check_step(&params, start, end)?;
    let engine = state.logs()?;
    let pattern_params = PatternParams {
        start_ns: start,
        end_ns: end,
        step_ns: step,
    };
    let series = bounded(state.promql.timeout, async {
        Ok(run_patterns(engine, &query, pattern_params).await?)
    })
    .await?;
    let data: Vec<Value> = series
        .into_iter()
        .map(|s| {
            let samples: Vec<Value> = s.samples.iter().map(|(t, n)| json!([t, n])).collect();
            json!({"pattern": s.pattern, "level": s.level, "samples": samples})
        })
        .collect();
    Ok(Json(json!({"status": "success", "data": data})).into_response())
}

/// `GET /loki/api/v1/drilldown-limits`: what Logs Drilldown may offer.
/// Patterns are always available (mined at query time).
pub async fn drilldown_limits() -> Response {
    Json(json!({
        "limits": {
            "discover_log_levels": true,
            "max_entries_limit_per_query": MAX_ENTRIES_LIMIT,
            "max_query_length": "30d1h",
            "volume_enabled": true,
            "pattern_persistence_enabled": false,
            "metric_aggregation_enabled": false,
        },
        "pattern_ingester_enabled": true,
        "version": super::labels::LOKI_VERSION,
    }))
    .into_response()
}
