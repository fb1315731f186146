//! Traces T1 and T2 of the case table, plus T3 for metrics, and helpers.

use std::sync::Arc;

use crate::traceql::model::*;
use crate::traceql::{SpanSet, compile};

/// A round base time: 1.7e9 seconds, a multiple of every step used.
pub const B: u64 = 1_700_000_000_000_000_000;
pub const MS: u64 = 1_000_000;
pub const S: u64 = 1_000_000_000;

pub fn resource(service: &str) -> Arc<Resource> {
    Arc::new(Resource {
        attributes: vec![Attr::new("service.name", AttrValue::Str(service.into()))],
    })
}

#[allow(clippy::too_many_arguments)]
pub fn span(
    id: u8,
    parent: Option<u8>,
    res: &Arc<Resource>,
    name: &str,
    kind: SpanKind,
    status: StatusCode,
    start: u64,
    dur: u64,
) -> Span {
    let mut s = Span::new([id; 8], parent.map(|p| [p; 8]), name);
    s.resource = Arc::clone(res);
    s.kind = kind;
    s.status = status;
    s.start_ns = start;
    s.duration_ns = dur;
    s
}

/// T1, starting at `t0`:
/// S1 root frontend "GET /api/orders" server 1.2s http.status_code=200
///  ├─ S2 frontend "orders.query" client 900ms
///  │   └─ S3 postgres "SELECT" server 850ms error db.system=postgresql
///  └─ S4 frontend "cache.get" client 5ms cache.hit=true
pub fn t1_at(t0: u64) -> Trace {
    let fe = resource("frontend");
    let pg = resource("postgres");
    use SpanKind::*;
    use StatusCode::*;
    let mut s1 = span(
        1,
        None,
        &fe,
        "GET /api/orders",
        Server,
        Unset,
        t0,
        1200 * MS,
    );
    s1.attributes
        .push(Attr::new("http.status_code", AttrValue::Int(200)));
    let s2 = span(
        2,
        Some(1),
        &fe,
        "orders.query",
        Client,
        Unset,
        t0 + 10 * MS,
        900 * MS,
    );
    let mut s3 = span(
        3,
        Some(2),
        &pg,
        "SELECT",
        Server,
        Error,
        t0 + 20 * MS,
        850 * MS,
    );
    s3.attributes
        .push(Attr::new("db.system", AttrValue::Str("postgresql".into())));
    let mut s4 = span(
        4,
        Some(1),
        &fe,
        "cache.get",
        Client,
        Unset,
        t0 + 950 * MS,
        5 * MS,
    );
    s4.attributes
        .push(Attr::new("cache.hit", AttrValue::Bool(true)));
    // Deliberately not in tree order.
    Trace::new([1; 16], vec![s3, s1, s4, s2])
}

/// T2: one span, frontend "GET /health", 2ms, status ok.
pub fn t2_at(t0: u64) -> Trace {
    let fe = resource("frontend");
    let s = span(
        9,
        None,
        &fe,
        "GET /health",
        SpanKind::Unspecified,
        StatusCode::Ok,
        t0,
        2 * MS,
    );
    Trace::new([2; 16], vec![s])
}

/// T3: checkout root error span and an ok child.
pub fn t3_at(t0: u64) -> Trace {
    let co = resource("checkout");
    let root = span(
        20,
        None,
        &co,
        "POST /pay",
        SpanKind::Server,
        StatusCode::Error,
        t0,
        300 * MS,
    );
    let child = span(
        21,
        Some(20),
        &co,
        "charge",
        SpanKind::Client,
        StatusCode::Ok,
        t0 + S,
        100 * MS,
    );
    Trace::new([3; 16], vec![root, child])
}

pub fn t1() -> Trace {
    t1_at(B + S)
}

pub fn t2() -> Trace {
    t2_at(B + 12 * S)
}

/// Evaluate `q` on `trace`: the spansets.
pub fn eval(q: &str, trace: &Trace) -> Vec<SpanSet> {
    let c = compile(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    c.eval_trace(trace)
}

/// Names of all returned spans (over all spansets), sorted.
pub fn names(q: &str, trace: &Trace) -> Vec<String> {
    let mut out: Vec<String> = eval(q, trace)
        .iter()
        .flat_map(|s| s.spans.iter())
        .map(|m| trace.spans()[m.index].name.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}
