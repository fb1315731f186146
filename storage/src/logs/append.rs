//! The logs write path: resolve streams, apply the out-of-order window,
//! write the WAL, then the head. Only accepted entries reach the WAL.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::LogsEngine;
use super::head::HeadEntry;
use crate::error::{Error, Result};
use crate::logs_model::{LogEntry, LogsWrite, StreamWrite};
use crate::postings::SeriesEntry;
use crate::wal::encode_logs;

/// Entries of one stream that were not stored, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogsRejection {
    /// The stream's labels, rendered `{a="b"}`.
    pub stream: String,
    /// Machine-readable reason (a metric label).
    pub reason: &'static str,
    /// Human-readable detail, worded as Loki words it.
    pub detail: String,
    /// Entries lost.
    pub entries: usize,
}

/// What an append stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogsAppendOutcome {
    /// Entries stored.
    pub entries_written: usize,
    /// Bytes of lines stored.
    pub bytes_written: usize,
    /// Streams (or parts of them) that were not stored.
    pub rejected: Vec<LogsRejection>,
}

fn render_ns(ts_ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ts_ns)
        .format("%Y-%m-%dT%H:%M:%S%.fZ")
        .to_string()
}

impl LogsEngine {
    /// Stores a write. Returns once the accepted entries are in the WAL (and
    /// fsynced under the per-request policy) and visible to readers. Blocks on
    /// file I/O: call it from a blocking context.
    pub fn append(&self, write: LogsWrite) -> Result<LogsAppendOutcome> {
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
        let mut outcome = LogsAppendOutcome::default();
        let mut resolved: Vec<(Arc<SeriesEntry>, StreamWrite)> =
            Vec::with_capacity(write.streams.len());
        for stream in write.streams {
            match self.index.get_or_insert(&stream.labels) {
                Ok(entry) => resolved.push((entry, stream)),
                Err(e) => outcome.rejected.push(LogsRejection {
                    stream: stream.labels.to_string(),
                    reason: "stream_id_collision",
                    detail: e.to_string(),
                    entries: stream.entries.len(),
                }),
            }
        }

        let mut wal = self.wal.lock();
        let window = self.opts.out_of_order_window_ns;
        let mut accepted = LogsWrite {
            streams: Vec::with_capacity(resolved.len()),
        };
        let mut targets = Vec::with_capacity(resolved.len());
        // A stream repeated within one request sees its own earlier
        // entries through the newest time accepted so far.
        let mut newest_seen: std::collections::HashMap<crate::model::SeriesId, i64> =
            std::collections::HashMap::new();
        for (entry, stream) in resolved {
            let mut newest = entry
                .max_ts()
                .max(newest_seen.get(&entry.id).copied().unwrap_or(i64::MIN));
            let before = stream.entries.len();
            let mut kept: Vec<LogEntry> = Vec::with_capacity(before);
            let mut first_rejected = None;
            for e in stream.entries {
                let oldest_ok = newest.saturating_sub(window);
                if newest != i64::MIN && e.ts_ns < oldest_ok {
                    first_rejected.get_or_insert((e.ts_ns, oldest_ok));
                    continue;
                }
                newest = newest.max(e.ts_ns);
                outcome.bytes_written += e.line.len();
                // Copy lines out of the request buffer so a kept line does
                // not pin the whole request.
                kept.push(LogEntry {
                    ts_ns: e.ts_ns,
                    line: Bytes::copy_from_slice(&e.line),
                    structured_metadata: e.structured_metadata,
                });
            }
            if let Some((ts, oldest_ok)) = first_rejected {
                let labels = stream.labels.to_string();
                outcome.rejected.push(LogsRejection {
                    detail: format!(
                        "entry with timestamp {} ignored, reason: 'entry too far behind, entry timestamp is: {}, oldest acceptable timestamp is: {}' for stream: {labels}",
                        render_ns(ts),
                        render_ns(ts),
                        render_ns(oldest_ok)
                    ),
                    stream: labels,
                    reason: "too_far_behind",
                    entries: before - kept.len(),
                });
            }
            newest_seen.insert(entry.id, newest);
            if !kept.is_empty() {
                outcome.entries_written += kept.len();
                targets.push(entry);
                accepted.streams.push(StreamWrite {
                    labels: stream.labels,
                    entries: kept,
                });
            }
        }
        if accepted.streams.is_empty() {
            return Ok(outcome);
        }
        let mut buf = Vec::new();
        encode_logs(&accepted, &mut buf);
        wal.append(&buf)?;

        let head = Arc::clone(&self.active.read());
        let tailing = self.tail.receiver_count() > 0;
        let mut batch: super::TailBatch = Vec::new();
        for (entry, stream) in targets.iter().zip(accepted.streams) {
            let rows: Vec<HeadEntry> = stream
                .entries
                .into_iter()
                .map(|e| HeadEntry {
                    ts_ns: e.ts_ns,
                    line: e.line,
                    metadata: e.structured_metadata,
                })
                .collect();
            if tailing {
                batch.push((Arc::clone(entry), rows.clone()));
            }
            head.append(entry, rows);
        }
        // Sent under the WAL lock so tails see batches in storage order.
        if tailing {
            let _ = self.tail.send(Arc::new(batch));
        }
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
