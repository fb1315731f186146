//! LogQL evaluation: the per-line pipeline (`pipeline`), the Go-template
//! formatting stages (`format`) and metric queries (`metric`). Storage access
//! stays outside: callers feed entries in and get lines or samples out.

pub mod format;
pub mod labels;
pub mod metric;
pub mod pipeline;
