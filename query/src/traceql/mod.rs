//! TraceQL, Tempo's trace query language, for Hearth's Tempo-compatible
//! API.
//!
//! Grafana's Tempo data source, the Traces Drilldown app and users typing
//! in Explore all speak TraceQL, so Hearth has to accept the same text and
//! give the same answers, including Tempo's less obvious rules: a
//! comparison with a missing attribute is false (so `{ .a != "x" }` skips
//! spans without `a`), regexes are fully anchored, structural operators
//! return the right-hand spans, and metrics use power-of-two buckets.
//! Everything here was written from Tempo's public documentation; no
//! grammar or code is taken from Tempo.
//!
//! The pieces, in the order a query flows through them:
//! * [`parse()`] turns text into a [`Query`] and applies Tempo's validation
//!   rules; errors carry byte offset, line and column. It never panics,
//!   so it can be fed untrusted input (and fuzzed) directly.
//! * [`CompiledQuery::new`] validates a tree (again, for trees built by
//!   hand) and compiles its regexes once.
//! * Storage assembles whole traces as [`model::Trace`] (structure such as
//!   nested-set numbers is derived once per trace) and may consult
//!   [`CompiledQuery::prefilter`] to skip traces that cannot match.
//! * Spanset queries: [`CompiledQuery::eval_trace`] per trace returns the
//!   surviving [`SpanSet`]s; a trace matches when that is non-empty.
//!   Ordering traces (`with(most_recent=true)`, see [`Query::most_recent`]),
//!   `limit` and `spss` truncation are the caller's job.
//! * Metrics queries: a [`MetricsEvaluator`] (range or instant) is fed
//!   every candidate trace with `observe` (evaluators for parallel scans
//!   combine with `merge`) and returns [`Series`] from `finish`. Timestamps are unix **nanoseconds**; see `eval::metrics`
//!   for the step grid, units and label names.
//!
//! `compare()` (what Traces Drilldown's comparison tab runs) is a metrics
//! function like the others; `eval::compare` describes its series.
//!
//! Not evaluated (parsed and validated only): the `sample` hint (results
//! are always exact).

pub mod ast;
mod display;
pub mod error;
mod eval;
mod lex;
pub mod model;
mod parse;
mod validate;

#[cfg(test)]
mod tests;

pub use ast::{Query, QueryBody};
pub use display::format_duration;
pub use error::{ErrorKind, EvalError, ParseError};
pub use eval::{
    CompiledQuery, Label, LabelFloat, Labels, MAX_CELLS, MatchedSpan, MetricsEvaluator, Prefilter,
    Series, SpanRequirement, SpanSet,
};
pub use model::{Trace, Value};
pub use parse::{MAX_DEPTH, parse};
pub use validate::validate;

/// Parse, validate and compile in one step.
pub fn compile(input: &str) -> Result<CompiledQuery, ParseError> {
    CompiledQuery::new(parse(input)?)
}
