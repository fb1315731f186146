//! OTLP spans into storage rows. Each span is kept as its own OTLP
//! protobuf, byte for byte, next to the few typed fields storage prunes on;
//! its resource and scope travel as one shared blob per scope (an OTLP
//! `ResourceSpans` holding the resource and the scope but no spans), so a
//! trace is rebuilt as the exact OTLP a Tempo client expects.

use bytes::Bytes;
use hearth_storage::{SpanRow, TracesWrite};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use super::limits::OtlpLimits;

/// The resource attribute naming a span's service.
pub const SERVICE_NAME: &str = "service.name";

/// The spans of a request that can be stored, and what could not.
#[derive(Debug, Default)]
pub struct DecodedTraces {
    /// Rows for storage.
    pub write: TracesWrite,
    /// Spans refused.
    pub rejected: usize,
    /// Why, one line per problem (the first few).
    pub problems: Vec<String>,
}

/// Problems listed; the rest are only counted.
const LISTED_PROBLEMS: usize = 10;

/// Spans in a request, for the whole-request limit.
pub fn span_count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// Converts a request into rows, refusing malformed spans one by one.
pub fn decode_traces(req: ExportTraceServiceRequest, limits: &OtlpLimits) -> DecodedTraces {
    let mut out = DecodedTraces::default();
    for rs in req.resource_spans {
        let ResourceSpans {
            mut resource,
            scope_spans,
            schema_url,
        } = rs;
        if let Some(r) = &mut resource {
            r.dropped_attributes_count += trim_attributes(&mut r.attributes, limits);
        }
        let service_name = resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == SERVICE_NAME))
            .and_then(|kv| string_value(kv.value.as_ref()))
            .unwrap_or_default();
        for ss in scope_spans {
            let ScopeSpans {
                mut scope,
                spans,
                schema_url: scope_schema_url,
            } = ss;
            if let Some(s) = &mut scope {
                s.dropped_attributes_count += trim_attributes(&mut s.attributes, limits);
            }
            let blob = Bytes::from(
                ResourceSpans {
                    resource: resource.clone(),
                    scope_spans: vec![ScopeSpans {
                        scope,
                        spans: Vec::new(),
                        schema_url: scope_schema_url,
                    }],
                    schema_url: schema_url.clone(),
                }
                .encode_to_vec(),
            );
            for span in spans {
                match row(span, &service_name, &blob, limits) {
                    Ok(r) => out.write.spans.push(r),
                    Err(problem) => {
                        out.rejected += 1;
                        if out.problems.len() < LISTED_PROBLEMS {
                            out.problems.push(problem);
                        }
                    }
                }
            }
        }
    }
    out
}

fn string_value(v: Option<&AnyValue>) -> Option<String> {
    match v?.value.as_ref()? {
        Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn row(
    mut span: Span,
    service: &str,
    resource: &Bytes,
    limits: &OtlpLimits,
) -> Result<SpanRow, String> {
    let id = |bytes: &[u8], what: &str, len: usize| -> Result<(), String> {
        if bytes.len() != len || bytes.iter().all(|&b| b == 0) {
            return Err(format!(
                "span {:?}: {what} must be {len} bytes and not all zero, got {} bytes",
                span.name,
                bytes.len()
            ));
        }
        Ok(())
    };
    id(&span.trace_id, "trace id", 16)?;
    id(&span.span_id, "span id", 8)?;
    if !(span.parent_span_id.is_empty() || span.parent_span_id.len() == 8) {
        return Err(format!(
            "span {:?}: parent span id must be empty or 8 bytes, got {}",
            span.name,
            span.parent_span_id.len()
        ));
    }
    let start = i64::try_from(span.start_time_unix_nano)
        .map_err(|_| format!("span {:?}: start time out of range", span.name))?;
    let end = i64::try_from(span.end_time_unix_nano)
        .map_err(|_| format!("span {:?}: end time out of range", span.name))?;
    if end < start {
        return Err(format!("span {:?}: ends before it starts", span.name));
    }
    span.dropped_attributes_count += trim_attributes(&mut span.attributes, limits);
    for e in &mut span.events {
        e.dropped_attributes_count += trim_attributes(&mut e.attributes, limits);
    }
    for l in &mut span.links {
        l.dropped_attributes_count += trim_attributes(&mut l.attributes, limits);
    }
    let mut trace_id = [0u8; 16];
    trace_id.copy_from_slice(&span.trace_id);
    let mut span_id = [0u8; 8];
    span_id.copy_from_slice(&span.span_id);
    let mut parent_span_id = [0u8; 8];
    if span.parent_span_id.len() == 8 {
        parent_span_id.copy_from_slice(&span.parent_span_id);
    }
    Ok(SpanRow {
        trace_id,
        span_id,
        parent_span_id,
        start_ns: start,
        duration_ns: end - start,
        service_name: service.to_owned(),
        name: span.name.clone(),
        kind: span.kind,
        status_code: span.status.as_ref().map_or(0, |s| s.code),
        span: Bytes::from(span.encode_to_vec()),
        resource: resource.clone(),
    })
}

/// Keeps at most `max_attributes` attributes and cuts long string values,
/// as an SDK's limits would; returns how many attributes were dropped.
fn trim_attributes(attrs: &mut Vec<KeyValue>, limits: &OtlpLimits) -> u32 {
    let dropped = attrs.len().saturating_sub(limits.max_attributes);
    attrs.truncate(limits.max_attributes);
    for kv in attrs.iter_mut() {
        if let Some(AnyValue {
            value: Some(Value::StringValue(s)),
        }) = &mut kv.value
            && s.len() > limits.max_attribute_value_bytes
        {
            let mut cut = limits.max_attribute_value_bytes;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
    }
    u32::try_from(dropped).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::Status;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn span(trace: u8, id: u8, parent: Option<u8>) -> Span {
        Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: format!("op-{id}"),
            kind: 2,
            start_time_unix_nano: 1_000,
            end_time_unix_nano: 1_500,
            status: Some(Status {
                code: 2,
                message: "boom".into(),
            }),
            attributes: vec![kv("http.route", "/pay")],
            ..Default::default()
        }
    }

    fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", "checkout")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        ..Default::default()
                    }),
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn spans_keep_their_bytes_and_typed_fields() {
        let s = span(7, 1, None);
        let out = decode_traces(request(vec![s.clone()]), &OtlpLimits::default());
        assert_eq!(out.rejected, 0);
        let r = &out.write.spans[0];
        assert_eq!(r.trace_id, [7; 16]);
        assert_eq!(r.span_id, [1; 8]);
        assert_eq!(r.parent_span_id, [0; 8]);
        assert_eq!((r.start_ns, r.duration_ns), (1_000, 500));
        assert_eq!(r.service_name, "checkout");
        assert_eq!(r.name, "op-1");
        assert_eq!((r.kind, r.status_code), (2, 2));
        assert_eq!(Span::decode(r.span.clone()).unwrap(), s);
        let res = ResourceSpans::decode(r.resource.clone()).unwrap();
        assert_eq!(res.scope_spans[0].scope.as_ref().unwrap().name, "lib");
        assert!(res.scope_spans[0].spans.is_empty());
    }

    #[test]
    fn malformed_spans_are_refused_one_by_one() {
        let mut no_trace = span(0, 1, None);
        no_trace.trace_id = vec![0; 16];
        let mut short_parent = span(7, 2, None);
        short_parent.parent_span_id = vec![1, 2];
        let mut backwards = span(7, 3, None);
        backwards.end_time_unix_nano = 10;
        let good = span(7, 4, Some(1));
        let out = decode_traces(
            request(vec![no_trace, short_parent, backwards, good]),
            &OtlpLimits::default(),
        );
        assert_eq!(out.rejected, 3);
        assert_eq!(out.problems.len(), 3);
        assert_eq!(out.write.spans.len(), 1);
        assert_eq!(out.write.spans[0].parent_span_id, [1; 8]);
    }

    #[test]
    fn attributes_over_the_limit_are_dropped_and_counted() {
        let mut s = span(7, 1, None);
        s.attributes = (0..5).map(|i| kv(&format!("k{i}"), "vvvvvvvv")).collect();
        let limits = OtlpLimits {
            max_attributes: 3,
            max_attribute_value_bytes: 4,
            ..OtlpLimits::default()
        };
        let out = decode_traces(request(vec![s]), &limits);
        let kept = Span::decode(out.write.spans[0].span.clone()).unwrap();
        assert_eq!(kept.attributes.len(), 3);
        assert_eq!(kept.dropped_attributes_count, 2);
        assert_eq!(
            string_value(kept.attributes[0].value.as_ref()).unwrap(),
            "vvvv"
        );
    }
}
