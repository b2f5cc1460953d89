//! Targets that produce tool calls and conversations, and take
//! conversations as input: `prompt` targets against loopback servers
//! speaking the OpenAI and Anthropic wire formats (tool calls, the tool
//! loop, multi-turn cases), `http` and `command` targets reporting an
//! agent's calls, and record/replay of all of it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};
use tribunal::provider::mock::{MockReply, MockServer};
use tribunal::provider::{Mode, Options, ProjectConfig, Providers};
use tribunal::registry::{Input, Registry};
use tribunal::run::RunEnv;
use tribunal::target::conversation::{Script, SimulatedUser};
use tribunal::target::{TargetContext, TargetSpec, call};
use tribunal::verdict::Output;

use crate::common::TestProject;

/// Providers `bot` (OpenAI wire), `claude` (Anthropic wire) and `sim` (the
/// simulated user, OpenAI wire) on one server.
fn env(root: &Path, mode: Mode, base: &str, registry: Registry) -> RunEnv {
    env_with(root, mode, base, registry, &[])
}

fn env_with(
    root: &Path,
    mode: Mode,
    base: &str,
    registry: Registry,
    vars: &[(&str, &str)],
) -> RunEnv {
    let cfg = ProjectConfig::parse(
        &format!(
            "providers:\n  bot:\n    kind: openai\n    model: bot-1\n    base_url: {base}/v1\n  sim:\n    kind: openai\n    model: sim-1\n    base_url: {base}/v1\n  claude:\n    kind: anthropic\n    model: claude-1\n    base_url: {base}\nretry: {{max_attempts: 1}}\n"
        ),
        "test",
    )
    .expect("config");
    let providers = Providers::with_options(
        root,
        Options {
            mode,
            config: cfg,
            env: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            inherit_env: false,
            usage_dir: None,
        },
    )
    .expect("providers");
    RunEnv::new(root.to_path_buf(), registry, providers, false, &[])
}

fn vars() -> Map<String, Value> {
    Map::from_iter([("shop".to_string(), json!("Acme"))])
}

async fn run(env: &RunEnv, target: Value, input: Value, dir: &Path) -> Result<Output, String> {
    let spec = TargetSpec::parse(&target).map_err(|e| e.to_string())?;
    let vars = vars();
    let ctx = TargetContext {
        input: &input,
        vars: &vars,
        expected: None,
        suite: "agents",
        case_id: "case",
        variant: None,
        suite_dir: dir,
        env: &env.services,
        sample: 0,
    };
    call(&spec, &[], &ctx).await.map_err(|e| e.0)
}

async fn converse(
    env: &RunEnv,
    target: Value,
    input: Value,
    dir: &Path,
    script: &Script,
) -> Result<Output, String> {
    let spec = TargetSpec::parse(&target).map_err(|e| e.to_string())?;
    let vars = vars();
    let ctx = TargetContext {
        input: &input,
        vars: &vars,
        expected: None,
        suite: "agents",
        case_id: "talk",
        variant: None,
        suite_dir: dir,
        env: &env.services,
        sample: 0,
    };
    tribunal::target::conversation::run(&spec, &[], &ctx, script)
        .await
        .map_err(|e| e.0)
}

/// An output as pretty JSON, without the latencies (they change between
/// runs).
fn shown(out: &Output) -> String {
    let mut v = serde_json::to_value(out).expect("serializes");
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| k != "latency_ms");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    serde_json::to_string_pretty(&v).expect("json")
}

/// The JSON bodies the server received, pretty.
fn bodies(server: &MockServer) -> String {
    server
        .requests()
        .iter()
        .map(|r| serde_json::to_string_pretty(&r.json()).expect("json"))
        .collect::<Vec<_>>()
        .join("\n---\n")
}

fn openai_message(message: Value, finish: &str) -> MockReply {
    MockReply::json(
        200,
        &json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "bot-1",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3}
        }),
    )
}

fn openai_call(id: &str, name: &str, args: &str) -> Value {
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
}

fn anthropic_content(content: Value, stop: &str) -> MockReply {
    MockReply::json(
        200,
        &json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-1",
            "content": content, "stop_reason": stop,
            "usage": {"input_tokens": 12, "output_tokens": 4}
        }),
    )
}

const ORDER_TOOLS: &str = r#"[
  {"name": "get_order", "description": "Look up an order", "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
  {"type": "function", "function": {"name": "refund", "description": "Refund an order", "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}}}}
]"#;

fn tools() -> Value {
    serde_json::from_str(ORDER_TOOLS).expect("tools")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_with_finish_reason_stop_is_the_output_not_an_empty_text() {
    let server = MockServer::start(true, |_, _| {
        openai_message(
            json!({"role": "assistant", "content": null, "tool_calls": [openai_call("call_a", "get_order", "{\"id\": 7}")]}),
            "stop",
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), Registry::default());
    let out = run(
        &env,
        json!({"prompt": {"provider": "bot", "system": "You work at {{ shop }}.", "tools": tools(), "tool_choice": "auto"}}),
        json!("Where is order 7?"),
        dir.path(),
    )
    .await
    .expect("output");
    insta::assert_snapshot!(shown(&out));
    // The tools went out in OpenAI's function shape, the choice as a word.
    let sent = server.requests()[0].json();
    assert_eq!(sent["tools"][0]["type"], "function");
    assert_eq!(sent["tools"][1]["function"]["name"], "refund");
    assert_eq!(sent["tool_choice"], "auto");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_tool_calls_come_through_in_order() {
    let server = MockServer::start(true, |_, _| {
        openai_message(
            json!({"role": "assistant", "content": "Checking both.", "tool_calls": [
                openai_call("call_1", "get_order", "{\"id\":1}"),
                openai_call("call_2", "get_order", "{\"id\":2}"),
                // Some servers send no arguments at all for a call without any.
                {"id": "call_3", "type": "function", "function": {"name": "refund", "arguments": ""}},
            ]}),
            "tool_calls",
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), Registry::default());
    let out = run(
        &env,
        json!({"prompt": {"provider": "bot", "tools": tools()}}),
        json!("Where are orders 1 and 2?"),
        dir.path(),
    )
    .await
    .expect("output");
    insta::assert_snapshot!(shown(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_tool_use_blocks_mixed_with_text_come_through() {
    let server = MockServer::start(true, |_, _| {
        anthropic_content(
            json!([
                {"type": "text", "text": "Let me look that up."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": {"id": 7}},
                {"type": "tool_use", "id": "toolu_2", "name": "refund", "input": {"id": 7}},
            ]),
            "tool_use",
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), Registry::default());
    let out = run(
        &env,
        json!({"prompt": {"provider": "claude", "tools": tools(), "tool_choice": {"name": "get_order"}}}),
        json!("Refund order 7"),
        dir.path(),
    )
    .await
    .expect("output");
    insta::assert_snapshot!(shown(&out));
    // The short form and OpenAI's form both went out as Anthropic tools.
    let sent = server.requests()[0].json();
    assert_eq!(
        sent["tools"],
        json!([
            {"name": "get_order", "description": "Look up an order", "input_schema": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
            {"name": "refund", "description": "Refund an order", "input_schema": {"type": "object", "properties": {"id": {"type": "integer"}}}},
        ])
    );
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "tool", "name": "get_order"})
    );
}

/// A registered Rust function answering `get_order`: an order's status, or
/// an error for an order that does not exist.
fn order_registry() -> Registry {
    let mut r = Registry::default();
    r.target("lookup_order", |input: &Input| -> Result<Output, String> {
        match input.value.get("id").and_then(Value::as_i64) {
            Some(7) => Ok(Output::json(json!({"id": 7, "status": "shipped"}))),
            Some(id) => Err(format!("no order {id}")),
            None => Err("no id".into()),
        }
    });
    r
}

const LOOP_TOOLS_FROM: &str = r#"{
  "get_order": "lookup_order",
  "refund": {"match": [{"arguments": {"id": 7}, "result": {"refunded": true}}], "otherwise": "nothing to refund"}
}"#;

fn loop_target(provider: &str) -> Value {
    json!({"prompt": {
        "provider": provider,
        "system": "You help customers of {{ shop }}.",
        "tools": tools(),
        "tool_choice": "required",
        "tools_from": serde_json::from_str::<Value>(LOOP_TOOLS_FROM).expect("json"),
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_loop_speaks_openai_and_answers_every_call() {
    let server = MockServer::start(true, |_, i| match i {
        0 => openai_message(
            json!({"role": "assistant", "content": null, "tool_calls": [
                openai_call("call_1", "get_order", "{\"id\":7}"),
                openai_call("call_2", "get_order", "{\"id\":8}"),
            ]}),
            // A proxy that says `stop` for a tool call: the loop still runs.
            "stop",
        ),
        1 => openai_message(
            json!({"role": "assistant", "content": null, "tool_calls": [
                openai_call("call_3", "refund", "{\"id\":7}"),
            ]}),
            "tool_calls",
        ),
        _ => openai_message(
            json!({"role": "assistant", "content": "Order 7 shipped and is refunded; order 8 does not exist."}),
            "stop",
        ),
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), order_registry());
    let out = run(
        &env,
        loop_target("bot"),
        json!("Orders 7 and 8?"),
        dir.path(),
    )
    .await
    .expect("output");
    assert_eq!(server.count(), 3);
    insta::assert_snapshot!("openai_loop_output", shown(&out));
    // What went out on each round: the calls as `tool_calls` with JSON
    // text arguments, each result as a `tool` message with its call's id,
    // the failed one saying so; the forced choice on the first call only.
    insta::assert_snapshot!("openai_loop_requests", bodies(&server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_loop_speaks_anthropic_with_parallel_results_in_one_message() {
    let server = MockServer::start(true, |_, i| match i {
        0 => anthropic_content(
            json!([
                {"type": "text", "text": "Looking up both."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": {"id": 7}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_order", "input": {"id": 8}},
            ]),
            "tool_use",
        ),
        _ => anthropic_content(
            json!([{"type": "text", "text": "Order 7 shipped; order 8 does not exist."}]),
            "end_turn",
        ),
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), order_registry());
    let out = run(
        &env,
        loop_target("claude"),
        json!("Orders 7 and 8?"),
        dir.path(),
    )
    .await
    .expect("output");
    assert_eq!(server.count(), 2);
    insta::assert_snapshot!("anthropic_loop_output", shown(&out));
    insta::assert_snapshot!("anthropic_loop_requests", bodies(&server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_never_stops_calling_tools_is_stopped_at_max_steps() {
    let server = MockServer::start(true, |_, i| {
        openai_message(
            json!({"role": "assistant", "content": null, "tool_calls": [
                openai_call(&format!("call_{i}"), "refund", "{\"id\":7}"),
            ]}),
            "tool_calls",
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), Registry::default());
    let err = run(
        &env,
        json!({"prompt": {"provider": "bot", "tools": tools(), "tools_from": {"refund": {"fixed": "done"}}, "max_steps": 3}}),
        json!("Refund order 7"),
        dir.path(),
    )
    .await
    .expect_err("the loop never ends");
    assert_eq!(server.count(), 3, "exactly max_steps model calls");
    insta::assert_snapshot!(err, @"the model was still calling tools (`refund`) after `max_steps: 3` model calls; the loop was stopped with no final answer (hint: raise `max_steps`, or look at why the model keeps calling tools)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_of_a_tool_nothing_answers_is_an_error_naming_the_mapped_ones() {
    let server = MockServer::start(true, |_, _| {
        openai_message(
            json!({"role": "assistant", "content": null, "tool_calls": [openai_call("c", "get_ordr", "{}")]}),
            "tool_calls",
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), order_registry());
    let err = run(&env, loop_target("bot"), json!("Order 7?"), dir.path())
        .await
        .expect_err("unmapped");
    insta::assert_snapshot!(err, @"the model called the tool `get_ordr`, which `tools_from` does not map (it maps `get_order`, `refund`) (hint: did you mean `get_order`? map `get_ordr` under `tools_from`, or remove it from `tools:`)");
    // Arguments no `match` rule covers, with no `otherwise`: an error too.
    let server = MockServer::start(true, |_, _| {
        openai_message(
            json!({"role": "assistant", "content": null, "tool_calls": [openai_call("c", "refund", "{\"id\":9}")]}),
            "tool_calls",
        )
    })
    .expect("server");
    let env = self::env(dir.path(), Mode::Live, &server.url(), Registry::default());
    let err = run(
        &env,
        json!({"prompt": {"provider": "bot", "tools": tools(), "tools_from": {"refund": {"match": [{"arguments": {"id": 7}, "result": "ok"}]}}}}),
        json!("Refund 9"),
        dir.path(),
    )
    .await
    .expect_err("uncovered");
    insta::assert_snapshot!(err, @r#"the model called `refund` with arguments {"id":9} that no `match` rule of `tools_from.refund` covers (hint: add a rule for them, or an `otherwise:` result)"#);
}

#[test]
fn tool_definitions_are_checked_when_the_target_is_parsed() {
    let error = |prompt: Value| {
        TargetSpec::parse(&json!({"prompt": prompt}))
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "{}: {e}",
                    e.path
                        .iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(".")
                )
            })
            .expect_err("rejected")
    };
    let all = [
        error(json!({"provider": "p", "tools": [{"name": "get order"}]})),
        error(json!({"provider": "p", "tools": [{"name": "a", "paramters": {}}]})),
        error(json!({"provider": "p", "tools": [{"name": "a"}], "tool_choice": "sometimes"})),
        error(
            json!({"provider": "p", "tools": [{"name": "a"}], "tools_from": {"b": {"fixed": 1}}}),
        ),
        error(
            json!({"provider": "p", "tools": [{"name": "a"}], "tools_from": {"a": {"prompt": {"provider": "p"}}}}),
        ),
        error(
            json!({"provider": "p", "tools": [{"name": "a"}], "tools_from": {"a": {"fixed": 1}}, "max_steps": 0}),
        ),
        error(json!({"provider": "p", "tools": [{"name": "a"}], "schema": {"type": "object"}})),
    ];
    insta::assert_snapshot!(all.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_turns_send_the_whole_exchange_each_turn() {
    let server = MockServer::start(true, |r, i| {
        let n = r.json()["messages"].as_array().map_or(0, Vec::len);
        let text = match i {
            0 => "Which order?".to_string(),
            1 => "Order 7 shipped.".to_string(),
            _ => format!("You are welcome ({n} messages)."),
        };
        openai_message(json!({"role": "assistant", "content": text}), "stop")
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Record, &server.url(), Registry::default());
    let target = json!({"prompt": {"provider": "bot", "system": "You help customers of {{ shop }}.", "template": "Customer: {{ input }}"}});
    let script = Script::Turns(vec!["It is order 7.".into(), "Thanks!".into()]);
    let out = converse(
        &env,
        target.clone(),
        json!("Where is my order?"),
        dir.path(),
        &script,
    )
    .await
    .expect("output");
    assert_eq!(server.count(), 3);
    insta::assert_snapshot!("turns_output", shown(&out));
    // Each turn's request: the system message, the first message as the
    // template rendered it, then the exchange as it happened.
    insta::assert_snapshot!("turns_requests", bodies(&server));
    // Every turn was recorded, each under its own key, and replays.
    let cassettes = dir.files_under("fixtures/cassettes");
    assert_eq!(cassettes.len(), 3, "{cassettes:?}");
    let offline = self::env(
        dir.path(),
        Mode::Replay,
        "http://127.0.0.1:9",
        Registry::default(),
    );
    let again = converse(
        &offline,
        target,
        json!("Where is my order?"),
        dir.path(),
        &script,
    )
    .await
    .expect("replays");
    assert_eq!(shown(&again), shown(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_user_talks_until_its_stop_phrase() {
    let server = MockServer::start(true, |r, _| {
        let body = r.json();
        let n = body["messages"].as_array().map_or(0, Vec::len);
        let text = if body["model"] == "sim-1" {
            // The simulated user: system, the opener, then the conversation
            // from its side.
            if n <= 4 {
                "It is order 7."
            } else {
                "Great, thanks. DONE"
            }
        } else if n <= 2 {
            "Which order?"
        } else {
            "Order 7 shipped yesterday."
        };
        openai_message(json!({"role": "assistant", "content": text}), "stop")
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), Registry::default());
    let script = Script::Simulated(
        serde_json::from_value::<SimulatedUser>(json!({
            "provider": "sim",
            "system": "You are a customer of {{ shop }} asking about order 7. Say DONE when answered.",
            "stop_when": "\\bDONE\\b",
            "max_turns": 4,
        }))
        .expect("simulated user"),
    );
    let out = converse(
        &env,
        json!({"prompt": {"provider": "bot", "system": "You help customers."}}),
        json!("Where is my order?"),
        dir.path(),
        &script,
    )
    .await
    .expect("output");
    // bot, sim, bot, sim (which says DONE: not sent).
    assert_eq!(server.count(), 4);
    insta::assert_snapshot!("simulated_output", shown(&out));
    insta::assert_snapshot!("simulated_requests", bodies(&server));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_input_reaches_prompt_and_rust_targets_as_messages() {
    let server = MockServer::start(true, |_, _| {
        openai_message(
            json!({"role": "assistant", "content": "Yes, 30 days."}),
            "stop",
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let mut registry = Registry::default();
    registry.target("count_turns", |input: &Input| -> Result<String, String> {
        let m = input.messages();
        Ok(format!(
            "{} messages, last from {}: {}",
            m.len(),
            m.last().map_or("nobody", |m| m.role.as_str()),
            m.last().map_or("", |m| m.content.as_str())
        ))
    });
    let env = env(dir.path(), Mode::Live, &server.url(), registry);
    let history = json!([
        {"role": "user", "content": "Can I return shoes?"},
        {"role": "assistant", "content": "Yes, unworn ones."},
        {"role": "user", "content": "Within how long?"},
    ]);
    let out = run(
        &env,
        json!({"prompt": {"provider": "bot", "system": "You work at {{ shop }}."}}),
        history.clone(),
        dir.path(),
    )
    .await
    .expect("output");
    assert_eq!(out.text, "Yes, 30 days.");
    assert_eq!(
        server.requests()[0].json()["messages"],
        json!([
            {"role": "system", "content": "You work at Acme."},
            {"role": "user", "content": "Can I return shoes?"},
            {"role": "assistant", "content": "Yes, unworn ones."},
            {"role": "user", "content": "Within how long?"},
        ])
    );
    assert_eq!(out.conversation.len(), 5);
    let rust = run(&env, json!("count_turns"), history, dir.path())
        .await
        .expect("rust");
    assert_eq!(rust.text, "3 messages, last from user: Within how long?");
    // Scripted turns with a Rust target: it sees the exchange grow.
    let out = converse(
        &env,
        json!("count_turns"),
        json!("Hi"),
        dir.path(),
        &Script::Turns(vec!["Still there?".into()]),
    )
    .await
    .expect("turns");
    insta::assert_snapshot!(shown(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_targets_report_an_agents_calls_and_messages() {
    let server = MockServer::start(true, |_, _| {
        MockReply::json(
            200,
            &json!({
                "answer": "Refunded.",
                "calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_order", "arguments": "{\"id\":7}"}},
                    {"name": "refund", "arguments": {"id": 7}},
                ],
                "messages": [
                    {"role": "user", "content": "Refund order 7"},
                    {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_order", "arguments": "{\"id\":7}"}}]},
                    {"role": "tool", "tool_call_id": "c1", "content": "shipped"},
                    {"role": "assistant", "content": [{"type": "text", "text": "Refunded."}]},
                ],
                "odd": "not a list",
            }),
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), Registry::default());
    let url = format!("{}/agent", server.url());
    let out = run(
        &env,
        json!({"http": {"url": url, "body": {"q": "{{ input }}"}, "output": "$.answer", "tool_calls": "$.calls", "conversation": "$.messages"}}),
        json!("Refund order 7"),
        dir.path(),
    )
    .await
    .expect("output");
    insta::assert_snapshot!(shown(&out));
    // Only `conversation:`: the calls are the conversation's.
    let only = run(
        &env,
        json!({"http": {"url": url, "output": "$.answer", "conversation": "$.messages"}}),
        json!("x"),
        dir.path(),
    )
    .await
    .expect("output");
    assert_eq!(only.tool_calls.len(), 1);
    let errors = [
        run(
            &env,
            json!({"http": {"url": url, "tool_calls": "$.odd"}}),
            json!("x"),
            dir.path(),
        )
        .await,
        run(
            &env,
            json!({"http": {"url": url, "tool_calls": "$.tool_calls"}}),
            json!("x"),
            dir.path(),
        )
        .await,
        run(
            &env,
            json!({"http": {"url": url, "conversation": "$.calls"}}),
            json!("x"),
            dir.path(),
        )
        .await,
    ]
    .map(|r| {
        dir.normalize(&r.expect_err("rejected"))
            .replace(&server.url(), "[SERVER]")
    });
    insta::assert_snapshot!(errors.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_targets_report_an_agents_calls_from_json_stdout() {
    let dir = TestProject::new();
    let env = env(
        dir.path(),
        Mode::Live,
        "http://127.0.0.1:9",
        Registry::default(),
    );
    let out = run(
        &env,
        json!({"command": {"program": "sh", "args": ["-c", "printf '%s' '{\"reply\": \"Done: {{ input }}\", \"tool_calls\": [{\"name\": \"refund\", \"arguments\": \"{\\\"id\\\": 7}\"}]}'"], "output": "$.reply", "tool_calls": "$.tool_calls"}}),
        json!("order 7"),
        dir.path(),
    )
    .await
    .expect("output");
    insta::assert_snapshot!(shown(&out));
    let err = run(
        &env,
        json!({"command": {"program": "sh", "args": ["-c", "echo plain text"], "tool_calls": "$.tool_calls"}}),
        json!("x"),
        dir.path(),
    )
    .await
    .expect_err("not JSON");
    insta::assert_snapshot!(err);
}

const REPLAY_SUITE: &str = r#"
suite: agents
defaults:
  target:
    prompt:
      provider: bot
      system: You help customers of Acme.
      tools:
        - {name: get_order, description: Look up an order, parameters: {type: object, properties: {id: {type: integer}}}}
      tools_from:
        get_order: {fixed: {status: shipped}}
cases:
  - id: loop
    input: Where is order 7?
    checks:
      - contains: shipped
  - id: followup
    input: Hi
    turns: [Where is order 7?]
    checks:
      - contains: shipped
"#;

#[test]
fn tool_loops_and_turns_record_once_then_replay_in_ci_without_a_server() {
    let server = MockServer::start(true, |r, _| {
        let body = r.json();
        let last = body["messages"]
            .as_array()
            .and_then(|m| m.last().cloned())
            .unwrap_or(Value::Null);
        if last["role"] == "tool" {
            openai_message(json!({"role": "assistant", "content": "It has shipped."}), "stop")
        } else if last["content"] == "Where is order 7?" {
            openai_message(
                json!({"role": "assistant", "content": null, "tool_calls": [openai_call("call_1", "get_order", "{\"id\":7}")]}),
                "tool_calls",
            )
        } else {
            openai_message(json!({"role": "assistant", "content": "Hello! How can I help?"}), "stop")
        }
    })
    .expect("server");
    let p = TestProject::with(&[
        ("evals/agents.yaml", REPLAY_SUITE),
        (
            "tribunal.yaml",
            &format!(
                "providers:\n  bot:\n    kind: openai\n    model: bot-1\n    base_url: {}/v1\nreports: {{history: 'off'}}\n",
                server.url()
            ),
        ),
    ]);
    let root = p.root_arg();
    let test = |p: &TestProject| {
        p.tribunal(&["test", "--root", root.as_str(), "--", "--test-threads", "1"])
    };
    let recorded = test(&p)
        .env("TRIBUNAL_MODE", "record")
        .env("INSTA_UPDATE", "always")
        .output();
    assert!(recorded.success(), "{recorded:?}");
    // loop: 2 model calls; followup: 1 call for "Hi", then 2 for the turn.
    assert_eq!(server.count(), 5);
    let cassettes: Vec<String> = p
        .files_under("fixtures/cassettes")
        .into_iter()
        .map(|f| f.rsplit_once('/').map_or(f.clone(), |(d, _)| d.to_string()))
        .collect();
    assert_eq!(
        cassettes,
        [
            "fixtures/cassettes/agents/followup",
            "fixtures/cassettes/agents/followup",
            "fixtures/cassettes/agents/followup",
            "fixtures/cassettes/agents/loop",
            "fixtures/cassettes/agents/loop",
        ]
    );
    drop(server);
    let before: Vec<(String, String)> = p
        .files_under("")
        .into_iter()
        .filter(|f| !f.starts_with("target/"))
        .map(|f| {
            let text = std::fs::read(p.join(&f)).map(|b| String::from_utf8_lossy(&b).into_owned());
            (f, text.unwrap_or_default())
        })
        .collect();
    let outputs = |p: &TestProject| -> String {
        let last: Value =
            serde_json::from_str(&p.read("target/tribunal/last.json")).expect("results");
        let mut records: Vec<Value> = last["records"].as_array().cloned().unwrap_or_default();
        records.sort_by_key(|r| r["verdict"]["trial"].to_string());
        records
            .iter()
            .map(|r| {
                let out: Output =
                    serde_json::from_value(r["verdict"]["output"].clone()).expect("an output");
                format!("{}:\n{}", r["verdict"]["trial"], shown(&out))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let live = outputs(&p);
    let replayed = test(&p).ci(true).output();
    assert!(replayed.success(), "{replayed:?}");
    insta::assert_snapshot!(replayed.snapshot());
    // The replayed outputs are the recorded ones: every step, call and message.
    assert_eq!(outputs(&p), live);
    insta::assert_snapshot!("replayed_outputs", live);
    let after: Vec<(String, String)> = p
        .files_under("")
        .into_iter()
        .filter(|f| !f.starts_with("target/"))
        .map(|f| {
            let text = std::fs::read(p.join(&f)).map(|b| String::from_utf8_lossy(&b).into_owned());
            (f, text.unwrap_or_default())
        })
        .collect();
    assert!(before.len() > 5, "{before:?}");
    assert_eq!(before, after, "CI wrote or deleted files in the tree");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_an_agent_echoes_into_its_calls_and_messages_are_redacted() {
    let server = MockServer::start(true, |r, _| {
        let auth = r.header("authorization").unwrap_or("").to_string();
        MockReply::json(
            200,
            &json!({
                "answer": "ok",
                "calls": [{"name": "login", "arguments": {"token": auth}}],
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": format!("I used {auth}")},
                ],
            }),
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env_with(
        dir.path(),
        Mode::Live,
        &server.url(),
        Registry::default(),
        &[("BOT_TOKEN", "bot-SECRET-42")],
    );
    let out = run(
        &env,
        json!({"http": {"url": format!("{}/agent", server.url()), "headers": {"Authorization": "Bearer ${BOT_TOKEN}"}, "output": "$.answer", "tool_calls": "$.calls", "conversation": "$.messages"}}),
        json!("hi"),
        dir.path(),
    )
    .await
    .expect("output");
    let shown = shown(&out);
    assert!(!shown.contains("SECRET"), "{shown}");
    assert_eq!(
        out.tool_calls[0].arguments,
        json!({"token": "Bearer [redacted BOT_TOKEN]"})
    );
    assert_eq!(
        out.conversation[1].content,
        "I used Bearer [redacted BOT_TOKEN]"
    );
}

/// The calls a test server answers when the model first sends arguments
/// that are not JSON, then (told so) a final answer.
async fn broken_arguments_round_trip(
    provider: &str,
    first: MockReply,
    last: MockReply,
) -> (String, String, String) {
    let replies = std::sync::Mutex::new(vec![last, first]);
    let server = MockServer::start(true, move |_, _| {
        replies.lock().expect("lock").pop().expect("two replies")
    })
    .expect("server");
    let dir = TestProject::new();
    let recording = env(dir.path(), Mode::Record, &server.url(), order_registry());
    let recorded = run(
        &recording,
        loop_target(provider),
        json!("Where is order 7?"),
        dir.path(),
    )
    .await
    .expect("a malformed call is the model's answer, not an error");
    assert_eq!(server.count(), 2);
    let sent = bodies(&server);
    let base = server.url();
    drop(server);
    // Replayed with no server: the call and its raw text come from the cassette.
    let replaying = env(dir.path(), Mode::Replay, &base, order_registry());
    let replayed = run(
        &replaying,
        loop_target(provider),
        json!("Where is order 7?"),
        dir.path(),
    )
    .await
    .expect("replayed");
    assert_eq!(shown(&replayed), shown(&recorded));
    let cassette = dir
        .files_under("")
        .into_iter()
        .filter(|f| f.ends_with(".json") || f.ends_with(".yaml"))
        .map(|f| dir.read(&f))
        .find(|t| t.contains("invalid_arguments"))
        .expect("a cassette holds the malformed call");
    assert!(cassette.contains(r#"{\"order_id\": 7,"#), "{cassette}");
    (shown(&recorded), sent, recorded.tool_calls[0].summary(60))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_arguments_that_are_not_json_are_kept_and_the_model_is_told() {
    let (output, sent, summary) = broken_arguments_round_trip(
        "bot",
        openai_message(
            json!({"role": "assistant", "content": null, "tool_calls": [openai_call("call_1", "get_order", "{\"order_id\": 7,")]}),
            "tool_calls",
        ),
        openai_message(
            json!({"role": "assistant", "content": "Sorry, which order?"}),
            "stop",
        ),
    )
    .await;
    assert_eq!(summary, r#"get_order(<not JSON> {"order_id": 7,)"#);
    insta::assert_snapshot!("openai_broken_arguments_output", output);
    // The raw text went back as the call's arguments; the tool result is
    // the error, and `lookup_order` was never run.
    insta::assert_snapshot!("openai_broken_arguments_requests", sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_input_sent_as_text_that_is_not_json_is_kept_and_the_model_is_told() {
    // A proxy that passes a streamed `partial_json` through as text, cut
    // mid-arguments.
    let (output, sent, _) = broken_arguments_round_trip(
        "claude",
        anthropic_content(
            json!([
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": "{\"order_id\": 7,"},
            ]),
            "tool_use",
        ),
        anthropic_content(
            json!([{"type": "text", "text": "Sorry, which order?"}]),
            "end_turn",
        ),
    )
    .await;
    insta::assert_snapshot!("anthropic_broken_arguments_output", output);
    // The call went back with an empty `input` (the API takes only an
    // object), its result an error saying what was wrong.
    insta::assert_snapshot!("anthropic_broken_arguments_requests", sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_input_sent_as_json_text_is_parsed() {
    let server = MockServer::start(true, |_, _| {
        anthropic_content(
            json!([{"type": "tool_use", "id": "toolu_1", "name": "get_order", "input": "{\"id\": 7}"}]),
            "tool_use",
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let env = env(dir.path(), Mode::Live, &server.url(), Registry::default());
    let out = run(
        &env,
        json!({"prompt": {"provider": "claude", "tools": tools()}}),
        json!("Where is order 7?"),
        dir.path(),
    )
    .await
    .expect("output");
    assert_eq!(out.tool_calls[0].arguments, json!({"id": 7}));
    assert_eq!(out.tool_calls[0].invalid_arguments, None);
}
