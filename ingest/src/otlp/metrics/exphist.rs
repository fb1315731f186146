//! Exponential histograms → classic `_bucket` series.
//!
//! Prometheus turns these into native histograms; Hearth stores only floats
//! so far, so it writes the nearest classic histogram instead:
//! - bucket `i` of scale `s` holds values in `(base^i, base^(i+1)]` with
//!   `base = 2^(2^-s)`, so its `le` is `base^(i+1)`;
//! - the scale is lowered (pairs of buckets merged) until at most
//!   [`MAX_BUCKETS`] bucket indexes are spanned, because every `le` becomes
//!   its own series and a scale-20 histogram could otherwise mint thousands;
//! - the zero bucket is folded into the lowest positive bucket (it holds
//!   values no greater than that bound), or gets `le` = zero threshold when
//!   there is no positive bucket;
//! - negative buckets are kept, with negative `le` bounds (`-base^i` for
//!   values in `[-base^(i+1), -base^i)`), so the cumulative counts stay exact
//!   and `_bucket{le="+Inf"}` equals `_count`;
//! - bounds that overflow `f64` fold into the next bucket up (ultimately
//!   `+Inf`), which keeps every count under a bound it does not exceed.

use opentelemetry_proto::tonic::metrics::v1::ExponentialHistogramDataPoint;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;

use super::points::{ClassicHistogram, no_recorded_value, point_time};
use super::{Context, Output};

/// Most bucket indexes (positive and negative together) one point may span
/// after downscaling.
pub const MAX_BUCKETS: i64 = 160;

/// OTLP's valid scale range.
const SCALES: std::ops::RangeInclusive<i32> = -10..=20;

impl Output<'_> {
    /// Writes each point as a classic histogram, rejecting malformed ones.
    pub(super) fn exp_histogram_points(
        &mut self,
        ctx: &Context,
        name: &str,
        points: &[ExponentialHistogramDataPoint],
    ) {
        for p in points {
            let result = point_time(p.time_unix_nano)
                .and_then(|ts| Ok((ts, classic_buckets(p)?)))
                .and_then(|(ts, buckets)| {
                    let labels = self.point_labels(ctx, &p.attributes, &[])?;
                    let hist = ClassicHistogram {
                        ts,
                        stale: no_recorded_value(p.flags),
                        sum: p.sum,
                        count: p.count,
                        buckets,
                        exemplars: &p.exemplars,
                    };
                    self.write_histogram(name, &labels, &hist)
                });
            if let Err(reason) = result {
                self.reject(1, || format!("metric {name:?}: {reason}"));
            }
        }
    }
}

/// The non-empty buckets of one side as `(index, count)`, index ascending.
fn side(buckets: Option<&Buckets>) -> Result<Vec<(i64, u64)>, String> {
    let Some(b) = buckets else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, &count) in b.bucket_counts.iter().enumerate() {
        if count > 0 {
            let i = i64::try_from(i).map_err(|_| "too many buckets".to_owned())?;
            out.push((i64::from(b.offset) + i, count));
        }
    }
    Ok(out)
}

fn span(side: &[(i64, u64)]) -> i64 {
    match (side.first(), side.last()) {
        (Some(lo), Some(hi)) => hi.0 - lo.0 + 1,
        _ => 0,
    }
}

/// One scale down: bucket `i` becomes `i >> 1` (floor), merging neighbours.
fn downscale(side: &mut Vec<(i64, u64)>) {
    let mut merged: Vec<(i64, u64)> = Vec::with_capacity(side.len());
    for &(i, c) in side.iter() {
        let j = i >> 1;
        match merged.last_mut() {
            // Counts were checked to add up to `count`, so no overflow.
            Some(last) if last.0 == j => last.1 = last.1.saturating_add(c),
            _ => merged.push((j, c)),
        }
    }
    *side = merged;
}

/// `base^exp` for `base = 2^(2^-scale)`, i.e. `2^(exp · 2^-scale)`. For
/// scales ≤ 0 the result is an exact power of two, built from its bits.
fn power(scale: i32, exp: i64) -> f64 {
    if scale <= 0 {
        let shift = scale.unsigned_abs().min(100);
        let e = i128::from(exp).checked_shl(shift).unwrap_or(i128::MAX);
        if e > 1023 {
            f64::INFINITY
        } else if e >= -1022 {
            // In range by the branch conditions, so the cast is exact.
            f64::from_bits(((e + 1023) as u64) << 52)
        } else {
            (e.max(-2000) as f64).exp2()
        }
    } else {
        (exp as f64 / f64::from(1u32 << scale.min(30))).exp2()
    }
}

/// Validates the point and returns its classic buckets: `(le, cumulative)`
/// with finite, strictly increasing bounds (the `+Inf` bucket is implied).
pub(super) fn classic_buckets(
    p: &ExponentialHistogramDataPoint,
) -> Result<Vec<(f64, u64)>, String> {
    if !SCALES.contains(&p.scale) {
        return Err(format!(
            "exponential histogram scale {} is outside {}..={}",
            p.scale,
            SCALES.start(),
            SCALES.end()
        ));
    }
    if !p.zero_threshold.is_finite() || p.zero_threshold < 0.0 {
        return Err(format!(
            "exponential histogram zero threshold {} is not a finite non-negative number",
            p.zero_threshold
        ));
    }
    let mut pos = side(p.positive.as_ref())?;
    let mut neg = side(p.negative.as_ref())?;
    let total = pos
        .iter()
        .chain(&neg)
        .try_fold(p.zero_count, |acc, (_, c)| acc.checked_add(*c))
        .ok_or_else(|| "exponential histogram bucket counts overflow".to_owned())?;
    if total != p.count {
        return Err(format!(
            "exponential histogram buckets add up to {total} but count is {}",
            p.count
        ));
    }

    let mut scale = p.scale;
    while span(&pos) + span(&neg) > MAX_BUCKETS {
        downscale(&mut pos);
        downscale(&mut neg);
        scale -= 1;
    }

    let mut out: Vec<(f64, u64)> = Vec::with_capacity(pos.len() + neg.len() + 1);
    let mut cumulative = 0u64;
    let mut emit = |bound: f64, cumulative: u64| {
        if !bound.is_finite() {
            return;
        }
        match out.last_mut() {
            // Equal (or, through rounding, lower) bounds merge into the bucket
            // already written, whose bound is at least as high.
            Some(last) if bound <= last.0 => last.1 = cumulative,
            _ => out.push((bound, cumulative)),
        }
    };
    for &(i, c) in neg.iter().rev() {
        cumulative = cumulative.saturating_add(c);
        emit(-power(scale, i), cumulative);
    }
    cumulative = cumulative.saturating_add(p.zero_count);
    if pos.is_empty() && p.zero_count > 0 {
        emit(p.zero_threshold, cumulative);
    }
    for &(i, c) in &pos {
        cumulative = cumulative.saturating_add(c);
        emit(power(scale, i.saturating_add(1)), cumulative);
    }
    Ok(out)
}
