//! The JSON path: `{"streams":[{"stream":{…},"values":[["<ns>","line"]]}]}`
//! and the legacy `{"streams":[{"labels":"{…}","entries":[{"ts":…}]}]}`,
//! streamed through serde visitors straight into the [`Builder`], so the
//! stream and entry limits hold while parsing rather than after.
//!
//! Lines are read as raw bytes, as Loki's Go parser does: invalid UTF-8 in a
//! line arrives unchanged. Parse errors carry serde_json's line and column.

use std::fmt;

use bytes::Bytes;
use hearth_storage::{Label, LogEntry};
use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};

use super::decode::DecodeError;
use super::validate::{Builder, EntryProblem, Overflow, RawEntry, StreamLabels, pairs_to_keep};

/// Decodes a whole JSON request into `builder`.
pub(super) fn decode(body: &[u8], builder: &mut Builder<'_>) -> Result<(), DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = RequestSeed(builder)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    parsed.map_err(|e| {
        // A limit stops the parse with a serde error; report the limit.
        match builder.overflow() {
            Some(overflow) => DecodeError::from_overflow(overflow, builder.limits),
            None => DecodeError::Json(e.to_string()),
        }
    })
}

/// Maps an object key to its index in a list of known keys.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|k| *k == v))
    }
}

// ---- request and streams ----

struct RequestSeed<'b, 'l>(&'b mut Builder<'l>);

impl<'de> DeserializeSeed<'de> for RequestSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RequestSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object like {"streams":[…]}"#)
    }

    /// `null` decodes to an empty request in Go, and so here.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key(&["streams"]))? {
            match key {
                Some(_) => map.next_value_seed(StreamsSeed(&mut *self.0))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct StreamsSeed<'b, 'l>(&'b mut Builder<'l>);

impl<'de> DeserializeSeed<'de> for StreamsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StreamsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of streams")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(StreamSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// The keys of a stream object, v1 (`stream`, `values`) and legacy
/// (`labels`, `entries`), in the order `StreamSeed` matches them.
const STREAM_KEYS: &[&str] = &["stream", "values", "labels", "entries"];

struct StreamSeed<'b, 'l>(&'b mut Builder<'l>);

impl<'de> DeserializeSeed<'de> for StreamSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StreamSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a stream object like {"stream":{…},"values":[…]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let builder = self.0;
        builder.count_stream().map_err(overflow_error)?;
        let keep_labels = pairs_to_keep(builder.limits.max_labels_per_stream);
        let mut pairs: Option<(Vec<(String, String)>, usize)> = None;
        let mut text: Option<String> = None;
        let mut entries: Vec<RawEntry> = Vec::new();
        while let Some(key) = map.next_key_seed(Key(STREAM_KEYS))? {
            match key {
                Some(0) => pairs = map.next_value_seed(PairsSeed { keep: keep_labels })?,
                Some(1) => map.next_value_seed(EntriesSeed {
                    builder: &mut *builder,
                    entries: &mut entries,
                    legacy: false,
                })?,
                Some(2) => text = map.next_value()?,
                Some(3) => map.next_value_seed(EntriesSeed {
                    builder: &mut *builder,
                    entries: &mut entries,
                    legacy: true,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // Loki's v1 format ignores `labels`; it only matters without `stream`.
        let labels = match (pairs, &text) {
            (Some((pairs, count)), _) => StreamLabels::Pairs { pairs, count },
            (None, Some(text)) => StreamLabels::Text(text.as_bytes()),
            (None, None) => StreamLabels::Pairs {
                pairs: Vec::new(),
                count: 0,
            },
        };
        builder.finish_stream(labels, entries);
        Ok(())
    }
}

fn overflow_error<E: de::Error>(_: Overflow) -> E {
    E::custom("request limit exceeded")
}

/// A flat string→string object (stream labels or structured metadata):
/// the first `keep` pairs and how many there were. `null` is no object.
struct PairsSeed {
    keep: usize,
}

impl<'de> DeserializeSeed<'de> for PairsSeed {
    type Value = Option<(Vec<(String, String)>, usize)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PairsSeed {
    type Value = Option<(Vec<(String, String)>, usize)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of string values")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::new();
        let mut count = 0usize;
        while let Some(name) = map.next_key::<String>()? {
            let value: String = map.next_value()?;
            // A repeated key takes the later value, as Loki decodes objects.
            if let Some(pair) = pairs.iter_mut().find(|(n, _)| *n == name) {
                pair.1 = value;
                continue;
            }
            if pairs.len() < self.keep {
                pairs.push((name, value));
            }
            count += 1;
        }
        Ok(Some((pairs, count)))
    }
}

// ---- entries ----

/// A stream's `values` (v1 tuples) or `entries` (legacy objects), appended to
/// `entries` and counted against the request limit one by one.
struct EntriesSeed<'a, 'l> {
    builder: &'a mut Builder<'l>,
    entries: &'a mut Vec<RawEntry>,
    legacy: bool,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of entries")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let keep = pairs_to_keep(self.builder.limits.max_structured_metadata_entries);
        loop {
            let entry = if self.legacy {
                seq.next_element_seed(LegacyEntrySeed)?
            } else {
                seq.next_element_seed(TupleSeed { keep })?
            };
            let Some(entry) = entry else {
                return Ok(());
            };
            self.builder.count_entries(1).map_err(overflow_error)?;
            self.entries.push(entry);
        }
    }
}

/// `["<ns>", "line"]` or `["<ns>", "line", {"name": "value"}]`.
struct TupleSeed {
    keep: usize,
}

impl<'de> DeserializeSeed<'de> for TupleSeed {
    type Value = RawEntry;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawEntry, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TupleSeed {
    type Value = RawEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an entry array like ["<unix ns>", "line"] or ["<unix ns>", "line", {…}]"#)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawEntry, A::Error> {
        let keep = self.keep;
        let ts_ns = seq
            .next_element_seed(NanosSeed)?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let line = seq
            .next_element_seed(LineSeed)?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let metadata = seq.next_element_seed(PairsSeed { keep })?.flatten();
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(
                "an entry array has more than 3 elements; expected [\"<unix ns>\", \"line\"] or [\"<unix ns>\", \"line\", {…}]",
            ));
        }
        let (pairs, count) = metadata.unwrap_or_default();
        if count > pairs.len() {
            return Ok(Err(EntryProblem::TooManyStructuredMetadata { count }));
        }
        Ok(Ok(LogEntry {
            ts_ns,
            line,
            structured_metadata: pairs
                .into_iter()
                .map(|(name, value)| Label { name, value })
                .collect(),
        }))
    }
}

/// `{"ts": "<RFC 3339>", "line": "…"}` of the legacy format.
struct LegacyEntrySeed;

impl<'de> DeserializeSeed<'de> for LegacyEntrySeed {
    type Value = RawEntry;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawEntry, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LegacyEntrySeed {
    type Value = RawEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an entry object like {"ts":"<RFC 3339>","line":"…"}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry, A::Error> {
        let mut ts_ns = None;
        let mut line = Bytes::new();
        while let Some(key) = map.next_key_seed(Key(&["ts", "line"]))? {
            match key {
                Some(0) => ts_ns = Some(map.next_value_seed(Rfc3339Seed)?),
                Some(1) => line = map.next_value_seed(LineSeed)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let ts_ns = ts_ns.ok_or_else(|| de::Error::missing_field("ts"))?;
        Ok(Ok(LogEntry {
            ts_ns,
            line,
            structured_metadata: Vec::new(),
        }))
    }
}

// ---- scalars ----

/// A timestamp as a string of Unix nanoseconds; a JSON number is refused, as
/// Loki refuses it.
struct NanosSeed;

impl<'de> DeserializeSeed<'de> for NanosSeed {
    type Value = i64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NanosSeed {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string of Unix nanoseconds")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.parse()
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }
}

/// A legacy RFC 3339 timestamp, as nanoseconds.
struct Rfc3339Seed;

impl<'de> DeserializeSeed<'de> for Rfc3339Seed {
    type Value = i64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Rfc3339Seed {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp between the years 1677 and 2262")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        chrono::DateTime::parse_from_rfc3339(v)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }
}

/// A line: a JSON string, unescaped but not checked as UTF-8.
struct LineSeed;

impl<'de> DeserializeSeed<'de> for LineSeed {
    type Value = Bytes;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Bytes, D::Error> {
        d.deserialize_bytes(self)
    }
}

impl Visitor<'_> for LineSeed {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a log line string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
        Ok(Bytes::copy_from_slice(v.as_bytes()))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
        Ok(Bytes::copy_from_slice(v))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
        Ok(Bytes::from(v))
    }
}
