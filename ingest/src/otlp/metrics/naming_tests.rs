#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The naming rules one by one, with Prometheus' documented results.

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, KeyValue, KeyValueList, any_value::Value,
};

use super::naming::{NameKind, format_le, label_name, metric_name, unit_name};
use crate::otlp::value::attribute_string;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

#[test]
fn metric_names_follow_prometheus() {
    use NameKind::*;
    let cases = [
        (
            "http.server.requests",
            "{request}",
            MonotonicSum,
            "http_server_requests_total",
        ),
        (
            "system.memory.usage",
            "By",
            Gauge,
            "system_memory_usage_bytes",
        ),
        (
            "http.server.duration",
            "ms",
            Histogram,
            "http_server_duration_milliseconds",
        ),
        ("requests_total", "", MonotonicSum, "requests_total"),
        ("foo.total.bar", "", MonotonicSum, "foo_bar_total"),
        ("cpu_usage", "1", Gauge, "cpu_usage_ratio"),
        ("cpu_usage_ratio", "1", Gauge, "cpu_usage_ratio"),
        ("items", "1", MonotonicSum, "items_total"),
        ("queue.size", "1", NonMonotonicSum, "queue_size"),
        ("throughput", "By/s", Gauge, "throughput_bytes_per_second"),
        ("requests", "1/s", Gauge, "requests_per_second"),
        ("packets", "{packets}/s", Gauge, "packets_per_second"),
        ("custom_metric", "By/{custom}", Gauge, "custom_metric_bytes"),
        ("response_time_seconds", "s", Gauge, "response_time_seconds"),
        ("seconds_before_x", "s", Gauge, "seconds_before_x"),
        ("cpu.time", "s", MonotonicSum, "cpu_time_seconds_total"),
        ("cpu_seconds_total", "s", MonotonicSum, "cpu_seconds_total"),
        (
            "metric__with__multiple__underscores",
            "unit__multiple__underscores",
            Gauge,
            "metric_with_multiple_underscores_unit_multiple_underscores",
        ),
        (
            "custom_metric",
            "unit@with#special/chars",
            Gauge,
            "custom_metric_unit_with_special_per_chars",
        ),
        ("123metric", "", Gauge, "_123metric"),
        ("mem", "KiBy", Gauge, "mem_kibibytes"),
        ("disk", "TiBy", Gauge, "disk_tibibytes"),
        ("uptime", "d", Gauge, "uptime_days"),
        ("wait", "min", Summary, "wait_minutes"),
        ("speed", "m/h", Gauge, "speed_meters_per_hour"),
        ("temp", "Cel", Gauge, "temp_celsius"),
        ("load", "%", Gauge, "load_percent"),
        ("a:b.c", "", Gauge, "a:b_c"),
        ("__x__", "", Gauge, "x"),
        ("size", "By", ExponentialHistogram, "size_bytes"),
        ("grüße", "", Gauge, "gr_e"),
    ];
    for (name, unit, kind, want) in cases {
        assert_eq!(
            metric_name(name, unit, kind).as_deref(),
            Ok(want),
            "{name} {unit}"
        );
    }
    assert!(metric_name("", "", NameKind::Gauge).is_err());
    assert!(metric_name("@#$%", "", NameKind::Gauge).is_err());
}

#[test]
fn units_as_metadata_stores_them() {
    assert_eq!(unit_name("s"), "seconds");
    assert_eq!(unit_name("By/s"), "bytes_per_second");
    assert_eq!(unit_name("1"), "");
    assert_eq!(unit_name("{request}"), "");
    assert_eq!(unit_name("1/s"), "per_second");
    assert_eq!(unit_name(""), "");
}

#[test]
fn label_names_follow_prometheus() {
    assert_eq!(label_name("http.method", true).unwrap(), "http_method");
    assert_eq!(label_name("123invalid", true).unwrap(), "key_123invalid");
    assert_eq!(label_name("_private", true).unwrap(), "key_private");
    assert_eq!(label_name("_private", false).unwrap(), "_private");
    assert_eq!(label_name("__reserved__", true).unwrap(), "__reserved__");
    assert_eq!(label_name("a..b", true).unwrap(), "a__b");
    assert_eq!(label_name("___", true).unwrap(), "___");
    assert_eq!(label_name("é", true).unwrap(), "key_");
    assert!(label_name("é", false).is_err());
    assert!(label_name("..", true).is_err());
    assert!(label_name("", true).is_err());
}

#[test]
fn floats_format_like_go() {
    assert_eq!(format_le(5.0), "5");
    assert_eq!(format_le(0.005), "0.005");
    assert_eq!(format_le(2.5), "2.5");
    assert_eq!(format_le(-0.5), "-0.5");
    assert_eq!(format_le(1e-7), "0.0000001");
    assert_eq!(format_le(1e21), "1000000000000000000000");
    assert_eq!(format_le(f64::INFINITY), "+Inf");
}

#[test]
fn attribute_values_stringify_like_the_collector() {
    let s = |v: Value| attribute_string(Some(&AnyValue { value: Some(v) }));
    assert_eq!(s(Value::IntValue(-42)), "-42");
    assert_eq!(s(Value::BoolValue(true)), "true");
    assert_eq!(s(Value::DoubleValue(1.5)), "1.5");
    assert_eq!(s(Value::DoubleValue(1e21)), "1e+21");
    assert_eq!(s(Value::DoubleValue(1.5e-7)), "1.5e-7");
    assert_eq!(s(Value::DoubleValue(0.000001)), "0.000001");
    assert_eq!(
        s(Value::DoubleValue(f64::NAN)),
        "json: unsupported value: NaN"
    );
    assert_eq!(s(Value::BytesValue(vec![1, 2, 3, 4])), "AQIDBA==");
    let arr = ArrayValue {
        values: vec![
            AnyValue {
                value: Some(Value::StringValue("a".into())),
            },
            AnyValue {
                value: Some(Value::IntValue(1)),
            },
        ],
    };
    assert_eq!(s(Value::ArrayValue(arr)), r#"["a",1]"#);
    let map = KeyValueList {
        values: vec![
            kv("b", Value::IntValue(1)),
            kv("a", Value::StringValue("<&\n".into())),
        ],
    };
    assert_eq!(
        s(Value::KvlistValue(map)),
        r#"{"a":"\u003c\u0026\n","b":1}"#
    );
    assert_eq!(attribute_string(None), "");
}
