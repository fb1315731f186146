//! Cases 1–27 and 33–35 of the case table, over T1 and T2 (metrics
//! cases 28–32 are in `metrics.rs`).

use super::fixtures::*;
use crate::traceql::model::Value;
use crate::traceql::{ErrorKind, compile, parse};

const ALL_T1: &[&str] = &["GET /api/orders", "SELECT", "cache.get", "orders.query"];
const T2: &[&str] = &["GET /health"];
const NONE: &[&str] = &[];

/// (case, query, spans returned from T1, spans returned from T2).
const TABLE: &[(u32, &str, &[&str], &[&str])] = &[
    (1, "{}", ALL_T1, T2),
    (
        2,
        r#"{resource.service.name="frontend"}"#,
        &["GET /api/orders", "cache.get", "orders.query"],
        T2,
    ),
    (
        3,
        r#"{resource.service.name="frontend" && name="GET /api/orders"}"#,
        &["GET /api/orders"],
        NONE,
    ),
    (4, "{status=error}", &["SELECT"], NONE),
    (
        5,
        "{duration>800ms && duration<1s}",
        &["SELECT", "orders.query"],
        NONE,
    ),
    (6, "{traceDuration>1s}", ALL_T1, NONE),
    (
        7,
        "{span.http.status_code>=200}",
        &["GET /api/orders"],
        NONE,
    ),
    (
        8,
        r#"{resource.service.name=~"front.*|postgres"}"#,
        ALL_T1,
        T2,
    ),
    (8, r#"{resource.service.name=~"front"}"#, NONE, NONE),
    (
        9,
        r#"{(name="SELECT" || name="cache.get")}"#,
        &["SELECT", "cache.get"],
        NONE,
    ),
    (10, r#"{.db.system="postgresql"}"#, &["SELECT"], NONE),
    (11, "{span.cache.hit=true}", &["cache.get"], NONE),
    (
        12,
        "{kind=server && status!=error}",
        &["GET /api/orders"],
        NONE,
    ),
    (13, r#"{span.db.system!="mysql"}"#, &["SELECT"], NONE),
    (
        14,
        "{span.db.system=nil}",
        &["GET /api/orders", "cache.get", "orders.query"],
        T2,
    ),
    (14, "{span.db.system!=nil}", &["SELECT"], NONE),
    (
        15,
        r#"{resource.service.name="frontend"} >> {status=error}"#,
        &["SELECT"],
        NONE,
    ),
    (
        16,
        r#"{name="GET /api/orders"} > {kind=client}"#,
        &["cache.get", "orders.query"],
        NONE,
    ),
    (
        17,
        r#"{resource.service.name="postgres"} << {kind=server}"#,
        &["GET /api/orders"],
        NONE,
    ),
    (
        18,
        r#"{name="orders.query"} ~ {name="cache.get"}"#,
        &["cache.get"],
        NONE,
    ),
    (
        19,
        r#"{resource.service.name="frontend"} &>> {status=error}"#,
        &["GET /api/orders", "SELECT", "orders.query"],
        NONE,
    ),
    (20, "{kind=client} !>> {status=error}", NONE, NONE),
    (
        21,
        r#"{resource.service.name="frontend"} && {resource.service.name="postgres"}"#,
        ALL_T1,
        NONE,
    ),
    (
        22,
        r#"{resource.service.name="frontend" && resource.service.name="postgres"}"#,
        NONE,
        NONE,
    ),
    (
        23,
        r#"{resource.service.name="frontend"} | count() > 2"#,
        &["GET /api/orders", "cache.get", "orders.query"],
        NONE,
    ),
    (24, "{} | avg(duration) > 500ms", ALL_T1, NONE),
    (25, "{nestedSetParent<0}", &["GET /api/orders"], T2),
    (
        26,
        "{status=error} | select(span.db.system, resource.service.name)",
        &["SELECT"],
        NONE,
    ),
    (27, "{} with(most_recent=true)", ALL_T1, T2),
];

#[test]
fn case_table_over_t1_and_t2() {
    let (t1, t2) = (t1(), t2());
    for (case, q, want1, want2) in TABLE {
        assert_eq!(names(q, &t1), *want1, "case {case} on T1: {q}");
        assert_eq!(names(q, &t2), *want2, "case {case} on T2: {q}");
    }
}

#[test]
fn case_13_trap_spans_without_attribute_do_not_match_not_equal() {
    // S1, S2, S4 lack db.system; `!=` is false for them.
    let got = names(r#"{span.db.system!="mysql"}"#, &t1());
    assert_eq!(got, ["SELECT"]);
}

#[test]
fn case_19_union_returns_only_participating_spans() {
    let got = names(
        r#"{resource.service.name="frontend"} &>> {status=error}"#,
        &t1(),
    );
    assert!(!got.contains(&"cache.get".to_string()));
}

#[test]
fn case_20_negated_descendant_without_client_ancestor() {
    assert!(names("{kind=client} !>> {status=error}", &t1()).is_empty());
    // The error span has a server ancestor, so `!>>` from servers is empty too,
    // but from a kind nobody has, every error span qualifies.
    assert_eq!(
        names("{kind=producer} !>> {status=error}", &t1()),
        ["SELECT"]
    );
}

#[test]
fn case_22_both_conditions_on_one_span() {
    let q = r#"{resource.service.name="frontend" && resource.service.name="postgres"}"#;
    assert!(eval(q, &t1()).is_empty());
}

#[test]
fn case_23_and_24_match_whole_trace_spanset() {
    let sets = eval(r#"{resource.service.name="frontend"} | count() > 2"#, &t1());
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].matched, 3);
    assert!(eval("{} | avg(duration) > 500ms", &t2()).is_empty());
    assert_eq!(eval("{} | avg(duration) > 700ms", &t1()).len(), 1);
    assert!(eval("{} | avg(duration) > 740ms", &t1()).is_empty());
}

#[test]
fn case_26_select_adds_attributes() {
    let t = t1();
    let sets = eval(
        "{status=error} | select(span.db.system, resource.service.name)",
        &t,
    );
    assert_eq!(sets.len(), 1);
    let attrs = &sets[0].spans[0].attributes;
    assert_eq!(
        attrs,
        &vec![
            (
                "span.db.system".to_string(),
                Value::Str("postgresql".into())
            ),
            (
                "resource.service.name".to_string(),
                Value::Str("postgres".into())
            ),
        ]
    );
}

#[test]
fn case_27_most_recent_hint_is_exposed() {
    let q = parse("{} with(most_recent=true)").unwrap();
    assert!(q.most_recent());
    let q = parse("{} | rate() with(sample=0.1)").unwrap();
    assert_eq!(q.sample(), Some(Some(0.1)));
    assert!(!q.most_recent());
    let q = parse("{} | histogram_over_time(duration) with(sample=true)").unwrap();
    assert_eq!(q.sample(), Some(None));
}

#[test]
fn case_33_compare_is_evaluated() {
    // Details in tests/compare.rs.
    let c = compile("{} | compare({status=error}, 10)").unwrap();
    assert!(c.is_metrics());
    let mut e =
        crate::traceql::MetricsEvaluator::range(&c, B as i64, (B + 60 * S) as i64, 15 * S as i64)
            .unwrap();
    e.observe(&t1());
    assert!(!e.finish().is_empty());
    compile("{} | compare({status=error}, 10, 1700000000000000000, 1700000060000000000)").unwrap();
}

#[test]
fn case_34_parse_errors() {
    for q in [
        "{ .a == 1 }",
        "{ attr = 4 }",
        "{} | rate() + 5",
        "{ trace:status = error }",
    ] {
        let e = parse(q).expect_err(q);
        assert_eq!(e.kind, ErrorKind::Syntax, "{q}: {e}");
    }
}

#[test]
fn case_35_validation_errors() {
    for q in [
        r#"{ 1 = "foo" }"#,
        "{ status > ok }",
        r#"{ span.foo =~ "[" }"#,
        "{} | rate() | topk(0)",
    ] {
        let e = parse(q).expect_err(q);
        assert_eq!(e.kind, ErrorKind::Validation, "{q}: {e}");
    }
}

#[test]
fn spanset_attributes_from_by() {
    let t = t1();
    let sets = eval("{} | by(resource.service.name)", &t);
    assert_eq!(sets.len(), 2);
    let keys: Vec<_> = sets.iter().map(|s| s.attributes.clone()).collect();
    assert!(keys.contains(&vec![(
        "by(resource.service.name)".to_string(),
        Value::Str("frontend".into())
    )]));
    let sets = eval("{} | by(resource.service.name) | count() > 2", &t);
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].matched, 3);
    let sets = eval("{} | by(resource.service.name) | coalesce()", &t);
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].matched, 4);
}

#[test]
fn intrinsics_and_structure() {
    let t = t1();
    // S1 is root: left 1, right 8; children S2 (2..5, S3 3..4) and S4 (6..7).
    assert_eq!(
        names("{nestedSetLeft = 1 && nestedSetRight = 8}", &t),
        ["GET /api/orders"]
    );
    assert_eq!(names("{nestedSetParent = 2}", &t), ["SELECT"]);
    assert_eq!(names("{span:childCount = 2}", &t), ["GET /api/orders"]);
    assert_eq!(
        names(
            r#"{trace:rootName = "GET /api/orders" && trace:rootService = "frontend" && span:kind = server}"#,
            &t
        ),
        ["GET /api/orders", "SELECT"]
    );
    assert_eq!(names("{rootServiceName = \"frontend\"}", &t).len(), 4);
    assert_eq!(names(r#"{span:id = "0303030303030303"}"#, &t), ["SELECT"]);
    assert_eq!(
        names(r#"{span:parentID = "0101010101010101"}"#, &t).len(),
        2
    );
    assert_eq!(
        names(r#"{trace:id =~ "(01)+" && trace:id !~ "01"}"#, &t).len(),
        4
    );
    assert_eq!(names("{parent.span.http.status_code = 200}", &t).len(), 2);
    assert_eq!(
        names("{duration * 2 > 1s + 500ms}", &t),
        ["GET /api/orders", "SELECT", "orders.query"]
    );
    assert_eq!(
        names("{span.http.status_code % 7 = 4}", &t),
        ["GET /api/orders"]
    );
    assert_eq!(
        names("{span.http.status_code / 2 = 100.0}", &t),
        ["GET /api/orders"]
    );
    assert_eq!(names("{!(kind = client)}", &t).len(), 2);
    assert_eq!(names("{ true }", &t).len(), 4);
    assert_eq!(names("{ false }", &t).len(), 0);
}

#[test]
fn big_traces_are_linear_and_do_not_overflow_the_stack() {
    use crate::traceql::model::{Span, Trace};
    let n = 10_000u32;
    let id = |i: u32| {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&(i + 1).to_be_bytes());
        b
    };
    // A chain: span i is the parent of span i + 1.
    let chain: Vec<Span> = (0..n)
        .map(|i| {
            let mut s = Span::new(id(i), (i > 0).then(|| id(i - 1)), format!("s{i}"));
            s.start_ns = u64::from(i);
            s
        })
        .collect();
    let t = Trace::new([7; 16], chain);
    assert_eq!(t.nested_set(0).right, i64::from(2 * n));
    let sets = eval(r#"{ name = "s0" } >> {}"#, &t);
    assert_eq!(sets[0].matched, n as usize - 1);
    let sets = eval(r#"{ name = "s9999" } << {}"#, &t);
    assert_eq!(sets[0].matched, n as usize - 1);
    // A star: one root with n - 1 children, all siblings of each other.
    let star: Vec<Span> = (0..n)
        .map(|i| Span::new(id(i), (i > 0).then(|| id(0)), format!("s{i}")))
        .collect();
    let t = Trace::new([8; 16], star);
    assert_eq!(eval("{} ~ {}", &t)[0].matched, n as usize - 1);
    assert_eq!(
        eval("{ nestedSetParent < 0 } > {}", &t)[0].matched,
        n as usize - 1
    );
    // A parent cycle does not hang or panic.
    let cyc = vec![
        Span::new(id(0), Some(id(1)), "a"),
        Span::new(id(1), Some(id(0)), "b"),
    ];
    let t = Trace::new([9; 16], cyc);
    assert_eq!(eval("{} >> {}", &t)[0].matched, 1);
    assert!(t.root().is_none());
}
