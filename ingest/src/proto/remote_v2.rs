//! `io.prometheus.write.v2.Request`: Prometheus remote write 2.0
//! (`prompb/io/prometheus/write/v2/types.proto`).
//!
//! Strings live once in `symbols` and are referenced by index; index 0 is
//! always the empty string. Symbols are declared `bytes` (same wire encoding as
//! `string`) so invalid UTF-8 only costs the series that reference it.

/// Bucket spans are identical in both protocol versions.
pub use super::remote_v1::BucketSpan;

/// A remote write 2.0 request body (before Snappy compression).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    /// De-duplicated string table; `symbols[0]` must be `""`.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub symbols: Vec<Vec<u8>>,
    /// The series.
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series, its labels given as symbol references.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Pairs of symbol indexes: name, value, name, value, ...
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Float samples; never together with `histograms` on one series.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histograms; never together with `samples` on one series.
    #[prost(message, repeated, tag = "3")]
    pub histograms: Vec<Histogram>,
    /// Exemplars.
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<Exemplar>,
    /// Type, help and unit of the series' metric.
    #[prost(message, optional, tag = "5")]
    pub metadata: Option<Metadata>,
    /// Counter creation time in ms; only Prometheus <= 3.8 sends it (3.9 moved
    /// it into `Sample::start_timestamp`), 0 when unset.
    #[prost(int64, tag = "6")]
    pub created_timestamp: i64,
}

/// One float sample.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    /// The value; any bit pattern, including the stale-marker NaN.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
    /// Counter creation time in ms, 0 when unset.
    #[prost(int64, tag = "3")]
    pub start_timestamp: i64,
}

/// An exemplar, its labels given as symbol references.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// Pairs of symbol indexes: name, value, ...
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    /// Observed value.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// Type, help and unit of a series' metric.
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Metadata {
    /// The metric type, a [`metadata::MetricType`].
    #[prost(enumeration = "metadata::MetricType", tag = "1")]
    pub r#type: i32,
    /// Symbol index of the help text (0 = none).
    #[prost(uint32, tag = "3")]
    pub help_ref: u32,
    /// Symbol index of the unit (0 = none).
    #[prost(uint32, tag = "4")]
    pub unit_ref: u32,
}

/// Nested types of [`Metadata`].
pub mod metadata {
    /// The metric type as remote write 2.0 numbers it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum MetricType {
        /// Not given.
        Unspecified = 0,
        /// Counter.
        Counter = 1,
        /// Gauge.
        Gauge = 2,
        /// Classic histogram.
        Histogram = 3,
        /// Gauge histogram.
        Gaugehistogram = 4,
        /// Summary.
        Summary = 5,
        /// Info.
        Info = 6,
        /// State set.
        Stateset = 7,
    }
}

/// A native histogram sample, integer or float flavoured.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Total observation count.
    #[prost(oneof = "histogram::Count", tags = "1, 2")]
    pub count: Option<histogram::Count>,
    /// Sum of observations.
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// Bucket resolution: -4..=8 exponential, -53 for custom buckets.
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    /// Width of the zero bucket.
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    #[prost(oneof = "histogram::ZeroCount", tags = "6, 7")]
    pub zero_count: Option<histogram::ZeroCount>,
    /// Spans of populated negative buckets.
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    /// Integer histograms: bucket counts as deltas from the previous bucket.
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    /// Float histograms: absolute bucket counts.
    #[prost(double, repeated, tag = "10")]
    pub negative_counts: Vec<f64>,
    /// Spans of populated positive buckets.
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    /// Integer histograms: bucket counts as deltas from the previous bucket.
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// Float histograms: absolute bucket counts.
    #[prost(double, repeated, tag = "13")]
    pub positive_counts: Vec<f64>,
    /// Counter-reset hint, a [`histogram::ResetHint`].
    #[prost(enumeration = "histogram::ResetHint", tag = "14")]
    pub reset_hint: i32,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
    /// Bucket upper bounds when `schema` is -53.
    #[prost(double, repeated, tag = "16")]
    pub custom_values: Vec<f64>,
    /// Counter creation time in ms, 0 when unset.
    #[prost(int64, tag = "17")]
    pub start_timestamp: i64,
}

/// Nested types of [`Histogram`]; the same shapes as in remote write 1.0
/// (`ResetHint`'s proto names gain a `RESET_HINT_` prefix, numbers unchanged).
pub mod histogram {
    pub use crate::proto::remote_v1::histogram::{Count, ResetHint, ZeroCount};
}
