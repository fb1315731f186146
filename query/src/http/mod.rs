//! The Prometheus HTTP API endpoints that need no PromQL evaluation.

pub mod envelope;
pub mod loki;
pub mod metadata;
pub mod params;
pub mod query;
pub mod series;
pub mod status;
pub mod tempo;
pub mod tools;

use std::sync::Arc;

use hearth_storage::MetricsEngine;

use crate::QueryState;
use crate::error::ApiError;

impl QueryState {
    /// The engine, or a 503 while replay is still running.
    pub fn engine(&self) -> Result<&Arc<MetricsEngine>, ApiError> {
        self.engine.get().ok_or_else(ApiError::not_ready)
    }
}
