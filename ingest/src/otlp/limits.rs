//! Bounds on one OTLP request, whichever transport brings it.

/// Whole-request limits fail the request; the spec's recommended 64 MiB is
/// the default for a body before and after gzip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OtlpLimits {
    /// Largest body as received, in bytes (default 64 MiB).
    pub max_body_bytes: usize,
    /// Largest body once gzip is undone, in bytes (default 64 MiB); also the
    /// gRPC receive limit.
    pub max_decompressed_bytes: usize,
    /// Most spans in one request (default 200 000); more fails the request.
    pub max_spans_per_request: usize,
    /// Most attributes kept on one span, event, link or resource (default
    /// 128, OpenTelemetry's SDK default); the rest are dropped and counted
    /// in `dropped_attributes_count`, as an SDK would.
    pub max_attributes: usize,
    /// Longest attribute value kept, in bytes (default 64 KiB); longer ones
    /// are cut at a character boundary.
    pub max_attribute_value_bytes: usize,
}

impl Default for OtlpLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 << 20,
            max_decompressed_bytes: 64 << 20,
            max_spans_per_request: 200_000,
            max_attributes: 128,
            max_attribute_value_bytes: 64 << 10,
        }
    }
}
