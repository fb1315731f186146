//! The OpenTelemetry Python SDK, with its real gRPC and HTTP OTLP exporters
//! (`tests/otlp/export.py`), sends logs, metrics and traces to the real
//! binary; LogQL and PromQL then find them under the names Loki and
//! Prometheus would give, and the span metrics and service graph that Tempo's
//! metrics-generator would derive from the spans.
//! Needs `python3` with the `opentelemetry-sdk` and
//! `opentelemetry-exporter-otlp-proto-{grpc,http}` packages (`.ci/run`
//! installs them); skipped when they are missing unless
//! `HEARTH_REQUIRE_EXTERNAL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{Hearth, urlencode};
use hearth_ingest::otlp::value::hex;
use hearth_query::http::tempo::trace_by_id::TraceByIdResponse;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use serde_json::Value as Json;

fn sdk_available() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc, opentelemetry.exporter.otlp.proto.http",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("HEARTH_REQUIRE_EXTERNAL").is_err(),
            "the OpenTelemetry Python SDK is required (HEARTH_REQUIRE_EXTERNAL is set) but not importable"
        );
        eprintln!("SKIPPED: python3 with the OpenTelemetry SDK and OTLP exporters not available");
    }
    ok
}

/// Exports every signal; returns the trace id of the trace sent.
fn export(transport: &str, endpoint: &str, service: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/export.py");
    let out = Command::new("python3")
        .args([
            script,
            "--transport",
            transport,
            "--endpoint",
            endpoint,
            "--service",
            service,
        ])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "export.py failed ({transport}):\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["logs"], true, "{report}");
    assert_eq!(report["metrics"], true, "{report}");
    assert_eq!(report["traces"], true, "{report}");
    assert_eq!(
        report["trace_id"].as_str().map(str::len),
        Some(32),
        "{report}"
    );
    report["trace_id"].as_str().unwrap().to_owned()
}

/// Fetches a trace as Grafana does: v2 with `Accept: application/protobuf`.
fn check_trace(h: &Hearth, trace_id: &str, service: &str) {
    let r = h
        .client()
        .get(h.url(&format!("/api/v2/traces/{trace_id}")))
        .header("accept", "application/protobuf")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let resp = TraceByIdResponse::decode(r.bytes().unwrap()).unwrap();
    let trace = resp.trace.unwrap();
    let mut spans: Vec<(String, String, i32)> = Vec::new();
    for rs in &trace.resource_spans {
        let svc = rs
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| kv.value.as_ref())
            .and_then(|v| match &v.value {
                Some(Value::StringValue(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for ss in &rs.scope_spans {
            assert_eq!(ss.scope.as_ref().unwrap().name, "hearth.e2e");
            for s in &ss.spans {
                assert_eq!(hex(&s.trace_id), trace_id);
                spans.push((svc.clone(), s.name.clone(), s.kind));
            }
        }
    }
    spans.sort();
    let payments = format!("{service}-payments");
    assert_eq!(
        spans,
        [
            (service.to_owned(), "GET /checkout".to_owned(), 2),
            (service.to_owned(), "POST /pay".to_owned(), 3),
            (payments.clone(), "charge".to_owned(), 2),
        ]
    );
    // v1 answers the same spans as a bare `Trace`.
    let r = h
        .client()
        .get(h.url(&format!("/api/traces/{trace_id}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v1 = TracesData::decode(r.bytes().unwrap()).unwrap();
    assert_eq!(v1.resource_spans.len(), 2);
    // An id nobody sent is 404 (Grafana then tries v1 and says "not
    // found"); one that is not hex is 400.
    assert_eq!(
        h.get(&format!("/api/v2/traces/{}", "0".repeat(31) + "1"))
            .status(),
        404
    );
    assert_eq!(h.get("/api/v2/traces/not-hex").status(), 400);
    // Grafana's search builder finds it by the payment service's errors.
    let q = format!(r#"{{ resource.service.name = "{payments}" && status = error }}"#);
    let found = h.get_json(&format!("/api/search?q={}", common::urlencode(&q)));
    let ids: Vec<&str> = found["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["traceID"].as_str())
        .collect();
    assert_eq!(ids, [trace_id.trim_start_matches('0')], "{found}");
    assert_eq!(found["traces"][0]["rootServiceName"], service);
}

fn check_service(h: &Hearth, service: &str) {
    let lines = h.recent_logs(&format!(r#"{{service_name="{service}"}}"#));
    let texts: Vec<&str> = lines.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        texts,
        [
            format!("order placed {service}"),
            format!("payment failed {service}"),
            format!("multi\nline {service}"),
        ],
        "{lines:?}"
    );
    // Only the listed resource attributes are stream labels ...
    let series = h.get_json(&format!(
        "/loki/api/v1/series?match[]={}",
        urlencode(&format!(r#"{{service_name="{service}"}}"#))
    ));
    assert_eq!(
        series["data"],
        serde_json::json!([{
            "service_name": service,
            "service_instance_id": "instance-1",
            "k8s_namespace_name": "e2e",
        }]),
        "{series}"
    );
    // ... and the rest is structured metadata, which Loki's query API
    // merges into each result's labels.
    let (_, meta) = &lines[1];
    assert_eq!(meta["severity_text"], "ERROR", "{meta}");
    assert_eq!(meta["severity_number"], "17");
    assert_eq!(meta["detected_level"], "error");
    assert_eq!(meta["retry_count"], "3");
    assert_eq!(meta["host_name"], "test-host");
    // LogQL over structured metadata, as a Loki user writes it.
    let errors = h.recent_logs(&format!(
        r#"{{service_name="{service}"}} | detected_level="error""#
    ));
    assert_eq!(errors.len(), 1);

    let sel = format!(r#"job="{service}",instance="instance-1""#);
    let orders = h.promql_vector(&format!(
        "sum by (payment_method) (shop_orders_total{{{sel}}})"
    ));
    let mut got: Vec<(String, String)> = orders
        .iter()
        .map(|s| {
            (
                s["metric"]["payment_method"].as_str().unwrap().to_owned(),
                s["value"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [("card".into(), "3".into()), ("cash".into(), "2".into())]
    );
    let count = h.promql_vector(&format!("http_server_duration_milliseconds_count{{{sel}}}"));
    assert_eq!(count[0]["value"][1], "4", "{count:?}");
    let sum = h.promql_vector(&format!("http_server_duration_milliseconds_sum{{{sel}}}"));
    assert_eq!(sum[0]["value"][1], "170");
    let le = h.promql_vector(&format!(
        r#"http_server_duration_milliseconds_bucket{{{sel},le="10"}}"#
    ));
    assert_eq!(le[0]["value"][1], "2", "{le:?}");
    let q = h.promql_vector(&format!(
        "histogram_quantile(0.5, http_server_duration_milliseconds_bucket{{{sel}}})"
    ));
    assert_eq!(q.len(), 1);
    let depth = h.promql_vector(&format!("queue_depth{{{sel}}}"));
    assert_eq!(depth[0]["value"][1], "3", "{depth:?}");
    let info = h.promql_vector(&format!("target_info{{{sel}}}"));
    assert_eq!(info[0]["metric"]["host_name"], "test-host", "{info:?}");
    assert_eq!(info[0]["metric"]["k8s_namespace_name"], "e2e");

    // Spans were stored, and the span metrics and service graph Tempo's
    // metrics-generator would write were derived from them.
    let calls = h.promql_vector(&format!(
            r#"traces_spanmetrics_calls_total{{service="{service}",span_name="GET /checkout",span_kind="SPAN_KIND_SERVER"}}"#
        ),
    );
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["value"][1], "1");
    let errors = h.promql_vector(&format!(
            r#"traces_spanmetrics_calls_total{{service="{service}-payments",status_code="STATUS_CODE_ERROR"}}"#
        ),
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    let edge = h.promql_vector(&format!(
        r#"traces_service_graph_request_total{{client="{service}",server="{service}-payments"}}"#
    ));
    assert_eq!(edge.len(), 1, "{edge:?}");
    assert_eq!(edge[0]["value"][1], "1");
    let failed = h.promql_vector(&format!(
            r#"traces_service_graph_request_failed_total{{client="{service}",server="{service}-payments"}}"#
        ),
    );
    assert_eq!(failed[0]["value"][1], "1", "{failed:?}");
}

#[test]
fn python_sdk_exports_logs_metrics_and_traces_over_grpc_and_http() {
    if !sdk_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let grpc_trace = export("grpc", &h.otlp_grpc, "py-grpc");
    let http_trace = export("http", &h.otlp_http, "py-http");
    assert_eq!(h.get("/api/echo").text().unwrap(), "echo");
    check_service(&h, "py-grpc");
    check_service(&h, "py-http");
    check_trace(&h, &grpc_trace, "py-grpc");
    check_trace(&h, &http_trace, "py-http");
    h.stop();
}
