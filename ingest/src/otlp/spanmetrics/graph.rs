//! Service graph: Tempo's `service-graphs` processor. A request between two
//! services shows up as a CLIENT (or PRODUCER) span in the caller and a SERVER
//! (or CONSUMER) span in the callee whose parent is that client span. The two
//! halves may arrive in different exports, in either order, so each waits in
//! a bounded store keyed by (trace id, client span id) until its partner
//! comes or the wait window runs out.
//!
//! Halves that can never have a partner are recorded at once instead of
//! waiting: a CLIENT span to a database (the database is rarely traced) and a
//! root SERVER/CONSUMER span (nobody traced the caller). Tempo records the
//! latter when it expires; the counts are the same, only sooner, and the store
//! stays free for halves that can still pair.

use std::collections::{BTreeMap, HashMap};

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::attr;
use super::edges::{ConnectionType, Edge, EdgeKey, EdgeSeries};
use super::histogram::{Buckets, Budget, Output};

/// A span carrying any of these is a database call.
const DB_MARKERS: [&str; 4] = ["db.namespace", "db.name", "db.system", "db.system.name"];
/// Before the database name attributes: where the database server is.
const DB_HOST_ATTRS: [&str; 2] = ["peer.service", "server.address"];

/// The service graph's settings, taken from `SpanMetricsOptions`.
#[derive(Clone, Debug)]
pub struct GraphConfig {
    /// Latency buckets.
    pub buckets: Buckets,
    /// How long a half waits for its partner, ms.
    pub wait_ms: i64,
    /// Most halves waiting at once.
    pub max_pending: usize,
    /// Span attributes naming an uninstrumented peer, first match wins.
    pub peer_attributes: Vec<String>,
    /// Span attributes naming a database, after `peer.service`,
    /// `server.address` and `network.peer.address`.
    pub database_name_attributes: Vec<String>,
    /// Also write the producer-to-consumer histogram.
    pub messaging_histogram: bool,
}

/// One side of a request, as much as pairing needs.
#[derive(Debug)]
struct Half {
    service: String,
    duration_s: f64,
    failed: bool,
    messaging: bool,
    /// Client side only: the uninstrumented server's name, if one is given.
    peer: Option<String>,
    start_ns: u64,
    end_ns: u64,
}

#[derive(Debug)]
struct Pending {
    client: Option<Half>,
    server: Option<Half>,
    expiry: (i64, u64),
}

/// (trace id, id of the client span).
type PendingKey = (Vec<u8>, Vec<u8>);

/// Counts kept for [`super::GeneratorStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphCounts {
    /// Client and server halves matched.
    pub paired: u64,
    /// Edges to a virtual node (uninstrumented client or server).
    pub virtual_node: u64,
    /// Database edges.
    pub database: u64,
    /// Halves that expired without a partner or a peer to stand in.
    pub expired_unpaired: u64,
    /// Spans refused because the store was full.
    pub dropped: u64,
}

/// The store of waiting halves and every service graph series.
#[derive(Debug)]
pub struct GraphState {
    cfg: GraphConfig,
    pending: HashMap<PendingKey, Pending>,
    expiry: BTreeMap<(i64, u64), PendingKey>,
    seq: u64,
    series: EdgeSeries,
    counts: GraphCounts,
}

fn duration_s(span: &Span) -> f64 {
    // A span ending before it starts is a broken clock; count it as instant.
    span.end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano) as f64
        / 1e9
}

fn failed(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|s| s.code() == StatusCode::Error)
}

impl GraphState {
    /// An empty graph.
    pub fn new(cfg: GraphConfig) -> Self {
        Self {
            pending: HashMap::new(),
            expiry: BTreeMap::new(),
            seq: 0,
            series: EdgeSeries::new(cfg.buckets.clone(), cfg.messaging_histogram),
            counts: GraphCounts::default(),
            cfg,
        }
    }

    /// Halves waiting for a partner.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Edge counts so far.
    pub fn counts(&self) -> GraphCounts {
        self.counts
    }

    /// Takes one span of `service` (resource attributes `resource`).
    pub fn observe(
        &mut self,
        span: &Span,
        service: &str,
        resource: &[KeyValue],
        now_ms: i64,
        budget: &mut Budget,
    ) {
        if span.trace_id.is_empty() {
            return;
        }
        let half = |messaging: bool, peer: Option<String>| Half {
            service: service.to_owned(),
            duration_s: duration_s(span),
            failed: failed(span),
            messaging,
            peer,
            start_ns: span.start_time_unix_nano,
            end_ns: span.end_time_unix_nano,
        };
        match span.kind() {
            SpanKind::Client | SpanKind::Producer => {
                let messaging = span.kind() == SpanKind::Producer;
                if !messaging && let Some(db) = self.database_node(span, resource) {
                    let d = duration_s(span);
                    self.counts.database += 1;
                    let key = EdgeKey {
                        client: service.to_owned(),
                        server: db,
                        conn: ConnectionType::Database,
                    };
                    // The database's own view is unknown; Tempo copies the
                    // client's so both histograms count every request.
                    let edge = Edge {
                        key,
                        client_s: d,
                        server_s: d,
                        failed: failed(span),
                        messaging_s: None,
                    };
                    self.series.record(edge, now_ms, budget);
                    return;
                }
                if span.span_id.is_empty() {
                    return;
                }
                let peer = self.peer_node(&span.attributes);
                let key = (span.trace_id.clone(), span.span_id.clone());
                self.upsert(key, true, half(messaging, peer), now_ms, budget);
            }
            SpanKind::Server | SpanKind::Consumer => {
                let messaging = span.kind() == SpanKind::Consumer;
                if span.parent_span_id.is_empty() {
                    let client = self
                        .peer_node(&span.attributes)
                        .unwrap_or_else(|| "user".to_owned());
                    self.counts.virtual_node += 1;
                    let key = EdgeKey {
                        client,
                        server: service.to_owned(),
                        conn: ConnectionType::VirtualNode,
                    };
                    let d = duration_s(span);
                    let edge = Edge {
                        key,
                        client_s: d,
                        server_s: d,
                        failed: failed(span),
                        messaging_s: None,
                    };
                    self.series.record(edge, now_ms, budget);
                    return;
                }
                let key = (span.trace_id.clone(), span.parent_span_id.clone());
                self.upsert(key, false, half(messaging, None), now_ms, budget);
            }
            _ => {}
        }
    }

    fn peer_node(&self, attrs: &[KeyValue]) -> Option<String> {
        self.cfg.peer_attributes.iter().find_map(|k| attr(attrs, k))
    }

    /// The database's node name when `span` is a database call.
    fn database_node(&self, span: &Span, resource: &[KeyValue]) -> Option<String> {
        let find = |k: &str| attr(&span.attributes, k).or_else(|| attr(resource, k));
        if !DB_MARKERS.iter().any(|k| find(k).is_some()) {
            return None;
        }
        let host = DB_HOST_ATTRS.iter().find_map(|k| find(k));
        let peer_addr = || {
            find("network.peer.address").map(|a| match find("network.peer.port") {
                Some(p) => format!("{a}:{p}"),
                None => a,
            })
        };
        let by_name = || {
            self.cfg
                .database_name_attributes
                .iter()
                .find_map(|k| find(k))
        };
        // A marker with a configured name list that misses it still names
        // the node rather than losing the request.
        let marker = || DB_MARKERS.iter().find_map(|k| find(k));
        host.or_else(peer_addr).or_else(by_name).or_else(marker)
    }

    fn upsert(
        &mut self,
        key: PendingKey,
        client: bool,
        half: Half,
        now_ms: i64,
        budget: &mut Budget,
    ) {
        if let Some(p) = self.pending.get_mut(&key) {
            // A repeated half (a retried export) replaces the earlier one.
            if client {
                p.client = Some(half);
            } else {
                p.server = Some(half);
            }
            if p.client.is_some()
                && p.server.is_some()
                && let Some(p) = self.pending.remove(&key)
            {
                self.expiry.remove(&p.expiry);
                if let (Some(c), Some(s)) = (p.client, p.server) {
                    self.pair(c, s, now_ms, budget);
                }
            }
            return;
        }
        if self.pending.len() >= self.cfg.max_pending {
            self.counts.dropped += 1;
            let conn = if half.messaging {
                ConnectionType::MessagingSystem
            } else {
                ConnectionType::Unset
            };
            let (c, s) = if client {
                (half.service, String::new())
            } else {
                (String::new(), half.service)
            };
            let key = EdgeKey {
                client: c,
                server: s,
                conn,
            };
            self.series.dropped(key, now_ms, budget);
            return;
        }
        let expiry = (now_ms.saturating_add(self.cfg.wait_ms), self.seq);
        self.seq += 1;
        self.expiry.insert(expiry, key.clone());
        let (client, server) = if client {
            (Some(half), None)
        } else {
            (None, Some(half))
        };
        self.pending.insert(
            key,
            Pending {
                client,
                server,
                expiry,
            },
        );
    }

    fn pair(&mut self, c: Half, s: Half, now_ms: i64, budget: &mut Budget) {
        self.counts.paired += 1;
        let messaging = c.messaging || s.messaging;
        let conn = if messaging {
            ConnectionType::MessagingSystem
        } else {
            ConnectionType::Unset
        };
        // Time spent in the broker: producer end to consumer start.
        let messaging_s = messaging.then(|| s.start_ns.saturating_sub(c.end_ns) as f64 / 1e9);
        let key = EdgeKey {
            client: c.service,
            server: s.service,
            conn,
        };
        let edge = Edge {
            key,
            client_s: c.duration_s,
            server_s: s.duration_s,
            failed: c.failed || s.failed,
            messaging_s,
        };
        self.series.record(edge, now_ms, budget);
    }

    /// Resolves every half whose window closed before `now_ms`.
    pub fn expire(&mut self, now_ms: i64, budget: &mut Budget) {
        while let Some(entry) = self.expiry.first_entry() {
            if entry.key().0 >= now_ms {
                break;
            }
            let key = entry.remove();
            let Some(p) = self.pending.remove(&key) else {
                continue;
            };
            match (p.client, p.server) {
                (Some(c), None) => match c.peer {
                    Some(peer) => {
                        // The client named whom it called; that callee just
                        // sends no spans.
                        self.counts.virtual_node += 1;
                        let key = EdgeKey {
                            client: c.service,
                            server: peer,
                            conn: ConnectionType::VirtualNode,
                        };
                        let d = c.duration_s;
                        let edge = Edge {
                            key,
                            client_s: d,
                            server_s: d,
                            failed: c.failed,
                            messaging_s: None,
                        };
                        self.series.record(edge, now_ms, budget);
                    }
                    None => self.unpaired(c.service, String::new(), c.messaging, now_ms, budget),
                },
                (None, Some(s)) => {
                    self.unpaired(String::new(), s.service, s.messaging, now_ms, budget)
                }
                // Complete pairs never wait; nothing else can be stored.
                _ => {}
            }
        }
    }

    fn unpaired(
        &mut self,
        client: String,
        server: String,
        messaging: bool,
        now_ms: i64,
        budget: &mut Budget,
    ) {
        self.counts.expired_unpaired += 1;
        let conn = if messaging {
            ConnectionType::MessagingSystem
        } else {
            ConnectionType::Unset
        };
        let key = EdgeKey {
            client,
            server,
            conn,
        };
        self.series.unpaired(key, now_ms, budget);
    }

    /// Writes every touched series and clears the marks.
    pub fn emit(&mut self, now_ms: i64, out: &mut Output) {
        self.series.emit(now_ms, out);
    }

    /// Forgets series not touched since `cutoff_ms`; returns how many.
    pub fn forget_idle(&mut self, cutoff_ms: i64, budget: &mut Budget) -> usize {
        self.series.forget_idle(cutoff_ms, budget)
    }
}
