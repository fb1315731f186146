//! The in-memory head: samples accepted since the last flush, queryable at
//! once. A head is swapped out whole when it is flushed and stays readable
//! (frozen) until its parts are in the manifest.

mod append;
mod read;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::model::{Exemplar, SeriesId};
use crate::postings::SeriesEntry;

pub use read::HeadSeriesData;

const SHARDS: usize = 16;

/// Rough per-series bookkeeping cost, for the memory budget.
const SERIES_OVERHEAD_BYTES: usize = 160;
/// Cost of one sample in the head: a timestamp and a value.
const SAMPLE_BYTES: usize = 16;
/// Rough cost of one exemplar.
const EXEMPLAR_BYTES: usize = 96;

/// Samples of one series, sorted by time with unique timestamps.
#[derive(Debug)]
struct HeadSeries {
    entry: Arc<SeriesEntry>,
    ts: Vec<i64>,
    values: Vec<f64>,
}

/// One head: a sharded map from series id to samples.
#[derive(Debug)]
pub struct Head {
    shards: Vec<Mutex<HashMap<SeriesId, HeadSeries>>>,
    exemplars: Mutex<Vec<(Arc<SeriesEntry>, Exemplar)>>,
    samples: AtomicUsize,
    series: AtomicUsize,
    exemplar_count: AtomicUsize,
    min_ts: AtomicI64,
    max_ts: AtomicI64,
}

impl Head {
    /// An empty head.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            exemplars: Mutex::new(Vec::new()),
            samples: AtomicUsize::new(0),
            series: AtomicUsize::new(0),
            exemplar_count: AtomicUsize::new(0),
            min_ts: AtomicI64::new(i64::MAX),
            max_ts: AtomicI64::new(i64::MIN),
        }
    }

    fn shard(&self, id: SeriesId) -> &Mutex<HashMap<SeriesId, HeadSeries>> {
        &self.shards[(id as usize) % SHARDS]
    }

    /// Samples held.
    pub fn sample_count(&self) -> usize {
        self.samples.load(Ordering::Relaxed)
    }

    /// Series with at least one sample here.
    pub fn series_count(&self) -> usize {
        self.series.load(Ordering::Relaxed)
    }

    /// Exemplars held.
    pub fn exemplar_count(&self) -> usize {
        self.exemplar_count.load(Ordering::Relaxed)
    }

    /// Estimated memory in bytes.
    pub fn estimated_bytes(&self) -> usize {
        self.sample_count() * SAMPLE_BYTES
            + self.series_count() * SERIES_OVERHEAD_BYTES
            + self.exemplar_count() * EXEMPLAR_BYTES
    }

    /// Time bounds of the samples held, or `None` when empty.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let (min, max) = (
            self.min_ts.load(Ordering::Relaxed),
            self.max_ts.load(Ordering::Relaxed),
        );
        (min <= max).then_some((min, max))
    }

    /// True when nothing has been appended.
    pub fn is_empty(&self) -> bool {
        self.sample_count() == 0 && self.exemplar_count() == 0
    }
}

impl Default for Head {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests;
