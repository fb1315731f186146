//! `GET /api/search`: the traces matching a TraceQL query (or the older
//! `tags=` form) in a time range, as Tempo's `SearchResponse` in protobuf
//! JSON. Grafana's Tempo data source decodes that JSON strictly (unknown
//! fields are errors), so the answer carries only fields Tempo has had
//! for years.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json_, json};

use super::assemble::Assembler;
use super::candidates::{Candidates, ReadCost};
use super::params::{TempoError, engine, legacy_query, seconds_range};
use crate::QueryState;
use crate::traceql::model::{Trace, Value, hex};
use crate::traceql::{CompiledQuery, SpanSet, compile, format_duration};
use hearth_storage::TracesEngine;

/// Traces returned when the client names no limit (Tempo's default).
const DEFAULT_LIMIT: usize = 20;
/// Spans listed per spanset when the client names no `spss`.
const DEFAULT_SPSS: usize = 3;
/// Larger `limit` and `spss` values are cut to these, which keep an
/// answer's size in check (Tempo caps both too).
const MAX_LIMIT: usize = 5_000;
const MAX_SPSS: usize = 1_000;
/// Spans a search scans, pass by pass: the last bounds memory; a search
/// that hits it says so in the log and answers from what it read (the
/// heads and the newest parts first; within a part, in trace-id order).
const SEARCH_SCAN_BUDGETS: &[usize] = &[20_000, 200_000];

/// What Tempo puts in `rootServiceName` for a trace whose root span has
/// not arrived.
const NO_ROOT: &str = "<root span not yet received>";

/// `GET /api/search`.
pub async fn search(
    State(state): State<QueryState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match run(&state, &params).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn run(state: &QueryState, params: &HashMap<String, String>) -> Result<Json_, TempoError> {
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let limit = positive(get("limit"), "limit", DEFAULT_LIMIT)?.min(MAX_LIMIT);
    let spss = positive(get("spss"), "spss", DEFAULT_SPSS)?.min(MAX_SPSS);
    let range = seconds_range(get("start"), get("end"))?;
    let text = match (get("q"), get("tags")) {
        (Some(_), Some(_)) => {
            return Err(TempoError::bad(
                "invalid request: tags and q cannot both be set",
            ));
        }
        (Some(q), None) => q.to_string(),
        (None, tags) => {
            let mut pairs = BTreeMap::new();
            if let Some(tags) = tags {
                pairs = super::params::logfmt(tags).map_err(TempoError::bad)?;
            } else if get("start").is_none() && get("end").is_none() {
                // Tempo's oldest form: any other parameter is a tag.
                for (k, v) in params {
                    if !RESERVED.contains(&k.as_str()) {
                        pairs.insert(k.clone(), v.clone());
                    }
                }
            }
            legacy_query(&pairs, get("minDuration"), get("maxDuration")).map_err(TempoError::bad)?
        }
    };
    let query =
        compile(&text).map_err(|e| TempoError::bad(format!("invalid TraceQL query: {e}")))?;
    if query.is_metrics() {
        return Err(TempoError::bad(
            "invalid TraceQL query: metrics queries go to /api/metrics/query_range",
        ));
    }
    let engine = engine(state)?;
    // Most searches are answered by the newest few thousand spans, so a
    // small scan goes first and a larger one only when that found too few.
    let mut passes = SEARCH_SCAN_BUDGETS.iter().peekable();
    let mut inspected = ReadCost::default();
    let mut traces = Vec::new();
    while let Some(&budget) = passes.next() {
        let mut candidates = Candidates::scan(&engine, &query, range, budget).await?;
        let exhausted;
        (traces, exhausted) = matches(&engine, &query, &mut candidates, limit, spss).await?;
        inspected.add(&candidates.cost);
        // A second pass would only repeat the reads that ran out.
        if traces.len() >= limit || !candidates.scan_truncated || !exhausted {
            break;
        }
        if passes.peek().is_none() {
            tracing::info!(query = %text, "search scanned its span budget; older traces were not looked at");
        }
    }
    let cost = inspected;
    Ok(json!({
        "traces": traces,
        "metrics": {
            "inspectedTraces": cost.inspected_traces,
            "inspectedBytes": cost.inspected_bytes.to_string(),
            "totalBlocks": cost.parts,
            "completedJobs": 1,
            "totalJobs": 1,
        },
    }))
}

/// Evaluates candidates newest first until `limit` traces match; also
/// whether every candidate was looked at.
async fn matches(
    engine: &TracesEngine,
    query: &CompiledQuery,
    candidates: &mut Candidates,
    limit: usize,
    spss: usize,
) -> Result<(Vec<Json_>, bool), TempoError> {
    let mut assembler = Assembler::new();
    let mut traces = Vec::new();
    for id in candidates.ids() {
        if traces.len() >= limit {
            return Ok((traces, false));
        }
        let Some(trace) = candidates
            .trace(engine, &mut assembler, query, id, true)
            .await?
        else {
            continue;
        };
        let sets = query.eval_trace(&trace);
        if !sets.is_empty() {
            traces.push(metadata(query, &trace, &sets, spss));
        }
    }
    Ok((traces, !candidates.reads_ran_out))
}

/// Query parameters that are never tags.
const RESERVED: &[&str] = &[
    "q",
    "tags",
    "limit",
    "spss",
    "start",
    "end",
    "minDuration",
    "maxDuration",
];

fn positive(v: Option<&str>, name: &str, default: usize) -> Result<usize, TempoError> {
    let Some(v) = v else { return Ok(default) };
    match v.trim().parse::<usize>() {
        Ok(0) => Err(TempoError::bad(format!(
            "invalid {name}: must be a positive number"
        ))),
        Ok(n) => Ok(n),
        Err(_) => Err(TempoError::bad(format!(
            "invalid {name} {v:?}: want a positive integer"
        ))),
    }
}

/// Tempo's `TraceSearchMetadata` for one matching trace.
fn metadata(query: &CompiledQuery, trace: &Trace, sets: &[SpanSet], spss: usize) -> Json_ {
    let (root_service, root_name) = match trace.root() {
        Some(root) => (root.service_name().unwrap_or_default(), root.name.as_str()),
        None => (NO_ROOT, ""),
    };
    let mut stats: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for span in trace.spans() {
        let entry = stats
            .entry(span.service_name().unwrap_or_default())
            .or_default();
        entry.0 += 1;
        if span.status == crate::traceql::model::StatusCode::Error {
            entry.1 += 1;
        }
    }
    let span_sets: Vec<Json_> = sets
        .iter()
        .map(|s| span_set(query, trace, s, spss))
        .collect();
    let mut out = json!({
        "traceID": trace_id_hex(&trace.trace_id()),
        "rootServiceName": root_service,
        "startTimeUnixNano": trace.start_ns().to_string(),
        "durationMs": u32::try_from(trace.duration_ns() / 1_000_000).unwrap_or(u32::MAX),
        "spanSets": span_sets,
        "serviceStats": stats
            .into_iter()
            .map(|(svc, (spans, errors))| {
                let mut s = json!({ "spanCount": spans });
                if errors > 0 {
                    s["errorCount"] = json!(errors);
                }
                (svc.to_string(), s)
            })
            .collect::<serde_json::Map<_, _>>(),
    });
    if !root_name.is_empty() {
        out["rootTraceName"] = json!(root_name);
    }
    // Older Grafana reads the single deprecated `spanSet`.
    if let Some(first) = span_sets.first() {
        out["spanSet"] = first.clone();
    }
    out
}

fn span_set(query: &CompiledQuery, trace: &Trace, set: &SpanSet, spss: usize) -> Json_ {
    let spans: Vec<Json_> = set
        .spans
        .iter()
        .take(spss)
        .filter_map(|m| {
            let span = trace.spans().get(m.index)?;
            let mut attrs = query.filter_fields(trace, m.index);
            for (k, v) in &m.attributes {
                // Tempo names selected attributes by key, without scope.
                let key = unscoped(k);
                if !attrs.iter().any(|(n, _)| n == key) {
                    attrs.push((key.to_string(), v.clone()));
                }
            }
            let mut out = json!({
                "spanID": hex(&span.span_id),
                "name": span.name,
                "startTimeUnixNano": span.start_ns.to_string(),
                "durationNanos": span.duration_ns.to_string(),
            });
            let attrs = key_values(&attrs);
            if !attrs.is_empty() {
                out["attributes"] = Json_::Array(attrs);
            }
            Some(out)
        })
        .collect();
    let mut out = json!({ "spans": spans, "matched": set.matched });
    let attrs = key_values(&set.attributes);
    if !attrs.is_empty() {
        out["attributes"] = Json_::Array(attrs);
    }
    out
}

/// An attribute reference without its scope: `resource.service.name` and
/// `.service.name` are both `service.name`; intrinsics stay as written.
fn unscoped(field: &str) -> &str {
    for scope in [
        "resource.",
        "span.",
        "event.",
        "link.",
        "instrumentation.",
        ".",
    ] {
        if let Some(rest) = field.strip_prefix(scope) {
            return rest;
        }
    }
    field
}

/// `(name, value)` pairs as OTLP JSON `KeyValue`s; nil values are left out.
pub fn key_values(pairs: &[(String, Value)]) -> Vec<Json_> {
    pairs
        .iter()
        .filter_map(|(k, v)| Some(json!({ "key": k, "value": any_value(v)? })))
        .collect()
}

fn any_value(v: &Value) -> Option<Json_> {
    Some(match v {
        Value::Str(s) => json!({ "stringValue": s }),
        Value::Int(i) => json!({ "intValue": i.to_string() }),
        Value::Float(f) if f.is_finite() => json!({ "doubleValue": f }),
        Value::Float(f) => json!({ "stringValue": f.to_string() }),
        Value::Bool(b) => json!({ "boolValue": b }),
        Value::Duration(d) => json!({ "stringValue": format_duration(*d) }),
        Value::Status(s) => json!({ "stringValue": s.keyword() }),
        Value::Kind(k) => json!({ "stringValue": k.keyword() }),
        Value::Nil => return None,
        Value::Array(items) => {
            json!({ "arrayValue": { "values": items.iter().filter_map(any_value).collect::<Vec<_>>() } })
        }
    })
}

/// Tempo writes trace ids in hex without leading zeros; clients pad them
/// back.
fn trace_id_hex(id: &[u8; 16]) -> String {
    let full = hex(id);
    let trimmed = full.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

impl From<hearth_storage::Error> for TempoError {
    fn from(e: hearth_storage::Error) -> Self {
        TempoError::internal(e)
    }
}

impl IntoResponse for TempoError {
    fn into_response(self) -> Response {
        let status = match self {
            TempoError::Bad(_) => StatusCode::BAD_REQUEST,
            TempoError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            TempoError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_lose_leading_zeros() {
        let mut id = [0u8; 16];
        id[15] = 0xab;
        assert_eq!(trace_id_hex(&id), "ab");
        assert_eq!(trace_id_hex(&[0x10; 16]), "10".repeat(16));
        assert_eq!(trace_id_hex(&[0; 16]), "0");
    }

    #[test]
    fn a_trace_without_its_root_says_so() {
        use crate::traceql::model::Span;
        let mut orphan = Span::new([2; 8], Some([1; 8]), "child");
        orphan.start_ns = 5_000_000;
        orphan.duration_ns = 3_000_000;
        let trace = Trace::new([9; 16], vec![orphan]);
        let query = compile("{}").expect("parses");
        let sets = query.eval_trace(&trace);
        let meta = metadata(&query, &trace, &sets, 3);
        assert_eq!(meta["rootServiceName"], NO_ROOT);
        assert!(meta.get("rootTraceName").is_none(), "{meta}");
        assert_eq!(meta["durationMs"], 3);
        assert_eq!(meta["startTimeUnixNano"], "5000000");
        assert_eq!(meta["serviceStats"], json!({ "": { "spanCount": 1 } }));
    }

    #[test]
    fn selected_fields_lose_their_scope() {
        assert_eq!(unscoped("resource.service.name"), "service.name");
        assert_eq!(unscoped(".http.method"), "http.method");
        assert_eq!(unscoped("span.db.system"), "db.system");
        assert_eq!(unscoped("status"), "status");
        assert_eq!(unscoped("span:name"), "span:name");
    }

    #[test]
    fn limits_must_be_positive() {
        assert_eq!(positive(None, "limit", 20).ok(), Some(20));
        assert_eq!(positive(Some("5"), "limit", 20).ok(), Some(5));
        assert!(positive(Some("0"), "limit", 20).is_err());
        assert!(positive(Some("x"), "limit", 20).is_err());
    }

    #[test]
    fn values_use_otlp_json_names() {
        let kv = key_values(&[
            ("a".into(), Value::Int(3)),
            ("b".into(), Value::Nil),
            ("c".into(), Value::Duration(1_500_000)),
        ]);
        assert_eq!(
            Json_::Array(kv),
            json!([
                {"key": "a", "value": {"intValue": "3"}},
                {"key": "c", "value": {"stringValue": "1500us"}},
            ])
        );
    }
}
