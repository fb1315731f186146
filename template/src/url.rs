//! Go's `url.QueryEscape` and `url.QueryUnescape`, which the `urlquery`
//! builtin and callers' URL functions share.

/// Go's `url.QueryEscape`: unreserved characters stay, space becomes `+`,
/// every other byte is percent-encoded in upper-case hex.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Go's `url.QueryUnescape`: `+` is a space and `%XX` a byte. Bytes that
/// are not UTF-8 become U+FFFD, since template values are strings. The
/// error text is Go's, e.g. `invalid URL escape "%zz"`.
pub fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let decoded = match (b.get(i + 1), b.get(i + 2)) {
                    (Some(&h), Some(&l)) => hex_value(h).zip(hex_value(l)),
                    _ => None,
                };
                let Some((h, l)) = decoded else {
                    let bad = &b[i..b.len().min(i + 3)];
                    return Err(format!(
                        "invalid URL escape {}",
                        crate::strconv::quote(&String::from_utf8_lossy(bad))
                    ));
                };
                out.push(h << 4 | l);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(
            query_escape("up{job=\"a b\"} / 2~é"),
            "up%7Bjob%3D%22a+b%22%7D+%2F+2~%C3%A9"
        );
    }

    #[test]
    fn query_unescape_matches_go() {
        assert_eq!(query_unescape("a+b%26c%C3%A9").unwrap(), "a b&cé");
        assert_eq!(
            query_unescape("x%zz1").unwrap_err(),
            "invalid URL escape \"%zz\""
        );
        assert_eq!(
            query_unescape("x%4").unwrap_err(),
            "invalid URL escape \"%4\""
        );
        assert_eq!(query_unescape("%ff").unwrap(), "\u{fffd}");
    }
}
