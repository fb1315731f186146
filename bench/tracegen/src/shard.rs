//! Splitting the run into shards and turning each shard's traces into
//! request bodies.
//!
//! A shard is an independent stream of traces with its own RNG lane and
//! its own share of the spans, whose traces walk through the time window
//! in order. Which connection sends a shard does not change its bytes, so
//! the same seed gives the same requests whatever `--connections` is, and
//! the shards can be generated on as many threads as there are
//! connections.

use std::collections::BTreeMap;

use anyhow::Result;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::rng::Rng;
use crate::shop;
use crate::topology::{Svc, Topology};
use crate::trace::{Builder, Draft};

/// Enough spans per shard that its traces spread smoothly over the window;
/// few enough shards that each request still holds one shard's traces.
const SPANS_PER_SHARD: u64 = 20_000;
const MAX_SHARDS: u64 = 64;
const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.24.0";

/// What to generate.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seed: u64,
    pub spans: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub batch_spans: usize,
    /// Sample about one trace id in this many for `--write-ids`.
    pub id_every: u64,
}

/// The shards of a plan; their number depends on the span total only.
pub fn shards(plan: &Plan) -> Vec<Shard> {
    let count = (plan.spans / SPANS_PER_SHARD).clamp(1, MAX_SHARDS);
    (0..count)
        .map(|i| Shard {
            index: i,
            rng: Rng::lane(plan.seed, i),
            quota: plan.spans / count + u64::from(i < plan.spans % count),
            made: 0,
            start_ns: plan.start_ns,
            window_ns: plan.end_ns.saturating_sub(plan.start_ns),
        })
        .collect()
}

pub struct Shard {
    pub index: u64,
    rng: Rng,
    quota: u64,
    made: u64,
    start_ns: u64,
    window_ns: u64,
}

/// One generated trace.
pub struct TraceOut {
    pub id: [u8; 16],
    pub drafts: Vec<Draft>,
    pub error: bool,
    pub root_start_ns: u64,
    pub root_duration_ns: u64,
}

impl Shard {
    /// The next trace, or `None` once the shard's quota of spans is made
    /// (the last trace may overshoot it).
    pub fn next_trace(&mut self, topo: &Topology) -> Option<TraceOut> {
        if self.made >= self.quota {
            return None;
        }
        let jitter = self.rng.below(1000);
        let mut b = Builder::new(topo, &mut self.rng);
        shop::request(&mut b);
        let id = b.trace_id();
        let mut drafts = b.finish();
        let n = drafts.len() as u64;
        // The trace starts somewhere in the slice of the window its spans
        // take up, so spans (not traces) are spread evenly in time.
        let offset = u128::from(self.window_ns)
            * (u128::from(self.made) * 1000 + u128::from(jitter) * u128::from(n))
            / (u128::from(self.quota.max(1)) * 1000);
        let base = self.start_ns + (offset as u64).min(self.window_ns);
        for d in &mut drafts {
            d.span.start_time_unix_nano += base;
            d.span.end_time_unix_nano += base;
            for e in &mut d.span.events {
                e.time_unix_nano += base;
            }
        }
        self.made += n;
        let error = drafts.iter().any(|d| {
            d.span
                .status
                .as_ref()
                .is_some_and(|s| s.code == StatusCode::Error as i32)
        });
        let (root_start_ns, root_duration_ns) = drafts.first().map_or((base, 0), |r| {
            (
                r.span.start_time_unix_nano,
                r.span.end_time_unix_nano - r.span.start_time_unix_nano,
            )
        });
        Some(TraceOut {
            id,
            drafts,
            error,
            root_start_ns,
            root_duration_ns,
        })
    }
}

/// Spans waiting for the next request, grouped by pod and scope the way an
/// exporter groups them.
#[derive(Default)]
pub struct Batch {
    groups: BTreeMap<(u16, u16), Vec<Span>>,
    spans: usize,
}

/// One encoded `ExportTraceServiceRequest`.
pub struct Encoded {
    pub data: Vec<u8>,
    pub spans: u64,
}

impl Batch {
    pub fn spans(&self) -> usize {
        self.spans
    }

    pub fn add(&mut self, drafts: Vec<Draft>) {
        self.spans += drafts.len();
        for d in drafts {
            self.groups
                .entry((d.instance, d.scope))
                .or_default()
                .push(d.span);
        }
    }

    /// Encodes what is batched (`None` when empty) and starts over.
    pub fn take(&mut self, topo: &Topology) -> Option<Encoded> {
        if self.spans == 0 {
            return None;
        }
        let mut resource_spans: Vec<ResourceSpans> = Vec::new();
        let mut current = None;
        for ((instance, scope), spans) in std::mem::take(&mut self.groups) {
            if current != Some(instance) {
                current = Some(instance);
                resource_spans.push(ResourceSpans {
                    resource: topo
                        .instances
                        .get(usize::from(instance))
                        .map(|i| i.resource.clone()),
                    scope_spans: Vec::new(),
                    schema_url: SCHEMA_URL.to_owned(),
                });
            }
            if let Some(rs) = resource_spans.last_mut() {
                rs.scope_spans.push(ScopeSpans {
                    scope: topo.scope(scope).cloned(),
                    spans,
                    schema_url: SCHEMA_URL.to_owned(),
                });
            }
        }
        let data = ExportTraceServiceRequest { resource_spans }.encode_to_vec();
        let spans = std::mem::take(&mut self.spans) as u64;
        Some(Encoded { data, spans })
    }
}

/// What a set of shards produced.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub traces: u64,
    pub spans: u64,
    pub error_traces: u64,
    /// Traces whose frontend request took over 500 ms.
    pub slow_traces: u64,
    pub bodies: u64,
    pub protobuf_bytes: u64,
    pub max_trace_spans: u64,
    pub first_ns: u64,
    pub last_ns: u64,
    /// Sampled trace ids with their start time.
    pub ids: Vec<(u64, [u8; 16])>,
}

impl Tally {
    fn note(&mut self, t: &TraceOut, id_every: u64) {
        let n = t.drafts.len() as u64;
        self.traces += 1;
        self.spans += n;
        self.error_traces += u64::from(t.error);
        let frontend = t.drafts.first().is_some_and(|d| d.svc == Svc::Frontend);
        self.slow_traces += u64::from(frontend && t.root_duration_ns > 500_000_000);
        self.max_trace_spans = self.max_trace_spans.max(n);
        let end = t.root_start_ns + t.root_duration_ns;
        self.first_ns = if self.traces == 1 {
            t.root_start_ns
        } else {
            self.first_ns.min(t.root_start_ns)
        };
        self.last_ns = self.last_ns.max(end);
        // Trace ids are random, so sampling on them spreads the sample over
        // the whole window rather than taking each shard's first traces.
        let head = u64::from_be_bytes([
            t.id[0], t.id[1], t.id[2], t.id[3], t.id[4], t.id[5], t.id[6], t.id[7],
        ]);
        if id_every > 0 && head.is_multiple_of(id_every) {
            self.ids.push((t.root_start_ns, t.id));
        }
    }

    pub fn merge(&mut self, o: Tally) {
        if o.traces > 0 {
            self.first_ns = if self.traces == 0 {
                o.first_ns
            } else {
                self.first_ns.min(o.first_ns)
            };
        }
        self.traces += o.traces;
        self.spans += o.spans;
        self.error_traces += o.error_traces;
        self.slow_traces += o.slow_traces;
        self.bodies += o.bodies;
        self.protobuf_bytes += o.protobuf_bytes;
        self.max_trace_spans = self.max_trace_spans.max(o.max_trace_spans);
        self.last_ns = self.last_ns.max(o.last_ns);
        self.ids.extend(o.ids);
    }
}

/// Generates every trace of `shards`, one request per shard in turn so the
/// shards move through time together, and hands each body to `send`.
pub fn generate(
    topo: &Topology,
    mut shards: Vec<Shard>,
    plan: &Plan,
    mut send: impl FnMut(Encoded) -> Result<()>,
) -> Result<Tally> {
    let mut tally = Tally::default();
    let mut batches: Vec<Batch> = shards.iter().map(|_| Batch::default()).collect();
    loop {
        let mut sent = false;
        for (shard, batch) in shards.iter_mut().zip(&mut batches) {
            while batch.spans() < plan.batch_spans {
                let Some(t) = shard.next_trace(topo) else {
                    break;
                };
                tally.note(&t, plan.id_every);
                batch.add(t.drafts);
            }
            if let Some(body) = batch.take(topo) {
                tally.bodies += 1;
                tally.protobuf_bytes += body.data.len() as u64;
                sent = true;
                send(body)?;
            }
        }
        if !sent {
            return Ok(tally);
        }
    }
}
