//! What a case concluded: the verdict, and the result of each of its checks.
//!
//! A [`Verdict`] separates the **decision** (outcomes, labels, scores), which
//! gates the build through its snapshot, from the **evidence** (reasons,
//! critiques, the output itself), which is shown to reviewers but never makes
//! a snapshot differ by itself. [`Verdict::decision`] is the gating part.

use serde::{Deserialize, Serialize};

pub use crate::chat::{Message, ToolCall};
pub use crate::diag::Span;

/// The outcome of a check or of a whole case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The check (or case) met its expectation.
    Pass,
    /// The check ran and the output did not meet the expectation.
    Fail,
    /// The check could not reach a decision: the target crashed, a judge
    /// answered something unparseable, a regex could not run. Always fails the
    /// build.
    Error,
    /// The check did not run because its `when:` condition was not met (or
    /// it is a pairwise judge on the baseline trial). For a whole case: the
    /// case is `skip:`ped and did not run.
    Skipped,
}

impl Outcome {
    /// `pass`, `fail`, `error` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Token usage of one or more model calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt (input) tokens.
    pub input_tokens: u64,
    /// Completion (output) tokens.
    pub output_tokens: u64,
}

impl Usage {
    /// Adds another usage to this one.
    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// A check's structured evidence (a counterexample, a vote split, the raw
/// judge answer), held as its compact JSON text.
///
/// Every record of a run keeps its checks' evidence until the run's reports
/// are written, and as `serde_json` maps (an allocation per key and per
/// string, insertion-order tables) a judge's evidence took about 1.35 KB in
/// memory for 0.26 KB of JSON: 13.5 MB of a 10,000-case run's heap. The text
/// is what the results file holds anyway, and its length is known without
/// serializing it again (reports bound long evidence by it). It serializes
/// and deserializes as the JSON value itself, in any format. Two evidences
/// are equal when their texts are: the same members in the same order.
#[derive(Clone, PartialEq, Eq)]
pub struct Evidence(Box<str>);

/// How deeply evidence may nest and still be kept as structure: below
/// `serde_json`'s parsing limit (128), so that its text always parses back.
const MAX_EVIDENCE_DEPTH: usize = 100;

/// Whether `value` nests deeper than `limit` arrays and objects.
fn nests_deeper(value: &serde_json::Value, limit: usize) -> bool {
    match value {
        serde_json::Value::Array(a) => limit == 0 || a.iter().any(|v| nests_deeper(v, limit - 1)),
        serde_json::Value::Object(m) => {
            limit == 0 || m.values().any(|v| nests_deeper(v, limit - 1))
        }
        _ => false,
    }
}

impl Evidence {
    /// The evidence of a JSON value. A value nested deeper than 100 arrays
    /// and objects (an output that is itself deep, quoted as a
    /// counterexample) is kept as its JSON text in a string instead, as
    /// reports keep evidence too long to show.
    pub fn new(value: &serde_json::Value) -> Evidence {
        let text = value.to_string();
        if nests_deeper(value, MAX_EVIDENCE_DEPTH) {
            return Evidence(serde_json::Value::String(text).to_string().into_boxed_str());
        }
        Evidence(text.into_boxed_str())
    }

    /// The evidence as a JSON value (parsed from its text).
    pub fn to_value(&self) -> serde_json::Value {
        // Written by `serde_json` from a value nested less deeply than its
        // parser allows, so it parses.
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }

    /// The member `key` of evidence that is a JSON object.
    pub fn get(&self, key: &str) -> Option<serde_json::Value> {
        match self.to_value() {
            serde_json::Value::Object(mut m) => m.remove(key),
            _ => None,
        }
    }

    /// The compact JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

impl From<serde_json::Value> for Evidence {
    fn from(value: serde_json::Value) -> Evidence {
        Evidence::new(&value)
    }
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Evidence, D::Error> {
        serde_json::Value::deserialize(deserializer).map(|v| Evidence::new(&v))
    }
}

/// The result of one check on one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check kind as written in YAML (`contains`, `judge`, `ast_equivalent`, ...).
    pub kind: String,
    /// The name shown in reports and snapshots: the YAML `name`, or one derived
    /// from the kind and its main parameter (`contains "refund"`).
    pub name: String,
    /// Pass, fail, error or skipped (after `not:` negation).
    pub outcome: Outcome,
    /// A score where the check has one (similarity ratio, judge 1-5 score).
    /// Part of the decision: it is snapshotted, bucketed as the check defines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// A categorical label where the check has one (`equivalent`,
    /// `not_equivalent`, `unknown`, pairwise `a`/`b`/`tie`/`inconsistent`).
    /// Part of the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The weight of this check in the case's threshold (default 1).
    pub weight: f64,
    /// A short human-readable reason. Evidence: shown, never gating.
    #[serde(default)]
    pub reason: String,
    /// A judge's critique. Evidence: shown, never gating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critique: Option<String>,
    /// Structured evidence (a counterexample, a vote split, the raw judge
    /// answer). Shown, never gating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Warnings that do not change the outcome (for example a judge that is
    /// the same model as the target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Tokens spent by this check (judges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Cost in US dollars spent by this check (judges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Where the check is written (`file:line:col` of its list item). Not
    /// part of the decision: moving a check does not change a snapshot.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "span_text::option"
    )]
    pub location: Option<Span>,
    /// Judge canaries asked about this output (judges with `canaries:`).
    /// Evidence: gated by the suite's `min_canary_catch`, never by the
    /// case's snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canaries: Option<CanaryRun>,
    /// The human label of this output for this judge, when the suite's
    /// label file has one: what calibrated pass rates are computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human: Option<HumanLabel>,
}

impl CheckResult {
    /// A result with the given outcome and reason and no score, label or evidence.
    pub fn new(kind: &str, name: &str, outcome: Outcome, reason: impl Into<String>) -> Self {
        CheckResult {
            kind: kind.to_string(),
            name: name.to_string(),
            outcome,
            score: None,
            label: None,
            weight: 1.0,
            reason: reason.into(),
            critique: None,
            evidence: None,
            warnings: Vec::new(),
            usage: None,
            cost_usd: None,
            location: None,
            canaries: None,
            human: None,
        }
    }

    /// A passing or failing result depending on `passed`.
    pub fn from_bool(kind: &str, name: &str, passed: bool, reason: impl Into<String>) -> Self {
        let outcome = if passed { Outcome::Pass } else { Outcome::Fail };
        Self::new(kind, name, outcome, reason)
    }

    /// An `error` result: the check could not decide.
    pub fn error(kind: &str, name: &str, reason: impl Into<String>) -> Self {
        Self::new(kind, name, Outcome::Error, reason)
    }

    /// Sets the score.
    pub fn with_score(mut self, score: f64) -> Self {
        self.score = Some(score);
        self
    }

    /// Sets the label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the structured evidence.
    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Self {
        self.evidence = Some(Evidence::new(&evidence));
        self
    }

    /// The structured evidence as JSON, when the result has any.
    pub fn evidence_value(&self) -> Option<serde_json::Value> {
        self.evidence.as_ref().map(Evidence::to_value)
    }

    /// Sets the critique.
    pub fn with_critique(mut self, critique: impl Into<String>) -> Self {
        self.critique = Some(critique.into());
        self
    }
}

/// What the system under test returned for one case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Output {
    /// The output as text (for JSON outputs, the compact JSON text).
    pub text: String,
    /// The output as JSON when the target produced structured output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// How long the target took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Tokens the target spent (prompt targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Cost in US dollars of the target call (prompt targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// The model that produced the output, when the target is a model call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The tool calls the target made (or its model asked for), in order:
    /// every call of every step of a tool loop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The conversation that produced the output: the messages sent and
    /// received, tool results included, in order (empty for single-shot
    /// targets that report none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversation: Vec<Message>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, `tool_use`, …),
    /// when the target is a model call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// The steps of a multi-step target, in order: each model call of a tool
    /// loop or each named step of a pipeline, with its own output, usage and
    /// latency.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

/// One step of a multi-step target (a model call of a tool loop, a step of a
/// pipeline): its name and what it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Step {
    /// The step's name (a pipeline step's name, or `model#1`, `tool:NAME#2`
    /// for the rounds of a tool loop).
    pub name: String,
    /// What the step returned.
    pub output: Output,
}

impl Step {
    /// A step named `name` that returned `output`.
    pub fn new(name: impl Into<String>, output: Output) -> Self {
        Step {
            name: name.into(),
            output,
        }
    }
}

impl Output {
    /// The same output, with the time the target took (`latency_ms` checks).
    pub fn with_latency_ms(mut self, ms: f64) -> Self {
        self.latency_ms = Some(ms);
        self
    }

    /// The same output, with what the target call cost (`cost` checks).
    pub fn with_cost_usd(mut self, usd: f64) -> Self {
        self.cost_usd = Some(usd);
        self
    }

    /// The same output, with the tokens the target spent.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// The same output, with the model that produced it.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The same output, with a tool call appended to its calls.
    pub fn with_tool_call(mut self, call: ToolCall) -> Self {
        self.tool_calls.push(call);
        self
    }

    /// The same output, with the conversation that produced it.
    pub fn with_conversation(mut self, messages: Vec<Message>) -> Self {
        self.conversation = messages;
        self
    }

    /// The same output, with why the model stopped.
    pub fn with_finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    /// The same output, with a step appended.
    pub fn with_step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }

    /// An output made of text only.
    pub fn text(text: impl Into<String>) -> Self {
        Output {
            text: text.into(),
            ..Output::default()
        }
    }

    /// An output made of a JSON value; its text is the compact JSON (or the
    /// string itself when the value is a JSON string).
    pub fn json(value: serde_json::Value) -> Self {
        let text = crate::text::of_value(&value);
        Output {
            text,
            json: Some(value),
            ..Output::default()
        }
    }

    /// The output parsed as JSON: the structured value when there is one,
    /// else the text parsed as JSON.
    pub fn as_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        match &self.json {
            Some(v) => Ok(v.clone()),
            None => serde_json::from_str(self.text.trim()),
        }
    }
}

impl From<String> for Output {
    fn from(s: String) -> Self {
        Output::text(s)
    }
}

impl From<&str> for Output {
    fn from(s: &str) -> Self {
        Output::text(s)
    }
}

impl From<serde_json::Value> for Output {
    fn from(v: serde_json::Value) -> Self {
        Output::json(v)
    }
}

/// Whether a failing verdict fails the build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The snapshot gates: a changed verdict fails, an accepted failure is a
    /// known failure (default).
    #[default]
    Snapshot,
    /// Any failing verdict fails the build, even one recorded in the snapshot.
    MustPass,
}

/// Everything a case run concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Verdict {
    /// The suite name.
    pub suite: String,
    /// The case id.
    pub case: String,
    /// The variant, when the case runs under several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The trial name: `suite::case[::variant]`.
    pub trial: String,
    /// The overall outcome.
    pub outcome: Outcome,
    /// The case's tags (`feature:refunds`, `persona:new-user`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The weighted share of passing checks, in `[0, 1]`.
    pub score: f64,
    /// The threshold the score had to meet.
    pub threshold: f64,
    /// The gate of the case.
    #[serde(default)]
    pub gate: Gate,
    /// One result per check, in YAML order.
    pub checks: Vec<CheckResult>,
    /// What the target returned (absent when the target failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Output>,
    /// Why the case is an error, when the failure is not a check's (the target
    /// crashed, the case could not be prepared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where the case is written in its YAML file (rendered and stored as
    /// `file:line:col`).
    #[serde(with = "span_text")]
    pub location: Span,
    /// Total tokens (target and judges).
    #[serde(default)]
    pub usage: Usage,
    /// Total cost in US dollars (target and judges), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Wall time of the case (target and checks), in milliseconds.
    #[serde(default)]
    pub duration_ms: f64,
}

/// The gating part of a verdict: what its snapshot records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The overall outcome.
    pub outcome: Outcome,
    /// Per check: name, kind, outcome, and score/label where the check has them.
    pub checks: Vec<CheckDecision>,
}

/// The gating part of one check result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckDecision {
    /// Display name of the check.
    pub check: String,
    /// Check kind.
    pub kind: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Score, as snapshotted (rounded to two decimals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Verdict {
    /// Where to look first: the YAML line of the first check that failed or
    /// erred, else the case's own.
    pub fn failure_location(&self) -> &Span {
        self.checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Error))
            .find_map(|c| c.location.as_ref())
            .unwrap_or(&self.location)
    }

    /// The decision that the snapshot records and gates on.
    pub fn decision(&self) -> Decision {
        Decision {
            outcome: self.outcome,
            checks: self
                .checks
                .iter()
                .map(|c| CheckDecision {
                    check: c.name.clone(),
                    kind: c.kind.clone(),
                    outcome: c.outcome,
                    score: c.score.map(|s| (s * 100.0).round() / 100.0),
                    label: c.label.clone(),
                })
                .collect(),
        }
    }

    /// Combines check results into an outcome: any `error` makes the case an
    /// error; so does a case that nothing decided ([`Verdict::undecided`]);
    /// otherwise the weighted share of passing checks (skipped checks
    /// excluded) must reach `threshold`.
    pub fn conclude(checks: &[CheckResult], threshold: f64) -> (Outcome, f64) {
        if checks.iter().any(|c| c.outcome == Outcome::Error) {
            return (Outcome::Error, 0.0);
        }
        if Verdict::undecided(checks).is_some() {
            return (Outcome::Error, 0.0);
        }
        let counted: Vec<&CheckResult> = checks
            .iter()
            .filter(|c| c.outcome != Outcome::Skipped)
            .collect();
        let total: f64 = counted.iter().map(|c| c.weight).sum();
        let passed: f64 = counted
            .iter()
            .filter(|c| c.outcome == Outcome::Pass)
            .map(|c| c.weight)
            .sum::<f64>()
            + 0.0; // an empty f64 sum is -0.0; reports would show "-0"
        let score = passed / total;
        // A small tolerance absorbs float rounding (three weights of 0.1 reach 0.3);
        // it does not round thresholds: 2/3 passes 0.66 and fails 0.67.
        let outcome = if score + 1e-9 >= threshold {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
        (outcome, score)
    }

    /// Why a set of check results decided nothing, when it did not: no
    /// checks, every check skipped (by `when:`, or as the pairwise
    /// baseline), or every check that ran has weight 0. Such a case is an
    /// error, never a pass, by the same rule as a case with no checks.
    pub fn undecided(checks: &[CheckResult]) -> Option<String> {
        if checks.is_empty() {
            return Some("the case has no checks, so nothing decided it".into());
        }
        let ran: Vec<&CheckResult> = checks
            .iter()
            .filter(|c| c.outcome != Outcome::Skipped)
            .collect();
        if ran.is_empty() {
            let why: Vec<String> = checks
                .iter()
                .map(|c| format!("`{}`: {}", c.name, c.reason))
                .collect();
            return Some(format!(
                "every check was skipped, so nothing decided the case ({}) (hint: a case needs at least one check that runs; add one without `when:`)",
                why.join("; ")
            ));
        }
        if ran.iter().all(|c| c.weight <= 0.0) {
            return Some(format!(
                "every check that ran has weight 0, so nothing decided the case ({}) (hint: give at least one check a weight above 0)",
                ran.iter()
                    .map(|c| format!("`{}`", c.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        None
    }
}

/// How a trial's verdict compares with its accepted snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Passing, and the snapshot agrees.
    Pass,
    /// Failing, and the accepted snapshot already records the failure.
    KnownFailure,
    /// The snapshot recorded a pass; the verdict now fails (or errs).
    Regression,
    /// The snapshot recorded a failure; the verdict now passes. Awaiting review.
    Improvement,
    /// The decision changed in another way (a check's label or score).
    Changed,
    /// No accepted snapshot yet.
    New,
    /// A `gate: must_pass` case that does not pass.
    MustPassFailure,
    /// The verdict is `error`.
    Error,
    /// The case was skipped (`skip:` in YAML).
    Skipped,
    /// The case is on the quarantine list (an entry that has not expired):
    /// reported with the status it would have had, never gating.
    Quarantined,
}

impl Status {
    /// Whether this status fails the build.
    pub fn fails_build(self) -> bool {
        !matches!(
            self,
            Status::Pass | Status::KnownFailure | Status::Skipped | Status::Quarantined
        )
    }
}

/// What the quarantine list (`evals/quarantine.yaml`) says about a trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuarantineNote {
    /// The entry's pattern.
    pub case: String,
    /// Why the case is quarantined.
    pub reason: String,
    /// Who is fixing it.
    pub owner: String,
    /// The last day the entry holds (`YYYY-MM-DD`).
    pub expires: String,
    /// Whether the entry has expired (the trial gates again).
    #[serde(default)]
    pub expired: bool,
    /// The status the trial has by its snapshot, which a live entry keeps
    /// from gating.
    pub status: Status,
    /// Where the entry is written (`file:line:col`).
    pub location: String,
}

impl QuarantineNote {
    /// The status a run records: `quarantined` while the entry holds,
    /// else the trial's own.
    pub fn effective(&self) -> Status {
        if self.expired {
            self.status
        } else {
            Status::Quarantined
        }
    }

    /// One line for reports: `quarantined until 2027-01-31 by @alice:
    /// REASON (would be: regression)`, or that the entry expired.
    pub fn line(&self) -> String {
        if self.expired {
            format!(
                "quarantine entry `{}` ({}) expired on {}: the case gates again (hint: fix the case, or renew the entry with a new date)",
                self.case, self.location, self.expires
            )
        } else {
            let would = serde_json::to_value(self.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!(
                "quarantined until {} by {}: {} (would be: {would})",
                self.expires, self.owner, self.reason
            )
        }
    }
}

/// One trial of a run as reports see it: the verdict, how it compares with
/// the accepted snapshot, and where to look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrialRecord {
    /// The verdict.
    pub verdict: Box<Verdict>,
    /// How it compares with the accepted snapshot.
    pub status: Status,
    /// The accepted decision, when there was a snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Decision>,
    /// The snapshot file, relative to the project root (empty for a suite
    /// file that could not be loaded).
    pub snapshot: String,
    /// Why the case was skipped (`skip:` in YAML), for a skipped trial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// For an entry that stands for a suite file that could not be loaded
    /// (or cases that could not be told apart): the file. Its verdict is an
    /// `error` with every problem; it fails every report and gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_error: Option<String>,
    /// The quarantine list's entry for the trial, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<QuarantineNote>,
}

impl CheckResult {
    /// A passing result with a reason.
    pub fn pass_with(kind: &str, name: &str, reason: impl Into<String>) -> Self {
        Self::new(kind, name, Outcome::Pass, reason)
    }
}

/// A trial's name: `suite::case` or `suite::case::variant`. It names libtest
/// trials, verdicts and the trials a cassette miss is about.
pub fn trial_name(suite: &str, case: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) => format!("{suite}::{case}::{v}"),
        None => format!("{suite}::{case}"),
    }
}

/// Reads a span back from its `file:line:col` text (text without a
/// position is kept whole as the file, at line and column 0).
pub fn parse_span(text: &str) -> Span {
    span_text::parse(text)
}

/// A [`Span`] as its `file:line:col` text in results files, so that reports
/// and history read the same text whether written before or after spans.
mod span_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Span;

    pub fn serialize<S: Serializer>(span: &Span, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(span)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let text = String::deserialize(d)?;
        Ok(parse(&text))
    }

    /// `file:line:col`; text without a position keeps it whole as the file
    /// (line and column 0), so no results file fails to read over it.
    pub fn parse(text: &str) -> Span {
        let mut parts = text.rsplitn(3, ':');
        let (col, line, file) = (parts.next(), parts.next(), parts.next());
        match (
            file,
            line.and_then(|l| l.parse().ok()),
            col.and_then(|c| c.parse().ok()),
        ) {
            (Some(file), Some(line), Some(col)) => Span {
                file: file.into(),
                line,
                col,
            },
            _ => Span {
                file: text.into(),
                line: 0,
                col: 0,
            },
        }
    }

    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::Span;

        pub fn serialize<S: Serializer>(span: &Option<Span>, s: S) -> Result<S::Ok, S::Error> {
            match span {
                Some(span) => s.collect_str(span),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Span>, D::Error> {
            Ok(Option::<String>::deserialize(d)?.map(|t| super::parse(&t)))
        }
    }
}

/// What a judge said about the known-bad variants of one output it passed
/// (see `docs/canaries.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryRun {
    /// The suite's (or check's) `min_canary_catch`, carried so that every
    /// report and gate sees the threshold the run was made with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_catch: Option<f64>,
    /// One entry per mutation that applied to the output, in the order asked.
    pub canaries: Vec<Canary>,
    /// Mutations asked for that did not apply to this output (no number to
    /// swap, one sentence only, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applicable: Vec<String>,
    /// Tokens the canary calls spent (in the run's totals, not the check's,
    /// so a later `cost` check never counts them).
    #[serde(default)]
    pub usage: Usage,
    /// What the canary calls cost, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// One canary: a mutation of the output and what the judge said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Canary {
    /// The mutation (`drop_answer`, `swap_numbers`, ...).
    pub mutation: String,
    /// Whether the judge failed it.
    pub outcome: CanaryOutcome,
    /// The judge's reason (or why it could not decide).
    pub reason: String,
    /// The mutated output, bounded to 300 characters.
    pub mutant: String,
}

/// What a judge did with a canary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CanaryOutcome {
    /// The judge failed the known-bad output.
    Caught,
    /// The judge passed it: it is insensitive to this mutation.
    Slipped,
    /// The judge could not decide (counts as not caught).
    Error,
}

impl CanaryOutcome {
    /// `caught`, `slipped` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            CanaryOutcome::Caught => "caught",
            CanaryOutcome::Slipped => "slipped",
            CanaryOutcome::Error => "error",
        }
    }
}

/// The human label of a judged output, as a judge check found it in the
/// suite's label file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HumanLabel {
    /// Whether the expert passed the output.
    pub pass: bool,
    /// Whether the label is about this very output (its `output_sha256`
    /// matches); a stale label is counted but never used.
    pub fresh: bool,
    /// Whether the label is one of this judge's few-shot examples (then its
    /// agreement is not measured: held out of calibration).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub few_shot: bool,
    /// When it was labelled (`YYYY-MM-DD`).
    pub date: String,
    /// The failure modes (or other tags) the expert gave the output
    /// (`tags:` of the label), for the error analysis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The expert's critique, bounded (shown with the failure modes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub critique: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `depth` arrays, one inside the other, around a number.
    fn nested(depth: usize) -> serde_json::Value {
        (0..depth).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn evidence_keeps_its_structure_order_and_numbers() {
        let v = json!({"mode": "pass_fail", "votes": [{"raw": "{\"pass\": true}", "sample": 0}], "agreement": 0.1, "split": {"pass": 1, "fail": 0}});
        let e = Evidence::new(&v);
        assert_eq!(e.to_value(), v);
        assert_eq!(e.as_json(), v.to_string());
        assert_eq!(e.get("split"), Some(json!({"pass": 1, "fail": 0})));
        assert_eq!(e.get("missing"), None);
        // It serializes as the value itself, not as a string of JSON.
        assert_eq!(serde_json::to_value(&e).expect("serializes"), v);
        let back: Evidence = serde_json::from_str(&v.to_string()).expect("deserializes");
        assert_eq!(back, e);
    }

    #[test]
    fn evidence_too_deep_to_parse_back_is_kept_as_its_text() {
        // Deep enough for structure: kept as it is.
        assert_eq!(Evidence::new(&nested(100)).to_value(), nested(100));
        // An output nested 126 deep, quoted in a counterexample three levels
        // down, is past serde_json's parser limit: its text is kept as a
        // string, never lost as `null`.
        let deep = json!({"counterexample": {"right": nested(126)}});
        let e = Evidence::new(&deep);
        assert_eq!(e.to_value(), json!(deep.to_string()));
    }
}
