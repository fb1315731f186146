//! Evaluation. A [`CompiledQuery`] is a validated query with its regexes
//! compiled once; it evaluates spanset queries one whole trace at a time
//! (TraceQL's unit of evaluation), and feeds a [`MetricsEvaluator`] for
//! metrics queries. It also derives a [`Prefilter`] so storage can skip
//! traces that cannot match without assembling them.

mod metrics;
mod pipeline;
mod prefilter;
mod series;
mod spanset;
mod structural;
mod value;

use std::collections::HashMap;

pub use metrics::{MetricsEvaluator, Series};
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

    pub(crate) fn regexes(&self) -> &Regexes {
        &self.regexes
    }
}

/// Call `f` on every expression node of the query.
fn for_each_expr(q: &Query, f: &mut dyn FnMut(&Expr)) {
    fn expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
        f(e);
        match e {
            Expr::Unary { expr: inner, .. } => expr(inner, f),
            Expr::Binary { lhs, rhs, .. } => {
                expr(lhs, f);
                expr(rhs, f);
            }
            Expr::Agg { arg: Some(a), .. } => expr(a, f),
            _ => {}
        }
    }
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
