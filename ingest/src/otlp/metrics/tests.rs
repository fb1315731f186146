#![allow(clippy::unwrap_used, clippy::expect_used)]

use hearth_storage::{MetricMetadata, MetricType, STALE_NAN_BITS, SeriesWrite};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, metric, number_data_point,
    summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::{TranslateOptions, Translated, translate};

pub(super) const SEC: u64 = 1_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

pub(super) fn request(
    resource: Vec<KeyValue>,
    metrics: Vec<Metric>,
) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "io.example.lib".to_owned(),
                    version: "1.2.3".to_owned(),
                    ..Default::default()
                }),
                metrics,
                schema_url: "https://opentelemetry.io/schemas/1.21.0".to_owned(),
            }],
            schema_url: String::new(),
        }],
    }
}

pub(super) fn svc() -> Vec<KeyValue> {
    vec![kv("service.name", "svc")]
}

fn metric(name: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.to_owned(),
        description: format!("{name} help"),
        unit: unit.to_owned(),
        data: Some(data),
        ..Default::default()
    }
}

fn number(attrs: Vec<KeyValue>, t: u64, v: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        time_unix_nano: t,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

fn gauge(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    metric(
        name,
        unit,
        metric::Data::Gauge(Gauge {
            data_points: points,
        }),
    )
}

fn sum(
    name: &str,
    unit: &str,
    monotonic: bool,
    temporality: AggregationTemporality,
    points: Vec<NumberDataPoint>,
) -> Metric {
    metric(
        name,
        unit,
        metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality as i32,
            is_monotonic: monotonic,
        }),
    )
}

fn counter(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    sum(name, unit, true, AggregationTemporality::Cumulative, points)
}

fn hist_point(t: u64, bounds: &[f64], counts: &[u64], sum: Option<f64>) -> HistogramDataPoint {
    HistogramDataPoint {
        time_unix_nano: t,
        count: counts.iter().sum(),
        sum,
        bucket_counts: counts.to_vec(),
        explicit_bounds: bounds.to_vec(),
        ..Default::default()
    }
}

fn histogram(name: &str, unit: &str, points: Vec<HistogramDataPoint>) -> Metric {
    metric(
        name,
        unit,
        metric::Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    )
}

pub(super) fn exp_histogram(name: &str, points: Vec<ExponentialHistogramDataPoint>) -> Metric {
    metric(
        name,
        "s",
        metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    )
}

/// Every sample as `labels @ms = value`, sorted, so expectations read as text.
pub(super) fn render(t: &Translated) -> Vec<String> {
    let mut out: Vec<String> = t
        .write
        .series
        .iter()
        .flat_map(|s| {
            s.samples
                .iter()
                .map(move |x| format!("{} @{} = {}", s.labels, x.ts, x.value))
        })
        .collect();
    out.sort();
    out
}

fn series<'a>(t: &'a Translated, labels: &str) -> &'a SeriesWrite {
    t.write
        .series
        .iter()
        .find(|s| s.labels.to_string() == labels)
        .unwrap_or_else(|| panic!("no series {labels}; have {:#?}", render(t)))
}

#[test]
fn monotonic_sum_becomes_counter_with_job_and_instance() {
    let resource = vec![
        kv("service.name", "svc"),
        kv("service.namespace", "ns"),
        kv("service.instance.id", "i-1"),
    ];
    let mut later = number(vec![kv("http.method", "GET")], 2 * SEC + 999_999, 7.0);
    later.value = Some(number_data_point::Value::AsInt(7));
    let earlier = number(vec![kv("http.method", "GET")], SEC, 5.0);
    let t = translate(
        &request(
            resource,
            vec![counter(
                "http.server.requests",
                "{request}",
                vec![later, earlier],
            )],
        ),
        &TranslateOptions::default(),
    );
    assert_eq!(
        render(&t),
        [
            r#"http_server_requests_total{http_method="GET", instance="i-1", job="ns/svc"} @1000 = 5"#,
            r#"http_server_requests_total{http_method="GET", instance="i-1", job="ns/svc"} @2000 = 7"#,
        ]
    );
    assert_eq!(t.write.series.len(), 1, "both points share one SeriesWrite");
    assert_eq!(
        t.write.metadata,
        [MetricMetadata {
            metric_family_name: "http_server_requests_total".into(),
            metric_type: MetricType::Counter,
            help: "http.server.requests help".into(),
            unit: String::new(),
        }]
    );
    assert_eq!((t.rejected_points, t.errors.len()), (0, 0));
}

#[test]
fn gauge_with_bytes_unit_and_non_monotonic_sum() {
    let t = translate(
        &request(
            svc(),
            vec![
                gauge(
                    "system.memory.usage",
                    "By",
                    vec![number(vec![kv("state", "used")], 3 * SEC, 1.5)],
                ),
                sum(
                    "queue.size",
                    "1",
                    false,
                    AggregationTemporality::Cumulative,
                    vec![number(vec![], 3 * SEC, 4.0)],
                ),
            ],
        ),
        &TranslateOptions::default(),
    );
    assert_eq!(
        render(&t),
        [
            r#"queue_size{job="svc"} @3000 = 4"#,
            r#"system_memory_usage_bytes{job="svc", state="used"} @3000 = 1.5"#,
        ]
    );
    let meta = &t.write.metadata;
    assert_eq!(
        (meta[0].metric_type, meta[0].unit.as_str()),
        (MetricType::Gauge, "bytes")
    );
    assert_eq!(
        (meta[1].metric_family_name.as_str(), meta[1].metric_type),
        ("queue_size", MetricType::Gauge)
    );
}

#[test]
fn histogram_becomes_cumulative_buckets_with_exemplar() {
    let mut p = hist_point(10 * SEC, &[5.0, 10.0], &[1, 2, 3], Some(42.5));
    p.attributes = vec![kv("le", "ignored"), kv("route", "/")];
    p.exemplars = vec![Exemplar {
        time_unix_nano: 9 * SEC + 500_000_000,
        value: Some(exemplar::Value::AsDouble(7.0)),
        trace_id: vec![0xab; 16],
        span_id: vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        filtered_attributes: vec![kv("user", "u1")],
    }];
    let mut no_sum = hist_point(11 * SEC, &[], &[], None);
    no_sum.count = 4;
    let t = translate(
        &request(
            svc(),
            vec![histogram("http.server.duration", "ms", vec![p, no_sum])],
        ),
        &TranslateOptions::default(),
    );
    let n = "http_server_duration_milliseconds";
    assert_eq!(
        render(&t),
        [
            format!(r#"{n}_bucket{{job="svc", le="+Inf", route="/"}} @10000 = 6"#),
            format!(r#"{n}_bucket{{job="svc", le="+Inf"}} @11000 = 4"#),
            format!(r#"{n}_bucket{{job="svc", le="10", route="/"}} @10000 = 3"#),
            format!(r#"{n}_bucket{{job="svc", le="5", route="/"}} @10000 = 1"#),
            format!(r#"{n}_count{{job="svc", le="ignored", route="/"}} @10000 = 6"#),
            format!(r#"{n}_count{{job="svc"}} @11000 = 4"#),
            format!(r#"{n}_sum{{job="svc", le="ignored", route="/"}} @10000 = 42.5"#),
        ]
    );
    let bucket = series(
        &t,
        &format!(r#"{n}_bucket{{job="svc", le="10", route="/"}}"#),
    );
    assert_eq!(bucket.exemplars.len(), 1);
    let ex = &bucket.exemplars[0];
    assert_eq!((ex.ts, ex.value), (9500, 7.0));
    let names: Vec<(&str, &str)> = ex
        .labels
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("span_id", "0102030405060708"),
            ("trace_id", "abababababababababababababababab"),
            ("user", "u1")
        ]
    );
    assert_eq!(t.write.metadata[0].metric_type, MetricType::Histogram);
    assert_eq!(t.write.metadata[0].metric_family_name, n);
}

#[test]
fn summary_becomes_quantiles_sum_and_count() {
    let p = SummaryDataPoint {
        time_unix_nano: 5 * SEC,
        count: 10,
        sum: 12.5,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 1.0,
            },
            ValueAtQuantile {
                quantile: 0.99,
                value: 3.0,
            },
        ],
        ..Default::default()
    };
    let m = metric(
        "rpc.latency",
        "s",
        metric::Data::Summary(Summary {
            data_points: vec![p],
        }),
    );
    let t = translate(&request(svc(), vec![m]), &TranslateOptions::default());
    assert_eq!(
        render(&t),
        [
            r#"rpc_latency_seconds_count{job="svc"} @5000 = 10"#,
            r#"rpc_latency_seconds_sum{job="svc"} @5000 = 12.5"#,
            r#"rpc_latency_seconds{job="svc", quantile="0.5"} @5000 = 1"#,
            r#"rpc_latency_seconds{job="svc", quantile="0.99"} @5000 = 3"#,
        ]
    );
    assert_eq!(t.write.metadata[0].metric_type, MetricType::Summary);
}

#[test]
fn target_info_carries_other_resource_attributes() {
    let resource = vec![
        kv("service.name", "svc"),
        kv("service.instance.id", "i-1"),
        kv("host.name", "h1"),
        kv("os.type", "linux"),
    ];
    let points = vec![
        number(vec![], 1000 * SEC, 1.0),
        number(vec![], 1400 * SEC, 2.0),
    ];
    let req = request(resource, vec![gauge("g", "", points)]);
    let t = translate(&req, &TranslateOptions::default());
    let info = series(
        &t,
        r#"target_info{host_name="h1", instance="i-1", job="svc", os_type="linux"}"#,
    );
    let times: Vec<i64> = info.samples.iter().map(|s| s.ts).collect();
    assert_eq!(times, [1_000_000, 1_150_000, 1_300_000, 1_400_000]);
    assert!(info.samples.iter().all(|s| s.value == 1.0));
    assert!(
        t.write
            .metadata
            .iter()
            .any(|m| m.metric_family_name == "target_info" && m.metric_type == MetricType::Gauge)
    );

    let keep = TranslateOptions {
        keep_identifying_resource_attributes: true,
        ..TranslateOptions::default()
    };
    let t = translate(&req, &keep);
    series(
        &t,
        r#"target_info{host_name="h1", instance="i-1", job="svc", os_type="linux", service_instance_id="i-1", service_name="svc"}"#,
    );
}

#[test]
fn target_info_needs_other_attributes_and_an_identity() {
    let only_ids = request(svc(), vec![gauge("g", "", vec![number(vec![], SEC, 1.0)])]);
    let t = translate(&only_ids, &TranslateOptions::default());
    assert!(
        t.write
            .series
            .iter()
            .all(|s| s.labels.metric_name() != "target_info")
    );
    let anonymous = request(
        vec![kv("host.name", "h")],
        vec![gauge("g", "", vec![number(vec![], SEC, 1.0)])],
    );
    let t = translate(&anonymous, &TranslateOptions::default());
    assert_eq!(render(&t), ["g{} @1000 = 1"]);
}

#[test]
fn no_recorded_value_writes_stale_markers() {
    let mut g = number(vec![], SEC, 3.0);
    g.flags = 1;
    let mut h = hist_point(SEC, &[1.0], &[1, 1], Some(2.0));
    h.flags = 1;
    let t = translate(
        &request(
            svc(),
            vec![gauge("g", "", vec![g]), histogram("h", "", vec![h])],
        ),
        &TranslateOptions::default(),
    );
    assert_eq!(t.write.series.len(), 5);
    for s in &t.write.series {
        assert_eq!(s.samples[0].value.to_bits(), STALE_NAN_BITS, "{}", s.labels);
        assert!(s.samples[0].is_stale_marker());
    }
}

#[test]
fn delta_and_unspecified_temporality_are_rejected() {
    let req = request(
        svc(),
        vec![
            sum(
                "d",
                "",
                true,
                AggregationTemporality::Delta,
                vec![number(vec![], SEC, 1.0), number(vec![], 2 * SEC, 1.0)],
            ),
            sum(
                "u",
                "",
                true,
                AggregationTemporality::Unspecified,
                vec![number(vec![], SEC, 1.0)],
            ),
            counter("c", "", vec![number(vec![], SEC, 1.0)]),
        ],
    );
    let t = translate(&req, &TranslateOptions::default());
    assert_eq!(render(&t), [r#"c_total{job="svc"} @1000 = 1"#]);
    assert_eq!(t.rejected_points, 3);
    assert!(t.errors[0].contains("delta"), "{:?}", t.errors);
    assert!(t.errors[1].contains("unspecified"), "{:?}", t.errors);
    assert_eq!(t.write.metadata.len(), 1);
}

#[test]
fn malformed_points_are_rejected_and_the_rest_kept() {
    let mut no_value = number(vec![], SEC, 0.0);
    no_value.value = None;
    let mut bad_count = hist_point(SEC, &[1.0], &[1, 1], None);
    bad_count.count = 5;
    let bad_exp = ExponentialHistogramDataPoint {
        time_unix_nano: SEC,
        count: 1,
        scale: 30,
        zero_count: 1,
        ..Default::default()
    };
    let req = request(
        svc(),
        vec![
            gauge("", "", vec![number(vec![], SEC, 1.0)]),
            gauge(
                "g",
                "",
                vec![
                    no_value,
                    number(vec![], 0, 1.0),
                    number(vec![kv("", "x")], SEC, 1.0),
                    number(vec![], 2 * SEC, 9.0),
                ],
            ),
            histogram(
                "h",
                "",
                vec![
                    hist_point(SEC, &[1.0, 2.0], &[1, 1], None),
                    hist_point(SEC, &[1.0, f64::NAN], &[1, 1, 1], None),
                    hist_point(SEC, &[2.0, 1.0], &[1, 1, 1], None),
                    hist_point(SEC, &[1.0], &[], None),
                    bad_count,
                    hist_point(3 * SEC, &[1.0], &[1, 1], Some(3.0)),
                ],
            ),
            exp_histogram("e", vec![bad_exp]),
        ],
    );
    let t = translate(&req, &TranslateOptions::default());
    assert_eq!(t.rejected_points, 1 + 3 + 5 + 1);
    assert_eq!(t.errors.len(), super::MAX_ERRORS);
    assert_eq!(
        render(&t),
        [
            r#"g{job="svc"} @2000 = 9"#,
            r#"h_bucket{job="svc", le="+Inf"} @3000 = 2"#,
            r#"h_bucket{job="svc", le="1"} @3000 = 1"#,
            r#"h_count{job="svc"} @3000 = 2"#,
            r#"h_sum{job="svc"} @3000 = 3"#,
        ]
    );
}

#[test]
fn colliding_labels_join_in_key_order_and_reserved_ones_are_owned() {
    let attrs = vec![
        kv("a_b", "2"),
        kv("a.b", "1"),
        kv("a-b", "3"),
        kv("job", "mine"),
        kv("__name__", "evil"),
        kv("_hidden", "h"),
    ];
    let t = translate(
        &request(svc(), vec![gauge("g", "", vec![number(attrs, SEC, 1.0)])]),
        &TranslateOptions::default(),
    );
    assert_eq!(
        render(&t),
        [r#"g{a_b="3;1;2", job="svc", key_hidden="h"} @1000 = 1"#]
    );
}

#[test]
fn scope_labels_only_when_promoted() {
    let req = request(svc(), vec![gauge("g", "", vec![number(vec![], SEC, 1.0)])]);
    assert_eq!(
        render(&translate(&req, &TranslateOptions::default())),
        [r#"g{job="svc"} @1000 = 1"#]
    );
    let opts = TranslateOptions {
        promote_scope_metadata: true,
        ..TranslateOptions::default()
    };
    assert_eq!(
        render(&translate(&req, &opts)),
        [
            r#"g{job="svc", otel_scope_name="io.example.lib", otel_scope_schema_url="https://opentelemetry.io/schemas/1.21.0", otel_scope_version="1.2.3"} @1000 = 1"#
        ]
    );
}

#[test]
fn promoted_resource_attributes_yield_to_point_attributes() {
    let resource = vec![
        kv("service.name", "svc"),
        kv("host.name", "h1"),
        kv("cloud.region", "eu"),
    ];
    let points = vec![
        number(vec![], SEC, 1.0),
        number(vec![kv("host.name", "own")], SEC, 2.0),
    ];
    let opts = TranslateOptions {
        promote_resource_attributes: vec!["host.name".into()],
        ..TranslateOptions::default()
    };
    let t = translate(
        &request(resource.clone(), vec![gauge("g", "", points.clone())]),
        &opts,
    );
    let got: Vec<String> = render(&t)
        .into_iter()
        .filter(|s| s.starts_with("g{"))
        .collect();
    assert_eq!(
        got,
        [
            r#"g{host_name="h1", job="svc"} @1000 = 1"#,
            r#"g{host_name="own", job="svc"} @1000 = 2"#
        ]
    );

    let all = TranslateOptions {
        promote_all_resource_attributes: true,
        ignore_resource_attributes: vec!["service.name".into(), "host.name".into()],
        ..TranslateOptions::default()
    };
    let t = translate(
        &request(resource, vec![gauge("g", "", vec![points[0].clone()])]),
        &all,
    );
    series(&t, r#"g{cloud_region="eu", job="svc"}"#);
}

#[test]
fn counter_exemplars_and_series_merge_across_scopes() {
    let mut p = number(vec![], 2 * SEC, 2.0);
    p.exemplars = vec![Exemplar {
        time_unix_nano: 0,
        value: Some(exemplar::Value::AsInt(1)),
        trace_id: vec![0; 16],
        span_id: vec![1; 3],
        filtered_attributes: vec![kv("k", &"v".repeat(200))],
    }];
    let mut req = request(svc(), vec![counter("c", "", vec![p])]);
    let mut second = req.resource_metrics[0].scope_metrics[0].clone();
    second.metrics = vec![counter("c", "", vec![number(vec![], SEC, 1.0)])];
    req.resource_metrics[0].scope_metrics.push(second);
    let t = translate(&req, &TranslateOptions::default());
    let s = series(&t, r#"c_total{job="svc"}"#);
    let samples: Vec<(i64, f64)> = s.samples.iter().map(|x| (x.ts, x.value)).collect();
    assert_eq!(samples, [(1000, 1.0), (2000, 2.0)]);
    assert_eq!(s.exemplars.len(), 1);
    // Zero ids and ids of the wrong length are left out; the attribute is
    // over the 128-character budget; the missing time is the point's.
    assert!(s.exemplars[0].labels.is_empty());
    assert_eq!((s.exemplars[0].ts, s.exemplars[0].value), (2000, 1.0));
    assert_eq!(t.write.metadata.len(), 1);
}
