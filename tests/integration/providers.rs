//! The provider layer against real HTTP servers on 127.0.0.1 speaking the
//! OpenAI chat completions and Anthropic Messages wire formats.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use tribunal::datetime::http_date;
use tribunal::provider::mock::{MockReply, MockServer};
use tribunal::provider::{
    CallSite, ChatRequest, Message, Mode, Options, ProjectConfig, ProviderError, Providers,
};

const KEY: &str = "sk-test-SECRET-0123456789";

fn config(base: &str, kind: &str, extra: &str) -> ProjectConfig {
    let text = format!(
        "providers:\n  p:\n    kind: {kind}\n    model: m-1\n    base_url: {base}\n    headers: {{X-Gateway: \"${{GATEWAY_TOKEN}}\"}}\n{extra}retry: {{max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 50, timeout_s: 0.3, budget_s: 10}}\n"
    );
    ProjectConfig::parse(&text, "test").expect("config parses")
}

fn providers(root: &Path, mode: Mode, config: ProjectConfig, with_key: bool) -> Providers {
    let mut env = BTreeMap::from([("GATEWAY_TOKEN".to_string(), "gw-SECRET-token".to_string())]);
    if with_key {
        env.insert("OPENAI_API_KEY".into(), KEY.into());
        env.insert("ANTHROPIC_API_KEY".into(), KEY.into());
    }
    Providers::with_options(
        root,
        Options {
            mode,
            config,
            env,
            inherit_env: false,
            usage_dir: Some(root.join("usage")),
        },
    )
    .expect("providers")
}

fn site(case: &str) -> CallSite {
    CallSite {
        suite: "support".into(),
        case_id: case.into(),
        ..CallSite::default()
    }
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new("", vec![Message::system("Be brief."), Message::user(text)])
}

fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_records_then_replays_without_network_or_key() {
    let server = MockServer::start(true, |_, _| {
        MockReply::openai("Refunds take 5 days.", 11, 6)
    })
    .expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(
        &format!("{}/v1", server.url()),
        "openai",
        "prices: {m-1: {input_per_mtok: 1000000, output_per_mtok: 0}}\n",
    );
    let p = providers(dir.path(), Mode::Record, cfg, true);
    let r = p
        .chat("p", &ask("How long do refunds take?"), &site("refund"))
        .await
        .expect("call");
    assert_eq!(r.text, "Refunds take 5 days.");
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (11, 6));
    assert_eq!(r.cost_usd, Some(11.0));
    assert!(!r.replayed);
    let got = &server.requests()[0];
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(
        got.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(got.header("x-gateway"), Some("gw-SECRET-token"));
    assert_eq!(got.json()["model"], "m-1");
    assert_eq!(got.json()["messages"][0]["role"], "system");

    // No file written anywhere holds a key or secret header.
    let files = all_files(dir.path());
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "yaml")),
        "{files:?}"
    );
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        assert!(
            !text.contains("SECRET"),
            "{} leaks a secret:\n{text}",
            f.display()
        );
    }

    // Replay: the network is unreachable (port 1) and no key is set.
    let offline = config("http://127.0.0.1:1/v1", "openai", "");
    let replay = providers(dir.path(), Mode::Replay, offline, false);
    let again = replay
        .chat("p", &ask("How long do refunds take?"), &site("refund"))
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.text, r.text);
    assert_eq!(again.usage, r.usage);
    assert_eq!(replay.used_keys().len(), 1);
    assert_eq!(server.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_speaks_messages_with_version_header() {
    let server =
        MockServer::start(true, |_, _| MockReply::anthropic("Hello.", 20, 2)).expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let p = providers(
        dir.path(),
        Mode::Live,
        config(&server.url(), "anthropic", ""),
        true,
    );
    let r = p.chat("p", &ask("Hi"), &site("hi")).await.expect("call");
    assert_eq!(r.text, "Hello.");
    assert_eq!(r.finish_reason.as_deref(), Some("end_turn"));
    let got = &server.requests()[0];
    assert_eq!(got.path, "/v1/messages");
    assert_eq!(got.header("x-api-key"), Some(KEY));
    assert_eq!(got.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(got.json()["system"], "Be brief.");
    assert!(all_files(dir.path()).is_empty(), "live mode writes nothing");
}

#[rstest::rstest]
#[case("openai", 400, "Invalid value for 'temperature'")]
#[case("openai", 401, "Incorrect API key provided")]
#[case("anthropic", 400, "max_tokens: Field required")]
#[case("anthropic", 401, "invalid x-api-key")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_fail_fast_with_the_servers_message(
    #[case] kind: &'static str,
    #[case] status: u16,
    #[case] message: &'static str,
) {
    let server = MockServer::start(true, move |_, _| {
        if kind == "openai" {
            MockReply::openai_error(status, message, "invalid_request_error")
        } else {
            MockReply::anthropic_error(status, message, "invalid_request_error")
        }
    })
    .expect("server");
    let base = if kind == "openai" {
        format!("{}/v1", server.url())
    } else {
        server.url()
    };
    let dir = tempfile::tempdir().expect("tmp");
    let p = providers(dir.path(), Mode::Live, config(&base, kind, ""), true);
    let err = p
        .chat("p", &ask("x"), &site("c"))
        .await
        .expect_err("must fail");
    match &err {
        ProviderError::Rejected {
            status: s,
            message: m,
            ..
        } => {
            assert_eq!(*s, status);
            assert!(m.contains(message), "{m}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(server.count(), 1, "no retry on {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_in_seconds_and_http_date_is_honoured() {
    for use_date in [false, true] {
        let header = if use_date {
            http_date(SystemTime::now() + Duration::from_secs(2))
        } else {
            "1".to_string()
        };
        let h = header.clone();
        let server = MockServer::start(true, move |_, i| {
            if i == 0 {
                MockReply::openai_error(429, "Rate limit reached", "requests")
                    .with_header("retry-after", &h)
            } else {
                MockReply::openai("ok", 1, 1)
            }
        })
        .expect("server");
        let dir = tempfile::tempdir().expect("tmp");
        let p = providers(
            dir.path(),
            Mode::Live,
            config(&format!("{}/v1", server.url()), "openai", ""),
            true,
        );
        let t = Instant::now();
        let r = p.chat("p", &ask("x"), &site("c")).await.expect("retried");
        assert_eq!(r.text, "ok");
        assert_eq!(server.count(), 2);
        assert!(
            t.elapsed() >= Duration::from_millis(900),
            "waited {:?} for Retry-After {header}",
            t.elapsed()
        );
        assert_eq!(p.stats().retries, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_retry_then_succeed_or_exhaust() {
    let server = MockServer::start(true, |_, i| {
        if i == 0 {
            MockReply::openai_error(500, "boom", "server_error")
        } else {
            MockReply::openai("fine", 1, 1)
        }
    })
    .expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let p = providers(
        dir.path(),
        Mode::Live,
        config(&format!("{}/v1", server.url()), "openai", ""),
        true,
    );
    assert_eq!(
        p.chat("p", &ask("x"), &site("c")).await.expect("ok").text,
        "fine"
    );

    let always = MockServer::start(true, |_, _| {
        MockReply::anthropic_error(529, "Overloaded", "overloaded_error")
    })
    .expect("server");
    let p = providers(
        dir.path(),
        Mode::Live,
        config(&always.url(), "anthropic", ""),
        true,
    );
    let err = p
        .chat("p", &ask("x"), &site("c"))
        .await
        .expect_err("exhausted");
    assert!(
        matches!(err, ProviderError::Exhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Overloaded"), "{err}");
    assert_eq!(always.count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_server_times_out() {
    let server = MockServer::start(true, |_, _| {
        MockReply::openai("late", 1, 1).after(Duration::from_secs(5))
    })
    .expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let p = providers(
        dir.path(),
        Mode::Live,
        config(&format!("{}/v1", server.url()), "openai", ""),
        true,
    );
    let err = p
        .chat("p", &ask("x"), &site("c"))
        .await
        .expect_err("times out");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(server.count(), 3);
}

#[rstest::rstest]
#[case("{not json", "not JSON")]
#[case(r#"{"id":"x","choices":[]}"#, "choices[0]")]
#[case(r#"{"choices":[{"finish_reason":"stop"}]}"#, "message")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_clear_errors(
    #[case] body: &'static str,
    #[case] needle: &'static str,
) {
    let server = MockServer::start(true, move |_, _| MockReply::raw(200, body)).expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let p = providers(
        dir.path(),
        Mode::Record,
        config(&format!("{}/v1", server.url()), "openai", ""),
        true,
    );
    let err = p
        .chat("p", &ask("x"), &site("c"))
        .await
        .expect_err("malformed");
    assert!(matches!(err, ProviderError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains(needle), "{err}");
    assert!(
        all_files(dir.path()).is_empty(),
        "nothing recorded for a malformed answer"
    );
}

#[tokio::test]
async fn a_replay_miss_names_the_case_request_and_command() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = providers(
        dir.path(),
        Mode::Replay,
        config("http://127.0.0.1:1/v1", "openai", ""),
        false,
    );
    let err = p
        .chat("p", &ask("Where is my parcel?"), &site("parcel"))
        .await
        .expect_err("miss");
    let text = err.to_string();
    assert!(matches!(err, ProviderError::CassetteMiss(_)));
    for needle in [
        "support::parcel",
        "Where is my parcel?",
        "TRIBUNAL_MODE=record",
        "fixtures/cassettes/support/parcel/",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_cassette_is_an_error_not_a_rerecord() {
    let server = MockServer::start(true, |_, _| MockReply::openai("v1", 1, 1)).expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(&format!("{}/v1", server.url()), "openai", "");
    let p = providers(dir.path(), Mode::Record, cfg.clone(), true);
    p.chat("p", &ask("x"), &site("c")).await.expect("recorded");
    let file = p.used_keys().pop().expect("a file");
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, &text[..text.len() / 2]).expect("truncate");
    let auto = providers(dir.path(), Mode::Auto, cfg, true);
    let err = auto
        .chat("p", &ask("x"), &site("c"))
        .await
        .expect_err("corrupt");
    assert!(matches!(err, ProviderError::Cassette(_)), "{err:?}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    assert_eq!(server.count(), 1, "no silent re-record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_samples_record_distinct_entries_and_replay_all() {
    let server = MockServer::start(false, |r, _| {
        let sample = r.json()["messages"][1]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        MockReply::openai(&format!("vote for {sample}"), 1, 1)
    })
    .expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = config(
        &format!("{}/v1", server.url()),
        "openai",
        "limits: {concurrency: 8}\n",
    );
    let p = providers(dir.path(), Mode::Record, cfg.clone(), true);
    let mut set = tokio::task::JoinSet::new();
    for sample in 0..40u32 {
        let p = p.clone();
        set.spawn(async move {
            let mut req = ask("same question");
            req.sample = sample;
            p.chat("p", &req, &site("votes")).await.map(|r| r.text)
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("join").expect("call");
    }
    assert_eq!(server.count(), 40);
    assert_eq!(p.used_keys().len(), 40, "one entry per sample");
    let replay = providers(dir.path(), Mode::Replay, cfg, false);
    for sample in 0..40u32 {
        let mut req = ask("same question");
        req.sample = sample;
        assert!(
            replay
                .chat("p", &req, &site("votes"))
                .await
                .expect("replay")
                .replayed
        );
    }
}

#[tokio::test]
async fn unknown_specs_and_missing_models_are_config_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = providers(dir.path(), Mode::Live, ProjectConfig::default(), false);
    let e = p
        .chat("opnai:gpt-4.1", &ask("x"), &site("c"))
        .await
        .expect_err("unknown");
    assert!(
        e.to_string().contains("unknown provider `opnai:gpt-4.1`"),
        "{e}"
    );
    let e = p
        .chat("openai", &ask("x"), &site("c"))
        .await
        .expect_err("no model");
    assert!(e.to_string().contains("openai:MODEL"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_lists_only_cassettes_no_run_used() {
    let server = MockServer::start(false, |_, _| MockReply::openai("x", 1, 1)).expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    assert!(
        tribunal::cli::providers::unused(root).is_err(),
        "no usage logs yet"
    );
    let cfg = config(&format!("{}/v1", server.url()), "openai", "");
    let p = Providers::with_options(
        root,
        Options {
            mode: Mode::Auto,
            config: cfg,
            env: BTreeMap::from([("GATEWAY_TOKEN".to_string(), "t".to_string())]),
            inherit_env: false,
            usage_dir: Some(tribunal::provider::usage_dir(root)),
        },
    )
    .expect("providers");
    p.chat("p", &ask("kept"), &site("a"))
        .await
        .expect("recorded");
    let stale = root.join("fixtures/cassettes/support/gone/0123456789abcdef0123.yaml");
    std::fs::create_dir_all(stale.parent().expect("parent")).expect("mkdir");
    std::fs::write(&stale, "key: x\n").expect("write");
    let unused = tribunal::cli::providers::unused(root).expect("logs exist");
    assert_eq!(unused, vec![stale]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cassette_files_are_readable_block_yaml() {
    let server = MockServer::start(false, |_, _| MockReply::openai("line one\nline two", 3, 4))
        .expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let p = providers(
        dir.path(),
        Mode::Record,
        config(&format!("{}/v1", server.url()), "openai", ""),
        true,
    );
    p.chat("p", &ask("Explain\nin two lines"), &site("two-lines"))
        .await
        .expect("recorded");
    let file = p.used_keys().pop().expect("file");
    let text = std::fs::read_to_string(&file).expect("read");
    println!("{text}");
    assert!(text.starts_with("key: "), "{text}");
    for needle in [
        "spec: p\n",
        "recorded_at: ",
        "request:\n",
        "response:\n",
        "  text: |",
        "    line two",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

struct Counting {
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

impl tribunal::provider::Provider for Counting {
    fn name(&self) -> &str {
        "counting"
    }
    fn chat<'a>(
        &'a self,
        _request: &'a ChatRequest,
    ) -> tribunal::provider::BoxFuture<'a, Result<tribunal::provider::ChatResponse, ProviderError>>
    {
        use std::sync::atomic::Ordering;
        Box::pin(async move {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            Ok(tribunal::provider::ChatResponse::new("ok"))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_provider_limit_caps_calls_in_flight() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg =
        ProjectConfig::parse("limits: {concurrency: 64, per_provider: 4}\n", "t").expect("cfg");
    let mut p = providers(dir.path(), Mode::Live, cfg, false);
    let counting = std::sync::Arc::new(Counting {
        now: 0.into(),
        peak: 0.into(),
    });
    p.insert("fake", counting.clone());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..32 {
        let p = p.clone();
        set.spawn(async move { p.chat("fake", &ask(&format!("q{i}")), &site("c")).await });
    }
    while let Some(r) = set.join_next().await {
        r.expect("join").expect("call");
    }
    let peak = counting.peak.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=4).contains(&peak), "peak in flight {peak}");
}

#[test]
fn bench_sends_the_key_and_model_to_an_external_server() {
    let server = MockServer::start(true, |r, i| {
        if r.header("authorization") == Some(format!("Bearer {KEY}").as_str()) {
            MockReply::openai(&format!("answer {i}"), 1, 1)
        } else {
            MockReply::openai_error(401, "missing key", "invalid_request_error")
        }
    })
    .expect("server");
    let args = tribunal::cli::providers::BenchArgs {
        cases: 3,
        concurrency: 2,
        latency_ms: 0,
        replay: false,
        base_url: Some(format!("{}/v1", server.url())),
        model: "gateway-model".into(),
        api_key: Some(KEY.into()),
    };
    let report = tribunal::cli::providers::bench(&args).expect("bench runs");
    let models: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r.json()["model"].clone())
        .collect();
    assert_eq!(models, vec![serde_json::json!("gateway-model"); 3]);
    // No latency means no ideal time: the ratio is not a number to print.
    assert_eq!(report.wall_over_ideal(), None);
    let text = report.render();
    assert!(text.contains(" wall_over_ideal=n/a "), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
}
