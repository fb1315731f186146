//! Compaction, retention and the periodic upkeep of the logs engine.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::head::{HeadEntry, dedup_same_time};
use super::part::{LogPartWriter, PartQuery, delete_part, read_entries};
use super::{DAY_NS, LogsEngine, SIGNAL};
use crate::compact::planner::{chunk_by_size, plan, plan_all};
use crate::engine::now_ms;
use crate::error::Result;
use crate::model::SeriesId;
use crate::part::{PartMeta, read_series};
use crate::retention;

impl LogsEngine {
    /// Runs the compaction the policy asks for (or, with `force`, merges
    /// every day with more than one part), never building a part with more
    /// than `max_merged_raw_bytes` of lines; a flushed part that the cap
    /// leaves without a merge partner is rewritten alone. Returns the merges
    /// done.
    pub async fn compact(&self, force: bool) -> Result<usize> {
        let planned: Vec<(Vec<PartMeta>, u64)> = {
            let mut manifest = self.manifest.lock().await;
            let jobs = if force {
                plan_all(&manifest.parts)
            } else {
                plan(&manifest.parts, &self.opts.compaction, now_ms())
            };
            let mut planned = Vec::new();
            for job in jobs {
                let (too_big, inputs): (Vec<PartMeta>, Vec<PartMeta>) = manifest
                    .parts
                    .iter()
                    .filter(|p| job.part_ids.contains(&p.id))
                    .cloned()
                    .partition(|p| p.raw_bytes >= self.opts.max_merged_raw_bytes);
                let mut chunks: Vec<Vec<PartMeta>> = too_big.into_iter().map(|p| vec![p]).collect();
                chunks.extend(chunk_by_size(inputs, self.opts.max_merged_raw_bytes));
                for chunk in chunks {
                    // A flushed part left without a merge partner by the size
                    // cap was written at the fast flush level; rewriting it
                    // alone at the merged level makes its lines about a fifth
                    // smaller for good.
                    let lone_flushed = chunk.len() == 1 && chunk[0].level == 0;
                    if chunk.len() >= 2 || lone_flushed {
                        planned.push((chunk, manifest.allocate_part_id()));
                    }
                }
            }
            planned
        };
        let mut done = 0;
        for (inputs, new_id) in planned {
            let started = Instant::now();
            let merged = self.merge(&inputs, new_id).await?;
            let mut manifest = self.manifest.lock().await;
            let intact = inputs
                .iter()
                .all(|input| manifest.parts.iter().any(|p| p.id == input.id));
            if !intact {
                drop(manifest);
                delete_part(&self.store, &merged).await?;
                continue;
            }
            let mut next = manifest.clone();
            next.parts
                .retain(|p| !inputs.iter().any(|input| input.id == p.id));
            next.parts.push(merged.clone());
            next.parts.sort_by_key(|p| (p.day, p.id));
            if let Err(e) = next.store(&self.store, SIGNAL).await {
                drop(manifest);
                delete_part(&self.store, &merged).await?;
                return Err(e);
            }
            *manifest = next;
            self.publish_parts(&manifest, None);
            drop(manifest);
            self.graveyard.bury(&inputs, Instant::now());
            self.metrics
                .compaction_seconds
                .get_or_create(&vec![("signal", SIGNAL)])
                .observe(started.elapsed().as_secs_f64());
            done += 1;
        }
        Ok(done)
    }

    /// Merges parts of one day into part `new_id`. Inputs are held in
    /// memory whole, which the raw-size cap on merges bounds.
    async fn merge(&self, inputs: &[PartMeta], new_id: u64) -> Result<PartMeta> {
        let day = inputs.first().map_or(0, |p| p.day);
        let level = inputs.iter().map(|p| p.level).max().unwrap_or(0) + 1;
        let mut labels: HashMap<SeriesId, Vec<(String, String)>> = HashMap::new();
        for part in inputs {
            for s in read_series(&self.store, SIGNAL, part).await? {
                labels.entry(s.id).or_insert(s.labels);
            }
        }
        let mut ids: Vec<SeriesId> = labels.keys().copied().collect();
        ids.sort_unstable();
        let mut rows: BTreeMap<SeriesId, Vec<HeadEntry>> = BTreeMap::new();
        for part in inputs {
            let q = PartQuery {
                ids: &ids,
                start: i64::MIN,
                end: i64::MAX,
                candidates: None,
            };
            read_entries(&self.store, part, q, |id, run| {
                rows.entry(id).or_default().extend(run);
            })
            .await?;
        }
        let mut writer = LogPartWriter::new(self.store.clone(), new_id, day, level)?;
        for (id, mut run) in rows {
            run.sort_by_key(|r| r.ts_ns);
            dedup_same_time(&mut run);
            let stream_labels = labels.remove(&id).unwrap_or_default();
            writer.push_stream(id, stream_labels, &run).await?;
        }
        writer.finish().await
    }

    /// Drops whole days past the retention limits. Returns the days dropped.
    pub async fn apply_retention(&self, now_ms: i64) -> Result<Vec<i64>> {
        let mut manifest = self.manifest.lock().await;
        let days = retention::plan(&manifest.parts, &self.opts.retention, now_ms);
        let Some(&newest_dropped) = days.last() else {
            return Ok(days);
        };
        let (dropped, kept): (Vec<PartMeta>, Vec<PartMeta>) = manifest
            .parts
            .iter()
            .cloned()
            .partition(|p| days.contains(&p.day));
        let mut next = manifest.clone();
        next.parts = kept;
        next.store(&self.store, SIGNAL).await?;
        *manifest = next;
        self.publish_parts(&manifest, None);
        self.graveyard.bury(&dropped, Instant::now());
        let removed = self
            .index
            .remove_older_than((newest_dropped + 1).saturating_mul(DAY_NS));
        tracing::info!(
            ?days,
            parts = dropped.len(),
            streams_removed = removed,
            "logs retention dropped days"
        );
        Ok(days)
    }

    /// Deletes the files of parts retired long enough ago that no query
    /// can still be reading them.
    async fn delete_retired(&self) -> Result<()> {
        self.graveyard.delete_due(&self.store, SIGNAL).await
    }

    /// One round of background upkeep: flush if due, compact, enforce
    /// retention, delete retired parts. Errors are logged and counted; the
    /// next tick retries.
    pub async fn maintain(&self) {
        if self.flush_due()
            && let Err(e) = self.flush().await
        {
            self.background_error("logs_flush", &e);
        }
        if let Err(e) = self.compact(false).await {
            self.background_error("logs_compaction", &e);
        }
        if let Err(e) = self.apply_retention(now_ms()).await {
            self.background_error("logs_retention", &e);
        }
        if let Err(e) = self.delete_retired().await {
            self.background_error("logs_delete_retired", &e);
        }
    }

    fn background_error(&self, kind: &'static str, e: &crate::error::Error) {
        self.metrics.background_error("logs", kind, &self.closed, e);
    }
}
