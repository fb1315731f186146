//! Errors in Prometheus' API envelope.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered as `{"status":"error","errorType":...,"error":...}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ApiError {
    /// Prometheus' error type.
    pub kind: ErrorKind,
    /// What went wrong, for the user.
    pub message: String,
}

/// Prometheus' error types, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: bad parameters.
    BadData,
    /// 422: evaluation failed.
    Execution,
    /// 500.
    Internal,
    /// 503: not ready or overloaded.
    Unavailable,
    /// 503: the query ran out of time.
    Timeout,
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BadData => "bad_data",
            Self::Execution => "execution",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
        })
    }
}

impl ApiError {
    /// A 400 `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::BadData,
            message: message.into(),
        }
    }

    /// A 400 for one named parameter, worded as Prometheus does.
    pub fn bad_param(param: &str, message: impl std::fmt::Display) -> Self {
        Self::bad_data(format!("invalid parameter {param:?}: {message}"))
    }

    /// A 422 `execution` error.
    pub fn execution(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Execution,
            message: message.into(),
        }
    }

    /// A 500 `internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            message: message.into(),
        }
    }

    /// A 503 `timeout` error.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Timeout,
            message: message.into(),
        }
    }

    /// The 503 answered while the WAL is being replayed.
    pub fn not_ready() -> Self {
        Self {
            kind: ErrorKind::Unavailable,
            message: "storage is replaying its write-ahead log; try again shortly".into(),
        }
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            ErrorKind::BadData => StatusCode::BAD_REQUEST,
            ErrorKind::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable | ErrorKind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "status": "error",
            "errorType": self.kind.to_string(),
            "error": self.message,
        });
        (self.status(), axum::Json(body)).into_response()
    }
}
