//! The write path: resolve series, apply the out-of-order rule, write the
//! WAL, then the head. Only accepted samples reach the WAL.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::MetricsEngine;
use super::open::merge_metadata;
use crate::error::{Error, Result};
use crate::model::{MetricsWrite, Sample, SeriesWrite};
use crate::postings::SeriesEntry;
use crate::wal::encode_metrics;

/// Samples of one series that were not stored, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesRejection {
    /// The series, rendered Prometheus-style.
    pub series: String,
    /// Machine-readable reason (a metric label).
    pub reason: &'static str,
    /// Human-readable detail.
    pub detail: String,
    /// Samples lost.
    pub samples: usize,
}

/// What an append stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Samples stored.
    pub samples_written: usize,
    /// Exemplars stored.
    pub exemplars_written: usize,
    /// Series (or parts of them) that were not stored.
    pub rejected: Vec<SeriesRejection>,
}

impl MetricsEngine {
    /// Stores a write. Returns once the accepted part is in the WAL (and
    /// fsynced, under the per-request policy) and visible to readers. Blocks
    /// on file I/O: call it from a blocking context.
    pub fn append(&self, write: MetricsWrite) -> Result<AppendOutcome> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::ShuttingDown);
        }
        let used = self.head_bytes();
        if used > self.opts.head_memory_limit {
            return Err(Error::OverBudget {
                used,
                limit: self.opts.head_memory_limit,
            });
        }
        let mut outcome = AppendOutcome::default();
        let mut resolved: Vec<(Arc<SeriesEntry>, SeriesWrite)> =
            Vec::with_capacity(write.series.len());
        for series in write.series {
            match self.index.get_or_insert(&series.labels) {
                Ok(entry) => resolved.push((entry, series)),
                Err(e) => outcome.rejected.push(SeriesRejection {
                    series: series.labels.to_string(),
                    reason: "series_id_collision",
                    detail: e.to_string(),
                    samples: series.samples.len(),
                }),
            }
        }

        let mut wal = self.wal.lock();
        let window = self.opts.out_of_order_window_ms;
        let mut accepted = MetricsWrite {
            series: Vec::with_capacity(resolved.len()),
            metadata: write.metadata,
        };
        let mut entries = Vec::with_capacity(resolved.len());
        for (entry, mut series) in resolved {
            let mut newest = entry.max_ts();
            let before = series.samples.len();
            let mut oldest_rejected = None;
            series.samples.retain(|s: &Sample| {
                let ok = newest == i64::MIN || s.ts >= newest.saturating_sub(window);
                if ok {
                    newest = newest.max(s.ts);
                } else {
                    oldest_rejected.get_or_insert(s.ts);
                }
                ok
            });
            if series.samples.len() < before {
                outcome.rejected.push(SeriesRejection {
                    series: series.labels.to_string(),
                    reason: "out_of_order",
                    detail: format!(
                        "sample at {} is older than the series' newest sample minus the {window} ms out-of-order window",
                        oldest_rejected.unwrap_or_default()
                    ),
                    samples: before - series.samples.len(),
                });
            }
            if !series.samples.is_empty() || !series.exemplars.is_empty() {
                outcome.samples_written += series.samples.len();
                outcome.exemplars_written += series.exemplars.len();
                entries.push(entry);
                accepted.series.push(series);
            }
        }
        if accepted.series.is_empty() && accepted.metadata.is_empty() {
            return Ok(outcome);
        }

        let mut buf = Vec::new();
        encode_metrics(&accepted, &mut buf);
        let before = (wal.bytes_written, wal.fsyncs);
        wal.append(&buf)?;
        self.metrics.wal_bytes.inc_by(wal.bytes_written - before.0);
        self.metrics.wal_fsyncs.inc_by(wal.fsyncs - before.1);

        let head = Arc::clone(&self.active.read());
        for (entry, series) in entries.iter().zip(&accepted.series) {
            head.append(entry, &series.samples);
            head.append_exemplars(entry, &series.exemplars);
        }
        drop(wal);
        if !accepted.metadata.is_empty() {
            let mut metadata = self.metadata.write();
            for m in accepted.metadata {
                merge_metadata(&mut metadata, m);
            }
        }
        self.metrics.head_series.set(head.series_count() as i64);
        self.metrics.head_samples.set(head.sample_count() as i64);
        self.metrics.index_series.set(self.index.len() as i64);
        self.wake_flush_if_big();
        Ok(outcome)
    }

    /// Estimated bytes held by the active and frozen heads.
    pub fn head_bytes(&self) -> usize {
        self.active.read().estimated_bytes()
            + self
                .frozen
                .read()
                .iter()
                .map(|h| h.estimated_bytes())
                .sum::<usize>()
    }

    /// Fsyncs the WAL if it has unsynced data (the group-commit tick).
    pub fn sync_wal(&self) -> Result<()> {
        let mut wal = self.wal.lock();
        let before = wal.fsyncs;
        wal.sync()?;
        self.metrics.wal_fsyncs.inc_by(wal.fsyncs - before);
        Ok(())
    }

    /// Stops taking writes and makes everything written durable.
    pub fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        self.sync_wal()
    }
}
