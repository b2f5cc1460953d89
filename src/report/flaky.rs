//! Verdict stability across runs: which cases flip, from the run history.
//!
//! Per trial, over the last N stored runs (oldest first): how many runs
//! decided it (pass or not; skipped runs are left out), how many passed,
//! how many times the verdict **flipped** between consecutive runs, the pass
//! rate with its 95% Wilson interval, and two signals from inside each run:
//! judge checks whose votes **split** (the judge's own `split vote` and
//! `the judge votes disagree` warnings: pass/fail and pairwise votes that
//! differ, scores two or more apart) and `repeat:` samples (passed of k,
//! summed over runs).
//!
//! A trial is **unstable** when it flipped at least once, a judge split its
//! votes, or its repeated samples neither all passed nor all failed.
//! `tribunal flaky` lists the unstable trials (Markdown table or JSON), most
//! flips first; `--all` lists every trial.

use serde::Serialize;

use super::results::RunResults;
use super::stats::wilson_interval;
use crate::verdict::{Outcome, Status, TrialRecord};

/// The stability of one trial over a run history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stability {
    /// The trial name.
    pub trial: String,
    /// Runs that decided the trial (pass, fail or error).
    pub runs: u64,
    /// Runs in which it passed.
    pub passed: u64,
    /// Changes between pass and not-pass from one run to the next.
    pub flips: u64,
    /// `passed / runs`.
    pub pass_rate: f64,
    /// The 95% Wilson interval of the pass rate.
    pub wilson_95: (f64, f64),
    /// Runs in which a judge check's votes split.
    pub split_votes: u64,
    /// Repeated samples that passed, over every run (`repeat:` cases).
    pub samples_passed: u64,
    /// Repeated samples, over every run.
    pub samples: u64,
    /// The 95% Wilson interval of the samples' pass rate (`(0, 1)` without
    /// samples).
    pub samples_wilson_95: (f64, f64),
    /// Whether the newest run has it quarantined.
    pub quarantined: bool,
    /// Outcomes oldest first: `P` pass, `F` fail, `E` error.
    pub series: String,
}

impl Stability {
    /// Whether the trial is unstable: flips, split votes, or mixed samples.
    pub fn unstable(&self) -> bool {
        self.flips > 0
            || self.split_votes > 0
            || (self.samples > 0 && self.samples_passed > 0 && self.samples_passed < self.samples)
    }
}

fn split_in(r: &TrialRecord) -> bool {
    r.verdict.checks.iter().any(|c| {
        c.warnings
            .iter()
            .any(|w| w.starts_with("split vote") || w.starts_with("the judge votes disagree"))
            || (c.kind == "judge"
                && c.evidence
                    .as_ref()
                    .and_then(|e| e.get("samples"))
                    .is_some_and(|s| {
                        s.as_array()
                            .is_some_and(|s| s.iter().any(|x| x.get("split").is_some()))
                    }))
    })
}

fn repeat_counts(r: &TrialRecord) -> Option<(u64, u64)> {
    let c = r.verdict.checks.iter().find(|c| c.kind == "repeat")?;
    let e = c.evidence_value()?;
    Some((e.get("passed")?.as_u64()?, e.get("k")?.as_u64()?))
}

/// The stability of every trial in `runs` (oldest first), in name order.
pub fn stability(runs: &[RunResults]) -> Vec<Stability> {
    let mut by_trial: std::collections::BTreeMap<String, Vec<&TrialRecord>> = Default::default();
    for run in runs {
        for r in &run.records {
            if r.load_error.is_some() {
                continue;
            }
            by_trial.entry(r.verdict.trial.clone()).or_default().push(r);
        }
    }
    by_trial
        .into_iter()
        .map(|(trial, records)| {
            let decided: Vec<&&TrialRecord> = records
                .iter()
                .filter(|r| r.verdict.outcome != Outcome::Skipped)
                .collect();
            let passes: Vec<bool> = decided
                .iter()
                .map(|r| r.verdict.outcome == Outcome::Pass)
                .collect();
            let runs = passes.len() as u64;
            let passed = passes.iter().filter(|p| **p).count() as u64;
            let flips = passes.windows(2).filter(|w| w[0] != w[1]).count() as u64;
            let (mut samples_passed, mut samples) = (0, 0);
            for r in &decided {
                if let Some((p, k)) = repeat_counts(r) {
                    samples_passed += p;
                    samples += k;
                }
            }
            Stability {
                runs,
                passed,
                flips,
                pass_rate: if runs == 0 {
                    0.0
                } else {
                    passed as f64 / runs as f64
                },
                wilson_95: wilson_interval(passed, runs, 0.95),
                split_votes: decided.iter().filter(|r| split_in(r)).count() as u64,
                samples_passed,
                samples,
                samples_wilson_95: wilson_interval(samples_passed, samples, 0.95),
                quarantined: records
                    .last()
                    .is_some_and(|r| r.status == Status::Quarantined),
                series: decided
                    .iter()
                    .map(|r| match r.verdict.outcome {
                        Outcome::Pass => 'P',
                        Outcome::Fail => 'F',
                        _ => 'E',
                    })
                    .collect(),
                trial,
            }
        })
        .collect()
}

/// The unstable trials (every trial with `all`), most flips first, then
/// by name.
pub fn listed(runs: &[RunResults], all: bool) -> Vec<Stability> {
    let mut rows: Vec<Stability> = stability(runs)
        .into_iter()
        .filter(|s| all || s.unstable())
        .collect();
    rows.sort_by(|a, b| b.flips.cmp(&a.flips).then_with(|| a.trial.cmp(&b.trial)));
    rows
}

/// The Markdown table of `rows` over `n_runs` runs.
pub fn markdown(rows: &[Stability], n_runs: usize) -> String {
    let mut out = format!(
        "Verdict stability over the last {n_runs} run(s): {} unstable trial(s).\n\n",
        rows.iter().filter(|r| r.unstable()).count()
    );
    if rows.is_empty() {
        out.push_str("No trial flipped, split its judge votes or mixed its repeated samples.\n");
        return out;
    }
    out.push_str("| trial | runs (oldest → newest) | flips | pass rate | 95% interval | split votes | repeat samples | quarantined |\n|---|---|---:|---:|---|---:|---:|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| `{}` | {} | {} | {}/{} ({:.0}%) | {:.0}–{:.0}% | {} | {} | {} |\n",
            r.trial,
            r.series,
            r.flips,
            r.passed,
            r.runs,
            r.pass_rate * 100.0,
            r.wilson_95.0 * 100.0,
            r.wilson_95.1 * 100.0,
            r.split_votes,
            if r.samples == 0 {
                "–".to_string()
            } else {
                format!(
                    "{}/{} ({:.0}–{:.0}%)",
                    r.samples_passed,
                    r.samples,
                    r.samples_wilson_95.0 * 100.0,
                    r.samples_wilson_95.1 * 100.0
                )
            },
            if r.quarantined { "yes" } else { "no" },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::record;
    use crate::verdict::{CheckResult, Status};

    fn run(id: usize, outcomes: &[(&str, Outcome)]) -> RunResults {
        let mut r = crate::report::sample::run(0, 1.0, id as u64);
        r.run_id = format!("r{id}");
        r.records = outcomes
            .iter()
            .map(|(t, o)| record(t, *o, Status::Pass, 1.0, &[], 10.0, 0.0))
            .collect();
        r
    }

    /// A synthetic history of five runs; every figure below is counted by
    /// hand from the table in the comment.
    ///
    /// ```text
    ///          r1 r2 r3 r4 r5
    /// s::a     P  F  P  P  F    3 flips (P→F, F→P, P→F), 3/5 pass
    /// s::b     P  P  P  P  P    stable
    /// s::c     F  F  P  P  P    1 flip, 3/5 pass
    /// ```
    #[test]
    fn flips_rates_and_intervals_on_a_synthetic_history() {
        use Outcome::{Fail as F, Pass as P};
        let cols = [[P, P, F], [F, P, F], [P, P, P], [P, P, P], [F, P, P]];
        let runs: Vec<RunResults> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| run(i + 1, &[("s::a", c[0]), ("s::b", c[1]), ("s::c", c[2])]))
            .collect();
        let all = stability(&runs);
        let a = &all[0];
        assert_eq!(
            (a.trial.as_str(), a.runs, a.passed, a.flips),
            ("s::a", 5, 3, 3)
        );
        assert_eq!(a.series, "PFPPF");
        // Wilson 95% for 3/5: centre (0.6 + 1.9208/5)/(1 + 3.8415/5) =
        // 0.5565, half-width 1.96·sqrt(0.24/5 + 3.8415/100)/1.7683 = 0.3258.
        assert!((a.wilson_95.0 - 0.2307).abs() < 1e-3, "{:?}", a.wilson_95);
        assert!((a.wilson_95.1 - 0.8824).abs() < 1e-3, "{:?}", a.wilson_95);
        assert_eq!((all[1].flips, all[1].unstable()), (0, false));
        assert_eq!((all[2].flips, all[2].passed), (1, 3));
        let names: Vec<String> = listed(&runs, false).into_iter().map(|s| s.trial).collect();
        assert_eq!(names, ["s::a", "s::c"]);
    }

    #[test]
    fn split_votes_and_mixed_samples_are_unstable_without_flips() {
        let mut r1 = run(1, &[("s::judge", Outcome::Pass), ("s::rep", Outcome::Pass)]);
        let mut judge = CheckResult::new("judge", "judge", Outcome::Pass, "");
        judge.warnings.push("split vote: 2 pass, 1 fail".into());
        r1.records[0].verdict.checks = vec![judge];
        r1.records[1].verdict.checks = vec![
            CheckResult::new("repeat", "repeat 5 (majority)", Outcome::Pass, "")
                .with_evidence(serde_json::json!({"k": 5, "passed": 3})),
        ];
        let rows = stability(&[r1]);
        assert_eq!((rows[0].split_votes, rows[0].unstable()), (1, true));
        assert_eq!(
            (rows[1].samples_passed, rows[1].samples, rows[1].unstable()),
            (3, 5, true)
        );
        // 3 of 5 samples: the Wilson interval of the flips test, [0.2307, 0.8824].
        let (lo, hi) = rows[1].samples_wilson_95;
        assert!((lo - 0.2307).abs() < 1e-3 && (hi - 0.8824).abs() < 1e-3);
        assert!(markdown(&rows, 1).contains("| 3/5 (23–88%) |"));
        insta::assert_snapshot!(markdown(&listed(&[run(9, &[])], false), 1), @r"
        Verdict stability over the last 1 run(s): 0 unstable trial(s).

        No trial flipped, split its judge votes or mixed its repeated samples.
        ");
    }
}
