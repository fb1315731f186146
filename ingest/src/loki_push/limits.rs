//! Size and shape limits applied while decoding one Loki push request.

/// Bounds on what one push request may carry. Whole-request limits fail the
/// request (HTTP 413); per-stream and per-entry limits reject only the
/// offending stream or entry, as Loki does.
///
/// Memory while decoding is at most about `max_body_bytes` plus twice
/// `max_decompressed_bytes` (gzip and then Snappy) plus the decoded entries,
/// each about 64 bytes beyond its line and metadata; `max_entries_per_request`
/// bounds those, since a 2-byte empty entry on the wire would otherwise cost
/// thirty times its size in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest body as received, in bytes (default 32 MiB).
    pub max_body_bytes: usize,
    /// Largest body after each decompression step, in bytes (default
    /// 64 MiB). Checked against the length Snappy declares before anything
    /// is allocated, and while inflating gzip and deflate.
    pub max_decompressed_bytes: usize,
    /// Most streams in one request (default 10 000); more fails the request.
    pub max_streams_per_request: usize,
    /// Most entries in one request (default 1 000 000); more fails the
    /// request. Loki has no such limit; this one only bounds memory, and
    /// real clients batch far fewer (Promtail and Alloy send ~1 MiB).
    pub max_entries_per_request: usize,
    /// Longest line, in bytes (default 256 KiB, Loki's `max_line_size`);
    /// longer rejects the entry.
    pub max_line_bytes: usize,
    /// Most labels on one stream, not counting `service_name` (default 15,
    /// Loki's `max_label_names_per_series`); more rejects the stream.
    pub max_labels_per_stream: usize,
    /// Longest label name, in bytes (default 1024); longer rejects the stream.
    pub max_label_name_len: usize,
    /// Longest label value, in bytes (default 2048); longer rejects the stream.
    pub max_label_value_len: usize,
    /// Most structured metadata pairs on one entry (default 128, Loki's
    /// `max_structured_metadata_entries_count`); more rejects the entry.
    pub max_structured_metadata_entries: usize,
    /// Largest structured metadata of one entry, names plus values, in bytes
    /// (default 64 KiB, Loki's `max_structured_metadata_size`); more rejects
    /// the entry.
    pub max_structured_metadata_bytes: usize,
    /// Attach `detected_level` structured metadata to every entry (default
    /// on, as Loki's `discover_log_levels`); Grafana's log volume and Logs
    /// Drilldown group by it.
    pub discover_log_levels: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 << 20,
            max_decompressed_bytes: 64 << 20,
            max_streams_per_request: 10_000,
            max_entries_per_request: 1_000_000,
            max_line_bytes: 256 << 10,
            max_labels_per_stream: 15,
            max_label_name_len: 1024,
            max_label_value_len: 2048,
            max_structured_metadata_entries: 128,
            max_structured_metadata_bytes: 64 << 10,
            discover_log_levels: true,
        }
    }
}
