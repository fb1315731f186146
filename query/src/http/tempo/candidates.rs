//! Which traces a TraceQL query has to look at, and their spans. Storage
//! keeps spans, not traces, so a query starts with one bounded span scan
//! over its time range, narrowed by what the query says every match needs
//! (a service, a span name, a minimum duration: the [`Prefilter`]), and
//! groups what comes back by trace.
//!
//! A group holds only the spans that started in the range, passed the
//! narrowing and fit the scan's budget, so it is a partial trace. It is
//! enough to evaluate a query that looks at one span at a time
//! ([`CompiledQuery::span_local`]), and to rule a trace out for such a
//! query; anything else (other queries, and the trace-level fields search
//! reports) needs the whole trace, read by id.

use std::collections::HashMap;

use hearth_storage::traces::SpanFilter;
use hearth_storage::{SpanRow, TraceId, TracesEngine};

use super::assemble::Assembler;
use super::params::TempoError;
use crate::traceql::{CompiledQuery, Prefilter, Trace};

/// Traces one request may read whole by id; past it the answer is partial.
pub const MAX_TRACE_READS: usize = 2_000;

/// What the reads for one query cost, for Tempo's `metrics` object.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadCost {
    /// Traces evaluated.
    pub inspected_traces: u64,
    /// Spans decoded and evaluated.
    pub inspected_spans: u64,
    /// Bytes fetched from storage (footers and pages; the heads cost none).
    pub inspected_bytes: u64,
    /// Parts whose time range met the query's.
    pub parts: u64,
    /// True when the span scan stopped at its budget, so older traces in
    /// the range were not considered.
    pub truncated: bool,
}

impl ReadCost {
    /// Adds another read's cost to this one.
    pub fn add(&mut self, other: &ReadCost) {
        self.inspected_traces += other.inspected_traces;
        self.inspected_spans += other.inspected_spans;
        self.inspected_bytes += other.inspected_bytes;
        self.parts = self.parts.max(other.parts);
        self.truncated |= other.truncated;
    }
}

/// The traces a query may match, newest first.
pub struct Candidates {
    /// Trace ids ordered by their newest span start, newest first.
    order: Vec<TraceId>,
    groups: HashMap<TraceId, Vec<SpanRow>>,
    /// Whole-trace reads so far, against [`MAX_TRACE_READS`].
    reads: usize,
    /// [`CompiledQuery::span_local`], worked out once: it walks the query.
    span_local: bool,
    /// The scan stopped at its span budget.
    pub scan_truncated: bool,
    /// A trace was passed over for want of whole-trace reads.
    pub reads_ran_out: bool,
    /// Cost so far.
    pub cost: ReadCost,
}

impl Candidates {
    /// Scans `[start_ns, end_ns]` for at most `max_spans` spans that may
    /// belong to a match of `query`.
    pub async fn scan(
        engine: &TracesEngine,
        query: &CompiledQuery,
        (start_ns, end_ns): (i64, i64),
        max_spans: usize,
    ) -> hearth_storage::Result<Self> {
        let filter = span_filter(&query.prefilter(), max_spans);
        let scan = engine.scan(start_ns, end_ns, &filter).await?;
        let cost = ReadCost {
            inspected_bytes: scan.stats.bytes_read,
            parts: scan.stats.parts_considered,
            truncated: scan.stats.truncated,
            ..ReadCost::default()
        };
        let mut groups: HashMap<TraceId, Vec<SpanRow>> = HashMap::new();
        let mut newest: HashMap<TraceId, i64> = HashMap::new();
        for row in scan.spans {
            let t = newest.entry(row.trace_id).or_insert(i64::MIN);
            *t = (*t).max(row.start_ns);
            groups.entry(row.trace_id).or_default().push(row);
        }
        let mut order: Vec<(i64, TraceId)> = newest.into_iter().map(|(id, t)| (t, id)).collect();
        order.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Self {
            order: order.into_iter().map(|(_, id)| id).collect(),
            groups,
            reads: 0,
            span_local: query.span_local(),
            scan_truncated: cost.truncated,
            reads_ran_out: false,
            cost,
        })
    }

    /// The trace of `id` as `query` should see it, or `None` when it need
    /// not be looked at: a span-local query gets the scanned spans (enough
    /// to evaluate it) unless `whole` is asked for, which a trace that can
    /// match then gets read by id for; other queries always read it whole.
    /// A stored span that no longer decodes skips its trace (logged);
    /// running out of whole-trace reads marks the answer truncated.
    pub async fn trace(
        &mut self,
        engine: &TracesEngine,
        assembler: &mut Assembler,
        query: &CompiledQuery,
        id: TraceId,
        whole: bool,
    ) -> Result<Option<Trace>, TempoError> {
        let group = self.group(id);
        if self.span_local {
            let Some(mut partial) = assemble(assembler, id, &group) else {
                return Ok(None);
            };
            partial.mark_partial();
            if !whole {
                return Ok(Some(partial));
            }
            if query.eval_trace(&partial).is_empty() {
                return Ok(None);
            }
        }
        if self.reads >= MAX_TRACE_READS {
            self.cost.truncated = true;
            self.reads_ran_out = true;
            return Ok(None);
        }
        self.reads += 1;
        let rows = self.whole(engine, id).await?;
        Ok(assemble(assembler, id, &rows))
    }

    /// The candidate ids, newest first.
    pub fn ids(&self) -> Vec<TraceId> {
        self.order.clone()
    }

    /// The scanned spans of `id` (a partial trace); handed out once.
    pub fn group(&mut self, id: TraceId) -> Vec<SpanRow> {
        let spans = self.groups.remove(&id).unwrap_or_default();
        self.cost.inspected_traces += 1;
        self.cost.inspected_spans += spans.len() as u64;
        spans
    }

    /// Every span of `id`, read by id from the heads and the parts.
    pub async fn whole(
        &mut self,
        engine: &TracesEngine,
        id: TraceId,
    ) -> hearth_storage::Result<Vec<SpanRow>> {
        let found = engine.lookup_trace(id, None).await?;
        self.cost.inspected_bytes += found.stats.bytes_read;
        self.cost.inspected_spans += found.spans.len() as u64;
        Ok(found.spans)
    }
}

fn assemble(assembler: &mut Assembler, id: TraceId, rows: &[SpanRow]) -> Option<Trace> {
    if rows.is_empty() {
        return None;
    }
    match assembler.trace(id, rows) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(error = %e, "skipped a trace whose stored spans do not decode");
            None
        }
    }
}

/// The scan filter for a prefilter: its first requirement (a match needs
/// a span meeting every requirement, so any one of them narrows soundly).
pub fn span_filter(prefilter: &Prefilter, max_rows: usize) -> SpanFilter {
    let mut filter = SpanFilter::new(max_rows);
    if let Some(req) = prefilter.required.first() {
        filter.service_names = req.service_names.clone();
        filter.span_names = req.span_names.clone();
        filter.min_duration_ns = req
            .min_duration_ns
            .map(|d| i64::try_from(d).unwrap_or(i64::MAX));
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traceql::compile;

    #[test]
    fn the_first_requirement_narrows_the_scan() {
        let q = compile(r#"{ resource.service.name = "api" && duration > 1s }"#).expect("parses");
        let f = span_filter(&q.prefilter(), 10);
        assert_eq!(f.service_names, Some(vec!["api".to_string()]));
        assert!(f.min_duration_ns.is_some_and(|d| d >= 1_000_000_000));
        assert_eq!(f.max_rows, 10);
        let any = compile("{ span.x = 1 }").expect("parses");
        assert_eq!(span_filter(&any.prefilter(), 5), SpanFilter::new(5));
    }

    #[test]
    fn span_local_queries_are_recognised() {
        for q in [
            "{}",
            r#"{ resource.service.name = "a" && status = error }"#,
            "{ .a = 1 } | rate() by (name)",
            "{ kind = server } | quantile_over_time(duration, 0.9)",
            "{ nestedSetParent < 0 && status = error } | rate()",
            "{ nestedSetParent = -1 } | histogram_over_time(duration)",
            r#"{ resource.service.name = "a" } | select(span.http.method)"#,
        ] {
            assert!(compile(q).expect(q).span_local(), "{q}");
        }
        for q in [
            "{ .a = 1 } >> { .b = 2 }",
            "{ .a = 1 } | count() > 2",
            "{ rootServiceName = \"x\" }",
            "{ parent.a = 1 }",
            "{ childCount > 1 }",
            "{ .a = 1 } && { .b = 2 }",
            "{ nestedSetParent = 3 }",
            "{ nestedSetParent < 0 } | by(name)",
        ] {
            assert!(!compile(q).expect(q).span_local(), "{q}");
        }
    }
}
