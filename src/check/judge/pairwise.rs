//! `pairwise` judges: the output against a baseline, asked in both orders;
//! a preference that flips with the order is reported as position bias.

use serde_json::{Value, json};

use super::KIND;
use super::ask::{Sample, apply_spend, ask, join_all, render, total, unusable};
use super::parse::{Answer, Winner};
use super::plan::Plan;
use super::prompt::Material;
use crate::check::CheckCx;
use crate::verdict::{CheckResult, Outcome};

/// The pairwise label of one sample from its two orders. In the first order
/// the trial's output is A; in the second it is B.
fn combine(first: Winner, second: Winner) -> &'static str {
    match (first, second) {
        (Winner::A, Winner::B) => "a",
        (Winner::B, Winner::A) => "b",
        (Winner::Tie, Winner::Tie) => "tie",
        _ => "inconsistent",
    }
}

pub(crate) async fn run_pairwise(
    plan: &Plan,
    material: &Material,
    cx: &CheckCx<'_>,
) -> CheckResult {
    let other = material.other.clone().unwrap_or_default();
    let forward = material.clone();
    let mut backward = material.clone();
    backward.output = other;
    backward.other = Some(material.output.clone());
    let prompts = match (render(plan, cx, &forward), render(plan, cx, &backward)) {
        (Ok(f), Ok(b)) => (f, b),
        (Err(e), _) | (_, Err(e)) => return CheckResult::error(KIND, cx.name, e),
    };
    let mut calls = Vec::new();
    for judge in &plan.judges {
        for i in 0..plan.votes {
            calls.push(ask(
                plan,
                cx,
                judge,
                &prompts.0,
                2 * i,
                Some("output_first"),
            ));
            calls.push(ask(
                plan,
                cx,
                judge,
                &prompts.1,
                2 * i + 1,
                Some("baseline_first"),
            ));
        }
    }
    let samples = join_all(calls).await;
    let spend = total(&samples);
    let mut evidence = json!({
        "mode": "pairwise",
        "votes": samples.iter().map(Sample::evidence).collect::<Vec<_>>(),
        "output_chars": material.output.chars().count(),
        "baseline_chars": material.other.as_deref().map(|o| o.chars().count()),
    });
    if let Some(r) = unusable(cx, &samples, evidence.clone(), &spend) {
        return r;
    }
    let mut labels: Vec<&'static str> = Vec::new();
    let mut critiques: Vec<String> = Vec::new();
    for pair in samples.chunks(2) {
        if let [f, b] = pair
            && let (
                Ok(Answer::Pairwise {
                    winner: wf,
                    reasoning: rf,
                }),
                Ok(Answer::Pairwise {
                    winner: wb,
                    reasoning: rb,
                }),
            ) = (&f.answer, &b.answer)
        {
            labels.push(combine(*wf, *wb));
            critiques.push(format!(
                "Output shown first: {rf}\n\nBaseline shown first: {rb}"
            ));
        }
    }
    let n = labels.len();
    let mut counts = serde_json::Map::new();
    for l in &labels {
        let c = counts.entry(l.to_string()).or_insert(json!(0));
        *c = json!(c.as_u64().unwrap_or(0) + 1);
    }
    evidence["split"] = Value::Object(counts.clone());
    let top = ["a", "b", "tie", "inconsistent"]
        .into_iter()
        .map(|l| (l, labels.iter().filter(|x| **x == l).count()))
        .max_by_key(|(_, c)| *c);
    let Some((label, count)) = top.filter(|(_, c)| 2 * c > n) else {
        let mut r = CheckResult::error(
            KIND,
            cx.name,
            format!(
                "no majority among the pairwise judge votes: {}",
                Value::Object(counts)
            ),
        )
        .with_evidence(evidence);
        apply_spend(&mut r, &spend);
        return r;
    };
    let mut warnings = Vec::new();
    if count < n {
        warnings.push(format!("split vote: {count} of {n} votes gave `{label}`"));
    }
    let (outcome, score, reason) = match label {
        "a" => (
            Outcome::Pass,
            Some(1.0),
            "the judge preferred this output in both orders",
        ),
        "tie" => (
            Outcome::Pass,
            Some(0.5),
            "the judge found the outputs equally good in both orders",
        ),
        "b" => (
            Outcome::Fail,
            Some(0.0),
            "the judge preferred the baseline in both orders",
        ),
        _ => {
            warnings.push(
                "position bias: the judge's preference changed when the outputs were swapped"
                    .into(),
            );
            (
                Outcome::Fail,
                None,
                "inconsistent: the judge's preference depended on the order of the outputs",
            )
        }
    };
    let critique = labels
        .iter()
        .position(|l| *l == label)
        .and_then(|i| critiques.get(i).cloned())
        .unwrap_or_default();
    let mut r = CheckResult::new(KIND, cx.name, outcome, reason)
        .with_label(label)
        .with_critique(critique)
        .with_evidence(evidence);
    r.score = score;
    r.warnings = warnings;
    apply_spend(&mut r, &spend);
    r
}
