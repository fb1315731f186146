//! The Tempo API end to end, as Grafana's Tempo data source and Traces
//! Drilldown call it: OTLP spans go in over OTLP/HTTP, then TraceQL search
//! (and the older `tags=` form), tag names and values for the search
//! builder, and TraceQL metrics answer over HTTP, first from the head and
//! again after a flush has moved the spans into parts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Hearth, now_ns, urlencode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use serde_json::Value as Json;

const MS: u64 = 1_000_000;

fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

struct SpanSpec {
    id: u8,
    parent: u8,
    name: &'static str,
    kind: i32,
    error: bool,
    offset_ms: u64,
    duration_ms: u64,
    attrs: Vec<KeyValue>,
}

fn spec(id: u8, parent: u8, name: &'static str, kind: i32, at: u64, dur: u64) -> SpanSpec {
    SpanSpec {
        id,
        parent,
        name,
        kind,
        error: false,
        offset_ms: at,
        duration_ms: dur,
        attrs: Vec::new(),
    }
}

/// One `ResourceSpans` per service, spans of one trace starting at `t0`.
fn trace(trace_id: [u8; 16], t0: u64, services: Vec<(&str, Vec<SpanSpec>)>) -> Vec<ResourceSpans> {
    services
        .into_iter()
        .map(|(service, spans)| ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s(service)),
                    kv("k8s.namespace.name", s("shop")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: spans
                    .into_iter()
                    .map(|p| Span {
                        trace_id: trace_id.to_vec(),
                        span_id: [p.id; 8].to_vec(),
                        parent_span_id: if p.parent == 0 {
                            Vec::new()
                        } else {
                            [p.parent; 8].to_vec()
                        },
                        name: p.name.into(),
                        kind: p.kind,
                        start_time_unix_nano: t0 + p.offset_ms * MS,
                        end_time_unix_nano: t0 + (p.offset_ms + p.duration_ms) * MS,
                        attributes: p.attrs,
                        status: p.error.then(|| Status {
                            message: "card declined".into(),
                            code: 2,
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect()
}

const T1: [u8; 16] = [0x11; 16];
const T2: [u8; 16] = [0x22; 16];
/// Leading zero bytes: search answers with them stripped.
const T3: [u8; 16] = [
    0, 0, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
];
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

/// T1 (oldest): frontend GET /checkout → POST /pay → payment charge (error)
/// → SELECT. T2: frontend GET /home alone. T3 (newest): checkout GET
/// /cart lasting 1.2 s.
fn request(base: u64) -> ExportTraceServiceRequest {
    let mut root = spec(1, 0, "GET /checkout", SERVER, 0, 300);
    root.attrs
        .push(kv("http.status_code", Value::IntValue(200)));
    let mut charge = spec(3, 2, "charge", SERVER, 20, 150);
    charge.error = true;
    charge.attrs.push(kv("payment.method", s("card")));
    let mut select = spec(4, 3, "SELECT", CLIENT, 40, 50);
    select.attrs.push(kv("db.system", s("postgresql")));
    let mut home = spec(5, 0, "GET /home", SERVER, 0, 20);
    home.attrs
        .push(kv("http.status_code", Value::IntValue(200)));
    let mut resource_spans = trace(
        T1,
        base,
        vec![
            (
                "frontend",
                vec![root, spec(2, 1, "POST /pay", CLIENT, 10, 200)],
            ),
            ("payment", vec![charge, select]),
        ],
    );
    resource_spans.extend(trace(T2, base + 1_000 * MS, vec![("frontend", vec![home])]));
    resource_spans.extend(trace(
        T3,
        base + 2_000 * MS,
        vec![("checkout", vec![spec(6, 0, "GET /cart", SERVER, 0, 1_200)])],
    ));
    ExportTraceServiceRequest { resource_spans }
}

/// Fields Grafana's strict decoder knows, per object.
fn check_keys(what: &str, v: &Json, allowed: &[&str]) {
    for k in v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"))
        .keys()
    {
        assert!(
            allowed.contains(&k.as_str()),
            "unknown field {k:?} in {what}: {v}"
        );
    }
}

fn check_search_shape(body: &Json) {
    check_keys("SearchResponse", body, &["traces", "metrics"]);
    check_keys(
        "SearchMetrics",
        &body["metrics"],
        &[
            "inspectedTraces",
            "inspectedBytes",
            "totalBlocks",
            "completedJobs",
            "totalJobs",
        ],
    );
    for t in body["traces"].as_array().expect("traces") {
        check_keys(
            "TraceSearchMetadata",
            t,
            &[
                "traceID",
                "rootServiceName",
                "rootTraceName",
                "startTimeUnixNano",
                "durationMs",
                "spanSet",
                "spanSets",
                "serviceStats",
            ],
        );
        assert!(t["startTimeUnixNano"].is_string(), "{t}");
        for set in t["spanSets"].as_array().expect("spanSets") {
            check_keys("SpanSet", set, &["spans", "matched", "attributes"]);
            for span in set["spans"].as_array().expect("spans") {
                check_keys(
                    "Span",
                    span,
                    &[
                        "spanID",
                        "name",
                        "startTimeUnixNano",
                        "durationNanos",
                        "attributes",
                    ],
                );
            }
        }
    }
}

fn search(h: &Hearth, q: &str, extra: &str) -> Json {
    let (start, end) = window();
    let resp = h.get(&format!(
        "/api/search?q={}&start={start}&end={end}{extra}",
        urlencode(q)
    ));
    let status = resp.status();
    let text = resp.text().expect("body");
    assert_eq!(status, 200, "{q}: {text}");
    let body: Json = serde_json::from_str(&text).expect("json");
    check_search_shape(&body);
    body
}

fn ids(body: &Json) -> Vec<String> {
    body["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["traceID"].as_str().expect("id").to_string())
        .collect()
}

fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn base() -> u64 {
    // Ten minutes ago, on a whole second.
    (now_ns() as u64 - 600 * 1_000_000_000) / 1_000_000_000 * 1_000_000_000
}

fn window() -> (u64, u64) {
    let now = now_ns() as u64 / 1_000_000_000;
    (now - 3_600, now + 60)
}

fn t1() -> String {
    hex(&T1)
}

fn t3_short() -> String {
    hex(&T3).trim_start_matches('0').to_string()
}

/// Everything the search endpoints must answer; run against the head and
/// again against parts.
fn check_search(h: &Hearth) {
    let body = search(h, r#"{ resource.service.name = "payment" }"#, "");
    assert_eq!(ids(&body), [t1()], "{body}");
    let t = &body["traces"][0];
    assert_eq!(t["rootServiceName"], "frontend");
    assert_eq!(t["rootTraceName"], "GET /checkout");
    assert_eq!(t["durationMs"], 300);
    assert_eq!(t["spanSets"][0]["matched"], 2);
    assert_eq!(t["spanSets"][0]["spans"][0]["spanID"], hex(&[3; 8]));
    assert_eq!(
        t["spanSets"][0]["spans"][0]["durationNanos"],
        (150 * MS).to_string()
    );
    assert_eq!(t["spanSet"], t["spanSets"][0]);
    assert_eq!(
        t["serviceStats"],
        serde_json::json!({
            "frontend": { "spanCount": 2 },
            "payment": { "spanCount": 2, "errorCount": 1 },
        })
    );

    // The filter's fields are listed next to each matched span.
    let body = search(h, "{ status = error }", "");
    assert_eq!(ids(&body), [t1()]);
    let span = &body["traces"][0]["spanSets"][0]["spans"][0];
    assert_eq!(span["name"], "charge");
    assert!(
        span["attributes"]
            .as_array()
            .expect("attributes")
            .contains(&serde_json::json!({ "key": "status", "value": { "stringValue": "error" } })),
        "{span}"
    );

    // Newest first, `limit` traces; T3's id loses its leading zeros.
    let body = search(h, "{}", "&limit=2");
    assert_eq!(ids(&body), [t3_short(), hex(&T2)], "{body}");
    let all = search(h, "{}", "&limit=20");
    assert_eq!(ids(&all).len(), 3);
    // spss bounds the spans listed, not the count matched.
    let body = search(h, r#"{ resource.service.name = "frontend" }"#, "&spss=1");
    let t1_meta = body["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .find(|t| t["traceID"] == t1())
        .expect("T1 found")
        .clone();
    assert_eq!(t1_meta["spanSets"][0]["matched"], 2);
    assert_eq!(
        t1_meta["spanSets"][0]["spans"].as_array().map(Vec::len),
        Some(1)
    );

    // Structural operators, pipelines and intrinsics need whole traces.
    for q in [
        r#"{ resource.service.name = "frontend" } >> { span.db.system = "postgresql" }"#,
        "{} | count() > 3",
        r#"{ rootServiceName = "frontend" && span.payment.method = "card" }"#,
        "{ kind = client && duration > 100ms }",
    ] {
        assert_eq!(ids(&search(h, q, "")), [t1()], "{q}");
    }
    assert_eq!(ids(&search(h, "{ traceDuration > 1s }", "")), [t3_short()]);
    let body = search(h, "{ span.http.status_code = 200 } | select(name)", "");
    assert_eq!(ids(&body).len(), 2, "{body}");

    // The pre-TraceQL form.
    let (start, end) = window();
    let legacy: Json = h.get_json(&format!(
        "/api/search?tags={}&start={start}&end={end}",
        urlencode("service.name=payment payment.method=card")
    ));
    assert_eq!(ids(&legacy), [t1()]);
    let legacy: Json = h.get_json(&format!(
        "/api/search?minDuration=1s&start={start}&end={end}"
    ));
    assert_eq!(ids(&legacy), [t3_short()]);

    // The search result's short id finds the trace.
    let resp = h.get(&format!("/api/v2/traces/{}", t3_short()));
    assert_eq!(resp.status(), 200);
}

fn check_refusals(h: &Hearth) {
    let (start, end) = window();
    for (query, why) in [
        (format!("q={}", urlencode("{ .a = }")), "TraceQL"),
        (format!("q={}", urlencode("{} | rate()")), "metrics"),
        (format!("q={}&limit=0", urlencode("{}")), "limit"),
        (
            format!("q={}&start={end}&end={start}", urlencode("{}")),
            "end",
        ),
        (format!("q={}&tags=a%3Db", urlencode("{}")), "tags"),
    ] {
        let resp = h.get(&format!("/api/search?{query}"));
        assert_eq!(resp.status(), 400, "{query}");
        let text = resp.text().expect("body");
        assert!(text.contains(why), "{query}: {text}");
    }
    let resp = h.get(&format!(
        "/api/metrics/query_range?q={}",
        urlencode("{ .a = 1 }")
    ));
    assert_eq!(resp.status(), 400);
    let resp = h.get("/api/v2/search/tags?scope=bogus");
    assert_eq!(resp.status(), 400);
    // Hostile ranges and steps are refused or answered, never a crash.
    let rate = urlencode("{} | rate()");
    for (params, want) in [
        ("step=0.000000001", 400),
        (
            "start=-9000000000000000000&end=9000000000000000000&step=200h",
            200,
        ),
        ("start=9000000000000000000&end=-9000000000000000000", 400),
        ("step=-5s", 400),
    ] {
        let resp = h.get(&format!("/api/metrics/query_range?q={rate}&{params}"));
        assert_eq!(
            resp.status(),
            want,
            "{params}: {}",
            resp.text().unwrap_or_default()
        );
    }
}

fn values(h: &Hearth, tag: &str, q: Option<&str>) -> Vec<(String, String)> {
    let (start, end) = window();
    let mut path = format!("/api/v2/search/tag/{tag}/values?start={start}&end={end}");
    if let Some(q) = q {
        path.push_str(&format!("&q={}", urlencode(q)));
    }
    let body = h.get_json(&path);
    check_keys(
        "SearchTagValuesV2Response",
        &body,
        &["tagValues", "metrics"],
    );
    body["tagValues"]
        .as_array()
        .expect("tagValues")
        .iter()
        .map(|v| {
            check_keys("TagValue", v, &["type", "value"]);
            (
                v["type"].as_str().expect("type").to_string(),
                v["value"].as_str().expect("value").to_string(),
            )
        })
        .collect()
}

fn strings(words: &[&str]) -> Vec<(String, String)> {
    words
        .iter()
        .map(|w| ("string".to_string(), (*w).to_string()))
        .collect()
}

fn check_tags(h: &Hearth) {
    let (start, end) = window();
    let body = h.get_json(&format!("/api/v2/search/tags?start={start}&end={end}"));
    check_keys("SearchTagsV2Response", &body, &["scopes", "metrics"]);
    let scopes: BTreeMap<String, BTreeSet<String>> = body["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| {
            check_keys("SearchTagsV2Scope", s, &["name", "tags"]);
            (
                s["name"].as_str().expect("name").to_string(),
                s["tags"]
                    .as_array()
                    .expect("tags")
                    .iter()
                    .map(|t| t.as_str().expect("tag").to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        scopes["resource"],
        BTreeSet::from(["k8s.namespace.name".to_string(), "service.name".to_string()])
    );
    assert_eq!(
        scopes["span"],
        ["db.system", "http.status_code", "payment.method"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert!(scopes["intrinsic"].contains("status"), "{body}");
    // `q` narrows the names to spans that match it.
    let body = h.get_json(&format!(
        "/api/v2/search/tags?scope=span&q={}",
        urlencode(r#"{ resource.service.name = "payment" }"#)
    ));
    assert_eq!(
        body["scopes"],
        serde_json::json!([{ "name": "span", "tags": ["db.system", "payment.method"] }])
    );

    assert_eq!(
        values(h, "resource.service.name", None),
        strings(&["checkout", "frontend", "payment"])
    );
    assert_eq!(
        values(h, "name", Some(r#"{ resource.service.name = "payment" }"#)),
        strings(&["SELECT", "charge"])
    );
    // A half-typed filter is ignored rather than refused.
    assert_eq!(
        values(
            h,
            "resource.service.name",
            Some(r#"{ resource.service.name = "pay"#)
        )
        .len(),
        3
    );
    assert_eq!(
        values(h, "span.http.status_code", None),
        [("int".to_string(), "200".to_string())]
    );
    assert_eq!(values(h, ".payment.method", None), strings(&["card"]));
    let status = values(h, "status", None);
    assert!(status.iter().all(|(t, _)| t == "keyword"), "{status:?}");
    assert!(status.contains(&("keyword".into(), "error".into())));
    // Grafana encodes the tag twice.
    assert_eq!(
        values(h, "span.db%252Esystem", None),
        strings(&["postgresql"])
    );

    // The older API: plain names and values.
    let body = h.get_json("/api/search/tags");
    let names = body["tagNames"].as_array().expect("tagNames");
    assert!(names.contains(&Json::from("service.name")), "{body}");
    assert!(names.contains(&Json::from("db.system")), "{body}");
    let body = h.get_json("/api/search/tag/service.name/values");
    assert_eq!(
        body["tagValues"],
        serde_json::json!(["checkout", "frontend", "payment"])
    );
}

/// Sum of every sample of every series, per series name (its labels
/// joined).
fn metric_totals(h: &Hearth, q: &str) -> BTreeMap<String, f64> {
    let (start, end) = window();
    let body = h.get_json(&format!(
        "/api/metrics/query_range?q={}&start={start}&end={end}&step=60s",
        urlencode(q)
    ));
    check_keys(
        "QueryRangeResponse",
        &body,
        &["series", "metrics", "status", "message"],
    );
    let mut out = BTreeMap::new();
    for series in body["series"].as_array().expect("series") {
        check_keys(
            "TimeSeries",
            series,
            &["labels", "samples", "promLabels", "exemplars"],
        );
        let name: Vec<String> = series["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|l| format!("{}={}", l["key"].as_str().expect("key"), l["value"]))
            .collect();
        let mut total = 0.0;
        for sample in series["samples"].as_array().expect("samples") {
            check_keys("Sample", sample, &["timestampMs", "value"]);
            assert!(sample["timestampMs"].is_string(), "{sample}");
            total += sample["value"].as_f64().unwrap_or(0.0);
        }
        out.insert(name.join(","), total);
    }
    out
}

fn check_metrics(h: &Hearth) {
    let totals = metric_totals(h, "{} | count_over_time() by (resource.service.name)");
    let want: BTreeMap<String, f64> = [
        (
            r#"resource.service.name={"stringValue":"checkout"}"#.to_string(),
            1.0,
        ),
        (
            r#"resource.service.name={"stringValue":"frontend"}"#.to_string(),
            3.0,
        ),
        (
            r#"resource.service.name={"stringValue":"payment"}"#.to_string(),
            2.0,
        ),
    ]
    .into();
    assert_eq!(totals, want);
    // Integer attributes come back as integers, as Tempo sends them; the
    // spans without one form the nil series, kept as the only label.
    let totals = metric_totals(h, "{} | count_over_time() by (span.http.status_code)");
    let want: BTreeMap<String, f64> = [
        (
            r#"span.http.status_code={"intValue":"200"}"#.to_string(),
            2.0,
        ),
        (
            r#"span.http.status_code={"stringValue":"nil"}"#.to_string(),
            4.0,
        ),
    ]
    .into();
    assert_eq!(totals, want);
    // rate() is per second of a 60 s step: one error span, 1/60.
    let totals = metric_totals(h, "{ status = error } | rate()");
    assert_eq!(totals.len(), 1, "{totals:?}");
    let (name, rate) = totals.iter().next().expect("one series");
    assert_eq!(name, r#"__name__={"stringValue":"rate"}"#);
    assert!((rate - 1.0 / 60.0).abs() < 1e-9, "{rate}");
    // A structural query reads whole traces.
    let totals = metric_totals(
        h,
        r#"{ resource.service.name = "frontend" } >> { span.db.system = "postgresql" } | count_over_time()"#,
    );
    assert_eq!(totals.values().sum::<f64>(), 1.0, "{totals:?}");

    let (start, end) = window();
    let body = h.get_json(&format!(
        "/api/metrics/query?q={}&start={start}&end={end}",
        urlencode("{ kind = server } | count_over_time()")
    ));
    check_keys(
        "QueryInstantResponse",
        &body,
        &["series", "metrics", "status", "message"],
    );
    let series = body["series"].as_array().expect("series");
    assert_eq!(series.len(), 1, "{body}");
    check_keys(
        "InstantSeries",
        &series[0],
        &["labels", "value", "promLabels"],
    );
    assert_eq!(series[0]["value"], 4.0, "{body}");

    // compare() as Drilldown's comparison tab asks it: the one error span
    // (payment "charge") against the other five. Totals carry the
    // attribute with the value nil, which Drilldown pairs them by.
    let totals = metric_totals(h, "{} | compare({ status = error }, 10)");
    let typed = |meta: &str, attr: &str, value: Json| {
        let name = format!(r#"__meta_type={{"stringValue":"{meta}"}},{attr}={value}"#);
        totals.get(&name).copied()
    };
    let get = |meta: &str, attr: &str, value: &str| {
        typed(meta, attr, serde_json::json!({ "stringValue": value }))
    };
    let svc = "resource.service.name";
    assert_eq!(get("selection", svc, "payment"), Some(1.0), "{totals:?}");
    assert_eq!(get("selection", svc, "frontend"), None, "{totals:?}");
    assert_eq!(get("baseline", svc, "frontend"), Some(3.0), "{totals:?}");
    assert_eq!(get("baseline", svc, "payment"), Some(1.0), "{totals:?}");
    assert_eq!(get("baseline", svc, "checkout"), Some(1.0), "{totals:?}");
    assert_eq!(get("baseline_total", svc, "nil"), Some(5.0), "{totals:?}");
    assert_eq!(get("selection_total", svc, "nil"), Some(1.0), "{totals:?}");
    assert_eq!(get("selection", "status", "error"), Some(1.0), "{totals:?}");
    assert_eq!(get("baseline", "status", "unset"), Some(5.0), "{totals:?}");
    assert_eq!(
        get("selection", "span.payment.method", "card"),
        Some(1.0),
        "{totals:?}"
    );
    assert_eq!(
        typed(
            "baseline",
            "span.http.status_code",
            serde_json::json!({ "intValue": "200" })
        ),
        Some(2.0),
        "{totals:?}"
    );
    assert_eq!(
        get("baseline", "span.http.status_code", "200"),
        None,
        "{totals:?}"
    );
    assert!(
        totals.keys().all(|k| k.starts_with("__meta_type=")),
        "{totals:?}"
    );
}

#[test]
fn grafana_tempo_calls_answer_from_head_and_parts() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let resp = h
        .client()
        .post(h.url("/v1/traces"))
        .header("Content-Type", "application/x-protobuf")
        .body(request(base()).encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().unwrap_or_default());

    check_search(&h);
    check_refusals(&h);
    check_tags(&h);
    check_metrics(&h);

    let resp = h
        .client()
        .post(h.url("/api/v1/admin/flush"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let flushed: Json = resp.json().unwrap();
    assert_eq!(flushed["data"]["spans"], 6, "{flushed}");

    check_search(&h);
    check_tags(&h);
    check_metrics(&h);
}

/// A trace whose root started before the search range is still reported
/// whole (root, duration), and a root check (`nestedSetParent < 0`) on a
/// narrowed scan does not take a child whose parent was filtered out for a
/// root.
#[test]
fn searches_and_metrics_see_whole_traces_past_the_range_and_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let t0 = base();
    let job = [0x44; 16];
    let mut req = request(t0);
    req.resource_spans.extend(trace(
        job,
        t0 + 3_000 * MS,
        vec![
            ("batch", vec![spec(7, 0, "nightly", SERVER, 0, 60_000)]),
            (
                "batch-worker",
                vec![spec(8, 7, "step", CLIENT, 50_000, 5_000)],
            ),
        ],
    ));
    let resp = h
        .client()
        .post(h.url("/v1/traces"))
        .header("Content-Type", "application/x-protobuf")
        .body(req.encode_to_vec())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);

    // From 30 s after the job's root started: only its child is in range.
    let start = (t0 + 30_000 * MS) / 1_000_000_000;
    let (_, end) = window();
    let range = format!("&start={start}&end={end}");
    let body = search(&h, r#"{ resource.service.name = "batch-worker" }"#, &range);
    assert_eq!(ids(&body), [hex(&job)], "{body}");
    assert_eq!(body["traces"][0]["rootServiceName"], "batch");
    assert_eq!(body["traces"][0]["rootTraceName"], "nightly");
    assert_eq!(body["traces"][0]["durationMs"], 60_000);
    let body = search(&h, r#"{ rootServiceName = "batch" }"#, &range);
    assert_eq!(ids(&body), [hex(&job)], "{body}");

    // Roots per service: the narrowed scan for "payment" keeps charge and
    // SELECT, whose parents are frontend spans; neither is a root.
    let roots = |service: &str| {
        metric_totals(
            &h,
            &format!(
                r#"{{ nestedSetParent < 0 && resource.service.name = "{service}" }} | count_over_time()"#
            ),
        )
        .values()
        .sum::<f64>()
    };
    assert_eq!(roots("payment"), 0.0);
    assert_eq!(roots("frontend"), 2.0);
    assert_eq!(roots("batch-worker"), 0.0);
    assert_eq!(roots("batch"), 1.0);
}
