//! The traces engine (DESIGN §2): the same path as metrics and logs — WAL,
//! head, Parquet parts, manifest, compaction, retention — with a spans
//! schema. Span payloads stay opaque OTLP bytes; a few typed columns
//! (trace id, start, duration, service, name) prune reads, and a small
//! names table per part answers Grafana's service and operation drop-downs
//! without touching spans. Format: `storage/docs/format/traces.md`.

mod append;
mod flush;
pub mod head;
mod maintain;
pub mod names;
mod open;
pub mod part;
mod part_read;
mod read;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::compact::CompactionPolicy;
use crate::manifest::Manifest;
use crate::metrics::StorageMetrics;
use crate::object_store::DataStore;
use crate::part::PartMeta;
use crate::part_cache::PartCache;
use crate::retention::RetentionPolicy;
use crate::wal::{FsyncPolicy, WalWriter};

pub use append::{SpanRejection, TracesAppendOutcome};
pub use head::TracesHead;
pub use names::NameRow;
pub use part::SIGNAL;
pub use read::{ScanStats, SpanFilter, SpanScan, TraceLookup};

use part_read::{PartBlooms, PartFooter};

/// How the traces engine behaves; every field has a sensible default.
#[derive(Clone, Debug)]
pub struct TracesOptions {
    /// Data directory: the traces WAL lives in `wal-traces/` under it.
    pub data_dir: PathBuf,
    /// WAL fsync policy: group commit on an interval, or per request.
    pub fsync: FsyncPolicy,
    /// Retention limits: whole days (by span start) are dropped past a
    /// maximum age or while parts exceed a total size.
    pub retention: RetentionPolicy,
    /// Heads may hold this many bytes; beyond it appends are refused with
    /// [`crate::Error::OverBudget`] until a flush frees memory.
    pub head_memory_limit: usize,
    /// Flush once the head holds about this many bytes.
    pub head_flush_bytes: usize,
    /// Flush the head when it is this old, so spans reach parts (and the
    /// WAL is trimmed) even under a trickle of traffic.
    pub flush_interval: Duration,
    /// Compaction policy (by part count and day age).
    pub compaction: CompactionPolicy,
    /// Parts are not merged beyond this many bytes of span and resource
    /// blobs: a merge holds its inputs in memory.
    pub max_merged_raw_bytes: u64,
    /// Bytes of parsed Parquet footers (with page indexes) and bloom
    /// filters kept in memory between queries, so that checking whether a
    /// part may hold a trace costs no I/O after the first look.
    pub footer_cache_bytes: usize,
}

impl TracesOptions {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            fsync: FsyncPolicy::default(),
            retention: RetentionPolicy {
                max_age_ms: Some(15 * 86_400_000),
                max_bytes: None,
            },
            head_memory_limit: 512 << 20,
            head_flush_bytes: 64 << 20,
            flush_interval: Duration::from_secs(15 * 60),
            compaction: CompactionPolicy::default(),
            max_merged_raw_bytes: 512 << 20,
            footer_cache_bytes: 64 << 20,
        }
    }
}

/// The traces storage engine.
pub struct TracesEngine {
    opts: TracesOptions,
    store: DataStore,
    /// Held for the whole of an append, so WAL order is head order.
    wal: Mutex<WalWriter>,
    active: RwLock<Arc<TracesHead>>,
    frozen: RwLock<Vec<Arc<TracesHead>>>,
    /// Serialises flush, compaction and retention.
    manifest: tokio::sync::Mutex<Manifest>,
    /// Parts visible to readers, with their names tables.
    parts: RwLock<Arc<Vec<PartMeta>>>,
    names: RwLock<HashMap<u64, Arc<Vec<NameRow>>>>,
    last_flush: Mutex<Instant>,
    /// Parts merged away or dropped, their files kept a while for readers.
    graveyard: crate::graveyard::Graveyard,
    flush_wanted: tokio::sync::Notify,
    closed: AtomicBool,
    metrics: StorageMetrics,
    footers: PartCache<PartFooter>,
    blooms: PartCache<PartBlooms>,
}

impl std::fmt::Debug for TracesEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracesEngine")
            .field("data_dir", &self.opts.data_dir)
            .field("parts", &self.parts.read().len())
            .finish()
    }
}

impl TracesEngine {
    /// The options in force.
    pub fn options(&self) -> &TracesOptions {
        &self.opts
    }

    /// The live parts.
    pub fn parts(&self) -> Arc<Vec<PartMeta>> {
        Arc::clone(&self.parts.read())
    }
}

/// The traces engine as the HTTP layer holds it: empty until WAL replay is
/// done.
#[derive(Clone, Debug, Default)]
pub struct TracesCell(Arc<std::sync::OnceLock<Arc<TracesEngine>>>);

impl TracesCell {
    /// An empty cell.
    pub fn new() -> Self {
        Self::default()
    }

    /// The engine, once open.
    pub fn get(&self) -> Option<&Arc<TracesEngine>> {
        self.0.get()
    }

    /// Installs the opened engine; later calls are ignored.
    pub fn set(&self, engine: Arc<TracesEngine>) {
        let _ = self.0.set(engine);
    }
}

#[cfg(test)]
mod tests;
