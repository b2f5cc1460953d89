//! Calibrated pass rates: a judge's raw pass rate corrected for its known
//! errors, measured against human labels (see `docs/reports.md`,
//! "Calibrated pass rates").
//!
//! Every judge result carries the human label of its output when the
//! suite's label file has one ([`crate::verdict::HumanLabel`]). Per judge
//! check, a run then gives
//!
//! - the raw judged pass rate `p` over every output the judge decided;
//! - the judge's true-positive rate (TPR: passes among human passes) and
//!   true-negative rate (TNR: fails among human fails) over the **held-out**
//!   labels: fresh (the label's `output_sha256` is this output's), and not
//!   one of the judge's few-shot examples. Labels are matched with the
//!   judge as it runs now, so a changed judge prompt is measured afresh
//!   and a label can only go stale by its output changing.
//! - the Rogan–Gladen estimate `(p + TNR − 1) / (TPR + TNR − 1)`, clamped
//!   to `[0, 1]`, with a 95% interval by the delta method carrying the
//!   variance of `p` (`n` judged outputs) and of TPR and TNR (finitely many
//!   labels): `Var = [p(1−p)/n + θ²·TPR(1−TPR)/n₁ + (1−θ)²·TNR(1−TNR)/n₀] / J²`
//!   with `J = TPR + TNR − 1`. Inside the variance only, each proportion is
//!   Agresti–Coull adjusted (`(x + z²/2)/(n + z²)`), so that a TPR of 100%
//!   from a handful of labels still carries uncertainty. The interval is
//!   clamped to `[0, 1]`.
//!
//! The correction is withheld (and the report says why) with fewer than
//! [`MIN_LABELS_PER_VERDICT`] held-out labels of either human verdict, or
//! when `TPR + TNR − 1 ≤ 0` (a judge no better than chance cannot be
//! inverted).

use std::collections::BTreeMap;

use serde::Serialize;

use super::results::RunResults;
use super::stats::normal;
use crate::verdict::Outcome;

/// The fewest held-out labels of each human verdict (pass and fail) the
/// correction needs: below, TPR or TNR rests on too few labels to invert.
pub const MIN_LABELS_PER_VERDICT: u64 = 5;

/// Confidence of the interval.
pub const CONFIDENCE: f64 = 0.95;

/// Human verdict (rows) against the judge's (columns), `pass` positive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LabelCounts {
    /// Human pass, judge pass.
    pub tp: u64,
    /// Human pass, judge fail.
    pub fn_: u64,
    /// Human fail, judge pass.
    pub fp: u64,
    /// Human fail, judge fail.
    pub tn: u64,
    /// Labels about an output that changed since labelling: not used.
    pub stale: u64,
    /// Labels shown to this judge as few-shot examples: not measured.
    pub few_shot: u64,
    /// Labelled outputs the judge did not decide (errors): not measured.
    pub undecided: u64,
}

impl LabelCounts {
    /// Held-out labels the human passed.
    pub fn human_pass(&self) -> u64 {
        self.tp + self.fn_
    }
    /// Held-out labels the human failed.
    pub fn human_fail(&self) -> u64 {
        self.fp + self.tn
    }
}

/// Why a calibrated pass rate is or is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationStatus {
    /// The correction is given.
    Ok,
    /// Fewer than [`MIN_LABELS_PER_VERDICT`] held-out labels of a verdict.
    TooFewLabels,
    /// `TPR + TNR − 1 ≤ 0`: the judge is no better than chance on the labels.
    Undefined,
    /// The judge decided no output in this run.
    NothingJudged,
}

/// A bias-corrected pass rate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Corrected {
    /// The Rogan–Gladen estimate, clamped to `[0, 1]`.
    pub estimate: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// The calibration of one judge check of one suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The suite.
    pub suite: String,
    /// The judge check name.
    pub check: String,
    /// The variant, for a per-variant row of a judge that ran under
    /// several variants (its TPR and TNR pooled over all of them; `p` this
    /// variant's); `None` for the judge over the whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Outputs the judge decided (pass or fail).
    pub judged: u64,
    /// Of those, passed.
    pub judged_pass: u64,
    /// The labels.
    pub labels: LabelCounts,
    /// TPR over held-out labels.
    pub tpr: Option<f64>,
    /// TNR over held-out labels.
    pub tnr: Option<f64>,
    /// Whether the correction is given.
    pub status: CalibrationStatus,
    /// The correction, when given.
    pub corrected: Option<Corrected>,
}

impl Calibration {
    /// `suite · check`, or `suite · check · variant` for a variant's row.
    pub fn name(&self) -> String {
        match &self.variant {
            Some(v) => format!("{} · {} · {v}", self.suite, self.check),
            None => format!("{} · {}", self.suite, self.check),
        }
    }

    /// The raw judged pass rate.
    pub fn raw(&self) -> Option<f64> {
        (self.judged > 0).then(|| self.judged_pass as f64 / self.judged as f64)
    }

    /// One line for reports: raw rate, calibrated rate or why there is none,
    /// and what the labels were.
    pub fn describe(&self) -> String {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        let raw = match self.raw() {
            Some(r) => format!(
                "judged pass rate {} ({}/{})",
                pct(r),
                self.judged_pass,
                self.judged
            ),
            None => "judged pass rate n/a (no output decided)".to_string(),
        };
        let l = &self.labels;
        let rates = match (self.tpr, self.tnr) {
            (Some(a), Some(b)) => format!("TPR {}, TNR {}", pct(a), pct(b)),
            (Some(a), None) => format!("TPR {}, TNR n/a", pct(a)),
            (None, Some(b)) => format!("TPR n/a, TNR {}", pct(b)),
            (None, None) => "TPR n/a, TNR n/a".to_string(),
        };
        let calibrated = match (self.status, self.corrected) {
            (CalibrationStatus::Ok, Some(c)) => format!(
                "calibrated {} [{:.0}% CI {}–{}]",
                pct(c.estimate),
                CONFIDENCE * 100.0,
                pct(c.low),
                pct(c.high)
            ),
            (CalibrationStatus::TooFewLabels, _) => format!(
                "calibrated n/a: too few labels (need {MIN_LABELS_PER_VERDICT} held-out of each verdict)"
            ),
            (CalibrationStatus::Undefined, _) => {
                "calibrated n/a: TPR + TNR − 1 ≤ 0, the judge is no better than chance on the labels"
                    .to_string()
            }
            _ => "calibrated n/a: the judge decided nothing".to_string(),
        };
        let mut extra = Vec::new();
        if l.stale > 0 {
            extra.push(format!(
                "{} stale (output changed; relabel with `tribunal label --suite {} --relabel-stale`)",
                l.stale, self.suite
            ));
        }
        if l.few_shot > 0 {
            extra.push(format!("{} few-shot, not measured", l.few_shot));
        }
        if l.undecided > 0 {
            extra.push(format!("{} undecided by the judge", l.undecided));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("; {}", extra.join("; "))
        };
        format!(
            "{}: {raw} → {calibrated} ({rates} from {} held-out labels: {} pass, {} fail{extra})",
            self.name(),
            l.human_pass() + l.human_fail(),
            l.human_pass(),
            l.human_fail(),
        )
    }
}

fn adjusted(x: f64, n: f64, z: f64) -> f64 {
    (x + z * z / 2.0) / (n + z * z)
}

/// The Rogan–Gladen correction of a raw pass rate of `passes` of `n`
/// judged outputs, with TPR from `tp` of `n_pos` human passes and TNR from
/// `tn` of `n_neg` human fails; `None` when `TPR + TNR − 1 ≤ 0` or a count
/// is zero. See the module docs for the interval.
pub fn rogan_gladen(
    passes: u64,
    n: u64,
    tp: u64,
    n_pos: u64,
    tn: u64,
    n_neg: u64,
) -> Option<Corrected> {
    if n == 0 || n_pos == 0 || n_neg == 0 {
        return None;
    }
    let (nf, n1, n0) = (n as f64, n_pos as f64, n_neg as f64);
    let p = passes as f64 / nf;
    let tpr = tp as f64 / n1;
    let tnr = tn as f64 / n0;
    let j = tpr + tnr - 1.0;
    if j <= 1e-12 {
        return None;
    }
    let theta = (p + tnr - 1.0) / j;
    let clamped = theta.clamp(0.0, 1.0);
    let z = normal::quantile(1.0 - (1.0 - CONFIDENCE) / 2.0);
    let pa = adjusted(passes as f64, nf, z);
    let ta = adjusted(tp as f64, n1, z);
    let na = adjusted(tn as f64, n0, z);
    let var = (pa * (1.0 - pa) / nf
        + clamped * clamped * ta * (1.0 - ta) / n1
        + (1.0 - clamped) * (1.0 - clamped) * na * (1.0 - na) / n0)
        / (j * j);
    let half = z * var.sqrt();
    Some(Corrected {
        estimate: clamped,
        low: (theta - half).clamp(0.0, 1.0),
        high: (theta + half).clamp(0.0, 1.0),
    })
}

/// Per judge check of each suite that has at least one human label in the
/// run, its calibration. Judges without labels are left out.
pub fn calibrations(run: &RunResults) -> Vec<Calibration> {
    #[derive(Default)]
    struct Acc {
        judged: u64,
        pass: u64,
        labels: LabelCounts,
        labelled: bool,
        /// Per variant: (judged, passed).
        variants: BTreeMap<Option<String>, (u64, u64)>,
    }
    let mut by: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for r in &run.records {
        if r.load_error.is_some() || r.verdict.outcome == Outcome::Skipped {
            continue;
        }
        for c in r.verdict.checks.iter().filter(|c| c.kind == "judge") {
            let acc = by
                .entry((r.verdict.suite.clone(), c.name.clone()))
                .or_default();
            let decided = match c.outcome {
                Outcome::Pass => Some(true),
                Outcome::Fail => Some(false),
                _ => None,
            };
            if let Some(pass) = decided {
                acc.judged += 1;
                acc.pass += u64::from(pass);
                let v = acc.variants.entry(r.verdict.variant.clone()).or_default();
                v.0 += 1;
                v.1 += u64::from(pass);
            }
            let Some(h) = &c.human else { continue };
            acc.labelled = true;
            let l = &mut acc.labels;
            match (h.fresh, h.few_shot, decided) {
                (false, _, _) => l.stale += 1,
                (true, true, _) => l.few_shot += 1,
                (true, false, None) => l.undecided += 1,
                (true, false, Some(judge)) => match (h.pass, judge) {
                    (true, true) => l.tp += 1,
                    (true, false) => l.fn_ += 1,
                    (false, true) => l.fp += 1,
                    (false, false) => l.tn += 1,
                },
            }
        }
    }
    let mut out = Vec::new();
    for ((suite, check), a) in by.into_iter().filter(|(_, a)| a.labelled) {
        out.push(calibration(
            &suite, &check, None, a.judged, a.pass, a.labels,
        ));
        // Under several variants, each variant's own pass rate, corrected
        // with the judge's rates over all of them.
        if a.variants.keys().filter(|v| v.is_some()).count() > 1 {
            for (v, (judged, pass)) in &a.variants {
                if v.is_some() {
                    out.push(calibration(
                        &suite,
                        &check,
                        v.clone(),
                        *judged,
                        *pass,
                        a.labels,
                    ));
                }
            }
        }
    }
    out
}

fn calibration(
    suite: &str,
    check: &str,
    variant: Option<String>,
    judged: u64,
    pass: u64,
    l: LabelCounts,
) -> Calibration {
    let ratio = |x: u64, n: u64| (n > 0).then(|| x as f64 / n as f64);
    let tpr = ratio(l.tp, l.human_pass());
    let tnr = ratio(l.tn, l.human_fail());
    let (status, corrected) = if judged == 0 {
        (CalibrationStatus::NothingJudged, None)
    } else if l.human_pass() < MIN_LABELS_PER_VERDICT || l.human_fail() < MIN_LABELS_PER_VERDICT {
        (CalibrationStatus::TooFewLabels, None)
    } else {
        match rogan_gladen(pass, judged, l.tp, l.human_pass(), l.tn, l.human_fail()) {
            Some(c) => (CalibrationStatus::Ok, Some(c)),
            None => (CalibrationStatus::Undefined, None),
        }
    };
    Calibration {
        suite: suite.to_string(),
        check: check.to_string(),
        variant,
        judged,
        judged_pass: pass,
        labels: l,
        tpr,
        tnr,
        status,
        corrected,
    }
}

/// The terminal summary's lines (empty when no judge has labels).
pub fn terminal(run: &RunResults) -> String {
    let all = calibrations(run);
    if all.is_empty() {
        return String::new();
    }
    let mut out = String::from("  calibrated pass rates (judges against human labels):\n");
    for c in &all {
        out.push_str(&format!("    {}\n", c.describe()));
    }
    out
}

/// The Markdown section (empty when no judge has labels).
pub fn markdown(run: &RunResults) -> String {
    markdown_of(&calibrations(run), "Calibrated pass rates")
}

/// A Markdown table of calibrations under a `###` heading.
pub fn markdown_of(all: &[Calibration], title: &str) -> String {
    if all.is_empty() {
        return String::new();
    }
    let pct = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
    let mut out = format!(
        "\n### {title}\n\n| judge | judged pass rate | calibrated (95% CI) | TPR | TNR | held-out labels (pass/fail) | stale | few-shot |\n|---|---|---|---|---|---|---|---|\n"
    );
    for c in all {
        let calibrated = match (c.status, c.corrected) {
            (CalibrationStatus::Ok, Some(k)) => format!(
                "{:.1}% ({:.1}%–{:.1}%)",
                k.estimate * 100.0,
                k.low * 100.0,
                k.high * 100.0
            ),
            (CalibrationStatus::TooFewLabels, _) => {
                format!("n/a: too few labels (need {MIN_LABELS_PER_VERDICT} of each)")
            }
            (CalibrationStatus::Undefined, _) => "n/a: TPR + TNR − 1 ≤ 0".to_string(),
            _ => "n/a: nothing judged".to_string(),
        };
        out.push_str(&format!(
            "| {} | {} ({}/{}) | {} | {} | {} | {}/{} | {} | {} |\n",
            super::markdown::cell(&c.name()),
            pct(c.raw()),
            c.judged_pass,
            c.judged,
            calibrated,
            pct(c.tpr),
            pct(c.tnr),
            c.labels.human_pass(),
            c.labels.human_fail(),
            c.labels.stale,
            c.labels.few_shot
        ));
    }
    out
}

/// The HTML section (empty when no judge has labels).
pub fn html(run: &RunResults) -> String {
    let all = calibrations(run);
    if all.is_empty() {
        return String::new();
    }
    let esc = super::html::esc;
    let mut out = String::from(
        "<section id=\"calibration\"><h2>Calibrated pass rates</h2><table><thead><tr><th>judge</th><th>judged pass rate</th><th>calibrated (95% CI)</th><th>TPR</th><th>TNR</th><th>held-out labels</th><th>note</th></tr></thead><tbody>\n",
    );
    let pct = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
    for c in &all {
        let calibrated = match c.corrected {
            Some(k) => format!(
                "{:.1}% ({:.1}%–{:.1}%)",
                k.estimate * 100.0,
                k.low * 100.0,
                k.high * 100.0
            ),
            None => "n/a".to_string(),
        };
        let note = match c.status {
            CalibrationStatus::Ok => String::new(),
            CalibrationStatus::TooFewLabels => {
                format!("too few labels (need {MIN_LABELS_PER_VERDICT} of each verdict)")
            }
            CalibrationStatus::Undefined => "TPR + TNR − 1 ≤ 0: correction undefined".into(),
            CalibrationStatus::NothingJudged => "nothing judged".into(),
        };
        let mut notes = vec![note];
        if c.labels.stale > 0 {
            notes.push(format!("{} stale", c.labels.stale));
        }
        if c.labels.few_shot > 0 {
            notes.push(format!("{} few-shot", c.labels.few_shot));
        }
        let notes: Vec<String> = notes.into_iter().filter(|n| !n.is_empty()).collect();
        out.push_str(&format!(
            "<tr><td>{}</td><td>{} ({}/{})</td><td>{}</td><td>{}</td><td>{}</td><td>{} pass / {} fail</td><td>{}</td></tr>\n",
            esc(&c.name()),
            pct(c.raw()),
            c.judged_pass,
            c.judged,
            calibrated,
            pct(c.tpr),
            pct(c.tnr),
            c.labels.human_pass(),
            c.labels.human_fail(),
            esc(&notes.join("; "))
        ));
    }
    out.push_str("</tbody></table></section>\n");
    out
}

/// Base and head calibrations of a comparison, paired by suite and judge.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CalibrationComparison {
    /// The base run's.
    pub base: Vec<Calibration>,
    /// The head run's.
    pub head: Vec<Calibration>,
}

impl CalibrationComparison {
    /// Both runs' calibrations.
    pub fn of(base: &RunResults, head: &RunResults) -> Self {
        CalibrationComparison {
            base: calibrations(base),
            head: calibrations(head),
        }
    }

    /// Whether neither run has labelled judges.
    pub fn is_empty(&self) -> bool {
        self.base.is_empty() && self.head.is_empty()
    }

    /// The Markdown section of `tribunal compare`.
    pub fn markdown(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let pct = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
        let cal = |c: Option<&Calibration>| match c.and_then(|c| c.corrected) {
            Some(k) => format!(
                "{:.1}% ({:.1}%–{:.1}%)",
                k.estimate * 100.0,
                k.low * 100.0,
                k.high * 100.0
            ),
            None => "n/a".to_string(),
        };
        let mut keys: Vec<String> = self
            .base
            .iter()
            .chain(&self.head)
            .map(Calibration::name)
            .collect();
        keys.sort();
        keys.dedup();
        let mut out = String::from(
            "\n### Calibrated pass rates\n\n| judge | base judged | base calibrated (95% CI) | head judged | head calibrated (95% CI) |\n|---|---|---|---|---|\n",
        );
        for key in keys {
            let find = |v: &'_ [Calibration]| -> Option<Calibration> {
                v.iter().find(|c| c.name() == key).cloned()
            };
            let (b, h) = (find(&self.base), find(&self.head));
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                super::markdown::cell(&key),
                pct(b.as_ref().and_then(Calibration::raw)),
                cal(b.as_ref()),
                pct(h.as_ref().and_then(Calibration::raw)),
                cal(h.as_ref()),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    fn close_to(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn rogan_gladen_matches_hand_computed_values() {
        // p = 70/100, TPR = 36/40 = 0.9, TNR = 32/40 = 0.8, J = 0.7:
        // θ = (0.7 + 0.8 − 1) / 0.7 = 0.5 / 0.7 = 0.714285714…
        let c = rogan_gladen(70, 100, 36, 40, 32, 40).expect("defined");
        close(c.estimate, 0.5 / 0.7);
        // z = 1.959964; z²/2 = 1.920729; z² = 3.841459:
        // p̃ = 71.920729/103.841459 = 0.692601; TPR̃ = 37.920729/43.841459 = 0.864951;
        // TNR̃ = 33.920729/43.841459 = 0.773714.
        // Var = [0.692601·0.307399/100 + 0.714286²·0.864951·0.135049/40
        //        + 0.285714²·0.773714·0.226286/40] / 0.7²
        //     = [0.00212905 + 0.00148993 + 0.00035731] / 0.49 = 0.00811487
        // half width = z·√Var = 0.1765586
        close_to((c.high - c.low) / 2.0, 0.176_558_6);
        close_to(c.low, 0.537_727_1);
        close_to(c.high, 0.890_844_3);
    }

    #[test]
    fn variants_get_their_own_rates_corrected_with_the_pooled_judge_rates() {
        use crate::verdict::{CheckResult, HumanLabel};
        let mut run = super::super::sample::run(12, 1.0, 3);
        for (i, r) in run.records.iter_mut().enumerate() {
            // v1: judged pass, human 5 pass + 1 fail; v2: judged fail, human 1 pass + 5 fail.
            let (variant, judge_pass, human_pass) = if i < 6 {
                ("v1", true, i < 5)
            } else {
                ("v2", false, i == 6)
            };
            r.verdict.suite = "s".into();
            r.verdict.variant = Some(variant.into());
            r.verdict.outcome = Outcome::Pass;
            r.load_error = None;
            let mut c = CheckResult::from_bool("judge", "q", judge_pass, "");
            c.human = Some(HumanLabel {
                pass: human_pass,
                fresh: true,
                few_shot: false,
                date: "2026-11-20".into(),
                tags: Vec::new(),
                critique: String::new(),
            });
            r.verdict.checks = vec![c];
        }
        let all = calibrations(&run);
        let names: Vec<String> = all.iter().map(Calibration::name).collect();
        assert_eq!(names, ["s · q", "s · q · v1", "s · q · v2"]);
        // TPR = TNR = 5/6 pooled, J = 2/3. Overall p = 1/2 → θ = (1/3)/(2/3) = 0.5;
        // v1: p = 1 → 1.25, clamped to 1; v2: p = 0 → −0.25, clamped to 0.
        let est: Vec<f64> = all
            .iter()
            .map(|c| c.corrected.expect("enough labels").estimate)
            .collect();
        close(est[0], 0.5);
        close(est[1], 1.0);
        close(est[2], 0.0);
        assert!(all.iter().all(|c| c.labels.tp == 5 && c.labels.tn == 5));
    }

    #[test]
    fn perfect_judge_keeps_the_raw_rate_and_label_uncertainty() {
        // TPR = TNR = 1: θ = p; the interval is still wider than p's alone.
        let c = rogan_gladen(30, 60, 5, 5, 5, 5).expect("defined");
        close(c.estimate, 0.5);
        assert!(c.high - c.low > 0.2, "{c:?}");
    }

    #[test]
    fn corrections_clamp_and_refuse_a_chance_judge() {
        // p = 0.1 below 1 − TNR = 0.2: (0.1 + 0.8 − 1)/0.7 < 0 → clamped to 0.
        let c = rogan_gladen(10, 100, 9, 10, 8, 10).expect("defined");
        close(c.estimate, 0.0);
        assert_eq!(c.low, 0.0);
        // TPR = TNR = 0.5: J = 0, no correction.
        assert_eq!(rogan_gladen(50, 100, 5, 10, 5, 10), None);
        assert_eq!(rogan_gladen(50, 100, 0, 0, 5, 10), None);
    }
}
