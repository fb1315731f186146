//! Binary operators, literals, `vector`, unary minus and `label_replace`.

use super::*;

const BASE: &str = r#"last_over_time({app="m"} | logfmt | unwrap v [1m])"#;
const ZONES: &str = r#"last_over_time({app="zones"} | logfmt | unwrap v [1m])"#;

fn source() -> Fake {
    values(&[
        (&[("app", "m"), ("pod", "p1"), ("zone", "z1")], "1"),
        (&[("app", "m"), ("pod", "p2"), ("zone", "z1")], "3"),
        (&[("app", "m"), ("pod", "p3"), ("zone", "z2")], "6"),
        (&[("app", "zones"), ("region", "eu"), ("zone", "z1")], "10"),
        (&[("app", "zones"), ("region", "us"), ("zone", "z2")], "20"),
    ])
}

fn pod(n: u8) -> String {
    let zone = if n <= 2 { "z1" } else { "z2" };
    format!(r#"{{app="m", pod="p{n}", zone="{zone}"}}"#)
}

fn with(query: &str) -> String {
    query.replace("BASE", BASE).replace("ZONES", ZONES)
}

fn scalar(query: &str) -> f64 {
    match run(query, 60, 60, 1, &source()).unwrap() {
        MetricResult::Scalar(ts, v) => {
            assert_eq!(ts, 60 * S);
            v
        }
        other => panic!("{query}: {other:?}"),
    }
}

#[test]
fn literals_fold() {
    let cases: &[(&str, f64)] = &[
        ("1", 1.0),
        ("-1", -1.0),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("-2 ^ 2", -4.0),
        ("7 % 4", 3.0),
        ("-7 % 4", -3.0),
        ("1 / 0", f64::NAN),
        ("1 % 0", f64::NAN),
        ("1 == bool 1", 1.0),
        ("1 > bool 2", 0.0),
        ("2 >= 2", 1.0),
    ];
    for (q, want) in cases {
        let got = scalar(q);
        assert!(same(got, *want), "{q}: {got} != {want}");
    }
}

#[test]
fn literals_in_range_queries_fill_every_step() {
    let got = range_query("1 + 1", 0, 20, 10, &source());
    assert_matrix(&got, &[("{}", &[(0, 2.0), (10, 2.0), (20, 2.0)])]);
    let got = range_query("vector(3) * 2", 0, 20, 10, &source());
    assert_matrix(&got, &[("{}", &[(0, 6.0), (10, 6.0), (20, 6.0)])]);
}

#[test]
fn vector_and_scalar() {
    let src = source();
    assert_vector(
        &instant(&with("BASE * 2"), 60, &src),
        &[(&pod(1), 2.0), (&pod(2), 6.0), (&pod(3), 12.0)],
    );
    assert_vector(
        &instant(&with("10 - BASE"), 60, &src),
        &[(&pod(1), 9.0), (&pod(2), 7.0), (&pod(3), 4.0)],
    );
    assert_vector(
        &instant(&with("-BASE"), 60, &src),
        &[(&pod(1), -1.0), (&pod(2), -3.0), (&pod(3), -6.0)],
    );
    // Filters keep the vector's value, whichever side it is on.
    assert_vector(
        &instant(&with("BASE > 2"), 60, &src),
        &[(&pod(2), 3.0), (&pod(3), 6.0)],
    );
    assert_vector(
        &instant(&with("2 < BASE"), 60, &src),
        &[(&pod(2), 3.0), (&pod(3), 6.0)],
    );
    assert_vector(
        &instant(&with("BASE == bool 3"), 60, &src),
        &[(&pod(1), 0.0), (&pod(2), 1.0), (&pod(3), 0.0)],
    );
    assert_vector(
        &instant(&with("vector(1) + vector(2)"), 60, &src),
        &[("{}", 3.0)],
    );
}

#[test]
fn one_to_one_matching() {
    let src = d1_source();
    let count = r#"count_over_time({app=~"a|b"}[1m])"#;
    assert_vector(
        &instant(&format!("{count} + {count}"), 60, &src),
        &[(A, 10.0), (B, 4.0)],
    );
    // Label sets differ: nothing matches.
    let q = format!("{count} + sum by (app) ({count})");
    assert_vector(&instant(&q, 60, &src), &[]);
    // `on` keeps only its labels; `ignoring` drops its own.
    let q = format!("{count} * on (app) sum by (app) ({count})");
    assert_vector(
        &instant(&q, 60, &src),
        &[(r#"{app="a"}"#, 25.0), (r#"{app="b"}"#, 4.0)],
    );
    let q = format!("{count} * ignoring (env) sum by (app) ({count})");
    assert_vector(
        &instant(&q, 60, &src),
        &[(r#"{app="a"}"#, 25.0), (r#"{app="b"}"#, 4.0)],
    );
    // Comparisons filter on the left value, or give 0/1 with bool.
    let q = format!("{count} > on (app) sum by (app) ({count}) - 1");
    assert_vector(
        &instant(&q, 60, &src),
        &[(r#"{app="a"}"#, 5.0), (r#"{app="b"}"#, 2.0)],
    );
    let q = format!("{count} > bool on (app) sum by (app) ({count})");
    assert_vector(
        &instant(&q, 60, &src),
        &[(r#"{app="a"}"#, 0.0), (r#"{app="b"}"#, 0.0)],
    );
}

#[test]
fn group_left_and_group_right() {
    let src = source();
    // Each pod's share of its zone.
    let q = with("BASE / on (zone) group_left sum by (zone) (BASE)");
    assert_vector(
        &instant(&q, 60, &src),
        &[(&pod(1), 0.25), (&pod(2), 0.75), (&pod(3), 1.0)],
    );
    // group_left (region) copies the label from the one side.
    let q = with("BASE * on (zone) group_left (region) ZONES");
    assert_vector(
        &instant(&q, 60, &src),
        &[
            (r#"{app="m", pod="p1", region="eu", zone="z1"}"#, 10.0),
            (r#"{app="m", pod="p2", region="eu", zone="z1"}"#, 30.0),
            (r#"{app="m", pod="p3", region="us", zone="z2"}"#, 120.0),
        ],
    );
    let q = with("ZONES - on (zone) group_right (region) BASE");
    assert_vector(
        &instant(&q, 60, &src),
        &[
            (r#"{app="m", pod="p1", region="eu", zone="z1"}"#, 9.0),
            (r#"{app="m", pod="p2", region="eu", zone="z1"}"#, 7.0),
            (r#"{app="m", pod="p3", region="us", zone="z2"}"#, 14.0),
        ],
    );
    // A comparison keeps the left (one-side) value under group_right.
    let q = with("sum by (zone) (BASE) > on (zone) group_right BASE");
    assert_vector(&instant(&q, 60, &src), &[(&pod(1), 4.0), (&pod(2), 4.0)]);
}

#[test]
fn ambiguous_matches_are_errors() {
    let src = source();
    let err = instant_error(&with("BASE + on (zone) BASE"), 60, &src);
    assert!(
        err.to_string()
            .contains("many-to-many matching not allowed"),
        "{err}"
    );
    let err = instant_error(&with("BASE + on (zone) sum by (zone) (BASE)"), 60, &src);
    assert!(
        err.to_string()
            .contains("many-to-one matching must be explicit"),
        "{err}"
    );
    let err = instant_error(
        &with(
            r#"BASE + on (zone) group_left (pod) label_replace(sum by (zone) (BASE), "pod", "px", "zone", ".*")"#,
        ),
        60,
        &src,
    );
    assert!(
        err.to_string()
            .contains("grouping labels must ensure unique"),
        "{err}"
    );
}

#[test]
fn set_operators() {
    let src = source();
    let q = with("BASE and on (zone) (sum by (zone) (BASE) > 5)");
    assert_vector(&instant(&q, 60, &src), &[(&pod(3), 6.0)]);
    let q = with("BASE unless on (zone) (sum by (zone) (BASE) > 5)");
    assert_vector(&instant(&q, 60, &src), &[(&pod(1), 1.0), (&pod(2), 3.0)]);
    let q = with("BASE and BASE > 2");
    assert_vector(&instant(&q, 60, &src), &[(&pod(2), 3.0), (&pod(3), 6.0)]);
    let d1 = d1_source();
    let q = r#"count_over_time({app="a"}[1m]) or count_over_time({app=~"a|b"}[1m]) * 10"#;
    assert_vector(&instant(q, 60, &d1), &[(A, 5.0), (B, 20.0)]);
    let q = r#"sum by (env) (count_over_time({app="a"}[1m])) or on () vector(7)"#;
    assert_vector(&instant(q, 60, &d1), &[(r#"{env="prod"}"#, 5.0)]);
    let q = r#"sum by (env) (count_over_time({app="zz"}[1m])) or on () vector(7)"#;
    assert_vector(&instant(q, 60, &d1), &[("{}", 7.0)]);
}

#[test]
fn label_replace_semantics() {
    let src = d1_source();
    let count = r#"count_over_time({app="a"}[1m])"#;
    // The regex is anchored: "a" does not match inside "prod".
    let q = format!(r#"label_replace({count}, "x", "$1", "env", "(r)")"#);
    assert_vector(&instant(&q, 60, &src), &[(A, 5.0)]);
    let q = format!(r#"label_replace({count}, "x", "${{1}}-$name", "env", "p(?P<name>r)od")"#);
    assert_vector(
        &instant(&q, 60, &src),
        &[(r#"{app="a", env="prod", x="r-r"}"#, 5.0)],
    );
    // An empty replacement removes the label.
    let q = format!(r#"label_replace({count}, "env", "", "app", "a")"#);
    assert_vector(&instant(&q, 60, &src), &[(r#"{app="a"}"#, 5.0)]);
    // A missing source label reads as "".
    let q = format!(r#"label_replace({count}, "x", "none", "missing", "")"#);
    assert_vector(
        &instant(&q, 60, &src),
        &[(r#"{app="a", env="prod", x="none"}"#, 5.0)],
    );
    let q = r#"label_replace(count_over_time({app=~"a|b"}[1m]), "app", "same", "app", ".*")"#;
    let q = format!(r#"label_replace({q}, "env", "", "env", ".*")"#);
    let err = instant_error(&q, 60, &src);
    assert!(err.to_string().contains("same labelset"), "{err}");
}
