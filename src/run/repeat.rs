//! A trial with `repeat: k`: k samples, each its own target call (sample
//! index `0..k`, part of a model call's cassette key), every check run on
//! every sample, and the case's rule ([`crate::repeat::Rule`]) deciding.
//!
//! The verdict keeps one result per check, decided by the rule over that
//! check's samples, with its pass rate and every sample's outcome as
//! evidence and the rate's bucket as its label; then one `repeat` result
//! (weight 0) whose outcome is the case's and whose label is the bucket of
//! the case's pass rate. Scores are left out of the decision: a mean that
//! moves with every sample would churn the snapshot. pass@1 (the pass
//! rate), pass@k (any sample passed) and the rate's Wilson interval are
//! evidence.

use std::time::Instant;

use serde_json::{Value, json};

use super::{RunEnv, SampleOf, check_cx, error_verdict};
use crate::check::{CheckCx, run_checks};
use crate::expand::Trial;
use crate::repeat::{Repeat, bucket};
use crate::report::stats::wilson_interval;
use crate::verdict::{CheckResult, Outcome, Output, Verdict};

/// One sample's output and check results.
struct Sample {
    output: Output,
    checks: Vec<CheckResult>,
    outcome: Outcome,
}

/// Evaluates a trial as `rep.k` samples decided by `rep.rule`.
pub async fn evaluate(env: &RunEnv, trial: &Trial, rep: Repeat) -> Verdict {
    let started = Instant::now();
    let case = trial.case();
    let mut verdict = error_verdict(trial, None);
    let vars = trial.vars();
    let mut samples: Vec<Sample> = Vec::with_capacity(rep.k as usize);
    for i in 0..rep.k {
        let output = match env.sample_output(trial, None, i).await {
            Ok(o) => o,
            Err(e) => {
                verdict.error = Some(format!("sample {} of {}: {e}", i + 1, rep.k));
                verdict.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
                return verdict;
            }
        };
        let view = SampleOf { env, sample: i };
        let base = CheckCx {
            baselines: &view,
            ..check_cx(env, trial, &vars, &output)
        };
        let checks = run_checks(&case.checks, &base).await;
        let (outcome, _) = Verdict::conclude(&checks, case.threshold);
        if let Some(u) = output.usage {
            verdict.usage.add(u);
        }
        let mut cost = output.cost_usd;
        for c in &checks {
            if let Some(u) = c.usage {
                verdict.usage.add(u);
            }
            if let Some(x) = c.cost_usd {
                cost = Some(cost.unwrap_or(0.0) + x);
            }
        }
        if let Some(c) = cost {
            verdict.cost_usd = Some(verdict.cost_usd.unwrap_or(0.0) + c);
        }
        samples.push(Sample {
            output,
            checks,
            outcome,
        });
    }
    let mut checks = aggregate_checks(&samples, rep);
    let passed = samples
        .iter()
        .filter(|s| s.outcome == Outcome::Pass)
        .count() as u32;
    let errored: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].outcome == Outcome::Error)
        .collect();
    let outcome = if !errored.is_empty() {
        Outcome::Error
    } else if rep.rule.holds(passed, rep.k) {
        Outcome::Pass
    } else {
        Outcome::Fail
    };
    checks.push(repeat_result(&samples, rep, passed, outcome));
    verdict.outcome = outcome;
    verdict.score = f64::from(passed) / f64::from(rep.k);
    if let Some(&i) = errored.first() {
        let why = Verdict::undecided(&samples[i].checks).or_else(|| {
            samples[i]
                .checks
                .iter()
                .find(|c| c.outcome == Outcome::Error)
                .map(|c| format!("check `{}`: {}", c.name, c.reason))
        });
        verdict.error = Some(format!(
            "sample {} of {} could not be decided: {} (an undecided sample is neither a pass nor a fail)",
            i + 1,
            rep.k,
            why.unwrap_or_else(|| "unknown error".into())
        ));
        verdict.score = 0.0;
    }
    verdict.checks = checks;
    verdict.output = samples.into_iter().next().map(|s| s.output);
    verdict.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    verdict
}

/// One result per check: the rule over the samples where the check ran.
fn aggregate_checks(samples: &[Sample], rep: Repeat) -> Vec<CheckResult> {
    let Some(first) = samples.first() else {
        return Vec::new();
    };
    (0..first.checks.len())
        .map(|j| {
            let per: Vec<&CheckResult> = samples.iter().filter_map(|s| s.checks.get(j)).collect();
            let head = per[0];
            let ran: Vec<&&CheckResult> =
                per.iter().filter(|c| c.outcome != Outcome::Skipped).collect();
            let passed = ran.iter().filter(|c| c.outcome == Outcome::Pass).count() as u32;
            let n = ran.len() as u32;
            let error = per.iter().position(|c| c.outcome == Outcome::Error);
            let outcome = if error.is_some() {
                Outcome::Error
            } else if n == 0 {
                Outcome::Skipped
            } else if rep.rule.holds(passed, n) {
                Outcome::Pass
            } else {
                Outcome::Fail
            };
            let reason = match error {
                Some(i) => format!("sample {}: {}", i + 1, per[i].reason),
                None if n == 0 => head.reason.clone(),
                None => {
                    let failing = per
                        .iter()
                        .position(|c| c.outcome == Outcome::Fail)
                        .map(|i| format!("; first failing sample {}: {}", i + 1, per[i].reason))
                        .unwrap_or_default();
                    format!(
                        "{passed}/{n} samples passed (rule: {}){failing}",
                        rep.rule.describe()
                    )
                }
            };
            let mut r = CheckResult::new(&head.kind, &head.name, outcome, reason);
            r.weight = head.weight;
            r.location = head.location.clone();
            if n > 0 && error.is_none() {
                r.label = Some(bucket(passed, n).to_string());
            }
            let scores: Vec<f64> = per.iter().filter_map(|c| c.score).collect();
            let mut evidence = json!({
                "pass_rate": if n == 0 { Value::Null } else { json!(f64::from(passed) / f64::from(n)) },
                "samples": per.iter().enumerate().map(|(i, c)| sample_evidence(i, c)).collect::<Vec<_>>(),
            });
            if !scores.is_empty() {
                evidence["mean_score"] = json!(scores.iter().sum::<f64>() / scores.len() as f64);
            }
            r.evidence = Some(evidence.into());
            let mut warnings: Vec<String> = Vec::new();
            for c in &per {
                for w in &c.warnings {
                    if !warnings.contains(w) {
                        warnings.push(w.clone());
                    }
                }
            }
            r.warnings = warnings;
            r
        })
        .collect()
}

fn sample_evidence(i: usize, c: &CheckResult) -> Value {
    let mut v = json!({"sample": i + 1, "outcome": c.outcome.as_str()});
    if let Some(s) = c.score {
        v["score"] = json!(s);
    }
    if let Some(l) = &c.label {
        v["label"] = json!(l);
    }
    if let Some(split) = c.evidence.as_ref().and_then(|e| e.get("split")) {
        v["split"] = split;
    }
    v
}

/// The `repeat` result: the case's samples under its rule.
fn repeat_result(samples: &[Sample], rep: Repeat, passed: u32, outcome: Outcome) -> CheckResult {
    let (lo, hi) = wilson_interval(u64::from(passed), u64::from(rep.k), 0.95);
    let name = format!("repeat {} ({})", rep.k, rep.rule.describe());
    let reason = format!(
        "{passed}/{} samples passed (rule: {}); pass@1 {:.2}, pass@{} {}",
        rep.k,
        rep.rule.describe(),
        f64::from(passed) / f64::from(rep.k),
        rep.k,
        if passed > 0 { "yes" } else { "no" },
    );
    let mut r = CheckResult::new("repeat", &name, outcome, reason)
        .with_label(bucket(passed, rep.k))
        .with_evidence(json!({
            "k": rep.k,
            "rule": rep.rule.describe(),
            "passed": passed,
            "pass_at_1": f64::from(passed) / f64::from(rep.k),
            "pass_at_k": passed > 0,
            "wilson_95": [lo, hi],
            "samples": samples.iter().enumerate().map(|(i, s)| json!({
                "sample": i + 1,
                "outcome": s.outcome.as_str(),
                "output": crate::text::cut(&s.output.text, 120),
            })).collect::<Vec<_>>(),
        }));
    r.weight = 0.0;
    r
}
