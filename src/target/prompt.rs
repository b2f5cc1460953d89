//! `prompt` targets: a minijinja template rendered with the case, sent to a
//! provider through [`crate::provider::Providers::chat`].
//!
//! ```yaml
//! target:
//!   prompt:
//!     provider: openai:gpt-4.1-mini     # or a provider named in tribunal.yaml
//!     system: "You answer support questions for {{ vars.shop }}."   # optional
//!     template: "Customer: {{ input }}"  # inline, or:
//!     # file: support.j2                 # under evals/prompts/ (or the suite folder)
//!     schema: {type: object}             # optional: JSON output, parsed and validated
//!     temperature: 0                     # optional: temperature, max_tokens, seed
//!     allow_truncated: false             # true: accept an answer cut off at max_tokens
//! ```
//!
//! An answer cut off at the token limit is an error unless `allow_truncated`
//! is set; with `schema:` an answer that is not JSON or does not match the
//! schema is an error showing the answer.
//!
//! Templates see `input`, `vars` (and each variable at top level), `expected`,
//! `suite`, `case_id` and `variant`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{TargetContext, TargetError};
use crate::provider::{CallSite, ChatRequest, Message, ResponseFormat};
use crate::verdict::Output;

/// The parameters of a `prompt` target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptTarget {
    /// Provider spec: `openai:MODEL`, `anthropic:MODEL` or a configured name.
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
}

impl PromptTarget {
    /// Checks what deserialisation cannot: exactly one of `template`/`file`.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.template, &self.file) {
            (Some(_), Some(_)) => Err("give either `template` or `file`, not both".into()),
            (None, None) => Err("a prompt needs `template` (inline) or `file`".into()),
            _ => Ok(()),
        }
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
        .map_err(|e| TargetError(format!("cannot render {what}: {e}")))
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

/// Calls a `prompt` target.
pub async fn call(params: &PromptTarget, ctx: &TargetContext<'_>) -> Result<Output, TargetError> {
    params.validate().map_err(TargetError)?;
    let context = template_context(ctx);
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
        (None, None) => String::new(),
    };
    let mut messages = Vec::new();
    if let Some(system) = &params.system {
        messages.push(Message::system(render(
            system,
            &context,
            "the system prompt",
        )?));
    }
    messages.push(Message::user(render(&source, &context, "the prompt")?));
    let request = ChatRequest {
        messages,
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
        ..ChatRequest::default()
    };
    let site = CallSite {
        suite: ctx.suite.to_string(),
        case_id: ctx.case_id.to_string(),
        variant: ctx.variant.map(str::to_string),
        suite_dir: ctx.suite_dir.to_path_buf(),
    };
    let r = ctx
        .env
        .providers
        .chat(&params.provider, &request, &site)
        .await
        .map_err(|e| TargetError(e.to_string()))?;
    let shown = || crate::provider::openai::snippet(r.text.as_bytes());
    if !params.allow_truncated
        && let Some(note) = r.truncation_note()
    {
        return Err(TargetError(format!(
            "the answer of `{}` is incomplete: {note} (hint: raise `max_tokens` if it hit the token limit, or set `allow_truncated: true` to accept incomplete answers); answer: {}",
            params.provider,
            shown()
        )));
    }
    let json = match &params.schema {
        Some(schema) => {
            let json = match r.json.clone() {
                Some(j) => j,
                None => serde_json::from_str(r.text.trim()).map_err(|e| {
                    TargetError(format!(
                        "`{}` was asked for JSON but answered text that is not JSON ({e}): {}",
                        params.provider,
                        shown()
                    ))
                })?,
            };
            // The server may have ignored the schema (a gateway that drops
            // `response_format`): the answer is checked here, whatever was sent.
            if let Some(why) = crate::provider::structured::schema_mismatch(schema, &json) {
                return Err(TargetError(format!(
                    "the answer of `{}` does not match the target's `schema`: {why}; answer: {}",
                    params.provider,
                    shown()
                )));
            }
            Some(json)
        }
        None => None,
    };
    Ok(Output {
        text: json
            .as_ref()
            .map_or_else(|| r.text.clone(), Value::to_string),
        json,
        latency_ms: Some(r.latency_ms),
        usage: Some(r.usage),
        cost_usd: r.cost_usd,
        model: Some(if r.model.is_empty() {
            params.provider.clone()
        } else {
            r.model
        }),
        // A model that answers with tool calls: the calls are the output's,
        // not dropped (the text may be empty).
        tool_calls: r.tool_calls,
        ..Output::default()
    })
}
