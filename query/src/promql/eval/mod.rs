//! The evaluator: walks the syntax tree once, evaluating each node for every
//! step of the query at once over preloaded samples (Prometheus' range
//! evaluation, with instant queries as one step).

mod aggregate;
mod binary;
mod call;
mod range;
mod selector;

use std::cell::RefCell;
use std::time::Instant;

use super::ast::Expr;
use super::error::EvalError;
use super::labels::{LabelSet, NAME};
use super::source::{QueryBounds, RawSeries};
use super::value::{RangeSeries, Series, Value};

pub use range::{RangeArg, Window};

/// Engine settings for one query.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// How far back an instant selector looks for a sample (ms).
    pub lookback_ms: i64,
    /// Step of subqueries that give none (ms).
    pub default_subquery_step_ms: i64,
    /// Most samples a query may load.
    pub max_samples: usize,
    /// Most series one selector may select (0: no limit).
    pub max_series_per_selector: usize,
    /// When the query must have finished.
    pub deadline: Option<Instant>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            lookback_ms: 5 * 60 * 1000,
            default_subquery_step_ms: 60 * 1000,
            max_samples: 50_000_000,
            max_series_per_selector: 0,
            deadline: None,
        }
    }
}

/// Warnings and infos collected during evaluation.
#[derive(Debug, Clone, Default)]
pub struct Annotations {
    /// `PromQL warning: ...` messages.
    pub warnings: Vec<String>,
    /// `PromQL info: ...` messages.
    pub infos: Vec<String>,
}

impl Annotations {
    fn warn(&mut self, message: String) {
        if !self.warnings.contains(&message) {
            self.warnings.push(message);
        }
    }

    fn info(&mut self, message: String) {
        if !self.infos.contains(&message) {
            self.infos.push(message);
        }
    }
}

/// Evaluation state for one query.
pub struct Evaluator<'a> {
    data: &'a [Vec<RawSeries>],
    options: &'a EvalOptions,
    bounds: QueryBounds,
    annotations: RefCell<Annotations>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator over preloaded selector data.
    pub fn new(data: &'a [Vec<RawSeries>], options: &'a EvalOptions, bounds: QueryBounds) -> Self {
        Self {
            data,
            options,
            bounds,
            annotations: RefCell::new(Annotations::default()),
        }
    }

    /// The annotations gathered so far.
    pub fn into_annotations(self) -> Annotations {
        self.annotations.into_inner()
    }

    fn check_deadline(&self) -> Result<(), EvalError> {
        match self.options.deadline {
            Some(d) if Instant::now() > d => Err(EvalError::timeout()),
            _ => Ok(()),
        }
    }

    /// Evaluates `expr` at every time in `steps`, refusing results that
    /// would hold more points than the query may.
    pub fn eval(&self, expr: &Expr, steps: &[i64]) -> Result<Value, EvalError> {
        self.check_deadline()?;
        let value = self.eval_node(expr, steps)?;
        if let Value::Vector(v) = &value
            && v.len().saturating_mul(steps.len()) > self.options.max_samples
        {
            return Err(EvalError::too_many_samples());
        }
        Ok(value)
    }

    fn eval_node(&self, expr: &Expr, steps: &[i64]) -> Result<Value, EvalError> {
        match expr {
            Expr::Number(v) => Ok(Value::Scalar(vec![*v; steps.len()])),
            Expr::String(s) => Ok(Value::String(s.clone())),
            Expr::Paren(e) => self.eval(e, steps),
            Expr::Selector(s) => Ok(Value::Vector(self.instant_selector(s, steps, false))),
            Expr::Range(_) | Expr::Subquery(_) => {
                let arg = self.range_arg(expr, steps)?;
                Ok(Value::Matrix(arg.window_at(&self.bounds, steps)))
            }
            Expr::Negate(e) => match self.eval(e, steps)? {
                Value::Scalar(v) => Ok(Value::Scalar(v.into_iter().map(|x| -x).collect())),
                Value::Vector(mut v) => {
                    for s in &mut v {
                        s.drop_name = true;
                        for p in s.points.iter_mut().flatten() {
                            *p = -*p;
                        }
                    }
                    Ok(Value::Vector(v))
                }
                other => Err(EvalError::execution(format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                    other.type_name()
                ))),
            },
            Expr::Call(c) => self.call(c, steps),
            Expr::Aggregate(a) => self.aggregate(a, steps),
            Expr::Binary(b) => self.binary(b, steps),
        }
    }

    /// Evaluates an expression that must be an instant vector.
    fn eval_vector(&self, expr: &Expr, steps: &[i64]) -> Result<Vec<Series>, EvalError> {
        match self.eval(expr, steps)? {
            Value::Vector(v) => Ok(v),
            other => Err(EvalError::execution(format!(
                "expected instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates an expression that must be a scalar.
    fn eval_scalar(&self, expr: &Expr, steps: &[i64]) -> Result<Vec<f64>, EvalError> {
        match self.eval(expr, steps)? {
            Value::Scalar(v) => Ok(v),
            other => Err(EvalError::execution(format!(
                "expected scalar, got {}",
                other.type_name()
            ))),
        }
    }

    /// Evaluates a string argument.
    fn eval_string(&self, expr: &Expr) -> Result<String, EvalError> {
        match expr.unparen() {
            Expr::String(s) => Ok(s.clone()),
            other => match self.eval(other, &[0])? {
                Value::String(s) => Ok(s),
                v => Err(EvalError::execution(format!(
                    "expected string, got {}",
                    v.type_name()
                ))),
            },
        }
    }

    fn warn(&self, message: String) {
        self.annotations.borrow_mut().warn(message);
    }

    fn info(&self, message: String) {
        self.annotations.borrow_mut().info(message);
    }
}

/// Applies delayed name removal and merges series that end up with the same
/// labels; two of them with a point at the same step is an error, as in
/// Prometheus.
pub fn finish_vector(series: Vec<Series>, sort: bool) -> Result<Vec<Series>, EvalError> {
    let mut merged: Vec<Series> = Vec::with_capacity(series.len());
    let mut index: std::collections::HashMap<LabelSet, usize> = std::collections::HashMap::new();
    for mut s in series {
        if s.is_empty() {
            continue;
        }
        if s.drop_name {
            s.labels.remove(NAME);
            s.drop_name = false;
        }
        match index.get(&s.labels) {
            None => {
                index.insert(s.labels.clone(), merged.len());
                merged.push(s);
            }
            Some(&i) => {
                let target = &mut merged[i];
                for (dst, src) in target.points.iter_mut().zip(s.points) {
                    if let Some(v) = src {
                        if dst.is_some() {
                            return Err(EvalError::execution(
                                "vector cannot contain metrics with the same labelset",
                            ));
                        }
                        *dst = Some(v);
                    }
                }
            }
        }
    }
    if sort {
        merged.sort_by(|a, b| a.labels.cmp(&b.labels));
    }
    Ok(merged)
}

/// Name removal for range-vector results.
pub fn finish_matrix(series: Vec<RangeSeries>) -> Result<Vec<RangeSeries>, EvalError> {
    let mut out: Vec<RangeSeries> = series
        .into_iter()
        .filter(|s| !s.ts.is_empty())
        .map(|mut s| {
            if s.drop_name {
                s.labels.remove(NAME);
                s.drop_name = false;
            }
            s
        })
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    for pair in out.windows(2) {
        if pair[0].labels == pair[1].labels {
            return Err(EvalError::execution(
                "vector cannot contain metrics with the same labelset",
            ));
        }
    }
    Ok(out)
}
