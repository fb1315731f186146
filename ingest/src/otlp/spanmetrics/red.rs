//! Span metrics: Tempo's `span-metrics` processor. Every span counts once in
//! `traces_spanmetrics_calls_total`, its duration goes into the
//! `traces_spanmetrics_latency` histogram and its encoded size into
//! `traces_spanmetrics_size_total`, per (service, span name, kind, status).

use std::collections::HashMap;

use hearth_storage::{Label, MetricType};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;

use super::histogram::{Buckets, Budget, Family, Histogram, Output, Stamp};

/// `traces_spanmetrics_calls_total`.
pub const CALLS: Family = Family {
    name: "traces_spanmetrics_calls_total",
    kind: MetricType::Counter,
    help: "Spans received, per service, span name, span kind and status code.",
    unit: "",
};

/// `traces_spanmetrics_latency` (seconds).
pub const LATENCY: Family = Family {
    name: "traces_spanmetrics_latency",
    kind: MetricType::Histogram,
    help: "Span duration in seconds, per service, span name, span kind and status code.",
    unit: "seconds",
};

/// `traces_spanmetrics_size_total` (bytes).
pub const SIZE: Family = Family {
    name: "traces_spanmetrics_size_total",
    kind: MetricType::Counter,
    help: "Encoded size in bytes of the spans received, per service, span name, span kind and status code.",
    unit: "bytes",
};

/// The dimensions of one group of span metrics series.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    service: String,
    span_name: String,
    span_kind: &'static str,
    status_code: &'static str,
    /// Empty unless the `status_message` dimension is on.
    status_message: String,
}

impl Key {
    fn labels(&self) -> Vec<Label> {
        vec![
            Label::new("service", self.service.as_str()),
            Label::new("span_name", self.span_name.as_str()),
            Label::new("span_kind", self.span_kind),
            Label::new("status_code", self.status_code),
            Label::new("status_message", self.status_message.as_str()),
        ]
    }
}

#[derive(Debug)]
struct Group {
    calls: f64,
    size: f64,
    latency: Histogram,
    stamp: Stamp,
    last_seen_ms: i64,
    touched: bool,
}

/// What [`RedState::observe`] needs to know about a span beyond the span.
pub struct SpanInfo<'a> {
    /// The resource's `service.name`.
    pub service: &'a str,
    /// Duration in seconds.
    pub duration_s: f64,
}

/// All span metrics series and which of them the current call touched.
#[derive(Debug)]
pub struct RedState {
    buckets: Buckets,
    status_message: bool,
    groups: HashMap<Key, Group>,
    touched: Vec<Key>,
}

impl RedState {
    /// Empty state for latency `buckets`; `status_message` adds that label.
    pub fn new(buckets: Buckets, status_message: bool) -> Self {
        Self {
            buckets,
            status_message,
            groups: HashMap::new(),
            touched: Vec::new(),
        }
    }

    fn group_series(&self) -> usize {
        // calls + size + the histogram's buckets, sum and count.
        2 + self.buckets.series_per_histogram()
    }

    /// Counts `span` once.
    pub fn observe(&mut self, span: &Span, info: &SpanInfo<'_>, now_ms: i64, budget: &mut Budget) {
        let status = span.status.as_ref();
        let status_code = status
            .map(|s| s.code())
            .unwrap_or(StatusCode::Unset)
            .as_str_name();
        let status_message = match (self.status_message, status) {
            (true, Some(s)) => s.message.clone(),
            _ => String::new(),
        };
        let key = Key {
            service: info.service.to_owned(),
            span_name: span.name.clone(),
            span_kind: span.kind().as_str_name(),
            status_code,
            status_message,
        };
        let cost = self.group_series();
        let group = match self.groups.get_mut(&key) {
            Some(g) => g,
            None => {
                if !budget.take(cost) {
                    return;
                }
                self.groups.entry(key.clone()).or_insert(Group {
                    calls: 0.0,
                    size: 0.0,
                    latency: Histogram::new(&self.buckets),
                    stamp: Stamp::default(),
                    last_seen_ms: now_ms,
                    touched: false,
                })
            }
        };
        group.calls += 1.0;
        group.size += span.encoded_len() as f64;
        group.latency.observe(info.duration_s);
        group.last_seen_ms = now_ms;
        if !group.touched {
            group.touched = true;
            self.touched.push(key);
        }
    }

    /// Writes every touched group's current values and clears the marks.
    pub fn emit(&mut self, now_ms: i64, out: &mut Output) {
        for key in std::mem::take(&mut self.touched) {
            let Some(group) = self.groups.get_mut(&key) else {
                continue;
            };
            group.touched = false;
            let stamp = group.stamp.next(now_ms);
            let base = key.labels();
            out.series(&CALLS, CALLS.name, &base, None, stamp, group.calls);
            group.latency.emit(&LATENCY, &base, stamp, out);
            out.series(&SIZE, SIZE.name, &base, None, stamp, group.size);
        }
    }

    /// Forgets groups not seen since `cutoff_ms`; returns how many series
    /// that freed.
    pub fn forget_idle(&mut self, cutoff_ms: i64, budget: &mut Budget) -> usize {
        let cost = self.group_series();
        let before = self.groups.len();
        self.groups.retain(|_, g| g.last_seen_ms >= cutoff_ms);
        let freed = (before - self.groups.len()) * cost;
        budget.release(freed);
        freed
    }
}
