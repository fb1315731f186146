//! The storage crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong inside storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem call failed on a known path.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The object store failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// Parquet encoding or decoding failed.
    #[error("parquet {path}: {source}")]
    Parquet {
        /// Object path of the part file.
        path: String,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Arrow array construction failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The manifest could not be read or written.
    #[error("manifest {path}: {message}")]
    Manifest {
        /// Object path of the manifest.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A part's content does not match what the manifest says.
    #[error("part {path}: {message}")]
    CorruptPart {
        /// Object path of the part file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// Ingest is over the memory budget; the sender should retry later.
    #[error("head is over its memory budget ({used} of {limit} bytes); retry after the next flush")]
    OverBudget {
        /// Estimated bytes in use.
        used: usize,
        /// The limit.
        limit: usize,
    },
    /// A part's text index could not be built or read.
    #[error("text index: {0}")]
    Index(String),
    /// The engine is shutting down and takes no more writes.
    #[error("storage is shutting down")]
    ShuttingDown,
}

impl Error {
    /// Wraps an I/O error with the operation and path it concerns.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Storage result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
