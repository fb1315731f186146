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

    /// 504 when a query ran past its time.
    pub fn timeout(limit: std::time::Duration) -> Self {
        Self {
            status: StatusCode::GATEWAY_TIMEOUT,
            message: format!(
                "query timed out after {}s; narrow the time range or the selector",
                limit.as_secs_f64()
            ),
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

/// Runs a query's reading and evaluation within the query timeout, off
/// the runtime's worker threads: pipelines and aggregations are CPU work
/// between reads, and on a two-core box they must not stall ingestion.
/// The timeout takes effect at the next read (at most one part's work).
pub(crate) async fn bounded<T>(
    limit: std::time::Duration,
    work: impl std::future::Future<Output = Result<T, LokiError>>,
) -> Result<T, LokiError> {
    let timed = async {
        tokio::time::timeout(limit, work)
            .await
            .map_err(|_| LokiError::timeout(limit))?
    };
    let handle = tokio::runtime::Handle::current();
    match handle.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => timed.await,
        _ => tokio::task::block_in_place(|| handle.block_on(timed)),
    }
}

impl QueryState {
    /// The logs engine, or a 503 while replay is still running.
    pub fn logs(&self) -> Result<&Arc<LogsEngine>, LokiError> {
        self.logs.get().ok_or_else(LokiError::not_ready)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_past_the_timeout_is_a_504_off_the_workers() {
        let err = bounded(
            Duration::from_millis(1),
            std::future::pending::<Result<(), _>>(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.status, StatusCode::GATEWAY_TIMEOUT);
        assert!(err.message.contains("timed out"), "{}", err.message);
        let ok = bounded(Duration::from_secs(60), async { Ok(7) }).await;
        assert_eq!(ok.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_single_threaded_runtime_awaits_in_place() {
        let ok = bounded(Duration::from_secs(60), async { Ok(7) }).await;
        assert_eq!(ok.unwrap(), 7);
    }
}
