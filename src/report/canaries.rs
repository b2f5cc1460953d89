//! Judge canary catch rates across a run, and the `min_canary_catch` gate
//! (see `docs/canaries.md`).
//!
//! Per judge check of each suite: how many canaries were asked, caught,
//! slipped through (the judge passed a known-bad output) or left undecided
//! (a judge error counts as not caught), per mutation, and which trials let
//! which mutation through. A judge whose canaries carry a `min_canary_catch`
//! fails the gate below it, and also when no canary could be asked at all
//! (a threshold nothing measured is not met).

use std::collections::BTreeMap;

use serde::Serialize;

use super::results::RunResults;
use crate::verdict::{CanaryOutcome, Outcome, TrialRecord};

/// Canary counts of one mutation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MutationCounts {
    /// Asked.
    pub asked: u64,
    /// Failed by the judge.
    pub caught: u64,
}

/// The canaries of one judge check across a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CanaryStats {
    /// The suite.
    pub suite: String,
    /// The judge check name.
    pub check: String,
    /// Outputs the judge passed and was asked canaries about.
    pub outputs: u64,
    /// Canaries asked.
    pub asked: u64,
    /// Caught (the judge failed the mutant).
    pub caught: u64,
    /// Slipped through (the judge passed the mutant).
    pub slipped: u64,
    /// Undecided (judge errors): not caught.
    pub errors: u64,
    /// Per mutation.
    pub by_mutation: BTreeMap<String, MutationCounts>,
    /// `(trial, mutation)` of every canary not caught, slipped or undecided.
    pub missed: Vec<(String, String, CanaryOutcome)>,
    /// The gate, when set.
    pub min_catch: Option<f64>,
    /// Why the judge could not decide each undecided canary:
    /// `trial: mutation: reason`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undecided: Vec<String>,
}

impl CanaryStats {
    /// Caught over asked.
    pub fn catch_rate(&self) -> Option<f64> {
        (self.asked > 0).then(|| self.caught as f64 / self.asked as f64)
    }

    /// The mutations that slipped through at least once, each with how
    /// often, in mutation order.
    pub fn slipped_mutations(&self) -> Vec<String> {
        self.by_mutation
            .iter()
            .filter(|(_, c)| c.caught < c.asked)
            .map(|(m, c)| format!("{m} ({} of {})", c.asked - c.caught, c.asked))
            .collect()
    }

    /// The gate line: `Ok` when it holds, `Err` when it fails; `None`
    /// without a gate.
    pub fn gate(&self) -> Option<Result<String, String>> {
        let min = self.min_catch?;
        let name = format!("{} · {}", self.suite, self.check);
        let Some(rate) = self.catch_rate() else {
            return Some(Err(format!(
                "judge `{name}` was asked no canary (it passed no output, or no mutation applied), so min_canary_catch {:.1}% is not met",
                min * 100.0
            )));
        };
        let line = format!(
            "judge `{name}` caught {} of {} canaries ({:.1}%) {} min_canary_catch {:.1}%",
            self.caught,
            self.asked,
            rate * 100.0,
            if rate + 1e-12 >= min { "≥" } else { "<" },
            min * 100.0
        );
        if rate + 1e-12 >= min {
            Some(Ok(line))
        } else {
            Some(Err(format!(
                "{line}; slipped through: {}",
                self.slipped_mutations().join(", ")
            )))
        }
    }
}

/// One `min_canary_catch` gate of a run: whether it held, and its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CanaryGate {
    /// Whether the judge caught enough canaries.
    pub held: bool,
    /// What was measured against what, naming the judge (and, when it
    /// failed, the mutations that slipped through).
    pub line: String,
}

/// Every `min_canary_catch` gate of a run's records.
pub fn gates_of(records: &[TrialRecord]) -> Vec<CanaryGate> {
    canary_stats_of(records)
        .iter()
        .filter_map(CanaryStats::gate)
        .map(|g| match g {
            Ok(line) => CanaryGate { held: true, line },
            Err(line) => CanaryGate { held: false, line },
        })
        .collect()
}

/// Per judge check with canaries, its statistics, by suite and check name.
pub fn canary_stats(run: &RunResults) -> Vec<CanaryStats> {
    canary_stats_of(&run.records)
}

/// [`canary_stats`] of a run's records.
pub fn canary_stats_of(records: &[TrialRecord]) -> Vec<CanaryStats> {
    let mut by: BTreeMap<(String, String), CanaryStats> = BTreeMap::new();
    for r in records {
        if r.load_error.is_some() || r.verdict.outcome == Outcome::Skipped {
            continue;
        }
        for c in r.verdict.checks.iter().filter(|c| c.kind == "judge") {
            let Some(run) = &c.canaries else { continue };
            let s = by
                .entry((r.verdict.suite.clone(), c.name.clone()))
                .or_insert_with(|| CanaryStats {
                    suite: r.verdict.suite.clone(),
                    check: c.name.clone(),
                    ..CanaryStats::default()
                });
            s.min_catch = s.min_catch.or(run.min_catch);
            s.outputs += 1;
            for k in &run.canaries {
                s.asked += 1;
                let m = s.by_mutation.entry(k.mutation.clone()).or_default();
                m.asked += 1;
                match k.outcome {
                    CanaryOutcome::Caught => {
                        s.caught += 1;
                        m.caught += 1;
                    }
                    CanaryOutcome::Slipped => s.slipped += 1,
                    CanaryOutcome::Error => {
                        s.errors += 1;
                        s.undecided.push(format!(
                            "{}: {}: {}",
                            r.verdict.trial,
                            k.mutation,
                            crate::text::one_line(&k.reason, 160)
                        ));
                    }
                }
                if k.outcome != CanaryOutcome::Caught {
                    s.missed
                        .push((r.verdict.trial.clone(), k.mutation.clone(), k.outcome));
                }
            }
        }
    }
    by.into_values().collect()
}

/// Every failed `min_canary_catch` gate of the run, one line each.
pub fn gate_failures(run: &RunResults) -> Vec<String> {
    gate_failures_of(&run.records)
}

/// [`gate_failures`] of a run's records.
pub fn gate_failures_of(records: &[TrialRecord]) -> Vec<String> {
    canary_stats_of(records)
        .iter()
        .filter_map(CanaryStats::gate)
        .filter_map(Result::err)
        .collect()
}

fn rate(s: &CanaryStats) -> String {
    s.catch_rate()
        .map_or("n/a".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// The terminal summary's lines (empty when no judge asked canaries).
pub fn terminal(run: &RunResults) -> String {
    let all = canary_stats(run);
    if all.is_empty() {
        return String::new();
    }
    let mut out = String::from("  judge canaries (known-bad variants of passed outputs):\n");
    for s in &all {
        out.push_str(&format!(
            "    {} · {}: caught {} of {} ({}){}{}\n",
            s.suite,
            s.check,
            s.caught,
            s.asked,
            rate(s),
            if s.errors > 0 {
                format!(", {} undecided", s.errors)
            } else {
                String::new()
            },
            match s.gate() {
                Some(Ok(_)) => format!(
                    " · min_canary_catch {:.1}% ok",
                    s.min_catch.unwrap_or(0.0) * 100.0
                ),
                Some(Err(_)) => format!(
                    " · below min_canary_catch {:.1}%: FAILED",
                    s.min_catch.unwrap_or(0.0) * 100.0
                ),
                None => String::new(),
            }
        ));
        let slipped = s.slipped_mutations();
        if !slipped.is_empty() {
            out.push_str(&format!("      slipped through: {}\n", slipped.join(", ")));
        }
        // A canary the judge could not answer (a cassette miss, a refusal)
        // is never quiet: it counts as not caught, and here is why.
        for u in s.undecided.iter().take(3) {
            out.push_str(&format!("      undecided: {u}\n"));
        }
        if s.undecided.len() > 3 {
            out.push_str(&format!(
                "      ... and {} more undecided\n",
                s.undecided.len() - 3
            ));
        }
    }
    out
}

/// The Markdown section (empty when no judge asked canaries).
pub fn markdown(run: &RunResults) -> String {
    let all = canary_stats(run);
    if all.is_empty() {
        return String::new();
    }
    let cell = super::markdown::cell;
    let mut out = String::from(
        "\n### Judge canaries\n\n| judge | caught | catch rate | gate | slipped through |\n|---|---|---|---|---|\n",
    );
    for s in &all {
        let gate = match s.gate() {
            Some(Ok(_)) => format!("≥ {:.1}% ✅", s.min_catch.unwrap_or(0.0) * 100.0),
            Some(Err(_)) => format!("< {:.1}% ❌", s.min_catch.unwrap_or(0.0) * 100.0),
            None => "—".to_string(),
        };
        let slipped = s.slipped_mutations();
        out.push_str(&format!(
            "| {} · {} | {}/{} | {} | {} | {} |\n",
            cell(&s.suite),
            cell(&s.check),
            s.caught,
            s.asked,
            rate(s),
            gate,
            if slipped.is_empty() {
                "—".to_string()
            } else {
                cell(&slipped.join(", "))
            }
        ));
    }
    out
}

/// The HTML section (empty when no judge asked canaries).
pub fn html(run: &RunResults) -> String {
    let all = canary_stats(run);
    if all.is_empty() {
        return String::new();
    }
    let esc = super::html::esc;
    let mut out = String::from(
        "<section id=\"canaries\"><h2>Judge canaries</h2><table><thead><tr><th>judge</th><th>caught</th><th>catch rate</th><th>gate</th><th>slipped through</th><th>not caught (trial: mutation)</th></tr></thead><tbody>\n",
    );
    for s in &all {
        let gate = match s.gate() {
            Some(Ok(_)) => format!("≥ {:.1}% ok", s.min_catch.unwrap_or(0.0) * 100.0),
            Some(Err(_)) => format!("< {:.1}% FAILED", s.min_catch.unwrap_or(0.0) * 100.0),
            None => "none".to_string(),
        };
        let missed: Vec<String> = s
            .missed
            .iter()
            .map(|(t, m, o)| format!("{t}: {m} ({})", o.as_str()))
            .collect();
        out.push_str(&format!(
            "<tr><td>{} · {}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&s.suite),
            esc(&s.check),
            s.caught,
            s.asked,
            rate(s),
            esc(&gate),
            esc(&s.slipped_mutations().join(", ")),
            esc(&missed.join("; "))
        ));
    }
    out.push_str("</tbody></table></section>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{Canary, CanaryRun, CheckResult};

    use CanaryOutcome::Error;

    fn run_with(canaries: &[(&str, &[(&str, CanaryOutcome)])], min: Option<f64>) -> RunResults {
        let mut run = super::super::sample::run(canaries.len(), 1.0, 7);
        for (r, (trial, ks)) in run.records.iter_mut().zip(canaries) {
            r.verdict.suite = "s".into();
            r.verdict.trial = trial.to_string();
            r.verdict.outcome = Outcome::Pass;
            let mut c = CheckResult::pass_with("judge", "faithful", "ok");
            c.canaries = Some(CanaryRun {
                min_catch: min,
                canaries: ks
                    .iter()
                    .map(|(m, o)| Canary {
                        mutation: m.to_string(),
                        outcome: *o,
                        reason: if *o == Error {
                            "no cassette entry".into()
                        } else {
                            String::new()
                        },
                        mutant: String::new(),
                    })
                    .collect(),
                not_applicable: Vec::new(),
                usage: Default::default(),
                cost_usd: None,
            });
            r.verdict.checks = vec![c];
        }
        run
    }

    #[test]
    fn catch_rate_and_gate_name_the_judge_and_the_slipped_mutations() {
        use CanaryOutcome::{Caught, Slipped};
        let run = run_with(
            &[
                (
                    "s::a",
                    &[("drop_answer", Caught), ("unsupported_claim", Slipped)],
                ),
                (
                    "s::b",
                    &[("drop_answer", Caught), ("unsupported_claim", Error)],
                ),
                ("s::c", &[("swap_numbers", Caught)]),
            ],
            Some(0.9),
        );
        let stats = canary_stats(&run);
        assert_eq!(stats.len(), 1);
        let s = &stats[0];
        assert_eq!((s.asked, s.caught, s.slipped, s.errors), (5, 3, 1, 1));
        assert_eq!(s.slipped_mutations(), ["unsupported_claim (2 of 2)"]);
        assert_eq!(
            gate_failures(&run),
            [
                "judge `s · faithful` caught 3 of 5 canaries (60.0%) < min_canary_catch 90.0%; slipped through: unsupported_claim (2 of 2)"
            ]
        );
        insta::assert_snapshot!(terminal(&run), @r"
        judge canaries (known-bad variants of passed outputs):
          s · faithful: caught 3 of 5 (60.0%), 1 undecided · below min_canary_catch 90.0%: FAILED
            slipped through: unsupported_claim (2 of 2)
            undecided: s::b: unsupported_claim: no cassette entry
        ");
        let lenient = run_with(
            &[("s::a", &[("drop_answer", Caught), ("negate", Slipped)])],
            Some(0.5),
        );
        assert!(gate_failures(&lenient).is_empty());
        let none = run_with(&[("s::a", &[])], Some(0.5));
        assert!(gate_failures(&none)[0].contains("was asked no canary"));
        let ungated = run_with(&[("s::a", &[("negate", Slipped)])], None);
        assert!(gate_failures(&ungated).is_empty());
    }
}
