//! Loki push (JSON and protobuf) into the real binary, then the Loki read
//! API over HTTP as Grafana calls it: log and metric queries, labels,
//! series, stats, volume, categorize-labels, flush and restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Hearth, snappy};
use hearth_ingest::proto::loki_push::{
    EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp,
};
use prost::Message;
use serde_json::{Value, json};

const S: i64 = 1_000_000_000;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn push_json(h: &Hearth, body: &Value) -> reqwest::blocking::Response {
    h.client()
        .post(h.url("/loki/api/v1/push"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap()
}

fn push_proto(h: &Hearth, req: &PushRequest) -> reqwest::blocking::Response {
    h.client()
        .post(h.url("/loki/api/v1/push"))
        .header("content-type", "application/x-protobuf")
        .body(snappy(&req.encode_to_vec()))
        .send()
        .unwrap()
}

fn get(h: &Hearth, path: &str, params: &[(&str, String)], flags: bool) -> (u16, String) {
    let mut req = h.client().get(h.url(path)).query(params);
    if flags {
        req = req.header("X-Loki-Response-Encoding-Flags", "categorize-labels");
    }
    let resp = req.send().unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

fn get_json(h: &Hearth, path: &str, params: &[(&str, String)]) -> Value {
    let (status, body) = get(h, path, params, false);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// D1 of logql-cases.md, placed `base` plus the case's seconds.
fn seed(h: &Hearth, base: i64) {
    let ts = |s: i64| (base + s * S).to_string();
    let error = r#"level=error status=500 took=1.5s size=2KB msg="db down""#;
    let info = "level=info status=200 took=20ms size=512B msg=ok";
    let body = json!({"streams": [
        {"stream": {"app": "a", "env": "prod"}, "values": [
            [ts(20), error], [ts(40), error], [ts(60), error], [ts(80), error],
            [ts(30), info], [ts(50), info],
        ]},
    ]});
    let resp = push_json(h, &body);
    assert_eq!(resp.status().as_u16(), 204, "{}", resp.text().unwrap());
    let line = r#"{"level":"warn","user":{"id":"u1"},"tags":["x","y"],"latency":0.25}"#;
    let stamp = |s: i64| {
        let t = base + s * S;
        Some(Timestamp {
            seconds: t / S,
            nanos: (t % S) as i32,
        })
    };
    let req = PushRequest {
        streams: vec![StreamAdapter {
            labels: br#"{app="b", env="dev"}"#.to_vec(),
            entries: vec![
                EntryAdapter {
                    timestamp: stamp(25),
                    line: line.as_bytes().to_vec(),
                    structured_metadata: vec![LabelPairAdapter::new("trace_id", "t25")],
                    parsed: vec![],
                },
                EntryAdapter {
                    timestamp: stamp(45),
                    line: line.as_bytes().to_vec(),
                    structured_metadata: vec![],
                    parsed: vec![],
                },
            ],
            hash: 0,
        }],
        format: vec![],
    };
    let resp = push_proto(h, &req);
    assert_eq!(resp.status().as_u16(), 204, "{}", resp.text().unwrap());
}

fn lines(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for stream in v["data"]["result"].as_array().unwrap() {
        for value in stream["values"].as_array().unwrap() {
            out.push((
                value[0].as_str().unwrap().to_owned(),
                value[1].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

fn range_params(q: &str, base: i64, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("query", q.to_owned()),
        ("start", base.to_string()),
        ("end", (base + 100 * S).to_string()),
    ];
    p.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    p
}

fn check_queries(h: &Hearth, base: i64) {
    let q = |query: &str, extra: &[(&'static str, &str)]| {
        get_json(
            h,
            "/loki/api/v1/query_range",
            &range_params(query, base, extra),
        )
    };
    // Backward by default, limit 100, one stream.
    let v = q(r#"{app="a"}"#, &[]);
    assert_eq!(v["data"]["resultType"], "streams");
    let got = lines(&v);
    assert_eq!(got.len(), 6);
    assert_eq!(got[0].0, (base + 80 * S).to_string());
    assert_eq!(
        v["data"]["result"][0]["stream"],
        json!({"app": "a", "detected_level": "error", "env": "prod", "service_name": "a"})
    );
    // Forward with a limit.
    let got = lines(&q(
        r#"{app="a"}"#,
        &[("direction", "forward"), ("limit", "2")],
    ));
    assert_eq!(
        got.iter().map(|l| l.0.clone()).collect::<Vec<_>>(),
        vec![(base + 20 * S).to_string(), (base + 30 * S).to_string()]
    );
    // `interval`: one entry per 15 s across both streams, in direction
    // order.
    let stamps = |v: &Value| {
        let mut t: Vec<i64> = lines(v)
            .iter()
            .map(|l| (l.0.parse::<i64>().unwrap() - base) / S)
            .collect();
        t.sort_unstable();
        t
    };
    let thinned = |direction: &'static str| {
        stamps(&q(
            r#"{app=~"a|b"}"#,
            &[("direction", direction), ("interval", "15s")],
        ))
    };
    assert_eq!(thinned("forward"), [20, 40, 60, 80]);
    assert_eq!(thinned("backward"), [30, 45, 60, 80]);
    // Line filters, case-sensitive.
    assert_eq!(lines(&q(r#"{app="a"} |= "error""#, &[])).len(), 4);
    assert_eq!(lines(&q(r#"{app="a"} |= "ERROR""#, &[])).len(), 0);
    assert_eq!(
        lines(&q(r#"{app=~"a|b"} |= "error" or "warn""#, &[])).len(),
        6
    );
    // Parsed labels split streams when not categorized.
    let v = q(r#"{app="a"} | logfmt | status >= 500"#, &[]);
    assert_eq!(lines(&v).len(), 4);
    assert_eq!(v["data"]["result"][0]["stream"]["level"], "error");
    // Formatters rewrite the line.
    let got = lines(&q(
        r#"{app="a"} | logfmt | line_format "{{.level | upper}}: {{.msg}}""#,
        &[("limit", "1")],
    ));
    assert_eq!(got[0].1, "ERROR: db down");
    // categorize-labels: stream labels only, a third element per value.
    let (status, body) = get(
        h,
        "/loki/api/v1/query_range",
        &range_params(r#"{app="b"} | json"#, base, &[]),
        true,
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["encodingFlags"], json!(["categorize-labels"]));
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1);
    assert_eq!(
        result[0]["stream"],
        json!({"app": "b", "env": "dev", "service_name": "b"})
    );
    let values = result[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(
        values[1][2]["structuredMetadata"],
        json!({"detected_level": "warn", "trace_id": "t25"})
    );
    assert_eq!(values[1][2]["parsed"]["user_id"], "u1");
    assert_eq!(
        values[0][2]["structuredMetadata"],
        json!({"detected_level": "warn"})
    );

    // Metric queries.
    let v = get_json(
        h,
        "/loki/api/v1/query",
        &[
            ("query", r#"sum(count_over_time({app="a"}[1m]))"#.into()),
            ("time", (base + 60 * S).to_string()),
        ],
    );
    assert_eq!(v["data"]["resultType"], "vector");
    assert_eq!(v["data"]["result"][0]["value"][1], "5");
    let p = vec![
        ("query", r#"sum(count_over_time({app="a"}[1m]))"#.to_owned()),
        ("start", (base + 40 * S).to_string()),
        ("end", (base + 80 * S).to_string()),
        ("step", "20000ms".to_owned()),
    ];
    let v = get_json(h, "/loki/api/v1/query_range", &p);
    assert_eq!(v["data"]["resultType"], "matrix");
    let values: Vec<String> = v["data"]["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(values, vec!["3", "5", "5"]);
    // Instant values by one label, sorted.
    let by = |query: &str, label: &str| -> Vec<(String, String)> {
        let v = get_json(
            h,
            "/loki/api/v1/query",
            &[
                ("query", query.to_owned()),
                ("time", (base + 60 * S).to_string()),
            ],
        );
        let mut out: Vec<(String, String)> = v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["metric"][label].as_str().unwrap().to_owned(),
                    s["value"][1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    };
    assert_eq!(
        by(r#"sum by (env) (count_over_time({app=~"a|b"}[1m]))"#, "env"),
        vec![("dev".into(), "2".into()), ("prod".into(), "5".into())]
    );
    // Explore's log-volume histogram groups by the detected level.
    assert_eq!(
        by(
            r#"sum by (level, detected_level) (count_over_time({app="a"} | drop __error__[1m]))"#,
            "detected_level"
        ),
        vec![("error".into(), "3".into()), ("info".into(), "2".into())]
    );
    // Grafana's health check.
    let v = get_json(
        h,
        "/loki/api/v1/query",
        &[
            ("query", "vector(1)+vector(1)".into()),
            ("time", "4000000000".into()),
        ],
    );
    assert_eq!(v["data"]["result"][0]["value"][1], "2");
    // Log query on the instant endpoint and a parse error: 400 with text.
    let (status, body) = get(
        h,
        "/loki/api/v1/query",
        &[("query", r#"{app="a"}"#.into())],
        false,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("instant query"), "{body}");
    let (status, _) = get(
        h,
        "/loki/api/v1/query_range",
        &[("query", "{app=".into())],
        false,
    );
    assert_eq!(status, 400);

    // Discovery.
    let window = [
        ("start", base.to_string()),
        ("end", (base + 100 * S).to_string()),
    ];
    let v = get_json(h, "/loki/api/v1/labels", &window);
    assert_eq!(v["data"], json!(["app", "env", "service_name"]));
    let v = get_json(h, "/loki/api/v1/label/app/values", &window);
    assert_eq!(v["data"], json!(["a", "b"]));
    let mut p = window.to_vec();
    p.push(("match[]", r#"{env="dev"}"#.into()));
    let v = get_json(h, "/loki/api/v1/series", &p);
    assert_eq!(
        v["data"],
        json!([{"app": "b", "env": "dev", "service_name": "b"}])
    );
    let mut p = window.to_vec();
    p.push(("query", r#"{app=~"a|b"}"#.into()));
    let v = get_json(h, "/loki/api/v1/index/stats", &p);
    assert_eq!(v["streams"], 2);
    assert_eq!(v["entries"], 8);
    let mut p = window.to_vec();
    p.push(("query", r#"{app=~".+"}"#.into()));
    let v = get_json(h, "/loki/api/v1/index/volume", &p);
    let result = v["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 2, "{v}");
    assert_eq!(result[0]["metric"], json!({"app": "a"}));
    let v = get_json(h, "/loki/api/v1/status/buildinfo", &[]);
    assert!(v["version"].as_str().unwrap().starts_with('3'));
}

#[test]
fn pushed_logs_answer_lokis_api_before_and_after_flush_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let base = (now_ns() - 600 * S) / S * S;
    seed(&h, base);
    check_queries(&h, base);
    let resp = h
        .client()
        .post(h.url("/api/v1/admin/flush"))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    check_queries(&h, base);
    h.stop();
    let h = Hearth::start(dir.path(), &[]);
    check_queries(&h, base);
}

#[test]
fn bad_pushes_are_refused_with_lokis_reasons_and_keep_the_good_entries() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let now = now_ns();
    let body = json!({"streams": [
        {"stream": {"app": "ok"}, "values": [[now.to_string(), "kept"]]},
        {"stream": {"app": "old"}, "values": [[(now - 30 * 86_400 * S).to_string(), "ancient"]]},
        {"stream": {}, "values": [[now.to_string(), "no labels"]]},
    ]});
    let resp = push_json(&h, &body);
    assert_eq!(resp.status().as_u16(), 400);
    let text = resp.text().unwrap();
    assert!(text.contains("timestamp too old"), "{text}");
    assert!(text.contains("total ignored: 2 out of 3"), "{text}");
    let v = get_json(
        &h,
        "/loki/api/v1/query_range",
        &[("query", r#"{app="ok"}"#.into())],
    );
    assert_eq!(lines(&v).len(), 1);
    let resp = h
        .client()
        .post(h.url("/loki/api/v1/push"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[test]
fn tail_sends_the_backfill_then_new_lines_over_a_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let now = now_ns();
    let push = |line: &str, ts: i64| {
        let body =
            json!({"streams": [{"stream": {"app": "tailed"}, "values": [[ts.to_string(), line]]}]});
        let resp = push_json(&h, &body);
        assert_eq!(resp.status().as_u16(), 204);
    };
    push("before the tail error", now - 5 * S);
    push("before the tail ok", now - 4 * S);
    let url = format!(
        "{}/loki/api/v1/tail?query={}&start={}",
        h.base.replace("http://", "ws://"),
        url::form_urlencoded::byte_serialize(br#"{app="tailed"} |= "error""#).collect::<String>(),
        now - 60 * S
    );
    let (mut socket, _) = tungstenite::connect(url).expect("websocket");
    let text = |msg: tungstenite::Message| -> Value {
        match msg {
            tungstenite::Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
            other => panic!("unexpected frame {other:?}"),
        }
    };
    let first = text(socket.read().unwrap());
    assert_eq!(first["streams"][0]["values"][0][1], "before the tail error");
    assert_eq!(first["streams"][0]["stream"]["app"], "tailed");
    push("live ok", now - 2 * S);
    push("live error", now - S);
    let next = text(socket.read().unwrap());
    let values = next["streams"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 1, "{next}");
    assert_eq!(values[0][1], "live error");
    assert_eq!(values[0][0], (now - S).to_string());
    socket.close(None).unwrap();
    // A metric query cannot be tailed.
    let resp = h
        .client()
        .get(h.url("/loki/api/v1/tail"))
        .query(&[("query", r#"rate({app="x"}[1m])"#)])
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[test]
fn an_entry_sent_again_after_a_flush_is_returned_once() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let now = now_ns();
    let body = json!({"streams": [{"stream": {"app": "dup"}, "values": [
        [(now - 5 * S).to_string(), "same line"],
        [(now - 4 * S).to_string(), "next line"],
    ]}]});
    // A client that timed out re-sends the batch after it was flushed.
    assert_eq!(push_json(&h, &body).status().as_u16(), 204);
    let resp = h
        .client()
        .post(h.url("/api/v1/admin/flush"))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(push_json(&h, &body).status().as_u16(), 204);
    for direction in ["forward", "backward"] {
        let v = get_json(
            &h,
            "/loki/api/v1/query_range",
            &[
                ("query", r#"{app="dup"}"#.into()),
                ("start", (now - 60 * S).to_string()),
                ("end", now.to_string()),
                ("direction", direction.into()),
            ],
        );
        let mut got: Vec<String> = lines(&v).into_iter().map(|l| l.1).collect();
        got.sort();
        assert_eq!(got, ["next line", "same line"], "{direction}");
    }
}
