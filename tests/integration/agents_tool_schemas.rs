//! `tool_args` without `schemas:` validates against the `tools:` of the
//! case's prompt target, and a call whose arguments are not JSON fails
//! `tool_args` and matches no `tool_called` argument constraint.

use std::sync::Arc;

use serde_json::json;
use tribunal::chat::ToolCall;
use tribunal::provider::{ChatRequest, ChatResponse};
use tribunal::testing::FnProvider;
use tribunal::{Harness, Verdict};

use crate::common::TestProject;

/// A model that calls tools according to the user's message.
fn harness() -> Harness {
    let model = FnProvider::new("agent-model", |r: &ChatRequest| {
        let call = match r.last_user_text().unwrap_or_default() {
            "good" => ToolCall::new("get_order", json!({"id": 7})),
            "wrong" => ToolCall::new("get_order", json!({"id": "7"})),
            "broken" => ToolCall::with_invalid_arguments(
                "get_order",
                r#"{"id": 7,"#,
                "EOF while parsing a value at line 1 column 9",
            ),
            "stranger" => ToolCall::new("delete_account", json!({})),
            _ => ToolCall::new("refund", json!({"id": 1})),
        };
        let mut answer = ChatResponse::new("");
        answer.tool_calls = vec![call.with_id("c1")];
        answer.finish_reason = Some("tool_calls".into());
        Ok(answer)
    });
    Harness::new().provider("agent-model", Arc::new(model))
}

const SUITE: &str = r#"
suite: schemas
targets:
  refunds:
    prompt:
      provider: agent-model
      template: "{{ input }}"
      tools:
        - {name: refund, parameters: {type: object, required: [id], properties: {id: {type: integer}}}}
defaults:
  target:
    prompt:
      provider: agent-model
      template: "{{ input }}"
      tools:
        - name: get_order
          parameters: {type: object, required: [id], properties: {id: {type: integer}}}
  checks:
    - tool_args: {}
cases:
  - id: good
    input: good
  - id: wrong-type
    input: wrong
  - id: stranger
    input: stranger
  - id: broken
    input: broken
    checks:
      - tool_called: {name: get_order, args: {id: 7}}
      - tool_called: get_order
        name: by name only
  - id: own-target
    input: refund
    target: refunds
    checks:
      - tool_args:
        name: the refund tool's schema
"#;

fn verdicts(p: &TestProject) -> Vec<Verdict> {
    let out = p.run(harness());
    assert!(
        out.load_errors.is_empty(),
        "{}",
        out.load_errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut vs: Vec<Verdict> = out.records.into_iter().map(|r| *r.verdict).collect();
    vs.sort_by(|a, b| a.case.cmp(&b.case));
    vs
}

#[test]
fn tool_args_takes_the_targets_tools_and_fails_arguments_that_are_not_json() {
    let p = TestProject::with(&[("evals/schemas.yaml", SUITE)]);
    let shown: String = verdicts(&p)
        .iter()
        .flat_map(|v| {
            v.checks
                .iter()
                .map(move |c| format!("{} / {} [{}]: {}\n", v.case, c.name, c.outcome, c.reason))
        })
        .collect();
    insta::assert_snapshot!(shown);
}

#[test]
fn tool_args_without_schemas_on_a_target_without_tools_is_a_load_error() {
    let p = TestProject::with(&[(
        "evals/x.yaml",
        "suite: x\ncases:\n  - id: a\n    input: hi\n    target: {prompt: {provider: agent-model, template: hi}}\n    checks:\n      - tool_args: {}\n",
    )]);
    let out = p.run(harness());
    let errors: Vec<String> = out.load_errors.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(errors.join("\n"));
}
