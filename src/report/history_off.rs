//! The run history without the `history` feature: no SQLite.
//!
//! Opening the history fails with [`HistoryError::Disabled`], naming the
//! feature and the `Cargo.toml` line that turns it on
//! ([`crate::features::off`]): `tribunal history`, `trend`, `flaky`,
//! `report --store`, and run ids or git refs given to `compare` or the
//! gates say so. No [`History`] can exist (the type has no values). Runs
//! keep no history unless `TRIBUNAL_HISTORY` or `reports.history` asks for
//! one; then every run warns with the same error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{HistoryError, ReportError};
use super::results::RunResults;
use super::trend::RunPoint;
pub use super::trend::RunRow;

/// Whether this build keeps a run history: not without the feature.
pub const ENABLED: bool = false;
/// How long a store would wait for another process's lock.
pub const BUSY_TIMEOUT_MS: u64 = 5_000;
/// Runs kept when `TRIBUNAL_HISTORY_KEEP` is not set.
pub const DEFAULT_KEEP: usize = crate::config::DEFAULT_HISTORY_KEEP;

/// Nothing to prepare without the `history` feature.
pub fn prepare(_path: &Path) -> Option<std::thread::JoinHandle<()>> {
    None
}

fn off() -> HistoryError {
    HistoryError::Disabled(crate::features::off("the run history", "history"))
}

/// The history a command needs (`tribunal history`, `flaky`, `report
/// --store`): always the error naming the feature, whatever
/// `TRIBUNAL_HISTORY` says.
pub fn needed(_path: Option<PathBuf>) -> Result<PathBuf, ReportError> {
    Err(ReportError::History(off()))
}

/// A history database: none can be opened without the `history` feature.
#[derive(Debug)]
pub enum History {}

impl History {
    /// Refuses, naming the feature.
    pub fn open(_path: &Path) -> Result<History, HistoryError> {
        Err(off())
    }

    /// Refuses, naming the feature.
    pub fn open_for_run(_path: &Path) -> Result<History, HistoryError> {
        Err(off())
    }

    /// Refuses, naming the feature.
    pub fn open_with_timeout(_path: &Path, _busy: Duration) -> Result<History, HistoryError> {
        Err(off())
    }

    /// Never called: no history is open.
    pub fn path(&self) -> &Path {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn store(&mut self, _run: &RunResults) -> Result<(), HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn store_from(
        &mut self,
        _run: &RunResults,
        _results_file: Option<&Path>,
    ) -> Result<(), HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub(crate) fn store_when_written(
        &mut self,
        _run: &RunResults,
        _written: impl FnOnce() -> Result<Option<std::path::PathBuf>, String>,
    ) -> Result<(), HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub(crate) fn retain(&mut self, _keep: usize, _max_bytes: u64) -> Result<(), HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn points(&self, _limit: usize) -> Result<Vec<RunPoint>, HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn store_retained(
        &mut self,
        _run: &RunResults,
        _results_file: Option<&Path>,
        _keep: usize,
        _max_bytes: u64,
    ) -> Result<(), HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn trim(&mut self, _keep: usize) -> Result<usize, HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn used_bytes(&self) -> Result<u64, HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn trim_bytes(&mut self, _max_bytes: u64) -> Result<usize, HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn load(&self, _run_id: &str) -> Result<Option<RunResults>, HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn latest_for_commit(&self, _commit: &str) -> Result<Option<RunResults>, HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn latest_for_branch(&self, _branch: &str) -> Result<Option<RunResults>, HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn runs(&self, _limit: usize) -> Result<Vec<RunRow>, HistoryError> {
        match *self {}
    }

    /// Never called: no history is open.
    pub fn trial_history(
        &self,
        _trial: &str,
        _limit: usize,
    ) -> Result<Vec<(String, String, f64)>, HistoryError> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_and_the_commands_name_the_feature_and_the_cargo_line() {
        let messages = [
            History::open(Path::new("target/tribunal/history.db"))
                .expect_err("off")
                .to_string(),
            needed(Some(PathBuf::from("target/tribunal/history.db")))
                .expect_err("off")
                .to_string(),
        ];
        // One snapshot file whichever module compiles this stub (`history`
        // without the feature, `history_off` in the default build's tests).
        insta::with_settings!({prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("history_feature_off", messages.join("\n"));
        });
    }
}
