//! PromQL: parsing (`parse`), fetching selector data (`source`) and
//! evaluation (`eval`, `functions`), following Prometheus 3 semantics.

pub mod ast;
pub mod duration_expr;
pub mod error;
pub mod eval;
pub mod functions;
pub mod labels;
pub mod parse;
pub mod source;
mod syntax_error;
pub mod value;

pub use duration_expr::DurationContext;
pub use error::{EvalError, EvalErrorKind};
pub use eval::{Annotations, EvalOptions};
pub use parse::{ParseError, parse, parse_with};
pub use source::{QueryBounds, RawSeries, SeriesSource};
pub use value::{RangeSeries, Series, Value};

use ast::{Expr, ValueKind};

/// A finished evaluation: names dropped, duplicates checked.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The result: for range queries a vector with one point per step.
    pub value: Value,
    /// The evaluation times (ms).
    pub steps: Vec<i64>,
    /// Warnings and infos.
    pub annotations: Annotations,
}

/// Evaluates `expr` at one instant (ms).
pub async fn instant<S: SeriesSource>(
    source: &S,
    expr: &Expr,
    t: i64,
    options: &EvalOptions,
) -> Result<Evaluated, EvalError> {
    run(source, expr, vec![t], 0, options, false).await
}

/// Evaluates `expr` from `start` to `end` every `step` (ms).
pub async fn range<S: SeriesSource>(
    source: &S,
    expr: &Expr,
    start: i64,
    end: i64,
    step: i64,
    options: &EvalOptions,
) -> Result<Evaluated, EvalError> {
    match expr.kind() {
        ValueKind::Scalar | ValueKind::Vector => {}
        ValueKind::Matrix => {
            return Err(EvalError::execution(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector",
            ));
        }
        ValueKind::String => {
            return Err(EvalError::execution(
                "invalid expression type \"string\" for range query, must be Scalar or instant Vector",
            ));
        }
    }
    let step = step.max(1);
    let span = end
        .checked_sub(start)
        .filter(|s| *s >= 0)
        .ok_or_else(|| EvalError::execution("invalid query range"))?;
    let count = usize::try_from(span / step + 1).unwrap_or(usize::MAX);
    if count > options.max_samples {
        return Err(EvalError::too_many_samples());
    }
    let steps = (0..count).map(|i| start + i as i64 * step).collect();
    run(source, expr, steps, step, options, true).await
}

async fn run<S: SeriesSource>(
    source: &S,
    expr: &Expr,
    steps: Vec<i64>,
    step: i64,
    options: &EvalOptions,
    is_range: bool,
) -> Result<Evaluated, EvalError> {
    let bounds = QueryBounds {
        start: steps.first().copied().unwrap_or(0),
        end: steps.last().copied().unwrap_or(0),
        step,
    };
    let count = parse::selector_count(expr);
    let ranges = source::selector_ranges(expr, bounds, options.lookback_ms, count);
    let data = source::preload(source, expr, &ranges, options).await?;
    // Evaluation is CPU-bound; keep it off the async workers.
    let (expr, options) = (expr.clone(), options.clone());
    tokio::task::spawn_blocking(move || {
        let evaluator = eval::Evaluator::new(&data, &options, bounds);
        let value = match evaluator.eval(&expr, &steps)? {
            Value::Vector(v) => Value::Vector(eval::finish_vector(v, is_range)?),
            Value::Matrix(m) => Value::Matrix(eval::finish_matrix(m)?),
            other => other,
        };
        Ok(Evaluated {
            value,
            steps,
            annotations: evaluator.into_annotations(),
        })
    })
    .await
    .map_err(|e| EvalError::internal(format!("evaluation task failed: {e}")))?
}
