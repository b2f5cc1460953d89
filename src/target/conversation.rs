//! Multi-turn cases: a scripted user (`turns:`) or a simulated one
//! (`simulated_user:`) talks with the target, one target call per turn.
//!
//! ```yaml
//! cases:
//!   - id: refund_followup
//!     input: I want a refund.            # the first user turn
//!     turns:                             # sent one by one, each after the target answered
//!       - It is order 123.
//!       - Thanks!
//!     checks: [...]
//!
//!   - id: angry_customer
//!     input: My parcel never came.
//!     simulated_user:
//!       provider: openai:gpt-4.1-mini    # the model playing the user
//!       system: "You are a customer whose order {{ order }} is lost. Say DONE when it is resolved."
//!       stop_when: "DONE"                # a regex on the simulated user's message: it ends the conversation
//!       max_turns: 5                     # user turns at most, the first included (default 5)
//!     checks: [...]
//! ```
//!
//! Every turn calls the target with the whole exchange so far as its input
//! (a list of messages ending with the new user message): a `prompt`
//! target sends it after its system message, a Rust target reads it with
//! `Input::messages`. The first turn is the case's `input` as usual (so a
//! `prompt` template renders it); later turns are sent as written. The
//! simulated user is a model that sees the conversation from the user's
//! side (its own messages as `assistant`) under its `system` prompt (a
//! template seeing the case's variables and `input`); a message matching
//! `stop_when` ends the conversation and is not sent, and so does reaching
//! `max_turns`. Without an `input`, the scripted or simulated user opens.
//!
//! The output is the last turn's answer (text, JSON, finish reason), with
//! the whole conversation, every tool call of every turn in order, the
//! usage, cost and latency of the target's calls summed, and one step per
//! target call (`turn#2`, or `turn#2/model#1`, … for a tool loop's steps)
//! and per simulated user message (`user#2`, with that model call's usage).
//! Every model call is recorded to the case's cassettes and replayed.

use serde::Deserialize;

use super::{TargetContext, TargetError, TargetSpec};
use crate::chat::{Message, Role};
use crate::provider::{CallSite, ChatRequest};
use crate::verdict::{Output, Step, Usage};

/// The most scripted turns, and the largest `max_turns`.
pub const MAX_TURNS: usize = 50;
/// `max_turns` when a simulated user does not say.
pub const DEFAULT_MAX_TURNS: u32 = 5;

/// The model that plays the user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedUser {
    /// Provider spec of the model playing the user.
    pub provider: String,
    /// Its instructions (a template): who the user is and what they want.
    pub system: String,
    /// A regex: a simulated user message matching it ends the conversation.
    #[serde(default)]
    pub stop_when: Option<String>,
    /// User turns at most, the first included.
    #[serde(default)]
    pub max_turns: Option<u32>,
    /// Sampling temperature of the simulated user.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Maximum tokens of a simulated user message.
    #[serde(default)]
    pub max_tokens: Option<u32>,
}

/// How a multi-turn case's user speaks after the first message.
#[derive(Debug, Clone, PartialEq)]
pub enum Script {
    /// `turns:`: these user messages, in order.
    Turns(Vec<String>),
    /// `simulated_user:`: a model's messages.
    Simulated(SimulatedUser),
}

impl Script {
    /// `max_turns`, checked: `Err` says what is wrong.
    pub fn max_turns(s: &SimulatedUser) -> Result<u32, String> {
        match s.max_turns {
            None => Ok(DEFAULT_MAX_TURNS),
            Some(n) if n >= 1 && n as usize <= MAX_TURNS => Ok(n),
            Some(n) => Err(format!(
                "`max_turns: {n}` is out of range (hint: give 1 to {MAX_TURNS} user turns)"
            )),
        }
    }
}

/// The messages a target's output adds to the `sent` conversation: its own
/// conversation minus what it put first (a system message), or its answer
/// as one assistant message when it reports no conversation.
fn next_history(sent: &[Message], out: &Output) -> Vec<Message> {
    if out.conversation.is_empty() {
        let mut h = sent.to_vec();
        h.push(if out.tool_calls.is_empty() {
            Message::assistant(out.text.clone())
        } else {
            Message::assistant_calls(out.text.clone(), out.tool_calls.clone())
        });
        return h;
    }
    let c = &out.conversation;
    let new = c
        .iter()
        .rposition(|m| m.role == Role::User)
        .map_or(0, |i| c.len() - i - 1);
    let prefix = c.len().saturating_sub(new + sent.len());
    c[prefix..].to_vec()
}

/// The conversation as the simulated user sees it: its messages are the
/// `assistant`'s, the target's answers the `user`'s; tool traffic and empty
/// messages are left out.
fn mirrored(history: &[Message]) -> Vec<Message> {
    history
        .iter()
        .filter(|m| !m.content.trim().is_empty())
        .filter_map(|m| match m.role {
            Role::User => Some(Message::assistant(m.content.clone())),
            Role::Assistant => Some(Message::user(m.content.clone())),
            Role::System | Role::Tool => None,
        })
        .collect()
}

/// What the simulated user says next (`None`: it said the stop phrase),
/// with that call as a step.
async fn simulated_turn(
    sim: &SimulatedUser,
    history: &[Message],
    ctx: &TargetContext<'_>,
    turn: usize,
) -> Result<(Option<String>, Step), TargetError> {
    let context = super::prompt::template_context(ctx);
    let system = super::prompt::render(&sim.system, &context, "the simulated user's `system`")?;
    let mut messages = vec![Message::system(system)];
    let seen = mirrored(history);
    if seen.first().is_none_or(|m| m.role != Role::User) {
        // The simulated user speaks first or spoke first: a model answers a
        // user message, and the Messages API requires one first.
        messages.push(Message::user("(You start the conversation.)"));
    }
    messages.extend(seen);
    let request = ChatRequest {
        sample: ctx.sample,
        messages,
        temperature: sim.temperature,
        max_tokens: sim.max_tokens,
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
        .chat(&sim.provider, &request, &site)
        .await
        .map_err(|e| TargetError(format!("the simulated user: {e}")))?;
    if let Some(note) = r.truncation_note() {
        return Err(TargetError(format!(
            "the simulated user's message (turn {turn}) is incomplete: {note} (hint: raise its `max_tokens`)"
        )));
    }
    let text = r.text.trim().to_string();
    let step = Step::new(
        format!("user#{turn}"),
        Output {
            text: text.clone(),
            latency_ms: Some(r.latency_ms),
            usage: Some(r.usage),
            cost_usd: r.cost_usd,
            model: Some(r.model.clone()),
            finish_reason: r.finish_reason.clone(),
            ..Output::default()
        },
    );
    if text.is_empty() {
        return Err(TargetError(format!(
            "the simulated user (`{}`) answered nothing at turn {turn} (hint: tell it in `system` to always answer, or to say a `stop_when` phrase when done)",
            sim.provider
        )));
    }
    let stopped = match &sim.stop_when {
        Some(re) => regex::Regex::new(re)
            .map_err(|e| TargetError(format!("`stop_when` is not a regex: {e}")))?
            .is_match(&text),
        None => false,
    };
    Ok(((!stopped).then_some(text), step))
}

/// Runs a multi-turn case: the target answers each user turn.
pub async fn run(
    spec: &TargetSpec,
    named: &[(String, TargetSpec)],
    ctx: &TargetContext<'_>,
    script: &Script,
) -> Result<Output, TargetError> {
    let max_turns = match script {
        Script::Turns(t) => t.len() + 1,
        Script::Simulated(s) => Script::max_turns(s).map_err(TargetError)? as usize,
    };
    let mut scripted = match script {
        Script::Turns(t) => t.clone(),
        Script::Simulated(_) => Vec::new(),
    }
    .into_iter();
    let mut history: Vec<Message> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    let mut usage: Option<Usage> = None;
    let mut cost: Option<f64> = None;
    let mut latency = 0.0;
    let mut calls = Vec::new();
    let mut last: Option<Output> = None;
    // The first turn is the case's input as written, when it has one.
    let mut first = (!ctx.input.is_null()).then(|| ctx.input.clone());
    for turn in 1..=max_turns {
        let input = match first.take() {
            Some(v) => v,
            None => {
                let next = match script {
                    Script::Turns(_) => scripted.next(),
                    Script::Simulated(sim) => {
                        let (said, step) = simulated_turn(sim, &history, ctx, turn).await?;
                        steps.push(step);
                        said
                    }
                };
                let Some(text) = next else { break };
                history.push(Message::user(text));
                serde_json::to_value(&history)
                    .map_err(|e| TargetError(format!("cannot send the conversation: {e}")))?
            }
        };
        let sent = crate::chat::messages_of(&input).unwrap_or_else(|| {
            let text = crate::text::of_input(&input);
            vec![Message::user(text)]
        });
        let turn_ctx = TargetContext {
            input: &input,
            ..*ctx
        };
        let out = Box::pin(super::call(spec, named, &turn_ctx))
            .await
            .map_err(|e| TargetError(format!("turn {turn}: {}", e.0)))?;
        if let Some(u) = out.usage {
            usage.get_or_insert_with(Usage::default).add(u);
        }
        if let Some(c) = out.cost_usd {
            cost = Some(cost.unwrap_or(0.0) + c);
        }
        latency += out.latency_ms.unwrap_or(0.0);
        calls.extend(out.tool_calls.iter().cloned());
        history = next_history(&sent, &out);
        if out.steps.is_empty() {
            let mut shown = out.clone();
            shown.conversation.clear();
            steps.push(Step::new(format!("turn#{turn}"), shown));
        } else {
            for s in &out.steps {
                steps.push(Step::new(
                    format!("turn#{turn}/{}", s.name),
                    s.output.clone(),
                ));
            }
        }
        last = Some(out);
    }
    let Some(last) = last else {
        return Err(TargetError(
            "the conversation ended before the target was called: the simulated user stopped at once (hint: give the case an `input`, or check `stop_when`)".into(),
        ));
    };
    // The whole conversation as the target saw it last (its system message
    // first), else the exchange tribunal kept.
    let conversation = if last.conversation.is_empty() {
        history
    } else {
        last.conversation.clone()
    };
    Ok(Output {
        text: last.text,
        json: last.json,
        latency_ms: Some(latency),
        usage,
        cost_usd: cost,
        model: last.model,
        tool_calls: calls,
        conversation,
        finish_reason: last.finish_reason,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ToolCall;
    use serde_json::json;

    #[test]
    fn a_turn_adds_what_the_target_answered_after_what_it_put_first() {
        let sent = vec![Message::user("hi")];
        let out = Output::text("hello").with_conversation(vec![
            Message::system("be kind"),
            Message::user("Customer: hi"),
            Message::assistant_calls("", vec![ToolCall::new("f", json!({}))]),
            Message::tool_result("c", "f", "ok"),
            Message::assistant("hello"),
        ]);
        let h = next_history(&sent, &out);
        assert_eq!(h.len(), 4);
        assert_eq!(h[0], Message::user("Customer: hi"));
        assert_eq!(h[3], Message::assistant("hello"));
        // A target that reports no conversation: its text is the answer.
        let plain = next_history(&sent, &Output::text("yo"));
        assert_eq!(plain, vec![Message::user("hi"), Message::assistant("yo")]);
    }

    #[test]
    fn the_simulated_user_sees_the_conversation_from_its_side() {
        let seen = mirrored(&[
            Message::system("s"),
            Message::user("where is my parcel?"),
            Message::assistant_calls("", vec![ToolCall::new("f", json!({}))]),
            Message::tool_result("c", "f", "lost"),
            Message::assistant("It is lost, sorry."),
        ]);
        assert_eq!(
            seen,
            vec![
                Message::assistant("where is my parcel?"),
                Message::user("It is lost, sorry."),
            ]
        );
    }
}
