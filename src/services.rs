//! What targets and checks may use from the run: the project root, the model
//! providers, the registered Rust functions, the CI flag, and the label files
//! judges draw few-shot examples from.
//!
//! This is deliberately narrow. A target or a check never sees the other
//! trials of the run or the output cache; a pairwise judge asks for another
//! trial's output through [`crate::check::Baselines`], which the evaluation
//! implements.

use std::path::{Path, PathBuf};

use crate::labels::{LabelFile, labels_path};
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

/// One human-labelled output, as a judge's few-shot example sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledOutput {
    /// The case the label is about.
    pub case: String,
    /// The input the output answered, as text (empty when not stored).
    pub input: String,
    /// The labelled output.
    pub output: String,
    /// The expert's verdict.
    pub pass: bool,
    /// The verdict as shown to a judge: `pass`, `fail`, or `fail (score 2)`.
    pub verdict: String,
    /// The expert's critique.
    pub critique: String,
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

    /// The labelled outputs of `suite`, in file order; `Ok(None)` when its
    /// label file does not exist. The file is read once per change (cached by
    /// modification time and size).
    pub fn labelled(
        &self,
        suite: &str,
        file: Option<&str>,
    ) -> Result<Option<Vec<LabelledOutput>>, String> {
        let path = self.labels_path(suite, file);
        load_labelled(&path)
    }
}

fn load_labelled(path: &Path) -> Result<Option<Vec<LabelledOutput>>, String> {
    let Some(file) = LabelFile::load_cached(path).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    // Labels picked as few-shot examples first, then file order.
    let mut ordered: Vec<&crate::labels::Label> = file.labels.iter().collect();
    ordered.sort_by_key(|l| !l.few_shot);
    Ok(Some(
        ordered
            .into_iter()
            .map(|l| LabelledOutput {
                case: l.case.clone(),
                input: l.input.clone().unwrap_or_default(),
                output: l.output.clone(),
                pass: l.verdict.is_pass(),
                verdict: match l.score {
                    Some(s) => format!("{} (score {s})", l.verdict.as_str()),
                    None => l.verdict.as_str().to_string(),
                },
                critique: l.critique.clone(),
            })
            .collect(),
    ))
}
