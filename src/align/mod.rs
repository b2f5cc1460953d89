//! Working with human labels: the labelling walk ([`walk`], `tribunal
//! label`) and judge–human alignment (`tribunal align`): run the judges over
//! labelled outputs and measure how often they agree with the expert. Both
//! run targets and checks, so they sit above the evaluation; the label-file
//! model they read and write is [`crate::labels`], which checks read too.
//!
//! "Positive" is `pass`. The confusion matrix has the human verdict in rows
//! and the judge's in columns. Reported: accuracy (agreement), Cohen's κ,
//! the true-positive rate (judge passes what the human passes) and the
//! true-negative rate (judge fails what the human fails), overall, per judge
//! check and per tag. Every disagreement is listed with both critiques.
//!
//! Held-out split: a judge with `few_shot: n` draws its examples from a
//! fixed pool of `n` labels ([`crate::labels::split`], by label id hash),
//! never the case being judged. Labels in the pool are judged but not
//! measured: agreement, κ, TPR and TNR are over the held-out labels only,
//! and the report states the split.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

pub mod walk;

use crate::case::Suite;
use crate::check::{CheckCx, run_check};
use crate::labels::{HumanVerdict, LabelFile};
use crate::run::{RunEnv, Trial, check_cx};
use crate::verdict::{Outcome, Output};

/// A 2×2 confusion matrix, `pass` positive, human in rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Human pass, judge pass.
    pub tp: u64,
    /// Human pass, judge fail.
    pub fn_: u64,
    /// Human fail, judge pass.
    pub fp: u64,
    /// Human fail, judge fail.
    pub tn: u64,
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl Confusion {
    /// Counts one pair of verdicts.
    pub fn add(&mut self, human_pass: bool, judge_pass: bool) {
        match (human_pass, judge_pass) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }

    /// Number of pairs.
    pub fn n(&self) -> u64 {
        self.tp + self.fn_ + self.fp + self.tn
    }

    /// Share of pairs where judge and human agree.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.tp + self.tn, self.n())
    }

    /// Judge passes among human passes.
    pub fn tpr(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Judge fails among human fails.
    pub fn tnr(&self) -> Option<f64> {
        ratio(self.tn, self.tn + self.fp)
    }

    /// Cohen's κ: agreement corrected for chance. `None` when undefined
    /// (no pairs, or both raters gave one single verdict throughout, so chance
    /// agreement is 1).
    pub fn kappa(&self) -> Option<f64> {
        let n = self.n() as f64;
        if n == 0.0 {
            return None;
        }
        let po = (self.tp + self.tn) as f64 / n;
        let human_pass = (self.tp + self.fn_) as f64 / n;
        let judge_pass = (self.tp + self.fp) as f64 / n;
        let pe = human_pass * judge_pass + (1.0 - human_pass) * (1.0 - judge_pass);
        if (1.0 - pe).abs() < 1e-12 {
            return None;
        }
        Some((po - pe) / (1.0 - pe))
    }
}

/// Whether a label is about the current output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum Freshness {
    /// The current output is the labelled one.
    Fresh,
    /// The output changed since it was labelled.
    Stale,
    /// The current output could not be produced (the reason).
    Unknown(String),
}

/// One judge verdict on one labelled output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The case id.
    pub case: String,
    /// The variant.
    pub variant: Option<String>,
    /// The judge check name.
    pub check: String,
    /// The case tags.
    pub tags: Vec<String>,
    /// The human verdict.
    pub human: HumanVerdict,
    /// The judge outcome.
    pub judge: Outcome,
    /// The human critique.
    pub human_critique: String,
    /// The judge critique (or its reason when it has none).
    pub judge_critique: String,
    /// Whether the label is about the current output.
    pub freshness: Freshness,
    /// The human score, when the label has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_score: Option<i64>,
    /// The judge's raw score (from its `4/5` label), for scoring judges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_score: Option<i64>,
}

/// How closely judge scores match human scores, where both exist.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreAgreement {
    /// Pairs of scores.
    pub n: usize,
    /// Share of identical scores.
    pub exact: f64,
    /// Share of scores at most one point apart.
    pub within_one: f64,
    /// Mean absolute difference.
    pub mean_abs_diff: f64,
}

/// The raw score of a judge label such as `4/5`.
pub fn raw_score(label: Option<&str>) -> Option<i64> {
    label?.split_once('/')?.0.trim().parse().ok()
}

impl Item {
    /// Whether judge and human agree (`None` when the judge did not decide).
    pub fn agrees(&self) -> Option<bool> {
        match self.judge {
            Outcome::Pass => Some(self.human.is_pass()),
            Outcome::Fail => Some(!self.human.is_pass()),
            _ => None,
        }
    }
}

/// What to align.
#[derive(Debug, Clone, Default)]
pub struct AlignOptions {
    /// Only the judge check with this name.
    pub check: Option<String>,
    /// Use stale labels too (they are reported either way).
    pub include_stale: bool,
    /// The agreement gate, overriding the suite's `judge.min_agreement`.
    pub min_agreement: Option<f64>,
}

/// The outcome of an alignment run on one suite.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlignReport {
    /// The suite.
    pub suite: String,
    /// Every judged label, agreeing or not (judge errors included).
    pub items: Vec<Item>,
    /// Labels skipped because the output changed since labelling: `case[::variant]`.
    pub stale: Vec<String>,
    /// Labels that name a case or variant the suite no longer has, or whose
    /// hash does not match their own output text.
    pub invalid: Vec<String>,
    /// All checks together.
    pub overall: Confusion,
    /// Per judge check name.
    pub per_check: BTreeMap<String, Confusion>,
    /// Per case tag.
    pub per_tag: BTreeMap<String, Confusion>,
    /// The agreement gate, if any.
    pub min_agreement: Option<f64>,
    /// Labels that are few-shot examples of the judge that judged them:
    /// judged, listed, never measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub few_shot: Vec<Item>,
}

impl AlignReport {
    /// Adds one judged label to the tables.
    pub fn record(&mut self, item: Item) {
        if let Some(judge_pass) = match item.judge {
            Outcome::Pass => Some(true),
            Outcome::Fail => Some(false),
            _ => None,
        } {
            let human = item.human.is_pass();
            self.overall.add(human, judge_pass);
            self.per_check
                .entry(item.check.clone())
                .or_default()
                .add(human, judge_pass);
            for t in &item.tags {
                self.per_tag
                    .entry(t.clone())
                    .or_default()
                    .add(human, judge_pass);
            }
        }
        self.items.push(item);
    }

    /// Score agreement over items where both the human and the judge scored.
    pub fn score_agreement(&self) -> Option<ScoreAgreement> {
        let pairs: Vec<(i64, i64)> = self
            .items
            .iter()
            .filter_map(|i| Some((i.human_score?, i.judge_score?)))
            .collect();
        if pairs.is_empty() {
            return None;
        }
        let n = pairs.len();
        let share = |f: &dyn Fn(i64) -> bool| {
            pairs.iter().filter(|(h, j)| f((h - j).abs())).count() as f64 / n as f64
        };
        Some(ScoreAgreement {
            n,
            exact: share(&|d| d == 0),
            within_one: share(&|d| d <= 1),
            mean_abs_diff: pairs.iter().map(|(h, j)| (h - j).abs() as f64).sum::<f64>() / n as f64,
        })
    }

    /// Judge verdicts that were errors (or skips): not counted in the tables.
    pub fn undecided(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.agrees().is_none())
    }

    /// Whether the gate holds: agreement reaches `min_agreement` (no gate:
    /// true). With a gate and nothing judged, the gate fails. Judge errors
    /// count against agreement.
    pub fn gate_holds(&self) -> bool {
        match self.min_agreement {
            None => true,
            Some(min) => match self.gated_agreement() {
                Some(a) => a + 1e-9 >= min,
                None => false,
            },
        }
    }

    /// Agreement as the gate sees it: agreeing verdicts over every judged
    /// label, judge errors included as disagreements.
    pub fn gated_agreement(&self) -> Option<f64> {
        let total = self.items.len() as u64;
        let agreeing = self
            .items
            .iter()
            .filter(|i| i.agrees() == Some(true))
            .count() as u64;
        ratio(agreeing, total)
    }

    /// A plain-text report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let pct = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{:.1}%", v * 100.0));
        let num = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.3}"));
        let _ = writeln!(out, "judge alignment: suite {}", self.suite);
        let o = &self.overall;
        let _ = writeln!(
            out,
            "  labelled outputs judged: {} ({} undecided by the judge)",
            self.items.len(),
            self.undecided().count()
        );
        let _ = writeln!(
            out,
            "  split: {} few-shot (shown to the judge as examples, not measured), {} held out (measured)",
            self.few_shot.len(),
            self.items.len()
        );
        if !self.few_shot.is_empty() {
            let names: Vec<String> = self
                .few_shot
                .iter()
                .map(|i| match &i.variant {
                    Some(v) => format!("{}::{v} [{}]", i.case, i.check),
                    None => format!("{} [{}]", i.case, i.check),
                })
                .collect();
            let _ = writeln!(out, "  few-shot labels: {}", names.join(", "));
        }
        let _ = writeln!(
            out,
            "  agreement {}  kappa {}  TPR {}  TNR {}",
            pct(o.accuracy()),
            num(o.kappa()),
            pct(o.tpr()),
            pct(o.tnr())
        );
        let _ = writeln!(out, "  confusion (rows: human, columns: judge)");
        let _ = writeln!(out, "               judge pass  judge fail");
        let _ = writeln!(out, "    human pass {:>10}  {:>10}", o.tp, o.fn_);
        let _ = writeln!(out, "    human fail {:>10}  {:>10}", o.fp, o.tn);
        if let Some(s) = self.score_agreement() {
            let _ = writeln!(
                out,
                "  scores (n={}): exact {}  within one point {}  mean |human - judge| {:.2}",
                s.n,
                pct(Some(s.exact)),
                pct(Some(s.within_one)),
                s.mean_abs_diff
            );
        }
        let table = |out: &mut String, title: &str, map: &BTreeMap<String, Confusion>| {
            if map.is_empty() {
                return;
            }
            let _ = writeln!(out, "  per {title}:");
            for (k, c) in map {
                let _ = writeln!(
                    out,
                    "    {k}: n={} agreement {} kappa {} TPR {} TNR {}",
                    c.n(),
                    pct(c.accuracy()),
                    num(c.kappa()),
                    pct(c.tpr()),
                    pct(c.tnr())
                );
            }
        };
        table(&mut out, "judge", &self.per_check);
        table(&mut out, "tag", &self.per_tag);
        let disagreements: Vec<&Item> = self
            .items
            .iter()
            .filter(|i| i.agrees() != Some(true))
            .collect();
        if !disagreements.is_empty() {
            let _ = writeln!(out, "  disagreements and judge errors:");
            for i in disagreements {
                let name = match &i.variant {
                    Some(v) => format!("{}::{v}", i.case),
                    None => i.case.clone(),
                };
                let _ = writeln!(
                    out,
                    "  - {name} [{}]: human {}, judge {}",
                    i.check,
                    i.human.as_str(),
                    outcome_str(i.judge)
                );
                let _ = writeln!(out, "      human critique: {}", one_line(&i.human_critique));
                let _ = writeln!(out, "      judge critique: {}", one_line(&i.judge_critique));
            }
        }
        if !self.stale.is_empty() {
            let _ = writeln!(
                out,
                "  stale labels (output changed since labelling; relabel with `tribunal label --suite {} --relabel-stale`): {}",
                self.suite,
                self.stale.join(", ")
            );
        }
        if !self.invalid.is_empty() {
            let _ = writeln!(out, "  invalid labels: {}", self.invalid.join("; "));
        }
        if let Some(min) = self.min_agreement {
            let _ = writeln!(
                out,
                "  gate: agreement {} (judge errors count as disagreement) {} min_agreement {:.1}%: {}",
                pct(self.gated_agreement()),
                if self.gate_holds() { ">=" } else { "<" },
                min * 100.0,
                if self.gate_holds() { "ok" } else { "FAILED" }
            );
        }
        out
    }
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Error => "error",
        Outcome::Skipped => "skipped",
    }
}

fn one_line(s: &str) -> String {
    let t: Vec<&str> = s.split_whitespace().collect();
    if t.is_empty() {
        "(none)".into()
    } else {
        t.join(" ")
    }
}

/// Runs every judge check of the labelled cases of `suite` on the labelled
/// outputs and compares with the human verdicts. `env` provides the
/// providers (judge calls go through `Providers::chat`, so they record and
/// replay) and current outputs (for staleness).
pub async fn align_suite(
    env: &RunEnv,
    suite: &Arc<Suite>,
    labels: &LabelFile,
    options: &AlignOptions,
) -> Result<AlignReport, String> {
    let mut report = AlignReport {
        suite: suite.name.clone(),
        min_agreement: options.min_agreement.or(suite.judge.min_agreement),
        ..AlignReport::default()
    };
    for label in &labels.labels {
        let shown = match &label.variant {
            Some(v) => format!("{}::{v}", label.case),
            None => label.case.clone(),
        };
        let Some(ci) = suite.cases.iter().position(|c| c.id == label.case) else {
            report
                .invalid
                .push(format!("{shown}: the suite has no case `{}`", label.case));
            continue;
        };
        let variant = match &label.variant {
            None if suite.variants.is_empty() => None,
            None => {
                report.invalid.push(format!(
                    "{shown}: the suite has variants, and the label names none"
                ));
                continue;
            }
            Some(v) => match suite.variants.iter().position(|x| &x.id == v) {
                Some(i) => Some(i),
                None => {
                    report
                        .invalid
                        .push(format!("{shown}: the suite has no variant `{v}`"));
                    continue;
                }
            },
        };
        if !label.is_consistent() {
            report.invalid.push(format!(
                "{shown}: `output_sha256` does not match the stored `output` (edited by hand?)"
            ));
            continue;
        }
        let trial = Trial {
            suite: Arc::clone(suite),
            case: ci,
            variant,
        };
        let case = trial.case();
        let (freshness, current) = match env.target_output(&trial).await {
            Ok(o) if label.matches_output(&o.text) => (Freshness::Fresh, Some(o)),
            Ok(_) => (Freshness::Stale, None),
            Err(e) => (Freshness::Unknown(e.to_string()), None),
        };
        if freshness == Freshness::Stale {
            report.stale.push(shown.clone());
            if !options.include_stale {
                continue;
            }
        }
        let output = current.unwrap_or_else(|| Output::text(label.output.clone()));
        let vars = trial.vars();
        // Alignment asks the judge alone: no canaries.
        let base = CheckCx {
            canaries: false,
            ..check_cx(env, &trial, &vars, &output)
        };
        for spec in &case.checks {
            if spec.kind_name != "judge" {
                continue;
            }
            let wanted = options.check.as_deref().or(label.check.as_deref());
            if wanted.is_some_and(|w| w != spec.name) {
                continue;
            }
            // The judge runs as in a trial (negation applied), without its
            // `when:` (there are no earlier results to condition on).
            let result = run_check(spec, &base).await;
            let few_shot = result.human.as_ref().is_some_and(|h| h.few_shot);
            let judge_critique = result
                .critique
                .clone()
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| result.reason.clone());
            let item = Item {
                case: case.id.clone(),
                variant: label.variant.clone(),
                check: spec.name.clone(),
                tags: case.tags.clone(),
                human: label.verdict,
                judge: result.outcome,
                human_critique: label.critique.clone(),
                judge_critique,
                freshness: freshness.clone(),
                human_score: label.score,
                judge_score: raw_score(result.label.as_deref()),
            };
            if few_shot {
                report.few_shot.push(item);
            } else {
                report.record(item);
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn table(tp: u64, fn_: u64, fp: u64, tn: u64) -> Confusion {
        Confusion { tp, fn_, fp, tn }
    }

    // Hand-computed: po = (tp+tn)/n; pe = p_h·p_j + (1-p_h)(1-p_j).
    #[rstest]
    // n=50: po=35/50=0.7; human pass 25/50, judge pass 30/50 → pe=0.3+0.2=0.5; κ=0.2/0.5=0.4
    #[case(table(20, 5, 10, 15), 0.7, Some(0.4))]
    // n=100: po=0.85; p_h=0.5, p_j=0.55 → pe=0.275+0.225=0.5; κ=0.35/0.5=0.7
    #[case(table(45, 5, 10, 40), 0.85, Some(0.7))]
    // Perfect agreement with both classes: κ = 1.
    #[case(table(3, 0, 0, 2), 1.0, Some(1.0))]
    // Judge always says pass: po=0.6, p_h=0.6, p_j=1 → pe=0.6 → κ=0.
    #[case(table(6, 0, 4, 0), 0.6, Some(0.0))]
    // Worse than chance: po=0, p_h=0.5, p_j=0.5 → pe=0.5 → κ=-1.
    #[case(table(0, 2, 2, 0), 0.0, Some(-1.0))]
    // Everyone always passes: chance agreement 1, κ undefined.
    #[case(table(4, 0, 0, 0), 1.0, None)]
    fn kappa_matches_hand_computed(
        #[case] c: Confusion,
        #[case] accuracy: f64,
        #[case] kappa: Option<f64>,
    ) {
        assert!((c.accuracy().expect("n > 0") - accuracy).abs() < 1e-12);
        match (c.kappa(), kappa) {
            (Some(got), Some(want)) => assert!((got - want).abs() < 1e-12, "{got} vs {want}"),
            (got, want) => assert_eq!(got, want),
        }
    }

    #[test]
    fn rates_and_empty_table() {
        let c = table(45, 5, 10, 40);
        assert!((c.tpr().expect("tpr") - 0.9).abs() < 1e-12);
        assert!((c.tnr().expect("tnr") - 0.8).abs() < 1e-12);
        let empty = Confusion::default();
        assert_eq!(empty.accuracy(), None);
        assert_eq!(empty.kappa(), None);
        assert_eq!(empty.tpr(), None);
    }

    fn item(case: &str, tag: &str, human: HumanVerdict, judge: Outcome) -> Item {
        Item {
            case: case.into(),
            variant: None,
            check: "tone".into(),
            tags: vec![tag.into()],
            human,
            judge,
            human_critique: "h".into(),
            judge_critique: "j".into(),
            freshness: Freshness::Fresh,
            human_score: None,
            judge_score: None,
        }
    }

    #[test]
    fn score_agreement_hand_computed() {
        let mut r = AlignReport::default();
        assert_eq!(r.score_agreement(), None);
        // (human, judge): (4,4) (5,3) (2,3) (1,1); diffs 0,2,1,0.
        for (i, (h, j)) in [(4, 4), (5, 3), (2, 3), (1, 1)].into_iter().enumerate() {
            let mut it = item(&format!("c{i}"), "t", HumanVerdict::Pass, Outcome::Pass);
            it.human_score = Some(h);
            it.judge_score = Some(j);
            r.record(it);
        }
        r.record(item("unscored", "t", HumanVerdict::Pass, Outcome::Pass));
        let s = r.score_agreement().expect("scores");
        assert_eq!(s.n, 4);
        assert!((s.exact - 0.5).abs() < 1e-12);
        assert!((s.within_one - 0.75).abs() < 1e-12);
        assert!((s.mean_abs_diff - 0.75).abs() < 1e-12);
        assert!(r.render().contains("within one point 75.0%"));
        assert_eq!(raw_score(Some("4/5")), Some(4));
        assert_eq!(raw_score(Some("a")), None);
        assert_eq!(raw_score(None), None);
    }

    #[test]
    fn report_tables_gate_and_errors() {
        let mut r = AlignReport {
            suite: "s".into(),
            min_agreement: Some(0.75),
            ..Default::default()
        };
        r.record(item("a", "f:x", HumanVerdict::Pass, Outcome::Pass));
        r.record(item("b", "f:x", HumanVerdict::Fail, Outcome::Fail));
        r.record(item("c", "f:y", HumanVerdict::Fail, Outcome::Pass));
        assert_eq!(r.overall, table(1, 0, 1, 1));
        assert_eq!(r.per_tag["f:x"], table(1, 0, 0, 1));
        assert_eq!(r.per_tag["f:y"], table(0, 0, 1, 0));
        // 2 of 3 agree: below 0.75.
        assert!(!r.gate_holds());
        r.record(item("d", "f:y", HumanVerdict::Pass, Outcome::Pass));
        assert!(r.gate_holds(), "3 of 4 = 0.75");
        // A judge error is not counted in the matrix but counts against the gate.
        r.record(item("e", "f:y", HumanVerdict::Pass, Outcome::Error));
        assert_eq!(r.overall.n(), 4);
        assert!(!r.gate_holds(), "3 of 5 < 0.75");
        let text = r.render();
        assert!(text.contains("c [tone]: human fail, judge pass"), "{text}");
        assert!(text.contains("e [tone]: human pass, judge error"), "{text}");
        assert!(text.contains("FAILED"), "{text}");
    }

    #[test]
    fn gate_without_items_fails() {
        let r = AlignReport {
            min_agreement: Some(0.9),
            ..Default::default()
        };
        assert!(!r.gate_holds());
        assert!(AlignReport::default().gate_holds());
    }
}
