use std::collections::{BTreeMap, HashMap, HashSet};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;

use super::*;

const END_NS: u64 = 1_764_000_000 * 1_000_000_000;
const HOUR_NS: u64 = 3_600 * 1_000_000_000;

fn test_plan(seed: u64, spans: u64) -> Plan {
    Plan {
        seed,
        spans,
        start_ns: END_NS - 6 * HOUR_NS,
        end_ns: END_NS,
        batch_spans: 2000,
        id_every: 100,
    }
}

/// Every request body of the plan, generating the given shard groups one
/// after the other as separate connections would.
fn bodies_in_groups(plan: &Plan, groups: u64) -> (Vec<Vec<u8>>, Tally) {
    let topo = Topology::new(plan.seed);
    let mut split: Vec<Vec<shard::Shard>> = (0..groups).map(|_| Vec::new()).collect();
    for s in shard::shards(plan) {
        let g = (s.index % groups) as usize;
        split[g].push(s);
    }
    let mut out = Vec::new();
    let mut tally = Tally::default();
    for shards in split {
        let t = shard::generate(&topo, shards, plan, |b| {
            out.push(b.data);
            Ok(())
        })
        .unwrap();
        tally.merge(t);
    }
    (out, tally)
}

fn bodies(plan: &Plan) -> (Vec<Vec<u8>>, Tally) {
    bodies_in_groups(plan, 1)
}

/// A decoded span with the service that reported it.
struct Seen {
    service: String,
    span: Span,
}

fn decode(bodies: &[Vec<u8>]) -> BTreeMap<Vec<u8>, Vec<Seen>> {
    let mut traces: BTreeMap<Vec<u8>, Vec<Seen>> = BTreeMap::new();
    for body in bodies {
        let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        for rs in req.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .expect("every resource names its service");
            for ss in rs.scope_spans {
                assert!(ss.scope.is_some_and(|s| !s.name.is_empty()));
                for span in ss.spans {
                    traces.entry(span.trace_id.clone()).or_default().push(Seen {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
    }
    traces
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, ta) = bodies(&test_plan(7, 45_000));
    let (b, _) = bodies(&test_plan(7, 45_000));
    let (c, _) = bodies(&test_plan(8, 45_000));
    assert!(a.len() > 10, "{} bodies", a.len());
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(ta.spans >= 45_000);
}

#[test]
fn connections_do_not_change_the_requests() {
    let plan = test_plan(3, 70_000);
    assert!(shard::shards(&plan).len() >= 3);
    let (mut one, t1) = bodies_in_groups(&plan, 1);
    let (mut three, t3) = bodies_in_groups(&plan, 3);
    one.sort();
    three.sort();
    assert_eq!(one, three);
    assert_eq!((t1.spans, t1.traces), (t3.spans, t3.traces));
}

#[test]
fn every_parent_exists_and_calls_come_in_client_server_pairs() {
    let plan = test_plan(1, 40_000);
    let (bodies, tally) = bodies(&plan);
    let traces = decode(&bodies);
    assert_eq!(traces.len() as u64, tally.traces);
    let mut spans = 0u64;
    for (id, list) in &traces {
        assert_eq!(id.len(), 16);
        assert!(id.iter().any(|&b| b != 0));
        assert!(
            (3..=60).contains(&list.len()),
            "trace of {} spans",
            list.len()
        );
        spans += list.len() as u64;
        let by_id: HashMap<&[u8], &Seen> = list
            .iter()
            .map(|s| (s.span.span_id.as_slice(), s))
            .collect();
        assert_eq!(by_id.len(), list.len(), "span ids repeat");
        let roots: Vec<&Seen> = list
            .iter()
            .filter(|s| s.span.parent_span_id.is_empty())
            .collect();
        assert_eq!(roots.len(), 1, "one root per trace");
        assert_eq!(roots[0].service, "frontend");
        for s in list {
            let span = &s.span;
            assert_eq!(span.span_id.len(), 8);
            assert!(span.span_id.iter().any(|&b| b != 0));
            assert!(span.end_time_unix_nano >= span.start_time_unix_nano);
            if span.parent_span_id.is_empty() {
                continue;
            }
            let parent = by_id
                .get(span.parent_span_id.as_slice())
                .unwrap_or_else(|| panic!("parent of {:?} missing", span.name));
            assert!(span.start_time_unix_nano >= parent.span.start_time_unix_nano);
            let kind = SpanKind::try_from(span.kind).unwrap();
            let parent_kind = SpanKind::try_from(parent.span.kind).unwrap();
            match kind {
                SpanKind::Server => {
                    assert_eq!(parent_kind, SpanKind::Client, "{}", span.name);
                    assert_ne!(parent.service, s.service, "{}", span.name);
                }
                SpanKind::Consumer => assert_eq!(parent_kind, SpanKind::Producer),
                _ => assert_eq!(parent.service, s.service, "{}", span.name),
            }
            // Synchronous children finish inside their parent.
            if kind != SpanKind::Consumer {
                assert!(
                    span.end_time_unix_nano <= parent.span.end_time_unix_nano,
                    "{} outlives {}",
                    span.name,
                    parent.span.name
                );
            }
        }
    }
    assert_eq!(spans, tally.spans);
}

#[test]
fn the_data_looks_like_a_shop() {
    let plan = test_plan(2, 100_000);
    let (bodies, tally) = bodies(&plan);
    let traces = decode(&bodies);
    // The last trace of each shard may run over its share.
    let shards = shard::shards(&plan).len() as u64;
    assert!(tally.spans >= plan.spans && tally.spans < plan.spans + 60 * shards);
    let share = tally.error_traces as f64 / tally.traces as f64;
    assert!((0.02..=0.05).contains(&share), "error share {share}");
    assert!(tally.slow_traces > 0);
    assert!(!tally.ids.is_empty());
    let mut services = HashSet::new();
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    let mut events = 0;
    for list in traces.values() {
        for s in list {
            services.insert(s.service.clone());
            names.insert(s.span.name.clone());
            keys.extend(s.span.attributes.iter().map(|kv| kv.key.clone()));
            events += s.span.events.len();
            assert!(s.span.start_time_unix_nano >= plan.start_ns);
            // Traces start inside the window; the last ones may end a few
            // seconds after it.
            assert!(s.span.start_time_unix_nano < plan.end_ns + 60 * 1_000_000_000);
        }
    }
    assert_eq!(services.len(), 12, "{services:?}");
    for name in [
        "GET /product/{id}",
        "oteldemo.CartService/GetCart",
        "SELECT shop.products",
        "HGETALL",
        "orders publish",
        "POST /send_order_confirmation",
    ] {
        assert!(names.contains(name), "no span named {name}");
    }
    for key in [
        "http.method",
        "http.route",
        "http.status_code",
        "db.system",
        "db.statement",
        "rpc.method",
        "messaging.system",
    ] {
        assert!(keys.contains(key), "no attribute {key}");
    }
    assert!(events > 0);
    // Spans are spread over the window, not bunched at one end.
    let first = tally.first_ns - plan.start_ns;
    let last = plan.end_ns.saturating_sub(tally.last_ns);
    assert!(
        first < HOUR_NS / 10 && last < HOUR_NS / 10,
        "{first} {last}"
    );
}

#[test]
fn sampled_ids_are_ids_of_generated_traces() {
    let plan = test_plan(4, 30_000);
    let (bodies, tally) = bodies(&plan);
    let traces = decode(&bodies);
    assert!(!tally.ids.is_empty());
    for (_, id) in &tally.ids {
        assert!(traces.contains_key(id.as_slice()));
    }
    let dir = std::env::temp_dir().join(format!("tracegen-ids-{}", std::process::id()));
    let mut t = tally.clone();
    write_ids(&dir, &mut t).unwrap();
    let text = std::fs::read_to_string(&dir).unwrap();
    std::fs::remove_file(&dir).ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), tally.ids.len());
    assert!(
        lines
            .iter()
            .all(|l| l.len() == 32 && l.bytes().all(|b| b.is_ascii_hexdigit()))
    );
}

#[test]
fn bad_flags_are_refused() {
    let args = |extra: &[&str]| {
        let mut v = vec!["hearth-tracegen", "--end-ms", "1764000000000"];
        v.extend_from_slice(extra);
        Args::parse_from(v)
    };
    assert!(plan(&args(&[])).is_ok());
    assert!(plan(&args(&["--hours", "0"])).is_err());
    assert!(plan(&args(&["--spans", "0"])).is_err());
    assert!(plan(&args(&["--connections", "0"])).is_err());
    assert!(plan(&Args::parse_from(["x", "--end-ms=-5"])).is_err());
}
