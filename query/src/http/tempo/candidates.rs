//! Which traces a TraceQL query has to look at, and their spans. Storage
//! keeps spans, not traces, so a query starts with one bounded span scan
//! over its time range, narrowed by what the query says every match needs
//! (a service, a span name, a minimum duration: the [`Prefilter`]), and
//! groups what comes back by trace.
//!
//! When the scan was not narrowed, the groups already hold every span of
//! each trace in the range, which is what the query is evaluated on (as
//! Tempo evaluates what its blocks for the range hold). When it was
//! narrowed, the groups hold only the spans that passed, so a trace is
//! read whole by id before it is evaluated, unless the query only ever
//! looks at one span at a time ([`CompiledQuery::span_local`]).

use std::collections::HashMap;

use hearth_storage::traces::SpanFilter;
use hearth_storage::{SpanRow, TraceId, TracesEngine};

use crate::traceql::{CompiledQuery, Prefilter};

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
    /// The groups are what the query should see: no lookup by id.
    complete: bool,
    /// Cost so far.
    pub cost: ReadCost,
}

impl Candidates {
    /// Scans `[start_ns, end_ns]` for at most `max_spans` spans that may
    /// belong to a match of `query`. With `whole_traces`, a narrowed scan's
    /// traces are always read whole (search answers with the root span,
    /// the trace's duration and its per-service counts).
    pub async fn scan(
        engine: &TracesEngine,
        query: &CompiledQuery,
        (start_ns, end_ns): (i64, i64),
        max_spans: usize,
        whole_traces: bool,
    ) -> hearth_storage::Result<Self> {
        let filter = span_filter(&query.prefilter(), max_spans);
        let narrowed = filter.service_names.is_some()
            || filter.span_names.is_some()
            || filter.min_duration_ns.is_some();
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
            complete: !narrowed || (!whole_traces && query.span_local()),
            cost,
        })
    }

    /// True when each trace is read whole by id (a narrowed scan), which
    /// costs a lookup per trace.
    pub fn reads_by_id(&self) -> bool {
        !self.complete
    }

    /// The candidate ids, newest first.
    pub fn ids(&self) -> Vec<TraceId> {
        self.order.clone()
    }

    /// The spans the query should see for `id`: the scanned group, or the
    /// whole trace read by id. Each id's group is handed out once.
    pub async fn spans(
        &mut self,
        engine: &TracesEngine,
        id: TraceId,
    ) -> hearth_storage::Result<Vec<SpanRow>> {
        let group = self.groups.remove(&id).unwrap_or_default();
        let spans = if self.complete {
            group
        } else {
            let found = engine.lookup_trace(id, None).await?;
            self.cost.inspected_bytes += found.stats.bytes_read;
            found.spans
        };
        self.cost.inspected_traces += 1;
        self.cost.inspected_spans += spans.len() as u64;
        Ok(spans)
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
        ] {
            assert!(!compile(q).expect(q).span_local(), "{q}");
        }
    }
}
