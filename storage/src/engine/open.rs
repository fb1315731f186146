//! Opening the engine: load the manifest, drop orphans, rebuild the index
//! from part series tables, replay the WAL.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use object_store::path::Path as ObjectPath;
use parking_lot::{Mutex, RwLock};

use super::{EngineOptions, MetricsEngine, SIGNAL};
use crate::error::{Error, Result};
use crate::head::Head;
use crate::manifest::Manifest;
use crate::metrics::StorageMetrics;
use crate::model::{Label, Labels, MetricMetadata};
use crate::object_store::DataStore;
use crate::part::read_series;
use crate::postings::SeriesIndex;
use crate::wal::{WalRecord, WalWriter, decode_record, replay_dir};

/// What opening found, for the log.
#[derive(Debug, Default, Clone)]
pub struct OpenReport {
    /// Parts in the manifest.
    pub parts: usize,
    /// WAL records replayed.
    pub wal_records: usize,
    /// Objects removed because no manifest referenced them.
    pub orphans_removed: usize,
    /// Where a torn WAL tail was cut.
    pub wal_truncated_at: Option<(u64, u64)>,
}

pub(super) fn metadata_path() -> ObjectPath {
    ObjectPath::from(format!("{SIGNAL}/metadata.json"))
}

impl MetricsEngine {
    /// Opens (or creates) the engine in `opts.data_dir`, with parts in `store`.
    pub async fn open(
        opts: EngineOptions,
        store: DataStore,
        metrics: StorageMetrics,
    ) -> Result<(Arc<Self>, OpenReport)> {
        let mut report = OpenReport::default();
        let manifest = Manifest::load(&store, SIGNAL).await?;
        report.parts = manifest.parts.len();
        report.orphans_removed = remove_orphans(&store, &manifest, SIGNAL).await?;

        let index = SeriesIndex::new();
        for part in &manifest.parts {
            for s in read_series(&store, SIGNAL, part).await? {
                let labels = Labels::new(
                    s.labels
                        .into_iter()
                        .map(|(n, v)| Label::new(n, v))
                        .collect(),
                )
                .map_err(|e| Error::CorruptPart {
                    path: part.series_path(SIGNAL).to_string(),
                    message: e.to_string(),
                })?;
                match index.get_or_insert(&labels) {
                    Ok(entry) => entry.observe(s.min_ts, s.max_ts),
                    Err(e) => {
                        tracing::error!(error = %e, "series collision while rebuilding the index")
                    }
                }
            }
        }

        let mut metadata: BTreeMap<String, Vec<MetricMetadata>> = BTreeMap::new();
        if let Some(bytes) = store.get_opt(&metadata_path()).await? {
            let stored: Vec<StoredMetadata> =
                serde_json::from_slice(&bytes).map_err(|e| Error::Manifest {
                    path: metadata_path().to_string(),
                    message: e.to_string(),
                })?;
            for m in stored {
                merge_metadata(&mut metadata, m.into());
            }
        }

        let wal_dir = opts.data_dir.join("wal");
        let head = Head::new();
        let wal_from = manifest.wal_replay_from;
        let replay = {
            let index = &index;
            let head = &head;
            let metadata = &mut metadata;
            let dir = wal_dir.clone();
            {
                replay_dir(&dir, wal_from, |payload| {
                    let record = decode_record(payload).map_err(|e| {
                        Error::io(
                            "decode",
                            &dir,
                            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                        )
                    })?;
                    let WalRecord::Metrics(write) = record else {
                        return Err(Error::io(
                            "decode",
                            &dir,
                            std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                "a logs record in the metrics WAL",
                            ),
                        ));
                    };
                    for series in &write.series {
                        match index.get_or_insert(&series.labels) {
                            Ok(entry) => {
                                head.append(&entry, &series.samples);
                                head.append_exemplars(&entry, &series.exemplars);
                            }
                            Err(e) => tracing::error!(error = %e, "series collision in WAL replay"),
                        }
                    }
                    for m in write.metadata {
                        merge_metadata(metadata, m);
                    }
                    Ok(())
                })
            }
        }?;
        report.wal_records = replay.records;
        report.wal_truncated_at = replay.truncated_at;

        let wal = WalWriter::open(&wal_dir, opts.fsync)?;
        wal.remove_before(wal_from)?;
        metrics.index_series.set(index.len() as i64);
        let engine = Arc::new(Self {
            parts: RwLock::new(Arc::new(manifest.parts.clone())),
            manifest: tokio::sync::Mutex::new(manifest),
            opts,
            store,
            index,
            wal: Mutex::new(wal),
            active: RwLock::new(Arc::new(head)),
            frozen: RwLock::new(Vec::new()),
            metadata: RwLock::new(metadata),
            last_flush: Mutex::new(Instant::now()),
            graveyard: crate::graveyard::Graveyard::new(crate::graveyard::RETIRED_PART_GRACE),
            flush_wanted: tokio::sync::Notify::new(),
            closed: AtomicBool::new(false),
            metrics,
        });
        engine.update_part_gauges(&engine.parts.read());
        Ok((engine, report))
    }
}

/// Adds `m` to the per-family list unless an identical entry is there.
pub(super) fn merge_metadata(map: &mut BTreeMap<String, Vec<MetricMetadata>>, m: MetricMetadata) {
    let list = map.entry(m.metric_family_name.clone()).or_default();
    if !list.contains(&m) {
        list.push(m);
    }
}

/// Deletes objects under the signal's prefix that the manifest does not
/// reference: the leftovers of a flush or compaction cut short by a crash.
/// Every signal lays its parts out the same way, so all share this.
pub(crate) async fn remove_orphans(
    store: &DataStore,
    manifest: &Manifest,
    signal: &str,
) -> Result<usize> {
    let live: HashSet<String> = manifest
        .parts
        .iter()
        .map(|p| p.dir(signal).to_string())
        .collect();
    let prefix = ObjectPath::from(signal);
    let mut removed = 0;
    for path in store.list(&prefix).await? {
        let s = path.to_string();
        let Some(rest) = s.strip_prefix(&format!("{signal}/")) else {
            continue;
        };
        if !rest.starts_with("day=") {
            continue;
        }
        let part_dir = s.rsplit_once('/').map_or(s.as_str(), |(dir, _)| dir);
        if !live.contains(part_dir) {
            store.delete(&path).await?;
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed orphaned part files");
        store.prune_empty_dirs(&prefix);
    }
    Ok(removed)
}

/// Metadata as kept in `metadata.json`.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct StoredMetadata {
    name: String,
    #[serde(rename = "type")]
    metric_type: String,
    help: String,
    unit: String,
}

impl From<StoredMetadata> for MetricMetadata {
    fn from(m: StoredMetadata) -> Self {
        Self {
            metric_family_name: m.name,
            metric_type: crate::model::MetricType::from_name(&m.metric_type),
            help: m.help,
            unit: m.unit,
        }
    }
}

impl From<&MetricMetadata> for StoredMetadata {
    fn from(m: &MetricMetadata) -> Self {
        Self {
            name: m.metric_family_name.clone(),
            metric_type: m.metric_type.as_str().to_owned(),
            help: m.help.clone(),
            unit: m.unit.clone(),
        }
    }
}
