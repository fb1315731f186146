//! The label-set text of a protobuf stream (`{job="varlog", host="a\"b"}`):
//! a pull parser and the matching renderer.
//!
//! Syntax, as Prometheus and Loki print label sets: braces around
//! comma-separated `name="value"` pairs, optional whitespace anywhere between
//! tokens and an optional trailing comma. Values are double-quoted with Go's
//! escapes (`\\ \" \n \t \xHH \u00e9` …) or backtick-quoted raw strings.
//! Names are bare words, or quoted like values for names outside the classic
//! character set (Prometheus 3's `{"k8s.pod"="x"}`); whether a name is
//! acceptable is validation's business, so bare names take any run of
//! characters up to the next delimiter and the message can name them.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// A syntax error in label-set text, at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// Byte offset into the text where the problem is.
    pub(crate) pos: usize,
    /// What is wrong.
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.pos, self.message)
    }
}

impl std::error::Error for ParseError {}

/// One parsed pair; borrowed from the text unless escapes had to be undone.
pub(crate) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening brace.
    Start,
    /// After `{` or `,`: a pair or `}` comes next.
    ExpectPair,
    /// After a pair: `,` or `}` comes next.
    AfterPair,
    /// After the closing brace, or after an error.
    Done,
}

/// Parses label-set text one pair at a time, so a caller can stop keeping
/// pairs past a limit while still counting them.
pub(crate) struct Parser<'a> {
    text: &'a str,
    pos: usize,
    state: State,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            state: State::Start,
        }
    }

    /// The next pair, `None` after the closing brace. After an error the
    /// parser is done and yields `None`.
    pub(crate) fn next_pair(&mut self) -> Result<Option<Pair<'a>>, ParseError> {
        let next = self.step();
        if next.is_err() {
            self.state = State::Done;
        }
        next
    }

    fn step(&mut self) -> Result<Option<Pair<'a>>, ParseError> {
        loop {
            self.skip_space();
            match self.state {
                State::Done => return Ok(None),
                State::Start => {
                    self.expect('{', "expected '{' to open the label set")?;
                    self.state = State::ExpectPair;
                }
                State::ExpectPair => {
                    if self.eat('}') {
                        return self.finish();
                    }
                    let pair = self.pair()?;
                    self.state = State::AfterPair;
                    return Ok(Some(pair));
                }
                State::AfterPair => {
                    if self.eat('}') {
                        return self.finish();
                    }
                    self.expect(',', "expected ',' or '}' after a label")?;
                    self.state = State::ExpectPair;
                }
            }
        }
    }

    fn finish(&mut self) -> Result<Option<Pair<'a>>, ParseError> {
        self.skip_space();
        if self.pos < self.text.len() {
            return Err(self.error("unexpected text after the closing '}'".to_owned()));
        }
        self.state = State::Done;
        Ok(None)
    }

    fn pair(&mut self) -> Result<Pair<'a>, ParseError> {
        let name = match self.peek() {
            Some('"' | '`') => self.string("label name")?,
            _ => Cow::Borrowed(self.bare_name()?),
        };
        self.skip_space();
        match self.peek() {
            Some('=') => {
                self.pos += 1;
                if self.peek() == Some('~') {
                    return Err(self.operator_error(name.as_ref(), "=~"));
                }
            }
            Some('!') => {
                let op = if self.text[self.pos..].starts_with("!~") {
                    "!~"
                } else {
                    "!="
                };
                return Err(self.operator_error(name.as_ref(), op));
            }
            _ => {
                return Err(self.error(format!(
                    "expected '=' after label name {name:?}, found {}",
                    self.found()
                )));
            }
        }
        self.skip_space();
        let value = match self.peek() {
            Some('"' | '`') => self.string("label value")?,
            _ => {
                return Err(self.error(format!(
                    "expected a quoted value for label {name:?}, found {}",
                    self.found()
                )));
            }
        };
        Ok((name, value))
    }

    fn operator_error(&self, name: &str, op: &str) -> ParseError {
        self.error(format!(
            "label {name:?} uses the matcher operator {op}; a stream's labels take only '='"
        ))
    }

    fn bare_name(&mut self) -> Result<&'a str, ParseError> {
        let rest = &self.text[self.pos..];
        let len = rest
            .find(|c: char| is_space(c) || "=!~,{}\"`".contains(c))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(self.error(format!("expected a label name, found {}", self.found())));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    /// A double-quoted (escapes undone) or backtick-quoted (raw) string.
    fn string(&mut self, what: &str) -> Result<Cow<'a, str>, ParseError> {
        let start = self.pos;
        let Some(quote) = self.peek() else {
            return Err(self.error(format!("expected a quoted {what}")));
        };
        self.pos += 1;
        let body_start = self.pos;
        let rest = &self.text[body_start..];
        if quote == '`' {
            let Some(len) = rest.find('`') else {
                return Err(unterminated(start, what));
            };
            self.pos += len + 1;
            return Ok(Cow::Borrowed(&rest[..len]));
        }
        // The common case has no escapes and borrows.
        match rest.find(['"', '\\']) {
            None => Err(unterminated(start, what)),
            Some(len) if rest.as_bytes()[len] == b'"' => {
                self.pos += len + 1;
                Ok(Cow::Borrowed(&rest[..len]))
            }
            Some(_) => {
                let (value, len) = unescape(rest, body_start, start, what)?;
                self.pos += len;
                Ok(Cow::Owned(value))
            }
        }
    }

    fn skip_space(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches(is_space).len();
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, message: &str) -> Result<(), ParseError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(format!("{message}, found {}", self.found())))
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("{c:?}"),
            None => "the end of the text".to_owned(),
        }
    }

    fn error(&self, message: String) -> ParseError {
        ParseError {
            pos: self.pos,
            message,
        }
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn unterminated(pos: usize, what: &str) -> ParseError {
    ParseError {
        pos,
        message: format!("quoted {what} is not terminated"),
    }
}

/// Undoes Go escapes in the body of a double-quoted string. Returns the
/// value and how many bytes of `rest` it took, closing quote included.
/// `offset` is where `rest` starts in the text, `start` where the string does.
fn unescape(
    rest: &str,
    offset: usize,
    start: usize,
    what: &str,
) -> Result<(String, usize), ParseError> {
    // Bytes, not chars: `\xHH` and octal escapes produce single bytes, which
    // Go allows to form (or break) UTF-8 sequences.
    let mut out: Vec<u8> = Vec::with_capacity(rest.len().min(256));
    let bytes = rest.as_bytes();
    let mut i = 0;
    let at = |i: usize, message: String| ParseError {
        pos: offset + i,
        message,
    };
    loop {
        let Some(&b) = bytes.get(i) else {
            return Err(unterminated(start, what));
        };
        match b {
            b'"' => break,
            b'\\' => {
                let Some(&e) = bytes.get(i + 1) else {
                    return Err(unterminated(start, what));
                };
                let simple = match e {
                    b'a' => Some(0x07),
                    b'b' => Some(0x08),
                    b'f' => Some(0x0c),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'v' => Some(0x0b),
                    b'\\' | b'"' | b'\'' => Some(e),
                    _ => None,
                };
                if let Some(byte) = simple {
                    out.push(byte);
                    i += 2;
                    continue;
                }
                match e {
                    b'x' => {
                        let v = hex(bytes, i + 2, 2).ok_or_else(|| {
                            at(i, "\\x must be followed by two hex digits".to_owned())
                        })?;
                        // Two hex digits always fit a byte.
                        out.push(v as u8);
                        i += 4;
                    }
                    b'0'..=b'7' => {
                        let v = bytes
                            .get(i + 1..i + 4)
                            .filter(|d| d.iter().all(|d| (b'0'..=b'7').contains(d)))
                            .map(|d| d.iter().fold(0u32, |v, d| v * 8 + u32::from(d - b'0')))
                            .filter(|&v| v <= 0o377)
                            .ok_or_else(|| {
                                at(
                                    i,
                                    "octal escape must be three digits up to \\377".to_owned(),
                                )
                            })?;
                        out.push(v as u8);
                        i += 4;
                    }
                    b'u' | b'U' => {
                        let digits = if e == b'u' { 4 } else { 8 };
                        let c = hex(bytes, i + 2, digits)
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                at(
                                    i,
                                    format!(
                                        "\\{} must be followed by {digits} hex digits of a Unicode scalar value",
                                        e as char
                                    ),
                                )
                            })?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        i += 2 + digits;
                    }
                    _ => {
                        let shown = rest[i + 1..].chars().next().unwrap_or('?');
                        return Err(at(i, format!("unknown escape sequence \\{shown}")));
                    }
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    let value = String::from_utf8(out).map_err(|_| ParseError {
        pos: start,
        message: format!("quoted {what} is not valid UTF-8 once escapes are undone"),
    })?;
    Ok((value, i + 1))
}

fn hex(bytes: &[u8], from: usize, digits: usize) -> Option<u32> {
    let digits = bytes.get(from..from + digits)?;
    digits.iter().try_fold(0u32, |v, &d| {
        let d = char::from(d).to_digit(16)?;
        Some(v * 16 + d)
    })
}

/// True for names in the classic Prometheus label name syntax,
/// `[a-zA-Z_][a-zA-Z0-9_]*`, which Loki requires.
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Renders pairs as label-set text that [`Parser`] reads back exactly:
/// `{a="b", c="d"}`, names quoted when not in the classic syntax.
pub(crate) fn render<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if is_valid_label_name(name) {
            out.push_str(name);
        } else {
            push_quoted(&mut out, name);
        }
        out.push('=');
        push_quoted(&mut out, value);
    }
    out.push('}');
    out
}

/// Appends `s` double-quoted with Go-style escapes for quotes, backslashes
/// and control characters; everything else is written as is.
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Writing to a String cannot fail.
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
