//! Turning a remote write HTTP body into a validated [`MetricsWrite`]: media
//! type negotiation, Snappy, protobuf, and per-series validation.
//!
//! Requests and series are walked field by field and only the small leaf
//! messages (samples, exemplars, metadata, histograms) go through prost one at
//! a time. Decoding a whole request with prost would first materialise every
//! struct: an empty histogram is 2 bytes on the wire but a few hundred in
//! memory, so a capped body could still expand to many gigabytes.

use std::fmt;
use std::io::Read as _;

use axum::http::StatusCode;
use hearth_storage::{METRIC_NAME_LABEL, MetricMetadata, MetricsWrite, Sample};
use prost::Message;

pub use super::limits::Limits;
use super::validate::{
    Builder, MAX_QUOTED_NAME_LEN, add_v1_metadata, convert_v1_exemplar, convert_v2_exemplar,
    labels_to_keep, lossy_prefix, resolve_pairs, symbol, v2_metadata_parts,
};
pub use super::validate::{RejectReason, Rejection};
use crate::proto::remote_v1 as v1;
use crate::proto::remote_v2 as v2;
use crate::proto::wire::{self, Fields};

const PROTOBUF_MEDIA_TYPE: &str = "application/x-protobuf";
const V1_MESSAGE: &str = "prometheus.WriteRequest";
const V2_MESSAGE: &str = "io.prometheus.write.v2.Request";

/// First chunk of every framed Snappy stream ("sNaPpY").
const SNAPPY_STREAM_IDENTIFIER: [u8; 10] =
    [0xff, 0x06, 0x00, 0x00, b's', b'N', b'a', b'P', b'p', b'Y'];

/// Which remote write message a body holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Remote write 1.0: `prometheus.WriteRequest`.
    V1,
    /// Remote write 2.0: `io.prometheus.write.v2.Request`.
    V2,
}

impl Protocol {
    /// The fully qualified protobuf message name (the `proto=` parameter).
    pub fn message_name(self) -> &'static str {
        match self {
            Self::V1 => V1_MESSAGE,
            Self::V2 => V2_MESSAGE,
        }
    }

    /// A short name, `"v1"` or `"v2"`, for use as a metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }
}

/// Why a whole request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Content-Type or Content-Encoding not understood (HTTP 415).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The compressed body exceeds [`Limits::max_body_bytes`].
    #[error("request body is {size} bytes, more than the limit of {limit}")]
    BodyTooLarge {
        /// Body size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The decompressed body would exceed [`Limits::max_decompressed_bytes`].
    #[error("{}", too_large_message(*.size, *.limit))]
    DecompressedTooLarge {
        /// Size declared by the Snappy header; `None` for framed Snappy,
        /// which declares none and is cut off at the limit.
        size: Option<usize>,
        /// The limit.
        limit: usize,
    },
    /// The body is not valid Snappy.
    #[error("request body is not valid snappy-compressed data: {0}")]
    Snappy(String),
    /// The decompressed body is not valid protobuf for the message.
    #[error("request body is not a valid {message} protobuf message: {detail}")]
    Protobuf {
        /// The message expected.
        message: &'static str,
        /// What is wrong and where.
        detail: String,
    },
    /// More series than [`Limits::max_series_per_request`].
    #[error("request has {count} series, more than the limit of {limit}")]
    TooManySeries {
        /// Series in the request.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// Remote write 2.0: the symbol table does not start with `""`.
    #[error("symbols[0] must be the empty string, but it is {0:?}")]
    FirstSymbolNotEmpty(String),
    /// Remote write 2.0: a symbol reference beyond the symbol table.
    #[error(
        "timeseries[{series}].{field} refers to symbol {reference}, but the symbol table has only {symbols} entries"
    )]
    SymbolRefOutOfRange {
        /// Index of the series.
        series: usize,
        /// Which reference, e.g. `labels_refs` or `metadata.help_ref`.
        field: String,
        /// The reference.
        reference: u32,
        /// Size of the symbol table.
        symbols: usize,
    },
    /// Remote write 2.0: a `labels_refs` list that is not name/value pairs.
    #[error("timeseries[{series}].{field} has {len} entries; it must hold name/value pairs")]
    OddLabelRefs {
        /// Index of the series.
        series: usize,
        /// Which list, e.g. `labels_refs` or `exemplars[0].labels_refs`.
        field: String,
        /// Its length.
        len: usize,
    },
    /// Remote write 2.0: a series carrying both float samples and histograms.
    #[error(
        "timeseries[{series}] has both samples and histograms; a series may carry only one kind"
    )]
    SamplesAndHistograms {
        /// Index of the series.
        series: usize,
    },
}

fn too_large_message(size: Option<usize>, limit: usize) -> String {
    match size {
        Some(size) => {
            format!("request body decompresses to {size} bytes, more than the limit of {limit}")
        }
        None => format!("request body decompresses to more than the limit of {limit} bytes"),
    }
}

impl DecodeError {
    /// True when the client sent a Content-Type or Content-Encoding we do not
    /// speak (HTTP 415 rather than 400).
    pub fn is_unsupported_media_type(&self) -> bool {
        matches!(self, Self::UnsupportedMediaType(_))
    }

    /// The HTTP status to answer with: 415 for media types, 413 for size
    /// limits, 400 for everything else. All are 4xx so senders do not retry.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyTooLarge { .. } | Self::DecompressedTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// The outcome of decoding one request that was not refused as a whole.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    /// Everything that passed validation, ready for storage.
    pub write: MetricsWrite,
    /// Series (and metadata entries) dropped, each with its reason.
    pub rejected: Vec<Rejection>,
    /// Native histogram samples received; all are currently rejected.
    pub histograms_received: usize,
}

impl Decoded {
    /// Float samples lost with rejected series.
    pub fn rejected_samples(&self) -> usize {
        self.rejected.iter().map(|r| r.samples).sum()
    }
}

/// Picks the message schema from a `Content-Type` header.
///
/// Missing, plain `application/x-protobuf` and `proto=prometheus.WriteRequest`
/// mean 1.0; `proto=io.prometheus.write.v2.Request` means 2.0. The media type
/// is compared case-insensitively, whitespace around `;` and `=` is ignored,
/// the value may be quoted and other parameters are ignored.
pub fn protocol_from_content_type(ct: Option<&str>) -> Result<Protocol, DecodeError> {
    let Some(ct) = ct.map(str::trim).filter(|ct| !ct.is_empty()) else {
        return Ok(Protocol::V1);
    };
    let (media_type, params) = ct.split_once(';').unwrap_or((ct, ""));
    if !media_type.trim().eq_ignore_ascii_case(PROTOBUF_MEDIA_TYPE) {
        return Err(DecodeError::UnsupportedMediaType(format!(
            "content type {ct:?} is not supported; remote write needs {PROTOBUF_MEDIA_TYPE}"
        )));
    }
    let params = parse_media_type_params(params).map_err(|why| {
        DecodeError::UnsupportedMediaType(format!("content type {ct:?} is malformed: {why}"))
    })?;
    let mut proto = None;
    for (name, value) in params {
        if !name.eq_ignore_ascii_case("proto") {
            continue;
        }
        if proto.is_some() {
            return Err(DecodeError::UnsupportedMediaType(format!(
                "content type {ct:?} has more than one proto parameter"
            )));
        }
        proto = Some(value);
    }
    match proto.as_deref() {
        None | Some(V1_MESSAGE) => Ok(Protocol::V1),
        Some(V2_MESSAGE) => Ok(Protocol::V2),
        Some(other) => Err(DecodeError::UnsupportedMediaType(format!(
            "proto={other:?} is not supported; use {V1_MESSAGE} or {V2_MESSAGE}"
        ))),
    }
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits `;`-separated `name=value` parameters (RFC 9110 §5.6.6), unquoting
/// quoted-string values.
fn parse_media_type_params(mut rest: &str) -> Result<Vec<(&str, String)>, String> {
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| is_space(c) || c == ';');
        if rest.is_empty() {
            return Ok(params);
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim_end_matches(is_space);
        let Some(after_eq) = rest[name_end..].strip_prefix('=') else {
            return Err(format!("parameter {name:?} has no value"));
        };
        if name.is_empty() {
            return Err("a parameter has no name".to_owned());
        }
        rest = after_eq.trim_start_matches(is_space);
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut end = None;
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => break,
                    },
                    c => value.push(c),
                }
            }
            let Some(end) = end else {
                return Err(format!("the value of {name:?} has no closing quote"));
            };
            rest = quoted[end..].trim_start_matches(is_space);
            if !rest.is_empty() && !rest.starts_with(';') {
                return Err(format!(
                    "unexpected text after the quoted value of {name:?}"
                ));
            }
            value
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            let value = rest[..end].trim_end_matches(is_space).to_owned();
            rest = &rest[end..];
            value
        };
        params.push((name, value));
    }
}

/// Accepts a missing `Content-Encoding` or `snappy`, the only one remote
/// write defines.
pub fn check_content_encoding(ce: Option<&str>) -> Result<(), DecodeError> {
    match ce.map(str::trim) {
        None | Some("") => Ok(()),
        Some(ce) if ce.eq_ignore_ascii_case("snappy") => Ok(()),
        Some(ce) => Err(DecodeError::UnsupportedMediaType(format!(
            "content encoding {ce:?} is not supported; remote write bodies must be snappy-compressed"
        ))),
    }
}

/// Decompresses a Snappy body, enforcing [`Limits::max_body_bytes`] and
/// [`Limits::max_decompressed_bytes`].
///
/// The spec mandates the block format, whose header declares the output size;
/// that is checked before allocating. The framed format, which some senders
/// emit by mistake, is accepted too and cut off at the limit while reading.
pub fn decompress(body: &[u8], limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    if body.starts_with(&SNAPPY_STREAM_IDENTIFIER) {
        return decompress_framed(body, limits.max_decompressed_bytes);
    }
    let len = snap::raw::decompress_len(body).map_err(|e| DecodeError::Snappy(e.to_string()))?;
    if len > limits.max_decompressed_bytes {
        return Err(DecodeError::DecompressedTooLarge {
            size: Some(len),
            limit: limits.max_decompressed_bytes,
        });
    }
    let mut out = vec![0; len];
    let written = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(|e| DecodeError::Snappy(e.to_string()))?;
    out.truncate(written);
    Ok(out)
}

fn decompress_framed(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    // One byte past the limit tells "exactly at the limit" from "over it".
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    snap::read::FrameDecoder::new(body)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Snappy(format!("framed format: {e}")))?;
    if out.len() > limit {
        return Err(DecodeError::DecompressedTooLarge { size: None, limit });
    }
    Ok(out)
}

/// Decodes and validates a decompressed request body.
///
/// Problems with the request as a whole are errors; series that fail
/// validation are listed in [`Decoded::rejected`] and the rest are kept.
pub fn decode(protocol: Protocol, raw: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    match protocol {
        Protocol::V1 => decode_v1(raw, limits),
        Protocol::V2 => decode_v2(raw, limits),
    }
}

/// Where in a request decoding is, for error messages.
#[derive(Clone, Copy)]
struct At {
    protocol: Protocol,
    series: usize,
}

impl At {
    fn protobuf(self, detail: String) -> DecodeError {
        DecodeError::Protobuf {
            message: self.protocol.message_name(),
            detail,
        }
    }

    fn wire(self, e: wire::Error) -> DecodeError {
        self.protobuf(format!("timeseries[{}]: {e}", self.series))
    }

    fn item(self, field: &str, index: usize, e: impl fmt::Display) -> DecodeError {
        self.protobuf(format!("timeseries[{}].{field}[{index}]: {e}", self.series))
    }

    fn decode_item<M: Message + Default>(
        self,
        field: &str,
        index: usize,
        bytes: &[u8],
    ) -> Result<M, DecodeError> {
        M::decode(bytes).map_err(|e| self.item(field, index, e))
    }
}

fn top_level_error(protocol: Protocol, e: wire::Error) -> DecodeError {
    DecodeError::Protobuf {
        message: protocol.message_name(),
        detail: e.to_string(),
    }
}

// ---- remote write 1.0 ----

fn decode_v1(raw: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    let mut builder = Builder::new(limits);
    let mut series = Vec::new();
    let mut series_count = 0usize;
    let mut metadata_count = 0usize;
    let mut fields = Fields::new(raw);
    let top = |e| top_level_error(Protocol::V1, e);
    while let Some((tag, value)) = fields.next_field().map_err(top)? {
        match tag {
            1 => {
                let bytes = wire::expect_bytes(tag, value).map_err(top)?;
                series_count += 1;
                if series_count <= limits.max_series_per_request {
                    series.push(bytes);
                }
            }
            3 => {
                let bytes = wire::expect_bytes(tag, value).map_err(top)?;
                let metadata =
                    v1::MetricMetadata::decode(bytes).map_err(|e| DecodeError::Protobuf {
                        message: V1_MESSAGE,
                        detail: format!("metadata[{metadata_count}]: {e}"),
                    })?;
                metadata_count += 1;
                add_v1_metadata(&mut builder, metadata);
            }
            _ => {}
        }
    }
    if series_count > limits.max_series_per_request {
        return Err(DecodeError::TooManySeries {
            count: series_count,
            limit: limits.max_series_per_request,
        });
    }
    for (index, bytes) in series.into_iter().enumerate() {
        let at = At {
            protocol: Protocol::V1,
            series: index,
        };
        decode_v1_series(&mut builder, at, bytes)?;
    }
    Ok(builder.out)
}

fn decode_v1_series(builder: &mut Builder<'_>, at: At, buf: &[u8]) -> Result<(), DecodeError> {
    let keep = labels_to_keep(builder.limits);
    let mut pairs: Vec<(&[u8], &[u8])> = Vec::new();
    let mut label_count = 0usize;
    let mut samples = Vec::new();
    let mut exemplars = Vec::new();
    let mut histograms = 0usize;
    let mut fields = Fields::new(buf);
    while let Some((tag, value)) = fields.next_field().map_err(|e| at.wire(e))? {
        match tag {
            1 => {
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.wire(e))?;
                let pair = parse_v1_label(bytes).map_err(|e| at.item("labels", label_count, e))?;
                if pairs.len() < keep {
                    pairs.push(pair);
                }
                label_count += 1;
            }
            2 => {
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.wire(e))?;
                let s: v1::Sample = at.decode_item("samples", samples.len(), bytes)?;
                samples.push(Sample {
                    ts: s.timestamp,
                    value: s.value,
                });
            }
            3 => {
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.wire(e))?;
                let e: v1::Exemplar = at.decode_item("exemplars", exemplars.len(), bytes)?;
                exemplars.push(e);
            }
            4 => {
                // Decoded only to hold histograms to the same wire rules as
                // everything else; storage has no place for them yet.
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.wire(e))?;
                let _: v1::Histogram = at.decode_item("histograms", histograms, bytes)?;
                histograms += 1;
            }
            _ => {}
        }
    }
    let exemplars = exemplars.into_iter().map(convert_v1_exemplar).collect();
    builder.finish_series(&pairs, label_count, samples, exemplars, histograms);
    Ok(())
}

/// Reads a `prometheus.Label` in place; labels are the bulk of a request and
/// borrowing them saves an allocation per string.
fn parse_v1_label(buf: &[u8]) -> Result<(&[u8], &[u8]), wire::Error> {
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    let mut fields = Fields::new(buf);
    while let Some((tag, field)) = fields.next_field()? {
        match tag {
            1 => name = wire::expect_bytes(tag, field)?,
            2 => value = wire::expect_bytes(tag, field)?,
            _ => {}
        }
    }
    Ok((name, value))
}

// ---- remote write 2.0 ----

fn decode_v2(raw: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    let mut symbols: Vec<&[u8]> = Vec::new();
    let mut series = Vec::new();
    let mut series_count = 0usize;
    let mut fields = Fields::new(raw);
    let top = |e| top_level_error(Protocol::V2, e);
    while let Some((tag, value)) = fields.next_field().map_err(top)? {
        match tag {
            4 => symbols.push(wire::expect_bytes(tag, value).map_err(top)?),
            5 => {
                let bytes = wire::expect_bytes(tag, value).map_err(top)?;
                series_count += 1;
                if series_count <= limits.max_series_per_request {
                    series.push(bytes);
                }
            }
            _ => {}
        }
    }
    if series_count > limits.max_series_per_request {
        return Err(DecodeError::TooManySeries {
            count: series_count,
            limit: limits.max_series_per_request,
        });
    }
    if let Some(first) = symbols.first()
        && !first.is_empty()
    {
        return Err(DecodeError::FirstSymbolNotEmpty(lossy_prefix(
            first,
            MAX_QUOTED_NAME_LEN,
        )));
    }
    let mut builder = Builder::new(limits);
    for (index, bytes) in series.into_iter().enumerate() {
        let at = At {
            protocol: Protocol::V2,
            series: index,
        };
        decode_v2_series(&mut builder, at, bytes, &symbols)?;
    }
    Ok(builder.out)
}

fn check_ref(symbols: &[&[u8]], at: At, field: &str, reference: u32) -> Result<(), DecodeError> {
    match symbol(symbols, reference) {
        Some(_) => Ok(()),
        None => Err(DecodeError::SymbolRefOutOfRange {
            series: at.series,
            field: field.to_owned(),
            reference,
            symbols: symbols.len(),
        }),
    }
}

fn decode_v2_series(
    builder: &mut Builder<'_>,
    at: At,
    buf: &[u8],
    symbols: &[&[u8]],
) -> Result<(), DecodeError> {
    let keep = labels_to_keep(builder.limits).saturating_mul(2);
    let mut refs: Vec<u32> = Vec::new();
    let mut ref_count = 0usize;
    let mut samples = Vec::new();
    let mut histograms = 0usize;
    let mut exemplars: Vec<v2::Exemplar> = Vec::new();
    let mut metadata: Option<v2::Metadata> = None;
    let mut fields = Fields::new(buf);
    while let Some((tag, value)) = fields.next_field().map_err(|e| at.wire(e))? {
        match tag {
            1 => {
                for reference in wire::varints(tag, value).map_err(|e| at.wire(e))? {
                    // uint32 semantics: the high bits of a wider varint are
                    // dropped, as prost and Go do.
                    let reference = reference.map_err(|e| at.wire(e))? as u32;
                    check_ref(symbols, at, "labels_refs", reference)?;
                    if refs.len() < keep {
                        refs.push(reference);
                    }
                    ref_count += 1;
                }
            }
            2 => {
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.wire(e))?;
                let s: v2::Sample = at.decode_item("samples", samples.len(), bytes)?;
                samples.push(Sample {
                    ts: s.timestamp,
                    value: s.value,
                });
            }
            3 => {
                // Decoded only to hold histograms to the same wire rules as
                // everything else; storage has no place for them yet.
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.wire(e))?;
                let _: v2::Histogram = at.decode_item("histograms", histograms, bytes)?;
                histograms += 1;
            }
            4 => {
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.wire(e))?;
                exemplars.push(at.decode_item("exemplars", exemplars.len(), bytes)?);
            }
            5 => {
                // A singular message field that repeats is merged, per proto.
                let bytes = wire::expect_bytes(tag, value).map_err(|e| at.wire(e))?;
                metadata
                    .get_or_insert_default()
                    .merge(bytes)
                    .map_err(|e| at.protobuf(format!("timeseries[{}].metadata: {e}", at.series)))?;
            }
            6 => {
                // Legacy created_timestamp; storage does not keep it.
                wire::expect_varint(tag, value).map_err(|e| at.wire(e))?;
            }
            _ => {}
        }
    }

    if !ref_count.is_multiple_of(2) {
        return Err(DecodeError::OddLabelRefs {
            series: at.series,
            field: "labels_refs".to_owned(),
            len: ref_count,
        });
    }
    if !samples.is_empty() && histograms > 0 {
        return Err(DecodeError::SamplesAndHistograms { series: at.series });
    }
    for (j, e) in exemplars.iter().enumerate() {
        if !e.labels_refs.len().is_multiple_of(2) {
            return Err(DecodeError::OddLabelRefs {
                series: at.series,
                field: format!("exemplars[{j}].labels_refs"),
                len: e.labels_refs.len(),
            });
        }
        if let Some(&reference) = e
            .labels_refs
            .iter()
            .find(|&&r| symbol(symbols, r).is_none())
        {
            return Err(DecodeError::SymbolRefOutOfRange {
                series: at.series,
                field: format!("exemplars[{j}].labels_refs"),
                reference,
                symbols: symbols.len(),
            });
        }
    }
    if let Some(m) = &metadata {
        check_ref(symbols, at, "metadata.help_ref", m.help_ref)?;
        check_ref(symbols, at, "metadata.unit_ref", m.unit_ref)?;
    }

    let pairs = resolve_pairs(symbols, &refs);
    let exemplars = exemplars
        .into_iter()
        .map(|e| convert_v2_exemplar(symbols, e))
        .collect::<Result<Vec<_>, _>>();
    let (exemplars, metadata) = match v2_metadata_parts(symbols, metadata) {
        Ok(parts) => (exemplars, parts),
        Err(reason) => (Err(reason), None),
    };
    let kept = builder.finish_series(&pairs, ref_count / 2, samples, exemplars, histograms);
    if kept && let Some((metric_type, help, unit)) = metadata {
        let name = pairs
            .iter()
            .find(|(name, _)| *name == METRIC_NAME_LABEL.as_bytes())
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
            .unwrap_or_default();
        if !name.is_empty() {
            builder.add_metadata(MetricMetadata {
                metric_family_name: name.to_owned(),
                metric_type,
                help,
                unit,
            });
        }
    }
    Ok(())
}
