//! A `SampleSource` over an in-memory list of log lines: the selector, then
//! the real pipeline and sample extraction, so the evaluator is tested on
//! what storage will hand it.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::super::{ExtractedSeries, MetricError, SampleSource};
use crate::logql::ast::{LabelMatcher, LogRange, RangeOp};
use crate::logql::eval::labels::{LabelPairs, get};
use crate::logql::eval::pipeline::{InputEntry, SampleExtractor};

pub(crate) const S: i64 = 1_000_000_000;

#[derive(Clone)]
pub(crate) struct Entry {
    labels: LabelPairs,
    ts: i64,
    line: String,
}

/// A line of stream `labels` at `secs` seconds.
pub(crate) fn entry(labels: &[(&str, &str)], secs: i64, line: &str) -> Entry {
    let mut labels: LabelPairs = labels
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    labels.sort();
    Entry {
        labels,
        ts: secs * S,
        line: line.to_string(),
    }
}

#[derive(Default)]
pub(crate) struct Fake {
    entries: Vec<Entry>,
    /// Every `(start, end)` the evaluator asked for.
    pub(crate) calls: RefCell<Vec<(i64, i64)>>,
    /// Fail every call with this message.
    pub(crate) fail: Option<String>,
}

impl Fake {
    pub(crate) fn new(mut entries: Vec<Entry>) -> Self {
        entries.sort_by_key(|e| e.ts);
        Fake {
            entries,
            ..Fake::default()
        }
    }
}

impl SampleSource for Fake {
    fn samples(
        &self,
        range: &LogRange,
        op: RangeOp,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<ExtractedSeries>, MetricError> {
        self.calls.borrow_mut().push((start_ns, end_ns));
        if let Some(msg) = &self.fail {
            return Err(MetricError::Source(msg.clone()));
        }
        let extractor =
            SampleExtractor::new(range, op).map_err(|e| MetricError::Source(e.to_string()))?;
        let mut series: BTreeMap<LabelPairs, Vec<(i64, f64)>> = BTreeMap::new();
        for e in &self.entries {
            if e.ts <= start_ns || e.ts > end_ns {
                continue;
            }
            if !range.query.matchers.iter().all(|m| matcher(m, &e.labels)) {
                continue;
            }
            let input = InputEntry {
                ts_ns: e.ts,
                line: e.line.as_bytes(),
                stream: &e.labels,
                structured_metadata: &[],
            };
            if let Some((labels, value)) = extractor.extract(input) {
                series.entry(labels).or_default().push((e.ts, value));
            }
        }
        Ok(series
            .into_iter()
            .map(|(labels, samples)| ExtractedSeries { labels, samples })
            .collect())
    }
}

fn matcher(m: &LabelMatcher, labels: &LabelPairs) -> bool {
    let value = get(labels, &m.name).unwrap_or("");
    hearth_storage::Matcher::new(m.op, &m.name, &m.value).is_ok_and(|mm| mm.matches(value))
}

/// Fixed series, cut to the requested span.
pub(crate) struct Static(pub(crate) Vec<ExtractedSeries>);

impl SampleSource for Static {
    fn samples(
        &self,
        _range: &LogRange,
        _op: RangeOp,
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<ExtractedSeries>, MetricError> {
        Ok(self
            .0
            .iter()
            .map(|s| ExtractedSeries {
                labels: s.labels.clone(),
                samples: s
                    .samples
                    .iter()
                    .copied()
                    .filter(|&(t, _)| t > start_ns && t <= end_ns)
                    .collect(),
            })
            .filter(|s| !s.samples.is_empty())
            .collect())
    }
}
