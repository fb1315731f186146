//! `rate`, `increase`, `delta` (extrapolated), `irate`, `idelta`, `deriv`,
//! `predict_linear`, `changes`, `resets`.
//! Reference: <https://prometheus.io/docs/prometheus/latest/querying/functions/#rate>
//! and prometheus/promql/functions.go (`extrapolatedRate`, `instantValue`).

use super::stats::linear_regression;
use crate::promql::eval::Window;

/// `rate` (counter, per second), `increase` (counter) and `delta` (gauge):
/// the change over the window, extrapolated towards its edges.
pub fn extrapolated(w: &Window<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    let n = w.ts.len();
    if n < 2 {
        return None;
    }
    let (first_t, last_t) = (w.ts[0], w.ts[n - 1]);
    let (first_v, last_v) = (w.values[0], w.values[n - 1]);
    let mut result = last_v - first_v;
    if is_counter {
        for pair in w.values.windows(2) {
            if pair[1] < pair[0] {
                result += pair[0];
            }
        }
    }
    let mut to_start = (first_t - w.start) as f64 / 1000.0;
    let mut to_end = (w.end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let average = sampled / (n - 1) as f64;
    let threshold = average * 1.1;
    if to_start >= threshold {
        to_start = average / 2.0;
    }
    if is_counter {
        // A counter cannot go below zero, so do not extrapolate past the
        // point where it would have been zero.
        let mut to_zero = to_start;
        if result > 0.0 && first_v >= 0.0 {
            to_zero = sampled * (first_v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = average / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= w.range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` (per second, counter-aware) and `idelta` from the last two samples.
pub fn instant(w: &Window<'_>, is_rate: bool) -> Option<f64> {
    let n = w.ts.len();
    if n < 2 {
        return None;
    }
    let (prev, last) = (w.values[n - 2], w.values[n - 1]);
    let mut result = if is_rate && last < prev {
        last
    } else {
        last - prev
    };
    if is_rate {
        let interval = w.ts[n - 1] - w.ts[n - 2];
        if interval == 0 {
            return None;
        }
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// `deriv`: slope of the least-squares line, per second.
pub fn deriv(w: &Window<'_>) -> Option<f64> {
    if w.ts.len() < 2 {
        return None;
    }
    Some(linear_regression(w.ts, w.values, w.ts[0]).0)
}

/// `predict_linear(v, t)`: the fitted line's value `t` seconds after the
/// evaluation time.
pub fn predict_linear(w: &Window<'_>, eval_time: i64, seconds: f64) -> Option<f64> {
    if w.ts.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(w.ts, w.values, eval_time);
    Some(slope * seconds + intercept)
}

/// `changes`: how often the value changed (NaN to NaN is no change).
pub fn changes(w: &Window<'_>) -> Option<f64> {
    if w.ts.is_empty() {
        return None;
    }
    let count = w
        .values
        .windows(2)
        .filter(|p| !(p[0] == p[1] || (p[0].is_nan() && p[1].is_nan())))
        .count();
    Some(count as f64)
}

/// `resets`: how often the value decreased.
pub fn resets(w: &Window<'_>) -> Option<f64> {
    if w.ts.is_empty() {
        return None;
    }
    Some(w.values.windows(2).filter(|p| p[1] < p[0]).count() as f64)
}
