//! The notifier's error type.

use std::path::PathBuf;

/// Everything that can go wrong when configuring or opening the notifier.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The notifications configuration is invalid; the text names the item.
    #[error("invalid notifications config: {0}")]
    Config(String),
    /// The persisted state could not be read or written.
    #[error("notification state file {path}: {source}")]
    StateIo {
        /// The file (or its directory) involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The persisted state exists but cannot be understood.
    #[error("notification state file {path} is corrupt: {reason}")]
    StateCorrupt {
        /// The offending file.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// The HTTP client used for deliveries could not be built.
    #[error("cannot build HTTP client: {0}")]
    HttpClient(String),
}
