//! The metric cases of `logql-cases.md` §3B, numbered as there.

use super::*;

fn foo_lines(labels: &[(&str, &str)], line: &str) -> Fake {
    Fake::new((1..=10).map(|i| entry(labels, i * 10, line)).collect())
}

#[test]
fn case31_count_over_time_instant() {
    let got = instant(r#"count_over_time({app="a"}[1m])"#, 60, &d1_source());
    assert_vector(&got, &[(A, 5.0)]);
}

#[test]
fn case32_count_over_time_range() {
    let src = d1_source();
    let got = range_query(r#"count_over_time({app="a"}[1m])"#, 40, 80, 20, &src);
    assert_matrix(&got, &[(A, &[(40, 3.0), (60, 5.0), (80, 5.0)])]);
    // A step whose window holds no line has no point.
    let got = range_query(r#"count_over_time({app="a"}[1m])"#, 100, 200, 50, &src);
    assert_matrix(&got, &[(A, &[(100, 3.0)])]);
}

#[test]
fn case33_rate_is_lines_per_second() {
    let src = foo_lines(&[("app", "foo")], "xbar");
    assert_vector(
        &instant(r#"rate({app="foo"}[30s])"#, 60, &src),
        &[(r#"{app="foo"}"#, 0.1)],
    );
}

#[test]
fn case34_bytes_over_time() {
    let src = foo_lines(&[("app", "foo")], "xbar");
    assert_vector(
        &instant(r#"bytes_over_time({app="foo"}[30s])"#, 60, &src),
        &[(r#"{app="foo"}"#, 12.0)],
    );
}

#[test]
fn case35_bytes_rate() {
    let src = foo_lines(&[("app", "foo")], "xbar");
    assert_vector(
        &instant(r#"bytes_rate({app="foo"} |~ ".+bar" [30s])"#, 60, &src),
        &[(r#"{app="foo"}"#, 0.4)],
    );
}

#[test]
fn case36_sum_over_time_grouped_and_not() {
    let src = d1_source();
    let q = r#"sum_over_time({app="a"} | logfmt | unwrap status [1m]) by (app)"#;
    assert_vector(&instant(q, 60, &src), &[(r#"{app="a"}"#, 1900.0)]);
    let q = r#"sum_over_time({app="a"} | logfmt | unwrap status [1m])"#;
    assert_vector(
        &instant(q, 60, &src),
        &[
            (
                r#"{app="a", env="prod", level="error", msg="db down", size="2KB", took="1.5s"}"#,
                1500.0,
            ),
            (
                r#"{app="a", env="prod", level="info", msg="ok", size="512B", took="20ms"}"#,
                400.0,
            ),
        ],
    );
}

#[test]
fn case37_rate_of_unwrapped_values() {
    let src = foo_lines(&[("app", "foo"), ("foo", "2")], "line");
    assert_vector(
        &instant(r#"rate({app="foo", foo="2"} | unwrap foo [30s])"#, 60, &src),
        &[(r#"{app="foo"}"#, 0.2)],
    );
}

#[test]
fn case38_avg_over_time_groups_samples_first() {
    let q = r#"avg_over_time({app="a"} | logfmt | unwrap duration(took) [1m]) by (app)"#;
    // (1.5+0.02+1.5+0.02+1.5)/5, not the mean of the two series' means.
    assert_vector(&instant(q, 60, &d1_source()), &[(r#"{app="a"}"#, 0.908)]);
}

#[test]
fn case39_bytes_conversion_and_its_errors() {
    let q = r#"max_over_time({app="a"} | logfmt | unwrap bytes(size) [1m]) by (app)"#;
    assert_vector(&instant(q, 60, &d1_source()), &[(r#"{app="a"}"#, 2000.0)]);

    let mut lines = d1();
    lines.push(entry(&[("app", "a"), ("env", "prod")], 55, "size=2XB"));
    let src = Fake::new(lines);
    let err = instant_error(q, 60, &src);
    assert!(
        matches!(&err, MetricError::Pipeline { error, .. } if error == "SampleExtractionErr"),
        "{err}"
    );
    let q =
        r#"max_over_time({app="a"} | logfmt | unwrap bytes(size) | __error__="" [1m]) by (app)"#;
    assert_vector(&instant(q, 60, &src), &[(r#"{app="a"}"#, 2000.0)]);
}

#[test]
fn case40_quantile_over_time() {
    let src = Fake::new(
        (1..=5)
            .map(|v| entry(&[("app", "q"), ("pod", "p1")], v * 10, &format!("v={v}")))
            .collect(),
    );
    let q = r#"quantile_over_time(0.4, {app="q"} | logfmt | unwrap v [1m]) by (pod)"#;
    assert_vector(&instant(q, 60, &src), &[(r#"{pod="p1"}"#, 2.6)]);
    let q = r#"quantile_over_time(0.5, {app="q"} | logfmt | unwrap v [1m]) by (pod)"#;
    assert_vector(&instant(q, 60, &src), &[(r#"{pod="p1"}"#, 3.0)]);
    let q = r#"quantile_over_time(1.5, {app="q"} | logfmt | unwrap v [1m]) by (pod)"#;
    assert_vector(&instant(q, 60, &src), &[(r#"{pod="p1"}"#, f64::INFINITY)]);
}

#[test]
fn case41_first_and_last_over_time_keep_nan() {
    let labels = [("app", "n")];
    let src = Fake::new(vec![
        entry(&labels, 10, "v=NaN"),
        entry(&labels, 20, "v=2"),
        entry(&labels, 30, "v=3"),
        entry(&labels, 40, "v=NaN"),
    ]);
    let first = r#"first_over_time({app="n"} | logfmt | unwrap v [1m])"#;
    let last = r#"last_over_time({app="n"} | logfmt | unwrap v [1m])"#;
    assert_vector(&instant(first, 35, &src), &[(r#"{app="n"}"#, f64::NAN)]);
    assert_vector(&instant(last, 35, &src), &[(r#"{app="n"}"#, 3.0)]);
    assert_vector(&instant(first, 75, &src), &[(r#"{app="n"}"#, 2.0)]);
    assert_vector(&instant(last, 75, &src), &[(r#"{app="n"}"#, f64::NAN)]);
}

#[test]
fn case42_absent_over_time() {
    let q = r#"absent_over_time({app="foo"} |~ ".+bar" [1m])"#;
    let nothing = foo_lines(&[("app", "foo")], "nope");
    assert_vector(&instant(q, 60, &nothing), &[(r#"{app="foo"}"#, 1.0)]);
    let something = foo_lines(&[("app", "foo")], "xbar");
    assert_vector(&instant(q, 60, &something), &[]);
}

#[test]
fn case43_sum_by_env() {
    let src = d1_source();
    let want = [(r#"{env="dev"}"#, 2.0), (r#"{env="prod"}"#, 5.0)];
    let q = r#"sum by (env) (count_over_time({app=~"a|b"}[1m]))"#;
    assert_vector(&instant(q, 60, &src), &want);
    let q = r#"sum(count_over_time({app=~"a|b"}[1m])) by (env)"#;
    assert_vector(&instant(q, 60, &src), &want);
}

#[test]
fn case44_topk_selects_and_keeps_labels() {
    let mut lines = Vec::new();
    for (app, pod, n) in [
        ("foo", "1", 3),
        ("foo", "2", 1),
        ("bar", "1", 2),
        ("bar", "2", 4),
    ] {
        for i in 0..n {
            lines.push(entry(&[("app", app), ("pod", pod)], 10 + i, "xbar"));
        }
    }
    let src = Fake::new(lines);
    let q = r#"topk(2, count_over_time({app=~"foo|bar"} |~ ".+bar" [1m]))"#;
    assert_vector(
        &instant(q, 60, &src),
        &[
            (r#"{app="bar", pod="2"}"#, 4.0),
            (r#"{app="foo", pod="1"}"#, 3.0),
        ],
    );
    let q = r#"topk(1, count_over_time({app=~"foo|bar"} |~ ".+bar" [1m])) by (app)"#;
    assert_vector(
        &instant(q, 60, &src),
        &[
            (r#"{app="bar", pod="2"}"#, 4.0),
            (r#"{app="foo", pod="1"}"#, 3.0),
        ],
    );
}

#[test]
fn case45_error_ratio_and_division_by_zero() {
    let src = d1_source();
    let q = r#"sum by (app) (count_over_time({app="a"} |= "error" [5m])) / sum by (app) (count_over_time({app="a"}[5m]))"#;
    assert_vector(&instant(q, 100, &src), &[(r#"{app="a"}"#, 4.0 / 6.0)]);
    let q = r#"count_over_time({app="a"}[5m]) / 0"#;
    assert_vector(&instant(q, 100, &src), &[(A, f64::NAN)]);
    let q = r#"count_over_time({app="a"}[5m]) % 0"#;
    assert_vector(&instant(q, 100, &src), &[(A, f64::NAN)]);
    let q = r#"count_over_time({app="a"}[5m]) / (count_over_time({app="a"}[5m]) - 6)"#;
    assert_vector(&instant(q, 100, &src), &[(A, f64::NAN)]);
}

#[test]
fn case46_offset() {
    let src = d1_source();
    let got = instant(r#"count_over_time({app="a"}[1m] offset 30s)"#, 90, &src);
    assert_vector(&got, &[(A, 5.0)]);
    assert_eq!(*src.calls.borrow(), vec![(0, 60 * S)]);
}

#[test]
fn case47_pipeline_error_fails_the_query() {
    let mut lines = d1();
    lines.push(entry(&[("app", "b"), ("env", "dev")], 35, "not json"));
    let src = Fake::new(lines);
    let err = instant_error(r#"count_over_time({app="b"} | json [1m])"#, 60, &src);
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            r#"pipeline error: 'JSONParserErr' for series: '{__error__="JSONParserErr", __error_details__=""#
        ),
        "{msg}"
    );
    assert!(msg.contains(r#", app="b", env="dev"}'. Use a label filter to intentionally skip this error. (e.g | __error__!="JSONParserErr")."#), "{msg}");
    let q = r#"count_over_time({app="b"} | json | __error__="" [1m])"#;
    assert_vector(
        &instant(q, 60, &src),
        &[(
            r#"{app="b", env="dev", latency="0.25", level="warn", user_id="u1"}"#,
            2.0,
        )],
    );
}

#[test]
fn case48_comparison_with_and_without_bool() {
    let src = d1_source();
    let base = r#"sum(count_over_time({app="a"} | logfmt | status >= 500 [1m]))"#;
    assert_vector(
        &instant(&format!("{base} > bool 3"), 60, &src),
        &[("{}", 0.0)],
    );
    assert_vector(
        &instant(&format!("{base} > bool 2"), 60, &src),
        &[("{}", 1.0)],
    );
    assert_vector(&instant(&format!("{base} > 2"), 60, &src), &[("{}", 3.0)]);
    assert_vector(&instant(&format!("{base} > 3"), 60, &src), &[]);
}

#[test]
fn case49_functions() {
    let src = d1_source();
    let q = r#"label_replace(count_over_time({app="a"}[1m]), "svc", "$1", "app", "(.*)")"#;
    assert_vector(
        &instant(q, 60, &src),
        &[(r#"{app="a", env="prod", svc="a"}"#, 5.0)],
    );
    let q = r#"sort_desc(count_over_time({app=~"a|b"}[1m]))"#;
    assert_vector(&instant(q, 60, &src), &[(A, 5.0), (B, 2.0)]);
    let q = r#"sort(count_over_time({app=~"a|b"}[1m]))"#;
    assert_vector(&instant(q, 60, &src), &[(B, 2.0), (A, 5.0)]);
    assert_vector(&instant("vector(1)", 60, &src), &[("{}", 1.0)]);
}
