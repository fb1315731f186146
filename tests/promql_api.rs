//! `/api/v1/query` and `/api/v1/query_range` against the real binary: result
//! shapes, errors and status codes as Prometheus answers them, the same
//! answers before and after a flush, and `promtool query` as a client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use hearth_ingest::proto::remote_v1;
use serde_json::{Value, json};

/// A minute-aligned start an hour ago, so the data is inside retention.
fn t0() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now - 3_600_000) / 60_000 * 60_000
}

fn load(h: &Hearth, t0: i64) {
    let counter = |rate: f64| -> Vec<(i64, f64)> {
        (0..=40)
            .map(|i| (t0 + i * 15_000, i as f64 * 15.0 * rate))
            .collect()
    };
    let req = remote_v1::WriteRequest {
        timeseries: vec![
            series(
                &[
                    ("__name__", "requests_total"),
                    ("job", "api"),
                    ("instance", "a"),
                ],
                &counter(1.0),
            ),
            series(
                &[
                    ("__name__", "requests_total"),
                    ("job", "api"),
                    ("instance", "b"),
                ],
                &counter(2.0),
            ),
            series(
                &[("__name__", "up"), ("job", "api"), ("instance", "a")],
                &(0..=40).map(|i| (t0 + i * 15_000, 1.0)).collect::<Vec<_>>(),
            ),
            remote_v1::TimeSeries {
                labels: vec![
                    label("__name__", "latency_seconds_bucket"),
                    label("le", "0.5"),
                ],
                samples: vec![remote_v1::Sample {
                    value: 3.0,
                    timestamp: t0,
                }],
                exemplars: vec![remote_v1::Exemplar {
                    labels: vec![label("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")],
                    value: 0.27,
                    timestamp: t0 + 1_500,
                }],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let resp = h.push_v1(&req);
    assert_eq!(resp.status(), 204, "{}", resp.text().unwrap());
}

fn secs(ms: i64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

fn results(h: &Hearth, t0: i64) -> (Value, Value) {
    let at = secs(t0 + 10 * 60_000);
    let instant = h.get_json(&format!(
        "/api/v1/query?query={}&time={at}",
        urlencode("sum by (instance) (rate(requests_total[5m]))")
    ));
    let range = h.post_form_json(
        "/api/v1/query_range",
        &[
            ("query", "rate(requests_total{instance=\"a\"}[2m])"),
            ("start", &secs(t0 + 5 * 60_000)),
            ("end", &secs(t0 + 7 * 60_000)),
            ("step", "60"),
        ],
    );
    (instant, range)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn query_api_answers_like_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(dir.path(), &[]);
    let t0 = t0();
    load(&h, t0);

    let (instant, range) = results(&h, t0);
    assert_eq!(instant["status"], "success");
    assert_eq!(instant["data"]["resultType"], "vector");
    let mut got: Vec<(String, f64)> = instant["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"]["instance"].as_str().unwrap().to_owned(),
                r["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got.len(), 2, "{instant}");
    // Extrapolation over 15 s samples is not exact in binary floating
    // point (Prometheus prints the same 0.9999999999999999).
    for ((instance, value), want) in got.iter().zip([("a", 1.0), ("b", 2.0)]) {
        assert_eq!(instance, want.0);
        assert!((value - want.1).abs() < 1e-9, "{instance}: {value}");
    }
    let ts = instant["data"]["result"][0]["value"][0].as_f64().unwrap();
    assert_eq!((ts * 1000.0).round() as i64, t0 + 600_000);

    assert_eq!(range["data"]["resultType"], "matrix");
    let series = &range["data"]["result"][0];
    assert_eq!(series["metric"], json!({"instance": "a", "job": "api"}));
    assert_eq!(series["values"].as_array().unwrap().len(), 3);
    let first: f64 = series["values"][0][1].as_str().unwrap().parse().unwrap();
    assert!((first - 1.0).abs() < 1e-9, "{range}");

    // Scalars and strings.
    let scalar = h.get_json("/api/v1/query?query=1%2B1&time=100");
    assert_eq!(
        scalar["data"],
        json!({"resultType": "scalar", "result": [100, "2"]})
    );
    let string = h.get_json("/api/v1/query?query=%22hi%22&time=100.5");
    assert_eq!(
        string["data"],
        json!({"resultType": "string", "result": [100.5, "hi"]})
    );

    // Errors: shape and status as Prometheus.
    let bad = h.get("/api/v1/query?query=sum(");
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().unwrap();
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "bad_data");
    assert!(
        body["error"].as_str().unwrap().contains("parse error"),
        "{body}"
    );
    let step = h.get("/api/v1/query_range?query=up&start=0&end=100&step=0");
    assert_eq!(step.status(), 400);
    let matrix = h.get("/api/v1/query_range?query=up[5m]&start=0&end=100&step=10");
    assert_eq!(matrix.status(), 400);
    let exec = h.get(&format!(
        "/api/v1/query?query={}&time={}",
        urlencode("requests_total + on() group_left requests_total"),
        secs(t0 + 600_000)
    ));
    assert_eq!(exec.status(), 422, "{}", exec.text().unwrap());

    // `limit` cuts the result with a warning; `stats` adds timings.
    let limited = h.get_json(&format!(
        "/api/v1/query?query=requests_total&time={}&limit=1&stats=all",
        secs(t0 + 600_000)
    ));
    assert_eq!(
        limited["data"]["result"].as_array().unwrap().len(),
        1,
        "{limited}"
    );
    assert_eq!(
        limited["warnings"],
        json!(["results truncated due to limit"])
    );
    assert!(
        limited["data"]["stats"]["timings"]["evalTotalTime"].is_number(),
        "{limited}"
    );

    // Formatting, parsing and exemplars.
    let formatted = h.get_json(&format!(
        "/api/v1/format_query?query={}",
        urlencode("sum(rate(x[5m]))by(job)")
    ));
    assert_eq!(formatted["data"], "sum by (job) (rate(x[5m]))");
    let tree = h.get_json("/api/v1/parse_query?query=up%7Bjob%3D%22a%22%7D");
    assert_eq!(tree["data"]["type"], "vectorSelector", "{tree}");
    let exemplars = |h: &Hearth| {
        h.get_json(&format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            urlencode("histogram_quantile(0.9, rate(latency_seconds_bucket[5m]))"),
            secs(t0),
            secs(t0 + 60_000)
        ))
    };
    let ex = exemplars(&h);
    assert_eq!(
        ex["data"],
        json!([{
            "seriesLabels": {"__name__": "latency_seconds_bucket", "le": "0.5"},
            "exemplars": [{
                "labels": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"},
                "value": "0.27",
                "timestamp": (t0 + 1_500) as f64 / 1000.0
            }]
        }]),
        "{ex}"
    );

    // The same answers once the data sits in Parquet parts.
    assert_eq!(h.post_form("/api/v1/admin/flush", &[]).status(), 200);
    assert_eq!(results(&h, t0), (instant, range));
    assert_eq!(exemplars(&h), ex);

    if which("promtool") {
        let promtool = |args: &[&str]| -> String {
            let out = std::process::Command::new("promtool")
                .arg("query")
                .args(args)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "promtool {args:?}: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            text
        };
        let server = h.url("");
        let at = secs(t0 + 600_000);
        let instant = promtool(&["instant", "--time", &at, &server, "up"]);
        assert!(
            instant.contains("up{instance=\"a\", job=\"api\"} => 1"),
            "{instant}"
        );
        let range = promtool(&[
            "range",
            "--start",
            &secs(t0 + 60_000),
            "--end",
            &secs(t0 + 120_000),
            "--step",
            "30s",
            &server,
            "sum(up)",
        ]);
        assert_eq!(range.matches("1 @[").count(), 3, "{range}");
        let series = promtool(&[
            "series",
            "--match",
            "requests_total",
            "--start",
            &secs(t0),
            "--end",
            &at,
            &server,
        ]);
        assert!(
            series.contains("{__name__=\"requests_total\", instance=\"b\", job=\"api\"}"),
            "{series}"
        );
        let labels = promtool(&[
            "labels",
            "--start",
            &secs(t0),
            "--end",
            &at,
            &server,
            "instance",
        ]);
        assert_eq!(
            labels.split_whitespace().collect::<Vec<_>>(),
            vec!["a", "b"],
            "{labels}"
        );
    } else {
        assert!(
            std::env::var_os("HEARTH_REQUIRE_EXTERNAL").is_none(),
            "promtool is required"
        );
    }
    assert!(h.stop().success());
}

#[test]
fn query_limits_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.yaml");
    std::fs::write(
        &config,
        "query:\n  max_series_per_selector: 1\n  max_samples: 30\n",
    )
    .unwrap();
    let h = Hearth::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let t0 = t0();
    load(&h, t0);
    let at = secs(t0 + 600_000);
    let ok = h.get(&format!("/api/v1/query?query=up&time={at}"));
    assert_eq!(ok.status(), 200);
    let series = h.get(&format!("/api/v1/query?query=requests_total&time={at}"));
    assert_eq!(series.status(), 422);
    let body: Value = series.json().unwrap();
    assert_eq!(body["errorType"], "execution");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("more than 1 series"),
        "{body}"
    );
    let samples = h.get(&format!(
        "/api/v1/query?query={}&time={at}",
        urlencode("count_over_time(up[1h])")
    ));
    assert_eq!(samples.status(), 422);
    let body: Value = samples.json().unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("too many samples"),
        "{body}"
    );
    assert!(h.stop().success());
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
