//! Reads Prometheus' promqltest scripts (`load`, `clear`, `eval`) into
//! commands. Format: ../shared/conformance/promqltest-format.md.

use std::fmt;

use hearth_storage::STALE_NAN_BITS;

/// Label name/value pairs, sorted.
pub type LabelPairs = Vec<(String, String)>;

/// A series with one optional value per step.
pub type ExpectedSeries = (LabelPairs, Vec<Option<f64>>);

/// One command of a script.
#[derive(Debug, Clone)]
pub enum Command {
    /// Add series.
    Load(Load),
    /// Drop all data.
    Clear,
    /// Run a query and check its result.
    Eval(Box<Eval>),
}

/// A `load` block.
#[derive(Debug, Clone)]
pub struct Load {
    /// Line of the header.
    pub line: usize,
    /// Series with their samples (ms, value).
    pub series: Vec<(LabelPairs, Vec<(i64, f64)>)>,
    /// Metric names that carried native histograms (not loaded).
    pub native_histogram_names: Vec<String>,
}

/// What an eval runs.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalKind {
    /// `eval instant at T`.
    Instant { at: i64 },
    /// `eval range from S to E step D`.
    Range { start: i64, end: i64, step: i64 },
}

/// The expected result.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Vector elements (or, for ranges, series with a value per step).
    Series(Vec<ExpectedSeries>),
    /// A scalar.
    Scalar(f64),
    /// A string.
    String(String),
    /// `expect range vector from S to E step D` followed by series.
    RangeVector {
        /// Series with their points at start, start+step, ….
        series: Vec<ExpectedSeries>,
        /// From.
        start: i64,
        /// Step.
        step: i64,
    },
}

/// An `eval` block.
#[derive(Debug, Clone)]
pub struct Eval {
    /// Line of the header.
    pub line: usize,
    /// Instant or range.
    pub kind: EvalKind,
    /// The query.
    pub expr: String,
    /// The query must fail.
    pub fail: bool,
    /// Result order matters.
    pub ordered: bool,
    /// `Some(true)`: a warning is expected; `Some(false)`: none is allowed.
    pub warn: Option<bool>,
    /// Same for infos.
    pub info: Option<bool>,
    /// Expected result.
    pub expected: Expected,
    /// The expected output holds native histograms.
    pub needs_native_histograms: bool,
}

/// A script that cannot be read.
#[derive(Debug)]
pub struct ScriptError {
    line: usize,
    message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn err(line: usize, message: impl Into<String>) -> ScriptError {
    ScriptError {
        line,
        message: message.into(),
    }
}

/// Parses a Prometheus duration (`1h30m`, `5m`, `10s`, `100ms`, `0`).
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if s == "0" {
        return Some(0);
    }
    let mut total: i64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let ms = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return None,
        };
        total += n * ms;
    }
    Some(if negative { -total } else { total })
}

fn parse_number(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        "stale" => Some(f64::from_bits(STALE_NAN_BITS)),
        _ => s.parse().ok(),
    }
}

/// Expands one value-sequence item into values (`None` = omitted slot).
fn expand_item(item: &str) -> Option<Vec<Option<f64>>> {
    if item == "_" {
        return Some(vec![None]);
    }
    if let Some(n) = item.strip_prefix("_x") {
        return Some(vec![None; n.parse().ok()?]);
    }
    if let Some(v) = parse_number(item) {
        return Some(vec![Some(v)]);
    }
    let (head, count) = item.rsplit_once('x')?;
    let count: usize = count.parse().ok()?;
    // Find the operator between start and step: a sign that is not the
    // first character and does not follow an exponent marker.
    let bytes = head.as_bytes();
    let mut split = None;
    for i in 1..bytes.len() {
        if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
            split = Some(i);
        }
    }
    let (start, step) = match split {
        Some(i) => {
            let start = parse_number(&head[..i])?;
            let step = parse_number(&head[i + 1..])?;
            (start, if bytes[i] == b'-' { -step } else { step })
        }
        None => (parse_number(head)?, 0.0),
    };
    let mut out = Vec::with_capacity(count + 1);
    let mut v = start;
    out.push(Some(v));
    for _ in 0..count {
        v += step;
        out.push(Some(v));
    }
    Some(out)
}

/// Expands a whole value sequence; `None` if it holds native histograms or
/// cannot be read.
fn expand_values(s: &str) -> Result<Option<Vec<Option<f64>>>, String> {
    if s.contains("{{") {
        return Ok(None);
    }
    let mut out = Vec::new();
    for item in s.split_whitespace() {
        out.extend(expand_item(item).ok_or_else(|| format!("bad value {item:?}"))?);
    }
    Ok(Some(out))
}

/// Splits `metric{a="b"} rest` into the label part and the rest.
fn split_labels(line: &str) -> Option<(&str, &str)> {
    let mut in_quote: Option<char> = None;
    let mut escaped = false;
    let mut depth = 0;
    for (i, c) in line.char_indices() {
        if let Some(q) = in_quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                in_quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => in_quote = Some(c),
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&line[..=i], &line[i + 1..]));
                }
            }
            c if c.is_whitespace() && depth == 0 => return Some((&line[..i], &line[i..])),
            _ => {}
        }
    }
    (depth == 0).then_some((line, ""))
}

/// Reads a label set written as a selector (`name{a="b"}`, `{}`).
pub fn parse_labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let s = s.trim();
    if s == "{}" {
        return Ok(Vec::new());
    }
    let expr = promql_parser::parser::parse(s).map_err(|e| format!("labels {s:?}: {e}"))?;
    let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
        return Err(format!("labels {s:?} are not a selector"));
    };
    let mut out = Vec::new();
    if let Some(name) = vs.name {
        out.push(("__name__".to_owned(), name));
    }
    for m in vs.matchers.matchers {
        if m.name == "__name__" && out.iter().any(|(n, _)| n == "__name__") {
            continue;
        }
        out.push((m.name, m.value));
    }
    out.sort();
    Ok(out)
}

fn metric_name_of(labels: &[(String, String)]) -> Option<String> {
    labels
        .iter()
        .find(|(n, _)| n == "__name__")
        .map(|(_, v)| v.clone())
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Vec<Command>, ScriptError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let lineno = i + 1;
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let first = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if first == "clear" {
            // `clear` is one line; a command may follow without a blank.
            out.push(Command::Clear);
            i += 1;
            continue;
        }
        // The block: header plus lines up to a blank or comment line.
        let mut body = Vec::new();
        let mut j = i + 1;
        while j < lines.len() {
            let l = lines[j].trim();
            if l.is_empty() || l.starts_with('#') {
                break;
            }
            body.push((j + 1, l));
            j += 1;
        }
        if first.starts_with("load") {
            out.push(Command::Load(parse_load(lineno, line, &body)?));
        } else if first.starts_with("eval") {
            out.push(Command::Eval(Box::new(parse_eval(lineno, line, &body)?)));
        } else {
            return Err(err(lineno, format!("unknown command {first:?}")));
        }
        i = j;
    }
    Ok(out)
}

fn parse_load(lineno: usize, header: &str, body: &[(usize, &str)]) -> Result<Load, ScriptError> {
    let mut parts = header.split_whitespace();
    let command = parts.next().unwrap_or("");
    let interval = parts
        .next()
        .and_then(parse_duration)
        .ok_or_else(|| err(lineno, "load needs an interval"))?;
    let with_nhcb = command.eq_ignore_ascii_case("load_with_nhcb");
    let mut load = Load {
        line: lineno,
        series: Vec::new(),
        native_histogram_names: Vec::new(),
    };
    for &(l, text) in body {
        let (labels, values) = split_labels(text).ok_or_else(|| err(l, "unbalanced braces"))?;
        if labels.ends_with("@st") {
            // Start timestamps are an experimental feature we do not store.
            continue;
        }
        let labels = parse_labels(labels).map_err(|e| err(l, e))?;
        match expand_values(values).map_err(|e| err(l, e))? {
            None => {
                if let Some(name) = metric_name_of(&labels) {
                    load.native_histogram_names.push(name);
                }
            }
            Some(values) => {
                if with_nhcb && let Some(name) = metric_name_of(&labels) {
                    for suffix in ["_bucket", "_count", "_sum"] {
                        if let Some(base) = name.strip_suffix(suffix) {
                            load.native_histogram_names.push(base.to_owned());
                        }
                    }
                }
                let samples = values
                    .into_iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.map(|v| (k as i64 * interval, v)))
                    .collect();
                load.series.push((labels, samples));
            }
        }
    }
    Ok(load)
}

fn parse_eval(lineno: usize, header: &str, body: &[(usize, &str)]) -> Result<Eval, ScriptError> {
    let (command, rest) = header
        .split_once(char::is_whitespace)
        .ok_or_else(|| err(lineno, "eval without a query"))?;
    let variant = command
        .strip_prefix("eval")
        .unwrap_or("")
        .trim_start_matches('_');
    let rest = rest.trim();
    let (kind, expr) = if let Some(r) = rest.strip_prefix("instant") {
        let r = r.trim_start();
        let r = r
            .strip_prefix("at")
            .ok_or_else(|| err(lineno, "instant eval needs `at`"))?;
        let r = r.trim_start();
        let (at, expr) = r
            .split_once(char::is_whitespace)
            .ok_or_else(|| err(lineno, "instant eval without a query"))?;
        let at = parse_duration(at).ok_or_else(|| err(lineno, format!("bad time {at:?}")))?;
        (EvalKind::Instant { at }, expr.trim())
    } else if let Some(r) = rest.strip_prefix("range") {
        let words: Vec<&str> = r.split_whitespace().collect();
        if words.len() < 7 || words[0] != "from" || words[2] != "to" || words[4] != "step" {
            return Err(err(lineno, "range eval needs from/to/step"));
        }
        let d =
            |s: &str| parse_duration(s).ok_or_else(|| err(lineno, format!("bad duration {s:?}")));
        let start = d(words[1])?;
        let end = d(words[3])?;
        let step = d(words[5])?;
        let prefix = format!("from {} to {} step {} ", words[1], words[3], words[5]);
        let expr = r.trim_start().strip_prefix(&prefix).unwrap_or("").trim();
        (EvalKind::Range { start, end, step }, expr)
    } else {
        return Err(err(lineno, "eval must be instant or range"));
    };
    let mut eval = Eval {
        line: lineno,
        kind,
        expr: expr.to_owned(),
        fail: variant == "fail",
        ordered: variant == "ordered",
        warn: (variant == "warn").then_some(true),
        info: (variant == "info").then_some(true),
        expected: Expected::Series(Vec::new()),
        needs_native_histograms: false,
    };
    let mut series = Vec::new();
    let mut range_vector: Option<(i64, i64)> = None;
    for &(l, text) in body {
        if let Some(e) = text.strip_prefix("expect ") {
            let e = e.trim();
            let word = e.split_whitespace().next().unwrap_or("");
            match word {
                "fail" => eval.fail = true,
                "ordered" => eval.ordered = true,
                "warn" => eval.warn = Some(true),
                "no_warn" => eval.warn = Some(false),
                "info" => eval.info = Some(true),
                "no_info" => eval.info = Some(false),
                "string" => {
                    let s = e["string".len()..].trim();
                    let unquoted = s
                        .strip_prefix('"')
                        .and_then(|s| s.strip_suffix('"'))
                        .or_else(|| s.strip_prefix('`').and_then(|s| s.strip_suffix('`')))
                        .ok_or_else(|| err(l, "bad expected string"))?;
                    eval.expected = Expected::String(unquote(unquoted));
                }
                "range" => {
                    let words: Vec<&str> = e.split_whitespace().collect();
                    if words.len() != 8 {
                        return Err(err(l, "bad `expect range vector`"));
                    }
                    let d = |s: &str| parse_duration(s).ok_or_else(|| err(l, "bad duration"));
                    range_vector = Some((d(words[3])?, d(words[7])?));
                }
                _ => return Err(err(l, format!("unknown expectation {word:?}"))),
            }
            continue;
        }
        if text.starts_with("expected_fail_message") || text.starts_with("expected_fail_regexp") {
            eval.fail = true;
            continue;
        }
        if text.contains("{{") {
            eval.needs_native_histograms = true;
            continue;
        }
        if let Some(v) = parse_number(text) {
            eval.expected = Expected::Scalar(v);
            continue;
        }
        let (labels, values) = split_labels(text).ok_or_else(|| err(l, "unbalanced braces"))?;
        let labels = parse_labels(labels).map_err(|e| err(l, e))?;
        let values = expand_values(values)
            .map_err(|e| err(l, e))?
            .ok_or_else(|| err(l, "unreadable values"))?;
        series.push((labels, values));
    }
    if let Some((start, step)) = range_vector {
        eval.expected = Expected::RangeVector {
            series,
            start,
            step,
        };
    } else if !series.is_empty() {
        eval.expected = Expected::Series(series);
    }
    Ok(eval)
}

/// Go-style unquoting of the escapes the scripts use.
fn unquote(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_sequences_like_promqltest() {
        assert_eq!(
            expand_item("0+10x2"),
            Some(vec![Some(0.0), Some(10.0), Some(20.0)])
        );
        assert_eq!(
            expand_item("1-2x2"),
            Some(vec![Some(1.0), Some(-1.0), Some(-3.0)])
        );
        assert_eq!(expand_item("-2+4x1"), Some(vec![Some(-2.0), Some(2.0)]));
        assert_eq!(expand_item("_x3"), Some(vec![None, None, None]));
        assert_eq!(expand_item("1x2"), Some(vec![Some(1.0); 3]));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
    }
}
