//! The metrics part of the tree: a spanset source folded by a function
//! into series, and arithmetic between such queries.

use super::{BinOp, Expr, Literal, SpansetExpr};

/// A metrics expression.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsExpr {
    /// `spansets | fn() by(...)`, with optional filter and second stage.
    Pipeline(Box<MetricsPipeline>),
    /// Arithmetic between two parenthesised metrics queries.
    Binary {
        /// `+ - * / % ^`.
        op: BinOp,
        /// Left operand.
        lhs: Box<MetricsExpr>,
        /// Right operand.
        rhs: Box<MetricsExpr>,
    },
}

/// A single metrics pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsPipeline {
    /// The spans that feed the function.
    pub source: SpansetExpr,
    /// The function.
    pub func: MetricsFunc,
    /// `by(...)` fields, in written order.
    pub by: Vec<Expr>,
    /// A trailing `> 10`: keep points meeting the threshold.
    pub filter: Option<(BinOp, Literal)>,
    /// `| topk(n)` / `| bottomk(n)`.
    pub second: Option<SecondStage>,
}

/// Metrics functions.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsFunc {
    /// `rate()`: matching spans per second.
    Rate,
    /// `count_over_time()`: matching spans per step.
    CountOverTime,
    /// `sum_over_time(f)`
    SumOverTime(Expr),
    /// `min_over_time(f)`
    MinOverTime(Expr),
    /// `max_over_time(f)`
    MaxOverTime(Expr),
    /// `avg_over_time(f)`
    AvgOverTime(Expr),
    /// `quantile_over_time(f, q, ...)`
    QuantileOverTime(Expr, Vec<f64>),
    /// `histogram_over_time(f)`
    HistogramOverTime(Expr),
    /// `compare({selection}, topN[, start, end])`
    Compare {
        /// The selection spanset filter.
        selection: Box<SpansetExpr>,
        /// How many values per attribute.
        top_n: i64,
        /// Optional selection window start (unix ns).
        start: Option<i64>,
        /// Optional selection window end (unix ns).
        end: Option<i64>,
    },
}

impl MetricsFunc {
    /// The function name as written.
    pub fn name(&self) -> &'static str {
        match self {
            MetricsFunc::Rate => "rate",
            MetricsFunc::CountOverTime => "count_over_time",
            MetricsFunc::SumOverTime(_) => "sum_over_time",
            MetricsFunc::MinOverTime(_) => "min_over_time",
            MetricsFunc::MaxOverTime(_) => "max_over_time",
            MetricsFunc::AvgOverTime(_) => "avg_over_time",
            MetricsFunc::QuantileOverTime(..) => "quantile_over_time",
            MetricsFunc::HistogramOverTime(_) => "histogram_over_time",
            MetricsFunc::Compare { .. } => "compare",
        }
    }

    /// The function's field argument, if it has one.
    pub fn field(&self) -> Option<&Expr> {
        match self {
            MetricsFunc::SumOverTime(e)
            | MetricsFunc::MinOverTime(e)
            | MetricsFunc::MaxOverTime(e)
            | MetricsFunc::AvgOverTime(e)
            | MetricsFunc::QuantileOverTime(e, _)
            | MetricsFunc::HistogramOverTime(e) => Some(e),
            _ => None,
        }
    }
}

/// The second metrics stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondStage {
    /// `topk(n)`: the `n` highest series at each step.
    TopK(i64),
    /// `bottomk(n)`: the `n` lowest series at each step.
    BottomK(i64),
}
