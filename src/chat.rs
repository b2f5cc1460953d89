//! Conversations: messages, roles and tool calls.
//!
//! The vocabulary shared by what goes to a model ([`crate::provider`]), what a
//! target returns ([`crate::verdict::Output`]: its tool calls and the
//! conversation that produced it) and what a case gives as input (a list of
//! messages). A leaf module: it imports nothing of tribunal's.

use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System instructions.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call, answering an assistant message's call.
    Tool,
}

impl Role {
    /// The role as written in YAML and on the OpenAI wire (`system`, `user`,
    /// `assistant`, `tool`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// A tool call the model made (or a target reports it made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id of the call (empty when there is none).
    #[serde(default)]
    pub id: String,
    /// The function name.
    pub name: String,
    /// The arguments (parsed from the provider's JSON text).
    pub arguments: serde_json::Value,
}

impl ToolCall {
    /// A call of `name` with these arguments and no id.
    pub fn new(name: impl Into<String>, arguments: serde_json::Value) -> Self {
        ToolCall {
            id: String::new(),
            name: name.into(),
            arguments,
        }
    }

    /// The same call, with the provider's id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }
}

/// One chat message.
///
/// Serialized, the optional parts are left out when empty, so a plain
/// message is `{role, content}` (and a request's cassette key does not
/// change for requests that use no tools).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said (for an assistant message that only calls tools, empty).
    pub content: String,
    /// The tool calls of an assistant message, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a `tool` message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For a `tool` message: the name of the tool that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Message {
    /// A message with this role and text and nothing else.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        }
    }
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::new(Role::System, content)
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::new(Role::User, content)
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::new(Role::Assistant, content)
    }
    /// An assistant message that calls tools (with optional text beside).
    pub fn assistant_calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        Message {
            tool_calls: calls,
            ..Message::new(Role::Assistant, content)
        }
    }
    /// A tool result answering the call `call_id` of tool `name`.
    pub fn tool_result(
        call_id: impl Into<String>,
        name: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Message {
            tool_call_id: Some(call_id.into()),
            name: Some(name.into()),
            ..Message::new(Role::Tool, content)
        }
    }
}
