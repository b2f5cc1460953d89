//! Checks on what agents do: `tool_called`, `tool_sequence`, `tool_args`,
//! `max_steps`, `max_tool_calls`, `no_call_after_final`; `output:` and
//! `step:` addressing of any check; judges given the conversation; and how
//! tool calls and conversations show in snapshots and reports. Every output
//! comes from a Rust target returning a fixed, structured `Output`.

use std::sync::Arc;

use serde_json::json;
use tribunal::chat::{Message, ToolCall};
use tribunal::provider::{ChatRequest, ChatResponse};
use tribunal::testing::FnProvider;
use tribunal::verdict::{Output, Step};
use tribunal::{Harness, Input, Verdict};

use crate::common::{TestProject, indent};

/// A support agent's run: search, look up, refund, answer.
fn refund_run() -> Output {
    let calls = [
        ToolCall::new("search_orders", json!({"q": "shoes"})).with_id("c1"),
        ToolCall::new("get_order", json!({"id": 7})).with_id("c2"),
        ToolCall::new(
            "refund",
            json!({"order_id": 7, "amount": 20, "reason": "arrived damaged"}),
        )
        .with_id("c3"),
    ];
    let conversation = vec![
        Message::system("You are a support agent."),
        Message::user("My shoes arrived damaged, order 7."),
        Message::assistant_calls("Let me look.", vec![calls[0].clone(), calls[1].clone()]),
        Message::tool_result("c1", "search_orders", r#"[{"id":7}]"#),
        Message::tool_result("c2", "get_order", r#"{"id":7,"total":20}"#),
        Message::assistant_calls("", vec![calls[2].clone()]),
        Message::tool_result("c3", "refund", r#"{"ok":true}"#),
        Message::assistant("I refunded $20 for order 7."),
    ];
    let mut out = Output::text("I refunded $20 for order 7.")
        .with_conversation(conversation)
        .with_finish_reason("stop");
    for c in calls {
        out = out.with_tool_call(c);
    }
    for (i, n) in ["model#1", "model#2", "model#3"].iter().enumerate() {
        out = out.with_step(Step::new(*n, Output::text(format!("round {}", i + 1))));
    }
    out
}

/// An agent that answers, then calls a tool anyway.
fn late_call_run() -> Output {
    let call = ToolCall::new("send_email", json!({"to": "a@example.com"})).with_id("e1");
    Output::text("Done.")
        .with_tool_call(call.clone())
        .with_conversation(vec![
            Message::user("Cancel my order."),
            Message::assistant("Done, it is cancelled."),
            Message::assistant_calls("", vec![call]),
            Message::tool_result("e1", "send_email", "sent"),
        ])
}

/// A two-step pipeline: a question, then an audience definition.
fn pipeline_run() -> Output {
    Output::json(json!({"audience": {"bought": "shoes"}}))
        .with_step(Step::new(
            "question",
            Output::text("Who bought shoes?").with_latency_ms(120.0),
        ))
        .with_step(Step::new(
            "audience",
            Output::json(json!({"audience": {"bought": "shoes"}})),
        ))
}

fn harness() -> Harness {
    Harness::new().target("agent", |input: &Input| -> Result<Output, String> {
        Ok(match input.text().as_str() {
            "refund" => refund_run(),
            "late" => late_call_run(),
            "pipeline" => pipeline_run(),
            "calls_only" => {
                Output::text("").with_tool_call(ToolCall::new("get_order", json!({"id": "7"})))
            }
            _ => Output::text("Hello, how can I help?"),
        })
    })
}

/// Runs `cases` (YAML list items, unindented) and returns the verdicts.
fn verdicts(cases: &str, harness: Harness) -> Vec<Verdict> {
    let suite = format!("suite: x\ncases:\n{}\n", indent(cases, 2));
    let out = TestProject::with(&[("evals/x.yaml", &suite)]).run(harness);
    assert!(
        out.load_errors.is_empty(),
        "the suite must load:\n{}\n{suite}",
        out.load_errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    out.records.into_iter().map(|r| *r.verdict).collect()
}

/// Every check of every verdict: `case / check [outcome]: reason`.
fn shown(vs: &[Verdict]) -> String {
    let mut out = String::new();
    for v in vs {
        for c in &v.checks {
            out.push_str(&format!(
                "{} / {} [{}]: {}\n",
                v.case, c.name, c.outcome, c.reason
            ));
        }
    }
    out
}

#[test]
fn tool_called_counts_matching_calls_and_names_the_ones_that_broke_it() {
    let cases = r#"
- id: refund
  target: agent
  input: refund
  threshold: 0
  checks:
    - tool_called: get_order
    - tool_called: {name: refund, args: {order_id: 7, "$.reason": {matches: damaged}}, times: 1}
      name: refund with constraints
    - tool_called: {name: get_order, args: {id: 8}}
      name: wrong argument
    - tool_called: {name: refund, schema: {type: object, required: [currency]}}
      name: schema
    - tool_called: send_email
    - tool_called: delete_account
      not: true
      name: never deletes
    - tool_called: {name: get_order, max: 0}
      name: at most zero
    - tool_called: {name: get_order, min: 2}
      name: at least two
- id: plain
  target: agent
  input: hello
  threshold: 0
  checks:
    - tool_called: get_order
    - tool_called: get_order
      not: true
      name: no call, negated
"#;
    let vs = verdicts(cases, harness());
    insta::assert_snapshot!("tool_called", shown(&vs));
}

#[test]
fn tool_sequence_shows_the_actual_sequence_and_where_it_diverged() {
    let cases = r#"
- id: refund
  target: agent
  input: refund
  threshold: 0
  checks:
    - tool_sequence: [search_orders, refund]
    - tool_sequence: [refund, get_order]
      name: out of order
    - tool_sequence: {calls: [search_orders, get_order, refund], mode: exact}
    - tool_sequence: {calls: [search_orders, refund], mode: exact}
      name: exact with a call missing
    - tool_sequence: {calls: [search_orders, get_order, refund, send_email], mode: exact}
      name: exact, stops early
    - tool_sequence: {calls: [refund, search_orders], mode: contains}
    - tool_sequence: {calls: [refund, refund], mode: contains}
      name: contains twice
- id: plain
  target: agent
  input: hello
  checks:
    - tool_sequence: [get_order]
"#;
    let vs = verdicts(cases, harness());
    insta::assert_snapshot!("tool_sequence", shown(&vs));
}

#[test]
fn tool_args_validates_every_call_against_its_tools_schema() {
    let cases = r#"
- id: refund
  target: agent
  input: refund
  threshold: 0
  checks:
    - tool_args:
        schemas:
          search_orders: {type: object, required: [q]}
          get_order: {type: object, required: [id], properties: {id: {type: integer}}}
          refund: {type: object, required: [order_id, amount]}
    - tool_args:
        schemas:
          get_order: {type: object, properties: {id: {type: string}}}
      name: unknown tools and a wrong type
    - tool_args:
        schemas:
          get_order: {type: object}
        allow_unknown: true
      name: unknown tools allowed
- id: plain
  target: agent
  input: hello
  checks:
    - tool_args: {schemas: {get_order: {type: object}}}
- id: calls_only
  target: agent
  input: calls_only
  checks:
    - tool_args: {schemas: {refund: {type: object}}, allow_unknown: true}
"#;
    let vs = verdicts(cases, harness());
    insta::assert_snapshot!("tool_args", shown(&vs));
}

#[test]
fn trajectory_checks_count_steps_and_calls_and_find_a_call_after_the_answer() {
    let cases = r#"
- id: refund
  target: agent
  input: refund
  threshold: 0
  checks:
    - max_steps: 3
    - max_steps: {max: 2}
    - max_tool_calls: 3
    - max_tool_calls: 1
    - no_call_after_final
- id: late
  target: agent
  input: late
  threshold: 0
  checks:
    - max_steps: 5
    - no_call_after_final
- id: calls_only
  target: agent
  input: calls_only
  threshold: 0
  checks:
    - max_steps: 5
    - no_call_after_final
- id: plain
  target: agent
  input: hello
  threshold: 0
  checks:
    - max_tool_calls: 0
    - no_call_after_final
"#;
    let vs = verdicts(cases, harness());
    insta::assert_snapshot!("trajectory", shown(&vs));
}

#[test]
fn any_check_runs_on_an_addressed_part_of_the_output() {
    let cases = r#"
- id: refund
  target: agent
  input: refund
  threshold: 0
  checks:
    - equals: {id: 7}
      output: tool_calls[1].arguments
    - json_path: {path: $.amount, equals: 20}
      output: tool_calls[-1].arguments
    - equals: refund
      output: tool_calls[-1].name
    - contains: damaged
      output: conversation[1].content
    - equals: [search_orders, get_order, refund]
      output: tool_calls[*].name
    - equals: stop
      output: finish_reason
    - equals: {id: 7}
      output: conversation[2].tool_calls[1].arguments
    - equals: get_order
      output: conversation[4].name
    - equals: round 2
      step: model#2
    - equals: x
      output: tool_calls[5].arguments
      name: past the end
    - equals: x
      output: tool_calls[0].arguments.order.id
      name: a missing key
    - equals: x
      step: nope
      name: a missing step
- id: pipeline
  target: agent
  input: pipeline
  threshold: 0
  checks:
    - contains: shoes
      step: question
    - latency_ms: 200
      step: question
    - json_path: {path: $.audience.bought, equals: shoes}
      step: audience
    - equals: shoes
      step: audience
      output: json.audience.bought
    - equals: x
      output: tool_calls[0]
      name: no tool calls
    - equals: x
      output: steps[2]
      name: no third step
"#;
    let vs = verdicts(cases, harness());
    insta::assert_snapshot!("output_addressing", shown(&vs));
}

/// A judge that records what it was asked and answers `answer`.
fn judge(
    answer: &'static str,
) -> Arc<
    FnProvider<
        impl Fn(&ChatRequest) -> Result<ChatResponse, tribunal::provider::ProviderError> + Send + Sync,
    >,
> {
    Arc::new(
        FnProvider::new("judge", move |_: &ChatRequest| {
            Ok(ChatResponse::new(answer))
        })
        .recording(),
    )
}

#[test]
fn a_judge_template_sees_the_conversation_tool_calls_and_trajectory() {
    let template = r#"{{ criteria }}
T: {{ conversation }}
C: {{ tool_calls }}
J: {{ trajectory }}
{% for m in messages %}{{ loop.index0 }} {{ m.role }}{% for c in m.tool_calls %} {{ c.name }}{% endfor %}
{% endfor %}"#;
    let cases = format!(
        "- id: late\n  target: agent\n  input: late\n  checks:\n    - judge:\n        provider: judge\n        criteria: Does not act after answering.\n        template: {}\n",
        serde_json::to_string(template).expect("json string")
    );
    let j = judge(r#"{"critique": "It emailed after answering.", "pass": false}"#);
    let vs = verdicts(&cases, harness().provider("judge", j.clone()));
    insta::assert_snapshot!("judge_template_verdict", shown(&vs));
    let asked = j.requests();
    assert_eq!(asked.len(), 1);
    insta::assert_snapshot!("judge_template_prompt", asked[0].messages[1].content);
}

#[test]
fn the_conversation_mode_judges_the_whole_conversation_and_parses_strictly() {
    let cases = r#"
- id: refund
  target: agent
  input: refund
  checks:
    - judge: {mode: conversation, provider: judge, criteria: "Resolved the user's issue over the turns."}
- id: plain
  target: agent
  input: hello
  checks:
    - judge: {mode: conversation, provider: judge, criteria: "Resolved the user's issue."}
"#;
    let j = judge(r#"{"critique": "Refunded after checking the order.", "pass": true}"#);
    let vs = verdicts(cases, harness().provider("judge", j.clone()));
    insta::assert_snapshot!("conversation_mode_verdicts", shown(&vs));
    let asked = j.requests();
    assert_eq!(
        asked.len(),
        1,
        "the output without a conversation is not sent"
    );
    insta::assert_snapshot!("conversation_mode_prompt", asked[0].messages[1].content);
    let format = format!("{:?}", asked[0].response_format);
    assert!(format.contains("judge_conversation"), "{format}");

    // An answer that is not the pass/fail shape is an error, never a pass.
    let loose = judge(r#"{"critique": "ok", "pass": "yes"}"#);
    let vs = verdicts(cases, harness().provider("judge", loose));
    insta::assert_snapshot!("conversation_mode_strict", shown(&vs[..1]));
}

/// A run of the refund agent with one failing check, its snapshot accepted.
fn refund_project() -> (TestProject, tribunal::RunOutcome) {
    let suite = "suite: x\ncases:\n  - id: refund\n    target: agent\n    input: refund\n    checks:\n      - tool_called: get_order\n      - tool_sequence: {calls: [get_order, search_orders], mode: exact}\n";
    let p = TestProject::with(&[("evals/x.yaml", suite)]);
    let settings = tribunal::SnapshotSettings::new(tribunal::UpdateMode::Always, false, false);
    let out = p.run_with(harness(), settings, &["--quiet"]);
    assert!(out.load_errors.is_empty(), "{:?}", out.load_errors);
    (p, out)
}

#[test]
fn a_snapshot_header_shows_the_tool_calls_and_the_conversation() {
    let (p, out) = refund_project();
    assert_eq!(
        out.records[0].verdict.outcome,
        tribunal::verdict::Outcome::Fail
    );
    let snap = p.read("evals/snapshots/x__refund.snap");
    insta::assert_snapshot!("snapshot_header", snap);
}

#[test]
fn a_changed_verdict_message_lists_the_tool_calls() {
    let (p, out) = refund_project();
    // The accepted snapshot records two checks; a verdict whose first check
    // now fails and whose second is gone is a change, and its message (what
    // the terminal shows) lists the failing reasons, then the calls.
    let mut now = out.records[0].verdict.clone();
    now.checks.truncate(1);
    now.checks[0].outcome = tribunal::verdict::Outcome::Fail;
    let path = p.join("evals/snapshots/x__refund.snap");
    let rerun = tribunal::rerun::Rerun::default();
    let file = tribunal::snapshot::SnapshotFile {
        path: &path,
        display: "evals/snapshots/x__refund.snap",
        source: "evals/x.yaml",
        line: 3,
        description: None,
        rerun: &rerun,
    };
    let settings = tribunal::SnapshotSettings::new(tribunal::UpdateMode::No, false, true);
    let compared = tribunal::snapshot::compare(&now, &file, &settings);
    insta::assert_snapshot!(
        "changed_verdict_message",
        compared.message.expect("a changed verdict has a message")
    );
}

#[test]
fn reports_show_the_tool_calls_of_listed_trials() {
    let (_p, out) = refund_project();
    let mut run = tribunal::report::sample::run(0, 1.0, 1);
    run.records = out.records.clone();
    for r in &mut run.records {
        r.verdict.duration_ms = 5.0;
    }
    let md = tribunal::report::markdown::run_summary(&run);
    let listed: String = md
        .lines()
        .filter(|l| l.starts_with("| `x::refund`"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("markdown_row", listed);
    let html = tribunal::report::html::render(&run, &[]);
    let start = html
        .find("<details class=\"tool-calls\">")
        .expect("a tool-calls block");
    let end = html[start..]
        .find("</details><details class=\"steps\">")
        .expect("the steps after")
        + start;
    insta::assert_snapshot!("html_tool_calls_and_conversation", &html[start..end]);
}

/// A conversation judge against a loopback server speaking the OpenAI wire
/// format: recorded once, then replayed with the server unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_judge_is_recorded_and_replayed() {
    use std::collections::BTreeMap;
    use tribunal::check::judge::SuiteJudge;
    use tribunal::check::{CheckSpec, ParseCx};
    use tribunal::provider::mock::{MockReply, MockServer};
    use tribunal::provider::{Mode, Options, ProjectConfig, Providers};

    let server = MockServer::start(true, |_, _| {
        MockReply::openai(
            r#"{"critique": "Checked the order, then refunded.", "pass": true}"#,
            40,
            9,
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = |mode: Mode, base: &str| {
        let cfg = ProjectConfig::parse(
            &format!("providers:\n  grader:\n    kind: openai\n    model: grader-1\n    base_url: {base}\nretry: {{max_attempts: 1}}\n"),
            "test",
        )
        .expect("config");
        let providers = Providers::with_options(
            dir.path(),
            Options {
                mode,
                config: cfg,
                env: BTreeMap::new(),
                inherit_env: false,
                usage_dir: None,
            },
        )
        .expect("providers");
        tribunal::run::RunEnv::new(
            dir.path().to_path_buf(),
            tribunal::registry::Registry::default(),
            providers,
            false,
            &[],
        )
    };
    let span = tribunal::verdict::parse_span("evals/x.yaml:5:7");
    let judge = SuiteJudge::default();
    let spec = CheckSpec::parse(
        &json!({"judge": {"mode": "conversation", "provider": "grader", "criteria": "Resolved the issue."}}),
        &ParseCx::new(&span, &dir.join("evals"), &judge),
    )
    .expect("the check parses");
    let suite_dir = dir.join("evals");
    let live = env(Mode::Record, &format!("{}/v1", server.url()));
    let recorded = decide(&spec, &live, &suite_dir).await;
    assert_eq!(
        recorded,
        "[pass] the judge said pass / Checked the order, then refunded."
    );
    assert_eq!(server.count(), 1);
    let sent = server.requests()[0].json();
    let prompt = sent["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(prompt.contains("[tool refund] {\"ok\":true}"), "{prompt}");

    let offline = env(Mode::Replay, "http://127.0.0.1:1/v1");
    assert_eq!(decide(&spec, &offline, &suite_dir).await, recorded);
    assert_eq!(server.count(), 1, "the replay made no call");
}

/// Runs `spec` on the refund agent's output and shows the result.
async fn decide(
    spec: &tribunal::check::CheckSpec,
    env: &tribunal::run::RunEnv,
    suite_dir: &std::path::Path,
) -> String {
    use tribunal::check::{CheckCx, NoBaselines, TrialView, run_check};
    let output = refund_run();
    let vars = serde_json::Map::new();
    let input = json!("refund");
    let cx = CheckCx {
        name: "",
        trial: TrialView {
            suite: "x",
            case_id: "refund",
            variant: None,
            input: &input,
            expected: None,
            vars: &vars,
            tags: &[],
            suite_dir,
        },
        output: &output,
        prior: &[],
        services: &env.services,
        baselines: &NoBaselines,
        canaries: true,
    };
    let r = run_check(spec, &cx).await;
    format!(
        "[{}] {} / {}",
        r.outcome,
        r.reason,
        r.critique.unwrap_or_default()
    )
}
