//! Restarts, reloads, the wall-clock driver and state file handling.

use std::sync::Arc;

use hearth_alerting::clock::ManualClock;
use hearth_alerting::notify::{NotificationsConfig, NotifyError};
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::common::*;

fn yaml(sink: &Sink) -> String {
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
"#,
        sink.url
    )
}

fn disk() -> hearth_alerting::notify::Alert {
    alert(
        &[("alertname", "DiskFull"), ("instance", "nas")],
        &[],
        T0,
        Some(T0 + 24 * H),
    )
}

#[tokio::test]
async fn restart_does_not_renotify_and_keeps_silences() {
    let sink = Sink::start().await;
    let h = Harness::new(&yaml(&sink));
    let api = h.serve_api().await;
    h.receive_at(T0, vec![disk()]);
    h.at(T0 + 30 * S).await;
    assert_eq!(sink.take().len(), 1);
    let resp = reqwest::Client::new()
        .post(format!("{api}/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "alertname", "value": "Other"}],
            "startsAt": "2023-11-14T22:13:20Z",
            "endsAt": "2023-11-16T22:13:20Z",
            "createdBy": "ops",
            "comment": "kept"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(h.dir.path().join("notifications.json").exists());

    // A new process on the same state directory, ten minutes later.
    let Harness { dir, notifier, .. } = h;
    drop(notifier);
    let clock = Arc::new(ManualClock::new(T0 + 10 * M));
    let mut registry = Registry::default();
    let notifier = open_at(&yaml(&sink), clock.clone(), dir.path(), &mut registry).unwrap();
    let h = Harness {
        clock,
        dir,
        notifier,
        registry,
    };
    let api = h.serve_api().await;
    let silences: serde_json::Value = reqwest::get(format!("{api}/api/v2/silences"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(silences.as_array().unwrap().len(), 1);
    assert_eq!(silences[0]["comment"], "kept");

    // Prometheus re-sends the still firing alert.
    h.receive_at(T0 + 10 * M, vec![disk()]);
    let next = h.at(T0 + 10 * M).await;
    assert_eq!(next, Some(T0 + 15 * M));
    assert_eq!(sink.count(), 0, "already notified before the restart");
    let sent = run_until(&h, &sink, next, T0 + 5 * H).await;
    // Repeat counts from the notification before the restart.
    assert_eq!(sent, [T0 + 4 * H + 5 * M]);
}

#[tokio::test]
async fn corrupt_state_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("notifications.json"),
        b"{\"version\":1,\"silences\":[",
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let err = open_at("{}", clock, dir.path(), &mut Registry::default()).unwrap_err();
    assert!(matches!(err, NotifyError::StateCorrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("notifications.json"), "{err}");
}

#[tokio::test]
async fn reload_keeps_alerts_log_and_silences() {
    let sink = Sink::start().await;
    let h = Harness::new(&yaml(&sink));
    h.receive_at(T0, vec![disk()]);
    h.at(T0 + 30 * S).await;
    assert_eq!(sink.take().len(), 1);

    // Same tree, different timings: the group is rebuilt but stays quiet.
    let changed = yaml(&sink).replace("group_interval: 5m", "group_interval: 2m");
    h.clock.set(T0 + M);
    h.notifier.reload(config(&changed)).unwrap();
    assert_eq!(h.at(T0 + M).await, Some(T0 + 3 * M));
    assert_eq!(sink.count(), 0);

    // A bad config is refused and the old one stays.
    let bad = config("receivers: [{name: a}]\nroute: {receiver: nope}");
    assert!(matches!(
        h.notifier.reload(bad),
        Err(NotifyError::Config(_))
    ));
    assert_eq!(h.at(T0 + 3 * M).await, Some(T0 + 5 * M));

    // A new alert still flows through the reloaded tree.
    h.receive_at(
        T0 + 4 * M,
        vec![alert(
            &[("alertname", "DiskFull"), ("instance", "pi")],
            &[],
            T0 + 4 * M,
            None,
        )],
    );
    h.at(T0 + 5 * M).await;
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].body["alerts"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn default_config_collects_but_sends_nothing() {
    let h = Harness::new("{}");
    let api = h.serve_api().await;
    h.receive_at(T0, vec![disk()]);
    assert_eq!(h.at(T0 + 30 * S).await, Some(T0 + 5 * M + 30 * S));
    let alerts: serde_json::Value = reqwest::get(format!("{api}/api/v2/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alerts[0]["receivers"], json!([]));
    assert!(NotificationsConfig::default().validate().is_ok());
}

#[tokio::test]
async fn run_delivers_on_receive_and_stops() {
    let sink = Sink::start().await;
    let yaml = format!(
        "route: {{receiver: r, group_wait: 0s}}\nreceivers: [{{name: r, webhook_configs: [{{url: '{}/'}}]}}]",
        sink.url
    );
    let h = Harness::new(&yaml);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let arrived = sink.arrived.notified();
    tokio::pin!(arrived);
    arrived.as_mut().enable();
    let task = tokio::spawn(h.notifier.clone().run(stop_rx));
    h.receive_at(T0, vec![disk()]);
    // The timeout only guards against a hang; nothing depends on timing.
    tokio::time::timeout(std::time::Duration::from_secs(30), arrived)
        .await
        .expect("run() should deliver after receive()");
    assert_eq!(sink.count(), 1);
    stop_tx.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(30), task)
        .await
        .expect("run() should stop")
        .unwrap();
}
