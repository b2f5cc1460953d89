//! Structured output: how a request for JSON matching a schema is put on the
//! wire, and the fallbacks for servers that do not support the first way.
//!
//! Modes (`structured_output:` of a provider in `tribunal.yaml`):
//!
//! - `json_schema`: OpenAI's `response_format: {type: json_schema}`; the
//!   server enforces the schema.
//! - `json_object`: `response_format: {type: json_object}`, the schema is
//!   added to the system prompt, and the answer is validated against the
//!   schema on return (a mismatch is an error showing the answer).
//! - `tools`: a forced tool call whose parameters are the schema; its
//!   arguments are the answer, validated like `json_object`.
//! - `auto` (default): OpenAI-compatible providers start with `json_schema`
//!   and, when the server rejects the request because of it (llama.cpp's
//!   "Input should be 'text' or 'json_object'"), retry at once with
//!   `json_object`, then `tools`; the mode that worked is kept for that
//!   provider's later calls and written into each cassette as
//!   `response.structured_output`. Anthropic providers always use a forced
//!   tool call (the Messages API has no other way).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ChatRequest, ChatResponse, Message, ResponseFormat, Role, Tool, ToolChoice};

/// How structured output is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredMode {
    /// `json_schema`, falling back to `json_object`, then `tools`.
    #[default]
    Auto,
    /// `response_format: json_schema`.
    JsonSchema,
    /// `response_format: json_object` with the schema in the prompt.
    JsonObject,
    /// A forced tool call.
    Tools,
}

impl StructuredMode {
    /// The mode's name, as written in `tribunal.yaml` and cassettes.
    pub fn as_str(self) -> &'static str {
        match self {
            StructuredMode::Auto => "auto",
            StructuredMode::JsonSchema => "json_schema",
            StructuredMode::JsonObject => "json_object",
            StructuredMode::Tools => "tools",
        }
    }

    /// The mode tried after this one was rejected, in `auto`.
    pub fn fallback(self) -> Option<StructuredMode> {
        match self {
            StructuredMode::Auto | StructuredMode::JsonSchema => Some(StructuredMode::JsonObject),
            StructuredMode::JsonObject => Some(StructuredMode::Tools),
            StructuredMode::Tools => None,
        }
    }
}

/// Whether a server's refusal is about the structured-output request (so a
/// fallback mode may work): it names `response_format`, `json_schema` or
/// lists the accepted formats.
pub fn is_structured_rejection(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "response_format",
        "json_schema",
        "'json_object'",
        "input should be 'text'",
    ]
    .iter()
    .any(|n| m.contains(n))
}

/// The schema errors of `value` (at most three, joined), or `None` when it
/// matches. An invalid schema is reported as such.
pub fn schema_mismatch(schema: &Value, value: &Value) -> Option<String> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => return Some(format!("the schema itself is invalid: {e}")),
    };
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(3)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("{at}: {e}")
            }
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// The request as sent in `mode` (for `json_schema` and `auto`, unchanged).
pub(crate) fn prepare(req: &ChatRequest, mode: StructuredMode) -> ChatRequest {
    let Some(ResponseFormat::JsonSchema { name, schema }) = &req.response_format else {
        return req.clone();
    };
    let mut r = req.clone();
    match mode {
        StructuredMode::Auto | StructuredMode::JsonSchema => {}
        StructuredMode::JsonObject => {
            r.response_format = Some(ResponseFormat::JsonObject);
            let note = format!(
                "Answer with one JSON object, and nothing else, that matches this JSON Schema:\n{schema}"
            );
            match r.messages.iter_mut().find(|m| m.role == Role::System) {
                Some(m) => m.content = format!("{}\n\n{note}", m.content),
                None => r.messages.insert(0, Message::system(note)),
            }
        }
        StructuredMode::Tools => {
            r.response_format = None;
            r.tools.push(Tool {
                name: name.clone(),
                description: Some("Answer with this structure.".into()),
                parameters: schema.clone(),
            });
            r.tool_choice = Some(ToolChoice::Tool(name.clone()));
        }
    }
    r
}

/// Reads the answer of a request sent in `mode`: the structured value is put
/// into `json` (and `text`) and, for the fallback modes, checked against the
/// schema. `Err` says what is wrong and shows the answer.
pub(crate) fn finish(
    resp: &mut ChatResponse,
    req: &ChatRequest,
    mode: StructuredMode,
) -> Result<(), String> {
    let Some(ResponseFormat::JsonSchema { name, schema }) = &req.response_format else {
        return Ok(());
    };
    resp.structured_output = Some(mode.as_str().to_string());
    if mode == StructuredMode::Tools
        && let Some(pos) = resp.tool_calls.iter().position(|c| c.name == *name)
    {
        let call = resp.tool_calls.remove(pos);
        resp.text = call.arguments.to_string();
        resp.json = Some(call.arguments);
    }
    if matches!(mode, StructuredMode::JsonObject | StructuredMode::Tools) {
        let shown = super::openai::snippet(resp.text.as_bytes());
        let Some(json) = &resp.json else {
            return Err(format!(
                "asked for JSON ({} mode) but the answer is not JSON: {shown}",
                mode.as_str()
            ));
        };
        if let Some(why) = schema_mismatch(schema, json) {
            return Err(format!(
                "the answer does not match the schema ({} mode): {why}; answer: {shown}",
                mode.as_str()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_structured_output_refusals() {
        assert!(is_structured_rejection(
            "1 validation error: response_format.type Input should be 'text' or 'json_object'"
        ));
        assert!(is_structured_rejection("json_schema is not supported"));
        assert!(!is_structured_rejection("model overloaded"));
    }

    #[test]
    fn json_object_mode_puts_the_schema_in_the_prompt_and_validates() {
        let req = ChatRequest {
            messages: vec![Message::user("q")],
            response_format: Some(ResponseFormat::JsonSchema {
                name: "output".into(),
                schema: json!({"type": "object", "required": ["a"]}),
            }),
            ..ChatRequest::default()
        };
        let sent = prepare(&req, StructuredMode::JsonObject);
        assert_eq!(sent.response_format, Some(ResponseFormat::JsonObject));
        assert!(sent.messages[0].content.contains("\"required\""));
        let mut ok = ChatResponse {
            json: Some(json!({"a": 1})),
            ..ChatResponse::default()
        };
        assert_eq!(finish(&mut ok, &req, StructuredMode::JsonObject), Ok(()));
        assert_eq!(ok.structured_output.as_deref(), Some("json_object"));
        let mut bad = ChatResponse {
            text: "{\"b\":1}".into(),
            json: Some(json!({"b": 1})),
            ..ChatResponse::default()
        };
        let e = finish(&mut bad, &req, StructuredMode::JsonObject).expect_err("mismatch");
        assert!(
            e.contains("\"a\" is a required property") && e.contains("{\"b\":1}"),
            "{e}"
        );
    }
}
