//! Flush: cut the WAL, freeze the head, write it as one part per day, then
//! record the parts and the new WAL start in the manifest.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::open::{StoredMetadata, metadata_path};
use super::{MetricsEngine, SIGNAL};
use crate::error::{Error, Result};
use crate::head::Head;
use crate::manifest::Manifest;
use crate::part::{PartMeta, PartWriter, day_of, write_exemplars};

/// What a flush wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Parts written.
    pub parts: Vec<PartMeta>,
    /// Samples moved from the head into parts.
    pub samples: u64,
}

impl MetricsEngine {
    /// Moves everything in the head into parts now.
    pub async fn flush(&self) -> Result<FlushReport> {
        let mut manifest = self.manifest.lock().await;
        let started = Instant::now();
        let (head, wal_next) = {
            let mut wal = self.wal.lock();
            let next = wal.cut()?;
            // Both locks at once (in the order readers take them), so no
            // reader sees the head in neither place.
            let mut active = self.active.write();
            let mut frozen = self.frozen.write();
            let old = std::mem::replace(&mut *active, Arc::new(Head::new()));
            frozen.push(Arc::clone(&old));
            (old, next)
        };
        *self.last_flush.lock() = Instant::now();

        let report = match self.write_head(&mut manifest, &head, wal_next).await {
            Ok(report) => report,
            Err(e) => {
                // The frozen head stays readable and in the WAL; merge it back
                // so that the next flush retries it.
                self.unfreeze(&head);
                return Err(e);
            }
        };
        self.wal.lock().remove_before(wal_next)?;
        self.metrics
            .flush_seconds
            .get_or_create(&vec![("signal", SIGNAL)])
            .observe(started.elapsed().as_secs_f64());
        let active = Arc::clone(&self.active.read());
        self.metrics.head_samples.set(active.sample_count() as i64);
        self.metrics.head_series.set(active.series_count() as i64);
        Ok(report)
    }

    async fn write_head(
        &self,
        manifest: &mut Manifest,
        head: &Head,
        wal_next: u64,
    ) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        let mut writers: BTreeMap<i64, PartWriter> = BTreeMap::new();
        for series in head.snapshot(i64::MIN, i64::MAX) {
            let mut start = 0;
            while start < series.ts.len() {
                let day = day_of(series.ts[start]);
                let end = start + series.ts[start..].partition_point(|&t| day_of(t) == day);
                let writer = match writers.entry(day) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let id = manifest.allocate_part_id();
                        v.insert(PartWriter::new(self.store.clone(), SIGNAL, id, day, 0)?)
                    }
                };
                writer
                    .push_series(
                        series.entry.id,
                        &series.entry.labels,
                        &series.ts[start..end],
                        &series.values[start..end],
                    )
                    .await?;
                start = end;
            }
        }
        let mut exemplars_by_day: BTreeMap<i64, Vec<_>> = BTreeMap::new();
        for (entry, e) in head.exemplars(i64::MIN, i64::MAX) {
            exemplars_by_day
                .entry(day_of(e.ts))
                .or_default()
                .push((entry.id, e));
        }
        for (day, writer) in writers {
            let mut meta = writer.finish().await?;
            if let Some(mut ex) = exemplars_by_day.remove(&day) {
                ex.sort_by_key(|(id, e)| (*id, e.ts));
                write_exemplars(&self.store, SIGNAL, &mut meta, &ex).await?;
            }
            report.samples += meta.rows;
            report.parts.push(meta);
        }
        // Exemplars on days without samples are rare; they are dropped with a
        // log line rather than given a part of their own.
        for (day, ex) in exemplars_by_day {
            tracing::warn!(
                day,
                exemplars = ex.len(),
                "dropping exemplars of a day with no samples"
            );
        }

        self.store_metadata().await?;
        manifest.parts.extend(report.parts.iter().cloned());
        manifest.wal_replay_from = wal_next;
        manifest.store(&self.store, SIGNAL).await?;
        self.publish_parts(manifest, Some(head));
        tracing::debug!(
            parts = report.parts.len(),
            samples = report.samples,
            "flushed head"
        );
        Ok(report)
    }

    async fn store_metadata(&self) -> Result<()> {
        let stored: Vec<StoredMetadata> = self
            .metadata
            .read()
            .values()
            .flatten()
            .map(StoredMetadata::from)
            .collect();
        let json = serde_json::to_vec(&stored).map_err(|e| Error::Manifest {
            path: metadata_path().to_string(),
            message: e.to_string(),
        })?;
        self.store
            .put_durable(&metadata_path(), Bytes::from(json))
            .await
    }

    /// Makes the manifest's parts the ones readers see and, in the same
    /// step, retires the frozen head they replace, so that a reader sees each
    /// sample once.
    pub(super) fn publish_parts(&self, manifest: &Manifest, flushed: Option<&Head>) {
        let parts = Arc::new(manifest.parts.clone());
        self.update_part_gauges(&parts);
        let mut visible = self.parts.write();
        *visible = parts;
        if let Some(head) = flushed {
            self.frozen
                .write()
                .retain(|h| !std::ptr::eq(Arc::as_ptr(h), head));
        }
    }

    /// Returns a frozen head's samples to the active head after a failed
    /// flush. Its WAL segments were not removed, so nothing is lost either way.
    fn unfreeze(&self, head: &Arc<Head>) {
        let active = Arc::clone(&self.active.read());
        for series in head.snapshot(i64::MIN, i64::MAX) {
            let samples: Vec<_> = series
                .ts
                .iter()
                .zip(&series.values)
                .map(|(&ts, &value)| crate::model::Sample { ts, value })
                .collect();
            active.append(&series.entry, &samples);
        }
        for (entry, e) in head.exemplars(i64::MIN, i64::MAX) {
            active.append_exemplars(&entry, std::slice::from_ref(&e));
        }
        self.frozen.write().retain(|h| !Arc::ptr_eq(h, head));
    }

    pub(super) fn update_part_gauges(&self, parts: &[PartMeta]) {
        let label = vec![("signal", SIGNAL)];
        self.metrics
            .parts
            .get_or_create(&label)
            .set(parts.len() as i64);
        self.metrics
            .part_bytes
            .get_or_create(&label)
            .set(parts.iter().map(|p| p.bytes as i64).sum());
    }

    /// Head size that triggers a flush.
    fn flush_threshold(&self) -> usize {
        self.opts
            .head_flush_bytes
            .min(self.opts.head_memory_limit / 2)
    }

    /// Waits until an append finds the head big enough to flush.
    pub async fn flush_wanted(&self) {
        self.flush_wanted.notified().await;
    }

    /// Tells the upkeep loop to flush if the active head is over its size.
    pub(super) fn wake_flush_if_big(&self) {
        if self.active.read().estimated_bytes() >= self.flush_threshold() {
            self.flush_wanted.notify_one();
        }
    }

    /// True when the head is old or big enough to flush.
    pub fn flush_due(&self) -> bool {
        let head = self.active.read();
        !head.is_empty()
            && (self.last_flush.lock().elapsed() >= self.opts.flush_interval
                || head.estimated_bytes() >= self.flush_threshold())
    }
}
