//! `tribunal ci github summary|annotate|comment|gate`, run as the action
//! runs them: the binary in a fake GitHub Actions environment (an event
//! payload file, a step-summary file and an outputs file in a temporary
//! folder) against a loopback stand-in for GitHub's REST API that records
//! every call. Also the JUnit report's structure, checked against the
//! Jenkins/Surefire JUnit schema.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{Value, json};

use crate::common::{CliOutput, TestProject};

const TOKEN: &str = "ghs_test_token_0123456789";

const SHOP: &str = r#"suite: shop
cases:
  - id: refund
    tags: [feature:refunds]
    output: "Refunds are accepted within 30 days."
    checks:
      - contains: 30 days
  - id: greet
    tags: [feature:tone]
    output: "Hello, how can I help?"
    checks:
      - icontains: hello
        name: greets
  - id: tone
    tags: [feature:tone]
    output: "Whatever."
    checks:
      - icontains: please
        name: polite
  - id: speed
    output: "Fast."
    checks:
      - latency_ms: {max: 100}
"#;

const BROKEN: &str = "suite: broken
cases:
  - id: a
    output: x
    checks:
      - contians: x
";

/// `tribunal test` over the project in `proj/`.
fn suite_run(ws: &TestProject, accept: bool) -> CliOutput {
    let mut cmd = ws.tribunal(&["test", "--root", "proj", "--", "--test-threads", "1"]);
    if accept {
        cmd = cmd.env("INSTA_UPDATE", "always");
    }
    cmd.output()
}

/// A checkout with the project in `proj/`: the base run (`base.json`) has
/// `refund` and `greet` passing; the head run (`proj/target/tribunal/
/// last.json`) has `refund` regressed, `greet` failing but accepted as a
/// known failure, `tone` a known failure, `speed` an error and a suite file
/// that does not load. Each test gets its own copy of one such checkout
/// (three suite runs, made once).
fn reviewed_checkout() -> TestProject {
    static TEMPLATE: LazyLock<TestProject> = LazyLock::new(make_reviewed_checkout);
    let copy = TestProject::new();
    copy_tree(TEMPLATE.path(), copy.path());
    copy
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn make_reviewed_checkout() -> TestProject {
    let ws = TestProject::with(&[("proj/evals/shop.yaml", SHOP)]);
    let base = suite_run(&ws, true);
    assert_eq!(base.code, Some(101), "the error fails the build: {base:?}");
    ws.write("base.json", ws.read("proj/target/tribunal/last.json"));
    ws.write(
        "proj/evals/shop.yaml",
        SHOP.replace("Hello, how", "Hi, how"),
    );
    let accepted = suite_run(&ws, true);
    assert_eq!(accepted.code, Some(101), "{accepted:?}");
    ws.write(
        "proj/evals/shop.yaml",
        SHOP.replace("Hello, how", "Hi, how")
            .replace("within 30 days", "within 14 days"),
    );
    ws.write("proj/evals/broken.yaml", BROKEN);
    let head = suite_run(&ws, false);
    assert_eq!(head.code, Some(101), "{head:?}");
    ws
}

/// The fake GitHub Actions environment of a step: the variables the runner
/// sets, with files in the checkout's `gh/` folder.
fn actions_env(ws: &TestProject, event: &Value, api: Option<&str>) -> Vec<(String, String)> {
    ws.write(
        "gh/event.json",
        serde_json::to_string_pretty(event).expect("json"),
    );
    ws.write("gh/step_summary.md", "## an earlier step's summary\n\n");
    ws.write("gh/output", "");
    let path = |f: &str| ws.join(f).to_string_lossy().into_owned();
    let mut vars = vec![
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", event_name(event).to_string()),
        ("GITHUB_EVENT_PATH", path("gh/event.json")),
        ("GITHUB_STEP_SUMMARY", path("gh/step_summary.md")),
        ("GITHUB_OUTPUT", path("gh/output")),
        ("GITHUB_REPOSITORY", "octo-org/shop".to_string()),
        ("GITHUB_SERVER_URL", "https://github.com".to_string()),
        ("GITHUB_RUN_ID", "4242".to_string()),
        ("GITHUB_WORKSPACE", ws.root_arg()),
        ("GITHUB_BASE_REF", "main".to_string()),
        ("GITHUB_TOKEN", TOKEN.to_string()),
    ];
    if let Some(api) = api {
        vars.push(("GITHUB_API_URL", api.to_string()));
    }
    vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn event_name(event: &Value) -> &'static str {
    if event.get("pull_request").is_some() {
        "pull_request"
    } else {
        "push"
    }
}

fn pr_event(fork: bool) -> Value {
    let head = if fork {
        "someone/shop"
    } else {
        "octo-org/shop"
    };
    json!({
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "head": {"ref": "feature", "repo": {"full_name": head}},
            "base": {"ref": "main", "repo": {"full_name": "octo-org/shop"}}
        },
        "repository": {"full_name": "octo-org/shop"}
    })
}

/// `tribunal ci github SUB --root proj …` with the environment `vars`.
fn ci(ws: &TestProject, vars: &[(String, String)], sub: &str, extra: &[&str]) -> CliOutput {
    let mut args = vec!["ci", "github", sub, "--root", "proj"];
    args.extend_from_slice(extra);
    let mut cmd = ws.tribunal(&args).ci(true);
    for (k, v) in vars {
        cmd = cmd.env(k, v);
    }
    let out = cmd.output();
    assert!(
        !out.text().contains(TOKEN),
        "the token is printed:\n{}",
        out.text()
    );
    out
}

const GATES: [&str; 5] = [
    "--base",
    "base.json",
    "--fail-on-status",
    "--max-significant-regressions",
    "0",
];

#[test]
fn summary_appends_the_run_the_comparison_and_the_gates_and_writes_outputs() {
    let ws = reviewed_checkout();
    let vars = actions_env(&ws, &pr_event(false), None);
    let out = ci(&ws, &vars, "summary", &GATES);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("summary_stdout", out.snapshot());
    insta::assert_snapshot!(
        "summary_step_summary",
        ws.normalize(&ws.read("gh/step_summary.md"))
    );
    insta::assert_snapshot!("summary_outputs", ws.read("gh/output"));
}

#[test]
fn annotations_point_at_the_yaml_line_of_every_regression() {
    let ws = reviewed_checkout();
    let vars = actions_env(&ws, &pr_event(false), None);
    let out = ci(&ws, &vars, "annotate", &GATES);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("annotations", out.snapshot());
    // Every file an annotation names exists in the checkout at that line.
    for line in out.stdout.lines().filter(|l| l.contains(" file=")) {
        let command = line.split("::").nth(1).expect("properties");
        let props = command.split_once(' ').expect("a command and properties").1;
        let get = |k: &str| {
            props
                .split(',')
                .find_map(|p| p.strip_prefix(&format!("{k}=")))
                .map(|v| v.replace("%2C", ",").replace("%3A", ":"))
        };
        let file = get("file").expect("file");
        let n: usize = get("line").expect("line").parse().expect("number");
        let text = ws.read(&file);
        assert!(text.lines().count() >= n, "{file} has no line {n}: {line}");
    }
    // At most --max, and a notice counts the rest.
    let capped = ci(&ws, &vars, "annotate", &["--max", "1"]);
    assert!(capped.success(), "{capped:?}");
    insta::assert_snapshot!("annotations_capped", capped.snapshot());
}

#[test]
fn the_gate_fails_on_status_and_says_what_it_did_not_check() {
    let ws = reviewed_checkout();
    let vars = actions_env(&ws, &pr_event(false), None);
    let failing = ci(&ws, &vars, "gate", &GATES);
    assert_eq!(failing.code, Some(1), "{failing:?}");
    insta::assert_snapshot!("gate_fails", failing.snapshot());
    // No base results (the first pull request, an expired artifact): the
    // significant-regressions gate is not checked, and says so...
    let no_base = [
        "--base",
        "missing.json",
        "--max-significant-regressions",
        "0",
    ];
    let unchecked = ci(&ws, &vars, "gate", &no_base);
    insta::assert_snapshot!("gate_without_a_base", unchecked.snapshot());
    // ...unless the base is required.
    let mut required = no_base.to_vec();
    required.push("--require-base");
    let fails = ci(&ws, &vars, "gate", &required);
    assert_eq!(fails.code, Some(1), "{fails:?}");
    assert!(
        fails
            .stdout
            .contains("--max-significant-regressions needs a base run"),
        "{fails:?}"
    );
}

#[test]
fn without_results_every_command_is_a_tool_error() {
    let ws = TestProject::with(&[("proj/evals/shop.yaml", SHOP)]);
    let vars = actions_env(&ws, &pr_event(false), None);
    let out = ci(&ws, &vars, "summary", &[]);
    insta::assert_snapshot!("no_results", out.snapshot());
    assert_eq!(ws.read("gh/output"), "", "nothing is written");
}

/// One call the stand-in received.
#[derive(Debug, Clone)]
struct Call {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    body: Option<Value>,
}

/// How the stand-in answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Normally,
    Unauthorized,
    Forbidden,
    /// 403 with the rate limit spent, as GitHub answers it.
    RateLimited,
    /// A first page whose `Link` points at another host.
    ForeignLink,
}

/// A loopback stand-in for GitHub's issue-comments API: lists comments
/// `page_size` at a time with a `Link` header, creates and edits them,
/// and records every call.
struct FakeGithub {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    comments: Arc<Mutex<Vec<(u64, String)>>>,
}

impl FakeGithub {
    fn start(page_size: usize, seeded: &[&str], answer: Answer) -> FakeGithub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let comments: Arc<Mutex<Vec<(u64, String)>>> = Arc::new(Mutex::new(
            seeded
                .iter()
                .enumerate()
                .map(|(i, b)| (100 + i as u64, b.to_string()))
                .collect(),
        ));
        let (c, k, base) = (calls.clone(), comments.clone(), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &base, page_size, answer, &c, &k);
            }
        });
        FakeGithub {
            url,
            calls,
            comments,
        }
    }

    /// The calls so far, one line each (the token shown as whether it was
    /// the right one), with each written comment's first line.
    fn transcript(&self) -> String {
        let calls = self.calls.lock().expect("calls");
        calls
            .iter()
            .map(|c| {
                let auth = match c.headers.get("authorization") {
                    Some(a) if *a == format!("Bearer {TOKEN}") => "Bearer [the token]",
                    Some(_) => "a wrong token",
                    None => "none",
                };
                let mut line = format!(
                    "{} {}\n  authorization: {auth}\n  accept: {}\n  x-github-api-version: {}\n  user-agent: {}",
                    c.method,
                    c.target.replace(&self.url, "[API]"),
                    c.headers.get("accept").map_or("", String::as_str),
                    c.headers
                        .get("x-github-api-version")
                        .map_or("", String::as_str),
                    c.headers
                        .get("user-agent")
                        .map_or("", String::as_str)
                        .split('/')
                        .next()
                        .unwrap_or_default(),
                );
                if let Some(b) = &c.body {
                    let text = b["body"].as_str().unwrap_or_default();
                    line.push_str(&format!(
                        "\n  body: {} … ({} lines)",
                        text.lines().next().unwrap_or_default(),
                        text.lines().count()
                    ));
                }
                line
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn comments(&self) -> Vec<(u64, String)> {
        self.comments.lock().expect("comments").clone()
    }
}

fn serve(
    stream: TcpStream,
    base: &str,
    page_size: usize,
    answer: Answer,
    calls: &Mutex<Vec<Call>>,
    comments: &Mutex<Vec<(u64, String)>>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let body: Option<Value> = serde_json::from_slice(&body).ok();
    calls.lock().expect("calls").push(Call {
        method: method.clone(),
        target: target.clone(),
        headers,
        body: body.clone(),
    });
    let comment = |id: u64, text: &str| {
        json!({
            "id": id,
            "html_url": format!("https://github.com/octo-org/shop/pull/7#issuecomment-{id}"),
            "body": text,
            "user": {"login": "github-actions[bot]"}
        })
    };
    let (status, extra, reply) = match answer {
        Answer::Unauthorized => (
            "401 Unauthorized",
            String::new(),
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        ),
        Answer::RateLimited => (
            "403 Forbidden",
            "x-ratelimit-limit: 1000\r\nx-ratelimit-remaining: 0\r\nx-ratelimit-reset: 1900000000\r\n".to_string(),
            json!({"message": "API rate limit exceeded for installation ID 1.", "status": "403"}),
        ),
        Answer::ForeignLink => (
            "200 OK",
            "Link: <https://elsewhere.example/repos/octo-org/shop/issues/7/comments?page=2>; rel=\"next\"\r\n".to_string(),
            json!([]),
        ),
        Answer::Forbidden if method != "GET" => (
            "403 Forbidden",
            String::new(),
            json!({"message": "Resource not accessible by integration", "status": "403"}),
        ),
        _ => {
            let path = target.split('?').next().unwrap_or_default();
            let mut all = comments.lock().expect("comments");
            match (method.as_str(), path) {
                ("GET", "/repos/octo-org/shop/issues/7/comments") => {
                    let page: usize = target
                        .split(['?', '&'])
                        .find_map(|q| q.strip_prefix("page="))
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(1);
                    let items: Vec<Value> = all
                        .iter()
                        .skip((page - 1) * page_size)
                        .take(page_size)
                        .map(|(id, b)| comment(*id, b))
                        .collect();
                    let link = if page * page_size < all.len() {
                        format!(
                            "Link: <{base}/repos/octo-org/shop/issues/7/comments?per_page=100&page={}>; rel=\"next\"\r\n",
                            page + 1
                        )
                    } else {
                        String::new()
                    };
                    ("200 OK", link, Value::Array(items))
                }
                ("POST", "/repos/octo-org/shop/issues/7/comments") => {
                    let text = body
                        .as_ref()
                        .and_then(|b| b["body"].as_str())
                        .unwrap_or_default()
                        .to_string();
                    let id = 900 + all.len() as u64;
                    all.push((id, text.clone()));
                    ("201 Created", String::new(), comment(id, &text))
                }
                ("PATCH", p) if p.starts_with("/repos/octo-org/shop/issues/comments/") => {
                    let id: u64 = p
                        .rsplit('/')
                        .next()
                        .and_then(|i| i.parse().ok())
                        .unwrap_or(0);
                    let text = body
                        .as_ref()
                        .and_then(|b| b["body"].as_str())
                        .unwrap_or_default()
                        .to_string();
                    match all.iter_mut().find(|(i, _)| *i == id) {
                        Some(c) => {
                            c.1 = text.clone();
                            ("200 OK", String::new(), comment(id, &text))
                        }
                        None => (
                            "404 Not Found",
                            String::new(),
                            json!({"message": "Not Found"}),
                        ),
                    }
                }
                _ => (
                    "404 Not Found",
                    String::new(),
                    json!({"message": "Not Found"}),
                ),
            }
        }
    };
    let text = reply.to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.flush();
}

#[test]
fn the_comment_is_created_once_then_edited_in_place() {
    let ws = reviewed_checkout();
    // Three comments by others, two per page: tribunal's comment, once
    // written, is the fourth, on the second page.
    let gh = FakeGithub::start(
        2,
        &[
            "LGTM",
            "please rebase",
            "<!-- another-bot -->\nCoverage 81%",
        ],
        Answer::Normally,
    );
    let vars = actions_env(&ws, &pr_event(false), Some(&gh.url));
    let first = ci(&ws, &vars, "comment", &GATES);
    assert!(first.success(), "{first:?}");
    let second = ci(&ws, &vars, "comment", &GATES);
    assert!(second.success(), "{second:?}");
    insta::assert_snapshot!(
        "comment_runs",
        format!("{}\n{}", first.snapshot(), second.snapshot())
    );
    insta::assert_snapshot!("comment_calls", gh.transcript());
    let comments = gh.comments();
    let ours: Vec<&(u64, String)> = comments
        .iter()
        .filter(|(_, b)| b.contains("<!-- tribunal:comment -->"))
        .collect();
    assert_eq!(ours.len(), 1, "one comment, not one per push: {comments:?}");
    assert_eq!(comments.len(), 4);
    insta::assert_snapshot!("comment_body", ws.normalize(&ours[0].1));
    assert_eq!(
        ws.read("gh/output").lines().collect::<Vec<_>>(),
        [
            "comment-id=903",
            "comment-url=https://github.com/octo-org/shop/pull/7#issuecomment-903",
            "comment-id=903",
            "comment-url=https://github.com/octo-org/shop/pull/7#issuecomment-903",
        ]
    );
    // Another key keeps another comment.
    let keyed = ci(&ws, &vars, "comment", &["--key", "sql"]);
    assert!(keyed.success(), "{keyed:?}");
    assert_eq!(gh.comments().len(), 5);
}

#[test]
fn without_base_results_the_comment_says_so_and_leaves_the_gate_unchecked() {
    let ws = reviewed_checkout();
    let gh = FakeGithub::start(100, &[], Answer::Normally);
    let vars = actions_env(&ws, &pr_event(false), Some(&gh.url));
    let args = [
        "--base",
        "expired.json",
        "--max-significant-regressions",
        "0",
    ];
    let out = ci(&ws, &vars, "comment", &args);
    assert!(out.success(), "{out:?}");
    let comments = gh.comments();
    assert_eq!(comments.len(), 1);
    let head: Vec<&str> = comments[0]
        .1
        .lines()
        .take_while(|l| !l.starts_with("<details>"))
        .collect();
    insta::assert_snapshot!("comment_without_a_base", ws.normalize(&head.join("\n")));
}

#[test]
fn a_rejected_token_is_a_clear_error_that_never_shows_the_token() {
    let ws = reviewed_checkout();
    let gh = FakeGithub::start(100, &[], Answer::Unauthorized);
    let vars = actions_env(&ws, &pr_event(false), Some(&gh.url));
    let out = ci(&ws, &vars, "comment", &GATES);
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(
        "comment_unauthorized",
        out.snapshot().replace(&gh.url, "[API]")
    );
    insta::assert_snapshot!("comment_unauthorized_calls", gh.transcript());
}

#[test]
fn a_forks_read_only_token_is_a_warning_and_other_refusals_are_errors() {
    let ws = reviewed_checkout();
    let gh = FakeGithub::start(100, &[], Answer::Forbidden);
    let fork = actions_env(&ws, &pr_event(true), Some(&gh.url));
    let out = ci(&ws, &fork, "comment", &[]);
    assert!(out.success(), "{out:?}");
    let own = actions_env(&ws, &pr_event(false), Some(&gh.url));
    let refused = ci(&ws, &own, "comment", &[]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    insta::assert_snapshot!(
        "comment_forbidden",
        format!("{}\n{}", out.snapshot(), refused.snapshot()).replace(&gh.url, "[API]")
    );
}

#[test]
fn a_spent_rate_limit_and_a_link_to_another_host_are_clear_errors() {
    let ws = reviewed_checkout();
    let limited = FakeGithub::start(100, &[], Answer::RateLimited);
    let vars = actions_env(&ws, &pr_event(false), Some(&limited.url));
    let out = ci(&ws, &vars, "comment", &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let foreign = FakeGithub::start(100, &[], Answer::ForeignLink);
    let vars = actions_env(&ws, &pr_event(false), Some(&foreign.url));
    let refused = ci(&ws, &vars, "comment", &[]);
    assert_eq!(refused.code, Some(2), "{refused:?}");
    // The token went to the API only: one call each, nothing to the other host.
    assert_eq!(foreign.calls.lock().expect("calls").len(), 1);
    insta::assert_snapshot!(
        "comment_rate_limited_and_foreign_link",
        format!("{}\n{}", out.snapshot(), refused.snapshot())
    );
}

#[test]
fn outside_a_pull_request_no_comment_is_written() {
    let ws = reviewed_checkout();
    let gh = FakeGithub::start(100, &[], Answer::Normally);
    let push = json!({"ref": "refs/heads/main", "after": "0".repeat(40)});
    let vars = actions_env(&ws, &push, Some(&gh.url));
    let out = ci(&ws, &vars, "comment", &GATES);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("comment_on_push", out.snapshot());
    assert_eq!(gh.transcript(), "", "no call to GitHub");
    // A push has no base by design: its note says what its results are for.
    let gate = ci(
        &ws,
        &vars,
        "gate",
        &[
            "--base",
            "missing.json",
            "--max-significant-regressions",
            "0",
        ],
    );
    insta::assert_snapshot!("gate_on_push", gate.snapshot());
}

#[test]
fn a_missing_token_or_a_bad_repository_is_named() {
    let ws = reviewed_checkout();
    let mut vars = actions_env(&ws, &pr_event(false), Some("http://127.0.0.1:9"));
    vars.retain(|(k, _)| k != "GITHUB_TOKEN");
    let no_token = ci(&ws, &vars, "comment", &[]);
    vars.push(("GITHUB_REPOSITORY".into(), "not a repository".into()));
    let bad_repo = ci(&ws, &vars, "comment", &[]);
    insta::assert_snapshot!(
        "comment_misconfigured",
        format!("{}\n{}", no_token.snapshot(), bad_repo.snapshot())
    );
}

// The JUnit schema (Jenkins/Surefire): what every consumer of junit.xml
// relies on, checked element by element.

/// Attributes each element may carry, and which of them it must.
const SCHEMA: &[(&str, &[&str], &[&str])] = &[
    // (element, required, optional)
    (
        "testsuites",
        &["tests", "failures", "errors"],
        &["name", "time", "disabled"],
    ),
    (
        "testsuite",
        &["name", "tests", "failures", "errors", "skipped", "time"],
        &["id", "package", "hostname", "timestamp", "file", "disabled"],
    ),
    ("properties", &[], &[]),
    ("property", &["name", "value"], &[]),
    (
        "testcase",
        &["name", "classname", "time", "file", "line"],
        &["assertions", "status"],
    ),
    ("failure", &["message", "type"], &[]),
    ("error", &["message", "type"], &[]),
    ("skipped", &[], &["message", "type"]),
    ("system-out", &[], &[]),
    ("system-err", &[], &[]),
];

/// Which elements each element may hold.
fn children_allowed(parent: &str) -> &'static [&'static str] {
    match parent {
        "testsuites" => &["testsuite"],
        "testsuite" => &["properties", "testcase", "system-out", "system-err"],
        "properties" => &["property"],
        "testcase" => &["failure", "error", "skipped", "system-out", "system-err"],
        _ => &[],
    }
}

/// Every way `xml` breaks the JUnit schema; empty when it conforms.
fn junit_violations(xml: &str) -> Vec<String> {
    let doc = match roxmltree::Document::parse(xml) {
        Ok(d) => d,
        Err(e) => return vec![format!("not XML: {e}")],
    };
    let mut out = Vec::new();
    let root = doc.root_element();
    if root.tag_name().name() != "testsuites" {
        out.push(format!("the root is <{}>", root.tag_name().name()));
    }
    let int = |v: &str| v.parse::<u64>().is_ok();
    let decimal = |v: &str| v.parse::<f64>().is_ok_and(|f| f >= 0.0);
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        let at = format!("<{name}> at byte {}", node.range().start);
        let Some((_, required, optional)) = SCHEMA.iter().find(|(e, _, _)| *e == name) else {
            out.push(format!("{at}: not a JUnit element"));
            continue;
        };
        for r in *required {
            if node.attribute(*r).is_none() {
                out.push(format!("{at}: no `{r}`"));
            }
        }
        for a in node.attributes() {
            if !required.contains(&a.name()) && !optional.contains(&a.name()) {
                out.push(format!("{at}: unknown attribute `{}`", a.name()));
            }
            let v = a.value();
            let ok = match a.name() {
                "tests" | "failures" | "errors" | "skipped" | "disabled" | "id" => int(v),
                "line" => v.parse::<u64>().is_ok_and(|l| l > 0),
                "time" => decimal(v),
                "name" | "classname" | "file" => !v.is_empty(),
                _ => true,
            };
            if !ok {
                out.push(format!("{at}: `{}` = {v:?} is not valid", a.name()));
            }
        }
        let kids: Vec<&str> = node
            .children()
            .filter(|c| c.is_element())
            .map(|c| c.tag_name().name())
            .collect();
        for k in &kids {
            if !children_allowed(name).contains(k) {
                out.push(format!("{at}: <{k}> is not allowed inside"));
            }
        }
        if name == "testcase" {
            let outcomes = kids
                .iter()
                .filter(|k| matches!(**k, "failure" | "error" | "skipped"))
                .count();
            if outcomes > 1 {
                out.push(format!("{at}: more than one of failure, error, skipped"));
            }
        }
        if name == "testsuite" {
            let cases: Vec<_> = node
                .children()
                .filter(|c| c.has_tag_name("testcase"))
                .collect();
            let with = |k: &str| {
                cases
                    .iter()
                    .filter(|c| c.children().any(|x| x.has_tag_name(k)))
                    .count()
                    .to_string()
            };
            for (attr, want) in [
                ("tests", cases.len().to_string()),
                ("failures", with("failure")),
                ("errors", with("error")),
                ("skipped", with("skipped")),
            ] {
                if node.attribute(attr) != Some(want.as_str()) {
                    out.push(format!("{at}: `{attr}` is not its {want} testcases"));
                }
            }
        }
    }
    for attr in ["tests", "failures", "errors"] {
        let sum: u64 = root
            .children()
            .filter(|c| c.has_tag_name("testsuite"))
            .filter_map(|c| c.attribute(attr)?.parse::<u64>().ok())
            .sum();
        if root.attribute(attr) != Some(sum.to_string().as_str()) {
            out.push(format!(
                "<testsuites>: `{attr}` is not the sum of its suites ({sum})"
            ));
        }
    }
    out
}

#[test]
fn junit_reports_conform_to_the_junit_schema_with_file_and_line() {
    let ws = reviewed_checkout();
    let xml = ws.read("proj/target/tribunal/junit.xml");
    assert_eq!(junit_violations(&xml), Vec::<String>::new(), "{xml}");
    // Every case, and the file that did not load, at its YAML line.
    let doc = roxmltree::Document::parse(&xml).expect("xml");
    let places: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let outcome = n
                .children()
                .find(|c| c.is_element())
                .map_or("pass", |c| c.tag_name().name());
            format!(
                "{} {}:{} {outcome}",
                n.attribute("name").unwrap_or_default(),
                n.attribute("file").unwrap_or_default(),
                n.attribute("line").unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            "evals/broken.yaml evals/broken.yaml:6 error",
            "refund evals/shop.yaml:3 failure",
            "greet evals/shop.yaml:8 system-out",
            "tone evals/shop.yaml:14 system-out",
            "speed evals/shop.yaml:20 error",
        ]
    );
    // A synthetic run of 300 trials in every status conforms too.
    let sample = tribunal::report::sample::run(300, 0.8, 3);
    let big = tribunal::report::junit::render(&sample);
    assert_eq!(junit_violations(&big), Vec::<String>::new());
}

#[test]
fn the_junit_schema_check_rejects_what_the_schema_does() {
    let good = r#"<testsuites tests="1" failures="1" errors="0"><testsuite name="s" tests="1" failures="1" errors="0" skipped="0" time="0.1"><testcase name="c" classname="s" time="0.1" file="evals/s.yaml" line="3"><failure message="m" type="regression">x</failure></testcase></testsuite></testsuites>"#;
    assert_eq!(junit_violations(good), Vec::<String>::new());
    let cases = [
        good.replace(r#" line="3""#, ""),
        good.replace(r#"line="3""#, r#"line="0""#),
        good.replace(r#" type="regression""#, ""),
        good.replace(
            r#"failures="1" errors="0" skipped"#,
            r#"failures="0" errors="0" skipped"#,
        ),
        good.replace("<failure", "<skipped/><failure"),
        good.replace("<testcase ", "<testcase colour=\"red\" "),
        good.replace(r#"<testsuites tests="1""#, r#"<testsuites tests="2""#),
    ];
    let found: Vec<Vec<String>> = cases.iter().map(|x| junit_violations(x)).collect();
    insta::assert_debug_snapshot!("junit_schema_rejects", found);
}
