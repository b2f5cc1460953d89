//! Judge parameters: the YAML of a `judge:` check, the suite-level `judge:`
//! block, and how the two merge.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the judge is asked to decide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A pass/fail verdict with a detailed critique (default).
    #[default]
    PassFail,
    /// A discrete score on a scale (default 1–5), reasoning first.
    Score,
    /// A discrete score of the output against the case's `expected` reference.
    Reference,
    /// A comparison of the output with a baseline output, run in both orders.
    Pairwise,
    /// A pass/fail verdict on the whole conversation (every turn, tool calls
    /// and results), with a critique: conversation-level criteria such as
    /// "did the assistant resolve the user's issue".
    Conversation,
}

impl Mode {
    /// The mode as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::PassFail => "pass_fail",
            Mode::Score => "score",
            Mode::Reference => "reference",
            Mode::Pairwise => "pairwise",
            Mode::Conversation => "conversation",
        }
    }

    /// Whether the judge answers with a score on a scale.
    pub fn is_scored(self) -> bool {
        matches!(self, Mode::Score | Mode::Reference)
    }
}

/// A rubric: free text, or one description per score level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Rubric {
    /// Free text.
    Text(String),
    /// `{1: "...", 2: "...", ...}`: what each score means.
    Levels(BTreeMap<String, String>),
}

impl Rubric {
    /// The rubric as prompt text.
    pub fn render(&self) -> String {
        match self {
            Rubric::Text(t) => t.clone(),
            Rubric::Levels(levels) => {
                let mut items: Vec<(&String, &String)> = levels.iter().collect();
                // Numeric levels in numeric order ("10" after "9").
                items.sort_by_key(|(k, _)| (k.parse::<i64>().unwrap_or(i64::MAX), (*k).clone()));
                items
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    }
}

/// Where a pairwise judge finds the output to compare with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The output of another variant of the same case (`baseline: {variant: v1}`).
    #[serde(default)]
    pub variant: Option<String>,
    /// A stored baseline output, inline.
    #[serde(default)]
    pub output: Option<String>,
    /// A stored baseline output in a file, relative to the suite file.
    #[serde(default)]
    pub file: Option<String>,
}

/// Parameters of a `judge` check, as written in YAML. Every field is
/// optional: unset fields fall back to the suite-level `judge:` block, then
/// to built-in defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeParams {
    /// `pass_fail` (default), `score`, `reference`, `pairwise` or `conversation`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// The criteria the judge applies (what a good output does).
    #[serde(default)]
    pub criteria: Option<String>,
    /// A rubric: text, or one description per score level.
    #[serde(default)]
    pub rubric: Option<Rubric>,
    /// The provider spec the judge calls (`openai:gpt-4.1-mini`, or a named provider).
    #[serde(default)]
    pub provider: Option<String>,
    /// The model name sent to the provider (default: the part of the provider
    /// spec after `:`).
    #[serde(default)]
    pub model: Option<String>,
    /// Several judges (provider specs), each voting; majority wins.
    #[serde(default)]
    pub panel: Option<Vec<String>>,
    /// Samples per judge; majority wins (default 1).
    #[serde(default)]
    pub votes: Option<u32>,
    /// The score scale `[min, max]` for `score` and `reference` (default `[1, 5]`).
    #[serde(default)]
    pub scale: Option<(i64, i64)>,
    /// The lowest passing score, on the scale (default: three quarters up the scale, 4 on 1–5).
    #[serde(default)]
    pub min_score: Option<f64>,
    /// The baseline output for `pairwise`.
    #[serde(default)]
    pub baseline: Option<Baseline>,
    /// A minijinja template for the judge's user message, inline.
    #[serde(default)]
    pub template: Option<String>,
    /// A minijinja template file for the judge's user message, relative to the suite file.
    #[serde(default)]
    pub template_file: Option<String>,
    /// How many human-labelled cases to show the judge as examples (0: none).
    #[serde(default)]
    pub few_shot: Option<u32>,
    /// How many times to ask again when the answer cannot be parsed (default 0).
    #[serde(default)]
    pub retry_on_parse_failure: Option<u32>,
    /// Sampling temperature (default 0, or 1 when voting).
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Maximum tokens of the judge's answer.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Ask for JSON Schema structured output (default true).
    #[serde(default)]
    pub structured: Option<bool>,
    /// Judge canaries: known-bad mutations of each output the judge passes,
    /// asked about in extra judge calls (`true`: every mutation; a list
    /// names them). Off by default: a run costs what it did.
    #[serde(default)]
    pub canaries: Option<Canaries>,
    /// The lowest share of canaries the judge must catch across the run
    /// (a suite gate, not a case verdict).
    #[serde(default)]
    pub min_canary_catch: Option<f64>,
}

/// Which canaries a judge is asked about.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Canaries {
    /// `true`: every mutation; `false`: none.
    All(bool),
    /// The mutations by name (`drop_answer`, `swap_numbers`, ...).
    List(Vec<String>),
}

impl JudgeParams {
    /// These parameters with unset fields taken from `defaults`.
    pub fn merged(&self, defaults: &JudgeParams) -> JudgeParams {
        let d = defaults.clone();
        let s = self.clone();
        let own_template = s.template.is_some();
        let own_file = s.template_file.is_some();
        JudgeParams {
            mode: s.mode.or(d.mode),
            criteria: s.criteria.or(d.criteria),
            rubric: s.rubric.or(d.rubric),
            // A check that names its own provider also takes its own model.
            model: if s.provider.is_some() || s.panel.is_some() {
                s.model
            } else {
                s.model.or(d.model)
            },
            provider: s.provider.or(d.provider),
            panel: s.panel.or(d.panel),
            votes: s.votes.or(d.votes),
            scale: s.scale.or(d.scale),
            min_score: s.min_score.or(d.min_score),
            baseline: s.baseline.or(d.baseline),
            // An inline template on the check beats a file on the suite, and vice versa.
            template: if own_file {
                s.template
            } else {
                s.template.or(d.template)
            },
            template_file: if own_template {
                s.template_file
            } else {
                s.template_file.or(d.template_file)
            },
            few_shot: s.few_shot.or(d.few_shot),
            retry_on_parse_failure: s.retry_on_parse_failure.or(d.retry_on_parse_failure),
            temperature: s.temperature.or(d.temperature),
            max_tokens: s.max_tokens.or(d.max_tokens),
            structured: s.structured.or(d.structured),
            canaries: s.canaries.or(d.canaries),
            min_canary_catch: s.min_canary_catch.or(d.min_canary_catch),
        }
    }
}

/// The suite-level `judge:` block: defaults for every judge check of the
/// suite, plus suite-wide alignment settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuiteJudge {
    /// Defaults for the suite's judge checks.
    pub defaults: JudgeParams,
    /// The lowest judge–human agreement `tribunal align` accepts.
    pub min_agreement: Option<f64>,
    /// The label file, relative to the project root (default `fixtures/labels/<suite>.yaml`).
    pub labels: Option<String>,
}

impl SuiteJudge {
    /// Parses the suite's `judge:` block.
    pub fn parse(value: Option<&Value>) -> Result<SuiteJudge, String> {
        let Some(value) = value else {
            return Ok(SuiteJudge::default());
        };
        let Value::Object(map) = value else {
            return Err("the suite's `judge:` block must be a mapping".into());
        };
        let mut map = map.clone();
        let min_agreement = match map.remove("min_agreement") {
            None => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if (0.0..=1.0).contains(&x) => Some(x),
                _ => return Err("`judge.min_agreement` must be a number in [0, 1]".into()),
            },
            Some(_) => return Err("`judge.min_agreement` must be a number in [0, 1]".into()),
        };
        let labels = match map.remove("labels") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err("`judge.labels` must be a file path".into()),
        };
        let defaults: JudgeParams =
            serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
                let path = e.path().to_string();
                format!("in the suite's `judge:` block at `{path}`: {}", e.inner())
            })?;
        Ok(SuiteJudge {
            defaults,
            min_agreement,
            labels,
        })
    }
}
