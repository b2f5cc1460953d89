//! Checks: what is verified on a target's output. One module per kind.

pub mod ast;
pub mod judge;

use std::path::Path;

use serde_json::{Map, Value};

use crate::run::RunEnv;
use crate::verdict::{CheckResult, Output};

/// Everything a check may look at.
pub struct CheckContext<'a> {
    /// The display name of this check (YAML `name`, or derived).
    pub name: &'a str,
    /// What the target returned.
    pub output: &'a Output,
    /// The case input (a string or a map of variables).
    pub input: &'a Value,
    /// The case's reference output, if any.
    pub expected: Option<&'a Value>,
    /// Variables: suite defaults, variant and case, merged.
    pub vars: &'a Map<String, Value>,
    /// The suite name.
    pub suite: &'a str,
    /// The case id.
    pub case_id: &'a str,
    /// The case tags.
    pub tags: &'a [String],
    /// The variant id, when the case runs under several.
    pub variant: Option<&'a str>,
    /// Results of the checks before this one (for `when:` cascades).
    pub prior: &'a [CheckResult],
    /// The folder of the suite file (relative paths in checks resolve here).
    pub suite_dir: &'a Path,
    /// The run: providers, registered functions, mode.
    pub env: &'a RunEnv,
}
