//! Metrics generated from spans at ingest, in the shape Grafana Tempo's
//! metrics-generator writes them: the `span-metrics` processor (RED metrics
//! per service and span name, `traces_spanmetrics_*`) and the
//! `service-graphs` processor (requests between services,
//! `traces_service_graph_*`).
//!
//! Why here and why Tempo's shape: Grafana's Tempo data source draws its
//! Service Graph tab and RED table from exactly these series, queried from a
//! Prometheus data source, and dashboards people already have use the same
//! names. Generating them while the spans pass through ingest gives that view
//! with no extra component, and because the output is ordinary series in
//! Hearth's own store, PromQL sees them like any other metric.
//!
//! How the state works: counters and histograms are cumulative for the life
//! of the generator. Each [`SpanMetricsGenerator::observe`] returns the
//! current totals of the series that call touched, stamped with the call's
//! time; series it did not touch are not repeated (storage already has their
//! last value). A series' first write is preceded by a `0` one millisecond
//! earlier so that `rate()` sees its first increment. Nothing is persisted: a
//! restart starts every counter from zero again, which `rate()`/`increase()`
//! read as an ordinary counter reset.
//!
//! Bounds, so a flood of span names or trace ids cannot grow memory without
//! end:
//! - at most [`SpanMetricsOptions::max_series`] series exist at once,
//!   counted as Prometheus counts them (a histogram is one series per bucket
//!   plus `+Inf`, `_sum` and `_count`); a group whose series would not fit is
//!   not created and the observation is counted in
//!   [`GeneratorStats::series_limited`];
//! - series idle for [`SpanMetricsOptions::max_series_age_ms`] are forgotten
//!   (Tempo's registry `stale_duration`, 15 min); if they come back they
//!   restart from zero, again a counter reset;
//! - at most [`SpanMetricsOptions::max_pending_edges`] span halves wait for a
//!   partner, each for [`SpanMetricsOptions::wait_window_ms`] (Tempo's
//!   `max_items` 10 000 and `wait` 10 s); beyond that new halves are dropped
//!   and counted in `traces_service_graph_dropped_spans_total`;
//! - spans whose end time is more than
//!   [`SpanMetricsOptions::ingestion_slack_ms`] away from the ingest time are
//!   ignored, as Tempo's `metrics_ingestion_time_range_slack` (30 s) does, so
//!   replayed or badly clocked spans do not land in today's rates.

mod edges;
mod graph;
mod histogram;
#[cfg(test)]
mod proptests;
mod red;
#[cfg(test)]
mod tests;

use hearth_storage::MetricsWrite;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;

use crate::otlp::value::attribute_string;
use graph::{GraphConfig, GraphState};
use histogram::{Buckets, Budget, Output};
use red::{RedState, SpanInfo};

/// Tempo's default span metrics latency buckets, seconds.
pub const DEFAULT_SPAN_BUCKETS_S: [f64; 14] = [
    0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
    16.384,
];

/// Tempo's default service graph latency buckets, seconds.
pub const DEFAULT_GRAPH_BUCKETS_S: [f64; 8] = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];

/// How often idle series are looked for, ms; a scan walks every series, so
/// not on every call.
const SWEEP_EVERY_MS: i64 = 30_000;

/// What to generate and how much state to keep. `Default` is Tempo's
/// defaults with both processors on.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanMetricsOptions {
    /// Generate `traces_spanmetrics_*`.
    pub span_metrics: bool,
    /// Generate `traces_service_graph_*`.
    pub service_graph: bool,
    /// Span metrics latency buckets, seconds (Tempo: 0.002 … 16.384).
    /// Non-finite values are ignored; `+Inf` is always added.
    pub histogram_buckets_s: Vec<f64>,
    /// Service graph latency buckets, seconds (Tempo: 0.1 … 12.8).
    pub service_graph_buckets_s: Vec<f64>,
    /// Add the span's status message as `status_message` (Tempo: off; the
    /// message is free text, so it can multiply series).
    pub status_message: bool,
    /// Most series held at once, histogram buckets included.
    pub max_series: usize,
    /// Series not updated for this long are forgotten, ms (Tempo's
    /// `stale_duration`: 15 min).
    pub max_series_age_ms: i64,
    /// Spans ending further than this from the ingest time are ignored, ms;
    /// 0 turns the check off (Tempo's `metrics_ingestion_time_range_slack`:
    /// 30 s).
    pub ingestion_slack_ms: i64,
    /// How long a client or server span waits for its partner, ms (Tempo's
    /// `wait`: 10 s).
    pub wait_window_ms: i64,
    /// Most spans waiting for a partner (Tempo's `max_items`: 10 000).
    pub max_pending_edges: usize,
    /// Span attributes naming the other side when it is not instrumented,
    /// first match wins (Tempo: `peer.service`, `db.name`, `db.system`).
    pub peer_attributes: Vec<String>,
    /// Attributes naming a database node when neither `peer.service`,
    /// `server.address` nor `network.peer.address` is set (Tempo:
    /// `db.namespace`, `db.name`, `db.system`; `db.system.name` added for
    /// newer instrumentation).
    pub database_name_attributes: Vec<String>,
    /// Also write `traces_service_graph_request_messaging_system_seconds`
    /// (Tempo: off).
    pub messaging_system_latency_histogram: bool,
}

impl Default for SpanMetricsOptions {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Self {
            span_metrics: true,
            service_graph: true,
            histogram_buckets_s: DEFAULT_SPAN_BUCKETS_S.to_vec(),
            service_graph_buckets_s: DEFAULT_GRAPH_BUCKETS_S.to_vec(),
            status_message: false,
            max_series: 10_000,
            max_series_age_ms: 15 * 60 * 1000,
            ingestion_slack_ms: 30_000,
            wait_window_ms: 10_000,
            max_pending_edges: 10_000,
            peer_attributes: strings(&["peer.service", "db.name", "db.system"]),
            database_name_attributes: strings(&[
                "db.namespace",
                "db.name",
                "db.system",
                "db.system.name",
            ]),
            messaging_system_latency_histogram: false,
        }
    }
}

/// The generator's own health, for Hearth's self-metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeneratorStats {
    /// Series currently held.
    pub active_series: usize,
    /// Observations dropped because their series would exceed `max_series`.
    pub series_limited: u64,
    /// Series forgotten after `max_series_age_ms` without updates.
    pub series_forgotten: u64,
    /// Spans ignored for ending outside the ingestion slack.
    pub spans_outside_time_range: u64,
    /// Spans waiting for their partner now.
    pub pending_edges: usize,
    /// Client/server (or producer/consumer) pairs matched.
    pub edges_paired: u64,
    /// Edges to a virtual node (uninstrumented peer or `user`).
    pub edges_virtual_node: u64,
    /// Database edges.
    pub edges_database: u64,
    /// Spans that expired with no partner and no peer attribute.
    pub edges_expired_unpaired: u64,
    /// Spans not stored for pairing because the store was full.
    pub spans_dropped_store_full: u64,
}

/// Turns spans into Tempo's span metrics and service graph series. Methods
/// take `&mut self`; share it behind a `Mutex`.
#[derive(Debug)]
pub struct SpanMetricsGenerator {
    opts: SpanMetricsOptions,
    red: RedState,
    graph: GraphState,
    budget: Budget,
    last_sweep_ms: Option<i64>,
    forgotten: u64,
    outside_time_range: u64,
}

/// The string value of attribute `key`, if present and not empty.
fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| attribute_string(kv.value.as_ref()))
        .filter(|v| !v.is_empty())
}

impl SpanMetricsGenerator {
    /// A generator with empty state.
    pub fn new(opts: SpanMetricsOptions) -> Self {
        let red = RedState::new(Buckets::new(&opts.histogram_buckets_s), opts.status_message);
        let graph = GraphState::new(GraphConfig {
            buckets: Buckets::new(&opts.service_graph_buckets_s),
            wait_ms: opts.wait_window_ms.max(0),
            max_pending: opts.max_pending_edges,
            peer_attributes: opts.peer_attributes.clone(),
            database_name_attributes: opts.database_name_attributes.clone(),
            messaging_histogram: opts.messaging_system_latency_histogram,
        });
        Self {
            budget: Budget::new(opts.max_series),
            opts,
            red,
            graph,
            last_sweep_ms: None,
            forgotten: 0,
            outside_time_range: 0,
        }
    }

    /// Feeds the spans of `req`, received at `now_ms`, and returns the
    /// current values of every series that changed, stamped `now_ms`. Also
    /// settles service graph halves whose wait window has passed.
    pub fn observe(&mut self, req: &ExportTraceServiceRequest, now_ms: i64) -> MetricsWrite {
        self.sweep(now_ms);
        if self.opts.service_graph {
            self.graph.expire(now_ms, &mut self.budget);
        }
        let slack = self.opts.ingestion_slack_ms;
        for rs in &req.resource_spans {
            let resource: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
            let service = attr(resource, "service.name").unwrap_or_default();
            for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
                if slack > 0 {
                    let end_ms =
                        i64::try_from(span.end_time_unix_nano / 1_000_000).unwrap_or(i64::MAX);
                    if end_ms.abs_diff(now_ms) > slack.unsigned_abs() {
                        self.outside_time_range += 1;
                        continue;
                    }
                }
                if self.opts.span_metrics {
                    let duration_s = span
                        .end_time_unix_nano
                        .saturating_sub(span.start_time_unix_nano)
                        as f64
                        / 1e9;
                    let info = SpanInfo {
                        service: &service,
                        duration_s,
                    };
                    self.red.observe(span, &info, now_ms, &mut self.budget);
                }
                if self.opts.service_graph {
                    self.graph
                        .observe(span, &service, resource, now_ms, &mut self.budget);
                }
            }
        }
        let mut out = Output::default();
        self.red.emit(now_ms, &mut out);
        self.graph.emit(now_ms, &mut out);
        out.finish()
    }

    /// Forgets idle series, at most once per [`SWEEP_EVERY_MS`] (or at once
    /// if the clock stepped back).
    fn sweep(&mut self, now_ms: i64) {
        let due = match self.last_sweep_ms {
            None => {
                self.last_sweep_ms = Some(now_ms);
                false
            }
            Some(last) => now_ms < last || now_ms.saturating_sub(last) >= SWEEP_EVERY_MS,
        };
        if !due {
            return;
        }
        self.last_sweep_ms = Some(now_ms);
        let cutoff = now_ms.saturating_sub(self.opts.max_series_age_ms.max(0));
        let freed = self.red.forget_idle(cutoff, &mut self.budget)
            + self.graph.forget_idle(cutoff, &mut self.budget);
        self.forgotten += freed as u64;
    }

    /// Counters describing the generator's state.
    pub fn stats(&self) -> GeneratorStats {
        let g = self.graph.counts();
        GeneratorStats {
            active_series: self.budget.used(),
            series_limited: self.budget.limited(),
            series_forgotten: self.forgotten,
            spans_outside_time_range: self.outside_time_range,
            pending_edges: self.graph.pending(),
            edges_paired: g.paired,
            edges_virtual_node: g.virtual_node,
            edges_database: g.database,
            edges_expired_unpaired: g.expired_unpaired,
            spans_dropped_store_full: g.dropped,
        }
    }
}
