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

use crate::common::TestProject;

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
        sample: 0,
    };
    call(&spec, &[], &ctx).await.map_err(|e| e.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_renders_sends_records_and_replays() {
    let server =
        MockServer::start(true, |_, _| MockReply::openai("{\"days\": 5}", 30, 5)).expect("server");
    let dir = TestProject::new();
    dir.write(
        "evals/prompts/refund.j2",
        "Shop {{ shop }}. Customer asks: {{ input }}",
    );
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

/// The error `TargetSpec::parse` gives for `target` (which must be
/// rejected): where it points, what is wrong, the hint.
fn parse_error(target: Value) -> String {
    let e = TargetSpec::parse(&target).expect_err("the target spec must be rejected");
    let path: Vec<String> = e.path.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "at [{}]{}: {} (hint: {})",
        path.join(", "),
        if e.at_key { " (key)" } else { "" },
        e.message,
        e.hint.as_deref().unwrap_or("none")
    )
}

#[test]
fn prompt_spec_errors_are_reported_at_parse_time() {
    let both = parse_error(json!({"prompt": {"provider": "p", "template": "a", "file": "b"}}));
    let typo = parse_error(json!({"prompt": {"provider": "p", "templat": "a"}}));
    let kind = parse_error(json!({"promt": {}}));
    insta::assert_snapshot!(format!("{both}\n{typo}\n{kind}"));
}

#[tokio::test]
async fn prompt_with_an_undefined_variable_is_an_error() {
    let dir = TestProject::new();
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let err = run(
        &e,
        json!({"prompt": {"provider": "bot", "template": "{{ nope }}"}}),
        json!("x"),
        dir.path(),
    )
    .await
    .expect_err("undefined");
    insta::assert_snapshot!(err, @"cannot render the prompt: undefined value: `nope` is undefined (in <string>:1)");
}

#[tokio::test]
async fn command_runs_with_templated_args_and_stdin() {
    let dir = TestProject::new();
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
    let dir = TestProject::new();
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let err = run(
        &e,
        json!({"command": {"program": "sh", "args": ["-c", "echo broken >&2; exit 3"]}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect_err("exit 3");
    insta::assert_snapshot!(err, @r"
    `sh` exited with exit status: 3; stderr:
    broken
    ");
    let err = run(
        &e,
        json!({"command": {"program": "sleep", "args": ["5"], "timeout_s": 0.2}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect_err("timeout");
    insta::assert_snapshot!(err, @"`sleep` did not finish within 0.2s; it and every process it started were killed");
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
    let dir = TestProject::new();
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
    insta::assert_snapshot!(err.replace(&server.url(), "[SERVER]"), @"[SERVER]/fail answered HTTP 503: down");
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_timeout_kills_what_the_program_started() {
    let dir = TestProject::new();
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let err = run(
        &e,
        json!({"command": {"program": "sh", "args": ["-c", "sleep 30 & echo $! > grandchild.pid; sleep 30"], "timeout_s": 0.5}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect_err("timeout");
    assert!(err.contains("did not finish within 0.5s"), "{err}");
    let pid: u32 = std::fs::read_to_string(dir.path().join("grandchild.pid"))
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    let t = std::time::Instant::now();
    while !gone(pid) && t.elapsed() < std::time::Duration::from_secs(2) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(gone(pid), "grandchild {pid} survived the timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_exits_while_a_background_child_holds_stdout_is_not_timed_out() {
    let dir = TestProject::new();
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let t = std::time::Instant::now();
    let out = run(
        &e,
        json!({"command": {"program": "sh", "args": ["-c", "echo done; sleep 30 &"], "timeout_s": 5}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect("the program finished");
    assert_eq!(out.text, "done");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_stdout_is_bounded_and_an_error_that_says_so() {
    let dir = TestProject::new();
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let err = run(
        &e,
        json!({"command": {"program": "sh", "args": ["-c", "head -c 209715200 /dev/zero | tr '\\0' x"], "timeout_s": 60}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect_err("too much output");
    assert!(err.len() < 4000, "{} bytes of error", err.len());
    assert!(
        err.contains("(`max_output_bytes`): kept the first 8388608 of 209715200 bytes; sha256 of all 209715200 bytes: "),
        "{}",
        &err[..err.len().min(400)]
    );
    let small = run(
        &e,
        json!({"command": {"program": "printf", "args": ["abcdef"], "max_output_bytes": 4}}),
        json!(""),
        dir.path(),
    )
    .await
    .expect_err("limit set in the case");
    assert!(small.contains("kept the first 4 of 6 bytes"), "{small}");
}

fn openai_cut_off(text: &str) -> MockReply {
    openai_stopped(text, "length")
}

fn openai_stopped(text: &str, reason: &str) -> MockReply {
    MockReply::json(
        200,
        &json!({
            "id": "c", "object": "chat.completion", "created": 0, "model": "bot-1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": reason}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 16, "total_tokens": 25}
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_prompt_answer_is_an_error_unless_allowed() {
    let server = MockServer::start(true, |_, _| openai_cut_off("Refunds take five business da"))
        .expect("server");
    let dir = TestProject::new();
    let live = env(dir.path(), Mode::Live, &format!("{}/v1", server.url()));
    let err = run(
        &live,
        json!({"prompt": {"provider": "bot", "template": "{{ input }}", "max_tokens": 16}}),
        json!("How long do refunds take?"),
        dir.path(),
    )
    .await
    .expect_err("cut off");
    insta::assert_snapshot!(err, @"the answer of `bot` is incomplete: the model stopped at its token limit (finish reason `length`, 16 output tokens), so the answer is cut off (hint: raise `max_tokens` if it hit the token limit, or set `allow_truncated: true` to accept incomplete answers); answer: Refunds take five business da");
    let out = run(
        &live,
        json!({"prompt": {"provider": "bot", "template": "{{ input }}", "max_tokens": 16, "allow_truncated": true}}),
        json!("How long do refunds take?"),
        dir.path(),
    )
    .await
    .expect("accepted");
    assert_eq!(out.text, "Refunds take five business da");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anthropic_max_tokens_stop_is_a_cut_off_answer() {
    let server = MockServer::start(true, |_, _| {
        MockReply::json(
            200,
            &json!({"id": "m", "type": "message", "role": "assistant", "model": "claude",
                "content": [{"type": "text", "text": "Refunds take"}], "stop_reason": "max_tokens",
                "usage": {"input_tokens": 5, "output_tokens": 3}}),
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let cfg = ProjectConfig::parse(
        &format!(
            "providers:\n  claude:\n    kind: anthropic\n    model: c-1\n    base_url: {}\n",
            server.url()
        ),
        "test",
    )
    .expect("config");
    let providers = Providers::with_options(
        dir.path(),
        Options {
            mode: Mode::Live,
            config: cfg,
            env: BTreeMap::new(),
            inherit_env: false,
            usage_dir: None,
        },
    )
    .expect("providers");
    let e = RunEnv::new(
        dir.path().to_path_buf(),
        Registry::default(),
        providers,
        false,
        &[],
    );
    let err = run(
        &e,
        json!({"prompt": {"provider": "claude", "template": "{{ input }}"}}),
        json!("q"),
        dir.path(),
    )
    .await
    .expect_err("cut off");
    assert!(
        err.contains("finish reason `max_tokens`, 3 output tokens"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_answer_is_validated_even_when_the_gateway_ignored_the_schema() {
    let server = MockServer::start(true, |_, _| MockReply::openai("4", 3, 1)).expect("server");
    let dir = TestProject::new();
    let live = env(dir.path(), Mode::Live, &format!("{}/v1", server.url()));
    let err = run(
        &live,
        json!({"prompt": {"provider": "bot", "template": "{{ input }}", "schema": {"type": "object", "properties": {"days": {"type": "integer"}}, "required": ["days"]}}}),
        json!("How long do refunds take?"),
        dir.path(),
    )
    .await
    .expect_err("not an object");
    insta::assert_snapshot!(err, @r#"the answer of `bot` does not match the target's `schema`: 4 is not of type "object"; answer: 4"#);
}

fn env_with(root: &Path, vars: &[(&str, &str)]) -> RunEnv {
    let providers = Providers::with_options(
        root,
        Options {
            mode: Mode::Replay,
            config: ProjectConfig::default(),
            env: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_headers_read_variables_inside_values_and_secrets_never_come_back() {
    let server = MockServer::start(true, |r, _| {
        let auth = r.header("authorization").unwrap_or("").to_string();
        if r.path == "/echo-error" {
            MockReply::raw(403, &format!("token {auth} is not allowed"))
        } else {
            MockReply::json(200, &json!({"answer": format!("hello, {auth}")}))
        }
    })
    .expect("server");
    let dir = TestProject::new();
    let e = env_with(dir.path(), &[("BOT_TOKEN", "bot-SECRET-42")]);
    let target = |path: &str| json!({"http": {"url": format!("{}{path}", server.url()), "headers": {"Authorization": "Bearer ${BOT_TOKEN}"}, "output": "$.answer"}});
    let out = run(&e, target("/ask"), json!("q"), dir.path())
        .await
        .expect("answer");
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer bot-SECRET-42")
    );
    assert_eq!(out.text, "hello, Bearer [redacted BOT_TOKEN]");
    let err = run(&e, target("/echo-error"), json!("q"), dir.path())
        .await
        .expect_err("403");
    assert!(
        err.ends_with("answered HTTP 403: token Bearer [redacted BOT_TOKEN] is not allowed"),
        "{err}"
    );
    let unset = env_with(dir.path(), &[]);
    let err = run(&unset, target("/ask"), json!("q"), dir.path())
        .await
        .expect_err("unset");
    insta::assert_snapshot!(err, @"header `Authorization` reads ${BOT_TOKEN}, which is not set (hint: export BOT_TOKEN before the run)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_urls_encode_the_input_by_default() {
    let server = MockServer::start(true, |r, _| MockReply::json(200, &json!({"path": r.path})))
        .expect("server");
    let dir = TestProject::new();
    let e = env_with(dir.path(), &[]);
    let url = format!(
        "{}/ask/{{{{ input }}}}?q={{{{ input }}}}&shop={{{{ shop | urlencode }}}}",
        server.url()
    );
    run(
        &e,
        json!({"http": {"url": url, "method": "GET"}}),
        json!("../../admin?x&admin=1#frag"),
        dir.path(),
    )
    .await
    .expect("answer");
    insta::assert_snapshot!(server.requests()[0].path, @"/ask/..%2F..%2Fadmin%3Fx%26admin%3D1%23frag?q=..%2F..%2Fadmin%3Fx%26admin%3D1%23frag&shop=Acme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_answers_are_bounded() {
    let big = "y".repeat(3 << 20);
    let server = MockServer::start(true, move |r, _| {
        if r.path == "/err" {
            MockReply::raw(500, &big)
        } else {
            MockReply::raw(200, &big)
        }
    })
    .expect("server");
    let dir = TestProject::new();
    let e = env_with(dir.path(), &[]);
    let err = run(
        &e,
        json!({"http": {"url": format!("{}/ok", server.url()), "max_output_bytes": 1048576}}),
        json!("q"),
        dir.path(),
    )
    .await
    .expect_err("too big");
    assert!(
        err.contains("kept the first 1048576 of 3145728 bytes"),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(err.len() < 1000, "{} bytes", err.len());
    let err = run(
        &e,
        json!({"http": {"url": format!("{}/err", server.url())}}),
        json!("q"),
        dir.path(),
    )
    .await
    .expect_err("500");
    assert!(
        err.contains("[error body: kept the first 65536 of"),
        "{}",
        &err[..err.len().min(600)]
    );
    assert!(err.len() < 1000, "{} bytes", err.len());
}

#[test]
fn target_timeouts_must_be_waitable() {
    for (kind, t) in [
        ("command", json!(1e30)),
        ("http", json!(-1)),
        ("command", json!(0)),
    ] {
        let spec = if kind == "command" {
            json!({"command": {"program": "true", "timeout_s": t}})
        } else {
            json!({"http": {"url": "http://127.0.0.1:1/", "timeout_s": t}})
        };
        let err = format!("{:?}", TargetSpec::parse(&spec).expect_err("refused"));
        assert!(
            err.contains("timeout_s") && err.contains("one day"),
            "{err}"
        );
    }
    assert!(TargetSpec::parse(&json!({"command": {"program": "true", "timeout_s": 0.5}})).is_ok());
}

#[tokio::test]
async fn a_prompt_file_over_the_template_limit_is_refused_before_any_call() {
    let dir = TestProject::new();
    std::fs::write(dir.path().join("huge.j2"), "x".repeat((4 << 20) + 1)).expect("write");
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let err = run(
        &e,
        json!({"prompt": {"provider": "bot", "file": "huge.j2"}}),
        json!("q"),
        dir.path(),
    )
    .await
    .expect_err("too big");
    assert!(
        err.ends_with("is 4194305 bytes, more than the 4 MiB a template may have"),
        "{err}"
    );
}

#[tokio::test]
async fn a_prompt_file_that_is_not_a_regular_file_is_named_as_such() {
    let dir = TestProject::new();
    crate::common::make_fifo(&dir.path().join("pipe.j2"));
    let e = env(dir.path(), Mode::Replay, "http://127.0.0.1:1/v1");
    let err = run(
        &e,
        json!({"prompt": {"provider": "bot", "file": "pipe.j2"}}),
        json!("q"),
        dir.path(),
    )
    .await
    .expect_err("a FIFO is refused");
    insta::assert_snapshot!(dir.normalize(&err), @"prompt file [ROOT]/pipe.j2 is not a regular file (hint: a template must be a plain file; a FIFO, device or folder is never read)");
}

/// Every YAML block of docs/providers.md is what it claims: the
/// `tribunal.yaml` example loads as provider configuration, and every
/// `target:` example parses as a target.
#[test]
fn the_provider_docs_examples_load() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/providers.md"))
        .expect("docs/providers.md");
    // Fences are "```yaml", "```yaml case" or "```yaml fragment".
    let blocks: Vec<&str> = doc
        .split("```yaml")
        .skip(1)
        .filter_map(|b| b.split_once('\n'))
        .filter_map(|(_, b)| b.split("\n```").next())
        .collect();
    let mut targets = 0;
    for block in &blocks {
        if let Some(body) = block.strip_prefix("target:\n") {
            let v: Value = serde_saphyr::from_str(body).expect("valid YAML");
            TargetSpec::parse(&v).unwrap_or_else(|e| panic!("{e:?} in\n{block}"));
            targets += 1;
        } else {
            ProjectConfig::parse(block, "docs/providers.md")
                .unwrap_or_else(|e| panic!("{e} in\n{block}"));
        }
    }
    assert_eq!((blocks.len(), targets), (5, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_target_connection_reset_keeps_its_cause() {
    let addr = crate::common::resetting_server().await;
    let dir = TestProject::new();
    let e = env_with(dir.path(), &[]);
    let err = run(
        &e,
        json!({"http": {"url": format!("http://{addr}/ask")}}),
        json!("q"),
        dir.path(),
    )
    .await
    .expect_err("reset");
    assert!(err.contains("Connection reset by peer"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_filtered_prompt_answer_is_an_error() {
    let server = MockServer::start(true, |_, _| openai_stopped("Refunds", "content_filter"))
        .expect("server");
    let dir = TestProject::new();
    let live = env(dir.path(), Mode::Live, &format!("{}/v1", server.url()));
    let err = run(
        &live,
        json!({"prompt": {"provider": "bot", "template": "{{ input }}"}}),
        json!("q"),
        dir.path(),
    )
    .await
    .expect_err("filtered");
    assert!(
        err.contains("the provider's filter stopped the answer (finish reason `content_filter`)"),
        "{err}"
    );
}
