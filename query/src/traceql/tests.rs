//! Tests: the case table of `traceql-cases.md` over traces T1 and T2,
//! parser behaviour, metrics over synthetic spans, and property tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cases;
mod compare;
mod fixtures;
mod metrics;
mod parser;
mod props;
