//! Synthetic runs for examples, benchmarks and tests: deterministic,
//! realistic-looking records (several suites, tags, variants, failures with
//! critiques, latency and cost) made from a seed, with no model call.

use std::time::{Duration, UNIX_EPOCH};

use super::results::{GitInfo, RESULTS_SCHEMA, RunResults, rfc3339};
use crate::rng::Rng;
use crate::verdict::{CheckResult, Gate, Outcome, Output, Status, TrialRecord, Usage, Verdict};

/// One trial record with the given name, outcome, status and measurements.
/// `trial` is `suite::case` or `suite::case::variant`.
pub fn record(
    trial: &str,
    outcome: Outcome,
    status: Status,
    score: f64,
    tags: &[&str],
    latency_ms: f64,
    cost_usd: f64,
) -> TrialRecord {
    let mut parts = trial.splitn(3, "::");
    let suite = parts.next().unwrap_or("suite").to_string();
    let case = parts.next().unwrap_or("case").to_string();
    let variant = parts.next().map(str::to_string);
    let check = match outcome {
        Outcome::Pass => CheckResult::new("judge", "judge helpfulness", Outcome::Pass, "meets the rubric")
            .with_score(score),
        Outcome::Fail => CheckResult::new(
            "judge",
            "judge helpfulness",
            Outcome::Fail,
            "the answer ignores the refund policy",
        )
        .with_score(score)
        .with_critique("The reply promises a refund after 30 days, which the policy forbids; it should offer store credit instead."),
        Outcome::Error => CheckResult::error("judge", "judge helpfulness", "judge answer had no verdict"),
        Outcome::Skipped => CheckResult::new("judge", "judge helpfulness", Outcome::Skipped, "when: false"),
    };
    TrialRecord {
        verdict: Box::new(Verdict {
            suite: suite.clone(),
            case: case.clone(),
            variant,
            trial: trial.to_string(),
            outcome,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            score,
            threshold: 1.0,
            gate: Gate::Snapshot,
            checks: vec![check],
            output: Some(Output {
                text: format!("answer for {case}"),
                latency_ms: Some(latency_ms),
                cost_usd: Some(cost_usd),
                usage: Some(Usage {
                    input_tokens: 120,
                    output_tokens: 80,
                }),
                ..Output::default()
            }),
            error: None,
            location: crate::verdict::Span {
                file: format!("evals/{suite}.yaml").into(),
                line: 4 + case.len() as u32,
                col: 3,
            },
            usage: Usage {
                input_tokens: 120,
                output_tokens: 80,
            },
            cost_usd: Some(cost_usd),
            duration_ms: latency_ms + 3.0,
        }),
        status,
        accepted: None,
        snapshot: format!("evals/snapshots/{suite}__{}.snap", case.replace("::", "__")),
        skip_reason: None,
        load_error: None,
        quarantine: None,
    }
}

/// A run of `n` trials over four suites and two variants, where each trial
/// passes with probability `pass_rate`. Equal seeds give equal runs; two
/// runs with the same `n` have the same trial names, so they pair.
pub fn run(n: usize, pass_rate: f64, seed: u64) -> RunResults {
    let mut rng = Rng::from_state(seed);
    let suites = ["support", "sql", "summaries", "tools"];
    let personas = ["persona:new-user", "persona:admin"];
    let variants = ["gpt-small", "gpt-large"];
    let records = (0..n)
        .map(|i| {
            let suite = suites[i % suites.len()];
            let variant = variants[(i / suites.len()) % variants.len()];
            let trial = format!(
                "{suite}::case-{:05}::{variant}",
                i / (suites.len() * variants.len())
            );
            let passed = rng.next_f64() < pass_rate;
            let roll = rng.next_f64();
            let (outcome, status) = match (passed, roll) {
                (true, r) if r < 0.02 => (Outcome::Pass, Status::Improvement),
                (true, _) => (Outcome::Pass, Status::Pass),
                (false, r) if r < 0.1 => (Outcome::Error, Status::Error),
                (false, r) if r < 0.5 => (Outcome::Fail, Status::KnownFailure),
                (false, r) if r < 0.8 => (Outcome::Fail, Status::Regression),
                (false, _) => (Outcome::Fail, Status::New),
            };
            let score = if passed {
                0.6 + 0.4 * rng.next_f64()
            } else {
                0.5 * rng.next_f64()
            };
            let feature = format!("feature:{suite}");
            let tags = [feature.as_str(), personas[i % 2]];
            let latency = 80.0 + 900.0 * rng.next_f64().powi(3);
            let cost = 0.0004 + 0.002 * rng.next_f64();
            record(
                &trial,
                outcome,
                status,
                (score * 100.0).round() / 100.0,
                &tags,
                latency,
                cost,
            )
        })
        .collect();
    let started = UNIX_EPOCH + Duration::from_secs(1_795_000_000 + seed * 3600);
    RunResults {
        schema: RESULTS_SCHEMA,
        run_id: format!("sample-{seed}"),
        started_at: rfc3339(started),
        duration_ms: 1000.0 + n as f64,
        git: Some(GitInfo {
            commit: {
                let mut h = Rng::from_state(seed ^ 0x00C0_FFEE);
                format!(
                    "{:016x}{:016x}{:08x}",
                    h.next_u64(),
                    h.next_u64(),
                    h.next_u64() as u32
                )
            },
            branch: Some("main".into()),
            dirty: false,
        }),
        tribunal_version: env!("CARGO_PKG_VERSION").to_string(),
        label: None,
        records,
        rerun: None,
        force_pass: false,
        variant_axes: Default::default(),
        subset: None,
        spend: None,
    }
}

/// A trial judged by one 1–5 `score` judge named `judge`: it passes when
/// `score` is at least `min_score`; its latency, cost and tokens are given.
/// The check carries what a real score judge records (mode, `4/5` label,
/// normalized score, critique), so reports read it as they read a run's.
#[allow(clippy::too_many_arguments)]
pub fn scored(
    trial: &str,
    judge: &str,
    score: i64,
    min_score: i64,
    tags: &[&str],
    latency_ms: f64,
    cost_usd: f64,
    tokens: u64,
) -> TrialRecord {
    let pass = score >= min_score;
    let outcome = if pass { Outcome::Pass } else { Outcome::Fail };
    let norm = (score - 1) as f64 / 4.0;
    let mut r = record(
        trial,
        outcome,
        if pass {
            Status::Pass
        } else {
            Status::KnownFailure
        },
        norm,
        tags,
        latency_ms,
        cost_usd,
    );
    r.verdict.checks = vec![
        CheckResult::new(
            "judge",
            judge,
            outcome,
            format!(
                "judge score {score} on 1–5 ({} {min_score})",
                if pass { "meets" } else { "below" }
            ),
        )
        .with_score(norm)
        .with_label(format!("{score}/5"))
        .with_evidence(serde_json::json!({"mode": "score"}))
        .with_critique(format!("A {score}-point answer.")),
    ];
    r.verdict.usage = Usage {
        input_tokens: tokens / 2,
        output_tokens: tokens - tokens / 2,
    };
    r
}
