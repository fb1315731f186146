//! Compaction: merging the small parts of a day into one. Planning is a pure
//! function ([`planner::plan`]); [`executor`] does the I/O.

pub mod executor;
pub mod planner;

pub use planner::{CompactionJob, CompactionPolicy, plan};
