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

use crate::common::TestProject;

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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
        let dir = TestProject::new();
        // A per-attempt timeout a loaded machine meets: the 0.3 s of the
        // shared config made the answer after the wait time out now and
        // then under the full suite, and a third request was counted.
        let cfg = ProjectConfig::parse(
            &format!(
                "providers:\n  p:\n    kind: openai\n    model: m-1\n    base_url: {}/v1\nretry: {{max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 50, timeout_s: 10, budget_s: 20}}\n",
                server.url()
            ),
            "test",
        )
        .expect("config parses");
        let p = providers(dir.path(), Mode::Live, cfg, true);
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
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
    let kept = p.used_keys().pop().expect("recorded");
    let stale = root
        .join("fixtures/cassettes/support/gone")
        .join(kept.file_name().expect("name"));
    std::fs::create_dir_all(stale.parent().expect("parent")).expect("mkdir");
    std::fs::copy(&kept, &stale).expect("copy");
    // Not cassettes by their content: never candidates.
    std::fs::write(
        root.join("fixtures/cassettes/support/notes.yaml"),
        "key: x\n",
    )
    .expect("write");
    let unused = tribunal::cli::providers::unused(root).expect("logs exist");
    assert_eq!(unused, vec![stale]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_with_the_project_root_as_cassette_folder_removes_only_cassettes() {
    use tribunal::cli::providers::{CassetteAction, Command, run};
    let server = MockServer::start(false, |_, _| MockReply::openai("x", 1, 1)).expect("server");
    let dir = TestProject::new();
    let root = dir.path();
    let yaml = format!(
        "cassettes: {{dir: .}}\nproviders:\n  p:\n    kind: openai\n    model: m-1\n    base_url: {}/v1\n",
        server.url()
    );
    std::fs::write(root.join("tribunal.yaml"), &yaml).expect("write");
    std::fs::create_dir_all(root.join("evals")).expect("mkdir");
    let suite = "suite: support\ncases:\n  - id: a\n    input: x\n    checks: [{contains: x}]\n";
    std::fs::write(root.join("evals/support.yaml"), suite).expect("write");
    let cfg = ProjectConfig::parse(&yaml, "tribunal.yaml").expect("cfg");
    let p = Providers::with_options(
        root,
        Options {
            mode: Mode::Record,
            config: cfg,
            env: BTreeMap::new(),
            inherit_env: false,
            usage_dir: Some(tribunal::provider::usage_dir(root)),
        },
    )
    .expect("providers");
    p.chat("p", &ask("kept"), &site("a"))
        .await
        .expect("recorded");
    p.chat("p", &ask("stale"), &site("b"))
        .await
        .expect("recorded");
    let stale = p
        .used_keys()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("/b/"))
        .expect("stale file");
    // Only the first case's cassette is named by a usage log.
    std::fs::remove_dir_all(tribunal::provider::usage_dir(root)).expect("clear logs");
    let again = Providers::with_options(
        root,
        Options {
            mode: Mode::Replay,
            config: ProjectConfig::parse(&yaml, "tribunal.yaml").expect("cfg"),
            env: BTreeMap::new(),
            inherit_env: false,
            usage_dir: Some(tribunal::provider::usage_dir(root)),
        },
    )
    .expect("providers");
    again
        .chat("p", &ask("kept"), &site("a"))
        .await
        .expect("replayed");
    // A temporary file of a killed writer (pid 999999999 runs nowhere).
    let leftover = root.join("support/a/.0123abcd.yaml.999999999.0.tmp");
    std::fs::write(&leftover, "key: half").expect("write");
    let code = run(Command::Cassettes {
        action: CassetteAction::Prune {
            root: root.to_path_buf(),
            yes: true,
        },
    });
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert!(!stale.exists(), "the unused cassette is removed");
    assert!(!leftover.exists(), "the leftover is removed");
    assert!(
        root.join("tribunal.yaml").exists(),
        "tribunal.yaml is not a cassette"
    );
    assert!(
        root.join("evals/support.yaml").exists(),
        "a suite is not a cassette"
    );
    assert_eq!(again.used_keys().len(), 1);
    assert!(again.used_keys()[0].exists(), "the used cassette stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cassette_files_are_readable_block_yaml() {
    let server = MockServer::start(false, |_, _| MockReply::openai("line one\nline two", 3, 4))
        .expect("server");
    let dir = TestProject::new();
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
    // Several rounds on fresh providers: the first concurrent calls resolve
    // the endpoint at once, which once gave each its own limiter.
    for round in 0..8 {
        let dir = TestProject::new();
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
        assert!(
            (2..=4).contains(&peak),
            "round {round}: peak in flight {peak}"
        );
    }
}

/// A loopback server that counts the requests it is answering at once: every
/// spec reaching one provider (`p`, `p:m-2`, `p:m-3`), and every simultaneous
/// first call through them, shares one per-provider limit. Each spec once
/// built its own limiter, so three specs let three times the limit into flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_provider_reached_by_several_specs_shares_one_limit_in_flight() {
    for (limit, round) in [(4usize, 0), (4, 1), (1, 2), (16, 3)] {
        let server = MockServer::start(false, |_, i| {
            MockReply::openai(&format!("a{i}"), 1, 1).after(Duration::from_millis(15))
        })
        .expect("server");
        let dir = TestProject::new();
        let cfg = config(
            &format!("{}/v1", server.url()),
            "openai",
            &format!("limits: {{concurrency: 64, per_provider: {limit}}}\n"),
        );
        let p = providers(dir.path(), Mode::Live, cfg, true);
        let mut set = tokio::task::JoinSet::new();
        for i in 0..(limit * 6) {
            let p = p.clone();
            let spec = ["p", "p:m-2", "p:m-3"][i % 3];
            set.spawn(async move { p.chat(spec, &ask(&format!("q{i}")), &site("c")).await });
        }
        while let Some(r) = set.join_next().await {
            r.expect("join").expect("call");
        }
        let peak = server.peak_in_flight() as usize;
        assert_eq!(server.count() as usize, limit * 6, "round {round}");
        assert!(
            (1..=limit).contains(&peak),
            "round {round}: {peak} requests in flight at the server with a limit of {limit}"
        );
    }
}

/// With only the trial concurrency set, calls in flight follow it: the
/// documented knob reaches the provider (the per-provider limit once stayed
/// at 16 whatever `TRIBUNAL_CONCURRENCY` said).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_flight_follow_the_trial_concurrency_unless_limits_are_set() {
    let root = TestProject::new();
    let env = tribunal::config::Env::from_vars([("TRIBUNAL_CONCURRENCY", "40")]);
    let resolved = tribunal::config::Config::resolve(root.path(), &env).expect("config");
    assert_eq!(resolved.concurrency, 40);
    assert_eq!(resolved.providers.limits.global(), 40);
    assert_eq!(resolved.providers.limits.per_provider(), 40);
    assert_eq!(
        resolved.providers.limits.describe(resolved.concurrency),
        "40 trials at once · 40 calls in flight · 40 per provider"
    );
    let server = MockServer::start(false, |_, i| {
        MockReply::openai(&format!("a{i}"), 1, 1).after(Duration::from_millis(60))
    })
    .expect("server");
    let mut cfg = config(&format!("{}/v1", server.url()), "openai", "");
    cfg.limits = resolved.providers.limits.clone();
    let p = providers(root.path(), Mode::Live, cfg, true);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let p = p.clone();
        set.spawn(async move { p.chat("p", &ask(&format!("q{i}")), &site("c")).await });
    }
    while let Some(r) = set.join_next().await {
        r.expect("join").expect("call");
    }
    // 40 calls of 60 ms all at once: far more than the old fixed 16.
    assert!(server.peak_in_flight() > 16, "{}", server.peak_in_flight());
    root.write("tribunal.yaml", "limits: {per_provider: 3}\n");
    let resolved = tribunal::config::Config::resolve(root.path(), &env).expect("config");
    assert_eq!(
        resolved.providers.limits.describe(resolved.concurrency),
        "40 trials at once · 40 calls in flight · 3 per provider"
    );
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
        e2e: false,
        target: false,
        dir: None,
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
    // An external server's latency is unknown whatever --latency-ms says.
    let args = tribunal::cli::providers::BenchArgs {
        latency_ms: 50,
        ..args
    };
    let report = tribunal::cli::providers::bench(&args).expect("bench runs");
    assert_eq!(report.wall_over_ideal(), None, "{}", report.render());
}

/// A provider block `p` with `provider_lines` (indented 4) and a retry policy.
fn config_with(base: &str, kind: &str, provider_lines: &str, retry: &str) -> ProjectConfig {
    let text = format!(
        "providers:\n  p:\n    kind: {kind}\n    model: m-1\n    base_url: {base}\n{provider_lines}retry: {retry}\n"
    );
    ProjectConfig::parse(&text, "test").expect("config parses")
}

#[rstest::rstest]
#[case::seconds_1e30("retry-after", "1e30")]
#[case::seconds_u64_overflow("retry-after", "10000000000000000000")]
#[case::milliseconds("retry-after-ms", "1e300")]
#[case::year_9999("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_retry_after_ends_the_call_instead_of_panicking(
    #[case] header: &'static str,
    #[case] value: &'static str,
) {
    let server = MockServer::start(true, move |_, _| {
        MockReply::openai_error(429, "Rate limit reached", "requests").with_header(header, value)
    })
    .expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "",
        "{max_attempts: 3, budget_s: 5, timeout_s: 1}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, true);
    let t = Instant::now();
    let err = p
        .chat("p", &ask("x"), &site("c"))
        .await
        .expect_err("must give up");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let text = err.to_string();
    assert!(
        text.contains("Rate limit reached") && text.contains("would pass the 5s budget"),
        "{text}"
    );
    assert_eq!(server.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_past_the_budget_fails_later_calls_at_once_with_the_reason() {
    let server = MockServer::start(true, |_, i| {
        if i == 0 {
            MockReply::openai_error(429, "Rate limit reached for gpt-x", "requests")
                .with_header("retry-after", "3600")
        } else {
            MockReply::openai("ok", 1, 1)
        }
    })
    .expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "",
        "{max_attempts: 3, budget_s: 5, timeout_s: 1}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, true);
    p.chat("p", &ask("first"), &site("a"))
        .await
        .expect_err("the first call gives up: 3600 s is past its budget");
    let t = Instant::now();
    let later = tokio::time::timeout(
        Duration::from_secs(4),
        p.chat("p", &ask("second"), &site("b")),
    )
    .await
    .expect("a later call must not wait for the pause")
    .expect_err("paused past its budget");
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(matches!(later, ProviderError::Paused { .. }), "{later:?}");
    let text = later.to_string();
    assert!(
        text.contains("HTTP 429: Rate limit reached for gpt-x") && text.contains("not sent"),
        "{text}"
    );
    assert_eq!(
        server.count(),
        1,
        "the paused call never reached the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_queued_for_a_slot_when_a_long_pause_starts_are_not_sent() {
    // One call in flight at a time: the second and third wait for the slot
    // while the first gets the 429 that pauses the provider for an hour.
    let server = MockServer::start(true, |_, _| {
        MockReply::openai_error(429, "Rate limit reached for gpt-x", "requests")
            .with_header("retry-after", "3600")
            .after(Duration::from_millis(300))
    })
    .expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "    concurrency: 1\n",
        "{max_attempts: 3, budget_s: 5, timeout_s: 2}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, true);
    let asks = [ask("first"), ask("second"), ask("third")];
    let sites = [site("a"), site("b"), site("c")];
    let (a, b, c) = tokio::join!(
        p.chat("p", &asks[0], &sites[0]),
        p.chat("p", &asks[1], &sites[1]),
        p.chat("p", &asks[2], &sites[2]),
    );
    let errors = [a, b, c].map(|r| r.expect_err("every call fails"));
    let paused = errors
        .iter()
        .filter(|e| matches!(e, ProviderError::Paused { .. }))
        .count();
    assert_eq!(
        server.count(),
        1,
        "only the first call reached the server: {errors:?}"
    );
    assert_eq!(paused, 2, "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_never_outlives_its_budget() {
    // budget 6 s / timeout 4 s, scaled down by 5: two attempts would take 1.6 s.
    let server = MockServer::start(true, |_, _| {
        MockReply::openai("late", 1, 1).after(Duration::from_secs(5))
    })
    .expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "",
        "{max_attempts: 6, initial_backoff_ms: 10, max_backoff_ms: 10, budget_s: 1.2, timeout_s: 0.8}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, true);
    let t = Instant::now();
    let err = p
        .chat("p", &ask("x"), &site("c"))
        .await
        .expect_err("times out");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1150) && took < Duration::from_millis(1500),
        "took {took:?} for a 1.2 s budget"
    );
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(server.count(), 2, "the second attempt gets only the rest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_latency_leaves_out_the_wait_for_a_concurrency_slot() {
    let server = MockServer::start(true, |_, _| {
        MockReply::openai("ok", 1, 1).after(Duration::from_millis(100))
    })
    .expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "    concurrency: 1\n",
        "{max_attempts: 1, timeout_s: 5}",
    );
    let p = providers(dir.path(), Mode::Record, cfg, true);
    // Timed from before the spawns: a spawned call may start at once.
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..8 {
        let p = p.clone();
        set.spawn(async move { p.chat("p", &ask(&format!("q{i}")), &site("c")).await });
    }
    let mut latencies = Vec::new();
    while let Some(r) = set.join_next().await {
        latencies.push(r.expect("join").expect("call").latency_ms);
    }
    // One slot, eight calls: the last one waited for seven others. Without
    // the queue, each latency is one server delay, far below the whole run.
    let total = t.elapsed().as_secs_f64() * 1000.0;
    assert!(total >= 800.0, "the calls queued: {total} ms");
    for l in &latencies {
        assert!(
            *l >= 100.0 && *l < total / 2.0,
            "latency {l} ms of a {total} ms run: {latencies:?}"
        );
    }
    for f in p.used_keys() {
        let text = std::fs::read_to_string(&f).expect("read");
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("latency_ms:"))
            .expect("latency recorded");
        let ms: f64 = line
            .split(':')
            .nth(1)
            .expect("value")
            .trim()
            .parse()
            .expect("number");
        assert!(ms < total / 2.0, "{} records {ms} ms", f.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_values_substitute_variables_inside_and_unset_ones_are_named() {
    let server = MockServer::start(true, |_, _| MockReply::openai("ok", 1, 1)).expect("server");
    let dir = TestProject::new();
    let base = format!("{}/v1", server.url());
    let cfg = config_with(
        &base,
        "openai",
        "    headers: {X-Gateway: \"Bearer ${GATEWAY_TOKEN} team=${TEAM}\"}\n",
        "{max_attempts: 1}",
    );
    let mut env = BTreeMap::from([
        ("GATEWAY_TOKEN".to_string(), "gw-SECRET-token".to_string()),
        ("TEAM".to_string(), "evals".to_string()),
    ]);
    let opts = |env: BTreeMap<String, String>, cfg| Options {
        mode: Mode::Live,
        config: cfg,
        env,
        inherit_env: false,
        usage_dir: None,
    };
    let p = Providers::with_options(dir.path(), opts(env.clone(), cfg.clone())).expect("p");
    p.chat("p", &ask("x"), &site("c")).await.expect("call");
    assert_eq!(
        server.requests()[0].header("x-gateway"),
        Some("Bearer gw-SECRET-token team=evals")
    );
    env.remove("TEAM");
    let p = Providers::with_options(dir.path(), opts(env, cfg)).expect("p");
    let err = p.chat("p", &ask("x"), &site("c")).await.expect_err("unset");
    insta::assert_snapshot!(err.to_string(), @"header `X-Gateway` of provider `p` reads ${TEAM}, which is not set (hint: set TEAM, or write the value without `${...}`)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_echoed_by_the_server_is_redacted_everywhere() {
    let server = MockServer::start(true, |r, i| {
        let auth = r.header("authorization").unwrap_or("").to_string();
        let gw = r.header("x-gateway").unwrap_or("").to_string();
        if i == 0 {
            MockReply::openai_error(401, &format!("Incorrect API key provided: {auth}"), "auth")
        } else {
            MockReply::openai(&format!("you sent {auth} and {gw}"), 1, 1)
        }
    })
    .expect("server");
    let dir = TestProject::new();
    let p = providers(
        dir.path(),
        Mode::Record,
        config(&format!("{}/v1", server.url()), "openai", ""),
        true,
    );
    let err = p.chat("p", &ask("x"), &site("c")).await.expect_err("401");
    insta::assert_snapshot!(err.to_string(), @"p answered HTTP 401: Incorrect API key provided: Bearer [redacted OPENAI_API_KEY]");
    let r = p.chat("p", &ask("x"), &site("c")).await.expect("answer");
    assert_eq!(
        r.text,
        "you sent Bearer [redacted OPENAI_API_KEY] and [redacted GATEWAY_TOKEN]"
    );
    for f in all_files(dir.path()) {
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(!text.contains("SECRET"), "{} leaks:\n{text}", f.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_says_when_the_key_variable_is_unset() {
    let server = MockServer::start(true, |_, _| {
        MockReply::openai_error(401, "Missing bearer token", "auth")
    })
    .expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "    api_key_env: GATEWAY_KEY\n",
        "{max_attempts: 1}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, false);
    let err = p.chat("p", &ask("x"), &site("c")).await.expect_err("401");
    insta::assert_snapshot!(err.to_string(), @"p answered HTTP 401: Missing bearer token (hint: GATEWAY_KEY is not set, so no key was sent; set it to the provider's key)");
    assert_eq!(server.requests()[0].header("authorization"), None);
}

/// llama.cpp's server: 500 with a validation message for `json_schema`,
/// answers `json_object` requests.
fn llama_cpp(r: &tribunal::provider::mock::MockRequest, _: u64) -> MockReply {
    let body = r.json();
    match body["response_format"]["type"].as_str() {
        Some("json_schema") => MockReply::json(
            500,
            &serde_json::json!({"error": {"code": 500, "message": "1 validation error for ResponseFormat\ntype\n  Input should be 'text' or 'json_object'", "type": "server_error"}}),
        ),
        _ => MockReply::openai(r#"{"score": 4}"#, 5, 3),
    }
}

fn scored() -> ChatRequest {
    let mut request = ask("Score it.");
    request.response_format = Some(tribunal::provider::ResponseFormat::JsonSchema {
        name: "verdict".into(),
        schema: serde_json::json!({"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}),
    });
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_output_falls_back_to_json_object_and_records_the_mode() {
    let server = MockServer::start(true, llama_cpp).expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "",
        "{max_attempts: 6, initial_backoff_ms: 200}",
    );
    let p = providers(dir.path(), Mode::Record, cfg.clone(), true);
    let t = Instant::now();
    let r = p.chat("p", &scored(), &site("c")).await.expect("fallback");
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "no retries of the 500"
    );
    assert_eq!(r.json, Some(serde_json::json!({"score": 4})));
    assert_eq!(r.structured_output.as_deref(), Some("json_object"));
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].json()["messages"][0]["content"]
            .as_str()
            .unwrap_or("")
            .contains("\"required\":[\"score\"]"),
        "the schema is in the prompt: {}",
        sent[1].json()
    );
    // Later calls go straight to the mode that worked.
    p.chat("p", &ask("other").clone(), &site("d"))
        .await
        .expect("plain");
    let mut again = scored();
    again.sample = 1;
    p.chat("p", &again, &site("c")).await.expect("second");
    assert_eq!(server.count(), 4);
    let file = p.used_keys().into_iter().next().expect("recorded");
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains("structured_output: json_object"), "{text}");
    let replay = providers(dir.path(), Mode::Replay, cfg, false);
    let back = replay
        .chat("p", &scored(), &site("c"))
        .await
        .expect("replay");
    assert_eq!(back.json, r.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_json_object_answer_that_misses_the_schema_is_an_error() {
    let server = MockServer::start(true, |_, _| MockReply::openai(r#"{"grade": "A"}"#, 1, 1))
        .expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "    structured_output: json_object\n",
        "{max_attempts: 1}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, true);
    let err = p
        .chat("p", &scored(), &site("c"))
        .await
        .expect_err("mismatch");
    assert_eq!(
        server.requests()[0].json()["response_format"]["type"],
        "json_object"
    );
    insta::assert_snapshot!(err.to_string(), @r#"p: malformed response: the answer does not match the schema (json_object mode): "score" is a required property; answer: {"grade": "A"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_keeps_its_cause() {
    let addr = crate::common::resetting_server().await;
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("http://{addr}/v1"),
        "openai",
        "",
        "{max_attempts: 1}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, true);
    let err = p.chat("p", &ask("x"), &site("c")).await.expect_err("reset");
    let text = err.to_string();
    assert!(text.contains("reset by peer"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_error_body_is_bounded_and_says_so() {
    let big = "x".repeat(3 << 20);
    let server = MockServer::start(true, move |_, _| MockReply::raw(400, &big)).expect("server");
    let dir = TestProject::new();
    let p = providers(
        dir.path(),
        Mode::Live,
        config(&format!("{}/v1", server.url()), "openai", ""),
        true,
    );
    let err = p.chat("p", &ask("x"), &site("c")).await.expect_err("400");
    let text = err.to_string();
    assert!(text.len() < 1000, "{} bytes", text.len());
    assert!(
        text.contains("[error body: kept the first 65536 of"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_names_what_changed_and_keyless_servers_need_no_key() {
    let server = MockServer::start(true, |_, _| MockReply::openai("ok", 1, 1)).expect("server");
    let dir = TestProject::new();
    let base = format!("{}/v1", server.url());
    let cfg = config_with(&base, "openai", "", "{max_attempts: 1}");
    let p = providers(dir.path(), Mode::Record, cfg, false);
    p.chat("p", &ask("Where is my parcel?"), &site("parcel"))
        .await
        .expect("recorded");
    drop(server);
    // The prompt changed and the local server is down.
    let down = config_with("http://127.0.0.1:1/v1", "openai", "", "{max_attempts: 1}");
    let auto = providers(dir.path(), Mode::Auto, down.clone(), false);
    let err = auto
        .chat("p", &ask("Where is my parcel now?"), &site("parcel"))
        .await
        .expect_err("down");
    let text = err.to_string();
    assert!(text.contains("no recorded answer"), "{text}");
    assert!(
        text.contains("differs from the one in") && text.contains("in `messages[1].content`"),
        "{text}"
    );
    assert!(text.contains("connection failed"), "{text}");
    let replay = providers(dir.path(), Mode::Replay, down, false);
    let err = replay
        .chat("p", &ask("Where is my parcel now?"), &site("parcel"))
        .await
        .expect_err("miss");
    let text = err.to_string();
    assert!(text.contains("in `messages[1].content`"), "{text}");
    assert!(
        !text.contains("OPENAI_API_KEY"),
        "a local server needs no key: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_validation_answer_is_not_retried_when_the_mode_is_forced() {
    let server = MockServer::start(true, llama_cpp).expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "    structured_output: json_schema\n",
        "{max_attempts: 6, initial_backoff_ms: 200}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, true);
    let err = p
        .chat("p", &scored(), &site("c"))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ProviderError::Rejected { status: 500, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("Input should be 'text' or 'json_object'"),
        "{err}"
    );
    assert_eq!(server.count(), 1, "a validation answer is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_output_falls_back_to_a_forced_tool_call_when_no_response_format_works() {
    let server = MockServer::start(true, |r, _| {
        let body = r.json();
        if body.get("response_format").is_some() {
            return MockReply::openai_error(400, "response_format is not supported by this model", "invalid_request_error");
        }
        let name = body["tool_choice"]["function"]["name"].as_str().unwrap_or("").to_string();
        MockReply::json(
            200,
            &serde_json::json!({
                "id": "c", "object": "chat.completion", "created": 0, "model": "m-1",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                    "tool_calls": [{"id": "t1", "type": "function", "function": {"name": name, "arguments": "{\"score\": 3}"}}]}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1}
            }),
        )
    })
    .expect("server");
    let dir = TestProject::new();
    let cfg = config_with(
        &format!("{}/v1", server.url()),
        "openai",
        "",
        "{max_attempts: 2}",
    );
    let p = providers(dir.path(), Mode::Live, cfg, true);
    let r = p
        .chat("p", &scored(), &site("c"))
        .await
        .expect("tool fallback");
    assert_eq!(r.json, Some(serde_json::json!({"score": 3})));
    assert_eq!(r.structured_output.as_deref(), Some("tools"));
    assert!(
        r.tool_calls.is_empty(),
        "the answer's tool call is the answer"
    );
    let kinds: Vec<String> = server
        .requests()
        .iter()
        .map(|q| {
            let b = q.json();
            b["response_format"]["type"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("tool {}", b["tool_choice"]["function"]["name"]))
        })
        .collect();
    assert_eq!(kinds, ["json_schema", "json_object", "tool \"verdict\""]);
}

/// The end-to-end benchmark runs a generated suite through the whole harness
/// against the loopback server: every phase passes every trial, live phases
/// make one call per case (two with a prompt target), replays none, and the
/// first run leaves one pending snapshot per case.
#[test]
fn the_end_to_end_bench_runs_every_phase_through_the_harness() {
    use tribunal::cli::bench_e2e::{E2eArgs, run};
    for target in [false, true] {
        let dir = TestProject::new();
        let args = E2eArgs {
            cases: 12,
            concurrency: 4,
            latency_ms: 5,
            target,
            dir: Some(dir.join("bench")),
        };
        let report = run(&args).expect("the bench runs");
        let per_case = if target { 2 } else { 1 };
        let phases: Vec<(&str, u64)> = report.phases.iter().map(|p| (p.name, p.calls)).collect();
        assert_eq!(
            phases,
            vec![
                ("cold", 12 * per_case),
                ("record", 12 * per_case),
                ("warm", 0),
                ("first", 0)
            ]
        );
        // 12 cases, 4 at once, 5 ms per call: 3 rounds of 1 or 2 calls.
        let cold = report.phase("cold").expect("cold");
        assert_eq!(cold.ideal_s, Some(0.015 * per_case as f64));
        assert!(report.phase("warm").expect("warm").ideal_s.is_none());
        assert!(
            (1500..3000).contains(&report.judge_prompt_bytes),
            "judge prompt of {} bytes",
            report.judge_prompt_bytes
        );
        let cassettes = all_files(&dir.join("bench/fixtures/cassettes"));
        assert!(!cassettes.is_empty(), "the record phase wrote cassettes");
        let text = report.render();
        assert!(
            text.contains("e2e phase=warm cases=12 concurrency=4 "),
            "{text}"
        );
        assert!(
            text.contains("first run (pending snapshots) / accepted run: "),
            "{text}"
        );
    }
}
