//! A small JSON reader over raw line bytes. It never builds a tree: the
//! `json` stage walks the object once and flattens it, extractions walk
//! straight to one path, and values come back as written (numbers keep
//! their text) or unescaped (strings).

use std::borrow::Cow;

/// Deeper nesting than this is treated as malformed, so a hostile line
/// cannot exhaust the stack.
const MAX_DEPTH: usize = 256;

/// What a JSON value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Number,
    Bool,
    Null,
    Object,
    Array,
}

/// One step of an extraction path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// `.name` or `["name"]`
    Key(String),
    /// `[3]`
    Index(usize),
}

/// Parses an extraction path: `a.b`, `tags[0]`, `["key with space"]`,
/// and any mix of them.
pub(crate) fn parse_path(expr: &str) -> Result<Vec<Step>, String> {
    let bad = |why: &str| format!("invalid JSON path {expr:?}: {why}");
    let b = expr.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    let is_field = |c: u8| !matches!(c, b'.' | b'[' | b']' | b'"') && !c.is_ascii_whitespace();
    while i < b.len() {
        match b[i] {
            b'[' => {
                i += 1;
                if b.get(i) == Some(&b'"') {
                    i += 1;
                    let mut key = String::new();
                    loop {
                        match b.get(i) {
                            None => return Err(bad("unterminated string")),
                            Some(b'"') => break,
                            Some(b'\\') if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                                key.push(char::from(b[i + 1]));
                                i += 2;
                            }
                            Some(_) => {
                                let ch = expr[i..].chars().next().unwrap_or('\u{fffd}');
                                key.push(ch);
                                i += ch.len_utf8();
                            }
                        }
                    }
                    i += 1;
                    steps.push(Step::Key(key));
                } else {
                    let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                    let index = expr[i..i + n]
                        .parse()
                        .map_err(|_| bad("expected an index"))?;
                    i += n;
                    steps.push(Step::Index(index));
                }
                if b.get(i) != Some(&b']') {
                    return Err(bad("expected ]"));
                }
                i += 1;
            }
            b'.' if !steps.is_empty() => {
                i += 1;
                let n = b[i..].iter().take_while(|c| is_field(**c)).count();
                if n == 0 {
                    return Err(bad("expected a field name after ."));
                }
                steps.push(Step::Key(expr[i..i + n].to_owned()));
                i += n;
            }
            c if steps.is_empty() && is_field(c) => {
                let n = b.iter().take_while(|c| is_field(**c)).count();
                steps.push(Step::Key(expr[..n].to_owned()));
                i = n;
            }
            _ => return Err(bad("unexpected character")),
        }
    }
    if steps.is_empty() {
        return Err(bad("empty path"));
    }
    Ok(steps)
}

/// A cursor over the bytes of one JSON text.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    depth: usize,
}

type Res<T> = Result<T, String>;

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Self {
            b,
            pos: 0,
            depth: 0,
        }
    }

    fn err<T>(&self, what: &str) -> Res<T> {
        Err(format!("{what} at offset {}", self.pos))
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> Res<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(&format!("expected '{}'", char::from(c)))
        }
    }

    /// Checks that only whitespace is left.
    pub(crate) fn end(&mut self) -> Res<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.err("unexpected data after the JSON value"),
        }
    }

    /// A string's text between the quotes, escapes still in place.
    fn raw_string(&mut self) -> Res<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.pos;
        loop {
            match self.b.get(self.pos) {
                None => return self.err("unterminated string"),
                Some(b'"') => break,
                Some(b'\\') => {
                    match self.b.get(self.pos + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        Some(b'u') => {
                            let hex = self.b.get(self.pos + 2..self.pos + 6);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return self.err("invalid \\u escape");
                            }
                            self.pos += 4;
                        }
                        _ => return self.err("invalid escape"),
                    }
                    self.pos += 2;
                }
                Some(_) => self.pos += 1,
            }
        }
        let raw = &self.b[start..self.pos];
        self.pos += 1;
        Ok(raw)
    }

    fn number(&mut self) -> Res<()> {
        let digits = |r: &mut Self| {
            let n = r.b[r.pos..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            r.pos += n;
            n
        };
        if self.b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.b.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.err("invalid number"),
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return self.err("invalid number");
            }
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return self.err("invalid number");
            }
        }
        Ok(())
    }

    fn word(&mut self, w: &[u8]) -> Res<()> {
        if self.b[self.pos..].starts_with(w) {
            self.pos += w.len();
            Ok(())
        } else {
            self.err("invalid literal")
        }
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        Ok(())
    }

    /// Reads any value, returning its kind and its text as written.
    pub(crate) fn value(&mut self) -> Res<(Kind, &'a [u8])> {
        let Some(c) = self.peek() else {
            return self.err("unexpected end of input");
        };
        let start = self.pos;
        let kind = match c {
            b'{' => {
                self.members(|r, _| r.value().map(|_| ()))?;
                Kind::Object
            }
            b'[' => {
                self.elements(|r, _| r.value().map(|_| ()))?;
                Kind::Array
            }
            b'"' => {
                self.raw_string()?;
                Kind::String
            }
            b't' => self.word(b"true").map(|()| Kind::Bool)?,
            b'f' => self.word(b"false").map(|()| Kind::Bool)?,
            b'n' => self.word(b"null").map(|()| Kind::Null)?,
            _ => self.number().map(|()| Kind::Number)?,
        };
        Ok((kind, &self.b[start..self.pos]))
    }

    /// Walks an object, calling `member` with each raw key while the
    /// reader sits on that key's value; `member` must consume the value.
    pub(crate) fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Res<()>,
    ) -> Res<()> {
        self.enter()?;
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return self.err("expected a string key");
            }
            let key = self.raw_string()?;
            self.eat(b':')?;
            member(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return self.err("expected ',' or '}'"),
            }
        }
    }

    /// Walks an array, calling `element` with each index while the
    /// reader sits on that element; `element` must consume it.
    pub(crate) fn elements(
        &mut self,
        mut element: impl FnMut(&mut Self, usize) -> Res<()>,
    ) -> Res<()> {
        self.enter()?;
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        let mut i = 0;
        loop {
            element(self, i)?;
            i += 1;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return self.err("expected ',' or ']'"),
            }
        }
    }

    /// Peeks at the kind of the next value without reading it.
    pub(crate) fn next_kind(&mut self) -> Option<Kind> {
        Some(match self.peek()? {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => Kind::Number,
        })
    }
}

/// A string value's text without its escapes (and without the quotes,
/// if `raw` still has them). Invalid UTF-8 becomes U+FFFD.
pub(crate) fn unescape(raw: &[u8]) -> String {
    let raw = match raw {
        [b'"', inner @ .., b'"'] => inner,
        other => other,
    };
    if !raw.contains(&b'\\') {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let esc = raw.get(i + 1).copied().unwrap_or(b'\\');
        i += 2;
        let ch = match esc {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = hex4(raw, i);
                i += 4;
                match unit {
                    Some(hi @ 0xd800..=0xdbff) if raw.get(i..i + 2) == Some(b"\\u") => {
                        match hex4(raw, i + 2) {
                            Some(lo @ 0xdc00..=0xdfff) => {
                                i += 6;
                                let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
                                char::from_u32(c).unwrap_or('\u{fffd}')
                            }
                            _ => '\u{fffd}',
                        }
                    }
                    Some(u) => char::from_u32(u).unwrap_or('\u{fffd}'),
                    None => '\u{fffd}',
                }
            }
            other => char::from(other),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// A value as a label value: strings unescaped, `null` empty, everything
/// else as written.
pub(crate) fn label_value(kind: Kind, text: &[u8]) -> String {
    match kind {
        Kind::String => unescape(text),
        Kind::Null => String::new(),
        _ => String::from_utf8_lossy(text).into_owned(),
    }
}

/// The key bytes of an object member, unescaped.
pub(crate) fn key_text(raw: &[u8]) -> Cow<'_, str> {
    if raw.contains(&b'\\') {
        Cow::Owned(unescape(raw))
    } else {
        String::from_utf8_lossy(raw)
    }
}

/// Every flattenable field of an object line as `(name, value)`: nested
/// objects join their keys with `_`, arrays and `null` are skipped. The
/// names are not yet sanitised.
pub(crate) fn flatten(line: &[u8], out: &mut Vec<(String, String)>) -> Res<()> {
    let mut r = Reader::new(line);
    if r.next_kind() != Some(Kind::Object) {
        return r.err("expected a JSON object");
    }
    let mut prefix = String::new();
    flatten_object(&mut r, &mut prefix, out)?;
    r.end()
}

fn flatten_object(
    r: &mut Reader<'_>,
    prefix: &mut String,
    out: &mut Vec<(String, String)>,
) -> Res<()> {
    r.members(|r, key| {
        let base = prefix.len();
        if base > 0 {
            prefix.push('_');
        }
        prefix.push_str(&key_text(key));
        let result = match r.next_kind() {
            Some(Kind::Object) => flatten_object(r, prefix, out),
            Some(Kind::Array | Kind::Null) => r.value().map(|_| ()),
            _ => r
                .value()
                .map(|(kind, text)| out.push((prefix.clone(), label_value(kind, text)))),
        };
        prefix.truncate(base);
        result
    })
}

/// Like [`flatten`], but each field comes with its path of original keys
/// (what Loki reports as a detected field's `jsonPath`).
pub(crate) fn flatten_paths(line: &[u8], out: &mut Vec<(Vec<String>, String)>) -> Res<()> {
    let mut r = Reader::new(line);
    if r.next_kind() != Some(Kind::Object) {
        return r.err("expected a JSON object");
    }
    let mut path = Vec::new();
    flatten_object_paths(&mut r, &mut path, out)?;
    r.end()
}

fn flatten_object_paths(
    r: &mut Reader<'_>,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, String)>,
) -> Res<()> {
    r.members(|r, key| {
        path.push(key_text(key).into_owned());
        let result = match r.next_kind() {
            Some(Kind::Object) => flatten_object_paths(r, path, out),
            Some(Kind::Array | Kind::Null) => r.value().map(|_| ()),
            _ => r
                .value()
                .map(|(kind, text)| out.push((path.clone(), label_value(kind, text)))),
        };
        path.pop();
        result
    })
}

/// The value at `path`, if the text is valid JSON and the path exists.
pub(crate) fn lookup<'a>(line: &'a [u8], path: &[Step]) -> Option<(Kind, &'a [u8])> {
    let mut r = Reader::new(line);
    let mut found = None;
    descend(&mut r, path, &mut found).ok()?;
    found
}

fn descend<'a>(r: &mut Reader<'a>, path: &[Step], found: &mut Option<(Kind, &'a [u8])>) -> Res<()> {
    let Some((step, rest)) = path.split_first() else {
        *found = Some(r.value()?);
        return Ok(());
    };
    match (step, r.next_kind()) {
        (Step::Key(want), Some(Kind::Object)) => r.members(|r, key| {
            if found.is_none() && key_text(key) == want.as_str() {
                descend(r, rest, found)
            } else {
                r.value().map(|_| ())
            }
        }),
        (Step::Index(want), Some(Kind::Array)) => r.elements(|r, i| {
            if i == *want {
                descend(r, rest, found)
            } else {
                r.value().map(|_| ())
            }
        }),
        _ => r.value().map(|_| ()),
    }
}

/// Checks that `line` is one valid JSON value.
pub(crate) fn validate(line: &[u8]) -> Res<()> {
    let mut r = Reader::new(line);
    r.value()?;
    r.end()
}
