//! `compare()` over T1 (at B+1s), T2 (at B+12s) and T3 (at B+5s), range
//! [B, B+20s] with a 10s step: samples at B, B+10s, B+20s. T1 and T3
//! fall in the middle step, T2 in the last.
//!
//! Spans: T1 S1 frontend "GET /api/orders" server unset
//! (http.status_code=200), S2 frontend "orders.query" client unset, S3
//! postgres "SELECT" server **error** (db.system), S4 frontend
//! "cache.get" client unset (cache.hit); T2 frontend "GET /health"
//! unspecified ok; T3 checkout "POST /pay" server **error**, "charge"
//! client ok.

use std::collections::BTreeSet;

use super::fixtures::*;
use crate::traceql::model::Trace;
use crate::traceql::{CompiledQuery, ErrorKind, Label, MetricsEvaluator, Series, compile, parse};

const B_I: i64 = B as i64;
const S_I: i64 = S as i64;
const MS_I: i64 = MS as i64;

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

/// The counts of the series labelled `{meta=kind, attr=value}`; `value`
/// is a string label unless given typed.
fn counts(s: &[Series], kind: &str, attr: &str, value: impl Into<Label>) -> Option<Vec<f64>> {
    let meta = if kind.starts_with("__") {
        "__meta_error"
    } else {
        "__meta_type"
    };
    let want = [
        (meta.to_string(), Label::from(kind)),
        (attr.to_string(), value.into()),
    ];
    s.iter()
        .find(|x| x.labels == want)
        .map(|x| x.points.iter().map(|p| p.1).collect())
}

/// Attribute names of the series of one kind.
fn attrs(s: &[Series], kind: &str) -> BTreeSet<String> {
    s.iter()
        .filter(|x| x.labels[0].1 == Label::from(kind))
        .map(|x| x.labels[1].0.clone())
        .collect()
}

#[test]
fn spans_split_into_selection_and_baseline() {
    let s = range("{} | compare({ status = error })");
    let c = |kind, attr, value| counts(&s, kind, attr, value);
    let svc = "resource.service.name";
    assert_eq!(c("selection", svc, "postgres"), Some(vec![0.0, 1.0, 0.0]));
    assert_eq!(c("selection", svc, "checkout"), Some(vec![0.0, 1.0, 0.0]));
    assert_eq!(c("baseline", svc, "frontend"), Some(vec![0.0, 3.0, 1.0]));
    assert_eq!(c("baseline", svc, "checkout"), Some(vec![0.0, 1.0, 0.0]));
    assert_eq!(c("baseline", svc, "postgres"), None);
    assert_eq!(c("selection", "status", "error"), Some(vec![0.0, 2.0, 0.0]));
    assert_eq!(c("baseline", "status", "unset"), Some(vec![0.0, 3.0, 0.0]));
    assert_eq!(c("baseline", "status", "ok"), Some(vec![0.0, 1.0, 1.0]));
    assert_eq!(c("baseline", "status", "error"), None);
    // Typed values are labelled as by() labels them, with their type.
    assert_eq!(
        counts(&s, "baseline", "span.http.status_code", 200i64),
        Some(vec![0.0, 1.0, 0.0])
    );
    assert_eq!(c("baseline", "span.http.status_code", "200"), None);
    assert_eq!(
        counts(&s, "baseline", "span.cache.hit", true),
        Some(vec![0.0, 1.0, 0.0])
    );
    assert_eq!(c("baseline", "kind", "client"), Some(vec![0.0, 3.0, 0.0]));
    assert_eq!(
        c("selection", "rootServiceName", "frontend"),
        Some(vec![0.0, 1.0, 0.0])
    );
    // Every span carries a status message, empty when unset.
    assert_eq!(
        c("baseline", "statusMessage", ""),
        Some(vec![0.0, 4.0, 1.0])
    );

    let common = [
        "kind",
        "name",
        "resource.service.name",
        "rootName",
        "rootServiceName",
        "status",
        "statusMessage",
    ];
    let mut want: BTreeSet<String> = common.iter().map(|a| a.to_string()).collect();
    want.extend(["span.cache.hit".into(), "span.http.status_code".into()]);
    assert_eq!(attrs(&s, "baseline"), want);
    let mut want: BTreeSet<String> = common.iter().map(|a| a.to_string()).collect();
    want.insert("span.db.system".into());
    assert_eq!(attrs(&s, "selection"), want);
    // No more than 10 values anywhere, so no error series.
    assert!(s.iter().all(|x| x.labels[0].0 == "__meta_type"), "{s:?}");
}

#[test]
fn totals_count_every_span_with_the_attribute() {
    let s = range("{} | compare({ status = error })");
    let c = |kind, attr| counts(&s, kind, attr, Label::Nil);
    let svc = "resource.service.name";
    assert_eq!(c("baseline_total", svc), Some(vec![0.0, 4.0, 1.0]));
    assert_eq!(c("selection_total", svc), Some(vec![0.0, 2.0, 0.0]));
    assert_eq!(
        c("baseline_total", "span.http.status_code"),
        Some(vec![0.0, 1.0, 0.0])
    );
    assert_eq!(
        c("selection_total", "span.db.system"),
        Some(vec![0.0, 1.0, 0.0])
    );
    assert_eq!(c("selection_total", "span.http.status_code"), None);
    // A total for each attribute of its side, and nothing else.
    assert_eq!(attrs(&s, "baseline_total"), attrs(&s, "baseline"));
    assert_eq!(attrs(&s, "selection_total"), attrs(&s, "selection"));
    // Baseline: 20 values over 9 attributes; selection: 12 over 8.
    assert_eq!(s.len(), 20 + 9 + 12 + 8, "{s:#?}");
}

#[test]
fn top_n_keeps_the_most_frequent_values_per_attribute_and_side() {
    let s = range("{} | compare({ status = error }, 1)");
    let c = |kind, attr, value| counts(&s, kind, attr, value);
    let svc = "resource.service.name";
    // frontend (4 spans) beats checkout (1) in the baseline.
    assert_eq!(c("baseline", svc, "frontend"), Some(vec![0.0, 3.0, 1.0]));
    assert_eq!(c("baseline", svc, "checkout"), None);
    // A tie (postgres and checkout, one span each) goes to the lower value.
    assert_eq!(c("selection", svc, "checkout"), Some(vec![0.0, 1.0, 0.0]));
    assert_eq!(c("selection", svc, "postgres"), None);
    // Totals still count every value.
    assert_eq!(
        counts(&s, "baseline_total", svc, Label::Nil),
        Some(vec![0.0, 4.0, 1.0])
    );
    assert_eq!(
        counts(&s, "selection_total", svc, Label::Nil),
        Some(vec![0.0, 2.0, 0.0])
    );
    // Attributes cut on either side are flagged, once, without points.
    assert_eq!(
        counts(&s, "__too_many_values__", svc, Label::Nil),
        Some(vec![])
    );
    assert_eq!(
        counts(&s, "__too_many_values__", "name", Label::Nil),
        Some(vec![])
    );
    assert_eq!(
        counts(&s, "__too_many_values__", "span.db.system", Label::Nil),
        None
    );
    let flagged = s.iter().filter(|x| x.labels[0].0 == "__meta_error").count();
    assert_eq!(flagged, attrs(&s, "__too_many_values__").len());
    for kind in ["baseline", "selection"] {
        for attr in attrs(&s, kind) {
            let n = s
                .iter()
                .filter(|x| x.labels[0].1 == Label::from(kind) && x.labels[1].0 == attr)
                .count();
            assert_eq!(n, 1, "{kind} {attr}");
        }
    }
}

#[test]
fn the_window_limits_the_selection_to_its_start_times() {
    // [S3's start, T3's start): S3 is in, T3's root (also an error) is
    // not, the end being exclusive.
    let start = B_I + S_I + 20 * MS_I;
    let end = B_I + 5 * S_I;
    let s = range(&format!(
        "{{}} | compare({{ status = error }}, 10, {start}, {end})"
    ));
    let c = |kind, attr, value| counts(&s, kind, attr, value);
    let svc = "resource.service.name";
    assert_eq!(c("selection", svc, "postgres"), Some(vec![0.0, 1.0, 0.0]));
    assert_eq!(c("selection", svc, "checkout"), None);
    assert_eq!(c("baseline", "status", "error"), Some(vec![0.0, 1.0, 0.0]));
    assert_eq!(c("baseline", svc, "checkout"), Some(vec![0.0, 2.0, 0.0]));
    // A window that starts just after S3 leaves the selection empty.
    let s = range(&format!(
        "{{}} | compare({{ status = error }}, 10, {}, {end})",
        start + 1
    ));
    assert!(attrs(&s, "selection").is_empty());
    assert_eq!(
        counts(&s, "baseline_total", "status", Label::Nil),
        Some(vec![0.0, 6.0, 1.0])
    );
    // 0, 0 means no window.
    assert_eq!(
        range("{} | compare({ status = error }, 10, 0, 0)"),
        range("{} | compare({ status = error })")
    );
}

#[test]
fn only_spans_of_the_outer_query_are_compared() {
    let s = range(r#"{ resource.service.name = "frontend" } | compare({ name =~ "cache.+" })"#);
    let c = |kind, attr, value| counts(&s, kind, attr, value);
    assert_eq!(
        c("selection", "name", "cache.get"),
        Some(vec![0.0, 1.0, 0.0])
    );
    assert_eq!(
        counts(&s, "baseline_total", "name", Label::Nil),
        Some(vec![0.0, 2.0, 1.0])
    );
    assert_eq!(
        c("baseline", "resource.service.name", "frontend"),
        Some(vec![0.0, 2.0, 1.0])
    );
    assert!(s.iter().all(|x| {
        !x.labels
            .contains(&("resource.service.name".into(), Label::from("postgres")))
    }));
    // Nothing selected by the outer query: no series at all.
    assert!(range(r#"{ name = "nope" } | compare({ status = error })"#).is_empty());
}

#[test]
fn by_is_refused_as_in_tempo() {
    let e = parse("{} | compare({ status = error }) by(resource.service.name)").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation, "{e}");
    let mut q = parse("{} | compare({ status = error })").unwrap();
    let crate::traceql::QueryBody::Metrics(crate::traceql::ast::MetricsExpr::Pipeline(p)) =
        &mut q.body
    else {
        panic!()
    };
    p.by.push(crate::traceql::ast::Expr::Intrinsic(
        crate::traceql::ast::Intrinsic {
            field: crate::traceql::ast::IntrinsicField::Name,
            scoped: false,
        },
    ));
    assert!(CompiledQuery::new(q).is_err());
}

#[test]
fn bad_windows_are_refused() {
    for q in [
        "{} | compare({ status = error }, 10, 5, 5)",
        "{} | compare({ status = error }, 10, 9, 5)",
        "{} | compare({ status = error }, 10, 0, 5)",
        "{} | compare({ status = error }, 10, 5, 0)",
    ] {
        let e = parse(q).expect_err(q);
        assert_eq!(e.kind, ErrorKind::Validation, "{q}: {e}");
    }
    parse("{} | compare({ status = error }, 10, 5, 6)").unwrap();
}

#[test]
fn thresholds_and_topk_apply_to_compare_series() {
    let s = range("{} | compare({ status = error }) > 2");
    assert!(s.iter().all(|x| x.points.iter().all(|p| p.1 > 2.0)));
    assert!(counts(&s, "baseline_total", "status", Label::Nil).is_some());
    assert!(!s.is_empty());
}

#[test]
fn instant_compare_is_one_step() {
    let c = compile("{} | compare({ status = error })").unwrap();
    let mut m = MetricsEvaluator::instant(&c, B_I, B_I + 20 * S_I).unwrap();
    for t in traces() {
        m.observe(&t);
    }
    let s = m.finish();
    let total = s
        .iter()
        .find(|x| x.labels[0].1 == Label::from("baseline_total") && x.labels[1].0 == "status")
        .unwrap();
    assert_eq!(total.points, vec![(B_I + 20 * S_I, 5.0)]);
}

#[test]
fn merged_compare_evaluators_equal_one_evaluator() {
    for q in [
        "{} | compare({ status = error })",
        "{} | compare({ status = error }, 1)",
    ] {
        let c = compile(q).unwrap();
        let mut a = MetricsEvaluator::range(&c, B_I, B_I + 20 * S_I, 10 * S_I).unwrap();
        let mut b = MetricsEvaluator::range(&c, B_I, B_I + 20 * S_I, 10 * S_I).unwrap();
        let traces = traces();
        a.observe(&traces[0]);
        b.observe(&traces[1]);
        b.observe(&traces[2]);
        a.merge(b).unwrap();
        assert_eq!(a.finish(), range(q), "{q}");
    }
}
