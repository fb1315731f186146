//! Printing the tree back as TraceQL. The output re-parses to the same
//! tree (the property tests check this), which is what lets the HTTP layer
//! echo a canonical query and lets labels such as `by(resource.x)` be
//! derived from the tree instead of from the user's spacing.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::*;
use super::lex::ends_attribute_name;

/// Write `s` as a double-quoted TraceQL string.
pub(crate) fn write_quoted(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// A duration in nanoseconds in the largest unit that divides it.
pub fn format_duration(ns: i64) -> String {
    const UNITS: &[(u64, &str)] = &[
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    if abs == 0 {
        return "0s".to_string();
    }
    for (unit, name) in UNITS {
        if abs.is_multiple_of(*unit) {
            return format!("{sign}{}{name}", abs / unit);
        }
    }
    format!("{sign}{abs}ns")
}

/// A float that re-lexes as a float (never as an integer).
pub(crate) fn format_float(v: f64) -> String {
    let s = format!("{v}");
    if s.contains(['.', 'e', 'E', 'i', 'N']) {
        s
    } else {
        format!("{s}.0")
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_quoted(f, s),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(v) => f.write_str(&format_float(*v)),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Nil => f.write_str("nil"),
            Literal::Duration(ns) => f.write_str(&format_duration(*ns)),
            Literal::Status(s) => f.write_str(s.keyword()),
            Literal::Kind(k) => f.write_str(k.keyword()),
        }
    }
}

fn needs_quotes(name: &str, parent_unscoped: bool) -> bool {
    if name.is_empty() || name.chars().any(ends_attribute_name) {
        return true;
    }
    // `parent.span.x` would re-read as a scoped attribute.
    parent_unscoped
        && ["span.", "resource.", "event.", "link.", "instrumentation."]
            .iter()
            .any(|p| name.starts_with(p))
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.parent {
            f.write_str("parent.")?;
        }
        if self.scope != AttributeScope::Unscoped {
            f.write_str(self.scope.prefix())?;
            f.write_char('.')?;
        } else if !self.parent {
            f.write_char('.')?;
        }
        if needs_quotes(
            &self.name,
            self.parent && self.scope == AttributeScope::Unscoped,
        ) {
            write_quoted(f, &self.name)
        } else {
            f.write_str(&self.name)
        }
    }
}

impl Display for Intrinsic {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.spelling())
    }
}

impl Expr {
    fn precedence(&self) -> u8 {
        match self {
            Expr::Binary { op, .. } => op.precedence(),
            _ => 7,
        }
    }
}

fn write_operand(f: &mut Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Lit(l) => write!(f, "{l}"),
            Expr::Attr(a) => write!(f, "{a}"),
            Expr::Intrinsic(i) => write!(f, "{i}"),
            Expr::Agg { func, arg } => match arg {
                Some(a) => write!(f, "{}({a})", func.name()),
                None => write!(f, "{}()", func.name()),
            },
            Expr::Unary { op, expr } => {
                let numeric_lit = matches!(
                    **expr,
                    Expr::Lit(Literal::Int(_) | Literal::Float(_) | Literal::Duration(_))
                );
                f.write_str(match op {
                    UnaryOp::Not => "!",
                    UnaryOp::Neg => "-",
                })?;
                let parens =
                    matches!(**expr, Expr::Binary { .. }) || (*op == UnaryOp::Neg && numeric_lit);
                write_operand(f, expr, parens)
            }
            Expr::Binary { op, lhs, rhs } => {
                let p = op.precedence();
                let lp = lhs.precedence() < p || (lhs.precedence() == p && op.right_assoc());
                let rp = rhs.precedence() < p || (rhs.precedence() == p && !op.right_assoc());
                write_operand(f, lhs, lp)?;
                write!(f, " {} ", op.symbol())?;
                write_operand(f, rhs, rp)
            }
        }
    }
}

impl Display for SpansetOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SpansetOp::And => f.write_str("&&"),
            SpansetOp::Or => f.write_str("||"),
            SpansetOp::Structural {
                rel,
                negated,
                union,
            } => {
                if *negated {
                    f.write_char('!')?;
                }
                if *union {
                    f.write_char('&')?;
                }
                f.write_str(match rel {
                    Relation::Child => ">",
                    Relation::Parent => "<",
                    Relation::Descendant => ">>",
                    Relation::Ancestor => "<<",
                    Relation::Sibling => "~",
                })
            }
        }
    }
}

impl SpansetOp {
    /// Binding strength between spansets; higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            SpansetOp::Or => 1,
            SpansetOp::And => 2,
            SpansetOp::Structural { .. } => 3,
        }
    }
}

impl SpansetExpr {
    fn precedence(&self) -> u8 {
        match self {
            SpansetExpr::Filter(_) => 9,
            SpansetExpr::Binary { op, .. } => op.precedence(),
            SpansetExpr::Pipeline { .. } => 0,
        }
    }
}

fn write_filter(f: &mut Formatter<'_>, cond: &Option<Expr>) -> fmt::Result {
    match cond {
        None => f.write_str("{}"),
        Some(e) => write!(f, "{{ {e} }}"),
    }
}

fn write_list(f: &mut Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

fn write_spanset_operand(f: &mut Formatter<'_>, e: &SpansetExpr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl Display for SpansetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SpansetExpr::Filter(cond) => write_filter(f, cond),
            SpansetExpr::Binary { op, lhs, rhs } => {
                let p = op.precedence();
                write_spanset_operand(f, lhs, lhs.precedence() < p)?;
                write!(f, " {op} ")?;
                write_spanset_operand(f, rhs, rhs.precedence() <= p)
            }
            SpansetExpr::Pipeline { source, stages } => {
                let nested = matches!(**source, SpansetExpr::Pipeline { .. });
                write_spanset_operand(f, source, nested)?;
                for s in stages {
                    write!(f, " | {s}")?;
                }
                Ok(())
            }
        }
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Filter(cond) => write_filter(f, cond),
            Stage::Scalar(e) => write!(f, "{e}"),
            Stage::By(fields) => {
                f.write_str("by(")?;
                write_list(f, fields)?;
                f.write_char(')')
            }
            Stage::Coalesce => f.write_str("coalesce()"),
            Stage::Select(fields) => {
                f.write_str("select(")?;
                write_list(f, fields)?;
                f.write_char(')')
            }
        }
    }
}

impl Display for MetricsFunc {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            MetricsFunc::Rate | MetricsFunc::CountOverTime => f.write_str("()"),
            MetricsFunc::QuantileOverTime(e, qs) => {
                write!(f, "({e}")?;
                for q in qs {
                    write!(f, ", {}", format_float(*q))?;
                }
                f.write_char(')')
            }
            MetricsFunc::Compare {
                selection,
                top_n,
                start,
                end,
            } => {
                write!(f, "({selection}, {top_n}")?;
                if let (Some(s), Some(e)) = (start, end) {
                    write!(f, ", {s}, {e}")?;
                }
                f.write_char(')')
            }
            other => match other.field() {
                Some(e) => write!(f, "({e})"),
                None => f.write_str("()"),
            },
        }
    }
}

impl Display for MetricsPipeline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} | {}", self.source, self.func)?;
        if !self.by.is_empty() {
            f.write_str(" by(")?;
            write_list(f, &self.by)?;
            f.write_char(')')?;
        }
        if let Some((op, lit)) = &self.filter {
            write!(f, " {} {lit}", op.symbol())?;
        }
        match self.second {
            Some(SecondStage::TopK(n)) => write!(f, " | topk({n})"),
            Some(SecondStage::BottomK(n)) => write!(f, " | bottomk({n})"),
            None => Ok(()),
        }
    }
}

impl Display for MetricsExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricsExpr::Pipeline(p) => write!(f, "{p}"),
            MetricsExpr::Binary { op, lhs, rhs } => {
                write!(f, "({lhs}) {} ({rhs})", op.symbol())
            }
        }
    }
}

impl Display for QueryBody {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            QueryBody::Spans(s) => write!(f, "{s}"),
            QueryBody::Metrics(m) => write!(f, "{m}"),
        }
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.body)?;
        if !self.hints.is_empty() {
            f.write_str(" with(")?;
            for (i, h) in self.hints.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}={}", h.key, h.value)?;
            }
            f.write_char(')')?;
        }
        Ok(())
    }
}
