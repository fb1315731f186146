//! The metric data model every layer shares: label sets, series ids, samples,
//! exemplars and metadata, exactly as a write carries them into storage.

use std::fmt;

use xxhash_rust::xxh3::Xxh3;

/// A series id: the 64-bit hash of a canonical (name-sorted) label set.
pub type SeriesId = u64;

/// The bit pattern Prometheus uses to mark a series as ended. Compared by bits,
/// never with `is_nan`, because other NaNs are ordinary values.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The label that holds a metric's name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// One label pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// Label name.
    pub name: String,
    /// Label value.
    pub value: String,
}

impl Label {
    /// Builds a label from anything string-like.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Why a label set could not be made canonical.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelSetError {
    /// Two labels share a name.
    #[error("duplicate label name {0:?}")]
    DuplicateName(String),
    /// A label has an empty name.
    #[error("empty label name")]
    EmptyName,
}

/// A canonical label set: sorted by name, names unique, no empty values
/// (an empty value means "label absent" in Prometheus, so it is dropped).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Canonicalises `labels`: drops empty values, sorts by name and rejects
    /// duplicate or empty names. Unsorted input is accepted, as senders differ.
    pub fn new(mut labels: Vec<Label>) -> Result<Self, LabelSetError> {
        labels.retain(|l| !l.value.is_empty());
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for pair in labels.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(LabelSetError::DuplicateName(pair[0].name.clone()));
            }
        }
        if labels.first().is_some_and(|l| l.name.is_empty()) {
            return Err(LabelSetError::EmptyName);
        }
        Ok(Self(labels))
    }

    /// Builds a label set from `(name, value)` pairs; convenient in tests.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, LabelSetError> {
        Self::new(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// The labels, sorted by name.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// Consumes the set, returning its sorted labels.
    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// Value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The metric name (`__name__`), or "" when the set has none.
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME_LABEL).unwrap_or("")
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the set has no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The series id of this label set. Separator bytes that cannot occur in
    /// UTF-8 keep `{a="bc"}` and `{ab="c"}` apart.
    pub fn series_id(&self) -> SeriesId {
        series_id_of(self.0.iter().map(|l| (l.name.as_str(), l.value.as_str())))
    }
}

/// Hashes sorted `(name, value)` pairs into a series id; shared by every
/// representation of a label set so that they agree.
pub fn series_id_of<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> SeriesId {
    let mut hasher = Xxh3::new();
    for (name, value) in pairs {
        hasher.update(name.as_bytes());
        hasher.update(&[0xff]);
        hasher.update(value.as_bytes());
        hasher.update(&[0xfe]);
    }
    hasher.digest()
}

impl fmt::Display for Labels {
    /// Prometheus' own rendering: `name{a="b", c="d"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.metric_name())?;
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| l.name != METRIC_NAME_LABEL) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

/// One float sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub ts: i64,
    /// The value; NaN payloads (the stale marker) are preserved bit for bit.
    pub value: f64,
}

impl Sample {
    /// True when this sample is Prometheus' stale marker.
    pub fn is_stale_marker(&self) -> bool {
        self.value.to_bits() == STALE_NAN_BITS
    }
}

/// An exemplar attached to a series (typically carrying a trace id).
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// The exemplar's own labels, e.g. `trace_id`.
    pub labels: Vec<Label>,
    /// Milliseconds since the Unix epoch.
    pub ts: i64,
    /// Observed value.
    pub value: f64,
}

/// Metric type, as remote write's metadata names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// Type not given.
    #[default]
    Unknown,
    /// Monotonic counter.
    Counter,
    /// Gauge.
    Gauge,
    /// Classic histogram.
    Histogram,
    /// Gauge histogram.
    GaugeHistogram,
    /// Summary.
    Summary,
    /// Info metric.
    Info,
    /// State set.
    StateSet,
}

impl MetricType {
    /// The lowercase name Prometheus' metadata API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
        }
    }

    /// Parses the lowercase API name; unknown strings map to `Unknown`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "counter" => Self::Counter,
            "gauge" => Self::Gauge,
            "histogram" => Self::Histogram,
            "gaugehistogram" => Self::GaugeHistogram,
            "summary" => Self::Summary,
            "info" => Self::Info,
            "stateset" => Self::StateSet,
            _ => Self::Unknown,
        }
    }
}

/// Help, type and unit of one metric family.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetricMetadata {
    /// Metric family name (without `_bucket`/`_sum` suffixes).
    pub metric_family_name: String,
    /// Declared type.
    pub metric_type: MetricType,
    /// Help text.
    pub help: String,
    /// Unit, often empty.
    pub unit: String,
}

/// Everything one series brings in one write.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesWrite {
    /// Canonical label set.
    pub labels: Labels,
    /// Float samples, usually in time order.
    pub samples: Vec<Sample>,
    /// Exemplars.
    pub exemplars: Vec<Exemplar>,
}

/// One decoded, validated write request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsWrite {
    /// Series with their samples.
    pub series: Vec<SeriesWrite>,
    /// Metadata, possibly without any series (Prometheus sends those alone).
    pub metadata: Vec<MetricMetadata>,
}

impl MetricsWrite {
    /// Total samples carried.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }

    /// Total exemplars carried.
    pub fn exemplar_count(&self) -> usize {
        self.series.iter().map(|s| s.exemplars.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalises_order_and_drops_empty_values() {
        let a = Labels::from_pairs([("job", "x"), ("__name__", "up"), ("e", "")]).unwrap();
        let b = Labels::from_pairs([("__name__", "up"), ("job", "x")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.series_id(), b.series_id());
        assert_eq!(a.metric_name(), "up");
        assert_eq!(a.to_string(), "up{job=\"x\"}");
    }

    #[test]
    fn rejects_duplicate_names() {
        let err = Labels::from_pairs([("a", "1"), ("a", "2")]).unwrap_err();
        assert_eq!(err, LabelSetError::DuplicateName("a".into()));
    }

    #[test]
    fn separators_keep_boundaries_apart() {
        let a = Labels::from_pairs([("a", "bc")]).unwrap();
        let b = Labels::from_pairs([("ab", "c")]).unwrap();
        assert_ne!(a.series_id(), b.series_id());
    }
}
