//! Evaluation errors, each mapped to the error type and HTTP status
//! Prometheus answers with.

/// Prometheus' `errorType` values that evaluation can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalErrorKind {
    /// Bad query semantics found while evaluating (422 `execution`).
    Execution,
    /// The query ran past its timeout (503 `timeout`).
    Timeout,
    /// Too many samples or series (422 `execution`).
    Limit,
    /// A storage failure (500 `internal`).
    Internal,
}

/// An evaluation error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// Category.
    pub kind: EvalErrorKind,
    /// Message in Prometheus' wording.
    pub message: String,
}

impl EvalError {
    /// An execution error.
    pub fn execution(message: impl Into<String>) -> Self {
        Self {
            kind: EvalErrorKind::Execution,
            message: message.into(),
        }
    }

    /// A storage or internal failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: EvalErrorKind::Internal,
            message: message.into(),
        }
    }

    /// The per-query sample limit was hit.
    pub fn too_many_samples() -> Self {
        Self {
            kind: EvalErrorKind::Limit,
            message: "query processing would load too many samples into memory in query execution"
                .into(),
        }
    }

    /// The per-selector series limit was hit.
    pub fn too_many_series(limit: usize) -> Self {
        Self {
            kind: EvalErrorKind::Limit,
            message: format!("query would select more than {limit} series from a single selector"),
        }
    }

    /// The query timed out.
    pub fn timeout() -> Self {
        Self {
            kind: EvalErrorKind::Timeout,
            message: "query timed out in expression evaluation".into(),
        }
    }
}
