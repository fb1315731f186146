//! Hearth's storage engine: the data model, write-ahead log, in-memory heads,
//! Parquet parts, manifest, compaction and retention (DESIGN §2). Metrics,
//! logs and traces share the same WAL, part, manifest and retention
//! machinery.
#![deny(missing_docs)]

pub mod compact;
pub mod engine;
pub mod error;
mod graveyard;
pub mod head;
pub mod logs;
pub mod logs_model;
pub mod manifest;
pub mod matcher;
pub mod metrics;
pub mod model;
pub mod object_store;
pub mod part;
mod part_cache;
pub mod postings;
pub mod retention;
pub mod traces;
pub mod traces_model;
pub mod wal;

pub use engine::{
    AppendOutcome, EngineCell, EngineOptions, MetricsEngine, MetricsSnapshot, SelectedSeries,
    SeriesRejection,
};
pub use error::{Error, Result};
pub use logs::{LogsCell, LogsEngine, LogsOptions};
pub use logs_model::*;
pub use matcher::{MatchOp, Matcher};
pub use model::*;
pub use traces::{TracesCell, TracesEngine, TracesOptions};
pub use traces_model::*;
