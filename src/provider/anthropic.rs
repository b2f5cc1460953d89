//! The Anthropic Messages wire format. System messages become the `system`
//! field; structured output is requested through a forced tool call whose
//! input schema is the requested schema.

use serde_json::{Map, Value, json};

use super::{ChatRequest, ChatResponse, ResponseFormat, Role, ToolCall, ToolChoice};

/// The `anthropic-version` header value sent with every request.
pub const VERSION: &str = "2023-06-01";

/// The tool name used for `response_format: json_object`.
const JSON_TOOL: &str = "json_output";

/// The endpoint under a base URL (`https://api.anthropic.com`).
pub fn url(base: &str) -> String {
    format!("{}/v1/messages", base.trim_end_matches('/'))
}

/// The JSON body for a request; `extra` keys are added as is.
pub fn body(req: &ChatRequest, extra: &Map<String, Value>) -> Value {
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let messages: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| {
            let role = if m.role == Role::Assistant {
                "assistant"
            } else {
                "user"
            };
            json!({"role": role, "content": m.content})
        })
        .collect();
    let mut b = Map::new();
    b.insert("model".into(), json!(req.model));
    b.insert("max_tokens".into(), json!(req.max_tokens.unwrap_or(1024)));
    if !system.is_empty() {
        b.insert("system".into(), json!(system.join("\n\n")));
    }
    b.insert("messages".into(), Value::Array(messages));
    if let Some(t) = req.temperature {
        b.insert("temperature".into(), json!(t));
    }
    if !req.stop.is_empty() {
        b.insert("stop_sequences".into(), json!(req.stop));
    }
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            let mut v = json!({"name": t.name, "input_schema": t.parameters});
            if let Some(d) = &t.description {
                v["description"] = json!(d);
            }
            v
        })
        .collect();
    let mut choice = req.tool_choice.as_ref().map(|c| match c {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
    });
    match &req.response_format {
        Some(ResponseFormat::JsonSchema { name, schema }) => {
            tools.push(json!({"name": name, "description": "Answer with this structure.", "input_schema": schema}));
            choice = Some(json!({"type": "tool", "name": name}));
        }
        Some(ResponseFormat::JsonObject) => {
            tools.push(json!({"name": JSON_TOOL, "description": "Answer with a JSON object.", "input_schema": {"type": "object"}}));
            choice = Some(json!({"type": "tool", "name": JSON_TOOL}));
        }
        None => {}
    }
    if !tools.is_empty() {
        b.insert("tools".into(), Value::Array(tools));
    }
    if let Some(c) = choice {
        b.insert("tool_choice".into(), c);
    }
    for (k, v) in extra {
        b.insert(k.clone(), v.clone());
    }
    Value::Object(b)
}

/// Reads a 2xx body. `Err` says what is missing or wrong.
pub fn parse(bytes: &[u8], req: &ChatRequest) -> Result<ChatResponse, String> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("body is not JSON ({e}): {}", super::openai::snippet(bytes)))?;
    let content = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no `content` array in {}", super::openai::snippet(bytes)))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => tool_calls.push(ToolCall {
                id: block
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                name: block
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("tool_use block without name")?
                    .to_string(),
                arguments: block.get("input").cloned().unwrap_or(Value::Null),
            }),
            _ => {}
        }
    }
    let structured = match &req.response_format {
        Some(ResponseFormat::JsonSchema { name, .. }) => Some(name.as_str()),
        Some(ResponseFormat::JsonObject) => Some(JSON_TOOL),
        None => None,
    };
    let mut json = None;
    if let Some(name) = structured {
        if let Some(pos) = tool_calls.iter().position(|c| c.name == name) {
            let call = tool_calls.remove(pos);
            text = call.arguments.to_string();
            json = Some(call.arguments);
        } else {
            json = serde_json::from_str(text.trim()).ok();
        }
    }
    Ok(ChatResponse {
        text,
        json,
        tool_calls,
        ..ChatResponse::from_wire(
            &v,
            req,
            ["input_tokens", "output_tokens"],
            v.get("stop_reason"),
        )
    })
}

/// The server's message from an error body
/// (`{"type":"error","error":{"type":...,"message":...}}`), else the body text.
pub fn error_message(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            let msg = e.get("message").and_then(Value::as_str)?;
            Some(match e.get("type").and_then(Value::as_str) {
                Some(t) => format!("{t}: {msg}"),
                None => msg.to_string(),
            })
        })
        .unwrap_or_else(|| super::openai::snippet(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Message;

    #[test]
    fn system_goes_to_its_field_and_schema_to_a_forced_tool() {
        let req = ChatRequest {
            model: "claude-sonnet-4".into(),
            messages: vec![Message::system("be brief"), Message::user("hi")],
            response_format: Some(ResponseFormat::JsonSchema {
                name: "verdict".into(),
                schema: json!({"type": "object"}),
            }),
            ..ChatRequest::default()
        };
        let b = body(&req, &Map::new());
        assert_eq!(b["system"], "be brief");
        assert_eq!(b["messages"].as_array().map(Vec::len), Some(1));
        assert_eq!(b["tool_choice"], json!({"type": "tool", "name": "verdict"}));
        assert_eq!(b["max_tokens"], 1024);
        let reply = br#"{"model":"claude-sonnet-4","content":[{"type":"tool_use","id":"t","name":"verdict","input":{"score":4}}],"stop_reason":"tool_use","usage":{"input_tokens":9,"output_tokens":2}}"#;
        let r = parse(reply, &req).expect("parses");
        assert_eq!(r.json, Some(json!({"score": 4})));
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.usage.input_tokens, 9);
        assert_eq!(
            error_message(br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: required"}}"#),
            "invalid_request_error: max_tokens: required"
        );
    }
}
