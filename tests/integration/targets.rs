//! The `prompt`, `command` and `http` target kinds, end to end through
//! `TargetSpec::parse` and `target::call`, against loopback servers.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};
use tribunal::provider::mock::{MockReply, MockServer};
use tribunal::provider::{Mode, Options, ProjectConfig, Providers};
use tribunal::registry::Registry;
use tribunal::run::RunEnv;
use tribunal::target::{TargetContext, TargetSpec, call};
use tribunal::verdict::Output;

fn env(root: &Path, mode: Mode, base: &str) -> RunEnv {
    let cfg = ProjectConfig::parse(
        &format!("providers:\n  bot:\n    kind: openai\n    model: bot-1\n    base_url: {base}\nretry: {{max_attempts: 1}}\n"),
        "test",
    )
    .expect("config");
    let providers = Providers::with_options(
        root,
        Options {
            mode,
            config: cfg,
            env: BTreeMap::new(),
            inherit_env: false,
            usage_dir: None,
        },
    )
    .expect("providers");
    RunEnv::new(
        root.to_path_buf(),
        Registry::default(),
        providers,
        false,
        &[],
    )
}

async fn run(env: &RunEnv, target: Value, input: Value, dir: &Path) -> Result<Output, String> {
    let spec = TargetSpec::parse(&target).map_err(|e| format!("{e:?}"))?;
    let vars: Map<String, Value> = Map::from_iter([("shop".to_string(), json!("Acme"))]);
    let ctx = TargetContext {
        input: &input,
        vars: &vars,
        expected: None,
        suite: "support",
        case_id: "refund",
        variant: None,
        suite_dir: dir,
        env: &env.services,
    };
    call(&spec, &[], &ctx).await.map_err(|e| e.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_renders_sends_records_and_replays() {
    let server =
        MockServer::start(true, |_, _| MockReply::openai("{\"days\": 5}", 30, 5)).expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let prompts = dir.path().join("evals").join("prompts");
    std::fs::create_dir_all(&prompts).expect("mkdir");
    std::fs::write(
        prompts.join("refund.j2"),
        "Shop {{ shop }}. Customer asks: {{ input }}",
    )
    .expect("write");
    let target = json!({"prompt": {"provider": "bot", "file": "refund.j2", "system": "You work at {{ vars.shop }}.", "schema": {"type": "object"}}});
    let live = env(dir.path(), Mode::Record, &format!("{}/v1", server.url()));
    let out = run(
        &live,
        target.clone(),
        json!("How long do refunds take?"),
        dir.path(),
    )
    .await
    .expect("output");
    assert_eq!(out.json, Some(json!({"days": 5})));
    assert_eq!(out.usage.map(|u| u.input_tokens), Some(30));
    let sent = server.requests()[0].json();
    assert_eq!(sent["messages"][0]["content"], "You work at Acme.");
    assert_eq!(
        sent["messages"][1]["content"],
        "Shop Acme. Customer asks: How long do refunds take?"
    );
    assert_eq!(sent["response_format"]["type"], "json_schema");

    let offline = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let again = run(
        &offline,
        target,
        json!("How long do refunds take?"),
        dir.path(),
    )
    .await
    .expect("replay");
    assert_eq!(again.json, out.json);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn prompt_spec_errors_are_reported_at_parse_time() {
    let both =
        TargetSpec::parse(&json!({"prompt": {"provider": "p", "template": "a", "file": "b"}}));
    assert!(format!("{both:?}").contains("not both"), "{both:?}");
    let typo = TargetSpec::parse(&json!({"prompt": {"provider": "p", "templat": "a"}}));
    assert!(format!("{typo:?}").contains("templat"), "{typo:?}");
    let kind = TargetSpec::parse(&json!({"promt": {}}));
    assert!(format!("{kind:?}").contains("prompt"), "{kind:?}");
}

#[tokio::test]
async fn prompt_with_an_undefined_variable_is_an_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let err = run(
        &e,
        json!({"prompt": {"provider": "bot", "template": "{{ nope }}"}}),
        json!("x"),
        dir.path(),
    )
    .await
    .expect_err("undefined");
    assert!(err.contains("cannot render the prompt"), "{err}");
}

#[tokio::test]
async fn command_runs_with_templated_args_and_stdin() {
    let dir = tempfile::tempdir().expect("tmp");
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let out = run(
        &e,
        json!({"command": {"program": "sh", "args": ["-c", "printf '%s|' \"$1\"; cat", "sh", "{{ input }}"], "stdin": "{{ shop }}"}}),
        json!("hello"),
        dir.path(),
    )
    .await
    .expect("runs");
    assert_eq!(out.text, "hello|Acme");
    let json_out = run(
        &e,
        json!({"command": {"program": "echo", "args": ["{\"ok\": true}"], "json": true}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect("json");
    assert_eq!(json_out.json, Some(json!({"ok": true})));
}

#[tokio::test]
async fn command_failures_and_timeouts_are_errors_with_stderr() {
    let dir = tempfile::tempdir().expect("tmp");
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let err = run(
        &e,
        json!({"command": {"program": "sh", "args": ["-c", "echo broken >&2; exit 3"]}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect_err("exit 3");
    assert!(err.contains("broken") && err.contains('3'), "{err}");
    let err = run(
        &e,
        json!({"command": {"program": "sleep", "args": ["5"], "timeout_s": 0.2}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect_err("timeout");
    assert!(err.contains("did not finish"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_posts_templated_json_and_extracts_a_path() {
    let server = MockServer::start(true, |r, _| {
        let q = r.json()["q"].as_str().unwrap_or("").to_string();
        if r.path == "/fail" {
            MockReply::raw(503, "down")
        } else {
            MockReply::json(200, &json!({"answer": {"text": format!("you asked {q}")}}))
        }
    })
    .expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let out = run(
        &e,
        json!({"http": {"url": format!("{}/ask", server.url()), "body": {"q": "{{ input }}"}, "headers": {"X-Shop": "{{ shop }}"}, "output": "$.answer.text"}}),
        json!("refunds"),
        dir.path(),
    )
    .await
    .expect("answer");
    assert_eq!(out.text, "you asked refunds");
    let err = run(
        &e,
        json!({"http": {"url": format!("{}/fail", server.url())}}),
        json!("x"),
        dir.path(),
    )
    .await
    .expect_err("503");
    assert!(err.contains("503") && err.contains("down"), "{err}");
}
