//! What the review page shows: the trials of one run (from a results file),
//! joined with their cases (input, reference) and with the expert's labels.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::case::Suite;
use crate::labels::edit::Stamp;
use crate::labels::{Label, LabelFile, labels_path};
use crate::report::RunResults;
use crate::verdict::{Outcome, Output, TrialRecord};

/// Where the trials to review come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The newest results: `<report dir>/last.json`.
    Last(PathBuf),
    /// A results file (a run of `target/tribunal/runs/`, or any path).
    File(PathBuf),
    /// A drafts file of `tribunal generate` (`evals/<suite>.drafts.jsonl`):
    /// inputs to read before they become cases; no outputs to label yet.
    Drafts(PathBuf),
}

impl Source {
    /// The results or drafts file.
    pub fn path(&self) -> &Path {
        match self {
            Source::Last(p) | Source::File(p) | Source::Drafts(p) => p,
        }
    }
}

/// Why a draft cannot be labelled.
pub const DRAFT_NOT_LABELLED: &str = "a draft has no output to label yet (hint: accept it with `tribunal generate accept`, run the suite, then review the run)";

/// A drafts file's drafts as trial views: the suite (from the file name
/// `<suite>.drafts.jsonl`), each draft's input, reference, tags and
/// description, and its provenance as the evidence of a `draft` check.
pub fn draft_views(path: &Path) -> Result<(String, Vec<TrialView>), String> {
    let display = path.display().to_string();
    let drafts = crate::dataset::read_drafts(path, &display).map_err(|e| e.to_string())?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suite = name
        .strip_suffix(".drafts.jsonl")
        .unwrap_or(name.as_str())
        .to_string();
    let text = std::fs::read(path).unwrap_or_default();
    let id = format!(
        "drafts-{}",
        &crate::labels::output_hash(&String::from_utf8_lossy(&text))[..12]
    );
    let views = drafts
        .iter()
        .map(|d| TrialView {
            id: format!("{suite}::{}", d.id),
            suite: suite.clone(),
            case: d.id.clone(),
            variant: None,
            tags: d.tags.clone(),
            outcome: Outcome::Skipped,
            description: d.description.clone(),
            input: crate::text::of_input(&d.input.to_value()),
            expected: d.expected.as_ref().map(crate::text::of_value),
            output: None,
            error: Some(DRAFT_NOT_LABELLED.into()),
            output_sha256: String::new(),
            checks: vec![CheckView {
                check: "draft".into(),
                kind: "draft".into(),
                outcome: Outcome::Skipped,
                reason: if d.flags.is_empty() {
                    "where this draft came from".into()
                } else {
                    format!("flagged by the generator: {}", d.flags.join(", "))
                },
                evidence: serde_json::to_value(&d.provenance).ok(),
            }],
            label: None,
            judges: None,
            has_judges: false,
            disagrees: false,
        })
        .collect();
    Ok((id, views))
}

/// A judge's verdict on a trial, shown after the expert labelled it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeView {
    /// The judge check's name.
    pub check: String,
    /// Its outcome.
    pub outcome: Outcome,
    /// Its critique (or its reason when it wrote none).
    pub critique: String,
}

/// A deterministic check's result (with its evidence: an AST or SQL
/// counterexample, a diff).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckView {
    /// The check's name.
    pub check: String,
    /// Its kind.
    pub kind: String,
    /// Its outcome.
    pub outcome: Outcome,
    /// Why.
    pub reason: String,
    /// The evidence, when the check keeps some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Value>,
}

/// The expert's label of a trial, as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelView {
    /// `pass` or `fail`.
    pub verdict: &'static str,
    /// The critique.
    pub critique: String,
    /// Failure-mode tags.
    pub tags: Vec<String>,
    /// Who labelled it.
    pub labeller: String,
    /// When.
    pub date: String,
    /// The output changed since it was labelled.
    pub stale: bool,
    /// Picked as a few-shot example for the judges.
    pub few_shot: bool,
}

impl LabelView {
    fn of(l: &Label, current: &str) -> LabelView {
        LabelView {
            verdict: l.verdict.as_str(),
            critique: l.critique.clone(),
            tags: l.tags.clone(),
            labeller: l.labeller.clone(),
            date: l.date.clone(),
            stale: !l.matches_output(current),
            few_shot: l.few_shot,
        }
    }
}

/// One trial as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TrialView {
    /// `suite::case[::variant]`.
    pub id: String,
    /// The suite.
    pub suite: String,
    /// The case id.
    pub case: String,
    /// The variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The case's tags (dimensions such as `feature:refunds`).
    pub tags: Vec<String>,
    /// The run's outcome of the trial.
    pub outcome: Outcome,
    /// The case's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The input, as text.
    pub input: String,
    /// The reference output, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the target returned (absent when it failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    /// Why the trial is an error, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// SHA-256 of the output text (what a label records).
    pub output_sha256: String,
    /// Deterministic checks.
    pub checks: Vec<CheckView>,
    /// The expert's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelView>,
    /// The judges' verdicts: present once the trial is labelled (blind
    /// review) or always (`--no-blind`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judges: Option<Vec<JudgeView>>,
    /// Whether the trial has judge checks (so the page can say "no judge").
    pub has_judges: bool,
    /// Whether a labelled trial's judges disagree with the expert.
    pub disagrees: bool,
}

/// A suite's label file as the server tracks it.
#[derive(Debug, Clone)]
pub struct SuiteLabels {
    /// Where it is.
    pub path: PathBuf,
    /// The labels (empty when the file does not exist or is broken).
    pub file: LabelFile,
    /// Its state on disk when it was read.
    pub stamp: Stamp,
    /// Why it could not be read (a hand-edited file with an error).
    pub error: Option<String>,
}

/// The text of an output as labels hash it.
pub fn output_text(r: &TrialRecord) -> &str {
    r.verdict.output.as_ref().map_or("", |o| o.text.as_str())
}

/// The suites of the project by name (for inputs, references and label paths).
pub fn suites_by_name(suites: &[Arc<Suite>]) -> BTreeMap<String, Arc<Suite>> {
    suites
        .iter()
        .map(|s| (s.name.clone(), Arc::clone(s)))
        .collect()
}

/// The label file of `suite` under `root`.
pub fn label_path(root: &Path, suite: &str, suites: &BTreeMap<String, Arc<Suite>>) -> PathBuf {
    let custom = suites.get(suite).and_then(|s| s.judge.labels.clone());
    labels_path(root, suite, custom.as_deref())
}

/// Reads a suite's label file; a broken file is kept as an error, not
/// replaced.
pub fn read_labels(path: &Path, suite: &str) -> SuiteLabels {
    match crate::labels::edit::load(path, suite) {
        Ok((doc, stamp)) => SuiteLabels {
            path: path.to_path_buf(),
            file: doc.file().clone(),
            stamp,
            error: None,
        },
        Err(e) => SuiteLabels {
            path: path.to_path_buf(),
            file: LabelFile::new(suite),
            stamp: crate::labels::edit::read(path)
                .map(|(_, s)| s)
                .unwrap_or_default(),
            error: Some(format!(
                "{e} (hint: fix the file by hand; tribunal review writes no label to it until it parses)"
            )),
        },
    }
}

/// The trials of `run` that can be labelled (not skipped, not load errors).
pub fn reviewable(run: &RunResults) -> impl Iterator<Item = &TrialRecord> {
    run.records
        .iter()
        .filter(|r| r.load_error.is_none() && r.verdict.outcome != Outcome::Skipped)
}

/// One trial's view.
pub fn trial_view(
    r: &TrialRecord,
    suite: Option<&Suite>,
    labels: Option<&LabelFile>,
    blind: bool,
) -> TrialView {
    let v = &r.verdict;
    let case = suite.and_then(|s| s.cases.iter().find(|c| c.id == v.case));
    let text = output_text(r);
    let label = labels
        .and_then(|f| f.find(&v.case, v.variant.as_deref(), None))
        .map(|l| LabelView::of(l, text));
    let judges: Vec<JudgeView> = v
        .checks
        .iter()
        .filter(|c| c.kind == "judge")
        .map(|c| JudgeView {
            check: c.name.clone(),
            outcome: c.outcome,
            critique: c
                .critique
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| c.reason.clone()),
        })
        .collect();
    let disagrees = label.as_ref().is_some_and(|l| {
        judges.iter().any(|j| match j.outcome {
            Outcome::Pass => l.verdict == "fail",
            Outcome::Fail => l.verdict == "pass",
            _ => true,
        })
    });
    let checks = v
        .checks
        .iter()
        .filter(|c| c.kind != "judge")
        .map(|c| CheckView {
            check: c.name.clone(),
            kind: c.kind.clone(),
            outcome: c.outcome,
            reason: c.reason.clone(),
            evidence: c.evidence_value(),
        })
        .collect();
    let has_judges = !judges.is_empty();
    TrialView {
        id: v.trial.clone(),
        suite: v.suite.clone(),
        case: v.case.clone(),
        variant: v.variant.clone(),
        tags: v.tags.clone(),
        outcome: v.outcome,
        description: case.and_then(|c| c.description.clone()),
        input: case
            .map(|c| crate::text::of_input(&c.input))
            .unwrap_or_default(),
        expected: case.and_then(|c| c.expected.as_ref().map(crate::text::of_value)),
        output: v.output.clone(),
        error: v.error.clone(),
        output_sha256: crate::labels::output_hash(text),
        checks,
        judges: (!blind || label.is_some()).then_some(judges),
        label,
        has_judges,
        disagrees,
    }
}
