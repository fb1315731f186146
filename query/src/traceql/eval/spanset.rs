//! Field expressions on one span, and the spanset algebra (`{}` filters,
//! `&&`, `||`, structural operators) on one trace. A spanset expression
//! evaluates to a list of [`Set`]s because `by()` can split a trace's
//! matches into several groups; binary operators combine every left set
//! with every right set, which for the usual one-set case is just "the
//! trace's left matches with its right matches".

use std::collections::{BTreeMap, HashMap};

use regex::Regex;

use super::super::ast::*;
use super::super::model::{Trace, Value, find_attr, hex};
use super::structural;
use super::value::{arith, compare, truthy};

/// Regexes of a query, compiled once, keyed by their pattern text.
pub(crate) type Regexes = HashMap<String, Regex>;

/// Extra `(name, value)` pairs attached to results.
pub(crate) type Pairs = Vec<(String, Value)>;

/// A spanset during evaluation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Set {
    /// Span indices, ascending, no duplicates.
    pub spans: Vec<usize>,
    /// Spanset attributes (from `by()`).
    pub attrs: Pairs,
    /// Per-span attributes (from `select()`).
    pub span_attrs: BTreeMap<usize, Pairs>,
}

impl Set {
    pub fn of(spans: Vec<usize>) -> Self {
        Self {
            spans,
            ..Self::default()
        }
    }

    /// The union of two sets, attributes of `self` winning on conflicts.
    pub fn union(&self, other: &Set) -> Set {
        let mut spans = Vec::with_capacity(self.spans.len() + other.spans.len());
        let (mut i, mut j) = (0, 0);
        while i < self.spans.len() || j < other.spans.len() {
            let a = self.spans.get(i).copied().unwrap_or(usize::MAX);
            let b = other.spans.get(j).copied().unwrap_or(usize::MAX);
            if a <= b {
                spans.push(a);
                i += 1;
                if a == b {
                    j += 1;
                }
            } else {
                spans.push(b);
                j += 1;
            }
        }
        let mut out = self.with_spans(spans);
        merge_pairs(&mut out.attrs, &other.attrs);
        for (k, v) in &other.span_attrs {
            if out.spans.binary_search(k).is_ok() {
                merge_pairs(out.span_attrs.entry(*k).or_default(), v);
            }
        }
        out
    }

    /// A copy restricted to `spans` (a subset, ascending).
    pub fn with_spans(&self, spans: Vec<usize>) -> Set {
        let span_attrs = self
            .span_attrs
            .iter()
            .filter(|(k, _)| spans.binary_search(k).is_ok())
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        Set {
            spans,
            attrs: self.attrs.clone(),
            span_attrs,
        }
    }
}

fn merge_pairs(into: &mut Pairs, from: &Pairs) {
    for (k, v) in from {
        if !into.iter().any(|(key, _)| key == k) {
            into.push((k.clone(), v.clone()));
        }
    }
}

pub(crate) fn literal_value(l: &Literal) -> Value {
    match l {
        Literal::Str(s) => Value::Str(s.clone()),
        Literal::Int(i) => Value::Int(*i),
        Literal::Float(f) => Value::Float(*f),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Nil => Value::Nil,
        Literal::Duration(d) => Value::Duration(*d),
        Literal::Status(s) => Value::Status(*s),
        Literal::Kind(k) => Value::Kind(*k),
    }
}

/// Nil for none, the value for one, an array for several.
fn multi(mut values: Vec<Value>) -> Value {
    match values.len() {
        0 => Value::Nil,
        1 => values.pop().unwrap_or(Value::Nil),
        _ => Value::Array(values),
    }
}

fn non_empty(s: &str) -> Value {
    if s.is_empty() {
        Value::Nil
    } else {
        Value::Str(s.to_string())
    }
}

fn dur(ns: u64) -> Value {
    Value::Duration(i64::try_from(ns).unwrap_or(i64::MAX))
}

fn attribute(trace: &Trace, idx: usize, a: &Attribute) -> Value {
    let idx = if a.parent {
        match trace.parent(idx) {
            Some(p) => p,
            None => return Value::Nil,
        }
    } else {
        idx
    };
    let Some(span) = trace.spans().get(idx) else {
        return Value::Nil;
    };
    let key = a.name.as_str();
    let found = match a.scope {
        AttributeScope::Span => find_attr(&span.attributes, key),
        AttributeScope::Resource => find_attr(&span.resource.attributes, key),
        AttributeScope::Instrumentation => find_attr(&span.scope.attributes, key),
        AttributeScope::Unscoped => {
            find_attr(&span.attributes, key).or_else(|| find_attr(&span.resource.attributes, key))
        }
        AttributeScope::Event => {
            return multi(
                span.events
                    .iter()
                    .filter_map(|e| find_attr(&e.attributes, key).map(|v| v.to_value()))
                    .collect(),
            );
        }
        AttributeScope::Link => {
            return multi(
                span.links
                    .iter()
                    .filter_map(|l| find_attr(&l.attributes, key).map(|v| v.to_value()))
                    .collect(),
            );
        }
    };
    found.map_or(Value::Nil, |v| v.to_value())
}

pub(crate) fn intrinsic(trace: &Trace, idx: usize, f: IntrinsicField) -> Value {
    use IntrinsicField as F;
    let Some(span) = trace.spans().get(idx) else {
        return Value::Nil;
    };
    let ns = trace.nested_set(idx);
    match f {
        F::Name => Value::Str(span.name.clone()),
        F::Status => Value::Status(span.status),
        F::StatusMessage => Value::Str(span.status_message.clone()),
        F::Kind => Value::Kind(span.kind),
        F::Duration => dur(span.duration_ns),
        F::SpanId => Value::Str(hex(&span.span_id)),
        F::ParentId => span
            .parent_span_id
            .filter(|p| *p != [0; 8])
            .map_or(Value::Nil, |p| Value::Str(hex(&p))),
        F::ChildCount => Value::Int(i64::from(trace.child_count(idx))),
        F::NestedSetLeft => Value::Int(ns.left),
        F::NestedSetRight => Value::Int(ns.right),
        F::NestedSetParent => Value::Int(ns.parent),
        F::TraceId => Value::Str(hex(&trace.trace_id())),
        F::TraceDuration => dur(trace.duration_ns()),
        F::RootName => trace.root_name().map_or(Value::Nil, non_empty),
        F::RootService => trace.root_service().map_or(Value::Nil, non_empty),
        F::EventName => multi(
            span.events
                .iter()
                .map(|e| Value::Str(e.name.clone()))
                .collect(),
        ),
        F::EventTimeSinceStart => multi(
            span.events
                .iter()
                .map(|e| dur(e.time_since_start_ns))
                .collect(),
        ),
        F::LinkTraceId => multi(
            span.links
                .iter()
                .map(|l| Value::Str(hex(&l.trace_id)))
                .collect(),
        ),
        F::LinkSpanId => multi(
            span.links
                .iter()
                .map(|l| Value::Str(hex(&l.span_id)))
                .collect(),
        ),
        F::InstrumentationName => non_empty(&span.scope.name),
        F::InstrumentationVersion => non_empty(&span.scope.version),
    }
}

/// Evaluate `e`, with `leaf` supplying attributes, intrinsics and aggregates.
pub(crate) fn eval_expr(e: &Expr, rx: &Regexes, leaf: &dyn Fn(&Expr) -> Value) -> Value {
    match e {
        Expr::Lit(l) => literal_value(l),
        Expr::Attr(_) | Expr::Intrinsic(_) | Expr::Agg { .. } => leaf(e),
        Expr::Unary { op, expr } => {
            let v = eval_expr(expr, rx, leaf);
            match (op, v) {
                (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                (UnaryOp::Neg, Value::Int(i)) => i.checked_neg().map_or(Value::Nil, Value::Int),
                (UnaryOp::Neg, Value::Duration(i)) => {
                    i.checked_neg().map_or(Value::Nil, Value::Duration)
                }
                (UnaryOp::Neg, Value::Float(f)) => Value::Float(-f),
                _ => Value::Nil,
            }
        }
        Expr::Binary { op, lhs, rhs } => match op {
            BinOp::And => {
                Value::Bool(truthy(&eval_expr(lhs, rx, leaf)) && truthy(&eval_expr(rhs, rx, leaf)))
            }
            BinOp::Or => {
                Value::Bool(truthy(&eval_expr(lhs, rx, leaf)) || truthy(&eval_expr(rhs, rx, leaf)))
            }
            op if op.is_comparison() => {
                // `x = nil` / `x != nil` test presence.
                let nil_side = match (&**lhs, &**rhs) {
                    (other, Expr::Lit(Literal::Nil)) | (Expr::Lit(Literal::Nil), other) => {
                        Some(other)
                    }
                    _ => None,
                };
                if let Some(other) = nil_side {
                    let missing = matches!(eval_expr(other, rx, leaf), Value::Nil);
                    return match op {
                        BinOp::Eq => Value::Bool(missing),
                        BinOp::Ne => Value::Bool(!missing),
                        _ => Value::Bool(false),
                    };
                }
                let l = eval_expr(lhs, rx, leaf);
                let r = eval_expr(rhs, rx, leaf);
                let re = match &**rhs {
                    Expr::Lit(Literal::Str(p)) => rx.get(p),
                    _ => None,
                };
                Value::Bool(compare(*op, &l, &r, re))
            }
            op => arith(*op, &eval_expr(lhs, rx, leaf), &eval_expr(rhs, rx, leaf)),
        },
    }
}

/// Evaluate a field expression on span `idx`.
pub(crate) fn eval_field(e: &Expr, trace: &Trace, idx: usize, rx: &Regexes) -> Value {
    eval_expr(e, rx, &|leaf| match leaf {
        Expr::Attr(a) => attribute(trace, idx, a),
        Expr::Intrinsic(i) => intrinsic(trace, idx, i.field),
        _ => Value::Nil,
    })
}

/// Whether span `idx` passes the filter condition.
pub(crate) fn matches(cond: &Option<Expr>, trace: &Trace, idx: usize, rx: &Regexes) -> bool {
    match cond {
        None => true,
        Some(e) => truthy(&eval_field(e, trace, idx, rx)),
    }
}

/// Evaluate a spanset expression over one trace.
pub(crate) fn eval_spanset(e: &SpansetExpr, trace: &Trace, rx: &Regexes) -> Vec<Set> {
    match e {
        SpansetExpr::Filter(cond) => {
            let spans: Vec<usize> = (0..trace.spans().len())
                .filter(|&i| matches(cond, trace, i, rx))
                .collect();
            if spans.is_empty() {
                Vec::new()
            } else {
                vec![Set::of(spans)]
            }
        }
        SpansetExpr::Pipeline { source, stages } => {
            super::pipeline::run(eval_spanset(source, trace, rx), stages, trace, rx)
        }
        SpansetExpr::Binary { op, lhs, rhs } => {
            let mut ls = eval_spanset(lhs, trace, rx);
            let rs = eval_spanset(rhs, trace, rx);
            match op {
                SpansetOp::And => cross(&ls, &rs, |l, r| Some(l.union(r))),
                SpansetOp::Or => match (ls.is_empty(), rs.is_empty()) {
                    (true, _) => rs,
                    (_, true) => ls,
                    _ => cross(&ls, &rs, |l, r| Some(l.union(r))),
                },
                SpansetOp::Structural {
                    rel,
                    negated,
                    union,
                } => {
                    // "right spans with no such left span" holds for every
                    // right span when nothing matched on the left.
                    if *negated && ls.is_empty() {
                        ls.push(Set::default());
                    }
                    cross(&ls, &rs, |l, r| {
                        let spans =
                            structural::relate(trace, *rel, *negated, *union, &l.spans, &r.spans);
                        if spans.is_empty() {
                            return None;
                        }
                        let mut out = r.union(l).with_spans(spans);
                        merge_pairs(&mut out.attrs, &l.attrs);
                        Some(out)
                    })
                }
            }
        }
    }
}

fn cross(ls: &[Set], rs: &[Set], f: impl Fn(&Set, &Set) -> Option<Set>) -> Vec<Set> {
    let mut out = Vec::new();
    for l in ls {
        for r in rs {
            if let Some(s) = f(l, r) {
                out.push(s);
            }
        }
    }
    out
}
