//! `prometheus.WriteRequest`: Prometheus remote write 1.0 (`prompb/types.proto`,
//! `prompb/remote.proto`).
//!
//! Label names and values, and metadata strings, are declared `bytes`: the wire
//! encoding is identical to `string`, and it lets the decoder reject one series
//! with invalid UTF-8 instead of failing the whole batch.

/// A remote write 1.0 request body (before Snappy compression).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series with their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Metric metadata; Prometheus sends requests that carry only this.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// One series: its full label set and everything sampled for it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// The label set, `__name__` included; senders should sort it by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Exemplars.
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
    /// Native histograms.
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

/// One label pair (protobuf `string`s, carried as raw bytes).
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct Label {
    /// Label name, should be UTF-8.
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    /// Label value, should be UTF-8.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

impl Label {
    /// Builds a label from string-like parts; handy when encoding requests.
    pub fn new(name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        Self {
            name: name.as_ref().as_bytes().to_vec(),
            value: value.as_ref().as_bytes().to_vec(),
        }
    }
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
}

/// An exemplar: a sampled observation with its own labels (e.g. `trace_id`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    /// The exemplar's labels.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Observed value.
    #[prost(double, tag = "2")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// Help, type and unit of a metric family.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// The family's type, a [`metric_metadata::MetricType`].
    #[prost(enumeration = "metric_metadata::MetricType", tag = "1")]
    pub r#type: i32,
    /// Metric family name.
    #[prost(bytes = "vec", tag = "2")]
    pub metric_family_name: Vec<u8>,
    /// Help text.
    #[prost(bytes = "vec", tag = "4")]
    pub help: Vec<u8>,
    /// Unit.
    #[prost(bytes = "vec", tag = "5")]
    pub unit: Vec<u8>,
}

/// Nested types of [`MetricMetadata`].
pub mod metric_metadata {
    /// The metric type as remote write 1.0 numbers it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum MetricType {
        /// Not given.
        Unknown = 0,
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
}

/// Nested types of [`Histogram`].
pub mod histogram {
    /// Total count, integer or float.
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum Count {
        /// Integer histogram count.
        #[prost(uint64, tag = "1")]
        CountInt(u64),
        /// Float histogram count.
        #[prost(double, tag = "2")]
        CountFloat(f64),
    }

    /// Zero-bucket count, integer or float.
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum ZeroCount {
        /// Integer histogram zero count.
        #[prost(uint64, tag = "6")]
        ZeroCountInt(u64),
        /// Float histogram zero count.
        #[prost(double, tag = "7")]
        ZeroCountFloat(f64),
    }

    /// Whether this sample follows a counter reset.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum ResetHint {
        /// The receiver must work it out.
        Unknown = 0,
        /// A reset happened.
        Yes = 1,
        /// No reset happened.
        No = 2,
        /// A gauge histogram, which never resets.
        Gauge = 3,
    }
}

/// A run of consecutive populated buckets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct BucketSpan {
    /// Gap to the previous span (or the start index for the first span).
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Number of consecutive buckets.
    #[prost(uint32, tag = "2")]
    pub length: u32,
}
