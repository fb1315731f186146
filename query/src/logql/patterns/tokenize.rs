//! Turning log lines into Drain tokens, and a cluster's tokens back into
//! pattern text. A stream's format (json, logfmt or plain text) is guessed
//! from its first line, as Loki does, and every later line of the stream is
//! read the same way even when it looks different.

use std::borrow::Cow;

use super::logfmt::{is_logfmt_line, join_logfmt, tokenize_logfmt, unescape_json};

/// The wildcard token, in Drain's tree and in the pattern text.
pub(super) const PARAM: &str = "<_>";

/// Loki's tokenizers stop at 127 tokens; Drain drops lines over 80 tokens
/// anyway, so a longer line is refused outright rather than cut short.
pub(super) const MAX_TOKENS_PER_LINE: usize = 127;

/// Loki's default tokenizable json fields, in priority order.
const JSON_MESSAGE_FIELDS: [&str; 6] = ["log", "message", "msg", "msg_", "_msg", "content"];

/// How a stream's lines are split into tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LineFormat {
    /// The message field of a json object, read as plain text.
    Json,
    /// `key=value` pairs; tokens alternate key and value.
    Logfmt,
    /// Words and punctuation, keeping the spacing.
    Plain,
}

/// Where the spaces stood in a line: each entry is the number of tokens that
/// came before one space, so pattern text keeps the first line's spacing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Spacing(Vec<usize>);

/// One line as Drain sees it.
#[derive(Debug)]
pub(super) struct TokenizedLine<'a> {
    pub(super) tokens: Vec<Cow<'a, str>>,
    pub(super) spacing: Spacing,
}

/// Loki's `DetectLogFormat`: braces at both ends mean json, a line made only
/// of `key=value` pairs means logfmt, anything else is plain text.
pub(super) fn detect_format(line: &str) -> LineFormat {
    let bytes = line.as_bytes();
    if bytes.len() < 2 {
        LineFormat::Plain
    } else if bytes.first() == Some(&b'{') && bytes.last() == Some(&b'}') {
        LineFormat::Json
    } else if is_logfmt_line(bytes) {
        LineFormat::Logfmt
    } else {
        LineFormat::Plain
    }
}

/// Splits a line; `None` when the line cannot be read in the stream's format.
pub(super) fn tokenize(format: LineFormat, line: &str) -> Option<TokenizedLine<'_>> {
    match format {
        LineFormat::Plain => tokenize_plain(line),
        LineFormat::Json => tokenize_plain(json_message(line)?),
        LineFormat::Logfmt => tokenize_logfmt(line),
    }
}

/// The pattern text of a cluster, with runs of wildcards collapsed to one.
pub(super) fn render(format: LineFormat, tokens: &[Cow<'_, str>], spacing: &Spacing) -> String {
    let mut text = String::new();
    match format {
        LineFormat::Plain => join_plain(tokens, spacing, &mut text),
        // The json line around the message is unknown, so the pattern
        // leaves room for it on both sides.
        LineFormat::Json => {
            text.push_str(PARAM);
            join_plain(tokens, spacing, &mut text);
            text.push_str(PARAM);
        }
        LineFormat::Logfmt => join_logfmt(tokens, &mut text),
    }
    collapse_params(&text)
}

fn collapse_params(text: &str) -> String {
    let mut collapsed = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PARAM) {
        let after = at + PARAM.len();
        collapsed.push_str(&rest[..after]);
        rest = &rest[after..];
        while let Some(tail) = rest.strip_prefix(PARAM) {
            rest = tail;
        }
    }
    collapsed.push_str(rest);
    collapsed
}

// ---- plain text -----------------------------------------------------------

/// Spaces and punctuation split tokens; `_ - . : /` stay inside words so
/// that paths, hostnames, times and identifiers are single tokens, while `=`
/// (a symbol, not punctuation) splits so `key=value` pairs come apart.
fn tokenize_plain(line: &str) -> Option<TokenizedLine<'_>> {
    let mut tokens = Vec::new();
    let mut spaces = Vec::new();
    let mut token_start = 0;
    for (at, ch) in line.char_indices() {
        let is_space = ch == ' ';
        if !is_space && !splits_tokens(ch) {
            continue;
        }
        if at > token_start {
            tokens.push(Cow::Borrowed(&line[token_start..at]));
        }
        let after = at + ch.len_utf8();
        if is_space {
            spaces.push(tokens.len());
        } else {
            tokens.push(Cow::Borrowed(&line[at..after]));
        }
        if tokens.len() > MAX_TOKENS_PER_LINE {
            return None;
        }
        token_start = after;
    }
    if token_start < line.len() {
        tokens.push(Cow::Borrowed(&line[token_start..]));
    }
    if tokens.len() > MAX_TOKENS_PER_LINE {
        return None;
    }
    Some(TokenizedLine {
        tokens,
        spacing: Spacing(spaces),
    })
}

fn splits_tokens(ch: char) -> bool {
    match ch {
        '=' => true,
        '_' | '-' | '.' | ':' | '/' => false,
        // ASCII's Unicode punctuation; `$ + < > ^ ` | ~` are symbols.
        '!' | '"' | '#' | '%' | '&' | '\'' | '(' | ')' | '*' | ',' | ';' | '?' | '@' | '['
        | '\\' | ']' | '{' | '}' => true,
        _ if ch.is_ascii() => false,
        _ => is_unicode_punctuation(ch),
    }
}

/// Spaces are re-inserted where the first line had them; a space before the
/// first token is kept too.
fn join_plain(tokens: &[Cow<'_, str>], spacing: &Spacing, text: &mut String) {
    let mut spaces = spacing.0.iter().peekable();
    for (index, token) in tokens.iter().enumerate() {
        while spaces.next_if(|&&before| before <= index).is_some() {
            text.push(' ');
        }
        text.push_str(token);
    }
    text.extend(spaces.map(|_| ' '));
}

/// Unicode general category P outside ASCII (Unicode 14), as inclusive
/// ranges flattened into start, end, start, end, ...
#[rustfmt::skip]
const PUNCTUATION_RANGES: [u32; 360] = [
    0x00A1, 0x00A1, 0x00A7, 0x00A7, 0x00AB, 0x00AB, 0x00B6, 0x00B7, 0x00BB, 0x00BB,
    0x00BF, 0x00BF, 0x037E, 0x037E, 0x0387, 0x0387, 0x055A, 0x055F, 0x0589, 0x058A,
    0x05BE, 0x05BE, 0x05C0, 0x05C0, 0x05C3, 0x05C3, 0x05C6, 0x05C6, 0x05F3, 0x05F4,
    0x0609, 0x060A, 0x060C, 0x060D, 0x061B, 0x061B, 0x061D, 0x061F, 0x066A, 0x066D,
    0x06D4, 0x06D4, 0x0700, 0x070D, 0x07F7, 0x07F9, 0x0830, 0x083E, 0x085E, 0x085E,
    0x0964, 0x0965, 0x0970, 0x0970, 0x09FD, 0x09FD, 0x0A76, 0x0A76, 0x0AF0, 0x0AF0,
    0x0C77, 0x0C77, 0x0C84, 0x0C84, 0x0DF4, 0x0DF4, 0x0E4F, 0x0E4F, 0x0E5A, 0x0E5B,
    0x0F04, 0x0F12, 0x0F14, 0x0F14, 0x0F3A, 0x0F3D, 0x0F85, 0x0F85, 0x0FD0, 0x0FD4,
    0x0FD9, 0x0FDA, 0x104A, 0x104F, 0x10FB, 0x10FB, 0x1360, 0x1368, 0x1400, 0x1400,
    0x166E, 0x166E, 0x169B, 0x169C, 0x16EB, 0x16ED, 0x1735, 0x1736, 0x17D4, 0x17D6,
    0x17D8, 0x17DA, 0x1800, 0x180A, 0x1944, 0x1945, 0x1A1E, 0x1A1F, 0x1AA0, 0x1AA6,
    0x1AA8, 0x1AAD, 0x1B5A, 0x1B60, 0x1B7D, 0x1B7E, 0x1BFC, 0x1BFF, 0x1C3B, 0x1C3F,
    0x1C7E, 0x1C7F, 0x1CC0, 0x1CC7, 0x1CD3, 0x1CD3, 0x2010, 0x2027, 0x2030, 0x2043,
    0x2045, 0x2051, 0x2053, 0x205E, 0x207D, 0x207E, 0x208D, 0x208E, 0x2308, 0x230B,
    0x2329, 0x232A, 0x2768, 0x2775, 0x27C5, 0x27C6, 0x27E6, 0x27EF, 0x2983, 0x2998,
    0x29D8, 0x29DB, 0x29FC, 0x29FD, 0x2CF9, 0x2CFC, 0x2CFE, 0x2CFF, 0x2D70, 0x2D70,
    0x2E00, 0x2E2E, 0x2E30, 0x2E4F, 0x2E52, 0x2E5D, 0x3001, 0x3003, 0x3008, 0x3011,
    0x3014, 0x301F, 0x3030, 0x3030, 0x303D, 0x303D, 0x30A0, 0x30A0, 0x30FB, 0x30FB,
    0xA4FE, 0xA4FF, 0xA60D, 0xA60F, 0xA673, 0xA673, 0xA67E, 0xA67E, 0xA6F2, 0xA6F7,
    0xA874, 0xA877, 0xA8CE, 0xA8CF, 0xA8F8, 0xA8FA, 0xA8FC, 0xA8FC, 0xA92E, 0xA92F,
    0xA95F, 0xA95F, 0xA9C1, 0xA9CD, 0xA9DE, 0xA9DF, 0xAA5C, 0xAA5F, 0xAADE, 0xAADF,
    0xAAF0, 0xAAF1, 0xABEB, 0xABEB, 0xFD3E, 0xFD3F, 0xFE10, 0xFE19, 0xFE30, 0xFE52,
    0xFE54, 0xFE61, 0xFE63, 0xFE63, 0xFE68, 0xFE68, 0xFE6A, 0xFE6B, 0xFF01, 0xFF03,
    0xFF05, 0xFF0A, 0xFF0C, 0xFF0F, 0xFF1A, 0xFF1B, 0xFF1F, 0xFF20, 0xFF3B, 0xFF3D,
    0xFF3F, 0xFF3F, 0xFF5B, 0xFF5B, 0xFF5D, 0xFF5D, 0xFF5F, 0xFF65, 0x10100, 0x10102,
    0x1039F, 0x1039F, 0x103D0, 0x103D0, 0x1056F, 0x1056F, 0x10857, 0x10857, 0x1091F, 0x1091F,
    0x1093F, 0x1093F, 0x10A50, 0x10A58, 0x10A7F, 0x10A7F, 0x10AF0, 0x10AF6, 0x10B39, 0x10B3F,
    0x10B99, 0x10B9C, 0x10EAD, 0x10EAD, 0x10F55, 0x10F59, 0x10F86, 0x10F89, 0x11047, 0x1104D,
    0x110BB, 0x110BC, 0x110BE, 0x110C1, 0x11140, 0x11143, 0x11174, 0x11175, 0x111C5, 0x111C8,
    0x111CD, 0x111CD, 0x111DB, 0x111DB, 0x111DD, 0x111DF, 0x11238, 0x1123D, 0x112A9, 0x112A9,
    0x1144B, 0x1144F, 0x1145A, 0x1145B, 0x1145D, 0x1145D, 0x114C6, 0x114C6, 0x115C1, 0x115D7,
    0x11641, 0x11643, 0x11660, 0x1166C, 0x116B9, 0x116B9, 0x1173C, 0x1173E, 0x1183B, 0x1183B,
    0x11944, 0x11946, 0x119E2, 0x119E2, 0x11A3F, 0x11A46, 0x11A9A, 0x11A9C, 0x11A9E, 0x11AA2,
    0x11C41, 0x11C45, 0x11C70, 0x11C71, 0x11EF7, 0x11EF8, 0x11FFF, 0x11FFF, 0x12470, 0x12474,
    0x12FF1, 0x12FF2, 0x16A6E, 0x16A6F, 0x16AF5, 0x16AF5, 0x16B37, 0x16B3B, 0x16B44, 0x16B44,
    0x16E97, 0x16E9A, 0x16FE2, 0x16FE2, 0x1BC9F, 0x1BC9F, 0x1DA87, 0x1DA8B, 0x1E95E, 0x1E95F,
];

fn is_unicode_punctuation(ch: char) -> bool {
    let code = u32::from(ch);
    // Counting the bounds below `code`: an odd count means it lies past a
    // range's start but before its end.
    let below = PUNCTUATION_RANGES.partition_point(|&bound| bound < code);
    below % 2 == 1 || PUNCTUATION_RANGES.get(below) == Some(&code)
}

// ---- json -------------------------------------------------------------------

/// The raw (still escaped) text of the first message field whose first
/// occurrence at the top level is a string; the pattern is matched against
/// the raw line, so escapes must stay as written.
fn json_message(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut first_values: [Option<Option<&str>>; JSON_MESSAGE_FIELDS.len()] = Default::default();
    let mut at = skip_json_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    // A malformed object ends the scan; what was found before still counts.
    loop {
        at = skip_json_space(bytes, at);
        let Some((key, after_key)) = json_string(line, at) else {
            break;
        };
        at = skip_json_space(bytes, after_key);
        if bytes.get(at) != Some(&b':') {
            break;
        }
        at = skip_json_space(bytes, at + 1);
        let (string_value, after_value) = match json_string(line, at) {
            Some((text, after)) => (Some(text), after),
            None => match skip_json_value(bytes, at) {
                Some(after) => (None, after),
                None => break,
            },
        };
        if let Some(field) = message_field_index(key) {
            first_values[field].get_or_insert(string_value);
        }
        at = skip_json_space(bytes, after_value);
        if bytes.get(at) != Some(&b',') {
            break;
        }
        at += 1;
    }
    first_values.into_iter().find_map(Option::flatten)
}

fn message_field_index(raw_key: &str) -> Option<usize> {
    let key = if raw_key.contains('\\') {
        Cow::Owned(unescape_json(raw_key)?)
    } else {
        Cow::Borrowed(raw_key)
    };
    JSON_MESSAGE_FIELDS.iter().position(|field| *field == key)
}

fn skip_json_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

/// The contents of the string literal starting at `at`, and where it ends.
fn json_string(line: &str, at: usize) -> Option<(&str, usize)> {
    let bytes = line.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut cursor = at + 1;
    loop {
        match bytes.get(cursor)? {
            b'\\' => cursor += 2,
            b'"' => return Some((line.get(at + 1..cursor)?, cursor + 1)),
            _ => cursor += 1,
        }
    }
}

/// Where a non-string value starting at `at` ends.
fn skip_json_value(bytes: &[u8], at: usize) -> Option<usize> {
    let mut cursor = at;
    let mut depth = 0usize;
    let mut in_string = false;
    while let Some(&byte) = bytes.get(cursor) {
        if in_string {
            match byte {
                b'\\' => cursor += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(cursor + 1);
                    }
                }
                b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => {
                    return (cursor > at).then_some(cursor);
                }
                _ => {}
            }
        }
        cursor += 1;
    }
    (depth == 0 && cursor > at && !in_string).then_some(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_tokens(line: &str) -> Vec<String> {
        let line = tokenize_plain(line).unwrap();
        line.tokens.iter().map(|token| token.to_string()).collect()
    }

    fn round_trip(line: &str) -> String {
        let tokenized = tokenize_plain(line).unwrap();
        render(LineFormat::Plain, &tokenized.tokens, &tokenized.spacing)
    }

    #[test]
    fn format_is_guessed_from_the_line_shape() {
        let cases = [
            (r#"{"msg":"hi"}"#, LineFormat::Json),
            ("{not json but braced}", LineFormat::Json),
            (
                r#"level=info msg="user 42 logged in" duration=12ms"#,
                LineFormat::Logfmt,
            ),
            ("a=1", LineFormat::Logfmt),
            (r#"a="x y" b=2"#, LineFormat::Logfmt),
            (r#"a="say "hi"" b=2"#, LineFormat::Logfmt),
            ("level=info msg=hello extra", LineFormat::Plain),
            ("a=1  b=2", LineFormat::Plain),
            (r#"a="" b=1"#, LineFormat::Plain),
            (r#"a="unterminated b=1"#, LineFormat::Plain),
            ("a=\"x\ny\" b=1", LineFormat::Plain),
            ("a=1\tb=2", LineFormat::Plain),
            ("k-1=v", LineFormat::Plain),
            ("GET /index.html 200", LineFormat::Plain),
            ("{", LineFormat::Plain),
            ("", LineFormat::Plain),
        ];
        for (line, expected) in cases {
            assert_eq!(detect_format(line), expected, "{line:?}");
        }
    }

    #[test]
    fn plain_lines_split_on_spaces_equals_and_punctuation() {
        assert_eq!(
            plain_tokens(r#"10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET /a?b=c HTTP/1.1""#),
            [
                "10.0.0.1",
                "-",
                "-",
                "[",
                "10/Oct/2023:13:55:36",
                "+0000",
                "]",
                "\"",
                "GET",
                "/a",
                "?",
                "b",
                "=",
                "c",
                "HTTP/1.1",
                "\"",
            ]
        );
        // Symbols and tabs stay inside tokens; Unicode punctuation splits.
        assert_eq!(plain_tokens("$x+1<y>|z~\tw"), ["$x+1<y>|z~\tw"]);
        assert_eq!(
            plain_tokens("«héllo»，wörld"),
            ["«", "héllo", "»", "，", "wörld"]
        );
        assert_eq!(plain_tokens("©2024 €5 ‐x"), ["©2024", "€5", "‐", "x"]);
        assert_eq!(
            plain_tokens("snake_case kebab-case a.b c:d e/f"),
            ["snake_case", "kebab-case", "a.b", "c:d", "e/f"]
        );
    }

    #[test]
    fn plain_patterns_keep_the_original_spacing() {
        for line in [
            "a b  c",
            "  leading and trailing  ",
            "x=1, y=(2)",
            "tight[brackets]and\"quotes\"",
            "",
            "   ",
        ] {
            assert_eq!(round_trip(line), line);
        }
    }

    #[test]
    fn lines_beyond_the_token_cap_are_dropped() {
        let words = vec!["w"; MAX_TOKENS_PER_LINE].join(" ");
        assert!(tokenize_plain(&words).is_some());
        assert!(tokenize_plain(&format!("{words} w")).is_none());
        assert!(tokenize_plain(&format!("{words},")).is_none());
    }

    #[test]
    fn wildcard_runs_collapse() {
        assert_eq!(collapse_params("<_><_><_> a <_><_>b<_>"), "<_> a <_>b<_>");
        assert_eq!(collapse_params("<_ <_> <_>"), "<_ <_> <_>");
        let tokens = [
            Cow::Borrowed(PARAM),
            Cow::Borrowed(PARAM),
            Cow::Borrowed("x"),
        ];
        assert_eq!(
            render(LineFormat::Json, &tokens, &Spacing::default()),
            "<_>x<_>"
        );
    }

    #[test]
    fn json_message_follows_field_priority_and_stays_raw() {
        let cases = [
            (r#"{"msg":"second","log":"first"}"#, Some("first")),
            (
                r#"{"log":12,"message":"not a number"}"#,
                Some("not a number"),
            ),
            (r#"{"msg":{"log":"nested"},"content":"top"}"#, Some("top")),
            (
                r#"{"msg":"a \"quoted\" \\ word"}"#,
                Some(r#"a \"quoted\" \\ word"#),
            ),
            (r#"{"m\u0073g":"escaped key"}"#, Some("escaped key")),
            (r#"{"msg":null,"msg":"later duplicate"}"#, None),
            (
                r#"{"level":"info","ts":[1,{"a":"}"}],"_msg":"deep"}"#,
                Some("deep"),
            ),
            (r#"{"msg":"found" , broken"#, Some("found")),
            (r#"{"level":"info"}"#, None),
            ("{}", None),
            (r#"{"msg":"unterminated}"#, None),
        ];
        for (line, expected) in cases {
            assert_eq!(json_message(line), expected, "{line}");
        }
    }

    #[test]
    fn json_lines_tokenize_their_message() {
        let line = tokenize(LineFormat::Json, r#"{"ts":1,"msg":"user 42 logged in"}"#).unwrap();
        assert_eq!(line.tokens, ["user", "42", "logged", "in"]);
        assert_eq!(
            render(LineFormat::Json, &line.tokens, &line.spacing),
            "<_>user 42 logged in<_>"
        );
        assert!(tokenize(LineFormat::Json, r#"{"level":"info"}"#).is_none());
        assert!(tokenize(LineFormat::Json, "plain line in a json stream").is_none());
    }
}
