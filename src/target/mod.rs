//! Targets: the kinds of system under test.
//!
//! A case's target is called once per trial with the case input; what it
//! returns is the [`Output`] the checks run on.

use std::path::Path;

use serde_json::{Map, Value};

use crate::run::RunEnv;
use crate::verdict::Output;

/// Everything a target call may use.
pub struct TargetContext<'a> {
    /// The case input (a string or a map of variables).
    pub input: &'a Value,
    /// Variables: suite defaults, variant and case, merged.
    pub vars: &'a Map<String, Value>,
    /// The case's reference output, if any.
    pub expected: Option<&'a Value>,
    /// The suite name.
    pub suite: &'a str,
    /// The case id.
    pub case_id: &'a str,
    /// The variant id, when the case runs under several.
    pub variant: Option<&'a str>,
    /// The folder of the suite file (relative paths resolve here).
    pub suite_dir: &'a Path,
    /// The run: providers, registered functions, mode.
    pub env: &'a RunEnv,
}

/// Why a target call failed: the verdict becomes `error` with this text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);
