//! `detected_level`: the log level Loki 3 attaches to every entry as
//! structured metadata, which Grafana's log-volume histogram
//! (`sum by (level, detected_level)`) and Logs Drilldown group by.
//!
//! The level is taken, in order, from a `detected_level` the sender already
//! set, a level-like stream label, a level-like metadata pair, OTLP's
//! `severity_number`, and finally the line itself (a JSON or logfmt level
//! field, else a level word). Nothing found means `unknown`.

use hearth_storage::{Label, Labels};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The structured metadata name.
pub const DETECTED_LEVEL: &str = "detected_level";
/// The level of an entry nothing identifies.
pub const UNKNOWN_LEVEL: &str = "unknown";

/// Field names that hold a level, most trusted first.
const LEVEL_FIELDS: [&str; 14] = [
    "level",
    "LEVEL",
    "Level",
    "log.level",
    "severity",
    "SEVERITY",
    "Severity",
    "SeverityText",
    "lvl",
    "LVL",
    "Lvl",
    "severity_text",
    "Severity_Text",
    "SEVERITY_TEXT",
];

/// How deep into nested JSON objects a level field is looked for: a level
/// buried deeper is rarely the entry's own.
const JSON_MAX_DEPTH: usize = 2;

/// Words searched for in an unstructured line, in priority order.
const LEVEL_WORDS: [(&str, &str); 9] = [
    ("trace", "trace"),
    ("debug", "debug"),
    ("fatal", "fatal"),
    ("critical", "critical"),
    ("error", "error"),
    ("err", "error"),
    ("warning", "warn"),
    ("warn", "warn"),
    ("info", "info"),
];

/// Loki's canonical spelling of a level value, if it is one it knows.
pub fn canonical_level(value: &str) -> Option<&'static str> {
    let v = value.trim();
    let eq = |s: &str| v.eq_ignore_ascii_case(s);
    Some(if eq("trace") || eq("trc") {
        "trace"
    } else if eq("debug") || eq("dbg") {
        "debug"
    } else if eq("info") || eq("inf") || eq("information") {
        "info"
    } else if eq("warn") || eq("wrn") || eq("warning") {
        "warn"
    } else if eq("error") || eq("err") {
        "error"
    } else if eq("critical") {
        "critical"
    } else if eq("fatal") {
        "fatal"
    } else {
        return None;
    })
}

/// A value from a label or metadata pair: canonical when known, else kept
/// as the sender wrote it, since it was deliberately set.
fn label_level(value: &str) -> String {
    canonical_level(value).map_or_else(|| value.to_owned(), str::to_owned)
}

fn field_priority(name: &str) -> Option<usize> {
    LEVEL_FIELDS.iter().position(|f| *f == name)
}

/// OTLP's severity number ranges (1–4 trace, 5–8 debug, ...).
fn severity_number_level(value: &str) -> &'static str {
    match value.trim().parse::<i64>() {
        Ok(1..=4) => "trace",
        Ok(5..=8) => "debug",
        Ok(9..=12) => "info",
        Ok(13..=16) => "warn",
        Ok(17..=20) => "error",
        Ok(21..=24) => "fatal",
        Ok(_) => UNKNOWN_LEVEL,
        Err(_) => "info",
    }
}

/// Sets `detected_level` on an entry's metadata: normalises one the sender
/// set, or adds the detected one.
pub fn apply_detected_level(stream: &Labels, metadata: &mut Vec<Label>, line: &[u8]) {
    if let Some(existing) = metadata.iter_mut().find(|l| l.name == DETECTED_LEVEL) {
        existing.value = label_level(&existing.value);
        return;
    }
    let level = detect_level(stream, metadata, line);
    metadata.push(Label::new(DETECTED_LEVEL, level));
}

/// The level of an entry without a `detected_level` of its own.
pub fn detect_level(stream: &Labels, metadata: &[Label], line: &[u8]) -> String {
    for field in LEVEL_FIELDS {
        if let Some(v) = stream.get(field) {
            return label_level(v);
        }
    }
    let from_metadata = metadata
        .iter()
        .filter_map(|l| field_priority(&l.name).map(|p| (p, l)))
        .min_by_key(|(p, _)| *p);
    if let Some((_, l)) = from_metadata {
        return label_level(&l.value);
    }
    if let Some(l) = metadata.iter().find(|l| l.name == "severity_number") {
        return severity_number_level(&l.value).to_owned();
    }
    line_level(line).to_owned()
}

/// The level a line states: a level field of a JSON or logfmt line, else
/// the most telling level word in it.
pub fn line_level(line: &[u8]) -> &'static str {
    let trimmed = line.trim_ascii();
    let field = if trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}') {
        json_level_field(trimmed)
    } else if line.contains(&b'=') {
        logfmt_level_field(line)
    } else {
        None
    };
    if let Some(level) = field.as_deref().and_then(canonical_level) {
        return level;
    }
    word_level(line)
}

/// The first string value, in document order, whose key names a level.
fn json_level_field(line: &[u8]) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(line);
    LevelSearch { depth: 1 }.deserialize(&mut de).ok().flatten()
}

struct LevelSearch {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for LevelSearch {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LevelSearch {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_level) = map.next_key_seed(KeyIsLevel)? {
            if found.is_some() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            found = map.next_value_seed(ValueSearch {
                is_level,
                depth: self.depth,
            })?;
        }
        Ok(found)
    }
}

/// Whether an object key names a level, read without allocating.
struct KeyIsLevel;

impl<'de> DeserializeSeed<'de> for KeyIsLevel {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIsLevel {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(field_priority(v).is_some())
    }
}

/// One member value: a string under a level key is the answer; an object
/// within the depth limit is searched; anything else is skipped.
struct ValueSearch {
    is_level: bool,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSearch {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSearch {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.is_level.then(|| v.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if self.depth >= JSON_MAX_DEPTH {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(None);
        }
        LevelSearch {
            depth: self.depth + 1,
        }
        .visit_map(map)
    }
}

/// The value of the most trusted level key among a logfmt line's pairs;
/// keys compare without regard to case.
fn logfmt_level_field(line: &[u8]) -> Option<String> {
    let mut best: Option<(usize, &[u8])> = None;
    for (key, value) in logfmt_pairs(line) {
        let Ok(key) = std::str::from_utf8(key) else {
            continue;
        };
        let Some(p) = LEVEL_FIELDS
            .iter()
            .position(|f| f.eq_ignore_ascii_case(key))
        else {
            continue;
        };
        if best.is_none_or(|(q, _)| p < q) {
            best = Some((p, value));
        }
    }
    best.map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

/// `key=value` pairs of a logfmt line; a quoted value is returned without
/// its quotes (escapes are irrelevant for level names).
fn logfmt_pairs(line: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < line.len() {
            while i < line.len() && line[i].is_ascii_whitespace() {
                i += 1;
            }
            let key_start = i;
            while i < line.len() && !line[i].is_ascii_whitespace() && line[i] != b'=' {
                i += 1;
            }
            let key = &line[key_start..i];
            if i >= line.len() || line[i] != b'=' {
                continue;
            }
            i += 1;
            let value = if line.get(i) == Some(&b'"') {
                let start = i + 1;
                i = start;
                while i < line.len() && line[i] != b'"' {
                    i += if line[i] == b'\\' { 2 } else { 1 };
                }
                let value = &line[start..i.min(line.len())];
                i += 1;
                value
            } else {
                let start = i;
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    i += 1;
                }
                &line[start..i]
            };
            if !key.is_empty() {
                return Some((key, value));
            }
        }
        None
    })
}

/// The highest-priority level word of the line, matched whole and without
/// regard to case.
fn word_level(line: &[u8]) -> &'static str {
    let mut best: Option<usize> = None;
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < line.len() {
        if !is_word(line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && is_word(line[i]) {
            i += 1;
        }
        let word = &line[start..i];
        if word.len() > 8 {
            continue;
        }
        if let Some(p) = LEVEL_WORDS
            .iter()
            .position(|(w, _)| w.as_bytes().eq_ignore_ascii_case(word))
            && best.is_none_or(|q| p < q)
        {
            best = Some(p);
            if p == 0 {
                break;
            }
        }
    }
    best.map_or(UNKNOWN_LEVEL, |p| LEVEL_WORDS[p].1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied()).unwrap()
    }

    fn detect(stream: &[(&str, &str)], metadata: &[(&str, &str)], line: &str) -> String {
        let md: Vec<Label> = metadata.iter().map(|(n, v)| Label::new(*n, *v)).collect();
        detect_level(&labels(stream), &md, line.as_bytes())
    }

    #[test]
    fn labels_then_metadata_then_severity_number_then_line() {
        assert_eq!(
            detect(&[("level", "WARNING")], &[("lvl", "debug")], "error"),
            "warn"
        );
        assert_eq!(detect(&[("level", "Notice")], &[], "error"), "Notice");
        assert_eq!(
            detect(&[], &[("lvl", "dbg"), ("severity", "err")], "x"),
            "error"
        );
        assert_eq!(detect(&[], &[("severity_number", "17")], "info"), "error");
        assert_eq!(detect(&[], &[("severity_number", "0")], "info"), "unknown");
        assert_eq!(detect(&[], &[("severity_number", "x")], "error"), "info");
        assert_eq!(
            detect(&[("app", "a")], &[("trace_id", "1")], "plain"),
            "unknown"
        );
    }

    #[test]
    fn json_lines_use_the_first_level_field_within_two_levels() {
        assert_eq!(line_level(br#"{"msg":"boom","level":"ERROR"}"#), "error");
        assert_eq!(
            line_level(br#" {"log":{"level":"warning"},"x":1} "#),
            "warn"
        );
        // Too deep: the word scan decides, and "debug" outranks "warn" there.
        assert_eq!(
            line_level(br#"{"a":{"b":{"level":"warn"}},"m":"debug"}"#),
            "debug"
        );
        assert_eq!(line_level(br#"{"a":{"level":"warn"},"m":"debug"}"#), "warn");
        // A number under a level key is not a level; the scan goes on.
        assert_eq!(line_level(br#"{"level":3,"severity":"fatal"}"#), "fatal");
        assert_eq!(line_level(br#"{"level":"weird","m":"ok"}"#), "unknown");
        // Broken JSON still gets the word scan.
        assert_eq!(line_level(br#"{"level":"debug", oops}"#), "debug");
    }

    #[test]
    fn logfmt_lines_use_the_most_trusted_key() {
        assert_eq!(line_level(b"ts=1 lvl=info level=Error msg=x"), "error");
        assert_eq!(line_level(br#"LEVEL="warn" msg="disk full""#), "warn");
        assert_eq!(line_level(b"severity=critical"), "critical");
        assert_eq!(line_level(b"a=b c=d"), "unknown");
    }

    #[test]
    fn plain_lines_use_whole_words_by_priority() {
        assert_eq!(line_level(b"ERROR: disk full"), "error");
        assert_eq!(line_level(b"[warn] slow; trace follows"), "trace");
        assert_eq!(line_level(b"errors=0 information"), "unknown");
        assert_eq!(line_level(b"Err connection refused"), "error");
        assert_eq!(line_level(b"GET /info 200"), "info");
        assert_eq!(line_level(b"\xff\xfe bad bytes"), "unknown");
    }

    #[test]
    fn an_existing_detected_level_is_normalised_not_replaced() {
        let mut md = vec![Label::new(DETECTED_LEVEL, "WRN")];
        apply_detected_level(&labels(&[]), &mut md, b"error");
        assert_eq!(md, vec![Label::new(DETECTED_LEVEL, "warn")]);
        let mut md = vec![];
        apply_detected_level(&labels(&[]), &mut md, b"fatal: out of memory");
        assert_eq!(md, vec![Label::new(DETECTED_LEVEL, "fatal")]);
    }

    proptest::proptest! {
        #[test]
        fn any_line_gets_a_level(line in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let level = line_level(&line);
            proptest::prop_assert!(level == UNKNOWN_LEVEL || canonical_level(level) == Some(level));
        }
    }
}
