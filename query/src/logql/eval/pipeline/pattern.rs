//! Pattern expressions: literal text with `<name>` captures and `<_>`
//! wildcards. The `pattern` parser extracts captures; the `|>` line filter
//! asks whether a whole line fits.

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    /// `<name>`; `None` for `<_>`.
    Capture(Option<String>),
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits a pattern into literals and captures; `<` not opening a valid
/// capture is literal text.
fn parts(pattern: &str) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<')
            && let Some(close) = after.find('>')
            && is_label_name(&after[..close])
        {
            let name = &after[..close];
            out.push(Part::Capture((name != "_").then(|| name.to_owned())));
            rest = &after[close + 1..];
            continue;
        }
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let next = rest[first..].find('<').map_or(rest.len(), |i| i + first);
        match out.last_mut() {
            Some(Part::Literal(lit)) => lit.extend_from_slice(&rest.as_bytes()[..next]),
            _ => out.push(Part::Literal(rest.as_bytes()[..next].to_vec())),
        }
        rest = &rest[next..];
    }
    out
}

fn check_adjacent(parts: &[Part]) -> Result<(), String> {
    for pair in parts.windows(2) {
        if let [Part::Capture(a), Part::Capture(b)] = pair {
            let show = |n: &Option<String>| n.clone().unwrap_or_else(|| "_".into());
            return Err(format!(
                "pattern has consecutive captures <{}><{}>: put literal text between them",
                show(a),
                show(b)
            ));
        }
    }
    Ok(())
}

/// The `pattern` parser.
#[derive(Debug, Clone)]
pub(crate) struct Extractor {
    parts: Vec<Part>,
}

impl Extractor {
    /// Needs at least one named capture, unique names and literal text
    /// between captures.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let parts = parts(pattern);
        check_adjacent(&parts)?;
        let mut names: Vec<&str> = Vec::new();
        for p in &parts {
            if let Part::Capture(Some(n)) = p {
                if names.contains(&n.as_str()) {
                    return Err(format!("duplicate capture name ({n}) in pattern"));
                }
                names.push(n);
            }
        }
        if names.is_empty() {
            return Err("at least one capture is required in pattern".into());
        }
        Ok(Self { parts })
    }

    /// Calls `found(name, value)` for each capture the line fills. A line
    /// that does not start with the leading literal fills none; once a
    /// literal is missing, the capture before it takes the rest of the
    /// line and matching stops.
    pub(crate) fn captures<'l>(&self, line: &'l [u8], mut found: impl FnMut(&str, &'l [u8])) {
        let mut parts = self.parts.as_slice();
        let mut rest = line;
        if let Some((Part::Literal(lit), tail)) = parts.split_first() {
            let Some(after) = rest.strip_prefix(lit.as_slice()) else {
                return;
            };
            rest = after;
            parts = tail;
        }
        while let Some((Part::Capture(name), tail)) = parts.split_first() {
            let Some((Part::Literal(lit), tail)) = tail.split_first() else {
                if let Some(n) = name {
                    found(n, rest);
                }
                return;
            };
            let Some(at) = find(rest, lit) else {
                if let Some(n) = name {
                    found(n, rest);
                }
                return;
            };
            if let Some(n) = name {
                found(n, &rest[..at]);
            }
            rest = &rest[at + lit.len()..];
            parts = tail;
        }
    }
}

/// The `|>` matcher: literals separated by `<_>` wildcards, matched
/// against the whole line.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    /// The literals; a wildcard sits between each two.
    literals: Vec<Vec<u8>>,
}

impl Glob {
    /// Only `<_>` captures are allowed.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let parts = parts(pattern);
        check_adjacent(&parts)?;
        let mut literals = vec![Vec::new()];
        for p in parts {
            match p {
                Part::Literal(lit) => {
                    if let Some(last) = literals.last_mut() {
                        *last = lit;
                    }
                }
                Part::Capture(None) => literals.push(Vec::new()),
                Part::Capture(Some(name)) => {
                    return Err(format!(
                        "pattern line filters only allow <_> captures, found <{name}>"
                    ));
                }
            }
        }
        Ok(Self { literals })
    }

    /// Whether the whole line fits: first literal a prefix, last a
    /// suffix, the rest in order between (leftmost placement is optimal
    /// when every gap is a wildcard).
    pub(crate) fn matches(&self, line: &[u8]) -> bool {
        let Some((first, rest)) = self.literals.split_first() else {
            return true;
        };
        let Some((last, middle)) = rest.split_last() else {
            return line == first.as_slice();
        };
        if line.len() < first.len() + last.len()
            || !line.starts_with(first)
            || !line.ends_with(last)
        {
            return false;
        }
        let mut hay = &line[first.len()..line.len() - last.len()];
        for lit in middle {
            match find(hay, lit) {
                Some(at) => hay = &hay[at + lit.len()..],
                None => return false,
            }
        }
        true
    }
}

/// The first position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&head, _)) = needle.split_first() else {
        return Some(0);
    };
    let mut from = 0;
    while let Some(i) = hay.get(from..)?.iter().position(|&b| b == head) {
        let at = from + i;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(pattern: &str, line: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        Extractor::new(pattern)
            .unwrap()
            .captures(line.as_bytes(), |n, v| {
                out.push((n.to_owned(), String::from_utf8_lossy(v).into_owned()));
            });
        out
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect()
    }

    #[test]
    fn extraction() {
        let p = "level=<lvl> status=<code> <_>";
        assert_eq!(
            extract(p, "level=error status=500 took=1s"),
            pairs(&[("lvl", "error"), ("code", "500")])
        );
        // A short line fills the leading captures only.
        assert_eq!(extract(p, "level=error"), pairs(&[("lvl", "error")]));
        assert_eq!(extract(p, "nope"), pairs(&[]));
        assert_eq!(
            extract("<ip> - <user> [<_>]", "1.2.3.4 - bob [now] x"),
            pairs(&[("ip", "1.2.3.4"), ("user", "bob")])
        );
        assert_eq!(extract("a < b <c>", "a < b 3"), pairs(&[("c", "3")]));
        assert_eq!(extract("é<x>", "éz"), pairs(&[("x", "z")]));
    }

    #[test]
    fn extractor_errors() {
        assert!(Extractor::new("<_> x").is_err());
        assert!(Extractor::new("<a><b>").is_err());
        assert!(Extractor::new("<a> <a>").is_err());
    }

    #[test]
    fn globs() {
        let g = Glob::new("level=<_> status=500 <_>").unwrap();
        assert!(g.matches(b"level=error status=500 took=1s"));
        assert!(!g.matches(b"level=info status=200 took=1s"));
        assert!(Glob::new("abc").unwrap().matches(b"abc"));
        assert!(!Glob::new("abc").unwrap().matches(b"abcd"));
        assert!(Glob::new("<_>").unwrap().matches(b"anything"));
        assert!(Glob::new("a<_>a").unwrap().matches(b"aa"));
        assert!(!Glob::new("ab<_>ba").unwrap().matches(b"aba"));
        assert!(Glob::new("<_>x<_>x<_>").unwrap().matches(b"1x2x3"));
        assert!(!Glob::new("<_>x<_>x<_>").unwrap().matches(b"1x2"));
        assert!(Glob::new("<lvl> x").is_err());
    }
}
