//! Per-stream and per-entry validation: what makes a stream or an entry
//! unacceptable without failing the rest of its request, how it is reported
//! (in the words of Loki's plain-text 400 bodies), the `service_name` label
//! Grafana's Logs Drilldown expects, and the [`Builder`] that collects a
//! request's accepted and rejected parts while a decoder walks the body.

use crate::level::apply_detected_level;
use std::borrow::Cow;
use std::fmt;

use hearth_storage::{Label, LabelSetError, Labels, LogEntry, StreamWrite};

use super::decode::Decoded;
use super::labels::{self, Parser, is_valid_label_name};
use super::limits::Limits;

/// Rendered streams are cut here so that one absurd stream cannot blow up an
/// error response or a log line.
const MAX_RENDERED_LEN: usize = 1024;

/// The same for names and values quoted inside a message.
const MAX_QUOTED_LEN: usize = 128;

/// Enough labels of an over-long set to make its rendering recognisable.
const MIN_RENDERED_LABELS: usize = 8;

/// The label Loki adds to streams that lack it.
pub const SERVICE_NAME_LABEL: &str = "service_name";

/// Where `service_name` comes from when a stream lacks it: the first of these
/// labels present (Loki's `discover_service_name` default).
pub const SERVICE_NAME_SOURCES: [&str; 13] = [
    "service",
    "app",
    "application",
    "app_name",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
    "k8s_job_name",
];

/// The `service_name` of a stream none of [`SERVICE_NAME_SOURCES`] names.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// Why a stream, or some of its entries, were dropped from a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// The protobuf label-set text does not parse; the detail says where.
    InvalidLabels(String),
    /// The stream has no labels (or only empty-valued ones).
    MissingLabels,
    /// More labels than [`Limits::max_labels_per_stream`].
    TooManyLabels {
        /// Labels sent, `service_name` not counted.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A label name outside `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName(String),
    /// A label name longer than [`Limits::max_label_name_len`].
    LabelNameTooLong(String),
    /// A label value longer than [`Limits::max_label_value_len`]; carries
    /// the value, cut short.
    LabelValueTooLong(String),
    /// Two labels share this name.
    DuplicateLabelName(String),
    /// A line longer than [`Limits::max_line_bytes`].
    LineTooLong {
        /// The line's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A protobuf timestamp outside what 64-bit Unix nanoseconds can hold.
    TimestampOutOfRange {
        /// The timestamp's seconds.
        seconds: i64,
        /// The timestamp's nanoseconds.
        nanos: i32,
    },
    /// A structured metadata name or value is not valid UTF-8.
    StructuredMetadataNotUtf8,
    /// A structured metadata pair with an empty name.
    StructuredMetadataEmptyName,
    /// More structured metadata pairs than
    /// [`Limits::max_structured_metadata_entries`].
    TooManyStructuredMetadata {
        /// Pairs on the entry.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Structured metadata larger than
    /// [`Limits::max_structured_metadata_bytes`].
    StructuredMetadataTooLarge {
        /// Names plus values, in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl RejectReason {
    /// A stable snake_case name, for use as a metric label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidLabels(_) => "invalid_labels",
            Self::MissingLabels => "missing_labels",
            Self::TooManyLabels { .. } => "too_many_labels",
            Self::InvalidLabelName(_) => "invalid_label_name",
            Self::LabelNameTooLong(_) => "label_name_too_long",
            Self::LabelValueTooLong(_) => "label_value_too_long",
            Self::DuplicateLabelName(_) => "duplicate_label_name",
            Self::LineTooLong { .. } => "line_too_long",
            Self::TimestampOutOfRange { .. } => "timestamp_out_of_range",
            Self::StructuredMetadataNotUtf8 => "structured_metadata_not_utf8",
            Self::StructuredMetadataEmptyName => "structured_metadata_empty_name",
            Self::TooManyStructuredMetadata { .. } => "too_many_structured_metadata",
            Self::StructuredMetadataTooLarge { .. } => "structured_metadata_too_large",
        }
    }

    /// True when the reason drops the whole stream rather than one entry.
    pub fn is_stream_level(&self) -> bool {
        matches!(
            self,
            Self::InvalidLabels(_)
                | Self::MissingLabels
                | Self::TooManyLabels { .. }
                | Self::InvalidLabelName(_)
                | Self::LabelNameTooLong(_)
                | Self::LabelValueTooLong(_)
                | Self::DuplicateLabelName(_)
        )
    }
}

/// A stream, or some of its entries, dropped from an otherwise accepted
/// request. Entry-level rejections of one kind within one stream are merged:
/// the reason describes the first such entry and `entries` counts them all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The stream's labels as sent, rendered `{a="b", c="d"}` (sorted, no
    /// `service_name` added); for text that did not parse, the text itself.
    /// Best effort: invalid UTF-8 is replaced and long sets are cut short.
    pub stream: String,
    /// Why.
    pub reason: RejectReason,
    /// Entries lost.
    pub entries: usize,
}

impl fmt::Display for Rejection {
    /// The message Loki puts in its 400 body for the same problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stream = &self.stream;
        match &self.reason {
            RejectReason::InvalidLabels(detail) => {
                write!(f, "error parsing labels '{stream}' with error: {detail}")
            }
            RejectReason::MissingLabels => {
                f.write_str("error at least one label pair is required per stream")
            }
            RejectReason::TooManyLabels { count, limit } => write!(
                f,
                "entry for stream '{stream}' has {count} label names; limit {limit}"
            ),
            RejectReason::InvalidLabelName(name) => write!(
                f,
                "stream '{stream}' has label name with invalid syntax: '{name}'"
            ),
            RejectReason::LabelNameTooLong(name) => {
                write!(f, "stream '{stream}' has label name too long: '{name}'")
            }
            RejectReason::LabelValueTooLong(value) => {
                write!(f, "stream '{stream}' has label value too long: '{value}'")
            }
            RejectReason::DuplicateLabelName(name) => {
                write!(f, "stream '{stream}' has duplicate label name: '{name}'")
            }
            RejectReason::LineTooLong { len, limit } => write!(
                f,
                "Max entry size '{limit}' bytes exceeded for stream '{stream}' while adding an entry with length '{len}' bytes"
            ),
            RejectReason::TimestampOutOfRange { seconds, nanos } => write!(
                f,
                "entry for stream '{stream}' has timestamp out of range: {seconds} seconds and {nanos} nanoseconds do not fit in 64-bit Unix nanoseconds"
            ),
            RejectReason::StructuredMetadataNotUtf8 => write!(
                f,
                "stream '{stream}' has structured metadata that is not valid UTF-8"
            ),
            RejectReason::StructuredMetadataEmptyName => write!(
                f,
                "stream '{stream}' has structured metadata with an empty name"
            ),
            RejectReason::TooManyStructuredMetadata { count, limit } => write!(
                f,
                "stream '{stream}' has too many structured metadata labels: '{count}', limit: '{limit}'"
            ),
            RejectReason::StructuredMetadataTooLarge { size, limit } => write!(
                f,
                "stream '{stream}' has structured metadata too large: '{size}' bytes, limit: '{limit}' bytes"
            ),
        }
    }
}

/// Lossy UTF-8 of at most `max` bytes of `bytes`, marked when cut.
fn lossy_prefix(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut s = String::from_utf8_lossy(&bytes[..max]).into_owned();
    s.push('…');
    s
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_RENDERED_LEN {
        let mut at = MAX_RENDERED_LEN;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push_str("…}");
    }
    s
}

/// Renders a stream's pairs for a message: sorted, each part and the whole
/// bounded.
fn render_for_message(pairs: &[(Cow<'_, str>, Cow<'_, str>)]) -> String {
    let mut sorted: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| {
            (
                lossy_prefix(n.as_bytes(), MAX_RENDERED_LEN),
                lossy_prefix(v.as_bytes(), MAX_RENDERED_LEN),
            )
        })
        .collect();
    sorted.sort();
    cut(labels::render(
        sorted.iter().map(|(n, v)| (n.as_str(), v.as_str())),
    ))
}

/// Something wrong with one entry found while decoding it, before its stream
/// is known to be valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryProblem {
    TimestampOutOfRange { seconds: i64, nanos: i32 },
    StructuredMetadataNotUtf8,
    TooManyStructuredMetadata { count: usize },
}

/// A decoded entry, or why it cannot be kept.
pub(crate) type RawEntry = Result<LogEntry, EntryProblem>;

/// A stream's labels as the wire carries them.
pub(crate) enum StreamLabels<'a> {
    /// Label-set text (protobuf and legacy JSON), not yet checked as UTF-8.
    Text(&'a [u8]),
    /// Pairs from a JSON object; `count` may exceed `pairs.len()` when only
    /// the first few were kept.
    Pairs {
        pairs: Vec<(String, String)>,
        count: usize,
    },
}

/// How many label or metadata pairs to keep while decoding: all that can pass
/// (one more for a `service_name` that does not count), or enough of an
/// over-long set to name it in the rejection.
pub(crate) fn pairs_to_keep(limit: usize) -> usize {
    limit.saturating_add(1).max(MIN_RENDERED_LABELS)
}

/// Nanoseconds since the epoch of a protobuf timestamp, normalising `nanos`
/// outside a second as Go's `time.Unix` does.
pub(crate) fn timestamp_ns(seconds: i64, nanos: i32) -> Result<i64, EntryProblem> {
    let ns = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
    i64::try_from(ns).map_err(|_| EntryProblem::TimestampOutOfRange { seconds, nanos })
}

/// Collects a request's output while its streams are decoded one by one.
pub(crate) struct Builder<'l> {
    pub(crate) limits: &'l Limits,
    pub(crate) out: Decoded,
    streams: usize,
    entries: usize,
}

/// Whole-request limits a decoder must stop at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overflow {
    Streams,
    Entries,
}

impl<'l> Builder<'l> {
    pub(crate) fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            out: Decoded::default(),
            streams: 0,
            entries: 0,
        }
    }

    /// Counts one more stream; an error once there are too many.
    pub(crate) fn count_stream(&mut self) -> Result<(), Overflow> {
        self.streams += 1;
        if self.streams > self.limits.max_streams_per_request {
            return Err(Overflow::Streams);
        }
        Ok(())
    }

    /// Counts `n` more entries; an error once there are too many. Decoders
    /// call this before materialising the entries.
    pub(crate) fn count_entries(&mut self, n: usize) -> Result<(), Overflow> {
        self.entries = self.entries.saturating_add(n);
        if self.entries > self.limits.max_entries_per_request {
            return Err(Overflow::Entries);
        }
        Ok(())
    }

    /// The whole-request limit exceeded, if any.
    pub(crate) fn overflow(&self) -> Option<Overflow> {
        if self.streams > self.limits.max_streams_per_request {
            Some(Overflow::Streams)
        } else if self.entries > self.limits.max_entries_per_request {
            Some(Overflow::Entries)
        } else {
            None
        }
    }

    /// Validates one stream and its entries, keeping what passes.
    pub(crate) fn finish_stream(&mut self, labels: StreamLabels<'_>, entries: Vec<RawEntry>) {
        let (pairs, count) = match resolve_pairs(labels, self.limits) {
            Ok(resolved) => resolved,
            Err((stream, reason)) => return self.reject_stream(stream, reason, entries.len()),
        };
        let labels = match check_labels(&pairs, count, self.limits) {
            Ok(labels) => labels,
            Err(reason) => {
                return self.reject_stream(render_for_message(&pairs), reason, entries.len());
            }
        };
        let mut kept = Vec::with_capacity(entries.len());
        // Indexes into `out.rejected` of this stream's merged entry rejections.
        let mut merged: Vec<usize> = Vec::new();
        let mut rendered: Option<String> = None;
        for entry in entries {
            match self.check_entry(entry) {
                Ok(entry) => kept.push(entry),
                Err(reason) => {
                    let existing = merged
                        .iter()
                        .copied()
                        .find(|&i| self.out.rejected[i].reason.as_str() == reason.as_str());
                    if let Some(i) = existing {
                        self.out.rejected[i].entries += 1;
                        continue;
                    }
                    let stream = rendered
                        .get_or_insert_with(|| render_for_message(&pairs))
                        .clone();
                    merged.push(self.out.rejected.len());
                    self.out.rejected.push(Rejection {
                        stream,
                        reason,
                        entries: 1,
                    });
                }
            }
        }
        // Nothing is stored for a stream without entries, as Loki does.
        if !kept.is_empty() {
            let labels = with_service_name(labels);
            if self.limits.discover_log_levels {
                for entry in &mut kept {
                    apply_detected_level(&labels, &mut entry.structured_metadata, &entry.line);
                }
            }
            self.out.write.streams.push(StreamWrite {
                labels,
                entries: kept,
            });
        }
    }

    fn check_entry(&self, entry: RawEntry) -> Result<LogEntry, RejectReason> {
        let limits = self.limits;
        let entry = entry.map_err(|problem| match problem {
            EntryProblem::TimestampOutOfRange { seconds, nanos } => {
                RejectReason::TimestampOutOfRange { seconds, nanos }
            }
            EntryProblem::StructuredMetadataNotUtf8 => RejectReason::StructuredMetadataNotUtf8,
            EntryProblem::TooManyStructuredMetadata { count } => {
                RejectReason::TooManyStructuredMetadata {
                    count,
                    limit: limits.max_structured_metadata_entries,
                }
            }
        })?;
        if entry.line.len() > limits.max_line_bytes {
            return Err(RejectReason::LineTooLong {
                len: entry.line.len(),
                limit: limits.max_line_bytes,
            });
        }
        let metadata = &entry.structured_metadata;
        if metadata.len() > limits.max_structured_metadata_entries {
            return Err(RejectReason::TooManyStructuredMetadata {
                count: metadata.len(),
                limit: limits.max_structured_metadata_entries,
            });
        }
        if metadata.iter().any(|l| l.name.is_empty()) {
            return Err(RejectReason::StructuredMetadataEmptyName);
        }
        let size: usize = metadata.iter().map(|l| l.name.len() + l.value.len()).sum();
        if size > limits.max_structured_metadata_bytes {
            return Err(RejectReason::StructuredMetadataTooLarge {
                size,
                limit: limits.max_structured_metadata_bytes,
            });
        }
        Ok(entry)
    }

    fn reject_stream(&mut self, stream: String, reason: RejectReason, entries: usize) {
        self.out.rejected.push(Rejection {
            stream,
            reason,
            entries,
        });
    }
}

type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// The stream's pairs (the first few of an over-long set) and how many there
/// were, or the rendered stream and why it cannot be read.
fn resolve_pairs<'a>(
    labels: StreamLabels<'a>,
    limits: &Limits,
) -> Result<(Pairs<'a>, usize), (String, RejectReason)> {
    let keep = pairs_to_keep(limits.max_labels_per_stream);
    match labels {
        StreamLabels::Pairs { pairs, count } => Ok((
            pairs
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n), Cow::Owned(v)))
                .collect(),
            count,
        )),
        StreamLabels::Text(bytes) => {
            let shown = || cut(lossy_prefix(bytes, MAX_RENDERED_LEN));
            let text = std::str::from_utf8(bytes).map_err(|e| {
                let detail = format!("at byte {}: not valid UTF-8", e.valid_up_to());
                (shown(), RejectReason::InvalidLabels(detail))
            })?;
            let mut parser = Parser::new(text);
            let mut pairs = Vec::new();
            let mut count = 0usize;
            loop {
                match parser.next_pair() {
                    Ok(Some(pair)) => {
                        if pairs.len() < keep {
                            pairs.push(pair);
                        }
                        count += 1;
                    }
                    Ok(None) => return Ok((pairs, count)),
                    Err(e) => return Err((shown(), RejectReason::InvalidLabels(e.to_string()))),
                }
            }
        }
    }
}

/// Applies the stream label rules in Loki's order and builds the canonical
/// set. `count` is how many pairs the stream had; `pairs` may hold fewer.
fn check_labels(pairs: &Pairs<'_>, count: usize, limits: &Limits) -> Result<Labels, RejectReason> {
    // Loki does not count a `service_name` the sender set, since it would add
    // one otherwise.
    let has_service_name = pairs
        .iter()
        .any(|(n, v)| n == SERVICE_NAME_LABEL && !v.is_empty());
    let counted = count.saturating_sub(usize::from(has_service_name));
    if counted > limits.max_labels_per_stream {
        return Err(RejectReason::TooManyLabels {
            count: counted,
            limit: limits.max_labels_per_stream,
        });
    }
    let quoted = |s: &str| lossy_prefix(s.as_bytes(), MAX_QUOTED_LEN);
    for (name, value) in pairs {
        if name.len() > limits.max_label_name_len {
            return Err(RejectReason::LabelNameTooLong(quoted(name)));
        }
        if !is_valid_label_name(name) {
            return Err(RejectReason::InvalidLabelName(quoted(name)));
        }
        if value.len() > limits.max_label_value_len {
            return Err(RejectReason::LabelValueTooLong(quoted(value)));
        }
    }
    let labels = pairs
        .iter()
        .map(|(n, v)| Label::new(n.as_ref(), v.as_ref()))
        .collect();
    let labels = Labels::new(labels).map_err(|e| match e {
        LabelSetError::DuplicateName(name) => RejectReason::DuplicateLabelName(quoted(&name)),
        // Names were checked above; an empty one cannot get here.
        LabelSetError::EmptyName => RejectReason::InvalidLabelName(String::new()),
    })?;
    if labels.is_empty() {
        return Err(RejectReason::MissingLabels);
    }
    Ok(labels)
}

/// Adds `service_name` to a stream that lacks it, from the first of
/// [`SERVICE_NAME_SOURCES`] present, else [`UNKNOWN_SERVICE`].
pub(crate) fn with_service_name(labels: Labels) -> Labels {
    if labels.get(SERVICE_NAME_LABEL).is_some() {
        return labels;
    }
    let service = SERVICE_NAME_SOURCES
        .iter()
        .find_map(|name| labels.get(name))
        .unwrap_or(UNKNOWN_SERVICE)
        .to_owned();
    let mut all = labels.as_slice().to_vec();
    all.push(Label::new(SERVICE_NAME_LABEL, service));
    // Cannot fail: the name is new and the value non-empty.
    Labels::new(all).unwrap_or(labels)
}
