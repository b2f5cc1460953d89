//! `pass_fail`, `score` and `reference` judges: every vote on the same
//! prompt; the majority (or the median score) decides.

use serde_json::{Value, json};

use super::KIND;
use super::ask::{Sample, apply_spend, ask, join_all, render, total, unusable};
use super::params::Mode;
use super::parse::Answer;
use super::plan::Plan;
use super::prompt::Material;
use crate::check::CheckCx;
use crate::verdict::CheckResult;

pub(crate) async fn run_direct(plan: &Plan, material: &Material, cx: &CheckCx<'_>) -> CheckResult {
    let prompt = match render(plan, cx, material) {
        Ok(p) => p,
        Err(e) => return CheckResult::error(KIND, cx.name, e),
    };
    let mut calls = Vec::new();
    for judge in &plan.judges {
        for i in 0..plan.votes {
            calls.push(ask(plan, cx, judge, &prompt, i, None));
        }
    }
    let samples = join_all(calls).await;
    let spend = total(&samples);
    let mut evidence = json!({
        "mode": plan.mode.as_str(),
        "votes": samples.iter().map(Sample::evidence).collect::<Vec<_>>(),
        "output_chars": material.output.chars().count(),
    });
    if let Some(r) = unusable(cx, &samples, evidence.clone(), &spend) {
        return r;
    }
    let answers: Vec<&Answer> = samples
        .iter()
        .filter_map(|s| s.answer.as_ref().ok())
        .collect();
    let n = answers.len();
    let mut warnings = Vec::new();
    let mut result = match plan.mode {
        Mode::PassFail | Mode::Conversation => {
            let passes = answers
                .iter()
                .filter(|a| matches!(a, Answer::PassFail { pass: true, .. }))
                .count();
            let fails = n - passes;
            evidence["split"] = json!({"pass": passes, "fail": fails});
            evidence["agreement"] = json!(passes.max(fails) as f64 / n as f64);
            if passes == fails {
                let mut r = CheckResult::error(
                    KIND,
                    cx.name,
                    format!("the judge votes are tied: {passes} pass, {fails} fail"),
                )
                .with_evidence(evidence);
                apply_spend(&mut r, &spend);
                return r;
            }
            let pass = passes > fails;
            if passes > 0 && fails > 0 {
                warnings.push(format!("split vote: {passes} pass, {fails} fail"));
            }
            let critique = answers
                .iter()
                .find(|a| matches!(a, Answer::PassFail { pass: p, .. } if *p == pass))
                .map(|a| a.critique().to_string())
                .unwrap_or_default();
            let reason = if n == 1 {
                format!("the judge said {}", if pass { "pass" } else { "fail" })
            } else {
                format!(
                    "{} of {n} judge votes said {}",
                    passes.max(fails),
                    if pass { "pass" } else { "fail" }
                )
            };
            CheckResult::from_bool(KIND, cx.name, pass, reason).with_critique(critique)
        }
        Mode::Score | Mode::Reference | Mode::Pairwise => {
            let mut scores: Vec<i64> = answers
                .iter()
                .filter_map(|a| match a {
                    Answer::Score { score, .. } => Some(*score),
                    _ => None,
                })
                .collect();
            scores.sort_unstable();
            let Some(&median) = scores.get((scores.len().saturating_sub(1)) / 2) else {
                return CheckResult::error(KIND, cx.name, "the judge gave no score");
            };
            let mut counts = serde_json::Map::new();
            for s in &scores {
                let c = counts.entry(s.to_string()).or_insert(json!(0));
                *c = json!(c.as_u64().unwrap_or(0) + 1);
            }
            evidence["split"] = Value::Object(counts);
            let spread = scores.last().copied().unwrap_or(median) - scores[0];
            if spread >= 2 {
                warnings.push(format!(
                    "the judge votes disagree: scores from {} to {}",
                    scores[0],
                    scores.last().copied().unwrap_or(median)
                ));
            }
            let pass = median as f64 + 1e-9 >= plan.min_score;
            let critique = answers
                .iter()
                .find(|a| matches!(a, Answer::Score { score, .. } if *score == median))
                .map(|a| a.critique().to_string())
                .unwrap_or_default();
            let what = if n == 1 { "score" } else { "median score" };
            let reason = format!(
                "judge {what} {median} on {}–{} ({} {})",
                plan.scale.0,
                plan.scale.1,
                if pass { "meets" } else { "below" },
                fmt_num(plan.min_score)
            );
            let norm = (median - plan.scale.0) as f64 / (plan.scale.1 - plan.scale.0) as f64;
            CheckResult::from_bool(KIND, cx.name, pass, reason)
                .with_score(norm)
                .with_label(format!("{median}/{}", plan.scale.1))
                .with_critique(critique)
        }
    };
    result.evidence = Some(evidence.into());
    result.warnings = warnings;
    apply_spend(&mut result, &spend);
    result
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}
