//! Judge canaries: after a judge passes an output, it is asked about
//! known-bad variants of that output ([`super::mutate`]). A judge that
//! passes a canary is insensitive to that mutation.
//!
//! Canaries are ordinary judge calls (same prompt, votes and panel, the
//! mutant in place of the output), so they are recorded and replayed like
//! any other call: the mutant is part of the request, so each mutation has
//! its own cassette key. They never change the check's outcome, score or
//! label (the case's verdict and snapshot); they are carried in
//! [`CheckResult::canaries`] and gated by `min_canary_catch` over the whole
//! run (`crate::report::canaries`). Their tokens and cost are kept apart
//! ([`CanaryRun::usage`]) and added to the case's totals, not the check's,
//! so a later `cost` check is not changed by them either.

use super::mutate::Mutation;
use super::params::{Canaries, JudgeParams, Mode};
use super::plan::{Plan, at};
use super::prompt::Material;
use crate::check::{CheckCx, SpecError};
use crate::verdict::{Canary, CanaryOutcome, CanaryRun, CheckResult, Outcome};

/// The characters of a mutant kept in the result.
const MUTANT_CHARS: usize = 300;

/// The canaries and their gate of a merged judge configuration, validated.
pub(super) fn resolve(
    p: &JudgeParams,
    mode: Mode,
) -> Result<(Vec<Mutation>, Option<f64>), SpecError> {
    let mutations = match &p.canaries {
        None | Some(Canaries::All(false)) => Vec::new(),
        Some(Canaries::All(true)) => Mutation::ALL.to_vec(),
        Some(Canaries::List(names)) => {
            let mut out = Vec::new();
            for name in names {
                let Some(m) = Mutation::parse(name) else {
                    let known: Vec<&str> = Mutation::ALL.iter().map(|m| m.as_str()).collect();
                    return Err(at(
                        "canaries",
                        format!("unknown canary `{name}`"),
                        Some(&format!("the canaries are {}", known.join(", "))),
                    ));
                };
                if !out.contains(&m) {
                    out.push(m);
                }
            }
            if out.is_empty() {
                return Err(at(
                    "canaries",
                    "`canaries: []` names no mutation",
                    Some("list mutations, write `canaries: true` for all, or leave `canaries` out"),
                ));
            }
            out
        }
    };
    if let Some(min) = p.min_canary_catch {
        if !(0.0..=1.0).contains(&min) {
            return Err(at(
                "min_canary_catch",
                format!("`min_canary_catch: {min}` is outside [0, 1]"),
                Some("write a share such as 0.9"),
            ));
        }
        if mutations.is_empty() {
            return Err(at(
                "min_canary_catch",
                "`min_canary_catch` is set but the judge asks no canaries",
                Some("add `canaries: true` (or a list of mutations) next to it"),
            ));
        }
    }
    if !mutations.is_empty() && mode == Mode::Conversation {
        return Err(at(
            "canaries",
            "canaries mutate the judged output, and `mode: conversation` judges the whole conversation",
            Some("remove `canaries` from this judge"),
        ));
    }
    Ok((mutations, p.min_canary_catch))
}

/// Asks the judge about every applicable mutation of the output it passed
/// and records the answers (and their spend) on `result`.
pub(super) async fn run(
    plan: &Plan,
    material: &Material,
    cx: &CheckCx<'_>,
    result: &mut CheckResult,
) {
    let context = material.expected.as_deref().unwrap_or(&material.input);
    let mut asked = Vec::new();
    let mut not_applicable = Vec::new();
    for &m in &plan.canaries {
        match m.apply(&material.output, context) {
            Some(mutant) => asked.push((m, mutant)),
            None => not_applicable.push(m.as_str().to_string()),
        }
    }
    let calls: Vec<_> = asked
        .iter()
        .map(|(_, mutant)| {
            let mut bad = material.clone();
            bad.output = mutant.clone();
            async move {
                if plan.mode == Mode::Pairwise {
                    super::pairwise::run_pairwise(plan, &bad, cx).await
                } else {
                    super::direct::run_direct(plan, &bad, cx).await
                }
            }
        })
        .collect();
    let answers = super::ask::join_all(calls).await;
    let mut canaries = Vec::new();
    let mut usage = crate::verdict::Usage::default();
    let mut cost_usd = None;
    for ((m, mutant), answer) in asked.iter().zip(answers) {
        if let Some(u) = answer.usage {
            usage.add(u);
        }
        if let Some(c) = answer.cost_usd {
            cost_usd = Some(cost_usd.unwrap_or(0.0) + c);
        }
        let outcome = match answer.outcome {
            Outcome::Fail => CanaryOutcome::Caught,
            Outcome::Pass => CanaryOutcome::Slipped,
            Outcome::Error | Outcome::Skipped => CanaryOutcome::Error,
        };
        canaries.push(Canary {
            mutation: m.as_str().to_string(),
            outcome,
            reason: answer.reason,
            mutant: crate::text::cut(mutant, MUTANT_CHARS),
        });
    }
    result.canaries = Some(CanaryRun {
        min_catch: plan.min_canary_catch,
        canaries,
        not_applicable,
        usage,
        cost_usd,
    });
}
