//! Metric query evaluation: range aggregations over extracted samples,
//! vector aggregations, binary operators and the PromQL-style functions
//! LogQL borrows (`vector`, `label_replace`, `sort`).
//!
//! Every node is evaluated for all steps at once: a range aggregation asks
//! its [`SampleSource`] once for the whole span and slides its windows in
//! memory, and the nodes above it work on one vector per step. Semantics
//! follow Loki 3's documentation; the few deliberate differences are noted
//! where they are made (`rate_counter`, `approx_topk`).

mod aggregate;
mod binary;
mod label_ops;
mod range;
mod window;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use super::labels::LabelPairs;
use crate::logql::ast::{LogRange, MetricExpr, RangeOp, VectorOp};

/// Loki refuses range queries with more points per series than this; the
/// same bound keeps a tiny step from allocating one vector per nanosecond.
pub const MAX_STEPS: usize = 11_000;

/// One series of extracted samples: the series labels (sorted; already
/// without the unwrapped label) and its samples sorted by time (ns). The
/// same label set appears at most once.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedSeries {
    /// Series labels, sorted by name.
    pub labels: LabelPairs,
    /// `(timestamp ns, value)`, ascending by time.
    pub samples: Vec<(i64, f64)>,
}

/// Where range aggregations get their samples; storage implements it.
pub trait SampleSource {
    /// Samples of `range.query` (selector + pipeline + unwrap) with
    /// timestamps in `(start_ns, end_ns]`. `op` tells the source how to turn
    /// a line into a number (1 per line, bytes, unwrapped value).
    fn samples(
        &self,
        range: &LogRange,
        op: RangeOp,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<ExtractedSeries>, MetricError>;
}

/// The time frame a metric query is evaluated over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricQuery {
    /// First evaluation time (ns).
    pub start_ns: i64,
    /// Last evaluation time (ns); equal to `start_ns` for an instant query.
    pub end_ns: i64,
    /// Distance between evaluation times (ns); ignored by instant queries.
    pub step_ns: i64,
}

/// Limits a metric query must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricLimits {
    /// Most series one step's result (and a range query's whole result)
    /// may hold.
    pub max_series: usize,
}

impl Default for MetricLimits {
    /// Loki's default `max_query_series`.
    fn default() -> Self {
        MetricLimits { max_series: 500 }
    }
}

/// A metric query's result.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricResult {
    /// Instant query: one sample per series.
    Vector(Vec<SeriesPoint>),
    /// Range query: the points of each series, series sorted by labels.
    Matrix(Vec<SeriesPoints>),
    /// Instant query of a number-only expression: `(ts ns, value)`.
    Scalar(i64, f64),
}

/// One sample of an instant result.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    /// Series labels.
    pub labels: LabelPairs,
    /// Evaluation time (ns).
    pub ts_ns: i64,
    /// Value.
    pub value: f64,
}

/// One series of a range result.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoints {
    /// Series labels.
    pub labels: LabelPairs,
    /// `(evaluation time ns, value)`, ascending; steps without a value are
    /// absent.
    pub points: Vec<(i64, f64)>,
}

/// Why a metric query failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    /// The sample source failed.
    #[error("{0}")]
    Source(String),
    /// A series still carried `__error__` when it was aggregated.
    #[error(
        "pipeline error: '{error}' for series: '{series}'. Use a label filter to intentionally skip this error. (e.g | __error__!=\"{error}\"). To skip all potential errors you can match empty errors.(e.g __error__=\"\") The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )"
    )]
    Pipeline {
        /// The `__error__` value.
        error: String,
        /// The series labels, printed as `{a="b", c="d"}`.
        series: String,
    },
    /// A step's result (or a range query's result) holds too many series.
    #[error("maximum of series ({0}) reached for a single query")]
    TooManySeries(usize),
    /// The expression cannot be evaluated (e.g. a missing parameter).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The query or its data is invalid: a bad time frame, ambiguous vector
    /// matching, duplicate label sets.
    #[error("{0}")]
    Invalid(String),
}

/// One sample of a step's vector. Labels are shared so that a series
/// costs one allocation for the whole query, not one per step.
#[derive(Debug, Clone)]
struct Sample {
    labels: Arc<LabelPairs>,
    value: f64,
}

/// One vector per evaluation step.
type Steps = Vec<Vec<Sample>>;

/// An evaluated node. LogQL numbers are constants (there is no `scalar()`),
/// so a scalar needs one value, not one per step.
enum Value {
    Scalar(f64),
    Vector(Steps),
}

/// What every node needs to know about the query.
struct Ctx<'a> {
    /// Evaluation times (ns), ascending.
    steps: Vec<i64>,
    source: &'a dyn SampleSource,
}

/// Evaluates `expr` at `q`'s evaluation times.
///
/// An instant query (`start == end`) gives a [`MetricResult::Vector`]
/// sorted by labels (by value under a top-level `sort`/`sort_desc`), or a
/// [`MetricResult::Scalar`] for a number-only expression. A range query
/// gives a [`MetricResult::Matrix`] with series sorted by labels.
pub fn evaluate(
    expr: &MetricExpr,
    q: &MetricQuery,
    source: &dyn SampleSource,
    limits: &MetricLimits,
) -> Result<MetricResult, MetricError> {
    let ctx = Ctx {
        steps: step_times(q)?,
        source,
    };
    let value = eval(expr, &ctx)?;
    if q.start_ns == q.end_ns {
        instant_result(expr, value, q.start_ns, limits)
    } else {
        range_result(value, &ctx.steps, limits)
    }
}

fn step_times(q: &MetricQuery) -> Result<Vec<i64>, MetricError> {
    if q.start_ns == q.end_ns {
        return Ok(vec![q.start_ns]);
    }
    if q.end_ns < q.start_ns {
        return Err(MetricError::Invalid(
            "end timestamp must not be before start time".into(),
        ));
    }
    if q.step_ns <= 0 {
        return Err(MetricError::Invalid(
            "zero or negative query resolution step widths are not accepted".into(),
        ));
    }
    // i128 so that a span near i64's limits cannot overflow.
    let count = (i128::from(q.end_ns) - i128::from(q.start_ns)) / i128::from(q.step_ns) + 1;
    if count > MAX_STEPS as i128 {
        return Err(MetricError::Invalid(format!(
            "exceeded maximum resolution of {MAX_STEPS} points per timeseries. Try decreasing the query resolution (?step=XX)"
        )));
    }
    let mut steps = Vec::with_capacity(count as usize);
    let mut t = q.start_ns;
    while t <= q.end_ns {
        steps.push(t);
        match t.checked_add(q.step_ns) {
            Some(next) => t = next,
            None => break,
        }
    }
    Ok(steps)
}

fn eval(expr: &MetricExpr, ctx: &Ctx<'_>) -> Result<Value, MetricError> {
    match expr {
        MetricExpr::Literal(v) => Ok(Value::Scalar(*v)),
        MetricExpr::Vector(v) => {
            let labels = Arc::new(LabelPairs::new());
            Ok(Value::Vector(
                ctx.steps
                    .iter()
                    .map(|_| {
                        vec![Sample {
                            labels: Arc::clone(&labels),
                            value: *v,
                        }]
                    })
                    .collect(),
            ))
        }
        MetricExpr::RangeAggregation(agg) => range::evaluate(agg, ctx).map(Value::Vector),
        MetricExpr::VectorAggregation(agg) => match eval(&agg.expr, ctx)? {
            Value::Vector(input) => aggregate::evaluate(agg, input).map(Value::Vector),
            Value::Scalar(_) => Err(MetricError::Unsupported(format!(
                "{} needs a vector, found a number",
                agg.op.name()
            ))),
        },
        MetricExpr::Binary(b) => {
            let lhs = eval(&b.lhs, ctx)?;
            let rhs = eval(&b.rhs, ctx)?;
            binary::evaluate(b, lhs, rhs)
        }
        MetricExpr::Negate(inner) => Ok(match eval(inner, ctx)? {
            Value::Scalar(v) => Value::Scalar(-v),
            Value::Vector(mut steps) => {
                for s in steps.iter_mut().flatten() {
                    s.value = -s.value;
                }
                Value::Vector(steps)
            }
        }),
        MetricExpr::LabelReplace(lr) => match eval(&lr.expr, ctx)? {
            Value::Vector(input) => label_ops::label_replace(lr, input).map(Value::Vector),
            Value::Scalar(_) => Err(MetricError::Unsupported(
                "label_replace needs a vector, found a number".into(),
            )),
        },
    }
}

fn check_series(count: usize, limits: &MetricLimits) -> Result<(), MetricError> {
    if count > limits.max_series {
        return Err(MetricError::TooManySeries(limits.max_series));
    }
    Ok(())
}

fn instant_result(
    expr: &MetricExpr,
    value: Value,
    ts_ns: i64,
    limits: &MetricLimits,
) -> Result<MetricResult, MetricError> {
    let mut vector = match value {
        Value::Scalar(v) => return Ok(MetricResult::Scalar(ts_ns, v)),
        Value::Vector(steps) => steps.into_iter().next().unwrap_or_default(),
    };
    check_series(vector.len(), limits)?;
    // Loki keeps the value order only when the query asks for it.
    let by_value = matches!(
        expr,
        MetricExpr::VectorAggregation(agg) if matches!(agg.op, VectorOp::Sort | VectorOp::SortDesc)
    );
    if !by_value {
        vector.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
    Ok(MetricResult::Vector(
        vector
            .into_iter()
            .map(|s| SeriesPoint {
                labels: Arc::unwrap_or_clone(s.labels),
                ts_ns,
                value: s.value,
            })
            .collect(),
    ))
}

fn range_result(
    value: Value,
    step_times: &[i64],
    limits: &MetricLimits,
) -> Result<MetricResult, MetricError> {
    let steps = match value {
        Value::Scalar(v) => {
            return Ok(MetricResult::Matrix(vec![SeriesPoints {
                labels: LabelPairs::new(),
                points: step_times.iter().map(|&t| (t, v)).collect(),
            }]));
        }
        Value::Vector(steps) => steps,
    };
    let mut series: BTreeMap<Arc<LabelPairs>, Vec<(i64, f64)>> = BTreeMap::new();
    for (&t, vector) in step_times.iter().zip(steps) {
        check_series(vector.len(), limits)?;
        for s in vector {
            series.entry(s.labels).or_default().push((t, s.value));
        }
        check_series(series.len(), limits)?;
    }
    Ok(MetricResult::Matrix(
        series
            .into_iter()
            .map(|(labels, points)| SeriesPoints {
                labels: Arc::unwrap_or_clone(labels),
                points,
            })
            .collect(),
    ))
}
