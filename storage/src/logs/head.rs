//! The logs head: entries accepted since the last flush, per stream, in
//! arrival order. Readers get copies sorted by time with exact duplicates
//! (same time, same line) removed, as Loki drops a re-sent entry.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;

use crate::model::{Label, SeriesId};
use crate::postings::SeriesEntry;

/// One entry as the head keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadEntry {
    /// Nanoseconds since the epoch.
    pub ts_ns: i64,
    /// The line, its own allocation (never a slice of a request).
    pub line: Bytes,
    /// Structured metadata in wire order.
    pub metadata: Vec<Label>,
}

impl HeadEntry {
    fn estimated_bytes(&self) -> usize {
        // Vec/Bytes headers plus payloads plus the label strings' headers.
        64 + self.line.len()
            + self
                .metadata
                .iter()
                .map(|l| 48 + l.name.len() + l.value.len())
                .sum::<usize>()
    }
}

struct StreamBuf {
    entry: Arc<SeriesEntry>,
    rows: Vec<HeadEntry>,
    /// False once an entry arrived older than the newest one.
    sorted: bool,
}

/// A stream's entries copied out of the head.
#[derive(Clone, Debug)]
pub struct StreamRows {
    /// The stream.
    pub entry: Arc<SeriesEntry>,
    /// Entries sorted by time, duplicates removed.
    pub rows: Vec<HeadEntry>,
}

/// The in-memory logs head.
#[derive(Default)]
pub struct LogsHead {
    streams: RwLock<HashMap<SeriesId, StreamBuf>>,
    bytes: AtomicUsize,
    entries: AtomicUsize,
}

impl LogsHead {
    /// An empty head.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds entries to a stream.
    pub fn append(&self, entry: &Arc<SeriesEntry>, rows: impl IntoIterator<Item = HeadEntry>) {
        let mut streams = self.streams.write();
        let buf = streams.entry(entry.id).or_insert_with(|| StreamBuf {
            entry: Arc::clone(entry),
            rows: Vec::new(),
            sorted: true,
        });
        let (mut added_bytes, mut added) = (0, 0);
        let (mut min, mut max) = (i64::MAX, i64::MIN);
        for row in rows {
            if buf.rows.last().is_some_and(|last| last.ts_ns > row.ts_ns) {
                buf.sorted = false;
            }
            added_bytes += row.estimated_bytes();
            added += 1;
            min = min.min(row.ts_ns);
            max = max.max(row.ts_ns);
            buf.rows.push(row);
        }
        if added > 0 {
            entry.observe(min, max);
        }
        self.bytes.fetch_add(added_bytes, Ordering::Relaxed);
        self.entries.fetch_add(added, Ordering::Relaxed);
    }

    /// Estimated bytes held.
    pub fn estimated_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Entries held.
    pub fn entry_count(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }

    /// Streams held.
    pub fn stream_count(&self) -> usize {
        self.streams.read().len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entry_count() == 0
    }

    /// Entries of the streams `wanted` accepts with `start <= ts < end`,
    /// sorted by time, in stream-id order.
    pub fn rows(
        &self,
        start: i64,
        end: i64,
        mut wanted: impl FnMut(SeriesId) -> bool,
    ) -> Vec<StreamRows> {
        let streams = self.streams.read();
        let mut ids: Vec<SeriesId> = streams.keys().copied().filter(|&id| wanted(id)).collect();
        ids.sort_unstable();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(buf) = streams.get(&id) else {
                continue;
            };
            let rows: Vec<HeadEntry> = buf
                .rows
                .iter()
                .filter(|r| r.ts_ns >= start && r.ts_ns < end)
                .cloned()
                .collect();
            if rows.is_empty() {
                continue;
            }
            out.push((
                StreamRows {
                    entry: Arc::clone(&buf.entry),
                    rows,
                },
                buf.sorted,
            ));
        }
        // Sorting and de-duplicating happen after the lock is released, so
        // appends do not wait on them.
        drop(streams);
        out.into_iter()
            .map(|(mut run, sorted)| {
                if !sorted {
                    run.rows.sort_by_key(|r| r.ts_ns);
                }
                dedup_same_time(&mut run.rows);
                run
            })
            .collect()
    }
}

/// Removes entries equal in time and line to an earlier one at that time,
/// keeping the first. `rows` must be sorted by time (stably, so arrival
/// order holds within a time).
pub fn dedup_same_time(rows: &mut Vec<HeadEntry>) {
    let has_ties = rows.windows(2).any(|w| w[0].ts_ns == w[1].ts_ns);
    if !has_ties {
        return;
    }
    let mut seen: std::collections::HashSet<(i64, Bytes)> =
        std::collections::HashSet::with_capacity(rows.len());
    rows.retain(|r| seen.insert((r.ts_ns, r.line.clone())));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::postings::SeriesIndex;

    fn row(ts: i64, line: &str) -> HeadEntry {
        HeadEntry {
            ts_ns: ts,
            line: Bytes::copy_from_slice(line.as_bytes()),
            metadata: Vec::new(),
        }
    }

    #[test]
    fn rows_come_back_sorted_without_duplicates() {
        let index = SeriesIndex::new();
        let stream = index
            .get_or_insert(&Labels::from_pairs([("app", "a")]).unwrap())
            .unwrap();
        let head = LogsHead::new();
        head.append(&stream, [row(30, "c"), row(10, "a"), row(20, "b")]);
        head.append(&stream, [row(10, "a"), row(10, "a2"), row(40, "d")]);
        assert_eq!(head.entry_count(), 6);
        let got = head.rows(10, 40, |_| true);
        let lines: Vec<_> = got[0]
            .rows
            .iter()
            .map(|r| (r.ts_ns, std::str::from_utf8(&r.line).unwrap().to_owned()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (10, "a".into()),
                (10, "a2".into()),
                (20, "b".into()),
                (30, "c".into())
            ]
        );
        assert_eq!((stream.min_ts(), stream.max_ts()), (10, 40));
        assert!(head.rows(0, 100, |_| false).is_empty());
    }
}
