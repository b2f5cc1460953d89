//! Metrics over versions (seed 003's table): per run, the pass rate, the
//! mean score of each score judge, P95 latency, tokens and cost, oldest
//! first, for `tribunal history` and the HTML report's trend plots.
//!
//! A run that evaluated only part of the suites (a name filter,
//! `TRIBUNAL_SUITES`: [`RunResults::subset`]) is not comparable with a
//! full run: trends leave it out unless asked to include it, and say so.
//! Cost is the recorded cost of the trials; what a run actually spent is
//! its live calls' cost ([`super::results::Spend`]): a run replayed from
//! cassettes spends nothing however much its calls cost when recorded.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::compare::judge_scores;
use super::results::{RunResults, Spend};
use super::stats::{Proportion, percentile};
use super::summary::{CONFIDENCE, counted, fmt_ms, latency_of};
use crate::verdict::Outcome;

/// One run as listed by the history (no per-trial data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// Run id.
    pub id: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Commit, when known.
    pub git_commit: Option<String>,
    /// Branch, when known.
    pub git_branch: Option<String>,
    /// Run label.
    pub label: Option<String>,
    /// Trials.
    pub trials: u64,
    /// Trials counted in the pass rate.
    pub counted: u64,
    /// Passing trials.
    pub passed: u64,
    /// Trials failing the build.
    pub failing: u64,
    /// Mean score.
    pub mean_score: Option<f64>,
    /// Total cost (USD).
    pub cost_usd: f64,
    /// Median latency (ms).
    pub latency_p50: Option<f64>,
    /// 95th percentile latency (ms).
    pub latency_p95: Option<f64>,
}

/// One run's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPoint {
    /// Run id.
    pub id: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Short commit, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The run's label (`TRIBUNAL_RUN_LABEL`), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Trials counted (not skipped).
    pub counted: u64,
    /// Passing trials.
    pub passed: u64,
    /// Mean raw score per score judge (`suite: judge name`, mean), in
    /// order of appearance in the run.
    #[serde(default)]
    pub judges: Vec<(String, f64)>,
    /// Median latency (ms).
    #[serde(default)]
    pub latency_p50: Option<f64>,
    /// 95th percentile latency (ms).
    #[serde(default)]
    pub latency_p95: Option<f64>,
    /// Tokens (input + output) of all trials.
    pub tokens: u64,
    /// Recorded cost of all trials (USD).
    pub cost_usd: f64,
    /// Replayed vs live calls, when the run recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend: Option<Spend>,
    /// What narrowed the run, when it evaluated only a subset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
}

impl RunPoint {
    /// The metrics of a run.
    pub fn of(run: &RunResults) -> RunPoint {
        let live: Vec<_> = run.records.iter().filter(|r| counted(r)).collect();
        let mut judges: Vec<(String, f64, usize)> = Vec::new();
        for r in &live {
            for a in judge_scores(r) {
                // Judges are told apart by suite: two suites may each have
                // a `helpfulness` judge with different criteria.
                let key = format!("{}: {}", r.verdict.suite, a.judge);
                match judges.iter_mut().find(|(j, _, _)| *j == key) {
                    Some((_, sum, n)) => {
                        *sum += a.score;
                        *n += 1;
                    }
                    None => judges.push((key, a.score, 1)),
                }
            }
        }
        let lats: Vec<f64> = live.iter().filter_map(|r| latency_of(r)).collect();
        RunPoint {
            id: run.run_id.clone(),
            started_at: run.started_at.clone(),
            commit: run.short_commit().map(str::to_string),
            label: run.label.clone(),
            counted: live.len() as u64,
            passed: live
                .iter()
                .filter(|r| r.verdict.outcome == Outcome::Pass)
                .count() as u64,
            judges: judges
                .into_iter()
                .map(|(j, sum, n)| (j, sum / n as f64))
                .collect(),
            latency_p50: percentile(&lats, 0.5),
            latency_p95: percentile(&lats, 0.95),
            tokens: run
                .records
                .iter()
                .map(|r| r.verdict.usage.input_tokens + r.verdict.usage.output_tokens)
                .sum(),
            cost_usd: run
                .records
                .iter()
                .filter_map(|r| r.verdict.cost_usd)
                .sum::<f64>()
                + 0.0,
            spend: run.spend,
            subset: run.subset.clone(),
        }
    }

    /// The pass rate with its Wilson interval.
    pub fn pass(&self) -> Proportion {
        Proportion::new(self.passed, self.counted, CONFIDENCE)
    }

    /// The mean score of judge `name` in this run.
    pub fn judge(&self, name: &str) -> Option<f64> {
        self.judges.iter().find(|(j, _)| j == name).map(|(_, m)| *m)
    }

    /// Money this run spent (live calls); `None` when not recorded.
    pub fn spent_usd(&self) -> Option<f64> {
        self.spend.map(|s| s.spent_usd)
    }

    /// A short name for the run on an axis: its label, else its commit,
    /// else its start time.
    pub fn tick(&self) -> String {
        self.label
            .clone()
            .or_else(|| {
                self.commit
                    .as_ref()
                    .map(|c| c[..c.len().min(7)].to_string())
            })
            .unwrap_or_else(|| {
                self.started_at
                    .get(..16)
                    .unwrap_or(&self.started_at)
                    .to_string()
            })
    }
}

/// Runs over time, oldest first, with the subset runs set apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// The runs in the trend.
    pub points: Vec<RunPoint>,
    /// Runs over a subset left out of the trend (empty when included).
    pub left_out: Vec<RunPoint>,
    /// Every score judge of the trend's runs, in order of appearance.
    pub judges: Vec<String>,
}

/// The trend of `runs` (oldest first); subset runs are left out unless
/// `include_subsets`.
pub fn trend(runs: Vec<RunPoint>, include_subsets: bool) -> Trend {
    let (points, left_out): (Vec<RunPoint>, Vec<RunPoint>) = runs
        .into_iter()
        .partition(|p| include_subsets || p.subset.is_none());
    let mut judges: Vec<String> = Vec::new();
    for p in &points {
        for (j, _) in &p.judges {
            if !judges.contains(j) {
                judges.push(j.clone());
            }
        }
    }
    Trend {
        points,
        left_out,
        judges,
    }
}

fn usd(v: f64) -> String {
    format!("${v:.4}")
}

/// The trend as a Markdown table, one row per run: seed 003's "tracking
/// over time" table with runs as rows.
pub fn markdown(t: &Trend) -> String {
    let mut out = String::new();
    let mut head = String::from("| run | started | commit | trials | pass rate (95% CI) |");
    for j in &t.judges {
        let _ = write!(head, " mean `{}` |", j.replace('|', "\\|"));
    }
    head.push_str(
        " latency p95 | tokens | cost (recorded) | spent (live calls) | replayed calls |",
    );
    let _ = writeln!(out, "{head}\n|{}", "---|".repeat(10 + t.judges.len()));
    for p in &t.points {
        let mut line = format!(
            "| `{}`{} | {} | {} | {} | {} |",
            p.id,
            if p.subset.is_some() { " (subset)" } else { "" },
            p.started_at,
            p.commit.as_deref().unwrap_or(""),
            p.counted,
            super::summary::fmt_prop(&p.pass())
        );
        for j in &t.judges {
            let _ = write!(
                line,
                " {} |",
                p.judge(j)
                    .map(|m| format!("{m:.2}"))
                    .unwrap_or_else(|| "n/a".into())
            );
        }
        let (spent, replayed) = match p.spend {
            Some(s) => (
                usd(s.spent_usd),
                format!("{} ({} recorded)", s.replayed_calls, usd(s.replayed_usd)),
            ),
            None => ("not recorded".into(), "not recorded".into()),
        };
        let _ = writeln!(
            out,
            "{line} {} | {} | {} | {spent} | {replayed} |",
            fmt_ms(p.latency_p95),
            p.tokens,
            usd(p.cost_usd)
        );
    }
    if t.points.is_empty() {
        let _ = writeln!(out, "\nNo run in the trend.");
    }
    let subset_in = t.points.iter().filter(|p| p.subset.is_some()).count();
    if subset_in > 0 {
        let _ = writeln!(
            out,
            "\n(subset): {} evaluated only part of the suites and {} included by --include-subsets.",
            crate::text::count(subset_in, "run"),
            if subset_in == 1 { "is" } else { "are" }
        );
    }
    if !t.left_out.is_empty() {
        let _ = writeln!(
            out,
            "\nLeft out: {} that evaluated only part of the suites ({}); `--include-subsets` shows {}.",
            crate::text::count(t.left_out.len(), "run"),
            t.left_out
                .iter()
                .map(|p| format!("`{}`: {}", p.id, p.subset.as_deref().unwrap_or("")))
                .collect::<Vec<_>>()
                .join("; "),
            if t.left_out.len() == 1 { "it" } else { "them" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::scored;

    fn run(id: &str, scores: &[i64], subset: Option<&str>) -> RunResults {
        let mut r = crate::report::sample::run(0, 1.0, 1);
        r.run_id = id.into();
        r.records = scores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                scored(
                    &format!("s::c{i}"),
                    "quality",
                    *s,
                    4,
                    &[],
                    100.0 * (i + 1) as f64,
                    0.01,
                    50,
                )
            })
            .collect();
        r.subset = subset.map(str::to_string);
        r.spend = Some(Spend {
            replayed_calls: scores.len() as u64,
            live_calls: 0,
            replayed_usd: 0.01 * scores.len() as f64,
            spent_usd: 0.0,
        });
        r
    }

    #[test]
    fn points_by_hand_and_subsets_left_out() {
        let p = RunPoint::of(&run("r1", &[5, 4, 3, 2], None));
        assert_eq!((p.counted, p.passed), (4, 2));
        assert_eq!(p.judges, [("s: quality".to_string(), 3.5)]);
        // Latencies 100..400: p95 by linear interpolation = 385.
        assert_eq!(p.latency_p95, Some(385.0));
        assert_eq!(p.tokens, 200);
        assert!((p.cost_usd - 0.04).abs() < 1e-12);
        assert_eq!(p.spent_usd(), Some(0.0));
        let t = trend(
            vec![
                p.clone(),
                RunPoint::of(&run("r2", &[5], Some("filter `c0`"))),
                RunPoint::of(&run("r3", &[5, 5], None)),
            ],
            false,
        );
        assert_eq!(
            t.points.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["r1", "r3"]
        );
        assert_eq!(t.left_out[0].id, "r2");
        assert_eq!(
            trend(vec![RunPoint::of(&run("r2", &[5], Some("x")))], true)
                .points
                .len(),
            1
        );
    }
}
