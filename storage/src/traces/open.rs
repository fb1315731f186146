//! Opening the traces engine: load the manifest, drop orphans, load each
//! part's names table, replay the WAL.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use super::head::TracesHead;
use super::names::read_names;
use super::part::names_path;
use super::{SIGNAL, TracesEngine, TracesOptions};
use crate::engine::{OpenReport, remove_orphans};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::metrics::StorageMetrics;
use crate::object_store::DataStore;
use crate::part_cache::PartCache;
use crate::wal::{WalRecord, WalWriter, decode_record, replay_dir};

impl TracesEngine {
    /// Opens (or creates) the engine: WAL under `opts.data_dir`, parts in
    /// `store`.
    pub async fn open(
        opts: TracesOptions,
        store: DataStore,
        metrics: StorageMetrics,
    ) -> Result<(Arc<Self>, OpenReport)> {
        let mut report = OpenReport::default();
        let manifest = Manifest::load(&store, SIGNAL).await?;
        report.parts = manifest.parts.len();
        report.orphans_removed = remove_orphans(&store, &manifest, SIGNAL).await?;

        let mut names = HashMap::with_capacity(manifest.parts.len());
        for part in &manifest.parts {
            let rows = read_names(&store, &names_path(part)).await?;
            names.insert(part.id, Arc::new(rows));
        }

        let wal_dir = opts.data_dir.join("wal-traces");
        let head = TracesHead::new();
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
            let WalRecord::Traces(write) = record else {
                return Err(invalid("a non-traces record in the traces WAL".into()));
            };
            head.append(write.spans);
            Ok(())
        })?;
        report.wal_records = replay.records;
        report.wal_truncated_at = replay.truncated_at;

        let wal = WalWriter::open(&wal_dir, opts.fsync)?;
        wal.remove_before(wal_from)?;
        let engine = Arc::new(Self {
            parts: RwLock::new(Arc::new(manifest.parts.clone())),
            names: RwLock::new(names),
            manifest: tokio::sync::Mutex::new(manifest),
            footers: PartCache::new(opts.footer_cache_bytes / 2),
            blooms: PartCache::new(opts.footer_cache_bytes / 2),
            opts,
            store,
            wal: Mutex::new(wal),
            active: RwLock::new(Arc::new(head)),
            frozen: RwLock::new(Vec::new()),
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
