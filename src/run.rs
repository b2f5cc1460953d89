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
