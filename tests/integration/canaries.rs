//! Judge canaries and calibrated pass rates, end to end: `tribunal test`
//! against judges served on 127.0.0.1 in the OpenAI and Anthropic wire
//! formats, recorded, then replayed offline.

use serde_json::Value;
use tribunal::labels::{HumanVerdict, Label, LabelFile, labels_path, output_hash};
use tribunal::provider::mock::{MockReply, MockRequest, MockServer};

use crate::common::TestProject;

/// The text of the last user message (OpenAI: a string; Anthropic: a
/// string or text blocks).
fn user_text(body: &Value) -> String {
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

fn judged(prompt: &str) -> String {
    prompt
        .split("<<BEGIN OUTPUT ")
        .nth(1)
        .and_then(|rest| rest.split_once(">>"))
        .and_then(|(_, rest)| rest.split("<<END OUTPUT").next())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A lenient judge: passes an output that states "30 days" and no "not".
/// It misses an appended unsupported claim.
fn lenient(req: &MockRequest, _: u64) -> MockReply {
    let out = judged(&user_text(&req.json()));
    let pass = out.contains("30 days") && !out.contains(" not ");
    MockReply::openai(
        &format!(r#"{{"critique": "lenient on: {out}", "pass": {pass}}}"#),
        50,
        10,
    )
}

/// A strict judge (Anthropic format): also fails more than two sentences.
fn strict(req: &MockRequest, _: u64) -> MockReply {
    let out = judged(&user_text(&req.json()));
    let sentences = out.matches(". ").count() + 1;
    let pass = out.contains("30 days") && !out.contains(" not ") && sentences <= 2;
    MockReply::anthropic(
        &format!(r#"{{"critique": "strict on: {out}", "pass": {pass}}}"#),
        50,
        10,
    )
}

const WINDOW: &str =
    "Returns are accepted within 30 days of delivery. Reply with a photo for a warranty repair.";

fn suite(min: &str) -> String {
    format!(
        r#"suite: support
judge:
  provider: lenient
  canaries: [drop_answer, swap_numbers, negate, unsupported_claim, replace_entity]
  min_canary_catch: {min}
cases:
  - id: window
    input: How long do I have to return shoes?
    output: "{WINDOW}"
    checks:
      - judge: {{criteria: States the 30-day return window.}}
        name: lenient policy
      - judge: {{criteria: States the 30-day return window and nothing else., provider: strict, min_canary_catch: 1.0}}
        name: strict policy
  - id: vague
    input: Can I return these?
    output: We accept returns.
    checks:
      - judge: {{criteria: States the 30-day return window.}}
        name: lenient policy
"#
    )
}

fn config(openai: &str, anthropic: &str) -> String {
    format!(
        "providers:\n  lenient:\n    kind: openai\n    model: judge-1\n    base_url: {openai}/v1\n  strict:\n    kind: anthropic\n    model: claude-judge\n    base_url: {anthropic}\nretry: {{max_attempts: 1}}\n"
    )
}

/// The support suite with `min_canary_catch: MIN`, its lenient (OpenAI
/// format) and strict (Anthropic format) judges served on 127.0.0.1.
fn support_project(min: &str) -> (MockServer, MockServer, TestProject) {
    let openai = MockServer::start(false, lenient).expect("server");
    let anthropic = MockServer::start(false, strict).expect("server");
    let dir = TestProject::with(&[
        ("evals/support.yaml", &suite(min)),
        ("tribunal.yaml", &config(&openai.url(), &anthropic.url())),
    ]);
    (openai, anthropic, dir)
}

#[test]
fn canaries_are_recorded_replayed_and_gate_the_suite() {
    let (openai, anthropic, dir) = support_project("0.9");
    let root = dir.root_arg();
    let recorded = dir
        .tribunal(&["test", "--root", &root])
        .env("TRIBUNAL_MODE", "record")
        .env("INSTA_UPDATE", "always")
        .output();
    // window: 1 + 4 canaries per judge (replace_entity finds no name);
    // vague: the lenient judge fails it, so it asks no canary.
    assert_eq!(openai.count(), 6, "{}", recorded.text());
    assert_eq!(anthropic.count(), 5, "{}", recorded.text());
    let cassettes = dir.files_under("fixtures/cassettes");
    assert_eq!(cassettes.len(), 11, "one entry per mutation: {cassettes:?}");
    // The lenient judge lets the appended claim through: 3 of 4 < 90%.
    assert!(!recorded.success(), "{}", recorded.text());
    insta::assert_snapshot!("canaries_recorded", recorded.snapshot());
    // Canaries never touch the case's snapshot: it records the verdict only.
    let snap = dir.read("evals/snapshots/support__window.snap");
    assert!(!snap.contains("canar"), "{snap}");

    // Offline, in CI: the same outcome from the cassettes, no call made.
    dir.write(
        "tribunal.yaml",
        config("http://127.0.0.1:1", "http://127.0.0.1:1"),
    );
    let replayed = dir.tribunal(&["test", "--root", &root]).ci(true).output();
    assert_eq!(
        openai.count() + anthropic.count(),
        11,
        "{}",
        replayed.text()
    );
    assert_eq!(replayed.code, recorded.code, "{}", replayed.text());
    let gate = |o: &crate::common::CliOutput| {
        o.text()
            .lines()
            .filter(|l| l.contains("canar") || l.contains("slipped"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(gate(&replayed), gate(&recorded));

    // The JSON results carry every canary, and `tribunal report --gate`
    // applies min_canary_catch too.
    let last: Value =
        serde_json::from_str(&dir.read("target/tribunal/last.json")).expect("results json");
    let window = last["records"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["verdict"]["case"] == "window"))
        .expect("window record");
    let canaries = &window["verdict"]["checks"][0]["canaries"];
    insta::assert_json_snapshot!("canaries_results_json", canaries);
    // Spent, so in the case's totals: two judges, each 1 call + 4 canaries
    // of 50 input tokens; the check's own usage is its one call.
    assert_eq!(window["verdict"]["usage"]["input_tokens"], 500);
    assert_eq!(window["verdict"]["checks"][0]["usage"]["input_tokens"], 50);
    let report = dir.tribunal(&["report", "--root", &root]).output();
    assert!(!report.success(), "{}", report.text());
    assert!(
        report
            .text()
            .contains("judge `support · lenient policy` caught 3 of 4 canaries (75.0%) < min_canary_catch 90.0%; slipped through: unsupported_claim (1 of 1)"),
        "{}",
        report.text()
    );

    // A lower bar holds: the run passes.
    dir.write("evals/support.yaml", suite("0.75"));
    let ok = dir.tribunal(&["test", "--root", &root]).ci(true).output();
    assert!(ok.success(), "{}", ok.text());
    assert!(
        ok.text().contains(
            "support · lenient policy: caught 3 of 4 (75.0%) · min_canary_catch 75.0% ok"
        ),
        "{}",
        ok.text()
    );
}

#[test]
fn a_judge_without_canaries_makes_no_extra_call() {
    let openai = MockServer::start(false, lenient).expect("server");
    let dir = TestProject::with(&[
        (
            "evals/support.yaml",
            &format!(
                "suite: support\njudge:\n  provider: lenient\ncases:\n  - id: window\n    input: How long?\n    output: \"{WINDOW}\"\n    checks:\n      - judge: {{criteria: States the window.}}\n"
            ),
        ),
        (
            "tribunal.yaml",
            &config(&openai.url(), "http://127.0.0.1:1"),
        ),
    ]);
    let out = dir
        .tribunal(&["test", "--root", &dir.root_arg()])
        .env("TRIBUNAL_MODE", "live")
        .env("INSTA_UPDATE", "always")
        .output();
    assert!(out.success(), "{}", out.text());
    assert_eq!(openai.count(), 1, "one judge call, as before canaries");
    assert!(!out.text().contains("canar"), "{}", out.text());
}

#[test]
fn canary_options_are_checked_when_the_suite_loads() {
    let dir = TestProject::with(&[(
        "evals/support.yaml",
        "suite: support\njudge:\n  provider: lenient\n  min_canary_catch: 0.9\ncases:\n  - id: a\n    input: x\n    output: y\n    checks:\n      - judge: {criteria: c, canaries: [drop_answer, swap_digits]}\n      - judge: {criteria: c}\n        name: second\n",
    )]);
    let out = dir
        .tribunal(&["validate", "--root", &dir.root_arg()])
        .output();
    assert!(!out.success(), "{}", out.text());
    insta::assert_snapshot!("canaries_load_errors", out.snapshot());
}

fn label(case: &str, verdict: HumanVerdict, output: &str) -> Label {
    Label {
        case: case.into(),
        variant: None,
        check: None,
        verdict,
        score: None,
        critique: format!("why {case}"),
        tags: Vec::new(),
        few_shot: false,
        labeller: "dana".into(),
        date: "2026-11-20".into(),
        output_sha256: output_hash(output),
        input: None,
        output: output.into(),
    }
}

#[test]
fn the_summary_shows_calibrated_pass_rates_and_says_when_labels_are_too_few_or_stale() {
    let openai = MockServer::start(false, lenient).expect("server");
    // 12 cases: the lenient judge passes what says "30 days".
    // Human pass: p0..p4 (judge pass), p5 (judge fail: "thirty days").
    // Human fail: f0..f3 (judge fail), f4, f5 (judge pass: right window, wrong rest).
    let mut cases = Vec::new();
    let mut labels = LabelFile::new("support");
    let mut add = |id: &str, output: &str, human: Option<HumanVerdict>| {
        cases.push(format!(
            "  - id: {id}\n    input: How long?\n    output: \"{output}\"\n    checks:\n      - judge: {{criteria: States the window.}}\n        name: policy\n"
        ));
        if let Some(h) = human {
            labels.upsert(label(id, h, output));
        }
    };
    for i in 0..5 {
        add(
            &format!("p{i}"),
            &format!("Within 30 days, case {i}."),
            Some(HumanVerdict::Pass),
        );
    }
    add("p5", "Within thirty days.", Some(HumanVerdict::Pass));
    for i in 0..4 {
        add(
            &format!("f{i}"),
            &format!("Whenever you like, case {i}."),
            Some(HumanVerdict::Fail),
        );
    }
    add(
        "f4",
        "Within 30 days, and we pay the postage twice.",
        Some(HumanVerdict::Fail),
    );
    add(
        "f5",
        "Within 30 days, or 90 for members.",
        Some(HumanVerdict::Fail),
    );
    add("u0", "Within 30 days, unlabelled.", None);
    add("u1", "Within 30 days, also unlabelled.", None);
    // A label whose output changed since: stale, counted, never used.
    labels.upsert(label("u1", HumanVerdict::Fail, "An older answer."));
    let text = format!(
        "suite: support\njudge:\n  provider: lenient\ncases:\n{}",
        cases.concat()
    );
    let dir = TestProject::with(&[
        ("evals/support.yaml", &text),
        (
            "tribunal.yaml",
            &config(&openai.url(), "http://127.0.0.1:1"),
        ),
    ]);
    labels
        .save(&labels_path(dir.path(), "support", None))
        .expect("save labels");
    let out = dir
        .tribunal(&["test", "--root", &dir.root_arg()])
        .env("TRIBUNAL_MODE", "live")
        .env("INSTA_UPDATE", "always")
        .output();
    // Judged: 14 outputs, 9 passed (p0-p4, f4, f5, u0, u1) → p = 9/14.
    // TPR = 5/6, TNR = 4/6; θ = (9/14 + 4/6 − 1)/(5/6 + 4/6 − 1) = 0.619048.
    let line = out
        .text()
        .lines()
        .find(|l| l.contains("support · policy:"))
        .map(str::trim)
        .map(str::to_string)
        .unwrap_or_default();
    insta::assert_snapshot!("calibrated_pass_rate_line", line);
    let md = dir.read("target/tribunal/summary.md");
    let table: String = md
        .lines()
        .skip_while(|l| !l.starts_with("### Calibrated pass rates"))
        .take(5)
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("calibrated_pass_rate_markdown", table);
    let html = dir.read("target/tribunal/report.html");
    assert!(
        html.contains("<section id=\"calibration\">"),
        "html section"
    );
    assert!(html.contains("61.9% ("), "the estimate in the HTML table");
    // `tribunal compare` shows both runs' calibrated rates.
    let cmp = dir
        .tribunal(&["compare", "last", "last", "--root", &dir.root_arg()])
        .output();
    let section: String = cmp
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("### Calibrated pass rates"))
        .take(5)
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("calibrated_pass_rate_compare", section);

    // Fewer labels: the correction is withheld, and the summary says why.
    let mut few = LabelFile::new("support");
    few.upsert(label("p0", HumanVerdict::Pass, "Within 30 days, case 0."));
    few.upsert(label(
        "f0",
        HumanVerdict::Fail,
        "Whenever you like, case 0.",
    ));
    few.save(&labels_path(dir.path(), "support", None))
        .expect("save labels");
    let out = dir
        .tribunal(&["test", "--root", &dir.root_arg()])
        .env("TRIBUNAL_MODE", "live")
        .output();
    let line = out
        .text()
        .lines()
        .find(|l| l.contains("support · policy:"))
        .map(str::trim)
        .map(str::to_string)
        .unwrap_or_default();
    insta::assert_snapshot!("calibrated_pass_rate_too_few", line);
}

#[test]
fn alignment_asks_the_judges_alone_not_their_canaries() {
    let (openai, anthropic, dir) = support_project("0.9");
    let mut labels = LabelFile::new("support");
    labels.upsert(label("window", HumanVerdict::Pass, WINDOW));
    labels
        .save(&labels_path(dir.path(), "support", None))
        .expect("save labels");
    let out = dir
        .tribunal(&["align", "--suite", "support", "--root", &dir.root_arg()])
        .env("TRIBUNAL_MODE", "live")
        .output();
    assert!(out.success(), "{}", out.text());
    // One labelled output, two judges on it, both passing it: a trial run
    // would ask 4 canaries of each (see above); alignment asks none.
    assert_eq!(openai.count(), 1, "{}", out.text());
    assert_eq!(anthropic.count(), 1, "{}", out.text());
    assert!(!out.text().contains("canar"), "{}", out.text());
}
