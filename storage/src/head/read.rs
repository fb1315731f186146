//! Reading a head: one series at a time, or everything in series-id order
//! for a flush.

use std::sync::Arc;

use super::Head;
use crate::model::{Exemplar, SeriesId};
use crate::postings::SeriesEntry;

/// A copy of one series' samples taken from a head.
#[derive(Debug, Clone)]
pub struct HeadSeriesData {
    /// The series.
    pub entry: Arc<SeriesEntry>,
    /// Timestamps, ascending and unique.
    pub ts: Vec<i64>,
    /// Values, one per timestamp.
    pub values: Vec<f64>,
}

impl Head {
    /// Timestamps and values of series `id` within `[start, end]`, copied
    /// straight from the head's columns.
    pub fn samples(&self, id: SeriesId, start: i64, end: i64) -> (Vec<i64>, Vec<f64>) {
        let shard = self.shard(id).lock();
        let Some(series) = shard.get(&id) else {
            return (Vec::new(), Vec::new());
        };
        let from = series.ts.partition_point(|&t| t < start);
        let to = series.ts.partition_point(|&t| t <= end);
        (
            series.ts[from..to].to_vec(),
            series.values[from..to].to_vec(),
        )
    }

    /// Every series with samples in `[start, end]`, sorted by series id,
    /// holding only those samples.
    pub fn snapshot(&self, start: i64, end: i64) -> Vec<HeadSeriesData> {
        let mut out = Vec::with_capacity(self.series_count());
        for shard in &self.shards {
            let shard = shard.lock();
            for series in shard.values() {
                let from = series.ts.partition_point(|&t| t < start);
                let to = series.ts.partition_point(|&t| t <= end);
                if from < to {
                    out.push(HeadSeriesData {
                        entry: Arc::clone(&series.entry),
                        ts: series.ts[from..to].to_vec(),
                        values: series.values[from..to].to_vec(),
                    });
                }
            }
        }
        out.sort_unstable_by_key(|s| s.entry.id);
        out
    }

    /// Exemplars with timestamps in `[start, end]`.
    pub fn exemplars(&self, start: i64, end: i64) -> Vec<(Arc<SeriesEntry>, Exemplar)> {
        self.exemplars
            .lock()
            .iter()
            .filter(|(_, e)| e.ts >= start && e.ts <= end)
            .cloned()
            .collect()
    }
}
