//! Compaction and retention runs, and the periodic tick that drives flush,
//! compaction, retention and the WAL's group commit.

use std::time::Instant;

use super::{MetricsEngine, SIGNAL};
use crate::compact::executor::merge_parts;
use crate::compact::planner::{plan, plan_all};
use crate::error::Result;
use crate::part::{DAY_MS, PartMeta};
use crate::retention;

impl MetricsEngine {
    /// Runs the compaction the policy asks for (or, with `force`, merges
    /// every day that has more than one part). Returns the jobs done.
    ///
    /// The manifest lock is held only to plan and to commit each merge, not
    /// while merging, so a flush never waits behind a long compaction.
    pub async fn compact(&self, force: bool) -> Result<usize> {
        let planned: Vec<(Vec<PartMeta>, u64)> = {
            let mut manifest = self.manifest.lock().await;
            let now = now_ms();
            let jobs = if force {
                plan_all(&manifest.parts)
            } else {
                plan(&manifest.parts, &self.opts.compaction, now)
            };
            jobs.iter()
                .map(|job| {
                    let inputs: Vec<PartMeta> = manifest
                        .parts
                        .iter()
                        .filter(|p| job.part_ids.contains(&p.id))
                        .cloned()
                        .collect();
                    (inputs, manifest.allocate_part_id())
                })
                .collect()
        };
        let mut done = 0;
        for (inputs, new_id) in planned {
            let started = Instant::now();
            // Parts are immutable, so they can be read without the lock;
            // flushes may add parts meanwhile, all with higher ids.
            let merged = merge_parts(&self.store, SIGNAL, &inputs, new_id).await?;
            let mut manifest = self.manifest.lock().await;
            let intact = inputs
                .iter()
                .all(|input| manifest.parts.iter().any(|p| p.id == input.id));
            if !intact {
                // Retention or another compaction took inputs meanwhile.
                drop(manifest);
                self.delete_parts(std::slice::from_ref(&merged)).await?;
                continue;
            }
            manifest
                .parts
                .retain(|p| !inputs.iter().any(|input| input.id == p.id));
            manifest.parts.push(merged);
            manifest.parts.sort_by_key(|p| (p.day, p.id));
            manifest.store(&self.store, SIGNAL).await?;
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

    /// Drops whole days past the retention limits. Returns the days dropped.
    pub async fn apply_retention(&self, now_ms: i64) -> Result<Vec<i64>> {
        let mut manifest = self.manifest.lock().await;
        let days = retention::plan(&manifest.parts, &self.opts.retention, now_ms);
        let Some(&newest_dropped) = days.last() else {
            return Ok(days);
        };
        let (dropped, kept): (Vec<PartMeta>, Vec<PartMeta>) = manifest
            .parts
            .drain(..)
            .partition(|p| days.contains(&p.day));
        manifest.parts = kept;
        manifest.store(&self.store, SIGNAL).await?;
        self.publish_parts(&manifest, None);
        self.graveyard.bury(&dropped, Instant::now());
        let removed = self.index.remove_older_than((newest_dropped + 1) * DAY_MS);
        self.metrics.index_series.set(self.index.len() as i64);
        tracing::info!(
            ?days,
            parts = dropped.len(),
            series_removed = removed,
            "retention dropped days"
        );
        Ok(days)
    }

    async fn delete_parts(&self, parts: &[PartMeta]) -> Result<()> {
        for p in parts {
            self.store.delete(&p.samples_path(SIGNAL)).await?;
            self.store.delete(&p.series_path(SIGNAL)).await?;
            if p.has_exemplars {
                self.store.delete(&p.exemplars_path(SIGNAL)).await?;
            }
        }
        self.store.prune_empty_dirs(&SIGNAL.into());
        Ok(())
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
            self.background_error("flush", &e);
        }
        if let Err(e) = self.compact(false).await {
            self.background_error("compaction", &e);
        }
        if let Err(e) = self.apply_retention(now_ms()).await {
            self.background_error("retention", &e);
        }
        if let Err(e) = self.delete_retired().await {
            self.background_error("delete_retired", &e);
        }
    }

    fn background_error(&self, kind: &'static str, e: &crate::error::Error) {
        self.metrics
            .background_error("metrics", kind, &self.closed, e);
    }
}

/// Wall-clock time in ms.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
