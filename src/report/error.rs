//! Errors of the report stage.

use std::path::PathBuf;

/// Why a report, a history operation or a comparison failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A results file is not valid tribunal JSON.
    #[error(
        "{path} is not a tribunal results file: {source} (hint: results files are the JSON files every run of the suites writes under target/tribunal/runs/)"
    )]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The history database failed.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A run reference (BASE/HEAD) matched nothing.
    #[error(
        "cannot find run `{reference}`: {why} (hint: pass a results JSON file, a run id from `tribunal history`, or a git ref of a run stored in the history)"
    )]
    UnknownRun {
        /// What the user passed.
        reference: String,
        /// What was tried.
        why: String,
    },
    /// Invalid arguments or settings.
    #[error("{0}")]
    Config(String),
}

impl ReportError {
    pub(crate) fn read(path: &std::path::Path, source: std::io::Error) -> Self {
        ReportError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn write(path: &std::path::Path, source: std::io::Error) -> Self {
        ReportError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why the run history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Another process holds the database lock for longer than the busy timeout.
    #[error(
        "run history {path} is locked by another process (waited {waited_ms} ms); this run's results are still in the JSON file (hint: wait for the other run, or point TRIBUNAL_HISTORY at another file)"
    )]
    Locked {
        /// The database file.
        path: PathBuf,
        /// How long tribunal waited.
        waited_ms: u64,
    },
    /// The file is not a SQLite database, or is damaged.
    #[error(
        "run history {path} is corrupt: {detail}; this run's results are still in the JSON file (hint: move the file away to start a new history)"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// SQLite's message.
        detail: String,
    },
    /// This build leaves out the `history` feature.
    #[error("{0}")]
    Disabled(String),
    /// Any other SQLite failure.
    #[cfg(feature = "history")]
    #[error("run history {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The run's results could not be written into the database.
    #[error(
        "run history {path}: cannot write this run's results: {detail}; they are still in the JSON file"
    )]
    Write {
        /// The database file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// A stored run could not be decoded.
    #[error("run history {path}: stored run {run} cannot be decoded: {detail}")]
    Decode {
        /// The database file.
        path: PathBuf,
        /// The run id.
        run: String,
        /// The decode error.
        detail: String,
    },
}
