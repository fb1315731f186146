//! LogQL rules end to end: a rule file whose group says `language: logql`,
//! log lines pushed through Loki's push API, evaluation driven by the
//! manual clock (`--test-clock` + `POST /-/clock`), and the results read
//! back through Prometheus' API, Loki's ruler paths and a webhook.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::Hearth;
use common::receiver::Receiver;
use serde_json::{Value, json};

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;

const LOGQL_RULES: &str = r#"groups:
  - name: app-errors
    language: logql
    interval: 30s
    rules:
      - alert: ManyErrors
        expr: sum by (app) (count_over_time({app="a"} |= "error" [5m])) > 2
        for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.app }} logged {{ $value }} errors"
      - record: app:errors:rate5m
        expr: sum by (app) (rate({app="a"} |= "error" [5m]))
"#;

const PROMQL_RULES: &str = r#"groups:
  - name: always
    interval: 30s
    rules:
      - alert: Always
        expr: vector(1) > 0
"#;

/// A start time the logs store accepts: it refuses lines older than a week
/// by the wall clock, so the manual clock starts a little before real now,
/// on a minute boundary so that every evaluation slot is predictable.
fn t0() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    now - now % MIN - 10 * MIN
}

fn start(dir: &Path, receiver: &Receiver, clock: i64) -> Hearth {
    let logql = dir.join("logs.yml");
    std::fs::write(&logql, LOGQL_RULES).unwrap();
    let promql = dir.join("node.yml");
    std::fs::write(&promql, PROMQL_RULES).unwrap();
    let config = dir.join("hearth.yaml");
    std::fs::write(
        &config,
        format!(
            r#"alerting:
  external_url: http://hearth.test:9700
notifications:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 1h
  receivers:
    - name: hook
      webhook_configs:
        - url: {}/hook
"#,
            receiver.url
        ),
    )
    .unwrap();
    Hearth::start(
        &dir.join("data"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--rules",
            logql.to_str().unwrap(),
            "--rules",
            promql.to_str().unwrap(),
            "--test-clock",
            &clock.to_string(),
        ],
    )
}

fn push_lines(h: &Hearth, lines: &[(i64, &str)]) {
    let values: Vec<Value> = lines
        .iter()
        .map(|(ms, line)| json!([(ms * 1_000_000).to_string(), line]))
        .collect();
    let body = json!({"streams": [{"stream": {"app": "a"}, "values": values}]});
    let r = h
        .client()
        .post(h.url("/loki/api/v1/push"))
        .json(&body)
        .send()
        .unwrap();
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

fn alerts(h: &Hearth, path: &str) -> Vec<Value> {
    let v = h.get_json(path);
    assert_eq!(v["status"], "success");
    let mut alerts = v["data"]["alerts"].as_array().cloned().unwrap();
    alerts.sort_by_key(|a| a["labels"]["alertname"].as_str().unwrap().to_string());
    alerts
}

fn instant(h: &Hearth, query: &str, t: i64) -> Vec<Value> {
    let v = h.post_form_json(
        "/api/v1/query",
        &[("query", query), ("time", &(t as f64 / 1000.0).to_string())],
    );
    v["data"]["result"].as_array().cloned().unwrap()
}

fn group_names(v: &Value) -> Vec<String> {
    v["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn logql_rules_alert_record_and_notify() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let t0 = t0();
    let h = start(dir.path(), &receiver, t0);

    push_lines(
        &h,
        &[
            (t0 + SEC, "level=error msg=x"),
            (t0 + 2 * SEC, "level=info msg=fine"),
            (t0 + 3 * SEC, "level=error msg=y"),
            (t0 + 4 * SEC, "level=error msg=z"),
        ],
    );

    // First slot: three errors in the last 5m, over 2: pending.
    tick(&h, t0 + 30 * SEC);
    let a = alerts(&h, "/prometheus/api/v1/alerts");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["state"], "pending");
    assert_eq!(a[0]["value"], "3e+00");
    assert_eq!(
        a[0]["labels"],
        json!({"alertname": "ManyErrors", "app": "a", "severity": "page"})
    );
    assert_eq!(a[0]["annotations"]["summary"], "a logged 3 errors");

    // The recording rule's series is in the metrics store, for PromQL.
    let recorded = instant(&h, "app:errors:rate5m", t0 + 30 * SEC);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(
        recorded[0]["metric"],
        json!({"__name__": "app:errors:rate5m", "app": "a"})
    );
    assert_eq!(recorded[0]["value"][1], "0.01");

    tick(&h, t0 + 60 * SEC);
    assert_eq!(
        alerts(&h, "/prometheus/api/v1/alerts")[0]["state"],
        "pending"
    );
    tick(&h, t0 + 90 * SEC);

    // /api/v1/alerts lists every rule's alerts; Loki's path only LogQL's.
    let all = alerts(&h, "/api/v1/alerts");
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["labels"]["alertname"], "Always");
    assert_eq!(all[1]["labels"]["alertname"], "ManyErrors");
    assert_eq!(all[1]["state"], "firing");
    let logql = alerts(&h, "/prometheus/api/v1/alerts");
    assert_eq!(logql.len(), 1, "{logql:?}");
    assert_eq!(logql[0]["state"], "firing");
    assert_eq!(logql[0], all[1]);

    let firing = instant(&h, "ALERTS{alertname=\"ManyErrors\"}", t0 + 90 * SEC);
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0]["metric"]["alertstate"], "firing");
    assert_eq!(firing[0]["metric"]["app"], "a");
    let for_state = instant(
        &h,
        "ALERTS_FOR_STATE{alertname=\"ManyErrors\"}",
        t0 + 90 * SEC,
    );
    assert_eq!(
        for_state[0]["value"][1],
        ((t0 + 30 * SEC) / 1000).to_string()
    );

    // The webhook hears the LogQL alert fire.
    let sent = receiver.take();
    let fired: Vec<Value> = sent
        .iter()
        .filter(|r| r.path == "/hook")
        .map(|r| r.json())
        .filter(|b| b["groupLabels"]["alertname"] == "ManyErrors")
        .collect();
    assert_eq!(fired.len(), 1, "{sent:#?}");
    assert_eq!(fired[0]["status"], "firing");
    assert_eq!(
        fired[0]["alerts"][0]["labels"],
        json!({"alertname": "ManyErrors", "app": "a", "severity": "page"})
    );
    assert_eq!(
        fired[0]["alerts"][0]["annotations"]["summary"],
        "a logged 3 errors"
    );

    // Rules: everything on Prometheus' path, LogQL groups on Loki's.
    let rules = h.get_json("/api/v1/rules");
    assert_eq!(group_names(&rules), ["app-errors", "always"]);
    let rules = h.get_json("/prometheus/api/v1/rules");
    assert_eq!(group_names(&rules), ["app-errors"]);
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["interval"], 30.0);
    assert_eq!(
        group["file"],
        dir.path().join("logs.yml").display().to_string()
    );
    let alert_rule = &group["rules"][0];
    assert_eq!(alert_rule["type"], "alerting");
    assert_eq!(alert_rule["name"], "ManyErrors");
    assert_eq!(alert_rule["health"], "ok", "{alert_rule}");
    assert_eq!(alert_rule["state"], "firing");
    assert_eq!(alert_rule["duration"], 60.0);
    assert_eq!(
        alert_rule["query"],
        r#"sum by (app) (count_over_time({app="a"} |= "error" [5m])) > 2"#
    );
    let record_rule = &group["rules"][1];
    assert_eq!(record_rule["type"], "recording");
    assert_eq!(record_rule["name"], "app:errors:rate5m");
    assert_eq!(record_rule["health"], "ok", "{record_rule}");
    let only_records = h.get_json("/prometheus/api/v1/rules?type=record");
    let rules = only_records["data"]["groups"][0]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 1);

    // Loki's ruler configuration API: YAML keyed by rule file.
    let r = h.get("/loki/api/v1/rules");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/yaml"
    );
    let yaml: serde_norway::Value = serde_norway::from_str(&r.text().unwrap()).unwrap();
    let want: serde_norway::Value = serde_norway::from_str(&format!(
        r#"{file:?}:
  - name: app-errors
    interval: 30s
    rules:
      - alert: ManyErrors
        expr: sum by (app) (count_over_time({{app="a"}} |= "error" [5m])) > 2
        for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{{{ $labels.app }}}} logged {{{{ $value }}}} errors"
      - record: app:errors:rate5m
        expr: sum by (app) (rate({{app="a"}} |= "error" [5m]))
"#,
        file = dir.path().join("logs.yml").display().to_string()
    ))
    .unwrap();
    assert_eq!(yaml, want);

    // The errors age out of the 5m window: resolved.
    tick(&h, t0 + 6 * MIN);
    assert!(alerts(&h, "/prometheus/api/v1/alerts").is_empty());
    assert!(instant(&h, "ALERTS{alertname=\"ManyErrors\"}", t0 + 6 * MIN).is_empty());
}

#[test]
fn loki_rules_api_without_logql_groups_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("node.yml");
    std::fs::write(&rules, PROMQL_RULES).unwrap();
    let h = Hearth::start(
        &dir.path().join("data"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--test-clock",
            "1700000000000",
        ],
    );
    let r = h.get("/loki/api/v1/rules");
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().unwrap().trim_end(), "no rule groups found");
    let v = h.get_json("/prometheus/api/v1/rules");
    assert_eq!(v["data"]["groups"], json!([]));
    assert_eq!(group_names(&h.get_json("/api/v1/rules")), ["always"]);
}

#[test]
fn a_log_query_rule_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("logs.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: g\n    language: logql\n    rules:\n      - alert: Lines\n        expr: '{app=\"a\"} |= \"error\"'\n",
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
            "6:15: group \"g\", rule 1, \"Lines\": could not parse expression: a LogQL rule must be a metric query, not a log query"
        ),
        "{err}"
    );
}
