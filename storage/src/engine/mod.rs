//! The metrics engine: ties WAL, head, index, parts and manifest together.
//! `open` replays, `append` acknowledges writes, `flush`/`compact`/
//! `apply_retention` move data along DESIGN §2's path.

mod append;
mod flush;
mod maintain;
mod open;
mod read;
mod select;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::compact::CompactionPolicy;
use crate::head::Head;
use crate::manifest::Manifest;
use crate::metrics::StorageMetrics;
use crate::model::MetricMetadata;
use crate::object_store::DataStore;
use crate::postings::SeriesIndex;
use crate::retention::RetentionPolicy;
use crate::wal::{FsyncPolicy, WalWriter};

pub use append::{AppendOutcome, SeriesRejection};
pub use flush::FlushReport;
pub use maintain::now_ms;
pub use open::OpenReport;
pub(crate) use open::remove_orphans;
pub use read::MetricsSnapshot;
pub use select::SelectedSeries;

/// The signal name used in paths and metric labels.
pub const SIGNAL: &str = "metrics";

/// How the engine behaves; every field has a sensible default.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Data directory: `wal/` lives here, and parts unless `store` says otherwise.
    pub data_dir: PathBuf,
    /// WAL fsync policy.
    pub fsync: FsyncPolicy,
    /// How far behind a series' newest sample a sample may still arrive (ms).
    pub out_of_order_window_ms: i64,
    /// Retention limits.
    pub retention: RetentionPolicy,
    /// Heads may hold this many bytes; beyond it appends are refused.
    pub head_memory_limit: usize,
    /// Flush the head once it holds about this many bytes, so a backfill
    /// or a burst does not grow it towards the limit above.
    pub head_flush_bytes: usize,
    /// Flush the head when it is this old.
    pub flush_interval: Duration,
    /// Compaction policy.
    pub compaction: CompactionPolicy,
}

impl EngineOptions {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            fsync: FsyncPolicy::default(),
            out_of_order_window_ms: 10 * 60 * 1000,
            retention: RetentionPolicy {
                max_age_ms: Some(15 * 86_400_000),
                max_bytes: None,
            },
            head_memory_limit: 1 << 30,
            head_flush_bytes: 64 << 20,
            flush_interval: Duration::from_secs(30 * 60),
            compaction: CompactionPolicy::default(),
        }
    }
}

/// The metrics storage engine.
pub struct MetricsEngine {
    opts: EngineOptions,
    store: DataStore,
    index: SeriesIndex,
    /// Held for the whole of an append, so the WAL order is the head order
    /// and a flush's cut falls between two whole writes.
    wal: Mutex<WalWriter>,
    active: RwLock<Arc<Head>>,
    frozen: RwLock<Vec<Arc<Head>>>,
    /// Serialises flush, compaction and retention.
    manifest: tokio::sync::Mutex<Manifest>,
    /// Parts visible to readers: a copy of the manifest's list.
    parts: RwLock<Arc<Vec<crate::part::PartMeta>>>,
    metadata: RwLock<BTreeMap<String, Vec<MetricMetadata>>>,
    last_flush: Mutex<Instant>,
    /// Parts merged away or dropped, their files kept a while for readers.
    graveyard: crate::graveyard::Graveyard,
    /// Woken when the head has grown past `head_flush_bytes`.
    flush_wanted: tokio::sync::Notify,
    closed: AtomicBool,
    metrics: StorageMetrics,
}

impl std::fmt::Debug for MetricsEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsEngine")
            .field("data_dir", &self.opts.data_dir)
            .field("series", &self.index.len())
            .finish()
    }
}

impl MetricsEngine {
    /// The series index.
    pub fn index(&self) -> &SeriesIndex {
        &self.index
    }

    /// The object store holding parts.
    pub fn store(&self) -> &DataStore {
        &self.store
    }

    /// The options in force.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }
}

#[cfg(test)]
mod tests;

/// The engine as the HTTP layer holds it: empty until WAL replay is done,
/// so that the server can answer `/-/ready` (and refuse work) meanwhile.
#[derive(Clone, Debug, Default)]
pub struct EngineCell(Arc<std::sync::OnceLock<Arc<MetricsEngine>>>);

impl EngineCell {
    /// An empty cell.
    pub fn new() -> Self {
        Self::default()
    }

    /// The engine, once open.
    pub fn get(&self) -> Option<&Arc<MetricsEngine>> {
        self.0.get()
    }

    /// Installs the opened engine; later calls are ignored.
    pub fn set(&self, engine: Arc<MetricsEngine>) {
        let _ = self.0.set(engine);
    }
}
