//! Tests for metric evaluation, over a fake sample source that runs a small
//! pipeline on in-memory lines (dataset D1 of `logql-cases.md` and a few
//! purpose-built ones).

mod binary;
mod cases;
mod fake;
mod range;
mod vector;

use super::label_ops::format_labels;
use super::*;
use crate::logql::{Expr, parse};
use fake::{Entry, Fake, S, entry};

/// D1 of `logql-cases.md`.
fn d1() -> Vec<Entry> {
    let a = [("app", "a"), ("env", "prod")];
    let b = [("app", "b"), ("env", "dev")];
    let error = r#"level=error status=500 took=1.5s size=2KB msg="db down""#;
    let info = "level=info status=200 took=20ms size=512B msg=ok";
    let json = r#"{"level":"warn","user":{"id":"u1"},"tags":["x","y"],"latency":0.25}"#;
    let mut out = Vec::new();
    for t in [20, 40, 60, 80] {
        out.push(entry(&a, t, error));
    }
    for t in [30, 50] {
        out.push(entry(&a, t, info));
    }
    for t in [25, 45] {
        out.push(entry(&b, t, json));
    }
    out
}

fn d1_source() -> Fake {
    Fake::new(d1())
}

/// Numbers to aggregate: one `v=<n>` line at 50s per stream.
fn values(streams: &[(&[(&str, &str)], &str)]) -> Fake {
    Fake::new(
        streams
            .iter()
            .map(|(labels, v)| entry(labels, 50, &format!("v={v}")))
            .collect(),
    )
}

fn metric(query: &str) -> MetricExpr {
    match parse(query).unwrap_or_else(|e| panic!("{query}: {e}")) {
        Expr::Metric(m) => m,
        Expr::Log(_) => panic!("{query} is a log query"),
    }
}

fn run(
    query: &str,
    start: i64,
    end: i64,
    step: i64,
    source: &dyn SampleSource,
) -> Result<MetricResult, MetricError> {
    let q = MetricQuery {
        start_ns: start * S,
        end_ns: end * S,
        step_ns: step * S,
    };
    evaluate(&metric(query), &q, source, &MetricLimits::default())
}

/// An instant query at `secs`, as `(labels, value)` in output order.
fn instant(query: &str, secs: i64, source: &dyn SampleSource) -> Vec<(String, f64)> {
    match run(query, secs, secs, 1, source).unwrap_or_else(|e| panic!("{query}: {e}")) {
        MetricResult::Vector(v) => v
            .into_iter()
            .map(|p| {
                assert_eq!(p.ts_ns, secs * S, "{query}");
                (format_labels(&p.labels), p.value)
            })
            .collect(),
        other => panic!("{query}: expected a vector, got {other:?}"),
    }
}

type Series = (String, Vec<(i64, f64)>);

/// A range query, points as `(seconds, value)`.
fn range_query(
    query: &str,
    start: i64,
    end: i64,
    step: i64,
    source: &dyn SampleSource,
) -> Vec<Series> {
    match run(query, start, end, step, source).unwrap_or_else(|e| panic!("{query}: {e}")) {
        MetricResult::Matrix(m) => m
            .into_iter()
            .map(|s| {
                let points = s.points.iter().map(|&(t, v)| (t / S, v)).collect();
                (format_labels(&s.labels), points)
            })
            .collect(),
        other => panic!("{query}: expected a matrix, got {other:?}"),
    }
}

fn instant_error(query: &str, secs: i64, source: &dyn SampleSource) -> MetricError {
    match run(query, secs, secs, 1, source) {
        Ok(r) => panic!("{query}: expected an error, got {r:?}"),
        Err(e) => e,
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[track_caller]
fn assert_vector(got: &[(String, f64)], want: &[(&str, f64)]) {
    let ok = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|((gl, gv), (wl, wv))| gl == wl && same(*gv, *wv));
    assert!(ok, "got {got:?}\nwant {want:?}");
}

#[track_caller]
fn assert_matrix(got: &[Series], want: &[(&str, &[(i64, f64)])]) {
    let ok = got.len() == want.len()
        && got.iter().zip(want).all(|((gl, gp), (wl, wp))| {
            gl == wl
                && gp.len() == wp.len()
                && gp
                    .iter()
                    .zip(wp.iter())
                    .all(|(g, w)| g.0 == w.0 && same(g.1, w.1))
        });
    assert!(ok, "got {got:?}\nwant {want:?}");
}

const A: &str = r#"{app="a", env="prod"}"#;
const B: &str = r#"{app="b", env="dev"}"#;
