//! Silences and inhibition muting notifications.

use serde_json::json;

use crate::common::*;

fn yaml(sink: &Sink, inhibit: &str) -> String {
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
    webhook_configs: [{{url: "{}/hook"}}]
{inhibit}
"#,
        sink.url
    )
}

#[tokio::test]
async fn silence_suppresses_then_expires() {
    let sink = Sink::start().await;
    let h = Harness::new(&yaml(&sink, ""));
    let api = h.serve_api().await;
    let client = reqwest::Client::new();
    let resp: serde_json::Value = client
        .post(format!("{api}/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": false}],
            "startsAt": "2023-11-14T22:13:20Z",
            "endsAt": "2023-11-14T22:23:20Z",
            "createdBy": "ops",
            "comment": "replacing disk"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = resp["silenceID"].as_str().unwrap().to_string();

    h.receive_at(
        T0,
        vec![alert(
            &[("alertname", "DiskFull"), ("instance", "nas")],
            &[],
            T0,
            Some(T0 + 24 * H),
        )],
    );
    h.at(T0 + 30 * S).await;
    h.at(T0 + 5 * M + 30 * S).await;
    assert_eq!(sink.count(), 0, "silenced");
    let alerts: serde_json::Value = reqwest::get(format!("{api}/api/v2/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        alerts[0]["status"],
        json!({"state": "suppressed", "silencedBy": [id], "inhibitedBy": [], "mutedBy": []})
    );
    let m = h.metrics();
    assert!(
        has_line(&m, r#"hearth_alertmanager_alerts{state="suppressed"} 1"#),
        "{m}"
    );
    assert!(
        has_line(&m, r#"hearth_alertmanager_alerts{state="active"} 0"#),
        "{m}"
    );
    assert!(has_line(&m, r#"hearth_silences{state="active"} 1"#), "{m}");
    let unsilenced: serde_json::Value = reqwest::get(format!("{api}/api/v2/alerts?silenced=false"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unsilenced, json!([]));

    // The silence ended at +10m; the next tick notifies.
    h.at(T0 + 10 * M + 30 * S).await;
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].body["alerts"][0]["labels"]["alertname"], "DiskFull");
    let alerts: serde_json::Value = reqwest::get(format!("{api}/api/v2/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alerts[0]["status"]["state"], "active");
    let m = h.metrics();
    assert!(has_line(&m, r#"hearth_silences{state="expired"} 1"#), "{m}");
    assert!(
        has_line(&m, r#"hearth_alertmanager_alerts{state="active"} 1"#),
        "{m}"
    );
}

#[tokio::test]
async fn inhibition_mutes_matching_targets() {
    let sink = Sink::start().await;
    let rules = r#"
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [instance]
"#;
    let h = Harness::new(&yaml(&sink, rules));
    let api = h.serve_api().await;
    let down = alert(
        &[
            ("alertname", "NodeDown"),
            ("instance", "a"),
            ("severity", "critical"),
        ],
        &[],
        T0,
        Some(T0 + 24 * H),
    );
    let load_a = alert(
        &[
            ("alertname", "HighLoad"),
            ("instance", "a"),
            ("severity", "warning"),
        ],
        &[],
        T0,
        Some(T0 + 24 * H),
    );
    let load_b = alert(
        &[
            ("alertname", "HighLoad"),
            ("instance", "b"),
            ("severity", "warning"),
        ],
        &[],
        T0,
        Some(T0 + 24 * H),
    );
    h.receive_at(T0, vec![down.clone(), load_a, load_b]);
    h.at(T0 + 30 * S).await;
    let mut reqs = sink.take();
    reqs.sort_by_key(|r| r.body["groupKey"].as_str().unwrap().to_string());
    let instances = |r: &Recorded| -> Vec<String> {
        r.body["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                format!(
                    "{}/{}",
                    a["labels"]["alertname"].as_str().unwrap(),
                    a["labels"]["instance"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(reqs.len(), 2);
    assert_eq!(instances(&reqs[0]), ["HighLoad/b"]);
    assert_eq!(instances(&reqs[1]), ["NodeDown/a"]);

    let inhibited: serde_json::Value = reqwest::get(format!(
        "{api}/api/v2/alerts?filter=instance%3D%22a%22&filter=severity%3Dwarning"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(inhibited.as_array().unwrap().len(), 1);
    assert_eq!(
        inhibited[0]["status"]["inhibitedBy"],
        json!(["6e379630fc39bd16"])
    );
    let hidden: serde_json::Value = reqwest::get(format!("{api}/api/v2/alerts?inhibited=false"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hidden.as_array().unwrap().len(), 2);

    // The source resolves: the target is no longer muted.
    let mut down_done = down;
    down_done.ends_at = Some(T0 + M);
    h.receive_at(T0 + M, vec![down_done]);
    h.at(T0 + 5 * M + 30 * S).await;
    let mut reqs = sink.take();
    reqs.sort_by_key(|r| r.body["groupKey"].as_str().unwrap().to_string());
    assert_eq!(reqs.len(), 2);
    assert_eq!(instances(&reqs[0]), ["HighLoad/a", "HighLoad/b"]);
    assert_eq!(reqs[1].body["status"], "resolved");
}
