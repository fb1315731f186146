//! Opening the logs engine: load the manifest, drop orphans, rebuild the
//! stream index from part stream tables, replay the WAL.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use super::head::{HeadEntry, LogsHead};
use super::{LogsEngine, LogsOptions, SIGNAL};
use crate::engine::OpenReport;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::metrics::StorageMetrics;
use crate::model::{Label, Labels};
use crate::object_store::DataStore;
use crate::part::read_series;
use crate::postings::SeriesIndex;
use crate::wal::{WalRecord, WalWriter, decode_record, replay_dir};

impl LogsEngine {
    /// Opens (or creates) the engine: WAL under `opts.data_dir`, parts in
    /// `store`.
    pub async fn open(
        opts: LogsOptions,
        store: DataStore,
        metrics: StorageMetrics,
    ) -> Result<(Arc<Self>, OpenReport)> {
        let mut report = OpenReport::default();
        let manifest = Manifest::load(&store, SIGNAL).await?;
        report.parts = manifest.parts.len();
        report.orphans_removed = crate::engine::remove_orphans(&store, &manifest, SIGNAL).await?;

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
                        tracing::error!(error = %e, "stream collision while rebuilding the index")
                    }
                }
            }
        }

        let wal_dir = opts.data_dir.join("wal-logs");
        let head = LogsHead::new();
        let wal_from = manifest.wal_replay_from;
        let replay = replay_dir(&wal_dir, wal_from, |payload| {
            let invalid = |msg: String| {
                Error::io(
                    "decode",
                    &wal_dir,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, msg),
                )
            };
            let record = decode_record(payload).map_err(|e| invalid(e.to_string()))?;
            let WalRecord::Logs(write) = record else {
                return Err(invalid("a metrics record in the logs WAL".into()));
            };
            for stream in write.streams {
                match index.get_or_insert(&stream.labels) {
                    Ok(entry) => head.append(
                        &entry,
                        stream.entries.into_iter().map(|e| HeadEntry {
                            ts_ns: e.ts_ns,
                            line: e.line,
                            metadata: e.structured_metadata,
                        }),
                    ),
                    Err(e) => tracing::error!(error = %e, "stream collision in WAL replay"),
                }
            }
            Ok(())
        })?;
        report.wal_records = replay.records;
        report.wal_truncated_at = replay.truncated_at;

        let wal = WalWriter::open(&wal_dir, opts.fsync)?;
        wal.remove_before(wal_from)?;
        let engine = Arc::new(Self {
            parts: RwLock::new(Arc::new(manifest.parts.clone())),
            manifest: tokio::sync::Mutex::new(manifest),
            text_cache: crate::part_cache::PartCache::new(opts.index_cache_bytes),
            opts,
            store,
            index,
            wal: Mutex::new(wal),
            active: RwLock::new(Arc::new(head)),
            frozen: RwLock::new(Vec::new()),
            last_flush: Mutex::new(Instant::now()),
            graveyard: crate::graveyard::Graveyard::new(crate::graveyard::RETIRED_PART_GRACE),
            flush_wanted: tokio::sync::Notify::new(),
            closed: AtomicBool::new(false),
            metrics,
            tail: tokio::sync::broadcast::channel(super::TAIL_BACKLOG).0,
        });
        engine.update_part_gauges(&engine.parts.read());
        Ok((engine, report))
    }
}
