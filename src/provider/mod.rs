//! Model clients behind one trait, plus the record/replay cassette layer.
//!
//! Every LLM call tribunal makes, for a `prompt` target or for a judge, is a
//! [`ChatRequest`] sent through a [`Provider`]. The cassette layer wraps a
//! provider so that CI replays recorded answers with no key and no network.
//!
//! One file per concern: [`openai`] and [`anthropic`] (the two wire formats),
//! `transport` (HTTP, timeouts and the retry loop), [`retry`] (error
//! classification, back-off with jitter, `Retry-After`), [`limits`] (global and
//! per-provider in-flight limits, adaptive back-off on 429, counters),
//! [`cassette`] (record/replay files), [`config`] (`tribunal.yaml`),
//! [`structured`] (how JSON output is asked for, and the fallbacks),
//! [`capped`] (bounded reading of answers and outputs), [`secrets`] (known
//! secret values and their redaction), [`price`]
//! (cost from usage), [`mock`] (a loopback server speaking both wire formats,
//! for tests and the benchmark) and [`progress`] (a live progress line on
//! terminals). The `cassettes` and `bench` commands are in `cli/providers.rs`.
//! [`Providers::chat`] is the single door every judge and prompt target uses.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::verdict::Usage;

pub mod anthropic;
pub mod batch;
pub mod capped;
pub mod cassette;
pub mod config;
pub mod limits;
pub mod mock;
pub mod openai;
pub mod price;
pub mod progress;
mod registry;
pub mod retry;
pub mod secrets;
pub mod structured;
mod transport;

pub use crate::chat::{Message, Role, ToolCall};
pub use cassette::Mode;
pub use config::{NamedProvider, ProjectConfig, ProviderKind};
pub use limits::{Stats, StatsSnapshot};
pub use registry::{CallSite, Options, Providers, usage_dir};

/// A boxed future, as returned by [`Provider::chat`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Structured-output request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// Schema name (OpenAI requires one).
        name: String,
        /// The JSON Schema.
        schema: serde_json::Value,
    },
}

/// A function the model may call (OpenAI `tools`, Anthropic `tools`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The function name.
    pub name: String,
    /// What the function does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// The model must not call a tool.
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Tool(String),
}

/// A provider-independent chat request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The model name as the provider knows it (`gpt-4.1-mini`).
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Maximum tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling seed, where the provider supports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Structured output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Whether and which tool the model must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// The sample index, for k-of-n sampling of the same request: part of the
    /// cassette key so that replay reproduces every sample.
    #[serde(default)]
    pub sample: u32,
}

impl ChatRequest {
    /// A request for `model` with these messages and nothing else set.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            ..ChatRequest::default()
        }
    }

    /// The text of the last user message (for messages and progress lines).
    pub fn last_user_text(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.as_str())
    }
}

/// A provider-independent chat response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The message text (for tool-use structured output, the tool input as JSON text).
    pub text: String,
    /// Parsed structured output, when structured output was requested and parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// Token usage.
    #[serde(default)]
    pub usage: Usage,
    /// Tool calls the model made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Why generation stopped (`stop`, `length`, `tool_use`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// The model that answered, as the provider reported it.
    #[serde(default)]
    pub model: String,
    /// Latency of the call in milliseconds (as recorded, for replays).
    #[serde(default)]
    pub latency_ms: f64,
    /// Cost in US dollars, when a price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// True when the answer came from a cassette.
    #[serde(default)]
    pub replayed: bool,
    /// How structured output was requested (`json_schema`, `json_object` or
    /// `tools`), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_output: Option<String>,
    /// The provider batch that answered (`batch_...`, `msgbatch_...`), when
    /// `tribunal batch collect` recorded it; replay does not use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

impl ChatResponse {
    /// True when the model stopped because it reached its token limit
    /// (OpenAI `finish_reason: length`, Anthropic `stop_reason: max_tokens`):
    /// the text is cut off.
    pub fn truncated(&self) -> bool {
        matches!(self.finish_reason.as_deref(), Some("length" | "max_tokens"))
    }

    /// True when the provider's filter stopped the answer (OpenAI
    /// `finish_reason: content_filter`, Anthropic `stop_reason: refusal`):
    /// content is missing.
    pub fn filtered(&self) -> bool {
        matches!(
            self.finish_reason.as_deref(),
            Some("content_filter" | "refusal")
        )
    }

    /// Why the answer is incomplete (cut off or filtered), for error
    /// messages, when it is.
    pub fn truncation_note(&self) -> Option<String> {
        let reason = self.finish_reason.as_deref().unwrap_or_default();
        if self.truncated() {
            Some(format!(
                "the model stopped at its token limit (finish reason `{reason}`, {} output tokens), so the answer is cut off",
                self.usage.output_tokens
            ))
        } else if self.filtered() {
            Some(format!(
                "the provider's filter stopped the answer (finish reason `{reason}`), so it is incomplete"
            ))
        } else {
            None
        }
    }
}

impl ChatResponse {
    /// An answer made of text only (usage, model and the rest unset); set
    /// the other fields on the value as needed.
    pub fn new(text: impl Into<String>) -> Self {
        ChatResponse {
            text: text.into(),
            ..ChatResponse::default()
        }
    }

    /// What both wire formats answer alike, from a response body `v` to
    /// `req`: `usage.{input,output}` token counts under the format's
    /// `token_keys` (0 when missing), the finish reason (a string at
    /// `finish_reason`, if any), and the model that answered (the requested
    /// one when the server does not say). Text, JSON and tool calls are the
    /// format's own.
    pub(crate) fn from_wire(
        v: &serde_json::Value,
        req: &ChatRequest,
        token_keys: [&str; 2],
        finish_reason: Option<&serde_json::Value>,
    ) -> Self {
        let tokens = |key| {
            v.get("usage")
                .and_then(|u| u.get(key))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        ChatResponse {
            usage: Usage {
                input_tokens: tokens(token_keys[0]),
                output_tokens: tokens(token_keys[1]),
            },
            finish_reason: finish_reason
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
            model: v
                .get("model")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(&req.model)
                .to_string(),
            ..ChatResponse::default()
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The server refused the request (400/401/403/404): retrying will not help.
    #[error("{provider} answered HTTP {status}: {message}")]
    Rejected {
        /// Provider name.
        provider: String,
        /// HTTP status.
        status: u16,
        /// The server's error message.
        message: String,
    },
    /// The provider is paused by a server's `Retry-After` past this call's
    /// budget: the call is not sent.
    #[error(
        "{provider}: not sent: the server asked to wait {wait_s:.0}s ({reason}), longer than the {remaining_s:.1}s left of this call's budget"
    )]
    Paused {
        /// Provider name.
        provider: String,
        /// Seconds left of the pause.
        wait_s: f64,
        /// Seconds left of the call's budget.
        remaining_s: f64,
        /// The server's answer that asked for the pause.
        reason: String,
    },
    /// Transient failures (429, 5xx, timeouts, resets) persisted past the retry budget.
    #[error("{provider}: gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// Provider name.
        provider: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The server answered 2xx with a body tribunal could not read.
    #[error("{provider}: malformed response: {message}")]
    Malformed {
        /// Provider name.
        provider: String,
        /// What was wrong.
        message: String,
    },
    /// Replay mode and no recorded answer for this request.
    #[error("{0}")]
    CassetteMiss(String),
    /// A cassette file could not be read or written.
    #[error("{0}")]
    Cassette(String),
    /// The provider is not configured (no key, unknown provider name).
    #[error("{0}")]
    Config(String),
}

/// A model client.
pub trait Provider: Send + Sync {
    /// A short name for messages and cassette keys (`openai`, `anthropic`).
    fn name(&self) -> &str;
    /// The model this provider uses when a request leaves
    /// [`ChatRequest::model`] empty (empty when it has none).
    fn model(&self) -> &str {
        ""
    }
    /// Sends one chat request.
    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_off_and_filtered_answers_are_told_apart() {
        let with = |r: &str| ChatResponse {
            finish_reason: Some(r.into()),
            ..ChatResponse::new("x")
        };
        for r in ["length", "max_tokens"] {
            assert!(with(r).truncated() && !with(r).filtered(), "{r}");
        }
        // A judge reads these as a refusal, not as a token limit.
        for r in ["content_filter", "refusal"] {
            assert!(!with(r).truncated() && with(r).filtered(), "{r}");
            assert!(
                with(r)
                    .truncation_note()
                    .is_some_and(|n| n.contains("filter"))
            );
        }
        assert_eq!(with("stop").truncation_note(), None);
    }
}
