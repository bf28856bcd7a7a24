//! Errors carry the file, what went wrong and where, so one line tells the user everything.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while loading or analysing a heap file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file was read but its contents are not a valid heap file.
    #[error("{path}: {what} (at byte {offset})")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words a user can act on.
        what: String,
        /// Byte offset in the (decompressed) stream where it was noticed.
        offset: u64,
    },
    /// The user (or GUI) asked to stop.
    #[error("cancelled")]
    Cancelled,
    /// A request that does not fit the loaded data, such as an unknown node id.
    #[error("{0}")]
    Request(String),
    /// A CI gate (`leaks --fail-on-leak`) tripped; the output was written.
    #[error("{0}")]
    Gate(String),
    /// The inputs cannot answer what was asked of them, such as leak detection over snapshots
    /// whose writer gave every object a new id in each one (exit code 2 in the CLI: the gate
    /// must not pass on a question it could not ask).
    #[error("{0}")]
    CannotCompare(String),
}

impl Error {
    /// Build a format error for `path`.
    pub fn format(path: &Path, what: impl Into<String>, offset: u64) -> Self {
        Error::Format {
            path: path.to_path_buf(),
            what: what.into(),
            offset,
        }
    }

    /// The same error placed at `offset` (a format error only; others have no place).
    pub fn at_offset(self, offset: u64) -> Self {
        match self {
            Error::Format { path, what, .. } => Error::Format { path, what, offset },
            other => other,
        }
    }

    /// True when the error is the input's fault (exit code 2 in the CLI).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Error::Format { .. } | Error::CannotCompare(_))
    }
}

/// Result type of the heapsight library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
