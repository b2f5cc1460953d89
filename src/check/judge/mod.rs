//! `judge`: LLM judges that can be trusted.
//!
//! Modes: `pass_fail` (verdict plus a detailed critique), `score` (a discrete
//! scale, reasoning first), `reference` (a score against the case's
//! `expected`), `pairwise` (the output against a baseline, asked in both
//! orders), and `conversation` (pass/fail on the whole conversation). Any mode can sample several votes or ask a panel of judges; the
//! majority decides and the split is recorded in the evidence.
//!
//! The judge never passes a case it could not decide: an unparseable answer,
//! a missing or out-of-range field, a refusal or a provider failure is an
//! `error` result with the raw answer in the reason and the evidence. Its
//! configuration is validated when the suite loads (`plan.rs`). See
//! `docs/judges.md` for the YAML.

mod ask;
mod canary;
mod direct;
pub mod mutate;
mod pairwise;
mod params;
pub mod parse;
mod plan;
pub mod prompt;

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// The call site of a check's model calls (cassettes are filed by it).
pub(crate) use ask::site;
pub use params::{Baseline, Canaries, JudgeParams, Mode, Rubric, SuiteJudge};
pub use plan::MAX_CALLS;
use plan::{BaselineSource, Plan};
use prompt::{Example, Material};

use crate::check::{Check, CheckCx, Kind, ParseCx, Parsed, SpecError};
use crate::provider::BoxFuture;
use crate::text::{of_input, of_value};
use crate::verdict::{CheckResult, Outcome};

const KIND: &str = "judge";

/// The `judge` check kind, its plan resolved and validated at load.
#[derive(Debug, Clone)]
pub struct JudgeCheck {
    plan: Plan,
}

impl JudgeCheck {
    /// A judge from its YAML value (a map, a bare `judge`, or criteria text)
    /// and the suite's `judge:` block.
    pub fn from_value(main: &Value, cx: &ParseCx<'_>) -> Result<Self, SpecError> {
        Self::resolve(&plan::params_of(main)?, cx)
    }

    /// A judge from its parameters and the suite's `judge:` block.
    pub fn resolve(params: &JudgeParams, cx: &ParseCx<'_>) -> Result<Self, SpecError> {
        Ok(JudgeCheck {
            plan: Plan::resolve(params, cx)?,
        })
    }
}

impl Kind for JudgeCheck {
    const NAMES: &'static [&'static str] = &["judge"];

    fn parse(p: &Parsed<'_>, cx: &ParseCx<'_>) -> Result<Self, SpecError> {
        Self::from_value(p.main, cx)
    }
}

impl Check for JudgeCheck {
    fn run<'a>(&'a self, cx: &'a CheckCx<'a>) -> BoxFuture<'a, CheckResult> {
        Box::pin(run(&self.plan, cx))
    }
}

async fn run(plan: &Plan, cx: &CheckCx<'_>) -> CheckResult {
    if let Some(why) = &plan.no_provider {
        return CheckResult::error(KIND, cx.name, why.clone());
    }
    let material = match material(plan, cx).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return CheckResult::new(
                KIND,
                cx.name,
                Outcome::Skipped,
                "skipped: this trial is the pairwise baseline",
            );
        }
        Err(e) => return CheckResult::error(KIND, cx.name, e),
    };
    let mut result = if plan.mode == Mode::Pairwise {
        pairwise::run_pairwise(plan, &material, cx).await
    } else {
        direct::run_direct(plan, &material, cx).await
    };
    result.warnings.extend(self_enhancement(plan, cx));
    match human_label(plan, cx) {
        Ok(h) => result.human = h,
        Err(w) => result.warnings.push(w),
    }
    if cx.canaries && !plan.canaries.is_empty() && result.outcome == Outcome::Pass {
        canary::run(plan, &material, cx, &mut result).await;
    }
    result
}

/// The human label of this trial's output for this judge, from the suite's
/// label file (a label for this check by name, else one for every judge of
/// the case); `Err` is a warning: the label file cannot be read.
fn human_label(
    plan: &Plan,
    cx: &CheckCx<'_>,
) -> Result<Option<crate::verdict::HumanLabel>, String> {
    let path = cx
        .services
        .labels_path(cx.trial.suite, plan.labels.as_deref());
    let file = match crate::labels::LabelFile::load_cached(&path) {
        Ok(Some(f)) => f,
        Ok(None) => return Ok(None),
        Err(e) => {
            return Err(format!(
                "human labels not used for calibration: {e} (hint: fix the file or run `tribunal label --suite {}`)",
                cx.trial.suite
            ));
        }
    };
    let Some(label) = file
        .find(cx.trial.case_id, cx.trial.variant, Some(cx.name))
        .or_else(|| file.find(cx.trial.case_id, cx.trial.variant, None))
    else {
        return Ok(None);
    };
    Ok(Some(crate::verdict::HumanLabel {
        pass: label.verdict.is_pass(),
        fresh: label.matches_output(&cx.output.text),
        few_shot: crate::labels::split::in_pool(&file, plan.few_shot, label),
        date: label.date.clone(),
        tags: label.tags.clone(),
        critique: crate::text::one_line(&label.critique, 300),
    }))
}

/// What the judge is shown for this trial; `None` when the trial is the
/// pairwise baseline itself.
async fn material(plan: &Plan, cx: &CheckCx<'_>) -> Result<Option<Material>, String> {
    let expected = match plan.mode {
        Mode::Reference => Some(of_value(cx.trial.expected.ok_or_else(|| {
            "`mode: reference` grades against the case's `expected`, and this case has none"
                .to_string()
        })?)),
        _ => cx.trial.expected.map(of_value),
    };
    let examples = match plan.few_shot {
        0 => Vec::new(),
        n => few_shot(cx, plan.labels.as_deref(), n)?,
    };
    let other = match &plan.baseline {
        None => None,
        Some(BaselineSource::Text(t)) => Some(t.clone()),
        Some(BaselineSource::Variant(v)) if cx.trial.variant == Some(v.as_str()) => {
            return Ok(None);
        }
        Some(BaselineSource::Variant(v)) => Some(
            cx.baselines
                .output_of(cx.trial.suite, cx.trial.case_id, v)
                .await
                .map(|o| o.text)
                .ok_or_else(|| {
                    format!(
                        "no output from the baseline variant `{v}` of this case (no such variant, or its target failed)"
                    )
                })?,
        ),
    };
    if plan.mode == Mode::Conversation && cx.output.conversation.is_empty() {
        return Err(
            "`mode: conversation` judges the conversation, and this output has none (the target reports no messages)"
                .to_string(),
        );
    }
    Ok(Some(Material {
        input: of_input(cx.trial.input),
        output: cx.output.text.clone(),
        expected,
        other,
        examples,
        conversation: cx.output.conversation.clone(),
        tool_calls: cx.output.tool_calls.clone(),
        steps: cx
            .output
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.output.text.clone()))
            .collect(),
    }))
}

/// The judge's few-shot examples: its fixed few-shot pool
/// ([`crate::labels::split`]: `n` labels by id hash, alternating fail and
/// pass), never the label of the case being judged (leave-one-out). Labels
/// outside the pool are held out: agreement is measured on them only.
fn few_shot(cx: &CheckCx<'_>, labels: Option<&str>, n: usize) -> Result<Vec<Example>, String> {
    let suite = cx.trial.suite;
    let path = cx.services.labels_path(suite, labels);
    let Some(file) = crate::labels::LabelFile::load_cached(&path).map_err(|e| e.to_string())?
    else {
        return Err(format!(
            "`few_shot` asks for labelled examples but {} does not exist (create it with `tribunal label --suite {suite}`)",
            path.display(),
        ));
    };
    Ok(crate::labels::split::few_shot_pool(&file, n)
        .into_iter()
        .filter(|l| l.case != cx.trial.case_id)
        .map(|l| Example {
            input: l.input.clone().unwrap_or_default(),
            output: l.output.clone(),
            verdict: match l.score {
                Some(s) => format!("{} (score {s})", l.verdict.as_str()),
                None => l.verdict.as_str().to_string(),
            },
            critique: l.critique.clone(),
        })
        .collect())
}

static DATE_SUFFIX: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(-\d{4}-?\d{2}-?\d{2}|-latest|-\d{3,4})$").ok());

/// A model name reduced for comparison: lower case, no provider prefix, no
/// date or `-latest` suffix.
pub fn model_key(model: &str) -> String {
    let m = model.trim().to_ascii_lowercase();
    let m = m.rsplit(['/', ':']).next().unwrap_or(&m).to_string();
    match DATE_SUFFIX.as_ref() {
        Some(re) => re.replace(&m, "").into_owned(),
        None => m,
    }
}

/// Warnings when a judge model is the model that produced the output.
fn self_enhancement(plan: &Plan, cx: &CheckCx<'_>) -> Vec<String> {
    let Some(target) = cx.output.model.as_deref().filter(|m| !m.trim().is_empty()) else {
        return Vec::new();
    };
    let t = model_key(target);
    let mut out = Vec::new();
    for j in &plan.judges {
        let judge_model = if j.model.is_empty() {
            &j.spec
        } else {
            &j.model
        };
        if model_key(judge_model) == t {
            out.push(format!(
                "self-enhancement risk: the judge `{}` is the model that produced the output (`{target}`); LLM judges favour their own outputs, use a different judge model",
                j.spec
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
