//! Rule files in Prometheus' format (and Loki's, which is the same with
//! LogQL expressions, marked by the group's `language: logql`): decoding,
//! validation and the immutable group and rule definitions the evaluator
//! runs.

pub mod decode;
pub mod expr;
pub mod validate;
pub mod yaml;

use std::path::Path;
use std::time::Duration;

pub use expr::{Language, RuleExpr};

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
    /// The language every rule's expression is written in.
    pub language: Language,
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
    /// The parsed expression, in the group's language.
    pub expr: RuleExpr,
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
        // Validation refused unknown languages already.
        let language = validate::group_language(&group).unwrap_or_default();
        let mut rules = Vec::with_capacity(group.rules.len());
        for rule in group.rules {
            let expr_text = rule.expr_text().to_string();
            // Validation parsed it already; a failure here would be a bug,
            // still reported rather than panicking.
            let expr = RuleExpr::parse(language, &expr_text)
                .map_err(|e| fail(vec![format!("could not parse expression: {e}")]))?;
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
                expr,
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
            language,
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

    const LOKI_GROUP: &str = "groups:\n- name: logs\n  language: logql\n  interval: 1m\n  rules:\n  - alert: Errors\n    expr: sum by (app) (count_over_time({app=\"a\"} |= \"error\" [5m])) > 2\n    for: 1m\n  - record: app:errors:rate5m\n    expr: sum by (app) (rate({app=\"a\"} |= \"error\" [5m]))\n";

    #[test]
    fn logql_groups_load_as_logql_rules() {
        let groups = match parse("r.yml", LOKI_GROUP) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(groups[0].language, Language::Logql);
        assert_eq!(groups[0].rules.len(), 2);
        for rule in &groups[0].rules {
            assert!(matches!(rule.expr, RuleExpr::Logql(_)), "{rule:?}");
            assert_eq!(rule.expr.language(), Language::Logql);
        }
        assert!(groups[0].rules[0].is_alerting());
        assert_eq!(groups[0].rules[1].kind, RuleKind::Recording);
        assert_eq!(
            groups[0].rules[1].expr_text,
            "sum by (app) (rate({app=\"a\"} |= \"error\" [5m]))"
        );
    }

    #[test]
    fn groups_default_to_promql() {
        for language in [
            "",
            "  language: promql\n",
            "  language:\n",
            "  language: ''\n",
        ] {
            let text = format!(
                "groups:\n- name: g\n{language}  rules:\n  - record: a\n    expr: sum(up)\n"
            );
            let groups = match parse("r.yml", &text) {
                Ok(g) => g,
                Err(e) => panic!("{text}: {e}"),
            };
            assert_eq!(groups[0].language, Language::Promql, "{text}");
            assert!(matches!(groups[0].rules[0].expr, RuleExpr::Promql(_)));
        }
    }

    #[test]
    fn language_problems() {
        let cases: [(&str, &[&str]); 5] = [
            (
                "groups:\n- name: x\n  language: sql\n  rules:\n  - record: a\n    expr: up\n",
                &["r.yml: 3:13: group \"x\": unknown language \"sql\"; use promql or logql"],
            ),
            (
                "groups:\n- name: l\n  language: logql\n  rules:\n  - alert: Lines\n    expr: '{app=\"a\"} |= \"error\"'\n",
                &[
                    "r.yml: 6:11: group \"l\", rule 1, \"Lines\": could not parse expression: a LogQL rule must be a metric query, not a log query",
                ],
            ),
            (
                "groups:\n- name: l\n  language: logql\n  rules:\n  - record: r\n    expr: sum(rate(up[5m]))\n",
                &[
                    "r.yml: 6:11: group \"l\", rule 1, \"r\": could not parse expression: parse error at line 1, col ",
                ],
            ),
            (
                // A LogQL query in a PromQL group is a PromQL syntax error.
                "groups:\n- name: p\n  rules:\n  - record: r\n    expr: 'count_over_time({app=\"a\"} |= \"x\" [5m])'\n",
                &["r.yml: 5:11: group \"p\", rule 1, \"r\": could not parse expression: "],
            ),
            (
                "groups:\n- name: x\n  language: [logql]\n  rules: []\n",
                &["r.yml: yaml: unmarshal errors:\n  line 3: cannot unmarshal !!seq into string"],
            ),
        ];
        for (text, want) in cases {
            let got = problems(text);
            assert_eq!(got.len(), want.len(), "{text}: {got:?}");
            for (g, w) in got.iter().zip(want) {
                assert!(g.starts_with(w), "{text}:\n got {g}\nwant {w}");
            }
        }
    }

    #[test]
    fn an_unknown_language_is_reported_once_not_per_rule() {
        let p = problems(
            "groups:\n- name: x\n  language: sql\n  rules:\n  - record: a\n    expr: 'select 1'\n  - record: b\n    expr: up\n",
        );
        assert_eq!(
            p,
            ["r.yml: 3:13: group \"x\": unknown language \"sql\"; use promql or logql"]
        );
    }

    proptest::proptest! {
        /// Any quoted `language` value loads as its language or is refused
        /// with the one group-level message, never anything else.
        #[test]
        fn any_language_name_loads_or_is_named_in_the_error(name in "[a-zA-Z0-9_ .-]{0,12}") {
            let text = format!(
                "groups:\n- name: g\n  language: '{name}'\n  rules:\n  - record: r\n    expr: vector(1)\n"
            );
            match (parse("r.yml", &text), Language::from_name(&name)) {
                (Ok(groups), Some(language)) => proptest::prop_assert_eq!(groups[0].language, language),
                (Err(e), None) => proptest::prop_assert_eq!(
                    e.problems,
                    vec![format!("r.yml: 3:13: group \"g\": unknown language {name:?}; use promql or logql")]
                ),
                (got, want) => proptest::prop_assert!(false, "{name:?}: {got:?} vs {want:?}"),
            }
        }
    }
}
