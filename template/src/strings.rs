//! String transformations with Go's exact outputs: `html` and `js` escaping
//! and the case functions (`title`, `toUpper`, `toLower`), which in Go map
//! one character to one character.

use crate::strconv::is_print;

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{fffd}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if c < ' ' => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() || is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `unicode.ToUpper`: the simple one-to-one mapping, so characters whose
/// uppercase is several characters (like `ß`) stay as they are.
fn upper_char(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`; only `İ` lowers to two characters in Rust, and Go maps it to `i`.
fn lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Go's `unicode.ToTitle`, which differs from upper case for the Latin
/// digraphs and leaves Georgian letters alone.
fn title_char(c: char) -> char {
    match c as u32 {
        0x01C4..=0x01C6 => '\u{01C5}',
        0x01C7..=0x01C9 => '\u{01C8}',
        0x01CA..=0x01CC => '\u{01CB}',
        0x01F1..=0x01F3 => '\u{01F2}',
        0x10D0..=0x10FF => c,
        _ => upper_char(c),
    }
}

/// Go's `strings.ToUpper`.
pub fn to_upper(s: &str) -> String {
    s.chars().map(upper_char).collect()
}

/// Go's `strings.ToLower`.
pub fn to_lower(s: &str) -> String {
    s.chars().map(lower_char).collect()
}

/// Go's `isSeparator` for `strings.Title`: ASCII alphanumerics and `_` join
/// words; otherwise letters and digits join and spaces separate.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go's `strings.Title`: title-cases the first letter of each word.
pub fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { title_char(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_match_go() {
        assert_eq!(
            html_escape("<a href=\"x\">'&'</a>\0"),
            "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{fffd}"
        );
        assert_eq!(
            js_escape("a'b\"c\\d<e>&f=\n\u{2028}é"),
            "a\\'b\\\"c\\\\d\\u003Ce\\u003E\\u0026f\\u003D\\u000A\\u2028é"
        );
    }

    #[test]
    fn case_functions_match_go() {
        assert_eq!(to_upper("abc ßé"), "ABC ßÉ");
        assert_eq!(to_lower("ABC İÉ"), "abc ié");
        assert_eq!(
            title("hello wORLD foo_bar x-y ǆemal"),
            "Hello WORLD Foo_bar X-Y ǅemal"
        );
        assert_eq!(title("up.time 9lives"), "Up.Time 9lives");
    }
}
