//! The logs engine (DESIGN §2): the same path as metrics — WAL, head,
//! Parquet parts, manifest, compaction, retention — with a logs schema and a
//! Tantivy text index per part. Stream ids are label-set hashes, as series
//! ids are, and live in the same kind of postings index; times are
//! nanoseconds throughout.

mod append;
mod flush;
pub mod head;
mod maintain;
mod open;
pub mod part;
mod select;
pub mod text_index;

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
use crate::postings::SeriesIndex;
use crate::retention::RetentionPolicy;
use crate::wal::{FsyncPolicy, WalWriter};

pub use append::{LogsAppendOutcome, LogsRejection};
pub use head::{HeadEntry, LogsHead, StreamRows};
pub use part::{DAY_NS, SIGNAL};
pub use select::{LogScan, ScanSink, ScanStats};

use crate::part_cache::PartCache;
use text_index::TextIndex;

/// How the logs engine behaves; every field has a sensible default.
#[derive(Clone, Debug)]
pub struct LogsOptions {
    /// Data directory: the logs WAL lives in `wal-logs/` under it.
    pub data_dir: PathBuf,
    /// WAL fsync policy.
    pub fsync: FsyncPolicy,
    /// How far behind a stream's newest entry an entry may still arrive
    /// (ns). Loki 3 accepts out-of-order entries within half its maximum
    /// chunk age, one hour by default.
    pub out_of_order_window_ns: i64,
    /// Retention limits.
    pub retention: RetentionPolicy,
    /// Heads may hold this many bytes; beyond it pushes are refused.
    pub head_memory_limit: usize,
    /// Flush once the head holds about this many bytes. The text index of a
    /// part is built in memory, so this also bounds that cost.
    pub head_flush_bytes: usize,
    /// Flush the head when it is this old.
    pub flush_interval: Duration,
    /// Compaction policy (by part count and day age).
    pub compaction: CompactionPolicy,
    /// Parts are not merged beyond this many bytes of raw lines, which
    /// bounds the memory of rebuilding their text index.
    pub max_merged_raw_bytes: u64,
    /// Bytes of opened text indexes kept in memory between queries.
    pub index_cache_bytes: usize,
}

impl LogsOptions {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            fsync: FsyncPolicy::default(),
            out_of_order_window_ns: 3_600 * 1_000_000_000,
            retention: RetentionPolicy {
                max_age_ms: Some(15 * 86_400_000),
                max_bytes: None,
            },
            head_memory_limit: 512 << 20,
            head_flush_bytes: 64 << 20,
            flush_interval: Duration::from_secs(30 * 60),
            compaction: CompactionPolicy::default(),
            max_merged_raw_bytes: 512 << 20,
            index_cache_bytes: 128 << 20,
        }
    }
}

/// The logs storage engine.
pub struct LogsEngine {
    opts: LogsOptions,
    store: DataStore,
    index: SeriesIndex,
    /// Held for the whole of an append, so WAL order is head order.
    wal: Mutex<WalWriter>,
    active: RwLock<Arc<LogsHead>>,
    frozen: RwLock<Vec<Arc<LogsHead>>>,
    /// Serialises flush, compaction and retention.
    manifest: tokio::sync::Mutex<Manifest>,
    /// Parts visible to readers.
    parts: RwLock<Arc<Vec<PartMeta>>>,
    last_flush: Mutex<Instant>,
    /// Parts merged away or dropped, their files kept a while for readers.
    graveyard: crate::graveyard::Graveyard,
    flush_wanted: tokio::sync::Notify,
    closed: AtomicBool,
    metrics: StorageMetrics,
    text_cache: PartCache<TextIndex>,
    /// Accepted entries for live tails; sent only while someone listens.
    tail: tokio::sync::broadcast::Sender<Arc<TailBatch>>,
}

/// Entries one append stored, as live tails receive them.
pub type TailBatch = Vec<(Arc<crate::postings::SeriesEntry>, Vec<HeadEntry>)>;

/// Appends a slow tail may fall behind by before it misses some.
const TAIL_BACKLOG: usize = 1024;

impl std::fmt::Debug for LogsEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsEngine")
            .field("data_dir", &self.opts.data_dir)
            .field("streams", &self.index.len())
            .finish()
    }
}

impl LogsEngine {
    /// The stream index.
    pub fn index(&self) -> &SeriesIndex {
        &self.index
    }

    /// The options in force.
    pub fn options(&self) -> &LogsOptions {
        &self.opts
    }

    /// The live parts.
    pub fn parts(&self) -> Arc<Vec<PartMeta>> {
        Arc::clone(&self.parts.read())
    }

    /// Every batch of entries stored from now on (live tail). A receiver
    /// that falls more than a backlog behind is told how many it missed.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<TailBatch>> {
        self.tail.subscribe()
    }
}

/// The logs engine as the HTTP layer holds it: empty until WAL replay is
/// done.
#[derive(Clone, Debug, Default)]
pub struct LogsCell(Arc<std::sync::OnceLock<Arc<LogsEngine>>>);

impl LogsCell {
    /// An empty cell.
    pub fn new() -> Self {
        Self::default()
    }

    /// The engine, once open.
    pub fn get(&self) -> Option<&Arc<LogsEngine>> {
        self.0.get()
    }

    /// Installs the opened engine; later calls are ignored.
    pub fn set(&self, engine: Arc<LogsEngine>) {
        let _ = self.0.set(engine);
    }
}

#[cfg(test)]
mod tests;
