//! Conversations: messages, roles and tool calls.
//!
//! The vocabulary shared by what goes to a model ([`crate::provider`]), what a
//! target returns ([`crate::verdict::Output`]: its tool calls and the
//! conversation that produced it) and what a case gives as input (a list of
//! messages). Near the leaves: of tribunal it imports only `text`.

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
    /// The arguments (parsed from the provider's JSON text). When the model
    /// sent text that is not JSON, that text as a JSON string, and
    /// [`ToolCall::invalid_arguments`] says why it does not parse.
    pub arguments: serde_json::Value,
    /// Set when the model's arguments text is not JSON: the parse error.
    /// [`ToolCall::arguments`] then holds the raw text as a string. Such a
    /// call is model behaviour to evaluate (`tool_args` fails it; the tool
    /// loop answers it with an error instead of running the tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_arguments: Option<String>,
}

impl ToolCall {
    /// A call of `name` with these arguments and no id.
    pub fn new(name: impl Into<String>, arguments: serde_json::Value) -> Self {
        ToolCall {
            id: String::new(),
            name: name.into(),
            arguments,
            invalid_arguments: None,
        }
    }

    /// A call whose arguments text `raw` is not JSON (`error` says why):
    /// the text is kept as a string in [`ToolCall::arguments`].
    pub fn with_invalid_arguments(
        name: impl Into<String>,
        raw: impl Into<String>,
        error: impl Into<String>,
    ) -> Self {
        ToolCall {
            invalid_arguments: Some(error.into()),
            ..ToolCall::new(name, serde_json::Value::String(raw.into()))
        }
    }

    /// The arguments as text for the wire: the raw text when it is not
    /// JSON, else the compact JSON.
    pub fn arguments_text(&self) -> String {
        match (&self.invalid_arguments, &self.arguments) {
            (Some(_), serde_json::Value::String(raw)) => raw.clone(),
            (_, v) => v.to_string(),
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
    #[serde(default)]
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
    /// For a `tool` message: the tool failed and `content` says why
    /// (Anthropic's `is_error`; on the OpenAI wire the text says it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
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
            is_error: false,
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

impl Message {
    /// A failed tool's answer to the call `call_id` of tool `name`: `content`
    /// says why, and the message is marked [`Message::is_error`].
    pub fn tool_error(
        call_id: impl Into<String>,
        name: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Message {
            is_error: true,
            ..Message::tool_result(call_id, name, content)
        }
    }
}

/// The message keys a conversation input may have.
pub const MESSAGE_KEYS: &[&str] = &["role", "content", "tool_calls", "tool_call_id", "name"];

/// Whether a case input is a conversation: a list whose items are mappings
/// with a `role` or a `content` key (a list of anything else is plain data).
pub fn is_conversation(value: &serde_json::Value) -> bool {
    value.as_array().is_some_and(|items| {
        items.iter().any(|m| {
            m.as_object()
                .is_some_and(|o| o.contains_key("role") || o.contains_key("content"))
        })
    })
}

/// The messages of a conversation input (see [`is_conversation`]); `None`
/// for any other input or a list that does not read as messages.
pub fn messages_of(value: &serde_json::Value) -> Option<Vec<Message>> {
    if !is_conversation(value) {
        return None;
    }
    serde_json::from_value(value.clone()).ok()
}

impl ToolCall {
    /// The call on one line: `get_order({"id":7})`, its arguments as compact
    /// JSON cut to `max` characters.
    pub fn summary(&self, max: usize) -> String {
        match &self.invalid_arguments {
            Some(_) => format!(
                "{}(<not JSON> {})",
                self.name,
                crate::text::flat(&self.arguments_text(), max)
            ),
            None => format!(
                "{}({})",
                self.name,
                crate::text::flat(&self.arguments_text(), max)
            ),
        }
    }
}

/// How many characters of each message and of each call's arguments a
/// transcript shows.
pub const TRANSCRIPT_EXCERPT: usize = 2000;

/// A conversation as a readable transcript, one message per paragraph:
///
/// ```text
/// [user] Where is order 7?
/// [assistant] → get_order({"id":7})
/// [tool get_order] {"status":"shipped"}
/// [assistant] It has shipped.
/// ```
///
/// An assistant message's tool calls follow its text, one `→` line each;
/// each text is cut to [`TRANSCRIPT_EXCERPT`] characters, and a conversation
/// longer than [`TRANSCRIPT_MESSAGES`] messages shows its first ones and
/// says how many more there are.
pub fn transcript(messages: &[Message]) -> String {
    let mut out = String::new();
    for m in messages.iter().take(TRANSCRIPT_MESSAGES) {
        let who = match (m.role, &m.name) {
            (Role::Tool, Some(name)) => format!("tool {name}"),
            (role, _) => role.as_str().to_string(),
        };
        let mut lines: Vec<String> = Vec::new();
        if !m.content.is_empty() {
            let text = crate::text::cut(&m.content, TRANSCRIPT_EXCERPT);
            lines.extend(text.lines().map(str::to_string));
        }
        for call in &m.tool_calls {
            lines.push(format!("→ {}", call.summary(TRANSCRIPT_EXCERPT)));
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        out.push_str(&format!("[{who}] {}\n", lines[0]));
        for l in &lines[1..] {
            out.push_str(&format!("  {l}\n"));
        }
    }
    if messages.len() > TRANSCRIPT_MESSAGES {
        out.push_str(&format!(
            "[… {} more messages]\n",
            messages.len() - TRANSCRIPT_MESSAGES
        ));
    }
    out
}

/// How many messages a transcript shows.
pub const TRANSCRIPT_MESSAGES: usize = 200;

impl ToolCall {
    /// Calls in order on one line, each as [`ToolCall::summary`] with its
    /// index: `#0 search({"q":"7"}) → #1 get_order({"id":7})` (arguments cut
    /// to 60 characters; at most 20 calls, then how many more).
    pub fn sequence(calls: &[ToolCall]) -> String {
        const MAX: usize = 20;
        let mut s = calls
            .iter()
            .take(MAX)
            .enumerate()
            .map(|(i, c)| format!("#{i} {}", c.summary(60)))
            .collect::<Vec<_>>()
            .join(" → ");
        if calls.len() > MAX {
            s.push_str(&format!(" → … ({} more)", calls.len() - MAX));
        }
        s
    }
}
