//! What a check sees: [`ParseCx`] while it is parsed at load, [`CheckCx`]
//! when it runs on one trial's output.

use std::path::Path;

use serde_json::{Map, Value};

use super::judge::SuiteJudge;
use crate::diag::Span;
use crate::provider::BoxFuture;
use crate::services::Services;
use crate::verdict::{CheckResult, Output};

/// What parsing a check may know besides its own YAML: where it is written,
/// the suite around it, and the names it may refer to.
#[derive(Debug, Clone, Copy)]
pub struct ParseCx<'a> {
    /// Where the check is written (its list item).
    pub span: &'a Span,
    /// The folder of the suite file: relative paths in checks resolve here,
    /// and files they name are read once, at load.
    pub suite_dir: &'a Path,
    /// The suite's `judge:` block, parsed.
    pub judge: &'a SuiteJudge,
    /// The registered Rust check names, when known (a misspelled one is then
    /// a load error).
    pub rust_checks: Option<&'a [String]>,
    /// The display names of the checks before this one in its case (for
    /// `when:`).
    pub earlier: &'a [String],
    /// The display names of the checks after it (a `when:` naming one of
    /// them is told so).
    pub later: &'a [String],
    /// The tools the case's target offers the model (`tools:` of a
    /// `prompt` target), each with the JSON Schema of its arguments:
    /// `tool_args` validates against them when it gives no `schemas:`.
    pub target_tools: &'a [(String, Value)],
}

impl<'a> ParseCx<'a> {
    /// A context for a check written at `span`, in a suite in `suite_dir`
    /// with the `judge:` block `judge`; no Rust check names known and no
    /// earlier checks.
    pub fn new(span: &'a Span, suite_dir: &'a Path, judge: &'a SuiteJudge) -> Self {
        ParseCx {
            span,
            suite_dir,
            judge,
            rust_checks: None,
            earlier: &[],
            later: &[],
            target_tools: &[],
        }
    }
}

/// The trial a check runs for, as the check may see it.
#[derive(Debug, Clone, Copy)]
pub struct TrialView<'a> {
    /// The suite name.
    pub suite: &'a str,
    /// The case id.
    pub case_id: &'a str,
    /// The variant id, when the case runs under several.
    pub variant: Option<&'a str>,
    /// The case input (a string or a map of variables).
    pub input: &'a Value,
    /// The case's reference output, if any.
    pub expected: Option<&'a Value>,
    /// Variables: suite defaults, variant and case, merged.
    pub vars: &'a Map<String, Value>,
    /// The case tags.
    pub tags: &'a [String],
    /// The folder of the suite file.
    pub suite_dir: &'a Path,
}

/// The outputs of other trials of the run, for pairwise judges that compare a
/// variant with a baseline variant of the same case. The evaluation
/// implements it; a check never sees the run itself.
pub trait Baselines: Sync {
    /// The target output of `variant` of `case_id` in `suite`, calling its
    /// target if it has not run yet; `None` when no such trial exists or its
    /// target failed.
    fn output_of<'a>(
        &'a self,
        suite: &'a str,
        case_id: &'a str,
        variant: &'a str,
    ) -> BoxFuture<'a, Option<Output>>;

    /// The target output of the trial `suite::case_id[::variant]` called on
    /// another `input` (an invariance check's equivalent input), as the
    /// sample the check runs for. The call is made like the trial's own
    /// (the same target, variables and cassettes: the recorded request
    /// differs by its input, so each input has its own cassette) and at most
    /// once per run. An error says why no output exists.
    fn output_for<'a>(
        &'a self,
        suite: &'a str,
        case_id: &'a str,
        variant: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<Output, String>> {
        let _ = (suite, case_id, variant, input);
        Box::pin(std::future::ready(Err(
            "no run to call the target in (an invariance check runs inside a suite run)".into(),
        )))
    }
}

/// No other trials: every baseline variant is missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBaselines;

impl Baselines for NoBaselines {
    fn output_of<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, Option<Output>> {
        Box::pin(std::future::ready(None))
    }
}

/// Everything a check may look at while it runs.
#[derive(Clone, Copy)]
pub struct CheckCx<'a> {
    /// The display name of this check (YAML `name`, or derived).
    pub name: &'a str,
    /// The trial.
    pub trial: TrialView<'a>,
    /// What the target returned.
    pub output: &'a Output,
    /// Results of the checks before this one.
    pub prior: &'a [CheckResult],
    /// Providers, registered functions, the project root, label files.
    pub services: &'a Services,
    /// Other trials' outputs (pairwise baselines).
    pub baselines: &'a dyn Baselines,
    /// Whether judges with `canaries:` ask them about the outputs they pass.
    /// False when `tribunal align` re-judges labelled outputs: alignment
    /// measures the judge against the expert, and canary calls there would
    /// only cost (their catch rate belongs to the suite's runs).
    pub canaries: bool,
}
