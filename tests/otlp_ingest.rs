//! OTLP ingest end to end: the real binary takes OTLP logs and metrics over
//! OTLP/HTTP (protobuf, JSON, gzip; on the main port and the OTLP port) and
//! gRPC (a tonic client), and LogQL and PromQL find them. Also the error
//! answers exporters act on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use common::{Hearth, now_ns, urlencode};
use hearth_ingest::otlp::codec::RpcStatus;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::Value as Json;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn logs_request(service: &str, lines: &[&str], ts: u64) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service), kv("host.name", "h1")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| LogRecord {
                        time_unix_nano: ts + i as u64,
                        severity_number: 9,
                        severity_text: "INFO".into(),
                        body: Some(AnyValue {
                            value: Some(Value::StringValue((*l).into())),
                        }),
                        trace_id: vec![0xab; 16],
                        span_id: vec![0xcd; 8],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn counter_request(service: &str, name: &str, value: f64, ts: u64) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", service),
                    kv("service.instance.id", "i-1"),
                    kv("host.name", "h1"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.into(),
                    unit: "{request}".into(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: vec![NumberDataPoint {
                            attributes: vec![kv("http.method", "GET")],
                            time_unix_nano: ts,
                            value: Some(number_data_point::Value::AsDouble(value)),
                            ..Default::default()
                        }],
                        aggregation_temporality: AggregationTemporality::Cumulative as i32,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn post(
    h: &Hearth,
    url: &str,
    content_type: &str,
    gzipped: bool,
    body: Vec<u8>,
) -> reqwest::blocking::Response {
    let mut req = h.client().post(url).header("content-type", content_type);
    let body = if gzipped {
        req = req.header("content-encoding", "gzip");
        gzip(&body)
    } else {
        body
    };
    req.body(body).send().unwrap()
}

#[test]
fn otlp_http_takes_protobuf_json_and_gzip_on_both_ports() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let ts = now_ns() as u64;

    // Protobuf, plain, on the OTLP port.
    let body = logs_request("svc-a", &["proto plain"], ts).encode_to_vec();
    let r = post(
        &h,
        &format!("{}/v1/logs", h.otlp_http),
        "application/x-protobuf",
        false,
        body,
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");
    let resp = ExportLogsServiceResponse::decode(r.bytes().unwrap()).unwrap();
    assert!(resp.partial_success.is_none());

    // Protobuf, gzipped, on the main port.
    let body = logs_request("svc-a", &["proto gzip"], ts + 10).encode_to_vec();
    let r = post(&h, &h.url("/v1/logs"), "application/x-protobuf", true, body);
    assert_eq!(r.status(), 200);

    // OTLP/JSON as an exporter writes it: hex ids, 64-bit ints as strings,
    // enums as integers, an unknown field to ignore.
    let json = format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"svc-a"}}}}]}},
        "scopeLogs":[{{"scope":{{"name":"json-scope"}},"logRecords":[{{"timeUnixNano":"{}","severityNumber":17,
        "severityText":"ERROR","body":{{"stringValue":"json error line"}},"unknownField":1,
        "attributes":[{{"key":"retries","value":{{"intValue":"3"}}}}],
        "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174"}}]}}]}}]}}"#,
        ts + 20
    );
    let r = post(
        &h,
        &format!("{}/v1/logs", h.otlp_http),
        "application/json",
        true,
        json.into_bytes(),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.json::<Json>().unwrap(), serde_json::json!({}));

    let lines = h.recent_logs(r#"{service_name="svc-a"}"#);
    let texts: Vec<&str> = lines.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(texts, ["proto plain", "proto gzip", "json error line"]);
    // Loki's query API merges structured metadata into each result's
    // labels unless the client asks for them apart.
    let (_, meta) = &lines[2];
    assert_eq!(
        meta["trace_id"], "5b8efff798038103d269b633813fc60c",
        "{meta}"
    );
    assert_eq!(meta["span_id"], "eee19b7ec3c1b174");
    assert_eq!(meta["severity_number"], "17");
    assert_eq!(meta["retries"], "3");
    assert_eq!(meta["scope_name"], "json-scope");
    assert_eq!(meta["detected_level"], "error");
    // Resource attributes outside the stream list are metadata, not labels.
    let series = h.get_json(&format!(
        "/loki/api/v1/series?match[]={}",
        urlencode(r#"{service_name="svc-a"}"#)
    ));
    assert_eq!(
        series["data"],
        serde_json::json!([{"service_name": "svc-a"}]),
        "{series}"
    );
    assert_eq!(lines[0].1["host_name"], "h1");

    // Trace ids are queryable like any structured metadata.
    let linked =
        h.recent_logs(r#"{service_name="svc-a"} | trace_id="5b8efff798038103d269b633813fc60c""#);
    assert_eq!(linked.len(), 1);

    // Metrics over JSON: a monotonic sum becomes a `_total` counter with
    // job/instance from the resource, and target_info carries the rest.
    let json = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"svc-m"}}}},
        {{"key":"service.instance.id","value":{{"stringValue":"i-9"}}}},{{"key":"host.name","value":{{"stringValue":"h9"}}}}]}},
        "scopeMetrics":[{{"metrics":[{{"name":"jobs.done","unit":"{{job}}","sum":{{"aggregationTemporality":2,"isMonotonic":true,
        "dataPoints":[{{"timeUnixNano":"{}","asInt":"7","attributes":[{{"key":"queue","value":{{"stringValue":"q1"}}}}]}}]}}}}]}}]}}]}}"#,
        ts
    );
    let r = post(
        &h,
        &h.url("/v1/metrics"),
        "application/json",
        false,
        json.into_bytes(),
    );
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let result = h.promql_vector("jobs_done_total");
    assert_eq!(result.len(), 1, "{result:?}");
    assert_eq!(
        result[0]["metric"],
        serde_json::json!({"__name__": "jobs_done_total", "job": "svc-m", "instance": "i-9", "queue": "q1"})
    );
    assert_eq!(result[0]["value"][1], "7");
    let info = h.promql_vector("target_info");
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0]["metric"]["host_name"], "h9");
    h.stop();
}

#[test]
fn otlp_http_refusals_are_the_ones_exporters_understand() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &["--config", &write_config(dir.path())]);
    let url = format!("{}/v1/logs", h.otlp_http);

    let r = post(&h, &url, "text/plain", false, b"hello".to_vec());
    assert_eq!(r.status(), 415);

    // A broken protobuf: 400 with a google.rpc.Status body in protobuf.
    let r = post(
        &h,
        &url,
        "application/x-protobuf",
        false,
        vec![0x0a, 0xff, 0xff],
    );
    assert_eq!(r.status(), 400);
    let body = r.bytes().unwrap();
    let status = RpcStatus::decode(body).unwrap();
    assert_eq!(status.code, 3);
    assert!(
        status.message.contains("ExportLogsServiceRequest"),
        "{}",
        status.message
    );

    // Broken JSON: 400, answered in JSON.
    let r = post(
        &h,
        &url,
        "application/json",
        false,
        b"{\"resourceLogs\": 5}".to_vec(),
    );
    assert_eq!(r.status(), 400);
    let v: Json = r.json().unwrap();
    assert_eq!(v["code"], 3);
    assert!(v["message"].as_str().unwrap().contains("line 1"), "{v}");

    // Over the configured 64 KiB request limit once inflated: 413.
    let big = logs_request("svc-big", &[&"x".repeat(100 << 10)], now_ns() as u64).encode_to_vec();
    let r = post(&h, &url, "application/x-protobuf", true, big);
    assert_eq!(r.status(), 413);

    // An empty request is a success.
    let r = post(&h, &url, "application/x-protobuf", false, Vec::new());
    assert_eq!(r.status(), 200);

    // A delta sum is refused by name in a partial success; the valid
    // counter next to it is kept.
    let mut req = counter_request("svc-p", "kept.requests", 4.0, now_ns() as u64);
    let mut delta = req.resource_metrics[0].scope_metrics[0].metrics[0].clone();
    delta.name = "delta.requests".into();
    if let Some(metric::Data::Sum(s)) = &mut delta.data {
        s.aggregation_temporality = AggregationTemporality::Delta as i32;
    }
    req.resource_metrics[0].scope_metrics[0].metrics.push(delta);
    let r = post(
        &h,
        &format!("{}/v1/metrics", h.otlp_http),
        "application/x-protobuf",
        false,
        req.encode_to_vec(),
    );
    assert_eq!(r.status(), 200);
    let resp = ExportMetricsServiceResponse::decode(r.bytes().unwrap()).unwrap();
    let partial = resp.partial_success.expect("partial success");
    assert_eq!(partial.rejected_data_points, 1);
    assert!(
        partial.error_message.contains("delta"),
        "{}",
        partial.error_message
    );
    assert_eq!(h.promql_vector("kept_requests_total").len(), 1);
    h.stop();
}

fn write_config(dir: &std::path::Path) -> String {
    let path = dir.join("hearth.yaml");
    std::fs::write(&path, "otlp:\n  max_request_size: 64KiB\n").unwrap();
    path.display().to_string()
}

#[test]
fn otlp_grpc_takes_logs_and_metrics_with_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let endpoint = format!("http://{}", h.otlp_grpc);
    let ts = now_ns() as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let within = std::time::Duration::from_secs(30);
    rt.block_on(async {
        let mut logs = tokio::time::timeout(within, LogsServiceClient::connect(endpoint.clone()))
            .await
            .expect("connect within 30 s")
            .unwrap()
            .send_compressed(tonic::codec::CompressionEncoding::Gzip)
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let resp = tokio::time::timeout(
            within,
            logs.export(logs_request("svc-g", &["over grpc", "second"], ts)),
        )
        .await
        .expect("export within 30 s")
        .unwrap()
        .into_inner();
        assert!(resp.partial_success.is_none());
        let mut metrics = MetricsServiceClient::connect(endpoint).await.unwrap();
        let resp = metrics
            .export(counter_request("svc-g", "grpc.requests", 11.0, ts))
            .await
            .unwrap()
            .into_inner();
        assert!(resp.partial_success.is_none());
        // A line over the size limit is refused in a partial success, not
        // as an error that would make the exporter retry the whole batch.
        let mut bad = logs_request("svc-g", &["too long"], ts);
        bad.resource_logs[0].scope_logs[0].log_records[0].body = Some(AnyValue {
            value: Some(Value::StringValue("y".repeat(300 << 10))),
        });
        let resp = logs.export(bad).await.unwrap().into_inner();
        assert_eq!(resp.partial_success.unwrap().rejected_log_records, 1);
    });
    let lines = h.recent_logs(r#"{service_name="svc-g"}"#);
    let texts: Vec<&str> = lines.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(texts, ["over grpc", "second"]);
    let result =
        h.promql_vector(r#"grpc_requests_total{job="svc-g",instance="i-1",http_method="GET"}"#);
    assert_eq!(result.len(), 1, "{result:?}");
    assert_eq!(result[0]["value"][1], "11");
    h.stop();
}
