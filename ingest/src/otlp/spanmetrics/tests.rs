use std::collections::BTreeMap;

use hearth_storage::{MetricType, MetricsWrite};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

use super::*;

pub(super) const NOW: i64 = 1_700_000_000_000;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

/// A span of `kind` ending at `end_ms`, lasting `dur_ms`.
pub(super) fn span(
    name: &str,
    kind: SpanKind,
    trace: u8,
    id: u8,
    parent: u8,
    end_ms: i64,
    dur_ms: u64,
) -> Span {
    let end = end_ms as u64 * 1_000_000;
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: end - dur_ms * 1_000_000,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

fn with_status(mut s: Span, code: StatusCode, msg: &str) -> Span {
    s.status = Some(Status {
        code: code as i32,
        message: msg.into(),
    });
    s
}

pub(super) fn with_attrs(mut s: Span, attrs: &[(&str, &str)]) -> Span {
    s.attributes = attrs.iter().map(|(k, v)| kv(k, v)).collect();
    s
}

pub(super) fn req(groups: Vec<(&str, Vec<Span>)>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: groups
            .into_iter()
            .map(|(svc, spans)| ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", svc)],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect(),
    }
}

/// Every series as `name{labels}` → its samples as `(ts, value)`.
pub(super) fn series(w: &MetricsWrite) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut out = BTreeMap::new();
    for s in &w.series {
        let prev = out.insert(
            s.labels.to_string(),
            s.samples.iter().map(|x| (x.ts, x.value)).collect(),
        );
        assert!(prev.is_none(), "series written twice: {}", s.labels);
    }
    out
}

/// Latest value of every series.
fn values(w: &MetricsWrite) -> BTreeMap<String, f64> {
    series(w)
        .into_iter()
        .filter_map(|(k, v)| v.last().map(|s| (k, s.1)))
        .collect()
}

fn red_only() -> SpanMetricsOptions {
    SpanMetricsOptions {
        service_graph: false,
        ..Default::default()
    }
}

fn graph_only() -> SpanMetricsOptions {
    SpanMetricsOptions {
        span_metrics: false,
        ..Default::default()
    }
}

const SERVER_A: &str = r#"service="a", span_kind="SPAN_KIND_SERVER", span_name="GET /", status_code="STATUS_CODE_UNSET""#;

#[test]
fn one_server_span_counts_once_with_latency_buckets() {
    let mut g = SpanMetricsGenerator::new(red_only());
    let s = span("GET /", SpanKind::Server, 1, 2, 1, NOW, 50);
    let size = s.encoded_len() as f64;
    let w = g.observe(&req(vec![("a", vec![s])]), NOW);
    let first = |v: f64| vec![(NOW - 1, 0.0), (NOW, v)];
    let mut want: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    want.insert(
        format!("traces_spanmetrics_calls_total{{{SERVER_A}}}"),
        first(1.0),
    );
    want.insert(
        format!("traces_spanmetrics_size_total{{{SERVER_A}}}"),
        first(size),
    );
    for (le, n) in [
        ("0.002", 0.0),
        ("0.004", 0.0),
        ("0.008", 0.0),
        ("0.016", 0.0),
        ("0.032", 0.0),
        ("0.064", 1.0),
        ("0.128", 1.0),
        ("0.256", 1.0),
        ("0.512", 1.0),
        ("1.024", 1.0),
        ("2.048", 1.0),
        ("4.096", 1.0),
        ("8.192", 1.0),
        ("16.384", 1.0),
        ("+Inf", 1.0),
    ] {
        want.insert(
            format!("traces_spanmetrics_latency_bucket{{le=\"{le}\", {SERVER_A}}}"),
            first(n),
        );
    }
    want.insert(
        format!("traces_spanmetrics_latency_sum{{{SERVER_A}}}"),
        first(0.05),
    );
    want.insert(
        format!("traces_spanmetrics_latency_count{{{SERVER_A}}}"),
        first(1.0),
    );
    assert_eq!(series(&w), want);

    let meta: Vec<_> = w
        .metadata
        .iter()
        .map(|m| {
            (
                m.metric_family_name.as_str(),
                m.metric_type,
                m.unit.as_str(),
            )
        })
        .collect();
    assert_eq!(
        meta,
        [
            ("traces_spanmetrics_calls_total", MetricType::Counter, ""),
            (
                "traces_spanmetrics_latency",
                MetricType::Histogram,
                "seconds"
            ),
            (
                "traces_spanmetrics_size_total",
                MetricType::Counter,
                "bytes"
            ),
        ]
    );
    assert_eq!(g.stats().active_series, 19);
}

#[test]
fn two_requests_accumulate() {
    let mut g = SpanMetricsGenerator::new(red_only());
    g.observe(
        &req(vec![(
            "a",
            vec![span("GET /", SpanKind::Server, 1, 2, 1, NOW, 50)],
        )]),
        NOW,
    );
    let s = span("GET /", SpanKind::Server, 3, 4, 3, NOW + 1000, 3000);
    let w = g.observe(&req(vec![("a", vec![s])]), NOW + 1000);
    let got = series(&w);
    let at = |name: &str| got[&format!("{name}{{{SERVER_A}}}")].clone();
    assert_eq!(at("traces_spanmetrics_calls_total"), [(NOW + 1000, 2.0)]);
    assert_eq!(at("traces_spanmetrics_latency_count"), [(NOW + 1000, 2.0)]);
    assert_eq!(at("traces_spanmetrics_latency_sum"), [(NOW + 1000, 3.05)]);
    let b = |le: &str| {
        got[&format!("traces_spanmetrics_latency_bucket{{le=\"{le}\", {SERVER_A}}}")].clone()
    };
    assert_eq!(b("0.064"), [(NOW + 1000, 1.0)]);
    assert_eq!(b("2.048"), [(NOW + 1000, 1.0)]);
    assert_eq!(b("4.096"), [(NOW + 1000, 2.0)]);
    assert_eq!(b("+Inf"), [(NOW + 1000, 2.0)]);
}

#[test]
fn error_status_is_its_own_series_and_message_is_opt_in() {
    let err = || {
        with_status(
            span("GET /", SpanKind::Server, 1, 2, 1, NOW, 5),
            StatusCode::Error,
            "boom",
        )
    };
    let mut g = SpanMetricsGenerator::new(red_only());
    let v = values(&g.observe(&req(vec![("a", vec![err()])]), NOW));
    let k = r#"traces_spanmetrics_calls_total{service="a", span_kind="SPAN_KIND_SERVER", span_name="GET /", status_code="STATUS_CODE_ERROR"}"#;
    assert_eq!(v[k], 1.0);

    let mut g = SpanMetricsGenerator::new(SpanMetricsOptions {
        status_message: true,
        ..red_only()
    });
    let v = values(&g.observe(&req(vec![("a", vec![err()])]), NOW));
    let k = r#"traces_spanmetrics_calls_total{service="a", span_kind="SPAN_KIND_SERVER", span_name="GET /", status_code="STATUS_CODE_ERROR", status_message="boom"}"#;
    assert_eq!(v[k], 1.0);
}

#[test]
fn client_server_pair_in_one_request() {
    let mut g = SpanMetricsGenerator::new(graph_only());
    let client = span("call b", SpanKind::Client, 1, 10, 9, NOW, 300);
    let server = with_status(
        span("GET /", SpanKind::Server, 1, 11, 10, NOW, 150),
        StatusCode::Error,
        "",
    );
    // Server first: order inside a request must not matter.
    let w = g.observe(&req(vec![("b", vec![server]), ("a", vec![client])]), NOW);
    let got = series(&w);
    let first = |v: f64| vec![(NOW - 1, 0.0), (NOW, v)];
    let ab = r#"client="a", server="b""#;
    assert_eq!(
        got[&format!("traces_service_graph_request_total{{{ab}}}")],
        first(1.0)
    );
    assert_eq!(
        got[&format!("traces_service_graph_request_failed_total{{{ab}}}")],
        first(1.0)
    );
    for (le, server_n, client_n) in [
        ("0.1", 0.0, 0.0),
        ("0.2", 1.0, 0.0),
        ("0.4", 1.0, 1.0),
        ("+Inf", 1.0, 1.0),
    ] {
        let k = |side: &str| {
            format!(
                "traces_service_graph_request_{side}_seconds_bucket{{client=\"a\", le=\"{le}\", server=\"b\"}}"
            )
        };
        assert_eq!(got[&k("server")], first(server_n), "server le={le}");
        assert_eq!(got[&k("client")], first(client_n), "client le={le}");
    }
    assert_eq!(
        got[&format!("traces_service_graph_request_server_seconds_sum{{{ab}}}")],
        first(0.15)
    );
    assert_eq!(
        got[&format!("traces_service_graph_request_client_seconds_sum{{{ab}}}")],
        first(0.3)
    );
    assert_eq!(
        got[&format!("traces_service_graph_request_client_seconds_count{{{ab}}}")],
        first(1.0)
    );
    // total + failed + 2 × (8 buckets + +Inf + sum + count)
    assert_eq!(got.len(), 2 + 2 * 11);
    let s = g.stats();
    assert_eq!(
        (s.edges_paired, s.pending_edges, s.active_series),
        (1, 0, 24)
    );
}

#[test]
fn halves_split_across_calls_pair_within_the_window() {
    let mut g = SpanMetricsGenerator::new(graph_only());
    let w = g.observe(
        &req(vec![(
            "a",
            vec![span("call", SpanKind::Client, 1, 10, 9, NOW, 20)],
        )]),
        NOW,
    );
    assert!(w.series.is_empty());
    assert_eq!(g.stats().pending_edges, 1);
    let later = NOW + 10_000;
    let w = g.observe(
        &req(vec![(
            "b",
            vec![span("h", SpanKind::Server, 1, 11, 10, later, 10)],
        )]),
        later,
    );
    let v = values(&w);
    assert_eq!(
        v[r#"traces_service_graph_request_total{client="a", server="b"}"#],
        1.0
    );
    assert_eq!(g.stats().pending_edges, 0);
}

#[test]
fn past_the_window_the_half_is_unpaired() {
    let mut g = SpanMetricsGenerator::new(graph_only());
    g.observe(
        &req(vec![(
            "a",
            vec![span("call", SpanKind::Client, 1, 10, 9, NOW, 20)],
        )]),
        NOW,
    );
    let later = NOW + 10_001;
    let w = g.observe(
        &req(vec![(
            "b",
            vec![span("h", SpanKind::Server, 1, 11, 10, later, 10)],
        )]),
        later,
    );
    let got = series(&w);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        [r#"traces_service_graph_unpaired_spans_total{client="a"}"#]
    );
    assert_eq!(
        got[r#"traces_service_graph_unpaired_spans_total{client="a"}"#],
        [(later - 1, 0.0), (later, 1.0)]
    );
    // The late server half now waits in turn, and expires unpaired too.
    assert_eq!(g.stats().pending_edges, 1);
    let w = g.observe(&req(vec![]), later + 10_001);
    assert_eq!(
        values(&w)[r#"traces_service_graph_unpaired_spans_total{server="b"}"#],
        1.0
    );
    assert_eq!(g.stats().edges_expired_unpaired, 2);
}

#[test]
fn producer_consumer_is_a_messaging_edge() {
    let mut g = SpanMetricsGenerator::new(SpanMetricsOptions {
        messaging_system_latency_histogram: true,
        ..graph_only()
    });
    let producer = span("publish", SpanKind::Producer, 1, 10, 9, NOW - 1000, 5);
    let consumer = span("process", SpanKind::Consumer, 1, 11, 10, NOW, 200);
    let v = values(&g.observe(
        &req(vec![("a", vec![producer]), ("b", vec![consumer])]),
        NOW,
    ));
    let l = r#"client="a", connection_type="messaging_system", server="b""#;
    assert_eq!(
        v[&format!("traces_service_graph_request_total{{{l}}}")],
        1.0
    );
    // Producer ended at NOW-1000 ms, consumer started at NOW-200 ms.
    assert_eq!(
        v[&format!("traces_service_graph_request_messaging_system_seconds_sum{{{l}}}")],
        0.8
    );
}

#[test]
fn database_client_span_is_an_immediate_database_edge() {
    let mut g = SpanMetricsGenerator::new(graph_only());
    let db = with_attrs(
        span("SELECT", SpanKind::Client, 1, 10, 9, NOW, 40),
        &[("db.system", "postgresql"), ("db.name", "orders")],
    );
    let addr = with_attrs(
        span("SELECT", SpanKind::Client, 2, 10, 9, NOW, 40),
        &[("db.system", "postgresql"), ("server.address", "pg.lan")],
    );
    let v = values(&g.observe(&req(vec![("a", vec![db, addr])]), NOW));
    let orders = r#"client="a", connection_type="database", server="orders""#;
    assert_eq!(
        v[&format!("traces_service_graph_request_total{{{orders}}}")],
        1.0
    );
    // The database's side is unknown; the client's duration stands in.
    assert_eq!(
        v[&format!("traces_service_graph_request_server_seconds_sum{{{orders}}}")],
        0.04
    );
    let pg = r#"client="a", connection_type="database", server="pg.lan""#;
    assert_eq!(
        v[&format!("traces_service_graph_request_total{{{pg}}}")],
        1.0
    );
    let s = g.stats();
    assert_eq!((s.edges_database, s.pending_edges), (2, 0));
}

#[test]
fn uninstrumented_peers_become_virtual_nodes() {
    let mut g = SpanMetricsGenerator::new(graph_only());
    let to_stripe = with_attrs(
        span("charge", SpanKind::Client, 1, 10, 9, NOW, 100),
        &[("peer.service", "stripe")],
    );
    let root = span("GET /", SpanKind::Server, 2, 20, 0, NOW, 100);
    let v = values(&g.observe(&req(vec![("a", vec![to_stripe, root])]), NOW));
    // The root server span has no caller to wait for.
    assert_eq!(
        v[r#"traces_service_graph_request_total{client="user", connection_type="virtual_node", server="a"}"#],
        1.0
    );
    // No failure yet, so no `request_failed_total`.
    assert_eq!(v.len(), 1 + 2 * 11);
    let v = values(&g.observe(&req(vec![]), NOW + 10_001));
    assert_eq!(
        v[r#"traces_service_graph_request_total{client="a", connection_type="virtual_node", server="stripe"}"#],
        1.0
    );
    let s = g.stats();
    assert_eq!((s.edges_virtual_node, s.edges_expired_unpaired), (2, 0));
}

#[test]
fn series_limit_is_respected_and_counted() {
    let mut g = SpanMetricsGenerator::new(SpanMetricsOptions {
        max_series: 19,
        ..red_only()
    });
    let spans = vec![
        span("one", SpanKind::Server, 1, 2, 1, NOW, 5),
        span("two", SpanKind::Server, 1, 3, 1, NOW, 5),
        span("one", SpanKind::Server, 1, 4, 1, NOW, 5),
    ];
    let v = values(&g.observe(&req(vec![("a", spans)]), NOW));
    assert_eq!(v.len(), 19);
    assert!(v.keys().all(|k| k.contains(r#"span_name="one""#)));
    let s = g.stats();
    assert_eq!((s.active_series, s.series_limited), (19, 1));
}

#[test]
fn idle_series_are_forgotten_and_restart_from_zero() {
    let mut g = SpanMetricsGenerator::new(red_only());
    let calls = format!("traces_spanmetrics_calls_total{{{SERVER_A}}}");
    g.observe(
        &req(vec![(
            "a",
            vec![span("GET /", SpanKind::Server, 1, 2, 1, NOW, 5)],
        )]),
        NOW,
    );
    let later = NOW + 16 * 60 * 1000;
    let w = g.observe(
        &req(vec![(
            "a",
            vec![span("GET /", SpanKind::Server, 1, 3, 1, later, 5)],
        )]),
        later,
    );
    assert_eq!(series(&w)[&calls], [(later - 1, 0.0), (later, 1.0)]);
    assert_eq!(g.stats().series_forgotten, 19);
    assert_eq!(g.stats().active_series, 19);
}

#[test]
fn spans_outside_the_slack_are_ignored() {
    let mut g = SpanMetricsGenerator::new(SpanMetricsOptions::default());
    let old = span("GET /", SpanKind::Server, 1, 2, 1, NOW - 31_000, 5);
    let future = span("GET /", SpanKind::Server, 1, 3, 1, NOW + 31_000, 5);
    assert!(
        g.observe(&req(vec![("a", vec![old, future])]), NOW)
            .series
            .is_empty()
    );
    assert_eq!(g.stats().spans_outside_time_range, 2);
}

#[test]
fn full_store_drops_and_counts() {
    let mut g = SpanMetricsGenerator::new(SpanMetricsOptions {
        max_pending_edges: 1,
        ..graph_only()
    });
    let spans = vec![
        span("c1", SpanKind::Client, 1, 10, 9, NOW, 5),
        span("c2", SpanKind::Client, 2, 10, 9, NOW, 5),
    ];
    let v = values(&g.observe(&req(vec![("a", spans)]), NOW));
    assert_eq!(
        v[r#"traces_service_graph_dropped_spans_total{client="a"}"#],
        1.0
    );
    assert_eq!(g.stats().spans_dropped_store_full, 1);
}

#[test]
fn timestamps_move_forward_within_one_millisecond() {
    let mut g = SpanMetricsGenerator::new(red_only());
    let r = req(vec![(
        "a",
        vec![span("GET /", SpanKind::Server, 1, 2, 1, NOW, 5)],
    )]);
    g.observe(&r, NOW);
    let w = g.observe(&r, NOW);
    assert_eq!(
        series(&w)[&format!("traces_spanmetrics_calls_total{{{SERVER_A}}}")],
        [(NOW + 1, 2.0)]
    );
}

#[test]
fn custom_buckets_are_cleaned() {
    let mut g = SpanMetricsGenerator::new(SpanMetricsOptions {
        histogram_buckets_s: vec![1.0, f64::NAN, 0.5, 1.0, f64::INFINITY],
        ..red_only()
    });
    let v = values(&g.observe(
        &req(vec![(
            "a",
            vec![span("GET /", SpanKind::Server, 1, 2, 1, NOW, 700)],
        )]),
        NOW,
    ));
    let les: Vec<_> = v
        .keys()
        .filter(|k| k.starts_with("traces_spanmetrics_latency_bucket"))
        .map(|k| k.split('"').nth(1).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(les, ["+Inf", "0.5", "1"]);
}
