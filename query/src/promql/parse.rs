//! Parsing: `promql-parser` does the grammar, this module converts its tree
//! into ours (`ast.rs`), compiles matchers from their text with Prometheus'
//! anchoring, and words errors as Prometheus does.

use std::time::{Duration, SystemTime};

use hearth_storage::{MatchOp, Matcher};
use promql_parser::label::{MatchOp as PMatchOp, Matcher as PMatcher};
use promql_parser::parser::{self as p, LabelModifier, VectorMatchCardinality};

use super::ast::*;
use super::duration_expr::{DurationContext, rewrite};
use super::syntax_error::word_error;

/// A query that does not parse or is semantically invalid.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Prometheus-style message, e.g. `1:5: parse error: unexpected ...`.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Parses a PromQL expression for an instant query.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with(input, DurationContext::default())
}

/// Parses a PromQL expression whose duration expressions may use the
/// query's step and range.
pub fn parse_with(input: &str, ctx: DurationContext) -> Result<Expr, ParseError> {
    let parsed = upstream(input, ctx)?;
    let mut converter = Converter { next_selector: 0 };
    converter.expr(parsed)
}

/// The parser crate's own tree (duration expressions evaluated), after the
/// checks `parse` makes: for the APIs that print or pretty-print it.
pub fn parse_upstream(input: &str) -> Result<p::Expr, ParseError> {
    let parsed = upstream(input, DurationContext::default())?;
    Converter { next_selector: 0 }.expr(parsed.clone())?;
    Ok(parsed)
}

fn upstream(input: &str, ctx: DurationContext) -> Result<p::Expr, ParseError> {
    if input.trim().is_empty() {
        return Err(ParseError::new(
            "1:1: parse error: no expression found in input",
        ));
    }
    let rewritten = rewrite(input, ctx)?;
    let text = rewritten.as_deref().unwrap_or(input);
    // The parser crate is third-party code on a path any HTTP client
    // reaches; a panic in it becomes a parse error, not a dead request.
    std::panic::catch_unwind(|| p::parse(text))
        .map_err(|_| ParseError::new("1:1: parse error: invalid query"))?
        .map_err(|e| ParseError::new(word_error(text, &e)))
}

struct Converter {
    next_selector: usize,
}

fn millis(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Prometheus keeps durations in int64 nanoseconds (about 292 years).
fn check_duration(d: Option<&Duration>) -> Result<(), ParseError> {
    match d {
        Some(d) if d.as_nanos() > i64::MAX as u128 => Err(ParseError::new(format!(
            "1:1: parse error: duration {}s is out of range",
            d.as_secs()
        ))),
        _ => Ok(()),
    }
}

fn offset_duration(offset: &Option<p::Offset>) -> Option<&Duration> {
    offset.as_ref().map(|o| match o {
        p::Offset::Pos(d) | p::Offset::Neg(d) => d,
    })
}

fn offset_ms(offset: &Option<p::Offset>) -> i64 {
    match offset {
        None => 0,
        Some(p::Offset::Pos(d)) => millis(d),
        Some(p::Offset::Neg(d)) => -millis(d),
    }
}

fn at(at: &Option<p::AtModifier>) -> Option<At> {
    at.as_ref().map(|a| match a {
        p::AtModifier::Start => At::Start,
        p::AtModifier::End => At::End,
        p::AtModifier::At(t) => At::Time(match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => millis(&d),
            Err(e) => -millis(&e.duration()),
        }),
    })
}

fn matcher(m: &PMatcher) -> Result<Matcher, ParseError> {
    let op = match m.op {
        PMatchOp::Equal => MatchOp::Equal,
        PMatchOp::NotEqual => MatchOp::NotEqual,
        PMatchOp::Re(_) => MatchOp::Regex,
        PMatchOp::NotRe(_) => MatchOp::NotRegex,
    };
    Matcher::new(op, m.name.clone(), m.value.clone())
        .map_err(|e| ParseError::new(format!("1:1: parse error: {e}")))
}

fn labels(l: &promql_parser::label::Labels) -> Vec<String> {
    l.labels.clone()
}

impl Converter {
    fn selector(&mut self, vs: &p::VectorSelector) -> Result<Selector, ParseError> {
        check_duration(offset_duration(&vs.offset))?;
        let mut base = Vec::new();
        for m in &vs.matchers.matchers {
            base.push(matcher(m)?);
        }
        let mut sets = Vec::new();
        if vs.matchers.or_matchers.is_empty() {
            sets.push(base);
        } else {
            for group in &vs.matchers.or_matchers {
                let mut set = base.clone();
                for m in group {
                    set.push(matcher(m)?);
                }
                sets.push(set);
            }
        }
        if let Some(name) = &vs.name {
            for set in &mut sets {
                let present = set
                    .iter()
                    .any(|m| m.name == "__name__" && m.op == MatchOp::Equal && &m.value == name);
                if !present {
                    set.insert(0, Matcher::equal("__name__", name.clone()));
                }
            }
        }
        // Prometheus refuses selectors that could match every series.
        let selective = sets.iter().all(|set| set.iter().any(|m| !m.matches("")));
        if !selective {
            return Err(ParseError::new(
                "1:1: parse error: vector selector must contain at least one non-empty matcher",
            ));
        }
        let id = self.next_selector;
        self.next_selector += 1;
        let mut plain = vs.clone();
        plain.offset = None;
        plain.at = None;
        Ok(Selector {
            id,
            matcher_sets: sets,
            text: plain.to_string(),
            offset_ms: offset_ms(&vs.offset),
            at: at(&vs.at),
        })
    }

    fn expr(&mut self, e: p::Expr) -> Result<Expr, ParseError> {
        Ok(match e {
            p::Expr::NumberLiteral(n) => Expr::Number(n.val),
            p::Expr::StringLiteral(s) => Expr::String(s.val),
            p::Expr::VectorSelector(vs) => Expr::Selector(Box::new(self.selector(&vs)?)),
            p::Expr::MatrixSelector(ms) => {
                check_duration(Some(&ms.range))?;
                let range_ms = millis(&ms.range);
                if range_ms <= 0 {
                    return Err(ParseError::new(
                        "1:1: parse error: range selector duration must be greater than 0",
                    ));
                }
                Expr::Range(Box::new(RangeSelector {
                    selector: self.selector(&ms.vs)?,
                    range_ms,
                }))
            }
            p::Expr::Subquery(sq) => {
                check_duration(Some(&sq.range))?;
                check_duration(sq.step.as_ref())?;
                check_duration(offset_duration(&sq.offset))?;
                let step_ms = sq.step.as_ref().map(millis);
                if step_ms == Some(0) {
                    return Err(ParseError::new(
                        "1:1: parse error: subquery step must be greater than 0",
                    ));
                }
                Expr::Subquery(Box::new(Subquery {
                    expr: self.expr(*sq.expr)?,
                    range_ms: millis(&sq.range),
                    step_ms,
                    offset_ms: offset_ms(&sq.offset),
                    at: at(&sq.at),
                }))
            }
            p::Expr::Paren(pe) => Expr::Paren(Box::new(self.expr(*pe.expr)?)),
            p::Expr::Unary(u) => Expr::Negate(Box::new(self.expr(*u.expr)?)),
            p::Expr::Call(c) => {
                let mut args = Vec::with_capacity(c.args.args.len());
                for a in c.args.args {
                    args.push(self.expr(*a)?);
                }
                Expr::Call(Box::new(Call {
                    name: c.func.name.to_owned(),
                    args,
                }))
            }
            p::Expr::Aggregate(a) => {
                let op = match a.op.to_string().as_str() {
                    "sum" => AggregateOp::Sum,
                    "avg" => AggregateOp::Avg,
                    "count" => AggregateOp::Count,
                    "min" => AggregateOp::Min,
                    "max" => AggregateOp::Max,
                    "group" => AggregateOp::Group,
                    "stddev" => AggregateOp::Stddev,
                    "stdvar" => AggregateOp::Stdvar,
                    "topk" => AggregateOp::Topk,
                    "bottomk" => AggregateOp::Bottomk,
                    "quantile" => AggregateOp::Quantile,
                    "count_values" => AggregateOp::CountValues,
                    "limitk" => AggregateOp::Limitk,
                    "limit_ratio" => AggregateOp::LimitRatio,
                    other => {
                        return Err(ParseError::new(format!(
                            "1:1: parse error: unknown aggregation {other}"
                        )));
                    }
                };
                let grouping = a.modifier.as_ref().map(|m| match m {
                    LabelModifier::Include(l) => Grouping::By(labels(l)),
                    LabelModifier::Exclude(l) => Grouping::Without(labels(l)),
                });
                let param = match a.param {
                    Some(p) => Some(self.expr(*p)?),
                    None => None,
                };
                Expr::Aggregate(Box::new(Aggregate {
                    op,
                    expr: self.expr(*a.expr)?,
                    param,
                    grouping,
                }))
            }
            p::Expr::Binary(b) => {
                let op = match b.op.to_string().as_str() {
                    "+" => BinaryOp::Add,
                    "-" => BinaryOp::Sub,
                    "*" => BinaryOp::Mul,
                    "/" => BinaryOp::Div,
                    "%" => BinaryOp::Mod,
                    "^" => BinaryOp::Pow,
                    "atan2" => BinaryOp::Atan2,
                    "==" => BinaryOp::Eq,
                    "!=" => BinaryOp::Ne,
                    ">" => BinaryOp::Gt,
                    "<" => BinaryOp::Lt,
                    ">=" => BinaryOp::Ge,
                    "<=" => BinaryOp::Le,
                    "and" => BinaryOp::And,
                    "or" => BinaryOp::Or,
                    "unless" => BinaryOp::Unless,
                    other => {
                        return Err(ParseError::new(format!(
                            "1:1: parse error: unknown binary operator {other}"
                        )));
                    }
                };
                let (mut return_bool, mut matching, mut card) =
                    (false, None, Cardinality::OneToOne);
                let (mut fill_lhs, mut fill_rhs) = (None, None);
                if let Some(m) = &b.modifier {
                    return_bool = m.return_bool;
                    matching = m.matching.as_ref().map(|lm| match lm {
                        LabelModifier::Include(l) => Matching::On(labels(l)),
                        LabelModifier::Exclude(l) => Matching::Ignoring(labels(l)),
                    });
                    card = match &m.card {
                        VectorMatchCardinality::OneToOne => Cardinality::OneToOne,
                        VectorMatchCardinality::ManyToOne(l) => Cardinality::ManyToOne(labels(l)),
                        VectorMatchCardinality::OneToMany(l) => Cardinality::OneToMany(labels(l)),
                        VectorMatchCardinality::ManyToMany => Cardinality::ManyToMany,
                    };
                    fill_lhs = m.fill_values.lhs;
                    fill_rhs = m.fill_values.rhs;
                }
                if op.is_set() {
                    card = Cardinality::ManyToMany;
                }
                let lhs = self.expr(*b.lhs)?;
                let rhs = self.expr(*b.rhs)?;
                if op.is_comparison()
                    && !return_bool
                    && lhs.kind() == ValueKind::Scalar
                    && rhs.kind() == ValueKind::Scalar
                {
                    return Err(ParseError::new(
                        "1:1: parse error: comparisons between scalars must use BOOL modifier",
                    ));
                }
                Expr::Binary(Box::new(Binary {
                    op,
                    lhs,
                    rhs,
                    return_bool,
                    matching,
                    card,
                    fill_lhs,
                    fill_rhs,
                }))
            }
            p::Expr::Extension(_) => {
                return Err(ParseError::new(
                    "1:1: parse error: unsupported expression extension",
                ));
            }
        })
    }
}

/// Number of selectors in a parsed expression (ids are `0..count`).
pub fn selector_count(e: &Expr) -> usize {
    let mut max = 0;
    visit_selectors(e, &mut |s| max = max.max(s.id + 1));
    max
}

/// Calls `f` on every selector, range selectors' included.
pub fn visit_selectors(e: &Expr, f: &mut impl FnMut(&Selector)) {
    match e {
        Expr::Number(_) | Expr::String(_) => {}
        Expr::Selector(s) => f(s),
        Expr::Range(r) => f(&r.selector),
        Expr::Subquery(s) => visit_selectors(&s.expr, f),
        Expr::Call(c) => c.args.iter().for_each(|a| visit_selectors(a, f)),
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                visit_selectors(p, f);
            }
            visit_selectors(&a.expr, f);
        }
        Expr::Binary(b) => {
            visit_selectors(&b.lhs, f);
            visit_selectors(&b.rhs, f);
        }
        Expr::Negate(e) | Expr::Paren(e) => visit_selectors(e, f),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::prop_assert_eq;

    use super::*;

    #[test]
    fn selectors_get_ids_and_name_matchers() {
        let e = parse("rate(foo{a=~\"x|y\"}[5m]) + bar offset -1m").unwrap();
        assert_eq!(selector_count(&e), 2);
        let Expr::Binary(b) = e else { panic!() };
        let Expr::Selector(s) = &b.rhs else { panic!() };
        assert_eq!(s.offset_ms, -60_000);
        assert_eq!(s.matcher_sets[0][0].value, "bar");
    }

    #[test]
    fn errors_carry_a_position() {
        let err = parse("sum(").unwrap_err();
        assert_eq!(err.message, "1:5: parse error: unclosed left parenthesis");
        let err = parse("rate(x[5m)").unwrap_err();
        assert_eq!(
            err.message,
            "1:10: parse error: unexpected right parenthesis ')'"
        );
        let err = parse("up{job=\"a}").unwrap_err();
        assert_eq!(err.message, "1:8: parse error: unterminated quoted string");
        let err = parse("up up").unwrap_err();
        assert_eq!(
            err.message,
            "1:4: parse error: unexpected identifier \"up\""
        );
        let err = parse("1 +* 2").unwrap_err();
        assert_eq!(err.message, "1:4: parse error: unexpected <op:*>");
        let err = parse("sum(x) by").unwrap_err();
        assert_eq!(
            err.message,
            "1:10: parse error: unexpected end of input in grouping opts, expected \"(\""
        );
        assert!(parse("x[300y]").is_err());
        // Found by the promql_parse fuzz target: a huge plain number as a
        // duration made the parser crate panic.
        assert!(parse("+A[67777777777777777777777777777777777777772:0]").is_err());
        assert!(parse("x[NaN]").is_err());
        assert!(parse("x offset 300y").is_err());
        let err = parse("rate(x[5m]) by (a)").unwrap_err();
        assert_eq!(err.message, "1:13: parse error: unexpected <by>");
        assert!(parse("{a=\"\"}").is_err());
        assert!(parse("1 > 2").is_err());
        assert!(parse("1 > bool 2").is_ok());
    }

    #[test]
    fn keywords_prometheus_takes_as_metric_names() {
        for name in [
            "sum", "by", "without", "offset", "min", "max", "topk", "group", "and", "or", "unless",
            "start", "end",
        ] {
            let q = format!("rate({name}{{a=\"b\"}}[5m])");
            let expr = parse(&q).unwrap_or_else(|e| panic!("{q}: {}", e.message));
            assert_eq!(selector_count(&expr), 1, "{q}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
            let _ = parse(&text);
            let _ = parse_with(&text, DurationContext { step_ms: 15_000, range_ms: 3_600_000 });
        }

        #[test]
        fn query_shaped_text_never_panics(
            text in "[a-z_]{1,8}(\\{[a-z]{1,3}(=|!=|=~|!~)\"[a-z.*|]{0,5}\"\\})?(\\[[0-9a-z+*/%()^ :-]{1,12}\\])?( offset [-+0-9a-z()*]{1,8})?( [-+*/^%<>=!]{1,2} [0-9.]{1,4})?"
        ) {
            let _ = parse_with(&text, DurationContext { step_ms: 60_000, range_ms: 600_000 });
        }

        #[test]
        fn generated_selectors_parse(
            name in "[a-z_][a-z0-9_]{0,10}",
            label in "[a-z][a-z0-9_]{0,6}",
            value in "[a-zA-Z0-9 ._-]{0,10}",
            minutes in 1u32..600,
        ) {
            // Prometheus' grammar takes most keywords as metric names, but not
            // these: they are binary-operator modifiers or number literals.
            let not_a_metric_name = ["on", "ignoring", "group_left", "group_right", "bool", "atan2", "inf", "nan"];
            proptest::prop_assume!(!not_a_metric_name.contains(&name.as_str()));
            let q = format!("sum by ({label}) (rate({name}{{{label}=\"{value}\"}}[{minutes}m]))");
            let expr = parse(&q).unwrap();
            prop_assert_eq!(selector_count(&expr), 1);
        }
    }
}
