//! Cumulative classic-histogram state shared by the span metrics and the
//! service graph, and the small pieces both use to turn their state into
//! series: metric families, per-group timestamps and the series budget.

use std::collections::HashSet;
use std::sync::Arc;

use hearth_storage::{
    Label, Labels, METRIC_NAME_LABEL, MetricMetadata, MetricType, MetricsWrite, Sample, SeriesWrite,
};

/// Sorted, finite, distinct upper bounds; `+Inf` is implied. Shared by every
/// histogram of a family so that a series holds only its counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Buckets(Arc<[f64]>);

impl Buckets {
    /// Cleans user-supplied bounds: non-finite values are dropped (`+Inf` is
    /// always added on output, and a `NaN` bound would break the `le` order),
    /// the rest sorted and de-duplicated.
    pub fn new(bounds: &[f64]) -> Self {
        let mut v: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        Self(v.into())
    }

    /// The finite upper bounds, ascending.
    pub fn bounds(&self) -> &[f64] {
        &self.0
    }

    /// Series one histogram writes: a bucket per bound, `+Inf`, `_sum` and
    /// `_count`. This is what it costs against the series limit.
    pub fn series_per_histogram(&self) -> usize {
        self.0.len() + 3
    }
}

/// One cumulative histogram: per-bucket counts (not yet cumulated), sum and
/// count of every observation since the series was created.
#[derive(Clone, Debug)]
pub struct Histogram {
    buckets: Buckets,
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// An empty histogram over `buckets`.
    pub fn new(buckets: &Buckets) -> Self {
        Self {
            buckets: buckets.clone(),
            counts: vec![0; buckets.bounds().len()],
            sum: 0.0,
            count: 0,
        }
    }

    /// Records `value` (seconds) in the first bucket whose bound is `>=` it,
    /// Prometheus' `le` rule; values above every bound only reach `+Inf`.
    pub fn observe(&mut self, value: f64) {
        // Durations are computed from unsigned nanoseconds, but a caller's NaN
        // must not poison the sum forever.
        let value = if value.is_finite() { value } else { 0.0 };
        let idx = self.buckets.bounds().partition_point(|b| *b < value);
        if let Some(c) = self.counts.get_mut(idx) {
            *c += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Appends `<family>_bucket` (one per bound and `+Inf`), `_sum` and
    /// `_count` for `base` labels to `out`.
    pub fn emit(&self, family: &Family, base: &[Label], stamp: Emit, out: &mut Output) {
        let mut cumulative = 0u64;
        let bucket_name = format!("{}_bucket", family.name);
        for (bound, n) in self.buckets.bounds().iter().zip(&self.counts) {
            cumulative += n;
            // Same spelling as the OTLP metrics path (`naming::format_le`):
            // Rust's shortest round-trip digits, never an exponent.
            let le = Label::new("le", format!("{bound}"));
            out.series(
                family,
                &bucket_name,
                base,
                Some(le),
                stamp,
                cumulative as f64,
            );
        }
        let inf = Label::new("le", "+Inf");
        out.series(
            family,
            &bucket_name,
            base,
            Some(inf),
            stamp,
            self.count as f64,
        );
        let sum_name = format!("{}_sum", family.name);
        out.series(family, &sum_name, base, None, stamp, self.sum);
        let count_name = format!("{}_count", family.name);
        out.series(family, &count_name, base, None, stamp, self.count as f64);
    }
}

/// A metric family: what its metadata says.
#[derive(Debug)]
pub struct Family {
    /// Family name; for counters it carries `_total`, as the rest of Hearth
    /// writes counter metadata.
    pub name: &'static str,
    /// Counter or histogram.
    pub kind: MetricType,
    /// Help text.
    pub help: &'static str,
    /// Unit, or "".
    pub unit: &'static str,
}

/// When a group of series is written: its timestamp and whether the group is
/// new, in which case a zero sample goes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Emit {
    /// Timestamp of the current value, ms.
    pub ts: i64,
    /// Write a `0` one millisecond earlier: a series' first increment is
    /// otherwise invisible to `rate()`/`increase()`, which need two samples.
    pub first: bool,
}

/// The last timestamp a group of series was written at. Timestamps only move
/// forward per series, even when two writes land in the same millisecond or
/// the caller's clock steps back, because storage refuses a second, different
/// value at the same timestamp.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stamp(Option<i64>);

impl Stamp {
    /// The timestamp for a write at `now_ms`, and records it.
    pub fn next(&mut self, now_ms: i64) -> Emit {
        let (ts, first) = match self.0 {
            Some(last) => (now_ms.max(last.saturating_add(1)), false),
            None => (now_ms, true),
        };
        self.0 = Some(ts);
        Emit { ts, first }
    }
}

/// The write being assembled, with the metadata of each family it touches.
#[derive(Debug, Default)]
pub struct Output {
    write: MetricsWrite,
    families: HashSet<&'static str>,
}

impl Output {
    /// Adds one series of `family` named `name` with `base` labels (plus
    /// `extra`, the `le` of a bucket) holding `value` at `stamp`.
    pub fn series(
        &mut self,
        family: &Family,
        name: &str,
        base: &[Label],
        extra: Option<Label>,
        stamp: Emit,
        value: f64,
    ) {
        let mut labels = Vec::with_capacity(base.len() + 2);
        labels.extend_from_slice(base);
        labels.push(Label::new(METRIC_NAME_LABEL, name));
        labels.extend(extra);
        // Names are fixed here, so this cannot fail; a set it rejects is
        // skipped rather than written half-formed.
        let Ok(labels) = Labels::new(labels) else {
            return;
        };
        let mut samples = Vec::with_capacity(2);
        if stamp.first {
            samples.push(Sample {
                ts: stamp.ts.saturating_sub(1),
                value: 0.0,
            });
        }
        samples.push(Sample {
            ts: stamp.ts,
            value,
        });
        self.write.series.push(SeriesWrite {
            labels,
            samples,
            exemplars: Vec::new(),
        });
        if self.families.insert(family.name) {
            self.write.metadata.push(MetricMetadata {
                metric_family_name: family.name.to_owned(),
                metric_type: family.kind,
                help: family.help.to_owned(),
                unit: family.unit.to_owned(),
            });
        }
    }

    /// The finished write.
    pub fn finish(self) -> MetricsWrite {
        self.write
    }
}

/// How many series may exist at once, shared by both processors so that the
/// limit bounds memory and storage whatever mix of spans arrives.
#[derive(Debug)]
pub struct Budget {
    max: usize,
    used: usize,
    limited: u64,
}

impl Budget {
    /// A budget of `max` series.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            used: 0,
            limited: 0,
        }
    }

    /// Reserves `n` series for a new group; on refusal counts one limited
    /// observation and returns false.
    pub fn take(&mut self, n: usize) -> bool {
        if self.used.saturating_add(n) <= self.max {
            self.used += n;
            true
        } else {
            self.limited += 1;
            false
        }
    }

    /// Returns `n` series of a forgotten group.
    pub fn release(&mut self, n: usize) {
        self.used = self.used.saturating_sub(n);
    }

    /// Series currently held.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Observations dropped because their series could not be created.
    pub fn limited(&self) -> u64 {
        self.limited
    }
}
