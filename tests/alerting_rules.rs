//! Rule evaluation end to end: rule files loaded by the real binary, data
//! pushed through remote write, evaluation driven by the manual clock
//! (`--test-clock` + `POST /-/clock`), state read back through the
//! Prometheus API, across a restart and reloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{Hearth, series};
use hearth_ingest::proto::remote_v1::WriteRequest;
use serde_json::Value;

/// A Unix time (ms) aligned to every interval the tests use.
const T0: i64 = 1_700_000_000_000;
const SEC: i64 = 1000;

const RULES: &str = r#"groups:
  - name: node
    interval: 10s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: InstanceDown
        expr: up == 0
        for: 20s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is down"
"#;

fn start(dir: &Path, rules: &Path, clock: i64) -> Hearth {
    Hearth::start(
        dir,
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--test-clock",
            &clock.to_string(),
        ],
    )
}

fn push_up(h: &Hearth, instance: &str, t: i64, v: f64) {
    let req = WriteRequest {
        timeseries: vec![series(
            &[("__name__", "up"), ("job", "node"), ("instance", instance)],
            &[(t, v)],
        )],
        ..Default::default()
    };
    let r = h.push_v1(&req);
    assert_eq!(r.status(), 204, "{}", r.text().unwrap_or_default());
}

fn tick(h: &Hearth, t: i64) {
    let r = h
        .client()
        .post(h.url(&format!("/-/clock?time={t}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
}

fn alerts(h: &Hearth) -> Vec<Value> {
    let v = h.get_json("/api/v1/alerts");
    assert_eq!(v["status"], "success");
    v["data"]["alerts"].as_array().cloned().unwrap()
}

fn instant(h: &Hearth, query: &str, t: i64) -> Vec<Value> {
    let v = h.post_form_json(
        "/api/v1/query",
        &[("query", query), ("time", &(t as f64 / 1000.0).to_string())],
    );
    v["data"]["result"].as_array().cloned().unwrap()
}

#[test]
fn alerts_go_pending_firing_resolved_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("node.yml");
    std::fs::write(&rules, RULES).unwrap();
    let data = dir.path().join("data");
    let h = start(&data, &rules, T0);

    for t in [T0, T0 + 10 * SEC, T0 + 20 * SEC, T0 + 30 * SEC] {
        push_up(&h, "a", t, 0.0);
        push_up(&h, "b", t, 1.0);
    }
    // Nothing is evaluated before the first slot after start-up.
    assert!(alerts(&h).is_empty());

    tick(&h, T0 + 10 * SEC);
    let a = alerts(&h);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["state"], "pending");
    assert_eq!(a[0]["activeAt"], "2023-11-14T22:13:30Z");
    assert_eq!(a[0]["value"], "0e+00");
    assert_eq!(
        a[0]["labels"],
        serde_json::json!({"alertname": "InstanceDown", "instance": "a", "job": "node", "severity": "page"})
    );

    tick(&h, T0 + 20 * SEC);
    assert_eq!(alerts(&h)[0]["state"], "pending");
    tick(&h, T0 + 30 * SEC);
    assert_eq!(alerts(&h)[0]["state"], "firing");

    let firing = instant(&h, "ALERTS", T0 + 30 * SEC);
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0]["metric"]["alertstate"], "firing");
    assert_eq!(firing[0]["metric"]["severity"], "page");
    let for_state = instant(&h, "ALERTS_FOR_STATE", T0 + 30 * SEC);
    assert_eq!(
        for_state[0]["value"][1],
        ((T0 + 10 * SEC) / 1000).to_string()
    );
    let recorded = instant(&h, "job:up:sum", T0 + 30 * SEC);
    assert_eq!(recorded[0]["metric"]["__name__"], "job:up:sum");
    assert_eq!(recorded[0]["value"][1], "1");

    let rules_api = h.get_json("/api/v1/rules");
    let group = &rules_api["data"]["groups"][0];
    assert_eq!(group["name"], "node");
    assert_eq!(group["interval"], 10.0);
    assert_eq!(group["lastEvaluation"], "2023-11-14T22:13:50Z");
    let rule = &group["rules"][1];
    assert_eq!(rule["type"], "alerting");
    assert_eq!(rule["state"], "firing");
    assert_eq!(rule["health"], "ok");
    assert_eq!(rule["duration"], 20.0);
    assert_eq!(rule["query"], "up == 0");
    assert_eq!(group["rules"][0]["type"], "recording");

    // A restart keeps the firing alert firing, with its original activeAt.
    assert!(h.stop().success());
    let h = start(&data, &rules, T0 + 30 * SEC);
    let a = alerts(&h);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["state"], "firing");
    assert_eq!(a[0]["activeAt"], "2023-11-14T22:13:30Z");
    push_up(&h, "a", T0 + 40 * SEC, 0.0);
    tick(&h, T0 + 40 * SEC);
    assert_eq!(alerts(&h)[0]["state"], "firing");

    // The condition goes away: resolved, and ALERTS ends at once (a stale
    // marker, not five minutes of lookback).
    push_up(&h, "a", T0 + 45 * SEC, 1.0);
    tick(&h, T0 + 50 * SEC);
    assert!(alerts(&h).is_empty());
    assert!(instant(&h, "ALERTS", T0 + 50 * SEC).is_empty());
    let rules_api = h.get_json("/api/v1/rules?type=alert");
    let rules = rules_api["data"]["groups"][0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["state"], "inactive");
}

#[test]
fn a_pending_alert_keeps_its_for_progress_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("node.yml");
    std::fs::write(&rules, RULES).unwrap();
    let data = dir.path().join("data");
    let h = start(&data, &rules, T0);
    for t in [T0, T0 + 10 * SEC, T0 + 20 * SEC, T0 + 30 * SEC] {
        push_up(&h, "a", t, 0.0);
    }
    tick(&h, T0 + 10 * SEC);
    assert_eq!(alerts(&h)[0]["state"], "pending");
    h.kill9();

    // Down for 10s: the alert had been pending 0s of its 20s `for` when
    // Hearth stopped, and the outage does not count, so it fires 20s of
    // observed condition later, at T0 + 40s.
    let h = start(&data, &rules, T0 + 20 * SEC);
    let a = alerts(&h);
    assert_eq!(a[0]["state"], "pending");
    assert_eq!(a[0]["activeAt"], "2023-11-14T22:13:40Z");
    tick(&h, T0 + 30 * SEC);
    assert_eq!(alerts(&h)[0]["state"], "pending");
    push_up(&h, "a", T0 + 40 * SEC, 0.0);
    tick(&h, T0 + 40 * SEC);
    let a = alerts(&h);
    assert_eq!(a[0]["state"], "firing", "{a:?}");
    assert_eq!(a[0]["activeAt"], "2023-11-14T22:13:40Z");
}

#[test]
fn reload_rejects_a_bad_file_and_keeps_the_running_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("node.yml");
    std::fs::write(&rules, RULES).unwrap();
    let h = start(&dir.path().join("data"), &rules, T0);

    std::fs::write(
        &rules,
        "groups:\n  - name: node\n    rules:\n      - alert: Broken\n        expr: sum(up\n",
    )
    .unwrap();
    let r = h.client().post(h.url("/-/reload")).send().unwrap();
    assert_eq!(r.status(), 500);
    let body = r.text().unwrap();
    assert!(
        body.contains(&format!(
            "{}: 5:15: group \"node\", rule 1, \"Broken\": could not parse expression",
            rules.display()
        )),
        "{body}"
    );
    let names = rule_names(&h);
    assert_eq!(names, ["job:up:sum", "InstanceDown"]);

    std::fs::write(
        &rules,
        "groups:\n  - name: node\n    rules:\n      - alert: Fixed\n        expr: up == 0\n",
    )
    .unwrap();
    let r = h.client().post(h.url("/-/reload")).send().unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
    assert_eq!(rule_names(&h), ["Fixed"]);

    // SIGHUP reloads too.
    std::fs::write(&rules, RULES).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &h.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while rule_names(&h) != ["job:up:sum", "InstanceDown"] {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reload"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn rule_names(h: &Hearth) -> Vec<String> {
    let v = h.get_json("/api/v1/rules");
    v["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_bad_rule_file_stops_start_up_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("bad.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n        expr: up\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--http-addr", "127.0.0.1:0", "--rules"])
        .arg(&rules)
        .env_remove("HEARTH_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "4:17: group \"g\", rule 1, \"bad name\": invalid recording rule name: bad name"
        ),
        "{err}"
    );
}

const OPTIONS: &str = r#"groups:
  - name: offset
    interval: 10s
    query_offset: 10s
    labels:
      team: infra
    rules:
      - record: a_value
        expr: up{instance="a"}
  - name: limited
    interval: 10s
    limit: 1
    rules:
      - record: all_up
        expr: up
  - name: keep
    interval: 10s
    rules:
      - alert: Flappy
        expr: up{instance="a"} == 0
        keep_firing_for: 20s
        annotations:
          summary: '{{ with query "count(up)" }}{{ . | first | value }}{{ end }} targets, value {{ $value | humanize }}'
"#;

#[test]
fn query_offset_group_labels_limits_and_keep_firing_for() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("options.yml");
    std::fs::write(&rules, OPTIONS).unwrap();
    let h = start(&dir.path().join("data"), &rules, T0);
    for (t, a) in [(T0, 1.0), (T0 + 10 * SEC, 2.0), (T0 + 20 * SEC, 0.0)] {
        push_up(&h, "a", t, a);
        push_up(&h, "b", t, 1.0);
    }
    tick(&h, T0 + 20 * SEC);

    // query_offset: evaluated 10s in the past, written there, with the
    // group's labels.
    let recorded = instant(&h, "a_value", T0 + 10 * SEC);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["value"][1], "2");
    assert_eq!(recorded[0]["metric"]["team"], "infra");

    // limit: two series for a limit of one is an evaluation error.
    let groups = h.get_json("/api/v1/rules?rule_group[]=limited");
    let rule = &groups["data"]["groups"][0]["rules"][0];
    assert_eq!(rule["health"], "err");
    assert_eq!(rule["lastError"], "exceeded limit of 1 with 2 series");
    assert!(instant(&h, "all_up", T0 + 20 * SEC).is_empty());
    let metrics = h.get("/metrics").text().unwrap();
    let failures = format!(
        "hearth_rule_evaluation_failures_total{{rule_group=\"{};limited\"}} 1",
        rules.display()
    );
    assert!(metrics.contains(&failures), "{metrics}");

    // Templates can query; keep_firing_for holds the alert after recovery.
    let a = alerts(&h);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["state"], "firing");
    assert_eq!(a[0]["annotations"]["summary"], "2 targets, value 0");
    push_up(&h, "a", T0 + 25 * SEC, 1.0);
    tick(&h, T0 + 30 * SEC);
    let a = alerts(&h);
    assert_eq!(a[0]["state"], "firing");
    assert_eq!(a[0]["keepFiringSince"], "2023-11-14T22:13:50Z");
    tick(&h, T0 + 40 * SEC);
    assert_eq!(alerts(&h).len(), 1);
    tick(&h, T0 + 50 * SEC);
    assert!(alerts(&h).is_empty());

    // Filters of /api/v1/rules.
    let only_alerts = h.get_json("/api/v1/rules?type=alert");
    let groups = only_alerts["data"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], "keep");
    let excluded = h.get_json("/api/v1/rules?type=alert&exclude_alerts=true");
    assert!(
        excluded["data"]["groups"][0]["rules"][0]
            .get("alerts")
            .is_none()
    );
    let bad = h.get("/api/v1/rules?type=nope");
    assert_eq!(bad.status(), 400);
}
