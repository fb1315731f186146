//! Vector aggregations and `sort`.

use super::*;
use crate::logql::ast::{Grouping, VectorAggregation, VectorOp};

const BASE: &str = r#"last_over_time({app="m"} | logfmt | unwrap v [1m])"#;

fn pods() -> Fake {
    values(&[
        (&[("app", "m"), ("pod", "p1"), ("zone", "z1")], "1"),
        (&[("app", "m"), ("pod", "p2"), ("zone", "z1")], "3"),
        (&[("app", "m"), ("pod", "p3"), ("zone", "z2")], "5"),
        (&[("app", "m"), ("pod", "p4"), ("zone", "z2")], "5"),
    ])
}

fn pod(n: u8) -> String {
    let zone = if n <= 2 { "z1" } else { "z2" };
    format!(r#"{{app="m", pod="p{n}", zone="{zone}"}}"#)
}

fn with(query: &str) -> String {
    query.replace("BASE", BASE)
}

#[test]
fn combining_aggregations_by_zone() {
    let src = pods();
    let z = |a: f64, b: f64| vec![(r#"{zone="z1"}"#, a), (r#"{zone="z2"}"#, b)];
    let cases: &[(&str, Vec<(&str, f64)>)] = &[
        ("sum by (zone) (BASE)", z(4.0, 10.0)),
        ("avg by (zone) (BASE)", z(2.0, 5.0)),
        ("min by (zone) (BASE)", z(1.0, 5.0)),
        ("max by (zone) (BASE)", z(3.0, 5.0)),
        ("count by (zone) (BASE)", z(2.0, 2.0)),
        ("stddev by (zone) (BASE)", z(1.0, 0.0)),
        ("stdvar by (zone) (BASE)", z(1.0, 0.0)),
    ];
    for (q, want) in cases {
        assert_vector(&instant(&with(q), 60, &src), want);
    }
}

#[test]
fn grouping_forms() {
    let src = pods();
    assert_vector(&instant(&with("sum(BASE)"), 60, &src), &[("{}", 14.0)]);
    assert_vector(
        &instant(&with("sum by () (BASE)"), 60, &src),
        &[("{}", 14.0)],
    );
    assert_vector(
        &instant(&with("sum without (pod) (BASE)"), 60, &src),
        &[
            (r#"{app="m", zone="z1"}"#, 4.0),
            (r#"{app="m", zone="z2"}"#, 10.0),
        ],
    );
    // A `by` label no series has groups everything under {}.
    assert_vector(
        &instant(&with("sum by (nope) (BASE)"), 60, &src),
        &[("{}", 14.0)],
    );
    assert_vector(
        &instant(&with("sum(sum by (zone) (BASE))"), 60, &src),
        &[("{}", 14.0)],
    );
}

#[test]
fn topk_and_bottomk() {
    let src = pods();
    // p3 and p4 tie at 5: the tie goes to the smaller label set.
    assert_vector(
        &instant(&with("topk(1, BASE)"), 60, &src),
        &[(&pod(3), 5.0)],
    );
    // Instant results are sorted by labels.
    assert_vector(
        &instant(&with("topk(3, BASE)"), 60, &src),
        &[(&pod(2), 3.0), (&pod(3), 5.0), (&pod(4), 5.0)],
    );
    assert_vector(
        &instant(&with("topk(10, BASE)"), 60, &src),
        &[
            (&pod(1), 1.0),
            (&pod(2), 3.0),
            (&pod(3), 5.0),
            (&pod(4), 5.0),
        ],
    );
    assert_vector(
        &instant(&with("bottomk(2, BASE)"), 60, &src),
        &[(&pod(1), 1.0), (&pod(2), 3.0)],
    );
    assert_vector(
        &instant(&with("bottomk by (zone) (1, BASE)"), 60, &src),
        &[(&pod(1), 1.0), (&pod(3), 5.0)],
    );
    assert_vector(
        &instant(&with("approx_topk(2, BASE)"), 60, &src),
        &[(&pod(3), 5.0), (&pod(4), 5.0)],
    );
}

#[test]
fn topk_never_picks_nan() {
    let src = values(&[
        (&[("app", "m"), ("pod", "p1"), ("zone", "z1")], "NaN"),
        (&[("app", "m"), ("pod", "p2"), ("zone", "z1")], "3"),
    ]);
    assert_vector(
        &instant(&with("topk(2, BASE)"), 60, &src),
        &[(&pod(2), 3.0)],
    );
    assert_vector(
        &instant(&with("bottomk(2, BASE)"), 60, &src),
        &[(&pod(2), 3.0)],
    );
    // min/max skip a NaN unless it is all there is.
    assert_vector(&instant(&with("max(BASE)"), 60, &src), &[("{}", 3.0)]);
    assert_vector(&instant(&with("min(BASE)"), 60, &src), &[("{}", 3.0)]);
    assert_vector(&instant(&with("sum(BASE)"), 60, &src), &[("{}", f64::NAN)]);
}

#[test]
fn sort_orders_instant_results_only() {
    let src = values(&[
        (&[("app", "m"), ("pod", "p1"), ("zone", "z1")], "NaN"),
        (&[("app", "m"), ("pod", "p2"), ("zone", "z1")], "3"),
        (&[("app", "m"), ("pod", "p3"), ("zone", "z2")], "1"),
        (&[("app", "m"), ("pod", "p4"), ("zone", "z2")], "2"),
    ]);
    assert_vector(
        &instant(&with("sort(BASE)"), 60, &src),
        &[
            (&pod(3), 1.0),
            (&pod(4), 2.0),
            (&pod(2), 3.0),
            (&pod(1), f64::NAN),
        ],
    );
    assert_vector(
        &instant(&with("sort_desc(BASE)"), 60, &src),
        &[
            (&pod(2), 3.0),
            (&pod(4), 2.0),
            (&pod(3), 1.0),
            (&pod(1), f64::NAN),
        ],
    );
    // Below the top, or in a range query, the order is by labels again.
    let got = instant(&with("sort_desc(BASE) * 1"), 60, &src);
    assert_eq!(got[0].0, pod(1));
    let got = range_query(&with("sort_desc(BASE)"), 60, 70, 10, &src);
    let labels: Vec<_> = got.iter().map(|s| s.0.clone()).collect();
    assert_eq!(labels, vec![pod(1), pod(2), pod(3), pod(4)]);
}

#[test]
fn missing_or_bad_k_and_approx_topk_grouping() {
    let src = pods();
    let inner = metric(BASE);
    let q = MetricQuery {
        start_ns: 60 * S,
        end_ns: 60 * S,
        step_ns: 1,
    };
    let agg = |op, param, grouping| {
        MetricExpr::VectorAggregation(Box::new(VectorAggregation {
            op,
            param,
            grouping,
            expr: inner.clone(),
        }))
    };
    let by_zone = Some(Grouping {
        without: false,
        labels: vec!["zone".into()],
    });
    let limits = MetricLimits::default();
    let err = evaluate(&agg(VectorOp::Topk, None, None), &q, &src, &limits).unwrap_err();
    assert!(matches!(err, MetricError::Unsupported(_)), "{err}");
    let err = evaluate(&agg(VectorOp::Bottomk, Some(0), None), &q, &src, &limits).unwrap_err();
    assert!(matches!(err, MetricError::Invalid(_)), "{err}");
    let err = evaluate(
        &agg(VectorOp::ApproxTopk, Some(1), by_zone),
        &q,
        &src,
        &limits,
    )
    .unwrap_err();
    assert!(matches!(err, MetricError::Unsupported(_)), "{err}");
}
