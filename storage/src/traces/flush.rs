//! Flush: cut the WAL, freeze the head, write it as one part per day (by
//! span start), then record the parts and the new WAL start in the
//! manifest.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::head::TracesHead;
use super::names::NameRow;
use super::part::TracePartWriter;
use super::{SIGNAL, TracesEngine};
use crate::engine::FlushReport;
use crate::error::Result;
use crate::manifest::Manifest;
use crate::part::{PartMeta, day_of_ns};
use crate::traces_model::SpanRow;

impl TracesEngine {
    /// Moves everything in the head into parts now.
    pub async fn flush(&self) -> Result<FlushReport> {
        let mut manifest = self.manifest.lock().await;
        let started = Instant::now();
        let (head, wal_next) = {
            let mut wal = self.wal.lock();
            let next = wal.cut()?;
            let mut active = self.active.write();
            let mut frozen = self.frozen.write();
            let old = std::mem::replace(&mut *active, Arc::new(TracesHead::new()));
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
        head: &TracesHead,
        wal_next: u64,
    ) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        // A subsequence of a sorted list is sorted, so each day's spans
        // keep part order.
        let mut by_day: BTreeMap<i64, Vec<SpanRow>> = BTreeMap::new();
        for span in head.sorted_spans() {
            by_day
                .entry(day_of_ns(span.start_ns))
                .or_default()
                .push(span);
        }
        let mut names = Vec::with_capacity(by_day.len());
        for (day, spans) in by_day {
            let id = manifest.allocate_part_id();
            let mut writer = TracePartWriter::new(self.store.clone(), id, day, 0)?;
            writer.push(&spans).await?;
            let (meta, part_names) = writer.finish().await?;
            report.samples += meta.rows;
            names.push((meta.id, part_names));
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
        self.publish_parts(manifest, Some(head), names);
        tracing::debug!(
            parts = report.parts.len(),
            spans = report.samples,
            "flushed traces head"
        );
        Ok(report)
    }

    /// Makes the manifest's parts the ones readers see, with the names
    /// tables of the new ones, and in the same step retires the frozen head
    /// they replace.
    pub(super) fn publish_parts(
        &self,
        manifest: &Manifest,
        flushed: Option<&TracesHead>,
        new_names: Vec<(u64, Vec<NameRow>)>,
    ) {
        let parts = Arc::new(manifest.parts.clone());
        self.update_part_gauges(&parts);
        let live: std::collections::HashSet<u64> = parts.iter().map(|p| p.id).collect();
        let mut visible = self.parts.write();
        {
            let mut names = self.names.write();
            for (id, rows) in new_names {
                names.insert(id, Arc::new(rows));
            }
            names.retain(|id, _| live.contains(id));
        }
        *visible = parts;
        if let Some(head) = flushed {
            self.frozen
                .write()
                .retain(|h| !std::ptr::eq(Arc::as_ptr(h), head));
        }
        drop(visible);
        self.footers.retain(|id| live.contains(&id));
        self.blooms.retain(|id| live.contains(&id));
    }

    /// Returns a frozen head's spans to the active head after a failed
    /// flush; its WAL segments were kept, so nothing is lost either way.
    fn unfreeze(&self, head: &Arc<TracesHead>) {
        // Both locks at once, so no reader sees the spans in both heads.
        let active = self.active.write();
        let mut frozen = self.frozen.write();
        active.append(head.sorted_spans());
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
