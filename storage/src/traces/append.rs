//! The traces write path: check each span, write the accepted ones to the
//! WAL, then the head. Only accepted spans reach the WAL.

use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};

use super::TracesEngine;
use crate::error::{Error, Result};
use crate::traces_model::{SpanId, SpanRow, TraceId, TracesWrite};
use crate::wal::encode_traces;

/// A span that was not stored, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRejection {
    /// The span's trace id.
    pub trace_id: TraceId,
    /// The span's id.
    pub span_id: SpanId,
    /// Machine-readable reason (a metric label).
    pub reason: &'static str,
    /// Human-readable detail.
    pub detail: String,
}

/// What an append stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TracesAppendOutcome {
    /// Spans stored.
    pub spans_written: usize,
    /// Bytes of span payloads stored.
    pub bytes_written: usize,
    /// Spans that were not stored.
    pub rejected: Vec<SpanRejection>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl TracesEngine {
    /// Stores a write. Returns once the accepted spans are in the WAL (and
    /// fsynced under the per-request policy) and visible to readers. Blocks
    /// on file I/O: call it from a blocking context.
    pub fn append(&self, write: TracesWrite) -> Result<TracesAppendOutcome> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::ShuttingDown);
        }
        let used = self.head_bytes();
        if used > self.opts.head_memory_limit {
            return Err(Error::OverBudget {
                used,
                limit: self.opts.head_memory_limit,
            });
        }
        let mut outcome = TracesAppendOutcome::default();
        let mut accepted = Vec::with_capacity(write.spans.len());
        for span in write.spans {
            match span.invalid_reason() {
                Some((reason, message)) => outcome.rejected.push(SpanRejection {
                    detail: format!(
                        "span {} of trace {}: {message}",
                        hex(&span.span_id),
                        hex(&span.trace_id)
                    ),
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    reason,
                }),
                None => accepted.push(span),
            }
        }
        if accepted.is_empty() {
            return Ok(outcome);
        }
        copy_out_of_request(&mut accepted);
        outcome.spans_written = accepted.len();
        outcome.bytes_written = accepted.iter().map(|s| s.span.len()).sum();
        let accepted = TracesWrite { spans: accepted };
        let mut buf = Vec::new();
        encode_traces(&accepted, &mut buf);

        let mut wal = self.wal.lock();
        wal.append(&buf)?;
        self.metrics.wal_bytes.inc_by(buf.len() as u64);
        let head = std::sync::Arc::clone(&self.active.read());
        head.append(accepted.spans);
        drop(wal);
        self.wake_flush_if_big();
        Ok(outcome)
    }

    /// Estimated bytes held by the active and frozen heads.
    pub fn head_bytes(&self) -> usize {
        self.active.read().estimated_bytes()
            + self
                .frozen
                .read()
                .iter()
                .map(|h| h.estimated_bytes())
                .sum::<usize>()
    }

    /// Fsyncs the WAL if it has unsynced data (the group-commit tick).
    pub fn sync_wal(&self) -> Result<()> {
        self.wal.lock().sync()
    }

    /// Stops taking writes and makes everything written durable.
    pub fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        self.sync_wal()
    }
}

/// Moves span payloads into one buffer of their own, so the head keeps
/// exactly what it stores with one allocation per request, and never pins
/// the request buffer they may be slices of. Resources are left alone: the
/// head swaps them for its shared copies.
fn copy_out_of_request(spans: &mut [SpanRow]) {
    let total: usize = spans.iter().map(|s| s.span.len()).sum();
    let mut buf = BytesMut::with_capacity(total);
    for s in spans.iter() {
        buf.extend_from_slice(&s.span);
    }
    let buf: Bytes = buf.freeze();
    let mut at = 0;
    for s in spans.iter_mut() {
        let len = s.span.len();
        s.span = buf.slice(at..at + len);
        at += len;
    }
}
