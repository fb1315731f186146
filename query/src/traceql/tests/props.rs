//! Property tests: the parser never panics, and every valid tree prints
//! to text that parses back to the same tree.

use proptest::prelude::*;

use crate::traceql::ast::*;
use crate::traceql::{CompiledQuery, parse};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

fn scope() -> impl Strategy<Value = AttributeScope> {
    prop_oneof![
        Just(AttributeScope::Unscoped),
        Just(AttributeScope::Span),
        Just(AttributeScope::Resource),
        Just(AttributeScope::Event),
        Just(AttributeScope::Link),
        Just(AttributeScope::Instrumentation),
    ]
}

fn attribute() -> impl Strategy<Value = Expr> {
    let name = prop_oneof![
        "[a-z_][a-z0-9_.:-]{0,8}",
        "[a-z .\"é]{1,6}",
        Just("span.x".to_string()),
        Just("resource".to_string()),
    ];
    (any::<bool>(), scope(), name).prop_map(|(parent, scope, name)| {
        Expr::Attr(Attribute {
            parent,
            scope,
            name,
        })
    })
}

fn intrinsic() -> impl Strategy<Value = Intrinsic> {
    (0..INTRINSICS.len(), any::<bool>()).prop_map(|(i, scoped)| {
        let (field, bare, _) = INTRINSICS[i];
        Intrinsic {
            field,
            scoped: scoped || bare.is_none(),
        }
    })
}

fn string() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _\"\\\\\n\t`é-]{0,8}"
}

fn number() -> impl Strategy<Value = Literal> {
    prop_oneof![
        (-1_000_000i64..1_000_000).prop_map(Literal::Int),
        (-1.0e6f64..1.0e6).prop_map(Literal::Float),
        (-10_000_000_000_000i64..10_000_000_000_000).prop_map(Literal::Duration),
    ]
}

fn status() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(StatusCode::Ok),
        Just(StatusCode::Error),
        Just(StatusCode::Unset)
    ]
    .prop_map(Literal::Status)
}

fn kind() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(SpanKind::Server),
        Just(SpanKind::Client),
        Just(SpanKind::Producer),
        Just(SpanKind::Consumer),
        Just(SpanKind::Internal),
        Just(SpanKind::Unspecified),
    ]
    .prop_map(Literal::Kind)
}

fn eq_op() -> impl Strategy<Value = BinOp> {
    prop_oneof![Just(BinOp::Eq), Just(BinOp::Ne)]
}

fn any_cmp() -> impl Strategy<Value = BinOp> {
    prop_oneof![
        Just(BinOp::Eq),
        Just(BinOp::Ne),
        Just(BinOp::Lt),
        Just(BinOp::Le),
        Just(BinOp::Gt),
        Just(BinOp::Ge),
    ]
}

fn arith_op() -> impl Strategy<Value = BinOp> {
    prop_oneof![
        Just(BinOp::Add),
        Just(BinOp::Sub),
        Just(BinOp::Mul),
        Just(BinOp::Div),
        Just(BinOp::Mod),
        Just(BinOp::Pow),
    ]
}

fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
    }
}

/// Numeric-valued field expressions.
fn numeric() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        attribute(),
        number().prop_map(Expr::Lit),
        Just(Expr::Intrinsic(Intrinsic {
            field: IntrinsicField::Duration,
            scoped: false
        })),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (arith_op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| bin(op, l, r)),
            inner.prop_map(|e| Expr::Unary {
                op: UnaryOp::Neg,
                expr: Box::new(e)
            }),
        ]
    })
}

/// Boolean-valued field expressions that pass validation.
fn condition() -> impl Strategy<Value = Expr> {
    let regex = "[a-z]{0,4}(\\.\\*)?(\\|[a-z]{1,3})?";
    let str_field = prop_oneof![
        attribute(),
        Just(Expr::Intrinsic(Intrinsic {
            field: IntrinsicField::Name,
            scoped: false
        })),
        Just(Expr::Intrinsic(Intrinsic {
            field: IntrinsicField::RootService,
            scoped: true
        })),
    ];
    let leaf = prop_oneof![
        (attribute(), any_cmp(), string()).prop_map(|(a, op, s)| bin(
            op,
            a,
            Expr::Lit(Literal::Str(s))
        )),
        (
            str_field,
            prop_oneof![Just(BinOp::Re), Just(BinOp::NotRe)],
            regex
        )
            .prop_map(|(a, op, s)| bin(op, a, Expr::Lit(Literal::Str(s)))),
        (numeric(), any_cmp(), numeric()).prop_map(|(l, op, r)| bin(op, l, r)),
        (attribute(), eq_op()).prop_map(|(a, op)| bin(op, a, Expr::Lit(Literal::Nil))),
        (eq_op(), status()).prop_map(|(op, s)| bin(
            op,
            Expr::Intrinsic(Intrinsic {
                field: IntrinsicField::Status,
                scoped: false
            }),
            Expr::Lit(s)
        )),
        (eq_op(), kind()).prop_map(|(op, k)| bin(
            op,
            Expr::Intrinsic(Intrinsic {
                field: IntrinsicField::Kind,
                scoped: true
            }),
            Expr::Lit(k)
        )),
        (intrinsic(), eq_op()).prop_map(|(i, op)| bin(
            op,
            Expr::Intrinsic(i),
            Expr::Lit(Literal::Nil)
        )),
        any::<bool>().prop_map(|b| Expr::Lit(Literal::Bool(b))),
        attribute(),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| bin(BinOp::And, l, r)),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| bin(BinOp::Or, l, r)),
            (inner.clone(), eq_op(), inner.clone()).prop_map(|(l, op, r)| bin(op, l, r)),
            inner.prop_map(|e| Expr::Unary {
                op: UnaryOp::Not,
                expr: Box::new(e)
            }),
        ]
    })
}

fn filter() -> impl Strategy<Value = Option<Expr>> {
    prop::option::weighted(0.8, condition())
}

fn field() -> impl Strategy<Value = Expr> {
    prop_oneof![attribute(), intrinsic().prop_map(Expr::Intrinsic)]
}

fn scalar() -> impl Strategy<Value = Expr> {
    let agg = prop_oneof![
        Just(Expr::Agg {
            func: AggFunc::Count,
            arg: None
        }),
        (
            prop_oneof![
                Just(AggFunc::Avg),
                Just(AggFunc::Min),
                Just(AggFunc::Max),
                Just(AggFunc::Sum)
            ],
            numeric()
        )
            .prop_map(|(func, a)| Expr::Agg {
                func,
                arg: Some(Box::new(a))
            }),
    ];
    let cmp = (agg, any_cmp(), number()).prop_map(|(a, op, n)| bin(op, a, Expr::Lit(n)));
    cmp.prop_recursive(2, 4, 2, |inner| {
        (inner.clone(), inner, any::<bool>())
            .prop_map(|(l, r, and)| bin(if and { BinOp::And } else { BinOp::Or }, l, r))
    })
}

fn stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        filter().prop_map(Stage::Filter),
        scalar().prop_map(Stage::Scalar),
        prop::collection::vec(field(), 1..3).prop_map(Stage::By),
        Just(Stage::Coalesce),
        prop::collection::vec(field(), 1..3).prop_map(Stage::Select),
    ]
}

fn spanset_op() -> impl Strategy<Value = SpansetOp> {
    let rel = prop_oneof![
        Just(Relation::Child),
        Just(Relation::Parent),
        Just(Relation::Descendant),
        Just(Relation::Ancestor),
        Just(Relation::Sibling),
    ];
    prop_oneof![
        Just(SpansetOp::And),
        Just(SpansetOp::Or),
        (rel, 0..3u8).prop_map(|(rel, form)| SpansetOp::Structural {
            rel,
            negated: form == 1,
            union: form == 2,
        }),
    ]
}

fn spanset() -> impl Strategy<Value = SpansetExpr> {
    filter()
        .prop_map(SpansetExpr::Filter)
        .prop_recursive(3, 10, 2, |inner| {
            prop_oneof![
                (spanset_op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| {
                    SpansetExpr::Binary {
                        op,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                    }
                }),
                (inner, prop::collection::vec(stage(), 1..3)).prop_map(|(s, stages)| {
                    SpansetExpr::Pipeline {
                        source: Box::new(s),
                        stages,
                    }
                }),
            ]
        })
}

fn metrics_func() -> impl Strategy<Value = MetricsFunc> {
    prop_oneof![
        Just(MetricsFunc::Rate),
        Just(MetricsFunc::CountOverTime),
        numeric().prop_map(MetricsFunc::SumOverTime),
        field().prop_map(MetricsFunc::MinOverTime),
        field().prop_map(MetricsFunc::MaxOverTime),
        numeric().prop_map(MetricsFunc::AvgOverTime),
        (field(), prop::collection::vec(0.0f64..=1.0, 1..4))
            .prop_map(|(f, qs)| MetricsFunc::QuantileOverTime(f, qs)),
        field().prop_map(MetricsFunc::HistogramOverTime),
        (
            filter(),
            1i64..50,
            prop::option::of((1i64..1 << 60, 1i64..1 << 60))
        )
            .prop_map(|(sel, top_n, range)| MetricsFunc::Compare {
                selection: Box::new(SpansetExpr::Filter(sel)),
                top_n,
                start: range.map(|r| r.0),
                end: range.map(|r| r.0 + r.1),
            }),
    ]
}

fn metrics_pipeline() -> impl Strategy<Value = MetricsExpr> {
    let filter = prop::option::of((any_cmp(), number()));
    let second = prop::option::of(prop_oneof![
        (1i64..20).prop_map(SecondStage::TopK),
        (1i64..20).prop_map(SecondStage::BottomK),
    ]);
    (
        spanset(),
        metrics_func(),
        prop::collection::vec(field(), 0..3),
        filter,
        second,
    )
        .prop_map(|(source, func, by, filter, second)| {
            // A field-typed min/max needs a numeric field.
            let func = match func {
                MetricsFunc::MinOverTime(Expr::Intrinsic(_))
                | MetricsFunc::MaxOverTime(Expr::Intrinsic(_))
                | MetricsFunc::QuantileOverTime(Expr::Intrinsic(_), _)
                | MetricsFunc::HistogramOverTime(Expr::Intrinsic(_)) => {
                    MetricsFunc::HistogramOverTime(Expr::Intrinsic(Intrinsic {
                        field: IntrinsicField::Duration,
                        scoped: true,
                    }))
                }
                f => f,
            };
            // Tempo's grammar has no by() after compare().
            let by = if matches!(func, MetricsFunc::Compare { .. }) {
                Vec::new()
            } else {
                by
            };
            MetricsExpr::Pipeline(Box::new(MetricsPipeline {
                source,
                func,
                by,
                filter,
                second,
            }))
        })
}

fn metrics() -> impl Strategy<Value = MetricsExpr> {
    metrics_pipeline().prop_recursive(2, 4, 2, |inner| {
        (arith_op(), inner.clone(), inner).prop_map(|(op, l, r)| MetricsExpr::Binary {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
        })
    })
}

fn hints() -> impl Strategy<Value = Vec<Hint>> {
    prop::collection::vec(
        prop_oneof![
            any::<bool>().prop_map(|b| Hint {
                key: "most_recent".into(),
                value: Literal::Bool(b)
            }),
            (0.0f64..1.0).prop_map(|f| Hint {
                key: "sample".into(),
                value: Literal::Float(f)
            }),
        ],
        0..3,
    )
}

fn query() -> impl Strategy<Value = Query> {
    let body = prop_oneof![
        spanset().prop_map(QueryBody::Spans),
        metrics().prop_map(QueryBody::Metrics),
    ];
    (body, hints()).prop_map(|(body, hints)| Query { body, hints })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn printed_trees_parse_back(q in query()) {
        // Every generated tree is valid, so both checks must accept it.
        prop_assert!(CompiledQuery::new(q.clone()).is_ok(), "invalid generated tree: {}", q);
        let text = q.to_string();
        let back = parse(&text);
        prop_assert!(back.is_ok(), "{} -> {:?}", text, back.err());
        prop_assert_eq!(back.ok(), Some(q), "{}", text);
    }

    #[test]
    fn parser_never_panics_on_any_string(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_traceql_like_text(
        s in "[{}()|&!<>=~.,:\"` a-z0-9µé^*/%+\\-\\\\\n]{0,48}"
    ) {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_mutated_queries(q in query(), cut in 0usize..400, junk in "[^a]{0,3}") {
        let text = q.to_string();
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{}{}", &text[..at], junk, &text[at..]);
        let _ = parse(&mutated);
    }
}
