//! `prompt` targets: a minijinja template rendered with the case, sent to a
//! provider through [`crate::provider::Providers::chat`].
//!
//! ```yaml
//! target:
//!   prompt:
//!     provider: openai:gpt-4.1-mini     # or a provider named in tribunal.yaml;
//!                                       # a template ("{{ model }}") lets a variant pick it
//!     system: "You answer support questions for {{ vars.shop }}."   # optional
//!     template: "Customer: {{ input }}"  # inline, or:
//!     # file: support.j2                 # under evals/prompts/ (or the suite folder)
//!     schema: {type: object}             # optional: JSON output, parsed and validated
//!     temperature: 0                     # optional: temperature, max_tokens, seed
//!     allow_truncated: false             # true: accept an answer cut off at max_tokens
//!     tools: [...]                       # optional: functions the model may call (see `tools`)
//!     tool_choice: auto                  # auto | none | required | {name: TOOL}
//!     tools_from: {...}                  # optional: what answers each tool; tribunal runs the loop
//!     max_steps: 8                       # model calls of the tool loop (default 8)
//! ```
//!
//! `template` and `file` are optional: without them the input's text is the
//! user message. A case whose `input` is a list of messages sends them as
//! they are, after the `system` message (the template is not used).
//!
//! The output keeps what the model answered besides text: its tool calls
//! (a model answering with tool calls only has an empty text), the finish
//! reason and the conversation (the messages sent, then the answer). With
//! `tools_from`, tribunal answers the calls and calls the model again until
//! it answers without calling a tool; every model call and tool answer is a
//! step of the output (`model#1`, `tool:get_order#2`, `model#3`, …, each
//! with its usage, latency and finish reason), the output's usage, cost and
//! latency are their sums, its tool calls are every call in order and its
//! text is the final answer. `tool_choice: required` or `{name}` applies to
//! the first model call; the following ones are `auto`, so the model can
//! answer. See [`super::tools`].
//!
//! An answer cut off at the token limit is an error unless `allow_truncated`
//! is set; with `schema:` an answer that is not JSON or does not match the
//! schema is an error showing the answer.
//!
//! Templates see `input`, `vars` (and each variable at top level), `expected`,
//! `suite`, `case_id` and `variant`.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tools::{self, DEFAULT_MAX_STEPS, MAX_CALLS_PER_STEP, MAX_STEPS, ToolSource};
use super::{TargetContext, TargetError};
use crate::diag::{Seg, SpecError};
use crate::provider::{CallSite, ChatRequest, ChatResponse, Message, ResponseFormat, ToolChoice};
use crate::verdict::{Output, Step, Usage};

/// The parameters of a `prompt` target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptTarget {
    /// Provider spec: `openai:MODEL`, `anthropic:MODEL` or a configured name;
    /// a template (`standin-{{ model }}`) rendered with the case and variant.
    pub provider: String,
    /// The user message template, inline.
    #[serde(default)]
    pub template: Option<String>,
    /// The user message template, from a file.
    #[serde(default)]
    pub file: Option<String>,
    /// A system message template.
    #[serde(default)]
    pub system: Option<String>,
    /// A JSON Schema: ask for structured output and parse it.
    #[serde(default)]
    pub schema: Option<Value>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Maximum output tokens.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Sampling seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Accept an answer cut off at the token limit (`finish_reason: length`,
    /// `stop_reason: max_tokens`) instead of making it an error.
    #[serde(default)]
    pub allow_truncated: bool,
    /// Functions the model may call, in tribunal's short form, OpenAI's
    /// function schema or Anthropic's tool schema.
    #[serde(default)]
    pub tools: Vec<Value>,
    /// `auto`, `none`, `required` or `{name: TOOL}`.
    #[serde(default)]
    pub tool_choice: Option<Value>,
    /// What answers each tool; with it, tribunal runs the tool loop.
    #[serde(default)]
    pub tools_from: BTreeMap<String, Value>,
    /// The most model calls of the tool loop (default 8).
    #[serde(default)]
    pub max_steps: Option<u32>,
}

/// A prompt target's tools, read and checked.
pub(crate) struct Toolbox {
    pub(crate) tools: Vec<crate::provider::Tool>,
    pub(crate) choice: Option<ToolChoice>,
    pub(crate) sources: Vec<(String, ToolSource)>,
    pub(crate) max_steps: u32,
}

impl PromptTarget {
    /// Checks what deserialisation cannot: at most one of `template`/`file`,
    /// the tools, their choice and sources, `max_steps`. Paths are relative
    /// to the `prompt` mapping.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.template.is_some() && self.file.is_some() {
            return Err(SpecError::new(
                vec![],
                "give either `template` or `file`, not both",
                None,
            ));
        }
        self.toolbox().map(|_| ())
    }

    /// The tools, read and checked.
    pub(crate) fn toolbox(&self) -> Result<Toolbox, SpecError> {
        let tools = tools::definitions(&self.tools)?;
        let choice = match &self.tool_choice {
            Some(c) => Some(tools::choice(c, &tools)?),
            None => None,
        };
        let sources = tools::sources(&self.tools_from, &tools)?;
        if self.schema.is_some() && !tools.is_empty() {
            return Err(SpecError::new(
                vec![Seg::Key("schema".into())],
                "a prompt target with `tools` cannot also ask for a `schema`",
                Some("check the final answer with a `json_schema` check instead, and ask for JSON in the prompt".into()),
            ));
        }
        let max_steps = match self.max_steps {
            None => DEFAULT_MAX_STEPS,
            Some(n) if (1..=MAX_STEPS).contains(&n) => n,
            Some(n) => {
                return Err(SpecError::new(
                    vec![Seg::Key("max_steps".into())],
                    format!("`max_steps: {n}` is out of range"),
                    Some(format!("give 1 to {MAX_STEPS} model calls")),
                ));
            }
        };
        if self.max_steps.is_some() && sources.is_empty() {
            return Err(SpecError::new(
                vec![Seg::Key("max_steps".into())],
                "`max_steps` without `tools_from`: the model is called once",
                Some(
                    "map the tools to their results under `tools_from` to run the tool loop".into(),
                ),
            ));
        }
        Ok(Toolbox {
            tools,
            choice,
            sources,
            max_steps,
        })
    }

    /// The Rust functions the `tools_from` entries call: `(tool, function)`.
    pub fn tool_functions(&self) -> Vec<(String, String)> {
        self.toolbox()
            .map(|t| tools::rust_names(&t.sources))
            .unwrap_or_default()
    }
}

/// The largest prompt template file read (4 MiB).
pub const MAX_TEMPLATE_BYTES: u64 = 4 << 20;

/// The values templates see.
pub(crate) fn template_context(ctx: &TargetContext<'_>) -> Value {
    let mut m: Map<String, Value> = ctx.vars.clone();
    m.insert("input".into(), ctx.input.clone());
    m.insert("vars".into(), Value::Object(ctx.vars.clone()));
    m.insert(
        "expected".into(),
        ctx.expected.cloned().unwrap_or(Value::Null),
    );
    m.insert("suite".into(), json!(ctx.suite));
    m.insert("case_id".into(), json!(ctx.case_id));
    m.insert("variant".into(), json!(ctx.variant));
    Value::Object(m)
}

/// The template environment of targets: strict undefined variables and the
/// `urlencode` filter (percent-encodes a value as one URL component).
pub(crate) fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("urlencode", |v: minijinja::Value| {
        let text = if v.is_none() || v.is_undefined() {
            String::new()
        } else {
            v.to_string()
        };
        minijinja::Value::from_safe_string(super::http::urlencode(&text))
    });
    env
}

/// Renders a minijinja template; `what` names it in errors.
pub(crate) fn render(source: &str, context: &Value, what: &str) -> Result<String, TargetError> {
    let env = environment();
    env.render_str(source, minijinja::value::Serde(context))
        .map_err(|e| {
            let outside_pipeline = context.get("steps").is_none()
                && (source.contains("steps") || source.contains("previous"));
            let hint = if e.kind() == minijinja::ErrorKind::UndefinedError && outside_pipeline {
                " (hint: `steps` and `previous` exist only in the templates of a `pipeline` step's target and its `input`; make this target a step of a pipeline, or use `input`)"
            } else {
                ""
            };
            TargetError(format!("cannot render {what}: {e}{hint}"))
        })
}

/// Where a template file is looked for: the suite folder, `evals/prompts/`,
/// then the project root.
pub fn resolve_file(file: &str, suite_dir: &Path, root: &Path) -> Result<PathBuf, TargetError> {
    let candidates = [
        suite_dir.join(file),
        root.join("evals").join("prompts").join(file),
        root.join(file),
    ];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    // Something by that name that is not a regular file (a FIFO, a folder,
    // a device) is refused, and said so: "not found" would mislead.
    if let Some(other) = candidates.iter().find(|p| p.exists()) {
        return Err(TargetError(format!(
            "prompt file {} is not a regular file (hint: a template must be a plain file; a FIFO, device or folder is never read)",
            other.display()
        )));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            TargetError(format!(
                "prompt file `{file}` not found (looked in {})",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// The messages a `prompt` target sends first: its system message, then
/// the case's conversation, or the rendered template as the user message.
fn first_messages(
    params: &PromptTarget,
    ctx: &TargetContext<'_>,
) -> Result<Vec<Message>, TargetError> {
    let context = template_context(ctx);
    let mut messages = Vec::new();
    if let Some(system) = &params.system {
        messages.push(Message::system(render(
            system,
            &context,
            "the system prompt",
        )?));
    }
    if let Some(conversation) = crate::chat::messages_of(ctx.input) {
        messages.extend(conversation);
        return Ok(messages);
    }
    let source = match (&params.template, &params.file) {
        (Some(t), _) => t.clone(),
        (None, Some(f)) => {
            let path = resolve_file(f, ctx.suite_dir, &ctx.env.root)?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if size > MAX_TEMPLATE_BYTES {
                return Err(TargetError(format!(
                    "prompt file {} is {size} bytes, more than the {} MiB a template may have",
                    path.display(),
                    MAX_TEMPLATE_BYTES >> 20
                )));
            }
            std::fs::read_to_string(&path)
                .map_err(|e| TargetError(format!("cannot read {}: {e}", path.display())))?
        }
        (None, None) => "{{ input }}".to_string(),
    };
    messages.push(Message::user(render(&source, &context, "the prompt")?));
    Ok(messages)
}

/// Calls a `prompt` target: one model call, or the tool loop when
/// `tools_from` answers the model's calls.
pub async fn call(params: &PromptTarget, ctx: &TargetContext<'_>) -> Result<Output, TargetError> {
    params
        .validate()
        .map_err(|e| TargetError(format!("invalid prompt target: {e}")))?;
    let toolbox = params
        .toolbox()
        .map_err(|e| TargetError(format!("invalid prompt target: {e}")))?;
    let mut messages = first_messages(params, ctx)?;
    // `provider: "standin-{{ model }}"`: a matrix axis picks the model.
    let provider = if params.provider.contains("{{") || params.provider.contains("{%") {
        render(&params.provider, &template_context(ctx), "the provider")?
            .trim()
            .to_string()
    } else {
        params.provider.clone()
    };
    let site = CallSite {
        suite: ctx.suite.to_string(),
        case_id: ctx.case_id.to_string(),
        variant: ctx.variant.map(str::to_string),
        suite_dir: ctx.suite_dir.to_path_buf(),
    };
    let looping = !toolbox.sources.is_empty();
    let rounds = if looping { toolbox.max_steps } else { 1 };
    let mut usage = Usage::default();
    let mut cost: Option<f64> = None;
    let mut latency = 0.0;
    let mut steps: Vec<Step> = Vec::new();
    let mut all_calls = Vec::new();
    let mut round = 0;
    let last = loop {
        round += 1;
        let request = ChatRequest {
            sample: ctx.sample,
            messages: messages.clone(),
            temperature: params.temperature,
            max_tokens: params.max_tokens,
            seed: params.seed,
            response_format: params
                .schema
                .as_ref()
                .map(|schema| ResponseFormat::JsonSchema {
                    name: "output".into(),
                    schema: schema.clone(),
                }),
            tools: toolbox.tools.clone(),
            // A forced choice is for the first call: after the tool answered,
            // the model must be free to answer.
            tool_choice: match &toolbox.choice {
                Some(ToolChoice::Required | ToolChoice::Tool(_)) if round > 1 => {
                    Some(ToolChoice::Auto)
                }
                other => other.clone(),
            },
            ..ChatRequest::default()
        };
        let mut r = ctx
            .env
            .providers
            .chat(&provider, &request, &site)
            .await
            .map_err(|e| TargetError(e.to_string()))?;
        if !params.allow_truncated
            && let Some(note) = r.truncation_note()
        {
            return Err(TargetError(format!(
                "the answer of `{}`{} is incomplete: {note} (hint: raise `max_tokens` if it hit the token limit, or set `allow_truncated: true` to accept incomplete answers); answer: {}",
                provider,
                if looping {
                    format!(" (model call {round})")
                } else {
                    String::new()
                },
                shown(&r)
            )));
        }
        usage.add(r.usage);
        if let Some(c) = r.cost_usd {
            cost = Some(cost.unwrap_or(0.0) + c);
        }
        latency += r.latency_ms;
        // Calls without an id (some compatible servers) get one, the same
        // on every run, so that each result can answer its call.
        for (i, c) in r.tool_calls.iter_mut().enumerate() {
            if c.id.is_empty() {
                c.id = format!("call_{round}_{}", i + 1);
            }
        }
        messages.push(if r.tool_calls.is_empty() {
            Message::assistant(r.text.clone())
        } else {
            Message::assistant_calls(r.text.clone(), r.tool_calls.clone())
        });
        all_calls.extend(r.tool_calls.iter().cloned());
        if looping {
            steps.push(Step::new(
                format!("model#{}", steps.len() + 1),
                step_output(&r, &provider),
            ));
        }
        if !looping || r.tool_calls.is_empty() {
            break r;
        }
        if round >= rounds {
            let names: Vec<String> = r
                .tool_calls
                .iter()
                .map(|c| format!("`{}`", c.name))
                .collect();
            return Err(TargetError(format!(
                "the model was still calling tools ({}) after `max_steps: {rounds}` model calls; the loop was stopped with no final answer (hint: raise `max_steps`, or look at why the model keeps calling tools)",
                names.join(", ")
            )));
        }
        if r.tool_calls.len() > MAX_CALLS_PER_STEP {
            return Err(TargetError(format!(
                "the model made {} tool calls in one answer, more than the {MAX_CALLS_PER_STEP} tribunal answers",
                r.tool_calls.len()
            )));
        }
        for c in &r.tool_calls {
            let Some((_, source)) = toolbox.sources.iter().find(|(n, _)| *n == c.name) else {
                let mapped: Vec<&str> = toolbox.sources.iter().map(|(n, _)| n.as_str()).collect();
                let list: Vec<String> = mapped.iter().map(|n| format!("`{n}`")).collect();
                let suggestion = crate::diag::did_you_mean(&c.name, mapped.iter().copied())
                    .map(|b| format!("did you mean `{b}`? "))
                    .unwrap_or_default();
                return Err(TargetError(format!(
                    "the model called the tool `{}`, which `tools_from` does not map (it maps {}) (hint: {suggestion}map `{}` under `tools_from`, or remove it from `tools:`)",
                    c.name,
                    list.join(", "),
                    c.name
                )));
            };
            let started = std::time::Instant::now();
            // Arguments that are not JSON are the model's mistake: it is
            // told, as a failed tool would tell it, and the tool is not run.
            let answered = match &c.invalid_arguments {
                Some(why) => Err(format!("the arguments are not valid JSON: {why}")),
                None => tools::answer(&c.name, source, c, ctx).await?,
            };
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            latency += ms;
            let (message, step) = match answered {
                Ok(text) => (
                    Message::tool_result(c.id.clone(), c.name.clone(), text.clone()),
                    Output::text(text),
                ),
                Err(why) => {
                    let text = format!("error: {why}");
                    (
                        Message::tool_error(c.id.clone(), c.name.clone(), text.clone()),
                        Output::text(text).with_finish_reason("error"),
                    )
                }
            };
            messages.push(message);
            steps.push(Step::new(
                format!("tool:{}#{}", c.name, steps.len() + 1),
                step.with_latency_ms(ms),
            ));
        }
    };
    let json = match &params.schema {
        Some(schema) => {
            let json = match last.json.clone() {
                Some(j) => j,
                None => serde_json::from_str(last.text.trim()).map_err(|e| {
                    TargetError(format!(
                        "`{}` was asked for JSON but answered text that is not JSON ({e}): {}",
                        provider,
                        shown(&last)
                    ))
                })?,
            };
            // The server may have ignored the schema (a gateway that drops
            // `response_format`): the answer is checked here, whatever was sent.
            if let Some(why) = crate::provider::structured::schema_mismatch(schema, &json) {
                return Err(TargetError(format!(
                    "the answer of `{}` does not match the target's `schema`: {why}; answer: {}",
                    provider,
                    shown(&last)
                )));
            }
            Some(json)
        }
        None => None,
    };
    Ok(Output {
        text: json
            .as_ref()
            .map_or_else(|| last.text.clone(), Value::to_string),
        json,
        latency_ms: Some(latency),
        usage: Some(usage),
        cost_usd: cost,
        model: Some(model_of(&last, &provider)),
        // A model that answers with tool calls: the calls are the output's,
        // not dropped (the text may be empty).
        tool_calls: all_calls,
        conversation: messages,
        finish_reason: last.finish_reason.clone(),
        steps,
    })
}

fn shown(r: &ChatResponse) -> String {
    crate::provider::openai::snippet(r.text.as_bytes())
}

fn model_of(r: &ChatResponse, provider: &str) -> String {
    if r.model.is_empty() {
        provider.to_string()
    } else {
        r.model.clone()
    }
}

/// One model call of a tool loop, as a step.
fn step_output(r: &ChatResponse, provider: &str) -> Output {
    Output {
        text: r.text.clone(),
        latency_ms: Some(r.latency_ms),
        usage: Some(r.usage),
        cost_usd: r.cost_usd,
        model: Some(model_of(r, provider)),
        tool_calls: r.tool_calls.clone(),
        finish_reason: r.finish_reason.clone(),
        ..Output::default()
    }
}
