//! Evaluating one trial: call the target, run the checks, conclude a verdict.

use std::path::PathBuf;

use crate::provider::Providers;

/// What a run shares across all trials.
#[derive(Debug, Default)]
pub struct RunEnv {
    /// The project root (where `Cargo.toml` and `evals/` are).
    pub root: PathBuf,
    /// Model providers (wrapped by the cassette layer).
    pub providers: Providers,
    /// True when running in CI (`CI` set and not `0`/`false`).
    pub ci: bool,
}

impl RunEnv {
    /// The target output of another trial of this run (for pairwise judges
    /// that compare a variant with a baseline variant). Waits for that
    /// trial's target call if it is still running; `None` when that trial is
    /// not part of the run or its target failed.
    pub async fn output_of(
        &self,
        _suite: &str,
        _case_id: &str,
        _variant: Option<&str>,
    ) -> Option<crate::verdict::Output> {
        None
    }
}
