//! Comparing two runs (base vs head) and the variants of one run.
//!
//! Trials pair by trial name (`suite::case[::variant]`). Skipped trials and
//! trials present in only one run do not enter the paired tests; they are
//! listed separately.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::results::RunResults;
use super::stats::{
    McNemar, Proportion, Wilcoxon, mcnemar_exact, percentile, wilcoxon_signed_rank,
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

/// One row of the variant matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantRow {
    /// The variant (`(default)` for trials without one).
    pub variant: String,
    /// Trials counted.
    pub n: usize,
    /// Mean verdict score.
    pub mean_score: Option<f64>,
    /// Pass rate with interval.
    pub pass: Proportion,
    /// Mean cost per trial (USD).
    pub mean_cost_usd: Option<f64>,
    /// Median latency (ms).
    pub latency_p50: Option<f64>,
    /// 95th percentile latency (ms).
    pub latency_p95: Option<f64>,
    /// The best variant: highest mean score, then pass rate, then lowest cost.
    pub best: bool,
    /// Paired tests against the baseline variant (same suite and case);
    /// `None` for the baseline itself.
    pub vs_baseline: Option<Paired>,
}

/// The variant matrix of a run (Segment's model × prompt table): one row
/// per variant with mean score, pass rate and interval, cost and latency,
/// the best marked, and McNemar/Wilcoxon against `baseline` (default: the
/// first variant in name order).
pub fn variant_matrix(run: &RunResults, baseline: Option<&str>) -> Vec<VariantRow> {
    let mut groups: BTreeMap<String, Vec<&TrialRecord>> = BTreeMap::new();
    for r in run.records.iter().filter(|r| counted(r)) {
        let v = r
            .verdict
            .variant
            .clone()
            .unwrap_or_else(|| "(default)".into());
        groups.entry(v).or_default().push(r);
    }
    let base_name = baseline
        .filter(|b| groups.contains_key(*b))
        .map(str::to_string)
        .or_else(|| groups.keys().next().cloned());
    let key = |r: &TrialRecord| format!("{}::{}", r.verdict.suite, r.verdict.case);
    let base_by: HashMap<String, &TrialRecord> = base_name
        .as_ref()
        .and_then(|b| groups.get(b))
        .map(|rs| rs.iter().map(|r| (key(r), *r)).collect())
        .unwrap_or_default();
    let mut rows: Vec<VariantRow> = groups
        .iter()
        .map(|(name, rs)| {
            let row = super::summary::group_row(name, rs.iter().copied());
            let costs: Vec<f64> = rs.iter().filter_map(|r| r.verdict.cost_usd).collect();
            let lats: Vec<f64> = rs.iter().filter_map(|r| latency_of(r)).collect();
            let vs_baseline = (Some(name) != base_name.as_ref()).then(|| {
                let pairs: Vec<(&TrialRecord, &TrialRecord)> = rs
                    .iter()
                    .filter_map(|r| base_by.get(&key(r)).map(|b| (*b, *r)))
                    .collect();
                Paired::of(&pairs)
            });
            VariantRow {
                variant: name.clone(),
                n: rs.len(),
                mean_score: row.mean_score,
                pass: row.pass,
                mean_cost_usd: (!costs.is_empty())
                    .then(|| costs.iter().sum::<f64>() / costs.len() as f64),
                latency_p50: percentile(&lats, 0.5),
                latency_p95: percentile(&lats, 0.95),
                best: false,
                vs_baseline,
            }
        })
        .collect();
    let rank = |r: &VariantRow| {
        (
            r.mean_score.unwrap_or(f64::NEG_INFINITY),
            r.pass.rate.unwrap_or(0.0),
            -r.mean_cost_usd.unwrap_or(0.0),
        )
    };
    let best = rows
        .iter()
        .enumerate()
        .max_by(|a, b| {
            rank(a.1)
                .partial_cmp(&rank(b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(i, _)| i);
    if let Some(i) = best {
        rows[i].best = true;
    }
    rows
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn variant_matrix_marks_best_and_tests_against_baseline() {
        let mut recs = Vec::new();
        for i in 0..10 {
            let fails = i < 7;
            recs.push(record(
                &format!("s::c{i}::small"),
                if fails { Outcome::Fail } else { Outcome::Pass },
                Status::Pass,
                if fails { 0.2 } else { 0.8 },
                &[],
                100.0,
                0.001,
            ));
            recs.push(record(
                &format!("s::c{i}::large"),
                Outcome::Pass,
                Status::Pass,
                0.9,
                &[],
                400.0,
                0.01,
            ));
        }
        let rows = variant_matrix(&run(recs), Some("small"));
        assert_eq!(rows.len(), 2);
        let large = rows.iter().find(|r| r.variant == "large").expect("large");
        let small = rows.iter().find(|r| r.variant == "small").expect("small");
        assert!(large.best && !small.best);
        assert!(small.vs_baseline.is_none());
        let vs = large.vs_baseline.as_ref().expect("paired with baseline");
        assert_eq!(vs.pairs, 10);
        assert_eq!((vs.mcnemar.pass_to_fail, vs.mcnemar.fail_to_pass), (0, 7));
        assert!((vs.mcnemar.p_value - 2.0 / 128.0).abs() < 1e-12);
        assert_eq!(small.pass.rate, Some(0.3));
        assert_eq!(large.latency_p50, Some(400.0));
    }
}
