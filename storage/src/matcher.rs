//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus' semantics:
//! regexes are anchored at both ends and `.` matches newlines (Prometheus 3).

use std::collections::HashMap;
use std::sync::LazyLock;

use parking_lot::Mutex;
use regex::Regex;

/// Compiled regexes by pattern: dashboards send the same selectors on every
/// refresh, and compiling is the expensive part of matching.
static REGEX_CACHE: LazyLock<Mutex<HashMap<String, Regex>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Patterns kept before the cache starts over.
const REGEX_CACHE_LIMIT: usize = 4096;

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    if let Some(re) = REGEX_CACHE.lock().get(pattern) {
        return Ok(re.clone());
    }
    let re = Regex::new(&format!("^(?s:{pattern})$"))?;
    let mut cache = REGEX_CACHE.lock();
    if cache.len() >= REGEX_CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), re.clone());
    Ok(re)
}

/// Regex metacharacters; a pattern without them (bar `|`) is literal.
const META: &[char] = &[
    '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
];

/// How a regex can be answered without running it.
#[derive(Clone, Debug)]
enum FastPath {
    /// `a|b|c`: one of these exact values.
    Literals(Vec<String>),
    /// `abc.*`: any value starting with this.
    Prefix(String),
}

fn fast_path(pattern: &str) -> Option<FastPath> {
    if let Some(prefix) = pattern.strip_suffix(".*")
        && !prefix.contains(META)
    {
        return Some(FastPath::Prefix(prefix.to_owned()));
    }
    let parts: Vec<&str> = pattern.split('|').collect();
    if parts.iter().all(|p| !p.contains(META)) {
        return Some(FastPath::Literals(
            parts.iter().map(|p| (*p).to_owned()).collect(),
        ));
    }
    None
}

/// The kind of comparison a matcher makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

/// One label matcher.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value or pattern as written.
    pub value: String,
    regex: Option<Regex>,
    fast: Option<FastPath>,
}

/// A regex matcher whose pattern does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression {pattern:?}: {source}")]
pub struct MatcherError {
    /// The pattern as written.
    pub pattern: String,
    /// Why it failed.
    pub source: regex::Error,
}

impl Matcher {
    /// Builds a matcher, compiling the regex for `=~` and `!~`.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let value = value.into();
        let (regex, fast) = match op {
            MatchOp::Regex | MatchOp::NotRegex => (
                Some(compile(&value).map_err(|source| MatcherError {
                    pattern: value.clone(),
                    source,
                })?),
                fast_path(&value),
            ),
            _ => (None, None),
        };
        Ok(Self {
            name: name.into(),
            op,
            value,
            regex,
            fast,
        })
    }

    /// `name = value`, which cannot fail.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
            fast: None,
        }
    }

    /// The exact values the matcher's positive form accepts (`=`, `!=`,
    /// and `=~`/`!~` with a pattern like `a|b|c`), so an index can look
    /// them up instead of testing every value; `None` when there is no such
    /// finite set or it includes the empty value.
    pub fn literal_values(&self) -> Option<Vec<&str>> {
        let values: Vec<&str> = match (self.op, &self.fast) {
            (MatchOp::Equal | MatchOp::NotEqual, _) => vec![self.value.as_str()],
            (MatchOp::Regex | MatchOp::NotRegex, Some(FastPath::Literals(l))) => {
                l.iter().map(String::as_str).collect()
            }
            _ => return None,
        };
        (!values.contains(&"")).then_some(values)
    }

    /// Whether a label value (`""` for an absent label) satisfies the matcher.
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.fast) {
            (MatchOp::Regex, Some(FastPath::Prefix(p))) => return v.starts_with(p.as_str()),
            (MatchOp::NotRegex, Some(FastPath::Prefix(p))) => return !v.starts_with(p.as_str()),
            (MatchOp::Regex, Some(FastPath::Literals(l))) => return l.iter().any(|x| x == v),
            (MatchOp::NotRegex, Some(FastPath::Literals(l))) => return !l.iter().any(|x| x == v),
            _ => {}
        }
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored_and_dot_matches_newline() {
        let m = Matcher::new(MatchOp::Regex, "a", "fo.").unwrap();
        assert!(m.matches("foo"));
        assert!(m.matches("fo\n"));
        assert!(!m.matches("xfoo"));
        assert!(!m.matches("fooo"));
        let alt = Matcher::new(MatchOp::Regex, "a", "a|b").unwrap();
        assert!(alt.matches("b"));
        assert!(!alt.matches("ab"));
    }

    #[test]
    fn negative_matchers_match_absent_labels() {
        assert!(
            Matcher::new(MatchOp::NotEqual, "a", "x")
                .unwrap()
                .matches("")
        );
        assert!(!Matcher::new(MatchOp::Regex, "a", ".+").unwrap().matches(""));
        assert!(
            Matcher::new(MatchOp::NotRegex, "a", ".+")
                .unwrap()
                .matches("")
        );
    }

    #[test]
    fn fast_paths_agree_with_the_regex() {
        for pattern in ["a|b|c", "foo.*", "", "a||b", "x.y", "fo+", "(a|b)"] {
            let m = Matcher::new(MatchOp::Regex, "l", pattern).unwrap();
            let re = Regex::new(&format!("^(?s:{pattern})$")).unwrap();
            for v in [
                "a", "b", "c", "", "foo", "foobar", "fo", "x.y", "xzy", "foo\nbar", "ab",
            ] {
                assert_eq!(m.matches(v), re.is_match(v), "{pattern} on {v:?}");
            }
        }
        let alt = Matcher::new(MatchOp::Regex, "l", "a|b").unwrap();
        assert_eq!(alt.literal_values(), Some(vec!["a", "b"]));
        assert_eq!(
            Matcher::new(MatchOp::Regex, "l", "a|")
                .unwrap()
                .literal_values(),
            None
        );
        assert_eq!(
            Matcher::new(MatchOp::Regex, "l", "a.*")
                .unwrap()
                .literal_values(),
            None
        );
    }

    #[test]
    fn bad_regex_is_an_error() {
        assert!(Matcher::new(MatchOp::Regex, "a", "(").is_err());
    }
}
