//! Notifications end to end: a rule file, data pushed through remote write,
//! and real HTTP receivers in the test recording what Hearth sends. Time is
//! the manual clock (`--test-clock`, `POST /-/clock`), which returns only
//! once every evaluation and notification due has run, so each assertion
//! sees exactly what was sent by then.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::receiver::{Receiver, Recorded};
use common::{Hearth, series};
use hearth_ingest::proto::remote_v1::WriteRequest;
use serde_json::{Value, json};

const T0: i64 = 1_700_000_000_000;
const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;

const RULES: &str = r#"groups:
  - name: node
    interval: 10s
    rules:
      - alert: InstanceDown
        expr: up == 0
        labels:
          severity: '{{ if eq $labels.instance "db" }}critical{{ else }}warning{{ end }}'
        annotations:
          summary: "{{ $labels.instance }} is down"
"#;

fn config(receiver: &Receiver, extra: &str) -> String {
    format!(
        r#"alerting:
  external_url: http://hearth.test:9700
notifications:
  route:
    receiver: phone
    group_by: [alertname]
    group_wait: 30s
    group_interval: 1m
    repeat_interval: 1h
  receivers:
    - name: phone
      webhook_configs:
        - url: {url}/hook
      ntfy_configs:
        - url: {url}/homelab-alerts
          token: tk_secret
{extra}"#,
        url = receiver.url
    )
}

fn start(dir: &Path, config_text: &str, clock: i64) -> Hearth {
    let rules = dir.join("rules.yml");
    std::fs::write(&rules, RULES).unwrap();
    let config = dir.join("hearth.yaml");
    std::fs::write(&config, config_text).unwrap();
    Hearth::start(
        &dir.join("data"),
        &[
            "--config",
            config.to_str().unwrap(),
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
    assert_eq!(h.push_v1(&req).status(), 204);
}

fn tick(h: &Hearth, t: i64) -> Value {
    let r = h
        .client()
        .post(h.url(&format!("/-/clock?time={t}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

/// FNV-1a over sorted labels, as Alertmanager fingerprints alerts.
fn fingerprint(labels: &[(&str, &str)]) -> String {
    let mut sorted = labels.to_vec();
    sorted.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (n, v) in sorted {
        for b in n.bytes().chain([0xff]).chain(v.bytes()).chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn by_path<'a>(requests: &'a [Recorded], path: &str) -> Vec<&'a Recorded> {
    requests.iter().filter(|r| r.path == path).collect()
}

const ALERT_A: [(&str, &str); 4] = [
    ("alertname", "InstanceDown"),
    ("instance", "a"),
    ("job", "node"),
    ("severity", "warning"),
];

#[test]
fn webhook_and_ntfy_hear_firing_then_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let h = start(dir.path(), &config(&receiver, ""), T0);
    for t in [
        T0,
        T0 + 10 * SEC,
        T0 + 20 * SEC,
        T0 + 30 * SEC,
        T0 + 40 * SEC,
    ] {
        push_up(&h, "a", t, 0.0);
    }
    tick(&h, T0 + 10 * SEC);
    // group_wait holds the first notification back.
    tick(&h, T0 + 30 * SEC);
    assert!(receiver.take().is_empty());

    tick(&h, T0 + 40 * SEC);
    let sent = receiver.take();
    assert_eq!(sent.len(), 2, "{sent:#?}");
    let hook = by_path(&sent, "/hook");
    assert_eq!(hook.len(), 1);
    assert_eq!(hook[0].header("content-type"), Some("application/json"));
    let labels =
        json!({"alertname": "InstanceDown", "instance": "a", "job": "node", "severity": "warning"});
    let firing_alert = json!({
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": "a is down"},
        "startsAt": "2023-11-14T22:13:30Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://hearth.test:9700/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
        "fingerprint": fingerprint(&ALERT_A),
    });
    assert_eq!(
        hook[0].json(),
        json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"InstanceDown\"}",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "phone",
            "groupLabels": {"alertname": "InstanceDown"},
            "commonLabels": labels,
            "commonAnnotations": {"summary": "a is down"},
            "externalURL": "http://hearth.test:9700",
            "alerts": [firing_alert],
        })
    );

    let ntfy = by_path(&sent, "/");
    assert_eq!(ntfy.len(), 1, "ntfy publishes JSON to the server root");
    assert_eq!(ntfy[0].header("authorization"), Some("Bearer tk_secret"));
    assert_eq!(
        ntfy[0].json(),
        json!({
            "topic": "homelab-alerts",
            "title": "[FIRING:1] InstanceDown",
            "message": "a is down",
            "priority": 4,
            "tags": ["warning"],
            "click": "http://hearth.test:9700/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
        })
    );

    // The instance comes back: resolved at the next evaluation, told at the
    // group's next flush (group_interval after the first).
    push_up(&h, "a", T0 + 45 * SEC, 1.0);
    tick(&h, T0 + 50 * SEC);
    tick(&h, T0 + 90 * SEC);
    assert!(receiver.take().is_empty());
    tick(&h, T0 + 100 * SEC);
    let sent = receiver.take();
    let hook = by_path(&sent, "/hook");
    assert_eq!(hook.len(), 1, "{sent:#?}");
    let body = hook[0].json();
    assert_eq!(body["status"], "resolved");
    assert_eq!(body["alerts"][0]["status"], "resolved");
    assert_eq!(body["alerts"][0]["endsAt"], "2023-11-14T22:14:10Z");
    assert_eq!(body["alerts"][0]["startsAt"], "2023-11-14T22:13:30Z");
    let ntfy = by_path(&sent, "/");
    assert_eq!(ntfy[0].json()["title"], "[RESOLVED] InstanceDown");
    assert_eq!(ntfy[0].json()["tags"], json!(["white_check_mark"]));
    assert_eq!(ntfy[0].json()["priority"], 3);

    // Nothing more once everyone heard of the resolution.
    tick(&h, T0 + 10 * MIN);
    assert!(receiver.take().is_empty());
}

#[test]
fn groups_collect_siblings_repeat_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let h = start(dir.path(), &config(&receiver, ""), T0);
    let down = |h: &Hearth, instances: &[&str], t: i64| {
        for i in instances {
            push_up(h, i, t, 0.0);
        }
    };
    down(&h, &["a", "b"], T0);
    tick(&h, T0 + 10 * SEC);
    down(&h, &["a", "b"], T0 + 40 * SEC);
    tick(&h, T0 + 40 * SEC);
    let hook = receiver.take();
    let hook = by_path(&hook, "/hook");
    assert_eq!(hook.len(), 1);
    assert_eq!(hook[0].json()["alerts"].as_array().unwrap().len(), 2);

    // A third instance joins: told at the next group_interval, with all.
    down(&h, &["a", "b", "c"], T0 + 50 * SEC);
    tick(&h, T0 + 50 * SEC);
    assert!(receiver.take().is_empty());
    down(&h, &["a", "b", "c"], T0 + 100 * SEC);
    tick(&h, T0 + 100 * SEC);
    let sent = receiver.take();
    let hook = by_path(&sent, "/hook");
    assert_eq!(hook.len(), 1, "{sent:#?}");
    assert_eq!(hook[0].json()["alerts"].as_array().unwrap().len(), 3);

    // Unchanged: quiet until repeat_interval (1h after the last send).
    let mut t = T0 + 100 * SEC;
    while t < T0 + 100 * SEC + 59 * MIN {
        t += MIN;
        down(&h, &["a", "b", "c"], t);
        tick(&h, t);
    }
    assert!(receiver.take().is_empty());

    // A restart in the middle neither forgets nor re-notifies.
    assert!(h.stop().success());
    let h = start(dir.path(), &config(&receiver, ""), t);
    let alerts = h.get_json("/api/v1/alerts");
    assert_eq!(alerts["data"]["alerts"].as_array().unwrap().len(), 3);
    down(&h, &["a", "b", "c"], t + 10 * SEC);
    tick(&h, t + 10 * SEC);
    down(&h, &["a", "b", "c"], t + 40 * SEC);
    tick(&h, t + 40 * SEC);
    assert!(receiver.take().is_empty(), "restart must not re-notify");

    // The group was rebuilt at the restart, so it flushes every minute from
    // t + 40s: the first flush an hour or more after the last send (at
    // T0 + 100s) is t + 100s.
    down(&h, &["a", "b", "c"], t + 60 * SEC);
    tick(&h, t + 60 * SEC);
    assert!(receiver.take().is_empty());
    down(&h, &["a", "b", "c"], t + 100 * SEC);
    tick(&h, t + 100 * SEC);
    let sent = receiver.take();
    let hook = by_path(&sent, "/hook");
    assert_eq!(hook.len(), 1, "repeat after 1h: {sent:#?}");
    assert_eq!(hook[0].json()["alerts"].as_array().unwrap().len(), 3);
}

#[test]
fn silences_and_inhibition_keep_the_phone_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let inhibit = "  inhibit_rules:\n    - source_matchers: ['severity=\"critical\"']\n      target_matchers: ['severity=\"warning\"']\n      equal: [job]\n";
    let h = start(dir.path(), &config(&receiver, inhibit), T0);

    // Silence instance b for an hour, through Alertmanager's API.
    let silence = json!({
        "matchers": [{"name": "instance", "value": "b", "isRegex": false, "isEqual": true}],
        "startsAt": "2023-11-14T22:13:20Z",
        "endsAt": "2023-11-14T23:13:20Z",
        "createdBy": "test",
        "comment": "maintenance",
    });
    let r = h
        .client()
        .post(h.url("/api/v2/silences"))
        .json(&silence)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_string();

    for t in [T0, T0 + 40 * SEC] {
        push_up(&h, "a", t, 0.0);
        push_up(&h, "b", t, 0.0);
    }
    tick(&h, T0 + 10 * SEC);
    tick(&h, T0 + 40 * SEC);
    let sent = receiver.take();
    let hook = by_path(&sent, "/hook");
    assert_eq!(hook.len(), 1);
    let alerts = hook[0].json()["alerts"].clone();
    assert_eq!(
        alerts.as_array().unwrap().len(),
        1,
        "b is silenced: {alerts}"
    );
    assert_eq!(alerts[0]["labels"]["instance"], "a");

    let listed = h.get_json("/api/v2/alerts");
    let b = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["instance"] == "b")
        .unwrap();
    assert_eq!(b["status"]["state"], "suppressed");
    assert_eq!(b["status"]["silencedBy"], json!([id]));

    // The database goes down too: its critical alert inhibits the warnings
    // of the same job, so only it is told.
    for t in [T0 + 50 * SEC, T0 + 100 * SEC] {
        for i in ["a", "b", "db"] {
            push_up(&h, i, t, 0.0);
        }
    }
    tick(&h, T0 + 50 * SEC);
    tick(&h, T0 + 100 * SEC);
    let sent = receiver.take();
    let hook = by_path(&sent, "/hook");
    assert_eq!(hook.len(), 1, "{sent:#?}");
    let alerts = hook[0].json()["alerts"].clone();
    let firing: Vec<_> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "firing")
        .map(|a| a["labels"]["instance"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(firing, ["db"], "{alerts}");
    let ntfy = by_path(&sent, "/");
    assert_eq!(ntfy[0].json()["priority"], 5);
    assert_eq!(ntfy[0].json()["tags"], json!(["rotating_light"]));

    // Expiring the silence is visible in the API.
    let r = h
        .client()
        .delete(h.url(&format!("/api/v2/silence/{id}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = h.get_json(&format!("/api/v2/silence/{id}"));
    assert_eq!(s["status"]["state"], "expired");
}

#[test]
fn failed_sends_are_retried_counted_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let h = start(dir.path(), &config(&receiver, ""), T0);
    for t in [T0, T0 + 40 * SEC] {
        push_up(&h, "a", t, 0.0);
    }
    tick(&h, T0 + 10 * SEC);
    // Both integrations fail once with a 503.
    receiver.respond_next(503);
    receiver.respond_next(503);
    let next = tick(&h, T0 + 40 * SEC);
    assert_eq!(receiver.take().len(), 2);
    let retry_at = next["nextNotification"].as_i64().unwrap();
    assert!(
        retry_at > T0 + 40 * SEC && retry_at < T0 + 100 * SEC,
        "{next}"
    );

    let receivers = h.get_json("/api/v2/receivers");
    let integrations = receivers[0]["integrations"].as_array().unwrap();
    assert!(
        integrations.iter().all(|i| i["lastNotifyAttemptError"]
            .as_str()
            .unwrap()
            .contains("503")),
        "{receivers}"
    );
    let metrics = h.get("/metrics").text().unwrap();
    assert!(
        metrics.contains("hearth_notification_requests_failed_total{integration=\"webhook\"} 1"),
        "{metrics}"
    );

    tick(&h, retry_at);
    let sent = receiver.take();
    assert_eq!(sent.len(), 2, "retried: {sent:#?}");
    let metrics = h.get("/metrics").text().unwrap();
    assert!(
        metrics.contains("hearth_notifications_total{integration=\"webhook\"} 1"),
        "{metrics}"
    );
}
