//! Reading logs: which streams match, and their entries in a time range from
//! the head and the parts, narrowed by the text index where a query's line
//! filters allow.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::LogsEngine;
use super::head::HeadEntry;
use super::part::{PartQuery, read_entries, read_index};
use super::text_index::TextIndex;
use crate::error::Result;
use crate::matcher::Matcher;
use crate::model::SeriesId;
use crate::part::PartMeta;
use crate::postings::SeriesEntry;

/// Above this share of a part's rows, index candidates are not worth a
/// row selection: the scan reads nearly every page anyway.
const INDEX_USEFUL_SHARE: f64 = 0.5;

/// What to read.
#[derive(Clone, Copy, Debug)]
pub struct LogScan<'a> {
    /// Stream selector.
    pub matchers: &'a [Matcher],
    /// Inclusive start (ns).
    pub start_ns: i64,
    /// Exclusive end (ns).
    pub end_ns: i64,
    /// Each list holds alternatives, one of which every wanted line
    /// contains (case-sensitive substrings). Used only to narrow; callers
    /// still check every line.
    pub required: &'a [Vec<Vec<u8>>],
    /// Newest data first (the head, then parts by descending time), so a
    /// caller with a limit can stop early through [`ScanSink::wants`].
    pub backward: bool,
}

/// Receives what a scan reads.
pub trait ScanSink {
    /// A run of one stream's entries, sorted by time. A stream may come in
    /// several runs (head and parts); runs of different sources may overlap
    /// in time.
    fn rows(&mut self, stream: &Arc<SeriesEntry>, rows: Vec<HeadEntry>);

    /// Asked before reading a part whose entries lie in `[min_ts, max_ts]`;
    /// returning false ends the scan.
    fn wants(&mut self, _min_ts: i64, _max_ts: i64) -> bool {
        true
    }
}

/// What a scan cost (Loki's query statistics draw on it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Streams the selector matched.
    pub streams: u64,
    /// Parts read.
    pub parts_read: u64,
    /// Parts whose reading the text index narrowed.
    pub parts_narrowed: u64,
    /// Rows decoded from parts.
    pub part_rows_read: u64,
    /// Bytes of lines decoded from parts.
    pub part_bytes_read: u64,
    /// Entries read from the head.
    pub head_rows_read: u64,
    /// Bytes of lines read from the head.
    pub head_bytes_read: u64,
}

impl LogsEngine {
    /// Streams matching `matchers` with data overlapping `[start, end)`.
    pub fn streams(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<Arc<SeriesEntry>> {
        self.index.select(matchers, start, end.saturating_sub(1))
    }

    /// Reads the entries `q` asks for into `sink`.
    pub async fn scan(
        &self,
        q: &LogScan<'_>,
        sink: &mut (dyn ScanSink + Send),
    ) -> Result<ScanStats> {
        let mut stats = ScanStats::default();
        let streams = self.streams(q.matchers, q.start_ns, q.end_ns);
        stats.streams = streams.len() as u64;
        if streams.is_empty() || q.start_ns >= q.end_ns {
            return Ok(stats);
        }
        let mut ids: Vec<SeriesId> = streams.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        let by_id: std::collections::HashMap<SeriesId, &Arc<SeriesEntry>> =
            streams.iter().map(|s| (s.id, s)).collect();

        // Lock order: parts, active, frozen. A flush swaps heads holding
        // active and frozen and publishes parts holding parts and frozen,
        // so every entry is in exactly one of the places taken here.
        let (parts, mut heads) = {
            let parts = self.parts.read();
            let active = self.active.read();
            let frozen = self.frozen.read();
            let mut heads = vec![Arc::clone(&active)];
            heads.extend(frozen.iter().rev().cloned());
            (Arc::clone(&parts), heads)
        };
        let mut parts: Vec<&PartMeta> = parts
            .iter()
            .filter(|p| p.max_ts >= q.start_ns && p.min_ts < q.end_ns)
            .collect();
        if q.backward {
            parts.sort_by_key(|p| std::cmp::Reverse(p.max_ts));
        } else {
            parts.sort_by_key(|p| p.min_ts);
            heads.reverse();
        }

        let read_heads = |sink: &mut (dyn ScanSink + Send), stats: &mut ScanStats| {
            for head in &heads {
                for run in head.rows(q.start_ns, q.end_ns, |id| by_id.contains_key(&id)) {
                    stats.head_rows_read += run.rows.len() as u64;
                    stats.head_bytes_read +=
                        run.rows.iter().map(|r| r.line.len() as u64).sum::<u64>();
                    sink.rows(&run.entry, run.rows);
                }
            }
        };
        if q.backward {
            read_heads(sink, &mut stats);
        }
        for part in parts {
            if !sink.wants(part.min_ts, part.max_ts) {
                break;
            }
            let candidates = self.candidates(part, q.required).await?;
            if candidates.is_some() {
                stats.parts_narrowed += 1;
            }
            let pq = PartQuery {
                ids: &ids,
                start: q.start_ns,
                end: q.end_ns,
                candidates: candidates.as_ref(),
            };
            let read = read_entries(&self.store, part, pq, |id, rows| {
                if let Some(entry) = by_id.get(&id) {
                    sink.rows(entry, rows);
                }
            })
            .await?;
            stats.parts_read += 1;
            stats.part_rows_read += read.rows_read;
            stats.part_bytes_read += read.line_bytes_read;
        }
        if !q.backward {
            read_heads(sink, &mut stats);
        }
        Ok(stats)
    }

    /// Rows of `part` that can hold every required substring, or `None`
    /// when the index cannot narrow usefully.
    async fn candidates(
        &self,
        part: &PartMeta,
        required: &[Vec<Vec<u8>>],
    ) -> Result<Option<RoaringBitmap>> {
        if required.is_empty() || part.rows == 0 {
            return Ok(None);
        }
        let Some(index) = self.text_index(part).await? else {
            return Ok(None);
        };
        let mut result: Option<RoaringBitmap> = None;
        for alternatives in required {
            let mut any = RoaringBitmap::new();
            let mut usable = !alternatives.is_empty();
            for needle in alternatives {
                match index.candidates(needle)? {
                    Some(rows) => any |= rows,
                    None => {
                        usable = false;
                        break;
                    }
                }
            }
            if usable {
                result = Some(match result {
                    Some(r) => r & any,
                    None => any,
                });
            }
        }
        Ok(result.filter(|r| (r.len() as f64) < part.rows as f64 * INDEX_USEFUL_SHARE))
    }

    async fn text_index(&self, part: &PartMeta) -> Result<Option<Arc<TextIndex>>> {
        if let Some(index) = self.text_cache.get(part.id) {
            return Ok(Some(index));
        }
        let Some(blob) = read_index(&self.store, part).await? else {
            return Ok(None);
        };
        let index = Arc::new(TextIndex::open(&blob)?);
        self.text_cache.insert(part.id, Arc::clone(&index));
        Ok(Some(index))
    }
}
