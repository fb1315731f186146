//! Loki's HTTP API (../shared/reference/protocols.md §3): LogQL queries,
//! label and series discovery, index statistics and volumes, build info.
//! Errors are plain text with the status Loki uses, which Grafana shows as
//! is.

pub mod detected;
pub mod labels;
pub mod params;
pub mod query;
mod render;
pub mod tail;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_storage::logs::LogsEngine;

use crate::QueryState;
use crate::logql::exec::ExecError;

/// A Loki API error: status plus a plain-text message.
#[derive(Debug)]
pub struct LokiError {
    status: StatusCode,
    message: String,
}

impl LokiError {
    /// 400 with `message`.
    pub fn bad(message: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.to_string(),
        }
    }

    /// 503 while the engine replays its WAL.
    pub fn not_ready() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "logs storage is replaying its write-ahead log".into(),
        }
    }

    /// 500 with `message`.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.to_string(),
        }
    }
}

impl From<ExecError> for LokiError {
    fn from(e: ExecError) -> Self {
        if e.is_user_error() {
            Self::bad(e)
        } else {
            Self::internal(e)
        }
    }
}

impl IntoResponse for LokiError {
    fn into_response(self) -> Response {
        (self.status, self.message).into_response()
    }
}

impl QueryState {
    /// The logs engine, or a 503 while replay is still running.
    pub fn logs(&self) -> Result<&Arc<LogsEngine>, LokiError> {
        self.logs.get().ok_or_else(LokiError::not_ready)
    }
}
