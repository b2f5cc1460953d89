//! The loaded case model: a [`Suite`] of [`Case`]s, run under its
//! [`Variant`]s. Plain data; the loader (`resolve.rs`) builds it.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::Location;
use crate::check::CheckSpec;
use crate::check::judge::SuiteJudge;
use crate::target::TargetSpec;
use crate::target::conversation::Script;
use crate::verdict::Gate;

/// One suite file, loaded and validated.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The suite name (`suite:` key, else the file stem).
    pub name: String,
    /// What the suite is about.
    pub description: Option<String>,
    /// The file, as displayed.
    pub file: Arc<str>,
    /// The file's folder (relative paths in the suite resolve here).
    pub dir: PathBuf,
    /// The variants every case runs under (empty: one run per case).
    pub variants: Vec<Variant>,
    /// The `matrix:` axes, in the order their values join in variant ids
    /// (empty when the variants are listed or there are none).
    pub axes: Vec<String>,
    /// The cases, in file order.
    pub cases: Vec<Case>,
    /// The suite-level `judge:` block, parsed once (its defaults are merged
    /// into each judge check at load; `tribunal align` reads its settings).
    pub judge: SuiteJudge,
    /// Named targets declared under `targets:`.
    pub targets: Vec<(String, TargetSpec)>,
    /// Rows of `cases_from:` files that could not become cases (each one
    /// failing trial; the other cases run).
    pub bad_rows: Vec<super::BadRow>,
    /// The `dimensions:` cases are generated from (`tribunal generate
    /// dimensions`), in the order written; empty when the suite has none.
    pub dimensions: Vec<Dimension>,
}

/// One axis of a suite's `dimensions:` (`feature`, `scenario`, `persona`):
/// its values, each with the one-line description the generator is given.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    /// The dimension's key (a tag prefix: `feature` in `feature:refunds`).
    pub name: String,
    /// The values in the order written: `(value, description)`.
    pub values: Vec<(String, String)>,
    /// Where the dimension is written.
    pub location: Location,
}

/// One variant of a suite: a model, a prompt version, or a combination.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The variant id, used in trial and snapshot names.
    pub id: String,
    /// Variables the variant sets (available to targets and templates).
    pub vars: Map<String, Value>,
    /// A target that replaces the case's target under this variant.
    pub target: Option<TargetSpec>,
}

/// One eval case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique, stable id within the suite.
    pub id: String,
    /// What the case is about.
    pub description: Option<String>,
    /// Dimensions such as `feature:refunds`, `scenario:angry`, `persona:new-user`.
    pub tags: Vec<String>,
    /// The input: a string, a map of variables or a list of messages.
    pub input: Value,
    /// Variables from suite defaults and the case (variant variables are added per trial).
    pub vars: Map<String, Value>,
    /// The reference output, if any.
    pub expected: Option<Value>,
    /// A fixed output: the target is not called.
    pub output: Option<Value>,
    /// The target to call (absent when `output` is given).
    pub target: Option<TargetSpec>,
    /// The checks, suite defaults first.
    pub checks: Vec<CheckSpec>,
    /// The weighted share of checks that must pass (default 1: all).
    pub threshold: f64,
    /// Whether any failure fails the build.
    pub gate: Gate,
    /// Skip the case, with the reason.
    pub skip: Option<String>,
    /// The variants this case runs under (ids); `None`: all of the suite's.
    pub only_variants: Option<Vec<String>>,
    /// A multi-turn case's user after the first message (`turns:` or
    /// `simulated_user:`).
    pub script: Option<Script>,
    /// `repeat:` of the case (or of `defaults:`): samples and the rule that
    /// decides them; `None` takes the run's default (`TRIBUNAL_REPEAT`).
    pub repeat: Option<crate::repeat::Repeat>,
    /// Where the case is written.
    pub location: Location,
}

impl Suite {
    /// The variants a case runs under: `[None]` when the suite has none.
    pub fn variants_of<'a>(&'a self, case: &Case) -> Vec<Option<&'a Variant>> {
        if self.variants.is_empty() {
            return vec![None];
        }
        self.variants
            .iter()
            .filter(|v| {
                case.only_variants
                    .as_ref()
                    .is_none_or(|only| only.iter().any(|id| id == &v.id))
            })
            .map(Some)
            .collect()
    }
}
