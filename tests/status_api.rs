//! The status endpoints behind the UI's Status page, against the real
//! binary: storage per signal and UTC day after a flush, the settings in
//! force, and runtime facts.

mod common;

use common::{Hearth, now_ns};

#[test]
fn storage_config_and_runtime_status_describe_this_process() {
    let dir = tempfile::tempdir().unwrap();
    let hearth = Hearth::start(dir.path(), &["--retention", "7d"]);
    let ts = now_ns();
    let push = serde_json::json!({"streams": [{
        "stream": {"job": "status"},
        "values": [[ts.to_string(), "one"], [(ts + 1).to_string(), "two"]],
    }]});
    let r = hearth
        .client()
        .post(hearth.url("/loki/api/v1/push"))
        .json(&push)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);

    let before = hearth.get_json("/api/v1/status/storage");
    let logs = |v: &serde_json::Value| {
        v["data"]["signals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["signal"] == "logs")
            .cloned()
            .unwrap()
    };
    assert_eq!(logs(&before)["parts"], 0);
    assert!(logs(&before)["head_bytes"].as_u64().unwrap() > 0);

    hearth.post_form_json("/api/v1/admin/flush", &[]);
    let after = hearth.get_json("/api/v1/status/storage");
    let l = logs(&after);
    assert_eq!(l["rows_are"], "entries");
    assert_eq!(l["parts"], 1);
    assert_eq!(l["rows"], 2);
    assert_eq!(l["retention_seconds"], 7 * 86_400);
    let today = chrono::DateTime::from_timestamp_nanos(ts)
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(l["days"][0]["day"], today, "{l}");
    assert_eq!(l["days"][0]["rows"], 2);
    assert_eq!(l["days"][0]["bytes"], l["bytes"]);
    assert!(l["bytes"].as_u64().unwrap() > 0);
    let signals: Vec<&str> = after["data"]["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signal"].as_str().unwrap())
        .collect();
    assert_eq!(signals, ["metrics", "logs", "traces"]);

    let config = hearth.get_json("/api/v1/status/config");
    let yaml = config["data"]["yaml"].as_str().unwrap();
    assert!(yaml.contains("data_dir:"), "{yaml}");
    assert!(yaml.contains("logs: 604800"), "{yaml}");

    let runtime = hearth.get_json("/api/v1/status/runtimeinfo");
    assert_eq!(runtime["data"]["storageRetention"], "604800s");
    assert!(
        runtime["data"]["startTime"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );
}

#[test]
fn runtime_info_reports_whether_the_last_reload_worked() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    let good = "groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n";
    std::fs::write(&rules, good).unwrap();
    let data = dir.path().join("data");
    let hearth = Hearth::start(&data, &["--rules", rules.to_str().unwrap()]);
    let info = |h: &Hearth| h.get_json("/api/v1/status/runtimeinfo")["data"].clone();
    let first = info(&hearth);
    assert_eq!(first["reloadConfigSuccess"], true);

    std::fs::write(
        &rules,
        "groups: [ {name: g, rules: [ {record: x, expr: 'sum('} ] } ]\n",
    )
    .unwrap();
    let r = hearth
        .client()
        .post(hearth.url("/-/reload"))
        .send()
        .unwrap();
    assert!(!r.status().is_success());
    let failed = info(&hearth);
    assert_eq!(failed["reloadConfigSuccess"], false);
    // The configuration in force is still the one loaded at start.
    assert_eq!(failed["lastConfigTime"], first["lastConfigTime"]);

    std::fs::write(&rules, good).unwrap();
    let r = hearth
        .client()
        .post(hearth.url("/-/reload"))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let fixed = info(&hearth);
    assert_eq!(fixed["reloadConfigSuccess"], true);
    assert!(
        fixed["lastConfigTime"].as_str().unwrap() >= first["lastConfigTime"].as_str().unwrap(),
        "{fixed}"
    );
}
