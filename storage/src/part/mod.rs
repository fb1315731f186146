//! Immutable Parquet parts. A metrics part is a directory under its day
//! partition holding `samples.parquet`, `series.parquet` and, when there are
//! any, `exemplars.parquet` (format: `storage/docs/format/part.md`).

mod object_reader;
mod reader;
mod schema;
pub(crate) mod select;
pub(crate) mod writer;

use object_store::path::Path as ObjectPath;
use serde::{Deserialize, Serialize};

pub use object_reader::ObjectFileReader;
pub use reader::{PartSeries, SampleRun, SampleRunReader, merge_runs, read_exemplars, read_series};
pub use schema::{exemplars_schema, labels_field, samples_schema, series_schema};
pub use select::read_selected;
pub use writer::{PartWriter, write_exemplars};

/// Milliseconds in one day partition.
pub const DAY_MS: i64 = 86_400_000;
/// Nanoseconds in one day partition (logs and traces keep ns times).
pub const DAY_NS: i64 = 86_400_000_000_000;

/// What the manifest records about one part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    /// Unique, increasing part number.
    pub id: u64,
    /// Day partition: days since the Unix epoch (UTC).
    pub day: i64,
    /// Earliest sample time (ms).
    pub min_ts: i64,
    /// Latest sample time (ms).
    pub max_ts: i64,
    /// Sample rows.
    pub rows: u64,
    /// Distinct series.
    pub series: u64,
    /// Bytes on disk, all files of the part.
    pub bytes: u64,
    /// 0 for a flushed part; compaction output is one more than its inputs.
    pub level: u32,
    /// Whether `exemplars.parquet` exists.
    pub has_exemplars: bool,
    /// Bytes of log lines before compression (logs parts only; 0 otherwise):
    /// what compaction sizes merges by, and the index build's memory follows.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub raw_bytes: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl PartMeta {
    /// Directory of the part.
    pub fn dir(&self, signal: &str) -> ObjectPath {
        ObjectPath::from(format!(
            "{signal}/{}/p{:016x}",
            day_dir_name(self.day),
            self.id
        ))
    }

    /// Path of the samples file.
    pub fn samples_path(&self, signal: &str) -> ObjectPath {
        self.dir(signal).clone().join("samples.parquet")
    }

    /// Path of the series file.
    pub fn series_path(&self, signal: &str) -> ObjectPath {
        self.dir(signal).clone().join("series.parquet")
    }

    /// Path of the exemplars file (present only when `has_exemplars`).
    pub fn exemplars_path(&self, signal: &str) -> ObjectPath {
        self.dir(signal).clone().join("exemplars.parquet")
    }
}

/// Day number of a millisecond timestamp.
pub fn day_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(DAY_MS)
}

/// Day number of a nanosecond timestamp.
pub fn day_of_ns(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(DAY_NS)
}

/// `day=YYYY-MM-DD` for a day number.
pub fn day_dir_name(day: i64) -> String {
    let date = chrono::DateTime::from_timestamp_millis(day * DAY_MS)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| format!("d{day}"));
    format!("day={date}")
}

#[cfg(test)]
mod tests;
