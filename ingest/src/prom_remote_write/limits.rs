//! Size and shape limits applied while decoding one remote write request.

/// Bounds on what one remote write request may carry. Whole-request limits
/// fail the request; per-series limits reject only the offending series.
///
/// Memory while decoding is roughly `max_body_bytes + max_decompressed_bytes`
/// plus the decoded samples and exemplars (about 8 bytes of `Sample` per wire
/// byte in the worst case), so lower `max_decompressed_bytes` to bound it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest compressed body accepted, in bytes (default 32 MiB).
    pub max_body_bytes: usize,
    /// Largest decompressed body accepted, in bytes (default 128 MiB). Checked
    /// against the length Snappy declares before anything is allocated.
    pub max_decompressed_bytes: usize,
    /// Most series in one request (default 100 000); more fails the request.
    pub max_series_per_request: usize,
    /// Most labels on one series, counted on the wire including empty-valued
    /// ones (default 64); more rejects the series.
    pub max_labels_per_series: usize,
    /// Longest label name, in bytes (default 1024); longer rejects the series.
    pub max_label_name_len: usize,
    /// Longest label value, in bytes (default 4096); longer rejects the series.
    pub max_label_value_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 << 20,
            max_decompressed_bytes: 128 << 20,
            max_series_per_request: 100_000,
            max_labels_per_series: 64,
            max_label_name_len: 1024,
            max_label_value_len: 4096,
        }
    }
}
