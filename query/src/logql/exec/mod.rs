//! Runs LogQL against the logs engine: the storage-facing half of
//! evaluation. Log queries stream entries through the pipeline into a
//! bounded, ordered result; metric queries first read every range
//! aggregation's samples (one scan each), then hand them to the in-memory
//! evaluator.

pub mod detected;
pub mod patterns;
mod samples;
mod streams;

use std::collections::HashMap;
use std::sync::Arc;

use hearth_storage::postings::SeriesEntry;
use hearth_storage::{Label, Matcher, SeriesId, logs::ScanStats};

pub use samples::run_metric_query;
pub use streams::{LogLine, LogQueryParams, LogQueryResult, run_log_query};

use super::ast::{LabelMatcher, Stage};
use super::eval::labels::LabelPairs;
use super::eval::metric::MetricError;
use super::eval::pipeline::{InputEntry, Pipeline, ProcessedEntry};
use super::eval::pipeline::{PipelineError, leading_required_substrings};
use hearth_storage::logs::HeadEntry;

/// Why a query could not be run.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The pipeline could not be built (bad regex, template, ...).
    #[error("{0}")]
    Pipeline(#[from] PipelineError),
    /// Metric evaluation failed (pipeline error in a series, limits, ...).
    #[error("{0}")]
    Metric(#[from] MetricError),
    /// A selector matcher is invalid.
    #[error("{0}")]
    Matcher(String),
    /// Storage failed.
    #[error("{0}")]
    Storage(#[from] hearth_storage::Error),
    /// The query would read more than it may.
    #[error("{0}")]
    Limit(String),
}

impl ExecError {
    /// True for errors the user caused (HTTP 400) rather than the server.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, ExecError::Storage(_))
    }
}

/// Storage matchers of a selector.
pub fn storage_matchers(matchers: &[LabelMatcher]) -> Result<Vec<Matcher>, ExecError> {
    matchers
        .iter()
        .map(|m| {
            Matcher::new(m.op, &m.name, &m.value).map_err(|e| ExecError::Matcher(e.to_string()))
        })
        .collect()
}

/// A stream's labels as the pipeline takes them.
pub(crate) fn stream_label_pairs(stream: &SeriesEntry) -> LabelPairs {
    stream
        .labels
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// [`stream_label_pairs`] built once per stream of a scan.
#[derive(Debug, Default)]
pub(crate) struct StreamLabelCache(HashMap<SeriesId, Arc<LabelPairs>>);

impl StreamLabelCache {
    pub(crate) fn get(&mut self, stream: &SeriesEntry) -> Arc<LabelPairs> {
        Arc::clone(
            self.0
                .entry(stream.id)
                .or_insert_with(|| Arc::new(stream_label_pairs(stream))),
        )
    }
}

/// Replaces `into` with an entry's structured metadata as label pairs,
/// reusing its allocation across entries.
pub(crate) fn metadata_pairs(metadata: &[Label], into: &mut LabelPairs) {
    into.clear();
    into.extend(metadata.iter().map(|l| (l.name.clone(), l.value.clone())));
}

/// Runs one stored entry through the pipeline; `metadata` is scratch
/// space reused across entries.
pub(crate) fn process_row(
    pipeline: &Pipeline,
    row: &HeadEntry,
    stream: &LabelPairs,
    metadata: &mut LabelPairs,
) -> Option<ProcessedEntry> {
    metadata_pairs(&row.metadata, metadata);
    pipeline.process(InputEntry {
        ts_ns: row.ts_ns,
        line: &row.line,
        stream,
        structured_metadata: metadata,
    })
}

/// Substrings the text index may use to narrow a scan.
pub fn required_substrings(stages: &[Stage]) -> Vec<Vec<Vec<u8>>> {
    leading_required_substrings(stages)
        .into_iter()
        .map(|alts| alts.into_iter().map(String::into_bytes).collect())
        .collect()
}

/// What a query read, for Loki's `stats` object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecStats {
    /// Lines that went through the pipeline.
    pub lines_processed: u64,
    /// Bytes of those lines.
    pub bytes_processed: u64,
    /// Storage-level figures summed over every scan.
    pub streams: u64,
    /// Parts read.
    pub parts_read: u64,
}

impl ExecStats {
    pub(crate) fn add_scan(&mut self, s: &ScanStats) {
        self.streams += s.streams;
        self.parts_read += s.parts_read;
    }
}
