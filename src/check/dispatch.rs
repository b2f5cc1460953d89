//! Running a case's checks in order, and the combinators every kind shares:
//! `when:` conditions, `not:` negation, `weight:`, and [`Fallback`] (a second
//! check that decides when the first could not, as `ast_equivalent` hands an
//! `unknown` to a judge).

use serde_json::Value;

use super::Check;
use super::context::CheckCx;
use super::spec::{CheckSpec, When};
use crate::provider::BoxFuture;
use crate::verdict::{CheckResult, Outcome};

/// Runs the checks in order and returns one result per check. `base` is the
/// context of the trial; its `name` and `prior` are set per check.
pub async fn run_checks(specs: &[CheckSpec], base: &CheckCx<'_>) -> Vec<CheckResult> {
    let mut results: Vec<CheckResult> = Vec::with_capacity(specs.len());
    for spec in specs {
        let result = match condition(spec, &results) {
            Err(reason) => located(spec, CheckResult::error(spec.kind_name, &spec.name, reason)),
            Ok(Some(reason)) => located(
                spec,
                CheckResult::new(spec.kind_name, &spec.name, Outcome::Skipped, reason),
            ),
            Ok(None) => {
                let cx = CheckCx {
                    prior: &results,
                    ..*base
                };
                run_check(spec, &cx).await
            }
        };
        results.push(result);
    }
    results
}

/// Runs one check with its negation and weight (not its `when:`, which
/// depends on the checks before it: see [`run_checks`]).
pub async fn run_check(spec: &CheckSpec, base: &CheckCx<'_>) -> CheckResult {
    let cx = CheckCx {
        name: &spec.name,
        ..*base
    };
    let result = spec.check.run(&cx).await;
    finish(spec, result)
}

/// Applies weight and negation, and records where the check is written.
/// Errors and skips are never negated.
fn finish(spec: &CheckSpec, mut result: CheckResult) -> CheckResult {
    result.weight = spec.weight;
    if spec.negate {
        result.outcome = match result.outcome {
            Outcome::Pass => Outcome::Fail,
            Outcome::Fail => Outcome::Pass,
            other => other,
        };
        if matches!(result.outcome, Outcome::Pass | Outcome::Fail) {
            result.reason = format!("(negated) {}", result.reason);
        }
    }
    located(spec, result)
}

fn located(spec: &CheckSpec, mut result: CheckResult) -> CheckResult {
    result.kind = spec.kind_name.to_string();
    result.name = spec.name.clone();
    result.location = Some(spec.span.clone());
    result
}

/// `Ok(None)`: run. `Ok(Some(reason))`: skip. `Err`: the condition is invalid
/// (names are validated at load; this guards checks built in code).
fn condition(spec: &CheckSpec, prior: &[CheckResult]) -> Result<Option<String>, String> {
    let Some(when) = &spec.when else {
        return Ok(None);
    };
    let ran = || prior.iter().filter(|c| c.outcome != Outcome::Skipped);
    let find = |name: &String| -> Result<&CheckResult, String> {
        prior.iter().find(|c| &c.name == name).ok_or_else(|| {
            let names: Vec<String> = prior.iter().map(|c| format!("`{}`", c.name)).collect();
            format!(
                "`when` names `{name}`, which is not an earlier check of this case (earlier checks: {})",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )
        })
    };
    let (run, why) = match when {
        When::Passed => (
            ran().all(|c| c.outcome == Outcome::Pass),
            "not every earlier check passed",
        ),
        When::Failed => (
            ran().any(|c| c.outcome != Outcome::Pass),
            "every earlier check passed",
        ),
        When::NamedPassed(names) => {
            let mut all = true;
            for n in names {
                all &= find(n)?.outcome == Outcome::Pass;
            }
            (all, "a named earlier check did not pass")
        }
        When::NamedFailed(names) => {
            let mut any = false;
            for n in names {
                let o = find(n)?.outcome;
                any |= o == Outcome::Fail || o == Outcome::Error;
            }
            (any, "no named earlier check failed")
        }
    };
    Ok(if run {
        None
    } else {
        Some(format!("skipped: {why}"))
    })
}

/// A check that hands over to another when its result carries an undecided
/// label: the second check decides, the first one's evidence stays attached
/// under `first_key`, and the label records `<label>→<then_key>:<verdict>`.
#[derive(Debug)]
pub struct Fallback<A, B> {
    /// The check that runs first.
    pub first: A,
    /// The check that decides when the first is undecided.
    pub then: B,
    /// The label of an undecided first result (`unknown`).
    pub undecided: &'static str,
    /// How the first check's undecided result reads (`equivalence unknown`).
    pub what: &'static str,
    /// Evidence key of the first check (`ast`).
    pub first_key: &'static str,
    /// Evidence and label key of the second check (`judge`).
    pub then_key: &'static str,
}

impl<A: Check, B: Check> Check for Fallback<A, B> {
    fn run<'a>(&'a self, cx: &'a CheckCx<'a>) -> BoxFuture<'a, CheckResult> {
        Box::pin(async move {
            let result = self.first.run(cx).await;
            if result.label.as_deref() != Some(self.undecided) {
                return result;
            }
            let mut judged = self.then.run(cx).await;
            let mut evidence = serde_json::Map::new();
            evidence.insert(
                self.first_key.into(),
                result.evidence.clone().unwrap_or_default(),
            );
            if let Some(j) = judged.evidence.take() {
                evidence.insert(self.then_key.into(), j);
            }
            judged.evidence = Some(Value::Object(evidence));
            judged.reason = format!(
                "{} ({}); judged instead: {}",
                self.what, result.reason, judged.reason
            );
            judged.label = Some(format!(
                "{}→{}:{}",
                self.undecided,
                self.then_key,
                judged.label.as_deref().unwrap_or(judged.outcome.as_str())
            ));
            judged
        })
    }
}
