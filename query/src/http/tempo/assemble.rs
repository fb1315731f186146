//! Stored span rows back into the trace the TraceQL evaluator reads. A row
//! keeps its span as the OTLP bytes the client sent and its resource and
//! scope as a blob shared by every span of one batch, so each distinct blob
//! is decoded once per request and shared through `Arc`s as OTLP shares it.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use hearth_storage::{SpanRow, TraceId};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span as OtlpSpan, span, status};
use prost::Message;

use crate::traceql::model::{
    Attr, AttrValue, Event, Link, Resource, Scope, Span, SpanKind, StatusCode, Trace,
};

/// A stored span or resource blob that no longer decodes: storage
/// corruption, never bad input.
#[derive(Debug, thiserror::Error)]
#[error("stored {what} does not decode: {source}")]
pub struct AssembleError {
    what: &'static str,
    source: prost::DecodeError,
}

/// Decodes rows into traces, remembering the resource blobs it has seen.
#[derive(Default)]
pub struct Assembler {
    resources: HashMap<Bytes, (Arc<Resource>, Arc<Scope>)>,
}

impl Assembler {
    /// A fresh assembler with an empty blob cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The trace made of `rows` (all of one trace id).
    pub fn trace(&mut self, trace_id: TraceId, rows: &[SpanRow]) -> Result<Trace, AssembleError> {
        let mut spans = Vec::with_capacity(rows.len());
        for row in rows {
            spans.push(self.span(row)?);
        }
        Ok(Trace::new(trace_id, spans))
    }

    fn span(&mut self, row: &SpanRow) -> Result<Span, AssembleError> {
        let (resource, scope) = self.resource(&row.resource)?;
        let otlp = OtlpSpan::decode(row.span.clone()).map_err(|source| AssembleError {
            what: "span",
            source,
        })?;
        let status = otlp.status.as_ref();
        Ok(Span {
            span_id: row.span_id,
            parent_span_id: (row.parent_span_id != [0; 8]).then_some(row.parent_span_id),
            name: otlp.name,
            kind: kind_of(row.kind),
            status: status_of(row.status_code),
            status_message: status.map(|s| s.message.clone()).unwrap_or_default(),
            start_ns: u64::try_from(row.start_ns).unwrap_or(0),
            duration_ns: u64::try_from(row.duration_ns).unwrap_or(0),
            attributes: attrs(otlp.attributes),
            resource,
            scope,
            events: otlp
                .events
                .into_iter()
                .map(|e| event(e, otlp.start_time_unix_nano))
                .collect(),
            links: otlp.links.into_iter().map(link).collect(),
        })
    }

    fn resource(&mut self, blob: &Bytes) -> Result<(Arc<Resource>, Arc<Scope>), AssembleError> {
        if let Some((r, s)) = self.resources.get(blob) {
            return Ok((Arc::clone(r), Arc::clone(s)));
        }
        let decoded = ResourceSpans::decode(blob.clone()).map_err(|source| AssembleError {
            what: "resource",
            source,
        })?;
        let resource = Arc::new(Resource {
            attributes: decoded
                .resource
                .map(|r| attrs(r.attributes))
                .unwrap_or_default(),
        });
        let scope = Arc::new(
            decoded
                .scope_spans
                .into_iter()
                .next()
                .and_then(|s| s.scope)
                .map(|s| Scope {
                    name: s.name,
                    version: s.version,
                    attributes: attrs(s.attributes),
                })
                .unwrap_or_default(),
        );
        self.resources
            .insert(blob.clone(), (Arc::clone(&resource), Arc::clone(&scope)));
        Ok((resource, scope))
    }
}

/// The OTLP `SpanKind` number as TraceQL's kind; unknown numbers read as
/// unspecified, as Tempo reads them.
pub fn kind_of(kind: i32) -> SpanKind {
    match span::SpanKind::try_from(kind) {
        Ok(span::SpanKind::Internal) => SpanKind::Internal,
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        _ => SpanKind::Unspecified,
    }
}

/// The OTLP status code number as TraceQL's status.
pub fn status_of(code: i32) -> StatusCode {
    match status::StatusCode::try_from(code) {
        Ok(status::StatusCode::Ok) => StatusCode::Ok,
        Ok(status::StatusCode::Error) => StatusCode::Error,
        _ => StatusCode::Unset,
    }
}

fn event(e: opentelemetry_proto::tonic::trace::v1::span::Event, span_start: u64) -> Event {
    Event {
        name: e.name,
        time_since_start_ns: e.time_unix_nano.saturating_sub(span_start),
        attributes: attrs(e.attributes),
    }
}

fn link(l: opentelemetry_proto::tonic::trace::v1::span::Link) -> Link {
    Link {
        trace_id: l.trace_id.as_slice().try_into().unwrap_or([0; 16]),
        span_id: l.span_id.as_slice().try_into().unwrap_or([0; 8]),
        attributes: attrs(l.attributes),
    }
}

/// OTLP attributes as TraceQL sees them. Map values have no TraceQL form
/// (Tempo does not index them either), so such attributes are left out.
pub fn attrs(kvs: Vec<KeyValue>) -> Vec<Attr> {
    kvs.into_iter()
        .filter_map(|kv| Some(Attr::new(kv.key, attr_value(kv.value?)?)))
        .collect()
}

fn attr_value(v: AnyValue) -> Option<AttrValue> {
    Some(match v.value? {
        any_value::Value::StringValue(s) => AttrValue::Str(s),
        any_value::Value::BoolValue(b) => AttrValue::Bool(b),
        any_value::Value::IntValue(i) => AttrValue::Int(i),
        any_value::Value::DoubleValue(f) => AttrValue::Float(f),
        any_value::Value::BytesValue(b) => AttrValue::Bytes(b),
        any_value::Value::ArrayValue(a) => {
            AttrValue::Array(a.values.into_iter().filter_map(attr_value).collect())
        }
        // Maps have no TraceQL form; string-table references only occur
        // in profiles, never in spans.
        any_value::Value::KvlistValue(_) | any_value::Value::StringValueStrindex(_) => {
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Status};

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn row(span_id: u8, parent: u8, resource: &Bytes) -> SpanRow {
        let otlp = OtlpSpan {
            trace_id: vec![7; 16],
            span_id: vec![span_id; 8],
            parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
            name: format!("op{span_id}"),
            kind: 2,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 3_000,
            attributes: vec![
                kv("http.status_code", any_value::Value::IntValue(500)),
                kv("nested", any_value::Value::KvlistValue(Default::default())),
            ],
            events: vec![span::Event {
                time_unix_nano: 1_500,
                name: "retry".into(),
                ..Default::default()
            }],
            status: Some(Status {
                message: "boom".into(),
                code: 2,
            }),
            ..Default::default()
        };
        SpanRow {
            trace_id: [7; 16],
            span_id: [span_id; 8],
            parent_span_id: [parent; 8],
            start_ns: 1_000,
            duration_ns: 2_000,
            service_name: "svc".into(),
            name: otlp.name.clone(),
            kind: 2,
            status_code: 2,
            span: otlp.encode_to_vec().into(),
            resource: resource.clone(),
        }
    }

    #[test]
    fn rows_become_a_trace_sharing_one_resource() {
        let blob: Bytes = ResourceSpans {
            resource: Some(OtlpResource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("svc".into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "lib".into(),
                    version: "1.0".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_to_vec()
        .into();
        let mut asm = Assembler::new();
        let trace = asm
            .trace([7; 16], &[row(1, 0, &blob), row(2, 1, &blob)])
            .expect("decodes");
        let spans = trace.spans();
        assert_eq!(spans.len(), 2);
        assert!(Arc::ptr_eq(&spans[0].resource, &spans[1].resource));
        assert_eq!(spans[0].service_name(), Some("svc"));
        assert_eq!(spans[0].scope.name, "lib");
        assert_eq!(spans[0].kind, SpanKind::Server);
        assert_eq!(spans[0].status, StatusCode::Error);
        assert_eq!(spans[0].status_message, "boom");
        assert_eq!(spans[0].parent_span_id, None);
        assert_eq!(spans[1].parent_span_id, Some([1; 8]));
        assert_eq!(spans[0].attributes.len(), 1, "maps are left out");
        assert_eq!(spans[0].events[0].time_since_start_ns, 500);
        assert_eq!(trace.root_name(), Some("op1"));
        assert_eq!(trace.duration_ns(), 2_000);
    }

    #[test]
    fn a_corrupt_blob_is_an_error_not_a_panic() {
        let blob = Bytes::from_static(&[0xff, 0xff, 0xff]);
        let mut asm = Assembler::new();
        assert!(asm.trace([7; 16], &[row(1, 0, &blob)]).is_err());
    }
}
