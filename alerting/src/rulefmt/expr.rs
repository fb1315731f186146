//! The languages a rule's expression may be written in. Prometheus rule
//! files know only PromQL; Hearth adds a group-level `language` field so
//! that a Loki ruler file (the same format, LogQL expressions) runs here
//! once each group says `language: logql`.

use std::sync::Arc;

use hearth_query::logql::{self, ast::MetricExpr};
use hearth_query::promql::{self, ast::Expr as PromqlExpr};

/// The query language of every rule in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// PromQL over the metrics store (the default, as in Prometheus).
    #[default]
    Promql,
    /// LogQL metric queries over the logs store (Loki's ruler).
    Logql,
}

impl Language {
    /// The name written in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promql => "promql",
            Self::Logql => "logql",
        }
    }

    /// The language a `language:` value names; an empty value is the
    /// default, as an absent field is.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "" | "promql" => Some(Self::Promql),
            "logql" => Some(Self::Logql),
            _ => None,
        }
    }
}

/// A rule's parsed expression.
#[derive(Debug, Clone)]
pub enum RuleExpr {
    /// A PromQL expression.
    Promql(Arc<PromqlExpr>),
    /// A LogQL metric query (log queries return lines, which a rule cannot
    /// turn into samples, so they are refused when the file is loaded).
    Logql(Arc<MetricExpr>),
}

impl RuleExpr {
    /// Parses `text` as `language`. The error is the reason alone; callers
    /// put it after `could not parse expression: ` as Prometheus does.
    pub fn parse(language: Language, text: &str) -> Result<Self, String> {
        match language {
            Language::Promql => promql::parse(text)
                .map(|e| Self::Promql(Arc::new(e)))
                .map_err(|e| e.message),
            Language::Logql => match logql::parse(text).map_err(|e| e.to_string())? {
                logql::Expr::Metric(m) => Ok(Self::Logql(Arc::new(m))),
                logql::Expr::Log(_) => {
                    Err("a LogQL rule must be a metric query, not a log query".into())
                }
            },
        }
    }

    /// The language it is written in.
    pub fn language(&self) -> Language {
        match self {
            Self::Promql(_) => Language::Promql,
            Self::Logql(_) => Language::Logql,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_names() {
        for (name, want) in [
            ("", Some(Language::Promql)),
            ("promql", Some(Language::Promql)),
            ("logql", Some(Language::Logql)),
            ("LogQL", None),
            ("sql", None),
        ] {
            assert_eq!(Language::from_name(name), want, "{name:?}");
        }
        for l in [Language::Promql, Language::Logql] {
            assert_eq!(Language::from_name(l.as_str()), Some(l));
        }
        assert_eq!(Language::default(), Language::Promql);
    }

    #[test]
    fn expressions_parse_in_their_language() {
        let cases: [(Language, &str, Result<Language, &str>); 7] = [
            (Language::Promql, "sum(up)", Ok(Language::Promql)),
            (
                Language::Logql,
                r#"sum by (app) (count_over_time({app="a"} |= "error" [5m])) > 2"#,
                Ok(Language::Logql),
            ),
            (Language::Logql, "vector(1)", Ok(Language::Logql)),
            (
                Language::Logql,
                r#"{app="a"} |= "error""#,
                Err("a LogQL rule must be a metric query, not a log query"),
            ),
            // A PromQL selector is not LogQL: no range aggregation of logs.
            (
                Language::Logql,
                "rate(up[5m])",
                Err("parse error at line 1"),
            ),
            (
                Language::Promql,
                r#"rate({app="a"}[5m])"#,
                Ok(Language::Promql),
            ),
            (
                Language::Promql,
                r#"count_over_time({app="a"} |= "x" [5m])"#,
                Err("parse error"),
            ),
        ];
        for (language, text, want) in cases {
            let got = RuleExpr::parse(language, text);
            match (got, want) {
                (Ok(e), Ok(l)) => assert_eq!(e.language(), l, "{text}"),
                (Err(e), Err(w)) => assert!(e.contains(w), "{text}: {e}"),
                (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }
}
