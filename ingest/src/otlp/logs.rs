//! OTLP logs into the logs store, shaped as Loki 3's native OTLP endpoint
//! shapes them, so LogQL written against Loki finds the same streams:
//!
//! - stream labels: the resource attributes named in
//!   [`OtlpLogsOptions::stream_label_attributes`] (dots become `_`), plus
//!   `service_name`;
//! - the line: the body, a string as sent, anything else as JSON;
//! - structured metadata: every other resource, scope and record attribute
//!   (maps flattened with `_`), `scope_name`/`scope_version`,
//!   `severity_text`, `severity_number`, `trace_id`, `span_id` and `flags`,
//!   so a line links to its trace;
//! - the time: `time_unix_nano`, else `observed_time_unix_nano`, else now.
//!
//! Validation and limits are Loki push's own ([`crate::loki_push::Limits`]).

use bytes::Bytes;
use hearth_storage::{Label, LogEntry};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use super::attrs::{flatten, label_name};
use super::value::{attribute_string, hex};
use crate::loki_push::Limits;
use crate::loki_push::decode::Decoded;
use crate::loki_push::validate::{
    Builder, EntryProblem, RawEntry, SERVICE_NAME_LABEL, StreamLabels, UNKNOWN_SERVICE,
};

/// Resource attributes Loki indexes as stream labels by default.
pub const DEFAULT_STREAM_LABEL_ATTRIBUTES: [&str; 18] = [
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
];

/// How OTLP log records become streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtlpLogsOptions {
    /// Resource attributes that become stream labels (the rest become
    /// structured metadata). Default: [`DEFAULT_STREAM_LABEL_ATTRIBUTES`].
    pub stream_label_attributes: Vec<String>,
}

impl Default for OtlpLogsOptions {
    fn default() -> Self {
        Self {
            stream_label_attributes: DEFAULT_STREAM_LABEL_ATTRIBUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// Converts and validates a request. A request over Loki push's
/// whole-request limits is refused (the reason is the error); otherwise
/// records that fail validation are listed in [`Decoded::rejected`] and the
/// rest are kept.
pub fn decode_logs(
    req: &ExportLogsServiceRequest,
    opts: &OtlpLogsOptions,
    limits: &Limits,
    now_ns: i64,
) -> Result<Decoded, String> {
    if let Some(refusal) = over_request_limits(req, limits) {
        return Err(refusal);
    }
    let mut builder = Builder::new(limits);
    for rl in &req.resource_logs {
        let resource_attrs = rl
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut resource_metadata: Vec<(String, String)> = Vec::new();
        let mut flat = Vec::new();
        flatten(resource_attrs, &mut flat);
        for (name, value) in flat {
            if value.is_empty() {
                continue;
            }
            if opts.stream_label_attributes.contains(&name) {
                labels.push((label_name(&name), value));
            } else {
                resource_metadata.push((label_name(&name), value));
            }
        }
        if !labels.iter().any(|(n, _)| n == SERVICE_NAME_LABEL) {
            labels.push((SERVICE_NAME_LABEL.to_owned(), UNKNOWN_SERVICE.to_owned()));
        }
        let mut entries: Vec<RawEntry> = Vec::new();
        for sl in &rl.scope_logs {
            let mut scope_metadata = resource_metadata.clone();
            if let Some(scope) = &sl.scope {
                if !scope.name.is_empty() {
                    scope_metadata.push(("scope_name".into(), scope.name.clone()));
                }
                if !scope.version.is_empty() {
                    scope_metadata.push(("scope_version".into(), scope.version.clone()));
                }
                let mut flat = Vec::new();
                flatten(&scope.attributes, &mut flat);
                scope_metadata.extend(flat.into_iter().map(|(n, v)| (label_name(&n), v)));
            }
            for record in &sl.log_records {
                entries.push(entry(record, &scope_metadata, limits, now_ns));
            }
        }
        if entries.is_empty() {
            continue;
        }
        let count = labels.len();
        builder.finish_stream(
            StreamLabels::Pairs {
                pairs: labels,
                count,
            },
            entries,
        );
    }
    Ok(builder.out)
}

/// Whether a request goes over Loki push's whole-request limits.
fn over_request_limits(req: &ExportLogsServiceRequest, limits: &Limits) -> Option<String> {
    let streams = req.resource_logs.len();
    let records: usize = req
        .resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum();
    if streams > limits.max_streams_per_request {
        Some(format!(
            "request has {streams} resources, more than the limit of {}",
            limits.max_streams_per_request
        ))
    } else if records > limits.max_entries_per_request {
        Some(format!(
            "request has {records} log records, more than the limit of {}",
            limits.max_entries_per_request
        ))
    } else {
        None
    }
}

fn entry(
    record: &LogRecord,
    scope_metadata: &[(String, String)],
    limits: &Limits,
    now_ns: i64,
) -> RawEntry {
    let ts = [record.time_unix_nano, record.observed_time_unix_nano]
        .into_iter()
        .find(|&t| t != 0)
        .map_or(Ok(now_ns), i64::try_from);
    let ts_ns = ts.map_err(|_| EntryProblem::TimestampOutOfRange {
        seconds: (record.time_unix_nano / 1_000_000_000) as i64,
        nanos: (record.time_unix_nano % 1_000_000_000) as i32,
    })?;
    let mut metadata: Vec<(String, String)> = scope_metadata.to_vec();
    let mut flat = Vec::new();
    flatten(&record.attributes, &mut flat);
    metadata.extend(flat.into_iter().map(|(n, v)| (label_name(&n), v)));
    if !record.severity_text.is_empty() {
        metadata.push(("severity_text".into(), record.severity_text.clone()));
    }
    if record.severity_number != 0 {
        metadata.push(("severity_number".into(), record.severity_number.to_string()));
    }
    if !record.trace_id.is_empty() && record.trace_id.iter().any(|&b| b != 0) {
        metadata.push(("trace_id".into(), hex(&record.trace_id)));
    }
    if !record.span_id.is_empty() && record.span_id.iter().any(|&b| b != 0) {
        metadata.push(("span_id".into(), hex(&record.span_id)));
    }
    if record.flags != 0 {
        metadata.push(("flags".into(), record.flags.to_string()));
    }
    if !record.event_name.is_empty() {
        metadata.push(("event_name".into(), record.event_name.clone()));
    }
    // Empty values carry nothing a query could match on, as in Loki.
    metadata.retain(|(_, v)| !v.is_empty());
    if metadata.len() > limits.max_structured_metadata_entries {
        return Err(EntryProblem::TooManyStructuredMetadata {
            count: metadata.len(),
        });
    }
    Ok(LogEntry {
        ts_ns,
        line: Bytes::from(attribute_string(record.body.as_ref())),
        structured_metadata: metadata
            .into_iter()
            .map(|(n, v)| Label::new(n, v))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn request(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", "checkout"),
                        kv("k8s.namespace.name", "shop"),
                        kv("host.name", "node-1"),
                    ],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "app.logger".into(),
                        ..Default::default()
                    }),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn meta<'a>(e: &'a LogEntry, name: &str) -> Option<&'a str> {
        e.structured_metadata
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_str())
    }

    #[test]
    fn a_record_becomes_a_loki_entry() {
        let req = request(vec![LogRecord {
            time_unix_nano: 1_700_000_000_123_456_789,
            severity_number: 17,
            severity_text: "ERROR".into(),
            body: Some(AnyValue {
                value: Some(Value::StringValue("db timeout".into())),
            }),
            attributes: vec![kv("retry.count", "3")],
            trace_id: vec![0x5b; 16],
            span_id: vec![0xee; 8],
            ..Default::default()
        }]);
        let out = decode_logs(&req, &OtlpLogsOptions::default(), &Limits::default(), 1).unwrap();
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let stream = &out.write.streams[0];
        assert_eq!(
            stream.labels.to_string(),
            r#"{k8s_namespace_name="shop", service_name="checkout"}"#
        );
        let e = &stream.entries[0];
        assert_eq!(e.ts_ns, 1_700_000_000_123_456_789);
        assert_eq!(&e.line[..], b"db timeout");
        assert_eq!(meta(e, "host_name"), Some("node-1"));
        assert_eq!(meta(e, "scope_name"), Some("app.logger"));
        assert_eq!(meta(e, "retry_count"), Some("3"));
        assert_eq!(meta(e, "severity_text"), Some("ERROR"));
        assert_eq!(meta(e, "severity_number"), Some("17"));
        assert_eq!(
            meta(e, "trace_id"),
            Some("5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b")
        );
        assert_eq!(meta(e, "span_id"), Some("eeeeeeeeeeeeeeee"));
        assert_eq!(meta(e, "detected_level"), Some("error"));
    }

    #[test]
    fn missing_time_falls_back_to_observed_then_now() {
        let req = request(vec![
            LogRecord {
                observed_time_unix_nano: 42,
                ..Default::default()
            },
            LogRecord::default(),
        ]);
        let out = decode_logs(&req, &OtlpLogsOptions::default(), &Limits::default(), 7).unwrap();
        let ts: Vec<i64> = out.write.streams[0]
            .entries
            .iter()
            .map(|e| e.ts_ns)
            .collect();
        assert_eq!(ts, vec![42, 7]);
    }

    #[test]
    fn no_service_gets_unknown_service_and_structured_bodies_are_json() {
        let mut req = request(vec![LogRecord {
            time_unix_nano: 5,
            body: Some(AnyValue {
                value: Some(Value::KvlistValue(
                    opentelemetry_proto::tonic::common::v1::KeyValueList {
                        values: vec![kv("msg", "hi")],
                    },
                )),
            }),
            ..Default::default()
        }]);
        req.resource_logs[0].resource = None;
        let out = decode_logs(&req, &OtlpLogsOptions::default(), &Limits::default(), 1).unwrap();
        let stream = &out.write.streams[0];
        assert_eq!(
            stream.labels.to_string(),
            r#"{service_name="unknown_service"}"#
        );
        assert_eq!(&stream.entries[0].line[..], br#"{"msg":"hi"}"#);
    }

    #[test]
    fn an_over_long_line_is_rejected_alone() {
        let limits = Limits {
            max_line_bytes: 4,
            ..Limits::default()
        };
        let line = |s: &str| AnyValue {
            value: Some(Value::StringValue(s.into())),
        };
        let req = request(vec![
            LogRecord {
                time_unix_nano: 1,
                body: Some(line("toolong")),
                ..Default::default()
            },
            LogRecord {
                time_unix_nano: 2,
                body: Some(line("ok")),
                ..Default::default()
            },
        ]);
        let out = decode_logs(&req, &OtlpLogsOptions::default(), &limits, 1).unwrap();
        assert_eq!(out.write.entry_count(), 1);
        assert_eq!(out.rejected_entries(), 1);
    }
}
