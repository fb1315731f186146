//! Field discovery for Loki's `detected_fields`: a line re-parsed as JSON,
//! or as logfmt when it is not JSON, and the type a value reads as. Uses
//! the same readers and number rules as the `json`/`logfmt` stages and
//! `unwrap` conversions, so what is discovered is what a query can use.

use super::convert::{parse_bytes, parse_duration, parse_float};
use super::json;
use super::logfmt::Pairs;
use super::state::sanitize;

/// Which parser read a line's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineParser {
    /// A JSON object.
    Json,
    /// logfmt pairs.
    Logfmt,
}

impl LineParser {
    /// The name Loki reports in `parsers`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Logfmt => "logfmt",
        }
    }
}

/// One field a line holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineField {
    /// The label name a parser stage would give it.
    pub name: String,
    /// The value as a label would carry it.
    pub value: String,
    /// For JSON, the original keys from the top of the object down.
    pub json_path: Option<Vec<String>>,
}

/// The fields of a line: all of its JSON object's scalar members when it
/// is one, else its logfmt pairs with a value. `None` when neither reading
/// finds anything.
pub fn line_fields(line: &[u8]) -> Option<(LineParser, Vec<LineField>)> {
    let mut members = Vec::new();
    if json::flatten_paths(line, &mut members).is_ok() {
        let fields = members
            .into_iter()
            .map(|(path, value)| LineField {
                name: sanitize(&path.join("_")).into_owned(),
                value,
                json_path: Some(path),
            })
            .collect();
        return Some((LineParser::Json, fields));
    }
    let fields: Vec<LineField> = Pairs::new(line)
        .filter_map(Result::ok)
        .filter(|p| !p.key.is_empty() && !p.value.is_empty())
        .map(|p| LineField {
            name: sanitize(&String::from_utf8_lossy(p.key)).into_owned(),
            value: String::from_utf8_lossy(&p.value).into_owned(),
            json_path: None,
        })
        .collect();
    (!fields.is_empty()).then_some((LineParser::Logfmt, fields))
}

/// What a field's values read as, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldType {
    /// A 64-bit integer.
    Int,
    /// A float (Go syntax).
    Float,
    /// `true`, `false` and Go's other spellings.
    Boolean,
    /// A Go duration such as `150ms`.
    Duration,
    /// A size such as `2KB` or `5 MiB`.
    Bytes,
    /// Anything else.
    String,
}

impl FieldType {
    /// The name Loki reports in `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Boolean => "boolean",
            Self::Duration => "duration",
            Self::Bytes => "bytes",
            Self::String => "string",
        }
    }

    /// The type of one value, checked in Loki's order.
    pub fn of(value: &str) -> Self {
        if value.parse::<i64>().is_ok() {
            Self::Int
        } else if parse_float(value).is_ok() {
            Self::Float
        } else if matches!(
            value,
            "t" | "T" | "TRUE" | "true" | "True" | "f" | "F" | "FALSE" | "false" | "False"
        ) {
            Self::Boolean
        } else if parse_duration(value).is_ok() {
            Self::Duration
        } else if !value.is_empty()
            && value.starts_with(|c: char| c.is_ascii_digit())
            && parse_bytes(value).is_ok()
        {
            Self::Bytes
        } else {
            Self::String
        }
    }

    /// The type covering both: integers widen to floats, and any other mix
    /// is a string, so a filter built on the type holds for every value.
    pub fn merge(self, other: Self) -> Self {
        match (self, other) {
            (a, b) if a == b => a,
            (Self::Int, Self::Float) | (Self::Float, Self::Int) => Self::Float,
            _ => Self::String,
        }
    }
}

/// A byte size written back the way Loki lists detected values, so it can
/// be pasted into a `bytes` filter: SI units, one decimal below ten
/// (`1.0kB`, `12MB`, `512B`).
pub fn humanize_bytes(value: &str) -> Option<String> {
    let n = parse_bytes(value).ok()?;
    if n < 10 {
        return Some(format!("{n}B"));
    }
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let exp = ((n as f64).ln() / 1000f64.ln()).floor() as usize;
    let exp = exp.min(UNITS.len() - 1);
    let scaled = ((n as f64 / 1000f64.powi(exp as i32)) * 10.0 + 0.5).floor() / 10.0;
    Some(if scaled < 10.0 {
        format!("{scaled:.1}{}", UNITS[exp])
    } else {
        format!("{scaled:.0}{}", UNITS[exp])
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names(line: &str) -> (LineParser, Vec<(String, String)>) {
        let (parser, fields) = line_fields(line.as_bytes()).unwrap();
        (
            parser,
            fields.into_iter().map(|f| (f.name, f.value)).collect(),
        )
    }

    #[test]
    fn json_first_then_logfmt() {
        let (p, f) =
            names(r#"{"user":{"id":7,"first-name":"Ann"},"tags":["x"],"ok":true,"n":null}"#);
        assert_eq!(p, LineParser::Json);
        assert_eq!(
            f,
            vec![
                ("user_id".into(), "7".into()),
                ("user_first_name".into(), "Ann".into()),
                ("ok".into(), "true".into()),
            ]
        );
        let (_, fields) = line_fields(br#"{"a":{"b.c":1}}"#).unwrap();
        assert_eq!(
            fields[0].json_path,
            Some(vec!["a".to_owned(), "b.c".to_owned()])
        );
        let (p, f) = names(r#"level=info msg="a b" empty= 1st=x"#);
        assert_eq!(p, LineParser::Logfmt);
        assert_eq!(
            f,
            vec![
                ("level".into(), "info".into()),
                ("msg".into(), "a b".into()),
                ("_1st".into(), "x".into()),
            ]
        );
        // A broken object falls back to logfmt; plain words have no values.
        assert_eq!(names(r#"{"a":1 x=2"#).0, LineParser::Logfmt);
        assert_eq!(line_fields(b"just some words"), None);
    }

    #[test]
    fn types_in_lokis_order() {
        let t = |v| FieldType::of(v).as_str();
        assert_eq!(t("42"), "int");
        assert_eq!(t("-1.5e3"), "float");
        assert_eq!(t("True"), "boolean");
        assert_eq!(t("1"), "int");
        assert_eq!(t("150ms"), "duration");
        assert_eq!(t("1h30m"), "duration");
        assert_eq!(t("2KB"), "bytes");
        assert_eq!(t("5 MiB"), "bytes");
        assert_eq!(t("GET"), "string");
        assert_eq!(t(""), "string");
        assert_eq!(FieldType::Int.merge(FieldType::Float), FieldType::Float);
        assert_eq!(FieldType::Int.merge(FieldType::Duration), FieldType::String);
    }

    #[test]
    fn byte_values_are_rewritten_in_si_units() {
        assert_eq!(humanize_bytes("1KB").as_deref(), Some("1.0kB"));
        assert_eq!(humanize_bytes("1KiB").as_deref(), Some("1.0kB"));
        assert_eq!(humanize_bytes("12MB").as_deref(), Some("12MB"));
        assert_eq!(humanize_bytes("512B").as_deref(), Some("512B"));
        assert_eq!(humanize_bytes("3").as_deref(), Some("3B"));
        assert_eq!(humanize_bytes("x"), None);
    }
}
