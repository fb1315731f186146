//! Quantiles and fractions over classic histogram buckets (`le` series).
//! Reference: <https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile>
//! and prometheus/promql/quantile.go (`BucketQuantile`).

/// One cumulative bucket: upper bound and count of observations ≤ it.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    /// Upper bound (`le`).
    pub upper: f64,
    /// Cumulative count.
    pub count: f64,
}

/// What had to be repaired in the buckets; each becomes an annotation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Repairs {
    /// Counts decreased somewhere and were forced monotonic.
    pub forced_monotonic: bool,
}

const SMALL_DELTA_TOLERANCE: f64 = 1e-12;
const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

/// Relative float comparison (Prometheus' `almost.Equal`).
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// Sorts, merges equal bounds and repairs counts; `None` when the buckets
/// cannot describe a distribution (no +Inf bucket).
fn prepare(buckets: &mut Vec<Bucket>, repairs: &mut Repairs) -> Option<()> {
    // A total order with NaN first (Go's cmp.Compare), so odd `le` values
    // cannot upset the sort.
    buckets.sort_by(|a, b| match (a.upper.is_nan(), b.upper.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.upper.total_cmp(&b.upper),
    });
    if buckets.last()?.upper != f64::INFINITY {
        return None;
    }
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    *buckets = merged;
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            repairs.forced_monotonic = true;
            continue;
        }
        prev = curr;
    }
    Some(())
}

/// The `q`-quantile estimated from cumulative buckets.
pub fn bucket_quantile(q: f64, mut buckets: Vec<Bucket>, repairs: &mut Repairs) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if buckets.is_empty() || prepare(&mut buckets, repairs).is_none() || buckets.len() < 2 {
        return f64::NAN;
    }
    let n = buckets.len();
    let observations = buckets[n - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = buckets[..n - 1].partition_point(|x| x.count < rank);
    if b == n - 1 {
        return buckets[n - 2].upper;
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return buckets[0].upper;
    }
    let mut start = 0.0;
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    start + (end - start) * (rank / count)
}

/// The estimated fraction of observations in `[lower, upper]`, assuming
/// observations spread evenly inside each bucket (the first bucket starts
/// at 0 when its bound is positive; nothing is assumed past the last finite
/// bound).
pub fn bucket_fraction(
    lower: f64,
    upper: f64,
    mut buckets: Vec<Bucket>,
    repairs: &mut Repairs,
) -> f64 {
    if lower.is_nan() || upper.is_nan() || buckets.is_empty() {
        return f64::NAN;
    }
    if prepare(&mut buckets, repairs).is_none() {
        return f64::NAN;
    }
    let total = buckets[buckets.len() - 1].count;
    if total == 0.0 {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    // Cumulative count of observations at or below `x`.
    let rank = |x: f64| -> f64 {
        let mut prev_upper = f64::NEG_INFINITY;
        let mut prev_count = 0.0;
        for (i, b) in buckets.iter().enumerate() {
            if x < b.upper {
                if b.upper == f64::INFINITY {
                    return prev_count;
                }
                let start = if i == 0 {
                    if b.upper > 0.0 {
                        0.0
                    } else {
                        // A first bucket reaching down to -Inf has no width
                        // to interpolate in: its observations sit at its
                        // bound, below any finite `x`.
                        return if x == f64::NEG_INFINITY { 0.0 } else { b.count };
                    }
                } else {
                    prev_upper
                };
                if x <= start {
                    return prev_count;
                }
                return prev_count + (b.count - prev_count) * (x - start) / (b.upper - start);
            }
            prev_upper = b.upper;
            prev_count = b.count;
        }
        total
    };
    (rank(upper) - rank(lower)) / total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn median_interpolates_inside_a_bucket() {
        let mut r = Repairs::default();
        let buckets = b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(bucket_quantile(0.5, buckets.clone(), &mut r), 1.0);
        assert_eq!(bucket_quantile(0.75, buckets, &mut r), 1.5);
    }

    #[test]
    fn no_inf_bucket_is_nan() {
        let mut r = Repairs::default();
        assert!(bucket_quantile(0.5, b(&[(1.0, 1.0)]), &mut r).is_nan());
    }

    #[test]
    fn fraction_below_a_bound() {
        let mut r = Repairs::default();
        let buckets = b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(bucket_fraction(0.0, 1.0, buckets.clone(), &mut r), 0.5);
        assert_eq!(
            bucket_fraction(f64::NEG_INFINITY, f64::INFINITY, buckets, &mut r),
            1.0
        );
        let negative = b(&[(-3.0, 10.0), (-2.0, 12.0), (f64::INFINITY, 100.0)]);
        assert_eq!(bucket_fraction(-4.0, -2.0, negative, &mut r), 0.02);
    }
}
