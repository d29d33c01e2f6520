//! The crate's one error type.
//!
//! Every variant that concerns a file names it, says what was expected and what was found, so a
//! user can act on the message alone. Nothing in this crate panics on bad input.

use std::path::PathBuf;

/// Everything that can go wrong when locating, reading, checking or downloading a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An unknown dataset name was given (e.g. on the command line).
    #[error("unknown dataset `{given}`; valid names: {valid}")]
    UnknownDataset {
        /// The name as given.
        given: String,
        /// The valid names, comma separated.
        valid: String,
    },

    /// One or more files of a dataset were not found in any searched folder.
    #[error(
        "{dataset}: missing file(s): {}\n  folders searched: {}\n  fix: {fix}",
        .missing.join(", "), paths(.searched)
    )]
    Missing {
        /// The dataset's name.
        dataset: String,
        /// Every missing file (by the name it is looked for under).
        missing: Vec<String>,
        /// Every folder that was searched.
        searched: Vec<PathBuf>,
        /// How to get the files: a command and the URL(s).
        fix: String,
    },

    /// An I/O error while reading or writing a file.
    #[error("{}: {action}: {source}", .path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What was being done ("reading", "creating", ...).
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A gzip stream is corrupt or truncated (bad header, CRC or length mismatch, early end).
    #[error("{}: corrupt gzip data: expected a complete gzip stream, found: {detail}", .path.display())]
    Gzip {
        /// The file concerned.
        path: PathBuf,
        /// The decoder's message.
        detail: String,
    },

    /// A file's content does not have the expected structure (magic number, dimensions, length,
    /// label range, record size, counts).
    #[error("{}: bad format: expected {expected}, found {found}", .path.display())]
    Format {
        /// The file concerned (for a tar member: `archive.tar.gz/member`).
        path: PathBuf,
        /// What the format requires.
        expected: String,
        /// What the file holds.
        found: String,
    },

    /// A file's checksum differs from the published one.
    #[error("{}: checksum mismatch: expected {algorithm} {expected}, found {found}", .path.display())]
    Checksum {
        /// The file concerned.
        path: PathBuf,
        /// `"sha256"` or `"md5"`.
        algorithm: &'static str,
        /// The published digest (lower-case hex).
        expected: String,
        /// The digest of the file (lower-case hex).
        found: String,
    },

    /// A download failed after all retries.
    #[error("downloading {url} to {}: {detail} (after {attempts} attempt(s))", .path.display())]
    Download {
        /// The URL fetched.
        url: String,
        /// Where the file was to be written.
        path: PathBuf,
        /// The last error.
        detail: String,
        /// How many attempts were made.
        attempts: u32,
    },

    /// An argument is out of range (e.g. a validation split larger than the split).
    #[error("invalid argument: expected {expected}, found {found}")]
    Argument {
        /// What is allowed.
        expected: String,
        /// What was given.
        found: String,
    },
}

impl DataError {
    /// Wraps an I/O error with the path and action it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, action: &'static str, e: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            action,
            source: e,
        }
    }

    /// Builds a [`DataError::Format`].
    pub(crate) fn format(
        path: impl Into<PathBuf>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        DataError::Format {
            path: path.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

fn paths(items: &[PathBuf]) -> String {
    items
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
