//! Building one trace: spans opened and closed on a simulated clock, and
//! the call shapes every service uses (gRPC and HTTP client/server pairs,
//! SQL through db-proxy, Redis, Kafka). Times are nanoseconds from the
//! trace's start; the shard moves them to wall-clock time afterwards, once
//! it knows how many spans the trace has.

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span, Status};

use crate::rng::Rng;
use crate::topology::{Lib, Svc, Topology, kv, kv_int};

/// A span and the pod and instrumentation that reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub svc: Svc,
    pub instance: u16,
    pub scope: u16,
    pub span: Span,
}

/// Why a call failed, in each protocol's terms, so every hop can report
/// it the way its instrumentation would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fail {
    /// What the frontend answers the browser.
    pub http: u16,
    pub grpc: i32,
    pub exception: &'static str,
    pub message: &'static str,
}

/// When a call returned, and whether it failed.
#[derive(Clone, Copy, Debug)]
pub struct Done {
    pub end: u64,
    pub fail: Option<Fail>,
}

impl Done {
    pub fn ok(end: u64) -> Self {
        Self { end, fail: None }
    }

    /// Two calls made in parallel: done when both are, failed if either is.
    pub fn join(self, other: Done) -> Done {
        Done {
            end: self.end.max(other.end),
            fail: self.fail.or(other.fail),
        }
    }

    /// `other` ran in parallel but its failure is tolerated (the page
    /// renders without recommendations, a late e-mail is not fatal).
    pub fn wait_for(self, other: Done) -> Done {
        Done {
            end: self.end.max(other.end),
            fail: self.fail,
        }
    }
}

/// gRPC codes a server span counts as errors (OpenTelemetry's semantic
/// conventions); client spans count every non-OK code.
fn grpc_server_error(code: i32) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

const FLAG_SAMPLED: u32 = 0x01;
const FLAG_HAS_IS_REMOTE: u32 = 0x100;
const FLAG_IS_REMOTE: u32 = 0x200;

pub struct Builder<'a> {
    topo: &'a Topology,
    pub rng: &'a mut Rng,
    trace_id: [u8; 16],
    pub spans: Vec<Draft>,
}

impl<'a> Builder<'a> {
    pub fn new(topo: &'a Topology, rng: &'a mut Rng) -> Self {
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&rng.nonzero().to_be_bytes());
        trace_id[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
        Self {
            topo,
            rng,
            trace_id,
            spans: Vec::with_capacity(64),
        }
    }

    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    pub fn svc_of(&self, i: usize) -> Svc {
        self.spans.get(i).map_or(Svc::Frontend, |d| d.svc)
    }

    /// Opens a span. A span in the same service as its parent runs in the
    /// parent's pod; one in another service lands on a pod chosen the way
    /// a round-robin balancer spreads calls, i.e. at random per call.
    pub fn open(
        &mut self,
        parent: Option<usize>,
        svc: Svc,
        lib: Lib,
        kind: SpanKind,
        name: impl Into<String>,
        start: u64,
    ) -> usize {
        let parent = parent.and_then(|p| self.spans.get(p));
        let instance = match parent {
            Some(p) if p.svc == svc => p.instance,
            _ => {
                let replica = self.rng.below(Topology::replicas(svc));
                self.topo.instance(svc, replica)
            }
        };
        let remote = parent.is_some_and(|p| p.svc != svc);
        let parent_span_id = parent.map_or_else(Vec::new, |p| p.span.span_id.clone());
        let span = Span {
            trace_id: self.trace_id.to_vec(),
            span_id: self.rng.nonzero().to_be_bytes().to_vec(),
            parent_span_id,
            flags: FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | if remote { FLAG_IS_REMOTE } else { 0 },
            name: name.into(),
            kind: kind as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: start,
            ..Default::default()
        };
        self.spans.push(Draft {
            svc,
            instance,
            scope: Topology::scope_index(svc, lib),
            span,
        });
        self.spans.len() - 1
    }

    pub fn close(&mut self, i: usize, end: u64) {
        if let Some(d) = self.spans.get_mut(i) {
            d.span.end_time_unix_nano = end.max(d.span.start_time_unix_nano);
        }
    }

    pub fn set(&mut self, i: usize, attr: KeyValue) {
        if let Some(d) = self.spans.get_mut(i) {
            d.span.attributes.push(attr);
        }
    }

    pub fn set_str(&mut self, i: usize, key: &str, value: impl Into<String>) {
        self.set(i, kv(key, value));
    }

    pub fn set_int(&mut self, i: usize, key: &str, value: i64) {
        self.set(i, kv_int(key, value));
    }

    pub fn error(&mut self, i: usize, message: &str) {
        if let Some(d) = self.spans.get_mut(i) {
            d.span.status = Some(Status {
                message: message.to_owned(),
                code: StatusCode::Error as i32,
            });
        }
    }

    pub fn event(&mut self, i: usize, time: u64, name: &str, attributes: Vec<KeyValue>) {
        if let Some(d) = self.spans.get_mut(i) {
            d.span.events.push(Event {
                time_unix_nano: time,
                name: name.to_owned(),
                attributes,
                dropped_attributes_count: 0,
            });
        }
    }

    /// The span where a failure starts: error status plus the exception
    /// event instrumentations record, stack trace included, since stack
    /// traces are a large share of real trace bytes.
    pub fn raise(&mut self, i: usize, time: u64, fail: Fail) {
        let svc = self.svc_of(i).name();
        let stack = format!(
            "{}: {}\n    at handle ({svc}/src/handler:{})\n    at dispatch ({svc}/src/server:{})\n    at run ({svc}/src/main:{})",
            fail.exception,
            fail.message,
            self.rng.between(20, 400),
            self.rng.between(20, 400),
            self.rng.between(10, 90),
        );
        self.event(
            i,
            time,
            "exception",
            vec![
                kv("exception.type", fail.exception),
                kv("exception.message", fail.message),
                kv("exception.stacktrace", stack),
            ],
        );
        self.error(i, fail.message);
    }

    /// Network time of one hop inside the cluster.
    fn hop(&mut self) -> u64 {
        self.rng.latency_ns(0.18, 0.5)
    }

    /// A unary gRPC call from the service of span `parent` to `to`; `body`
    /// plays the server's handler from the given time.
    pub fn grpc(
        &mut self,
        parent: usize,
        to: Svc,
        service: &str,
        method: &str,
        start: u64,
        body: impl FnOnce(&mut Self, usize, u64) -> Done,
    ) -> Done {
        let from = self.svc_of(parent);
        let name = format!("{service}/{method}");
        let client = self.open(
            Some(parent),
            from,
            Lib::GrpcClient,
            SpanKind::Client,
            name.as_str(),
            start,
        );
        let arrive = start + self.hop();
        let server = self.open(
            Some(client),
            to,
            Lib::GrpcServer,
            SpanKind::Server,
            name,
            arrive,
        );
        for i in [client, server] {
            self.set_str(i, "rpc.system", "grpc");
            self.set_str(i, "rpc.service", service);
            self.set_str(i, "rpc.method", method);
        }
        self.set_str(client, "net.peer.name", to.host());
        self.set_int(client, "net.peer.port", to.port());
        let t = arrive + self.rng.latency_ns(0.04, 0.6);
        let done = body(self, server, t);
        let server_end = done.end + self.rng.latency_ns(0.03, 0.6);
        let code = done.fail.map_or(0, |f| f.grpc);
        self.set_int(server, "rpc.grpc.status_code", i64::from(code));
        self.set_int(client, "rpc.grpc.status_code", i64::from(code));
        if let Some(f) = done.fail {
            self.error(client, f.message);
            if grpc_server_error(code) {
                self.error(server, f.message);
            }
        }
        // Go's otelgrpc used to record message events; a few spans carry them.
        if self.rng.chance(300) {
            let size = self.rng.between(40, 4000) as i64;
            self.event(
                client,
                start + 1000,
                "message",
                vec![
                    kv("message.type", "SENT"),
                    kv_int("message.id", 1),
                    kv_int("message.uncompressed_size", size),
                ],
            );
        }
        let end = server_end + self.hop();
        self.close(server, server_end);
        self.close(client, end);
        Done {
            end,
            fail: done.fail,
        }
    }

    /// An HTTP call inside the cluster; `route` is the server's route
    /// template, `target` the concrete path and query.
    #[allow(clippy::too_many_arguments)]
    pub fn http(
        &mut self,
        parent: usize,
        to: Svc,
        method: &str,
        route: &str,
        target: &str,
        ok_status: u16,
        start: u64,
        body: impl FnOnce(&mut Self, usize, u64) -> Done,
    ) -> Done {
        let from = self.svc_of(parent);
        let client = self.open(
            Some(parent),
            from,
            Lib::HttpClient,
            SpanKind::Client,
            method,
            start,
        );
        let arrive = start + self.hop();
        let server = self.open(
            Some(client),
            to,
            Lib::HttpServer,
            SpanKind::Server,
            format!("{method} {route}"),
            arrive,
        );
        self.set_str(client, "http.method", method);
        self.set_str(
            client,
            "http.url",
            format!("http://{}:{}{target}", to.host(), to.port()),
        );
        self.set_str(client, "net.peer.name", to.host());
        self.set_int(client, "net.peer.port", to.port());
        self.set_str(server, "http.method", method);
        self.set_str(server, "http.route", route);
        self.set_str(server, "http.target", target);
        self.set_str(server, "http.scheme", "http");
        self.set_str(server, "net.host.name", to.host());
        self.set_int(server, "net.host.port", to.port());
        let t = arrive + self.rng.latency_ns(0.05, 0.6);
        let done = body(self, server, t);
        let server_end = done.end + self.rng.latency_ns(0.04, 0.6);
        let status = done.fail.map_or(ok_status, |f| f.http);
        self.set_int(server, "http.status_code", i64::from(status));
        self.set_int(client, "http.status_code", i64::from(status));
        if let Some(f) = done.fail {
            // Client spans count 4xx as errors, server spans only 5xx.
            self.error(client, f.message);
            if status >= 500 {
                self.error(server, f.message);
            }
        }
        let end = server_end + self.hop();
        self.close(server, server_end);
        self.close(client, end);
        Done {
            end,
            fail: done.fail,
        }
    }

    /// A call to something outside the cluster (only the client side is
    /// traced): the payment provider.
    pub fn external(
        &mut self,
        parent: usize,
        method: &str,
        url: &str,
        host: &str,
        start: u64,
    ) -> (usize, u64) {
        let from = self.svc_of(parent);
        let i = self.open(
            Some(parent),
            from,
            Lib::HttpClient,
            SpanKind::Client,
            method,
            start,
        );
        self.set_str(i, "http.method", method);
        self.set_str(i, "http.url", url);
        self.set_str(i, "net.peer.name", host);
        self.set_int(i, "net.peer.port", 443);
        let end = start + self.rng.latency_ns(160.0, 0.45);
        self.close(i, end);
        (i, end)
    }

    /// In-process work worth a span of its own.
    pub fn internal(&mut self, parent: usize, name: &str, start: u64, median_ms: f64) -> Done {
        let svc = self.svc_of(parent);
        let i = self.open(
            Some(parent),
            svc,
            Lib::Manual,
            SpanKind::Internal,
            name,
            start,
        );
        let end = start + self.rng.latency_ns(median_ms, 0.5);
        self.close(i, end);
        Done::ok(end)
    }

    /// A query through db-proxy: a gRPC call to it, and its PostgreSQL
    /// client span. SELECTs go to a replica, writes to the primary.
    pub fn sql(
        &mut self,
        parent: usize,
        op: &'static str,
        table: &'static str,
        statement: &'static str,
        start: u64,
    ) -> Done {
        let method = if op == "SELECT" { "Query" } else { "Exec" };
        self.grpc(
            parent,
            Svc::DbProxy,
            "dataproxy.v1.DataProxy",
            method,
            start,
            |b, server, t| b.postgres(server, op, table, statement, t),
        )
    }

    fn postgres(
        &mut self,
        parent: usize,
        op: &str,
        table: &str,
        statement: &str,
        start: u64,
    ) -> Done {
        let i = self.open(
            Some(parent),
            Svc::DbProxy,
            Lib::Sql,
            SpanKind::Client,
            format!("{op} shop.{table}"),
            start,
        );
        let host = if op == "SELECT" {
            format!(
                "pg-replica-{}.data.svc.cluster.local",
                self.rng.between(1, 2)
            )
        } else {
            "pg-primary.data.svc.cluster.local".to_owned()
        };
        self.set_str(i, "db.system", "postgresql");
        self.set_str(i, "db.name", "shop");
        self.set_str(i, "db.user", "dbproxy");
        self.set_str(i, "db.statement", statement);
        self.set_str(i, "db.operation", op);
        self.set_str(i, "db.sql.table", table);
        self.set_str(i, "net.peer.name", host);
        self.set_int(i, "net.peer.port", 5432);
        if self.rng.chance(25) {
            // The statement timeout db-proxy sets.
            let end = start + 2_000_000_000;
            let fail = Fail {
                http: 500,
                grpc: 4,
                exception: "pgconn.PgError",
                message: "ERROR: canceling statement due to statement timeout (SQLSTATE 57014)",
            };
            self.raise(i, end, fail);
            self.close(i, end);
            return Done {
                end,
                fail: Some(fail),
            };
        }
        let mut took = self.rng.latency_ns(0.7, 0.9);
        if self.rng.chance(40) {
            // Lock waits and cold pages: the tail that makes slow traces.
            took += self.rng.latency_ns(450.0, 0.6);
        }
        self.close(i, start + took);
        Done::ok(start + took)
    }

    /// One Redis command from the service of span `parent`.
    pub fn redis(&mut self, parent: usize, command: &str, statement: String, start: u64) -> Done {
        let svc = self.svc_of(parent);
        let i = self.open(
            Some(parent),
            svc,
            Lib::Redis,
            SpanKind::Client,
            command,
            start,
        );
        self.set_str(i, "db.system", "redis");
        self.set_str(i, "db.statement", statement);
        self.set_str(i, "net.peer.name", "redis.shop.svc.cluster.local");
        self.set_int(i, "net.peer.port", 6379);
        self.set_int(i, "db.redis.database_index", 0);
        if self.rng.chance(15) {
            let end = start + 5_000_000_000;
            let fail = Fail {
                http: 500,
                grpc: 9,
                exception: "StackExchange.Redis.RedisTimeoutException",
                message: "Timeout performing the command (5000ms), inst: 1, qu: 0, qs: 12",
            };
            self.raise(i, end, fail);
            self.close(i, end);
            return Done {
                end,
                fail: Some(fail),
            };
        }
        let end = start + self.rng.latency_ns(0.25, 0.6);
        self.close(i, end);
        Done::ok(end)
    }

    /// Publishes to a Kafka topic and has the consumer in `to` process it
    /// (a span linked as a child of the producer, as Kafka instrumentation
    /// propagates context in record headers). The consumer may finish
    /// after the request that produced the message.
    pub fn publish(
        &mut self,
        parent: usize,
        to: Svc,
        topic: &str,
        key: String,
        start: u64,
        consume: impl FnOnce(&mut Self, usize, u64) -> Done,
    ) -> Done {
        let from = self.svc_of(parent);
        let producer = self.open(
            Some(parent),
            from,
            Lib::Kafka,
            SpanKind::Producer,
            format!("{topic} publish"),
            start,
        );
        let partition = self.rng.below(6) as i64;
        self.set_str(producer, "messaging.system", "kafka");
        self.set_str(producer, "messaging.destination.name", topic);
        self.set_str(producer, "messaging.operation", "publish");
        self.set_str(producer, "messaging.kafka.message.key", key);
        self.set_int(producer, "messaging.kafka.destination.partition", partition);
        let sent = start + self.rng.latency_ns(1.2, 0.6);
        self.close(producer, sent);
        let received = sent + self.rng.latency_ns(25.0, 1.0);
        let consumer = self.open(
            Some(producer),
            to,
            Lib::Kafka,
            SpanKind::Consumer,
            format!("{topic} process"),
            received,
        );
        self.set_str(consumer, "messaging.system", "kafka");
        self.set_str(consumer, "messaging.destination.name", topic);
        self.set_str(consumer, "messaging.operation", "process");
        self.set_str(consumer, "messaging.kafka.consumer.group", to.name());
        self.set_int(consumer, "messaging.kafka.destination.partition", partition);
        let offset = self.rng.between(1_000_000, 9_000_000) as i64;
        self.set_int(consumer, "messaging.kafka.message.offset", offset);
        let begin = received + self.rng.latency_ns(0.2, 0.5);
        let done = consume(self, consumer, begin);
        if let Some(f) = done.fail {
            self.error(consumer, f.message);
        }
        let end = done.end + self.rng.latency_ns(0.1, 0.5);
        self.close(consumer, end);
        Done::ok(sent)
    }

    /// The finished spans.
    pub fn finish(self) -> Vec<Draft> {
        self.spans
    }
}
