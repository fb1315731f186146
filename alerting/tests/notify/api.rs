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

const GROUPS_YAML: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  routes:
    - matchers: ['team="db"']
      receiver: db
      continue: true
    - matchers: ['team=~".+"']
      receiver: team
      group_by: [team]
receivers:
  - name: hook
    webhook_configs: [{url: "http://127.0.0.1:9/hook"}]
  - name: db
    webhook_configs: [{url: "http://127.0.0.1:9/db"}]
  - name: team
    webhook_configs: [{url: "http://127.0.0.1:9/team"}]
"#;

/// An alert as the API lists it, started at T0 and firing for an hour.
fn listed(l: &[(&str, &str)], receivers: &[&str], silenced_by: &[&str]) -> Value {
    let fp = hearth_alerting::notify::fingerprint(&labels(l));
    let state = if silenced_by.is_empty() {
        "active"
    } else {
        "suppressed"
    };
    json!({
        "labels": labels(l),
        "annotations": {},
        "startsAt": "2023-11-14T22:13:20Z",
        "endsAt": "2023-11-14T23:13:20Z",
        "generatorURL": "http://prom/graph",
        "fingerprint": format!("{fp:016x}"),
        "updatedAt": "2023-11-14T22:13:20Z",
        "receivers": receivers.iter().map(|r| json!({"name": r})).collect::<Vec<_>>(),
        "status": {"state": state, "silencedBy": silenced_by, "inhibitedBy": [], "mutedBy": []}
    })
}

#[tokio::test]
async fn alert_groups() {
    let h = Harness::new(GROUPS_YAML);
    let api = h.serve_api().await;
    let disk_a = [("alertname", "Disk"), ("instance", "a")];
    let disk_b = [("alertname", "Disk"), ("instance", "b"), ("job", "node")];
    let slow = [("alertname", "Slow"), ("team", "db")];
    let load = [("alertname", "Load"), ("team", "web")];
    let firing = |l: &[(&str, &str)]| alert(l, &[], T0, Some(T0 + H));
    h.receive_at(
        T0,
        vec![
            firing(&disk_a),
            firing(&disk_b),
            firing(&slow),
            firing(&load),
            // Resolved: its group has nothing to show and is left out.
            alert(
                &[("alertname", "Gone"), ("team", "ops")],
                &[],
                T0 - 10 * M,
                Some(T0 - M),
            ),
        ],
    );
    let resp = reqwest::Client::new()
        .post(format!("{api}/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "instance", "value": "a", "isRegex": false}],
            "startsAt": "2023-11-14T22:13:20Z",
            "endsAt": "2023-11-14T23:13:20Z",
            "createdBy": "ops",
            "comment": "disk swap"
        }))
        .send()
        .await
        .unwrap();
    let silence: Value = resp.json().await.unwrap();
    let sid = silence["silenceID"].as_str().unwrap();

    // Groups with fewer labels come first, then, as in Prometheus, the set
    // lacking the first name the other has (`alertname`); alerts by job,
    // instance, labels. The db alert is in two groups and lists both
    // receivers.
    let groups = get(&format!("{api}/api/v2/alerts/groups")).await;
    assert_eq!(
        groups,
        json!([
            {"labels": {"team": "db"}, "receiver": {"name": "team"},
             "alerts": [listed(&slow, &["db", "team"], &[])]},
            {"labels": {"team": "web"}, "receiver": {"name": "team"},
             "alerts": [listed(&load, &["team"], &[])]},
            {"labels": {"alertname": "Disk"}, "receiver": {"name": "hook"},
             "alerts": [listed(&disk_b, &["hook"], &[]), listed(&disk_a, &["hook"], &[sid])]},
            {"labels": {"alertname": "Slow"}, "receiver": {"name": "db"},
             "alerts": [listed(&slow, &["db", "team"], &[])]}
        ])
    );

    // Only the silenced alert; groups left empty disappear.
    assert_eq!(
        get(&format!("{api}/api/v2/alerts/groups?active=false")).await,
        json!([{"labels": {"alertname": "Disk"}, "receiver": {"name": "hook"},
                "alerts": [listed(&disk_a, &["hook"], &[sid])]}])
    );
    assert_eq!(
        get(&format!(
            "{api}/api/v2/alerts/groups?silenced=false&receiver=ho.%2A"
        ))
        .await,
        json!([{"labels": {"alertname": "Disk"}, "receiver": {"name": "hook"},
                "alerts": [listed(&disk_b, &["hook"], &[])]}])
    );
    // The receiver filter picks groups; receivers name the listed groups.
    assert_eq!(
        get(&format!(
            "{api}/api/v2/alerts/groups?receiver=team&filter=%7Balertname%3D~%22S.%2A%22%7D"
        ))
        .await,
        json!([{"labels": {"team": "db"}, "receiver": {"name": "team"},
                "alerts": [listed(&slow, &["team"], &[])]}])
    );
    assert_eq!(
        get(&format!(
            "{api}/api/v2/alerts/groups?filter=alertname%3DNone"
        ))
        .await,
        json!([])
    );

    // Once the alerts end, nothing is listed.
    h.clock.set(T0 + H);
    assert_eq!(get(&format!("{api}/api/v2/alerts/groups")).await, json!([]));

    let client = reqwest::Client::new();
    for q in ["filter=%7Ba", "active=maybe", "receiver=%28"] {
        let resp = client
            .get(format!("{api}/api/v2/alerts/groups?{q}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{q}");
    }
}

#[tokio::test]
async fn silence_filters_compare_whole_matchers() {
    let h = Harness::new(YAML);
    let api = h.serve_api().await;
    let resp = reqwest::Client::new()
        .post(format!("{api}/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "alertname", "value": "X", "isRegex": false},
                         {"name": "job", "value": "web|api", "isRegex": true},
                         {"name": "env", "value": "dev", "isRegex": false, "isEqual": false}],
            "startsAt": "2023-11-14T22:13:20Z",
            "endsAt": "2023-11-14T23:13:20Z",
            "createdBy": "me",
            "comment": "why"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let count = |filter: &str| {
        let url = format!("{api}/api/v2/silences?{filter}");
        async move { get(&url).await.as_array().unwrap().len() }
    };
    assert_eq!(count("").await, 1);
    assert_eq!(count("filter=alertname%3DX").await, 1);
    assert_eq!(count("filter=job%3D~%22web%7Capi%22").await, 1);
    assert_eq!(count("filter=env!%3Ddev&filter=alertname%3DX").await, 1);
    // Matching the silence's values is not enough: the matcher must be the same.
    assert_eq!(count("filter=alertname%3D~%22X%7CY%22").await, 0);
    assert_eq!(count("filter=job%3Dweb").await, 0);
    assert_eq!(count("filter=env%3Ddev").await, 0);
}

#[tokio::test]
async fn alert_groups_without_receivers() {
    let h = Harness::new("{}");
    let api = h.serve_api().await;
    let disk = [("alertname", "Disk")];
    h.receive_at(T0, vec![alert(&disk, &[], T0, Some(T0 + H))]);
    assert_eq!(
        get(&format!("{api}/api/v2/alerts/groups")).await,
        json!([{"labels": {}, "receiver": {"name": ""}, "alerts": [listed(&disk, &[], &[])]}])
    );
}
