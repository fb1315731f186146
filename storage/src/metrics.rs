//! Storage self-metrics, registered once into the process registry.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Label set naming a signal (`metrics`, later `logs`, `traces`).
pub type SignalLabel = Vec<(&'static str, &'static str)>;

/// Durations by signal, with Hearth's duration buckets.
pub type DurationFamily = Family<SignalLabel, Histogram, fn() -> Histogram>;

/// Counters and gauges the engine updates.
#[derive(Clone, Debug)]
pub struct StorageMetrics {
    /// Bytes appended to the WAL.
    pub wal_bytes: Counter,
    /// WAL fsyncs.
    pub wal_fsyncs: Counter,
    /// Series in the active head.
    pub head_series: Gauge,
    /// Samples in the active head.
    pub head_samples: Gauge,
    /// Series in the index.
    pub index_series: Gauge,
    /// Live parts per signal.
    pub parts: Family<SignalLabel, Gauge>,
    /// Bytes of live parts per signal.
    pub part_bytes: Family<SignalLabel, Gauge>,
    /// Flush durations.
    pub flush_seconds: DurationFamily,
    /// Compaction durations.
    pub compaction_seconds: DurationFamily,
    /// Failed background operations by kind.
    pub background_errors: Family<Vec<(&'static str, &'static str)>, Counter>,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 4.0, 10))
}

impl Default for StorageMetrics {
    /// Metrics that are not registered anywhere; used by tests.
    fn default() -> Self {
        Self {
            wal_bytes: Counter::default(),
            wal_fsyncs: Counter::default(),
            head_series: Gauge::default(),
            head_samples: Gauge::default(),
            index_series: Gauge::default(),
            parts: Family::default(),
            part_bytes: Family::default(),
            flush_seconds: Family::new_with_constructor(duration_histogram),
            compaction_seconds: Family::new_with_constructor(duration_histogram),
            background_errors: Family::default(),
        }
    }
}

impl StorageMetrics {
    /// Logs and counts a failed background task (flush, compaction,
    /// retention, deletion) of one signal; the next upkeep round retries.
    /// Once its engine is closed the process is exiting and the runtime
    /// cancels file I/O still in flight: that is the shutdown, not a
    /// failure, and is neither logged as an error nor counted.
    pub fn background_error(
        &self,
        signal: &'static str,
        kind: &'static str,
        closed: &std::sync::atomic::AtomicBool,
        e: &crate::error::Error,
    ) {
        if closed.load(std::sync::atomic::Ordering::Acquire) {
            tracing::info!(error = %e, signal, kind, "background work interrupted by shutdown");
            return;
        }
        tracing::error!(error = %e, signal, kind, "background storage task failed");
        self.background_errors
            .get_or_create(&vec![("kind", kind)])
            .inc();
    }

    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        // Families show nothing until a label set exists; create the ones a
        // dashboard expects so that they read 0 rather than "no data".
        let metrics = vec![("signal", crate::engine::SIGNAL)];
        drop(m.parts.get_or_create(&metrics));
        drop(m.part_bytes.get_or_create(&metrics));
        drop(m.flush_seconds.get_or_create(&metrics));
        drop(m.compaction_seconds.get_or_create(&metrics));
        registry.register(
            "hearth_wal_bytes_written",
            "Bytes appended to the write-ahead log",
            m.wal_bytes.clone(),
        );
        registry.register(
            "hearth_wal_fsyncs",
            "Fsyncs of the write-ahead log",
            m.wal_fsyncs.clone(),
        );
        registry.register(
            "hearth_head_series",
            "Series in the in-memory head",
            m.head_series.clone(),
        );
        registry.register(
            "hearth_head_samples",
            "Samples in the in-memory head",
            m.head_samples.clone(),
        );
        registry.register(
            "hearth_index_series",
            "Series known to the index",
            m.index_series.clone(),
        );
        registry.register("hearth_parts", "Live Parquet parts", m.parts.clone());
        registry.register(
            "hearth_part_bytes",
            "Bytes of live Parquet parts",
            m.part_bytes.clone(),
        );
        registry.register(
            "hearth_flush_duration_seconds",
            "Time to flush a head into parts",
            m.flush_seconds.clone(),
        );
        registry.register(
            "hearth_compaction_duration_seconds",
            "Time to merge parts",
            m.compaction_seconds.clone(),
        );
        registry.register(
            "hearth_storage_background_errors",
            "Background flush, compaction and retention failures",
            m.background_errors.clone(),
        );
        m
    }
}
