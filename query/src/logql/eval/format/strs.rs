//! String functions with Go's and Sprig's semantics: byte-based slicing
//! (`trunc`, `substr`), cutset trimming, indentation, padding, base64 and
//! JSON decoding. Go panics (a slice out of range, a negative count)
//! surface as the runtime error text Go's template engine would report.

use std::collections::BTreeMap;

use hearth_template::Value;

/// Longest string `repeat` and `indent` may build: the engine's own output
/// limit, checked before allocating.
const MAX_RESULT: usize = 1 << 20;

fn too_large() -> String {
    format!("result exceeds the limit of {MAX_RESULT} bytes")
}

/// Bytes of `s` in `start..end` as a string; a cut through a character
/// leaves U+FFFD, where Go would leave the raw bytes.
fn bytes_slice(s: &str, start: usize, end: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[start..end]).into_owned()
}

/// Go's `strings.Replace(s, old, new, n)`; a negative `n` replaces all.
pub(super) fn replace_n(s: &str, old: &str, new: &str, n: i64) -> String {
    match usize::try_from(n) {
        Ok(n) => s.replacen(old, new, n),
        Err(_) => s.replace(old, new),
    }
}

/// Go's `strings.Trim`/`TrimLeft`/`TrimRight`: characters in `cutset` go.
pub(super) fn trim_cutset(s: &str, cutset: &str, left: bool, right: bool) -> String {
    let cut = |c: char| cutset.contains(c);
    let s = if left { s.trim_start_matches(cut) } else { s };
    let s = if right { s.trim_end_matches(cut) } else { s };
    s.to_string()
}

/// Go's `strings.TrimPrefix`.
pub(super) fn trim_prefix(s: &str, prefix: &str) -> String {
    s.strip_prefix(prefix).unwrap_or(s).to_string()
}

/// Go's `strings.TrimSuffix`.
pub(super) fn trim_suffix(s: &str, suffix: &str) -> String {
    s.strip_suffix(suffix).unwrap_or(s).to_string()
}

/// Sprig's `trunc`: the first `c` bytes, or the last `-c` for negative `c`.
pub(super) fn trunc(c: i64, s: &str) -> String {
    let len = s.len();
    match usize::try_from(c) {
        Ok(c) if len > c => bytes_slice(s, 0, c),
        Ok(_) => s.to_string(),
        Err(_) => {
            let back = usize::try_from(c.unsigned_abs()).unwrap_or(usize::MAX);
            if back < len {
                bytes_slice(s, len - back, len)
            } else {
                s.to_string()
            }
        }
    }
}

/// Sprig's `substr`: bytes `start..end`; a negative start means from the
/// beginning, a negative or too large end means to the end.
pub(super) fn substr(start: i64, end: i64, s: &str) -> Result<String, String> {
    let len = s.len();
    let out_of_range = |what: String| format!("runtime error: slice bounds out of range {what}");
    let Ok(start) = usize::try_from(start) else {
        // Go slices s[:end]; a negative end is out of range there.
        return match usize::try_from(end) {
            Ok(end) if end <= len => Ok(bytes_slice(s, 0, end)),
            _ => Err(out_of_range(format!("[:{end}] with length {len}"))),
        };
    };
    match usize::try_from(end) {
        Ok(end) if end <= len => {
            if start > end {
                return Err(out_of_range(format!("[{start}:{end}]")));
            }
            Ok(bytes_slice(s, start, end))
        }
        _ if start > len => Err(out_of_range(format!("[{start}:{len}]"))),
        _ => Ok(bytes_slice(s, start, len)),
    }
}

fn spaces(n: i64) -> Result<String, String> {
    let n = usize::try_from(n).map_err(|_| "strings: negative Repeat count".to_string())?;
    if n > MAX_RESULT {
        return Err(too_large());
    }
    Ok(" ".repeat(n))
}

/// Sprig's `indent` (and `nindent`, which starts with a newline): every
/// line gets `n` spaces in front.
pub(super) fn indent(n: i64, s: &str, newline: bool) -> Result<String, String> {
    let pad = spaces(n)?;
    let lines = s.matches('\n').count() + 1;
    if pad.len().saturating_mul(lines).saturating_add(s.len()) > MAX_RESULT {
        return Err(too_large());
    }
    let body = format!("{pad}{}", s.replace('\n', &format!("\n{pad}")));
    Ok(if newline { format!("\n{body}") } else { body })
}

/// Go's `strings.Repeat`, refusing results past the output limit up front.
pub(super) fn repeat(count: i64, s: &str) -> Result<String, String> {
    let count = usize::try_from(count).map_err(|_| "strings: negative Repeat count".to_string())?;
    if s.len().saturating_mul(count) > MAX_RESULT {
        return Err(too_large());
    }
    Ok(s.repeat(count))
}

/// Loki's `alignLeft`/`alignRight`: exactly `count` characters, cut or
/// padded with spaces on the right (left alignment) or the left.
pub(super) fn align(count: i64, s: &str, left: bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    let Ok(count) = usize::try_from(count) else {
        return s.to_string();
    };
    let len = chars.len();
    if count == len {
        return s.to_string();
    }
    if count > len {
        let pad = " ".repeat((count - len).min(MAX_RESULT));
        return if left {
            format!("{s}{pad}")
        } else {
            format!("{pad}{s}")
        };
    }
    if left {
        chars[..count].iter().collect()
    } else {
        chars[len - count..].iter().collect()
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Go's `base64.StdEncoding.EncodeToString`.
pub(super) fn b64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u32> {
    B64.iter().position(|&x| x == c).map(|p| p as u32)
}

/// Go's `base64.StdEncoding.DecodeString` (padding required, `\r` and `\n`
/// ignored); the error is Go's `illegal base64 data at input byte N`.
fn b64_decode_strict(input: &str) -> Result<Vec<u8>, usize> {
    let data: Vec<(usize, u8)> = input
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\r' && *b != b'\n')
        .collect();
    let mut out = Vec::with_capacity(data.len() / 4 * 3);
    for (q, quad) in data.chunks(4).enumerate() {
        let mut n = 0u32;
        let mut count = 0;
        for (k, &(pos, b)) in quad.iter().enumerate() {
            if b == b'=' {
                // Padding may only close the input, after two or three symbols.
                let rest_is_padding = quad[k..].iter().all(|(_, c)| *c == b'=');
                if k < 2 || quad.len() != 4 || !rest_is_padding || (q + 1) * 4 != data.len() {
                    return Err(pos);
                }
                break;
            }
            n |= b64_value(b).ok_or(pos)? << (18 - 6 * k);
            count += 1;
        }
        if count < 4 && quad.len() < 4 {
            // Unpadded tail: Go reports the end of the input.
            return Err(input.len());
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..count - 1]);
    }
    Ok(out)
}

/// Sprig's `b64dec`: the decoded text, or Go's error text in its place.
pub(super) fn b64_decode(input: &str) -> String {
    match b64_decode_strict(input) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(at) => format!("illegal base64 data at input byte {at}"),
    }
}

fn json_value(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        // Go's decoder gives float64 for every number.
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::List(items.into_iter().map(json_value).collect()),
        serde_json::Value::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| (k, json_value(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// Loki's `fromJson`: the decoded document, or `""` when it is not JSON.
pub(super) fn from_json(input: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(input) {
        Ok(v) => json_value(v),
        Err(_) => Value::String(String::new()),
    }
}
