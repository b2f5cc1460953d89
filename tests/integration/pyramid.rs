//! Invariance and directional checks, `repeat:` samples and the quarantine
//! list, end to end through the harness on temporary projects; and a
//! prompt target whose perturbed and repeated calls are recorded as
//! distinct cassettes and replayed from a loopback server's answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use tribunal::provider::mock::{MockReply, MockServer};
use tribunal::snapshot::Settings;
use tribunal::verdict::Status;
use tribunal::{Harness, Input, RunOutcome};

use crate::common::TestProject;

/// A spam classifier that is fragile on purpose: it reads `FREE` only in
/// capitals, and ranks urgency by the word `urgent`.
fn classify(input: &Input) -> Result<Value, String> {
    let text = input.text();
    let label = if text.contains("FREE") { "spam" } else { "ham" };
    let priority = if text.to_lowercase().contains("urgent") {
        "high"
    } else {
        "low"
    };
    Ok(json!({"label": label, "priority": priority}))
}

const SUITE: &str = r#"
suite: pyramid
defaults:
  target: classify
cases:
  - id: spam
    input: "Win a FREE cruise today only! Reply by 5.30 pm."
    checks:
      - invariant:
          inputs: ["You have won a FREE cruise: reply today"]
          perturb: [whitespace, punctuation, lowercase, {typos: {seed: 7, count: 2}}]
          relation: {json_path: $.label}
      - directional:
          edit: {append: " This is urgent."}
          value: $.priority
          expect: higher
          order: [low, high]
  - id: ham
    input: "Lunch at noon?"
    checks:
      - invariant:
          perturb: [uppercase, {distractor: "The office plants were watered."}]
          relation: {json_path: $.label}
      - directional:
          edit: {replace: {from: "Lunch", to: "FREE lunch"}}
          value: $.label
          expect: flip
          flip: {ham: spam, spam: ham}
"#;

fn shown(out: &RunOutcome) -> String {
    let mut records: Vec<_> = out.records.iter().collect();
    records.sort_by(|a, b| a.verdict.trial.cmp(&b.verdict.trial));
    let mut s = String::new();
    for r in records {
        s.push_str(&format!(
            "{} [{}] {:?}\n",
            r.verdict.trial, r.verdict.outcome, r.status
        ));
        if let Some(e) = &r.verdict.error {
            s.push_str(&format!("  error: {e}\n"));
        }
        for c in &r.verdict.checks {
            s.push_str(&format!(
                "  - {} [{}] label={}\n    {}\n",
                c.name,
                c.outcome,
                c.label.as_deref().unwrap_or("-"),
                c.reason
            ));
        }
        if let Some(q) = &r.quarantine {
            s.push_str(&format!("  quarantine: {}\n", q.line()));
        }
    }
    s
}

fn quiet(p: &TestProject, h: Harness) -> RunOutcome {
    p.run_with(
        h,
        Settings::from_vars(None, None, false),
        &["--quiet", "--test-threads", "1"],
    )
}

#[test]
fn invariance_names_the_input_that_broke_and_directional_ranks_the_change() {
    let p = TestProject::with(&[("evals/pyramid.yaml", SUITE)]);
    let out = p.run(Harness::new().target("classify", classify));
    insta::assert_snapshot!(shown(&out));
}

#[test]
fn a_newly_fragile_target_changes_the_snapshot_of_which_inputs_held() {
    let p = TestProject::with(&[("evals/pyramid.yaml", SUITE)]);
    let always = Settings::from_vars(Some("always"), None, false);
    let first = p.run_with(
        Harness::new().target("classify", classify),
        always,
        &["--quiet"],
    );
    assert!(
        first
            .records
            .iter()
            .all(|r| r.status == Status::Pass || r.status == Status::KnownFailure)
    );
    // A target that now also misreads whitespace: the `whitespace` input of
    // `spam` breaks, and the accepted snapshot says it held.
    let fragile = |input: &Input| {
        if input.text().contains("  ") {
            return Ok(json!({"label": "ham", "priority": "low"}));
        }
        classify(input)
    };
    let again = quiet(&p, Harness::new().target("classify", fragile));
    let spam = again
        .records
        .iter()
        .find(|r| r.verdict.trial == "pyramid::spam")
        .expect("spam");
    assert_eq!(spam.status, Status::Changed);
    let label = spam.verdict.checks[0].label.clone().unwrap_or_default();
    assert_eq!(label, "broke: whitespace, lowercase");
}

const REPEATED: &str = r#"
suite: rep
defaults:
  target: coin
cases:
  - id: majority
    input: "x"
    repeat: {k: 5, rule: majority}
    checks: [{equals: "heads"}]
  - id: all
    input: "y"
    repeat: 5
    checks: [{equals: "heads"}]
"#;

const BAD_REPEAT: &str = r#"
suite: rep_bad
cases:
  - id: bad
    input: "z"
    target: coin
    repeat: {k: 2, rule: {at_least: 3}}
    checks: [{equals: "heads"}]
"#;

/// Heads on calls 1, 2, 4 of each case (by its own counter): 3 of 5.
fn coin() -> impl Fn(&Input) -> Result<String, String> + Send + Sync + 'static {
    let calls: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
    move |input: &Input| {
        let mut m = calls.lock().map_err(|e| e.to_string())?;
        let n = m.entry(input.case_id.clone()).or_default();
        *n += 1;
        Ok(if [1, 2, 4].contains(n) {
            "heads"
        } else {
            "tails"
        }
        .to_string())
    }
}

#[test]
fn repeat_decides_by_its_rule_and_buckets_the_rate() {
    let p = TestProject::with(&[
        ("evals/rep.yaml", REPEATED),
        ("evals/rep_bad.yaml", BAD_REPEAT),
    ]);
    let out = p.run(Harness::new().target("coin", coin()));
    // `bad` asks for 3 of 2 samples: a load error at its line.
    let errors: Vec<String> = out.load_errors.iter().map(|e| e.to_string()).collect();
    insta::assert_snapshot!(format!("{}\n{}", shown(&out), errors.join("\n")));
}

#[test]
fn tribunal_repeat_sets_the_default_samples_and_a_bad_value_is_an_error() {
    let p = TestProject::with(&[(
        "evals/rep.yaml",
        "suite: rep\ncases:\n  - id: c\n    input: x\n    target: coin\n    checks: [{equals: heads}]\n",
    )]);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let h = Harness::new().target("coin", move |_: &Input| {
        seen.fetch_add(1, Ordering::SeqCst);
        Ok::<_, String>("heads")
    });
    p.write("tribunal.yaml", "run: {repeat: 4}\n");
    let out = p.run(h);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let checks: Vec<String> = out.records[0]
        .verdict
        .checks
        .iter()
        .map(|c| format!("{} {:?}", c.name, c.label))
        .collect();
    assert_eq!(
        checks,
        [
            "equals \"heads\" Some(\"all\")",
            "repeat 4 (all) Some(\"all\")"
        ]
    );
    p.write("tribunal.yaml", "run: {repeat: 0}\n");
    let bad = p.run(Harness::new().target("coin", |_: &Input| Ok::<_, String>("x")));
    let errors: Vec<String> = bad.load_errors.iter().map(|e| e.message.clone()).collect();
    assert_eq!(
        errors,
        [
            "configuration: tribunal.yaml:1:15: `run.repeat` is 0, not between 1 and 100 (hint: write `repeat: 3`)"
        ]
    );
}

const QUARANTINE: &str = "quarantine:\n  - case: \"pyramid::spam\"\n    reason: \"the classifier misreads lower case; see #14\"\n    owner: \"@pyramid\"\n    expires: 2999-12-31\n  - case: \"pyramid::ham*\"\n    reason: old entry\n    owner: \"@nobody\"\n    expires: 2000-01-01\n";

#[test]
fn a_quarantined_case_reports_but_does_not_gate_and_an_expired_entry_gates_again() {
    let p = TestProject::with(&[
        ("evals/pyramid.yaml", SUITE),
        ("evals/quarantine.yaml", QUARANTINE),
    ]);
    // `spam` fails its invariance (lower case), `ham` fails on a broken
    // target for the edited input; only `spam` is quarantined.
    let broken = |input: &Input| {
        if input.text().contains("FREE lunch") {
            return Err("the classifier fell over".to_string());
        }
        classify(input)
    };
    let out = quiet(&p, Harness::new().target("classify", broken));
    insta::assert_snapshot!(shown(&out));
    // The expired entry gates: the run fails for `ham`.
    assert_ne!(out.exit_code, std::process::ExitCode::SUCCESS);
    // Both verdicts accepted with a robust classifier, then the fragile one
    // regresses `spam`: quarantined, so the harness passes; without the
    // list it fails.
    let robust = |input: &Input| {
        let text = input.text().to_lowercase();
        let label = if text.contains("free") { "spam" } else { "ham" };
        let priority = if text.contains("urgent") {
            "high"
        } else {
            "low"
        };
        Ok::<_, String>(json!({"label": label, "priority": priority}))
    };
    let always = Settings::from_vars(Some("always"), None, false);
    p.run_with(
        Harness::new().target("classify", robust),
        always,
        &["--quiet"],
    );
    let fragile = quiet(&p, Harness::new().target("classify", classify));
    let statuses: Vec<(String, Status)> = fragile
        .records
        .iter()
        .map(|r| (r.verdict.trial.clone(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("pyramid::spam".to_string(), Status::Quarantined),
            ("pyramid::ham".to_string(), Status::Pass),
        ]
    );
    assert_eq!(
        fragile.records[0].quarantine.as_ref().map(|q| q.status),
        Some(Status::Regression)
    );
    assert_eq!(fragile.exit_code, std::process::ExitCode::SUCCESS);
    // Every report shows it: the terminal summary, Markdown, JUnit; the
    // gates ignore it (the pass rate counts `ham` alone).
    let summary = p
        .tribunal(&[
            "report",
            "--format",
            "terminal",
            "--format",
            "markdown",
            "--format",
            "junit",
            "--fail-on-status",
            "--min-pass-rate",
            "1",
        ])
        .output();
    assert!(summary.success(), "{}", summary.text());
    insta::assert_snapshot!("quarantine_reports", summary.snapshot());
    let html = p.tribunal(&["report", "--format", "html"]).output();
    assert!(html.success(), "{}", html.text());
    for shown in [
        "<h3>Quarantined (reported, not gating) (1)</h3>",
        "<span class=\"st st-quarantined\">quarantined</span> <code>pyramid::spam</code> — quarantined until 2999-12-31 by @pyramid",
    ] {
        assert!(
            html.stdout.contains(shown),
            "{shown} is not in the HTML report"
        );
    }
    p.write("gh/event.json", "{}");
    let annotate = p
        .tribunal(&["ci", "github", "annotate", "--root", "."])
        .ci(true)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "push")
        .env(
            "GITHUB_EVENT_PATH",
            &p.join("gh/event.json").to_string_lossy(),
        )
        .env("GITHUB_REPOSITORY", "octo-org/shop")
        .env("GITHUB_WORKSPACE", &p.root_arg())
        .output();
    assert!(annotate.success(), "{}", annotate.text());
    insta::assert_snapshot!("quarantine_annotations", annotate.snapshot());
    let without = TestProject::with(&[("evals/pyramid.yaml", SUITE)]);
    without.run_with(
        Harness::new().target("classify", robust),
        Settings::from_vars(Some("always"), None, false),
        &["--quiet"],
    );
    let failed = quiet(&without, Harness::new().target("classify", classify));
    assert_ne!(failed.exit_code, std::process::ExitCode::SUCCESS);
    // A broken list is a setup error naming its place.
    p.write("evals/quarantine.yaml", "quarantine:\n  - case: x\n");
    let bad = quiet(&p, Harness::new().target("classify", classify));
    assert!(bad.records.is_empty());
    let errors: Vec<String> = bad.load_errors.iter().map(|e| e.message.clone()).collect();
    insta::assert_snapshot!("quarantine_broken_list", errors.join("\n"));
}

/// The model answers `spam` when the request has `FREE` in capitals, and
/// answers a coin flip `heads`, `tails`, `heads`, `tails` in call order.
fn model() -> MockServer {
    let coins = AtomicUsize::new(0);
    MockServer::start(true, move |req, _| {
        let body = req.json();
        let text = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_string();
        let label = if text.contains("FREE") { "spam" } else { "ham" };
        if text.contains("coin") {
            let n = coins.fetch_add(1, Ordering::SeqCst);
            return MockReply::openai(
                if n.is_multiple_of(2) {
                    "heads"
                } else {
                    "tails"
                },
                5,
                1,
            );
        }
        MockReply::openai(label, 10, 1)
    })
    .expect("server")
}

const PROMPTED: &str = r#"
suite: prompted
defaults:
  target: {prompt: {provider: bot, template: "Classify: {{ input }}"}}
cases:
  - id: spam
    input: "Win a FREE cruise"
    checks:
      - equals: spam
      - invariant:
          perturb: [whitespace, lowercase]
          inputs: ["A FREE cruise is yours"]
  - id: coin
    input: "flip a coin"
    repeat: {k: 4, rule: {at_least: 2}}
    checks: [{equals: heads}]
"#;

#[test]
fn perturbed_and_repeated_calls_are_distinct_cassettes_that_replay() {
    let server = model();
    let p = TestProject::with(&[
        ("evals/prompted.yaml", PROMPTED),
        (
            "tribunal.yaml",
            &format!(
                "providers:\n  bot:\n    kind: openai\n    model: bot-1\n    base_url: {}/v1\nretry: {{max_attempts: 1}}\nreports: {{history: 'off'}}\n",
                server.url()
            ),
        ),
    ]);
    let root = p.root_arg();
    let run = |p: &TestProject, mode: &str| {
        p.tribunal(&["test", "--root", root.as_str(), "--", "--test-threads", "1"])
            .env("TRIBUNAL_MODE", mode)
            .env("INSTA_UPDATE", "always")
            .output()
    };
    let recorded = run(&p, "record");
    assert!(recorded.success(), "{}", recorded.text());
    // spam: its own call, 3 equivalent inputs; coin: 4 samples.
    assert_eq!(server.count(), 8);
    let mut per_case: Vec<(String, usize)> = Vec::new();
    for f in p.files_under("fixtures/cassettes") {
        let dir = f.rsplit_once('/').map_or(f.clone(), |(d, _)| d.to_string());
        match per_case.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, n)) => *n += 1,
            None => per_case.push((dir, 1)),
        }
    }
    assert_eq!(
        per_case,
        [
            ("fixtures/cassettes/prompted/coin".to_string(), 4),
            ("fixtures/cassettes/prompted/spam".to_string(), 4),
        ]
    );
    let samples: Vec<u64> = p
        .files_under("fixtures/cassettes/prompted/coin")
        .iter()
        .map(|f| {
            let text = p.read(f);
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with("sample:"))
                .unwrap_or("sample: 99")
                .to_string();
            line.trim_start()["sample:".len()..]
                .trim()
                .parse()
                .unwrap_or(99)
        })
        .collect::<std::collections::BTreeSet<u64>>()
        .into_iter()
        .collect();
    assert_eq!(samples, [0, 1, 2, 3]);
    let first = p.read("target/tribunal/last.json");
    drop(server);
    // Replay: no server, the same verdicts.
    let replayed = run(&p, "replay");
    assert!(replayed.success(), "{}", replayed.text());
    let decisions = |text: &str| -> Vec<Value> {
        let v: Value = serde_json::from_str(text).expect("results");
        v["records"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                json!([
                    r["verdict"]["trial"],
                    r["verdict"]["outcome"],
                    r["verdict"]["checks"].as_array().map(|c| c
                        .iter()
                        .map(|c| json!([c["name"], c["outcome"], c["label"]]))
                        .collect::<Vec<_>>())
                ])
            })
            .collect()
    };
    let second = p.read("target/tribunal/last.json");
    assert_eq!(decisions(&first), decisions(&second));
    insta::assert_snapshot!(serde_json::to_string_pretty(&decisions(&second)).expect("json"));
}

/// `tribunal flaky` over a synthetic history of four runs, figures by hand:
///
/// ```text
///               r1 r2 r3 r4
/// shop::refund  P  F  P  F    3 flips, 2/4, Wilson 95% [15.0%, 85.0%]
/// shop::greet   P  P  P  P    stable, but a judge split its votes in r4
/// shop::tone    F  F  F  F    stable
/// ```
#[test]
fn tribunal_flaky_lists_unstable_cases_from_the_history() {
    use tribunal::report::history::History;
    use tribunal::report::sample;
    use tribunal::verdict::{CheckResult, Outcome};
    let p = TestProject::new();
    let mut h = History::open(&p.join("target/tribunal/history.db")).expect("history");
    let series = [
        [Outcome::Pass, Outcome::Pass, Outcome::Fail],
        [Outcome::Fail, Outcome::Pass, Outcome::Fail],
        [Outcome::Pass, Outcome::Pass, Outcome::Fail],
        [Outcome::Fail, Outcome::Pass, Outcome::Fail],
    ];
    for (i, outcomes) in series.iter().enumerate() {
        let mut run = sample::run(0, 1.0, i as u64 + 1);
        run.run_id = format!("run-{}", i + 1);
        run.started_at = format!("2026-11-0{}T10:00:00Z", i + 1);
        run.records = ["shop::refund", "shop::greet", "shop::tone"]
            .iter()
            .zip(outcomes)
            .map(|(t, o)| sample::record(t, *o, Status::Pass, 1.0, &[], 10.0, 0.0))
            .collect();
        if i == 3 {
            let mut judge = CheckResult::new("judge", "judge polite", Outcome::Pass, "");
            judge.warnings.push("split vote: 2 pass, 1 fail".into());
            run.records[1].verdict.checks = vec![judge];
        }
        h.store(&run).expect("store");
    }
    drop(h);
    let table = p.tribunal(&["flaky", "--root", "."]).output();
    assert!(table.success(), "{}", table.text());
    insta::assert_snapshot!("flaky_table", table.snapshot());
    let json = p
        .tribunal(&["flaky", "--root", ".", "--json", "--last", "2"])
        .output();
    assert!(json.success(), "{}", json.text());
    insta::assert_snapshot!("flaky_json_last_two", json.snapshot());
    let none = TestProject::new()
        .tribunal(&["flaky", "--root", "."])
        .output();
    assert!(!none.success());
    insta::assert_snapshot!("flaky_no_history", none.snapshot());
}

const UNUSABLE: &str = r#"
suite: unusable
defaults:
  target: {prompt: {provider: bot, template: "{{ input }}"}}
cases:
  - id: paraphrase
    input: "Win a FREE cruise"
    checks:
      - invariant: {paraphrase: {provider: bot, count: 2}}
  - id: judge
    input: "Win a FREE cruise"
    checks:
      - invariant: {perturb: [uppercase], relation: {judge: bot}}
  - id: path
    input: "Win a FREE cruise"
    checks:
      - invariant: {perturb: [lowercase], relation: {json_path: $.label}}
"#;

/// A paraphrase model that answers one paraphrase instead of two, a judge
/// that answers prose, and outputs that are not JSON: each is an `error`
/// that says what came back, never a pass.
#[test]
fn unusable_paraphrases_judges_and_values_are_errors() {
    let server = MockServer::start(true, |req, _| {
        let text = req.json()["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_string();
        if text.starts_with("Rewrite the request") {
            MockReply::openai("[\"Only one rewrite\"]", 5, 5)
        } else if text.starts_with("Two answers") {
            MockReply::openai("They look about the same to me.", 5, 5)
        } else {
            MockReply::openai("spam", 5, 1)
        }
    })
    .expect("server");
    let p = TestProject::with(&[
        ("evals/unusable.yaml", UNUSABLE),
        (
            "tribunal.yaml",
            &format!(
                "providers:\n  bot:\n    kind: openai\n    model: bot-1\n    base_url: {}/v1\nretry: {{max_attempts: 1}}\nreports: {{history: 'off'}}\n",
                server.url()
            ),
        ),
    ]);
    let root = p.root_arg();
    let out = p
        .tribunal(&["test", "--root", root.as_str(), "--", "--test-threads", "1"])
        .env("TRIBUNAL_MODE", "live")
        .output();
    assert!(!out.success());
    let last: Value = serde_json::from_str(&p.read("target/tribunal/last.json")).expect("json");
    let mut rows: Vec<String> = last["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let c = &r["verdict"]["checks"][0];
            format!(
                "{} [{}] {}",
                r["verdict"]["trial"].as_str().unwrap_or(""),
                c["outcome"].as_str().unwrap_or(""),
                c["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    rows.sort();
    insta::assert_snapshot!(rows.join("\n"));
}
