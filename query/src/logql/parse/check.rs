//! Checks on the text inside strings (regexes, patterns, IP ranges, label
//! names), so a query that parses can be evaluated without surprises.

use std::collections::HashSet;
use std::net::IpAddr;

use regex::Regex;

/// The one-line reason a regex does not compile: the crate's syntax errors
/// span several lines (pattern, caret, message) and only the last says why.
pub(super) fn regex_problem(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map_or_else(
            || text.lines().next().unwrap_or("").to_owned(),
            str::to_owned,
        )
}

/// Compiles an unanchored regex (line filters, `regexp`).
pub(super) fn unanchored(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| regex_problem(&e))
}

/// Compiles a regex anchored at both ends, as label regexes are.
pub(super) fn anchored(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| regex_problem(&e))
}

/// Whether `name` can be a label name.
pub(super) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks an `ip("...")` operand: an address, a CIDR, or an `a-b` range
/// within one family.
pub(super) fn ip_pattern(pattern: &str) -> Result<(), String> {
    let bad = || format!("invalid ip pattern {pattern:?}: expected an address, CIDR or range");
    let pattern = pattern.trim();
    if let Some((addr, bits)) = pattern.split_once('/') {
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let bits: u8 = bits.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        return if bits <= max { Ok(()) } else { Err(bad()) };
    }
    if let Some((from, to)) = pattern.split_once('-') {
        let from: IpAddr = from.trim().parse().map_err(|_| bad())?;
        let to: IpAddr = to.trim().parse().map_err(|_| bad())?;
        return if from.is_ipv4() == to.is_ipv4() {
            Ok(())
        } else {
            Err(bad())
        };
    }
    pattern.parse::<IpAddr>().map(|_| ()).map_err(|_| bad())
}

/// Where a pattern's text goes: `<name>` captures, `<_>` skips, anything
/// else is literal.
#[derive(Debug, PartialEq)]
enum Part<'a> {
    Literal,
    Capture(&'a str),
}

fn pattern_parts(pattern: &str) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<')
            && let Some(close) = after.find('>')
            && (is_label_name(&after[..close]))
        {
            parts.push(Part::Capture(&after[..close]));
            rest = &after[close + 1..];
            continue;
        }
        // Literal text runs to the next `<` that could open a capture.
        let next = rest
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '<')
            .map_or(rest.len(), |(i, _)| i);
        if parts.last() != Some(&Part::Literal) {
            parts.push(Part::Literal);
        }
        rest = &rest[next..];
    }
    parts
}

/// Checks a `pattern` parser expression (`named` true) or a `|>` line
/// filter pattern (`named` false: only `<_>` is allowed).
pub(super) fn pattern(pattern: &str, named: bool) -> Result<(), String> {
    let parts = pattern_parts(pattern);
    let mut names = HashSet::new();
    let mut previous_capture: Option<&str> = None;
    for part in &parts {
        match part {
            Part::Literal => previous_capture = None,
            Part::Capture(name) => {
                if let Some(prev) = previous_capture {
                    return Err(format!(
                        "pattern has consecutive captures <{prev}><{name}>: put literal text between them"
                    ));
                }
                previous_capture = Some(name);
                if *name == "_" {
                    continue;
                }
                if !named {
                    return Err(format!(
                        "pattern line filters only allow <_> captures, found <{name}>"
                    ));
                }
                if !names.insert(*name) {
                    return Err(format!("duplicate capture name ({name}) in pattern"));
                }
            }
        }
    }
    if named && names.is_empty() {
        return Err("at least one capture is required in pattern".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern("<a> <_> x", true).is_ok());
        assert!(pattern("<_> x", true).is_err());
        assert!(pattern("<a><b>", true).is_err());
        assert!(pattern("<a> <a>", true).is_err());
        assert!(pattern("level=<_> x <_>", false).is_ok());
        assert!(pattern("<lvl> x", false).is_err());
        assert!(pattern("a < b <c>", true).is_ok());
    }

    #[test]
    fn ip_patterns() {
        for ok in ["10.0.0.0/8", "::1", "192.168.0.1-192.168.0.9", "1.2.3.4"] {
            assert!(ip_pattern(ok).is_ok(), "{ok}");
        }
        for bad in ["10.0.0.0/33", "x", "1.2.3.4-::1", ""] {
            assert!(ip_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regex_problems_are_one_line() {
        let err = unanchored("(a").unwrap_err();
        assert_eq!(err, "unclosed group");
    }
}
