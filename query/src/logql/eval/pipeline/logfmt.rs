//! A logfmt reader: `key=value` pairs separated by whitespace, values bare
//! or double-quoted with Go escapes, keys alone meaning an empty value.
//! A malformed pair is reported and skipped so a lenient caller can go on.

/// One pair as read; the value is unquoted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Pair<'a> {
    pub key: &'a [u8],
    pub value: std::borrow::Cow<'a, [u8]>,
}

/// Iterates over the pairs of one line.
pub(crate) struct Pairs<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Pairs<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Self {
        Self { b: line, pos: 0 }
    }

    fn at(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// Reports a malformed pair and moves past it, to the next whitespace.
    fn fail(&mut self, what: String) -> Option<Result<Pair<'a>, String>> {
        let err = format!("logfmt syntax error at pos {}: {what}", self.pos + 1);
        while self.at().is_some_and(|c| c > b' ') {
            self.pos += 1;
        }
        Some(Err(err))
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<Pair<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.at().is_some_and(|c| c <= b' ') {
            self.pos += 1;
        }
        let start = self.pos;
        match self.at()? {
            b'=' => return self.fail("unexpected '='".into()),
            b'"' => return self.fail("unexpected '\"'".into()),
            _ => {}
        }
        while self
            .at()
            .is_some_and(|c| c > b' ' && c != b'=' && c != b'"')
        {
            self.pos += 1;
        }
        let key = &self.b[start..self.pos];
        match self.at() {
            Some(b'"') => return self.fail("unexpected '\"'".into()),
            Some(b'=') => self.pos += 1,
            _ => {
                return Some(Ok(Pair {
                    key,
                    value: std::borrow::Cow::Borrowed(&[]),
                }));
            }
        }
        if self.at() == Some(b'"') {
            let open = self.pos;
            self.pos += 1;
            loop {
                match self.at() {
                    None => {
                        self.pos = open;
                        return self.fail("unterminated quoted value".into());
                    }
                    Some(b'"') => break,
                    Some(b'\\') => self.pos += 2,
                    Some(_) => self.pos += 1,
                }
            }
            let inner = &self.b[open + 1..self.pos];
            self.pos += 1;
            if self.at().is_some_and(|c| c > b' ') {
                return self.fail("expected whitespace after a quoted value".into());
            }
            return Some(match unquote(inner) {
                Some(value) => Ok(Pair { key, value }),
                None => Err(format!(
                    "logfmt syntax error at pos {}: invalid quoted value",
                    open + 1
                )),
            });
        }
        let vstart = self.pos;
        while let Some(c) = self.at().filter(|c| *c > b' ') {
            if c == b'=' || c == b'"' {
                return self.fail(format!("unexpected '{}'", char::from(c)));
            }
            self.pos += 1;
        }
        Some(Ok(Pair {
            key,
            value: std::borrow::Cow::Borrowed(&self.b[vstart..self.pos]),
        }))
    }
}

/// The text inside quotes with Go escapes resolved; `None` if an escape
/// is malformed.
fn unquote(inner: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    if !inner.contains(&b'\\') {
        return Some(std::borrow::Cow::Borrowed(inner));
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    let push_char = |out: &mut Vec<u8>, code: u32| {
        let c = char::from_u32(code).unwrap_or('\u{fffd}');
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    };
    let hex = |from: usize, len: usize| -> Option<u32> {
        let digits = std::str::from_utf8(inner.get(from..from + len)?).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    };
    while i < inner.len() {
        if inner[i] != b'\\' {
            out.push(inner[i]);
            i += 1;
            continue;
        }
        let esc = *inner.get(i + 1)?;
        i += 2;
        match esc {
            b'"' | b'\\' | b'/' | b'\'' => out.push(esc),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'x' => {
                out.push(u8::try_from(hex(i, 2)?).ok()?);
                i += 2;
            }
            b'u' => {
                push_char(&mut out, hex(i, 4)?);
                i += 4;
            }
            b'U' => {
                push_char(&mut out, hex(i, 8)?);
                i += 8;
            }
            b'0'..=b'7' => {
                let digits = inner.get(i - 1..i + 2)?;
                if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                    return None;
                }
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(v).ok()?);
                i += 2;
            }
            _ => return None,
        }
    }
    Some(std::borrow::Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> Vec<Result<(String, String), String>> {
        Pairs::new(line.as_bytes())
            .map(|p| {
                p.map(|p| {
                    (
                        String::from_utf8_lossy(p.key).into_owned(),
                        String::from_utf8_lossy(&p.value).into_owned(),
                    )
                })
            })
            .collect()
    }

    fn ok(k: &str, v: &str) -> Result<(String, String), String> {
        Ok((k.into(), v.into()))
    }

    #[test]
    fn pairs() {
        assert_eq!(
            read(r#"level=error msg="db \"down\"" took=1.5s bare empty= x="a\tb\u00e9""#),
            vec![
                ok("level", "error"),
                ok("msg", "db \"down\""),
                ok("took", "1.5s"),
                ok("bare", ""),
                ok("empty", ""),
                ok("x", "a\tb\u{e9}"),
            ]
        );
    }

    #[test]
    fn malformed_pairs_are_skipped() {
        let got = read(r#"a=b=c d=e =f g"h i="unterminated"#);
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(got[0].is_err());
        assert_eq!(got[1], ok("d", "e"));
        assert!(got[2].is_err());
        assert!(got[3].is_err());
        assert!(got[4].is_err());
        assert!(read(r#"a="\q""#)[0].is_err());
    }
}
