//! `tribunal generate truth` and `tribunal generate dimensions` against
//! generator models on loopback servers speaking the OpenAI and Anthropic
//! wire formats: drafts written with their provenance, near-duplicates
//! dropped, unusable answers rejected with nothing written, the round-trip
//! filter, pairwise covering, and replay from cassettes with no network
//! under `CI=true`.

use serde_json::Value;
use tribunal::provider::mock::{MockReply, MockRequest, MockServer};

use crate::common::TestProject;

/// The last user message of an OpenAI or Anthropic request.
fn prompt_of(req: &MockRequest) -> String {
    let body = req.json();
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .cloned()
        .unwrap_or(Value::Null);
    match &last["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    text.split_once(open)
        .and_then(|(_, rest)| rest.split_once(close))
        .map(|(inside, _)| inside.trim())
        .unwrap_or("")
}

/// "request N of K" in the prompt (1 when absent).
fn sample_of(prompt: &str) -> u32 {
    prompt
        .split_once("This is request ")
        .or_else(|| prompt.split_once("This is message "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// A question writer: a request per truth and sample, from a table.
fn writer(req: &MockRequest, _: u64) -> MockReply {
    let prompt = prompt_of(req);
    let truth = between(&prompt, "<<BEGIN TRUTH>>", "<<END TRUTH>>");
    let n = sample_of(&prompt);
    let answer = match (truth, n) {
        (t, 1) if t.contains("\"pro\"") => "Users on the pro plan",
        // Only case and punctuation differ: a near-duplicate.
        (t, 2) if t.contains("\"pro\"") => "users on the PRO plan!",
        (t, 1) if t.contains("Order Completed") => "Customers who have purchased at least once",
        (t, 2) if t.contains("Order Completed") => "People with one or more completed orders",
        (t, _) if t.contains("\"vip\"") => "   ",
        (t, _) if t.contains("\"churned\"") => {
            "I'm sorry, but I can't help with building audiences."
        }
        (t, _) if t.contains("\"beta\"") => t,
        (t, _) if t.starts_with("SELECT") => "How many customers are there?",
        _ => "Everyone",
    };
    MockReply::openai(answer, 40, 8)
}

fn project(base: &str, kind: &str, suite: &str) -> TestProject {
    TestProject::with(&[
        (
            "tribunal.yaml",
            &format!(
                "providers:\n  writer:\n    kind: {kind}\n    model: writer-1\n    base_url: {base}\nretry: {{max_attempts: 1}}\nreports: {{history: 'off'}}\n"
            ),
        ),
        ("evals/aud.yaml", suite),
    ])
}

const AUDIENCES: &str = r#"suite: aud
defaults:
  checks:
    - ast_equivalent: {dialect: audience}
cases:
  - id: pro-plan
    output: {cmp: "=", value: pro, term: {trait: plan}}
    expected: {cmp: "=", value: pro, term: {trait: plan}}
  - id: bought
    output: {cmp: ">=", value: 1, term: {count: {event: Order Completed}}}
    expected: {cmp: ">=", value: 1, term: {count: {event: Order Completed}}}
"#;

#[test]
fn requests_for_ground_truths_are_drafted_deduplicated_and_replayed_offline() {
    let server = MockServer::start(true, writer).expect("server");
    let p = project(&format!("{}/v1", server.url()), "openai", AUDIENCES);
    let args = [
        "generate",
        "truth",
        "--suite",
        "evals/aud.yaml",
        "--generator",
        "writer",
        "-k",
        "2",
        "--style",
        "terse",
        "--style",
        "chatty",
    ];
    let out = p.tribunal(&args).output();
    assert!(out.success(), "{}", out.text());
    insta::assert_snapshot!("truth_stdout", out.snapshot());
    let drafts = p.read("evals/aud.drafts.jsonl");
    insta::assert_snapshot!("truth_drafts", drafts);
    assert_eq!(server.count(), 4);
    // The prompts carried the style and the sample.
    let prompts: Vec<String> = server.requests().iter().map(prompt_of).collect();
    assert!(
        prompts
            .iter()
            .any(|p| p.contains("Write it in this style: chatty.") && p.contains("request 2 of 2"))
    );
    let cassettes = p.files_under("fixtures/cassettes");
    assert_eq!(cassettes.len(), 4, "{cassettes:?}");
    assert!(
        cassettes
            .iter()
            .all(|c| c.starts_with("fixtures/cassettes/aud/generate-truth@"))
    );

    // In CI, with the server gone: replayed, the file unchanged, nothing written.
    drop(server);
    // (`target/` is the build folder, where every run logs the cassettes it used.)
    let tree = || -> Vec<String> {
        p.files_under(".")
            .into_iter()
            .filter(|f| !f.starts_with("target/"))
            .collect()
    };
    let before = tree();
    let again = p.tribunal(&args).ci(true).output();
    assert!(again.success(), "{}", again.text());
    assert!(
        again.stdout.contains("4 requests (4 replayed, 0 recorded)"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("evals/aud.drafts.jsonl is up to date"),
        "{}",
        again.stdout
    );
    assert_eq!(p.read("evals/aud.drafts.jsonl"), drafts);
    assert_eq!(tree(), before);

    // A new truth in CI: the miss names the command that records it.
    p.write(
        "evals/aud.yaml",
        format!("{AUDIENCES}  - id: basic\n    output: x\n    expected: {{cmp: \"=\", value: basic, term: {{trait: plan}}}}\n"),
    );
    let miss = p.tribunal(&args).ci(true).output();
    assert_eq!(miss.code, Some(2));
    insta::assert_snapshot!("truth_replay_miss", miss.snapshot());
    assert_eq!(p.read("evals/aud.drafts.jsonl"), drafts);
}

#[test]
fn unusable_answers_are_rejected_by_row_and_nothing_is_written() {
    let server = MockServer::start(true, writer).expect("server");
    let p = project(&format!("{}/v1", server.url()), "openai", AUDIENCES).file(
        "data/truths.jsonl",
        concat!(
            r#"{"id": "pro", "expected": {"cmp": "=", "value": "pro", "term": {"trait": "plan"}}}"#, "\n",
            r#"{"id": "vip", "expected": {"cmp": "=", "value": "vip", "term": {"trait": "tier"}}}"#, "\n",
            "\n",
            r#"{"id": "churned", "expected": {"cmp": "=", "value": "churned", "term": {"trait": "status"}}}"#, "\n",
            r#"{"id": "beta", "expected": {"cmp": "=", "value": "beta", "term": {"trait": "cohort"}}}"#, "\n",
        ),
    );
    let out = p
        .tribunal(&[
            "generate",
            "truth",
            "--suite",
            "evals/aud.yaml",
            "--generator",
            "writer",
            "--truths",
            "data/truths.jsonl",
        ])
        .output();
    assert_eq!(out.code, Some(2));
    insta::assert_snapshot!(out.snapshot());
    assert!(!p.exists("evals/aud.drafts.jsonl"));
}

#[test]
fn a_ground_truth_file_with_bad_rows_names_each_row() {
    let p = project("http://127.0.0.1:9/v1", "openai", AUDIENCES).file(
        "data/truths.jsonl",
        concat!(
            r#"{"id": "a", "expected": "SELECT 1"}"#,
            "\n",
            r#"{"id": "a", "expected": "SELECT 2"}"#,
            "\n",
            r#"{"id": "b"}"#,
            "\n",
            r#"["not", "an", "object"]"#,
            "\n",
            r#"{"id": "c", "expected": "#,
            "\n",
            r#"{"id": "has space", "expected": "SELECT 3"}"#,
            "\n",
        ),
    );
    let out = p
        .tribunal(&[
            "generate",
            "truth",
            "--suite",
            "evals/aud.yaml",
            "--generator",
            "writer",
            "--truths",
            "data/truths.jsonl",
        ])
        .output();
    assert_eq!(out.code, Some(2));
    insta::assert_snapshot!(out.snapshot());
}

const SUPPORT: &str = r#"suite: bot
description: a support bot for an online shop
dimensions:
  feature:
    tracking: Where an order is and when it arrives
    refunds: Money back for a returned or broken item
    billing: Charges, invoices and payment methods
  scenario:
    happy: A clear request the bot can handle
    ambiguous: A request that can be read two ways
  persona:
    new: A first-time customer
    angry: A customer who is upset and terse
cases:
  - id: placeholder
    input: hi
    output: hi
    checks: [{equals: hi}]
"#;

/// A user simulator answering in Anthropic's format: a message per tuple.
fn simulator(req: &MockRequest, _: u64) -> MockReply {
    let prompt = prompt_of(req);
    let pick = |key: &str| {
        prompt
            .lines()
            .find_map(|l| l.strip_prefix(&format!("- {key}: ")))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("?")
            .to_string()
    };
    let opening = match pick("persona").as_str() {
        "new" => "Hello, first time ordering here.",
        _ => "This is ridiculous.",
    };
    let ask = match pick("feature").as_str() {
        "tracking" => "Where is parcel 4417 and when will it arrive",
        "refunds" => "I want my money back for the broken kettle",
        _ => "Why was my card charged twice on the invoice",
    };
    let tail = match pick("scenario").as_str() {
        "happy" => "?",
        _ => ", or can you change that for me?",
    };
    let text = format!("{opening} {ask}{tail} (#{})", sample_of(&prompt));
    MockReply::anthropic(&text, 50, 12)
}

#[test]
fn a_pairwise_sample_of_dimensions_is_seeded_covered_and_tagged() {
    let server = MockServer::start(true, simulator).expect("server");
    let p = project(&server.url(), "anthropic", SUPPORT);
    let args = [
        "generate",
        "dimensions",
        "--suite",
        "evals/aud.yaml",
        "--generator",
        "writer",
        "--n",
        "6",
        "--seed",
        "7",
    ];
    let out = p.tribunal(&args).output();
    assert!(out.success(), "{}", out.text());
    // 3 × 2 × 2 = 12 combinations; 6 tuples cover all 3×2 + 3×2 + 2×2 = 16 pairs.
    insta::assert_snapshot!("dimensions_stdout", out.snapshot());
    insta::assert_snapshot!("dimensions_drafts", p.read("evals/aud.drafts.jsonl"));
    assert_eq!(server.count(), 6);
    assert_eq!(server.requests()[0].header("x-api-key"), None);
    // Rerun: the same seed gives the same tuples, replayed; the file is unchanged.
    let drafts = p.read("evals/aud.drafts.jsonl");
    let again = p.tribunal(&args).output();
    assert!(again.success(), "{}", again.text());
    assert_eq!(server.count(), 6);
    assert_eq!(p.read("evals/aud.drafts.jsonl"), drafts);
    // Every combination.
    let all = p
        .tribunal(&[
            "generate",
            "dimensions",
            "--suite",
            "evals/aud.yaml",
            "--generator",
            "writer",
        ])
        .output();
    assert!(all.success(), "{}", all.text());
    assert!(
        all.stdout
            .contains("coverage: 12 of 12 combinations; values 7/7 (all); pairs 16/16 (all)"),
        "{}",
        all.stdout
    );
    assert_eq!(p.read("evals/aud.drafts.jsonl").lines().count(), 12);
    // A draft accepted into the suite is not drafted again.
    p.write(
        "evals/aud.yaml",
        format!("{SUPPORT}  - id: tracking.happy.new-1\n    input: Where is my parcel?\n    output: hi\n    checks: [{{equals: hi}}]\n"),
    );
    std::fs::remove_file(p.join("evals/aud.drafts.jsonl")).expect("remove");
    let accepted = p
        .tribunal(&[
            "generate",
            "dimensions",
            "--suite",
            "evals/aud.yaml",
            "--generator",
            "writer",
        ])
        .output();
    assert!(accepted.success(), "{}", accepted.text());
    assert!(
        accepted.stdout.contains("11 drafts added, 0 already there (kept as they are), 1 already accepted into the suite; 11 drafts in the file"),
        "{}",
        accepted.stdout
    );
    assert!(
        !p.read("evals/aud.drafts.jsonl")
            .contains("\"tracking.happy.new-1\"")
    );
}

const ROUND_TRIP: &str = r#"suite: aud
defaults:
  target:
    prompt:
      provider: builder
      template: "{{ input }}"
  checks:
    - ast_equivalent: {dialect: audience}
      name: equivalence
    - icontains: never decides the round trip
cases:
  - id: pro-plan
    expected: {cmp: "=", value: pro, term: {trait: plan}}
  - id: bought
    expected: {cmp: ">=", value: 1, term: {count: {event: Order Completed}}}
"#;

/// The writer, and an audience builder that gets "at least once" wrong.
fn writer_and_builder(req: &MockRequest, i: u64) -> MockReply {
    if req.json()["model"] != "builder-1" {
        return writer(req, i);
    }
    let ast = match prompt_of(req).as_str() {
        "Users on the pro plan" => r#"{"cmp": "=", "value": "pro", "term": {"trait": "plan"}}"#,
        "Customers who have purchased at least once" => {
            r#"{"and": [{"cmp": ">", "value": 0, "term": {"count": {"event": "Order Completed"}}}, {"cmp": "<", "value": 2, "term": {"count": {"event": "Order Completed"}}}]}"#
        }
        _ => r#"{"cmp": ">=", "value": 1, "term": {"count": {"event": "Order Completed"}}}"#,
    };
    MockReply::openai(ast, 20, 20)
}

#[test]
fn the_round_trip_keeps_the_drafts_the_system_gets_wrong() {
    let server = MockServer::start(true, writer_and_builder).expect("server");
    let base = format!("{}/v1", server.url());
    let p = TestProject::with(&[
        (
            "tribunal.yaml",
            &format!(
                "providers:\n  writer:\n    kind: openai\n    model: writer-1\n    base_url: {base}\n  builder:\n    kind: openai\n    model: builder-1\n    base_url: {base}\nretry: {{max_attempts: 1}}\nreports: {{history: 'off'}}\n"
            ),
        ),
        ("evals/aud.yaml", ROUND_TRIP),
    ]);
    let args = |mode: &str| {
        p.tribunal(&[
            "generate",
            "truth",
            "--suite",
            "evals/aud.yaml",
            "--generator",
            "writer",
            "-k",
            "2",
            "--round-trip",
            mode,
        ])
        .output()
    };
    let out = args("keep-failing");
    assert!(out.success(), "{}", out.text());
    insta::assert_snapshot!("round_trip_stdout", out.snapshot());
    insta::assert_snapshot!("round_trip_drafts", p.read("evals/aud.drafts.jsonl"));
    // A rerun keeps the drafts already in the file: start from none.
    std::fs::remove_file(p.join("evals/aud.drafts.jsonl")).expect("remove");
    let flag = args("flag");
    assert!(flag.success(), "{}", flag.text());
    let flagged: Vec<String> = p
        .read("evals/aud.drafts.jsonl")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            format!("{} {}", v["id"].as_str().unwrap_or(""), v["flags"])
        })
        .collect();
    assert_eq!(
        flagged,
        [
            "bought-1 [\"round-trip-failed\"]",
            "bought-2 null",
            "pro-plan-1 null"
        ]
    );
}

/// The shipped examples' generation replays from the committed cassettes
/// with no network under `CI=true`, and the committed drafts are exactly
/// what it produces (nothing is written).
#[test]
fn the_shipped_generations_replay_offline_and_match_their_drafts() {
    let root = crate::common::repo_root();
    let root_arg = root.display().to_string();
    let tree = TestProject::new();
    let runs: [&[&str]; 2] = [
        &[
            "generate",
            "truth",
            "--suite",
            "evals/segment.yaml",
            "--truths",
            "evals/data/segment.truths.jsonl",
            "--generator",
            "standin-question-generator",
            "-k",
            "2",
            "--style",
            "plain, as a marketer would say it",
            "--style",
            "terse, like a search query",
            "--round-trip",
            "flag",
            "--root",
            &root_arg,
        ],
        &[
            "generate",
            "dimensions",
            "--suite",
            "evals/support_dims.yaml",
            "--generator",
            "standin-user",
            "--n",
            "9",
            "--seed",
            "1",
            "--root",
            &root_arg,
        ],
    ];
    let mut shown = String::new();
    for args in runs {
        let drafts_before = std::fs::read_to_string(root.join(if args[1] == "truth" {
            "evals/segment.drafts.jsonl"
        } else {
            "evals/support_dims.drafts.jsonl"
        }))
        .expect("drafts");
        let out = tree
            .tribunal(args)
            .ci(true)
            // A server that is not there: any call that is not replayed fails.
            .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
            .output();
        assert!(out.success(), "{}", out.text());
        shown.push_str(&crate::common::replace_root(&out.stdout, &root));
        let drafts_after = std::fs::read_to_string(root.join(if args[1] == "truth" {
            "evals/segment.drafts.jsonl"
        } else {
            "evals/support_dims.drafts.jsonl"
        }))
        .expect("drafts");
        assert_eq!(drafts_before, drafts_after);
    }
    insta::assert_snapshot!(shown);
}

#[test]
fn a_template_of_ones_own_replaces_the_shipped_one_and_its_errors_name_the_row() {
    let server = MockServer::start(true, |req, _| {
        MockReply::openai(&format!("Asked: {}", prompt_of(req).len()), 10, 3)
    })
    .expect("server");
    let p = project(&format!("{}/v1", server.url()), "openai", AUDIENCES)
        .file(
            "prompts/q.jinja",
            "Write the request for {{ truth_text }} ({{ row.note }}).",
        )
        .file(
            "data/truths.jsonl",
            concat!(
                r#"{"id": "a", "expected": "SELECT 1", "note": "from the BI tool"}"#,
                "\n",
                r#"{"id": "b", "expected": "SELECT 2"}"#,
                "\n",
            ),
        );
    let args = [
        "generate",
        "truth",
        "--suite",
        "evals/aud.yaml",
        "--generator",
        "writer",
        "--truths",
        "data/truths.jsonl",
        "--template",
        "prompts/q.jinja",
    ];
    let out = p.tribunal(&args).output();
    assert_eq!(out.code, Some(2));
    insta::assert_snapshot!(out.snapshot());
    assert_eq!(
        prompt_of(&server.requests()[0]),
        "Write the request for SELECT 1 (from the BI tool)."
    );
    assert!(!p.exists("evals/aud.drafts.jsonl"));
}

#[test]
fn a_round_trip_through_a_rust_target_is_an_error_and_writes_nothing() {
    let server = MockServer::start(true, writer).expect("server");
    let suite = "suite: aud\ndefaults:\n  target: audience_builder\n  checks:\n    - ast_equivalent: {dialect: audience}\ncases:\n  - id: pro-plan\n    expected: {cmp: \"=\", value: pro, term: {trait: plan}}\n";
    let p = project(&format!("{}/v1", server.url()), "openai", suite);
    let out = p
        .tribunal(&[
            "generate",
            "truth",
            "--suite",
            "evals/aud.yaml",
            "--generator",
            "writer",
            "--round-trip",
            "keep-failing",
        ])
        .output();
    assert_eq!(out.code, Some(2));
    insta::assert_snapshot!(out.snapshot());
    assert!(!p.exists("evals/aud.drafts.jsonl"));
}

#[test]
fn sql_truths_from_a_csv_file_are_tagged_with_their_clauses() {
    let server = MockServer::start(true, writer).expect("server");
    let p = project(&format!("{}/v1", server.url()), "openai", AUDIENCES).file(
        "data/truths.csv",
        "id,sql\ncount-customers,\"SELECT COUNT(*) FROM customers WHERE country = 'FR'\"\n",
    );
    let out = p
        .tribunal(&[
            "generate",
            "truth",
            "--suite",
            "evals/aud.yaml",
            "--generator",
            "writer",
            "--truths",
            "data/truths.csv",
            "--field",
            "sql",
        ])
        .output();
    assert!(out.success(), "{}", out.text());
    let draft: Value =
        serde_json::from_str(p.read("evals/aud.drafts.jsonl").trim()).expect("one draft");
    assert_eq!(draft["id"], "count-customers-1");
    assert_eq!(draft["input"], "How many customers are there?");
    assert_eq!(
        draft["expected"],
        "SELECT COUNT(*) FROM customers WHERE country = 'FR'"
    );
    assert_eq!(
        draft["tags"],
        serde_json::json!(["sql:aggregate", "sql:where"])
    );
    assert_eq!(
        draft["provenance"]["row"],
        serde_json::json!({"file": "data/truths.csv", "line": 2})
    );
    assert!(prompt_of(&server.requests()[0]).contains("Below is a reference SQL query"));
}
