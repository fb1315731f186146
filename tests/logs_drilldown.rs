//! The endpoints Grafana's Logs Drilldown and label browser call, against
//! the real binary: detected labels, detected fields and their values,
//! patterns, drilldown limits, and `detected_level` on pushed entries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Hearth;
use serde_json::{Value, json};

const S: i64 = 1_000_000_000;

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn get(h: &Hearth, path: &str, params: &[(&str, String)]) -> (u16, String) {
    let resp = h.client().get(h.url(path)).query(params).send().unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

fn get_json(h: &Hearth, path: &str, params: &[(&str, String)]) -> Value {
    let (status, body) = get(h, path, params);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// 40 info and 35 error logfmt lines from `api`, 40 JSON warnings from
/// `web`, one a second from `base`.
fn seed(h: &Hearth, base: i64) {
    let ts = |i: i64| (base + i * S).to_string();
    let mut api = Vec::new();
    for i in 0..40 {
        api.push(json!([
            ts(i),
            format!(
                r#"level=info msg="served request" status=200 took=12ms user=u{} size=2KB"#,
                i % 5
            )
        ]));
    }
    for i in 40..75 {
        api.push(json!([
            ts(i),
            r#"level=error msg="db timeout" status=500 took=1.5s"#
        ]));
    }
    let web: Vec<Value> = (0..40)
        .map(|i| {
            json!([
                ts(i),
                format!(
                    r#"{{"level":"warning","msg":"slow page render for user u{}","page":{{"path":"/p{}"}},"ms":{}}}"#,
                    i % 7,
                    i % 3,
                    100 + i
                )
            ])
        })
        .collect();
    let body = json!({"streams": [
        {"stream": {"app": "api", "env": "prod", "pod": "7"}, "values": api},
        {"stream": {"app": "web", "env": "prod", "request_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}, "values": web},
    ]});
    let resp = h
        .client()
        .post(h.url("/loki/api/v1/push"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204, "{}", resp.text().unwrap());
}

fn window(base: i64) -> Vec<(&'static str, String)> {
    vec![
        ("start", base.to_string()),
        ("end", (base + 100 * S).to_string()),
    ]
}

fn with(
    mut params: Vec<(&'static str, String)>,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    params.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    params
}

fn check(h: &Hearth, base: i64) {
    // Labels: ids are left out (request_id), `pod` is kept though numeric.
    let v = get_json(
        h,
        "/loki/api/v1/detected_labels",
        &with(window(base), &[("query", "")]),
    );
    assert_eq!(
        v,
        json!({"detectedLabels": [
            {"label": "app", "cardinality": 2},
            {"label": "env", "cardinality": 1},
            {"label": "pod", "cardinality": 1},
            {"label": "service_name", "cardinality": 2},
        ]})
    );
    let v = get_json(
        h,
        "/loki/api/v1/detected_labels",
        &with(window(base), &[("query", r#"{app="web"}"#)]),
    );
    assert_eq!(v["detectedLabels"].as_array().unwrap().len(), 3);

    // Fields of the api stream: metadata (parsers null) and logfmt.
    let v = get_json(
        h,
        "/loki/api/v1/detected_fields",
        &with(
            window(base),
            &[("query", r#"{app="api"}"#), ("line_limit", "1000")],
        ),
    );
    let fields: Vec<(String, String, u64, Value)> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["label"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
                f["cardinality"].as_u64().unwrap(),
                f["parsers"].clone(),
            )
        })
        .collect();
    let logfmt = json!(["logfmt"]);
    assert_eq!(
        fields,
        vec![
            ("detected_level".into(), "string".into(), 2, Value::Null),
            ("level".into(), "string".into(), 2, logfmt.clone()),
            ("msg".into(), "string".into(), 2, logfmt.clone()),
            ("size".into(), "bytes".into(), 1, logfmt.clone()),
            ("status".into(), "int".into(), 2, logfmt.clone()),
            ("took".into(), "duration".into(), 2, logfmt.clone()),
            ("user".into(), "string".into(), 5, logfmt),
        ]
    );
    assert_eq!(v["limit"], 1000);
    // The default sample is the newest 100 lines; a pipeline applies first.
    let v = get_json(
        h,
        "/loki/api/v1/detected_fields",
        &with(
            window(base),
            &[("query", r#"{app="api"} |= "db timeout""#), ("limit", "3")],
        ),
    );
    let names: Vec<&str> = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{v}");
    assert!(!names.contains(&"user"), "{v}");
    // JSON fields carry their path.
    let v = get_json(
        h,
        "/loki/api/v1/detected_fields",
        &with(window(base), &[("query", r#"{app="web"}"#)]),
    );
    let page = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == "page_path")
        .unwrap();
    assert_eq!(page["parsers"], json!(["json"]));
    assert_eq!(page["jsonPath"], json!(["page", "path"]));
    assert_eq!(page["cardinality"], 3);

    // Values of one field; sizes in SI units.
    let values = |name: &str| {
        get_json(
            h,
            &format!("/loki/api/v1/detected_field/{name}/values"),
            &with(
                window(base),
                &[("query", r#"{app="api"}"#), ("line_limit", "1000")],
            ),
        )
    };
    assert_eq!(values("took")["values"], json!(["1.5s", "12ms"]));
    assert_eq!(values("size")["values"], json!(["2.0kB"]));
    assert_eq!(values("detected_level")["values"], json!(["error", "info"]));

    // Patterns: per level, counted per step, rare ones dropped.
    let v = get_json(
        h,
        "/loki/api/v1/patterns",
        &with(
            window(base),
            &[("query", r#"{env="prod"}"#), ("step", "60s")],
        ),
    );
    assert_eq!(v["status"], "success");
    let got: Vec<(String, String, u64)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let total = p["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s[1].as_u64().unwrap())
                .sum();
            (
                p["pattern"].as_str().unwrap().to_owned(),
                p["level"].as_str().unwrap().to_owned(),
                total,
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{v}");
    // The most frequent first; equal counts by pattern text.
    assert_eq!(
        got[0],
        ("<_>slow page render for user <_>".into(), "warn".into(), 40)
    );
    assert_eq!(
        got[1],
        (
            r#"level=info msg="served request" status=200 took=12ms user=<_> size=2KB"#.into(),
            "info".into(),
            40
        )
    );
    assert_eq!(
        got[2],
        (
            r#"level=error msg="db timeout" status=500 took=1.5s"#.into(),
            "error".into(),
            35
        )
    );
    // Queries Drilldown builds from what it discovered.
    for q in [
        r#"sum by (detected_level) (count_over_time({service_name="api"} | drop __error__ [1m]))"#,
        r#"{service_name="api"} | json | logfmt | drop __error__, __error_details__"#,
        r#"sum by (status) (count_over_time({service_name="api"} | logfmt | status!="" [1m]))"#,
        r#"avg_over_time({service_name="api"} | logfmt | unwrap duration(took) | __error__="" [1m])"#,
    ] {
        get_json(
            h,
            "/loki/api/v1/query_range",
            &with(window(base), &[("query", q), ("step", "60s")]),
        );
    }
    // Sample times are whole seconds on step boundaries.
    let first = &v["data"][0]["samples"][0];
    assert_eq!(first[0].as_i64().unwrap() % 60, 0);
}

#[test]
fn drilldown_discovery_answers_before_and_after_flush_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let base = (now_ns() - 10 * 60 * S) / S * S;
    let h = Hearth::start(dir.path(), &[]);
    seed(&h, base);
    check(&h, base);
    let resp = h
        .client()
        .post(h.url("/api/v1/admin/flush"))
        .send()
        .unwrap();
    assert!(resp.status().is_success());
    check(&h, base);
    h.stop();
    let h = Hearth::start(dir.path(), &[]);
    check(&h, base);

    let v = get_json(&h, "/loki/api/v1/drilldown-limits", &[]);
    assert_eq!(v["pattern_ingester_enabled"], true);
    assert_eq!(v["limits"]["max_entries_limit_per_query"], 5000);

    // Bad requests are 400 with a reason.
    let (status, body) = get(&h, "/loki/api/v1/detected_fields", &window(base));
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(
        &h,
        "/loki/api/v1/detected_fields",
        &with(window(base), &[("query", r#"rate({app="api"}[1m])"#)]),
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = get(
        &h,
        "/loki/api/v1/patterns",
        &with(window(base), &[("query", "{app=")]),
    );
    assert_eq!(status, 400);
}
