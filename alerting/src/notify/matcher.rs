//! Label matchers in Alertmanager's syntax (`name="value"`, `name=~"re"`,
//! `name!=v`, `name!~"re"`, several separated by commas, optionally in
//! braces), plus the Go-compatible quoting used wherever Alertmanager
//! renders matchers and label sets into keys.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

/// How a matcher compares a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchType {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }

    /// Whether the value is a regular expression.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::Regex | MatchType::NotRegex)
    }

    /// Whether a match means the value must be absent (`!=`, `!~`).
    pub fn is_negative(self) -> bool {
        matches!(self, MatchType::NotEqual | MatchType::NotRegex)
    }
}

/// Why a matcher could not be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// `{` without `}` or the reverse.
    #[error("unbalanced braces in {0:?}")]
    UnbalancedBraces(String),
    /// Not a valid label name where one was expected.
    #[error("invalid label name {0:?}")]
    InvalidName(String),
    /// A label name not followed by `=`, `!=`, `=~` or `!~`.
    #[error("missing operator after label name {0:?}")]
    MissingOperator(String),
    /// A quoted value without its closing quote.
    #[error("unterminated quoted value for label {0:?}")]
    UnterminatedQuote(String),
    /// A double quote inside an unquoted value.
    #[error("unexpected double quote in value for label {0:?}")]
    UnexpectedQuote(String),
    /// Something other than a comma after a matcher.
    #[error("expected ',' after matcher for label {0:?}")]
    ExpectedComma(String),
    /// The regular expression does not compile.
    #[error("invalid regular expression {value:?} for label {name:?}: {reason}")]
    BadRegex {
        /// The label.
        name: String,
        /// The expression.
        value: String,
        /// The regex engine's complaint.
        reason: String,
    },
}

/// One label matcher. Regexes are anchored at both ends, as in Prometheus.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchType,
    /// Value or (unanchored) regular expression.
    pub value: String,
    re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// Builds a matcher, compiling the regex for `=~`/`!~`.
    pub fn new(
        name: impl Into<String>,
        op: MatchType,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let name = name.into();
        let value = value.into();
        let re = if op.is_regex() {
            let bad = |e: regex::Error| MatcherError::BadRegex {
                name: name.clone(),
                value: value.clone(),
                reason: e.to_string(),
            };
            // Compiling the bare expression first rejects values such as
            // `a)|(b` that would otherwise escape the anchoring group.
            Regex::new(&value).map_err(bad)?;
            Some(Regex::new(&format!("^(?:{value})$")).map_err(bad)?)
        } else {
            None
        };
        Ok(Self {
            name,
            op,
            value,
            re,
        })
    }

    /// Whether `value` (the empty string for an absent label) matches.
    pub fn matches_value(&self, value: &str) -> bool {
        match (&self.re, self.op) {
            (_, MatchType::Equal) => value == self.value,
            (_, MatchType::NotEqual) => value != self.value,
            (Some(re), MatchType::Regex) => re.is_match(value),
            (Some(re), MatchType::NotRegex) => !re.is_match(value),
            // Unreachable by construction; failing closed is the safe answer.
            (None, _) => false,
        }
    }

    /// Whether the label set matches; absent labels count as empty.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

/// Alertmanager prints matchers (and so route keys, which end up in group
/// keys) escaping only backslash, newline and double quote, unlike label
/// sets, which go through Go's `%q`.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = String::with_capacity(self.value.len() + 2);
        for c in self.value.chars() {
            match c {
                '\\' => value.push_str("\\\\"),
                '\n' => value.push_str("\\n"),
                '"' => value.push_str("\\\""),
                c => value.push(c),
            }
        }
        write!(f, "{}{}\"{value}\"", self.name, self.op.as_str())
    }
}

/// Whether every matcher matches.
pub(crate) fn matches_all(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Sorts as Alertmanager does before rendering route keys: by name, then
/// value, then operator.
pub(crate) fn sort_matchers(ms: &mut [Matcher]) {
    ms.sort_by(|a, b| {
        (a.name.as_str(), a.value.as_str(), a.op).cmp(&(b.name.as_str(), b.value.as_str(), b.op))
    });
}

/// `{a="b",c=~"d"}`, the form used in route keys.
pub(crate) fn render_matchers(ms: &[Matcher]) -> String {
    let inner: Vec<String> = ms.iter().map(ToString::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

/// `{a="b", c="d"}`, the form Prometheus' label sets print in.
pub(crate) fn render_label_set(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// Label names as Prometheus defines them.
pub(crate) fn is_valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Characters Go's `strconv.Quote` escapes although they are valid text:
/// invisible format characters and non-ASCII spaces.
fn go_unprintable(c: char) -> bool {
    (c.is_whitespace() && c != ' ')
        || c.is_control()
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Double-quotes a string the way Go's `%q` does, so keys built from
/// labels are byte-identical to Alertmanager's.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_unprintable(c) => {
                let n = u32::from(c);
                if n < 0x80 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n <= 0xFFFF {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Escapes regex metacharacters like Go's `regexp.QuoteMeta`, which is
/// what Alertmanager puts in a webhook payload's `receiver` field.
pub(crate) fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Reads a double-quoted value starting just after the opening quote;
/// returns the value and the rest after the closing quote. `\n`, `\"` and
/// `\\` are escapes; any other backslash is kept literally, as
/// Alertmanager does.
fn read_quoted<'a>(name: &str, s: &'a str) -> Result<(String, &'a str), MatcherError> {
    let mut value = String::new();
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                other => {
                    value.push('\\');
                    value.push(other);
                }
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => return Ok((value, &s[i + 1..])),
            c => value.push(c),
        }
    }
    Err(MatcherError::UnterminatedQuote(name.to_string()))
}

/// Parses one or more comma-separated matchers, optionally wrapped in
/// `{…}`. Values may be quoted or bare. An empty input (or `{}`) gives no
/// matchers.
pub fn parse_matchers(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let mut s = input.trim();
    if let Some(inner) = s.strip_prefix('{') {
        s = inner
            .strip_suffix('}')
            .ok_or_else(|| MatcherError::UnbalancedBraces(input.to_string()))?;
    } else if s.ends_with('}') {
        return Err(MatcherError::UnbalancedBraces(input.to_string()));
    }
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            let shown: String = rest.chars().take(32).collect();
            return Err(MatcherError::InvalidName(shown));
        }
        rest = rest[name_len..].trim_start();
        let (op, op_len) = if rest.starts_with("=~") {
            (MatchType::Regex, 2)
        } else if rest.starts_with("!~") {
            (MatchType::NotRegex, 2)
        } else if rest.starts_with("!=") {
            (MatchType::NotEqual, 2)
        } else if rest.starts_with('=') {
            (MatchType::Equal, 1)
        } else {
            return Err(MatcherError::MissingOperator(name.to_string()));
        };
        rest = rest[op_len..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let (value, after) = read_quoted(name, quoted)?;
            rest = after;
            value
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let raw = rest[..end].trim();
            if raw.contains('"') {
                return Err(MatcherError::UnexpectedQuote(name.to_string()));
            }
            rest = &rest[end..];
            raw.to_string()
        };
        out.push(Matcher::new(name, op, value)?);
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        rest = rest
            .strip_prefix(',')
            .ok_or_else(|| MatcherError::ExpectedComma(name.to_string()))?
            .trim_start();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn one(s: &str) -> Matcher {
        let mut ms = parse_matchers(s).unwrap();
        assert_eq!(ms.len(), 1, "{s}");
        ms.remove(0)
    }

    #[test]
    fn parses_each_operator() {
        let m = one(r#"severity="page""#);
        assert_eq!(
            (m.name.as_str(), m.op, m.value.as_str()),
            ("severity", MatchType::Equal, "page")
        );
        assert_eq!(one(r#"a!="b""#).op, MatchType::NotEqual);
        assert_eq!(one(r#"a=~"b|c""#).op, MatchType::Regex);
        assert_eq!(one(r#"a !~ "b""#).op, MatchType::NotRegex);
    }

    #[test]
    fn parses_lists_braces_and_bare_values() {
        let ms = parse_matchers(r#"{team=~"db|web", severity = page ,env!=}"#).unwrap();
        let shown: Vec<String> = ms.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [r#"team=~"db|web""#, r#"severity="page""#, r#"env!="""#]
        );
        assert!(parse_matchers("{}").unwrap().is_empty());
        assert!(parse_matchers("  ").unwrap().is_empty());
        assert_eq!(parse_matchers("a=b,").unwrap().len(), 1);
        assert_eq!(one("a=b c").value, "b c");
    }

    #[test]
    fn quoted_values_keep_commas_and_escapes() {
        assert_eq!(one(r#"a="x,y""#).value, "x,y");
        assert_eq!(one(r#"a="q\"uote\\d\n""#).value, "q\"uote\\d\n");
        assert_eq!(one(r#"a="\d+""#).value, "\\d+");
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            "{a=b",
            "a=b}",
            "=b",
            "1a=b",
            "a",
            "a~b",
            r#"a="b"#,
            r#"a=b"c"#,
            r#"a="b" c="d""#,
            "a=b,,c=d",
            r#"a=~"(""#,
            r#"a=~"x)|(y""#,
        ] {
            assert!(parse_matchers(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn regexes_are_anchored_and_absent_labels_are_empty() {
        let m = one(r#"job=~"node|web""#);
        assert!(m.matches(&labels(&[("job", "node")])));
        assert!(!m.matches(&labels(&[("job", "nodes")])));
        assert!(!m.matches(&labels(&[("job", "anode")])));
        assert!(one(r#"env="""#).matches(&labels(&[])));
        assert!(one(r#"env!~"prod""#).matches(&labels(&[])));
        assert!(!one(r#"env=~".+""#).matches(&labels(&[])));
    }

    #[test]
    fn quoting_matches_go() {
        assert_eq!(go_quote("plain"), r#""plain""#);
        assert_eq!(go_quote("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
        assert_eq!(go_quote("\u{1}é\u{a0}"), r#""\x01é\u00a0""#);
        assert_eq!(quote_meta("team.a+(x)"), r"team\.a\+\(x\)");
        assert_eq!(quote_meta("my-receiver"), "my-receiver");
    }

    #[test]
    fn renders_sorted_matchers_and_label_sets() {
        let mut ms = parse_matchers(r#"team="db",severity=~"page|crit",severity="a""#).unwrap();
        sort_matchers(&mut ms);
        assert_eq!(
            render_matchers(&ms),
            r#"{severity="a",severity=~"page|crit",team="db"}"#
        );
        assert_eq!(render_matchers(&[]), "{}");
        // Only backslash, newline and quote are escaped in matchers.
        let m = Matcher::new("a", MatchType::Regex, "\tx\\d\"\n\u{a0}").unwrap();
        assert_eq!(m.to_string(), "a=~\"\tx\\\\d\\\"\\n\u{a0}\"");
        assert_eq!(
            render_label_set(&labels(&[("job", "n"), ("alertname", "X")])),
            r#"{alertname="X", job="n"}"#
        );
    }

    #[test]
    fn label_names() {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a:b"));
        assert!(!is_valid_label_name(""));
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,64}") {
            let _ = parse_matchers(&s);
        }

        #[test]
        fn parser_never_panics_on_matcherish_input(s in r#"[{}a-z_=!~", \\|.*()\[\]]{0,40}"#) {
            let _ = parse_matchers(&s);
        }

        #[test]
        fn quoted_values_round_trip(v in "\\PC{0,32}") {
            let m = Matcher::new("a", MatchType::Equal, v.clone()).unwrap();
            let parsed = parse_matchers(&m.to_string()).unwrap();
            prop_assert_eq!(parsed, vec![m]);
        }
    }
}
