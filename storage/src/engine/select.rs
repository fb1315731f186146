//! Selecting series by label matchers and reading their samples in a time
//! range across parts and heads: what every query language's selectors use.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{MetricsEngine, MetricsSnapshot, SIGNAL};
use crate::error::Result;
use crate::matcher::Matcher;
use crate::model::{Exemplar, SeriesId};
use crate::object_store::DataStore;
use crate::part::{SampleRun, merge_runs, read_exemplars, read_selected};
use crate::postings::SeriesEntry;

/// One selected series with its samples, timestamps ascending and unique.
#[derive(Debug, Clone)]
pub struct SelectedSeries {
    /// The series.
    pub entry: Arc<SeriesEntry>,
    /// Timestamps (ms).
    pub ts: Vec<i64>,
    /// Values, stale markers included bit-exact.
    pub values: Vec<f64>,
}

impl MetricsEngine {
    /// Exemplars with `start <= ts <= end` of the series matching any of
    /// `matcher_sets`, grouped by series (id order), each group by time.
    /// The same exemplar stored twice (a head and a part) is reported once.
    pub async fn exemplars(
        &self,
        matcher_sets: &[Vec<Matcher>],
        start: i64,
        end: i64,
    ) -> Result<Vec<(Arc<SeriesEntry>, Vec<Exemplar>)>> {
        let mut wanted: BTreeMap<SeriesId, (Arc<SeriesEntry>, Vec<Exemplar>)> = BTreeMap::new();
        for set in matcher_sets {
            for entry in self.index().select(set, start, end) {
                wanted
                    .entry(entry.id)
                    .or_insert_with(|| (entry, Vec::new()));
            }
        }
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let snapshot = self.snapshot();
        for part in snapshot.parts.iter() {
            if !part.has_exemplars || part.max_ts < start || part.min_ts > end {
                continue;
            }
            for (id, e) in read_exemplars(self.store(), SIGNAL, part).await? {
                if e.ts >= start
                    && e.ts <= end
                    && let Some((_, list)) = wanted.get_mut(&id)
                {
                    list.push(e);
                }
            }
        }
        for head in &snapshot.heads {
            for (entry, e) in head.exemplars(start, end) {
                if let Some((_, list)) = wanted.get_mut(&entry.id) {
                    list.push(e);
                }
            }
        }
        Ok(wanted
            .into_values()
            .filter_map(|(entry, mut list)| {
                list.sort_by(|a, b| a.ts.cmp(&b.ts).then(a.value.total_cmp(&b.value)));
                list.dedup_by(|a, b| {
                    a.ts == b.ts && a.value.to_bits() == b.value.to_bits() && a.labels == b.labels
                });
                (!list.is_empty()).then_some((entry, list))
            })
            .collect())
    }
}

impl MetricsSnapshot {
    /// Reads `entries` (sorted by id) in `[mint, maxt]`. Where parts and
    /// heads hold the same timestamp, the newer source wins, as in compaction.
    pub async fn read(
        &self,
        store: &DataStore,
        entries: Vec<Arc<SeriesEntry>>,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>> {
        let ids: Vec<SeriesId> = entries.iter().map(|e| e.id).collect();
        // Sources from oldest to newest; later ones override equal timestamps.
        let mut sources: Vec<Vec<SampleRun>> = Vec::new();
        let mut parts: Vec<_> = self.parts.iter().collect();
        parts.sort_by_key(|p| p.id);
        for part in parts {
            let runs = read_selected(store, SIGNAL, part, &ids, mint, maxt).await?;
            if !runs.is_empty() {
                sources.push(runs);
            }
        }
        for head in &self.heads {
            let mut runs = Vec::new();
            for &id in &ids {
                let (ts, values) = head.samples(id, mint, maxt);
                if !ts.is_empty() {
                    runs.push(SampleRun { id, ts, values });
                }
            }
            if !runs.is_empty() {
                sources.push(runs);
            }
        }

        let mut cursors = vec![0usize; sources.len()];
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut pieces: Vec<SampleRun> = Vec::new();
            for (source, cursor) in sources.iter_mut().zip(cursors.iter_mut()) {
                while source.get(*cursor).is_some_and(|r| r.id < entry.id) {
                    *cursor += 1;
                }
                if let Some(run) = source.get_mut(*cursor)
                    && run.id == entry.id
                {
                    pieces.push(std::mem::take(run));
                    *cursor += 1;
                }
            }
            let (ts, values) = merge_runs(pieces);
            if !ts.is_empty() {
                out.push(SelectedSeries { entry, ts, values });
            }
        }
        Ok(out)
    }
}
