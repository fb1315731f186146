//! Flush: cut the WAL, freeze the head, write it as one part per day, then
//! record the parts and the new WAL start in the manifest.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::head::LogsHead;
use super::part::{LogPartWriter, day_of_ns};
use super::{LogsEngine, SIGNAL};
use crate::engine::FlushReport;
use crate::error::Result;
use crate::manifest::Manifest;
use crate::part::PartMeta;

impl LogsEngine {
    /// Moves everything in the head into parts now.
    pub async fn flush(&self) -> Result<FlushReport> {
        let mut manifest = self.manifest.lock().await;
        let started = Instant::now();
        let (head, wal_next) = {
            let mut wal = self.wal.lock();
            let next = wal.cut()?;
            let mut active = self.active.write();
            let mut frozen = self.frozen.write();
            let old = std::mem::replace(&mut *active, Arc::new(LogsHead::new()));
            frozen.push(Arc::clone(&old));
            (old, next)
        };
        *self.last_flush.lock() = Instant::now();
        let report = match self.write_head(&mut manifest, &head, wal_next).await {
            Ok(report) => report,
            Err(e) => {
                self.unfreeze(&head);
                return Err(e);
            }
        };
        self.wal.lock().remove_before(wal_next)?;
        self.metrics
            .flush_seconds
            .get_or_create(&vec![("signal", SIGNAL)])
            .observe(started.elapsed().as_secs_f64());
        Ok(report)
    }

    async fn write_head(
        &self,
        manifest: &mut Manifest,
        head: &LogsHead,
        wal_next: u64,
    ) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        let mut writers: BTreeMap<i64, LogPartWriter> = BTreeMap::new();
        for stream in head.rows(i64::MIN, i64::MAX, |_| true) {
            let labels: Vec<(String, String)> = stream
                .entry
                .labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            let rows = &stream.rows;
            let mut start = 0;
            while start < rows.len() {
                let day = day_of_ns(rows[start].ts_ns);
                let end = start + rows[start..].partition_point(|r| day_of_ns(r.ts_ns) == day);
                let writer = match writers.entry(day) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let id = manifest.allocate_part_id();
                        v.insert(LogPartWriter::new(self.store.clone(), id, day, 0)?)
                    }
                };
                writer
                    .push_stream(stream.entry.id, labels.clone(), &rows[start..end])
                    .await?;
                start = end;
            }
        }
        for (_, writer) in writers {
            let meta = writer.finish().await?;
            report.samples += meta.rows;
            report.parts.push(meta);
        }
        // The new manifest replaces the old only once it is stored, so a
        // failed write leaves nothing in memory that a later store would
        // persist next to the head's retried flush.
        let mut next = manifest.clone();
        next.parts.extend(report.parts.iter().cloned());
        next.wal_replay_from = wal_next;
        next.store(&self.store, SIGNAL).await?;
        *manifest = next;
        self.publish_parts(manifest, Some(head));
        tracing::debug!(
            parts = report.parts.len(),
            entries = report.samples,
            "flushed logs head"
        );
        Ok(report)
    }

    /// Makes the manifest's parts the ones readers see and, in the same
    /// step, retires the frozen head they replace.
    pub(super) fn publish_parts(&self, manifest: &Manifest, flushed: Option<&LogsHead>) {
        let parts = Arc::new(manifest.parts.clone());
        self.update_part_gauges(&parts);
        let live: std::collections::HashSet<u64> = parts.iter().map(|p| p.id).collect();
        let mut visible = self.parts.write();
        *visible = parts;
        if let Some(head) = flushed {
            self.frozen
                .write()
                .retain(|h| !std::ptr::eq(Arc::as_ptr(h), head));
        }
        drop(visible);
        self.text_cache.retain(|id| live.contains(&id));
    }

    /// Returns a frozen head's entries to the active head after a failed
    /// flush; its WAL segments were kept, so nothing is lost either way.
    fn unfreeze(&self, head: &Arc<LogsHead>) {
        // Both locks at once, so no reader sees the entries in both heads.
        let active = self.active.write();
        let mut frozen = self.frozen.write();
        for stream in head.rows(i64::MIN, i64::MAX, |_| true) {
            active.append(&stream.entry, stream.rows);
        }
        frozen.retain(|h| !Arc::ptr_eq(h, head));
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

    fn flush_threshold(&self) -> usize {
        self.opts
            .head_flush_bytes
            .min(self.opts.head_memory_limit / 2)
    }

    /// Waits until an append finds the head big enough to flush.
    pub async fn flush_wanted(&self) {
        self.flush_wanted.notified().await;
    }

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
