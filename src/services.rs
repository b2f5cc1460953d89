//! What targets and checks may use from the run: the project root, the model
//! providers, the registered Rust functions, the CI flag, and the label files
//! judges draw few-shot examples from.
//!
//! This is deliberately narrow. A target or a check never sees the other
//! trials of the run or the output cache; a pairwise judge asks for another
//! trial's output through [`crate::check::Baselines`], which the evaluation
//! implements.

use std::path::PathBuf;

use crate::labels::labels_path;
use crate::provider::Providers;
use crate::registry::Registry;

/// The shared services of a run.
#[derive(Debug, Default)]
pub struct Services {
    /// The project root (where `Cargo.toml` and `evals/` are).
    pub root: PathBuf,
    /// Model providers (wrapped by the cassette layer).
    pub providers: Providers,
    /// Registered Rust targets and checks.
    pub registry: Registry,
    /// True when running in CI (`CI` set and not `0`/`false`).
    pub ci: bool,
}

impl Services {
    /// Services over a root, providers and registered functions.
    pub fn new(root: PathBuf, registry: Registry, providers: Providers, ci: bool) -> Self {
        Services {
            root,
            providers,
            registry,
            ci,
        }
    }

    /// The label file of `suite` (its `judge: {labels: ...}` override, else
    /// `fixtures/labels/<suite>.yaml`).
    pub fn labels_path(&self, suite: &str, file: Option<&str>) -> PathBuf {
        labels_path(&self.root, suite, file)
    }
}
