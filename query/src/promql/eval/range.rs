//! Range vectors: raw samples of a range selector or the points of a
//! subquery, and the left-open window `(t - range, t]` each step sees.

use super::Evaluator;
use super::selector::is_stale;
use crate::promql::ast::{At, Expr};
use crate::promql::error::EvalError;
use crate::promql::source::QueryBounds;
use crate::promql::value::{RangeSeries, Value};

/// A range-vector argument: per series all samples any step may need, and
/// how to cut the window for a step.
#[derive(Debug)]
pub struct RangeArg {
    /// Series with their samples (no stale markers).
    pub series: Vec<RangeSeries>,
    /// Window length (ms).
    pub range_ms: i64,
    /// Offset applied to the step time (ms).
    pub offset_ms: i64,
    /// `@` pinning the window's end.
    pub at: Option<At>,
}

/// One step's window of one series.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    /// Timestamps in the window.
    pub ts: &'a [i64],
    /// Values in the window.
    pub values: &'a [f64],
    /// Exclusive start of the window (ms).
    pub start: i64,
    /// Inclusive end of the window (ms).
    pub end: i64,
    /// Window length (ms).
    pub range_ms: i64,
}

impl RangeArg {
    /// Window end for step `t`.
    pub fn window_end(&self, bounds: &QueryBounds, t: i64) -> i64 {
        bounds.resolve(self.at, t).saturating_sub(self.offset_ms)
    }

    /// The window of `series` at step `t`.
    pub fn window<'s>(&self, bounds: &QueryBounds, series: &'s RangeSeries, t: i64) -> Window<'s> {
        let end = self.window_end(bounds, t);
        let start = end.saturating_sub(self.range_ms);
        let a = series.ts.partition_point(|&x| x <= start);
        let b = series.ts.partition_point(|&x| x <= end);
        Window {
            ts: &series.ts[a..b],
            values: &series.values[a..b],
            start,
            end,
            range_ms: self.range_ms,
        }
    }

    /// The samples each series has in the window of the single step `steps`
    /// holds (what an instant query for a range vector returns).
    pub fn window_at(&self, bounds: &QueryBounds, steps: &[i64]) -> Vec<RangeSeries> {
        let t = steps.first().copied().unwrap_or(0);
        self.series
            .iter()
            .filter_map(|s| {
                let w = self.window(bounds, s, t);
                (!w.ts.is_empty()).then(|| RangeSeries {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name,
                    ts: w.ts.to_vec(),
                    values: w.values.to_vec(),
                })
            })
            .collect()
    }
}

/// First multiple of `step` at or after `t`.
fn align_up(t: i64, step: i64) -> i64 {
    let r = t.rem_euclid(step);
    if r == 0 {
        t
    } else {
        (t - r).saturating_add(step)
    }
}

impl Evaluator<'_> {
    /// Evaluates a range selector or subquery for the windows of `steps`.
    pub(super) fn range_arg(&self, expr: &Expr, steps: &[i64]) -> Result<RangeArg, EvalError> {
        match expr.unparen() {
            Expr::Range(r) => {
                let s = &r.selector;
                let series = self
                    .data
                    .get(s.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|raw| {
                        let mut ts = Vec::with_capacity(raw.ts.len());
                        let mut values = Vec::with_capacity(raw.ts.len());
                        for (&t, &v) in raw.ts.iter().zip(&raw.values) {
                            if !is_stale(v) {
                                ts.push(t);
                                values.push(v);
                            }
                        }
                        RangeSeries {
                            labels: raw.labels.clone(),
                            drop_name: false,
                            ts,
                            values,
                        }
                    })
                    .collect();
                Ok(RangeArg {
                    series,
                    range_ms: r.range_ms,
                    offset_ms: s.offset_ms,
                    at: s.at,
                })
            }
            Expr::Subquery(sq) => {
                let step = sq
                    .step_ms
                    .unwrap_or(self.options.default_subquery_step_ms)
                    .max(1);
                let mut ends: Vec<i64> = steps
                    .iter()
                    .map(|&t| self.bounds.resolve(sq.at, t).saturating_sub(sq.offset_ms))
                    .collect();
                ends.sort_unstable();
                ends.dedup();
                // Only the step-aligned times some window (e - range, e]
                // can see are evaluated, each once.
                let mut inner: Vec<i64> = Vec::new();
                for &e in &ends {
                    let from = align_up(e.saturating_sub(sq.range_ms).saturating_add(1), step);
                    let mut t = match inner.last() {
                        Some(&last) if last >= from => match last.checked_add(step) {
                            Some(t) => t,
                            None => continue,
                        },
                        _ => from,
                    };
                    while t <= e {
                        if inner.len() >= self.options.max_samples {
                            return Err(EvalError::too_many_samples());
                        }
                        inner.push(t);
                        match t.checked_add(step) {
                            Some(next) => t = next,
                            None => break,
                        }
                    }
                }
                let series = match self.eval(&sq.expr, &inner)? {
                    Value::Vector(v) => v
                        .into_iter()
                        .map(|s| {
                            let mut ts = Vec::new();
                            let mut values = Vec::new();
                            for (&t, p) in inner.iter().zip(&s.points) {
                                if let Some(v) = p {
                                    ts.push(t);
                                    values.push(*v);
                                }
                            }
                            RangeSeries {
                                labels: s.labels,
                                drop_name: s.drop_name,
                                ts,
                                values,
                            }
                        })
                        .filter(|s| !s.ts.is_empty())
                        .collect(),
                    other => {
                        return Err(EvalError::execution(format!(
                            "subquery is only allowed on instant vector, got {} instead",
                            other.type_name()
                        )));
                    }
                };
                Ok(RangeArg {
                    series,
                    range_ms: sq.range_ms,
                    offset_ms: sq.offset_ms,
                    at: sq.at,
                })
            }
            _ => Err(EvalError::execution(
                "expected type range vector in call to function",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::align_up;

    #[test]
    fn align_up_rounds_toward_later_multiples() {
        assert_eq!(align_up(0, 60), 0);
        assert_eq!(align_up(1, 60), 60);
        assert_eq!(align_up(-1, 60), 0);
        assert_eq!(align_up(-61, 60), -60);
    }
}
