//! Errors found while loading eval files.

use std::sync::Arc;

pub use crate::diag::Span as Location;

/// One problem in an eval file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}{}", hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
pub struct LoadError {
    /// Where the problem is.
    pub location: Location,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// A row of a `cases_from:` data file that could not become a case: it is
/// a failing trial of its own, and the suite's other cases run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The row, as its trial is named after the suite: `evals/data/q.csv:12`
    /// (the data file and the line the row starts on).
    pub name: String,
    /// What is wrong, at its `file:line:col` in the data file.
    pub error: LoadError,
}

/// Why a suite could not be loaded: every problem found in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct SuiteErrors {
    /// The file, as displayed.
    pub file: Arc<str>,
    /// The suite name the file would have had (its `suite:` key or file stem).
    pub suite: String,
    /// The problems, in file order.
    pub errors: Vec<LoadError>,
}

/// Errors that stop loading before any file is read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The eval folder does not exist or cannot be read.
    #[error(
        "cannot read eval folder {path}: {source} (hint: create it and add a suite file such as {path}/example.yaml)"
    )]
    Folder {
        /// The folder.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No suite files were found.
    #[error(
        "no eval suites found in {path} (looked for *.yaml and *.yml, skipping snapshots/ and prompts/); an empty suite is an error, not a pass (hint: add a suite file such as {path}/example.yaml, see docs/format.md)"
    )]
    Empty {
        /// The folder.
        path: String,
    },
}
