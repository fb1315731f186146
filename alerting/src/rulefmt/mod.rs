//! Rule files in Prometheus' format: decoding, validation and the
//! immutable group and rule definitions the evaluator runs.

pub mod decode;
pub mod validate;
pub mod yaml;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hearth_query::promql::ast::Expr;

/// A rule file that could not be loaded: each line is one problem, already
/// prefixed with the file name as promtool prints it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct RuleFileError {
    /// One entry per problem.
    pub problems: Vec<String>,
}

/// One validated group.
#[derive(Debug, Clone)]
pub struct GroupDef {
    /// The file it came from, as given.
    pub file: String,
    /// Its name, unique within the file.
    pub name: String,
    /// Evaluation interval, if set (else the global default).
    pub interval: Option<Duration>,
    /// How far in the past to evaluate.
    pub query_offset: Option<Duration>,
    /// Most alerts or series per rule (0: unlimited).
    pub limit: usize,
    /// Labels added to every rule's output; rule labels win.
    pub labels: Vec<(String, String)>,
    /// The rules, in file order.
    pub rules: Vec<RuleDef>,
}

/// One validated rule.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// The alert name or recorded metric name.
    pub name: String,
    /// Alerting or recording, with the fields only that kind has.
    pub kind: RuleKind,
    /// The expression as written.
    pub expr_text: String,
    /// The parsed expression.
    pub expr: Arc<Expr>,
    /// Labels to add (templates, for alerts), sorted by name.
    pub labels: Vec<(String, String)>,
}

/// What a rule does with its result.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// Writes the result as a new series.
    Recording,
    /// Turns each result series into an alert.
    Alerting {
        /// How long the condition must hold before firing.
        hold: Duration,
        /// How long to keep firing once the condition is gone.
        keep_firing_for: Duration,
        /// Annotation templates, sorted by name.
        annotations: Vec<(String, String)>,
    },
}

impl RuleDef {
    /// True for alerting rules.
    pub fn is_alerting(&self) -> bool {
        matches!(self.kind, RuleKind::Alerting { .. })
    }
}

/// Reads and validates a rule file. `display` is how errors name it.
pub fn load_file(path: &Path) -> Result<Vec<GroupDef>, RuleFileError> {
    let display = path.display().to_string();
    let content = std::fs::read_to_string(path).map_err(|e| RuleFileError {
        problems: vec![format!("{display}: error reading file: {e}")],
    })?;
    parse(&display, &content)
}

/// Decodes and validates rule-file text.
pub fn parse(file: &str, content: &str) -> Result<Vec<GroupDef>, RuleFileError> {
    let fail = |problems: Vec<String>| RuleFileError {
        problems: problems
            .into_iter()
            .map(|p| format!("{file}: {p}"))
            .collect(),
    };
    let root = yaml::parse(content).map_err(|e| fail(vec![e.to_string()]))?;
    let raw = decode::decode(root.as_ref()).map_err(|e| fail(vec![e.to_string()]))?;
    let problems = validate::validate(&raw);
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    let mut groups = Vec::with_capacity(raw.len());
    for group in raw {
        let mut rules = Vec::with_capacity(group.rules.len());
        for rule in group.rules {
            let expr_text = rule.expr_text().to_string();
            // Validation parsed it already; a failure here would be a bug,
            // still reported rather than panicking.
            let expr = hearth_query::promql::parse(&expr_text)
                .map_err(|e| fail(vec![format!("could not parse expression: {}", e.message)]))?;
            let (name, kind) = if rule.alert_name().is_empty() {
                (rule.record_name().to_string(), RuleKind::Recording)
            } else {
                (
                    rule.alert_name().to_string(),
                    RuleKind::Alerting {
                        hold: rule.for_,
                        keep_firing_for: rule.keep_firing_for,
                        annotations: rule.annotations,
                    },
                )
            };
            rules.push(RuleDef {
                name,
                kind,
                expr_text,
                expr: Arc::new(expr),
                labels: rule.labels,
            });
        }
        groups.push(GroupDef {
            file: file.to_string(),
            name: group.name,
            interval: group.interval,
            query_offset: group.query_offset,
            limit: usize::try_from(group.limit).unwrap_or(0),
            labels: group.labels,
            rules,
        });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match parse("r.yml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems,
        }
    }

    #[test]
    fn good_files_load() {
        let groups = parse(
            "r.yml",
            "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n    for: 1m\n",
        );
        let groups = match groups {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(groups[0].rules.len(), 2);
        assert_eq!(groups[0].rules[0].kind, RuleKind::Recording);
        assert!(groups[0].rules[1].is_alerting());
    }

    #[test]
    fn bad_expressions_name_the_rule_and_position() {
        let p = problems("groups:\n- name: g\n  rules:\n  - alert: Bad\n    expr: sum(up\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with(
                "r.yml: 5:11: group \"g\", rule 1, \"Bad\": could not parse expression: "
            ),
            "{p:?}"
        );
    }

    #[test]
    fn rule_shape_problems() {
        let p = problems(
            "groups:\n- name: g\n  rules:\n  - record: 'bad name'\n    expr: up\n    for: 1m\n  - expr: up\n",
        );
        assert_eq!(
            p,
            [
                "r.yml: 4:13: group \"g\", rule 1, \"bad name\": invalid field 'for' in recording rule",
                "r.yml: 4:13: group \"g\", rule 1, \"bad name\": invalid recording rule name: bad name",
                "r.yml: 0:0: group \"g\", rule 2, \"\": one of 'record' or 'alert' must be set",
            ]
        );
    }

    #[test]
    fn repeated_group_names() {
        let p = problems("groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n");
        assert_eq!(
            p,
            ["r.yml: 4:3: groupname: \"a\" is repeated in the same file"]
        );
    }
}
