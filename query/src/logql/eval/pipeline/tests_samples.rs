//! Sample extraction for metric queries (`logql-cases.md` §3B cases
//! 36-39): counts, byte sizes and unwrapped values.

use super::super::super::ast::{Expr, MetricExpr, RangeOp};
use super::super::super::parse;
use super::super::labels;
use super::*;

const ERR_LINE: &str = r#"level=error status=500 took=1.5s size=2KB msg="db down""#;
const INFO_LINE: &str = "level=info status=200 took=20ms size=512B msg=ok";
const JSON_LINE: &str = r#"{"level":"warn","user":{"id":"u1"},"tags":["x","y"],"latency":0.25}"#;

fn stream_a() -> Vec<(String, String)> {
    vec![("app".into(), "a".into()), ("env".into(), "prod".into())]
}

fn stream_b() -> Vec<(String, String)> {
    vec![("app".into(), "b".into()), ("env".into(), "dev".into())]
}

fn extractor(query: &str) -> SampleExtractor {
    let Expr::Metric(MetricExpr::RangeAggregation(agg)) =
        parse(query).unwrap_or_else(|e| panic!("{query}: {e}"))
    else {
        panic!("{query} is not a range aggregation");
    };
    SampleExtractor::new(&agg.range, agg.op).unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn sample(
    ex: &SampleExtractor,
    stream: &[(String, String)],
    line: &str,
) -> Option<(LabelPairs, f64)> {
    ex.extract(InputEntry {
        ts_ns: 0,
        line: line.as_bytes(),
        stream,
        structured_metadata: &[],
    })
}

#[test]
fn samples_without_unwrap() {
    let ex = extractor(r#"count_over_time({app="a"} |= "error" [1m])"#);
    assert_eq!(sample(&ex, &stream_a(), ERR_LINE), Some((stream_a(), 1.0)));
    assert_eq!(sample(&ex, &stream_a(), INFO_LINE), None);
    let ex = extractor(r#"bytes_over_time({app="a"} | decolorize [1m])"#);
    assert_eq!(
        sample(&ex, &stream_a(), "\x1b[1mabcd"),
        Some((stream_a(), 4.0))
    );
    let ex = extractor(r#"rate({app="b"} | json [1m])"#);
    let (labels, v) = sample(&ex, &stream_b(), JSON_LINE).unwrap();
    assert_eq!(v, 1.0);
    assert_eq!(labels::get(&labels, "user_id"), Some("u1"));
}

#[test]
fn samples_with_unwrap_cases_36_to_39() {
    let ex = extractor(r#"sum_over_time({app="a"} | logfmt | unwrap status [1m])"#);
    let (labels, v) = sample(&ex, &stream_a(), ERR_LINE).unwrap();
    assert_eq!(v, 500.0);
    assert_eq!(labels::get(&labels, "status"), None);
    assert_eq!(labels::get(&labels, "level"), Some("error"));

    let ex = extractor(r#"avg_over_time({app="a"} | logfmt | unwrap duration(took) [1m])"#);
    assert_eq!(sample(&ex, &stream_a(), ERR_LINE).unwrap().1, 1.5);
    assert_eq!(sample(&ex, &stream_a(), INFO_LINE).unwrap().1, 0.02);

    let ex = extractor(r#"max_over_time({app="a"} | logfmt | unwrap bytes(size) [1m])"#);
    assert_eq!(sample(&ex, &stream_a(), ERR_LINE).unwrap().1, 2000.0);
    assert_eq!(sample(&ex, &stream_a(), INFO_LINE).unwrap().1, 512.0);
    assert_eq!(sample(&ex, &stream_a(), "size=2KiB").unwrap().1, 2048.0);
    // No such label: no sample.
    assert_eq!(sample(&ex, &stream_a(), "other=1"), None);
    // A bad unit: an error sample, unless filtered.
    let (labels, v) = sample(&ex, &stream_a(), "size=2XB").unwrap();
    assert_eq!(v, 0.0);
    assert_eq!(
        labels::get(&labels, "__error__"),
        Some("SampleExtractionErr")
    );
    let ex =
        extractor(r#"max_over_time({app="a"} | logfmt | unwrap bytes(size) | __error__="" [1m])"#);
    assert_eq!(sample(&ex, &stream_a(), "size=2XB"), None);
    assert!(sample(&ex, &stream_a(), ERR_LINE).is_some());

    // Case 37: unwrap a stream label.
    let stream = vec![
        ("app".to_owned(), "foo".to_owned()),
        ("foo".to_owned(), "2".to_owned()),
    ];
    let ex = extractor(r#"rate({app="foo", foo="2"} | unwrap foo [30s])"#);
    assert_eq!(
        sample(&ex, &stream, "x"),
        Some((vec![("app".to_owned(), "foo".to_owned())], 2.0))
    );
    let ex = extractor(r#"sum_over_time({app="a"} | logfmt | unwrap v [1m])"#);
    assert_eq!(sample(&ex, &stream_a(), "v=1e3").unwrap().1, 1000.0);
    assert_eq!(
        sample(&ex, &stream_a(), "v=-Inf").unwrap().1,
        f64::NEG_INFINITY
    );
}

#[test]
fn samples_drop_empty_labels_and_keep_errors() {
    let ex = extractor(r#"count_over_time({app="b"} | json age="age" [1m])"#);
    let (labels, _) = sample(&ex, &stream_b(), JSON_LINE).unwrap();
    assert_eq!(labels, stream_b());
    let (labels, _) = sample(&ex, &stream_b(), "not json").unwrap();
    assert_eq!(labels::get(&labels, "__error__"), Some("JSONParserErr"));
}

#[test]
fn extractor_checks_unwrap() {
    let range = |q: &str| match parse(q).unwrap() {
        Expr::Metric(MetricExpr::RangeAggregation(agg)) => agg.range,
        _ => unreachable!(),
    };
    let plain = range(r#"count_over_time({a="b"}[1m])"#);
    let err = SampleExtractor::new(&plain, RangeOp::QuantileOverTime).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid aggregation quantile_over_time without unwrap"
    );
    let unwrapped = range(r#"sum_over_time({a="b"} | unwrap x [1m])"#);
    assert!(SampleExtractor::new(&unwrapped, RangeOp::BytesRate).is_err());
}
