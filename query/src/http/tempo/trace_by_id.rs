//! `GET /api/traces/{id}` and `/api/v2/traces/{id}`: every stored span of a
//! trace, rebuilt as the OTLP the client sent (Tempo's `Trace` message is
//! OTLP's `TracesData` under another package name, so the bytes are the
//! same). Protobuf unless the client asks for JSON, as Grafana asks for
//! protobuf; 404 when nothing is stored, which makes Grafana fall back from
//! v2 to v1 and then say the trace was not found.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_storage::{SpanRow, TraceId};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span, TracesData};
use prost::Message;
use serde::Deserialize;

use crate::QueryState;

/// Optional time hints, unix seconds, as Grafana sends them.
#[derive(Debug, Default, Deserialize)]
pub struct Range {
    start: Option<String>,
    end: Option<String>,
}

/// Tempo's `TraceByIDResponse` (v2).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceByIdResponse {
    /// The trace.
    #[prost(message, optional, tag = "1")]
    pub trace: Option<TracesData>,
    /// Read statistics.
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<TraceByIdMetrics>,
    /// 0 complete, 1 partial.
    #[prost(int32, tag = "3")]
    pub status: i32,
    /// Why partial.
    #[prost(string, tag = "4")]
    pub message: String,
}

/// Tempo's `TraceByIDMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceByIdMetrics {
    /// Bytes read to answer.
    #[prost(uint64, tag = "1")]
    pub inspected_bytes: u64,
}

/// Parses a hex trace id of up to 32 digits, left-padding shorter ones with
/// zeros (64-bit ids, and ids whose leading zeros a client stripped).
pub fn parse_trace_id(text: &str) -> Option<TraceId> {
    if text.is_empty() || text.len() > 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = format!("{text:0>32}");
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(id)
}

fn seconds_to_ns(s: Option<&str>) -> Result<Option<i64>, String> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(|v| Some(v.saturating_mul(1_000_000_000)))
            .map_err(|_| format!("invalid start or end {s:?}: want unix seconds")),
    }
}

/// Rebuilds OTLP from stored rows: one `ResourceSpans` per distinct
/// resource-and-scope blob, spans in start order.
pub fn rows_to_otlp(mut rows: Vec<SpanRow>) -> Result<TracesData, prost::DecodeError> {
    rows.sort_by_key(|r| (r.start_ns, r.span_id));
    let mut groups: Vec<ResourceSpans> = Vec::new();
    let mut index: HashMap<Bytes, usize> = HashMap::new();
    for row in rows {
        let at = match index.get(&row.resource) {
            Some(&i) => i,
            None => {
                let mut rs = ResourceSpans::decode(row.resource.clone())?;
                if rs.scope_spans.is_empty() {
                    rs.scope_spans.push(Default::default());
                }
                groups.push(rs);
                index.insert(row.resource.clone(), groups.len() - 1);
                groups.len() - 1
            }
        };
        let span = Span::decode(row.span)?;
        groups[at].scope_spans[0].spans.push(span);
    }
    Ok(TracesData {
        resource_spans: groups,
    })
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("protobuf"))
}

async fn lookup(
    state: &QueryState,
    id: &str,
    range: &Range,
) -> Result<(TracesData, u64), Response> {
    let Some(trace_id) = parse_trace_id(id) else {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("invalid trace id {id:?}: want up to 32 hex digits"),
        )
            .into_response());
    };
    let bad = |m: String| (StatusCode::BAD_REQUEST, m).into_response();
    let start = seconds_to_ns(range.start.as_deref()).map_err(bad)?;
    let end = seconds_to_ns(range.end.as_deref()).map_err(bad)?;
    let range_ns = match (start, end) {
        (Some(s), Some(e)) if s > 0 || e > 0 => Some((s, e.saturating_add(999_999_999))),
        _ => None,
    };
    let Some(engine) = state.traces.get().cloned() else {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "storage is replaying its write-ahead log",
        )
            .into_response());
    };
    let found = engine.lookup_trace(trace_id, range_ns).await.map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading trace: {e}"),
        )
            .into_response()
    })?;
    if found.spans.is_empty() {
        return Err((StatusCode::NOT_FOUND, "trace not found").into_response());
    }
    let bytes = found.stats.bytes_read;
    let trace = rows_to_otlp(found.spans).map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("stored span does not decode: {e}"),
        )
            .into_response()
    })?;
    Ok((trace, bytes))
}

fn protobuf(body: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/protobuf"),
    );
    resp
}

/// `GET /api/v2/traces/{id}`.
pub async fn v2(
    State(state): State<QueryState>,
    Path(id): Path<String>,
    Query(range): Query<Range>,
    headers: HeaderMap,
) -> Response {
    let (trace, inspected_bytes) = match lookup(&state, &id, &range).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    if wants_json(&headers) {
        return axum::Json(serde_json::json!({ "trace": trace })).into_response();
    }
    protobuf(
        TraceByIdResponse {
            trace: Some(trace),
            metrics: Some(TraceByIdMetrics { inspected_bytes }),
            status: 0,
            message: String::new(),
        }
        .encode_to_vec(),
    )
}

/// `GET /api/traces/{id}`.
pub async fn v1(
    State(state): State<QueryState>,
    Path(id): Path<String>,
    Query(range): Query<Range>,
    headers: HeaderMap,
) -> Response {
    let (trace, _) = match lookup(&state, &id, &range).await {
        Ok(t) => t,
        Err(resp) => return resp,
    };
    if wants_json(&headers) {
        return axum::Json(serde_json::json!({ "batches": trace.resource_spans })).into_response();
    }
    protobuf(trace.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_padded_and_checked() {
        let mut want = [0u8; 16];
        want[8..].copy_from_slice(&[0xab; 8]);
        assert_eq!(parse_trace_id("abababababababab"), Some(want));
        assert_eq!(parse_trace_id("ABABABABABABABAB"), Some(want));
        assert_eq!(parse_trace_id(&"f".repeat(32)), Some([0xff; 16]));
        assert_eq!(parse_trace_id(&"f".repeat(33)), None);
        assert_eq!(parse_trace_id("xyz"), None);
        assert_eq!(parse_trace_id(""), None);
        assert_eq!(parse_trace_id("1").map(|id| id[15]), Some(1));
    }
}
