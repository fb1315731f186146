//! Log queries: entries in `[start, end)` through the pipeline, the first
//! `limit` in the query's direction.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use hearth_storage::SeriesId;
use hearth_storage::logs::{HeadEntry, LogScan, LogsEngine, ScanSink};
use hearth_storage::postings::SeriesEntry;

use super::{
    ExecError, ExecStats, StreamLabelCache, process_row, required_substrings, storage_matchers,
};
use crate::logql::ast::LogQuery;
use crate::logql::eval::labels::LabelPairs;
use crate::logql::eval::pipeline::Pipeline;

/// What a log query asks for.
#[derive(Clone, Copy, Debug)]
pub struct LogQueryParams {
    /// Inclusive start (ns).
    pub start_ns: i64,
    /// Exclusive end (ns).
    pub end_ns: i64,
    /// Most entries returned.
    pub limit: usize,
    /// Newest first.
    pub backward: bool,
    /// When positive, at most one entry per this many ns: in the query's
    /// direction, an entry is kept only once it is at least `interval_ns`
    /// past the last kept one (across streams, as Loki does).
    pub interval_ns: i64,
}

/// Most entries an `interval` query may gather before thinning: thinning
/// needs them in global time order, so the usual top-`limit` bound
/// cannot apply while scanning.
pub const MAX_INTERVAL_CANDIDATES: usize = 1_000_000;

/// One returned entry.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// Time (ns).
    pub ts_ns: i64,
    /// The line after the pipeline.
    pub line: Vec<u8>,
    /// The stream's own labels.
    pub stream: Arc<LabelPairs>,
    /// Every label after the pipeline (stream, metadata, parsed).
    pub labels: LabelPairs,
    /// The structured metadata among `labels`.
    pub structured_metadata: LabelPairs,
    /// The parsed labels among `labels`.
    pub parsed: LabelPairs,
}

/// Entries in the query's direction, plus what it cost.
#[derive(Debug, Default)]
pub struct LogQueryResult {
    /// Entries, ordered by the query's direction.
    pub lines: Vec<LogLine>,
    /// Cost figures.
    pub stats: ExecStats,
}

/// An entry as stored: a client that re-sends a batch after a timeout can
/// leave the same entry in two parts until compaction merges them, and a
/// query shows it once, as Loki's does.
type RawKey = (SeriesId, i64, Bytes);

/// Orders kept entries so the heap's top is the one to drop first.
struct Kept {
    key: (i64, u64),
    raw: RawKey,
    line: LogLine,
}

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Kept {}
impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kept {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

struct Sink<'a> {
    pipeline: &'a Pipeline,
    params: LogQueryParams,
    /// Backward keeps the newest: a min-heap (drop the oldest). Forward
    /// keeps the oldest: a max-heap.
    newest: BinaryHeap<Reverse<Kept>>,
    oldest: BinaryHeap<Kept>,
    seq: u64,
    stats: ExecStats,
    stream_labels: StreamLabelCache,
    overflowed: bool,
    /// Lines kept per (stream, time): looked up for every row read, so the
    /// key is two integers and lines are compared only on a time match.
    kept_raw: HashMap<(SeriesId, i64), Vec<Bytes>>,
}

impl Sink<'_> {
    fn len(&self) -> usize {
        self.newest.len() + self.oldest.len()
    }

    fn full(&self) -> bool {
        self.params.interval_ns <= 0 && self.len() >= self.params.limit
    }

    /// The time an entry must beat to get in once the result is full.
    fn bar(&self) -> Option<i64> {
        if !self.full() {
            return None;
        }
        if self.params.backward {
            self.newest.peek().map(|k| k.0.key.0)
        } else {
            self.oldest.peek().map(|k| k.key.0)
        }
    }

    fn forget(&mut self, raw: &RawKey) {
        if let Some(lines) = self.kept_raw.get_mut(&(raw.0, raw.1)) {
            if let Some(i) = lines.iter().position(|l| *l == raw.2) {
                lines.swap_remove(i);
            }
            if lines.is_empty() {
                self.kept_raw.remove(&(raw.0, raw.1));
            }
        }
    }

    fn is_kept(&self, stream: SeriesId, ts_ns: i64, line: &Bytes) -> bool {
        self.kept_raw
            .get(&(stream, ts_ns))
            .is_some_and(|lines| lines.contains(line))
    }

    fn push(&mut self, raw: RawKey, line: LogLine) {
        self.seq += 1;
        self.kept_raw
            .entry((raw.0, raw.1))
            .or_default()
            .push(raw.2.clone());
        let kept = Kept {
            key: (line.ts_ns, self.seq),
            raw,
            line,
        };
        if self.params.interval_ns > 0 {
            if self.oldest.len() >= MAX_INTERVAL_CANDIDATES {
                self.overflowed = true;
                return;
            }
            self.oldest.push(kept);
        } else if self.params.backward {
            self.newest.push(Reverse(kept));
            if self.newest.len() > self.params.limit
                && let Some(dropped) = self.newest.pop()
            {
                self.forget(&dropped.0.raw);
            }
        } else {
            self.oldest.push(kept);
            if self.oldest.len() > self.params.limit
                && let Some(dropped) = self.oldest.pop()
            {
                self.forget(&dropped.raw);
            }
        }
    }
}

impl ScanSink for Sink<'_> {
    fn rows(&mut self, stream: &Arc<SeriesEntry>, rows: Vec<HeadEntry>) {
        let labels = self.stream_labels.get(stream);
        let mut metadata: Vec<(String, String)> = Vec::new();
        for row in rows {
            if let Some(bar) = self.bar() {
                let beaten = if self.params.backward {
                    row.ts_ns > bar
                } else {
                    row.ts_ns < bar
                };
                if !beaten {
                    continue;
                }
            }
            if self.is_kept(stream.id, row.ts_ns, &row.line) {
                continue;
            }
            let raw = (stream.id, row.ts_ns, row.line.clone());
            self.stats.lines_processed += 1;
            self.stats.bytes_processed += row.line.len() as u64;
            let Some(out) = process_row(self.pipeline, &row, &labels, &mut metadata) else {
                continue;
            };
            self.push(
                raw,
                LogLine {
                    ts_ns: row.ts_ns,
                    line: out.line,
                    stream: Arc::clone(&labels),
                    labels: out.labels,
                    structured_metadata: out.structured_metadata,
                    parsed: out.parsed,
                },
            );
        }
    }

    fn wants(&mut self, min_ts: i64, max_ts: i64) -> bool {
        match self.bar() {
            None => true,
            Some(bar) if self.params.backward => max_ts > bar,
            Some(bar) => min_ts < bar,
        }
    }
}

/// Runs a log query.
pub async fn run_log_query(
    engine: &LogsEngine,
    query: &LogQuery,
    params: LogQueryParams,
) -> Result<LogQueryResult, ExecError> {
    let pipeline = Pipeline::new(&query.pipeline)?;
    let matchers = storage_matchers(&query.matchers)?;
    let required = required_substrings(&query.pipeline);
    let scan = LogScan {
        matchers: &matchers,
        start_ns: params.start_ns,
        end_ns: params.end_ns,
        required: &required,
        backward: params.backward,
    };
    let mut sink = Sink {
        pipeline: &pipeline,
        params,
        newest: BinaryHeap::new(),
        oldest: BinaryHeap::new(),
        seq: 0,
        stats: ExecStats::default(),
        stream_labels: Default::default(),
        overflowed: false,
        kept_raw: HashMap::new(),
    };
    if params.limit > 0 {
        let scanned = engine.scan(&scan, &mut sink).await?;
        sink.stats.add_scan(&scanned);
    }
    let mut kept: Vec<Kept> = sink
        .newest
        .into_iter()
        .map(|r| r.0)
        .chain(sink.oldest)
        .collect();
    if sink.overflowed {
        return Err(ExecError::Limit(format!(
            "the query matches more than {MAX_INTERVAL_CANDIDATES} entries, too many to thin by interval; narrow the time range or the selector"
        )));
    }
    kept.sort();
    if params.backward {
        kept.reverse();
    }
    let lines = kept.into_iter().map(|k| k.line);
    let lines = if params.interval_ns > 0 {
        one_per_interval(lines, params)
    } else {
        lines.collect()
    };
    Ok(LogQueryResult {
        lines,
        stats: sink.stats,
    })
}

/// Keeps, in direction order, the first entry and then each entry at least
/// one interval past the last kept one, up to the limit.
fn one_per_interval(lines: impl Iterator<Item = LogLine>, params: LogQueryParams) -> Vec<LogLine> {
    let mut out = Vec::new();
    let mut last: Option<i64> = None;
    for line in lines {
        if out.len() >= params.limit {
            break;
        }
        let due = match last {
            None => true,
            Some(t) if params.backward => line.ts_ns <= t.saturating_sub(params.interval_ns),
            Some(t) => line.ts_ns >= t.saturating_add(params.interval_ns),
        };
        if due {
            last = Some(line.ts_ns);
            out.push(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ts_ns: i64) -> LogLine {
        LogLine {
            ts_ns,
            line: Vec::new(),
            stream: Arc::default(),
            labels: LabelPairs::default(),
            structured_metadata: LabelPairs::default(),
            parsed: LabelPairs::default(),
        }
    }

    fn thin(ts: &[i64], backward: bool, limit: usize) -> Vec<i64> {
        let params = LogQueryParams {
            start_ns: 0,
            end_ns: 100,
            limit,
            backward,
            interval_ns: 10,
        };
        one_per_interval(ts.iter().map(|&t| line(t)), params)
            .iter()
            .map(|l| l.ts_ns)
            .collect()
    }

    #[test]
    fn interval_keeps_one_entry_per_interval_in_direction_order() {
        // The boundary is inclusive: 10 after the last kept entry is due.
        assert_eq!(thin(&[0, 5, 9, 10, 15, 25, 26], false, 100), [0, 10, 25]);
        assert_eq!(thin(&[26, 25, 15, 10, 9, 5, 0], true, 100), [26, 15, 5]);
        assert_eq!(thin(&[0, 5, 10, 20, 30], false, 2), [0, 10]);
    }
}
