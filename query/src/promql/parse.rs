//! Parsing: `promql-parser` does the grammar, this module converts its tree
//! into ours (`ast.rs`), compiles matchers from their text with Prometheus'
//! anchoring, and words errors as Prometheus does.

use std::time::{Duration, SystemTime};

use hearth_storage::{MatchOp, Matcher};
use promql_parser::label::{MatchOp as PMatchOp, Matcher as PMatcher};
use promql_parser::parser::{self as p, LabelModifier, VectorMatchCardinality};

use super::ast::*;
use super::duration_expr::{DurationContext, rewrite};

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

/// Words a parse failure as Prometheus does: `line:col: parse error: ...`.
/// The upstream parser reports syntax errors without a position, so
/// bracket and quoting mistakes (the common ones) are located here.
fn word_error(input: &str, message: &str) -> String {
    if let Some((line, col, what)) = locate_error(input).or_else(|| locate_token_error(input)) {
        return format!("{line}:{col}: parse error: {what}");
    }
    let message = message.trim();
    if message.starts_with(|c: char| c.is_ascii_digit()) && message.contains(": parse error") {
        return message.to_owned();
    }
    format!("1:1: parse error: {message}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident,
    Keyword,
    Number,
    Str,
    Op,
    Open,
    Close,
    Other,
}

/// Words that join or modify expressions rather than being operands.
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "atan2",
];

/// Splits a query into coarse tokens with their 1-based positions.
fn tokens(input: &str) -> Vec<(Tok, String, usize, usize)> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0, 1, 1);
    while i < chars.len() {
        let c = chars[i];
        let (start_line, start_col) = (line, col);
        let mut j = i + 1;
        let kind = if c.is_whitespace() {
            if c == '\n' {
                line += 1;
                col = 0;
            }
            None
        } else if c == '#' {
            while j < chars.len() && chars[j] != '\n' {
                j += 1;
            }
            None
        } else if c.is_alphabetic() || c == '_' || c == ':' {
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
            {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect::<String>().to_ascii_lowercase();
            Some(if KEYWORDS.contains(&word.as_str()) {
                Tok::Keyword
            } else {
                Tok::Ident
            })
        } else if c.is_ascii_digit() || c == '.' {
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '.') {
                j += 1;
            }
            Some(Tok::Number)
        } else if c == '"' || c == '\'' || c == '`' {
            while j < chars.len() && chars[j] != c {
                if chars[j] == '\\' && c != '`' {
                    j += 1;
                }
                j += 1;
            }
            j = (j + 1).min(chars.len());
            Some(Tok::Str)
        } else if "+-*/%^=!<>~".contains(c) {
            while j < chars.len() && "=~".contains(chars[j]) && j - i < 2 {
                j += 1;
            }
            Some(Tok::Op)
        } else if "([{".contains(c) {
            Some(Tok::Open)
        } else if ")]}".contains(c) {
            Some(Tok::Close)
        } else {
            Some(Tok::Other)
        };
        if let Some(kind) = kind {
            out.push((kind, chars[i..j].iter().collect(), start_line, start_col));
        }
        col += j - i;
        i = j;
    }
    out
}

/// Locates the common syntax mistakes the upstream parser reports without
/// a position: a dangling operator or keyword, two operators in a row, and
/// two operands with nothing between them.
fn locate_token_error(input: &str) -> Option<(usize, usize, String)> {
    let toks = tokens(input);
    let ends_operand = |t: Tok| matches!(t, Tok::Ident | Tok::Number | Tok::Str | Tok::Close);
    for pair in toks.windows(2) {
        let ((a, a_text, _, _), (b, b_text, line, col)) = (&pair[0], &pair[1]);
        let what = match b {
            Tok::Ident => "identifier",
            Tok::Number => "number",
            Tok::Str => "string",
            _ => "",
        };
        if ends_operand(*a) && matches!(b, Tok::Ident | Tok::Number | Tok::Str) {
            return Some((*line, *col, format!("unexpected {what} {b_text:?}")));
        }
        let unary = b_text == "-" || b_text == "+";
        if *a == Tok::Op && *b == Tok::Op && !unary && !a_text.ends_with('~') {
            return Some((*line, *col, format!("unexpected operator {b_text:?}")));
        }
    }
    let (kind, text, line, col) = toks.last()?;
    if matches!(kind, Tok::Op | Tok::Keyword) || text == "," || text == "@" {
        let end_col = col + text.chars().count();
        return Some((*line, end_col, "unexpected end of input".into()));
    }
    None
}

/// Finds unbalanced brackets and unterminated strings: (line, column,
/// message), 1-based.
fn locate_error(input: &str) -> Option<(usize, usize, String)> {
    let mut stack: Vec<(char, usize, usize)> = Vec::new();
    let (mut line, mut col) = (1, 0);
    let chars = input.chars();
    let mut quote: Option<(char, usize, usize)> = None;
    let mut escaped = false;
    let mut comment = false;
    for c in chars {
        col += 1;
        if c == '\n' {
            line += 1;
            col = 0;
            comment = false;
            if let Some((q, _, _)) = quote
                && q != '`'
            {
                return quote.map(|(_, l, c)| (l, c, "unterminated quoted string".into()));
            }
            continue;
        }
        if comment {
            continue;
        }
        if let Some((q, _, _)) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '#' => comment = true,
            '"' | '\'' | '`' => quote = Some((c, line, col)),
            '(' | '{' | '[' => stack.push((c, line, col)),
            ')' | '}' | ']' => {
                let open = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                match stack.pop() {
                    Some((o, _, _)) if o == open => {}
                    _ => {
                        let name = match c {
                            ')' => "right parenthesis ')'",
                            '}' => "right brace '}'",
                            _ => "right bracket ']'",
                        };
                        return Some((line, col, format!("unexpected {name}")));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((_, l, c)) = quote {
        return Some((l, c, "unterminated quoted string".into()));
    }
    let (open, l, c) = stack.pop()?;
    let what = match open {
        '(' => "unclosed left parenthesis",
        '{' => "unexpected end of input inside braces",
        _ => "unexpected end of input inside brackets",
    };
    Some((l, c, what.into()))
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
        assert_eq!(err.message, "1:4: parse error: unclosed left parenthesis");
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
        assert_eq!(err.message, "1:4: parse error: unexpected operator \"*\"");
        let err = parse("sum(x) by").unwrap_err();
        assert_eq!(err.message, "1:10: parse error: unexpected end of input");
        assert!(parse("x[300y]").is_err());
        // Found by the promql_parse fuzz target: a huge plain number as a
        // duration made the parser crate panic.
        assert!(parse("+A[67777777777777777777777777777777777777772:0]").is_err());
        assert!(parse("x[NaN]").is_err());
        assert!(parse("x offset 300y").is_err());
        let err = parse("rate(x[5m]) by (a)").unwrap_err();
        assert!(
            err.message.starts_with("1:1: parse error:"),
            "{}",
            err.message
        );
        assert!(parse("{a=\"\"}").is_err());
        assert!(parse("1 > 2").is_err());
        assert!(parse("1 > bool 2").is_ok());
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
            let q = format!("sum by ({label}) (rate({name}{{{label}=\"{value}\"}}[{minutes}m]))");
            let expr = parse(&q).unwrap();
            prop_assert_eq!(selector_count(&expr), 1);
        }
    }
}
