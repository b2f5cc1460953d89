//! Targets: the kinds of system under test.
//!
//! A case's target is called once per trial with the case input; what it
//! returns is the [`Output`] the checks run on. In YAML:
//!
//! ```yaml
//! target: support_bot            # a registered Rust function (or a name under `targets:`)
//! target: {rust: support_bot}    # the same, explicitly
//! target: {prompt: {provider: openai:gpt-4.1-mini, template: "Q: {{ input }}"}}
//! target: {command: {program: ./bot, args: ["{{ input }}"]}}
//! target: {http: {url: "http://127.0.0.1:8080/ask", body: {q: "{{ input }}"}, output: "$.answer"}}
//! target: {pipeline: [{name: question, target: writer}, {name: answer, target: bot}]}
//! ```
//!
//! Each non-Rust kind lives in its own module: [`prompt`], [`command`],
//! [`http`], [`pipeline`].

pub mod command;
pub mod conversation;
pub mod http;
pub mod pipeline;
pub mod prompt;
pub mod shapes;
pub mod tools;

use std::path::Path;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::diag::{Seg, SpecError, hint};
use crate::provider::secrets;
use crate::registry::Input;
use crate::services::Services;
use crate::verdict::Output;

/// Every target kind, as written in YAML.
pub const KINDS: &[&str] = &["rust", "prompt", "command", "http", "pipeline"];

/// A target, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSpec {
    /// A bare name: a registered Rust function or a named target of the suite.
    Named(String),
    /// `rust: name`: a registered Rust function.
    Rust(String),
    /// `prompt: {...}`: a template sent to a model.
    Prompt(prompt::PromptTarget),
    /// `command: {...}`: a program run per case.
    Command(command::CommandTarget),
    /// `http: {...}`: an HTTP endpoint.
    Http(http::HttpTarget),
    /// `pipeline: [...]`: named steps, each feeding the next.
    Pipeline(pipeline::PipelineTarget),
}

/// Deserializes a kind's parameters, the error pointing inside them.
fn typed<T: serde::de::DeserializeOwned>(kind: &str, value: &Value) -> Result<T, SpecError> {
    crate::diag::typed(kind, value, &format!("a `{kind}` target"))
}

impl TargetSpec {
    /// Parses a target from its YAML value.
    pub fn parse(value: &Value) -> Result<TargetSpec, SpecError> {
        match value {
            Value::String(name) if !name.trim().is_empty() => Ok(TargetSpec::Named(name.clone())),
            Value::Object(map) if map.len() == 1 => {
                let (kind, v) = map
                    .iter()
                    .next()
                    .map(|(k, v)| (k.as_str(), v))
                    .unwrap_or(("", &Value::Null));
                match kind {
                    "rust" => match v {
                        Value::String(name) => Ok(TargetSpec::Rust(name.clone())),
                        _ => Err(SpecError::new(
                            vec![Seg::Key("rust".into())],
                            "`rust` takes the name of a registered function",
                            None,
                        )),
                    },
                    "prompt" => {
                        let p: prompt::PromptTarget = typed("prompt", v)?;
                        p.validate().map_err(|mut e| {
                            e.path.insert(0, Seg::Key("prompt".into()));
                            e
                        })?;
                        Ok(TargetSpec::Prompt(p))
                    }
                    "command" => {
                        let c: command::CommandTarget = typed("command", v)?;
                        check_timeout("command", c.timeout_s)?;
                        Ok(TargetSpec::Command(c))
                    }
                    "http" => {
                        let h: http::HttpTarget = typed("http", v)?;
                        check_timeout("http", h.timeout_s)?;
                        Ok(TargetSpec::Http(h))
                    }
                    "pipeline" => Ok(TargetSpec::Pipeline(pipeline::PipelineTarget::parse(v)?)),
                    other => Err(SpecError::at_key(
                        other,
                        format!("unknown target kind `{other}`"),
                        Some(hint(other, KINDS.iter().copied())),
                    )),
                }
            }
            Value::Object(_) => Err(SpecError::new(
                vec![],
                "a target is a name, or a mapping with exactly one kind key",
                Some(format!("target kinds: {}", KINDS.join(", "))),
            )),
            _ => Err(SpecError::new(
                vec![],
                "a target is a registered function name or a mapping such as `{rust: name}`",
                None,
            )),
        }
    }
}

impl TargetSpec {
    /// The bare names this target refers to (itself, or its pipeline's
    /// steps), each with its path from the target's value: the loader
    /// checks each names a registered function or a suite target.
    pub fn names(&self) -> Vec<(Vec<Seg>, &str)> {
        match self {
            TargetSpec::Named(name) => vec![(vec![], name.as_str())],
            TargetSpec::Pipeline(p) => p
                .steps
                .iter()
                .enumerate()
                .filter_map(|(i, step)| match &step.target {
                    TargetSpec::Named(name) => Some((
                        vec![
                            Seg::Key("pipeline".into()),
                            Seg::Index(i),
                            Seg::Key("target".into()),
                        ],
                        name.as_str(),
                    )),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The longest `timeout_s` a target may set: one day.
pub const MAX_TIMEOUT_S: f64 = 86_400.0;

/// A target's `timeout_s` must be a number of seconds above 0, at most a day.
fn check_timeout(kind: &str, t: f64) -> Result<(), SpecError> {
    if t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_S {
        return Ok(());
    }
    Err(SpecError::new(
        vec![Seg::Key(kind.into()), Seg::Key("timeout_s".into())],
        format!("`timeout_s: {t}` is not a time tribunal can wait"),
        Some(format!(
            "give seconds above 0 and at most {MAX_TIMEOUT_S} (one day)"
        )),
    ))
}

/// Everything a target call may use.
pub struct TargetContext<'a> {
    /// The case input (a string or a map of variables).
    pub input: &'a Value,
    /// Variables: suite defaults, variant and case, merged.
    pub vars: &'a Map<String, Value>,
    /// The case's reference output, if any.
    pub expected: Option<&'a Value>,
    /// The suite name.
    pub suite: &'a str,
    /// The case id.
    pub case_id: &'a str,
    /// The variant id, when the case runs under several.
    pub variant: Option<&'a str>,
    /// The folder of the suite file (relative paths resolve here).
    pub suite_dir: &'a Path,
    /// What a target may use: providers, registered functions, the root.
    pub env: &'a Services,
    /// The sample index (0, or 0..k under `repeat: k`): a model call sends
    /// it as the request's `sample`, which is part of the cassette key.
    pub sample: u32,
}

/// Why a target call failed: the verdict becomes `error` with this text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

/// Calls a target. `named` resolves suite-level named targets.
pub async fn call(
    spec: &TargetSpec,
    named: &[(String, TargetSpec)],
    ctx: &TargetContext<'_>,
) -> Result<Output, TargetError> {
    let spec = match spec {
        TargetSpec::Named(name) => match named.iter().find(|(n, _)| n == name) {
            Some((_, inner)) if !matches!(inner, TargetSpec::Named(_)) => inner,
            _ => &TargetSpec::Rust(name.clone()),
        },
        other => other,
    };
    let started = Instant::now();
    let result = match spec {
        TargetSpec::Rust(name) | TargetSpec::Named(name) => call_rust(name, ctx).await,
        TargetSpec::Prompt(p) => prompt::call(p, ctx).await,
        TargetSpec::Command(c) => command::call(c, ctx).await,
        TargetSpec::Http(h) => http::call(h, ctx).await,
        TargetSpec::Pipeline(p) => pipeline::call(p, named, ctx).await,
    };
    // No known secret (an API key, a header value from the environment)
    // leaves a target, whether a program printed it or a server echoed it.
    let mut output = result.map_err(|e| TargetError(secrets::redact(&e.0)))?;
    let text = secrets::redact(&output.text);
    if text != output.text {
        output.text = text;
    }
    if let Some(j) = &mut output.json {
        secrets::redact_json(j);
    }
    shapes::redact(&mut output);
    if output.latency_ms.is_none() {
        output.latency_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(output)
}

async fn call_rust(name: &str, ctx: &TargetContext<'_>) -> Result<Output, TargetError> {
    let Some(target) = ctx.env.registry.targets.get(name).cloned() else {
        return Err(TargetError(format!(
            "no Rust target named `{name}` is registered (register it in tests/evals.rs with `.target(\"{name}\", f)`)"
        )));
    };
    let input = Input {
        value: ctx.input.clone(),
        vars: ctx.vars.clone(),
        case_id: ctx.case_id.to_string(),
        variant: ctx.variant.map(str::to_string),
    };
    let joined = target.call(input).await;
    match joined {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(e)) => Err(TargetError(format!(
            "target `{name}` returned an error: {e}"
        ))),
        Err(join) if join.is_panic() => {
            let payload = join.into_panic();
            Err(TargetError(format!(
                "target `{name}` panicked: {}",
                crate::registry::panic_text(&*payload)
            )))
        }
        Err(join) => Err(TargetError(format!(
            "target `{name}` was cancelled: {join}"
        ))),
    }
}
