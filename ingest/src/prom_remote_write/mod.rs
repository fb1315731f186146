//! Prometheus remote write 1.0 and 2.0: content negotiation, decompression,
//! decoding and validation of request bodies into a [`hearth_storage::MetricsWrite`].

pub mod decode;
pub mod handler;
mod limits;
mod validate;

pub use decode::{
    DecodeError, Decoded, Limits, Protocol, RejectReason, Rejection, check_content_encoding,
    decode, decompress, protocol_from_content_type,
};

#[cfg(test)]
mod tests;
