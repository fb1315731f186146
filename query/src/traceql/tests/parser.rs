//! Parser unit tests: precedence, attribute forms, literals, errors.

use crate::traceql::ast::*;
use crate::traceql::{ErrorKind, compile, parse};

fn body(q: &str) -> SpansetExpr {
    match parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).body {
        QueryBody::Spans(s) => s,
        QueryBody::Metrics(m) => panic!("metrics: {m:?}"),
    }
}

fn cond(q: &str) -> Expr {
    match body(q) {
        SpansetExpr::Filter(Some(e)) => e,
        other => panic!("{other:?}"),
    }
}

fn attr(scope: AttributeScope, name: &str) -> Expr {
    Expr::Attr(Attribute {
        parent: false,
        scope,
        name: name.into(),
    })
}

fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

fn int(i: i64) -> Expr {
    Expr::Lit(Literal::Int(i))
}

fn dot(name: &str) -> Expr {
    attr(AttributeScope::Unscoped, name)
}

#[test]
fn and_binds_tighter_than_or_in_fields() {
    let e = cond("{ .a = 1 || .b = 2 && .c = 3 }");
    let want = bin(
        BinOp::Or,
        bin(BinOp::Eq, dot("a"), int(1)),
        bin(
            BinOp::And,
            bin(BinOp::Eq, dot("b"), int(2)),
            bin(BinOp::Eq, dot("c"), int(3)),
        ),
    );
    assert_eq!(e, want);
}

#[test]
fn arithmetic_precedence() {
    let e = cond("{ .a + 2 * 3 ^ 2 ^ 1 > -1 }");
    let pow = bin(BinOp::Pow, int(3), bin(BinOp::Pow, int(2), int(1)));
    let want = bin(
        BinOp::Gt,
        bin(BinOp::Add, dot("a"), bin(BinOp::Mul, int(2), pow)),
        int(-1),
    );
    assert_eq!(e, want);
    let e = cond("{ .a - 1 - 2 = 0 }");
    assert_eq!(
        e,
        bin(
            BinOp::Eq,
            bin(BinOp::Sub, bin(BinOp::Sub, dot("a"), int(1)), int(2)),
            int(0)
        )
    );
}

fn ops(e: &SpansetExpr) -> String {
    match e {
        SpansetExpr::Filter(_) => "f".into(),
        SpansetExpr::Binary { op, lhs, rhs } => format!("({} {op} {})", ops(lhs), ops(rhs)),
        SpansetExpr::Pipeline { source, stages } => format!("{} |{}", ops(source), stages.len()),
    }
}

#[test]
fn spanset_precedence() {
    assert_eq!(ops(&body("{} || {} && {}")), "(f || (f && f))");
    assert_eq!(ops(&body("{} && {} || {}")), "((f && f) || f)");
    assert_eq!(ops(&body("{} && {} > {}")), "(f && (f > f))");
    assert_eq!(ops(&body("{} > {} && {}")), "((f > f) && f)");
    assert_eq!(ops(&body("{} > {} >> {}")), "((f > f) >> f)");
    assert_eq!(ops(&body("({} && {}) > {}")), "((f && f) > f)");
    assert_eq!(
        ops(&body("{} !> {} !< {} !>> {} !<< {} !~ {}")),
        "(((((f !> f) !< f) !>> f) !<< f) !~ f)"
    );
    assert_eq!(
        ops(&body("{} &> {} &< {} &>> {} &<< {} &~ {} ~ {} < {}")),
        "(((((((f &> f) &< f) &>> f) &<< f) &~ f) ~ f) < f)"
    );
    assert_eq!(ops(&body("{} && {} | count() > 1 | by(.a)")), "(f && f) |2");
    assert_eq!(
        ops(&body(
            "({} &>> { kind = server }) || ({}) | select(status, name)"
        )),
        "((f &>> f) || f) |1"
    );
}

#[test]
fn attribute_forms() {
    use AttributeScope::*;
    assert_eq!(
        cond("{ span.http.status_code = 200 }"),
        bin(BinOp::Eq, attr(Span, "http.status_code"), int(200))
    );
    assert_eq!(
        cond(r#"{ span."foo bar" = 1 }"#),
        bin(BinOp::Eq, attr(Span, "foo bar"), int(1))
    );
    assert_eq!(
        cond(r#"{ ."a b" = 1 }"#),
        bin(BinOp::Eq, dot("a b"), int(1))
    );
    assert_eq!(
        cond("{ resource.service.name=1 }"),
        bin(BinOp::Eq, attr(Resource, "service.name"), int(1))
    );
    for (q, scope) in [
        ("{ event.x = 1 }", Event),
        ("{ link.x = 1 }", Link),
        ("{ instrumentation.x = 1 }", Instrumentation),
    ] {
        assert_eq!(cond(q), bin(BinOp::Eq, attr(scope, "x"), int(1)));
    }
    let Expr::Binary { lhs, .. } = cond("{ parent.span.x = 1 }") else {
        panic!()
    };
    assert_eq!(
        *lhs,
        Expr::Attr(Attribute {
            parent: true,
            scope: Span,
            name: "x".into()
        })
    );
    let Expr::Binary { lhs, .. } = cond("{ parent.http.url = 1 }") else {
        panic!()
    };
    assert_eq!(
        *lhs,
        Expr::Attr(Attribute {
            parent: true,
            scope: Unscoped,
            name: "http.url".into()
        })
    );
    // Dashes stay inside names; spaces make them operators.
    assert_eq!(
        cond("{ .user-agent = .a - 1 }"),
        bin(
            BinOp::Eq,
            dot("user-agent"),
            bin(BinOp::Sub, dot("a"), int(1))
        )
    );
}

#[test]
fn every_scoped_intrinsic_parses() {
    for (field, bare, scoped) in INTRINSICS {
        let e = cond(&format!("{{ {scoped} != nil }}"));
        assert_eq!(
            e,
            bin(
                BinOp::Ne,
                Expr::Intrinsic(Intrinsic {
                    field: *field,
                    scoped: true
                }),
                Expr::Lit(Literal::Nil)
            )
        );
        if let Some(b) = bare {
            let e = cond(&format!("{{ {b} != nil }}"));
            let Expr::Binary { lhs, .. } = e else {
                panic!()
            };
            assert_eq!(
                *lhs,
                Expr::Intrinsic(Intrinsic {
                    field: *field,
                    scoped: false
                })
            );
        }
    }
}

fn lit(q: &str) -> Literal {
    match cond(&format!("{{ .x = {q} }}")) {
        Expr::Binary { rhs, .. } => match *rhs {
            Expr::Lit(l) => l,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn literals() {
    let ms = 1_000_000;
    assert_eq!(lit("1.5s"), Literal::Duration(1_500 * ms));
    assert_eq!(lit("100ms"), Literal::Duration(100 * ms));
    assert_eq!(lit("2m"), Literal::Duration(120_000 * ms));
    assert_eq!(lit("1h30m"), Literal::Duration(5_400_000 * ms));
    assert_eq!(lit("10us"), Literal::Duration(10_000));
    assert_eq!(lit("10µs"), Literal::Duration(10_000));
    assert_eq!(lit("7ns"), Literal::Duration(7));
    assert_eq!(lit("-3s"), Literal::Duration(-3_000 * ms));
    assert_eq!(lit("42"), Literal::Int(42));
    assert_eq!(lit("-42"), Literal::Int(-42));
    assert_eq!(lit("4.25"), Literal::Float(4.25));
    assert_eq!(lit("1e3"), Literal::Float(1000.0));
    assert_eq!(lit("true"), Literal::Bool(true));
    assert_eq!(lit("nil"), Literal::Nil);
    assert_eq!(lit("error"), Literal::Status(StatusCode::Error));
    assert_eq!(lit("consumer"), Literal::Kind(SpanKind::Consumer));
    assert_eq!(
        lit(r#""a\"b\\c\nd\u00e9""#),
        Literal::Str("a\"b\\c\nd\u{e9}".into())
    );
    assert_eq!(lit(r"`\d+\.`"), Literal::Str(r"\d+\.".into()));
    assert!(parse(r#"{ .x = "\d" }"#).is_err());
    assert!(parse("{ .x = 1x }").is_err());
    assert!(parse("{ .x = 99999999999999999999 }").is_err());
}

#[test]
fn error_positions_and_messages() {
    let cases = [
        ("{ .a == 1 }", 1, 7, "single `=`"),
        ("{ attr = 4 }", 1, 3, "unknown identifier `attr`"),
        ("{} | rate() + 5", 1, 15, "parenthesised metrics query"),
        (
            "{ trace:status = error }",
            1,
            3,
            "unknown intrinsic `trace:status`",
        ),
        (
            "{ .a = 1",
            1,
            9,
            "expected an operator or `}`, found end of query",
        ),
        ("{\n  .a = }", 2, 8, "expected a field or value, found `}`"),
        (r#"{ 1 = "foo" }"#, 1, 5, "cannot compare int with string"),
        ("{ status > ok }", 1, 10, "`>` is not defined for status"),
        (
            r#"{ span.foo =~ "[" }"#,
            1,
            15,
            "invalid regular expression",
        ),
        ("{} | rate() | topk(0)", 1, 15, "must be greater than 0"),
        (
            "{} | count() > 2 | topk(2)",
            1,
            20,
            "must follow a metrics function",
        ),
        ("{ name }", 1, 3, "must be a boolean expression"),
        ("{} | avg(name) > 1", 1, 10, "numeric field"),
        ("{ count() > 1 }", 1, 3, "only allowed in a pipeline stage"),
        ("{} | duration > 1s", 1, 6, "inside an aggregate"),
        (
            "{} | quantile_over_time(duration, 1.5)",
            1,
            35,
            "outside [0, 1]",
        ),
        ("{ .a = 1 } extra", 1, 12, "expected end of query"),
        ("{ .a & .b }", 1, 6, "did you mean `&&`"),
        ("{ .a = \"x }", 1, 8, "unterminated string"),
    ];
    for (q, line, col, msg) in cases {
        let e = parse(q).expect_err(q);
        assert_eq!((e.line, e.col), (line, col), "{q}: {e}");
        assert!(e.message.contains(msg), "{q}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("parse error at line {line}, col {col}: "))
        );
    }
}

#[test]
fn validation_kinds() {
    for q in [
        "{ .a > nil }",
        "{ kind < server }",
        "{ true > false }",
        "{ name + 1 = 2 }",
        "{ !name }",
        "{ -status = 1 }",
        "{ name =~ .a }",
        "{ duration =~ \"1\" }",
        "{ duration = \"1s\" }",
        "{} | rate() by(.a) | bottomk(0)",
        "{} | compare({status=error}, 0)",
    ] {
        let e = parse(q).expect_err(q);
        assert_eq!(e.kind, ErrorKind::Validation, "{q}: {e}");
    }
    for q in [
        "{ .a = nil }",
        "{ nil != .a }",
        "{ duration > 100 }",
        "{ duration > 1.5 }",
        "{ .a > 1 && .b }",
        "{ .a + .b > 1s }",
        "{ span:status = error }",
        "{ 1 = 1 }",
    ] {
        parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
}

#[test]
fn metrics_shapes_parse() {
    for q in [
        "{} | rate()",
        "{} | rate() by (resource.service.name)",
        "{} | rate() by(resource.service.name, span.http.method) > 10",
        "{} | count_over_time() | topk(5)",
        "{} | sum_over_time(span.http.response.size)",
        "{} | min_over_time(duration) | bottomk(3)",
        "{} | max_over_time(duration)",
        "{} | avg_over_time(duration) by(name)",
        "{ kind = server } | quantile_over_time(duration, 0.5, 0.9, 0.99) by(resource.service.name)",
        "{} | histogram_over_time(duration) with(sample=true)",
        "{} | compare({status=error}, 10, 1700000000000000000, 1700000060000000000)",
        "({status=error} | rate()) / ({} | rate())",
        "({} | rate()) + ({} | rate()) * ({} | count_over_time())",
        "{} | select(name) | rate()",
        "{true && status = error} | rate() by(resource.service.name) with(sample=true)",
    ] {
        let query = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(query.is_metrics(), "{q}");
        let printed = query.to_string();
        assert_eq!(parse(&printed).unwrap(), query, "{q} -> {printed}");
    }
    let q = parse("({} | rate()) + ({} | rate()) * ({} | count_over_time())").unwrap();
    let QueryBody::Metrics(MetricsExpr::Binary { op, rhs, .. }) = q.body else {
        panic!()
    };
    assert_eq!(op, BinOp::Add);
    assert!(matches!(*rhs, MetricsExpr::Binary { op: BinOp::Mul, .. }));
}

#[test]
fn display_round_trips_handwritten_queries() {
    for q in [
        "{}",
        "{ true }",
        r#"{resource.service.name="checkout" && name="POST /pay" && status=error && duration>100ms && duration<2s}"#,
        r#"{ span."a \"b\"" = `raw\n` || !(.x = 1) }"#,
        "{ -(.a) > -5 && -(3) < .b ^ 2 ^ 3 }",
        "({ .a = 1 } | count() > 1) && { .b = 2 }",
        "{} | by(resource.service.name) | count() > 1 && avg(duration) > 1s || max(span.x) < -1.5",
        "{} | coalesce() | { status = error } | select(span.db.system, nestedSetParent, trace:id)",
        "{ parent.\"span.x\" = 1 && parent.resource.y = 2 }",
        "{ event:name = \"exception\" && link:traceID != nil && instrumentation:version =~ \"1.*\" }",
        "{} with(most_recent=true, sample=0.25)",
    ] {
        let a = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let printed = a.to_string();
        let b = parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        assert_eq!(a, b, "{q} -> {printed}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{{}}{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&deep).is_err());
    let deep = format!("{{ {}.a = 1{} }}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&deep).is_err());
    let deep = format!("{{ {}true }}", "!".repeat(10_000));
    assert!(parse(&deep).is_err());
    let ok = format!("{}{{}}{}", "(".repeat(20), ")".repeat(20));
    assert!(parse(&ok).is_ok());
}

/// The depth limit is what keeps a hostile query from overflowing a tokio
/// worker (2 MiB), so nesting right at the limit, of every kind and mixed,
/// must parse and compile on such a stack in this (unoptimised) build.
#[test]
fn nesting_at_the_limit_fits_a_two_mebibyte_stack() {
    use crate::traceql::MAX_DEPTH;
    let n = MAX_DEPTH - 2;
    let queries = [
        format!("{}{{}}{}", "(".repeat(n), ")".repeat(n)),
        format!("{{ {}.a = 1{} }}", "(".repeat(n), ")".repeat(n)),
        format!("{{ {}true }}", "!".repeat(n)),
        format!("{{ {}-1{} > 0 }}", "(-".repeat(n / 2), ")".repeat(n / 2)),
        format!(
            "{}{{ {}.a = 1{} }}{} | count() > 1",
            "(".repeat(n / 2),
            "(!(".repeat(n / 6),
            "))".repeat(n / 6),
            ")".repeat(n / 2)
        ),
    ];
    let outcome = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            queries
                .iter()
                .map(|q| (q.clone(), compile(q).map(|c| c.is_metrics())))
                .collect::<Vec<_>>()
        })
        .unwrap()
        .join()
        .unwrap();
    for (q, r) in outcome {
        assert!(r.is_ok(), "{q}: {r:?}");
    }
}

#[test]
fn compiled_query_validates_hand_built_trees() {
    let bad = Query {
        body: QueryBody::Spans(SpansetExpr::Filter(Some(bin(
            BinOp::Re,
            dot("a"),
            Expr::Lit(Literal::Str("(".into())),
        )))),
        hints: vec![],
    };
    let e = crate::traceql::CompiledQuery::new(bad).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert!(compile("{ .a =~ \"x|y\" }").is_ok());
}

#[test]
fn prefilter_is_conservative() {
    use crate::traceql::SpanRequirement;
    let p = compile(
        r#"{ resource.service.name = "a" && (name = "x" || name = "y") && duration > 1s } >> { resource.service.name = "b" }"#,
    )
    .unwrap()
    .prefilter();
    assert_eq!(
        p.required,
        vec![
            SpanRequirement {
                service_names: Some(vec!["a".into()]),
                span_names: Some(vec!["x".into(), "y".into()]),
                min_duration_ns: Some(1_000_000_000),
            },
            SpanRequirement {
                service_names: Some(vec!["b".into()]),
                ..Default::default()
            },
        ]
    );
    for q in [
        "{}",
        r#"{ .service.name = "a" }"#,
        r#"{ resource.service.name = "a" } || {}"#,
        r#"({ name = "a" } | rate()) / ({} | rate())"#,
        r#"{ !(name = "a") }"#,
    ] {
        assert!(compile(q).unwrap().prefilter().required.is_empty(), "{q}");
    }
    let p = compile(r#"{ name = "a" } !> { name = "b" }"#)
        .unwrap()
        .prefilter();
    assert_eq!(p.required.len(), 1);
}
