//! OTLP values as strings, the way the OpenTelemetry Collector's
//! `pcommon.Value.AsString` writes them, which both Prometheus (label
//! values) and Loki (structured metadata, non-string bodies) store; and ids
//! as lowercase hex.

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};

/// A double attribute as the OTel Collector's `AsString` writes it (ES6
/// number-to-string: plain notation unless below 1e-6 or from 1e21 up).
fn format_attr_double(v: f64) -> String {
    if !v.is_finite() {
        let go = if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return format!("json: unsupported value: {go}");
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust gives `1.5e-7` / `1e21`; Go gives `1.5e-7` / `1e+21`.
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else {
        format!("{v}")
    }
}

/// An attribute value as a label value, following the Collector's
/// `pcommon.Value.AsString`, which Prometheus uses: strings as they are,
/// numbers and booleans in Go's spelling, bytes in standard base64, arrays and
/// maps as JSON.
pub fn attribute_string(value: Option<&AnyValue>) -> String {
    let Some(inner) = value.and_then(|v| v.value.as_ref()) else {
        return String::new();
    };
    match inner {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::DoubleValue(d) => format_attr_double(*d),
        any_value::Value::BytesValue(b) => base64(b),
        any_value::Value::ArrayValue(_) | any_value::Value::KvlistValue(_) => {
            let mut out = String::new();
            // Go's json.Marshal fails on NaN/Inf and Prometheus then keeps
            // the empty string.
            match json_value(value, &mut out, 0) {
                Ok(()) => out,
                Err(()) => String::new(),
            }
        }
        // Only profiles use string tables; a metric attribute has no table.
        any_value::Value::StringValueStrindex(_) => String::new(),
    }
}

/// Nesting beyond this is refused rather than risking the stack.
const MAX_JSON_DEPTH: usize = 64;

fn json_value(value: Option<&AnyValue>, out: &mut String, depth: usize) -> Result<(), ()> {
    if depth > MAX_JSON_DEPTH {
        return Err(());
    }
    let Some(inner) = value.and_then(|v| v.value.as_ref()) else {
        out.push_str("null");
        return Ok(());
    };
    match inner {
        any_value::Value::StringValue(s) => json_string(s, out),
        any_value::Value::BoolValue(b) => out.push_str(if *b { "true" } else { "false" }),
        any_value::Value::IntValue(i) => out.push_str(&i.to_string()),
        any_value::Value::DoubleValue(d) => {
            if !d.is_finite() {
                return Err(());
            }
            out.push_str(&format_attr_double(*d));
        }
        any_value::Value::BytesValue(b) => json_string(&base64(b), out),
        any_value::Value::ArrayValue(arr) => {
            out.push('[');
            for (i, v) in arr.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(Some(v), out, depth + 1)?;
            }
            out.push(']');
        }
        any_value::Value::KvlistValue(kv) => {
            // Go marshals a map: keys sorted, a repeated key keeps its last value.
            let mut entries: Vec<(&str, Option<&AnyValue>)> = Vec::new();
            for pair in &kv.values {
                match entries.iter_mut().find(|(k, _)| *k == pair.key) {
                    Some(slot) => slot.1 = pair.value.as_ref(),
                    None => entries.push((pair.key.as_str(), pair.value.as_ref())),
                }
            }
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                json_value(*v, out, depth + 1)?;
            }
            out.push('}');
        }
        any_value::Value::StringValueStrindex(_) => out.push_str("null"),
    }
    Ok(())
}

/// A JSON string as Go's `encoding/json` writes it, HTML escaping included.
fn json_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => {
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Standard base64 with padding, as Go's `base64.StdEncoding`.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Lowercase hex, as trace and span ids are written in exemplar labels.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}
