//! DataFusion tables over Hearth's storage.

pub mod samples;

pub use samples::{SampleFilter, SampleScanExec, SamplesTable};
