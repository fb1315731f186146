//! Evaluation. A [`CompiledQuery`] is a validated query with its regexes
//! compiled once; it evaluates spanset queries one whole trace at a time
//! (TraceQL's unit of evaluation), and feeds a [`MetricsEvaluator`] for
//! metrics queries. It also derives a [`Prefilter`] so storage can skip
//! traces that cannot match without assembling them.

mod compare;
mod metrics;
mod pipeline;
mod prefilter;
mod series;
mod spanset;
mod structural;
mod value;

use std::collections::HashMap;

pub use metrics::{Label, LabelFloat, Labels, MAX_CELLS, MetricsEvaluator, Series};
pub use prefilter::{Prefilter, SpanRequirement};

use super::ast::*;
use super::error::ParseError;
use super::model::{Trace, Value};
use super::validate::{anchored_regex, validate};
use spanset::{Regexes, eval_spanset};

/// A validated query, ready to run against many traces.
#[derive(Debug, Clone)]
pub struct CompiledQuery {
    query: Query,
    regexes: Regexes,
}

/// One surviving spanset of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanSet {
    /// The matched spans, ordered by start time (then input order).
    pub spans: Vec<MatchedSpan>,
    /// How many spans matched (`spans.len()`; the HTTP layer truncates
    /// `spans` to `spss` but reports this number).
    pub matched: usize,
    /// Spanset attributes from `by()`, named `by(<field as written>)`,
    /// e.g. `by(resource.service.name)`.
    pub attributes: Vec<(String, Value)>,
}

/// One matched span of a [`SpanSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedSpan {
    /// Index into [`Trace::spans`].
    pub index: usize,
    /// Attributes from `select()`, named as written
    /// (`resource.service.name`, `span.db.system`, `status`, `name`,
    /// `nestedSetParent`); missing values are left out.
    pub attributes: Vec<(String, Value)>,
}

impl CompiledQuery {
    /// Validate `query` (as the parser does) and compile its regexes.
    /// Errors carry position 0, since a tree has no source positions.
    pub fn new(query: Query) -> Result<Self, ParseError> {
        validate(&query).map_err(|m| ParseError::validation("", 0, m))?;
        let mut regexes = HashMap::new();
        let mut err = None;
        for_each_expr(&query, &mut |e| {
            if let Expr::Binary {
                op: BinOp::Re | BinOp::NotRe,
                rhs,
                ..
            } = e
                && let Expr::Lit(Literal::Str(p)) = &**rhs
                && !regexes.contains_key(p)
            {
                match anchored_regex(p) {
                    Ok(r) => {
                        regexes.insert(p.clone(), r);
                    }
                    Err(m) => err = Some(m),
                }
            }
        });
        if let Some(m) = err {
            return Err(ParseError::validation("", 0, m));
        }
        Ok(Self { query, regexes })
    }

    /// The query.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// True for metrics queries (use [`MetricsEvaluator`]).
    pub fn is_metrics(&self) -> bool {
        self.query.is_metrics()
    }

    /// Evaluate a spanset query against one trace: the spansets that
    /// survive the pipeline. Empty means the trace does not match. For
    /// metrics queries this returns nothing; use [`MetricsEvaluator`].
    pub fn eval_trace(&self, trace: &Trace) -> Vec<SpanSet> {
        let QueryBody::Spans(e) = &self.query.body else {
            return Vec::new();
        };
        eval_spanset(e, trace, &self.regexes)
            .into_iter()
            .map(|s| {
                let mut spans: Vec<MatchedSpan> = s
                    .spans
                    .iter()
                    .map(|&index| MatchedSpan {
                        index,
                        attributes: s.span_attrs.get(&index).cloned().unwrap_or_default(),
                    })
                    .collect();
                spans.sort_by_key(|m| {
                    (
                        trace.spans().get(m.index).map_or(0, |sp| sp.start_ns),
                        m.index,
                    )
                });
                SpanSet {
                    matched: spans.len(),
                    spans,
                    attributes: s.attrs,
                }
            })
            .collect()
    }

    /// Conditions storage may use to skip traces; see [`Prefilter`].
    pub fn prefilter(&self) -> Prefilter {
        prefilter::derive(&self.query)
    }

    /// True when whether a span matches depends on that span alone: every
    /// spanset is one plain filter (no spanset operators, pipeline stages
    /// or `compare()`) that reads neither the parent, the trace, nor the
    /// span's place in the tree. Storage may then evaluate any subset of a
    /// trace's spans (say, those a column filter kept) and get, for those
    /// spans, the answer the whole trace would give.
    pub fn span_local(&self) -> bool {
        // `select()` only attaches fields to spans already matched.
        fn plain(s: &SpansetExpr) -> bool {
            match s {
                SpansetExpr::Filter(_) => true,
                SpansetExpr::Pipeline { source, stages } => {
                    matches!(**source, SpansetExpr::Filter(_))
                        && stages.iter().all(|st| matches!(st, Stage::Select(_)))
                }
                SpansetExpr::Binary { .. } => false,
            }
        }
        fn metrics(m: &MetricsExpr) -> bool {
            match m {
                MetricsExpr::Binary { lhs, rhs, .. } => metrics(lhs) && metrics(rhs),
                MetricsExpr::Pipeline(p) => {
                    plain(&p.source) && !matches!(p.func, MetricsFunc::Compare { .. })
                }
            }
        }
        let shape = match &self.query.body {
            QueryBody::Spans(s) => plain(s),
            QueryBody::Metrics(m) => metrics(m),
        };
        let mut local = shape;
        // `nestedSetParent` compared with a literal up to 0 only asks
        // whether the span has a parent, which a partial trace can answer
        // (see [`Trace::mark_partial`]); any other use needs the tree.
        let (mut parent_reads, mut root_checks) = (0, 0);
        for_each_expr(&self.query, &mut |e| match e {
            Expr::Attr(a) if a.parent => local = false,
            Expr::Agg { .. } => local = false,
            Expr::Binary { op, lhs, rhs } if is_root_check(*op, lhs, rhs) => root_checks += 1,
            Expr::Intrinsic(i) => {
                use IntrinsicField as F;
                match i.field {
                    F::NestedSetParent => parent_reads += 1,
                    F::ChildCount
                    | F::NestedSetLeft
                    | F::NestedSetRight
                    | F::TraceDuration
                    | F::RootName
                    | F::RootService => local = false,
                    _ => {}
                }
            }
            _ => {}
        });
        local && parent_reads == root_checks
    }

    /// The attributes and intrinsics the query's filters read, with their
    /// values on span `idx` of `trace`: what Tempo shows next to each
    /// matched span, so a search for `{ status = error }` lists the status.
    /// Attributes are named by key (no scope); the span name and duration
    /// are left out, as every result span carries them anyway.
    pub fn filter_fields(&self, trace: &Trace, idx: usize) -> Vec<(String, Value)> {
        let mut leaves: Vec<Expr> = Vec::new();
        for_each_filter_leaf(&self.query, &mut |e| {
            if !leaves.contains(e) {
                leaves.push(e.clone());
            }
        });
        let mut out: Vec<(String, Value)> = Vec::new();
        for leaf in leaves {
            let name = match &leaf {
                Expr::Attr(a) if !a.parent => a.name.clone(),
                Expr::Intrinsic(i) => {
                    if matches!(i.field, IntrinsicField::Name | IntrinsicField::Duration) {
                        continue;
                    }
                    match INTRINSICS.iter().find(|(f, _, _)| *f == i.field) {
                        Some((_, Some(bare), _)) => (*bare).to_string(),
                        Some((_, None, scoped)) => (*scoped).to_string(),
                        None => continue,
                    }
                }
                _ => continue,
            };
            let value = spanset::eval_field(&leaf, trace, idx, &self.regexes);
            if value != Value::Nil && !out.iter().any(|(n, _)| *n == name) {
                out.push((name, value));
            }
        }
        out
    }

    pub(crate) fn regexes(&self) -> &Regexes {
        &self.regexes
    }
}

/// True for `nestedSetParent <op> n` (either way round) with a literal
/// `n <= 0`: a test of whether the span has a parent.
fn is_root_check(op: BinOp, lhs: &Expr, rhs: &Expr) -> bool {
    fn parent(e: &Expr) -> bool {
        matches!(
            e,
            Expr::Intrinsic(Intrinsic {
                field: IntrinsicField::NestedSetParent,
                ..
            })
        )
    }
    fn at_most_zero(e: &Expr) -> bool {
        match e {
            Expr::Lit(Literal::Int(n)) => *n <= 0,
            Expr::Unary {
                op: UnaryOp::Neg,
                expr,
            } => matches!(**expr, Expr::Lit(Literal::Int(n)) if n >= 0),
            _ => false,
        }
    }
    let comparison = matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    );
    comparison && ((parent(lhs) && at_most_zero(rhs)) || (parent(rhs) && at_most_zero(lhs)))
}

/// Call `f` on every attribute and intrinsic read by a `{ ... }` filter.
fn for_each_filter_leaf(q: &Query, f: &mut dyn FnMut(&Expr)) {
    fn spans(s: &SpansetExpr, f: &mut dyn FnMut(&Expr)) {
        match s {
            SpansetExpr::Filter(c) => c.iter().for_each(|e| walk_expr(e, f)),
            SpansetExpr::Binary { lhs, rhs, .. } => {
                spans(lhs, f);
                spans(rhs, f);
            }
            SpansetExpr::Pipeline { source, .. } => spans(source, f),
        }
    }
    if let QueryBody::Spans(s) = &q.body {
        spans(s, &mut |e| {
            if matches!(e, Expr::Attr(_) | Expr::Intrinsic(_)) {
                f(e);
            }
        });
    }
}

/// Call `f` on `e` and every expression below it.
fn walk_expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Unary { expr: inner, .. } => walk_expr(inner, f),
        Expr::Binary { lhs, rhs, .. } => {
            walk_expr(lhs, f);
            walk_expr(rhs, f);
        }
        Expr::Agg { arg: Some(a), .. } => walk_expr(a, f),
        _ => {}
    }
}

/// Call `f` on every expression node of the query.
fn for_each_expr(q: &Query, f: &mut dyn FnMut(&Expr)) {
    use walk_expr as expr;
    fn spans(s: &SpansetExpr, f: &mut dyn FnMut(&Expr)) {
        match s {
            SpansetExpr::Filter(c) => c.iter().for_each(|e| expr(e, f)),
            SpansetExpr::Binary { lhs, rhs, .. } => {
                spans(lhs, f);
                spans(rhs, f);
            }
            SpansetExpr::Pipeline { source, stages } => {
                spans(source, f);
                for st in stages {
                    match st {
                        Stage::Filter(c) => c.iter().for_each(|e| expr(e, f)),
                        Stage::Scalar(e) => expr(e, f),
                        Stage::By(v) | Stage::Select(v) => v.iter().for_each(|e| expr(e, f)),
                        Stage::Coalesce => {}
                    }
                }
            }
        }
    }
    fn metrics(m: &MetricsExpr, f: &mut dyn FnMut(&Expr)) {
        match m {
            MetricsExpr::Binary { lhs, rhs, .. } => {
                metrics(lhs, f);
                metrics(rhs, f);
            }
            MetricsExpr::Pipeline(p) => {
                spans(&p.source, f);
                if let Some(e) = p.func.field() {
                    expr(e, f);
                }
                if let MetricsFunc::Compare { selection, .. } = &p.func {
                    spans(selection, f);
                }
                p.by.iter().for_each(|e| expr(e, f));
            }
        }
    }
    match &q.body {
        QueryBody::Spans(s) => spans(s, f),
        QueryBody::Metrics(m) => metrics(m, f),
    }
}
