#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Generated requests: translation never panics, every label set it produces
//! is canonical and valid for Prometheus, and every `_bucket` family is
//! cumulative.

use std::collections::BTreeMap;

use hearth_storage::{Labels, METRIC_NAME_LABEL};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use proptest::prelude::*;

use super::{TranslateOptions, translate};

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("service.name".to_owned()),
        Just("service.namespace".to_owned()),
        Just("service.instance.id".to_owned()),
        Just("__name__".to_owned()),
        Just("le".to_owned()),
        Just("job".to_owned()),
        Just(String::new()),
        "[a-z._0-9é-]{1,6}",
    ]
}

fn any_value() -> impl Strategy<Value = Option<AnyValue>> {
    let leaf = prop_oneof![
        "[a-z;é ]{0,4}".prop_map(any_value::Value::StringValue),
        any::<i64>().prop_map(any_value::Value::IntValue),
        any::<f64>().prop_map(any_value::Value::DoubleValue),
        any::<bool>().prop_map(any_value::Value::BoolValue),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(any_value::Value::BytesValue),
    ];
    proptest::option::weighted(0.9, leaf.prop_map(|v| AnyValue { value: Some(v) }))
}

fn attrs() -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(
        (key(), any_value()).prop_map(|(key, value)| KeyValue {
            key,
            value,
            ..Default::default()
        }),
        0..4,
    )
}

fn time() -> impl Strategy<Value = u64> {
    prop_oneof![1 => Just(0u64), 8 => 1_000_000_000u64..2_000_000_000_000, 1 => any::<u64>()]
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    proptest::collection::vec(
        (
            time(),
            proptest::option::of(any::<f64>()),
            proptest::collection::vec(any::<u8>(), 0..17),
            attrs(),
        )
            .prop_map(|(t, v, id, filtered)| Exemplar {
                filtered_attributes: filtered,
                time_unix_nano: t,
                span_id: id.iter().take(8).copied().collect(),
                trace_id: id,
                value: v.map(exemplar::Value::AsDouble),
            }),
        0..3,
    )
}

fn number_points() -> impl Strategy<Value = Vec<NumberDataPoint>> {
    let value = prop_oneof![
        any::<f64>().prop_map(number_data_point::Value::AsDouble),
        any::<i64>().prop_map(number_data_point::Value::AsInt),
    ];
    proptest::collection::vec(
        (
            attrs(),
            time(),
            proptest::option::weighted(0.9, value),
            0u32..3,
            exemplars(),
        )
            .prop_map(|(attributes, t, value, flags, exemplars)| NumberDataPoint {
                attributes,
                time_unix_nano: t,
                value,
                flags,
                exemplars,
                ..Default::default()
            }),
        0..4,
    )
}

fn histogram_points() -> impl Strategy<Value = Vec<HistogramDataPoint>> {
    let bounds = proptest::collection::vec(prop_oneof![-10.0f64..100.0, Just(f64::NAN)], 0..6);
    proptest::collection::vec(
        (
            attrs(),
            time(),
            bounds,
            proptest::collection::vec(0u64..20, 0..8),
            0u8..10,
            0u32..2,
            exemplars(),
        )
            .prop_map(
                |(attributes, t, mut bounds, mut counts, shape, flags, exemplars)| {
                    // Mostly well-formed, so the cumulative check has material.
                    let sorted = shape < 8;
                    if shape < 7 {
                        bounds.retain(|b| !b.is_nan());
                    }
                    if sorted {
                        bounds.sort_by(f64::total_cmp);
                        bounds.dedup();
                    }
                    if shape < 7 {
                        counts.resize(bounds.len() + 1, 1);
                    }
                    HistogramDataPoint {
                        attributes,
                        time_unix_nano: t,
                        count: counts.iter().sum(),
                        sum: Some(1.0),
                        bucket_counts: counts,
                        explicit_bounds: bounds,
                        flags,
                        exemplars,
                        ..Default::default()
                    }
                },
            ),
        0..3,
    )
}

fn exp_points() -> impl Strategy<Value = Vec<ExponentialHistogramDataPoint>> {
    let buckets = (-2000i32..2000, proptest::collection::vec(0u64..5, 0..300)).prop_map(
        |(offset, bucket_counts)| Buckets {
            offset,
            bucket_counts,
        },
    );
    proptest::collection::vec(
        (
            attrs(),
            time(),
            -12i32..23,
            0u64..3,
            prop_oneof![Just(0.0), 0.0f64..1.0],
            proptest::option::of(buckets.clone()),
            proptest::option::of(buckets),
            exemplars(),
        )
            .prop_map(
                |(
                    attributes,
                    t,
                    scale,
                    zero_count,
                    zero_threshold,
                    positive,
                    negative,
                    exemplars,
                )| {
                    let total = zero_count
                        + [&positive, &negative]
                            .iter()
                            .filter_map(|b| b.as_ref())
                            .flat_map(|b| &b.bucket_counts)
                            .sum::<u64>();
                    ExponentialHistogramDataPoint {
                        attributes,
                        time_unix_nano: t,
                        count: total,
                        sum: None,
                        scale,
                        zero_count,
                        zero_threshold,
                        positive,
                        negative,
                        exemplars,
                        ..Default::default()
                    }
                },
            ),
        0..3,
    )
}

fn summary_points() -> impl Strategy<Value = Vec<SummaryDataPoint>> {
    proptest::collection::vec(
        (
            attrs(),
            time(),
            proptest::collection::vec((0.0f64..1.0, any::<f64>()), 0..3),
        )
            .prop_map(|(attributes, t, qs)| SummaryDataPoint {
                attributes,
                time_unix_nano: t,
                count: 3,
                sum: 1.0,
                quantile_values: qs
                    .into_iter()
                    .map(|(quantile, value)| ValueAtQuantile { quantile, value })
                    .collect(),
                ..Default::default()
            }),
        0..3,
    )
}

fn data() -> impl Strategy<Value = Option<metric::Data>> {
    let data = prop_oneof![
        number_points().prop_map(|data_points| metric::Data::Gauge(Gauge { data_points })),
        (number_points(), 0i32..5, any::<bool>()).prop_map(
            |(data_points, t, m)| metric::Data::Sum(Sum {
                data_points,
                aggregation_temporality: t.min(2),
                is_monotonic: m,
            })
        ),
        (histogram_points(), 1i32..3).prop_map(|(data_points, t)| metric::Data::Histogram(
            Histogram {
                data_points,
                aggregation_temporality: t,
            }
        )),
        (exp_points(), 1i32..3).prop_map(|(data_points, t)| metric::Data::ExponentialHistogram(
            ExponentialHistogram {
                data_points,
                aggregation_temporality: t,
            }
        )),
        summary_points().prop_map(|data_points| metric::Data::Summary(Summary { data_points })),
    ];
    proptest::option::weighted(0.95, data)
}

fn metrics() -> impl Strategy<Value = Vec<Metric>> {
    let name = prop_oneof![
        Just("http.server.duration".to_owned()),
        Just(String::new()),
        "[a-z._:0-9é@]{0,8}"
    ];
    let unit = prop_oneof![
        Just(""),
        Just("1"),
        Just("s"),
        Just("ms"),
        Just("By/s"),
        Just("{req}"),
        Just("/"),
        Just("a b/c d")
    ];
    proptest::collection::vec(
        (name, unit, data()).prop_map(|(name, unit, data)| Metric {
            name,
            unit: unit.to_owned(),
            data,
            ..Default::default()
        }),
        0..4,
    )
}

fn request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let scope = (proptest::option::of("[a-z.]{0,5}"), attrs(), metrics()).prop_map(
        |(name, attributes, metrics)| ScopeMetrics {
            scope: name.map(|name| InstrumentationScope {
                name,
                attributes,
                ..Default::default()
            }),
            metrics,
            schema_url: String::new(),
        },
    );
    let resource = (attrs(), proptest::collection::vec(scope, 1..3)).prop_map(
        |(attributes, scope_metrics)| ResourceMetrics {
            resource: Some(Resource {
                attributes,
                ..Default::default()
            }),
            scope_metrics,
            schema_url: String::new(),
        },
    );
    proptest::collection::vec(resource, 1..3)
        .prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}

fn options() -> impl Strategy<Value = TranslateOptions> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(keep, scope, all, underscore)| TranslateOptions {
            promote_resource_attributes: if all {
                Vec::new()
            } else {
                vec!["host".into(), "le".into()]
            },
            promote_all_resource_attributes: all,
            ignore_resource_attributes: vec!["service.name".into()],
            keep_identifying_resource_attributes: keep,
            promote_scope_metadata: scope,
            label_name_underscore_sanitization: underscore,
            ..TranslateOptions::default()
        },
    )
}

fn valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn translation_is_total_and_well_formed(req in request(), opts in options()) {
        let t = translate(&req, &opts);
        let points: u64 = req.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics).map(super::point_count).sum();
        prop_assert!(t.rejected_points <= points);
        prop_assert!(t.errors.len() <= super::MAX_ERRORS);

        // (family labels without le, ts) -> [(le, value)]
        let mut families: BTreeMap<(String, i64), Vec<(f64, f64)>> = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        for s in &t.write.series {
            prop_assert!(seen.insert(s.labels.clone()), "series {} twice", s.labels);
            let again = Labels::new(s.labels.as_slice().to_vec());
            prop_assert_eq!(again.as_ref(), Ok(&s.labels));
            prop_assert!(valid_metric_name(s.labels.metric_name()), "{}", s.labels);
            for l in s.labels.as_slice() {
                prop_assert!(l.name == METRIC_NAME_LABEL || valid_label_name(&l.name), "{}", s.labels);
                prop_assert!(!l.value.is_empty());
            }
            prop_assert!(!s.samples.is_empty());
            prop_assert!(s.samples.windows(2).all(|w| w[0].ts <= w[1].ts));
            if s.labels.metric_name().ends_with("_bucket") {
                let le = s.labels.get("le").expect("bucket has le");
                let le = if le == "+Inf" { f64::INFINITY } else { le.parse::<f64>().expect("le parses") };
                let family: Vec<String> = s.labels.as_slice().iter().filter(|l| l.name != "le").map(|l| format!("{}={}", l.name, l.value)).collect();
                for x in &s.samples {
                    if !x.is_stale_marker() {
                        families.entry((family.join(","), x.ts)).or_default().push((le, x.value));
                    }
                }
            }
        }
        for ((family, ts), mut buckets) in families {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            // Two points of one family at one time (possible only by
            // repeating a point) cannot be told apart; skip those.
            if buckets.windows(2).any(|w| w[0].0 == w[1].0) {
                continue;
            }
            prop_assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{family} @{ts} not cumulative: {buckets:?}");
            prop_assert_eq!(buckets.last().map(|b| b.0), Some(f64::INFINITY));
        }
    }
}
