//! Loki's rule configuration API, read-only: `GET /loki/api/v1/rules`
//! lists the LogQL groups as YAML, one namespace per rule file, each group
//! in the ruler's file format, so tools written for Loki's ruler can read
//! what Hearth runs. Rules change through rule files, not this API.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::duration;
use crate::group::GroupRuntime;
use crate::manager::RuleManager;
use crate::rulefmt::{GroupDef, Language, RuleDef, RuleKind};

/// One group as Loki's ruler writes it; fields left at their default are
/// left out.
#[derive(Debug, Serialize)]
struct Group<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_offset: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    limit: usize,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<&'a str, &'a str>,
    rules: Vec<Rule<'a>>,
}

#[derive(Debug, Serialize)]
struct Rule<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert: Option<&'a str>,
    expr: &'a str,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    hold: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_firing_for: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'a str, &'a str>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn nonzero(d: std::time::Duration) -> Option<String> {
    (!d.is_zero()).then(|| duration::format(d))
}

fn pairs(pairs: &[(String, String)]) -> BTreeMap<&str, &str> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn rule(def: &RuleDef) -> Rule<'_> {
    let (record, alert, hold, keep_firing_for, annotations) = match &def.kind {
        RuleKind::Recording => (Some(def.name.as_str()), None, None, None, BTreeMap::new()),
        RuleKind::Alerting {
            hold,
            keep_firing_for,
            annotations,
        } => (
            None,
            Some(def.name.as_str()),
            nonzero(*hold),
            nonzero(*keep_firing_for),
            pairs(annotations),
        ),
    };
    Rule {
        record,
        alert,
        expr: &def.expr_text,
        hold,
        keep_firing_for,
        labels: pairs(&def.labels),
        annotations,
    }
}

fn group(def: &GroupDef) -> Group<'_> {
    Group {
        name: &def.name,
        interval: def.interval.map(duration::format),
        query_offset: def.query_offset.map(duration::format),
        limit: def.limit,
        labels: pairs(&def.labels),
        rules: def.rules.iter().map(rule).collect(),
    }
}

/// The LogQL groups of `groups` as Loki's YAML (`namespace: [groups]`,
/// namespaces being rule files), or `None` when there are none.
pub fn render(groups: &[GroupRuntime]) -> Result<Option<String>, String> {
    let mut namespaces: BTreeMap<&str, Vec<Group<'_>>> = BTreeMap::new();
    for g in groups.iter().filter(|g| g.def.language == Language::Logql) {
        namespaces
            .entry(&g.def.file)
            .or_default()
            .push(group(&g.def));
    }
    if namespaces.is_empty() {
        return Ok(None);
    }
    serde_norway::to_string(&namespaces)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// `GET /loki/api/v1/rules`.
pub async fn rule_groups(State(manager): State<Arc<RuleManager>>) -> Response {
    match render(&manager.snapshot()) {
        Ok(Some(yaml)) => ([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response(),
        // Loki's wording and status for a tenant without rules; the
        // trailing newline is Go's `http.Error`.
        Ok(None) => (StatusCode::NOT_FOUND, "no rule groups found\n").into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not encode the rule groups: {e}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rulefmt;

    fn runtimes(file: &str, text: &str) -> Vec<GroupRuntime> {
        match rulefmt::parse(file, text) {
            Ok(defs) => defs
                .into_iter()
                .map(|d| GroupRuntime::new(Arc::new(d), 60_000, 0))
                .collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn logql_groups_render_as_loki_ruler_yaml() {
        let mut groups = runtimes(
            "rules/logs.yml",
            r#"groups:
- name: errors
  language: logql
  interval: 1m
  rules:
  - alert: ManyErrors
    expr: sum by (app) (count_over_time({app="a"} |= "error" [5m])) > 2
    for: 90s
    labels:
      severity: page
    annotations:
      summary: '{{ $labels.app }} logs errors'
  - record: app:errors:rate5m
    expr: sum by (app) (rate({app="a"} |= "error" [5m]))
"#,
        );
        groups.extend(runtimes(
            "rules/node.yml",
            "groups:\n- name: node\n  rules:\n  - record: a\n    expr: up\n",
        ));
        let yaml = match render(&groups) {
            Ok(Some(y)) => y,
            other => panic!("{other:?}"),
        };
        let parsed: serde_norway::Value = match serde_norway::from_str(&yaml) {
            Ok(v) => v,
            Err(e) => panic!("{e}: {yaml}"),
        };
        let want: serde_norway::Value = match serde_norway::from_str(
            r#"rules/logs.yml:
- name: errors
  interval: 1m
  rules:
  - alert: ManyErrors
    expr: sum by (app) (count_over_time({app="a"} |= "error" [5m])) > 2
    for: 1m30s
    labels:
      severity: page
    annotations:
      summary: '{{ $labels.app }} logs errors'
  - record: app:errors:rate5m
    expr: sum by (app) (rate({app="a"} |= "error" [5m]))
"#,
        ) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(parsed, want, "{yaml}");
        assert!(yaml.starts_with("rules/logs.yml:\n"), "{yaml}");
    }

    #[test]
    fn no_logql_groups_is_none() {
        let groups = runtimes(
            "node.yml",
            "groups:\n- name: node\n  rules:\n  - record: a\n    expr: up\n",
        );
        assert_eq!(render(&groups), Ok(None));
        assert_eq!(render(&[]), Ok(None));
    }
}
