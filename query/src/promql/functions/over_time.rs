//! The `*_over_time` family over one window.
//! Reference: <https://prometheus.io/docs/prometheus/latest/querying/functions/#aggregation_over_time>
//! and prometheus/promql/functions.go (`aggrOverTime` users).

use super::stats::{KahanSum, MeanAcc, kahan_inc, quantile};
use crate::promql::eval::Window;

/// Which `*_over_time` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverTime {
    /// `avg_over_time`
    Avg,
    /// `min_over_time`
    Min,
    /// `max_over_time`
    Max,
    /// `sum_over_time`
    Sum,
    /// `count_over_time`
    Count,
    /// `stddev_over_time`
    Stddev,
    /// `stdvar_over_time`
    Stdvar,
    /// `last_over_time`
    Last,
    /// `first_over_time`
    First,
    /// `present_over_time`
    Present,
    /// `mad_over_time`
    Mad,
    /// `ts_of_min_over_time`
    TsOfMin,
    /// `ts_of_max_over_time`
    TsOfMax,
    /// `ts_of_first_over_time`
    TsOfFirst,
    /// `ts_of_last_over_time`
    TsOfLast,
}

impl OverTime {
    /// Looks a function up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "avg_over_time" => Self::Avg,
            "min_over_time" => Self::Min,
            "max_over_time" => Self::Max,
            "sum_over_time" => Self::Sum,
            "count_over_time" => Self::Count,
            "stddev_over_time" => Self::Stddev,
            "stdvar_over_time" => Self::Stdvar,
            "last_over_time" => Self::Last,
            "first_over_time" => Self::First,
            "present_over_time" => Self::Present,
            "mad_over_time" => Self::Mad,
            "ts_of_min_over_time" => Self::TsOfMin,
            "ts_of_max_over_time" => Self::TsOfMax,
            "ts_of_first_over_time" => Self::TsOfFirst,
            "ts_of_last_over_time" => Self::TsOfLast,
            _ => return None,
        })
    }

    /// Whether the result keeps the metric name (it is still a sample of
    /// the same series).
    pub fn keeps_name(self) -> bool {
        matches!(self, Self::Last | Self::First)
    }

    /// The function's value for one window (`None` when it is empty).
    pub fn apply(self, w: &Window<'_>) -> Option<f64> {
        let (ts, v) = (w.ts, w.values);
        if v.is_empty() {
            return None;
        }
        let secs = |t: i64| t as f64 / 1000.0;
        Some(match self {
            Self::Avg => {
                let mut m = MeanAcc::default();
                v.iter().for_each(|&x| m.add(x));
                m.value()
            }
            Self::Sum => {
                let mut k = KahanSum::default();
                v.iter().for_each(|&x| k.add(x));
                k.value()
            }
            Self::Min => v[1..].iter().fold(
                v[0],
                |acc, &x| if x < acc || acc.is_nan() { x } else { acc },
            ),
            Self::Max => v[1..].iter().fold(
                v[0],
                |acc, &x| if x > acc || acc.is_nan() { x } else { acc },
            ),
            Self::Count => v.len() as f64,
            Self::Present => 1.0,
            Self::Last => v[v.len() - 1],
            Self::First => v[0],
            Self::Stddev | Self::Stdvar => {
                let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) =
                    (0.0, 0.0, 0.0, 0.0, 0.0);
                for &x in v {
                    count += 1.0;
                    let delta = x - (mean + c_mean);
                    (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
                    (aux, c_aux) = kahan_inc(delta * (x - (mean + c_mean)), aux, c_aux);
                }
                let var = (aux + c_aux) / count;
                if self == Self::Stddev {
                    var.sqrt()
                } else {
                    var
                }
            }
            Self::Mad if v.iter().any(|x| x.is_nan()) => f64::NAN,
            Self::Mad => {
                let mut values = v.to_vec();
                let median = quantile(0.5, &mut values);
                let mut deviations: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
                quantile(0.5, &mut deviations)
            }
            Self::TsOfFirst => secs(ts[0]),
            Self::TsOfLast => secs(ts[ts.len() - 1]),
            Self::TsOfMin | Self::TsOfMax => {
                let mut best = 0;
                for i in 1..v.len() {
                    let better = if self == Self::TsOfMin {
                        v[i] <= v[best] || v[best].is_nan()
                    } else {
                        v[i] >= v[best] || v[best].is_nan()
                    };
                    if better && !v[i].is_nan() {
                        best = i;
                    }
                }
                secs(ts[best])
            }
        })
    }
}

/// `quantile_over_time(q, v)`.
pub fn quantile_over_time(q: f64, w: &Window<'_>) -> Option<f64> {
    if w.values.is_empty() {
        return None;
    }
    let mut values = w.values.to_vec();
    Some(quantile(q, &mut values))
}

/// `double_exponential_smoothing(v, sf, tf)` (formerly `holt_winters`).
pub fn double_exponential_smoothing(w: &Window<'_>, sf: f64, tf: f64) -> Option<f64> {
    let v = w.values;
    if v.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, v[0]);
    let mut b = v[1] - v[0];
    for (i, &x) in v.iter().enumerate().skip(1) {
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let next = sf * x + (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = next;
    }
    Some(s1)
}
