//! Tool calls and conversations read from what an `http` or `command`
//! target answers, at the JSON paths its `tool_calls:` and `conversation:`
//! options give.
//!
//! A tool call is OpenAI-shaped (`{id, type: function, function: {name,
//! arguments}}`, the arguments JSON text or an object) or plain (`{id,
//! name, arguments}`; `input` or `args` are read as the arguments too). A
//! message is `{role, content, tool_calls, tool_call_id, name}` with role
//! `system` (or `developer`), `user`, `assistant` or `tool`, and content
//! text, `null`, or a list of `{type: text, text}` parts. When only
//! `conversation:` is given, the output's tool calls are those of the
//! conversation's assistant messages, in order. A path that selects
//! nothing, or a value of another shape, is an error naming the path and
//! showing what was found; `null` reads as no calls.

use serde_json::{Value, json};

use super::TargetError;
use super::http::json_path;
use crate::chat::{Message, Role, ToolCall};
use crate::verdict::Output;

fn found(v: &Value) -> String {
    crate::provider::openai::snippet(v.to_string().as_bytes())
}

fn tool_call(v: &Value, at: &str) -> Result<ToolCall, String> {
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "`{at}` is not a tool call (a mapping with a `name`): {}",
            found(v)
        ));
    };
    let f = obj.get("function").filter(|f| f.is_object());
    let name = f
        .and_then(|f| f.get("name"))
        .or_else(|| obj.get("name"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("`{at}` has no `name`: {}", found(v)))?;
    let args = f
        .and_then(|f| f.get("arguments"))
        .or_else(|| obj.get("arguments"))
        .or_else(|| obj.get("input"))
        .or_else(|| obj.get("args"));
    let arguments = match args {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(s)) if s.trim().is_empty() => json!({}),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
            format!("`{at}` (`{name}`): the arguments are text that is not JSON ({e}): {s:?}")
        })?,
        Some(other) => other.clone(),
    };
    let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
    Ok(ToolCall::new(name, arguments).with_id(id))
}

fn tool_calls(v: &Value, at: &str) -> Result<Vec<ToolCall>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, c)| tool_call(c, &format!("{at}[{i}]")))
            .collect(),
        other => Err(format!(
            "`{at}` is not a list of tool calls: {}",
            found(other)
        )),
    }
}

fn content(v: Option<&Value>, at: &str) -> Result<String, String> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for p in parts {
                match p {
                    Value::String(s) => text.push_str(s),
                    Value::Object(o) => {
                        if let Some(Value::String(t)) = o.get("text") {
                            text.push_str(t);
                        }
                    }
                    other => {
                        return Err(format!(
                            "`{at}.content` has a part that is not text: {}",
                            found(other)
                        ));
                    }
                }
            }
            Ok(text)
        }
        Some(other) => Err(format!("`{at}.content` is not text: {}", found(other))),
    }
}

fn message(v: &Value, at: &str) -> Result<Message, String> {
    let Some(obj) = v.as_object() else {
        return Err(format!("`{at}` is not a message: {}", found(v)));
    };
    let role = match obj.get("role").and_then(Value::as_str) {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool") => Role::Tool,
        Some(other) => {
            return Err(format!(
                "`{at}.role` is `{other}`, not system, user, assistant or tool"
            ));
        }
        None => return Err(format!("`{at}` has no `role`: {}", found(v))),
    };
    let mut m = Message::new(role, content(obj.get("content"), at)?);
    if let Some(calls) = obj.get("tool_calls") {
        m.tool_calls = tool_calls(calls, &format!("{at}.tool_calls"))?;
    }
    m.tool_call_id = obj
        .get("tool_call_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    m.name = obj.get("name").and_then(Value::as_str).map(str::to_string);
    m.is_error = obj
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(m)
}

/// Redacts every known secret from the structured parts of an output: its
/// tool calls' arguments, its conversation and its steps (text and JSON are
/// redacted by the caller).
pub fn redact(out: &mut Output) {
    fn calls(list: &mut [ToolCall]) {
        for c in list {
            crate::provider::secrets::redact_json(&mut c.arguments);
        }
    }
    calls(&mut out.tool_calls);
    for m in &mut out.conversation {
        let text = crate::provider::secrets::redact(&m.content);
        if text != m.content {
            m.content = text;
        }
        calls(&mut m.tool_calls);
    }
    for s in &mut out.steps {
        let text = crate::provider::secrets::redact(&s.output.text);
        if text != s.output.text {
            s.output.text = text;
        }
        if let Some(j) = &mut s.output.json {
            crate::provider::secrets::redact_json(j);
        }
        redact(&mut s.output);
    }
}

/// Fills `out`'s tool calls and conversation from `body` at these paths;
/// `who` names the target in errors (its URL or program).
pub fn fill(
    out: &mut Output,
    body: &Value,
    calls_at: Option<&str>,
    conversation_at: Option<&str>,
    who: &str,
) -> Result<(), TargetError> {
    let select = |path: &str| {
        json_path(body, path).map_err(|e| {
            TargetError(format!(
                "{who}: {e} in {} (hint: answer `[]` (or `null`) when there is nothing there, or fix the path)",
                found(body)
            ))
        })
    };
    if let Some(path) = conversation_at {
        let v = select(path)?;
        let Value::Array(items) = v else {
            return Err(TargetError(format!(
                "{who}: `{path}` is not a list of messages: {}",
                found(v)
            )));
        };
        out.conversation = items
            .iter()
            .enumerate()
            .map(|(i, m)| message(m, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()
            .map_err(|e| TargetError(format!("{who}: {e}")))?;
    }
    match calls_at {
        Some(path) => {
            out.tool_calls =
                tool_calls(select(path)?, path).map_err(|e| TargetError(format!("{who}: {e}")))?;
        }
        None => {
            out.tool_calls = out
                .conversation
                .iter()
                .filter(|m| m.role == Role::Assistant)
                .flat_map(|m| m.tool_calls.iter().cloned())
                .collect();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_and_plain_calls_read_alike() {
        let body = json!({"calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_order", "arguments": "{\"id\":7}"}},
            {"name": "refund", "arguments": {"id": 7}},
            {"name": "noop", "arguments": ""},
        ]});
        let mut out = Output::text("x");
        fill(&mut out, &body, Some("$.calls"), None, "bot").expect("reads");
        assert_eq!(
            out.tool_calls,
            vec![
                ToolCall::new("get_order", json!({"id": 7})).with_id("c1"),
                ToolCall::new("refund", json!({"id": 7})),
                ToolCall::new("noop", json!({})),
            ]
        );
        let bad = fill(
            &mut out,
            &json!({"calls": "x"}),
            Some("$.calls"),
            None,
            "bot",
        );
        assert_eq!(
            bad.map_err(|e| e.0),
            Err("bot: `$.calls` is not a list of tool calls: \"x\"".into())
        );
    }
}
