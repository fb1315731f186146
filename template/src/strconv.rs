//! Go's `strconv` rules that the template language leans on: quoting (used in
//! error messages and `%q`), unquoting literals, and number syntax (literals
//! and Prometheus' string-to-float conversion accept exactly Go's forms).

use std::fmt;

/// Why a Go number parse failed; Go words the two cases differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumError {
    /// Not a number in Go's syntax.
    Syntax,
    /// A number, but too large for the type.
    Range,
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NumError::Syntax => "invalid syntax",
            NumError::Range => "value out of range",
        })
    }
}

/// A malformed quoted literal; Go reports it only as "invalid syntax".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidSyntax;

impl fmt::Display for InvalidSyntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid syntax")
    }
}

/// Approximates Go's `strconv.IsPrint`: graphic characters plus the ASCII
/// space, but not other spaces, controls, format or private-use characters.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xFFFE | 0xFFFF | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

fn push_escaped(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    let printable = if ascii_only {
        c.is_ascii() && is_print(c)
    } else {
        is_print(c)
    };
    if printable {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.Quote` (or `QuoteToASCII` when `ascii_only`).
pub(crate) fn quote_with(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', ascii_only);
    }
    out.push('"');
    out
}

/// Go's `strconv.Quote`, i.e. `%q` of a string.
pub fn quote(s: &str) -> String {
    quote_with(s, false)
}

/// Go's `strconv.QuoteRune` (or `QuoteRuneToASCII`).
pub(crate) fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// Go's `strconv.CanBackquote`: whether `%#q` may use a raw string.
pub(crate) fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| {
        if c.len_utf8() > 1 {
            return c != '\u{feff}';
        }
        !((c < ' ' && c != '\t') || c == '`' || c == '\u{7f}')
    })
}

/// One unquoted unit: either a character or a raw byte from `\x`/octal escapes.
enum Unit {
    Char(char),
    Byte(u8),
}

fn unhex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// Go's `strconv.UnquoteChar`: decodes the first character or escape of `s`.
fn unquote_char(s: &str, quote: char) -> Result<(Unit, &str), InvalidSyntax> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(InvalidSyntax)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(InvalidSyntax);
    }
    if c != '\\' {
        return Ok((Unit::Char(c), chars.as_str()));
    }
    let bytes = s.as_bytes();
    let esc = *bytes.get(1).ok_or(InvalidSyntax)?;
    let rest = s.get(2..).ok_or(InvalidSyntax)?;
    let simple = |c: char| Ok((Unit::Char(c), rest));
    match esc {
        b'a' => simple('\u{7}'),
        b'b' => simple('\u{8}'),
        b'f' => simple('\u{c}'),
        b'n' => simple('\n'),
        b'r' => simple('\r'),
        b't' => simple('\t'),
        b'v' => simple('\u{b}'),
        b'\\' => simple('\\'),
        b'\'' | b'"' => {
            if esc as char != quote {
                return Err(InvalidSyntax);
            }
            simple(esc as char)
        }
        b'x' | b'u' | b'U' => {
            let n = match esc {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = rest.as_bytes().get(..n).ok_or(InvalidSyntax)?;
            let mut v: u32 = 0;
            for &d in digits {
                v = (v << 4) | unhex(d).ok_or(InvalidSyntax)?;
            }
            let tail = rest.get(n..).ok_or(InvalidSyntax)?;
            if esc == b'x' {
                // Go keeps `\x` escapes as raw bytes, possibly not UTF-8.
                return Ok((Unit::Byte(v as u8), tail));
            }
            let c = char::from_u32(v).ok_or(InvalidSyntax)?;
            Ok((Unit::Char(c), tail))
        }
        b'0'..=b'7' => {
            let digits = rest.as_bytes().get(..2).ok_or(InvalidSyntax)?;
            let mut v = u32::from(esc - b'0');
            for &d in digits {
                if !(b'0'..=b'7').contains(&d) {
                    return Err(InvalidSyntax);
                }
                v = (v << 3) | u32::from(d - b'0');
            }
            if v > 255 {
                return Err(InvalidSyntax);
            }
            let tail = rest.get(2..).ok_or(InvalidSyntax)?;
            Ok((Unit::Byte(v as u8), tail))
        }
        _ => Err(InvalidSyntax),
    }
}

/// Go's `strconv.Unquote` for the three literal forms. Escapes that produce
/// bytes which are not UTF-8 are replaced by U+FFFD, since a Rust string
/// cannot hold them.
pub(crate) fn unquote(s: &str) -> Result<String, InvalidSyntax> {
    let quote = s.chars().next().ok_or(InvalidSyntax)?;
    if !matches!(quote, '"' | '\'' | '`') || s.len() < 2 || !s.ends_with(quote) {
        return Err(InvalidSyntax);
    }
    let inner = &s[1..s.len() - 1];
    if quote == '`' {
        if inner.contains('`') {
            return Err(InvalidSyntax);
        }
        return Ok(inner.replace('\r', ""));
    }
    if inner.contains('\n') {
        return Err(InvalidSyntax);
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut rest = inner;
    let mut units = 0;
    while !rest.is_empty() {
        let (unit, tail) = unquote_char(rest, quote)?;
        match unit {
            Unit::Char(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Unit::Byte(b) => out.push(b),
        }
        units += 1;
        rest = tail;
    }
    if quote == '\'' && units != 1 {
        return Err(InvalidSyntax);
    }
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Decodes a character constant such as `'a'` or `'\n'` to its code point.
pub(crate) fn unquote_char_constant(text: &str) -> Result<u32, String> {
    let body = text.get(1..).ok_or_else(|| InvalidSyntax.to_string())?;
    let (unit, tail) = unquote_char(body, '\'').map_err(|e| e.to_string())?;
    if tail != "'" {
        return Err(format!("malformed character constant: {text}"));
    }
    Ok(match unit {
        Unit::Char(c) => c as u32,
        Unit::Byte(b) => u32::from(b),
    })
}

/// Go's `underscoreOK`: underscores may only separate digits (or follow a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(&(b'+' | b'-')) = b.first() {
        b = &b[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
pub fn parse_uint(s: &str) -> Result<u64, NumError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(NumError::Syntax);
    }
    let (base, digits): (u64, &[u8]) = if b[0] == b'0' && b.len() >= 3 && b[1] | 0x20 == b'b' {
        (2, &b[2..])
    } else if b[0] == b'0' && b.len() >= 3 && b[1] | 0x20 == b'o' {
        (8, &b[2..])
    } else if b[0] == b'0' && b.len() >= 3 && b[1] | 0x20 == b'x' {
        (16, &b[2..])
    } else if b[0] == b'0' && b.len() > 1 {
        (8, &b[1..])
    } else {
        (10, b)
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        if c == b'_' {
            underscores = true;
            continue;
        }
        let d = match (c as char).to_digit(36) {
            Some(d) if u64::from(d) < base => u64::from(d),
            _ => return Err(NumError::Syntax),
        };
        n = n
            .checked_mul(base)
            .and_then(|n| n.checked_add(d))
            .ok_or(NumError::Range)?;
    }
    if underscores && !underscore_ok(s) {
        return Err(NumError::Syntax);
    }
    Ok(n)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub fn parse_int(s: &str) -> Result<i64, NumError> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let un = parse_uint(rest)?;
    let limit = 1u64 << 63;
    if (!neg && un >= limit) || (neg && un > limit) {
        return Err(NumError::Range);
    }
    Ok(if neg {
        0i64.wrapping_sub_unsigned(un)
    } else {
        un as i64
    })
}

fn special_float(s: &str) -> Option<f64> {
    let (sign, rest, signed) = match s.as_bytes().first() {
        Some(b'+') => (1.0, &s[1..], true),
        Some(b'-') => (-1.0, &s[1..], true),
        _ => (1.0, s, false),
    };
    let lower = rest.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if !signed && lower == "nan" {
        return Some(f64::NAN);
    }
    None
}

fn hex_mantissa_value(digits: &str, exp: i64) -> f64 {
    let mut mant: u64 = 0;
    let mut shift: i64 = exp;
    let mut after_dot = false;
    for c in digits.chars() {
        if c == '.' {
            after_dot = true;
            continue;
        }
        let d = u64::from(c.to_digit(16).unwrap_or(0));
        if mant < (1 << 58) {
            mant = mant * 16 + d;
            if after_dot {
                shift -= 4;
            }
        } else if !after_dot {
            shift += 4;
        }
    }
    let shift = shift.clamp(-2200, 2200) as i32;
    (mant as f64) * 2f64.powi(shift)
}

/// Go's `strconv.ParseFloat(s, 64)`: decimal and hex forms, underscores
/// between digits, `Inf`/`Infinity`/`NaN` in any case.
pub fn parse_float(s: &str) -> Result<f64, NumError> {
    if let Some(v) = special_float(s) {
        return Ok(v);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if let Some(&c @ (b'+' | b'-')) = b.first() {
        neg = c == b'-';
        i = 1;
    }
    let hex = i + 2 < b.len() && b[i] == b'0' && b[i + 1] | 0x20 == b'x';
    if hex {
        i += 2;
    }
    let mut digits = String::new();
    let (mut saw_dot, mut saw_digits, mut underscores) = (false, false, false);
    while i < b.len() {
        let c = b[i];
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if saw_dot {
                break;
            }
            saw_dot = true;
            digits.push('.');
        } else if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw_digits = true;
            digits.push(c as char);
        } else {
            break;
        }
        i += 1;
    }
    if !saw_digits {
        return Err(NumError::Syntax);
    }
    let exp_char = if hex { b'p' } else { b'e' };
    let mut exp: i64 = 0;
    if i < b.len() && b[i] | 0x20 == exp_char {
        i += 1;
        let mut esign = 1;
        if let Some(&c @ (b'+' | b'-')) = b.get(i) {
            esign = if c == b'-' { -1 } else { 1 };
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(NumError::Syntax);
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            } else if exp < 10000 {
                exp = exp * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        exp *= esign;
    } else if hex {
        return Err(NumError::Syntax);
    }
    if i != b.len() || (underscores && !underscore_ok(s)) {
        return Err(NumError::Syntax);
    }
    let magnitude = if hex {
        hex_mantissa_value(&digits, exp)
    } else {
        format!("{digits}e{exp}")
            .parse::<f64>()
            .map_err(|_| NumError::Syntax)?
    };
    if magnitude.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(if neg { -magnitude } else { magnitude })
}

/// The message Go's `strconv.ParseFloat` error prints.
pub fn parse_float_message(s: &str, err: NumError) -> String {
    format!("strconv.ParseFloat: parsing {}: {err}", quote(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_go() {
        assert_eq!(quote("a\"b\\c\n\t\u{1}é"), "\"a\\\"b\\\\c\\n\\t\\x01é\"");
        assert_eq!(quote_with("é", true), "\"\\u00e9\"");
        assert_eq!(quote_rune('\'', false), "'\\''");
        assert_eq!(quote("\u{feff}"), "\"\\ufeff\"");
        assert!(can_backquote("a b\tc"));
        assert!(!can_backquote("a`b"));
    }

    #[test]
    fn unquoting_matches_go() {
        assert_eq!(unquote("\"a\\tb\\x41\\101\\u00e9\"").unwrap(), "a\tbAAé");
        assert_eq!(unquote("`a\\n\r`").unwrap(), "a\\n");
        assert_eq!(unquote("'x'").unwrap(), "x");
        assert!(unquote("\"a\\'\"").is_err());
        assert!(unquote("\"\\q\"").is_err());
        assert!(unquote("\"abc").is_err());
        assert!(unquote("'ab'").is_err());
        assert_eq!(unquote_char_constant("'a'").unwrap(), 97);
        assert_eq!(unquote_char_constant("'\\n'").unwrap(), 10);
        assert!(unquote_char_constant("'ab'").is_err());
    }

    #[test]
    fn integers_follow_go_base_prefixes() {
        assert_eq!(parse_int("0x1F"), Ok(31));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("017"), Ok(15));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), Err(NumError::Range));
        assert_eq!(parse_int("1__0"), Err(NumError::Syntax));
        assert_eq!(parse_int("08"), Err(NumError::Syntax));
        assert_eq!(parse_uint("+1"), Err(NumError::Syntax));
        assert_eq!(parse_uint("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn floats_follow_go_syntax() {
        assert_eq!(parse_float("1.5"), Ok(1.5));
        assert_eq!(parse_float("1."), Ok(1.0));
        assert_eq!(parse_float(".5e1"), Ok(5.0));
        assert_eq!(parse_float("1.e2"), Ok(100.0));
        assert_eq!(parse_float("-1_0.5"), Ok(-10.5));
        assert_eq!(parse_float("0x1p-2"), Ok(0.25));
        assert_eq!(parse_float("0x1.8p1"), Ok(3.0));
        assert_eq!(parse_float("+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_float("-infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert_eq!(parse_float("+NaN"), Err(NumError::Syntax));
        assert_eq!(parse_float("1e400"), Err(NumError::Range));
        assert_eq!(parse_float("1e-400"), Ok(0.0));
        assert_eq!(parse_float("0x10"), Err(NumError::Syntax));
        assert_eq!(parse_float(""), Err(NumError::Syntax));
        assert_eq!(parse_float("."), Err(NumError::Syntax));
        assert_eq!(parse_float("1e"), Err(NumError::Syntax));
        assert_eq!(parse_float(" 1"), Err(NumError::Syntax));
        assert_eq!(
            parse_float_message("abc", NumError::Syntax),
            "strconv.ParseFloat: parsing \"abc\": invalid syntax"
        );
    }
}
