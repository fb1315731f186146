//! Metrics cases 28–32 and friends over T1 (at B+1s), T2 (at B+12s) and
//! T3 (at B+5s), range [B, B+20s] with a 10s step: samples at B, B+10s,
//! B+20s, covering (B-10s, B], (B, B+10s], (B+10s, B+20s].

use super::fixtures::*;
use crate::traceql::model::{Attr, AttrValue, Trace};
use crate::traceql::{Label, Labels, MetricsEvaluator, Series, compile};

const B_I: i64 = B as i64;
const S_I: i64 = S as i64;

fn traces() -> Vec<Trace> {
    vec![t1(), t2(), t3_at(B + 5 * S)]
}

fn range(q: &str) -> Vec<Series> {
    let c = compile(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let mut m = MetricsEvaluator::range(&c, B_I, B_I + 20 * S_I, 10 * S_I).unwrap();
    for t in traces() {
        m.observe(&t);
    }
    m.finish()
}

fn labels(pairs: &[(&str, Label)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn str(v: &str) -> Label {
    Label::from(v)
}

fn ts(k: i64) -> i64 {
    B_I + k * 10 * S_I
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn case_28_root_error_rate_by_service() {
    let s = range("{nestedSetParent<0 && status=error} | rate() by(resource.service.name)");
    assert_eq!(
        s,
        vec![Series {
            labels: labels(&[("resource.service.name", str("checkout"))]),
            points: vec![(ts(0), 0.0), (ts(1), 0.1), (ts(2), 0.0)],
        }]
    );
    // T1 alone: its root is not an error, so no series at all.
    let c =
        compile("{nestedSetParent<0 && status=error} | rate() by(resource.service.name)").unwrap();
    let mut m = MetricsEvaluator::range(&c, B_I, B_I + 20 * S_I, 10 * S_I).unwrap();
    m.observe(&t1());
    assert!(m.finish().is_empty());
}

#[test]
fn case_29_quantiles_by_service() {
    let s =
        range("{kind=server} | quantile_over_time(duration, 0.5, 0.9) by(resource.service.name)");
    let got: Vec<_> = s.iter().map(|x| x.labels.clone()).collect();
    assert_eq!(
        got,
        vec![
            labels(&[
                ("resource.service.name", str("checkout")),
                ("p", Label::from(0.5))
            ]),
            labels(&[
                ("resource.service.name", str("checkout")),
                ("p", Label::from(0.9))
            ]),
            labels(&[
                ("resource.service.name", str("frontend")),
                ("p", Label::from(0.5))
            ]),
            labels(&[
                ("resource.service.name", str("frontend")),
                ("p", Label::from(0.9))
            ]),
            labels(&[
                ("resource.service.name", str("postgres")),
                ("p", Label::from(0.5))
            ]),
            labels(&[
                ("resource.service.name", str("postgres")),
                ("p", Label::from(0.9))
            ]),
        ]
    );
    // frontend: one 1.2s span, bucket (2^30, 2^31] ns.
    let lo = 1.073741824;
    assert_eq!(s[2].points.len(), 1);
    assert_eq!(s[2].points[0].0, ts(1));
    assert!(close(s[2].points[0].1, lo * 1.5), "{:?}", s[2]);
    assert!(close(s[3].points[0].1, lo * 1.9), "{:?}", s[3]);
    // postgres: one 850ms span, bucket (2^29, 2^30] ns.
    assert!(close(s[4].points[0].1, lo / 2.0 * 1.5));
}

#[test]
fn case_30_histogram_buckets() {
    let s = range("{} | histogram_over_time(duration) with(sample=true)");
    let want = [
        // T2 2ms -> 2^21 ns
        (0.002097152, [0.0, 0.0, 1.0]),
        // S4 5ms -> 2^23 ns
        (0.008388608, [0.0, 1.0, 0.0]),
        // T3 child 100ms -> 2^27 ns
        (0.134217728, [0.0, 1.0, 0.0]),
        // T3 root 300ms -> 2^29 ns
        (0.536870912, [0.0, 1.0, 0.0]),
        // S2 900ms, S3 850ms -> 2^30 ns
        (1.073741824, [0.0, 2.0, 0.0]),
        // S1 1.2s -> 2^31 ns
        (2.147483648, [0.0, 1.0, 0.0]),
    ];
    assert_eq!(s.len(), want.len(), "{s:?}");
    for (series, (bucket, counts)) in s.iter().zip(want) {
        assert_eq!(series.labels, labels(&[("__bucket", Label::from(bucket))]));
        let vals: Vec<f64> = series.points.iter().map(|p| p.1).collect();
        assert_eq!(vals, counts, "bucket {bucket}");
    }
}

#[test]
fn case_31_error_ratio() {
    let s = range("({status=error} | rate()) / ({} | rate())");
    assert_eq!(s.len(), 1);
    assert!(s[0].labels.is_empty());
    let p = &s[0].points;
    assert_eq!(p.len(), 3);
    assert!(p[0].1.is_nan(), "0/0 in an empty step");
    // Step 2: errors S3 and T3 root of 6 spans (T1 4 + T3 2).
    assert!(close(p[1].1, 2.0 / 6.0));
    assert_eq!(p[2], (ts(2), 0.0));
}

#[test]
fn case_32_topk() {
    let s = range("{} | rate() by(resource.service.name) | topk(2)");
    // Step 1: frontend 0.3, checkout 0.2, postgres 0.1 -> postgres dropped.
    // Steps 0 and 2 tie at 0; ties go to the lower label set.
    assert_eq!(
        s,
        vec![
            Series {
                labels: labels(&[("resource.service.name", str("checkout"))]),
                points: vec![(ts(0), 0.0), (ts(1), 0.2), (ts(2), 0.0)],
            },
            Series {
                labels: labels(&[("resource.service.name", str("frontend"))]),
                points: vec![(ts(0), 0.0), (ts(1), 0.3), (ts(2), 0.1)],
            },
        ]
    );
    let s = range("{} | count_over_time() by(resource.service.name) | bottomk(1)");
    assert!(s.iter().all(|x| x.points.iter().all(|p| p.1 <= 1.0)));
}

#[test]
fn ungrouped_series_are_named_after_the_function() {
    let s = range("{} | count_over_time()");
    assert_eq!(
        s,
        vec![Series {
            labels: labels(&[("__name__", str("count_over_time"))]),
            points: vec![(ts(0), 0.0), (ts(1), 6.0), (ts(2), 1.0)],
        }]
    );
}

#[test]
fn value_functions_report_seconds_and_skip_empty_steps() {
    let avg = range("{} | avg_over_time(duration)");
    assert_eq!(avg.len(), 1);
    assert_eq!(avg[0].points.len(), 2);
    let want = (1.2 + 0.9 + 0.85 + 0.005 + 0.3 + 0.1) / 6.0;
    assert!(close(avg[0].points[0].1, want));
    assert_eq!(avg[0].points[1], (ts(2), 0.002));
    let max = range("{} | max_over_time(duration) by(resource.service.name)");
    let fe = max
        .iter()
        .find(|x| x.labels[0].1 == str("frontend"))
        .unwrap();
    assert_eq!(fe.points, vec![(ts(1), 1.2), (ts(2), 0.002)]);
    let min = range("{} | min_over_time(span.http.status_code)");
    assert_eq!(min[0].points, vec![(ts(1), 200.0)]);
    let sum = range("{} | sum_over_time(duration) > 1");
    assert_eq!(sum[0].points.len(), 1);
    assert!(close(sum[0].points[0].1, 3.355));
}

#[test]
fn instant_query_is_one_step() {
    let c = compile("{} | count_over_time() by(resource.service.name)").unwrap();
    let mut m = MetricsEvaluator::instant(&c, B_I, B_I + 20 * S_I).unwrap();
    for t in traces() {
        m.observe(&t);
    }
    let s = m.finish();
    let fe = s.iter().find(|x| x.labels[0].1 == str("frontend")).unwrap();
    assert_eq!(fe.points, vec![(B_I + 20 * S_I, 4.0)]);
    assert_eq!(m_rate_instant(), vec![(B_I + 20 * S_I, 7.0 / 20.0)]);
}

fn m_rate_instant() -> Vec<(i64, f64)> {
    let c = compile("{} | rate()").unwrap();
    let mut m = MetricsEvaluator::instant(&c, B_I, B_I + 20 * S_I).unwrap();
    for t in traces() {
        m.observe(&t);
    }
    m.finish().remove(0).points
}

#[test]
fn grid_alignment_and_window() {
    let c = compile("{} | count_over_time()").unwrap();
    // Unaligned start/end snap to the 10s grid.
    let m = MetricsEvaluator::range(&c, B_I + 3 * S_I, B_I + 17 * S_I, 10 * S_I).unwrap();
    assert_eq!(m.timestamps(), vec![ts(0), ts(1), ts(2)]);
    assert_eq!(m.span_window(), (B_I - 10 * S_I, ts(2)));
    assert!(MetricsEvaluator::range(&c, 0, 10, 0).is_err());
    assert!(MetricsEvaluator::range(&c, 10, 0, 1).is_err());
    assert!(MetricsEvaluator::range(&c, 0, 1_000_000_000, 1).is_err());
    for (a, b, step) in [
        (i64::MIN, i64::MAX, i64::MAX),
        (i64::MIN, i64::MIN, 1),
        (i64::MAX - 1, i64::MAX, 7),
        (-5, 5, i64::MAX),
    ] {
        let _ = MetricsEvaluator::range(&c, a, b, step);
    }
    assert!(MetricsEvaluator::instant(&c, i64::MIN, i64::MAX).is_err());
    let spans = compile("{}").unwrap();
    assert!(MetricsEvaluator::range(&spans, 0, 10, 1).is_err());
}

#[test]
fn merged_evaluators_equal_one_evaluator() {
    for q in [
        "{} | rate() by(resource.service.name)",
        "{} | avg_over_time(duration) by(resource.service.name)",
        "{} | quantile_over_time(duration, 0.5)",
        "{} | histogram_over_time(duration)",
        "({status=error} | count_over_time()) / ({} | count_over_time())",
    ] {
        let c = compile(q).unwrap();
        let mut a = MetricsEvaluator::range(&c, B_I, B_I + 20 * S_I, 10 * S_I).unwrap();
        let mut b = MetricsEvaluator::range(&c, B_I, B_I + 20 * S_I, 10 * S_I).unwrap();
        let traces = traces();
        a.observe(&traces[0]);
        b.observe(&traces[1]);
        b.observe(&traces[2]);
        a.merge(b).unwrap();
        let merged = a.finish();
        let single = range(q);
        assert_eq!(format!("{merged:?}"), format!("{single:?}"), "{q}");
    }
    let c = compile("{} | rate()").unwrap();
    let mut a = MetricsEvaluator::range(&c, B_I, B_I + 20 * S_I, 10 * S_I).unwrap();
    let b = MetricsEvaluator::range(&c, B_I, B_I + 30 * S_I, 10 * S_I).unwrap();
    assert!(a.merge(b).is_err());
}

/// Values keep their type: a string `"200"` and an integer `200` are two
/// series (as in Tempo), and each type reaches the labels as itself.
#[test]
fn labels_are_typed_and_types_do_not_merge() {
    let mut t = t2();
    let mut other = t2_at(B + 13 * S);
    let set = |t: &mut Trace, id: u8, v: AttrValue| {
        let mut spans = t.spans().to_vec();
        spans[0].attributes.push(Attr::new("http.status_code", v));
        *t = Trace::new([id; 16], spans);
    };
    set(&mut t, 7, AttrValue::Str("200".into()));
    set(&mut other, 8, AttrValue::Float(200.0));
    let c = compile("{} | count_over_time() by(span.http.status_code)").unwrap();
    let mut m = MetricsEvaluator::range(&c, B_I, B_I + 20 * S_I, 10 * S_I).unwrap();
    for tr in [t1(), t, other, t3_at(B + 5 * S)] {
        m.observe(&tr);
    }
    let got: Vec<(Labels, f64)> = m
        .finish()
        .into_iter()
        .map(|s| (s.labels, s.points.iter().map(|p| p.1).sum()))
        .collect();
    let key = "span.http.status_code";
    assert_eq!(
        got,
        vec![
            (labels(&[(key, str("200"))]), 1.0),
            (labels(&[(key, Label::from(200i64))]), 1.0),
            (labels(&[(key, Label::from(200.0))]), 1.0),
            (labels(&[(key, Label::Nil)]), 5.0),
        ]
    );
    // All three print alike: only the type tells them apart.
    assert!(got[..3].iter().all(|(l, _)| l[0].1.to_string() == "200"));

    let s = range("{} | count_over_time() by(span.cache.hit, status, duration)");
    let hit = s
        .iter()
        .find(|x| x.labels[0].1 == Label::Bool(true))
        .unwrap();
    assert_eq!(hit.labels[1].1, str("unset"));
    assert_eq!(hit.labels[2].1, str("5ms"));
}

/// Arithmetic joins series whose labels are equal in type as well as
/// text.
#[test]
fn binary_operations_join_typed_labels() {
    let s = range(
        "({} | count_over_time() by(span.http.status_code)) + ({} | count_over_time() by(span.http.status_code))",
    );
    let ok = s
        .iter()
        .find(|x| x.labels == labels(&[("span.http.status_code", Label::from(200i64))]))
        .unwrap();
    assert_eq!(ok.points, vec![(ts(0), 0.0), (ts(1), 2.0), (ts(2), 0.0)]);
}
