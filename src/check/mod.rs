//! Checks: what is verified on a target's output. One module per kind.
//!
//! In YAML a check is a mapping with exactly one kind key (its main value)
//! plus the common keys `name`, `weight`, `not` and `when`, and the kind's
//! own options:
//!
//! ```yaml
//! checks:
//!   - contains: refund
//!   - regex: '\d+ days'
//!     name: mentions a delay
//!     weight: 2
//!   - icontains: "as an ai"
//!     not: true
//!   - is_json                      # a kind with no parameters
//!   - judge: {criteria: "Polite and accurate"}
//!     when: passed                 # only when every earlier check passed
//! ```

pub mod ast;
mod dispatch;
pub mod json;
pub mod judge;
pub mod perf;
pub mod rust;
mod spec;
pub mod text;

use std::path::Path;

use serde_json::{Map, Value};

pub use dispatch::run_checks;
pub use spec::{CheckKind, CheckSpec, KINDS, SpecError, When, typed};

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
    /// The suite-level `judge:` block, if any.
    pub judge_defaults: Option<&'a Value>,
    /// The run: providers, registered functions, mode.
    pub env: &'a RunEnv,
}

/// The text a reference-comparing check compares with: the `expected`
/// string, or compact JSON for structured references.
pub fn expected_text(expected: &Value) -> String {
    match expected {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
