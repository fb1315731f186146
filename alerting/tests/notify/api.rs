//! The Alertmanager v2 HTTP API.

use serde_json::{Value, json};

use crate::common::*;

const YAML: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  routes:
    - matchers: ['team="db"']
      receiver: db
receivers:
  - name: hook
    webhook_configs: [{url: "http://127.0.0.1:9/hook", send_resolved: false}]
  - name: db
    ntfy_configs: [{url: "https://ntfy.example/db-topic", token: secret_token}]
"#;

async fn get(url: &str) -> Value {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn post_and_list_alerts() {
    let h = Harness::new(YAML);
    let api = h.serve_api().await;
    let client = reqwest::Client::new();
    let body = json!([
        {"labels": {"alertname": "X", "job": "j"}, "annotations": {"summary": "s"},
         "startsAt": "2023-11-14T22:13:20Z", "generatorURL": "http://g"},
        {"labels": {"alertname": "Y", "team": "db"}, "startsAt": "2023-11-14T22:13:20Z",
         "endsAt": "2023-11-14T23:13:20.5Z"},
        {"labels": {"alertname": "Gone"}, "startsAt": "2023-11-14T22:03:20Z",
         "endsAt": "2023-11-14T22:13:20Z"}
    ]);
    let resp = client
        .post(format!("{api}/api/v2/alerts"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let alerts = get(&format!("{api}/api/v2/alerts")).await;
    // Resolved alerts are not listed; order is by fingerprint.
    assert_eq!(
        alerts,
        json!([
            {
                "labels": {"alertname": "Y", "team": "db"},
                "annotations": {},
                "startsAt": "2023-11-14T22:13:20Z",
                "endsAt": "2023-11-14T23:13:20.5Z",
                "generatorURL": "",
                "fingerprint": "4146585c66071e6e",
                "updatedAt": "2023-11-14T22:13:20Z",
                "receivers": [{"name": "db"}],
                "status": {"state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": []}
            },
            {
                "labels": {"alertname": "X", "job": "j"},
                "annotations": {"summary": "s"},
                "startsAt": "2023-11-14T22:13:20Z",
                "endsAt": "2023-11-14T22:18:20Z",
                "generatorURL": "http://g",
                "fingerprint": "73e97ba8ea424605",
                "updatedAt": "2023-11-14T22:13:20Z",
                "receivers": [{"name": "hook"}],
                "status": {"state": "active", "silencedBy": [], "inhibitedBy": [], "mutedBy": []}
            }
        ])
    );
    let only = |q: &str| {
        let api = api.clone();
        let q = q.to_string();
        async move {
            get(&format!("{api}/api/v2/alerts?{q}"))
                .await
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["labels"]["alertname"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(only("filter=alertname%3DX").await, ["X"]);
    assert_eq!(only("filter=%7Bteam%3D~%22d.%2A%22%7D").await, ["Y"]);
    assert_eq!(only("receiver=ho").await, Vec::<String>::new());
    assert_eq!(only("receiver=ho.%2A").await, ["X"]);
    assert_eq!(only("active=false").await, Vec::<String>::new());
    assert_eq!(only("active=true&silenced=false").await.len(), 2);

    let bad = client
        .get(format!("{api}/api/v2/alerts?filter=%7Ba"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = client
        .get(format!("{api}/api/v2/alerts?active=maybe"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn bad_alert_posts_are_rejected() {
    let h = Harness::new(YAML);
    let api = h.serve_api().await;
    let client = reqwest::Client::new();
    for body in [
        "{\"nope\": 1}",
        "not json",
        "[{\"annotations\": {}}]",
        "[{\"labels\": {}}]",
        "[{\"labels\": {\"a-b\": \"x\"}}]",
        "[{\"labels\": {\"a\": \"x\"}, \"startsAt\": \"yesterday\"}]",
        "[{\"labels\": {\"a\": \"x\"}, \"startsAt\": \"2023-11-14T22:13:20Z\", \"endsAt\": \"2023-11-14T22:03:20Z\"}]",
    ] {
        let resp = client
            .post(format!("{api}/api/v2/alerts"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["code"], 400, "{body}");
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    assert_eq!(get(&format!("{api}/api/v2/alerts")).await, json!([]));
}

#[tokio::test]
async fn silence_crud() {
    let h = Harness::new(YAML);
    let api = h.serve_api().await;
    let client = reqwest::Client::new();
    let post = |body: Value| {
        let client = client.clone();
        let url = format!("{api}/api/v2/silences");
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    let silence = |matchers: Value, starts: &str, ends: &str| json!({"matchers": matchers, "startsAt": starts, "endsAt": ends, "createdBy": "me", "comment": "why"});
    for (body, wanted) in [
        (
            silence(json!([]), "2023-11-14T22:13:20Z", "2023-11-14T23:13:20Z"),
            "at least one matcher",
        ),
        (
            silence(
                json!([{"name": "a", "value": ".*", "isRegex": true}]),
                "2023-11-14T22:13:20Z",
                "2023-11-14T23:13:20Z",
            ),
            "empty string",
        ),
        (
            silence(
                json!([{"name": "a", "value": "(", "isRegex": true}]),
                "2023-11-14T22:13:20Z",
                "2023-11-14T23:13:20Z",
            ),
            "regular expression",
        ),
        (
            silence(
                json!([{"name": "a", "value": "x", "isRegex": false}]),
                "2023-11-14T23:13:20Z",
                "2023-11-14T22:33:20Z",
            ),
            "before start",
        ),
        (json!({"matchers": "x"}), "invalid silence"),
    ] {
        let resp = post(body.clone()).await;
        assert_eq!(resp.status(), 400, "{body}");
        let text = resp.text().await.unwrap();
        assert!(text.contains(wanted), "{text}");
    }

    let m = json!([{"name": "alertname", "value": "X", "isRegex": false, "isEqual": true},
                   {"name": "job", "value": "web|api", "isRegex": true}]);
    let resp = post(silence(
        m.clone(),
        "2023-11-14T22:13:20Z",
        "2023-11-14T23:13:20Z",
    ))
    .await;
    assert_eq!(resp.status(), 200);
    let id = resp.json::<Value>().await.unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = post(silence(
        m.clone(),
        "2023-11-15T00:00:00Z",
        "2023-11-15T01:00:00Z",
    ))
    .await;
    let pending_id = pending.json::<Value>().await.unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_string();

    let one = get(&format!("{api}/api/v2/silence/{id}")).await;
    assert_eq!(
        one,
        json!({
            "id": id, "status": {"state": "active"}, "updatedAt": "2023-11-14T22:13:20Z",
            "matchers": [{"name": "alertname", "value": "X", "isRegex": false, "isEqual": true},
                         {"name": "job", "value": "web|api", "isRegex": true, "isEqual": true}],
            "startsAt": "2023-11-14T22:13:20Z", "endsAt": "2023-11-14T23:13:20Z",
            "createdBy": "me", "comment": "why"
        })
    );
    let list = get(&format!("{api}/api/v2/silences")).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str(), pending_id.as_str()]);
    assert_eq!(
        get(&format!("{api}/api/v2/silences?filter=alertname%3DY")).await,
        json!([])
    );
    assert_eq!(
        get(&format!("{api}/api/v2/silences?filter=alertname%3DX"))
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Extending an active silence keeps its id.
    h.clock.set(T0 + M);
    let mut update = silence(m.clone(), "2023-11-14T22:13:20Z", "2023-11-15T00:13:20Z");
    update["id"] = json!(id);
    let resp = post(update).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["silenceID"], json!(id));
    assert_eq!(
        get(&format!("{api}/api/v2/silence/{id}")).await["endsAt"],
        "2023-11-15T00:13:20Z"
    );
    let mut unknown = silence(m.clone(), "2023-11-14T22:13:20Z", "2023-11-15T00:13:20Z");
    unknown["id"] = json!("no-such-id");
    assert_eq!(post(unknown).await.status(), 404);

    let del = client
        .delete(format!("{api}/api/v2/silence/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    let one = get(&format!("{api}/api/v2/silence/{id}")).await;
    assert_eq!(one["status"]["state"], "expired");
    assert_eq!(one["endsAt"], "2023-11-14T22:14:20Z");
    let del = client
        .delete(format!("{api}/api/v2/silence/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 404);
    assert_eq!(
        client
            .get(format!("{api}/api/v2/silence/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Expired silences are dropped after five days.
    h.at(T0 + M + 5 * 24 * H).await;
    let list = get(&format!("{api}/api/v2/silences")).await;
    let states: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["expired"]);
    assert_eq!(list[0]["id"], json!(pending_id));
}

#[tokio::test]
async fn receivers_and_status() {
    let h = Harness::new(YAML);
    let api = h.serve_api().await;
    let receivers = get(&format!("{api}/api/v2/receivers")).await;
    let never = |name: &str, send_resolved: bool| {
        json!({"name": name, "index": 0, "sendResolved": send_resolved,
               "lastNotifyAttempt": "0001-01-01T00:00:00Z", "lastNotifyAttemptDuration": "0.000s",
               "lastNotifyAttemptError": ""})
    };
    assert_eq!(
        receivers,
        json!([
            {"name": "db", "integrations": [never("ntfy", true)]},
            {"name": "hook", "integrations": [never("webhook", false)]}
        ])
    );
    let status = get(&format!("{api}/api/v2/status")).await;
    assert_eq!(
        status["cluster"],
        json!({"status": "disabled", "peers": []})
    );
    assert_eq!(status["versionInfo"]["version"], "0.25.0");
    assert_eq!(status["uptime"], "2023-11-14T22:13:20Z");
    let original = status["config"]["original"].as_str().unwrap();
    assert!(original.contains("receiver: hook"), "{original}");
    assert!(!original.contains("secret_token"), "{original}");
    assert!(!original.contains("db-topic"), "{original}");
}
