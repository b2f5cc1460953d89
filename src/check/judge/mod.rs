//! `judge`: LLM judges (pass/fail with critique, scores, reference, pairwise, votes).
//!
//! (Being built.)

use serde::Deserialize;

use crate::check::CheckContext;
use crate::verdict::CheckResult;

/// Parameters of a `judge` check, as written in YAML.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeParams {
    /// `pass_fail` (default), `score`, `reference` or `pairwise`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The criteria the judge applies.
    #[serde(default)]
    pub criteria: Option<String>,
}

/// Runs a `judge` check on the case output.
pub async fn run(_params: &JudgeParams, ctx: &CheckContext<'_>) -> CheckResult {
    CheckResult::error("judge", ctx.name, "judge is not available yet")
}
