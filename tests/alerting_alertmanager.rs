//! Forwarding to a real Alertmanager (Debian's `prometheus-alertmanager`,
//! 0.25): alerts Hearth fires show up in Alertmanager's own API, and leave
//! it when they resolve.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};

use common::*;
use hearth_ingest::proto::remote_v1::WriteRequest;
use serde_json::Value;

const SEC: i64 = 1000;

fn push_up(h: &Hearth, t: i64, v: f64) {
    let req = WriteRequest {
        timeseries: vec![series(
            &[("__name__", "up"), ("job", "node"), ("instance", "a")],
            &[(t, v)],
        )],
        ..Default::default()
    };
    assert_eq!(h.push_v1(&req).status(), 204);
}

fn tick(h: &Hearth, t: i64) {
    let r = h
        .client()
        .post(h.url(&format!("/-/clock?time={t}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn am_alerts(client: &reqwest::blocking::Client, base: &str) -> Vec<Value> {
    client
        .get(format!("{base}/api/v2/alerts"))
        .send()
        .unwrap()
        .json::<Vec<Value>>()
        .unwrap()
}

#[test]
fn forwarded_alerts_appear_in_alertmanager_and_resolve() {
    let Some(alertmanager) = external("prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am_config,
        "route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let port = free_port();
    let log = dir.path().join("alertmanager.log");
    let _am = Killed(
        Command::new(&alertmanager)
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("am").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let am = format!("http://127.0.0.1:{port}");
    let client = client();
    until("Alertmanager to be ready", &log, || {
        client
            .get(format!("{am}/-/ready"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });

    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: node\n    interval: 10s\n    rules:\n      - alert: InstanceDown\n        expr: up == 0\n        labels: {severity: page}\n        annotations: {summary: an instance is down}\n",
    )
    .unwrap();
    let config = dir.path().join("hearth.yaml");
    std::fs::write(
        &config,
        format!(
            "alerting:\n  external_url: http://hearth.test:9700\n  external_labels: {{site: home}}\nnotifications:\n  route: {{receiver: upstream}}\n  receivers:\n    - name: upstream\n      alertmanager_configs:\n        - url: {am}\n"
        ),
    )
    .unwrap();
    // Alertmanager judges endsAt against its own wall clock, so the manual
    // clock starts a little in the past.
    let now = chrono::Utc::now().timestamp_millis();
    let t0 = now - now % (10 * SEC) - 30 * SEC;
    let h = Hearth::start(
        &dir.path().join("data"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--test-clock",
            &t0.to_string(),
        ],
    );
    push_up(&h, t0, 0.0);
    push_up(&h, t0 + 10 * SEC, 0.0);
    tick(&h, t0 + 10 * SEC);

    let alerts = am_alerts(&client, &am);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a["labels"]["alertname"], "InstanceDown");
    assert_eq!(a["labels"]["instance"], "a");
    assert_eq!(a["labels"]["site"], "home", "external labels are added");
    assert_eq!(a["annotations"]["summary"], "an instance is down");
    assert_eq!(a["status"]["state"], "active");
    assert_eq!(
        a["generatorURL"],
        "http://hearth.test:9700/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    );
    let starts = chrono::DateTime::parse_from_rfc3339(a["startsAt"].as_str().unwrap()).unwrap();
    assert_eq!(starts.timestamp_millis(), t0 + 10 * SEC);

    push_up(&h, t0 + 15 * SEC, 1.0);
    tick(&h, t0 + 20 * SEC);
    let alerts = am_alerts(&client, &am);
    assert!(
        alerts.is_empty(),
        "resolved alerts leave Alertmanager's list: {alerts:#?}"
    );
}

#[test]
fn amtool_manages_silences() {
    let Some(amtool) = external("amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let h = Hearth::start(&dir.path().join("data"), &[]);
    let url = format!("--alertmanager.url={}", h.base);
    let run = |args: &[&str]| {
        let out = Command::new(&amtool).arg(&url).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "amtool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let id = run(&[
        "silence",
        "add",
        "instance=b",
        "--comment=maintenance",
        "--author=test",
        "--duration=1h",
    ]);
    assert_eq!(run(&["silence", "query", "-q"]), id);
    let listed = run(&["silence", "query"]);
    assert!(
        listed.contains("instance=\"b\"") && listed.contains("maintenance"),
        "{listed}"
    );
    run(&["silence", "expire", &id]);
    assert_eq!(run(&["silence", "query", "-q"]), "");
    assert_eq!(run(&["silence", "query", "--expired", "-q"]), id);
    // Silences survive a restart.
    assert!(h.stop().success());
    let h = Hearth::start(&dir.path().join("data"), &[]);
    let url = format!("--alertmanager.url={}", h.base);
    let out = Command::new(&amtool)
        .args([url.as_str(), "silence", "query", "--expired", "-q"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), id);
}

/// A real Prometheus 2.42 with Hearth as its Alertmanager: its alerts show
/// in Hearth's Alertmanager API.
#[test]
fn prometheus_sends_its_alerts_to_hearth() {
    let Some(prometheus) = external("prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hearth = Hearth::start(&dir.path().join("data"), &[]);
    let hearth_addr = hearth.base.trim_start_matches("http://").to_string();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - alert: Always\n        expr: vector(1)\n        labels: {severity: info}\n        annotations: {summary: from prometheus}\n",
    )
    .unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  evaluation_interval: 1s\nrule_files:\n  - {}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{hearth_addr}']\n",
            rules.display()
        ),
    )
    .unwrap();
    let port = free_port();
    // Prometheus' first send can come before it has discovered its
    // Alertmanagers; a short resend delay brings the next one in seconds
    // rather than a minute.
    let (_prom, log) = start_prometheus(
        &prometheus,
        dir.path(),
        &config,
        port,
        &["--rules.alert.resend-delay=2s"],
    );
    let client = client();
    let alert = until("Prometheus' alert to reach Hearth", &log, || {
        am_alerts(&client, &hearth.base)
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "Always")
    });
    assert_eq!(alert["labels"]["severity"], "info");
    assert_eq!(alert["annotations"]["summary"], "from prometheus");
    assert_eq!(alert["status"]["state"], "active");
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap()
            .contains("/graph?g0.expr=vector%281%29"),
        "{alert}"
    );
}
