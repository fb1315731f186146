//! The same rule files, unchanged, in Prometheus 2.42 and in Hearth, over
//! the same data written to both by remote write: both must hold the same
//! alerts (labels, annotations, state and value).
//!
//! The rule files (tests/rules/*.rules.yml) are node-exporter and
//! Kubernetes alerts in the style most setups copy, and homelab alerts
//! that fire at once. The data makes every
//! alert in them active. Both systems evaluate every second on the wall
//! clock; the comparison is made once each has evaluated every group three
//! times after the data arrived, and the data is shaped (constant gauges,
//! counters at constant rates) so that the answers do not depend on the
//! exact evaluation instant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use hearth_ingest::proto::remote_v1;
use prost::Message;
use serde_json::Value;

const RULE_FILES: [&str; 3] = [
    "node.rules.yml",
    "kubernetes.rules.yml",
    "homelab.rules.yml",
];
const STEP_MS: i64 = 15_000;
const SAMPLES: i64 = 80;

/// (labels, value at step i)
type Series = (Vec<(&'static str, &'static str)>, Box<dyn Fn(i64) -> f64>);

fn constant(labels: Vec<(&'static str, &'static str)>, v: f64) -> Series {
    (labels, Box::new(move |_| v))
}

fn data() -> Vec<Series> {
    let node = |name: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut l = vec![("__name__", name), ("job", "node"), ("instance", "h1:9100")];
        l.extend_from_slice(extra);
        l
    };
    let ksm = |name: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut l = vec![("__name__", name), ("job", "kube-state-metrics")];
        l.extend_from_slice(extra);
        l
    };
    let mut out: Vec<Series> = Vec::new();
    for cpu in ["0", "1"] {
        for (mode, per_step) in [("idle", 3.0), ("user", 10.0), ("iowait", 0.5)] {
            out.push((
                node("node_cpu_seconds_total", &[("cpu", cpu), ("mode", mode)]),
                Box::new(move |i| per_step * i as f64),
            ));
        }
    }
    out.push(constant(node("node_memory_MemAvailable_bytes", &[]), 5e8));
    out.push(constant(node("node_memory_MemTotal_bytes", &[]), 8e9));
    let fs = [
        ("device", "/dev/sda1"),
        ("mountpoint", "/"),
        ("fstype", "ext4"),
    ];
    out.push(constant(node("node_filesystem_size_bytes", &fs), 1e11));
    out.push((
        node("node_filesystem_avail_bytes", &fs),
        Box::new(|i| 4e9 - 1e7 * i as f64),
    ));
    out.push(constant(node("node_filesystem_readonly", &fs), 0.0));
    out.push(constant(node("node_load15", &[]), 8.0));
    out.push(constant(node("node_timex_offset_seconds", &[]), 0.1));
    out.push(constant(
        vec![("__name__", "up"), ("job", "node"), ("instance", "h2:9100")],
        0.0,
    ));
    out.push(constant(
        vec![("__name__", "up"), ("job", "node"), ("instance", "h1:9100")],
        1.0,
    ));
    let pod = [
        ("namespace", "web"),
        ("pod", "api-7d9f"),
        ("container", "api"),
    ];
    let mut waiting = pod.to_vec();
    waiting.push(("reason", "CrashLoopBackOff"));
    out.push(constant(
        ksm("kube_pod_container_status_waiting_reason", &waiting),
        1.0,
    ));
    out.push(constant(
        ksm(
            "kube_pod_status_phase",
            &[
                ("namespace", "web"),
                ("pod", "api-7d9f"),
                ("phase", "Pending"),
            ],
        ),
        1.0,
    ));
    out.push(constant(
        ksm(
            "kube_pod_owner",
            &[
                ("namespace", "web"),
                ("pod", "api-7d9f"),
                ("owner_kind", "ReplicaSet"),
            ],
        ),
        1.0,
    ));
    let deploy = [("namespace", "web"), ("deployment", "api")];
    out.push(constant(ksm("kube_deployment_spec_replicas", &deploy), 3.0));
    out.push(constant(
        ksm("kube_deployment_status_replicas_available", &deploy),
        2.0,
    ));
    out.push(constant(
        ksm("kube_deployment_status_replicas_updated", &deploy),
        3.0,
    ));
    out.push(constant(
        ksm(
            "kube_job_failed",
            &[("namespace", "batch"), ("job_name", "backup")],
        ),
        1.0,
    ));
    out.push(constant(
        vec![
            (
                "__name__",
                "namespace_cpu:kube_pod_container_resource_requests:sum",
            ),
            ("namespace", "web"),
        ],
        10.0,
    ));
    for node_name in ["n1", "n2"] {
        out.push(constant(
            vec![
                ("__name__", "kube_node_status_allocatable"),
                ("node", node_name),
                ("resource", "cpu"),
            ],
            4.0,
        ));
    }
    let pvc = [
        ("job", "kubelet"),
        ("namespace", "db"),
        ("persistentvolumeclaim", "data-pg-0"),
    ];
    let mut available = vec![("__name__", "kubelet_volume_stats_available_bytes")];
    available.extend_from_slice(&pvc);
    out.push(constant(available, 1e8));
    let mut capacity = vec![("__name__", "kubelet_volume_stats_capacity_bytes")];
    capacity.extend_from_slice(&pvc);
    out.push(constant(capacity, 1e10));
    out
}

fn write_request(end_ms: i64) -> Vec<u8> {
    let start = end_ms - (SAMPLES - 1) * STEP_MS;
    let timeseries = data()
        .into_iter()
        .map(|(labels, value)| remote_v1::TimeSeries {
            labels: labels
                .iter()
                .map(|(n, v)| remote_v1::Label {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            samples: (0..SAMPLES)
                .map(|i| remote_v1::Sample {
                    timestamp: start + i * STEP_MS,
                    value: value(i),
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    snappy(
        &remote_v1::WriteRequest {
            timeseries,
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

fn push(client: &reqwest::blocking::Client, base: &str, body: Vec<u8>) {
    let r = client
        .post(format!("{base}/api/v1/write"))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .unwrap();
    assert!(
        r.status().is_success(),
        "{base}: {}",
        r.text().unwrap_or_default()
    );
}

/// Waits until every group has been evaluated at least `rounds` seconds
/// after `since_ms`, then returns the alerts.
fn alerts_after(client: &reqwest::blocking::Client, base: &str, since_ms: i64) -> BTreeSet<String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let rules: Value = client
            .get(format!("{base}/api/v1/rules"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let groups = rules["data"]["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let evaluated = groups.len() == 5
            && groups.iter().all(|g| {
                g["lastEvaluation"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t.timestamp_millis() > since_ms + 3_000)
            });
        if evaluated {
            let alerts: Value = client
                .get(format!("{base}/api/v1/alerts"))
                .send()
                .unwrap()
                .json()
                .unwrap();
            return alerts["data"]["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{} {} {} value={}",
                        a["state"], a["labels"], a["annotations"], a["value"]
                    )
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "{base} never evaluated its rules: {rules}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_same_rule_files_fire_the_same_alerts() {
    let Some(prometheus) = external("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let rules_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rules");
    let files: Vec<String> = RULE_FILES
        .iter()
        .map(|f| format!("{rules_dir}/{f}"))
        .collect();
    let list = files
        .iter()
        .map(|f| format!("  - {f}\n"))
        .collect::<String>();

    let prom_config = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!("global:\n  evaluation_interval: 1s\nrule_files:\n{list}"),
    )
    .unwrap();
    let port = free_port();
    let (_prom, log) = start_prometheus(
        &prometheus,
        dir.path(),
        &prom_config,
        port,
        &["--web.enable-remote-write-receiver"],
    );
    let prom_base = format!("http://127.0.0.1:{port}");
    let client = client();
    until("Prometheus to be ready", &log, || {
        client
            .get(format!("{prom_base}/-/ready"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });

    let hearth_config = dir.path().join("hearth.yaml");
    std::fs::write(
        &hearth_config,
        format!("alerting:\n  evaluation_interval: 1s\nrule_files:\n{list}"),
    )
    .unwrap();
    let hearth = Hearth::start(
        &dir.path().join("hearth"),
        &["--config", hearth_config.to_str().unwrap()],
    );

    let now = chrono::Utc::now().timestamp_millis();
    let end = now - now % 1000;
    push(&client, &prom_base, write_request(end));
    push(&client, &hearth.base, write_request(end));
    let pushed = chrono::Utc::now().timestamp_millis();

    let theirs = alerts_after(&client, &prom_base, pushed);
    let ours = alerts_after(&client, &hearth.base, pushed);
    assert_eq!(
        theirs.len(),
        19,
        "every alert should be active: {theirs:#?}"
    );
    let firing = theirs
        .iter()
        .filter(|a| a.starts_with("\"firing\""))
        .count();
    assert_eq!(firing, 6, "the homelab alerts fire at once: {theirs:#?}");
    let missing: Vec<_> = theirs.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&theirs).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "Prometheus has, Hearth lacks: {missing:#?}\nHearth has, Prometheus lacks: {extra:#?}"
    );
}
