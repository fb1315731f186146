//! The functions a range aggregation applies to one window of samples.
//!
//! Windows slide forward over a series' time-sorted samples, so a window is
//! a slice `samples[lo..hi]`. Counting and summing read prefix sums (no
//! re-scan per step); the order statistics and spreads re-scan the slice.

use std::cmp::Ordering;

use crate::logql::ast::RangeOp;

/// Prefix sums of a series' values. Finite values are summed with
/// Neumaier's compensation, which keeps `prefix[hi] - prefix[lo]` exact for
/// the integer-valued counts and byte sizes logs mostly yield; NaN and
/// infinities are counted apart so one of them leaving the window does not
/// poison the sums of later windows.
pub(super) struct PrefixSums {
    sum: Vec<f64>,
    comp: Vec<f64>,
    nan: Vec<u32>,
    pos_inf: Vec<u32>,
    neg_inf: Vec<u32>,
}

impl PrefixSums {
    pub(super) fn new(samples: &[(i64, f64)]) -> Self {
        let n = samples.len() + 1;
        let mut p = PrefixSums {
            sum: Vec::with_capacity(n),
            comp: Vec::with_capacity(n),
            nan: Vec::with_capacity(n),
            pos_inf: Vec::with_capacity(n),
            neg_inf: Vec::with_capacity(n),
        };
        let (mut sum, mut comp) = (0.0f64, 0.0f64);
        let (mut nan, mut pos, mut neg) = (0u32, 0u32, 0u32);
        p.push(sum, comp, nan, pos, neg);
        for &(_, v) in samples {
            if v.is_nan() {
                nan += 1;
            } else if v == f64::INFINITY {
                pos += 1;
            } else if v == f64::NEG_INFINITY {
                neg += 1;
            } else {
                let t = sum + v;
                comp += if sum.abs() >= v.abs() {
                    (sum - t) + v
                } else {
                    (v - t) + sum
                };
                sum = t;
            }
            p.push(sum, comp, nan, pos, neg);
        }
        p
    }

    fn push(&mut self, sum: f64, comp: f64, nan: u32, pos: u32, neg: u32) {
        self.sum.push(sum);
        self.comp.push(comp);
        self.nan.push(nan);
        self.pos_inf.push(pos);
        self.neg_inf.push(neg);
    }

    /// Sum of the values at `lo..hi`.
    pub(super) fn sum(&self, lo: usize, hi: usize) -> f64 {
        let nan = self.nan[hi] - self.nan[lo];
        let pos = self.pos_inf[hi] - self.pos_inf[lo];
        let neg = self.neg_inf[hi] - self.neg_inf[lo];
        if nan > 0 || (pos > 0 && neg > 0) {
            return f64::NAN;
        }
        if pos > 0 {
            return f64::INFINITY;
        }
        if neg > 0 {
            return f64::NEG_INFINITY;
        }
        (self.sum[hi] - self.sum[lo]) + (self.comp[hi] - self.comp[lo])
    }
}

/// Everything a window function may need besides the samples.
pub(super) struct WindowSpec {
    pub(super) op: RangeOp,
    /// `quantile_over_time`'s φ.
    pub(super) param: f64,
    /// The range in seconds, the divisor of the rates.
    pub(super) range_secs: f64,
}

/// The aggregation of `samples[lo..hi]` (never empty) whose window is
/// `(window_start, window_end]` in ns.
pub(super) fn apply(
    spec: &WindowSpec,
    samples: &[(i64, f64)],
    sums: Option<&PrefixSums>,
    lo: usize,
    hi: usize,
    window_start: i64,
    window_end: i64,
) -> f64 {
    let window = &samples[lo..hi];
    let sum = || match sums {
        Some(p) => p.sum(lo, hi),
        None => window.iter().map(|s| s.1).sum(),
    };
    let count = window.len() as f64;
    match spec.op {
        RangeOp::CountOverTime => count,
        // The source yields 1 per line without unwrap, so summing covers
        // both `rate` flavours: lines per second, or values per second.
        RangeOp::Rate | RangeOp::BytesRate => sum() / spec.range_secs,
        RangeOp::BytesOverTime | RangeOp::SumOverTime => sum(),
        RangeOp::AvgOverTime => sum() / count,
        RangeOp::MinOverTime => extreme(window, Ordering::Less),
        RangeOp::MaxOverTime => extreme(window, Ordering::Greater),
        RangeOp::StdvarOverTime => variance(window),
        RangeOp::StddevOverTime => variance(window).sqrt(),
        RangeOp::QuantileOverTime => quantile(spec.param, window),
        RangeOp::FirstOverTime => window[0].1,
        RangeOp::LastOverTime => window[window.len() - 1].1,
        RangeOp::RateCounter => counter_rate(window, window_start, window_end, spec.range_secs),
        // Absence is decided per step across all series, not per window.
        RangeOp::AbsentOverTime => 1.0,
    }
}

/// Min or max; NaN only wins when every value is NaN.
fn extreme(window: &[(i64, f64)], want: Ordering) -> f64 {
    let mut best = window[0].1;
    for &(_, v) in &window[1..] {
        if best.is_nan() || v.partial_cmp(&best) == Some(want) {
            best = v;
        }
    }
    best
}

/// Population variance (Welford's algorithm, stable for large means).
fn variance(window: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut aux) = (0.0f64, 0.0f64, 0.0f64);
    for &(_, v) in window {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
    }
    aux / count
}

/// Prometheus' quantile: φ<0 → -Inf, φ>1 → +Inf, otherwise linear
/// interpolation between the two ranked values around `φ·(n−1)`.
pub(super) fn quantile(phi: f64, window: &[(i64, f64)]) -> f64 {
    if window.is_empty() || phi.is_nan() {
        return f64::NAN;
    }
    if phi < 0.0 {
        return f64::NEG_INFINITY;
    }
    if phi > 1.0 {
        return f64::INFINITY;
    }
    let mut values: Vec<f64> = window.iter().map(|s| s.1).collect();
    // NaN ranks lowest, as in Prometheus.
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = values.len() as f64;
    let rank = phi * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// `rate_counter`: the per-second increase of a counter, computed like
/// Prometheus' `rate`: resets (a drop in value) count as a restart from 0,
/// and the increase is extrapolated towards the window's bounds when the
/// first/last samples lie close to them (never below a zero counter).
///
/// Loki documents only "treating the values as a counter"; its code uses
/// Prometheus' algorithm but measures the gaps from the first sample minus
/// the range and from the last sample, not from the window bounds. We use
/// the real window bounds, as Prometheus does. As in Loki, a window with a
/// single sample yields 0 rather than nothing.
fn counter_rate(window: &[(i64, f64)], window_start: i64, window_end: i64, range_secs: f64) -> f64 {
    if window.len() < 2 {
        return 0.0;
    }
    let (first_t, first) = window[0];
    let (last_t, last) = window[window.len() - 1];
    let mut increase = last - first;
    let mut prev = first;
    for &(_, v) in &window[1..] {
        if v < prev {
            increase += prev;
        }
        prev = v;
    }
    let secs = |ns: i64| ns as f64 / 1e9;
    let sampled = secs(last_t - first_t);
    if sampled <= 0.0 {
        // All samples share one timestamp: there is no spacing to
        // extrapolate from.
        return increase / range_secs;
    }
    let average_gap = sampled / (window.len() - 1) as f64;
    let threshold = average_gap * 1.1;
    let mut to_start = secs(first_t - window_start);
    let mut to_end = secs(window_end - last_t);
    if to_start >= threshold {
        to_start = average_gap / 2.0;
    }
    if increase > 0.0 && first >= 0.0 {
        // A counter cannot go below zero: do not extrapolate past the point
        // where it would have been 0.
        let to_zero = sampled * (first / increase);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = average_gap / 2.0;
    }
    increase * ((sampled + to_start + to_end) / sampled) / range_secs
}
