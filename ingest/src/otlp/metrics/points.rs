//! Data points → samples: gauges and sums, explicit-bucket histograms,
//! summaries, and the exemplars riding on them. Each point is validated and
//! written on its own, so one bad point never costs its neighbours.

use hearth_storage::{Exemplar, Label, STALE_NAN_BITS, Sample};
use opentelemetry_proto::tonic::metrics::v1::{
    DataPointFlags, Exemplar as OtlpExemplar, HistogramDataPoint, NumberDataPoint,
    SummaryDataPoint, exemplar, number_data_point,
};

use super::naming::format_le;
use super::{Context, LabelMap, Output, ns_to_ms};
use crate::otlp::value::{attribute_string, hex};

/// Prometheus caps the labels of an exemplar at this many characters; the
/// filtered attributes are dropped (trace and span id kept) past it.
const MAX_EXEMPLAR_RUNES: usize = 128;

/// Prometheus' stale marker, which ends a series in PromQL at once.
pub(super) fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// OTLP's "this point has no value": the series ended, so Prometheus writes
/// a stale marker in every series the point would have produced.
pub(super) fn no_recorded_value(flags: u32) -> bool {
    flags & (DataPointFlags::NoRecordedValueMask as u32) != 0
}

/// The point's time in milliseconds. OTLP requires `time_unix_nano`; a zero
/// means it is missing, and a sample at 1970 would only be refused later.
pub(super) fn point_time(time_unix_nano: u64) -> Result<i64, String> {
    if time_unix_nano == 0 {
        return Err("data point has no time_unix_nano".to_owned());
    }
    Ok(ns_to_ms(time_unix_nano))
}

/// An OTLP exemplar as a Prometheus one: `trace_id`/`span_id` in lowercase
/// hex, then the filtered attributes (raw keys, as Prometheus keeps them)
/// while everything fits in 128 characters, labels sorted by name. An
/// exemplar without a value is dropped; one without a time takes the point's.
pub(super) fn convert_exemplar(e: &OtlpExemplar, point_ts: i64) -> Option<Exemplar> {
    let value = match e.value? {
        exemplar::Value::AsDouble(d) => d,
        exemplar::Value::AsInt(i) => i as f64,
    };
    let mut labels = Vec::new();
    let mut runes = 0usize;
    // Ids of the wrong length cannot be real W3C ids, and all-zero ids mean
    // "no trace"; both are left out rather than guessed at.
    let ids: [(&str, &[u8], usize); 2] =
        [("trace_id", &e.trace_id, 16), ("span_id", &e.span_id, 8)];
    for (name, id, len) in ids {
        if id.len() == len && id.iter().any(|&b| b != 0) {
            let value = hex(id);
            runes += name.len() + value.len();
            labels.push(Label::new(name, value));
        }
    }
    let attrs: Vec<Label> = e
        .filtered_attributes
        .iter()
        .map(|kv| Label::new(kv.key.clone(), attribute_string(kv.value.as_ref())))
        .collect();
    runes += attrs
        .iter()
        .map(|l| l.name.chars().count() + l.value.chars().count())
        .sum::<usize>();
    if runes <= MAX_EXEMPLAR_RUNES {
        labels.extend(attrs);
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    let ts = if e.time_unix_nano == 0 {
        point_ts
    } else {
        ns_to_ms(e.time_unix_nano)
    };
    Some(Exemplar { labels, ts, value })
}

/// A histogram ready to be written as classic series: bucket upper bounds
/// ascending with their cumulative counts (`+Inf` implied, equal to `count`).
pub(super) struct ClassicHistogram<'p> {
    /// Point time, milliseconds.
    pub ts: i64,
    /// Write stale markers instead of values.
    pub stale: bool,
    /// `_sum`, written only when present.
    pub sum: Option<f64>,
    /// `_count` and the `+Inf` bucket.
    pub count: u64,
    /// `(le, cumulative count)`, finite and strictly increasing bounds.
    pub buckets: Vec<(f64, u64)>,
    /// Exemplars to place on the bucket holding their value.
    pub exemplars: &'p [OtlpExemplar],
}

impl Output<'_> {
    /// Gauges and sums; only sums carry exemplars, as in Prometheus.
    pub(super) fn number_points(
        &mut self,
        ctx: &Context,
        name: &str,
        points: &[NumberDataPoint],
        with_exemplars: bool,
    ) {
        for p in points {
            if let Err(reason) = self.number_point(ctx, name, p, with_exemplars) {
                self.reject(1, || format!("metric {name:?}: {reason}"));
            }
        }
    }

    fn number_point(
        &mut self,
        ctx: &Context,
        name: &str,
        p: &NumberDataPoint,
        with_exemplars: bool,
    ) -> Result<(), String> {
        let ts = point_time(p.time_unix_nano)?;
        let value = if no_recorded_value(p.flags) {
            stale_nan()
        } else {
            match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => return Err("data point has no value".to_owned()),
            }
        };
        let labels = self.point_labels(ctx, &p.attributes, &[])?;
        let series = self.series_for(&labels, name)?;
        self.push_sample(series, Sample { ts, value });
        if with_exemplars {
            for e in &p.exemplars {
                if let Some(ex) = convert_exemplar(e, ts) {
                    self.push_exemplar(series, ex);
                }
            }
        }
        Ok(())
    }

    pub(super) fn push_exemplar(&mut self, series: usize, exemplar: Exemplar) {
        if let Some(s) = self.series.get_mut(series) {
            s.exemplars.push(exemplar);
        }
    }

    /// Explicit-bucket histograms.
    pub(super) fn histogram_points(
        &mut self,
        ctx: &Context,
        name: &str,
        points: &[HistogramDataPoint],
    ) {
        for p in points {
            let result = explicit_buckets(p).and_then(|(ts, buckets)| {
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

    /// `_sum` (if present), `_count`, one `_bucket{le}` per bound and
    /// `_bucket{le="+Inf"}` = count. Every series is resolved before any
    /// sample is written, so a failure leaves nothing half-written.
    pub(super) fn write_histogram(
        &mut self,
        name: &str,
        base: &LabelMap,
        h: &ClassicHistogram<'_>,
    ) -> Result<(), String> {
        let sum_series = match h.sum {
            Some(_) => Some(self.series_for(base, &format!("{name}_sum"))?),
            None => None,
        };
        let count_series = self.series_for(base, &format!("{name}_count"))?;
        let bucket_name = format!("{name}_bucket");
        let mut bucket_series = Vec::with_capacity(h.buckets.len() + 1);
        let les = h
            .buckets
            .iter()
            .map(|(le, _)| format_le(*le))
            .chain(std::iter::once("+Inf".to_owned()));
        for le in les {
            let mut labels = base.clone();
            labels.insert("le".to_owned(), le);
            bucket_series.push(self.series_for(&labels, &bucket_name)?);
        }

        let value = |v: f64| if h.stale { stale_nan() } else { v };
        let ts = h.ts;
        if let (Some(series), Some(sum)) = (sum_series, h.sum) {
            self.push_sample(
                series,
                Sample {
                    ts,
                    value: value(sum),
                },
            );
        }
        let count = h.count as f64;
        self.push_sample(
            count_series,
            Sample {
                ts,
                value: value(count),
            },
        );
        let cumulative = h.buckets.iter().map(|(_, c)| *c as f64).chain([count]);
        for (&series, cum) in bucket_series.iter().zip(cumulative) {
            self.push_sample(
                series,
                Sample {
                    ts,
                    value: value(cum),
                },
            );
        }

        for e in h.exemplars {
            let Some(ex) = convert_exemplar(e, ts) else {
                continue;
            };
            // The first bucket the value does not exceed; a NaN value lands
            // in the first bucket, as with Prometheus' comparison.
            let slot = h
                .buckets
                .iter()
                .position(|(le, _)| ex.value <= *le || ex.value.is_nan())
                .unwrap_or(h.buckets.len());
            if let Some(&series) = bucket_series.get(slot) {
                self.push_exemplar(series, ex);
            }
        }
        Ok(())
    }

    /// Summaries: `{quantile="q"}` series, `_sum` and `_count`.
    pub(super) fn summary_points(
        &mut self,
        ctx: &Context,
        name: &str,
        points: &[SummaryDataPoint],
    ) {
        for p in points {
            if let Err(reason) = self.summary_point(ctx, name, p) {
                self.reject(1, || format!("metric {name:?}: {reason}"));
            }
        }
    }

    fn summary_point(
        &mut self,
        ctx: &Context,
        name: &str,
        p: &SummaryDataPoint,
    ) -> Result<(), String> {
        let ts = point_time(p.time_unix_nano)?;
        let base = self.point_labels(ctx, &p.attributes, &[])?;
        let sum_series = self.series_for(&base, &format!("{name}_sum"))?;
        let count_series = self.series_for(&base, &format!("{name}_count"))?;
        let mut quantile_series = Vec::with_capacity(p.quantile_values.len());
        for q in &p.quantile_values {
            let mut labels = base.clone();
            labels.insert("quantile".to_owned(), format_le(q.quantile));
            quantile_series.push((self.series_for(&labels, name)?, q.value));
        }
        let stale = no_recorded_value(p.flags);
        let value = |v: f64| if stale { stale_nan() } else { v };
        self.push_sample(
            sum_series,
            Sample {
                ts,
                value: value(p.sum),
            },
        );
        self.push_sample(
            count_series,
            Sample {
                ts,
                value: value(p.count as f64),
            },
        );
        for (series, v) in quantile_series {
            self.push_sample(
                series,
                Sample {
                    ts,
                    value: value(v),
                },
            );
        }
        Ok(())
    }
}

/// Validates an explicit-bucket point and returns its time and cumulative
/// buckets. Prometheus trusts the sender here; Hearth refuses what would
/// make `_bucket` series non-cumulative or ambiguous instead.
fn explicit_buckets(p: &HistogramDataPoint) -> Result<(i64, Vec<(f64, u64)>), String> {
    let ts = point_time(p.time_unix_nano)?;
    let bounds = &p.explicit_bounds;
    let counts = &p.bucket_counts;
    if counts.is_empty() {
        if !bounds.is_empty() {
            return Err(format!(
                "histogram has {} explicit bounds but no bucket counts",
                bounds.len()
            ));
        }
        return Ok((ts, Vec::new()));
    }
    if counts.len() != bounds.len() + 1 {
        return Err(format!(
            "histogram has {} bucket counts for {} explicit bounds (want bounds + 1)",
            counts.len(),
            bounds.len()
        ));
    }
    for (i, b) in bounds.iter().enumerate() {
        if !b.is_finite() {
            return Err(format!("histogram explicit bound {i} is {b}"));
        }
        if i > 0 && bounds[i - 1] >= *b {
            return Err(format!(
                "histogram explicit bounds are not strictly increasing at {i} ({} then {b})",
                bounds[i - 1]
            ));
        }
    }
    let mut cumulative = 0u64;
    let mut buckets = Vec::with_capacity(bounds.len());
    for (i, c) in counts.iter().enumerate() {
        cumulative = cumulative
            .checked_add(*c)
            .ok_or_else(|| "histogram bucket counts overflow".to_owned())?;
        if let Some(b) = bounds.get(i) {
            buckets.push((*b, cumulative));
        }
    }
    if cumulative != p.count {
        return Err(format!(
            "histogram bucket counts add up to {cumulative} but count is {}",
            p.count
        ));
    }
    Ok((ts, buckets))
}
