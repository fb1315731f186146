//! OTLP/HTTP bodies: which format (`Content-Type`), undoing gzip within a
//! limit, decoding a request as protobuf or OTLP/JSON, and encoding answers
//! in the request's own format, as the OTLP/HTTP spec asks.

use std::io::Read;

use axum::http::StatusCode;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::limits::OtlpLimits;

/// The two body formats OTLP/HTTP defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`: protobuf JSON with OTLP's changes (hex ids).
    Json,
}

impl Format {
    /// The format a `Content-Type` names; `None` for anything else, which
    /// the spec answers with 415.
    pub fn from_content_type(ct: Option<&str>) -> Option<Self> {
        let media = ct?.split(';').next()?.trim();
        if media.eq_ignore_ascii_case("application/x-protobuf")
            || media.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Self::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of an answer in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// A `Content-Type` other than protobuf or JSON.
    #[error(
        "unsupported Content-Type {0:?}: OTLP/HTTP takes application/x-protobuf or application/json"
    )]
    UnsupportedContentType(String),
    /// A `Content-Encoding` other than gzip or identity.
    #[error("unsupported Content-Encoding {0:?}: OTLP/HTTP takes gzip or none")]
    UnsupportedContentEncoding(String),
    /// The body, before or after gzip, is over the limit.
    #[error("request body is larger than the limit of {limit} bytes{after}")]
    TooLarge {
        /// The limit.
        limit: usize,
        /// Says whether the limit was hit while inflating.
        after: &'static str,
    },
    /// The gzip stream is broken.
    #[error("request body is not valid gzip data: {0}")]
    Gzip(String),
    /// The protobuf does not decode.
    #[error("request body is not a valid {message} protobuf message: {detail}")]
    Protobuf {
        /// The message type expected.
        message: &'static str,
        /// What prost said.
        detail: String,
    },
    /// The JSON does not decode.
    #[error("request body is not valid OTLP/JSON for {message}: {detail}")]
    Json {
        /// The message type expected.
        message: &'static str,
        /// What serde said, with line and column.
        detail: String,
    },
}

impl BodyError {
    /// The HTTP status the OTLP/HTTP spec gives this problem.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Self::UnsupportedContentType(_) | Self::UnsupportedContentEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Gzip(_) | Self::Protobuf { .. } | Self::Json { .. } => StatusCode::BAD_REQUEST,
        }
    }
}

/// Undoes `Content-Encoding` (gzip or none) within the limits.
pub fn decompress(
    encoding: Option<&str>,
    body: &[u8],
    limits: &OtlpLimits,
) -> Result<Option<Vec<u8>>, BodyError> {
    if body.len() > limits.max_body_bytes {
        return Err(BodyError::TooLarge {
            limit: limits.max_body_bytes,
            after: "",
        });
    }
    let encoding = encoding.map(str::trim).unwrap_or_default();
    if encoding.is_empty() || encoding.eq_ignore_ascii_case("identity") {
        return Ok(None);
    }
    if !(encoding.eq_ignore_ascii_case("gzip") || encoding.eq_ignore_ascii_case("x-gzip")) {
        return Err(BodyError::UnsupportedContentEncoding(encoding.to_owned()));
    }
    inflate_gzip(body, limits.max_decompressed_bytes).map(Some)
}

/// Inflates gzip, stopping one byte past the limit so a small bomb never
/// grows further.
pub fn inflate_gzip(body: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(BodyError::TooLarge {
            limit,
            after: " once decompressed",
        });
    }
    Ok(out)
}

/// Decodes a request message. An empty body is the empty message, valid in
/// both formats' eyes as the spec says empty requests succeed.
pub fn decode<M: Message + Default + DeserializeOwned>(
    format: Format,
    body: &[u8],
    message: &'static str,
) -> Result<M, BodyError> {
    match format {
        Format::Protobuf => M::decode(body).map_err(|e| BodyError::Protobuf {
            message,
            detail: e.to_string(),
        }),
        Format::Json if body.iter().all(u8::is_ascii_whitespace) => Ok(M::default()),
        Format::Json => serde_json::from_slice(body).map_err(|e| BodyError::Json {
            message,
            detail: e.to_string(),
        }),
    }
}

/// Encodes an answer message in the request's format.
pub fn encode<M: Message + Serialize>(format: Format, message: &M) -> Vec<u8> {
    match format {
        Format::Protobuf => message.encode_to_vec(),
        // The generated types serialise; an error here would be a bug in
        // them, and an empty object is still a valid success answer.
        Format::Json => serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec()),
    }
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error answer.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct RpcStatus {
    /// A gRPC status code (may be 0).
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong, for people.
    #[prost(string, tag = "2")]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

    #[test]
    fn content_types() {
        assert_eq!(
            Format::from_content_type(Some("application/x-protobuf")),
            Some(Format::Protobuf)
        );
        assert_eq!(
            Format::from_content_type(Some("application/json; charset=utf-8")),
            Some(Format::Json)
        );
        assert_eq!(Format::from_content_type(Some("text/plain")), None);
        assert_eq!(Format::from_content_type(None), None);
    }

    #[test]
    fn gzip_is_bounded() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&vec![b'a'; 10_000]).unwrap();
        let gz = enc.finish().unwrap();
        let limits = OtlpLimits {
            max_decompressed_bytes: 1000,
            ..OtlpLimits::default()
        };
        let err = decompress(Some("gzip"), &gz, &limits).unwrap_err();
        assert_eq!(err.status_code(), StatusCode::PAYLOAD_TOO_LARGE);
        let ok = decompress(Some("gzip"), &gz, &OtlpLimits::default()).unwrap();
        assert_eq!(ok.map(|v| v.len()), Some(10_000));
        let err = decompress(Some("br"), &gz, &limits).unwrap_err();
        assert_eq!(err.status_code(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn empty_bodies_are_empty_requests() {
        let r: ExportLogsServiceRequest = decode(Format::Json, b"", "x").unwrap();
        assert!(r.resource_logs.is_empty());
        let r: ExportLogsServiceRequest = decode(Format::Protobuf, b"", "x").unwrap();
        assert!(r.resource_logs.is_empty());
    }

    #[test]
    fn bad_json_says_where() {
        let err = decode::<ExportLogsServiceRequest>(Format::Json, b"{\"resourceLogs\": 3}", "x")
            .unwrap_err();
        assert!(err.to_string().contains("column"), "{err}");
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST);
    }
}
