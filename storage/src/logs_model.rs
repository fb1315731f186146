//! The log data model every layer shares: a decoded, validated log write as
//! it travels from an ingest decoder (Loki push, later OTLP logs) into storage.

use bytes::Bytes;

use crate::model::{Label, Labels};

/// One log entry of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Nanoseconds since the Unix epoch; entries of a stream may arrive out
    /// of order.
    pub ts_ns: i64,
    /// The line exactly as sent: any bytes, not necessarily UTF-8 (Loki's Go
    /// clients do not check), and may hold newlines or ANSI escapes.
    ///
    /// Decoders may hand out slices of the whole request buffer to avoid a
    /// copy per line, so code that keeps lines beyond the request should copy
    /// them (`Bytes::copy_from_slice`) lest one kept line pin the request.
    pub line: Bytes,
    /// Structured metadata (Loki 3): per-entry name/value pairs that are not
    /// part of the stream's identity, such as `trace_id`. Wire order; names
    /// are not required to be unique or sorted.
    pub structured_metadata: Vec<Label>,
}

/// Everything one stream brings in one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamWrite {
    /// Canonical label set identifying the stream (its id is
    /// [`Labels::series_id`]).
    pub labels: Labels,
    /// Entries in request order; never empty.
    pub entries: Vec<LogEntry>,
}

/// One decoded, validated log write request. Streams with the same labels
/// are not merged: a request may list a stream more than once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogsWrite {
    /// The streams with their entries.
    pub streams: Vec<StreamWrite>,
}

impl LogsWrite {
    /// Total entries carried.
    pub fn entry_count(&self) -> usize {
        self.streams.iter().map(|s| s.entries.len()).sum()
    }

    /// True when the write carries no entries.
    pub fn is_empty(&self) -> bool {
        self.streams.iter().all(|s| s.entries.is_empty())
    }
}
