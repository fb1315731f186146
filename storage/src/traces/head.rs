//! The traces head: spans accepted since the last flush, in arrival order,
//! with a trace-id index for trace lookups, one copy of each distinct
//! resource blob, and the head's names table. Readers get copies; a span
//! re-sent with the same identity (trace, span id, start) is returned once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;

use super::names::{NameRow, NamesBuilder};
use super::read::SpanFilter;
use crate::traces_model::{SpanId, SpanRow, TraceId};

/// Bookkeeping per span beyond its strings and blobs: the row itself and
/// its slot in the trace index.
const SPAN_OVERHEAD: usize = std::mem::size_of::<SpanRow>() + 8;
/// A new trace's index entry: key, vector header, hash-table slack.
const TRACE_OVERHEAD: usize = 64;

#[derive(Default)]
struct Inner {
    spans: Vec<SpanRow>,
    /// Positions in `spans` by trace.
    by_trace: HashMap<TraceId, Vec<u32>>,
    /// Distinct resource blobs; spans share these allocations.
    resources: HashSet<Bytes>,
    names: NamesBuilder,
}

/// The in-memory traces head.
#[derive(Default)]
pub struct TracesHead {
    inner: RwLock<Inner>,
    bytes: AtomicUsize,
    spans: AtomicUsize,
}

impl TracesHead {
    /// An empty head.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds spans. Each span's resource is swapped for the head's copy of
    /// the same bytes, so a blob repeated across spans is held once.
    pub fn append(&self, spans: impl IntoIterator<Item = SpanRow>) {
        let mut inner = self.inner.write();
        let inner = &mut *inner;
        let mut added_bytes = 0;
        let mut added = 0;
        for mut span in spans {
            match inner.resources.get(&span.resource[..]) {
                Some(shared) => span.resource = shared.clone(),
                None => {
                    // A copy, as the blob may be a slice of a request.
                    let owned = Bytes::copy_from_slice(&span.resource);
                    added_bytes += owned.len() + 32;
                    inner.resources.insert(owned.clone());
                    span.resource = owned;
                }
            }
            let Ok(pos) = u32::try_from(inner.spans.len()) else {
                // Four billion spans cannot fit under any memory limit;
                // the budget check refuses appends long before.
                break;
            };
            match inner.by_trace.get_mut(&span.trace_id) {
                Some(positions) => positions.push(pos),
                None => {
                    added_bytes += TRACE_OVERHEAD;
                    inner.by_trace.insert(span.trace_id, vec![pos]);
                }
            }
            inner.names.add(&span);
            added_bytes +=
                SPAN_OVERHEAD + span.service_name.len() + span.name.len() + span.span.len();
            added += 1;
            inner.spans.push(span);
        }
        self.bytes.fetch_add(added_bytes, Ordering::Relaxed);
        self.spans.fetch_add(added, Ordering::Relaxed);
    }

    /// Estimated bytes held.
    pub fn estimated_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Spans held (re-sent copies included).
    pub fn span_count(&self) -> usize {
        self.spans.load(Ordering::Relaxed)
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.span_count() == 0
    }

    /// Spans of one trace starting in `range` (inclusive; all when `None`),
    /// sorted by start, without re-sent copies.
    pub fn trace(&self, trace_id: &TraceId, range: Option<(i64, i64)>) -> Vec<SpanRow> {
        let inner = self.inner.read();
        let Some(positions) = inner.by_trace.get(trace_id) else {
            return Vec::new();
        };
        let mut out: Vec<SpanRow> = positions
            .iter()
            .filter_map(|&p| inner.spans.get(p as usize))
            .filter(|s| range.is_none_or(|(a, b)| s.start_ns >= a && s.start_ns <= b))
            .cloned()
            .collect();
        drop(inner);
        sort_dedup(&mut out);
        out
    }

    /// Up to `limit` spans starting in `[start, end]` that pass `filter`,
    /// newest arrivals first; also how many spans were looked at.
    pub fn scan(
        &self,
        start: i64,
        end: i64,
        filter: &SpanFilter,
        limit: usize,
    ) -> (Vec<SpanRow>, u64) {
        let inner = self.inner.read();
        let mut looked = 0;
        let mut out = Vec::new();
        for span in inner.spans.iter().rev() {
            if out.len() >= limit {
                break;
            }
            looked += 1;
            if span.start_ns >= start && span.start_ns <= end && filter.matches(span) {
                out.push(span.clone());
            }
        }
        (out, looked)
    }

    /// Every span, sorted by (trace id, start, span id), re-sent copies
    /// removed: the order of a part.
    pub fn sorted_spans(&self) -> Vec<SpanRow> {
        let mut out = self.inner.read().spans.clone();
        sort_dedup(&mut out);
        out
    }

    /// The head's names table.
    pub fn names(&self) -> Vec<NameRow> {
        self.inner.read().names.rows()
    }
}

/// Sorts spans into part order, (trace id, start, span id), and drops all
/// but the first of each run with the same identity.
pub fn sort_dedup(spans: &mut Vec<SpanRow>) {
    spans.sort_by_key(part_order);
    spans.dedup_by(|later, earlier| later.identity() == earlier.identity());
}

/// The sort key of parts; identical spans end up next to each other.
fn part_order(s: &SpanRow) -> (TraceId, i64, SpanId) {
    (s.trace_id, s.start_ns, s.span_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, id: u8, start: i64, resource: &[u8]) -> SpanRow {
        SpanRow {
            trace_id: [trace; 16],
            span_id: [id; 8],
            parent_span_id: [0; 8],
            start_ns: start,
            duration_ns: 1,
            service_name: "svc".into(),
            name: "op".into(),
            kind: 1,
            status_code: 0,
            span: Bytes::from(vec![id; 4]),
            resource: Bytes::copy_from_slice(resource),
        }
    }

    #[test]
    fn trace_lookup_sorts_dedups_and_shares_resources() {
        let head = TracesHead::new();
        head.append([span(1, 2, 20, b"res"), span(2, 1, 5, b"res")]);
        let before = head.estimated_bytes();
        head.append([span(1, 1, 10, b"res"), span(1, 2, 20, b"res")]);
        let per_span = head.estimated_bytes() - before;
        assert!(per_span < 2 * (SPAN_OVERHEAD + 64), "{per_span}");
        let got = head.trace(&[1; 16], None);
        let ids: Vec<(u8, i64)> = got.iter().map(|s| (s.span_id[0], s.start_ns)).collect();
        assert_eq!(ids, vec![(1, 10), (2, 20)]);
        assert!(got[0].resource.as_ptr() == got[1].resource.as_ptr());
        assert_eq!(head.trace(&[1; 16], Some((15, 30))).len(), 1);
        assert!(head.trace(&[9; 16], None).is_empty());
        assert_eq!(head.sorted_spans().len(), 3);
        assert_eq!(head.span_count(), 4);
        assert_eq!(head.names()[0].spans, 4);
    }
}
