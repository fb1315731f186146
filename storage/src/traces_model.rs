//! The span data model every layer shares: a decoded, validated traces write
//! as it travels from the OTLP decoder into storage. Storage keeps the OTLP
//! `Span` message opaque and copies out only the few fields it prunes and
//! lists by.

use bytes::Bytes;

/// A trace id: 16 bytes, all zero being invalid (W3C Trace Context).
pub type TraceId = [u8; 16];
/// A span id: 8 bytes, all zero being invalid (or, as a parent, "root").
pub type SpanId = [u8; 8];

/// One span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRow {
    /// Trace the span belongs to.
    pub trace_id: TraceId,
    /// The span's own id.
    pub span_id: SpanId,
    /// The parent span's id; all zero for a root span.
    pub parent_span_id: SpanId,
    /// Start, nanoseconds since the Unix epoch.
    pub start_ns: i64,
    /// Duration in nanoseconds; never negative once stored.
    pub duration_ns: i64,
    /// The resource's `service.name`, `""` when it has none.
    pub service_name: String,
    /// The span's name (Tempo's "operation").
    pub name: String,
    /// OTLP `SpanKind` number.
    pub kind: i32,
    /// OTLP status code number: 0 unset, 1 ok, 2 error.
    pub status_code: i32,
    /// The OTLP `Span` message, protobuf-encoded, exactly as received.
    ///
    /// Decoders may hand out slices of the request buffer; storage copies
    /// what it keeps, so a kept span never pins a whole request.
    pub span: Bytes,
    /// An opaque blob ingest builds once per (resource, scope): the same
    /// bytes repeat across many spans, and storage keeps one copy of each.
    pub resource: Bytes,
}

impl SpanRow {
    /// True for a root span (no parent).
    pub fn is_root(&self) -> bool {
        self.parent_span_id == [0; 8]
    }

    /// What makes a span "the same span" when a sender retries: the same
    /// trace, span id and start.
    pub fn identity(&self) -> (TraceId, SpanId, i64) {
        (self.trace_id, self.span_id, self.start_ns)
    }

    /// Why the span cannot be stored, or `None` when it can: a reason (a
    /// metric label) and a message for the sender.
    pub fn invalid_reason(&self) -> Option<(&'static str, &'static str)> {
        if self.trace_id == [0; 16] {
            Some(("invalid_trace_id", "trace id is all zero"))
        } else if self.span_id == [0; 8] {
            Some(("invalid_span_id", "span id is all zero"))
        } else if self.duration_ns < 0 {
            Some(("negative_duration", "span ends before it starts"))
        } else {
            None
        }
    }
}

/// One decoded traces write request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TracesWrite {
    /// The spans, in request order.
    pub spans: Vec<SpanRow>,
}

impl TracesWrite {
    /// Spans carried.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }

    /// True when the write carries no spans.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span() -> SpanRow {
        SpanRow {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: [0; 8],
            start_ns: 10,
            duration_ns: 5,
            service_name: "api".into(),
            name: "GET /".into(),
            kind: 2,
            status_code: 0,
            span: Bytes::from_static(b"span"),
            resource: Bytes::from_static(b"res"),
        }
    }

    #[test]
    fn validity_and_roots() {
        let ok = span();
        assert!(ok.invalid_reason().is_none() && ok.is_root());
        let mut bad = span();
        bad.trace_id = [0; 16];
        assert_eq!(bad.invalid_reason().map(|r| r.0), Some("invalid_trace_id"));
        let mut bad = span();
        bad.span_id = [0; 8];
        assert_eq!(bad.invalid_reason().map(|r| r.0), Some("invalid_span_id"));
        let mut bad = span();
        bad.duration_ns = -1;
        assert_eq!(bad.invalid_reason().map(|r| r.0), Some("negative_duration"));
    }
}
