//! The checks Tempo applies before running a query: operand types that
//! can never compare (`{ 1 = "foo" }`), operators an enum does not have
//! (`{ status > ok }`), regexes that do not compile, out-of-range function
//! arguments. The parser calls these rules as it builds each node, so the
//! error can point at the operator; [`validate`] runs the same rules over
//! a tree built by hand (without positions).

use std::fmt;

use regex::Regex;

use super::ast::*;

/// The static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    Int,
    Float,
    Duration,
    Bool,
    Nil,
    Status,
    Kind,
    /// Numeric, but which kind depends on the data.
    Number,
    /// An attribute: any type at run time.
    Any,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Duration => "duration",
            Ty::Bool => "boolean",
            Ty::Nil => "nil",
            Ty::Status => "status",
            Ty::Kind => "kind",
            Ty::Number => "number",
            Ty::Any => "attribute",
        })
    }
}

impl Ty {
    fn numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Duration | Ty::Number)
    }

    fn boolish(self) -> bool {
        matches!(self, Ty::Bool | Ty::Any)
    }
}

pub(crate) fn literal_ty(l: &Literal) -> Ty {
    match l {
        Literal::Str(_) => Ty::Str,
        Literal::Int(_) => Ty::Int,
        Literal::Float(_) => Ty::Float,
        Literal::Bool(_) => Ty::Bool,
        Literal::Nil => Ty::Nil,
        Literal::Duration(_) => Ty::Duration,
        Literal::Status(_) => Ty::Status,
        Literal::Kind(_) => Ty::Kind,
    }
}

pub(crate) fn intrinsic_ty(f: IntrinsicField) -> Ty {
    use IntrinsicField as F;
    match f {
        F::Status => Ty::Status,
        F::Kind => Ty::Kind,
        F::Duration | F::TraceDuration | F::EventTimeSinceStart => Ty::Duration,
        F::ChildCount | F::NestedSetLeft | F::NestedSetRight | F::NestedSetParent => Ty::Int,
        F::Name
        | F::StatusMessage
        | F::SpanId
        | F::ParentId
        | F::TraceId
        | F::RootName
        | F::RootService
        | F::EventName
        | F::LinkTraceId
        | F::LinkSpanId
        | F::InstrumentationName
        | F::InstrumentationVersion => Ty::Str,
    }
}

fn compatible(a: Ty, b: Ty) -> bool {
    a == Ty::Any || b == Ty::Any || a == b || (a.numeric() && b.numeric())
}

/// The type of `l op r`, or why it is rejected.
pub(crate) fn check_binary(op: BinOp, l: Ty, r: Ty) -> Result<Ty, String> {
    let sym = op.symbol();
    match op {
        BinOp::And | BinOp::Or => {
            for t in [l, r] {
                if !t.boolish() {
                    return Err(format!("`{sym}` needs boolean operands, found {t}"));
                }
            }
            Ok(Ty::Bool)
        }
        BinOp::Eq | BinOp::Ne => {
            if l == Ty::Nil || r == Ty::Nil || compatible(l, r) {
                Ok(Ty::Bool)
            } else {
                Err(format!("cannot compare {l} with {r}"))
            }
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            for t in [l, r] {
                if matches!(t, Ty::Nil | Ty::Status | Ty::Kind | Ty::Bool) {
                    return Err(format!("`{sym}` is not defined for {t} (use `=` or `!=`)"));
                }
            }
            if compatible(l, r) {
                Ok(Ty::Bool)
            } else {
                Err(format!("cannot compare {l} with {r}"))
            }
        }
        BinOp::Re | BinOp::NotRe => {
            if !matches!(l, Ty::Str | Ty::Any) {
                return Err(format!("`{sym}` needs a string on the left, found {l}"));
            }
            if r != Ty::Str {
                return Err(format!(
                    "`{sym}` needs a string regex on the right, found {r}"
                ));
            }
            Ok(Ty::Bool)
        }
        _ => {
            for t in [l, r] {
                if !(t.numeric() || t == Ty::Any) {
                    return Err(format!("`{sym}` needs numeric operands, found {t}"));
                }
            }
            Ok(match (l, r) {
                (Ty::Any, _) | (_, Ty::Any) | (Ty::Number, _) | (_, Ty::Number) => Ty::Number,
                (Ty::Duration, Ty::Duration) if op == BinOp::Div => Ty::Float,
                (Ty::Duration, _) | (_, Ty::Duration) => Ty::Duration,
                (Ty::Int, Ty::Int) if !matches!(op, BinOp::Div | BinOp::Pow) => Ty::Int,
                _ => Ty::Float,
            })
        }
    }
}

pub(crate) fn check_unary(op: UnaryOp, t: Ty) -> Result<Ty, String> {
    match op {
        UnaryOp::Not if t.boolish() => Ok(Ty::Bool),
        UnaryOp::Not => Err(format!("`!` needs a boolean, found {t}")),
        UnaryOp::Neg if t.numeric() => Ok(t),
        UnaryOp::Neg if t == Ty::Any => Ok(Ty::Number),
        UnaryOp::Neg => Err(format!("`-` needs a number, found {t}")),
    }
}

pub(crate) fn check_condition(t: Ty, what: &str) -> Result<(), String> {
    if t.boolish() {
        Ok(())
    } else {
        Err(format!("{what} must be a boolean expression, found {t}"))
    }
}

pub(crate) fn check_numeric_field(t: Ty, func: &str) -> Result<(), String> {
    if t.numeric() || t == Ty::Any {
        Ok(())
    } else {
        Err(format!("{func}() needs a numeric field, found {t}"))
    }
}

/// Compile `pattern` fully anchored, as Tempo does.
pub(crate) fn anchored_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| format!("invalid regular expression {pattern:?}: {e}"))
}

pub(crate) fn check_quantile(q: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&q) {
        Ok(())
    } else {
        Err(format!("quantile {q} is outside [0, 1]"))
    }
}

pub(crate) fn check_positive(n: i64, what: &str) -> Result<(), String> {
    if n > 0 {
        Ok(())
    } else {
        Err(format!("{what} must be greater than 0, found {n}"))
    }
}

/// `compare()`'s optional selection window, as Tempo accepts it: both
/// bounds or neither (`0, 0` also meaning neither), positive unix
/// nanoseconds, end after start.
pub(crate) fn check_compare_window(start: Option<i64>, end: Option<i64>) -> Result<(), String> {
    match (start, end) {
        (None, None) | (Some(0), Some(0)) => Ok(()),
        (Some(s), Some(e)) if s <= 0 || e <= 0 => {
            Err("compare() start and end must be positive unix nanoseconds".into())
        }
        (Some(s), Some(e)) if e <= s => Err("compare() end must be after its start".into()),
        (Some(_), Some(_)) => Ok(()),
        _ => Err("compare() takes both start and end, or neither".into()),
    }
}

/// Tempo's grammar has no `by()` after `compare()`: its series are
/// already one per attribute value.
pub(crate) const COMPARE_BY: &str = "compare() cannot be combined with by()";

/// Where an expression appears, which decides what it may contain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// A span filter: fields, no aggregates.
    Field,
    /// A pipeline condition outside an aggregate: aggregates and literals.
    Scalar,
}

fn expr_ty(e: &Expr, ctx: Ctx) -> Result<Ty, String> {
    match e {
        Expr::Lit(l) => Ok(literal_ty(l)),
        Expr::Attr(_) | Expr::Intrinsic(_) if ctx == Ctx::Scalar => Err(format!(
            "field {e} must be inside an aggregate such as avg({e})"
        )),
        Expr::Attr(_) => Ok(Ty::Any),
        Expr::Intrinsic(i) => Ok(intrinsic_ty(i.field)),
        Expr::Agg { func, arg } => {
            if ctx == Ctx::Field {
                return Err(format!(
                    "{}() is only allowed in a pipeline stage",
                    func.name()
                ));
            }
            match (func, arg) {
                (AggFunc::Count, None) => Ok(Ty::Int),
                (AggFunc::Count, Some(_)) => Err("count() takes no argument".to_string()),
                (_, None) => Err(format!("{}() needs a field", func.name())),
                (_, Some(a)) => {
                    let t = expr_ty(a, Ctx::Field)?;
                    check_numeric_field(t, func.name())?;
                    Ok(if t == Ty::Any { Ty::Number } else { t })
                }
            }
        }
        Expr::Unary { op, expr } => check_unary(*op, expr_ty(expr, ctx)?),
        Expr::Binary { op, lhs, rhs } => {
            let l = expr_ty(lhs, ctx)?;
            let r = expr_ty(rhs, ctx)?;
            if matches!(op, BinOp::Re | BinOp::NotRe) {
                match &**rhs {
                    Expr::Lit(Literal::Str(p)) => {
                        anchored_regex(p)?;
                    }
                    _ => return Err("a regular expression must be a string literal".to_string()),
                }
            }
            check_binary(*op, l, r)
        }
    }
}

fn filter(cond: &Option<Expr>) -> Result<(), String> {
    match cond {
        Some(e) => check_condition(expr_ty(e, Ctx::Field)?, "a span filter"),
        None => Ok(()),
    }
}

fn spanset(e: &SpansetExpr) -> Result<(), String> {
    match e {
        SpansetExpr::Filter(c) => filter(c),
        SpansetExpr::Binary { lhs, rhs, .. } => {
            spanset(lhs)?;
            spanset(rhs)
        }
        SpansetExpr::Pipeline { source, stages } => {
            spanset(source)?;
            if stages.is_empty() {
                return Err("a pipeline needs at least one stage".to_string());
            }
            for s in stages {
                match s {
                    Stage::Filter(c) => filter(c)?,
                    Stage::Scalar(e) => {
                        check_condition(expr_ty(e, Ctx::Scalar)?, "a pipeline condition")?
                    }
                    Stage::By(fields) => fields_ok(fields, false)?,
                    Stage::Select(fields) => fields_ok(fields, true)?,
                    Stage::Coalesce => {}
                }
            }
            Ok(())
        }
    }
}

fn fields_ok(fields: &[Expr], plain: bool) -> Result<(), String> {
    if fields.is_empty() {
        return Err("expected at least one field".to_string());
    }
    for f in fields {
        if plain && !matches!(f, Expr::Attr(_) | Expr::Intrinsic(_)) {
            return Err(format!(
                "select() takes attributes and intrinsics, found {f}"
            ));
        }
        expr_ty(f, Ctx::Field)?;
    }
    Ok(())
}

fn metrics(m: &MetricsExpr) -> Result<(), String> {
    match m {
        MetricsExpr::Binary { op, lhs, rhs } => {
            if !op.is_arithmetic() {
                return Err(format!("`{}` cannot join metrics queries", op.symbol()));
            }
            metrics(lhs)?;
            metrics(rhs)
        }
        MetricsExpr::Pipeline(p) => {
            spanset(&p.source)?;
            if let Some(f) = p.func.field() {
                check_numeric_field(expr_ty(f, Ctx::Field)?, p.func.name())?;
            }
            match &p.func {
                MetricsFunc::QuantileOverTime(_, qs) => {
                    if qs.is_empty() {
                        return Err("quantile_over_time() needs at least one quantile".into());
                    }
                    qs.iter().try_for_each(|q| check_quantile(*q))?;
                }
                MetricsFunc::Compare {
                    selection,
                    top_n,
                    start,
                    end,
                } => {
                    if !matches!(**selection, SpansetExpr::Filter(_)) {
                        return Err("compare() needs a spanset filter `{...}`".into());
                    }
                    spanset(selection)?;
                    check_positive(*top_n, "compare() topN")?;
                    check_compare_window(*start, *end)?;
                    if !p.by.is_empty() {
                        return Err(COMPARE_BY.into());
                    }
                }
                _ => {}
            }
            for f in &p.by {
                expr_ty(f, Ctx::Field)?;
            }
            if let Some((op, lit)) = &p.filter {
                if !op.is_comparison() || matches!(op, BinOp::Re | BinOp::NotRe) {
                    return Err(format!("`{}` cannot filter a metrics result", op.symbol()));
                }
                if !literal_ty(lit).numeric() {
                    return Err("a metrics filter compares with a number".into());
                }
            }
            match p.second {
                Some(SecondStage::TopK(n)) => check_positive(n, "topk() n"),
                Some(SecondStage::BottomK(n)) => check_positive(n, "bottomk() n"),
                None => Ok(()),
            }
        }
    }
}

/// Check a query the way the parser does, for trees built without the
/// parser. Returns the first problem found.
pub fn validate(q: &Query) -> Result<(), String> {
    match &q.body {
        QueryBody::Spans(s) => spanset(s),
        QueryBody::Metrics(m) => metrics(m),
    }
}
