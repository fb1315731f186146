//! Appending samples to a head.

use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Head, HeadSeries};
use crate::model::{Exemplar, Sample};
use crate::postings::SeriesEntry;

impl Head {
    /// Inserts `samples` (already accepted) for `entry`. An equal timestamp
    /// replaces the earlier value: the last write wins.
    pub fn append(&self, entry: &Arc<SeriesEntry>, samples: &[Sample]) {
        if samples.is_empty() {
            return;
        }
        let mut shard = self.shard(entry.id).lock();
        let series = match shard.entry(entry.id) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                self.series.fetch_add(1, Ordering::Relaxed);
                v.insert(HeadSeries {
                    entry: Arc::clone(entry),
                    ts: Vec::new(),
                    values: Vec::new(),
                })
            }
        };
        let mut added = 0usize;
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for s in samples {
            min = min.min(s.ts);
            max = max.max(s.ts);
            match series.ts.last() {
                None => {
                    series.ts.push(s.ts);
                    series.values.push(s.value);
                    added += 1;
                }
                Some(&last) if s.ts > last => {
                    series.ts.push(s.ts);
                    series.values.push(s.value);
                    added += 1;
                }
                Some(_) => match series.ts.binary_search(&s.ts) {
                    Ok(i) => series.values[i] = s.value,
                    Err(i) => {
                        series.ts.insert(i, s.ts);
                        series.values.insert(i, s.value);
                        added += 1;
                    }
                },
            }
        }
        drop(shard);
        self.samples.fetch_add(added, Ordering::Relaxed);
        self.min_ts.fetch_min(min, Ordering::Relaxed);
        self.max_ts.fetch_max(max, Ordering::Relaxed);
        entry.observe(min, max);
    }

    /// Keeps exemplars for `entry`.
    pub fn append_exemplars(&self, entry: &Arc<SeriesEntry>, exemplars: &[Exemplar]) {
        if exemplars.is_empty() {
            return;
        }
        let mut held = self.exemplars.lock();
        held.extend(exemplars.iter().map(|e| (Arc::clone(entry), e.clone())));
        self.exemplar_count
            .fetch_add(exemplars.len(), Ordering::Relaxed);
    }
}
