//! `tribunal review` over HTTP: the server started as users start it, on a
//! temporary project, and spoken to on 127.0.0.1 (the browser tests are in
//! `review_browser.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tribunal::{Harness, Input, Output};

use crate::common::TestProject;

/// A running `tribunal review`; killed when dropped.
pub struct Server {
    child: Child,
    /// The URL it printed (`http://127.0.0.1:PORT/`, with `?token=` when it has one).
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Server {
    /// Starts `tribunal review --root ROOT ARGS` and waits for its URL.
    pub fn start(p: &TestProject, args: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tribunal"));
        cmd.arg("review").arg("--root").arg(p.path()).args(args);
        for (k, _) in std::env::vars_os() {
            if k.to_str().is_some_and(|k| k.starts_with("TRIBUNAL_")) {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .env("CI", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tribunal review");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("read the URL line");
        let Some(url) = line.trim().strip_prefix("tribunal review: ") else {
            let mut err = String::new();
            let _ = child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err);
            panic!("no URL printed: {line:?} {err}");
        };
        let url = url.to_string();
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("host:port")
            .to_string();
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        Server { child, url, addr }
    }

    /// The page's CSRF token.
    pub fn csrf(&self) -> String {
        let (_, _, page) = http(&self.addr, "GET", "/", &[], None);
        let at = page.find("name=\"csrf\" content=\"").expect("csrf meta") + 21;
        page[at..at + 32].to_string()
    }

    /// GET a JSON API path.
    pub fn get(&self, path: &str) -> Value {
        let (status, _, body) = http(&self.addr, "GET", path, &[], None);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// POST JSON with the CSRF token: status and body.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let csrf = self.csrf();
        let (status, _, text) = http(
            &self.addr,
            "POST",
            path,
            &[
                ("X-Tribunal-CSRF", &csrf),
                ("Content-Type", "application/json"),
            ],
            Some(&body.to_string()),
        );
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request to `addr` (its `Host` unless `headers` sets one):
/// status, headers (lowercase names) and body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if method != "GET" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    // Read the head, then as many bytes as `Content-Length` says (a server
    // may keep the connection open), or to the end.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "the connection closed before the response head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let mut rest = raw[head_end + 4..].to_vec();
    match length {
        Some(n) => {
            while rest.len() < n {
                let got = s.read(&mut buf).expect("read");
                assert!(got > 0, "the connection closed before the body's end");
                rest.extend_from_slice(&buf[..got]);
            }
        }
        None => {
            s.read_to_end(&mut rest).expect("read");
        }
    }
    let rest = String::from_utf8_lossy(&rest).into_owned();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(&rest) } else { rest };
    (status, headers, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// A suite with a registered Rust-function target (the README's main use).
const RUST_SUITE: &str = "suite: support
cases:
  - id: refund
    tags: [feature:refunds, persona:new]
    input: Can I get a refund?
    expected: Refunds within 30 days.
    target: {rust: answer}
    checks:
      - contains: \"30 days\"
  - id: late
    tags: [feature:refunds, persona:pro]
    input: It arrived late.
    target: {rust: answer}
    checks:
      - contains: sorry
";

fn rust_project() -> TestProject {
    let p = TestProject::with(&[("evals/support.yaml", RUST_SUITE)]);
    let harness = Harness::new().target("answer", |input: &Input| -> Result<Output, String> {
        Ok(Output::text(format!(
            "We refund within 30 days. You asked: {}",
            input.text()
        )))
    });
    let out = p.run(harness);
    assert!(out.load_errors.is_empty());
    p
}

#[test]
fn the_results_keep_rust_target_outputs_and_review_labels_them() {
    let p = rust_project();
    let last: Value = serde_json::from_str(&p.read("target/tribunal/last.json")).expect("JSON");
    assert_eq!(
        last["records"][0]["verdict"]["output"]["text"],
        "We refund within 30 days. You asked: Can I get a refund?"
    );
    let server = Server::start(&p, &["--annotator", "dana"]);
    let state = server.get("/api/state");
    assert_eq!(state["progress"], json!({"labelled": 0, "total": 2}));
    let t = &state["trials"][0];
    assert_eq!(t["id"], "support::refund");
    assert_eq!(t["input"], "Can I get a refund?");
    assert_eq!(t["expected"], "Refunds within 30 days.");
    assert_eq!(
        t["output"]["text"],
        "We refund within 30 days. You asked: Can I get a refund?"
    );
    let run_id = state["run_id"].clone();
    let (status, body) = server.post(
        "/api/label",
        &json!({"trial": "support::late", "verdict": "fail", "critique": "No apology.\nIgnores the delay.", "tags": ["tone"], "run_id": run_id}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["trial"]["label"]["verdict"], "fail");
    let text = p.read("fixtures/labels/support.yaml");
    insta::assert_snapshot!(text.replace(&tribunal::labels::today(), "[DATE]"), @r#"
    suite: support
    labels:
    - case: late
      verdict: fail
      critique: |-
        No apology.
        Ignores the delay.
      tags:
      - tone
      labeller: dana
      date: "[DATE]"
      output_sha256: "519e5c990d17a3c52d7ed595f1928a222ceb1ab926f1cc2556b31a7359107d18"
      input: It arrived late.
      output: "We refund within 30 days. You asked: It arrived late."
    "#);
    let (status, body) = server.post("/api/undo", &json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        p.read("fixtures/labels/support.yaml"),
        "suite: support\nlabels:\n"
    );
}

#[test]
fn requests_without_the_csrf_token_the_right_host_or_the_access_token_are_refused() {
    let p = rust_project();
    let server = Server::start(&p, &["--annotator", "dana"]);
    let label = json!({"trial": "support::late", "verdict": "pass"}).to_string();
    let (status, _, body) = http(
        &server.addr,
        "POST",
        "/api/label",
        &[("Content-Type", "application/json")],
        Some(&label),
    );
    assert_eq!(
        (status, body.as_str()),
        (
            403,
            r#"{"error":"missing or wrong CSRF token (hint: reload the page)"}"#
        )
    );
    let (status, _, body) = http(
        &server.addr,
        "GET",
        "/api/state",
        &[("Host", "attacker.example:80")],
        None,
    );
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("answers to 127.0.0.1:"), "{body}");
    let csrf = server.csrf();
    let huge =
        json!({"trial": "support::late", "verdict": "pass", "critique": "x".repeat(300_000)})
            .to_string();
    let (status, _, _) = http(
        &server.addr,
        "POST",
        "/api/label",
        &[
            ("X-Tribunal-CSRF", &csrf),
            ("Content-Type", "application/json"),
        ],
        Some(&huge),
    );
    assert_eq!(status, 413, "bodies are bounded");
    assert!(
        !p.exists("fixtures/labels/support.yaml"),
        "nothing was written"
    );

    let out = p.tribunal(&["review", "--host", "0.0.0.0"]).output();
    assert_eq!(out.code, Some(2), "{}", out.text());
    assert!(out.stderr.contains("--token"), "{}", out.stderr);

    let token = "0123456789abcdef0123";
    let guarded = Server::start(&p, &["--token", token]);
    assert!(
        guarded.url.ends_with(&format!("/?token={token}")),
        "{}",
        guarded.url
    );
    let (status, _, _) = http(&guarded.addr, "GET", "/api/state", &[], None);
    assert_eq!(status, 401);
    let (status, headers, _) = http(&guarded.addr, "GET", &format!("/?token={token}"), &[], None);
    assert_eq!(status, 200);
    let cookie = headers
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.clone())
        .expect("a cookie");
    assert!(cookie.starts_with(&format!(
        "tribunal_token={token}; HttpOnly; SameSite=Strict"
    )));
    let (status, _, _) = http(
        &guarded.addr,
        "GET",
        "/api/state",
        &[("Cookie", &format!("tribunal_token={token}"))],
        None,
    );
    assert_eq!(status, 200);
    // With a token, the machine may be reached by any of its names.
    let (status, _, _) = http(
        &guarded.addr,
        "GET",
        "/api/state",
        &[
            ("Host", "review-box.internal:8080"),
            ("Authorization", &format!("Bearer {token}")),
        ],
        None,
    );
    assert_eq!(status, 200);
}

#[test]
fn bad_input_is_a_clear_message_and_nothing_is_lost() {
    let p = TestProject::with(&[("evals/support.yaml", RUST_SUITE)]);
    let server = Server::start(&p, &["--annotator", "dana"]);
    let state = server.get("/api/state");
    assert_eq!(
        state["run_error"].as_str().map(|e| p.normalize(e)),
        Some("no results at [ROOT]/target/tribunal/last.json (hint: run the suites first, `tribunal run` or `cargo test --test evals`, or pass `--results FILE`)".into())
    );
    drop(server);

    let p = rust_project();
    p.write("target/tribunal/broken.json", "{\"schema\": 1,");
    let server = Server::start(&p, &["--results", "target/tribunal/broken.json"]);
    let err = server.get("/api/state")["run_error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("broken.json") && err.contains("hint:"),
        "{err}"
    );
    drop(server);

    // A hand-edited label file with an error: reported, never overwritten.
    let broken = "suite: support\nlabels:\n  - case: refund\n    verdict: maybe\n";
    p.write("fixtures/labels/support.yaml", broken);
    let server = Server::start(&p, &["--annotator", "dana"]);
    let state = server.get("/api/state");
    let err = state["label_files"]["support"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        err.contains("support.yaml") && err.contains("fix the file by hand"),
        "{err}"
    );
    let (status, body) = server.post(
        "/api/label",
        &json!({"trial": "support::late", "verdict": "pass", "run_id": state["run_id"]}),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(p.read("fixtures/labels/support.yaml"), broken);

    // The run replaced under an open page: the old page's label is refused
    // with the reason, and polling shows the new run.
    p.write(
        "fixtures/labels/support.yaml",
        "# kept\nsuite: support\nlabels:\n",
    );
    let old_run = state["run_id"].clone();
    std::thread::sleep(Duration::from_millis(20));
    let again = p.run(
        Harness::new().target("answer", |_: &Input| -> Result<Output, String> {
            Ok(Output::text("A different answer."))
        }),
    );
    assert!(again.load_errors.is_empty());
    let polled = server.get("/api/poll");
    assert_ne!(polled["run_id"], old_run);
    let (status, body) = server.post(
        "/api/label",
        &json!({"trial": "support::late", "verdict": "pass", "run_id": old_run}),
    );
    assert_eq!(status, 409);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the run was replaced"),
        "{body}"
    );
    assert_eq!(
        p.read("fixtures/labels/support.yaml"),
        "# kept\nsuite: support\nlabels:\n"
    );
}

#[test]
fn two_servers_on_one_label_file_keep_every_label() {
    let p = rust_project();
    let a = Server::start(&p, &["--annotator", "ana"]);
    let b = Server::start(&p, &["--annotator", "ben"]);
    let run_id = a.get("/api/state")["run_id"].clone();
    assert_eq!(b.get("/api/state")["run_id"], run_id);
    let (s1, _) = a.post(
        "/api/label",
        &json!({"trial": "support::refund", "verdict": "pass", "critique": "ok", "run_id": run_id}),
    );
    let (s2, _) = b.post(
        "/api/label",
        &json!({"trial": "support::late", "verdict": "fail", "critique": "no", "run_id": run_id}),
    );
    assert_eq!((s1, s2), (200, 200));
    let file = tribunal::labels::LabelFile::load(&p.join("fixtures/labels/support.yaml"))
        .expect("parses")
        .expect("exists");
    let who: Vec<(&str, &str)> = file
        .labels
        .iter()
        .map(|l| (l.case.as_str(), l.labeller.as_str()))
        .collect();
    assert_eq!(who, [("refund", "ana"), ("late", "ben")]);
    // Server a sees b's label without a restart.
    let state = a.get("/api/state");
    assert_eq!(state["progress"]["labelled"], 2);
    assert_eq!(state["trials"][1]["label"]["labeller"], "ben");
    // b undoes its own label only.
    let (s, _) = b.post("/api/undo", &json!({}));
    assert_eq!(s, 200);
    let file = tribunal::labels::LabelFile::load(&p.join("fixtures/labels/support.yaml"))
        .expect("parses")
        .expect("exists");
    assert_eq!(file.labels.len(), 1);
    assert_eq!(file.labels[0].labeller, "ana");
}

/// The terminal path gains the cheap parts: the reference, the recorded
/// output of a Rust-function target, multi-line critiques and undo; the
/// label file is edited in place.
#[test]
fn tribunal_label_shows_rust_target_outputs_and_undoes() {
    let p = rust_project();
    p.write(
        "fixtures/labels/support.yaml",
        "# Labels of the support suite: keep this comment.\nsuite: support\nlabels:\n",
    );
    let out = p
        .tribunal(&["label", "--suite", "support", "--labeller", "dana"])
        .stdin("p\nStates the window.\nu\nf 2\nToo short: \\\nno next step.\np\nok\n")
        .output();
    assert!(out.success(), "{}", out.text());
    insta::assert_snapshot!(out.snapshot());
    insta::assert_snapshot!(p.read("fixtures/labels/support.yaml").replace(&tribunal::labels::today(), "[DATE]"), @r#"
    # Labels of the support suite: keep this comment.
    suite: support
    labels:
    - case: refund
      verdict: fail
      score: 2
      critique: |-
        Too short:
        no next step.
      labeller: dana
      date: "[DATE]"
      output_sha256: c169fed50ada1e58c9305fdf72b84dad783b77868e98879ba5ded3bda91b1b0f
      input: "Can I get a refund?"
      output: "We refund within 30 days. You asked: Can I get a refund?"
    - case: late
      verdict: pass
      critique: ok
      labeller: dana
      date: "[DATE]"
      output_sha256: "519e5c990d17a3c52d7ed595f1928a222ceb1ab926f1cc2556b31a7359107d18"
      input: It arrived late.
      output: "We refund within 30 days. You asked: It arrived late."
    "#);
}

/// A drafts file of `tribunal generate` is read in the page before its
/// drafts become cases: inputs, references, tags and provenance; no label.
#[test]
fn drafts_are_shown_with_their_provenance_and_not_labelled() {
    let p = TestProject::with(&[
        ("evals/support.yaml", RUST_SUITE),
        (
            "evals/support.drafts.jsonl",
            concat!(
                r#"{"id":"angry-refund","input":"<b>Refund</b> me NOW","expected":"Calm, states the 30-day window.","tags":["persona:angry"],"provenance":{"source":"dimensions","tuple":{"persona":"angry"},"seed":7},"flags":["near-duplicate"]}"#,
                "\n"
            ),
        ),
    ]);
    let server = Server::start(
        &p,
        &[
            "--drafts",
            "evals/support.drafts.jsonl",
            "--annotator",
            "dana",
        ],
    );
    let state = server.get("/api/state");
    assert_eq!(state["drafts"], true, "{state}");
    assert_eq!(state["run_error"], Value::Null);
    assert!(
        state["run_id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("drafts-")
    );
    let t = &state["trials"][0];
    assert_eq!(t["id"], "support::angry-refund");
    assert_eq!(t["input"], "<b>Refund</b> me NOW");
    assert_eq!(t["expected"], "Calm, states the 30-day window.");
    assert_eq!(t["tags"], json!(["persona:angry"]));
    assert_eq!(
        t["checks"][0]["reason"],
        "flagged by the generator: near-duplicate"
    );
    assert_eq!(
        t["checks"][0]["evidence"]["tuple"],
        json!({"persona": "angry"})
    );
    let (status, body) = server.post(
        "/api/label",
        &json!({"trial": "support::angry-refund", "verdict": "pass", "run_id": state["run_id"]}),
    );
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("a draft has no output to label yet"),
        "{body}"
    );
    assert!(!p.exists("fixtures/labels/support.yaml"));
}

/// Two experts label the same trials, each in their own file; the
/// agreement view gives κ for the pair and their disagreements.
#[test]
fn two_annotators_get_kappa_and_their_disagreements() {
    let p = rust_project();
    let ana = Server::start(&p, &["--annotator", "ana"]);
    let ben = Server::start(&p, &["--annotator", "Ben", "--own-labels"]);
    let run_id = ana.get("/api/state")["run_id"].clone();
    for (server, trial, verdict) in [
        (&ana, "support::refund", "pass"),
        (&ana, "support::late", "fail"),
        (&ben, "support::refund", "pass"),
        (&ben, "support::late", "pass"),
    ] {
        let (status, body) = server.post(
            "/api/label",
            &json!({"trial": trial, "verdict": verdict, "critique": format!("{verdict} because"), "run_id": run_id}),
        );
        assert_eq!(status, 200, "{body}");
    }
    assert!(p.exists("fixtures/labels/support.yaml"));
    assert!(p.exists("fixtures/labels/support.ben.yaml"));
    let (status, body) = ana.post("/api/align", &json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["annotators"],
        json!([{
            "suite": "support",
            "files": ["support.yaml", "support.ben.yaml"],
            "pairs": [{
                "a": "ana", "b": "Ben", "n": 2, "agreement": 0.5, "kappa": 0.0,
                "disagreements": [{"trial": "late", "a": ["fail", "fail because"], "b": ["pass", "pass because"]}],
            }],
            "errors": [],
        }])
    );
}
