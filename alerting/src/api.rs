//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus' shapes, which
//! Grafana's data-source rule view and alert list read; the same under
//! `/prometheus/` listing LogQL rules only, where Loki's ruler serves them;
//! and Loki's read-only rule configuration API (`/loki/api/v1/rules`).

mod loki;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::alert::{Alert, AlertState};
use crate::group::GroupRuntime;
use crate::manager::RuleManager;
use crate::rulefmt::{Language, RuleKind};

/// The rule and alert listing routes.
pub fn routes(manager: Arc<RuleManager>) -> Router {
    Router::new()
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/alerts", get(alerts))
        .route("/prometheus/api/v1/rules", get(logql_rules))
        .route("/prometheus/api/v1/alerts", get(logql_alerts))
        .route("/loki/api/v1/rules", get(loki::rule_groups))
        .with_state(manager)
}

#[derive(Default)]
struct RuleFilter {
    kind: Option<String>,
    names: Vec<String>,
    groups: Vec<String>,
    files: Vec<String>,
    exclude_alerts: bool,
}

fn parse_filter(raw: Option<&str>) -> Result<RuleFilter, String> {
    let mut filter = RuleFilter::default();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "type" => {
                if v != "alert" && v != "record" {
                    return Err(format!("invalid rule type {v:?}"));
                }
                filter.kind = Some(v.into_owned());
            }
            "rule_name[]" => filter.names.push(v.into_owned()),
            "rule_group[]" => filter.groups.push(v.into_owned()),
            "file[]" => filter.files.push(v.into_owned()),
            "exclude_alerts" => {
                filter.exclude_alerts = match v.as_ref() {
                    "true" | "1" => true,
                    "false" | "0" | "" => false,
                    other => {
                        return Err(format!("parameter exclude_alerts: invalid value {other:?}"));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(filter)
}

async fn rules(State(manager): State<Arc<RuleManager>>, RawQuery(raw): RawQuery) -> Response {
    list_rules(&manager, raw.as_deref(), None)
}

/// Loki's ruler answers Prometheus' rules API under `/prometheus`; only its
/// own (LogQL) rules are there.
async fn logql_rules(State(manager): State<Arc<RuleManager>>, RawQuery(raw): RawQuery) -> Response {
    list_rules(&manager, raw.as_deref(), Some(Language::Logql))
}

fn list_rules(manager: &RuleManager, raw: Option<&str>, language: Option<Language>) -> Response {
    let filter = match parse_filter(raw) {
        Ok(f) => f,
        Err(e) => {
            let body = json!({"status": "error", "errorType": "bad_data", "error": e});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let groups: Vec<Value> = manager
        .snapshot()
        .iter()
        .filter(|g| language.is_none_or(|l| g.def.language == l))
        .filter(|g| filter.groups.is_empty() || filter.groups.contains(&g.def.name))
        .filter(|g| filter.files.is_empty() || filter.files.contains(&g.def.file))
        .filter_map(|g| group_json(g, &filter))
        .collect();
    Json(json!({"status": "success", "data": {"groups": groups}})).into_response()
}

fn group_json(group: &GroupRuntime, filter: &RuleFilter) -> Option<Value> {
    let mut rules = Vec::new();
    for (def, rt) in group.def.rules.iter().zip(&group.rules) {
        if !filter.names.is_empty() && !filter.names.contains(&def.name) {
            continue;
        }
        let labels = pairs_json(&def.labels);
        let common = |mut v: Value| {
            v["health"] = json!(rt.health.as_str());
            v["lastError"] = json!(rt.last_error);
            v["evaluationTime"] = json!(rt.eval_duration.as_secs_f64());
            v["lastEvaluation"] = json!(go_time(rt.last_eval));
            v
        };
        match &def.kind {
            RuleKind::Recording => {
                if filter.kind.as_deref() == Some("alert") {
                    continue;
                }
                rules.push(common(json!({
                    "type": "recording",
                    "name": def.name,
                    "query": def.expr_text,
                    "labels": labels,
                })));
            }
            RuleKind::Alerting {
                hold,
                keep_firing_for,
                annotations,
            } => {
                if filter.kind.as_deref() == Some("record") {
                    continue;
                }
                let mut rule = json!({
                    "type": "alerting",
                    "name": def.name,
                    "query": def.expr_text,
                    "duration": hold.as_secs_f64(),
                    "keepFiringFor": keep_firing_for.as_secs_f64(),
                    "labels": labels,
                    "annotations": pairs_json(annotations),
                    "state": rt.alerts.state().as_str(),
                });
                if !filter.exclude_alerts {
                    rule["alerts"] = Value::Array(rt.alerts.active().map(alert_json).collect());
                }
                rules.push(common(rule));
            }
        }
    }
    let filtering_rules = filter.kind.is_some() || !filter.names.is_empty();
    if rules.is_empty() && filtering_rules {
        return None;
    }
    Some(json!({
        "name": group.def.name,
        "file": group.def.file,
        "interval": group.interval_ms as f64 / 1000.0,
        "limit": group.def.limit,
        "rules": rules,
        "evaluationTime": group.eval_duration.as_secs_f64(),
        "lastEvaluation": go_time(group.last_eval),
    }))
}

async fn alerts(State(manager): State<Arc<RuleManager>>) -> Response {
    list_alerts(&manager, None)
}

async fn logql_alerts(State(manager): State<Arc<RuleManager>>) -> Response {
    list_alerts(&manager, Some(Language::Logql))
}

fn list_alerts(manager: &RuleManager, language: Option<Language>) -> Response {
    let alerts: Vec<Value> = manager
        .snapshot()
        .iter()
        .filter(|g| language.is_none_or(|l| g.def.language == l))
        .flat_map(|g| {
            g.rules
                .iter()
                .flat_map(|r| r.alerts.active().map(alert_json))
                .collect::<Vec<_>>()
        })
        .collect();
    Json(json!({"status": "success", "data": {"alerts": alerts}})).into_response()
}

fn alert_json(alert: &Alert) -> Value {
    let mut v = json!({
        "labels": alert.labels,
        "annotations": alert.annotations,
        "state": alert.state.as_str(),
        "activeAt": go_time(Some(alert.active_at)),
        "value": go_exponent(alert.value),
    });
    if alert.state == AlertState::Firing
        && let Some(since) = alert.keep_firing_since
    {
        v["keepFiringSince"] = json!(go_time(Some(since)));
    }
    v
}

fn pairs_json(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// A time as Go's RFC3339Nano prints it (trailing fraction zeros dropped);
/// Go's zero time for none.
pub fn go_time(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "0001-01-01T00:00:00Z".into();
    };
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => {
            let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            let frac = ms.rem_euclid(1000);
            if frac == 0 {
                format!("{base}Z")
            } else {
                let digits = format!("{frac:03}");
                format!("{base}.{}Z", digits.trim_end_matches('0'))
            }
        }
        None => "0001-01-01T00:00:00Z".into(),
    }
}

/// A float as Go's `strconv.FormatFloat(v, 'e', -1, 64)`: shortest digits,
/// exponent with sign and at least two digits.
pub fn go_exponent(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let text = format!("{v:e}");
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_format_matches_go() {
        assert_eq!(go_exponent(1.0), "1e+00");
        assert_eq!(go_exponent(0.0), "0e+00");
        assert_eq!(go_exponent(123.45), "1.2345e+02");
        assert_eq!(go_exponent(-0.005), "-5e-03");
        assert_eq!(go_exponent(1e100), "1e+100");
        assert_eq!(go_exponent(f64::INFINITY), "+Inf");
    }

    #[test]
    fn times_match_go() {
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        assert_eq!(go_time(Some(1_718_020_800_000)), "2024-06-10T12:00:00Z");
        assert_eq!(go_time(Some(1_718_020_800_120)), "2024-06-10T12:00:00.12Z");
    }
}
