//! The checks Prometheus makes on decoded rule groups, with its messages and
//! positions: `<line>:<col>: group "g", rule 1, "name": <problem>`.

use std::collections::HashSet;

use super::decode::{RawGroup, RawRule};
use super::expr::{Language, RuleExpr};
use super::yaml::Node;
use crate::template;

/// The language a group's `language` field names; `None` for a name that
/// is neither `promql` nor `logql`.
pub fn group_language(group: &RawGroup) -> Option<Language> {
    Language::from_name(group.language.as_ref().map_or("", Node::text))
}

/// Validates every group; returns the problems in Prometheus' order.
pub fn validate(groups: &[RawGroup]) -> Vec<String> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for group in groups {
        let (line, col) = group.pos;
        if group.name.is_empty() {
            errors.push(format!("{line}:{col}: Groupname must not be empty"));
        }
        if !seen.insert(group.name.as_str()) {
            errors.push(format!(
                "{line}:{col}: groupname: \"{}\" is repeated in the same file",
                group.name
            ));
        }
        let language = group_language(group);
        if language.is_none() {
            let (line, col) = pos(group.language.as_ref());
            errors.push(format!(
                "{line}:{col}: group {:?}: unknown language {:?}; use promql or logql",
                group.name,
                group.language.as_ref().map_or("", Node::text)
            ));
        }
        for (i, rule) in group.rules.iter().enumerate() {
            let name = if rule.alert_name().is_empty() {
                rule.record_name()
            } else {
                rule.alert_name()
            };
            for problem in validate_rule(rule, language) {
                let context = format!("group {:?}, rule {}, {:?}", group.name, i + 1, name);
                errors.push(match problem.at {
                    At::Two(a, b) => format!(
                        "{}:{}: {}:{}: {context}: {}",
                        a.0, a.1, b.0, b.1, problem.message
                    ),
                    At::One(a) => format!("{}:{}: {context}: {}", a.0, a.1, problem.message),
                    At::Nowhere => format!("{context}: {}", problem.message),
                });
            }
        }
    }
    errors
}

/// Where a problem is reported. A field that is absent reports `0:0`, as a
/// zero Go `yaml.Node` does.
enum At {
    Nowhere,
    One((usize, usize)),
    Two((usize, usize), (usize, usize)),
}

struct Problem {
    at: At,
    message: String,
}

fn pos(node: Option<&Node>) -> (usize, usize) {
    node.map_or((0, 0), |n| (n.line, n.col))
}

/// Checks one rule; its expression only when the group's language is known
/// (an unknown one is reported once, for the group).
fn validate_rule(rule: &RawRule, language: Option<Language>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |at: At, message: String| out.push(Problem { at, message });
    let (record, alert) = (rule.record_name(), rule.alert_name());
    if !record.is_empty() && !alert.is_empty() {
        push(
            At::Two(pos(rule.record.as_ref()), pos(rule.alert.as_ref())),
            "only one of 'record' and 'alert' must be set".into(),
        );
    }
    if record.is_empty() && alert.is_empty() {
        push(
            At::One(pos(rule.record.as_ref())),
            "one of 'record' or 'alert' must be set".into(),
        );
    }
    let expr = rule.expr_text();
    if expr.is_empty() {
        push(
            At::One(pos(rule.expr.as_ref())),
            "field 'expr' must be set in rule".into(),
        );
    } else if let Some(Err(e)) = language.map(|l| RuleExpr::parse(l, expr)) {
        push(
            At::One(pos(rule.expr.as_ref())),
            format!("could not parse expression: {e}"),
        );
    }
    if !record.is_empty() {
        let at = || At::One(pos(rule.record.as_ref()));
        if !rule.annotations.is_empty() {
            push(at(), "invalid field 'annotations' in recording rule".into());
        }
        if !rule.for_.is_zero() {
            push(at(), "invalid field 'for' in recording rule".into());
        }
        if !rule.keep_firing_for.is_zero() {
            push(
                at(),
                "invalid field 'keep_firing_for' in recording rule".into(),
            );
        }
        if !is_metric_name(record) {
            push(at(), format!("invalid recording rule name: {record}"));
        }
    }
    for (name, _) in &rule.labels {
        if !is_label_name(name) || name == "__name__" {
            push(At::Nowhere, format!("invalid label name: {name}"));
        }
    }
    for (name, _) in &rule.annotations {
        if !is_label_name(name) {
            push(At::Nowhere, format!("invalid annotation name: {name}"));
        }
    }
    if !alert.is_empty() {
        let template_name = format!("__alert_{alert}");
        for (what, pairs) in [("label", &rule.labels), ("annotation", &rule.annotations)] {
            for (key, text) in pairs {
                if let Err(e) = template::parse_alert_template(&template_name, text) {
                    push(At::Nowhere, format!("{what} {key:?}: {e}"));
                }
            }
        }
    }
    out
}

/// A metric name in Prometheus' classic character set.
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A label name in Prometheus' classic character set.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
