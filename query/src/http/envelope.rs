//! Prometheus' success envelope.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `{"status":"success","data":...,"warnings":[...]}`; warnings omitted when
/// empty, as Prometheus does.
#[derive(Debug, Serialize)]
pub struct Success<T: Serialize> {
    status: &'static str,
    data: T,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

impl<T: Serialize> Success<T> {
    /// Wraps `data`.
    pub fn new(data: T) -> Self {
        Self {
            status: "success",
            data,
            warnings: Vec::new(),
        }
    }

    /// Adds a warning.
    pub fn warn(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// The warning Prometheus adds when `limit` cut a result.
pub const TRUNCATED_WARNING: &str = "results truncated due to limit";
