//! Same numbers as Prometheus: the PromQL compliance tester's query list
//! (../shared/conformance/promql-compliance-queries.yml) run as range queries
//! against Prometheus 2.42 and Hearth holding identical data, written to
//! both over remote write. Results must match: label sets exactly, points
//! at the same timestamps, values within a relative 1e-5.
//!
//! The data imitates the PromLabs demo service the list was written for
//! (memory gauges, CPU counters with a reset, disk usage, a request
//! histogram, a batch-job timestamp and a metric that goes stale), three
//! instances scraped every 5 s for two hours. Sample times are 137 ms off the
//! second so that no sample sits exactly on a window boundary, where
//! Prometheus 2 (closed windows) and 3 (left-open) differ.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use hearth_ingest::proto::remote_v1;
use prost::Message;
use serde_json::Value;

const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;
const SCRAPE_MS: i64 = 5_000;
const STEPS: i64 = 2 * 3600 * 1000 / SCRAPE_MS;
const INSTANCES: [&str; 3] = [
    "demo.promlabs.com:10000",
    "demo.promlabs.com:10001",
    "demo.promlabs.com:10002",
];

/// Queries whose answer changed between Prometheus 2.42 (the reference on
/// this machine) and Prometheus 3, whose semantics Hearth follows.
const CHANGED_IN_PROMETHEUS_3: &[&str] = &[
    // UTF-8 label names are valid in Prometheus 3.
    r#"label_replace(demo_num_cpus, "~invalid", "", "src", "(.*)")"#,
    r#"label_join(demo_num_cpus, "~invalid", "-", "instance")"#,
    // Subquery points sit on multiples of the step, so one lands exactly on
    // the window's start: Prometheus 2 includes it, Prometheus 3's
    // left-open window does not.
    "avg_over_time(rate(demo_cpu_usage_seconds_total[1m])[2m:10s])",
];

/// Deterministic noise in [0, 1).
fn noise(seed: u64) -> f64 {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

struct Demo {
    labels: Vec<(String, String)>,
    values: Vec<Option<f64>>,
}

fn demo(name: &str, extra: &[(&str, &str)], instance: &str, values: Vec<Option<f64>>) -> Demo {
    let mut labels = vec![
        ("__name__".to_owned(), name.to_owned()),
        ("instance".to_owned(), instance.to_owned()),
        ("job".to_owned(), "demo".to_owned()),
    ];
    labels.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    Demo { labels, values }
}

/// The demo-like series: labels and a value (or gap) per scrape.
fn demo_series(t0: i64) -> Vec<Demo> {
    let steps = STEPS as usize;
    let mut out = Vec::new();
    for (i, instance) in INSTANCES.iter().enumerate() {
        let seed = i as u64 * 1_000_003;
        for (k, (ty, base)) in [
            ("free", 2e9),
            ("buffers", 3e8),
            ("cached", 1.2e9),
            ("used", 4e9),
        ]
        .iter()
        .enumerate()
        {
            let values = (0..steps)
                .map(|s| {
                    let wave = (s as f64 / 90.0 + k as f64).sin() * base * 0.05;
                    Some((base + wave + noise(seed + k as u64 * 7919 + s as u64) * 1e6).round())
                })
                .collect();
            out.push(demo(
                "demo_memory_usage_bytes",
                &[("type", ty)],
                instance,
                values,
            ));
        }
        let cpus = [4.0, 8.0, 16.0][i];
        out.push(demo(
            "demo_num_cpus",
            &[],
            instance,
            vec![Some(cpus); steps],
        ));
        for (m, mode) in ["idle", "user", "system"].iter().enumerate() {
            let mut total = 0.0;
            let values = (0..steps)
                .map(|s| {
                    if i == 1 && m == 1 && s == 700 {
                        total = 0.0; // a process restart
                    }
                    total += (5.0
                        * cpus
                        * [0.7, 0.2, 0.1][m]
                        * (0.8 + 0.4 * noise(seed + 31 * m as u64 + s as u64)))
                    .round()
                        / 100.0;
                    Some(total)
                })
                .collect();
            out.push(demo(
                "demo_cpu_usage_seconds_total",
                &[("mode", mode)],
                instance,
                values,
            ));
        }
        let values = (0..steps)
            .map(|s| Some(1e10 + s as f64 * 4096.0 * (1.0 + noise(seed + 77 + s as u64)).floor()))
            .collect();
        out.push(demo("demo_disk_usage_bytes", &[], instance, values));
        let values = (0..steps)
            .map(|s| {
                let last_run = s - s % 60;
                Some(((t0 + last_run as i64 * SCRAPE_MS) / 1000) as f64)
            })
            .collect();
        out.push(demo(
            "demo_batch_last_success_timestamp_seconds",
            &[],
            instance,
            values,
        ));
        // Present for 30 scrapes, then a stale marker and 20 missing.
        let values = (0..steps)
            .map(|s| match s % 50 {
                0..30 => Some(i as f64 + 1.0),
                30 => Some(f64::from_bits(STALE_NAN)),
                _ => None,
            })
            .collect();
        out.push(demo("demo_intermittent_metric", &[], instance, values));
        // A request-duration histogram per path and status.
        let bounds = [
            "0.0001", "0.00015", "0.0002", "0.0003", "0.0005", "0.001", "+Inf",
        ];
        for (p, path) in ["/api/foo", "/api/bar"].iter().enumerate() {
            for (st, status) in ["200", "500"].iter().enumerate() {
                let base = [40.0, 3.0][st] * (1.0 + p as f64);
                let mut buckets = vec![0.0; bounds.len()];
                let (mut sum, mut count) = (0.0, 0.0);
                let mut series: Vec<Vec<Option<f64>>> = vec![Vec::new(); bounds.len() + 2];
                for s in 0..steps {
                    let n = (base
                        * (0.5 + noise(seed + 97 * p as u64 + 13 * st as u64 + s as u64)))
                    .round();
                    let mut cumulative = 0.0;
                    for (b, bucket) in buckets.iter_mut().enumerate() {
                        let share = [0.1, 0.2, 0.3, 0.2, 0.1, 0.05, 0.05][b];
                        cumulative += (n * share).round();
                        *bucket += if b + 1 == bounds.len() { n } else { cumulative };
                        series[b].push(Some(*bucket));
                    }
                    count += n;
                    sum += n * 0.00021;
                    series[bounds.len()].push(Some(sum));
                    series[bounds.len() + 1].push(Some(count));
                }
                let extra = [("method", "GET"), ("path", *path), ("status", *status)];
                for (b, values) in series.into_iter().enumerate() {
                    let (name, le) = match b {
                        b if b < bounds.len() => {
                            ("demo_api_request_duration_seconds_bucket", Some(bounds[b]))
                        }
                        b if b == bounds.len() => ("demo_api_request_duration_seconds_sum", None),
                        _ => ("demo_api_request_duration_seconds_count", None),
                    };
                    let mut labels: Vec<(&str, &str)> = extra.to_vec();
                    if let Some(le) = le {
                        labels.push(("le", le));
                    }
                    out.push(demo(name, &labels, instance, values));
                }
            }
        }
    }
    out
}

/// Write requests covering `chunk` scrapes each, oldest first.
fn requests(series: &[Demo], t0: i64, chunk: usize) -> Vec<remote_v1::WriteRequest> {
    let mut out = Vec::new();
    let steps = STEPS as usize;
    for from in (0..steps).step_by(chunk) {
        let to = (from + chunk).min(steps);
        let timeseries = series
            .iter()
            .map(|g| remote_v1::TimeSeries {
                labels: g.labels.iter().map(|(n, v)| label(n, v)).collect(),
                samples: (from..to)
                    .filter_map(|s| {
                        g.values[s].map(|value| remote_v1::Sample {
                            value,
                            timestamp: t0 + s as i64 * SCRAPE_MS,
                        })
                    })
                    .collect(),
                ..Default::default()
            })
            .filter(|ts| !ts.samples.is_empty())
            .collect();
        out.push(remote_v1::WriteRequest {
            timeseries,
            ..Default::default()
        });
    }
    out
}

/// The compliance tester's variant arguments.
fn variants(name: &str) -> &'static [&'static str] {
    match name {
        "range" => &["1s", "15s", "1m", "5m", "15m", "1h"],
        "offset" => &["1m", "5m", "10m"],
        "simpleAggrOp" => &["sum", "avg", "max", "min", "count", "stddev", "stdvar"],
        "topBottomOp" => &["topk", "bottomk"],
        "quantile" => &[
            "-0.5", "0.1", "0.5", "0.75", "0.95", "0.90", "0.99", "1", "1.5",
        ],
        "arithBinOp" => &["+", "-", "*", "/", "%", "^"],
        "compBinOp" => &["==", "!=", "<", ">", "<=", ">="],
        "binOp" => &[
            "+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">=",
        ],
        "simpleMathFunc" => &[
            "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "round",
        ],
        "extrapolatedRateFunc" => &["delta", "rate", "increase"],
        "clampFunc" => &["clamp_min", "clamp_max"],
        "instantRateFunc" => &["idelta", "irate"],
        "dateFunc" => &[
            "day_of_month",
            "day_of_week",
            "days_in_month",
            "hour",
            "minute",
            "month",
            "year",
        ],
        "simpleTimeAggrOp" => &["sum", "min", "max", "avg", "stddev", "stdvar", "count"],
        other => panic!("unknown variant argument {other}"),
    }
}

/// Expands the test cases: (query, should_fail).
fn expand(yaml: &str) -> Vec<(String, bool)> {
    let doc: serde_json::Value = serde_norway::from_str(yaml).unwrap();
    let mut out = Vec::new();
    for case in doc["test_cases"].as_array().unwrap() {
        let template = case["query"].as_str().unwrap().to_owned();
        let fail = case["should_fail"].as_bool().unwrap_or(false);
        let args: Vec<&str> = case["variant_args"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut queries = vec![template];
        for arg in args {
            let placeholder = format!("{{{{.{arg}}}}}");
            queries = queries
                .iter()
                .flat_map(|q| {
                    variants(arg)
                        .iter()
                        .map(|v| q.replace(&placeholder, v))
                        .collect::<Vec<_>>()
                })
                .collect();
        }
        out.extend(queries.into_iter().map(|q| (q, fail)));
    }
    out
}

/// A range result reduced to comparable form: labels -> [(ms, value)].
fn matrix(v: &Value) -> Result<BTreeMap<String, Vec<(i64, f64)>>, String> {
    if v["status"] != "success" {
        return Err(v["error"].as_str().unwrap_or("?").to_owned());
    }
    let mut out = BTreeMap::new();
    for s in v["data"]["result"].as_array().unwrap() {
        let points = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
                let v = match p[1].as_str().unwrap() {
                    "NaN" => f64::NAN,
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    x => x.parse().unwrap(),
                };
                (t, v)
            })
            .collect();
        out.insert(s["metric"].to_string(), points);
    }
    Ok(out)
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    // Prometheus 3 sums with Kahan compensation where 2.42 did not; allow
    // that difference as an absolute margin near zero.
    (a - b).abs() <= 1e-5 * a.abs().max(b.abs()) + 1e-9
}

fn differences(
    reference: &BTreeMap<String, Vec<(i64, f64)>>,
    hearth: &BTreeMap<String, Vec<(i64, f64)>>,
) -> Option<String> {
    if reference.keys().ne(hearth.keys()) {
        return Some(format!(
            "series differ: Prometheus {:?}, Hearth {:?}",
            reference.keys().collect::<Vec<_>>(),
            hearth.keys().collect::<Vec<_>>()
        ));
    }
    for (labels, want) in reference {
        let got = &hearth[labels];
        let same = want.len() == got.len()
            && want
                .iter()
                .zip(got)
                .all(|(w, g)| w.0 == g.0 && close(w.1, g.1));
        if !same {
            let first = want
                .iter()
                .zip(got)
                .find(|(w, g)| w.0 != g.0 || !close(w.1, g.1));
            return Some(format!(
                "{labels}: {} vs {} points; first difference {first:?}",
                want.len(),
                got.len()
            ));
        }
    }
    None
}

#[test]
fn same_answers_as_prometheus() {
    let Some(prometheus) = external("prometheus") else {
        return;
    };
    let Some(queries_file) = [
        std::env::var("HEARTH_CONFORMANCE_DIR")
            .ok()
            .map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance")),
        Some(PathBuf::from("/work/shared/conformance")),
    ]
    .into_iter()
    .flatten()
    .map(|d| d.join("promql-compliance-queries.yml"))
    .find(|p| p.is_file()) else {
        assert!(
            std::env::var_os("HEARTH_REQUIRE_EXTERNAL").is_none(),
            "promql-compliance-queries.yml not found; set HEARTH_CONFORMANCE_DIR"
        );
        eprintln!("SKIPPED: promql-compliance-queries.yml not found");
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let hearth = Hearth::start(&dir.path().join("hearth"), &[]);
    let prom_port = free_port();
    let prom_url = format!("http://127.0.0.1:{prom_port}");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
    let (_prom, prom_log) = start_prometheus(
        &prometheus,
        dir.path(),
        &config,
        prom_port,
        &["--web.enable-remote-write-receiver"],
    );
    let c = client();
    until("Prometheus to be ready", &prom_log, || {
        c.get(format!("{prom_url}/-/ready"))
            .send()
            .ok()
            .filter(|r| r.status() == 200)
    });

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t0 = (now - STEPS * SCRAPE_MS - 60_000) / 60_000 * 60_000 + 137;
    let series = demo_series(t0);
    for req in requests(&series, t0, 120) {
        let body = snappy(&req.encode_to_vec());
        let r = hearth.push_raw("application/x-protobuf", body.clone());
        assert_eq!(r.status(), 204, "{}", r.text().unwrap());
        let r = c
            .post(format!("{prom_url}/api/v1/write"))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "Prometheus: {}", r.text().unwrap());
    }
    // Half of Hearth's data in Parquet parts, the rest in the head.
    assert_eq!(hearth.post_form("/api/v1/admin/flush", &[]).status(), 200);

    // The compliance tester's window: well inside the data, an hour of
    // history before it for the longest ranges.
    let start = (t0 + 65 * 60_000) / 60_000 * 60_000;
    let end = start + 40 * 60_000;
    let yaml = std::fs::read_to_string(&queries_file).unwrap();
    let cases = expand(&yaml);
    assert!(cases.len() > 500, "only {} queries", cases.len());
    let mut failures = Vec::new();
    let mut with_data = 0;
    for (query, should_fail) in &cases {
        let form = [
            ("query", query.as_str()),
            ("start", &format!("{}", start as f64 / 1000.0)),
            ("end", &format!("{}", end as f64 / 1000.0)),
            ("step", "30"),
        ];
        let reference: Value = c
            .post(format!("{prom_url}/api/v1/query_range"))
            .form(&form)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let ours: Value = c
            .post(hearth.url("/api/v1/query_range"))
            .form(&form)
            .send()
            .unwrap()
            .json()
            .unwrap();
        if CHANGED_IN_PROMETHEUS_3.contains(&query.as_str()) {
            continue;
        }
        let problem = match (matrix(&reference), matrix(&ours)) {
            (Err(_), Err(_)) => None,
            (Ok(_), Err(e)) => Some(format!("Hearth failed: {e}")),
            (Err(e), Ok(_)) => Some(format!("Prometheus failed ({e}), Hearth answered")),
            (Ok(a), Ok(b)) => {
                with_data += usize::from(!a.is_empty());
                if *should_fail {
                    Some("should have failed".into())
                } else {
                    differences(&a, &b)
                }
            }
        };
        if let Some(p) = problem {
            failures.push(format!("{query}\n    {p}"));
        }
    }
    // Guard against a vacuous pass where both sides answer nothing.
    assert!(with_data > 400, "only {with_data} queries returned data");
    assert!(
        failures.is_empty(),
        "{} of {} queries differ from Prometheus:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(hearth.stop().success());
}
