//! Property tests: no input makes the parser panic, and every tree the
//! parser can produce prints as a query that parses back to it.

use hearth_storage::MatchOp;
use proptest::prelude::*;

use super::super::ast::*;
use super::super::parse;
use super::VALID;

const LABELS: &[&str] = &[
    "app",
    "env",
    "level",
    "status",
    "__error__",
    "foo_bar",
    "x1",
];
const REGEXES: &[&str] = &["a|b", ".+", "x.*", "(?i)err", "[0-9]+", "", "a\\.b"];
const IPS: &[&str] = &["10.0.0.0/8", "::1", "192.168.0.1-192.168.0.9", "1.2.3.4"];

fn label() -> impl Strategy<Value = String> {
    prop::sample::select(LABELS).prop_map(str::to_owned)
}

fn regex_text() -> impl Strategy<Value = String> {
    prop::sample::select(REGEXES).prop_map(str::to_owned)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z \"\\\\{}|<>\\n\\t]{0,12}"]
}

fn match_op() -> impl Strategy<Value = MatchOp> {
    prop::sample::select(vec![
        MatchOp::Equal,
        MatchOp::NotEqual,
        MatchOp::Regex,
        MatchOp::NotRegex,
    ])
}

fn matcher() -> impl Strategy<Value = LabelMatcher> {
    (label(), match_op(), text(), regex_text()).prop_map(|(name, op, text, re)| {
        let value = match op {
            MatchOp::Regex | MatchOp::NotRegex => re,
            _ => text,
        };
        LabelMatcher { name, op, value }
    })
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Lt,
        CmpOp::Le,
    ])
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e6..1e6f64,
        (0..1000i32).prop_map(f64::from),
        Just(1e300),
        Just(1e-300)
    ]
}

fn label_filter() -> impl Strategy<Value = LabelFilter> {
    let leaf = prop_oneof![
        matcher().prop_map(LabelFilter::String),
        (label(), cmp_op(), number()).prop_map(|(label, op, value)| LabelFilter::Number {
            label,
            op,
            value
        }),
        (label(), cmp_op(), 0..i64::MAX).prop_map(|(label, op, nanos)| LabelFilter::Duration {
            label,
            op,
            nanos
        }),
        (label(), cmp_op(), any::<u64>()).prop_map(|(label, op, bytes)| LabelFilter::Bytes {
            label,
            op,
            bytes
        }),
        (label(), any::<bool>(), prop::sample::select(IPS)).prop_map(|(label, negated, p)| {
            LabelFilter::Ip {
                label,
                negated,
                pattern: p.to_owned(),
            }
        }),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        (inner.clone(), inner, any::<bool>()).prop_map(|(a, b, and)| {
            if and {
                LabelFilter::And(Box::new(a), Box::new(b))
            } else {
                LabelFilter::Or(Box::new(a), Box::new(b))
            }
        })
    })
}

fn extractions() -> impl Strategy<Value = Vec<Extraction>> {
    prop::collection::vec(
        (label(), prop::option::of(text()))
            .prop_map(|(label, expression)| Extraction { label, expression }),
        0..3,
    )
}

fn selectors() -> impl Strategy<Value = Vec<LabelSelector>> {
    prop::collection::vec(
        (
            label(),
            prop::option::of((match_op(), text(), regex_text())),
        )
            .prop_map(|(name, m)| LabelSelector {
                name,
                matcher: m.map(|(op, text, re)| match op {
                    MatchOp::Regex | MatchOp::NotRegex => (op, re),
                    _ => (op, text),
                }),
            }),
        1..3,
    )
}

fn line_filter() -> impl Strategy<Value = LineFilter> {
    let op = prop::sample::select(vec![
        LineFilterOp::Contains,
        LineFilterOp::NotContains,
        LineFilterOp::Regex,
        LineFilterOp::NotRegex,
        LineFilterOp::Pattern,
        LineFilterOp::NotPattern,
    ]);
    let operand = (text(), regex_text(), prop::sample::select(IPS), 0..3u8);
    (op, prop::collection::vec(operand, 1..3)).prop_map(|(op, operands)| LineFilter {
        op,
        operands: operands
            .into_iter()
            .map(|(text, re, ip, pick)| match op {
                LineFilterOp::Contains | LineFilterOp::NotContains if pick == 0 => {
                    LineFilterValue::Ip(ip.to_owned())
                }
                LineFilterOp::Contains | LineFilterOp::NotContains => LineFilterValue::Text(text),
                LineFilterOp::Regex | LineFilterOp::NotRegex => LineFilterValue::Text(re),
                _ => LineFilterValue::Text("<_> x <_>".into()),
            })
            .collect(),
    })
}

fn stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        line_filter().prop_map(Stage::LineFilter),
        extractions().prop_map(Stage::Json),
        (any::<bool>(), any::<bool>(), extractions()).prop_map(|(strict, keep_empty, e)| {
            Stage::Logfmt {
                strict,
                keep_empty,
                extractions: e,
            }
        }),
        Just(Stage::Regexp("(?P<a>\\w+) (?P<b>.*)".into())),
        Just(Stage::Pattern("<a> - <_> <b>".into())),
        Just(Stage::Unpack),
        Just(Stage::Decolorize),
        label_filter().prop_map(Stage::LabelFilter),
        text().prop_map(Stage::LineFormat),
        prop::collection::vec((label(), label(), text(), any::<bool>()), 1..3).prop_map(|items| {
            let mut seen = Vec::new();
            let mut out = Vec::new();
            for (dst, src, template, rename) in items {
                if seen.contains(&dst) {
                    continue;
                }
                seen.push(dst.clone());
                out.push(if rename {
                    LabelFormat::Rename { dst, src }
                } else {
                    LabelFormat::Template { dst, template }
                });
            }
            Stage::LabelFormat(out)
        }),
        selectors().prop_map(Stage::Drop),
        selectors().prop_map(Stage::Keep),
    ]
}

fn log_query() -> impl Strategy<Value = LogQuery> {
    (
        "[a-z]{1,5}",
        prop::collection::vec(matcher(), 0..3),
        prop::collection::vec(stage(), 0..5),
    )
        .prop_map(|(first, mut rest, mut pipeline)| {
            rest.insert(
                0,
                LabelMatcher {
                    name: "app".into(),
                    op: MatchOp::Equal,
                    value: first,
                },
            );
            // `| drop a != "x"` reads as a matcher (in Loki too), so a bare
            // last name followed by a `!=` or `!~` line filter cannot be
            // written.
            for i in 1..pipeline.len() {
                let bare_last = match &pipeline[i - 1] {
                    Stage::Drop(s) | Stage::Keep(s) => {
                        s.last().is_some_and(|s| s.matcher.is_none())
                    }
                    _ => false,
                };
                if let Stage::LineFilter(lf) = &mut pipeline[i]
                    && bare_last
                {
                    lf.op = match lf.op {
                        LineFilterOp::NotContains => LineFilterOp::Contains,
                        LineFilterOp::NotRegex => LineFilterOp::Regex,
                        other => other,
                    };
                }
            }
            LogQuery {
                matchers: rest,
                pipeline,
            }
        })
}

fn range_aggregation() -> impl Strategy<Value = MetricExpr> {
    (
        prop::sample::select(RANGE_OPS.to_vec()),
        log_query(),
        0..i64::MAX / 2,
        prop_oneof![Just(0i64), 0..i64::MAX / 2],
        (label(), 0..4u8, prop::collection::vec(label_filter(), 0..2)),
        any::<bool>(),
        prop::option::of((any::<bool>(), prop::collection::vec(label(), 0..3))),
        0.0..2.0f64,
    )
        .prop_map(
            |(op, query, range_ns, offset_ns, (ulabel, conv, post), want_unwrap, group, phi)| {
                let unwrap_ok = !matches!(
                    op,
                    RangeOp::CountOverTime | RangeOp::BytesRate | RangeOp::BytesOverTime
                );
                let needs_unwrap = !matches!(
                    op,
                    RangeOp::Rate
                        | RangeOp::CountOverTime
                        | RangeOp::BytesRate
                        | RangeOp::BytesOverTime
                        | RangeOp::AbsentOverTime
                );
                let unwrap = (unwrap_ok && (want_unwrap || needs_unwrap)).then(|| Unwrap {
                    label: ulabel,
                    conversion: [
                        Conversion::Float,
                        Conversion::Duration,
                        Conversion::DurationSeconds,
                        Conversion::Bytes,
                    ][usize::from(conv)],
                    post_filters: post,
                });
                MetricExpr::RangeAggregation(Box::new(RangeAggregation {
                    op,
                    param: (op == RangeOp::QuantileOverTime).then_some(phi),
                    range: LogRange {
                        query,
                        range_ns,
                        offset_ns,
                        unwrap,
                    },
                    grouping: group
                        .filter(|_| unwrap_ok)
                        .map(|(without, labels)| Grouping { without, labels }),
                }))
            },
        )
}

fn is_scalar(e: &MetricExpr) -> bool {
    match e {
        MetricExpr::Literal(_) => true,
        MetricExpr::Negate(i) => is_scalar(i),
        MetricExpr::Binary(b) => is_scalar(&b.lhs) && is_scalar(&b.rhs),
        _ => false,
    }
}

const BIN_OPS: &[BinOp] = &[
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::Mod,
    BinOp::Pow,
    BinOp::Eq,
    BinOp::Ne,
    BinOp::Gt,
    BinOp::Ge,
    BinOp::Lt,
    BinOp::Le,
    BinOp::And,
    BinOp::Or,
    BinOp::Unless,
];

fn metric_expr() -> impl Strategy<Value = MetricExpr> {
    let leaf = prop_oneof![
        3 => range_aggregation(),
        1 => number().prop_map(MetricExpr::Literal),
        1 => number().prop_map(MetricExpr::Vector),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (
                prop::sample::select(VECTOR_OPS.to_vec()),
                1..20i64,
                prop::option::of((any::<bool>(), prop::collection::vec(label(), 0..3))),
                inner.clone(),
            )
                .prop_map(|(op, k, group, expr)| {
                    MetricExpr::VectorAggregation(Box::new(VectorAggregation {
                        op,
                        param: op.takes_param().then_some(k),
                        grouping: group
                            .filter(|_| op != VectorOp::ApproxTopk)
                            .map(|(without, labels)| Grouping { without, labels }),
                        expr,
                    }))
                }),
            (
                prop::sample::select(BIN_OPS),
                any::<bool>(),
                prop::option::of((
                    any::<bool>(),
                    prop::collection::vec(label(), 0..2),
                    0..3u8,
                    prop::collection::vec(label(), 0..2)
                )),
                inner.clone(),
                inner.clone(),
            )
                .prop_map(|(op, return_bool, matching, lhs, rhs)| {
                    let mut op = op;
                    if op.is_set() && (is_scalar(&lhs) || is_scalar(&rhs)) {
                        op = BinOp::Add;
                    }
                    let matching = matching
                        .filter(|_| !is_scalar(&lhs) && !is_scalar(&rhs))
                        .map(|(on, labels, g, extra)| VectorMatching {
                            on,
                            labels,
                            group: match g {
                                _ if op.is_set() => None,
                                0 => None,
                                1 => Some(GroupSide::Left(extra)),
                                _ => Some(GroupSide::Right(extra)),
                            },
                        });
                    MetricExpr::Binary(Box::new(BinaryExpr {
                        op,
                        return_bool: return_bool && op.is_comparison(),
                        matching,
                        lhs,
                        rhs,
                    }))
                }),
            inner.clone().prop_map(|e| match e {
                MetricExpr::Literal(v) => MetricExpr::Literal(-v),
                other => MetricExpr::Negate(Box::new(other)),
            }),
            (inner, "[a-z_]{1,4}", text(), label(), regex_text()).prop_map(
                |(expr, dst, replacement, src, regex)| {
                    MetricExpr::LabelReplace(Box::new(LabelReplace {
                        expr,
                        dst,
                        replacement,
                        src,
                        regex,
                    }))
                }
            ),
        ]
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    prop_oneof![
        1 => log_query().prop_map(Expr::Log),
        3 => metric_expr().prop_map(Expr::Metric),
    ]
}

const VOCABULARY: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "|",
    "|=",
    "!=",
    "|~",
    "!~",
    "|>",
    "!>",
    "=",
    "==",
    "=~",
    ">",
    ">=",
    "<",
    "<=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "app",
    "\"a\"",
    "`b`",
    "\"",
    "`",
    "5m",
    "1KB",
    "1.5",
    "0",
    "rate",
    "sum",
    "by",
    "without",
    "topk",
    "json",
    "logfmt",
    "--strict",
    "unwrap",
    "duration",
    "bytes",
    "ip",
    "or",
    "and",
    "unless",
    "bool",
    "on",
    "group_left",
    "offset",
    "label_replace",
    "vector",
    "line_format",
    "label_format",
    "drop",
    "keep",
    "quantile_over_time",
    "count_over_time",
    "#",
    "\n",
    " ",
    "\\",
    "é",
    "__error__",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        let _ = parse(&input);
    }

    #[test]
    fn token_soup_never_panics(words in prop::collection::vec(prop::sample::select(VOCABULARY), 0..40)) {
        let _ = parse(&words.concat());
        let _ = parse(&words.join(" "));
    }

    #[test]
    fn mutated_queries_never_panic(
        index in 0..VALID.len(),
        at in any::<prop::sample::Index>(),
        insert in prop::sample::select(VOCABULARY),
    ) {
        let query = VALID[index];
        let mut cut = at.index(query.len() + 1);
        while !query.is_char_boundary(cut) {
            cut -= 1;
        }
        let _ = parse(&format!("{}{insert}{}", &query[..cut], &query[cut..]));
        let _ = parse(&query[..cut]);
    }

    #[test]
    fn printed_trees_parse_back(expr in expr()) {
        let printed = expr.to_string();
        match parse(&printed) {
            Ok(again) => prop_assert_eq!(&again, &expr, "printed as {}", printed),
            Err(e) => prop_assert!(false, "{} does not parse: {}", printed, e),
        }
    }
}
