//! Reading traces: whole traces by id, bounded span scans with a column
//! pre-filter, and the service and operation lists, from the heads and the
//! parts together.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::TracesEngine;
use super::head::{TracesHead, sort_dedup};
use super::names::{NameRow, may_match, services_into, span_names_into};
use super::part_read::{PartBlooms, PartFooter, ReadCounter, read_trace, scan_part};
use crate::error::Result;
use crate::part::PartMeta;
use crate::traces_model::{SpanId, SpanRow, TraceId};

/// Which spans a scan wants, checked on the typed columns before any span
/// or resource blob is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanFilter {
    /// Keep spans of these services only (`None`: any service).
    pub service_names: Option<Vec<String>>,
    /// Keep spans with these names only (`None`: any name).
    pub span_names: Option<Vec<String>>,
    /// Keep spans lasting at least this long (ns).
    pub min_duration_ns: Option<i64>,
    /// Stop after this many spans; the scan then says it was truncated.
    pub max_rows: usize,
}

impl SpanFilter {
    /// A filter that keeps every span, up to `max_rows` of them.
    pub fn new(max_rows: usize) -> Self {
        Self {
            service_names: None,
            span_names: None,
            min_duration_ns: None,
            max_rows,
        }
    }

    /// True when a span with these service and span names may pass. A
    /// span stored with no service name may pass any service filter: its
    /// `service.name` may be a non-string (an array, say) that TraceQL
    /// still compares element by element.
    pub fn matches_names(&self, service: &str, name: &str) -> bool {
        self.service_names
            .as_ref()
            .is_none_or(|s| service.is_empty() || s.iter().any(|x| x == service))
            && self
                .span_names
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == name))
    }

    /// True when a span with these fields passes.
    pub fn matches_fields(&self, service: &str, name: &str, duration_ns: i64) -> bool {
        self.min_duration_ns.is_none_or(|d| duration_ns >= d) && self.matches_names(service, name)
    }

    /// True when `span` passes (its start is not checked here).
    pub fn matches(&self, span: &SpanRow) -> bool {
        self.matches_fields(&span.service_name, &span.name, span.duration_ns)
    }
}

/// What a read cost; Tempo's search `metrics` object draws on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Parts whose time bounds met the query's.
    pub parts_considered: u64,
    /// Of those, parts left unread by their names table (scans) or their
    /// trace-id bounds and bloom filters (trace lookups).
    pub parts_pruned: u64,
    /// Parts whose data pages were read.
    pub parts_opened: u64,
    /// Rows decoded from parts (for scans: rows the filter looked at).
    pub rows_read: u64,
    /// Spans looked at in the heads.
    pub head_rows_read: u64,
    /// Bytes fetched from the object store, footers and bloom filters
    /// included unless cached.
    pub bytes_read: u64,
    /// Range requests sent to the object store.
    pub requests: u64,
    /// True when a scan stopped at `max_rows`.
    pub truncated: bool,
}

/// The spans of one trace and what finding them cost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceLookup {
    /// The trace's spans sorted by start, each once.
    pub spans: Vec<SpanRow>,
    /// Cost.
    pub stats: ScanStats,
}

/// What a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpanScan {
    /// Matching spans, newest data first: the heads', then part by part
    /// from the newest part (within a part, in trace-id order). Each span
    /// once.
    pub spans: Vec<SpanRow>,
    /// Cost, and whether `max_rows` cut the scan short.
    pub stats: ScanStats,
}

/// The parts and heads a read sees, taken at one instant.
struct Snapshot {
    parts: Arc<Vec<PartMeta>>,
    names: Vec<Arc<Vec<NameRow>>>,
    /// Active head first, then frozen ones newest first.
    heads: Vec<Arc<TracesHead>>,
}

impl TracesEngine {
    /// Lock order: parts, active, frozen. A flush swaps heads holding
    /// active and frozen and publishes parts holding parts and frozen, so
    /// every span is in exactly one of the places taken here.
    fn snapshot(&self) -> Snapshot {
        let parts = self.parts.read();
        let names = self.names.read();
        let active = self.active.read();
        let frozen = self.frozen.read();
        let mut heads = vec![Arc::clone(&active)];
        heads.extend(frozen.iter().rev().cloned());
        Snapshot {
            names: parts
                .iter()
                .map(|p| names.get(&p.id).cloned().unwrap_or_default())
                .collect(),
            parts: Arc::clone(&parts),
            heads,
        }
    }

    /// Every span of a trace from the heads and the parts, sorted by start
    /// and each once. With `range`, only spans starting in it (inclusive)
    /// and only parts whose span starts meet it.
    pub async fn trace_by_id(
        &self,
        trace_id: TraceId,
        range_ns: Option<(i64, i64)>,
    ) -> Result<Vec<SpanRow>> {
        Ok(self.lookup_trace(trace_id, range_ns).await?.spans)
    }

    /// [`Self::trace_by_id`] with what the lookup cost.
    pub async fn lookup_trace(
        &self,
        trace_id: TraceId,
        range_ns: Option<(i64, i64)>,
    ) -> Result<TraceLookup> {
        let snap = self.snapshot();
        let mut stats = ScanStats::default();
        let mut spans = Vec::new();
        for head in &snap.heads {
            spans.extend(head.trace(&trace_id, range_ns));
        }
        stats.head_rows_read = spans.len() as u64;
        let counter = Arc::new(ReadCounter::default());
        for part in snap.parts.iter().filter(|p| overlaps(p, range_ns)) {
            stats.parts_considered += 1;
            let footer = self.footer(part, &counter).await?;
            let blooms = self.part_blooms(part, &footer, &counter).await?;
            let read =
                read_trace(&self.store, &footer, &blooms, &trace_id, range_ns, &counter).await?;
            if read.opened {
                stats.parts_opened += 1;
            } else {
                stats.parts_pruned += 1;
            }
            stats.rows_read += read.rows_read;
            spans.extend(read.spans);
        }
        // A trace may sit in several parts and heads, and a re-sent span
        // in more than one of them.
        sort_dedup(&mut spans);
        spans.sort_by_key(|s| (s.start_ns, s.span_id));
        stats.bytes_read = counter.bytes.load(Ordering::Relaxed);
        stats.requests = counter.requests.load(Ordering::Relaxed);
        Ok(TraceLookup { spans, stats })
    }

    /// Spans starting in `[start_ns, end_ns]` that pass `filter`, newest
    /// data first, at most `filter.max_rows` of them.
    pub async fn scan(&self, start_ns: i64, end_ns: i64, filter: &SpanFilter) -> Result<SpanScan> {
        let snap = self.snapshot();
        let mut out = SpanScan::default();
        let mut seen: HashSet<(TraceId, SpanId, i64)> = HashSet::new();
        let limit = filter.max_rows;
        let mut keep = |out: &mut SpanScan, spans: Vec<SpanRow>| {
            for span in spans {
                if out.spans.len() >= limit {
                    out.stats.truncated = true;
                    return;
                }
                if seen.insert(span.identity()) {
                    out.spans.push(span);
                }
            }
        };
        for head in &snap.heads {
            // One more than is left, so a full result is known to be cut.
            let left = (limit - out.spans.len().min(limit)).saturating_add(1);
            let (spans, looked) = head.scan(start_ns, end_ns, filter, left);
            out.stats.head_rows_read += looked;
            keep(&mut out, spans);
        }
        let mut parts: Vec<(&PartMeta, &Arc<Vec<NameRow>>)> = snap
            .parts
            .iter()
            .zip(&snap.names)
            .filter(|(p, _)| overlaps(p, Some((start_ns, end_ns))))
            .collect();
        parts.sort_by_key(|(p, _)| std::cmp::Reverse((p.max_ts, p.id)));
        let counter = Arc::new(ReadCounter::default());
        for (part, names) in parts {
            if out.stats.truncated {
                break;
            }
            out.stats.parts_considered += 1;
            if !may_match(names, start_ns, end_ns, filter) {
                out.stats.parts_pruned += 1;
                continue;
            }
            let footer = self.footer(part, &counter).await?;
            let left = (limit - out.spans.len().min(limit)).saturating_add(1);
            let read = scan_part(
                &self.store,
                &footer,
                start_ns,
                end_ns,
                filter,
                left,
                &counter,
            )
            .await?;
            out.stats.parts_opened += u64::from(read.opened);
            out.stats.rows_read += read.rows_read;
            keep(&mut out, read.spans);
        }
        out.stats.bytes_read = counter.bytes.load(Ordering::Relaxed);
        out.stats.requests = counter.requests.load(Ordering::Relaxed);
        Ok(out)
    }

    /// About how many spans start in `[start_ns, end_ns]`: each part's
    /// rows pro rata to how much of its time span the range covers, plus
    /// every span in the heads. Lets a reader size its slices before it
    /// reads anything.
    pub fn estimate_spans(&self, start_ns: i64, end_ns: i64) -> u64 {
        let snap = self.snapshot();
        let mut total: f64 = snap.heads.iter().map(|h| h.span_count() as f64).sum();
        for part in snap.parts.iter() {
            let (lo, hi) = (part.min_ts.max(start_ns), part.max_ts.min(end_ns));
            if hi < lo {
                continue;
            }
            let width = (part.max_ts as f64 - part.min_ts as f64).max(1.0);
            let share = ((hi as f64 - lo as f64).max(1.0) / width).min(1.0);
            total += part.rows as f64 * share;
        }
        total.ceil() as u64
    }

    /// Services with spans starting in `range` (all when `None`), sorted.
    pub fn services(&self, range_ns: Option<(i64, i64)>) -> Vec<String> {
        let snap = self.snapshot();
        let mut out = Vec::new();
        for names in &snap.names {
            services_into(names, range_ns, &mut out);
        }
        for head in &snap.heads {
            services_into(&head.names(), range_ns, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Span names (of `service`, or of all services) with spans starting
    /// in `range` (all when `None`), sorted.
    pub fn span_names(&self, service: Option<&str>, range_ns: Option<(i64, i64)>) -> Vec<String> {
        let snap = self.snapshot();
        let mut out = Vec::new();
        for names in &snap.names {
            span_names_into(names, service, range_ns, &mut out);
        }
        for head in &snap.heads {
            span_names_into(&head.names(), service, range_ns, &mut out);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    async fn footer(&self, part: &PartMeta, counter: &Arc<ReadCounter>) -> Result<Arc<PartFooter>> {
        if let Some(footer) = self.footers.get(part.id) {
            return Ok(footer);
        }
        let footer = Arc::new(PartFooter::load(&self.store, part, counter).await?);
        self.footers.insert(part.id, Arc::clone(&footer));
        Ok(footer)
    }

    async fn part_blooms(
        &self,
        part: &PartMeta,
        footer: &PartFooter,
        counter: &Arc<ReadCounter>,
    ) -> Result<Arc<PartBlooms>> {
        if let Some(blooms) = self.blooms.get(part.id) {
            return Ok(blooms);
        }
        let blooms = Arc::new(PartBlooms::load(&self.store, footer, counter).await?);
        self.blooms.insert(part.id, Arc::clone(&blooms));
        Ok(blooms)
    }
}

/// True when a part's span starts can meet `range`.
fn overlaps(part: &PartMeta, range: Option<(i64, i64)>) -> bool {
    range.is_none_or(|(start, end)| part.max_ts >= start && part.min_ts <= end)
}
