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

/// The non-system messages on the wire. An assistant message's tool calls
/// become `tool_use` blocks after its text; tool results become
/// `tool_result` blocks of a user message, consecutive results (answers to
/// parallel calls) in one message, as the Messages API requires.
fn messages(all: &[super::Message]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for m in all.iter().filter(|m| m.role != Role::System) {
        match m.role {
            Role::Assistant if !m.tool_calls.is_empty() => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() {
                    blocks.push(json!({"type": "text", "text": m.content}));
                }
                for c in &m.tool_calls {
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}),
                    );
                }
                out.push(json!({"role": "assistant", "content": blocks}));
            }
            Role::Tool => {
                let mut block = json!({
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                    "content": m.content,
                });
                if m.is_error {
                    block["is_error"] = json!(true);
                }
                let merged = out.last_mut().is_some_and(|last| {
                    let joinable = last["role"] == "user"
                        && last["content"]
                            .as_array()
                            .is_some_and(|b| b.iter().all(|b| b["type"] == "tool_result"));
                    if joinable && let Some(blocks) = last["content"].as_array_mut() {
                        blocks.push(block.clone());
                    }
                    joinable
                });
                if !merged {
                    out.push(json!({"role": "user", "content": [block]}));
                }
            }
            Role::Assistant => out.push(json!({"role": "assistant", "content": m.content})),
            Role::User | Role::System => out.push(json!({"role": "user", "content": m.content})),
        }
    }
    out
}

/// The JSON body for a request; `extra` keys are added as is.
pub fn body(req: &ChatRequest, extra: &Map<String, Value>) -> Value {
    let system: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let messages = messages(&req.messages);
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
    fn tool_calls_and_parallel_results_take_the_messages_api_shape() {
        let call = |id: &str, n: i64| ToolCall::new("get_order", json!({"id": n})).with_id(id);
        let req = ChatRequest::new(
            "claude-sonnet-4",
            vec![
                Message::system("you are a support agent"),
                Message::user("where are orders 1 and 2?"),
                Message::assistant_calls("Looking.", vec![call("tu_1", 1), call("tu_2", 2)]),
                Message::tool_result("tu_1", "get_order", "shipped"),
                Message::tool_result("tu_2", "get_order", "packing"),
                Message::assistant("Order 1 shipped; order 2 is being packed."),
            ],
        );
        let b = body(&req, &Map::new());
        assert_eq!(b["system"], json!("you are a support agent"));
        assert_eq!(
            b["messages"],
            json!([
                {"role": "user", "content": "where are orders 1 and 2?"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Looking."},
                    {"type": "tool_use", "id": "tu_1", "name": "get_order", "input": {"id": 1}},
                    {"type": "tool_use", "id": "tu_2", "name": "get_order", "input": {"id": 2}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "tu_1", "content": "shipped"},
                    {"type": "tool_result", "tool_use_id": "tu_2", "content": "packing"},
                ]},
                {"role": "assistant", "content": "Order 1 shipped; order 2 is being packed."},
            ])
        );
    }

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
