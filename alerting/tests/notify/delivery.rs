//! Exact payloads: webhook, ntfy and Alertmanager forwarding.

use serde_json::json;

use crate::common::*;

fn webhook_yaml(sink: &Sink, extra: &str) -> String {
    format!(
        r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: "{}/hook"
{extra}
"#,
        sink.url
    )
}

const DOWN: &[(&str, &str)] = &[
    ("alertname", "InstanceDown"),
    ("instance", "h1:9100"),
    ("job", "node"),
    ("severity", "page"),
];

#[tokio::test]
async fn webhook_firing_then_resolved() {
    let sink = Sink::start().await;
    let h = Harness::new(&webhook_yaml(&sink, ""));
    h.receive_at(T0, vec![alert(DOWN, &[("summary", "h1 down")], T0, None)]);
    assert_eq!(h.at(T0).await, Some(T0 + 30 * S));
    assert_eq!(sink.count(), 0);

    assert_eq!(h.at(T0 + 30 * S).await, Some(T0 + 5 * M + 30 * S));
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"));
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        r.headers["user-agent"],
        format!("Hearth/{}", env!("CARGO_PKG_VERSION"))
    );
    let labels = json!({"alertname": "InstanceDown", "instance": "h1:9100", "job": "node", "severity": "page"});
    assert_eq!(
        r.body,
        json!({
            "receiver": "hook",
            "status": "firing",
            "alerts": [{
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": "h1 down"},
                "startsAt": "2023-11-14T22:13:20Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prom/graph",
                "fingerprint": "d6157c0bd46a2d86"
            }],
            "groupLabels": {"alertname": "InstanceDown"},
            "commonLabels": labels,
            "commonAnnotations": {"summary": "h1 down"},
            "externalURL": EXTERNAL_URL,
            "version": "4",
            "groupKey": "{}:{alertname=\"InstanceDown\"}",
            "truncatedAlerts": 0
        })
    );

    // Resolved a minute later; told at the next group_interval tick.
    h.receive_at(
        T0 + M,
        vec![alert(DOWN, &[("summary", "h1 down")], T0, Some(T0 + M))],
    );
    assert_eq!(h.at(T0 + M).await, Some(T0 + 5 * M + 30 * S));
    assert_eq!(
        h.at(T0 + 5 * M + 30 * S - 1).await,
        Some(T0 + 5 * M + 30 * S)
    );
    assert_eq!(sink.count(), 0);
    // Everything delivered and resolved: the group is gone.
    assert_eq!(h.at(T0 + 5 * M + 30 * S).await, None);
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].body,
        json!({
            "receiver": "hook",
            "status": "resolved",
            "alerts": [{
                "status": "resolved",
                "labels": labels,
                "annotations": {"summary": "h1 down"},
                "startsAt": "2023-11-14T22:13:20Z",
                "endsAt": "2023-11-14T22:14:20Z",
                "generatorURL": "http://prom/graph",
                "fingerprint": "d6157c0bd46a2d86"
            }],
            "groupLabels": {"alertname": "InstanceDown"},
            "commonLabels": labels,
            "commonAnnotations": {"summary": "h1 down"},
            "externalURL": EXTERNAL_URL,
            "version": "4",
            "groupKey": "{}:{alertname=\"InstanceDown\"}",
            "truncatedAlerts": 0
        })
    );

    // Prometheus keeps re-sending the resolved alert for a while; nobody
    // needs to hear about it again.
    h.receive_at(
        T0 + 7 * M,
        vec![alert(DOWN, &[("summary", "h1 down")], T0, Some(T0 + M))],
    );
    assert_eq!(h.at(T0 + 7 * M).await, None);
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn webhook_auth_truncation_and_send_resolved_false() {
    let sink = Sink::start().await;
    let extra = "        max_alerts: 1\n        send_resolved: false\n        http_config: {authorization: {credentials: s3cret}}";
    let h = Harness::new(&webhook_yaml(&sink, extra));
    let a = alert(&[("alertname", "X"), ("job", "a")], &[], T0, Some(T0 + H));
    let b = alert(&[("alertname", "X"), ("job", "b")], &[], T0, Some(T0 + H));
    h.receive_at(T0, vec![a.clone(), b.clone()]);
    h.at(T0 + 30 * S).await;
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].headers["authorization"], "Bearer s3cret");
    assert_eq!(reqs[0].body["truncatedAlerts"], 1);
    assert_eq!(reqs[0].body["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(reqs[0].body["alerts"][0]["labels"]["job"], "a");
    // Common labels are those of the alerts sent, as in Alertmanager.
    assert_eq!(
        reqs[0].body["commonLabels"],
        json!({"alertname": "X", "job": "a"})
    );

    // One resolves: without send_resolved that is no news.
    let mut a_done = a.clone();
    a_done.ends_at = Some(T0 + M);
    h.receive_at(T0 + M, vec![a_done.clone()]);
    h.at(T0 + 5 * M + 30 * S).await;
    assert_eq!(sink.count(), 0);
    // Both resolved: the log must be cleared, but there is nothing to send.
    let mut b_done = b.clone();
    b_done.ends_at = Some(T0 + 6 * M);
    h.receive_at(T0 + 6 * M, vec![b_done]);
    assert_eq!(h.at(T0 + 10 * M + 30 * S).await, None);
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn ntfy_json_publish() {
    let sink = Sink::start().await;
    let yaml = format!(
        r#"
route: {{receiver: phone, group_by: [alertname], group_wait: 0s}}
receivers:
  - name: phone
    ntfy_configs:
      - url: "{}/alerts-topic"
        tags: [homelab]
        token: tk_123
"#,
        sink.url
    );
    let h = Harness::new(&yaml);
    let mut api = alert(
        &[
            ("alertname", "HighErrorRate"),
            ("job", "api"),
            ("severity", "critical"),
        ],
        &[("summary", "api 5xx at 12%")],
        T0,
        None,
    );
    api.generator_url = "http://prom/api".into();
    let web = alert(
        &[
            ("alertname", "HighErrorRate"),
            ("job", "web"),
            ("severity", "warning"),
        ],
        &[("description", "web errors")],
        T0,
        None,
    );
    h.receive_at(T0, vec![web.clone(), api.clone()]);
    assert_eq!(h.at(T0).await, Some(T0 + 5 * M));
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    assert_eq!(r.headers["authorization"], "Bearer tk_123");
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        r.body,
        json!({
            "topic": "alerts-topic",
            "title": "[FIRING:2] HighErrorRate",
            "message": "api 5xx at 12%\nweb errors",
            "priority": 5,
            "tags": ["rotating_light", "homelab"],
            "click": "http://prom/api"
        })
    );

    let (mut api_done, mut web_done) = (api, web);
    api_done.ends_at = Some(T0 + M);
    web_done.ends_at = Some(T0 + M);
    h.receive_at(T0 + M, vec![api_done, web_done]);
    h.at(T0 + 5 * M).await;
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].body,
        json!({
            "topic": "alerts-topic",
            "title": "[RESOLVED] HighErrorRate",
            "message": "api 5xx at 12%\nweb errors",
            "priority": 3,
            "tags": ["white_check_mark", "homelab"],
            "click": "http://prom/api"
        })
    );
}

#[tokio::test]
async fn ntfy_basic_auth_and_fixed_priority() {
    let sink = Sink::start().await;
    let yaml = format!(
        r#"
route: {{receiver: phone, group_wait: 0s}}
receivers:
  - name: phone
    ntfy_configs: [{{url: "{}/t", username: u, password: p, priority: 2, click: "http://dash"}}]
"#,
        sink.url
    );
    let h = Harness::new(&yaml);
    h.receive_at(
        T0,
        vec![alert(
            &[("alertname", "A"), ("severity", "critical")],
            &[],
            T0,
            None,
        )],
    );
    h.at(T0).await;
    let reqs = sink.take();
    assert_eq!(reqs[0].headers["authorization"], "Basic dTpw");
    assert_eq!(
        reqs[0].body,
        json!({
            "topic": "t",
            "title": "[FIRING:1]",
            "message": "{alertname=\"A\", severity=\"critical\"}",
            "priority": 2,
            "tags": ["bell"],
            "click": "http://dash"
        })
    );
}

#[tokio::test]
async fn alertmanager_forwarding() {
    let sink = Sink::start().await;
    let yaml = format!(
        r#"
resend_delay: 1m
route: {{receiver: am, group_wait: 30s}}
receivers:
  - name: am
    alertmanager_configs: [{{url: "{}"}}]
"#,
        sink.url
    );
    let h = Harness::new(&yaml);
    let api = h.serve_api().await;
    // Local silences do not apply to forwarding.
    let resp = reqwest::Client::new()
        .post(format!("{api}/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": false}],
            "startsAt": "2023-11-14T22:13:20Z",
            "endsAt": "2023-11-15T22:13:20Z",
            "createdBy": "t",
            "comment": "c"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let disk = &[("alertname", "DiskFull"), ("instance", "nas")];
    let leased = alert(disk, &[("summary", "disk 95%")], T0, Some(T0 + 4 * M));
    h.receive_at(T0, vec![leased]);
    assert_eq!(h.at(T0).await, Some(T0 + 30 * S));
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].path.as_str()),
        ("POST", "/api/v2/alerts")
    );
    assert_eq!(reqs[0].headers["content-type"], "application/json");
    assert_eq!(
        reqs[0].body,
        json!([{
            "labels": {"alertname": "DiskFull", "instance": "nas"},
            "annotations": {"summary": "disk 95%"},
            "startsAt": "2023-11-14T22:13:20Z",
            "endsAt": "2023-11-14T22:17:20Z",
            "generatorURL": "http://prom/graph"
        }])
    );
    // Nothing at the group flush; re-sent after resend_delay.
    assert_eq!(h.at(T0 + 30 * S).await, Some(T0 + M));
    assert_eq!(sink.count(), 0);
    h.at(T0 + M).await;
    assert_eq!(sink.take().len(), 1);

    // Resolution is forwarded at once, then repeated for 15 minutes.
    let done = alert(disk, &[("summary", "disk 95%")], T0, Some(T0 + 90 * S));
    h.receive_at(T0 + 90 * S, vec![done]);
    let next = h.at(T0 + 90 * S).await;
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].body[0]["endsAt"], "2023-11-14T22:14:50Z");
    let sent = run_until(&h, &sink, next, T0 + H).await;
    let expected: Vec<i64> = (1..=14).map(|k| T0 + 90 * S + k * M).collect();
    assert_eq!(sent, expected);
    assert_eq!(sink.take().len(), 14);
    assert_eq!(h.at(T0 + H).await, None);

    // An alert sent without an end is forwarded without one, so the
    // external Alertmanager applies its own resolve timeout.
    h.receive_at(
        T0 + 2 * H,
        vec![alert(&[("alertname", "NoEnd")], &[], T0 + 2 * H, None)],
    );
    h.at(T0 + 2 * H).await;
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].body[0].get("endsAt").is_none(), "{}", reqs[0].body);
    assert!(has_line(
        &h.metrics(),
        "hearth_notifications_total{integration=\"alertmanager\"} 18"
    ));
}
