//! The protobuf path: a decompressed `logproto.PushRequest` walked field by
//! field, so that limits hold before entries are materialised and lines are
//! handed out as slices of the request buffer instead of copies. Only leaf
//! messages (timestamps, metadata pairs) go through prost.

use std::fmt;

use bytes::Bytes;
use hearth_storage::{Label, LogEntry};
use prost::Message;

use super::decode::DecodeError;
use super::validate::{Builder, EntryProblem, RawEntry, StreamLabels, pairs_to_keep, timestamp_ns};
use crate::proto::loki_push as proto;
use crate::proto::wire::{self, Fields};

/// Where in a request decoding is, for error messages.
#[derive(Clone, Copy)]
struct At {
    stream: usize,
    entry: Option<usize>,
}

impl At {
    fn error(self, detail: impl fmt::Display) -> DecodeError {
        match self.entry {
            Some(entry) => DecodeError::Protobuf(format!(
                "streams[{}].entries[{entry}]: {detail}",
                self.stream
            )),
            None => DecodeError::Protobuf(format!("streams[{}]: {detail}", self.stream)),
        }
    }
}

/// Decodes a whole request into `builder`. `raw` must own the bytes being
/// walked, so that lines can share it.
pub(super) fn decode(raw: &Bytes, builder: &mut Builder<'_>) -> Result<(), DecodeError> {
    let mut fields = Fields::new(raw);
    let top = |e: wire::Error| DecodeError::Protobuf(e.to_string());
    let mut index = 0usize;
    while let Some((tag, value)) = fields.next_field().map_err(top)? {
        match tag {
            1 => {
                let stream = wire::expect_bytes(tag, value).map_err(top)?;
                builder
                    .count_stream()
                    .map_err(|o| DecodeError::from_overflow(o, builder.limits))?;
                decode_stream(raw, stream, index, builder)?;
                index += 1;
            }
            2 => {
                // `format` is Loki-internal; checked only to hold it to the
                // same wire rules as prost.
                wire::expect_bytes(tag, value).map_err(top)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn decode_stream(
    raw: &Bytes,
    buf: &[u8],
    index: usize,
    builder: &mut Builder<'_>,
) -> Result<(), DecodeError> {
    let at = At {
        stream: index,
        entry: None,
    };
    // First pass: the labels (which may come after the entries) and the
    // entry count, so the entry limit holds before anything is allocated.
    let mut labels: &[u8] = &[];
    let mut count = 0usize;
    let mut fields = Fields::new(buf);
    while let Some((tag, value)) = fields.next_field().map_err(|e| at.error(e))? {
        match tag {
            1 => labels = wire::expect_bytes(tag, value).map_err(|e| at.error(e))?,
            2 => {
                wire::expect_bytes(tag, value).map_err(|e| at.error(e))?;
                count += 1;
            }
            3 => {
                wire::expect_varint(tag, value).map_err(|e| at.error(e))?;
            }
            _ => {}
        }
    }
    builder
        .count_entries(count)
        .map_err(|o| DecodeError::from_overflow(o, builder.limits))?;

    let keep_metadata = pairs_to_keep(builder.limits.max_structured_metadata_entries);
    let mut entries = Vec::with_capacity(count);
    let mut fields = Fields::new(buf);
    while let Some((tag, value)) = fields.next_field().map_err(|e| at.error(e))? {
        if tag == 2 {
            let bytes = wire::expect_bytes(tag, value).map_err(|e| at.error(e))?;
            let at = At {
                entry: Some(entries.len()),
                ..at
            };
            entries.push(decode_entry(raw, bytes, at, keep_metadata)?);
        }
    }
    builder.finish_stream(StreamLabels::Text(labels), entries);
    Ok(())
}

fn decode_entry(
    raw: &Bytes,
    buf: &[u8],
    at: At,
    keep_metadata: usize,
) -> Result<RawEntry, DecodeError> {
    let mut timestamp = proto::Timestamp::default();
    let mut line: &[u8] = &[];
    let mut metadata: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut metadata_count = 0usize;
    let mut parsed = 0usize;
    let mut fields = Fields::new(buf);
    while let Some((tag, value)) = fields.next_field().map_err(|e| at.error(e))? {
        match tag {
            1 => {
                // A singular message field that repeats is merged, per proto.
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.error(e))?;
                timestamp
                    .merge(bytes)
                    .map_err(|e| at.error(format_args!("timestamp: {e}")))?;
            }
            2 => line = wire::expect_bytes(tag, value).map_err(|e| at.error(e))?,
            3 => {
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.error(e))?;
                let pair = proto::LabelPairAdapter::decode(bytes).map_err(|e| {
                    at.error(format_args!("structuredMetadata[{metadata_count}]: {e}"))
                })?;
                if metadata.len() < keep_metadata {
                    metadata.push((pair.name, pair.value));
                }
                metadata_count += 1;
            }
            4 => {
                // Query-side only; decoded to hold it to prost's wire rules.
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.error(e))?;
                proto::LabelPairAdapter::decode(bytes)
                    .map_err(|e| at.error(format_args!("parsed[{parsed}]: {e}")))?;
                parsed += 1;
            }
            _ => {}
        }
    }
    Ok(entry(raw, timestamp, line, metadata, metadata_count))
}

fn entry(
    raw: &Bytes,
    timestamp: proto::Timestamp,
    line: &[u8],
    metadata: Vec<(Vec<u8>, Vec<u8>)>,
    metadata_count: usize,
) -> RawEntry {
    let ts_ns = timestamp_ns(timestamp.seconds, timestamp.nanos)?;
    if metadata_count > metadata.len() {
        return Err(EntryProblem::TooManyStructuredMetadata {
            count: metadata_count,
        });
    }
    let structured_metadata = metadata
        .into_iter()
        .map(
            |(name, value)| match (String::from_utf8(name), String::from_utf8(value)) {
                (Ok(name), Ok(value)) => Ok(Label { name, value }),
                _ => Err(EntryProblem::StructuredMetadataNotUtf8),
            },
        )
        .collect::<Result<_, _>>()?;
    Ok(LogEntry {
        ts_ns,
        // `line` borrows from `raw`, so this shares the buffer, no copy.
        line: raw.slice_ref(line),
        structured_metadata,
    })
}
