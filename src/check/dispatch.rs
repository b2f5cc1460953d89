//! Running a case's checks in order: `when:` conditions, negation, weights.

use super::spec::{CheckKind, CheckSpec, When};
use super::{CheckContext, ast, judge};
use crate::verdict::{CheckResult, Outcome};

/// Runs the checks in order and returns one result per check.
pub async fn run_checks(specs: &[CheckSpec], base: &CheckContext<'_>) -> Vec<CheckResult> {
    let mut results: Vec<CheckResult> = Vec::with_capacity(specs.len());
    for spec in specs {
        let ctx = CheckContext {
            name: &spec.name,
            prior: &results,
            ..*base
        };
        let result = match condition(spec, &results) {
            Err(reason) => CheckResult::error(spec.kind_name, &spec.name, reason),
            Ok(Some(reason)) => {
                CheckResult::new(spec.kind_name, &spec.name, Outcome::Skipped, reason)
            }
            Ok(None) => finish(spec, run_one(spec, &ctx).await),
        };
        results.push(result);
    }
    results
}

async fn run_one(spec: &CheckSpec, ctx: &CheckContext<'_>) -> CheckResult {
    match &spec.kind {
        CheckKind::Equals(c) => c.run(ctx),
        CheckKind::Contains(c) => c.run(ctx),
        CheckKind::Affix(c) => c.run(ctx),
        CheckKind::Regex(c) => c.run(ctx),
        CheckKind::Count(c) => c.run(ctx),
        CheckKind::Similarity(c) => c.run(ctx),
        CheckKind::IsJson(c) => c.run(ctx),
        CheckKind::JsonPath(c) => c.run(ctx),
        CheckKind::Latency(c) => c.run(ctx),
        CheckKind::Cost(c) => c.run(ctx),
        CheckKind::Rust(c) => c.run(ctx),
        CheckKind::Ast(p, fallback) => {
            let result = ast::run(p, ctx);
            let fallback = fallback.as_deref().cloned().or_else(|| {
                (p.on_unknown == ast::OnUnknown::Fallback).then(judge::JudgeParams::default)
            });
            match &fallback {
                Some(judge_params) if result.label.as_deref() == Some("unknown") => {
                    // Equivalence could not be decided: the judge decides, and
                    // says so; the AST evidence stays attached.
                    let mut judged = judge::run(judge_params, ctx).await;
                    let mut evidence = serde_json::Map::new();
                    evidence.insert("ast".into(), result.evidence.clone().unwrap_or_default());
                    if let Some(j) = judged.evidence.take() {
                        evidence.insert("judge".into(), j);
                    }
                    judged.evidence = Some(serde_json::Value::Object(evidence));
                    judged.reason = format!(
                        "equivalence unknown ({}); judged instead: {}",
                        result.reason, judged.reason
                    );
                    judged.label = Some(format!(
                        "unknown→judge:{}",
                        judged.label.as_deref().unwrap_or(judged.outcome.as_str())
                    ));
                    judged
                }
                _ => result,
            }
        }
        CheckKind::Judge(p) => judge::run(p, ctx).await,
    }
}

/// Applies weight and negation. Errors and skips are never negated.
fn finish(spec: &CheckSpec, mut result: CheckResult) -> CheckResult {
    result.weight = spec.weight;
    result.kind = spec.kind_name.to_string();
    result.name = spec.name.clone();
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
    result
}

/// `Ok(None)`: run. `Ok(Some(reason))`: skip. `Err`: the condition is invalid.
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
