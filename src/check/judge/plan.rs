//! A judge check resolved at load: the check's parameters merged with the
//! suite's `judge:` block and validated (scale, `min_score`, votes, panel,
//! template, baseline), files read once. What depends on the trial (the
//! output, the reference, few-shot examples, a baseline variant's output) is
//! gathered when it runs.

use serde_json::Value;

use super::params::{JudgeParams, Mode, Rubric};
use super::prompt;
use crate::check::{ParseCx, SpecError};
use crate::diag::Seg;

/// The most votes (samples times panel members) one check may ask for.
pub const MAX_CALLS: u32 = 64;

/// One judge of a panel: the provider spec and the model it is asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judge {
    pub spec: String,
    pub model: String,
}

/// Where a pairwise judge finds the output it compares with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BaselineSource {
    /// Another variant of the same case.
    Variant(String),
    /// A stored output (inline, or read from its file at load).
    Text(String),
}

/// Everything about a judge check that does not depend on the trial.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub mode: Mode,
    pub scale: (i64, i64),
    pub min_score: f64,
    /// The judges; empty when no provider is configured, which is an error
    /// of each run of the check (`no_provider`), not of loading: a suite can
    /// be loaded, labelled and validated before its judge is chosen.
    pub judges: Vec<Judge>,
    pub no_provider: Option<String>,
    pub votes: u32,
    pub temperature: f64,
    pub max_tokens: Option<u32>,
    pub structured: bool,
    pub retries: u32,
    pub template: std::sync::Arc<str>,
    pub criteria: Option<String>,
    pub rubric: Option<String>,
    pub few_shot: usize,
    pub labels: Option<String>,
    pub baseline: Option<BaselineSource>,
    /// The canary mutations asked about each passed output (empty: none).
    pub canaries: Vec<super::mutate::Mutation>,
    pub min_canary_catch: Option<f64>,
}

/// A judge's parameters: a map, a bare `judge` (defaults), or criteria text.
pub(crate) fn params_of(main: &Value) -> Result<JudgeParams, SpecError> {
    match main {
        Value::Null | Value::Bool(true) => Ok(JudgeParams::default()),
        Value::String(s) => Ok(JudgeParams {
            criteria: Some(s.clone()),
            ..Default::default()
        }),
        other => crate::check::typed("judge", other, "`judge` check"),
    }
}

pub(super) fn at(key: &str, message: impl Into<String>, hint: Option<&str>) -> SpecError {
    SpecError::new(
        vec![Seg::Key("judge".into()), Seg::Key(key.into())],
        message,
        hint.map(str::to_string),
    )
}

/// Whether the check's own parameters set `key` (else its value, if any,
/// comes from the suite's `judge:` block).
fn own(params: &JudgeParams, key: &str) -> bool {
    match key {
        "scale" => params.scale.is_some(),
        "min_score" => params.min_score.is_some(),
        "votes" => params.votes.is_some(),
        "panel" => params.panel.is_some(),
        "template" | "template_file" => params.template.is_some() || params.template_file.is_some(),
        "baseline" => params.baseline.is_some(),
        "canaries" => params.canaries.is_some(),
        "min_canary_catch" => params.min_canary_catch.is_some(),
        _ => true,
    }
}

impl Plan {
    /// Merges `params` with the suite's `judge:` block and validates the
    /// result. A problem that comes from the suite's block says so (it is
    /// reported at each judge check it reaches).
    pub fn resolve(params: &JudgeParams, cx: &ParseCx<'_>) -> Result<Plan, SpecError> {
        Self::merged(params, cx).map_err(|mut e| {
            if let Some(Seg::Key(key)) = e.path.get(1)
                && !own(params, key)
            {
                e.message
                    .push_str(" (set in the suite's `judge:` block, which this check inherits)");
            }
            e
        })
    }

    fn merged(params: &JudgeParams, cx: &ParseCx<'_>) -> Result<Plan, SpecError> {
        let suite = cx.judge;
        let p = params.merged(&suite.defaults);
        let mode = p.mode.unwrap_or_default();
        let scale = p.scale.unwrap_or((1, 5));
        if scale.0 >= scale.1 {
            return Err(at(
                "scale",
                format!(
                    "`scale: [{}, {}]`: the first number must be below the second",
                    scale.0, scale.1
                ),
                Some("write the scale as `[lowest, highest]`, e.g. `scale: [1, 5]`"),
            ));
        }
        let span = (scale.1 - scale.0) as f64;
        let min_score = p
            .min_score
            .unwrap_or_else(|| scale.0 as f64 + (0.75 * span).ceil());
        if min_score < scale.0 as f64 || min_score > scale.1 as f64 {
            return Err(at(
                "min_score",
                format!(
                    "`min_score: {min_score}` is outside the scale {}–{}",
                    scale.0, scale.1
                ),
                Some("pick a passing score on the scale"),
            ));
        }
        let (judges, no_provider) = match judges(&p)? {
            Some(j) => (j, None),
            None => (
                Vec::new(),
                Some("no judge provider: set `provider:` on the check or in the suite's `judge:` block (for example `provider: openai:gpt-4.1-mini`)".to_string()),
            ),
        };
        let votes = p.votes.unwrap_or(1);
        if votes == 0 {
            return Err(at(
                "votes",
                "`votes` must be at least 1",
                Some("leave `votes` out for one sample per judge"),
            ));
        }
        let calls = votes.saturating_mul(judges.len().max(1) as u32);
        if calls > MAX_CALLS {
            return Err(at(
                "votes",
                format!(
                    "{calls} judge samples per check (votes × panel) is over the limit of {MAX_CALLS}"
                ),
                Some("ask for fewer votes or a smaller panel"),
            ));
        }
        let temperature = p.temperature.unwrap_or(if calls > 1 { 1.0 } else { 0.0 });
        let template = match (&p.template, &p.template_file) {
            (Some(_), Some(_)) => {
                return Err(at(
                    "template_file",
                    "give `template` or `template_file`, not both",
                    Some("remove one of them (a check's own template overrides the suite's)"),
                ));
            }
            (Some(t), None) => prompt::shared_template(t),
            (None, Some(f)) => {
                let path = cx.suite_dir.join(f);
                crate::fsutil::read_regular(&path, crate::fsutil::MAX_NAMED_FILE_BYTES)
                    .map(|t| prompt::shared_template(&t))
                    .map_err(|e| {
                        at(
                            "template_file",
                            format!("cannot read judge template `{f}`: {e}"),
                            Some("the path is relative to the suite file"),
                        )
                    })?
            }
            (None, None) => prompt::builtin_template(mode),
        };
        let baseline = if mode == Mode::Pairwise {
            Some(baseline(&p, cx)?)
        } else {
            None
        };
        let (canaries, min_canary_catch) = super::canary::resolve(&p, mode)?;
        Ok(Plan {
            canaries,
            min_canary_catch,
            mode,
            scale,
            min_score,
            judges,
            no_provider,
            votes,
            temperature,
            max_tokens: p.max_tokens,
            structured: p.structured.unwrap_or(true),
            retries: p.retry_on_parse_failure.unwrap_or(0),
            template,
            criteria: p.criteria.clone(),
            rubric: p.rubric.as_ref().map(Rubric::render),
            few_shot: p.few_shot.unwrap_or(0) as usize,
            labels: suite.labels.clone(),
            baseline,
        })
    }
}

/// The judges of the check; `None` when no provider is configured.
fn judges(p: &JudgeParams) -> Result<Option<Vec<Judge>>, SpecError> {
    let model_of = |spec: &str| -> String {
        spec.split_once(':')
            .map(|(_, m)| m.to_string())
            .unwrap_or_default()
    };
    match (&p.panel, &p.provider) {
        (Some(panel), _) => {
            if panel.is_empty() {
                return Err(at(
                    "panel",
                    "`panel` lists no judges",
                    Some(
                        "list provider specs, e.g. `panel: [openai:gpt-4.1-mini, anthropic:claude-sonnet-4-5]`",
                    ),
                ));
            }
            Ok(Some(
                panel
                    .iter()
                    .map(|spec| Judge {
                        spec: spec.clone(),
                        model: model_of(spec),
                    })
                    .collect(),
            ))
        }
        (None, Some(spec)) => Ok(Some(vec![Judge {
            spec: spec.clone(),
            model: p.model.clone().unwrap_or_else(|| model_of(spec)),
        }])),
        (None, None) => Ok(None),
    }
}

fn baseline(p: &JudgeParams, cx: &ParseCx<'_>) -> Result<BaselineSource, SpecError> {
    let Some(b) = &p.baseline else {
        return Err(SpecError::new(
            vec![Seg::Key("judge".into())],
            "`mode: pairwise` needs a `baseline:`",
            Some("add `baseline: {variant: <id>}`, `{output: <text>}` or `{file: <path>}`".into()),
        ));
    };
    let given = [b.variant.is_some(), b.output.is_some(), b.file.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(at(
            "baseline",
            "`baseline` takes exactly one of `variant`, `output` or `file`",
            Some("keep one source of the baseline output"),
        ));
    }
    if let Some(text) = &b.output {
        return Ok(BaselineSource::Text(text.clone()));
    }
    if let Some(f) = &b.file {
        let path = cx.suite_dir.join(f);
        return crate::fsutil::read_regular(&path, crate::fsutil::MAX_NAMED_FILE_BYTES)
            .map(BaselineSource::Text)
            .map_err(|e| {
                SpecError::new(
                    vec![
                        Seg::Key("judge".into()),
                        Seg::Key("baseline".into()),
                        Seg::Key("file".into()),
                    ],
                    format!("cannot read the baseline output `{f}`: {e}"),
                    Some("the path is relative to the suite file".into()),
                )
            });
    }
    match &b.variant {
        Some(v) => Ok(BaselineSource::Variant(v.clone())),
        None => Err(at("baseline", "`baseline` is empty", None)),
    }
}
