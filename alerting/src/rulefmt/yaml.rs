//! A YAML document as a tree of nodes that remember where they were written,
//! because rule-file errors must name a line and column as Prometheus does.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// One YAML node and its position (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Line of the node's first character.
    pub line: usize,
    /// Column of the node's first character.
    pub col: usize,
    /// What the node holds.
    pub kind: Kind,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar with its resolved tag.
    Scalar {
        /// The text as written (quotes and escapes resolved).
        value: String,
        /// The YAML tag the scalar resolves to (`str`, `int`, `float`, `bool`, `null`).
        tag: &'static str,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The YAML tag name as Go's yaml package prints it (`!!str`, `!!map`, …).
    pub fn tag(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { tag, .. } => match *tag {
                "str" => "!!str",
                "int" => "!!int",
                "float" => "!!float",
                "bool" => "!!bool",
                _ => "!!null",
            },
            Kind::Seq(_) => "!!seq",
            Kind::Map(_) => "!!map",
        }
    }

    /// The scalar text, or "" for anything else (as Go's `yaml.Node.Value`).
    pub fn text(&self) -> &str {
        match &self.kind {
            Kind::Scalar { value, tag } if *tag != "null" => value,
            _ => "",
        }
    }

    /// True for a null scalar (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { tag: "null", .. })
    }
}

/// A document that is not YAML.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("yaml: line {line}: {message}")]
pub struct SyntaxError {
    /// Where the scanner stopped.
    pub line: usize,
    /// What it did not expect.
    pub message: String,
}

/// Parses the first document of `text`; `None` for an empty stream.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder {
        source: text,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| SyntaxError {
        line: e.marker().line(),
        message: e.info().to_string(),
    })?;
    if let Some(message) = builder.error {
        return Err(message);
    }
    Ok(builder.root)
}

/// Collects parser events into nodes.
#[derive(Default)]
struct Builder<'s> {
    source: &'s str,
    stack: Vec<Open>,
    root: Option<Node>,
    anchors: HashMap<usize, Node>,
    error: Option<SyntaxError>,
}

struct Open {
    node: Node,
    anchor: usize,
    /// A mapping's key, waiting for its value.
    key: Option<Node>,
    /// A block mapping takes its position from its first key (the parser
    /// marks the first `:` instead).
    from_first_key: bool,
}

impl Builder<'_> {
    /// Line and column (1-based) of a byte offset.
    fn position(&self, index: usize) -> (usize, usize) {
        let before = self.source.get(..index).unwrap_or(self.source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// Go reports a block scalar at its `|` or `>` indicator; the parser
    /// marks the content.
    fn block_indicator(&self, index: usize) -> Option<(usize, usize)> {
        let before = self.source.get(..index)?;
        before.rfind(['|', '>']).map(|i| self.position(i))
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(parent) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return;
        };
        match &mut parent.node.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map(entries) => match parent.key.take() {
                Some(key) => entries.push((key, node)),
                None => {
                    if entries.is_empty() && parent.from_first_key {
                        parent.node.line = node.line;
                        parent.node.col = node.col;
                    }
                    parent.key = Some(node);
                }
            },
            Kind::Scalar { .. } => {}
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let (line, col) = (mark.line(), mark.col() + 1);
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let explicit = tag.map(|t| t.suffix);
                let tag = resolve(&value, style, explicit.as_deref());
                let (line, col) = match style {
                    TScalarStyle::Literal | TScalarStyle::Folded => {
                        self.block_indicator(mark.index()).unwrap_or((line, col))
                    }
                    _ => (line, col),
                };
                let node = Node {
                    line,
                    col,
                    kind: Kind::Scalar { value, tag },
                };
                self.finish(node, anchor);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open {
                node: Node {
                    line,
                    col,
                    kind: Kind::Seq(Vec::new()),
                },
                anchor,
                key: None,
                from_first_key: false,
            }),
            Event::MappingStart(anchor, _) => {
                let flow = self
                    .source
                    .get(mark.index()..)
                    .is_some_and(|s| s.starts_with('{'));
                self.stack.push(Open {
                    node: Node {
                        line,
                        col,
                        kind: Kind::Map(Vec::new()),
                    },
                    anchor,
                    key: None,
                    from_first_key: !flow,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    self.finish(open.node, open.anchor);
                }
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(node) => {
                    let node = node.clone();
                    self.finish(node, 0);
                }
                None => {
                    self.error.get_or_insert(SyntaxError {
                        line,
                        message: "unknown anchor referenced".into(),
                    });
                }
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Resolves a scalar's tag as YAML 1.2's core schema (which Go's yaml.v3
/// follows): only plain scalars are typed; quoted ones are strings.
fn resolve(value: &str, style: TScalarStyle, explicit: Option<&str>) -> &'static str {
    if let Some(tag) = explicit {
        return match tag {
            "str" => "str",
            "int" => "int",
            "float" => "float",
            "bool" => "bool",
            "null" => "null",
            _ => "str",
        };
    }
    if style != TScalarStyle::Plain {
        return "str";
    }
    match value {
        "" | "~" | "null" | "Null" | "NULL" => "null",
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => "bool",
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => "float",
        _ if parse_int(value).is_some() => "int",
        _ if is_float(value) => "float",
        _ => "str",
    }
}

/// An integer in YAML's notations (decimal, 0x, 0o, 0b, with underscores).
pub fn parse_int(value: &str) -> Option<i64> {
    let cleaned: String = value.chars().filter(|c| *c != '_').collect();
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    if digits.is_empty() {
        return None;
    }
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn is_float(value: &str) -> bool {
    let body = value.strip_prefix(['-', '+']).unwrap_or(value);
    let starts_right = body
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    starts_right
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+' | b'_'))
        && value.replace('_', "").parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        match parse(text) {
            Ok(Some(node)) => node,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    #[test]
    fn positions_are_one_based_as_go_reports_them() {
        let node = root("groups:\n  - name: x\n    rules:\n      - expr: up\n");
        let Kind::Map(top) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!((top[0].0.line, top[0].0.col), (1, 1));
        let Kind::Seq(groups) = &top[0].1.kind else {
            panic!("not a seq")
        };
        // A block mapping starts at its first key.
        assert_eq!((groups[0].line, groups[0].col), (2, 5));
        let Kind::Map(group) = &groups[0].kind else {
            panic!("not a map")
        };
        assert_eq!((group[0].1.line, group[0].1.col), (2, 11));
    }

    #[test]
    fn block_scalars_start_at_their_indicator() {
        let node = root("expr: |\n  up == 0\n");
        let Kind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!(entries[0].1.text(), "up == 0\n");
        assert_eq!((entries[0].1.line, entries[0].1.col), (1, 7));
    }

    #[test]
    fn tags_resolve_as_the_core_schema() {
        let node = root("a: 5\nb: '5'\nc: 1.5\nd: true\ne: ~\nf:\ng: 5m\nh: 0x1F\n");
        let Kind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        let tags: Vec<&str> = entries.iter().map(|(_, v)| v.tag()).collect();
        assert_eq!(
            tags,
            [
                "!!int", "!!str", "!!float", "!!bool", "!!null", "!!null", "!!str", "!!int"
            ]
        );
    }

    #[test]
    fn quoted_and_flow_positions() {
        let node = root("a: 'x'\nb: {k: v}\n");
        let Kind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!((entries[0].1.line, entries[0].1.col), (1, 4));
        assert_eq!((entries[1].1.line, entries[1].1.col), (2, 4));
    }

    #[test]
    fn aliases_copy_their_anchor() {
        let node = root("a: &x {k: v}\nb: *x\n");
        let Kind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        assert_eq!(entries[0].1.kind, entries[1].1.kind);
    }

    #[test]
    fn syntax_errors_name_a_line() {
        let err = parse("a: b\n  c: d\n").err();
        assert!(err.as_ref().is_some_and(|e| e.line == 2), "{err:?}");
    }

    #[test]
    fn empty_documents_have_no_root() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("# only a comment\n"), Ok(None));
    }
}
