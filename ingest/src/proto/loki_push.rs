//! `logproto.PushRequest`: the Loki push body (`pkg/push/push.proto`), sent
//! Snappy block-compressed by Promtail, Alloy and the Docker driver.
//!
//! Every `string` field is declared `bytes`: the wire encoding is identical,
//! Loki's Go side never checks UTF-8, and it lets the decoder keep lines
//! byte-exact and reject one stream or entry with bad text instead of failing
//! the whole batch.

/// A Loki push request body (before Snappy compression).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    /// The streams with their entries.
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
    /// Loki-internal origin marker (`"loki"`, `"otlp"`); ignored on push.
    #[prost(bytes = "vec", tag = "2")]
    pub format: Vec<u8>,
}

/// One stream: its label set as text and its entries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    /// Prometheus label-set text, e.g. `{job="varlog", host="a"}`.
    #[prost(bytes = "vec", tag = "1")]
    pub labels: Vec<u8>,
    /// The entries.
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    /// A hash of the labels some clients fill in; ignored.
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// One log entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    /// When the line was logged. Go clients always send it, even at the epoch.
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// The log line.
    #[prost(bytes = "vec", tag = "2")]
    pub line: Vec<u8>,
    /// Structured metadata (Loki 3): per-entry labels outside the stream.
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
    /// Labels extracted at query time; meaningless on push and ignored.
    #[prost(message, repeated, tag = "4")]
    pub parsed: Vec<LabelPairAdapter>,
}

/// One name/value pair of structured metadata.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct LabelPairAdapter {
    /// Name, should be UTF-8.
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    /// Value, should be UTF-8.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

impl LabelPairAdapter {
    /// Builds a pair from string-like parts; handy when encoding requests.
    pub fn new(name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        Self {
            name: name.as_ref().as_bytes().to_vec(),
            value: value.as_ref().as_bytes().to_vec(),
        }
    }
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds added to `seconds`; Go normalises values outside
    /// `0..1_000_000_000`, and so does Hearth.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}
