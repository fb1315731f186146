//! The logfmt side of tokenizing: recognising a logfmt stream, reading its
//! lines as Loki's logfmt decoder does, and writing patterns back as logfmt.

use std::borrow::Cow;

use super::tokenize::{MAX_TOKENS_PER_LINE, PARAM, Spacing, TokenizedLine};

/// Whether the whole line is `key=value` pairs joined by single spaces, as
/// Loki's detection regex requires: keys are ASCII word characters; a value is
/// a quoted run `"…"` (at least one character, no newline, escapes not
/// special) or any non-quote character followed by non-whitespace.
/// Linear: each position is visited once, however many quotes there are.
pub(super) fn is_logfmt_line(line: &[u8]) -> bool {
    let len = line.len();
    let mut pair_may_start = vec![false; len + 1];
    let mut quote_may_open = vec![false; len + 1];
    pair_may_start[0] = true;
    // The earliest reachable opening quote with no newline since; any later
    // quote at least two bytes on may close it.
    let mut open_quote: Option<usize> = None;
    for at in 0..len {
        let byte = line[at];
        if byte == b'\n' {
            open_quote = None;
        }
        if byte == b'"' && open_quote.is_some_and(|opened| opened + 2 <= at) {
            match line.get(at + 1) {
                None => return true,
                Some(b' ') => pair_may_start[at + 2] = true,
                Some(_) => {}
            }
        }
        if quote_may_open[at] && open_quote.is_none() {
            open_quote = Some(at);
        }
        if !pair_may_start[at] {
            continue;
        }
        let key_end = at + line[at..].iter().take_while(|b| is_word_byte(**b)).count();
        if key_end == at || line.get(key_end) != Some(&b'=') {
            continue;
        }
        let value_start = key_end + 1;
        match line.get(value_start) {
            None => {}
            Some(b'"') => quote_may_open[value_start] = true,
            Some(_) => {
                let value_end = line[value_start + 1..]
                    .iter()
                    .position(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r'))
                    .map_or(len, |offset| value_start + 1 + offset);
                match line.get(value_end) {
                    None => return true,
                    Some(b' ') => pair_may_start[value_end + 1] = true,
                    Some(_) => {}
                }
            }
        }
    }
    false
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Reads the line as the logfmt decoder Loki uses does: a bare key has an
/// empty value, and a stray `=` or `"`, an unterminated or badly escaped
/// quote, or a key with a replacement character rejects the whole line.
pub(super) fn tokenize_logfmt(line: &str) -> Option<TokenizedLine<'_>> {
    let bytes = line.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    loop {
        while bytes.get(at).is_some_and(|byte| *byte <= b' ') {
            at += 1;
        }
        if at >= bytes.len() {
            break;
        }
        let key_start = at;
        while let Some(&byte) = bytes.get(at) {
            match byte {
                b'"' => return None,
                b'=' => break,
                _ if byte <= b' ' => break,
                _ => at += 1,
            }
        }
        let key = &line[key_start..at];
        if key.is_empty() || key.contains(char::REPLACEMENT_CHARACTER) {
            return None;
        }
        let value: Cow<'_, str> = if bytes.get(at) == Some(&b'=') {
            at += 1;
            match bytes.get(at) {
                None => Cow::Borrowed(""),
                Some(byte) if *byte <= b' ' => Cow::Borrowed(""),
                Some(b'"') => {
                    let (value, after) = logfmt_quoted_value(line, at)?;
                    at = after;
                    value
                }
                Some(_) => {
                    let value_start = at;
                    while let Some(&byte) = bytes.get(at) {
                        match byte {
                            b'=' | b'"' => return None,
                            _ if byte <= b' ' => break,
                            _ => at += 1,
                        }
                    }
                    Cow::Borrowed(&line[value_start..at])
                }
            }
        } else {
            Cow::Borrowed("")
        };
        // Timestamps and trace ids differ on every line; wildcarding them
        // up front keeps them from splitting clusters.
        let value = if is_variable_field(key) {
            Cow::Borrowed(PARAM)
        } else {
            value
        };
        tokens.push(Cow::Borrowed(key));
        tokens.push(value);
        if tokens.len() > MAX_TOKENS_PER_LINE {
            return None;
        }
    }
    Some(TokenizedLine {
        tokens,
        spacing: Spacing::default(),
    })
}

/// The value of the quoted string opening at `quote`, and where it ends.
fn logfmt_quoted_value(line: &str, quote: usize) -> Option<(Cow<'_, str>, usize)> {
    let bytes = line.as_bytes();
    let mut cursor = quote + 1;
    let mut escaped = false;
    loop {
        match bytes.get(cursor)? {
            b'\\' => {
                escaped = true;
                cursor += 2;
            }
            b'"' => {
                let raw = line.get(quote + 1..cursor)?;
                let value = if escaped {
                    Cow::Owned(unescape_json(raw)?)
                } else {
                    Cow::Borrowed(raw)
                };
                return Some((value, cursor + 1));
            }
            _ => cursor += 1,
        }
    }
}

fn is_variable_field(key: &str) -> bool {
    key == "t"
        || ["ts", "traceID", "time", "timestamp"]
            .iter()
            .any(|field| key.eq_ignore_ascii_case(field))
}

/// Json string escapes (plus `\'`); control characters are refused, as by
/// the json-derived unquoting logfmt decoders use.
pub(super) fn unescape_json(raw: &str) -> Option<String> {
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(ch) = chars.next() {
        if ch < ' ' {
            return None;
        }
        if ch != '\\' {
            text.push(ch);
            continue;
        }
        let unescaped = match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            '\'' => '\'',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => unescape_json_unicode(&mut chars)?,
            _ => return None,
        };
        text.push(unescaped);
    }
    Some(text)
}

/// The character after `\u`; a lone surrogate becomes U+FFFD.
fn unescape_json_unicode(chars: &mut std::str::Chars<'_>) -> Option<char> {
    let first = read_hex4(chars)?;
    if !(0xD800..0xDC00).contains(&first) {
        return Some(char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    let mut lookahead = chars.clone();
    if lookahead.next() == Some('\\')
        && lookahead.next() == Some('u')
        && let Some(second) = read_hex4(&mut lookahead).filter(|low| (0xDC00..0xE000).contains(low))
    {
        *chars = lookahead;
        let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        return Some(char::from_u32(combined).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    Some(char::REPLACEMENT_CHARACTER)
}

fn read_hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    (0..4).try_fold(0u32, |code, _| {
        Some(code * 16 + chars.next()?.to_digit(16)?)
    })
}

/// Loki re-encodes logfmt patterns: `k=v` pairs joined by spaces, values
/// quoted when they hold spaces, `=`, quotes or control characters.
pub(super) fn join_logfmt(tokens: &[Cow<'_, str>], text: &mut String) {
    for (index, pair) in tokens.chunks(2).enumerate() {
        if index > 0 {
            text.push(' ');
        }
        text.push_str(pair.first().map_or("", |key| key.as_ref()));
        text.push('=');
        write_logfmt_value(pair.get(1).map_or("", |value| value.as_ref()), text);
    }
}

fn write_logfmt_value(value: &str, text: &mut String) {
    let needs_quotes = value == "null"
        || value
            .chars()
            .any(|ch| ch <= ' ' || ch == '=' || ch == '"' || ch == char::REPLACEMENT_CHARACTER);
    if !needs_quotes {
        text.push_str(value);
        return;
    }
    text.push('"');
    for ch in value.chars() {
        match ch {
            '\\' => text.push_str("\\\\"),
            '"' => text.push_str("\\\""),
            '\n' => text.push_str("\\n"),
            '\r' => text.push_str("\\r"),
            '\t' => text.push_str("\\t"),
            _ if ch < ' ' => text.push_str(&format!("\\u{:04x}", u32::from(ch))),
            _ => text.push(ch),
        }
    }
    text.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(line: &str) -> Option<Vec<String>> {
        let line = tokenize_logfmt(line)?;
        Some(line.tokens.iter().map(|token| token.to_string()).collect())
    }

    fn joined(tokens: &[&str]) -> String {
        let tokens: Vec<Cow<'_, str>> = tokens.iter().map(|token| Cow::Borrowed(*token)).collect();
        let mut text = String::new();
        join_logfmt(&tokens, &mut text);
        text
    }

    #[test]
    fn pairs_alternate_key_and_value() {
        assert_eq!(
            tokens(r#"level=info msg="user 42 logged in" duration=12ms"#).unwrap(),
            [
                "level",
                "info",
                "msg",
                "user 42 logged in",
                "duration",
                "12ms"
            ]
        );
        assert_eq!(
            tokens("  bare empty= x=1\ttail  ").unwrap(),
            ["bare", "", "empty", "", "x", "1", "tail", ""]
        );
        assert_eq!(
            tokens(r#"a="q \"x\" \u00e9\ud83d\ude00\ud800"b=c"#).unwrap(),
            ["a", "q \"x\" é😀\u{fffd}", "b", "c"]
        );
        assert_eq!(tokens(r#"raw="tab	kept""#).unwrap(), ["raw", "tab\tkept"]);
        assert_eq!(tokens("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn variable_fields_are_wildcarded_up_front() {
        assert_eq!(
            tokens("ts=1 TS=2 t=3 T=4 time=5 Timestamp=6 traceid=7 x=8").unwrap(),
            [
                "ts",
                "<_>",
                "TS",
                "<_>",
                "t",
                "<_>",
                "T",
                "4",
                "time",
                "<_>",
                "Timestamp",
                "<_>",
                "traceid",
                "<_>",
                "x",
                "8"
            ]
        );
        assert_eq!(tokens("ts a=1").unwrap(), ["ts", "<_>", "a", "1"]);
    }

    #[test]
    fn malformed_lines_are_refused() {
        for line in [
            "a=b=c",
            "a=b\"c",
            "a\"b=c",
            "=x",
            "a=\"unterminated",
            "a=\"bad \\x escape\"",
            "a=\"control \\n and \u{1}\"",
            "k\u{fffd}=v",
        ] {
            assert_eq!(tokens(line), None, "{line:?}");
        }
    }

    #[test]
    fn patterns_are_written_as_logfmt() {
        assert_eq!(
            joined(&["ts", "<_>", "level", "info", "msg", "<_>"]),
            "ts=<_> level=info msg=<_>"
        );
        assert_eq!(
            joined(&["msg", "a b", "q", "say \"hi\"\\", "eq", "x=y", "empty", ""]),
            r#"msg="a b" q="say \"hi\"\\" eq="x=y" empty="#
        );
        assert_eq!(
            joined(&["n", "null", "c", "\u{1}\n\t\r", "u", "\u{fffd}", "odd"]),
            "n=\"null\" c=\"\\u0001\\n\\t\\r\" u=\"\u{fffd}\" odd="
        );
    }

    #[test]
    fn detection_accepts_only_whole_lines_of_pairs() {
        assert!(is_logfmt_line(br#"a="x" b="y z" c=3"#));
        assert!(is_logfmt_line(b"a= b=c"));
        assert!(!is_logfmt_line(b"a=1 "));
        assert!(!is_logfmt_line(b"a=1 b"));
        assert!(!is_logfmt_line(b"a b=1"));
        assert!(!is_logfmt_line(b"a=\"x\"y"));
        // Long lines of quotes stay linear.
        let many = "a=\"\" ".repeat(20_000);
        assert!(!is_logfmt_line(many.as_bytes()));
    }
}
