//! Go's `regexp` as `match` and `reReplaceAll` use it. Patterns go through
//! Rust's `regex` after a small translation (Go's `\d \w \s \b` are ASCII-only,
//! and Go knows `\Q…\E`); replacement follows Go's `ReplaceAllString`,
//! including its `$1`/`${name}` expansion and empty-match rules.

use regex::{Captures, Regex};

use crate::lex::is_alnum;
use crate::strconv::{can_backquote, quote};

/// Rewrites Go-only syntax into its Rust equivalent.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                match e {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str("[0-9A-Za-z_]"),
                    'W' => out.push_str("[^0-9A-Za-z_]"),
                    's' => out.push_str("[\\t\\n\\f\\r ]"),
                    'S' => out.push_str("[^\\t\\n\\f\\r ]"),
                    'b' if !in_class => out.push_str("(?-u:\\b)"),
                    'B' if !in_class => out.push_str("(?-u:\\B)"),
                    'Q' => {
                        let mut literal = String::new();
                        while let Some(q) = chars.next() {
                            if q == '\\' && chars.peek() == Some(&'E') {
                                chars.next();
                                break;
                            }
                            literal.push(q);
                        }
                        for l in literal.chars() {
                            if in_class && matches!(l, '[' | ']' | '\\' | '^' | '-' | '&' | '~') {
                                out.push('\\');
                                out.push(l);
                            } else if in_class {
                                out.push(l);
                            } else {
                                out.push_str(&regex::escape(&l.to_string()));
                            }
                        }
                    }
                    e => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                // A `]` first in a class is a literal.
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // A POSIX class such as [:alpha:] is copied whole.
                out.push('[');
                for p in chars.by_ref() {
                    out.push(p);
                    if p == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            // Rust treats `&&`, `--` and `~~` in classes as set operators; Go does not.
            '&' | '-' | '~' if in_class && chars.peek() == Some(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A Go-style description of a pattern error.
fn describe(pattern: &str, err: &regex::Error) -> String {
    let detail = match err {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .unwrap_or("invalid pattern")
            .to_string(),
        regex::Error::CompiledTooBig(_) => "expression too large".to_string(),
        _ => "invalid pattern".to_string(),
    };
    let code = match detail.as_str() {
        "unclosed group" => "missing closing )".to_string(),
        "unopened group" => "unexpected )".to_string(),
        "unclosed character class" => "missing closing ]".to_string(),
        "repetition operator missing expression" => {
            "missing argument to repetition operator".to_string()
        }
        d if d.contains("escape") => "invalid escape sequence".to_string(),
        d => d.to_string(),
    };
    format!("error parsing regexp: {code}: `{pattern}`")
}

/// Compiles a Go (RE2) pattern; the error is Go's `error parsing regexp: …` text.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(&translate(pattern)).map_err(|e| describe(pattern, &e))
}

/// Go's `regexp.MatchString` (unanchored).
pub fn is_match(pattern: &str, text: &str) -> Result<bool, String> {
    Ok(compile(pattern)?.is_match(text))
}

/// Go's `Regexp.Expand` name parsing: `name`, `{name}`; numbers select groups.
fn extract(template: &str) -> Option<(&str, &str)> {
    let (brace, body) = match template.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, template),
    };
    let end = body.find(|c: char| !is_alnum(c)).unwrap_or(body.len());
    if end == 0 {
        return None;
    }
    let name = &body[..end];
    if brace {
        return body[end..].strip_prefix('}').map(|rest| (name, rest));
    }
    Some((name, &body[end..]))
}

fn group_index(re: &Regex, name: &str) -> Option<usize> {
    let numeric =
        name.bytes().all(|b| b.is_ascii_digit()) && !(name.starts_with('0') && name.len() > 1);
    if numeric {
        return name.parse().ok();
    }
    re.capture_names().position(|n| n == Some(name))
}

fn expand(out: &mut String, re: &Regex, template: &str, caps: &Captures<'_>) {
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = extract(rest) else {
            // Malformed references stay as literal text.
            out.push('$');
            continue;
        };
        rest = after;
        if let Some(m) = group_index(re, name).and_then(|i| caps.get(i)) {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
}

/// Go's `ReplaceAllString`: an empty match right after a previous match is
/// skipped, so `a*` on `baaac` replaces three places, not four. A bad
/// pattern fails as Go's `regexp.MustCompile` does, which is how
/// Prometheus' `reReplaceAll` reports it.
pub fn replace_all(pattern: &str, template: &str, text: &str) -> Result<String, String> {
    let re = compile(pattern).map_err(|e| {
        let shown = if can_backquote(pattern) {
            format!("`{pattern}`")
        } else {
            quote(pattern)
        };
        format!("regexp: Compile({shown}): {e}")
    })?;
    Ok(replace_all_compiled(&re, template, text))
}

/// Go's `Regexp.ReplaceAllString` on a compiled pattern: `$1`, `${name}`
/// in `template` expand to groups.
pub fn replace_all_compiled(re: &Regex, template: &str, text: &str) -> String {
    replace_with(re, text, |out, caps| expand(out, re, template, caps))
}

/// Go's `Regexp.ReplaceAllLiteralString`: `replacement` is used as is.
pub fn replace_all_literal(re: &Regex, replacement: &str, text: &str) -> String {
    replace_with(re, text, |out, _| out.push_str(replacement))
}

/// The next search position after a match ending at `end`: always at
/// least one character on, and on a character boundary.
fn advance(text: &str, search: usize, end: usize) -> usize {
    let width = text[search..].chars().next().map_or(1, char::len_utf8);
    let mut next = if search + width > end {
        search + width
    } else {
        end
    };
    while next < text.len() && !text.is_char_boundary(next) {
        next += 1;
    }
    next
}

fn replace_with(
    re: &Regex,
    text: &str,
    mut repl: impl FnMut(&mut String, &Captures<'_>),
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_end = 0;
    let mut search = 0;
    while search <= text.len() {
        let Some(caps) = re.captures_at(text, search) else {
            break;
        };
        let Some(whole) = caps.get(0) else {
            break;
        };
        out.push_str(&text[last_end..whole.start()]);
        if whole.end() > last_end || whole.start() == 0 {
            repl(&mut out, &caps);
        }
        last_end = whole.end();
        search = advance(text, search, whole.end());
    }
    out.push_str(&text[last_end..]);
    out
}

/// How many matches Go's `FindAllStringIndex(text, -1)` returns: an empty
/// match right after a previous match does not count.
pub fn count_matches(re: &Regex, text: &str) -> usize {
    let mut count = 0;
    let mut pos = 0;
    let mut prev_end = None;
    while pos <= text.len() {
        let Some(m) = re.find_at(text, pos) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos = advance(text, pos, pos);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_matches_go() {
        assert_eq!(
            replace_all("(a+)", "<$1>", "baaac"),
            Ok("b<aaa>c".to_string())
        );
        assert_eq!(replace_all("a*", "-", "baaac"), Ok("-b-c-".to_string()));
        assert_eq!(
            replace_all("(?P<x>\\w+)@", "${x}!", "me@host"),
            Ok("me!host".to_string())
        );
        assert_eq!(replace_all("(a)", "$1x", "a"), Ok("".to_string()));
        assert_eq!(replace_all("(a)", "${1}x", "a"), Ok("ax".to_string()));
        assert_eq!(replace_all("a", "$$", "aa"), Ok("$$".to_string()));
        assert_eq!(replace_all("a", "$", "a"), Ok("$".to_string()));
        assert_eq!(replace_all("", "-", "é"), Ok("-é-".to_string()));
        assert_eq!(
            replace_all("(.*):.*", "$1", "host:9100"),
            Ok("host".to_string())
        );
        assert_eq!(
            replace_all("(", "", "x"),
            Err("regexp: Compile(`(`): error parsing regexp: missing closing ): `(`".to_string())
        );
    }

    #[test]
    fn literal_replacement_and_counting_match_go() {
        let re = compile("(ts=)").unwrap();
        assert_eq!(replace_all_literal(&re, "$1x", "ts=1 ts=2"), "$1x1 $1x2");
        assert_eq!(replace_all_compiled(&re, "t$1", "ts=1"), "tts=1");
        let count = |p: &str, t: &str| count_matches(&compile(p).unwrap(), t);
        assert_eq!(count("a|b", "abab"), 4);
        assert_eq!(count("o", "foo"), 2);
        assert_eq!(count("a*", "baaac"), 3);
        assert_eq!(count("", "é"), 2);
        assert_eq!(count("x", ""), 0);
    }

    #[test]
    fn matching_uses_go_classes() {
        assert_eq!(is_match("^\\d+$", "123"), Ok(true));
        assert_eq!(is_match("^\\d+$", "١٢٣"), Ok(false));
        assert_eq!(is_match("\\bfoo\\b", "a foo b"), Ok(true));
        assert_eq!(is_match("[\\d.]+", "1.5"), Ok(true));
        assert_eq!(is_match("[]a]", "]"), Ok(true));
        assert_eq!(is_match("[[:alpha:]]+", "abc"), Ok(true));
        assert_eq!(is_match("\\Q.*\\E", "a.*b"), Ok(true));
        assert_eq!(is_match("\\Q.*\\E", "ab"), Ok(false));
        assert_eq!(is_match("[a&&b]", "&"), Ok(true));
        assert_eq!(is_match("(?i)ERROR", "error"), Ok(true));
        assert!(
            is_match("a)", "")
                .unwrap_err()
                .starts_with("error parsing regexp: unexpected )")
        );
    }
}
