//! group_wait / group_interval / repeat_interval, retries and failures.

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

fn firing(instance: &str) -> hearth_alerting::notify::Alert {
    alert(
        &[("alertname", "Load"), ("instance", instance)],
        &[],
        T0,
        Some(T0 + 24 * H),
    )
}

#[tokio::test]
async fn group_wait_interval_and_repeat() {
    let sink = Sink::start().await;
    let h = Harness::new(&yaml(&sink));
    h.receive_at(T0, vec![firing("a")]);
    assert_eq!(h.at(T0).await, Some(T0 + 30 * S));
    assert_eq!(h.at(T0 + 30 * S - 1).await, Some(T0 + 30 * S));
    assert_eq!(sink.count(), 0, "nothing before group_wait");
    assert_eq!(h.at(T0 + 30 * S).await, Some(T0 + 5 * M + 30 * S));
    assert_eq!(sink.take().len(), 1, "sent when group_wait is over");

    // A new alert in the group waits for the next group_interval tick.
    h.receive_at(T0 + M, vec![firing("b")]);
    assert_eq!(h.at(T0 + M).await, Some(T0 + 5 * M + 30 * S));
    assert_eq!(
        h.at(T0 + 5 * M + 30 * S - 1).await,
        Some(T0 + 5 * M + 30 * S)
    );
    assert_eq!(sink.count(), 0);
    assert_eq!(h.at(T0 + 5 * M + 30 * S).await, Some(T0 + 10 * M + 30 * S));
    let reqs = sink.take();
    assert_eq!(reqs.len(), 1);
    let instances: Vec<&str> = reqs[0].body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["instance"].as_str().unwrap())
        .collect();
    assert_eq!(instances, ["a", "b"]);

    // Unchanged: repeated exactly once repeat_interval has passed.
    let sent = run_until(&h, &sink, Some(T0 + 10 * M + 30 * S), T0 + 8 * H + 6 * M).await;
    assert_eq!(
        sent,
        [T0 + 4 * H + 5 * M + 30 * S, T0 + 8 * H + 5 * M + 30 * S]
    );
}

#[tokio::test]
async fn old_alerts_skip_group_wait() {
    let sink = Sink::start().await;
    let h = Harness::new(&yaml(&sink));
    // Started ten minutes before it reached us: no point in waiting.
    h.receive_at(T0 + 10 * M, vec![firing("a")]);
    assert_eq!(h.at(T0 + 10 * M).await, Some(T0 + 15 * M));
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn retry_after_503_then_success() {
    let sink = Sink::start().await;
    sink.respond(&[503]);
    let h = Harness::new(&yaml(&sink));
    h.receive_at(T0, vec![firing("a")]);
    assert_eq!(
        h.at(T0 + 30 * S).await,
        Some(T0 + 31 * S),
        "retry scheduled after 1s"
    );
    assert_eq!(h.at(T0 + 31 * S - 1).await, Some(T0 + 31 * S));
    assert_eq!(sink.count(), 1);
    assert_eq!(h.at(T0 + 31 * S).await, Some(T0 + 5 * M + 30 * S));
    let reqs = sink.take();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, reqs[1].body);
    // Delivered: the next tick has nothing new to say.
    h.at(T0 + 5 * M + 30 * S).await;
    assert_eq!(sink.count(), 0);
    let m = h.metrics();
    assert!(
        has_line(&m, r#"hearth_notifications_total{integration="webhook"} 1"#),
        "{m}"
    );
    assert!(
        has_line(
            &m,
            r#"hearth_notification_requests_total{integration="webhook"} 2"#
        ),
        "{m}"
    );
    assert!(
        has_line(
            &m,
            r#"hearth_notification_requests_failed_total{integration="webhook"} 1"#
        ),
        "{m}"
    );
    assert!(!m.contains("hearth_notifications_failed_total{"), "{m}");
}

#[tokio::test]
async fn retries_give_up_at_the_next_flush() {
    let sink = Sink::start().await;
    sink.always(503);
    let h = Harness::new(&yaml(&sink));
    h.receive_at(T0, vec![firing("a")]);
    let sent = run_until(&h, &sink, Some(T0 + 30 * S), T0 + 5 * M + 30 * S).await;
    let secs: Vec<i64> = sent.iter().map(|t| (t - T0) / S).collect();
    // Backoff 1s doubling, capped at 60s; the regular flush at 330s starts over.
    assert_eq!(secs, [30, 31, 33, 37, 45, 61, 93, 153, 213, 273, 330]);
    let m = h.metrics();
    assert!(
        has_line(
            &m,
            r#"hearth_notifications_failed_total{integration="webhook",reason="serverError"} 1"#
        ),
        "{m}"
    );
    assert!(
        has_line(&m, r#"hearth_notifications_total{integration="webhook"} 2"#),
        "{m}"
    );
    assert!(
        has_line(
            &m,
            r#"hearth_notification_requests_failed_total{integration="webhook"} 11"#
        ),
        "{m}"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let sink = Sink::start().await;
    sink.always(400);
    let h = Harness::new(&yaml(&sink));
    let api = h.serve_api().await;
    h.receive_at(T0, vec![firing("a")]);
    assert_eq!(
        h.at(T0 + 30 * S).await,
        Some(T0 + 5 * M + 30 * S),
        "no retry"
    );
    assert_eq!(sink.take().len(), 1);
    let m = h.metrics();
    assert!(
        has_line(
            &m,
            r#"hearth_notifications_failed_total{integration="webhook",reason="clientError"} 1"#
        ),
        "{m}"
    );
    assert!(
        has_line(
            &m,
            r#"hearth_notification_requests_failed_total{integration="webhook"} 1"#
        ),
        "{m}"
    );

    // The failure is visible in the API.
    let receivers: serde_json::Value = reqwest::get(format!("{api}/api/v2/receivers"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let integ = &receivers[0]["integrations"][0];
    assert_eq!(integ["lastNotifyAttempt"], "2023-11-14T22:13:50Z");
    assert_eq!(integ["lastNotifyAttemptDuration"], "0.000s");
    let err = integ["lastNotifyAttemptError"].as_str().unwrap();
    assert!(err.starts_with("unexpected status code 400"), "{err}");

    // Not logged as delivered, so the next tick tries again.
    h.at(T0 + 5 * M + 30 * S).await;
    assert_eq!(sink.take().len(), 1);
    sink.always(200);
    h.at(T0 + 10 * M + 30 * S).await;
    assert_eq!(sink.take().len(), 1);
    let receivers: serde_json::Value = reqwest::get(format!("{api}/api/v2/receivers"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        receivers,
        json!([{"name": "hook", "integrations": [{
            "name": "webhook", "index": 0, "sendResolved": true,
            "lastNotifyAttempt": "2023-11-14T22:23:50Z",
            "lastNotifyAttemptDuration": "0.000s",
            "lastNotifyAttemptError": ""
        }]}])
    );
}

#[tokio::test]
async fn unreachable_receiver_is_retried() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let yaml = format!(
        "route: {{receiver: r, group_wait: 0s}}\nreceivers: [{{name: r, webhook_configs: [{{url: 'http://127.0.0.1:{port}/'}}]}}]"
    );
    let h = Harness::new(&yaml);
    h.receive_at(T0, vec![firing("a")]);
    assert_eq!(h.at(T0).await, Some(T0 + S));
    let m = h.metrics();
    assert!(
        has_line(
            &m,
            r#"hearth_notification_requests_failed_total{integration="webhook"} 1"#
        ),
        "{m}"
    );
}
