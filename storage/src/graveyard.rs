//! Parts taken out of the manifest (merged away, or past retention) keep
//! their files for a grace period: a query that took the list of parts
//! just before may still be reading them, and deleting under it would fail
//! the query. Files left behind by a stop are orphans on the next open and
//! removed then.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::Result;
use crate::object_store::DataStore;
use crate::part::PartMeta;

/// How long a retired part's files outlive it: well past the longest a
/// query may run (the default query timeout is two minutes).
pub const RETIRED_PART_GRACE: Duration = Duration::from_secs(10 * 60);

/// Retired parts waiting for their files to be deleted.
#[derive(Debug)]
pub(crate) struct Graveyard {
    grace: Duration,
    buried: Mutex<Vec<(Instant, PartMeta)>>,
}

impl Graveyard {
    pub(crate) fn new(grace: Duration) -> Self {
        Self {
            grace,
            buried: Mutex::new(Vec::new()),
        }
    }

    /// Parts just removed from the published list.
    pub(crate) fn bury(&self, parts: &[PartMeta], now: Instant) {
        self.buried
            .lock()
            .extend(parts.iter().map(|p| (now, p.clone())));
    }

    /// Parts retired at least the grace period ago, no longer kept here.
    pub(crate) fn take_due(&self, now: Instant) -> Vec<PartMeta> {
        let mut buried = self.buried.lock();
        let (due, waiting): (Vec<_>, Vec<_>) = buried
            .drain(..)
            .partition(|(at, _)| now.saturating_duration_since(*at) >= self.grace);
        *buried = waiting;
        due.into_iter().map(|(_, p)| p).collect()
    }

    /// Puts parts whose deletion failed back, to be tried again.
    pub(crate) fn rebury(&self, parts: Vec<PartMeta>, at: Instant) {
        self.buried
            .lock()
            .extend(parts.into_iter().map(|p| (at, p)));
    }

    /// Deletes every file of the parts of `signal` retired at least the
    /// grace period ago; what fails is kept for the next round.
    pub(crate) async fn delete_due(&self, store: &DataStore, signal: &str) -> Result<()> {
        let now = Instant::now();
        let mut due = self.take_due(now);
        if due.is_empty() {
            return Ok(());
        }
        while let Some(part) = due.last() {
            let deleted: Result<()> = async {
                for path in store.list(&part.dir(signal)).await? {
                    store.delete(&path).await?;
                }
                Ok(())
            }
            .await;
            if let Err(e) = deleted {
                self.rebury(due, now);
                return Err(e);
            }
            due.pop();
        }
        store.prune_empty_dirs(&signal.into());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(id: u64) -> PartMeta {
        PartMeta {
            id,
            day: 0,
            min_ts: 0,
            max_ts: 0,
            rows: 0,
            series: 0,
            bytes: 0,
            level: 0,
            has_exemplars: false,
            raw_bytes: 0,
        }
    }

    #[test]
    fn parts_are_due_only_after_the_grace_period() {
        let g = Graveyard::new(Duration::from_secs(60));
        let t0 = Instant::now();
        g.bury(&[part(1), part(2)], t0);
        g.bury(&[part(3)], t0 + Duration::from_secs(30));
        assert!(g.take_due(t0 + Duration::from_secs(59)).is_empty());
        let due: Vec<u64> = g
            .take_due(t0 + Duration::from_secs(60))
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(due, vec![1, 2]);
        assert!(g.take_due(t0 + Duration::from_secs(61)).is_empty());
        g.rebury(vec![part(4)], t0);
        let due: Vec<u64> = g
            .take_due(t0 + Duration::from_secs(90))
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(due, vec![3, 4]);
    }

    #[tokio::test]
    async fn due_parts_lose_every_file_and_others_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let store = DataStore::local(dir.path()).unwrap();
        let (old, young) = (part(1), part(2));
        for p in [&old, &young] {
            for name in ["entries.parquet", "series.parquet", "index.tantivy"] {
                let path = p.dir("logs").clone().join(name);
                store
                    .put_durable(&path, bytes::Bytes::from_static(b"x"))
                    .await
                    .unwrap();
            }
        }
        let g = Graveyard::new(Duration::ZERO);
        g.bury(std::slice::from_ref(&old), Instant::now());
        g.delete_due(&store, "logs").await.unwrap();
        assert!(store.list(&old.dir("logs")).await.unwrap().is_empty());
        assert_eq!(store.list(&young.dir("logs")).await.unwrap().len(), 3);
    }
}
