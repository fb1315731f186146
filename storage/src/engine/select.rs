//! Selecting series by label matchers and reading their samples in a time
//! range across parts and heads: what every query language's selectors use.

use std::sync::Arc;

use super::{MetricsEngine, MetricsSnapshot, SIGNAL};
use crate::error::Result;
use crate::matcher::Matcher;
use crate::model::SeriesId;
use crate::object_store::DataStore;
use crate::part::{SampleRun, merge_runs, read_selected};
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
    /// Series matching all `matchers` with their samples in `[mint, maxt]`,
    /// sorted by series id. Series without samples there are left out.
    pub async fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>> {
        let mut entries = self.index().select(matchers, mint, maxt);
        entries.sort_unstable_by_key(|e| e.id);
        let snapshot = self.snapshot();
        snapshot.read(self.store(), entries, mint, maxt).await
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
        for head in self.heads.iter().rev() {
            let mut runs = Vec::new();
            for &id in &ids {
                let samples = head.samples(id, mint, maxt);
                if !samples.is_empty() {
                    runs.push(SampleRun {
                        id,
                        ts: samples.iter().map(|s| s.ts).collect(),
                        values: samples.iter().map(|s| s.value).collect(),
                    });
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
