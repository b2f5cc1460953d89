//! Comparing two runs (base vs head) and the variants of one run.
//!
//! Trials pair by trial name (`suite::case[::variant]`). Skipped trials and
//! trials present in only one run do not enter the paired tests; they are
//! listed separately.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::results::RunResults;
use super::stats::{
    McNemar, Mean, Proportion, Wilcoxon, mcnemar_exact, mean_interval, percentile,
    wilcoxon_signed_rank,
};
use super::summary::{CONFIDENCE, counted, latency_of};
use crate::verdict::{Outcome, TrialRecord};

/// P50/P95 of a measurement in base and head.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Base median.
    pub base_p50: Option<f64>,
    /// Head median.
    pub head_p50: Option<f64>,
    /// Base 95th percentile.
    pub base_p95: Option<f64>,
    /// Head 95th percentile.
    pub head_p95: Option<f64>,
}

impl Spread {
    fn of(base: &[f64], head: &[f64]) -> Spread {
        Spread {
            base_p50: percentile(base, 0.5),
            head_p50: percentile(head, 0.5),
            base_p95: percentile(base, 0.95),
            head_p95: percentile(head, 0.95),
        }
    }
}

/// A trial whose outcome differs between base and head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    /// Trial name.
    pub trial: String,
    /// Outcome in base.
    pub base: Outcome,
    /// Outcome in head.
    pub head: Outcome,
    /// Score in base.
    pub base_score: f64,
    /// Score in head.
    pub head_score: f64,
    /// Where the case is.
    pub location: String,
}

impl Flip {
    /// Passed in base and not in head.
    pub fn is_regression(&self) -> bool {
        self.base == Outcome::Pass && self.head != Outcome::Pass
    }
}

/// Paired pass/fail and score statistics over a set of trials.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paired {
    /// Pairs counted.
    pub pairs: usize,
    /// Base pass rate over the pairs.
    pub base: Proportion,
    /// Head pass rate over the pairs.
    pub head: Proportion,
    /// Head minus base pass rate.
    pub delta: Option<f64>,
    /// McNemar's exact test on the pairs.
    pub mcnemar: McNemar,
    /// Wilcoxon signed-rank test on paired verdict scores (head − base).
    pub wilcoxon: Wilcoxon,
    /// Mean base score.
    pub base_mean_score: Option<f64>,
    /// Mean head score.
    pub head_mean_score: Option<f64>,
}

impl Paired {
    /// Paired statistics of `(base, head)` record pairs.
    pub fn of(pairs: &[(&TrialRecord, &TrialRecord)]) -> Paired {
        let n = pairs.len() as u64;
        let pass = |r: &TrialRecord| r.verdict.outcome == Outcome::Pass;
        let bp = pairs.iter().filter(|(b, _)| pass(b)).count() as u64;
        let hp = pairs.iter().filter(|(_, h)| pass(h)).count() as u64;
        let p2f = pairs.iter().filter(|(b, h)| pass(b) && !pass(h)).count() as u64;
        let f2p = pairs.iter().filter(|(b, h)| !pass(b) && pass(h)).count() as u64;
        let diffs: Vec<f64> = pairs
            .iter()
            .map(|(b, h)| h.verdict.score - b.verdict.score)
            .collect();
        let mean = |f: &dyn Fn(&(&TrialRecord, &TrialRecord)) -> f64| {
            (n > 0).then(|| pairs.iter().map(f).sum::<f64>() / n as f64)
        };
        let base = Proportion::new(bp, n, CONFIDENCE);
        let head = Proportion::new(hp, n, CONFIDENCE);
        Paired {
            pairs: pairs.len(),
            delta: head.rate.zip(base.rate).map(|(h, b)| h - b),
            base,
            head,
            mcnemar: mcnemar_exact(p2f, f2p),
            wilcoxon: wilcoxon_signed_rank(&diffs),
            base_mean_score: mean(&|(b, _)| b.verdict.score),
            head_mean_score: mean(&|(_, h)| h.verdict.score),
        }
    }

    /// Whether head is significantly worse than base at level `alpha`: in
    /// pass/fail (McNemar, more pass→fail than fail→pass) or in scores
    /// (Wilcoxon, more negative rank mass).
    pub fn significant_regression(&self, alpha: f64) -> bool {
        let m = &self.mcnemar;
        let w = &self.wilcoxon;
        (m.p_value < alpha && m.pass_to_fail > m.fail_to_pass)
            || (w.p_value < alpha && w.w_minus > w.w_plus)
    }
}

/// Paired statistics of one tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagComparison {
    /// The tag.
    pub tag: String,
    /// Its paired statistics.
    pub paired: Paired,
}

/// Base vs head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Base run id.
    pub base_id: String,
    /// Head run id.
    pub head_id: String,
    /// Base commit, when known.
    pub base_commit: Option<String>,
    /// Head commit, when known.
    pub head_commit: Option<String>,
    /// Over all paired trials.
    pub overall: Paired,
    /// Per tag (of the head trial), sorted by tag.
    pub by_tag: Vec<TagComparison>,
    /// Target latency (ms) over paired trials.
    pub latency_ms: Spread,
    /// Cost per trial (USD) over paired trials.
    pub cost_usd: Spread,
    /// Total cost of the paired trials in base and head.
    pub total_cost_usd: (f64, f64),
    /// Trials whose outcome flipped, regressions first.
    pub flipped: Vec<Flip>,
    /// Trials only in base.
    pub only_in_base: Vec<String>,
    /// Trials only in head.
    pub only_in_head: Vec<String>,
    /// Calibrated pass rates of the labelled judges of both runs.
    #[serde(skip_serializing_if = "super::calibration::CalibrationComparison::is_empty")]
    pub calibration: super::calibration::CalibrationComparison,
}

/// Compares two runs, pairing trials by name.
pub fn compare(base: &RunResults, head: &RunResults) -> Comparison {
    let base_by: HashMap<&str, &TrialRecord> = base
        .records
        .iter()
        .filter(|r| counted(r))
        .map(|r| (r.verdict.trial.as_str(), r))
        .collect();
    let head_by: HashMap<&str, &TrialRecord> = head
        .records
        .iter()
        .filter(|r| counted(r))
        .map(|r| (r.verdict.trial.as_str(), r))
        .collect();
    let mut pairs: Vec<(&TrialRecord, &TrialRecord)> = head
        .records
        .iter()
        .filter(|r| counted(r))
        .filter_map(|h| base_by.get(h.verdict.trial.as_str()).map(|b| (*b, h)))
        .collect();
    pairs.sort_by(|a, b| a.1.verdict.trial.cmp(&b.1.verdict.trial));
    pairs.dedup_by(|a, b| a.1.verdict.trial == b.1.verdict.trial);
    let mut tags: BTreeMap<&str, Vec<(&TrialRecord, &TrialRecord)>> = BTreeMap::new();
    for p in &pairs {
        for t in &p.1.verdict.tags {
            tags.entry(t.as_str()).or_default().push(*p);
        }
    }
    let bl: Vec<f64> = pairs.iter().filter_map(|p| latency_of(p.0)).collect();
    let hl: Vec<f64> = pairs.iter().filter_map(|p| latency_of(p.1)).collect();
    let bc: Vec<f64> = pairs.iter().filter_map(|p| p.0.verdict.cost_usd).collect();
    let hc: Vec<f64> = pairs.iter().filter_map(|p| p.1.verdict.cost_usd).collect();
    let mut flipped: Vec<Flip> = pairs
        .iter()
        .filter(|(b, h)| {
            (b.verdict.outcome == Outcome::Pass) != (h.verdict.outcome == Outcome::Pass)
        })
        .map(|(b, h)| Flip {
            trial: h.verdict.trial.clone(),
            base: b.verdict.outcome,
            head: h.verdict.outcome,
            base_score: b.verdict.score,
            head_score: h.verdict.score,
            location: h.verdict.location.to_string(),
        })
        .collect();
    flipped.sort_by_key(|f| !f.is_regression());
    let mut only_in_base: Vec<String> = base_by
        .keys()
        .filter(|k| !head_by.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    only_in_base.sort();
    let mut only_in_head: Vec<String> = head_by
        .keys()
        .filter(|k| !base_by.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    only_in_head.sort();
    Comparison {
        base_id: base.run_id.clone(),
        head_id: head.run_id.clone(),
        base_commit: base.short_commit().map(str::to_string),
        head_commit: head.short_commit().map(str::to_string),
        overall: Paired::of(&pairs),
        by_tag: tags
            .into_iter()
            .map(|(t, ps)| TagComparison {
                tag: t.to_string(),
                paired: Paired::of(&ps),
            })
            .collect(),
        latency_ms: Spread::of(&bl, &hl),
        cost_usd: Spread::of(&bc, &hc),
        // An empty f64 sum is -0.0, which would print as `$-0.0000`.
        total_cost_usd: (bc.iter().sum::<f64>() + 0.0, hc.iter().sum::<f64>() + 0.0),
        flipped,
        only_in_base,
        only_in_head,
        calibration: super::calibration::CalibrationComparison::of(base, head),
    }
}

/// Two-sided level below which a difference against the baseline counts
/// as significant in the variant matrix.
pub const SIGNIFICANCE: f64 = 0.05;

/// A score judge's answer on one trial: the raw score on its scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeAnswer {
    /// The judge check's name.
    pub judge: String,
    /// The (median) score the judge gave, on its scale (`4` of `4/5`).
    pub score: f64,
    /// The top of the scale (`5` of `4/5`).
    pub scale_max: i64,
}

/// The scores of a trial's score judges (`judge` checks in `score` or
/// `reference` mode that gave a score), in check order. A judge that could
/// not decide (an `error`) gave no score and is not listed.
pub fn judge_scores(r: &TrialRecord) -> Vec<JudgeAnswer> {
    r.verdict
        .checks
        .iter()
        .filter(|c| c.kind == "judge" && c.outcome != Outcome::Error)
        .filter(|c| {
            c.evidence
                .as_ref()
                .and_then(|e| e.get("mode"))
                .is_some_and(|m| matches!(m.as_str(), Some("score" | "reference")))
        })
        .filter_map(|c| {
            let (score, max) = c.label.as_deref()?.split_once('/')?;
            Some(JudgeAnswer {
                judge: c.name.clone(),
                score: score.trim().parse::<i64>().ok()? as f64,
                scale_max: max.trim().parse().ok()?,
            })
        })
        .collect()
}

/// A variant's mean score from one score judge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeMean {
    /// The judge check's name.
    pub judge: String,
    /// The top of the judge's scale.
    pub scale_max: Option<i64>,
    /// The mean raw score with its 95% Student-t interval (`None`: the
    /// judge scored none of this variant's trials).
    pub mean: Option<Mean>,
    /// The Wilcoxon signed-rank test of this variant's scores against the
    /// baseline's on the same cases (`None` for the baseline).
    pub vs_baseline: Option<Wilcoxon>,
    /// Significantly higher than the baseline (p < [`SIGNIFICANCE`]).
    pub better: bool,
    /// Significantly lower than the baseline.
    pub worse: bool,
    /// The highest mean among the variants significantly better than the
    /// baseline on this judge.
    pub best: bool,
}

/// A variant against the baseline on pass/fail, paired by case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VsBaseline {
    /// Cases both ran (and neither skipped).
    pub pairs: usize,
    /// McNemar's exact test on the pairs.
    pub mcnemar: McNemar,
    /// Significantly more passes than the baseline.
    pub better: bool,
    /// Significantly fewer passes than the baseline.
    pub worse: bool,
}

/// One row of the variant matrix: one variant of one suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantRow {
    /// The variant id.
    pub variant: String,
    /// Its value on each matrix axis (empty for listed variants).
    pub axis_values: Vec<String>,
    /// Trials counted (skipped trials are not).
    pub n: usize,
    /// Pass rate with its Wilson interval.
    pub pass: Proportion,
    /// Mean score per score judge, in the order of [`VariantMatrix::judges`].
    pub scores: Vec<JudgeMean>,
    /// Median latency (ms).
    pub latency_p50: Option<f64>,
    /// 95th percentile latency (ms).
    pub latency_p95: Option<f64>,
    /// Mean tokens (input + output, target and judges) per trial.
    pub mean_tokens: Option<f64>,
    /// Mean cost per trial (USD).
    pub mean_cost_usd: Option<f64>,
    /// The best variant: on the first score judge when there is one, else
    /// on pass rate; only ever a variant significantly better than the
    /// baseline.
    pub best: bool,
    /// Pass/fail against the baseline (`None` for the baseline itself).
    pub vs_baseline: Option<VsBaseline>,
}

/// The variants of one suite compared (Segment's model × prompt table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantMatrix {
    /// The suite.
    pub suite: String,
    /// Its matrix axes (empty when the variants are listed).
    pub axes: Vec<String>,
    /// The variant the others are tested against.
    pub baseline: String,
    /// The score judges of the suite's trials, in order of appearance.
    pub judges: Vec<String>,
    /// One row per variant, in the order the run has them.
    pub rows: Vec<VariantRow>,
}

impl VariantMatrix {
    /// The values of axis `i`, in order of appearance.
    pub fn axis_values(&self, i: usize) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rows {
            if let Some(v) = r.axis_values.get(i)
                && !out.contains(&v.as_str())
            {
                out.push(v);
            }
        }
        out
    }

    /// The row of the variant with these two axis values.
    pub fn cell(&self, first: &str, second: &str) -> Option<&VariantRow> {
        self.rows.iter().find(|r| {
            r.axis_values.len() == 2 && r.axis_values[0] == first && r.axis_values[1] == second
        })
    }
}

/// Every variant matrix of a run, and what is not in any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantReport {
    /// One matrix per suite with at least two variants.
    pub matrices: Vec<VariantMatrix>,
    /// Suites whose trials are in no matrix (no variants, or only one),
    /// with the number of their trials.
    pub excluded: Vec<(String, usize)>,
}

impl VariantReport {
    /// Whether any suite of the run compares variants.
    pub fn is_empty(&self) -> bool {
        self.matrices.is_empty()
    }
}

/// The variant matrices of a run: per suite with variants, one row per
/// variant with n, mean score per score judge (with its interval), pass
/// rate (Wilson interval), P50/P95 latency, tokens and cost; each variant
/// tested against the baseline on the same cases (Wilcoxon signed-rank on
/// judge scores, McNemar exact on pass/fail), and the best marked only
/// where that test is significant. The baseline is `baseline` in suites
/// that have it, else each suite's first variant. Trials of suites without
/// variants are not mixed in: they are counted in
/// [`VariantReport::excluded`].
pub fn variant_matrix(run: &RunResults, baseline: Option<&str>) -> VariantReport {
    let mut suites: Vec<(&str, Vec<&TrialRecord>)> = Vec::new();
    for r in run.records.iter() {
        let s = r.verdict.suite.as_str();
        match suites.iter_mut().find(|(n, _)| *n == s) {
            Some((_, rs)) => rs.push(r),
            None => suites.push((s, vec![r])),
        }
    }
    let mut matrices = Vec::new();
    let mut excluded = Vec::new();
    for (suite, records) in suites {
        let mut variants: Vec<(&str, Vec<&TrialRecord>)> = Vec::new();
        for r in records.iter().copied() {
            let Some(v) = r.verdict.variant.as_deref() else {
                continue;
            };
            match variants.iter_mut().find(|(n, _)| *n == v) {
                Some((_, rs)) => rs.push(r),
                None => variants.push((v, vec![r])),
            }
        }
        if variants.len() < 2 {
            excluded.push((suite.to_string(), records.len()));
            continue;
        }
        let axes = run.variant_axes.get(suite).cloned().unwrap_or_default();
        matrices.push(suite_matrix(suite, axes, &variants, baseline));
    }
    VariantReport { matrices, excluded }
}

fn suite_matrix<'a>(
    suite: &str,
    axes: Vec<String>,
    variants: &[(&str, Vec<&'a TrialRecord>)],
    baseline: Option<&str>,
) -> VariantMatrix {
    let base_name = baseline
        .filter(|b| variants.iter().any(|(v, _)| v == b))
        .unwrap_or(variants[0].0)
        .to_string();
    let mut judges: Vec<String> = Vec::new();
    let mut scale: HashMap<String, i64> = HashMap::new();
    for (_, rs) in variants {
        for r in rs.iter().filter(|r| counted(r)) {
            for a in judge_scores(r) {
                if !judges.contains(&a.judge) {
                    judges.push(a.judge.clone());
                }
                scale.entry(a.judge).or_insert(a.scale_max);
            }
        }
    }
    let by_case = |rs: &[&'a TrialRecord]| -> HashMap<&'a str, &'a TrialRecord> {
        rs.iter()
            .filter(|r| counted(r))
            .map(|r| (r.verdict.case.as_str(), *r))
            .collect()
    };
    let base_cases = variants
        .iter()
        .find(|(v, _)| *v == base_name)
        .map(|(_, rs)| by_case(rs))
        .unwrap_or_default();
    let score_of = |r: &TrialRecord, judge: &str| {
        judge_scores(r)
            .into_iter()
            .find(|a| a.judge == judge)
            .map(|a| a.score)
    };
    let mut rows: Vec<VariantRow> = variants
        .iter()
        .map(|(name, rs)| {
            let live: Vec<&TrialRecord> = rs.iter().copied().filter(|r| counted(r)).collect();
            let passed = live
                .iter()
                .filter(|r| r.verdict.outcome == Outcome::Pass)
                .count() as u64;
            let is_base = *name == base_name;
            let paired: Vec<(&TrialRecord, &TrialRecord)> = if is_base {
                Vec::new()
            } else {
                live.iter()
                    .filter_map(|r| base_cases.get(r.verdict.case.as_str()).map(|b| (*b, *r)))
                    .collect()
            };
            let scores = judges
                .iter()
                .map(|j| {
                    let values: Vec<f64> = live.iter().filter_map(|r| score_of(r, j)).collect();
                    let vs = (!is_base).then(|| {
                        let diffs: Vec<f64> = paired
                            .iter()
                            .filter_map(|(b, h)| Some(score_of(h, j)? - score_of(b, j)?))
                            .collect();
                        wilcoxon_signed_rank(&diffs)
                    });
                    let sig = vs.filter(|w| w.p_value < SIGNIFICANCE);
                    JudgeMean {
                        judge: j.clone(),
                        scale_max: scale.get(j).copied(),
                        mean: mean_interval(&values),
                        vs_baseline: vs,
                        better: sig.is_some_and(|w| w.w_plus > w.w_minus),
                        worse: sig.is_some_and(|w| w.w_minus > w.w_plus),
                        best: false,
                    }
                })
                .collect();
            let vs_baseline = (!is_base).then(|| {
                let pass = |r: &TrialRecord| r.verdict.outcome == Outcome::Pass;
                let p2f = paired.iter().filter(|(b, h)| pass(b) && !pass(h)).count() as u64;
                let f2p = paired.iter().filter(|(b, h)| !pass(b) && pass(h)).count() as u64;
                let m = mcnemar_exact(p2f, f2p);
                let sig = m.p_value < SIGNIFICANCE;
                VsBaseline {
                    pairs: paired.len(),
                    better: sig && f2p > p2f,
                    worse: sig && p2f > f2p,
                    mcnemar: m,
                }
            });
            let lats: Vec<f64> = live.iter().filter_map(|r| latency_of(r)).collect();
            let costs: Vec<f64> = live.iter().filter_map(|r| r.verdict.cost_usd).collect();
            let tokens: Vec<f64> = live
                .iter()
                .map(|r| (r.verdict.usage.input_tokens + r.verdict.usage.output_tokens) as f64)
                .collect();
            let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
            let parts: Vec<String> = name.split('+').map(str::to_string).collect();
            VariantRow {
                variant: name.to_string(),
                axis_values: if !axes.is_empty() && parts.len() == axes.len() {
                    parts
                } else {
                    Vec::new()
                },
                n: live.len(),
                pass: Proportion::new(passed, live.len() as u64, CONFIDENCE),
                scores,
                latency_p50: percentile(&lats, 0.5),
                latency_p95: percentile(&lats, 0.95),
                mean_tokens: mean(&tokens),
                mean_cost_usd: mean(&costs),
                best: false,
                vs_baseline,
            }
        })
        .collect();
    // Best per judge: the highest mean among significantly better variants.
    for j in 0..judges.len() {
        let best = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.scores[j].better)
            .max_by(|a, b| {
                let m = |r: &VariantRow| r.scores[j].mean.map_or(f64::NEG_INFINITY, |m| m.mean);
                m(a.1).total_cmp(&m(b.1))
            })
            .map(|(i, _)| i);
        if let Some(i) = best {
            rows[i].scores[j].best = true;
        }
    }
    let best = if judges.is_empty() {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| r.vs_baseline.as_ref().is_some_and(|v| v.better))
            .max_by(|a, b| {
                a.1.pass
                    .rate
                    .unwrap_or(0.0)
                    .total_cmp(&b.1.pass.rate.unwrap_or(0.0))
            })
            .map(|(i, _)| i)
    } else {
        rows.iter().position(|r| r.scores[0].best)
    };
    if let Some(i) = best {
        rows[i].best = true;
    }
    let gridded = rows.iter().all(|r| !r.axis_values.is_empty());
    if !gridded {
        for r in &mut rows {
            r.axis_values.clear();
        }
    }
    VariantMatrix {
        suite: suite.to_string(),
        axes: if gridded { axes } else { Vec::new() },
        baseline: base_name,
        judges,
        rows,
    }
}

/// Formats a mean with its interval: `4.55 [4.21–4.89]` (`4.00` alone
/// for a single value, `n/a` for none).
pub fn fmt_mean(m: Option<&Mean>) -> String {
    match m {
        None => "n/a".into(),
        Some(Mean {
            mean,
            low: Some(l),
            high: Some(h),
            ..
        }) => format!("{mean:.2} [{l:.2}–{h:.2}]"),
        Some(m) => format!("{:.2}", m.mean),
    }
}

/// Formats a p-value: `0.031`, `<0.001`.
pub fn fmt_p(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

impl JudgeMean {
    /// The mean, its interval and its marks: `4.55 [4.21–4.89] ▲ ★`.
    pub fn text(&self) -> String {
        format!("{}{}", fmt_mean(self.mean.as_ref()), self.marks())
    }

    /// ` ▲`/` ▼` when significantly higher/lower than the baseline, ` ★`
    /// when the best.
    pub fn marks(&self) -> &'static str {
        match (self.better, self.worse, self.best) {
            (_, _, true) => " ▲ ★",
            (true, _, _) => " ▲",
            (_, true, _) => " ▼",
            _ => "",
        }
    }
}

impl VariantRow {
    /// Judge `i`'s mean with its marks, followed by how many trials it
    /// scored when that is fewer than the variant's (`… (5 of 6 scored)`):
    /// a judge that errored gave no score.
    pub fn score_text(&self, i: usize) -> String {
        let Some(s) = self.scores.get(i) else {
            return "n/a".into();
        };
        let scored = s.mean.map_or(0, |m| m.n);
        if scored < self.n {
            format!("{} ({scored} of {} scored)", s.text(), self.n)
        } else {
            s.text()
        }
    }

    /// The comparison with the baseline, in words: `baseline`, or each
    /// judge's Wilcoxon p and McNemar's p with the number of pairs.
    pub fn vs_text(&self, judges: &[String]) -> String {
        let Some(v) = &self.vs_baseline else {
            return "baseline".into();
        };
        let mut parts: Vec<String> = self
            .scores
            .iter()
            .zip(judges)
            .filter_map(|(s, j)| {
                let w = s.vs_baseline.as_ref()?;
                let name = if judges.len() > 1 {
                    format!(" `{j}`")
                } else {
                    String::new()
                };
                let arrow = if s.better {
                    " ▲"
                } else if s.worse {
                    " ▼"
                } else {
                    ""
                };
                Some(format!("Wilcoxon{name} p {}{arrow}", fmt_p(w.p_value)))
            })
            .collect();
        let arrow = if v.better {
            " ▲"
        } else if v.worse {
            " ▼"
        } else {
            ""
        };
        parts.push(format!("McNemar p {}{arrow}", fmt_p(v.mcnemar.p_value)));
        format!(
            "{} ({})",
            parts.join(" · "),
            crate::text::count(v.pairs, "pair")
        )
    }
}

impl VariantMatrix {
    /// What the marks mean, and whether any variant beat the baseline.
    pub fn legend(&self) -> String {
        let any = self.rows.iter().any(|r| r.best);
        let what = if self.judges.is_empty() {
            "McNemar exact test on paired pass/fail"
        } else {
            "Wilcoxon signed-rank test on the paired judge scores, McNemar exact test on paired pass/fail"
        };
        let verdict = if any {
            String::new()
        } else {
            format!(
                " No variant is significantly better than the baseline `{}`.",
                self.baseline
            )
        };
        format!(
            "Paired with the baseline `{}` on the same cases ({what}); ▲/▼ significantly higher/lower (two-sided p < {SIGNIFICANCE}); ★ the best of the significantly better variants.{verdict}",
            self.baseline
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::sample::record;
    use crate::verdict::Status;

    fn run(records: Vec<TrialRecord>) -> RunResults {
        let mut r = crate::report::sample::run(0, 1.0, 1);
        r.records = records;
        r
    }

    #[test]
    fn pairs_by_trial_and_counts_flips() {
        let p = Outcome::Pass;
        let f = Outcome::Fail;
        let s = Status::Pass;
        let mut base = Vec::new();
        let mut head = Vec::new();
        // 8 stay passing, 6 regress, 0 improve: McNemar p = 2/2^6 = 0.03125.
        for i in 0..8 {
            base.push(record(
                &format!("s::keep{i}"),
                p,
                s,
                1.0,
                &["t:a"],
                100.0,
                0.01,
            ));
            head.push(record(
                &format!("s::keep{i}"),
                p,
                s,
                1.0,
                &["t:a"],
                200.0,
                0.02,
            ));
        }
        for i in 0..6 {
            base.push(record(
                &format!("s::reg{i}"),
                p,
                s,
                0.9,
                &["t:b"],
                100.0,
                0.01,
            ));
            head.push(record(
                &format!("s::reg{i}"),
                f,
                s,
                0.2,
                &["t:b"],
                300.0,
                0.02,
            ));
        }
        base.push(record("s::gone", p, s, 1.0, &[], 1.0, 0.0));
        head.push(record("s::added", p, s, 1.0, &[], 1.0, 0.0));
        let c = compare(&run(base), &run(head));
        assert_eq!(c.overall.pairs, 14);
        assert_eq!(
            (
                c.overall.mcnemar.pass_to_fail,
                c.overall.mcnemar.fail_to_pass
            ),
            (6, 0)
        );
        assert!((c.overall.mcnemar.p_value - 0.03125).abs() < 1e-12);
        // Six equal negative differences: all tied at rank 3.5, W+ = 0:
        // exact p = 2/2^6.
        assert_eq!(c.overall.wilcoxon.n, 6);
        assert!((c.overall.wilcoxon.p_value - 0.03125).abs() < 1e-12);
        assert!(c.overall.significant_regression(0.05));
        assert!(!c.overall.significant_regression(0.01));
        assert_eq!(c.flipped.len(), 6);
        assert!(c.flipped.iter().all(Flip::is_regression));
        assert_eq!(c.only_in_base, ["s::gone"]);
        assert_eq!(c.only_in_head, ["s::added"]);
        assert_eq!(c.latency_ms.base_p50, Some(100.0));
        assert_eq!(c.latency_ms.head_p50, Some(200.0));
        assert_eq!(c.latency_ms.head_p95, Some(300.0));
        let tb = c.by_tag.iter().find(|t| t.tag == "t:b").expect("tag t:b");
        assert_eq!(tb.paired.head.rate, Some(0.0));
        assert!((c.overall.delta.unwrap_or(0.0) + 6.0 / 14.0).abs() < 1e-12);
    }

    /// Seed 000's table in miniature: four variants of a model × prompt
    /// matrix over six cases, one 1–5 judge, and an unrelated suite.
    pub(crate) fn models_run() -> RunResults {
        let scores: [(&str, [i64; 6]); 4] = [
            ("small+terse", [3, 4, 3, 4, 3, 4]),
            ("small+friendly", [4, 5, 4, 5, 4, 5]),
            ("large+terse", [4, 4, 4, 4, 4, 4]),
            ("large+friendly", [5, 5, 5, 5, 4, 5]),
        ];
        let mut recs = Vec::new();
        for c in 0..6 {
            for (v, s) in &scores {
                let big = v.starts_with("large");
                recs.push(crate::report::sample::scored(
                    &format!("models::case{c}::{v}"),
                    "quality",
                    s[c],
                    4,
                    &[],
                    if big { 900.0 } else { 300.0 } + 10.0 * c as f64,
                    if big { 0.004 } else { 0.001 },
                    if v.ends_with("friendly") { 300 } else { 200 },
                ));
            }
        }
        recs.push(record(
            "support::a",
            Outcome::Pass,
            Status::Pass,
            1.0,
            &[],
            5.0,
            0.0,
        ));
        recs.push(record(
            "support::b",
            Outcome::Fail,
            Status::KnownFailure,
            0.0,
            &[],
            5.0,
            0.0,
        ));
        let mut r = run(recs);
        r.variant_axes
            .insert("models".into(), vec!["model".into(), "prompt".into()]);
        r
    }

    #[test]
    fn variant_matrix_grids_judge_means_and_marks_only_significant_best() {
        let report = variant_matrix(&models_run(), None);
        assert_eq!(report.excluded, [("support".to_string(), 2)]);
        let [m] = report.matrices.as_slice() else {
            panic!("one matrix: {report:?}")
        };
        assert_eq!(m.axes, ["model", "prompt"]);
        assert_eq!(m.baseline, "small+terse");
        assert_eq!(m.judges, ["quality"]);
        assert_eq!(m.axis_values(0), ["small", "large"]);
        assert_eq!(m.axis_values(1), ["terse", "friendly"]);
        let row = |v: &str| m.rows.iter().find(|r| r.variant == v).expect(v);
        let base = row("small+terse");
        let q = base.scores[0].mean.expect("mean");
        assert_eq!((q.n, q.mean), (6, 3.5));
        assert!(base.vs_baseline.is_none() && base.scores[0].vs_baseline.is_none());
        assert_eq!(base.pass.rate, Some(0.5));
        // large+friendly: 5,5,5,5,4,5 → mean 29/6, s = √(1/6),
        // half width 2.5706·s/√6 = 0.428433.
        let lf = row("large+friendly");
        let q = lf.scores[0].mean.expect("mean");
        assert!((q.mean - 29.0 / 6.0).abs() < 1e-12);
        assert!((q.low.expect("low") - (29.0 / 6.0 - 0.428433)).abs() < 1e-6);
        // Differences 2,1,2,1,1,1: all positive, W+ = 21, exact p = 2/64.
        let w = lf.scores[0].vs_baseline.expect("paired");
        assert_eq!((w.n, w.w_plus, w.w_minus), (6, 21.0, 0.0));
        assert!((w.p_value - 0.03125).abs() < 1e-12);
        assert!(lf.scores[0].better && lf.scores[0].best && lf.best);
        // Pass/fail: 3 fail→pass, none the other way: McNemar p = 2/8.
        let vs = lf.vs_baseline.as_ref().expect("vs");
        assert_eq!((vs.pairs, vs.mcnemar.fail_to_pass), (6, 3));
        assert!((vs.mcnemar.p_value - 0.25).abs() < 1e-12);
        assert!(!vs.better && !vs.worse);
        // small+friendly is significantly better too, but lower.
        let sf = row("small+friendly");
        assert!(sf.scores[0].better && !sf.scores[0].best && !sf.best);
        // large+terse: higher mean (4.0), 3 non-zero differences: p = 2/8,
        // not significant, not marked.
        let lt = row("large+terse");
        let w = lt.scores[0].vs_baseline.expect("paired");
        assert_eq!((w.n, w.zeros), (3, 3));
        assert!((w.p_value - 0.25).abs() < 1e-12);
        assert!(!lt.scores[0].better && !lt.best);
        assert_eq!(lt.latency_p50, Some(925.0));
        assert_eq!(lt.mean_tokens, Some(200.0));
        assert_eq!(lt.mean_cost_usd, Some(0.004));
        assert_eq!(
            m.cell("large", "friendly").map(|r| r.variant.as_str()),
            Some("large+friendly")
        );
    }

    #[test]
    fn a_judge_that_errored_is_not_counted_and_the_row_says_so() {
        let mut recs = Vec::new();
        for i in 0..3 {
            recs.push(crate::report::sample::scored(
                &format!("s::c{i}::a"),
                "q",
                4,
                4,
                &[],
                1.0,
                0.0,
                10,
            ));
            recs.push(if i == 0 {
                // The judge could not decide: an `error`, no score.
                let mut r = crate::report::sample::scored(
                    &format!("s::c{i}::b"),
                    "q",
                    1,
                    4,
                    &[],
                    1.0,
                    0.0,
                    10,
                );
                r.verdict.outcome = Outcome::Error;
                r.verdict.checks[0] = crate::verdict::CheckResult::error(
                    "judge",
                    "q",
                    "the judge answer had no score",
                )
                .with_evidence(serde_json::json!({"mode": "score"}));
                r
            } else {
                crate::report::sample::scored(&format!("s::c{i}::b"), "q", 2, 4, &[], 1.0, 0.0, 10)
            });
        }
        let report = variant_matrix(&run(recs), None);
        let b = &report.matrices[0].rows[1];
        assert_eq!((b.n, b.scores[0].mean.map(|m| m.n)), (3, Some(2)));
        assert_eq!(b.score_text(0), "2.00 [2.00–2.00] (2 of 3 scored)");
        assert_eq!(report.matrices[0].rows[0].score_text(0), "4.00 [4.00–4.00]");
        // Paired on the two cases both scored: two equal negative differences.
        let w = b.scores[0].vs_baseline.expect("paired");
        assert_eq!((w.n, w.w_minus), (2, 3.0));
    }

    #[test]
    fn without_a_significant_difference_nothing_is_best() {
        let mut recs = Vec::new();
        for i in 0..4 {
            for (v, s) in [("a", 3), ("b", if i == 0 { 5 } else { 3 })] {
                recs.push(crate::report::sample::scored(
                    &format!("s::c{i}::{v}"),
                    "q",
                    s,
                    4,
                    &[],
                    1.0,
                    0.0,
                    10,
                ));
            }
        }
        let report = variant_matrix(&run(recs), Some("a"));
        let m = &report.matrices[0];
        assert!(m.axes.is_empty());
        assert!(m.rows.iter().all(|r| !r.best && r.axis_values.is_empty()));
        assert!(
            m.legend()
                .contains("No variant is significantly better than the baseline `a`")
        );
        // A baseline that names no variant falls back to the first.
        assert_eq!(variant_matrix(&run(Vec::new()), None).matrices.len(), 0);
    }
}
