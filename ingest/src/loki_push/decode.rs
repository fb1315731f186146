//! Turning a Loki push HTTP body into a validated [`LogsWrite`]: content
//! encoding, content type, decompression within limits, and dispatch to the
//! protobuf or JSON decoder.

use std::io::Read;

use axum::http::StatusCode;
use bytes::Bytes;
use hearth_storage::LogsWrite;

pub use super::limits::Limits;
use super::validate::{Builder, Overflow};
pub use super::validate::{RejectReason, Rejection};
use super::{json, protobuf};

const JSON_MEDIA_TYPE: &str = "application/json";

/// The message the protobuf body holds, for error messages.
pub(crate) const PUSH_MESSAGE: &str = "logproto.PushRequest";

/// First chunk of every framed Snappy stream ("sNaPpY").
const SNAPPY_STREAM_IDENTIFIER: [u8; 10] =
    [0xff, 0x06, 0x00, 0x00, b's', b'N', b'a', b'P', b'p', b'Y'];

/// Why a whole request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A `Content-Encoding` other than identity, snappy, gzip or deflate.
    #[error("Content-Encoding {0:?} not supported")]
    UnsupportedContentEncoding(String),
    /// The body as received exceeds [`Limits::max_body_bytes`].
    #[error("request body is {size} bytes, more than the limit of {limit}")]
    BodyTooLarge {
        /// Body size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A decompression step would exceed [`Limits::max_decompressed_bytes`].
    #[error("{}", too_large_message(*.size, *.limit))]
    DecompressedTooLarge {
        /// Size declared by a Snappy block header; `None` for streams that
        /// declare none and are cut off at the limit.
        size: Option<usize>,
        /// The limit.
        limit: usize,
    },
    /// The body is not valid data for its compression; says which.
    #[error("request body is not valid {format} data: {detail}")]
    Decompress {
        /// `snappy`, `gzip` or `deflate`.
        format: &'static str,
        /// What the decompressor said.
        detail: String,
    },
    /// The decompressed body is not a valid `logproto.PushRequest`.
    #[error("request body is not a valid {PUSH_MESSAGE} protobuf message: {0}")]
    Protobuf(String),
    /// The body is not valid Loki push JSON; the detail says where.
    #[error("request body is not valid Loki push JSON: {0}")]
    Json(String),
    /// More streams than [`Limits::max_streams_per_request`].
    #[error("request has more than {limit} streams")]
    TooManyStreams {
        /// The limit.
        limit: usize,
    },
    /// More entries than [`Limits::max_entries_per_request`].
    #[error("request has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
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
    /// The HTTP status to answer with: 413 for anything too large, 400 for
    /// everything else. Both are 4xx, so Loki clients drop rather than retry
    /// a request that can never succeed.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. }
            | Self::DecompressedTooLarge { .. }
            | Self::TooManyStreams { .. }
            | Self::TooManyEntries { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn from_overflow(overflow: Overflow, limits: &Limits) -> Self {
        match overflow {
            Overflow::Streams => Self::TooManyStreams {
                limit: limits.max_streams_per_request,
            },
            Overflow::Entries => Self::TooManyEntries {
                limit: limits.max_entries_per_request,
            },
        }
    }
}

/// The outcome of decoding one request that was not refused as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// Everything that passed validation, ready for storage, each stream
    /// carrying `service_name`.
    pub write: LogsWrite,
    /// Streams and entries dropped, each with its reason.
    pub rejected: Vec<Rejection>,
}

impl Decoded {
    /// Entries lost with rejected streams and entries.
    pub fn rejected_entries(&self) -> usize {
        self.rejected.iter().map(|r| r.entries).sum()
    }
}

/// How a body is compressed on the wire (`Content-Encoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Identity,
    Snappy,
    Gzip,
    Deflate,
}

fn content_encoding(ce: Option<&str>) -> Result<Encoding, DecodeError> {
    let ce = ce.map(str::trim).unwrap_or_default();
    if ce.is_empty() || ce.eq_ignore_ascii_case("identity") {
        Ok(Encoding::Identity)
    } else if ce.eq_ignore_ascii_case("snappy") {
        Ok(Encoding::Snappy)
    } else if ce.eq_ignore_ascii_case("gzip") || ce.eq_ignore_ascii_case("x-gzip") {
        Ok(Encoding::Gzip)
    } else if ce.eq_ignore_ascii_case("deflate") {
        Ok(Encoding::Deflate)
    } else {
        Err(DecodeError::UnsupportedContentEncoding(ce.to_owned()))
    }
}

/// True for `application/json`, parameters ignored; anything else, a missing
/// header included, means Snappy-compressed protobuf, as Loki decides.
fn is_json(ct: Option<&str>) -> bool {
    ct.and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON_MEDIA_TYPE))
}

/// Decodes and validates one push request body.
///
/// `Content-Encoding` may be empty, `identity`, `snappy`, `gzip` or
/// `deflate`; gzip and deflate are undone first, while `snappy` changes
/// nothing, as in Loki: a JSON `Content-Type` selects the JSON decoder on the
/// body as it is, and anything else means a Snappy block-compressed
/// `PushRequest`, whatever the encoding header says.
///
/// Problems with the request as a whole are errors; streams and entries that
/// fail validation are listed in [`Decoded::rejected`] and the rest are kept.
pub fn decode(
    content_encoding: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    limits: &Limits,
) -> Result<Decoded, DecodeError> {
    let encoding = self::content_encoding(content_encoding)?;
    if body.len() > limits.max_body_bytes {
        return Err(DecodeError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let inflated = match encoding {
        Encoding::Gzip => Some(inflate(
            flate2::read::MultiGzDecoder::new(body),
            "gzip",
            limits,
        )?),
        Encoding::Deflate if looks_like_zlib(body) => Some(inflate(
            flate2::read::ZlibDecoder::new(body),
            "deflate",
            limits,
        )?),
        Encoding::Deflate => Some(inflate(
            flate2::read::DeflateDecoder::new(body),
            "deflate",
            limits,
        )?),
        Encoding::Identity | Encoding::Snappy => None,
    };
    let body = inflated.as_deref().unwrap_or(body);
    let mut builder = Builder::new(limits);
    if is_json(content_type) {
        json::decode(body, &mut builder)?;
    } else {
        let raw = Bytes::from(decompress_snappy(body, limits)?);
        protobuf::decode(&raw, &mut builder)?;
    }
    Ok(builder.out)
}

/// HTTP's `deflate` is zlib-wrapped (RFC 9110), but Loki reads raw DEFLATE
/// as Go's `compress/flate` does; senders differ, so both are accepted. A
/// zlib header is a compression method of 8 and a check value divisible by
/// 31, which raw DEFLATE starts with only by rare accident.
fn looks_like_zlib(body: &[u8]) -> bool {
    match body {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

/// Reads a decompressing reader to the end, stopping one byte past the limit
/// so that a small bomb never inflates further.
fn inflate(
    reader: impl Read,
    format: &'static str,
    limits: &Limits,
) -> Result<Vec<u8>, DecodeError> {
    let limit = limits.max_decompressed_bytes;
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Decompress {
            format,
            detail: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(DecodeError::DecompressedTooLarge { size: None, limit });
    }
    Ok(out)
}

/// Undoes Snappy block compression, checking the declared length against
/// [`Limits::max_decompressed_bytes`] before allocating. The framed format,
/// which no Loki client should send, is accepted too and cut off at the limit.
fn decompress_snappy(body: &[u8], limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    if body.starts_with(&SNAPPY_STREAM_IDENTIFIER) {
        return inflate(snap::read::FrameDecoder::new(body), "snappy", limits);
    }
    let snappy_error = |e: snap::Error| DecodeError::Decompress {
        format: "snappy",
        detail: e.to_string(),
    };
    let len = snap::raw::decompress_len(body).map_err(snappy_error)?;
    if len > limits.max_decompressed_bytes {
        return Err(DecodeError::DecompressedTooLarge {
            size: Some(len),
            limit: limits.max_decompressed_bytes,
        });
    }
    let mut out = vec![0; len];
    let written = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(snappy_error)?;
    out.truncate(written);
    Ok(out)
}
