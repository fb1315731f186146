//! Per-series validation: what makes one series (or metadata entry)
//! unacceptable without failing the rest of its request, how a rejected series
//! is reported, and the [`Builder`] that collects a request's accepted and
//! rejected parts while [`super::decode`] walks the wire format.

use std::collections::HashSet;
use std::fmt::{self, Write as _};

use hearth_storage::{
    Exemplar, Label, LabelSetError, Labels, METRIC_NAME_LABEL, MetricMetadata, MetricType, Sample,
    SeriesWrite,
};

use super::decode::Decoded;
use super::limits::Limits;
use crate::proto::remote_v1 as v1;
use crate::proto::remote_v2 as v2;

/// Rendered series are cut here so that one absurd series cannot blow up an
/// error response or a log line.
const MAX_RENDERED_LEN: usize = 1024;

/// The same for names and symbols quoted inside a message.
pub(super) const MAX_QUOTED_NAME_LEN: usize = 128;

/// Enough labels of an over-long set to make its rendering recognisable.
const MIN_RENDERED_LABELS: usize = 8;

/// Why one series (or one metadata entry) was dropped from a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// A label has an empty name.
    EmptyLabelName,
    /// A label name is not valid UTF-8 (shown lossily converted).
    InvalidLabelName(String),
    /// Some other string is not valid UTF-8; says which one.
    InvalidUtf8(String),
    /// Two labels share this name.
    DuplicateLabelName(String),
    /// More labels than [`Limits::max_labels_per_series`].
    TooManyLabels {
        /// Labels on the wire.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A label name longer than [`Limits::max_label_name_len`].
    LabelNameTooLong {
        /// The name, cut short.
        name: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A label value longer than [`Limits::max_label_value_len`].
    LabelValueTooLong {
        /// The label's name.
        name: String,
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// No labels left once empty values are dropped.
    EmptyLabelSet,
    /// The series carries native histograms, which storage cannot keep yet.
    NativeHistogramsUnsupported {
        /// Histogram samples on the series.
        count: usize,
    },
}

impl RejectReason {
    /// A stable snake_case name, for use as a metric label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::EmptyLabelName => "empty_label_name",
            Self::InvalidLabelName(_) => "invalid_label_name",
            Self::InvalidUtf8(_) => "invalid_utf8",
            Self::DuplicateLabelName(_) => "duplicate_label_name",
            Self::TooManyLabels { .. } => "too_many_labels",
            Self::LabelNameTooLong { .. } => "label_name_too_long",
            Self::LabelValueTooLong { .. } => "label_value_too_long",
            Self::EmptyLabelSet => "empty_label_set",
            Self::NativeHistogramsUnsupported { .. } => "native_histograms_unsupported",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyLabelName => f.write_str("a label has an empty name"),
            Self::InvalidLabelName(name) => write!(f, "label name {name:?} is not valid UTF-8"),
            Self::InvalidUtf8(what) => write!(f, "{what} is not valid UTF-8"),
            Self::DuplicateLabelName(name) => write!(f, "label name {name:?} appears twice"),
            Self::TooManyLabels { count, limit } => {
                write!(f, "{count} labels, more than the limit of {limit}")
            }
            Self::LabelNameTooLong { name, len, limit } => write!(
                f,
                "label name {name:?} is {len} bytes long, more than the limit of {limit}"
            ),
            Self::LabelValueTooLong { name, len, limit } => write!(
                f,
                "value of label {name:?} is {len} bytes long, more than the limit of {limit}"
            ),
            Self::EmptyLabelSet => f.write_str("the series has no labels"),
            Self::NativeHistogramsUnsupported { count } => write!(
                f,
                "the series carries {count} native histogram samples; native histograms are not supported yet"
            ),
        }
    }
}

/// One series dropped from an otherwise accepted request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The label set rendered Prometheus style (`name{a="b"}`), best effort:
    /// invalid UTF-8 is replaced and very long sets are cut short. For
    /// metadata entries, the metric family name.
    pub series: String,
    /// Why it was dropped.
    pub reason: RejectReason,
    /// Float samples lost with it.
    pub samples: usize,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({} samples dropped)",
            self.series, self.reason, self.samples
        )
    }
}

/// Lossy UTF-8 of at most `max` bytes of `bytes`, marked when cut.
pub(crate) fn lossy_prefix(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut s = String::from_utf8_lossy(&bytes[..max]).into_owned();
    s.push('…');
    s
}

/// Validates raw label pairs and builds the canonical set.
///
/// `wire_count` is how many labels the series had on the wire; `pairs` may
/// hold only the first few of them when that is over the limit.
pub(crate) fn build_labels(
    pairs: &[(&[u8], &[u8])],
    wire_count: usize,
    limits: &Limits,
) -> Result<Labels, RejectReason> {
    if wire_count > limits.max_labels_per_series {
        return Err(RejectReason::TooManyLabels {
            count: wire_count,
            limit: limits.max_labels_per_series,
        });
    }
    let mut labels = Vec::with_capacity(pairs.len());
    for &(name, value) in pairs {
        if name.is_empty() {
            return Err(RejectReason::EmptyLabelName);
        }
        if name.len() > limits.max_label_name_len {
            return Err(RejectReason::LabelNameTooLong {
                name: lossy_prefix(name, MAX_QUOTED_NAME_LEN),
                len: name.len(),
                limit: limits.max_label_name_len,
            });
        }
        let name = std::str::from_utf8(name)
            .map_err(|_| RejectReason::InvalidLabelName(lossy_prefix(name, MAX_QUOTED_NAME_LEN)))?;
        if value.len() > limits.max_label_value_len {
            return Err(RejectReason::LabelValueTooLong {
                name: lossy_prefix(name.as_bytes(), MAX_QUOTED_NAME_LEN),
                len: value.len(),
                limit: limits.max_label_value_len,
            });
        }
        let value = std::str::from_utf8(value).map_err(|_| {
            RejectReason::InvalidUtf8(format!(
                "value of label {:?}",
                lossy_prefix(name.as_bytes(), MAX_QUOTED_NAME_LEN)
            ))
        })?;
        labels.push(Label::new(name, value));
    }
    let labels = Labels::new(labels).map_err(|e| match e {
        LabelSetError::DuplicateName(name) => {
            RejectReason::DuplicateLabelName(lossy_prefix(name.as_bytes(), MAX_QUOTED_NAME_LEN))
        }
        LabelSetError::EmptyName => RejectReason::EmptyLabelName,
    })?;
    if labels.is_empty() {
        return Err(RejectReason::EmptyLabelSet);
    }
    Ok(labels)
}

/// Renders raw label pairs the way `Labels` displays: `name{a="b", c="d"}`.
pub(crate) fn render_series(pairs: &[(&[u8], &[u8])]) -> String {
    let mut sorted: Vec<&(&[u8], &[u8])> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    if let Some((_, name)) = sorted
        .iter()
        .find(|(n, _)| *n == METRIC_NAME_LABEL.as_bytes())
    {
        out.push_str(&lossy_prefix(name, MAX_RENDERED_LEN));
    }
    out.push('{');
    let mut first = true;
    for (name, value) in sorted {
        if *name == METRIC_NAME_LABEL.as_bytes() {
            continue;
        }
        if out.len() > MAX_RENDERED_LEN {
            break;
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{}={:?}",
            lossy_prefix(name, MAX_RENDERED_LEN),
            lossy_prefix(value, MAX_RENDERED_LEN)
        );
    }
    out.push('}');
    if out.len() > MAX_RENDERED_LEN {
        let mut cut = MAX_RENDERED_LEN;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("…}");
    }
    out
}

// ---- collecting a request's output ----

/// Collects a request's output while its series are decoded one by one.
pub(super) struct Builder<'l> {
    pub(super) limits: &'l Limits,
    pub(super) out: Decoded,
    seen_metadata: HashSet<MetricMetadata>,
}

impl<'l> Builder<'l> {
    pub(super) fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            out: Decoded::default(),
            seen_metadata: HashSet::new(),
        }
    }

    /// Validates one series and keeps or rejects it; true when kept.
    pub(super) fn finish_series(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        wire_label_count: usize,
        samples: Vec<Sample>,
        exemplars: Result<Vec<Exemplar>, RejectReason>,
        histograms: usize,
    ) -> bool {
        self.out.histograms_received += histograms;
        let checked = build_labels(pairs, wire_label_count, self.limits).and_then(|labels| {
            let exemplars = exemplars?;
            if histograms > 0 {
                return Err(RejectReason::NativeHistogramsUnsupported { count: histograms });
            }
            Ok((labels, exemplars))
        });
        match checked {
            Ok((labels, exemplars)) => {
                // Prometheus creates no series without data either.
                if !samples.is_empty() || !exemplars.is_empty() {
                    self.out.write.series.push(SeriesWrite {
                        labels,
                        samples,
                        exemplars,
                    });
                }
                true
            }
            Err(reason) => {
                self.out.rejected.push(Rejection {
                    series: render_series(pairs),
                    reason,
                    samples: samples.len(),
                });
                false
            }
        }
    }

    pub(super) fn add_metadata(&mut self, metadata: MetricMetadata) {
        if !self.seen_metadata.contains(&metadata) {
            self.seen_metadata.insert(metadata.clone());
            self.out.write.metadata.push(metadata);
        }
    }

    fn reject_metadata(&mut self, family_name: String, reason: RejectReason) {
        self.out.rejected.push(Rejection {
            series: family_name,
            reason,
            samples: 0,
        });
    }
}

pub(super) fn owned_utf8(bytes: Vec<u8>, what: &str) -> Result<String, RejectReason> {
    String::from_utf8(bytes).map_err(|_| RejectReason::InvalidUtf8(what.to_owned()))
}

pub(super) fn borrowed_utf8(bytes: &[u8], what: &str) -> Result<String, RejectReason> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| RejectReason::InvalidUtf8(what.to_owned()))
}

/// How many label pairs of a series to keep: all that can pass, or enough of
/// an over-long set to name it in the rejection.
pub(super) fn labels_to_keep(limits: &Limits) -> usize {
    limits.max_labels_per_series.max(MIN_RENDERED_LABELS)
}

pub(super) fn convert_v1_exemplar(e: v1::Exemplar) -> Result<Exemplar, RejectReason> {
    let labels = e
        .labels
        .into_iter()
        .map(|l| {
            Ok(Label {
                name: owned_utf8(l.name, "an exemplar label name")?,
                value: owned_utf8(l.value, "an exemplar label value")?,
            })
        })
        .collect::<Result<_, RejectReason>>()?;
    Ok(Exemplar {
        labels,
        ts: e.timestamp,
        value: e.value,
    })
}

pub(super) fn add_v1_metadata(builder: &mut Builder<'_>, m: v1::MetricMetadata) {
    // Nothing to key an unnamed entry on.
    if m.metric_family_name.is_empty() {
        return;
    }
    let metric_type = match m.r#type() {
        v1::metric_metadata::MetricType::Unknown => MetricType::Unknown,
        v1::metric_metadata::MetricType::Counter => MetricType::Counter,
        v1::metric_metadata::MetricType::Gauge => MetricType::Gauge,
        v1::metric_metadata::MetricType::Histogram => MetricType::Histogram,
        v1::metric_metadata::MetricType::Gaugehistogram => MetricType::GaugeHistogram,
        v1::metric_metadata::MetricType::Summary => MetricType::Summary,
        v1::metric_metadata::MetricType::Info => MetricType::Info,
        v1::metric_metadata::MetricType::Stateset => MetricType::StateSet,
    };
    let name = match String::from_utf8(m.metric_family_name) {
        Ok(name) => name,
        Err(e) => {
            let shown = lossy_prefix(e.as_bytes(), MAX_QUOTED_NAME_LEN);
            let reason = RejectReason::InvalidUtf8("the metric family name".to_owned());
            return builder.reject_metadata(shown, reason);
        }
    };
    let strings = owned_utf8(m.help, "the metadata help text")
        .and_then(|help| Ok((help, owned_utf8(m.unit, "the metadata unit")?)));
    match strings {
        Ok((help, unit)) => builder.add_metadata(MetricMetadata {
            metric_family_name: name,
            metric_type,
            help,
            unit,
        }),
        Err(reason) => {
            builder.reject_metadata(lossy_prefix(name.as_bytes(), MAX_QUOTED_NAME_LEN), reason)
        }
    }
}

pub(super) fn convert_v2_exemplar(
    symbols: &[&[u8]],
    e: v2::Exemplar,
) -> Result<Exemplar, RejectReason> {
    let labels = resolve_pairs(symbols, &e.labels_refs)
        .into_iter()
        .map(|(name, value)| {
            Ok(Label {
                name: borrowed_utf8(name, "an exemplar label name")?,
                value: borrowed_utf8(value, "an exemplar label value")?,
            })
        })
        .collect::<Result<_, RejectReason>>()?;
    Ok(Exemplar {
        labels,
        ts: e.timestamp,
        value: e.value,
    })
}

/// Type, help and unit of a series' metadata, `None` when it says nothing.
/// References must already be checked.
pub(super) fn v2_metadata_parts(
    symbols: &[&[u8]],
    metadata: Option<v2::Metadata>,
) -> Result<Option<(MetricType, String, String)>, RejectReason> {
    let Some(m) = metadata else {
        return Ok(None);
    };
    let help = symbol(symbols, m.help_ref).unwrap_or_default();
    let unit = symbol(symbols, m.unit_ref).unwrap_or_default();
    let metric_type = match m.r#type() {
        v2::metadata::MetricType::Unspecified => MetricType::Unknown,
        v2::metadata::MetricType::Counter => MetricType::Counter,
        v2::metadata::MetricType::Gauge => MetricType::Gauge,
        v2::metadata::MetricType::Histogram => MetricType::Histogram,
        v2::metadata::MetricType::Gaugehistogram => MetricType::GaugeHistogram,
        v2::metadata::MetricType::Summary => MetricType::Summary,
        v2::metadata::MetricType::Info => MetricType::Info,
        v2::metadata::MetricType::Stateset => MetricType::StateSet,
    };
    if metric_type == MetricType::Unknown && help.is_empty() && unit.is_empty() {
        return Ok(None);
    }
    Ok(Some((
        metric_type,
        borrowed_utf8(help, "the metadata help text")?,
        borrowed_utf8(unit, "the metadata unit")?,
    )))
}

// ---- remote write 2.0 symbols ----

/// Resolves a symbol reference. Reference 0 is `""` even in an empty table,
/// which is what an unset `help_ref`/`unit_ref` amounts to.
pub(super) fn symbol<'a>(symbols: &[&'a [u8]], reference: u32) -> Option<&'a [u8]> {
    if reference == 0 {
        return Some(&[]);
    }
    usize::try_from(reference)
        .ok()
        .and_then(|i| symbols.get(i))
        .copied()
}

pub(super) fn resolve_pairs<'a>(symbols: &[&'a [u8]], refs: &[u32]) -> Vec<(&'a [u8], &'a [u8])> {
    refs.chunks_exact(2)
        .map(|pair| {
            (
                symbol(symbols, pair[0]).unwrap_or_default(),
                symbol(symbols, pair[1]).unwrap_or_default(),
            )
        })
        .collect()
}
