//! The per-line log pipeline: line filters, parsers (`json`, `logfmt`,
//! `regexp`, `pattern`, `unpack`), label filters, `drop`/`keep`,
//! `decolorize` and the formatters, built once per query and then run on
//! every entry; plus sample extraction for metric queries.
//!
//! Semantics follow Loki 3's documented behaviour: a stage that fails on a
//! line marks it with `__error__`/`__error_details__` instead of dropping
//! it, parsed keys that clash with stream or metadata labels go to
//! `<name>_extracted`, and label filters let failed lines through so the
//! error stays visible until `| __error__=""` removes them.

pub(crate) mod convert;
mod decolorize;
pub mod discover;
mod extract;
mod ip;
mod json;
mod label_filter;
mod logfmt;
mod pattern;
mod stages;
mod state;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_samples;

use std::borrow::Cow;

use super::super::ast::{LineFilterOp, LineFilterValue, Stage};
use super::labels::LabelPairs;

pub use extract::SampleExtractor;
use stages::{LineFilter, Step};
use state::Labels;

/// Why a pipeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A regex (line filter, `regexp`, label matcher) does not compile.
    #[error("invalid regexp {regex:?}: {problem}")]
    Regex {
        /// The regex as written.
        regex: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `regexp` without a named group.
    #[error("at least one named capture must be supplied")]
    NoNamedCapture,
    /// A `pattern` parser or `|>` filter expression is malformed.
    #[error("{0}")]
    Pattern(String),
    /// A `json` extraction path is malformed.
    #[error("{0}")]
    JsonPath(String),
    /// An `ip("...")` operand is malformed.
    #[error("{0}")]
    Ip(String),
    /// A `line_format`/`label_format` template is malformed.
    #[error("invalid template: {0}")]
    Template(String),
    /// A stage this build cannot run yet.
    #[error("{0} is not supported yet")]
    Unsupported(&'static str),
    /// A range aggregation that needs `unwrap` has none.
    #[error("invalid aggregation {0} without unwrap")]
    MissingUnwrap(&'static str),
    /// A range aggregation that cannot take `unwrap` has one.
    #[error("invalid aggregation {0} with unwrap")]
    UnexpectedUnwrap(&'static str),
}

/// The one-line reason a regex does not compile (the crate's message
/// spans several lines and only the last says why).
fn regex_problem(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("error: "))
        .map_or_else(
            || text.lines().next().unwrap_or("").to_owned(),
            str::to_owned,
        )
}

/// One log entry going into the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct InputEntry<'a> {
    /// Timestamp in nanoseconds.
    pub ts_ns: i64,
    /// The line; any bytes, not necessarily UTF-8.
    pub line: &'a [u8],
    /// Stream labels, sorted by name.
    pub stream: &'a [(String, String)],
    /// Per-entry metadata in wire order; names may repeat.
    pub structured_metadata: &'a [(String, String)],
}

/// An entry that survived the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedEntry {
    /// The line after `line_format`, `decolorize` and `unpack`.
    pub line: Vec<u8>,
    /// Every label (stream, metadata, parsed) after `label_format`,
    /// `drop` and `keep`, sorted by name.
    pub labels: LabelPairs,
    /// The labels that came from structured metadata.
    pub structured_metadata: LabelPairs,
    /// The labels parsers and formatters added, error labels included.
    pub parsed: LabelPairs,
}

/// A query's compiled stages; build once, run on every entry from any
/// thread.
#[derive(Debug)]
pub struct Pipeline {
    /// Line filters before any other stage: they run on the raw bytes
    /// before any label is copied.
    prefix: Vec<LineFilter>,
    /// Everything from the first other stage on.
    steps: Vec<Step>,
}

impl Pipeline {
    /// Builds the stages; fails on a bad regex/pattern/JSON path/template.
    pub fn new(stages: &[Stage]) -> Result<Self, PipelineError> {
        let mut prefix = Vec::new();
        let mut steps = Vec::with_capacity(stages.len());
        for stage in stages {
            match (Step::new(stage)?, steps.is_empty()) {
                (Step::Line(f), true) => prefix.push(f),
                (step, _) => steps.push(step),
            }
        }
        Ok(Self { prefix, steps })
    }

    /// Runs one entry through every stage; `None` when a filter drops it.
    pub fn process(&self, entry: InputEntry<'_>) -> Option<ProcessedEntry> {
        let (line, labels) = self.run(&entry)?;
        let (labels, structured_metadata, parsed) = labels.split();
        Some(ProcessedEntry {
            line: line.into_owned(),
            labels,
            structured_metadata,
            parsed,
        })
    }

    /// The line and labels after every stage.
    fn run<'a>(&self, entry: &InputEntry<'a>) -> Option<(Cow<'a, [u8]>, Labels)> {
        if !self.prefix.iter().all(|f| f.matches(entry.line)) {
            return None;
        }
        let mut line = Cow::Borrowed(entry.line);
        let mut labels = Labels::new(entry.stream, entry.structured_metadata);
        for (i, step) in self.steps.iter().enumerate() {
            if !step.apply(i, entry.ts_ns, &mut line, &mut labels) {
                return None;
            }
        }
        Some((line, labels))
    }
}

/// For the storage index: the operands of each positive `|=` filter that
/// runs on the stored line (before any stage that rewrites it). A
/// matching line contains at least one string of every list. Filters
/// with an `ip(...)` operand, and those with an empty operand (which
/// every line passes), are left out.
pub fn leading_required_substrings(stages: &[Stage]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for stage in stages {
        match stage {
            Stage::LineFormat(_) | Stage::Decolorize | Stage::Unpack => break,
            Stage::LineFilter(f) if f.op == LineFilterOp::Contains => {
                let texts: Option<Vec<String>> = f
                    .operands
                    .iter()
                    .map(|o| match o {
                        LineFilterValue::Text(t) if !t.is_empty() => Some(t.clone()),
                        _ => None,
                    })
                    .collect();
                if let Some(texts) = texts.filter(|t| !t.is_empty()) {
                    out.push(texts);
                }
            }
            _ => {}
        }
    }
    out
}
