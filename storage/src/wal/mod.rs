//! The write-ahead log: numbered segment files of checksummed records.
//!
//! Layout and framing are specified in `storage/docs/format/wal.md`. A write
//! is acknowledged once its record is written to the current segment; fsync
//! follows the configured policy (group commit on an interval, or per
//! request). Replay truncates a torn or corrupt tail instead of failing.

mod record;
mod segment;
mod writer;

pub use record::{
    WalRecord, decode_record, encode_logs, encode_metrics, encode_record, encode_traces,
};
pub use segment::{ReplayReport, SEGMENT_MAGIC, list_segments, replay_dir, segment_path};
pub use writer::{FsyncPolicy, WalWriter};

#[cfg(test)]
mod tests;
