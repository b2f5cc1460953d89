//! Trajectory checks: the shape of an agent's run.
//!
//! ```yaml
//! - max_steps: 4              # or {max: 4}
//! - max_tool_calls: 3         # or {max: 3}
//! - no_call_after_final       # no tool call after the assistant answered
//! ```
//!
//! The steps of an output are its `steps` (each model call of a tool loop,
//! each step of a pipeline); an output that reports no steps but a
//! conversation counts its assistant messages. An output with neither
//! cannot be counted, and `max_steps` is then an error, never a pass.
//!
//! `no_call_after_final`: within each user turn of the conversation, once
//! the assistant answers (a message with text and no tool calls), no tool
//! call follows before the next user message.

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, call_label, main_error};
use crate::chat::Role;
use crate::check::ParseCx;
use crate::verdict::CheckResult;

/// Which trajectory check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// At most this many steps.
    MaxSteps(u64),
    /// At most this many tool calls.
    MaxToolCalls(u64),
    /// No tool call after the final answer of a turn.
    NoCallAfterFinal,
}

/// `max_steps`, `max_tool_calls` and `no_call_after_final`.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// The kind as written.
    pub kind: &'static str,
    /// What it checks.
    pub shape: Shape,
}

fn limit(kind: &str, main: &Value) -> Result<u64, SpecError> {
    let v = match main {
        Value::Object(m) if m.len() == 1 && m.contains_key("max") => &m["max"],
        other => other,
    };
    v.as_u64().ok_or_else(|| {
        main_error(
            kind,
            format!("`{kind}` takes a whole number >= 0 (or `{{max: N}}`)"),
            Some(&format!("write e.g. `{kind}: 4`")),
        )
    })
}

impl Kind for Trajectory {
    const NAMES: &'static [&'static str] = &["max_steps", "max_tool_calls", "no_call_after_final"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let shape = match p.kind {
            "max_steps" => Shape::MaxSteps(limit(p.kind, p.main)?),
            "max_tool_calls" => Shape::MaxToolCalls(limit(p.kind, p.main)?),
            _ => match p.main {
                Value::Null | Value::Bool(true) => Shape::NoCallAfterFinal,
                _ => {
                    return Err(main_error(
                        p.kind,
                        "`no_call_after_final` takes no value",
                        Some("write it bare, `- no_call_after_final`"),
                    ));
                }
            },
        };
        Ok(Trajectory {
            kind: p.kind,
            shape,
        })
    }

    /// `max_steps <= 4`.
    fn display(kind: &str, main: &Value) -> String {
        let n = match main {
            Value::Object(m) if m.len() == 1 => m.get("max"),
            Value::Number(_) => Some(main),
            _ => None,
        };
        match n {
            Some(n) => format!("{kind} <= {n}"),
            None => kind.to_string(),
        }
    }
}

impl Immediate for Trajectory {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let out = cx.output;
        match self.shape {
            Shape::MaxSteps(max) => {
                let (n, what) = if !out.steps.is_empty() {
                    let names: Vec<&str> = out.steps.iter().map(|s| s.name.as_str()).collect();
                    (
                        out.steps.len(),
                        format!(": {}", crate::text::one_line(&names.join(" → "), 200)),
                    )
                } else if !out.conversation.is_empty() {
                    let n = out
                        .conversation
                        .iter()
                        .filter(|m| m.role == Role::Assistant)
                        .count();
                    (n, " (assistant messages of the conversation)".to_string())
                } else {
                    return CheckResult::error(
                        self.kind,
                        cx.name,
                        "the output reports no steps and no conversation, so its steps cannot be counted (hint: a target reports them in `Output::steps` or `Output::conversation`)",
                    );
                };
                CheckResult::from_bool(
                    self.kind,
                    cx.name,
                    n as u64 <= max,
                    format!("{} (max {max}){what}", crate::text::count(n, "step")),
                )
            }
            Shape::MaxToolCalls(max) => {
                let n = out.tool_calls.len();
                let over = match out.tool_calls.get(max as usize) {
                    Some(c) => format!(
                        "; the first over the limit is {}",
                        call_label(max as usize, c)
                    ),
                    None => String::new(),
                };
                CheckResult::from_bool(
                    self.kind,
                    cx.name,
                    n as u64 <= max,
                    format!("{} (max {max}){over}", crate::text::count(n, "tool call")),
                )
            }
            Shape::NoCallAfterFinal => no_call_after_final(self.kind, cx),
        }
    }
}

fn no_call_after_final(kind: &str, cx: &CheckCx<'_>) -> CheckResult {
    let out = cx.output;
    if out.conversation.is_empty() {
        if out.tool_calls.is_empty() {
            return CheckResult::pass_with(kind, cx.name, "the output has no tool calls");
        }
        return CheckResult::error(
            kind,
            cx.name,
            format!(
                "the output has {} but no conversation, so whether one comes after the answer is unknown (hint: a target reports the order in `Output::conversation`)",
                crate::text::count(out.tool_calls.len(), "tool call")
            ),
        );
    }
    // The index of each call across the conversation's assistant messages.
    let mut call_index = 0usize;
    // The last answer of the current user turn: (message index, text).
    let mut answered: Option<(usize, &str)> = None;
    for (i, m) in out.conversation.iter().enumerate() {
        match m.role {
            Role::User => answered = None,
            Role::Assistant if !m.tool_calls.is_empty() => {
                if let Some((at, text)) = answered {
                    return CheckResult::from_bool(
                        kind,
                        cx.name,
                        false,
                        format!(
                            "tool call {} (conversation[{i}]) comes after the final answer at conversation[{at}] ({})",
                            call_label(call_index, &m.tool_calls[0]),
                            super::excerpt(text)
                        ),
                    );
                }
                call_index += m.tool_calls.len();
            }
            Role::Assistant if !m.content.trim().is_empty() => {
                answered = Some((i, m.content.as_str()));
            }
            _ => {}
        }
    }
    CheckResult::pass_with(
        kind,
        cx.name,
        format!(
            "no tool call follows a final answer ({} in {})",
            crate::text::count(call_index, "tool call"),
            crate::text::count(out.conversation.len(), "message")
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_display_name_shows_the_bound_in_both_spellings() {
        assert_eq!(
            Trajectory::display("max_steps", &json!(4)),
            "max_steps <= 4"
        );
        assert_eq!(
            Trajectory::display("max_tool_calls", &json!({"max": 2})),
            "max_tool_calls <= 2"
        );
        assert_eq!(
            Trajectory::display("no_call_after_final", &Value::Null),
            "no_call_after_final"
        );
    }

    #[test]
    fn a_limit_is_a_whole_number() {
        assert_eq!(limit("max_steps", &json!({"max": 3})).ok(), Some(3));
        assert!(limit("max_steps", &json!(2.5)).is_err());
        assert!(limit("max_steps", &json!(-1)).is_err());
    }
}
