//! The LogQL lexer: turns the query text into tokens with byte spans.
//! Keywords stay identifiers, because LogQL's keywords (`json`, `by`,
//! `or`, ...) are only keywords in some positions and the parser knows
//! which.

use super::error::ParseError;

/// One token and where it starts and ends (byte offsets).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// A string literal, escapes already resolved.
    Str(String),
    Number(f64),
    /// A duration in nanoseconds.
    Duration(i64),
    /// A byte size.
    Bytes(u64),
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Pipe,
    /// `|=`
    PipeEq,
    /// `|~`
    PipeMatch,
    /// `|>`
    PipePattern,
    /// `!=`
    NotEq,
    /// `!~`
    NotMatch,
    /// `!>`
    NotPattern,
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `=~`
    Match,
    Gt,
    Ge,
    Lt,
    Le,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eof,
}

impl Tok {
    /// The token as syntax errors name it (Loki's style: classes in
    /// capitals, punctuation as written).
    pub fn describe(&self) -> &'static str {
        match self {
            Tok::Ident(_) => "IDENTIFIER",
            Tok::Str(_) => "STRING",
            Tok::Number(_) => "NUMBER",
            Tok::Duration(_) => "DURATION",
            Tok::Bytes(_) => "BYTES",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Pipe => "|",
            Tok::PipeEq => "|=",
            Tok::PipeMatch => "|~",
            Tok::PipePattern => "|>",
            Tok::NotEq => "!=",
            Tok::NotMatch => "!~",
            Tok::NotPattern => "!>",
            Tok::Eq => "=",
            Tok::EqEq => "==",
            Tok::Match => "=~",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Add => "+",
            Tok::Sub => "-",
            Tok::Mul => "*",
            Tok::Div => "/",
            Tok::Mod => "%",
            Tok::Pow => "^",
            Tok::Eof => "end of query",
        }
    }
}

/// Splits `input` into tokens, ending with `Tok::Eof`.
pub(crate) fn lex(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        input,
        bytes: input.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::at(self.input, offset, message)
    }

    fn peek_at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn push(&mut self, kind: Tok, start: usize) {
        self.tokens.push(Token {
            kind,
            start,
            end: self.pos,
        });
    }

    fn run(&mut self) -> Result<(), ParseError> {
        while let Some(b) = self.peek_at(self.pos) {
            let start = self.pos;
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'#' => {
                    while self.peek_at(self.pos).is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                b'"' => {
                    let s = self.quoted()?;
                    self.push(Tok::Str(s), start);
                }
                b'`' => {
                    let s = self.raw()?;
                    self.push(Tok::Str(s), start);
                }
                b'0'..=b'9' => {
                    let tok = self.number()?;
                    self.push(tok, start);
                }
                b'.' if self.peek_at(start + 1).is_some_and(|b| b.is_ascii_digit()) => {
                    let tok = self.number()?;
                    self.push(tok, start);
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    while self
                        .peek_at(self.pos)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        self.pos += 1;
                    }
                    let text = self.input[start..self.pos].to_owned();
                    self.push(Tok::Ident(text), start);
                }
                _ => {
                    let tok = self.punct()?;
                    self.push(tok, start);
                }
            }
        }
        self.push(Tok::Eof, self.pos);
        Ok(())
    }

    fn punct(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        let next = self.peek_at(start + 1);
        let (tok, len) = match (self.bytes[start], next) {
            (b'|', Some(b'=')) => (Tok::PipeEq, 2),
            (b'|', Some(b'~')) => (Tok::PipeMatch, 2),
            (b'|', Some(b'>')) => (Tok::PipePattern, 2),
            (b'|', _) => (Tok::Pipe, 1),
            (b'!', Some(b'=')) => (Tok::NotEq, 2),
            (b'!', Some(b'~')) => (Tok::NotMatch, 2),
            (b'!', Some(b'>')) => (Tok::NotPattern, 2),
            (b'=', Some(b'=')) => (Tok::EqEq, 2),
            (b'=', Some(b'~')) => (Tok::Match, 2),
            (b'=', _) => (Tok::Eq, 1),
            (b'>', Some(b'=')) => (Tok::Ge, 2),
            (b'>', _) => (Tok::Gt, 1),
            (b'<', Some(b'=')) => (Tok::Le, 2),
            (b'<', _) => (Tok::Lt, 1),
            (b'{', _) => (Tok::LBrace, 1),
            (b'}', _) => (Tok::RBrace, 1),
            (b'(', _) => (Tok::LParen, 1),
            (b')', _) => (Tok::RParen, 1),
            (b'[', _) => (Tok::LBracket, 1),
            (b']', _) => (Tok::RBracket, 1),
            (b',', _) => (Tok::Comma, 1),
            (b'+', _) => (Tok::Add, 1),
            (b'-', _) => (Tok::Sub, 1),
            (b'*', _) => (Tok::Mul, 1),
            (b'/', _) => (Tok::Div, 1),
            (b'%', _) => (Tok::Mod, 1),
            (b'^', _) => (Tok::Pow, 1),
            _ => {
                let c = self.input[start..].chars().next().unwrap_or('?');
                return Err(self.err(start, format!("syntax error: unexpected character {c:?}")));
            }
        };
        self.pos += len;
        Ok(tok)
    }

    /// A backquoted string: no escapes, may span lines.
    fn raw(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        match self.input[start + 1..].find('`') {
            Some(len) => {
                self.pos = start + 1 + len + 1;
                Ok(self.input[start + 1..start + 1 + len].to_owned())
            }
            None => Err(self.err(start, "unclosed string")),
        }
    }

    /// A double-quoted string with Go's escapes. Escapes can produce raw
    /// bytes (`\xff`), so the value is built as bytes and checked at the end.
    fn quoted(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.peek_at(self.pos) else {
                return Err(self.err(start, "unclosed string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                // Go's interpreted strings cannot span lines; a newline
                // almost always means a missing closing quote.
                b'\n' => return Err(self.err(start, "unclosed string")),
                b'\\' => self.escape(&mut out)?,
                _ => {
                    out.push(b);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.err(start, "invalid UTF-8 in string"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ParseError> {
        let at = self.pos;
        let Some(c) = self.peek_at(at + 1) else {
            return Err(self.err(at, "unclosed string"));
        };
        self.pos += 2;
        let simple = match c {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            b'"' => Some(b'"'),
            b'\'' => Some(b'\''),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        let invalid = |lexer: &Self| {
            let end = (at + 2).min(lexer.input.len());
            let text = lexer.input.get(at..end).unwrap_or("\\");
            lexer.err(at, format!("invalid escape sequence {text:?} in string"))
        };
        match c {
            b'x' => {
                let v = self.hex_digits(2).ok_or_else(|| invalid(self))?;
                out.push(v as u8);
            }
            b'u' | b'U' => {
                let n = if c == b'u' { 4 } else { 8 };
                let v = self.hex_digits(n).ok_or_else(|| invalid(self))?;
                let ch = char::from_u32(v).ok_or_else(|| invalid(self))?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            b'0'..=b'7' => {
                self.pos -= 1;
                let mut v: u32 = 0;
                for _ in 0..3 {
                    match self.peek_at(self.pos) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => return Err(invalid(self)),
                    }
                }
                let byte = u8::try_from(v).map_err(|_| invalid(self))?;
                out.push(byte);
            }
            _ => return Err(invalid(self)),
        }
        Ok(())
    }

    fn hex_digits(&mut self, n: usize) -> Option<u32> {
        let digits = self.input.get(self.pos..self.pos + n)?;
        let v = u32::from_str_radix(digits, 16).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += n;
        Some(v)
    }

    /// A number, or a number with a unit: a duration (`1h30m`, `1.5s`,
    /// `2d`) or a byte size (`1MB`, `512KiB`).
    fn number(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        self.digits();
        if self.peek_at(self.pos) == Some(b'.') {
            self.pos += 1;
            self.digits();
        }
        // An exponent needs a digit after it, so `1e` stays a bad unit.
        if matches!(self.peek_at(self.pos), Some(b'e' | b'E')) {
            let mut end = self.pos + 1;
            if matches!(self.peek_at(end), Some(b'+' | b'-')) {
                end += 1;
            }
            if self.peek_at(end).is_some_and(|b| b.is_ascii_digit()) {
                self.pos = end;
                self.digits();
            }
        }
        if !self.at_unit_char() {
            let text = &self.input[start..self.pos];
            return match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Tok::Number(v)),
                _ => Err(self.err(start, format!("invalid number {text:?}"))),
            };
        }
        // A run of number+unit segments; decide between duration and bytes
        // once its extent is known.
        while self.at_unit_char()
            || self
                .peek_at(self.pos)
                .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        {
            let c = self.input[self.pos..].chars().next().unwrap_or(' ');
            self.pos += c.len_utf8();
        }
        let text = &self.input[start..self.pos];
        if let Some(nanos) = parse_duration(text) {
            return Ok(Tok::Duration(nanos));
        }
        if let Some(bytes) = parse_bytes(text) {
            return Ok(Tok::Bytes(bytes));
        }
        let what = if text.ends_with(['b', 'B']) {
            "bytes"
        } else {
            "duration"
        };
        Err(self.err(start, format!("invalid {what} {text:?}")))
    }

    fn digits(&mut self) {
        while self.peek_at(self.pos).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn at_unit_char(&self) -> bool {
        let rest = &self.input[self.pos..];
        rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == 'µ' || c == 'μ' || c == '_')
    }
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;

fn duration_unit(unit: &str) -> Option<i128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SECOND,
        "m" => 60 * NANOS_PER_SECOND,
        "h" => 3_600 * NANOS_PER_SECOND,
        "d" => 86_400 * NANOS_PER_SECOND,
        "w" => 7 * 86_400 * NANOS_PER_SECOND,
        "y" => 365 * 86_400 * NANOS_PER_SECOND,
        _ => return None,
    })
}

/// Go's `time.ParseDuration` plus Prometheus' `d`, `w` and `y` (Loki
/// accepts either), in nanoseconds; `None` if malformed or too large.
pub(crate) fn parse_duration(text: &str) -> Option<i64> {
    let mut rest = text;
    let mut total: i128 = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after.len(), |(i, _)| i);
        let (unit, next) = after.split_at(unit_len);
        let scale = duration_unit(unit)?;
        let int: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut part = int.checked_mul(scale)?;
        if !frac.is_empty() {
            // Digits past nanosecond precision cannot change the result.
            let frac = &frac[..frac.len().min(18)];
            let digits: i128 = frac.parse().ok()?;
            let denom = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
            part = part.checked_add(digits.checked_mul(scale)? / denom)?;
        }
        total = total.checked_add(part)?;
        if total > i128::from(i64::MAX) {
            return None;
        }
        rest = next;
    }
    i64::try_from(total).ok()
}

/// A byte size as `humanize.ParseBytes` reads it (SI and IEC units,
/// case-insensitive), for the units that cannot be mistaken for durations.
pub(crate) fn parse_bytes(text: &str) -> Option<u64> {
    let num_len = text
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (num, unit) = text.split_at(num_len);
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "b" => 1,
        "kb" => 1_000,
        "kib" => 1 << 10,
        "mb" => 1_000_000,
        "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        "pb" => 1_000_000_000_000_000,
        "pib" => 1 << 50,
        "eb" => 1_000_000_000_000_000_000,
        "eib" => 1 << 60,
        _ => return None,
    };
    // Whole numbers exactly, so large sizes print and re-read unchanged.
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(scale);
    }
    let v: f64 = num.parse().ok()?;
    let bytes = v * scale as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<Tok> {
        lex(input).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn durations_follow_go_and_prometheus() {
        assert_eq!(parse_duration("5m"), Some(300 * 1_000_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400 * 1_000_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("1d"), Some(86_400 * 1_000_000_000));
        assert_eq!(parse_duration("2w"), Some(14 * 86_400 * 1_000_000_000));
        assert_eq!(parse_duration("10µs"), Some(10_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("1h30"), None);
        assert_eq!(parse_duration("99999999999y"), None);
    }

    #[test]
    fn bytes_take_si_and_iec_units() {
        assert_eq!(parse_bytes("1KB"), Some(1_000));
        assert_eq!(parse_bytes("1KiB"), Some(1_024));
        assert_eq!(parse_bytes("512B"), Some(512));
        assert_eq!(parse_bytes("1.5mb"), Some(1_500_000));
        assert_eq!(parse_bytes("20EiB"), None);
    }

    #[test]
    fn tokens_and_comments() {
        assert_eq!(
            kinds("{a=~`x\\d`} |= \"q\\\"\" # note\n[5m] 1KB 2.5"),
            vec![
                Tok::LBrace,
                Tok::Ident("a".into()),
                Tok::Match,
                Tok::Str("x\\d".into()),
                Tok::RBrace,
                Tok::PipeEq,
                Tok::Str("q\"".into()),
                Tok::LBracket,
                Tok::Duration(300_000_000_000),
                Tok::RBracket,
                Tok::Bytes(1_000),
                Tok::Number(2.5),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn go_escapes() {
        assert_eq!(
            kinds(r#""\x41\101\u00e9\U0001F600\t""#)[0],
            Tok::Str("AAé😀\t".into())
        );
        let err = lex(r#""\q""#).unwrap_err();
        assert_eq!(err.message, r#"invalid escape sequence "\\q" in string"#);
        assert_eq!(lex("\"abc").unwrap_err().message, "unclosed string");
        assert_eq!(
            lex("\"\\xff\"").unwrap_err().message,
            "invalid UTF-8 in string"
        );
    }
}
