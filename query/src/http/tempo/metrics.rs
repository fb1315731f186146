//! TraceQL metrics over HTTP: `/api/metrics/query_range` and
//! `/api/metrics/query`, which Grafana's Tempo data source and the Traces
//! Drilldown app call (through Grafana's backend, which decodes the answer
//! as Tempo's `QueryRangeResponse` / `QueryInstantResponse` protobuf JSON
//! and, for instant queries, refuses unknown fields).
//!
//! Memory stays bounded however many spans the range holds: a query that
//! looks at one span at a time is evaluated over consecutive slices of the
//! range, each scanned within a span budget (a slice over budget is split
//! and read again); any other query needs whole traces together and reads
//! the range in one scan, reporting a partial answer if that scan is cut.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use hearth_storage::TracesEngine;
use serde_json::{Value as Json_, json};

use super::assemble::Assembler;
use super::candidates::{Candidates, MAX_TRACE_READS, ReadCost};
use super::params::{TempoError, engine, go_duration};
use crate::QueryState;
use crate::http::loki::params::now_ns;
use crate::traceql::{CompiledQuery, Label, MAX_CELLS, MetricsEvaluator, Series, compile};

/// Spans one scan may hold in memory.
const SCAN_SPANS: usize = 200_000;
/// Slices are not split below this length.
const MIN_SLICE_NS: i64 = 1_000_000_000;
/// How far past now a range may reach.
const YEAR_NS: i64 = 365 * 86_400 * 1_000_000_000;
/// `since` when neither `start` nor `since` is given.
const DEFAULT_SINCE_NS: i64 = 3_600 * 1_000_000_000;

type Params = HashMap<String, String>;

/// `GET /api/metrics/query_range`.
pub async fn query_range(
    State(state): State<QueryState>,
    Query(params): Query<Params>,
) -> Response {
    respond(range(&state, &params).await)
}

/// `GET /api/metrics/query`.
pub async fn query_instant(
    State(state): State<QueryState>,
    Query(params): Query<Params>,
) -> Response {
    respond(instant(&state, &params).await)
}

fn respond(result: Result<Json_, TempoError>) -> Response {
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

fn param<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// The query (`q`, or the older `query`) compiled, and checked to be a
/// metrics query.
fn metrics_query(params: &Params) -> Result<CompiledQuery, TempoError> {
    let text = param(params, "q")
        .or_else(|| param(params, "query"))
        .ok_or_else(|| TempoError::bad("missing q: a TraceQL metrics query"))?;
    let query =
        compile(text).map_err(|e| TempoError::bad(format!("invalid TraceQL query: {e}")))?;
    if !query.is_metrics() {
        return Err(TempoError::bad(
            "invalid TraceQL query: not a metrics query (add e.g. | rate())",
        ));
    }
    Ok(query)
}

/// A time as Tempo's metrics API takes it: float seconds, integer seconds
/// (up to 10 digits) or nanoseconds (more), or RFC 3339.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.contains('.') && !t.contains('T') {
        let secs: f64 = t.parse().ok()?;
        let ns = (secs * 1e3).round() * 1e6;
        return (ns.is_finite() && ns.abs() < i64::MAX as f64).then_some(ns as i64);
    }
    if let Ok(n) = t.parse::<i64>() {
        let digits = t.trim_start_matches('-').len();
        return if digits <= 10 {
            n.checked_mul(1_000_000_000)
        } else {
            Some(n)
        };
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()?
        .timestamp_nanos_opt()
}

/// A step or `since`: float seconds or a duration (`30s`, `1m30s`, `1d`).
fn parse_span(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        let ns = secs * 1e9;
        return (ns.is_finite() && ns.abs() < i64::MAX as f64).then_some(ns as i64);
    }
    go_duration(t)
}

fn time_range(params: &Params) -> Result<(i64, i64), TempoError> {
    let time = |name: &str| -> Result<Option<i64>, TempoError> {
        param(params, name)
            .map(|v| parse_time(v).ok_or_else(|| TempoError::bad(format!("invalid {name} {v:?}"))))
            .transpose()
    };
    let now = now_ns();
    let end = time("end")?.unwrap_or(now);
    let start = match time("start")? {
        Some(s) => s,
        None => {
            let since = match param(params, "since") {
                Some(v) => parse_span(v)
                    .filter(|d| *d > 0)
                    .ok_or_else(|| TempoError::bad(format!("invalid since {v:?}")))?,
                None => DEFAULT_SINCE_NS,
            };
            end.min(now).saturating_sub(since)
        }
    };
    if end <= start {
        return Err(TempoError::bad("end must be greater than start"));
    }
    // Spans start after 1970 and before the far future; bounds outside
    // that only risk overflow in step arithmetic.
    Ok((start.max(0), end.min(now.saturating_add(YEAR_NS))))
}

/// Tempo's default step: a 240th of the range, rounded down to whole 5 s
/// (or whole seconds when that is under 5 s), at least 1 s.
fn default_step(start: i64, end: i64) -> i64 {
    const S: i64 = 1_000_000_000;
    let raw = end.saturating_sub(start) / 240;
    let step = if raw >= 5 * S {
        raw / (5 * S) * (5 * S)
    } else {
        raw / S * S
    };
    step.max(S)
}

async fn range(state: &QueryState, params: &Params) -> Result<Json_, TempoError> {
    let query = metrics_query(params)?;
    let (start, end) = time_range(params)?;
    let step = match param(params, "step") {
        Some(v) => parse_span(v)
            .filter(|s| *s > 0)
            .ok_or_else(|| TempoError::bad(format!("invalid step {v:?}")))?,
        None => default_step(start, end),
    };
    let eval = MetricsEvaluator::range(&query, start, end, step).map_err(eval_error)?;
    answer(state, &query, eval, |s| {
        let samples: Vec<Json_> = s
            .points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| json!({ "timestampMs": (t / 1_000_000).to_string(), "value": v }))
            .collect();
        (!samples.is_empty()).then(|| {
            json!({
                "labels": labels(s),
                "promLabels": prom_labels(s),
                "samples": samples,
            })
        })
    })
    .await
}

async fn instant(state: &QueryState, params: &Params) -> Result<Json_, TempoError> {
    let query = metrics_query(params)?;
    let (start, end) = time_range(params)?;
    let eval = MetricsEvaluator::instant(&query, start, end).map_err(eval_error)?;
    answer(state, &query, eval, |s| {
        let value = s.points.first().map(|p| p.1).filter(|v| v.is_finite())?;
        Some(json!({ "labels": labels(s), "value": value }))
    })
    .await
}

/// Runs `eval` over the stored spans and shapes each finished series with
/// `series` (which may leave it out).
async fn answer(
    state: &QueryState,
    query: &CompiledQuery,
    mut eval: MetricsEvaluator<'_>,
    series: impl Fn(&Series) -> Option<Json_>,
) -> Result<Json_, TempoError> {
    let engine = engine(state)?;
    let cost = feed(&engine, query, &mut eval).await?;
    let limited = eval.series_limited();
    let series: Vec<Json_> = eval.finish().iter().filter_map(series).collect();
    Ok(with_status(
        json!({ "series": series, "metrics": metrics(&cost) }),
        &cost,
        limited,
    ))
}

fn eval_error(e: crate::traceql::EvalError) -> TempoError {
    TempoError::bad(e.to_string())
}

/// Feeds every trace in the evaluator's span window to it.
async fn feed(
    engine: &TracesEngine,
    query: &CompiledQuery,
    eval: &mut MetricsEvaluator<'_>,
) -> Result<ReadCost, TempoError> {
    let (lo, hi) = eval.span_window();
    // The window is (lo, hi]; scans take inclusive bounds.
    let window = (lo.saturating_add(1), hi);
    let mut total = ReadCost::default();
    let mut assembler = Assembler::new();
    if !query.span_local() {
        let c = Candidates::scan(engine, query, window, SCAN_SPANS).await?;
        observe_all(engine, query, c, eval, &mut assembler, &mut total).await?;
        return Ok(total);
    }
    // Start from slices the engine's estimate says fit the budget, so few
    // scans are cut short and read again as halves.
    let estimate = engine.estimate_spans(window.0, window.1);
    let slices = (estimate / (SCAN_SPANS as u64 * 3 / 4)).saturating_add(1);
    let mut pending = slices_of(window, slices);
    while let Some((from, to)) = pending.pop() {
        let c = Candidates::scan(engine, query, (from, to), SCAN_SPANS).await?;
        let long = to.saturating_sub(from) >= 2 * MIN_SLICE_NS;
        if c.scan_truncated && long {
            // Two halves, `[from, mid]` and `[mid + 1, to]`, read earlier
            // half first (`pending` is a stack).
            let mid = from + (to - from) / 2;
            pending.push((mid + 1, to));
            pending.push((from, mid));
            total.inspected_bytes += c.cost.inspected_bytes;
            continue;
        }
        observe_all(engine, query, c, eval, &mut assembler, &mut total).await?;
    }
    Ok(total)
}

/// `window` cut into about `n` consecutive inclusive slices of at least
/// [`MIN_SLICE_NS`], latest first in the vector (it is used as a stack, so
/// the earliest is read first).
fn slices_of((from, to): (i64, i64), n: u64) -> Vec<(i64, i64)> {
    let span = i128::from(to) - i128::from(from) + 1;
    let n = i128::from(n.max(1)).min((span / i128::from(MIN_SLICE_NS)).max(1));
    let mut out = Vec::new();
    let mut start = i128::from(from);
    for k in 1..=n {
        let end = if k == n {
            i128::from(to)
        } else {
            i128::from(from) + span * k / n - 1
        };
        if let (Ok(a), Ok(b)) = (i64::try_from(start), i64::try_from(end)) {
            out.push((a, b));
        }
        start = end + 1;
    }
    out.reverse();
    out
}

async fn observe_all(
    engine: &TracesEngine,
    query: &CompiledQuery,
    mut c: Candidates,
    eval: &mut MetricsEvaluator<'_>,
    assembler: &mut Assembler,
    total: &mut ReadCost,
) -> Result<(), TempoError> {
    for id in c.ids() {
        if let Some(trace) = c.trace(engine, assembler, query, id, false).await? {
            eval.observe(&trace);
        }
    }
    total.add(&c.cost);
    Ok(())
}

/// Read statistics, limited to the fields every Tempo release has sent:
/// Grafana decodes instant answers strictly.
fn metrics(cost: &ReadCost) -> Json_ {
    json!({
        "inspectedTraces": cost.inspected_traces,
        "inspectedBytes": cost.inspected_bytes.to_string(),
        "totalBlocks": cost.parts,
        "completedJobs": 1,
        "totalJobs": 1,
    })
}

fn with_status(mut body: Json_, cost: &ReadCost, series_limited: bool) -> Json_ {
    let message = if series_limited {
        Some(format!(
            "too many series: past {MAX_CELLS} accumulator cells (series times steps) the rest were left out; use fewer by() values or a larger step"
        ))
    } else if cost.truncated {
        Some(format!(
            "the range held more than this query can read at once ({SCAN_SPANS} spans, {MAX_TRACE_READS} whole traces); the answer covers part of it"
        ))
    } else {
        None
    };
    if let Some(m) = message {
        body["status"] = json!("PARTIAL");
        body["message"] = json!(m);
    }
    body
}

/// Series labels as OTLP `KeyValue`s, typed as Tempo types them (an
/// integer attribute is an `intValue`, quantile and bucket bounds are
/// `doubleValue`s: Drilldown reads bucket bounds as the series name); a
/// missing `by()` value is left out unless it is the only label.
/// `compare()` series keep theirs: a total names its attribute with the
/// value `nil`, as Tempo sends it, and Drilldown finds the total for an
/// attribute by that label.
fn labels(s: &Series) -> Vec<Json_> {
    let compare = s.labels.iter().any(|(k, _)| k.starts_with("__meta_"));
    let kept: Vec<&(String, Label)> = s
        .labels
        .iter()
        .filter(|(_, v)| compare || *v != Label::Nil)
        .collect();
    let kept = if kept.is_empty() {
        s.labels.iter().take(1).collect()
    } else {
        kept
    };
    kept.into_iter()
        .map(|(k, v)| json!({ "key": k, "value": any_value(v) }))
        .collect()
}

/// An OTLP `AnyValue` in protobuf JSON: int64 as a decimal string, and
/// non-finite doubles by name, since JSON numbers cannot spell them.
fn any_value(v: &Label) -> Json_ {
    match v {
        Label::Str(s) => json!({ "stringValue": s }),
        Label::Int(i) => json!({ "intValue": i.to_string() }),
        Label::Float(f) if f.0.is_nan() => json!({ "doubleValue": "NaN" }),
        Label::Float(f) if f.0 == f64::INFINITY => json!({ "doubleValue": "Infinity" }),
        Label::Float(f) if f.0 == f64::NEG_INFINITY => json!({ "doubleValue": "-Infinity" }),
        Label::Float(f) => json!({ "doubleValue": f.0 }),
        Label::Bool(b) => json!({ "boolValue": b }),
        Label::Nil => json!({ "stringValue": "nil" }),
    }
}

/// Prometheus text form, where every value is a quoted string whatever
/// its type.
fn prom_labels(s: &Series) -> String {
    let inner: Vec<String> = s
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={}", serde_json::Value::String(v.to_string())))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form_tempo_takes() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000_000_000_000));
        assert_eq!(parse_time("1700000000.5"), Some(1_700_000_000_500_000_000));
        assert_eq!(
            parse_time("1700000000123456789"),
            Some(1_700_000_000_123_456_789)
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(parse_time("soon"), None);
    }

    #[test]
    fn slices_cover_the_window_once() {
        for (window, n) in [
            ((0i64, 9_999_999_999i64), 3u64),
            ((5, 5), 4),
            ((-7, 1_000_000_000_000), 7),
            ((i64::MIN, i64::MAX), 1_000),
        ] {
            let mut slices = slices_of(window, n);
            slices.reverse();
            assert_eq!(slices.first().map(|s| s.0), Some(window.0));
            assert_eq!(slices.last().map(|s| s.1), Some(window.1));
            for pair in slices.windows(2) {
                assert_eq!(pair[0].1 + 1, pair[1].0, "{window:?} {n}");
            }
            assert!(slices.iter().all(|(a, b)| a <= b));
            assert!(slices.len() as u64 <= n.max(1));
        }
    }

    #[test]
    fn steps_and_defaults() {
        const S: i64 = 1_000_000_000;
        assert_eq!(parse_span("45s"), Some(45 * S));
        assert_eq!(parse_span("30"), Some(30 * S));
        assert_eq!(parse_span("0.5"), Some(S / 2));
        assert_eq!(default_step(0, 3600 * S), 15 * S);
        assert_eq!(default_step(0, 60 * S), S);
        assert_eq!(default_step(0, 1000 * S), 4 * S);
    }

    fn series(labels: &[(&str, Label)]) -> Series {
        Series {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            points: vec![],
        }
    }

    #[test]
    fn bucket_bounds_are_numbers_and_nil_is_dropped() {
        let s = series(&[
            ("resource.service.name", Label::Nil),
            ("__bucket", Label::from(0.5)),
        ]);
        assert_eq!(
            Json_::Array(labels(&s)),
            json!([{ "key": "__bucket", "value": { "doubleValue": 0.5 } }])
        );
        let only_nil = series(&[("a", Label::Nil)]);
        assert_eq!(
            Json_::Array(labels(&only_nil)),
            json!([{ "key": "a", "value": { "stringValue": "nil" } }])
        );
        // A string that happens to read "nil" is a value, not a missing one.
        let nil_text = series(&[("a", Label::from("nil")), ("b", Label::Nil)]);
        assert_eq!(
            Json_::Array(labels(&nil_text)),
            json!([{ "key": "a", "value": { "stringValue": "nil" } }])
        );
        let total = series(&[
            ("__meta_type", Label::from("baseline_total")),
            ("span.http.method", Label::Nil),
        ]);
        assert_eq!(
            Json_::Array(labels(&total)),
            json!([
                { "key": "__meta_type", "value": { "stringValue": "baseline_total" } },
                { "key": "span.http.method", "value": { "stringValue": "nil" } },
            ])
        );
    }

    #[test]
    fn values_are_typed_as_tempo_types_them() {
        let s = series(&[
            ("span.http.status_code", Label::from(200i64)),
            ("span.cache.hit", Label::from(true)),
            ("span.ratio", Label::from(0.25)),
            ("span.big", Label::from(i64::MAX)),
            ("status", Label::from("error")),
            ("__bucket", Label::from(f64::INFINITY)),
            ("p", Label::from(f64::NAN)),
        ]);
        assert_eq!(
            Json_::Array(labels(&s)),
            json!([
                { "key": "span.http.status_code", "value": { "intValue": "200" } },
                { "key": "span.cache.hit", "value": { "boolValue": true } },
                { "key": "span.ratio", "value": { "doubleValue": 0.25 } },
                { "key": "span.big", "value": { "intValue": "9223372036854775807" } },
                { "key": "status", "value": { "stringValue": "error" } },
                { "key": "__bucket", "value": { "doubleValue": "Infinity" } },
                { "key": "p", "value": { "doubleValue": "NaN" } },
            ])
        );
        assert_eq!(
            prom_labels(&s),
            r#"{span.http.status_code="200", span.cache.hit="true", span.ratio="0.25", span.big="9223372036854775807", status="error", __bucket="inf", p="NaN"}"#
        );
    }
}
