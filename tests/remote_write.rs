//! Remote write 1.0 and 2.0 into the real binary, read back through every
//! read API, then flush, compact and restart: the answers must not change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;

use common::*;
use hearth_ingest::proto::remote_v1;
use serde_json::Value;

const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn base_ts() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now - 3_600_000) / 15_000 * 15_000
}

fn v1_request(t0: i64) -> remote_v1::WriteRequest {
    let samples: Vec<(i64, f64)> = (0..40).map(|i| (t0 + i * 15_000, i as f64)).collect();
    remote_v1::WriteRequest {
        timeseries: vec![
            series(
                &[("__name__", "up"), ("job", "node"), ("instance", "a:9100")],
                &samples,
            ),
            series(
                &[
                    ("__name__", "up"),
                    ("job", "prometheus"),
                    ("instance", "b:9090"),
                ],
                &samples,
            ),
            // Unsorted labels are accepted.
            series(
                &[
                    ("mode", "idle"),
                    ("__name__", "node_cpu_seconds_total"),
                    ("cpu", "0"),
                ],
                &[
                    (t0, f64::NAN),
                    (t0 + 15_000, f64::INFINITY),
                    (t0 + 30_000, f64::NEG_INFINITY),
                    (t0 + 45_000, f64::from_bits(STALE_NAN)),
                ],
            ),
        ],
        metadata: vec![remote_v1::MetricMetadata {
            r#type: 2,
            metric_family_name: b"up".to_vec(),
            help: b"Whether the target is up.".to_vec(),
            unit: Vec::new(),
        }],
    }
}

fn v2_request(t0: i64) -> hearth_ingest::proto::remote_v2::Request {
    let mut b = V2Builder::new();
    b.series(
        &[
            ("__name__", "http_requests_total"),
            ("code", "200"),
            ("job", "api"),
        ],
        &[(t0, 1.0), (t0 + 15_000, 5.0)],
        Some("Requests served."),
    );
    b.series(
        &[
            ("__name__", "http_requests_total"),
            ("code", "500"),
            ("job", "api"),
        ],
        &[(t0, 0.0), (t0 + 15_000, 2.0)],
        Some("Requests served."),
    );
    b.req
}

fn written(r: &reqwest::blocking::Response, what: &str) -> u64 {
    r.headers()
        .get(format!("x-prometheus-remote-write-{what}-written"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("missing {what}-written header"))
}

/// Every read API's answer, for comparison across flush/compact/restart.
fn answers(h: &Hearth) -> Vec<Value> {
    vec![
        h.get_json("/api/v1/series?match[]=%7B__name__!%3D%22%22%7D"),
        h.post_form_json(
            "/api/v1/series",
            &[("match[]", "up"), ("match[]", r#"{job="api"}"#)],
        ),
        h.get_json("/api/v1/labels"),
        h.post_form_json("/api/v1/labels", &[("match[]", "http_requests_total")]),
        h.get_json("/api/v1/label/__name__/values"),
        h.get_json("/api/v1/label/job/values?match[]=up"),
        h.get_json("/api/v1/metadata"),
        h.post_form_json("/api/v1/label/job/values", &[("match[]", "up")]),
        Value::Array(h.sql(
            "SELECT metric_name, count(*) AS n, min(ts) AS lo, max(ts) AS hi \
             FROM labeled_samples GROUP BY metric_name ORDER BY metric_name",
        )),
        Value::Array(h.sql(
            "SELECT labels['code'] AS code, sum(value) AS total FROM labeled_samples \
             WHERE metric_name = 'http_requests_total' GROUP BY 1 ORDER BY 1",
        )),
        Value::Array(vec![sample_bits(h)]),
    ]
}

/// The special float values, read bit for bit through the Arrow IPC answer.
fn sample_bits(h: &Hearth) -> Value {
    let resp = client()
        .post(h.url("/api/v1/sql"))
        .header("Accept", "application/vnd.apache.arrow.stream")
        .form(&[(
            "query",
            "SELECT ts, value FROM labeled_samples WHERE metric_name = 'node_cpu_seconds_total' ORDER BY ts",
        )])
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let bytes = resp.bytes().unwrap();
    let reader =
        arrow::ipc::reader::StreamReader::try_new(Cursor::new(bytes.to_vec()), None).unwrap();
    let mut bits = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let values = batch
            .column(1)
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap();
        bits.extend(
            values
                .values()
                .iter()
                .map(|v| format!("{:016x}", v.to_bits())),
        );
    }
    serde_json::json!(bits)
}

#[test]
fn push_query_flush_compact_restart() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let t0 = base_ts();

    let r = h.push_v1(&v1_request(t0));
    assert_eq!(r.status(), 204, "{}", r.text().unwrap_or_default());
    assert_eq!(written(&r, "samples"), 84);
    let r = h.push_v2(&v2_request(t0));
    assert_eq!(r.status(), 204);
    assert_eq!(written(&r, "samples"), 4);
    assert_eq!(written(&r, "histograms"), 0);

    let before = answers(&h);
    let all_series = before[0]["data"].as_array().unwrap();
    assert_eq!(all_series.len(), 5, "{all_series:?}");
    assert_eq!(before[1]["data"].as_array().unwrap().len(), 4);
    assert_eq!(
        before[2]["data"],
        serde_json::json!(["__name__", "code", "cpu", "instance", "job", "mode"])
    );
    assert_eq!(
        before[3]["data"],
        serde_json::json!(["__name__", "code", "job"])
    );
    assert_eq!(
        before[4]["data"],
        serde_json::json!(["http_requests_total", "node_cpu_seconds_total", "up"])
    );
    assert_eq!(before[5]["data"], serde_json::json!(["node", "prometheus"]));
    assert_eq!(
        before[6]["data"]["up"],
        serde_json::json!([{"type": "gauge", "help": "Whether the target is up.", "unit": ""}])
    );
    assert_eq!(
        before[6]["data"]["http_requests_total"][0]["help"],
        "Requests served."
    );
    assert_eq!(before[7], before[5]);
    assert_eq!(before[8][2]["n"], 80);
    assert_eq!(
        before[9],
        serde_json::json!([{"code": "200", "total": 6.0}, {"code": "500", "total": 2.0}])
    );
    assert_eq!(
        before[10][0],
        serde_json::json!([
            format!("{:016x}", f64::NAN.to_bits()),
            format!("{:016x}", f64::INFINITY.to_bits()),
            format!("{:016x}", f64::NEG_INFINITY.to_bits()),
            format!("{STALE_NAN:016x}"),
        ])
    );

    let flushed = h.post_form_json("/api/v1/admin/flush", &[]);
    assert!(flushed["data"]["parts"].as_u64().unwrap() >= 1, "{flushed}");
    assert_eq!(answers(&h), before, "answers changed after flush");

    // A second part on the same day, then compaction merges them.
    let later = remote_v1::WriteRequest {
        timeseries: vec![series(
            &[("__name__", "late"), ("job", "x")],
            &[(t0 + 600_000, 7.0)],
        )],
        metadata: Vec::new(),
    };
    assert_eq!(h.push_v1(&later).status(), 204);
    h.post_form_json("/api/v1/admin/flush", &[]);
    let with_late = answers(&h);
    let compacted = h.post_form_json("/api/v1/admin/compact", &[]);
    assert!(
        compacted["data"]["merges"].as_u64().unwrap() >= 1,
        "{compacted}"
    );
    assert_eq!(answers(&h), with_late, "answers changed after compaction");

    let status = h.stop();
    assert!(status.success(), "graceful stop failed: {status:?}");
    let h = Hearth::start(dir.path(), &[]);
    assert_eq!(answers(&h), with_late, "answers changed after restart");

    // Unflushed data comes back from the WAL after a crash.
    assert_eq!(h.push_v1(&v1_request(t0 + 3_000_000)).status(), 204);
    let unflushed = answers(&h);
    h.kill9();
    let h = Hearth::start(dir.path(), &[]);
    assert_eq!(answers(&h), unflushed, "answers changed after kill -9");
}

#[test]
fn bad_input_is_refused_clearly_and_good_data_kept() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &["--config", &write_config(dir.path())]);
    let t0 = base_ts();

    let r = h.push_raw("application/x-protobuf", b"definitely not snappy".to_vec());
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().to_lowercase().contains("snappy"));

    let r = h.push_raw("application/x-protobuf", snappy(&[0xff, 0xff, 0xff]));
    assert_eq!(r.status(), 400);
    assert!(!r.text().unwrap().is_empty());

    let r = h.push_raw("text/plain", snappy(b""));
    assert_eq!(r.status(), 415);

    // A 5-byte body that claims to inflate to 1 GiB is refused from its header.
    let r = h.push_raw("application/x-protobuf", vec![0x80, 0x80, 0x80, 0x80, 0x04]);
    assert_eq!(r.status(), 413);
    assert!(r.text().unwrap().contains("decompress"));

    // Over the configured body limit.
    let r = h.push_raw("application/x-protobuf", vec![0u8; 300_000]);
    assert_eq!(r.status(), 413);

    // One good series, one with a duplicate label name: the good one is kept.
    let req = remote_v1::WriteRequest {
        timeseries: vec![
            series(&[("__name__", "good"), ("job", "x")], &[(t0, 1.0)]),
            series(
                &[("__name__", "bad"), ("job", "x"), ("job", "y")],
                &[(t0, 1.0)],
            ),
        ],
        metadata: Vec::new(),
    };
    let r = h.push_v1(&req);
    assert_eq!(r.status(), 400);
    assert_eq!(written(&r, "samples"), 1);
    let body = r.text().unwrap();
    assert!(body.contains("bad") && body.contains("job"), "{body}");
    let names = h.get_json("/api/v1/label/__name__/values");
    assert_eq!(names["data"], serde_json::json!(["good"]));

    // Remote write 2.0: a label ref beyond the symbol table fails the request.
    let mut b = V2Builder::new();
    b.series(&[("__name__", "v2")], &[(t0, 1.0)], None);
    b.req.timeseries[0].labels_refs[1] = 99;
    let r = h.push_v2(&b.req);
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("99"));

    // Metadata alone is fine.
    let r = h.push_v1(&remote_v1::WriteRequest {
        timeseries: Vec::new(),
        metadata: vec![remote_v1::MetricMetadata {
            r#type: 1,
            metric_family_name: b"good".to_vec(),
            help: b"help".to_vec(),
            unit: Vec::new(),
        }],
    });
    assert_eq!(r.status(), 204);

    // Samples too far behind the series' newest are refused, not stored.
    let r = h.push_v1(&remote_v1::WriteRequest {
        timeseries: vec![series(
            &[("__name__", "good"), ("job", "x")],
            &[(t0 - 3_600_000, 5.0)],
        )],
        metadata: Vec::new(),
    });
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("out-of-order"));

    // Read APIs: bad parameters get Prometheus' error envelope.
    let r = h.get("/api/v1/series");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["errorType"], "bad_data");
    let r = h.get("/api/v1/series?match[]=%7Bjob%3D~%22.*%22%7D");
    assert_eq!(r.status(), 400);
    let r = h.get("/api/v1/labels?start=yesterday");
    assert_eq!(r.status(), 400);
    let r = h.post_form("/api/v1/sql", &[("query", "SELEC nonsense")]);
    assert_eq!(r.status(), 400);
    let r = h.post_form("/api/v1/sql", &[("query", "CREATE TABLE t AS SELECT 1")]);
    assert_eq!(r.status(), 400);

    let samples = h.sql("SELECT count(*) AS n FROM samples");
    assert_eq!(samples[0]["n"], 1);
}

fn write_config(dir: &std::path::Path) -> String {
    let path = dir.join("hearth.yaml");
    std::fs::write(
        &path,
        "storage:\n  out_of_order_window: 10m\nremote_write:\n  max_body_size: 256KiB\n",
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn self_metrics_health_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let t0 = base_ts();
    assert_eq!(h.get("/-/healthy").status(), 200);
    assert_eq!(h.get("/-/ready").status(), 200);
    assert_eq!(h.get("/no/such/path").status(), 404);
    assert_eq!(h.push_v1(&v1_request(t0)).status(), 204);
    let dup = remote_v1::WriteRequest {
        timeseries: vec![series(
            &[("__name__", "x"), ("a", "1"), ("a", "2")],
            &[(t0, 1.0)],
        )],
        metadata: Vec::new(),
    };
    assert_eq!(h.push_v1(&dup).status(), 400);
    h.post_form_json("/api/v1/admin/flush", &[]);

    let text = h.get("/metrics").text().unwrap();
    for needle in [
        "hearth_samples_ingested_total{signal=\"metrics\"} 84",
        "hearth_samples_rejected_total{signal=\"metrics\",reason=\"duplicate_label_name\"} 1",
        "hearth_http_requests_total{route=\"/api/v1/write\",code=\"204\"} 1",
        "hearth_wal_bytes_written_total",
        "hearth_wal_fsyncs_total",
        "hearth_head_series",
        "hearth_parts{signal=\"metrics\"} 1",
        "hearth_part_bytes{signal=\"metrics\"}",
        "hearth_flush_duration_seconds_count{signal=\"metrics\"} 1",
        "hearth_compaction_duration_seconds",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }

    let info = h.get_json("/api/v1/status/buildinfo");
    assert_eq!(info["status"], "success");
    assert_eq!(info["data"]["version"], "3.0.0");
    assert!(info["data"].get("features").is_none());

    let tsdb = h.get_json("/api/v1/status/tsdb");
    assert_eq!(tsdb["data"]["headStats"]["numSeries"], 3);
    assert_eq!(
        tsdb["data"]["seriesCountByMetricName"][0],
        serde_json::json!({"name": "up", "value": 2})
    );
    assert!(
        tsdb["data"]["labelValueCountByLabelName"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );

    let limited = h.get_json("/api/v1/label/__name__/values?limit=1");
    assert_eq!(limited["data"].as_array().unwrap().len(), 1);
    assert_eq!(limited["warnings"][0], "results truncated due to limit");

    // Grafana's escaped UTF-8 label names.
    let escaped = h.get_json("/api/v1/label/U__instance/values");
    assert_eq!(escaped["data"], serde_json::json!(["a:9100", "b:9090"]));

    // A JSON SQL body works like the form field.
    let r = client()
        .post(h.url("/api/v1/sql"))
        .json(&serde_json::json!({"query": "SELECT count(*) AS n FROM series"}))
        .send()
        .unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v["data"]["rows"][0]["n"], 3);
    assert_eq!(v["data"]["columns"][0]["name"], "n");
}
