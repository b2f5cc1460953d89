//! The harness end to end on temporary projects: loading, selection,
//! snapshots, statuses, and bad input that fails only its own trials.

use std::path::Path;

use libtest_mimic::Arguments;
use rstest::rstest;
use tribunal::snapshot::Settings;
use tribunal::verdict::Status;
use tribunal::{Harness, Input};

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn echo(input: &Input) -> Result<String, String> {
    Ok(format!("echo: {}", input.text()))
}

fn harness(root: &Path, settings: Settings) -> Harness {
    Harness::new()
        .root(root)
        .snapshot_settings(settings)
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

fn args(extra: &[&str]) -> Arguments {
    let mut all = vec!["evals", "--quiet", "--test-threads", "2"];
    all.extend_from_slice(extra);
    Arguments::from_iter(all)
}

fn local() -> Settings {
    Settings::from_vars(None, None, false)
}

fn accept_all(root: &Path) {
    for entry in walk(&root.join("evals")) {
        let name = entry.to_string_lossy().into_owned();
        if let Some(target) = name.strip_suffix(".new") {
            std::fs::rename(&entry, target).expect("accept");
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
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
    let p = project(&[("evals/good.yaml", GOOD)]);
    let first = harness(p.path(), local()).run_quietly(&args(&[]));
    assert_ne!(first.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(status_of(&first, "good::hello"), Status::New);
    assert!(
        p.path()
            .join("evals/snapshots/good__hello.snap.new")
            .exists()
    );
    assert!(
        !p.path()
            .join("evals/snapshots/good__later.snap.new")
            .exists()
    );

    accept_all(p.path());
    let second = harness(p.path(), local()).run_quietly(&args(&[]));
    assert_eq!(second.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(status_of(&second, "good::hello"), Status::Pass);
    assert_eq!(status_of(&second, "good::loud"), Status::Pass);
    assert_eq!(status_of(&second, "good::known-bad"), Status::KnownFailure);
    assert!(
        second
            .records
            .iter()
            .all(|r| r.verdict.trial != "good::later")
    );
}

#[test]
fn a_changed_verdict_is_a_regression_with_a_diff() {
    let p = project(&[("evals/good.yaml", GOOD)]);
    harness(p.path(), local()).run_quietly(&args(&[]));
    accept_all(p.path());
    // The system under test changes: `hello` no longer passes.
    let changed = GOOD.replace("- contains: hello", "- contains: goodbye");
    std::fs::write(p.path().join("evals/good.yaml"), changed).expect("write");
    let run = harness(p.path(), local()).run_quietly(&args(&[]));
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(status_of(&run, "good::hello"), Status::Regression);
    let pending = std::fs::read_to_string(p.path().join("evals/snapshots/good__hello.snap.new"))
        .expect("pending snapshot written for review");
    assert!(pending.contains("outcome: fail"), "{pending}");
    assert!(pending.contains("assertion_line: 6"), "{pending}");
    // Other trials are unaffected.
    assert_eq!(status_of(&run, "good::loud"), Status::Pass);
}

#[test]
fn an_improvement_awaits_review() {
    let p = project(&[("evals/good.yaml", GOOD)]);
    harness(p.path(), local()).run_quietly(&args(&[]));
    accept_all(p.path());
    let fixed = GOOD.replace("- contains: bye", "- contains: hi");
    std::fs::write(p.path().join("evals/good.yaml"), fixed).expect("write");
    let run = harness(p.path(), local()).run_quietly(&args(&[]));
    assert_eq!(status_of(&run, "good::known-bad"), Status::Improvement);
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
}

#[test]
fn ci_never_writes_and_fails_missing_snapshots() {
    let p = project(&[("evals/good.yaml", GOOD)]);
    let ci = Settings::from_vars(None, None, true);
    let run = harness(p.path(), ci).run_quietly(&args(&[]));
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(status_of(&run, "good::hello"), Status::New);
    assert!(
        !p.path().join("evals/snapshots").exists(),
        "CI must not write snapshots"
    );
}

#[test]
fn a_broken_file_fails_alone_with_its_location() {
    let broken = "suite: broken\ncases:\n  - id: a\n    input: x\n    target: echo\n    chekcs:\n      - contains: x\n";
    let p = project(&[("evals/good.yaml", GOOD), ("evals/broken.yaml", broken)]);
    let run =
        harness(p.path(), Settings::from_vars(Some("always"), None, false)).run_quietly(&args(&[]));
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert_eq!(run.load_errors.len(), 1);
    let err = &run.load_errors[0];
    assert!(err.contains("evals/broken.yaml:6:5"), "{err}");
    assert!(err.contains("did you mean `checks`"), "{err}");
    // Every other suite still ran.
    assert_eq!(status_of(&run, "good::hello"), Status::Pass);
}

#[rstest]
#[case::substring(&["hello"], &["good::hello"])]
#[case::exact(&["--exact", "good::loud"], &["good::loud"])]
#[case::skip(&["--skip", "good::"], &[])]
#[case::ignored(&["--ignored"], &["good::later"])]
fn filters_select_what_is_evaluated(#[case] extra: &[&str], #[case] expected: &[&str]) {
    let p = project(&[("evals/good.yaml", GOOD)]);
    let run = harness(p.path(), Settings::from_vars(Some("no"), Some("1"), false))
        .run_quietly(&args(extra));
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
    let p = project(&[("evals/good.yaml", GOOD)]);
    let run = harness(p.path(), local()).run_quietly(&args(&["--list"]));
    assert!(run.records.is_empty());
    assert!(!p.path().join("evals/snapshots").exists());
}

#[test]
fn a_panicking_target_is_an_error_verdict() {
    let suite = "suite: s\ncases:\n  - id: c\n    target: crash\n    input: x\n    checks: [{contains: x}]\n";
    let p = project(&[("evals/s.yaml", suite)]);
    let run =
        harness(p.path(), Settings::from_vars(Some("always"), None, false)).run_quietly(&args(&[]));
    assert_eq!(status_of(&run, "s::c"), Status::Error);
    let v = &run.records[0].verdict;
    assert!(
        v.error.as_deref().unwrap_or("").contains("fell over"),
        "{:?}",
        v.error
    );
    assert!(!p.path().join("evals/snapshots/s__c.snap").exists());
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
    let p = project(&[("evals/v.yaml", suite)]);
    let run =
        harness(p.path(), Settings::from_vars(Some("always"), None, false)).run_quietly(&args(&[]));
    assert_eq!(status_of(&run, "v::c::short"), Status::Pass);
    assert_eq!(status_of(&run, "v::c::long"), Status::Pass);
    assert!(p.path().join("evals/snapshots/v__c__short.snap").exists());
    assert!(p.path().join("evals/snapshots/v__c__long.snap").exists());
}

#[test]
fn an_empty_eval_folder_is_an_error() {
    let p = project(&[("evals/README.md", "nothing here")]);
    let run = harness(p.path(), local()).run_quietly(&args(&[]));
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert!(
        run.load_errors[0].contains("no eval suites found"),
        "{:?}",
        run.load_errors
    );
}

#[test]
fn a_glob_that_matches_nothing_is_an_error() {
    let p = project(&[("evals/good.yaml", GOOD)]);
    let run = harness(p.path(), local())
        .suites("evals/**/nothing-*.yaml")
        .run_quietly(&args(&[]));
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
    assert!(
        run.load_errors[0].contains("matches no YAML file"),
        "{:?}",
        run.load_errors
    );
}

#[test]
fn must_pass_fails_even_when_accepted() {
    let suite = "suite: m\ncases:\n  - id: c\n    target: echo\n    input: x\n    gate: must_pass\n    checks: [{contains: nope}]\n";
    let p = project(&[("evals/m.yaml", suite)]);
    harness(p.path(), Settings::from_vars(Some("always"), None, false)).run_quietly(&args(&[]));
    let run = harness(p.path(), local()).run_quietly(&args(&[]));
    assert_eq!(status_of(&run, "m::c"), Status::MustPassFailure);
    assert_ne!(run.exit_code, std::process::ExitCode::SUCCESS);
}

#[test]
fn a_failing_check_points_at_its_yaml_line() {
    let suite = "suite: s\ncases:\n  - id: c\n    target: echo\n    input: hi\n    checks:\n      - contains: hi\n      - contains: bye\n      - regex: '\\d'\n";
    let p = project(&[("evals/s.yaml", suite)]);
    let run = harness(p.path(), local()).run_quietly(&args(&[]));
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
    assert_eq!(&back, v);
}
