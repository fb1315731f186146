//! `/api/v1/query` and `/api/v1/query_range`: PromQL over HTTP, answered in
//! Prometheus' JSON shapes (vector, matrix, scalar, string).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::params::{Params, parse_time};
use crate::QueryState;
use crate::error::ApiError;
use crate::promql::ast::ValueKind;
use crate::promql::labels::LabelSet;
use crate::promql::value::format_float;
use crate::promql::{
    self, DurationContext, EvalError, EvalErrorKind, EvalOptions, Evaluated, Value,
};

/// Most points a range query may return per series, as Prometheus.
const MAX_POINTS: i64 = 11_000;

/// PromQL engine settings shared by all queries.
#[derive(Debug, Clone)]
pub struct PromqlSettings {
    /// Lookback delta.
    pub lookback: Duration,
    /// Default and maximum query timeout.
    pub timeout: Duration,
    /// Most samples one query may load.
    pub max_samples: usize,
    /// Most series one selector may select (0: no limit).
    pub max_series_per_selector: usize,
    /// Step of subqueries without one.
    pub default_subquery_step: Duration,
}

impl Default for PromqlSettings {
    fn default() -> Self {
        Self {
            lookback: Duration::from_secs(300),
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            max_series_per_selector: 0,
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

/// Parses a Prometheus duration parameter: a float of seconds or `5m`.
pub fn parse_duration_param(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        if !secs.is_finite() || ms.abs() >= i64::MAX as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ms as i64);
    }
    crate::promql::duration_expr::literal_ms(s)
        .ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

impl From<EvalError> for ApiError {
    fn from(e: EvalError) -> Self {
        match e.kind {
            EvalErrorKind::Execution | EvalErrorKind::Limit => ApiError::execution(e.message),
            EvalErrorKind::Timeout => ApiError::timeout(e.message),
            EvalErrorKind::Internal => ApiError::internal(e.message),
        }
    }
}

fn options(state: &QueryState, params: &Params) -> Result<(EvalOptions, Duration), ApiError> {
    let s = &state.promql;
    let mut timeout = s.timeout;
    if let Some(t) = params.get("timeout") {
        let ms = parse_duration_param(t).map_err(|e| ApiError::bad_param("timeout", e))?;
        if ms > 0 {
            timeout = timeout.min(Duration::from_millis(ms as u64));
        }
    }
    let mut lookback_ms = s.lookback.as_millis() as i64;
    if let Some(d) = params.get("lookback_delta") {
        let requested =
            parse_duration_param(d).map_err(|e| ApiError::bad_param("lookback_delta", e))?;
        // As Prometheus: zero or negative means the configured default.
        if requested > 0 {
            lookback_ms = requested;
        }
    }
    Ok((
        EvalOptions {
            lookback_ms,
            default_subquery_step_ms: s.default_subquery_step.as_millis() as i64,
            max_samples: s.max_samples,
            max_series_per_selector: s.max_series_per_selector,
            deadline: Some(Instant::now() + timeout),
        },
        timeout,
    ))
}

fn parse_query(params: &Params, ctx: DurationContext) -> Result<promql::ast::Expr, ApiError> {
    let text = params.get("query").unwrap_or("");
    promql::parse_with(text, ctx).map_err(|e| ApiError::bad_param("query", e.message))
}

/// `GET|POST /api/v1/query`.
pub async fn query(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, raw.as_deref(), &body);
    let engine = std::sync::Arc::clone(state.engine()?);
    let expr = parse_query(&params, DurationContext::default())?;
    let now = chrono::Utc::now().timestamp_millis();
    let t = params.time_or("time", now)?;
    let (options, timeout) = options(&state, &params)?;
    let limit = params.limit()?;
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, promql::instant(&engine, &expr, t, &options))
        .await
        .map_err(|_| ApiError::from(EvalError::timeout()))??;
    Ok(respond(
        result,
        false,
        limit,
        params.get("stats").is_some(),
        started,
    ))
}

/// A parameter that must be present, parsed by `parse`.
fn required(
    params: &Params,
    name: &str,
    parse: impl Fn(&str) -> Result<i64, String>,
) -> Result<i64, ApiError> {
    parse(params.get(name).unwrap_or("")).map_err(|e| ApiError::bad_param(name, e))
}

/// `GET|POST /api/v1/query_range`.
pub async fn query_range(
    State(state): State<QueryState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::new(&headers, raw.as_deref(), &body);
    let engine = std::sync::Arc::clone(state.engine()?);
    let start = required(&params, "start", parse_time)?;
    let end = required(&params, "end", parse_time)?;
    if end < start {
        return Err(ApiError::bad_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step = required(&params, "step", parse_duration_param)?;
    if step <= 0 {
        return Err(ApiError::bad_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    let Some(span) = end.checked_sub(start) else {
        return Err(ApiError::bad_param("end", "time range is out of bounds"));
    };
    if span / step >= MAX_POINTS {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let ctx = DurationContext {
        step_ms: step,
        range_ms: span,
    };
    let expr = parse_query(&params, ctx)?;
    let kind = match expr.kind() {
        ValueKind::Matrix => Some("range vector"),
        ValueKind::String => Some("string"),
        ValueKind::Scalar | ValueKind::Vector => None,
    };
    if let Some(kind) = kind {
        return Err(ApiError::bad_param(
            "query",
            format!(
                "invalid expression type {kind:?} for range query, must be Scalar or instant Vector"
            ),
        ));
    }
    let (options, timeout) = options(&state, &params)?;
    let limit = params.limit()?;
    let started = Instant::now();
    let result = tokio::time::timeout(
        timeout,
        promql::range(&engine, &expr, start, end, step, &options),
    )
    .await
    .map_err(|_| ApiError::from(EvalError::timeout()))??;
    Ok(respond(
        result,
        true,
        limit,
        params.get("stats").is_some(),
        started,
    ))
}

/// A timestamp in ms as Prometheus writes it: seconds with up to three
/// decimals and no trailing zeros.
pub(crate) fn write_ts(out: &mut String, ms: i64) {
    if ms < 0 {
        out.push('-');
    }
    let abs = ms.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    if frac == 0 {
        let _ = write!(out, "{secs}");
    } else {
        let digits = format!("{frac:03}");
        let _ = write!(out, "{secs}.{}", digits.trim_end_matches('0'));
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

fn write_metric(out: &mut String, labels: &LabelSet) {
    out.push('{');
    for (i, (n, v)) in labels.pairs().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, n);
        out.push(':');
        write_str(out, v);
    }
    out.push('}');
}

fn write_point(out: &mut String, ms: i64, v: f64) {
    out.push('[');
    write_ts(out, ms);
    out.push_str(",\"");
    out.push_str(&format_float(v));
    out.push_str("\"]");
}

fn respond(
    result: Evaluated,
    range: bool,
    limit: Option<usize>,
    stats: bool,
    started: Instant,
) -> Response {
    let mut out = String::with_capacity(256);
    let mut warnings = result.annotations.warnings.clone();
    let mut samples = 0usize;
    out.push_str("{\"status\":\"success\",\"data\":{");
    let steps = &result.steps;
    match &result.value {
        Value::Scalar(v) => {
            let t = steps.first().copied().unwrap_or(0);
            if range {
                out.push_str("\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[");
                for (i, (&t, &x)) in steps.iter().zip(v).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_point(&mut out, t, x);
                }
                samples += v.len();
                out.push_str("]}]");
            } else {
                out.push_str("\"resultType\":\"scalar\",\"result\":");
                write_point(&mut out, t, v.first().copied().unwrap_or(f64::NAN));
                samples += 1;
            }
        }
        Value::String(s) => {
            out.push_str("\"resultType\":\"string\",\"result\":[");
            write_ts(&mut out, steps.first().copied().unwrap_or(0));
            out.push(',');
            write_str(&mut out, s);
            out.push(']');
        }
        Value::Vector(series) => {
            let mut series: Vec<_> = series.iter().collect();
            if let Some(n) = limit
                && series.len() > n
            {
                series.truncate(n);
                warnings.push(super::envelope::TRUNCATED_WARNING.to_owned());
            }
            if range {
                out.push_str("\"resultType\":\"matrix\",\"result\":[");
                for (i, s) in series.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"metric\":");
                    write_metric(&mut out, &s.labels);
                    out.push_str(",\"values\":[");
                    let mut first = true;
                    for (&t, p) in steps.iter().zip(&s.points) {
                        if let Some(v) = p {
                            if !first {
                                out.push(',');
                            }
                            first = false;
                            write_point(&mut out, t, *v);
                            samples += 1;
                        }
                    }
                    out.push_str("]}");
                }
                out.push(']');
            } else {
                let t = steps.first().copied().unwrap_or(0);
                out.push_str("\"resultType\":\"vector\",\"result\":[");
                let mut first = true;
                for s in &series {
                    let Some(v) = s.points.first().copied().flatten() else {
                        continue;
                    };
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str("{\"metric\":");
                    write_metric(&mut out, &s.labels);
                    out.push_str(",\"value\":");
                    write_point(&mut out, t, v);
                    out.push('}');
                    samples += 1;
                }
                out.push(']');
            }
        }
        Value::Matrix(series) => {
            out.push_str("\"resultType\":\"matrix\",\"result\":[");
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_metric(&mut out, &s.labels);
                out.push_str(",\"values\":[");
                for (j, (&t, &v)) in s.ts.iter().zip(&s.values).enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_point(&mut out, t, v);
                    samples += 1;
                }
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    if stats {
        let secs = started.elapsed().as_secs_f64();
        let _ = write!(
            out,
            ",\"stats\":{{\"timings\":{{\"evalTotalTime\":{secs},\"resultSortTime\":0,\"queryPreparationTime\":0,\"innerEvalTime\":{secs},\"execQueueTime\":0,\"execTotalTime\":{secs}}},\"samples\":{{\"totalQueryableSamples\":{samples},\"peakSamples\":{samples}}}}}"
        );
    }
    out.push('}');
    for (key, list) in [
        ("warnings", &warnings),
        ("infos", &result.annotations.infos),
    ] {
        if !list.is_empty() {
            let _ = write!(out, ",\"{key}\":[");
            for (i, w) in list.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(&mut out, w);
            }
            out.push(']');
        }
    }
    out.push('}');
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_timestamps_as_prometheus_writes_them() {
        assert_eq!(parse_duration_param("15"), Ok(15_000));
        assert_eq!(parse_duration_param("1.5"), Ok(1_500));
        assert_eq!(parse_duration_param("1m30s"), Ok(90_000));
        assert!(parse_duration_param("abc").is_err());
        let mut s = String::new();
        write_ts(&mut s, 1_435_781_451_780);
        assert_eq!(s, "1435781451.78");
        let mut s = String::new();
        write_ts(&mut s, -1_500);
        assert_eq!(s, "-1.5");
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(0.1), "0.1");
    }
}
