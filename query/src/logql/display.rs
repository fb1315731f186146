//! Prints the tree as a canonical query: one spelling per tree, chosen so
//! that `parse(&expr.to_string())` gives the same tree back. Parentheses
//! are added only where precedence needs them; ranges go after the
//! pipeline; grouping of vector aggregations goes before the arguments.

use std::fmt::{self, Display, Formatter, Write};

use hearth_storage::MatchOp;

use super::ast::*;

/// Quotes `s` as a Go interpreted string literal, which the lexer reads
/// back unchanged.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A duration in Go's style (`1h30m`, `1s500ms`), exact to the nanosecond.
pub fn format_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = nanos.unsigned_abs();
    if nanos < 0 {
        out.push('-');
    }
    for (unit, size) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        if rest >= size {
            let _ = write!(out, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    out
}

fn match_op(op: MatchOp) -> &'static str {
    match op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Regex => "=~",
        MatchOp::NotRegex => "!~",
    }
}

fn cmp_op(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
    }
}

fn join<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    mut each: impl FnMut(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, item)?;
    }
    Ok(())
}

fn labels(f: &mut Formatter<'_>, labels: &[String]) -> fmt::Result {
    f.write_str("(")?;
    join(f, labels, |f, l| f.write_str(l))?;
    f.write_str(")")
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(q) => q.fmt(f),
            Expr::Metric(m) => m.fmt(f),
        }
    }
}

impl Display for LabelMatcher {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.name,
            match_op(self.op),
            quote(&self.value)
        )
    }
}

impl Display for LogQuery {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        join(f, &self.matchers, |f, m| m.fmt(f))?;
        f.write_str("}")?;
        for stage in &self.pipeline {
            write!(f, " {stage}")?;
        }
        Ok(())
    }
}

fn extractions(f: &mut Formatter<'_>, items: &[Extraction]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        f.write_str(if i == 0 { " " } else { ", " })?;
        f.write_str(&e.label)?;
        if let Some(expr) = &e.expression {
            write!(f, "={}", quote(expr))?;
        }
    }
    Ok(())
}

fn selectors(f: &mut Formatter<'_>, items: &[LabelSelector]) -> fmt::Result {
    join(f, items, |f, s| {
        f.write_str(&s.name)?;
        if let Some((op, value)) = &s.matcher {
            write!(f, "{}{}", match_op(*op), quote(value))?;
        }
        Ok(())
    })
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::LineFilter(lf) => lf.fmt(f),
            Stage::Json(items) => {
                f.write_str("| json")?;
                extractions(f, items)
            }
            Stage::Logfmt {
                strict,
                keep_empty,
                extractions: items,
            } => {
                f.write_str("| logfmt")?;
                if *strict {
                    f.write_str(" --strict")?;
                }
                if *keep_empty {
                    f.write_str(" --keep-empty")?;
                }
                extractions(f, items)
            }
            Stage::Regexp(re) => write!(f, "| regexp {}", quote(re)),
            Stage::Pattern(p) => write!(f, "| pattern {}", quote(p)),
            Stage::Unpack => f.write_str("| unpack"),
            Stage::LabelFilter(filter) => write!(f, "| {filter}"),
            Stage::LineFormat(t) => write!(f, "| line_format {}", quote(t)),
            Stage::LabelFormat(items) => {
                f.write_str("| label_format ")?;
                join(f, items, |f, item| match item {
                    LabelFormat::Rename { dst, src } => write!(f, "{dst}={src}"),
                    LabelFormat::Template { dst, template } => {
                        write!(f, "{dst}={}", quote(template))
                    }
                })
            }
            Stage::Drop(items) => {
                f.write_str("| drop ")?;
                selectors(f, items)
            }
            Stage::Keep(items) => {
                f.write_str("| keep ")?;
                selectors(f, items)
            }
            Stage::Decolorize => f.write_str("| decolorize"),
        }
    }
}

impl Display for LineFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.op {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Regex => "|~",
            LineFilterOp::NotRegex => "!~",
            LineFilterOp::Pattern => "|>",
            LineFilterOp::NotPattern => "!>",
        })?;
        for (i, operand) in self.operands.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { " or " })?;
            match operand {
                LineFilterValue::Text(t) => f.write_str(&quote(t))?,
                LineFilterValue::Ip(p) => write!(f, "ip({})", quote(p))?,
            }
        }
        Ok(())
    }
}

impl LabelFilter {
    /// 0 for leaves, then `and` binding tighter than `or`.
    fn precedence(&self) -> u8 {
        match self {
            LabelFilter::Or(..) => 1,
            LabelFilter::And(..) => 2,
            _ => 3,
        }
    }
}

/// Writes `child` of an operator with precedence `prec`, in parentheses if
/// it binds looser, or equally on the right (the tree is left-leaning).
fn filter_operand(
    f: &mut Formatter<'_>,
    child: &LabelFilter,
    prec: u8,
    right: bool,
) -> fmt::Result {
    let p = child.precedence();
    if p < prec || (right && p == prec) {
        write!(f, "({child})")
    } else {
        child.fmt(f)
    }
}

impl Display for LabelFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilter::And(a, b) | LabelFilter::Or(a, b) => {
                let prec = self.precedence();
                filter_operand(f, a, prec, false)?;
                f.write_str(if prec == 2 { " and " } else { " or " })?;
                filter_operand(f, b, prec, true)
            }
            LabelFilter::String(m) => m.fmt(f),
            LabelFilter::Number { label, op, value } => {
                write!(f, "{label} {} {value}", cmp_op(*op))
            }
            LabelFilter::Duration { label, op, nanos } => {
                write!(f, "{label} {} {}", cmp_op(*op), format_duration(*nanos))
            }
            LabelFilter::Bytes { label, op, bytes } => {
                write!(f, "{label} {} {bytes}B", cmp_op(*op))
            }
            LabelFilter::Ip {
                label,
                negated,
                pattern,
            } => write!(
                f,
                "{label}{}ip({})",
                if *negated { "!=" } else { "=" },
                quote(pattern)
            ),
        }
    }
}

impl Display for Grouping {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.without { "without " } else { "by " })?;
        labels(f, &self.labels)
    }
}

impl Display for LogRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.query.fmt(f)?;
        if let Some(u) = &self.unwrap {
            f.write_str(" | unwrap ")?;
            match u.conversion {
                Conversion::Float => f.write_str(&u.label)?,
                Conversion::Duration => write!(f, "duration({})", u.label)?,
                Conversion::DurationSeconds => write!(f, "duration_seconds({})", u.label)?,
                Conversion::Bytes => write!(f, "bytes({})", u.label)?,
            }
            for filter in &u.post_filters {
                write!(f, " | {filter}")?;
            }
        }
        // `{app="a"}[5m]` as usually written; after a pipeline the range
        // needs a space to read as its own part.
        if !self.query.pipeline.is_empty() || self.unwrap.is_some() {
            f.write_str(" ")?;
        }
        write!(f, "[{}]", format_duration(self.range_ns))?;
        if self.offset_ns != 0 {
            write!(f, " offset {}", format_duration(self.offset_ns))?;
        }
        Ok(())
    }
}

/// Writes a binary operand, in parentheses where precedence or
/// associativity would otherwise regroup it.
fn binary_operand(
    f: &mut Formatter<'_>,
    child: &MetricExpr,
    op: BinOp,
    right: bool,
) -> fmt::Result {
    let parens = match child {
        MetricExpr::Binary(b) => {
            let (p, q) = (b.op.precedence(), op.precedence());
            p < q || (p == q && right != op.right_assoc())
        }
        // `-x ^ y` reads as `-(x ^ y)`.
        MetricExpr::Negate(_) => op == BinOp::Pow && !right,
        MetricExpr::Literal(v) => op == BinOp::Pow && !right && v.is_sign_negative(),
        _ => false,
    };
    if parens {
        write!(f, "({child})")
    } else {
        child.fmt(f)
    }
}

impl Display for MetricExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricExpr::RangeAggregation(r) => {
                write!(f, "{}(", r.op.name())?;
                if let Some(p) = r.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", r.range)?;
                if let Some(g) = &r.grouping {
                    write!(f, " {g}")?;
                }
                Ok(())
            }
            MetricExpr::VectorAggregation(v) => {
                f.write_str(v.op.name())?;
                if let Some(g) = &v.grouping {
                    write!(f, " {g} ")?;
                }
                f.write_str("(")?;
                if let Some(k) = v.param {
                    write!(f, "{k}, ")?;
                }
                write!(f, "{})", v.expr)
            }
            MetricExpr::Binary(b) => {
                binary_operand(f, &b.lhs, b.op, false)?;
                write!(f, " {}", b.op.symbol())?;
                if b.return_bool {
                    f.write_str(" bool")?;
                }
                if let Some(m) = &b.matching {
                    f.write_str(if m.on { " on " } else { " ignoring " })?;
                    labels(f, &m.labels)?;
                    match &m.group {
                        Some(GroupSide::Left(extra)) => {
                            f.write_str(" group_left ")?;
                            labels(f, extra)?;
                        }
                        Some(GroupSide::Right(extra)) => {
                            f.write_str(" group_right ")?;
                            labels(f, extra)?;
                        }
                        None => {}
                    }
                }
                f.write_str(" ")?;
                binary_operand(f, &b.rhs, b.op, true)
            }
            MetricExpr::Negate(inner) => match **inner {
                MetricExpr::Binary(_) => write!(f, "-({inner})"),
                _ => write!(f, "-{inner}"),
            },
            MetricExpr::Literal(v) => write!(f, "{v}"),
            MetricExpr::Vector(v) => write!(f, "vector({v})"),
            MetricExpr::LabelReplace(l) => write!(
                f,
                "label_replace({}, {}, {}, {}, {})",
                l.expr,
                quote(&l.dst),
                quote(&l.replacement),
                quote(&l.src),
                quote(&l.regex)
            ),
        }
    }
}
