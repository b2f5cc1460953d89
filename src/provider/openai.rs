//! The OpenAI-compatible chat completions wire format (OpenAI, Azure-style
//! gateways, Ollama, vLLM, LiteLLM, llama.cpp servers).

use serde_json::{Map, Value, json};

use super::{ChatRequest, ChatResponse, ResponseFormat, Role, ToolCall, ToolChoice};

/// The endpoint under a base URL (`https://api.openai.com/v1`).
pub fn url(base: &str) -> String {
    format!("{}/chat/completions", base.trim_end_matches('/'))
}

/// One message on the wire: an assistant message's tool calls as
/// `tool_calls` (arguments as JSON text), a tool result as `role: tool`
/// with its `tool_call_id`.
fn message(m: &super::Message) -> Value {
    let mut v = json!({"role": m.role.as_str(), "content": m.content});
    if m.role == Role::Assistant && !m.tool_calls.is_empty() {
        if m.content.is_empty() {
            v["content"] = Value::Null;
        }
        let calls: Vec<Value> = m
            .tool_calls
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments.to_string()},
                })
            })
            .collect();
        v["tool_calls"] = Value::Array(calls);
    }
    if m.role == Role::Tool {
        v["tool_call_id"] = json!(m.tool_call_id.clone().unwrap_or_default());
    }
    v
}

/// The JSON body for a request; `extra` keys are added as is.
pub fn body(req: &ChatRequest, extra: &Map<String, Value>) -> Value {
    let messages: Vec<Value> = req.messages.iter().map(message).collect();
    let mut b = Map::new();
    b.insert("model".into(), json!(req.model));
    b.insert("messages".into(), Value::Array(messages));
    if let Some(t) = req.temperature {
        b.insert("temperature".into(), json!(t));
    }
    if let Some(m) = req.max_tokens {
        b.insert("max_tokens".into(), json!(m));
    }
    if let Some(s) = req.seed {
        b.insert("seed".into(), json!(s));
    }
    if !req.stop.is_empty() {
        b.insert("stop".into(), json!(req.stop));
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            b.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema { name, schema }) => {
            b.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": true}}),
            );
        }
        None => {}
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut f = json!({"name": t.name, "parameters": t.parameters});
                if let Some(d) = &t.description {
                    f["description"] = json!(d);
                }
                json!({"type": "function", "function": f})
            })
            .collect();
        b.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &req.tool_choice {
        let v = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
        };
        b.insert("tool_choice".into(), v);
    }
    for (k, v) in extra {
        b.insert(k.clone(), v.clone());
    }
    Value::Object(b)
}

/// Reads a 2xx body. `Err` says what is missing or wrong.
pub fn parse(bytes: &[u8], req: &ChatRequest) -> Result<ChatResponse, String> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("body is not JSON ({e}): {}", snippet(bytes)))?;
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| format!("no `choices[0]` in {}", snippet(bytes)))?;
    let message = choice
        .get("message")
        .ok_or_else(|| format!("no `choices[0].message` in {}", snippet(bytes)))?;
    let text = content_text(message.get("content"))?;
    let mut tool_calls = Vec::new();
    if let Some(Value::Array(calls)) = message.get("tool_calls") {
        for c in calls {
            let f = c.get("function").ok_or("tool call without `function`")?;
            tool_calls.push(function_call(f, c.get("id"))?);
        }
    } else if let Some(f) = message.get("function_call").filter(|f| f.is_object()) {
        // The legacy single-call field, still answered by some servers.
        tool_calls.push(function_call(f, None)?);
    }
    let json = if req.response_format.is_some() {
        serde_json::from_str(text.trim()).ok()
    } else {
        None
    };
    Ok(ChatResponse {
        text,
        json,
        tool_calls,
        ..ChatResponse::from_wire(
            &v,
            req,
            ["prompt_tokens", "completion_tokens"],
            choice.get("finish_reason"),
        )
    })
}

/// A message's `content`: a string, `null` (a message that only calls
/// tools), or a list of parts whose `text` parts are joined (some
/// OpenAI-compatible servers answer parts).
fn content_text(content: Option<&Value>) -> Result<String, String> {
    match content {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Ok(String::new()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for p in parts {
                match (p.get("type").and_then(Value::as_str), p.get("text")) {
                    (Some("text") | None, Some(Value::String(t))) => text.push_str(t),
                    (Some("refusal"), _) | (Some(_), None) => {}
                    _ => return Err(format!("`content` has a part tribunal cannot read: {p}")),
                }
            }
            Ok(text)
        }
        Some(other) => Err(format!("`content` is not a string: {other}")),
    }
}

/// One `function` of a tool call: its name and arguments. The arguments
/// are JSON text (as OpenAI sends them), or already an object (as some
/// compatible servers send them); empty text means no arguments (`{}`).
fn function_call(f: &Value, id: Option<&Value>) -> Result<ToolCall, String> {
    let name = f
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("tool call without a name: {f}"))?;
    let arguments = match f.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
            format!(
                "tool call `{name}` arguments are not JSON ({e}): {}",
                snippet(s.as_bytes())
            )
        })?,
        Some(other) => other.clone(),
    };
    Ok(ToolCall {
        id: id.and_then(Value::as_str).unwrap_or_default().to_string(),
        name: name.to_string(),
        arguments,
    })
}

/// The server's message from an error body (`{"error": {"message": ...}}`),
/// else the body text.
pub fn error_message(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| {
            v.get("error").and_then(|e| match e {
                Value::String(s) => Some(s.clone()),
                e => e.get("message").and_then(Value::as_str).map(str::to_string),
            })
        })
        .unwrap_or_else(|| snippet(bytes))
}

pub(crate) fn snippet(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else if s.is_empty() {
        "(empty body)".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_and_results_take_the_chat_completions_shape() {
        let call = ToolCall::new("get_order", json!({"id": 7})).with_id("call_1");
        let req = ChatRequest::new(
            "gpt-4.1-mini",
            vec![
                crate::provider::Message::user("where is order 7?"),
                crate::provider::Message::assistant_calls("", vec![call]),
                crate::provider::Message::tool_result("call_1", "get_order", "shipped"),
            ],
        );
        let b = body(&req, &Map::new());
        assert_eq!(
            b["messages"],
            json!([
                {"role": "user", "content": "where is order 7?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_order", "arguments": "{\"id\":7}"}},
                ]},
                {"role": "tool", "content": "shipped", "tool_call_id": "call_1"},
            ])
        );
    }
    use crate::provider::{Message, Tool};

    #[test]
    fn builds_the_documented_body() {
        let req = ChatRequest {
            model: "gpt-4.1-mini".into(),
            messages: vec![Message::system("s"), Message::user("u")],
            temperature: Some(0.0),
            max_tokens: Some(5),
            seed: Some(7),
            stop: vec!["\n".into()],
            response_format: Some(ResponseFormat::JsonSchema {
                name: "out".into(),
                schema: json!({"type": "object"}),
            }),
            tools: vec![Tool {
                name: "f".into(),
                description: None,
                parameters: json!({"type": "object"}),
            }],
            tool_choice: Some(ToolChoice::Tool("f".into())),
            ..ChatRequest::default()
        };
        let b = body(&req, &Map::from_iter([("top_p".to_string(), json!(0.5))]));
        assert_eq!(b["messages"][0], json!({"role": "system", "content": "s"}));
        assert_eq!(b["response_format"]["json_schema"]["name"], "out");
        assert_eq!(b["tool_choice"]["function"]["name"], "f");
        assert_eq!(b["tools"][0]["type"], "function");
        assert_eq!(b["top_p"], 0.5);
        assert_eq!(b["seed"], 7);
    }

    #[test]
    fn reads_what_compatible_servers_answer_for_tool_calls() {
        let req = ChatRequest::default();
        // Arguments as an object, as empty text, content as parts.
        let body = br#"{"choices":[{"message":{"role":"assistant","content":[{"type":"text","text":"Checking "},{"type":"text","text":"now."}],"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":{"x":1}}},{"id":"b","type":"function","function":{"name":"g","arguments":""}}]},"finish_reason":"stop"}]}"#;
        let r = parse(body, &req).expect("parses");
        assert_eq!(r.text, "Checking now.");
        assert_eq!(
            r.tool_calls,
            vec![
                ToolCall::new("f", json!({"x": 1})).with_id("a"),
                ToolCall::new("g", json!({})).with_id("b"),
            ]
        );
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
        // The legacy single `function_call`.
        let legacy = br#"{"choices":[{"message":{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{\"x\":2}"}},"finish_reason":"function_call"}]}"#;
        let r = parse(legacy, &req).expect("parses");
        assert_eq!(r.tool_calls, vec![ToolCall::new("f", json!({"x": 2}))]);
        // Arguments that are not JSON: an error showing them.
        let broken = br#"{"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":"}}]}}]}"#;
        let e = parse(broken, &req).expect_err("not JSON");
        assert!(e.starts_with("tool call `f` arguments are not JSON"), "{e}");
        assert!(e.ends_with(r#"{"x":"#), "{e}");
    }

    #[test]
    fn reads_tool_calls_usage_and_json() {
        let req = ChatRequest {
            response_format: Some(ResponseFormat::JsonObject),
            ..ChatRequest::default()
        };
        let body = br#"{"model":"m","choices":[{"message":{"role":"assistant","content":"{\"a\":1}","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":2}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#;
        let r = parse(body, &req).expect("parses");
        assert_eq!(r.json, Some(json!({"a": 1})));
        assert_eq!(r.tool_calls[0].arguments, json!({"x": 2}));
        assert_eq!(r.usage.output_tokens, 4);
        assert!(parse(br#"{"choices":[]}"#, &req).is_err());
        assert_eq!(
            error_message(br#"{"error":{"message":"bad key"}}"#),
            "bad key"
        );
    }
}
