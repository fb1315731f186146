//! Range aggregations: one source call for the whole query span, optional
//! grouping of the samples, then windows slid over each series with two
//! indices.

use std::collections::BTreeMap;
use std::sync::Arc;

use hearth_storage::MatchOp;

use super::label_ops::{ERROR_LABEL, pipeline_error, project};
use super::window::{PrefixSums, WindowSpec, apply};
use super::{Ctx, ExtractedSeries, MetricError, Sample, Steps};
use crate::logql::ast::{RangeAggregation, RangeOp};
use crate::logql::eval::labels::{LabelPairs, get};

/// One vector per step of `agg` over `ctx.steps`.
pub(super) fn evaluate(agg: &RangeAggregation, ctx: &Ctx<'_>) -> Result<Steps, MetricError> {
    let range = agg.range.range_ns;
    let offset = agg.range.offset_ns;
    if range <= 0 {
        return Err(MetricError::Unsupported(format!(
            "{} needs a positive range",
            agg.op.name()
        )));
    }
    let (Some(&first), Some(&last)) = (ctx.steps.first(), ctx.steps.last()) else {
        return Ok(Steps::new());
    };
    let span_start = first.saturating_sub(range).saturating_sub(offset);
    let span_end = last.saturating_sub(offset);
    let mut series = ctx
        .source
        .samples(&agg.range, agg.op, span_start, span_end)?;
    for s in &mut series {
        // The contract says sorted; a cheap check keeps the sliding
        // windows right if a source gets it wrong.
        if !s.samples.is_sorted_by_key(|p| p.0) {
            s.samples.sort_by_key(|p| p.0);
        }
    }
    let windows = Windows {
        steps: &ctx.steps,
        range,
        offset,
    };
    if agg.op == RangeOp::AbsentOverTime {
        return absent(agg, &series, &windows);
    }
    let param = match agg.op {
        RangeOp::QuantileOverTime => agg.param.ok_or_else(|| {
            MetricError::Unsupported("quantile_over_time needs a quantile parameter".into())
        })?,
        _ => 0.0,
    };
    let spec = WindowSpec {
        op: agg.op,
        param,
        range_secs: range as f64 / 1e9,
    };
    let uses_sums = matches!(
        agg.op,
        RangeOp::Rate
            | RangeOp::BytesRate
            | RangeOp::BytesOverTime
            | RangeOp::SumOverTime
            | RangeOp::AvgOverTime
    );
    let mut out: Steps = vec![Vec::new(); ctx.steps.len()];
    for (labels, samples) in group(agg, series) {
        let labels = Arc::new(labels);
        let error = pipeline_error(&labels);
        let sums = uses_sums.then(|| PrefixSums::new(&samples));
        for (i, lo, hi, start, end) in windows.slide(&samples) {
            if let Some(e) = error {
                return Err(e);
            }
            let value = apply(&spec, &samples, sums.as_ref(), lo, hi, start, end);
            out[i].push(Sample {
                labels: Arc::clone(&labels),
                value,
            });
        }
    }
    Ok(out)
}

/// The evaluation times and the window each one reads.
struct Windows<'a> {
    steps: &'a [i64],
    range: i64,
    offset: i64,
}

impl Windows<'_> {
    /// `(step index, lo, hi, window start, window end)` for every step whose
    /// window `(t−offset−range, t−offset]` holds samples `lo..hi`. Both
    /// indices only move forward, so a series is walked once per query.
    fn slide<'s>(
        &'s self,
        samples: &'s [(i64, f64)],
    ) -> impl Iterator<Item = (usize, usize, usize, i64, i64)> + 's {
        let (mut lo, mut hi) = (0usize, 0usize);
        self.steps.iter().enumerate().filter_map(move |(i, &t)| {
            let end = t.saturating_sub(self.offset);
            let start = end.saturating_sub(self.range);
            while hi < samples.len() && samples[hi].0 <= end {
                hi += 1;
            }
            while lo < hi && samples[lo].0 <= start {
                lo += 1;
            }
            (lo < hi).then_some((i, lo, hi, start, end))
        })
    }
}

/// The series the windows run over. With `by`/`without`, samples are
/// grouped by the kept labels *before* the range function, so
/// `sum_over_time(...) by (app)` aggregates every sample of an app at once.
/// A series carrying a pipeline error keeps all its labels, so the error
/// surfaces instead of being grouped away.
fn group(
    agg: &RangeAggregation,
    series: Vec<ExtractedSeries>,
) -> Vec<(LabelPairs, Vec<(i64, f64)>)> {
    let Some(grouping) = agg.grouping.as_ref() else {
        return series.into_iter().map(|s| (s.labels, s.samples)).collect();
    };
    let mut groups: BTreeMap<LabelPairs, Vec<Vec<(i64, f64)>>> = BTreeMap::new();
    for s in series {
        let key = match get(&s.labels, ERROR_LABEL) {
            Some(e) if !e.is_empty() => s.labels,
            _ => project(&s.labels, Some(grouping)),
        };
        groups.entry(key).or_default().push(s.samples);
    }
    groups
        .into_iter()
        .map(|(labels, parts)| {
            let merged = parts.len() > 1;
            let mut samples: Vec<_> = parts.into_iter().flatten().collect();
            if merged {
                // Stable: equal timestamps keep the source's series order.
                samples.sort_by_key(|p| p.0);
            }
            (labels, samples)
        })
        .collect()
}

/// `absent_over_time`: 1 at the steps whose window holds no sample of any
/// series, labelled from the selector's equality matchers as PromQL's
/// `absent` does (a name matched twice with `=` is left out).
fn absent(
    agg: &RangeAggregation,
    series: &[ExtractedSeries],
    windows: &Windows<'_>,
) -> Result<Steps, MetricError> {
    let mut present = vec![false; windows.steps.len()];
    for s in series {
        let error = pipeline_error(&s.labels);
        for (i, ..) in windows.slide(&s.samples) {
            if let Some(e) = error {
                return Err(e);
            }
            present[i] = true;
        }
    }
    let labels = Arc::new(absent_labels(agg));
    Ok(present
        .into_iter()
        .map(|p| {
            if p {
                Vec::new()
            } else {
                vec![Sample {
                    labels: Arc::clone(&labels),
                    value: 1.0,
                }]
            }
        })
        .collect())
}

fn absent_labels(agg: &RangeAggregation) -> LabelPairs {
    let mut labels: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for m in agg
        .range
        .query
        .matchers
        .iter()
        .filter(|m| m.op == MatchOp::Equal)
    {
        labels
            .entry(m.name.as_str())
            .and_modify(|v| *v = None)
            .or_insert(Some(m.value.as_str()));
    }
    labels
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name.to_string(), v.to_string())))
        .collect()
}
