//! Loki push (`POST /loki/api/v1/push`): content negotiation, decompression,
//! decoding of the protobuf and JSON bodies, and validation of streams and
//! entries into a [`hearth_storage::LogsWrite`], and the route that stores it.

pub mod decode;
pub mod handler;
mod json;
mod labels;
mod limits;
mod protobuf;
pub(crate) mod validate;

pub use decode::{DecodeError, Decoded, Limits, RejectReason, Rejection, decode};
pub use handler::LokiPushState;
pub use validate::{SERVICE_NAME_LABEL, SERVICE_NAME_SOURCES, UNKNOWN_SERVICE};

#[cfg(test)]
mod tests;
