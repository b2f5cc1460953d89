//! Provider batch APIs end to end: a suite run in `batch` mode queues its
//! uncached calls, `tribunal batch submit` sends them to a loopback server
//! implementing OpenAI's Batch API (files endpoints, multipart upload) or
//! Anthropic's Message Batches, `tribunal batch collect` records the
//! answers to cassettes, and a replay run passes from them.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tribunal::provider::mock::{MockReply, MockRequest, MockServer};

use crate::common::{CliOutput, TestProject};

const OPENAI_KEY: &str = "sk-batch-test-0123456789";
const ANTHROPIC_KEY: &str = "sk-ant-batch-test-0123456789";

/// Three prompt cases; the stand-in answers `answer to: <input>`.
fn suite(inputs: &[&str]) -> String {
    let mut s = String::from("suite: s\ncases:\n");
    for (i, input) in inputs.iter().enumerate() {
        s.push_str(&format!(
            "  - id: c{i}\n    input: {input}\n    target:\n      prompt:\n        provider: llm\n        template: \"{{{{ input }}}}\"\n    checks:\n      - contains: \"answer to\"\n"
        ));
    }
    s
}

fn project(kind: &str, base: &str, inputs: &[&str]) -> TestProject {
    let (model, key_env) = match kind {
        "openai" => ("gpt-4.1-mini", "TEST_OPENAI_KEY"),
        _ => ("claude-haiku-4-5", "TEST_ANTHROPIC_KEY"),
    };
    let config = format!(
        "providers:\n  llm:\n    kind: {kind}\n    model: {model}\n    base_url: {base}\n    api_key_env: {key_env}\n    retry: {{max_attempts: 1}}\nreports: {{history: 'off'}}\n"
    );
    TestProject::with(&[("evals/s.yaml", &suite(inputs)), ("tribunal.yaml", &config)])
}

/// `tribunal test` in `batch` mode, or in `replay` mode.
fn run_suite(p: &TestProject, batch: bool) -> CliOutput {
    let t = p.tribunal(&["test", "--root", &p.root_arg(), "--", "--test-threads", "1"]);
    if batch {
        t.env("TRIBUNAL_MODE", "batch").output()
    } else {
        // Replay: no call can go out; the verdicts' snapshots are accepted.
        t.env("TRIBUNAL_MODE", "replay")
            .env("INSTA_UPDATE", "always")
            .output()
    }
}

fn batch_cmd(p: &TestProject, args: &[&str]) -> CliOutput {
    let mut all = vec![
        "batch".to_string(),
        args[0].to_string(),
        "--root".into(),
        p.root_arg(),
    ];
    all.extend(args[1..].iter().map(|s| s.to_string()));
    p.tribunal(&all)
        .env("TEST_OPENAI_KEY", OPENAI_KEY)
        .env("TEST_ANTHROPIC_KEY", ANTHROPIC_KEY)
        .output()
}

/// How a fake batch ends.
#[derive(Clone, Copy, PartialEq)]
enum Ending {
    /// Every request answered; an input containing `FAIL` answered 400
    /// (OpenAI) or `errored`, one containing `EXPIRE` `expired` (Anthropic).
    Completed,
    /// The batch expired: only the first request was answered; the rest
    /// are in no file.
    Expired,
}

/// A batch the fake holds: its id, its requests as (custom_id, body), and
/// how many times it was polled.
type FakeBatch = (String, Vec<(String, Value)>, u32);

/// The fake's memory: uploaded files, batches, and what it was asked.
#[derive(Default)]
struct Fake {
    files: Vec<(String, Vec<u8>)>,
    batches: Vec<FakeBatch>,
    uploads: u32,
    creates: u32,
    /// Creates to refuse with a 503 before accepting one.
    refuse_creates: u32,
}

/// The parts of a `multipart/form-data` body: (name, content).
fn multipart_parts(req: &MockRequest) -> Vec<(String, Vec<u8>)> {
    let ct = req.header("content-type").unwrap_or_default();
    let Some(boundary) = ct.split("boundary=").nth(1) else {
        return vec![];
    };
    let delim = format!("--{boundary}");
    let body = &req.body;
    let mut starts = vec![];
    let mut i = 0;
    while i + delim.len() <= body.len() {
        if &body[i..i + delim.len()] == delim.as_bytes() {
            starts.push(i);
            i += delim.len();
        } else {
            i += 1;
        }
    }
    let mut parts = vec![];
    for w in starts.windows(2) {
        let part = &body[w[0] + delim.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string();
        parts.push((name, part[split + 4..].to_vec()));
    }
    parts
}

fn last_user(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn chat_completion(body: &Value) -> Value {
    json!({
        "id": "chatcmpl-b", "object": "chat.completion", "created": 0, "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("answer to: {}", last_user(body))}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
    })
}

/// A loopback server implementing OpenAI's files and batches endpoints.
fn openai_server(ending: Ending, fake: Arc<Mutex<Fake>>) -> MockServer {
    MockServer::start(true, move |req, _| {
        let mut f = fake.lock().expect("fake");
        if req.header("authorization") != Some(&format!("Bearer {OPENAI_KEY}")) {
            return MockReply::openai_error(401, "Incorrect API key provided: sk-wrong.", "invalid_request_error");
        }
        let path = req.path.as_str();
        match (req.method.as_str(), path) {
            ("POST", "/v1/files") => {
                let parts = multipart_parts(req);
                let purpose = parts.iter().find(|(n, _)| n == "purpose").map(|(_, v)| v.clone());
                let file = parts.iter().find(|(n, _)| n == "file").map(|(_, v)| v.clone());
                let (Some(b"batch"), Some(file)) = (purpose.as_deref(), file) else {
                    return MockReply::openai_error(400, "expected purpose=batch and a file", "invalid_request_error");
                };
                f.uploads += 1;
                let id = format!("file-in-{}", f.files.len() + 1);
                f.files.push((id.clone(), file));
                MockReply::json(200, &json!({"id": id, "object": "file", "purpose": "batch"}))
            }
            ("POST", "/v1/batches") => {
                let b = req.json();
                if b["endpoint"] != "/v1/chat/completions" || b["completion_window"] != "24h" {
                    return MockReply::openai_error(400, "bad endpoint or window", "invalid_request_error");
                }
                if f.refuse_creates > 0 {
                    f.refuse_creates -= 1;
                    return MockReply::openai_error(503, "The server is overloaded.", "server_error");
                }
                let Some((_, file)) = f.files.iter().find(|(id, _)| *id == b["input_file_id"]) else {
                    return MockReply::openai_error(404, "no such file", "invalid_request_error");
                };
                let mut requests = vec![];
                for line in String::from_utf8_lossy(file).lines() {
                    let l: Value = serde_json::from_str(line).expect("input line is JSON");
                    assert_eq!(l["method"], "POST");
                    assert_eq!(l["url"], "/v1/chat/completions");
                    requests.push((l["custom_id"].as_str().expect("custom_id").to_string(), l["body"].clone()));
                }
                f.creates += 1;
                let id = format!("batch_{}", f.batches.len() + 1);
                f.batches.push((id.clone(), requests, 0));
                MockReply::json(200, &json!({"id": id, "object": "batch", "status": "validating", "input_file_id": b["input_file_id"]}))
            }
            ("GET", p) if p.starts_with("/v1/batches/") => {
                let id = p.trim_start_matches("/v1/batches/").to_string();
                let Some(i) = f.batches.iter().position(|(b, _, _)| *b == id) else {
                    return MockReply::openai_error(404, "no such batch", "invalid_request_error");
                };
                f.batches[i].2 += 1;
                if f.batches[i].2 == 1 {
                    return MockReply::json(200, &json!({"id": id, "status": "in_progress", "output_file_id": null, "error_file_id": null}));
                }
                let (mut out, mut err) = (String::new(), String::new());
                for (n, (cid, body)) in f.batches[i].1.iter().enumerate() {
                    if ending == Ending::Expired && n > 0 {
                        continue;
                    }
                    if last_user(body).contains("FAIL") {
                        let line = json!({"id": format!("batch_req_{n}"), "custom_id": cid, "response": {"status_code": 400, "request_id": "r", "body": {"error": {"message": "Invalid 'messages[0].content': string too long.", "type": "invalid_request_error"}}}, "error": null});
                        err.push_str(&format!("{line}\n"));
                    } else {
                        let line = json!({"id": format!("batch_req_{n}"), "custom_id": cid, "response": {"status_code": 200, "request_id": "r", "body": chat_completion(body)}, "error": null});
                        out.push_str(&format!("{line}\n"));
                    }
                }
                let out_id = format!("file-out-{id}");
                let err_id = (!err.is_empty()).then(|| format!("file-err-{id}"));
                f.files.push((out_id.clone(), out.into_bytes()));
                if let Some(e) = &err_id {
                    f.files.push((e.clone(), err.into_bytes()));
                }
                let status = if ending == Ending::Expired { "expired" } else { "completed" };
                MockReply::json(200, &json!({"id": id, "status": status, "output_file_id": out_id, "error_file_id": err_id}))
            }
            ("GET", p) if p.starts_with("/v1/files/") && p.ends_with("/content") => {
                let id = p.trim_start_matches("/v1/files/").trim_end_matches("/content");
                match f.files.iter().rev().find(|(f, _)| f == id) {
                    Some((_, bytes)) => MockReply::raw(200, &String::from_utf8_lossy(bytes)),
                    None => MockReply::openai_error(404, "no such file", "invalid_request_error"),
                }
            }
            _ => MockReply::openai_error(404, &format!("no route {} {path}", req.method), "invalid_request_error"),
        }
    })
    .expect("server")
}

/// A loopback server implementing Anthropic's Message Batches.
/// A fake OpenAI batch server ending as `ending`, and a project whose
/// suite asks it one question per input.
fn openai_project(
    fake: Fake,
    ending: Ending,
    inputs: &[&str],
) -> (Arc<Mutex<Fake>>, MockServer, TestProject) {
    let fake = Arc::new(Mutex::new(fake));
    let server = openai_server(ending, Arc::clone(&fake));
    let p = project("openai", &format!("{}/v1", server.url()), inputs);
    (fake, server, p)
}

fn anthropic_server(fake: Arc<Mutex<Fake>>) -> MockServer {
    MockServer::start(true, move |req, _| {
        let mut f = fake.lock().expect("fake");
        if req.header("x-api-key") != Some(ANTHROPIC_KEY) || req.header("anthropic-version").is_none() {
            return MockReply::anthropic_error(401, "invalid x-api-key", "authentication_error");
        }
        let host = req.header("host").unwrap_or_default().to_string();
        let path = req.path.as_str();
        match (req.method.as_str(), path) {
            ("POST", "/v1/messages/batches") => {
                let b = req.json();
                let requests: Vec<(String, Value)> = b["requests"]
                    .as_array()
                    .expect("requests")
                    .iter()
                    .map(|r| (r["custom_id"].as_str().expect("custom_id").to_string(), r["params"].clone()))
                    .collect();
                f.creates += 1;
                let id = format!("msgbatch_{}", f.batches.len() + 1);
                f.batches.push((id.clone(), requests, 0));
                MockReply::json(200, &json!({"id": id, "type": "message_batch", "processing_status": "in_progress", "results_url": null}))
            }
            ("GET", p) if p.starts_with("/v1/messages/batches/") && p.ends_with("/results") => {
                let id = p.trim_start_matches("/v1/messages/batches/").trim_end_matches("/results");
                let Some((_, requests, _)) = f.batches.iter().find(|(b, _, _)| b == id) else {
                    return MockReply::anthropic_error(404, "no such batch", "not_found_error");
                };
                let mut out = String::new();
                for (cid, body) in requests {
                    let text = last_user(body);
                    let result = if text.contains("FAIL") {
                        json!({"type": "errored", "error": {"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long"}}})
                    } else if text.contains("EXPIRE") {
                        json!({"type": "expired"})
                    } else {
                        json!({"type": "succeeded", "message": {
                            "id": "msg_b", "type": "message", "role": "assistant", "model": body["model"],
                            "content": [{"type": "text", "text": format!("answer to: {text}")}],
                            "stop_reason": "end_turn", "usage": {"input_tokens": 1000, "output_tokens": 500}}})
                    };
                    out.push_str(&format!("{}\n", json!({"custom_id": cid, "result": result})));
                }
                MockReply::raw(200, &out)
            }
            ("GET", p) if p.starts_with("/v1/messages/batches/") => {
                let id = p.trim_start_matches("/v1/messages/batches/").to_string();
                let Some(i) = f.batches.iter().position(|(b, _, _)| *b == id) else {
                    return MockReply::anthropic_error(404, "no such batch", "not_found_error");
                };
                f.batches[i].2 += 1;
                if f.batches[i].2 == 1 {
                    return MockReply::json(200, &json!({"id": id, "processing_status": "in_progress", "results_url": null}));
                }
                MockReply::json(200, &json!({"id": id, "processing_status": "ended",
                    "results_url": format!("http://{host}/v1/messages/batches/{id}/results")}))
            }
            _ => MockReply::anthropic_error(404, "no route", "not_found_error"),
        }
    })
    .expect("server")
}

/// The lines of a suite run that say what batch mode did.
fn queued_lines(out: &CliOutput, p: &TestProject) -> String {
    let text = p.normalize(&out.text());
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("queued request"))
        .map(|l| l.trim().trim_start_matches("error: "))
        .collect();
    lines.sort();
    lines.dedup();
    lines.join("\n")
}

/// A command's exit code and output, normalized, the server's address too.
fn snap(out: &CliOutput, server: &MockServer) -> String {
    out.snapshot().replace(&server.url(), "[SERVER]")
}

fn cassettes(p: &TestProject) -> Vec<String> {
    p.files_under("fixtures/cassettes")
}

#[test]
fn openai_batch_records_every_answer_and_a_replay_passes() {
    let (fake, server, p) = openai_project(
        Fake::default(),
        Ending::Completed,
        &["alpha", "beta", "gamma"],
    );

    let run = run_suite(&p, true);
    assert_eq!(run.code, Some(101), "{}", run.text());
    assert!(
        cassettes(&p).is_empty(),
        "batch mode records nothing itself"
    );
    insta::assert_snapshot!("openai_queued", queued_lines(&run, &p));
    assert!(
        run.stderr.contains(
            "tribunal: batch mode queued 3 model call(s) under target/tribunal/batches/pending/"
        ),
        "{}",
        run.text()
    );
    // Nothing was sent by the run.
    assert_eq!(server.count(), 0);

    let submit = batch_cmd(&p, &["submit"]);
    insta::assert_snapshot!("openai_submit", snap(&submit, &server));
    assert!(p.files_under("target/tribunal/batches/pending").is_empty());
    // `status` asks the provider (the fake's first poll: in progress) and records nothing.
    let status = batch_cmd(&p, &["status"]);
    insta::assert_snapshot!("openai_status", snap(&status, &server));
    assert!(cassettes(&p).is_empty());
    // In CI nothing in the tree is written, so collecting is refused.
    let in_ci = p
        .tribunal(&["batch", "collect", "--root", &p.root_arg()])
        .env("TEST_OPENAI_KEY", OPENAI_KEY)
        .ci(true)
        .output();
    assert_eq!(in_ci.code, Some(2), "{}", in_ci.text());
    assert!(
        in_ci
            .stderr
            .contains("nothing in the tree is written in CI"),
        "{}",
        in_ci.text()
    );

    let collect = batch_cmd(&p, &["collect", "--wait", "20s", "--poll", "50ms"]);
    insta::assert_snapshot!("openai_collect", snap(&collect, &server));
    assert_eq!(cassettes(&p).len(), 3);
    let one = p.read(&cassettes(&p)[0]);
    assert!(one.contains("batch: batch_1"), "{one}");
    // gpt-4.1-mini: 1,000 input tokens at $0.4/M and 500 output at $1.6/M is $0.0012, half in a batch.
    assert!(one.contains("cost_usd: 0.0006"), "{one}");
    {
        let f = fake.lock().expect("fake");
        assert_eq!((f.uploads, f.creates), (1, 1));
        assert_eq!(f.batches[0].1.len(), 3);
    }

    // Collecting again finds nothing left; the collected batch's requests file is gone.
    let again = batch_cmd(&p, &["collect"]);
    assert!(again.success(), "{}", again.text());
    assert_eq!(
        again.stdout.trim(),
        "every batch is collected (1); nothing to do"
    );
    assert!(
        p.files_under("target/tribunal/batches/submitted")
            .is_empty()
    );
    assert_eq!(
        fake.lock().expect("fake").batches[0].2,
        2,
        "polled twice in all"
    );

    // The key is in no file tribunal wrote.
    for f in p
        .files_under("target/tribunal")
        .iter()
        .chain(&cassettes(&p))
    {
        assert!(!p.read(f).contains(OPENAI_KEY), "{f}");
    }

    let replay = run_suite(&p, false);
    assert_eq!(replay.code, Some(0), "{}", replay.text());
}

#[test]
fn submit_splits_a_group_at_the_request_limit() {
    let (fake, server, p) = openai_project(
        Fake::default(),
        Ending::Completed,
        &["alpha", "beta", "gamma"],
    );
    run_suite(&p, true);
    let submit = batch_cmd(&p, &["submit", "--max-requests", "2"]);
    insta::assert_snapshot!("split_submit", snap(&submit, &server));
    {
        let f = fake.lock().expect("fake");
        assert_eq!((f.uploads, f.creates), (2, 2));
        let sizes: Vec<usize> = f.batches.iter().map(|b| b.1.len()).collect();
        assert_eq!(sizes, [2, 1]);
    }
    let collect = batch_cmd(&p, &["collect", "--wait", "20s", "--poll", "50ms"]);
    assert!(collect.success(), "{}", collect.text());
    assert_eq!(cassettes(&p).len(), 3);
}

#[test]
fn anthropic_batch_records_succeeded_results_and_lists_errored_and_expired_ones() {
    let fake = Arc::new(Mutex::new(Fake::default()));
    let server = anthropic_server(Arc::clone(&fake));
    let p = project(
        "anthropic",
        &server.url(),
        &["alpha", "FAIL please", "EXPIRE soon"],
    );

    let run = run_suite(&p, true);
    assert_eq!(run.code, Some(101), "{}", run.text());
    insta::assert_snapshot!("anthropic_queued", queued_lines(&run, &p));

    let submit = batch_cmd(&p, &["submit"]);
    insta::assert_snapshot!("anthropic_submit", snap(&submit, &server));
    // Polled once (in progress) and not waited for: the batch is still running.
    let early = batch_cmd(&p, &["collect"]);
    assert_eq!(early.code, Some(1), "{}", early.text());
    assert!(
        early.stdout.contains("not answered yet"),
        "{}",
        early.text()
    );

    let collect = batch_cmd(&p, &["collect", "--wait", "20s", "--poll", "50ms"]);
    insta::assert_snapshot!("anthropic_collect", snap(&collect, &server));
    assert_eq!(cassettes(&p).len(), 1);
    let failed: Value =
        serde_json::from_str(&p.read("target/tribunal/batches/failed.json")).expect("json");
    let reasons: Vec<&str> = failed["failed"]
        .as_array()
        .expect("list")
        .iter()
        .map(|f| f["reason"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(reasons.len(), 2, "{failed}");
    assert_eq!(fake.lock().expect("fake").creates, 1);

    // The answered case replays and passes; the two others are still misses.
    let replay = run_suite(&p, false);
    assert_eq!(replay.code, Some(101), "{}", replay.text());
    let text = replay.text();
    for (trial, verdict) in [("c0", "ok"), ("c1", "FAILED"), ("c2", "FAILED")] {
        assert!(
            text.contains(&format!("test s::{trial} ... {verdict}")),
            "{text}"
        );
    }
}

#[test]
fn a_partially_failed_openai_batch_records_the_rest_and_lists_the_failures() {
    let (fake, server, p) = openai_project(
        Fake::default(),
        Ending::Completed,
        &["alpha", "FAIL here", "gamma"],
    );
    run_suite(&p, true);
    assert!(batch_cmd(&p, &["submit"]).success());
    let collect = batch_cmd(&p, &["collect", "--wait", "20s", "--poll", "50ms"]);
    assert_eq!(collect.code, Some(1), "{}", collect.text());
    insta::assert_snapshot!("openai_partial_collect", snap(&collect, &server));
    assert_eq!(cassettes(&p).len(), 2);
    let failed: Value =
        serde_json::from_str(&p.read("target/tribunal/batches/failed.json")).expect("json");
    assert_eq!(
        failed["failed"].as_array().map(Vec::len),
        Some(1),
        "{failed}"
    );
    assert!(
        failed["failed"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("string too long")
    );

    // The failed one can be sent again; the fake fails it again, the same way.
    let again = batch_cmd(&p, &["submit", "--retry-failed"]);
    assert!(again.stdout.contains("1 to send"), "{}", again.text());
    assert_eq!(fake.lock().expect("fake").creates, 2);
}

#[test]
fn an_expired_openai_batch_lists_the_requests_it_did_not_answer() {
    let (_, server, p) = openai_project(
        Fake::default(),
        Ending::Expired,
        &["alpha", "beta", "gamma"],
    );
    run_suite(&p, true);
    assert!(batch_cmd(&p, &["submit"]).success());
    let collect = batch_cmd(&p, &["collect", "--wait", "20s", "--poll", "50ms"]);
    assert_eq!(collect.code, Some(1), "{}", collect.text());
    insta::assert_snapshot!("openai_expired_collect", snap(&collect, &server));
    assert_eq!(cassettes(&p).len(), 1);
}

#[test]
fn an_interrupted_submit_or_collect_resumes_without_sending_again() {
    let (fake, server, p) = openai_project(
        Fake {
            refuse_creates: 1,
            ..Fake::default()
        },
        Ending::Completed,
        &["alpha", "beta"],
    );
    run_suite(&p, true);

    // The file is uploaded, then creating the batch fails: the upload is kept.
    let first = batch_cmd(&p, &["submit"]);
    assert_eq!(first.code, Some(2), "{}", first.text());
    insta::assert_snapshot!("resume_first_submit", snap(&first, &server));
    // Submitting again creates the batch from that file, uploading nothing.
    let second = batch_cmd(&p, &["submit"]);
    insta::assert_snapshot!("resume_second_submit", snap(&second, &server));
    // Collecting once: still running. The suite run again queues the same
    // calls, and submitting them sends nothing.
    let early = batch_cmd(&p, &["collect"]);
    assert_eq!(early.code, Some(1), "{}", early.text());
    run_suite(&p, true);
    let third = batch_cmd(&p, &["submit"]);
    assert!(
        third
            .stdout
            .contains("0 to send, 0 already recorded, 2 already in a batch"),
        "{}",
        third.text()
    );
    let collect = batch_cmd(&p, &["collect", "--wait", "20s", "--poll", "50ms"]);
    assert!(collect.success(), "{}", collect.text());
    let f = fake.lock().expect("fake");
    assert_eq!((f.uploads, f.creates), (1, 1));
    drop(f);
    assert!(run_suite(&p, false).success());
}

#[test]
fn a_refused_key_on_submit_is_a_clear_error_and_the_queue_is_kept() {
    let (_, server, p) = openai_project(Fake::default(), Ending::Completed, &["alpha"]);
    run_suite(&p, true);
    let refused = p
        .tribunal(&["batch", "submit", "--root", &p.root_arg()])
        .env("TEST_OPENAI_KEY", "sk-wrong-key-0123456789")
        .output();
    assert_eq!(refused.code, Some(2), "{}", refused.text());
    let shown = p
        .normalize(&refused.text())
        .replace(&server.url(), "[SERVER]");
    insta::assert_snapshot!("refused_submit", shown);
    assert!(!refused.text().contains("sk-wrong-key-0123456789"));
    assert_eq!(p.files_under("target/tribunal/batches/pending").len(), 1);
    assert!(!p.exists("target/tribunal/batches/state.json"));
    // With the right key the same queue goes out.
    let ok = batch_cmd(&p, &["submit"]);
    assert!(ok.success(), "{}", ok.text());
    assert!(ok.stdout.contains("1 to send"), "{}", ok.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_registered_in_code_is_never_called_in_batch_mode_and_not_queued() {
    use tribunal::provider::{
        CallSite, ChatRequest, ChatResponse, Message, Mode, Options, Providers,
    };
    let p = TestProject::new();
    let mut providers = Providers::with_options(
        p.path(),
        Options {
            inherit_env: false,
            ..Options::new(p.path(), Mode::Batch, Default::default())
        },
    )
    .expect("providers");
    let called = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&called);
    providers.insert(
        "standin",
        Arc::new(tribunal::testing::FnProvider::new(
            "standin",
            move |_: &ChatRequest| {
                *seen.lock().expect("count") += 1;
                Ok(ChatResponse::new("hi"))
            },
        )),
    );
    let site = CallSite {
        suite: "s".into(),
        case_id: "c".into(),
        ..CallSite::default()
    };
    let e = providers
        .chat(
            "standin",
            &ChatRequest::new("m", vec![Message::user("hello")]),
            &site,
        )
        .await
        .expect_err("batch mode never calls out");
    assert_eq!(*called.lock().expect("count"), 0);
    insta::assert_snapshot!(p.normalize(&e.to_string()), @"no recorded answer for `standin` in trial `s::c` (batch mode), and it cannot be queued for a batch: `standin` is not an OpenAI or Anthropic provider over HTTP (hint: record it with `TRIBUNAL_MODE=record cargo test --test evals -- 's::c'`)");
    assert!(!p.exists("target/tribunal/batches/pending"));
}
