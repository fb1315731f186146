//! Strict decoding of a rule file's YAML tree into groups and rules, with
//! the error texts Prometheus' (Go yaml.v3) decoder gives: unknown fields
//! and type mismatches are collected as `line N: …`, a bad duration stops
//! decoding.

use std::collections::BTreeMap;
use std::time::Duration;

use super::yaml::{Kind, Node, parse_int};
use crate::duration;

/// A group as written, with the nodes validation reports positions of.
#[derive(Debug, Clone, Default)]
pub struct RawGroup {
    /// The group's mapping node position.
    pub pos: (usize, usize),
    /// `name`.
    pub name: String,
    /// `interval`, if given.
    pub interval: Option<Duration>,
    /// `query_offset`, if given.
    pub query_offset: Option<Duration>,
    /// `limit`.
    pub limit: i64,
    /// `labels` (Prometheus 3).
    pub labels: Vec<(String, String)>,
    /// `language` (Hearth's own), the scalar node if present.
    pub language: Option<Node>,
    /// `rules`.
    pub rules: Vec<RawRule>,
}

/// A rule as written.
#[derive(Debug, Clone, Default)]
pub struct RawRule {
    /// `record` value node, if present.
    pub record: Option<Node>,
    /// `alert` value node, if present.
    pub alert: Option<Node>,
    /// `expr` value node, if present.
    pub expr: Option<Node>,
    /// `for`.
    pub for_: Duration,
    /// `keep_firing_for`.
    pub keep_firing_for: Duration,
    /// `labels`, in file order.
    pub labels: Vec<(String, String)>,
    /// `annotations`, in file order.
    pub annotations: Vec<(String, String)>,
}

impl RawRule {
    /// The record or alert name node's text.
    pub fn record_name(&self) -> &str {
        self.record.as_ref().map_or("", Node::text)
    }

    /// The alert name.
    pub fn alert_name(&self) -> &str {
        self.alert.as_ref().map_or("", Node::text)
    }

    /// The expression text.
    pub fn expr_text(&self) -> &str {
        self.expr.as_ref().map_or("", Node::text)
    }
}

/// Why a file did not decode: Go prints either one fatal error or the
/// collected type errors under `yaml: unmarshal errors:`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// A value that stopped decoding (a bad duration).
    #[error("{0}")]
    Fatal(String),
    /// Mismatched types and unknown fields.
    #[error("yaml: unmarshal errors:\n  {}", .0.join("\n  "))]
    Type(Vec<String>),
}

/// Decodes the document root (None for an empty file) into groups.
pub fn decode(root: Option<&Node>) -> Result<Vec<RawGroup>, DecodeError> {
    let mut d = Decoder::default();
    let groups = match root {
        Some(root) => d.file(root)?,
        None => Vec::new(),
    };
    if d.errors.is_empty() {
        Ok(groups)
    } else {
        Err(DecodeError::Type(d.errors))
    }
}

#[derive(Default)]
struct Decoder {
    errors: Vec<String>,
}

impl Decoder {
    fn mismatch(&mut self, node: &Node, into: &str) {
        let shown = match &node.kind {
            Kind::Scalar { value, .. } if value.chars().count() > 10 => {
                format!(" `{}...`", value.chars().take(7).collect::<String>())
            }
            Kind::Scalar { value, .. } => format!(" `{value}`"),
            _ => String::new(),
        };
        self.errors.push(format!(
            "line {}: cannot unmarshal {}{shown} into {into}",
            node.line,
            node.tag()
        ));
    }

    /// The entries of a mapping node, reporting duplicates and type errors.
    fn entries<'n>(&mut self, node: &'n Node, into: &str) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            Kind::Map(entries) => {
                for (i, (key, _)) in entries.iter().enumerate() {
                    if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.kind == key.kind)
                    {
                        self.errors.push(format!(
                            "line {}: mapping key {:?} already defined at line {}",
                            key.line,
                            key.text(),
                            first.line
                        ));
                    }
                }
                Some(entries)
            }
            _ if node.is_null() => None,
            _ => {
                self.mismatch(node, into);
                None
            }
        }
    }

    fn unknown(&mut self, key: &Node, ty: &str) {
        self.errors.push(format!(
            "line {}: field {} not found in type {ty}",
            key.line,
            key.text()
        ));
    }

    fn file(&mut self, root: &Node) -> Result<Vec<RawGroup>, DecodeError> {
        let mut groups = Vec::new();
        let Some(entries) = self.entries(root, "rulefmt.RuleGroups") else {
            return Ok(groups);
        };
        for (key, value) in entries {
            match key.text() {
                "groups" => {
                    for item in self.seq(value, "[]rulefmt.RuleGroup") {
                        groups.push(self.group(item)?);
                    }
                }
                _ => self.unknown(key, "rulefmt.RuleGroups"),
            }
        }
        Ok(groups)
    }

    fn seq<'n>(&mut self, node: &'n Node, into: &str) -> &'n [Node] {
        match &node.kind {
            Kind::Seq(items) => items,
            _ if node.is_null() => &[],
            _ => {
                self.mismatch(node, into);
                &[]
            }
        }
    }

    fn group(&mut self, node: &Node) -> Result<RawGroup, DecodeError> {
        let mut group = RawGroup {
            pos: (node.line, node.col),
            ..RawGroup::default()
        };
        let Some(entries) = self.entries(node, "rulefmt.RuleGroup") else {
            return Ok(group);
        };
        for (key, value) in entries {
            match key.text() {
                "name" => group.name = self.string(value),
                "interval" => group.interval = self.duration(value)?,
                "query_offset" => group.query_offset = self.duration(value)?,
                "limit" => group.limit = self.int(value),
                "labels" => group.labels = self.string_map(value),
                "language" => {
                    if matches!(value.kind, Kind::Scalar { .. }) {
                        group.language = Some(value.clone());
                    } else {
                        self.mismatch(value, "string");
                    }
                }
                "rules" => {
                    for item in self.seq(value, "[]rulefmt.RuleNode") {
                        group.rules.push(self.rule(item)?);
                    }
                }
                _ => self.unknown(key, "rulefmt.RuleGroup"),
            }
        }
        Ok(group)
    }

    fn rule(&mut self, node: &Node) -> Result<RawRule, DecodeError> {
        let mut rule = RawRule::default();
        let Some(entries) = self.entries(node, "rulefmt.RuleNode") else {
            return Ok(rule);
        };
        for (key, value) in entries {
            match key.text() {
                "record" => rule.record = Some(value.clone()),
                "alert" => rule.alert = Some(value.clone()),
                "expr" => rule.expr = Some(value.clone()),
                "for" => rule.for_ = self.duration(value)?.unwrap_or_default(),
                "keep_firing_for" => {
                    rule.keep_firing_for = self.duration(value)?.unwrap_or_default();
                }
                "labels" => rule.labels = self.string_map(value),
                "annotations" => rule.annotations = self.string_map(value),
                _ => self.unknown(key, "rulefmt.RuleNode"),
            }
        }
        Ok(rule)
    }

    fn string(&mut self, node: &Node) -> String {
        match &node.kind {
            Kind::Scalar { .. } => node.text().to_string(),
            _ => {
                self.mismatch(node, "string");
                String::new()
            }
        }
    }

    fn int(&mut self, node: &Node) -> i64 {
        match &node.kind {
            Kind::Scalar { tag: "null", .. } => 0,
            Kind::Scalar { tag: "int", value } => match parse_int(value) {
                Some(v) => v,
                None => {
                    self.mismatch(node, "int");
                    0
                }
            },
            _ => {
                self.mismatch(node, "int");
                0
            }
        }
    }

    fn duration(&mut self, node: &Node) -> Result<Option<Duration>, DecodeError> {
        match &node.kind {
            Kind::Scalar { tag: "null", .. } => Ok(None),
            Kind::Scalar { value, .. } => {
                duration::parse(value).map(Some).map_err(DecodeError::Fatal)
            }
            _ => {
                self.mismatch(node, "string");
                Ok(None)
            }
        }
    }

    fn string_map(&mut self, node: &Node) -> Vec<(String, String)> {
        let Some(entries) = self.entries(node, "map[string]string") else {
            return Vec::new();
        };
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in entries {
            let name = self.string(key);
            let text = self.string(value);
            out.insert(name, text);
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    fn decode_text(text: &str) -> Result<Vec<RawGroup>, DecodeError> {
        let root = yaml::parse(text).map_err(|e| DecodeError::Fatal(e.to_string()))?;
        decode(root.as_ref())
    }

    #[test]
    fn decodes_groups_and_rules() {
        let groups = decode_text(
            "groups:\n- name: g\n  interval: 30s\n  limit: 3\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n    labels: {severity: page, n: 5}\n    annotations:\n      summary: x\n",
        );
        let groups = match groups {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(groups[0].name, "g");
        assert_eq!(groups[0].interval, Some(Duration::from_secs(30)));
        assert_eq!(groups[0].limit, 3);
        let rule = &groups[0].rules[0];
        assert_eq!(rule.alert_name(), "A");
        assert_eq!(rule.for_, Duration::from_secs(300));
        assert_eq!(
            rule.labels,
            [("n".into(), "5".into()), ("severity".into(), "page".into())]
        );
    }

    #[test]
    fn unknown_fields_are_type_errors_with_lines() {
        let err =
            decode_text("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    forr: 5m\n")
                .err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(
                "yaml: unmarshal errors:\n  line 6: field forr not found in type rulefmt.RuleNode"
                    .into()
            )
        );
    }

    #[test]
    fn bad_durations_stop_decoding() {
        let err = decode_text("groups:\n- name: g\n  interval: 5x\n").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("not a valid duration string: \"5x\"".into())
        );
    }

    #[test]
    fn mismatches_show_the_value() {
        let err = decode_text("groups:\n- name: g\n  limit: many\n  rules: {}\n").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(
                "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `many` into int\n  line 4: cannot unmarshal !!map into []rulefmt.RuleNode".into()
            )
        );
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let err = decode_text("groups:\n- name: g\n  name: h\n").err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some(
                "yaml: unmarshal errors:\n  line 3: mapping key \"name\" already defined at line 2"
                    .into()
            )
        );
    }
}
