//! The harness end to end on temporary projects: loading, selection,
//! snapshots, statuses, and bad input that fails only its own trials.

use rstest::rstest;
use tribunal::snapshot::Settings;
use tribunal::verdict::Status;
use tribunal::{Harness, Input, RunOutcome};

use crate::common::TestProject;

fn echo(input: &Input) -> Result<String, String> {
    Ok(format!("echo: {}", input.text()))
}

fn harness() -> Harness {
    Harness::new()
        .target("echo", echo)
        .async_target("shout", |input: Input| async move {
            Ok::<_, String>(input.text().to_uppercase())
        })
        .target("crash", |_: &Input| -> Result<String, String> {
            panic!("the system under test fell over")
        })
        .check("short", |c: &tribunal::CheckInput<'_>| {
            c.output.text.len() < 40
        })
}

/// Runs the test harness over `p` with `settings` and libtest's `extra`
/// arguments, two test threads, quietly.
fn evaluate(p: &TestProject, settings: Settings, extra: &[&str]) -> RunOutcome {
    let mut all = vec!["--quiet", "--test-threads", "2"];
    all.extend_from_slice(extra);
    p.run_with(harness(), settings, &all)
}

fn local() -> Settings {
    Settings::from_vars(None, None, false)
}

fn always() -> Settings {
    Settings::from_vars(Some("always"), None, false)
}

fn status_of(outcome: &tribunal::RunOutcome, trial: &str) -> Status {
    outcome
        .records
        .iter()
        .find(|r| r.verdict.trial == trial)
        .unwrap_or_else(|| panic!("no record for {trial}"))
        .status
}

const GOOD: &str = r#"
suite: good
defaults:
  target: echo
cases:
  - id: hello
    input: hello
    checks:
      - contains: hello
      - rust: short
  - id: loud
    target: shout
    input: quiet please
    checks:
      - equals: QUIET PLEASE
  - id: known-bad
    input: hi
    checks:
      - contains: bye
  - id: later
    input: x
    skip: not built yet
    checks:
      - contains: x
"#;

#[test]
fn first_run_is_new_then_accepted_snapshots_pass() {
    let p = TestProject::with(&[("evals/good.yaml", GOOD)]);
    let first = evaluate(&p, local(), &[]);
    assert_ne!(first.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(status_of(&first, "good::hello"), Status::New);
    assert!(p.exists("evals/snapshots/good__hello.snap.new"));
    assert!(!p.exists("evals/snapshots/good__later.snap.new"));

    p.accept_snapshots();
    let second = evaluate(&p, local(), &[]);
    assert_eq!(second.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(status_of(&second, "good::hello"), Status::Pass);
    assert_eq!(status_of(&second, "good::loud"), Status::Pass);
    assert_eq!(status_of(&second, "good::known-bad"), Status::KnownFailure);
    // A skipped case is a record with its reason, not evaluated.
    assert_eq!(status_of(&second, "good::later"), Status::Skipped);
    let later = second
        .records
        .iter()
        .find(|r| r.verdict.trial == "good::later")
        .expect("skipped record");
    assert_eq!(later.skip_reason.as_deref(), Some("not built yet"));
    assert!(later.verdict.output.is_none());
}

#[test]
fn a_changed_verdict_is_a_regression_with_a_diff() {
    let p = TestProject::with(&[("evals/good.yaml", GOOD)]);
    evaluate(&p, local(), &[]);
    p.accept_snapshots();
    // The system under test changes: `hello` no longer passes.
    let changed = GOOD.replace("- contains: hello", "- contains: goodbye");
    p.write("evals/good.yaml", changed);
    let run = evaluate(&p, local(), &[]);
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(status_of(&run, "good::hello"), Status::Regression);
    // The pending snapshot, as `cargo insta review` shows it: the failing
    // verdict, pointing at the case's line (`assertion_line: 6`).
    let pending = p.read("evals/snapshots/good__hello.snap.new");
    insta::assert_snapshot!(p.normalize(&pending));
    // Other trials are unaffected.
    assert_eq!(status_of(&run, "good::loud"), Status::Pass);
}

#[test]
fn an_improvement_awaits_review() {
    let p = TestProject::with(&[("evals/good.yaml", GOOD)]);
    evaluate(&p, local(), &[]);
    p.accept_snapshots();
    let fixed = GOOD.replace("- contains: bye", "- contains: hi");
    p.write("evals/good.yaml", fixed);
    let run = evaluate(&p, local(), &[]);
    assert_eq!(status_of(&run, "good::known-bad"), Status::Improvement);
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
}

#[test]
fn ci_never_writes_and_fails_missing_snapshots() {
    let p = TestProject::with(&[("evals/good.yaml", GOOD)]);
    let ci = Settings::from_vars(None, None, true);
    let run = evaluate(&p, ci, &[]);
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(status_of(&run, "good::hello"), Status::New);
    assert!(!p.exists("evals/snapshots"), "CI must not write snapshots");
}

#[test]
fn a_broken_file_fails_alone_with_its_location() {
    let broken = "suite: broken\ncases:\n  - id: a\n    input: x\n    target: echo\n    chekcs:\n      - contains: x\n";
    let p = TestProject::with(&[("evals/good.yaml", GOOD), ("evals/broken.yaml", broken)]);
    let run = evaluate(&p, always(), &[]);
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(run.load_errors.len(), 1);
    let failure = &run.load_errors[0];
    assert_eq!(failure.kind, tribunal::LoadFailureKind::File);
    assert_eq!(
        (
            failure.name.as_str(),
            failure.file.as_str(),
            failure.line,
            failure.col
        ),
        ("broken", "evals/broken.yaml", 6, 5)
    );
    insta::assert_snapshot!(p.normalize(&run.load_errors[0].message));
    // Every other suite still ran.
    assert_eq!(status_of(&run, "good::hello"), Status::Pass);
}

#[rstest]
#[case::substring(&["hello"], &["good::hello"])]
#[case::exact(&["--exact", "good::loud"], &["good::loud"])]
#[case::skip(&["--skip", "good::"], &[])]
#[case::ignored(&["--ignored"], &["good::later"])]
fn filters_select_what_is_evaluated(#[case] extra: &[&str], #[case] expected: &[&str]) {
    let p = TestProject::with(&[("evals/good.yaml", GOOD)]);
    let run = evaluate(&p, crate::common::quiet_settings(), extra);
    let mut got: Vec<&str> = run
        .records
        .iter()
        .map(|r| r.verdict.trial.as_str())
        .collect();
    got.sort();
    assert_eq!(got, expected);
}

#[test]
fn list_evaluates_nothing() {
    let p = TestProject::with(&[("evals/good.yaml", GOOD)]);
    let run = evaluate(&p, local(), &["--list"]);
    assert!(run.records.is_empty());
    assert!(!p.exists("evals/snapshots"));
}

#[test]
fn a_panicking_target_is_an_error_verdict() {
    let suite = "suite: s\ncases:\n  - id: c\n    target: crash\n    input: x\n    checks: [{contains: x}]\n";
    let p = TestProject::with(&[("evals/s.yaml", suite)]);
    let run = evaluate(&p, always(), &[]);
    assert_eq!(status_of(&run, "s::c"), Status::Error);
    let v = &run.records[0].verdict;
    insta::assert_snapshot!(v.error.as_deref().expect("an error verdict has its error"), @"target `crash` panicked: the system under test fell over");
    assert!(!p.exists("evals/snapshots/s__c.snap"));
}

#[test]
fn variants_are_trials_with_their_own_snapshots() {
    let suite = r#"
suite: v
defaults: {target: echo}
variants:
  - id: short
    vars: {style: short}
  - id: long
    vars: {style: long}
cases:
  - id: c
    input: hi
    checks: [{contains: hi}]
"#;
    let p = TestProject::with(&[("evals/v.yaml", suite)]);
    let run = evaluate(&p, always(), &[]);
    assert_eq!(status_of(&run, "v::c::short"), Status::Pass);
    assert_eq!(status_of(&run, "v::c::long"), Status::Pass);
    assert!(p.exists("evals/snapshots/v__c__short.snap"));
    assert!(p.exists("evals/snapshots/v__c__long.snap"));
}

#[test]
fn an_empty_eval_folder_is_an_error() {
    let p = TestProject::with(&[("evals/README.md", "nothing here")]);
    let run = evaluate(&p, local(), &[]);
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(run.load_errors.len(), 1, "{:?}", run.load_errors);
    assert_eq!(run.load_errors[0].kind, tribunal::LoadFailureKind::Setup);
    insta::assert_snapshot!(p.normalize(&run.load_errors[0].message), @"no eval suites found in [ROOT]/evals (looked for *.yaml and *.yml, skipping snapshots/ and prompts/); an empty suite is an error, not a pass (hint: add a suite file such as [ROOT]/evals/example.yaml, see docs/format.md)");
}

#[test]
fn a_glob_that_matches_nothing_is_an_error() {
    let p = TestProject::with(&[("evals/good.yaml", GOOD)]);
    let run = p.run_with(
        harness().suites("evals/**/nothing-*.yaml"),
        local(),
        &["--quiet"],
    );
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(run.load_errors.len(), 1, "{:?}", run.load_errors);
    insta::assert_snapshot!(p.normalize(&run.load_errors[0].message), @"the suite pattern `evals/**/nothing-*.yaml` matches no YAML file under [ROOT]/evals (an empty selection is an error, not a pass; hint: patterns are relative to the project root, such as `evals/**/*.yaml`)");
}

#[test]
fn must_pass_fails_even_when_accepted() {
    let suite = "suite: m\ncases:\n  - id: c\n    target: echo\n    input: x\n    gate: must_pass\n    checks: [{contains: nope}]\n";
    let p = TestProject::with(&[("evals/m.yaml", suite)]);
    evaluate(&p, always(), &[]);
    let run = evaluate(&p, local(), &[]);
    assert_eq!(status_of(&run, "m::c"), Status::MustPassFailure);
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
}

#[test]
fn a_failing_check_points_at_its_yaml_line() {
    let suite = "suite: s\ncases:\n  - id: c\n    target: echo\n    input: hi\n    checks:\n      - contains: hi\n      - contains: bye\n      - regex: '\\d'\n";
    let p = TestProject::with(&[("evals/s.yaml", suite)]);
    let run = evaluate(&p, local(), &[]);
    let v = &run.records[0].verdict;
    let at: Vec<String> = v
        .checks
        .iter()
        .map(|c| format!("{} {}", c.outcome, c.location.as_ref().expect("located")))
        .collect();
    assert_eq!(
        at,
        [
            "pass evals/s.yaml:7:9",
            "fail evals/s.yaml:8:9",
            "fail evals/s.yaml:9:9"
        ]
    );
    // Reports point at the first failing check, not only at the case.
    assert_eq!(v.location.to_string(), "evals/s.yaml:3:5");
    assert_eq!(v.failure_location().to_string(), "evals/s.yaml:8:9");
    // Results files keep the same `file:line:col` text.
    let json = serde_json::to_value(v).expect("json");
    assert_eq!(json["location"], "evals/s.yaml:3:5");
    assert_eq!(json["checks"][1]["location"], "evals/s.yaml:8:9");
    let back: tribunal::Verdict = serde_json::from_value(json).expect("reads back");
    assert_eq!(&back, &**v);
}

/// `TRIBUNAL_CONCURRENCY` trials are evaluated at once, never more, and a
/// trial that panics fails alone while the others go on: an async target
/// counts the evaluations in flight (each waits 30 ms, so they overlap).
#[test]
fn trials_in_flight_follow_the_concurrency_and_a_panic_fails_one_trial() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, p) = (Arc::clone(&now), Arc::clone(&peak));
    let harness = harness()
        .async_target("wait", move |input: Input| {
            let (now, peak) = (Arc::clone(&n), Arc::clone(&p));
            async move {
                let here = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(here, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, String>(input.text().to_string())
            }
        })
        .env(tribunal::Env::from_vars([("TRIBUNAL_CONCURRENCY", "3")]));
    let mut suite = String::from("suite: s\ncases:\n");
    for i in 0..12 {
        suite.push_str(&format!(
            "  - id: c{i:02}\n    target: wait\n    input: x\n    checks: [{{contains: x}}]\n"
        ));
    }
    suite.push_str("  - id: crash\n    target: crash\n    input: x\n    checks: [{contains: x}]\n");
    let p = TestProject::with(&[("evals/s.yaml", &suite)]);
    let run = p.run_with(harness, always(), &["--quiet"]);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        3,
        "evaluations in flight at most"
    );
    let statuses: Vec<String> = run
        .records
        .iter()
        .map(|r| format!("{} {:?}", r.verdict.trial, r.status))
        .collect();
    insta::assert_snapshot!(statuses.join("\n"));
}
