//! `pipeline` targets end to end through the harness: each step's output
//! feeds the next, the steps are kept in the output, a failing step is an
//! error naming it, and the checks run on the last step.

use std::sync::Arc;

use serde_json::{Value, json};
use tribunal::testing::FnProvider;
use tribunal::verdict::Outcome;
use tribunal::{ChatRequest, ChatResponse, Harness, Input};

use crate::common::TestProject;

/// A stand-in question writer: turns the ground truth in the prompt into
/// the request a user would type.
fn question_writer() -> Arc<
    FnProvider<
        impl Fn(&ChatRequest) -> Result<ChatResponse, tribunal::ProviderError> + Send + Sync,
    >,
> {
    Arc::new(
        FnProvider::new("question-writer", |r: &ChatRequest| {
            let prompt = r.last_user_text().unwrap_or_default();
            let request = if prompt.contains("\"pro\"") {
                "Users whose plan is pro"
            } else {
                "Users whose plan is something else"
            };
            let mut answer = ChatResponse::new(request);
            answer.usage = tribunal::Usage {
                input_tokens: 12,
                output_tokens: 5,
            };
            Ok(answer)
        })
        .recording(),
    )
}

fn audience_builder(input: &Input) -> Result<Value, String> {
    if input.text().contains("plan is pro") {
        Ok(json!({"cmp": "=", "value": "pro", "term": {"trait": "plan"}}))
    } else {
        Err(format!("no rule for {:?}", input.text()))
    }
}

const SUITE: &str = r#"
suite: loop
description: Ground truth → question writer → system under test → equivalence.
defaults:
  target:
    pipeline:
      - name: question
        target:
          prompt:
            provider: question-writer
            template: "Write the request a marketer would type for this audience: {{ expected | tojson }}"
      - name: audience
        target: audience_builder
  checks:
    - ast_equivalent: {dialect: audience}
cases:
  - id: pro
    expected: {cmp: "=", value: pro, term: {trait: plan}}
  - id: free
    expected: {cmp: "=", value: free, term: {trait: plan}}
"#;

const TEMPLATED: &str = r#"
suite: templated
cases:
  - id: templated
    input: the pro plan
    vars: {segment: marketers}
    target:
      pipeline:
        - name: question
          target: echo
        - name: answer
          target: echo
          input: "{{ vars.segment }} asked: {{ steps.question.text }} (was: {{ input }}; before: {{ previous.text }})"
    checks:
      - contains: "marketers asked: echo: the pro plan (was: the pro plan; before: echo: the pro plan)"
"#;

fn harness() -> Harness {
    Harness::new()
        .target("audience_builder", audience_builder)
        .target("echo", |i: &Input| -> Result<String, String> {
            Ok(format!("echo: {}", i.text()))
        })
        .provider("question-writer", question_writer())
}

#[test]
fn steps_feed_each_other_and_are_kept_in_the_output() {
    let p = TestProject::with(&[
        ("evals/loop.yaml", SUITE),
        ("evals/templated.yaml", TEMPLATED),
    ]);
    let outcome = p.run(harness());
    let record = |case: &str| {
        outcome
            .records
            .iter()
            .find(|r| r.verdict.case == case)
            .unwrap_or_else(|| panic!("no record for {case}"))
    };

    let pro = &record("pro").verdict;
    assert_eq!(pro.outcome, Outcome::Pass, "{:?}", pro.checks);
    let out = pro.output.as_ref().expect("output");
    let steps: Vec<(&str, &str)> = out
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.output.text.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("question", "Users whose plan is pro"),
            (
                "audience",
                r#"{"cmp":"=","value":"pro","term":{"trait":"plan"}}"#
            ),
        ]
    );
    // The output is the last step's; usage adds up over the steps.
    assert_eq!(
        out.json,
        Some(json!({"cmp": "=", "value": "pro", "term": {"trait": "plan"}}))
    );
    assert_eq!(
        out.usage.map(|u| (u.input_tokens, u.output_tokens)),
        Some((12, 5))
    );

    // The model step's call is recorded like any other.
    let cassettes = p.files_under("fixtures");
    assert_eq!(
        cassettes,
        [
            "fixtures/cassettes/loop/free/9452e179dcc228db8bb1.yaml",
            "fixtures/cassettes/loop/pro/b623123d7bf16671b638.yaml",
        ]
    );
    // …and replayed: a second run whose question writer is down passes
    // from the cassettes alone.
    let down = Harness::new()
        .target("audience_builder", audience_builder)
        .target("echo", |i: &Input| -> Result<String, String> {
            Ok(format!("echo: {}", i.text()))
        })
        .provider(
            "question-writer",
            Arc::new(FnProvider::new("question-writer", |_: &ChatRequest| {
                Err(tribunal::ProviderError::Config("the writer is down".into()))
            })),
        );
    let again = p.run(down);
    let pro = again
        .records
        .iter()
        .find(|r| r.verdict.case == "pro")
        .expect("record");
    assert_eq!(
        pro.verdict.outcome,
        Outcome::Pass,
        "{:?}",
        pro.verdict.error
    );

    let templated = &record("templated").verdict;
    assert_eq!(templated.outcome, Outcome::Pass, "{:?}", templated.checks);
}

#[test]
fn a_failing_step_is_an_error_that_names_it() {
    let p = TestProject::with(&[("evals/loop.yaml", SUITE)]);
    let outcome = p.run(harness());
    let free = outcome
        .records
        .iter()
        .find(|r| r.verdict.case == "free")
        .expect("record");
    assert_eq!(free.verdict.outcome, Outcome::Error);
    assert_eq!(
        free.verdict.error.as_deref(),
        Some(
            "pipeline step `audience` (2 of 2) failed: target `audience_builder` returned an error: no rule for \"Users whose plan is something else\""
        )
    );
}

/// Every step's own target sees the steps before it: a prompt template and
/// a command's `args` read `steps.NAME.text` and `previous`.
const STEP_TEMPLATES: &str = r#"
suite: step_templates
cases:
  - id: chained
    input: the pro plan
    expected: {cmp: "=", value: pro, term: {trait: plan}}
    target:
      pipeline:
        - name: question
          target:
            prompt:
              provider: question-writer
              template: "Write the request for: {{ expected | tojson }}"
        - name: review
          target:
            prompt:
              provider: question-writer
              template: "Review {{ steps.question.text }} (\"pro\"), after {{ previous.text }}"
        - name: shout
          target:
            command:
              program: echo
              args: ["first={{ steps.question.text }}", "last={{ previous.text }}"]
    checks:
      - equals: "first=Users whose plan is pro last=Users whose plan is pro"
  - id: outside
    input: hi
    target:
      prompt:
        provider: question-writer
        template: "Answer {{ steps.question.text }}"
    checks:
      - contains: hi
"#;

#[test]
fn a_steps_own_target_templates_see_the_steps_before_it() {
    let p = TestProject::with(&[("evals/step_templates.yaml", STEP_TEMPLATES)]);
    let outcome = p.run(harness());
    let verdict = |case: &str| {
        &outcome
            .records
            .iter()
            .find(|r| r.verdict.case == case)
            .unwrap_or_else(|| panic!("no record for {case}"))
            .verdict
    };
    let chained = verdict("chained");
    assert_eq!(chained.outcome, Outcome::Pass, "{chained:?}");
    let steps: Vec<(&str, &str)> = chained
        .output
        .as_ref()
        .expect("output")
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.output.text.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("question", "Users whose plan is pro"),
            ("review", "Users whose plan is pro"),
            (
                "shout",
                "first=Users whose plan is pro last=Users whose plan is pro"
            ),
        ]
    );
    // Outside a pipeline there are no steps, and the error says so.
    let outside = verdict("outside");
    assert_eq!(outside.outcome, Outcome::Error);
    insta::assert_snapshot!(outside.error.as_deref().unwrap_or_default());
}
