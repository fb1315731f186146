//! Numeric building blocks shared by aggregations and `*_over_time`:
//! compensated (Kahan–Neumaier) sums, an overflow-safe mean, quantiles and
//! linear regression, with Prometheus' exact rules so results match.
//! Reference: prometheus/promql/functions.go (`kahanSumInc`, `quantile`,
//! `linearRegression`) at v3.5.0.

/// A Kahan–Neumaier compensated sum.
#[derive(Debug, Default, Clone, Copy)]
pub struct KahanSum {
    sum: f64,
    c: f64,
}

/// One step of the compensated sum: returns the new sum and compensation.
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

impl KahanSum {
    /// Adds `v`.
    pub fn add(&mut self, v: f64) {
        (self.sum, self.c) = kahan_inc(v, self.sum, self.c);
    }

    /// The sum so far.
    pub fn value(&self) -> f64 {
        self.sum + self.c
    }
}

/// The mean Prometheus computes: a compensated sum divided by the count,
/// switching to an incremental mean if the sum would overflow.
#[derive(Debug, Default, Clone, Copy)]
pub struct MeanAcc {
    count: f64,
    sum: f64,
    c: f64,
    mean: f64,
    incremental: bool,
}

impl MeanAcc {
    /// Adds `v`.
    pub fn add(&mut self, v: f64) {
        self.count += 1.0;
        if !self.incremental {
            let (sum, c) = kahan_inc(v, self.sum, self.c);
            if self.count == 1.0 || !sum.is_infinite() {
                self.sum = sum;
                self.c = c;
                return;
            }
            self.incremental = true;
            self.mean = self.sum / (self.count - 1.0);
            self.c /= self.count - 1.0;
        }
        let q = (self.count - 1.0) / self.count;
        (self.mean, self.c) = kahan_inc(v / self.count, q * self.mean, q * self.c);
    }

    /// The mean so far (NaN when empty).
    pub fn value(&self) -> f64 {
        if self.incremental {
            self.mean + self.c
        } else {
            self.sum / self.count + self.c / self.count
        }
    }
}

/// The `q`-quantile of `values` (reordered in place), interpolating between
/// neighbours as Prometheus does; `q` outside [0, 1] gives ∓Inf.
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    // Go's sort puts NaN first with its Less; total_cmp puts -NaN first and
    // +NaN last, so move NaNs to the front to match.
    let nans = values.iter().filter(|v| v.is_nan()).count();
    if nans > 0 {
        let mut ordered: Vec<f64> = values.iter().copied().filter(|v| v.is_nan()).collect();
        ordered.extend(values.iter().copied().filter(|v| !v.is_nan()));
        values.copy_from_slice(&ordered);
    }
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Least-squares fit of `values` over `ts`, with times in seconds relative
/// to `intercept_time`: returns (slope, intercept).
pub fn linear_regression(ts: &[i64], values: &[f64], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = values.first().copied().unwrap_or(f64::NAN);
    let mut const_y = true;
    for (i, (&t, &v)) in ts.iter().zip(values).enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_time) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kahan_recovers_lost_low_bits() {
        let mut k = KahanSum::default();
        for v in [1.0, 1e100, 1.0, -1e100] {
            k.add(v);
        }
        assert_eq!(k.value(), 2.0);
    }

    #[test]
    fn mean_survives_overflowing_sums() {
        let mut m = MeanAcc::default();
        m.add(f64::MAX);
        m.add(f64::MAX);
        assert_eq!(m.value(), f64::MAX);
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile(0.5, &mut [1.0, 3.0, 2.0, 4.0]), 2.5);
        assert_eq!(quantile(0.0, &mut [5.0]), 5.0);
        assert_eq!(quantile(-1.0, &mut [5.0]), f64::NEG_INFINITY);
    }

    #[test]
    fn regression_of_a_line() {
        let (slope, intercept) = linear_regression(&[0, 1000, 2000], &[1.0, 3.0, 5.0], 0);
        assert!((slope - 2.0).abs() < 1e-12);
        assert!((intercept - 1.0).abs() < 1e-12);
    }
}
