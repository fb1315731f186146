//! The service graph's series: one group per (client, server,
//! connection type) holding the request counters and latency histograms, and
//! the unpaired/dropped span counters, all labelled alike.

use std::collections::HashMap;

use hearth_storage::{Label, MetricType};

use super::histogram::{Buckets, Budget, Family, Histogram, Output, Stamp};

/// `traces_service_graph_request_total`.
pub const REQUESTS: Family = Family {
    name: "traces_service_graph_request_total",
    kind: MetricType::Counter,
    help: "Requests between two nodes of the service graph.",
    unit: "",
};
/// `traces_service_graph_request_failed_total`.
pub const FAILED: Family = Family {
    name: "traces_service_graph_request_failed_total",
    kind: MetricType::Counter,
    help: "Requests between two nodes where the client or the server span has status ERROR.",
    unit: "",
};
/// `traces_service_graph_request_server_seconds`.
pub const SERVER_SECONDS: Family = Family {
    name: "traces_service_graph_request_server_seconds",
    kind: MetricType::Histogram,
    help: "Time for a request between two nodes as seen from the server, in seconds.",
    unit: "seconds",
};
/// `traces_service_graph_request_client_seconds`.
pub const CLIENT_SECONDS: Family = Family {
    name: "traces_service_graph_request_client_seconds",
    kind: MetricType::Histogram,
    help: "Time for a request between two nodes as seen from the client, in seconds.",
    unit: "seconds",
};
/// `traces_service_graph_request_messaging_system_seconds` (off by default).
pub const MESSAGING_SECONDS: Family = Family {
    name: "traces_service_graph_request_messaging_system_seconds",
    kind: MetricType::Histogram,
    help: "Time from the end of the producer span to the start of the consumer span, in seconds.",
    unit: "seconds",
};
/// `traces_service_graph_unpaired_spans_total`.
pub const UNPAIRED: Family = Family {
    name: "traces_service_graph_unpaired_spans_total",
    kind: MetricType::Counter,
    help: "Spans whose partner did not arrive within the wait window.",
    unit: "",
};
/// `traces_service_graph_dropped_spans_total`.
pub const DROPPED: Family = Family {
    name: "traces_service_graph_dropped_spans_total",
    kind: MetricType::Counter,
    help: "Spans not stored for pairing because the store of waiting spans was full.",
    unit: "",
};

/// The `connection_type` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionType {
    /// Direct request; the label is empty, hence absent.
    Unset,
    /// Producer → consumer.
    MessagingSystem,
    /// Client span to a database.
    Database,
    /// One side is not instrumented.
    VirtualNode,
}

impl ConnectionType {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "",
            Self::MessagingSystem => "messaging_system",
            Self::Database => "database",
            Self::VirtualNode => "virtual_node",
        }
    }
}

/// The labels of every service graph series.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EdgeKey {
    /// Calling node.
    pub client: String,
    /// Called node.
    pub server: String,
    /// Kind of connection.
    pub conn: ConnectionType,
}

impl EdgeKey {
    fn labels(&self) -> Vec<Label> {
        vec![
            Label::new("client", self.client.as_str()),
            Label::new("server", self.server.as_str()),
            Label::new("connection_type", self.conn.as_str()),
        ]
    }
}

/// A request to record.
#[derive(Debug)]
pub struct Edge {
    /// Its labels.
    pub key: EdgeKey,
    /// Duration seen by the client, seconds.
    pub client_s: f64,
    /// Duration seen by the server, seconds.
    pub server_s: f64,
    /// Either side has status ERROR.
    pub failed: bool,
    /// Producer end to consumer start, seconds, for messaging edges.
    pub messaging_s: Option<f64>,
}

#[derive(Debug)]
struct EdgeGroup {
    cost: usize,
    total: f64,
    failed: f64,
    server: Histogram,
    client: Histogram,
    messaging: Option<Histogram>,
    stamp: Stamp,
    // `request_failed_total` appears with the first failure, as in Tempo, so
    // it starts its own timeline.
    failed_stamp: Stamp,
    last_seen_ms: i64,
    touched: bool,
}

#[derive(Debug)]
struct Counter {
    value: f64,
    stamp: Stamp,
    last_seen_ms: i64,
    touched: bool,
}

/// Counters labelled like edges: unpaired and dropped spans.
#[derive(Debug)]
struct CounterMap {
    family: &'static Family,
    counters: HashMap<EdgeKey, Counter>,
    touched: Vec<EdgeKey>,
}

impl CounterMap {
    fn new(family: &'static Family) -> Self {
        Self {
            family,
            counters: HashMap::new(),
            touched: Vec::new(),
        }
    }

    fn inc(&mut self, key: EdgeKey, now_ms: i64, budget: &mut Budget) {
        let c = match self.counters.get_mut(&key) {
            Some(c) => c,
            None => {
                if !budget.take(1) {
                    return;
                }
                self.counters.entry(key.clone()).or_insert(Counter {
                    value: 0.0,
                    stamp: Stamp::default(),
                    last_seen_ms: now_ms,
                    touched: false,
                })
            }
        };
        c.value += 1.0;
        c.last_seen_ms = now_ms;
        if !c.touched {
            c.touched = true;
            self.touched.push(key);
        }
    }

    fn emit(&mut self, now_ms: i64, out: &mut Output) {
        for key in std::mem::take(&mut self.touched) {
            if let Some(c) = self.counters.get_mut(&key) {
                c.touched = false;
                let stamp = c.stamp.next(now_ms);
                out.series(
                    self.family,
                    self.family.name,
                    &key.labels(),
                    None,
                    stamp,
                    c.value,
                );
            }
        }
    }

    fn forget_idle(&mut self, cutoff_ms: i64, budget: &mut Budget) -> usize {
        let before = self.counters.len();
        self.counters.retain(|_, c| c.last_seen_ms >= cutoff_ms);
        let freed = before - self.counters.len();
        budget.release(freed);
        freed
    }
}

/// Every service graph series and which the current call touched.
#[derive(Debug)]
pub struct EdgeSeries {
    buckets: Buckets,
    messaging_histogram: bool,
    edges: HashMap<EdgeKey, EdgeGroup>,
    touched: Vec<EdgeKey>,
    unpaired: CounterMap,
    dropped: CounterMap,
}

impl EdgeSeries {
    /// No series yet; histograms over `buckets`, plus the producer-to-consumer
    /// one when `messaging_histogram`.
    pub fn new(buckets: Buckets, messaging_histogram: bool) -> Self {
        Self {
            buckets,
            messaging_histogram,
            edges: HashMap::new(),
            touched: Vec::new(),
            unpaired: CounterMap::new(&UNPAIRED),
            dropped: CounterMap::new(&DROPPED),
        }
    }

    /// Counts a span that expired without a partner.
    pub fn unpaired(&mut self, key: EdgeKey, now_ms: i64, budget: &mut Budget) {
        self.unpaired.inc(key, now_ms, budget);
    }

    /// Counts a span the full store could not take.
    pub fn dropped(&mut self, key: EdgeKey, now_ms: i64, budget: &mut Budget) {
        self.dropped.inc(key, now_ms, budget);
    }

    /// Counts one request.
    pub fn record(&mut self, edge: Edge, now_ms: i64, budget: &mut Budget) {
        let group = match self.edges.get_mut(&edge.key) {
            Some(g) => g,
            None => {
                let per_hist = self.buckets.series_per_histogram();
                let messaging =
                    self.messaging_histogram && edge.key.conn == ConnectionType::MessagingSystem;
                // total + failed + two histograms (+ the broker one).
                let cost = 2 + per_hist * if messaging { 3 } else { 2 };
                if !budget.take(cost) {
                    return;
                }
                let buckets = &self.buckets;
                self.edges.entry(edge.key.clone()).or_insert(EdgeGroup {
                    cost,
                    total: 0.0,
                    failed: 0.0,
                    server: Histogram::new(buckets),
                    client: Histogram::new(buckets),
                    messaging: messaging.then(|| Histogram::new(buckets)),
                    stamp: Stamp::default(),
                    failed_stamp: Stamp::default(),
                    last_seen_ms: now_ms,
                    touched: false,
                })
            }
        };
        group.total += 1.0;
        if edge.failed {
            group.failed += 1.0;
        }
        group.server.observe(edge.server_s);
        group.client.observe(edge.client_s);
        if let (Some(h), Some(v)) = (group.messaging.as_mut(), edge.messaging_s) {
            h.observe(v);
        }
        group.last_seen_ms = now_ms;
        if !group.touched {
            group.touched = true;
            self.touched.push(edge.key);
        }
    }

    /// Writes every touched series and clears the marks.
    pub fn emit(&mut self, now_ms: i64, out: &mut Output) {
        for key in std::mem::take(&mut self.touched) {
            let Some(g) = self.edges.get_mut(&key) else {
                continue;
            };
            g.touched = false;
            let stamp = g.stamp.next(now_ms);
            let base = key.labels();
            out.series(&REQUESTS, REQUESTS.name, &base, None, stamp, g.total);
            if g.failed > 0.0 {
                let fs = g.failed_stamp.next(now_ms);
                out.series(&FAILED, FAILED.name, &base, None, fs, g.failed);
            }
            g.server.emit(&SERVER_SECONDS, &base, stamp, out);
            g.client.emit(&CLIENT_SECONDS, &base, stamp, out);
            if let Some(h) = g.messaging.as_ref().filter(|h| h.count() > 0) {
                h.emit(&MESSAGING_SECONDS, &base, stamp, out);
            }
        }
        self.unpaired.emit(now_ms, out);
        self.dropped.emit(now_ms, out);
    }

    /// Forgets series not touched since `cutoff_ms`; returns how many.
    pub fn forget_idle(&mut self, cutoff_ms: i64, budget: &mut Budget) -> usize {
        let mut freed = 0;
        self.edges.retain(|_, g| {
            let keep = g.last_seen_ms >= cutoff_ms;
            if !keep {
                freed += g.cost;
            }
            keep
        });
        budget.release(freed);
        freed
            + self.unpaired.forget_idle(cutoff_ms, budget)
            + self.dropped.forget_idle(cutoff_ms, budget)
    }
}
