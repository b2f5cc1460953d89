//! `ast_equivalent`: deterministic equivalence of generated ASTs and SQL.
//!
//! (Being built: audience ASTs, SQL by differential execution, JSON.)

use serde::Deserialize;

use crate::check::CheckContext;
use crate::verdict::CheckResult;

/// Parameters of an `ast_equivalent` check, as written in YAML.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AstParams {
    /// `audience`, `sql` or `json`.
    pub dialect: String,
}

/// Runs an `ast_equivalent` check on the case output.
pub fn run(_params: &AstParams, ctx: &CheckContext<'_>) -> CheckResult {
    CheckResult::error(
        "ast_equivalent",
        ctx.name,
        "ast_equivalent is not available yet",
    )
}
