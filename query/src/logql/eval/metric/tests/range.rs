//! Range aggregations: windows, steps, offsets, grouping, the functions,
//! errors and limits.

use proptest::prelude::*;

use super::fake::Static;
use super::*;

fn series_of(values: &[(i64, &str)]) -> Fake {
    Fake::new(
        values
            .iter()
            .map(|&(t, v)| entry(&[("app", "v")], t, &format!("v={v}")))
            .collect(),
    )
}

fn unwrapped(func: &str) -> String {
    format!(r#"{func}({{app="v"}} | logfmt | unwrap v [1m])"#)
}

const V: &str = r#"{app="v"}"#;

#[test]
fn source_is_called_once_for_the_whole_span() {
    let src = d1_source();
    range_query(r#"count_over_time({app="a"}[1m])"#, 40, 80, 20, &src);
    assert_eq!(*src.calls.borrow(), vec![(-20 * S, 80 * S)]);
}

#[test]
fn offset_shifts_windows_and_the_source_span() {
    let src = d1_source();
    let got = range_query(
        r#"count_over_time({app="a"}[1m] offset 30s)"#,
        60,
        90,
        30,
        &src,
    );
    // (−30,30] holds 20 and 30; (0,60] holds five lines. Points stay at t.
    assert_matrix(&got, &[(A, &[(60, 2.0), (90, 5.0)])]);
    assert_eq!(*src.calls.borrow(), vec![(-30 * S, 60 * S)]);
}

#[test]
fn steps_stop_at_end_when_step_does_not_divide_the_range() {
    let got = range_query(r#"count_over_time({app="a"}[1m])"#, 0, 50, 20, &d1_source());
    assert_matrix(&got, &[(A, &[(20, 1.0), (40, 3.0)])]);
}

#[test]
fn series_without_points_are_omitted_and_matrix_is_sorted() {
    let src = d1_source();
    let got = range_query(r#"count_over_time({app=~"a|b"}[1m])"#, 110, 200, 50, &src);
    assert_matrix(&got, &[(A, &[(110, 2.0)])]);
    let got = range_query(r#"count_over_time({app=~"b|a"}[30s])"#, 30, 60, 30, &src);
    assert_matrix(
        &got,
        &[(A, &[(30, 2.0), (60, 3.0)]), (B, &[(30, 1.0), (60, 1.0)])],
    );
}

#[test]
fn empty_source() {
    let src = Fake::new(Vec::new());
    assert_vector(&instant(r#"count_over_time({app="a"}[1m])"#, 60, &src), &[]);
    assert_vector(&instant(r#"sum(rate({app="a"}[1m]))"#, 60, &src), &[]);
    assert_matrix(
        &range_query(r#"count_over_time({app="a"}[1m])"#, 0, 100, 10, &src),
        &[],
    );
    assert_matrix(
        &range_query(r#"absent_over_time({app="a"}[1m])"#, 0, 20, 10, &src),
        &[(r#"{app="a"}"#, &[(0, 1.0), (10, 1.0), (20, 1.0)])],
    );
}

#[test]
fn absent_over_time_labels_and_steps() {
    let src = Fake::new(vec![entry(&[("app", "x"), ("env", "prod")], 50, "line")]);
    let q = r#"absent_over_time({app="x", env=~"p.*", pod!="1"}[30s])"#;
    // Only equality matchers give labels; the step whose window holds the
    // line has no point.
    assert_matrix(
        &range_query(q, 0, 100, 50, &src),
        &[(r#"{app="x"}"#, &[(0, 1.0), (100, 1.0)])],
    );
    let q = r#"absent_over_time({app="x", app="y", env="prod"}[30s])"#;
    assert_vector(&instant(q, 0, &src), &[(r#"{env="prod"}"#, 1.0)]);
}

#[test]
fn grouping_happens_before_the_range_function() {
    let src = d1_source();
    let q = r#"sum_over_time({app="a"} | logfmt | unwrap status [1m]) without (level, msg, size, took)"#;
    assert_vector(&instant(q, 60, &src), &[(A, 1900.0)]);
    let q = r#"rate({app=~"a|b"}[1m]) by (env)"#;
    assert_vector(
        &instant(q, 60, &src),
        &[
            (r#"{env="dev"}"#, 2.0 / 60.0),
            (r#"{env="prod"}"#, 5.0 / 60.0),
        ],
    );
    // Per-series maxima would be 1.5 and 0.02; grouped samples give one.
    let q = r#"max_over_time({app="a"} | logfmt | unwrap duration(took) [1m]) by ()"#;
    assert_vector(&instant(q, 60, &src), &[("{}", 1.5)]);
}

#[test]
fn error_label_fails_the_query_only_when_evaluated() {
    let mut lines = d1();
    lines.push(entry(&[("app", "b"), ("env", "dev")], 200, "not json"));
    let src = Fake::new(lines);
    let q = r#"count_over_time({app="b"} | json [1m])"#;
    // The bad line is outside every window of this query.
    assert_vector(
        &instant(q, 60, &src),
        &[(
            r#"{app="b", env="dev", latency="0.25", level="warn", user_id="u1"}"#,
            2.0,
        )],
    );
    let err = instant_error(q, 230, &src);
    assert!(matches!(err, MetricError::Pipeline { .. }), "{err}");
    // Grouping does not hide the error.
    let err = instant_error(
        r#"sum by (app) (count_over_time({app="b"} | json [1m]))"#,
        230,
        &src,
    );
    assert!(matches!(err, MetricError::Pipeline { .. }), "{err}");
    let err = instant_error(r#"rate({app="b"} | json [1m]) by (app)"#, 230, &src);
    assert!(matches!(err, MetricError::Pipeline { .. }), "{err}");
    let err = instant_error(r#"absent_over_time({app="b"} | json [1m])"#, 230, &src);
    assert!(matches!(err, MetricError::Pipeline { .. }), "{err}");
}

#[test]
fn unwrapped_functions() {
    let src = series_of(&[(10, "1"), (20, "2"), (30, "3"), (40, "4"), (50, "5")]);
    let cases: &[(&str, f64)] = &[
        ("sum_over_time", 15.0),
        ("avg_over_time", 3.0),
        ("min_over_time", 1.0),
        ("max_over_time", 5.0),
        ("stdvar_over_time", 2.0),
        ("stddev_over_time", 2f64.sqrt()),
        ("first_over_time", 1.0),
        ("last_over_time", 5.0),
        ("rate", 0.25),
    ];
    for (func, want) in cases {
        assert_vector(&instant(&unwrapped(func), 60, &src), &[(V, *want)]);
    }
    assert_vector(
        &instant(r#"count_over_time({app="v"}[1m])"#, 60, &src),
        &[(V, 5.0)],
    );
}

#[test]
fn nan_and_infinities_in_windows() {
    let src = series_of(&[(10, "NaN"), (20, "2"), (30, "+Inf"), (40, "-1"), (55, "4")]);
    assert_vector(
        &instant(&unwrapped("min_over_time"), 45, &src),
        &[(V, -1.0)],
    );
    assert_vector(
        &instant(&unwrapped("max_over_time"), 45, &src),
        &[(V, f64::INFINITY)],
    );
    assert_vector(
        &instant(&unwrapped("sum_over_time"), 45, &src),
        &[(V, f64::NAN)],
    );
    // Sums recover once the NaN, then the infinity, leave the window.
    let q = r#"sum_over_time({app="v"} | logfmt | unwrap v [15s])"#;
    assert_matrix(
        &range_query(q, 20, 60, 20, &src),
        &[(V, &[(20, f64::NAN), (40, f64::INFINITY), (60, 4.0)])],
    );
    let src = series_of(&[(10, "NaN"), (20, "NaN")]);
    assert_vector(
        &instant(&unwrapped("max_over_time"), 45, &src),
        &[(V, f64::NAN)],
    );
}

#[test]
fn rate_counter_handles_resets_and_extrapolates() {
    let src = series_of(&[(10, "10"), (20, "20"), (30, "30"), (40, "5"), (50, "15")]);
    let q = unwrapped("rate_counter");
    // Increase 5 + 30 (reset) = 35 over 40s of samples, extrapolated by
    // 10s at each end: 35 × 60/40 over a 60s range.
    assert_vector(&instant(&q, 60, &src), &[(V, 0.875)]);
    // A single sample in the window gives 0.
    assert_vector(&instant(&q, 100, &src), &[(V, 0.0)]);
    // The first sample lies 40s after the window start, beyond 1.1 average
    // gaps: extrapolate half a gap (5s) there, the full 10s at the end.
    let src = series_of(&[(40, "100"), (50, "110")]);
    assert_vector(&instant(&q, 60, &src), &[(V, 10.0 * 25.0 / 10.0 / 60.0)]);
    // The counter would reach 0 just 1s before the first sample: the start
    // extrapolation stops there.
    let src = series_of(&[(40, "1"), (50, "11")]);
    assert_vector(&instant(&q, 60, &src), &[(V, 10.0 * 21.0 / 10.0 / 60.0)]);
}

#[test]
fn quantile_edges() {
    let src = series_of(&[(10, "NaN"), (20, "1"), (30, "3")]);
    let q =
        |phi: &str| format!(r#"quantile_over_time({phi}, {{app="v"}} | logfmt | unwrap v [1m])"#);
    assert_vector(&instant(&q("0"), 60, &src), &[(V, f64::NAN)]);
    assert_vector(&instant(&q("1"), 60, &src), &[(V, 3.0)]);
    assert_vector(&instant(&q("0.75"), 60, &src), &[(V, 2.0)]);
}

#[test]
fn source_errors_propagate() {
    let mut src = d1_source();
    src.fail = Some("store unavailable".into());
    let err = instant_error(r#"count_over_time({app="a"}[1m])"#, 60, &src);
    assert_eq!(err, MetricError::Source("store unavailable".into()));
}

#[test]
fn too_many_series() {
    let src = d1_source();
    let q = MetricQuery {
        start_ns: 60 * S,
        end_ns: 60 * S,
        step_ns: 1,
    };
    let limits = MetricLimits { max_series: 1 };
    let expr = metric(r#"count_over_time({app=~"a|b"}[1m])"#);
    let err = evaluate(&expr, &q, &src, &limits).unwrap_err();
    assert_eq!(err, MetricError::TooManySeries(1));
    assert_eq!(
        err.to_string(),
        "maximum of series (1) reached for a single query"
    );
    // Across a range query, distinct series add up even if each step is
    // within the limit.
    let lines = vec![
        entry(&[("app", "x")], 10, "a"),
        entry(&[("app", "y")], 110, "b"),
    ];
    let src = Fake::new(lines);
    let q = MetricQuery {
        start_ns: 10 * S,
        end_ns: 110 * S,
        step_ns: 100 * S,
    };
    let expr = metric(r#"count_over_time({app=~"x|y"}[10s])"#);
    let err = evaluate(&expr, &q, &src, &limits).unwrap_err();
    assert_eq!(err, MetricError::TooManySeries(1));
    let limits = MetricLimits { max_series: 2 };
    assert!(evaluate(&expr, &q, &src, &limits).is_ok());
}

#[test]
fn invalid_time_frames() {
    let src = d1_source();
    let expr = metric(r#"count_over_time({app="a"}[1m])"#);
    let limits = MetricLimits::default();
    for (start, end, step) in [(10, 0, 1), (0, 10, 0), (0, 10, -1), (0, 20_000, 1)] {
        let q = MetricQuery {
            start_ns: start * S,
            end_ns: end * S,
            step_ns: step * S,
        };
        let err = evaluate(&expr, &q, &src, &limits).unwrap_err();
        assert!(matches!(err, MetricError::Invalid(_)), "{err}");
    }
}

fn naive(samples: &[(i64, f64)], t: i64, range: i64, offset: i64) -> Vec<f64> {
    samples
        .iter()
        .filter(|&&(ts, _)| ts > t - offset - range && ts <= t - offset)
        .map(|s| s.1)
        .collect()
}

proptest! {
    /// Sliding windows agree with filtering every window from scratch.
    #[test]
    fn sliding_matches_rescanning(
        mut times in prop::collection::vec(0i64..200, 0..40),
        values in prop::collection::vec(-1000i64..1000, 40),
        range in 1i64..60,
        step in 1i64..30,
        offset in 0i64..20,
        start in 0i64..100,
        len in 1i64..150,
    ) {
        times.sort();
        let samples: Vec<(i64, f64)> = times
            .iter()
            .zip(&values)
            .map(|(&t, &v)| (t * S, v as f64))
            .collect();
        let source = Static(vec![ExtractedSeries {
            labels: vec![("app".into(), "p".into())],
            samples: samples.clone(),
        }]);
        for func in ["count_over_time", "sum_over_time", "max_over_time", "first_over_time"] {
            let unwrap = if func == "count_over_time" { "" } else { " | unwrap v" };
            let shift = if offset > 0 { format!(" offset {offset}s") } else { String::new() };
            let query = format!(r#"{func}({{app="p"}}{unwrap} [{range}s]{shift})"#);
            let got = match run(&query, start, start + len, step, &source).unwrap() {
                MetricResult::Matrix(m) => m,
                other => panic!("{other:?}"),
            };
            let mut want = Vec::new();
            let mut t = start;
            while t <= start + len {
                let window = naive(&samples, t * S, range * S, offset * S);
                if !window.is_empty() {
                    let v = match func {
                        "count_over_time" => window.len() as f64,
                        "sum_over_time" => window.iter().sum(),
                        "max_over_time" => window.iter().cloned().fold(f64::MIN, f64::max),
                        _ => window[0],
                    };
                    want.push((t * S, v));
                }
                t += step;
            }
            let got = got.first().map(|s| s.points.clone()).unwrap_or_default();
            prop_assert_eq!(got, want, "{}", query);
        }
    }
}
