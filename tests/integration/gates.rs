//! What can make a gate pass when it should fail: broken suite files,
//! skipped cases, duplicate trial names, filters that select nothing, cases
//! nothing decided. Each is run the way a user runs it (`tribunal test
//! --root`) and its reports are snapshotted.

use crate::common::{CliOutput, TestProject};

/// `tribunal test --root ROOT -- --test-threads 1 FILTER` in the project.
fn test_run(p: &TestProject, env: &[(&str, &str)], filter: &[&str]) -> CliOutput {
    let root = p.root_arg();
    let mut args = vec!["test", "--root", &root, "--", "--test-threads", "1"];
    args.extend_from_slice(filter);
    tribunal(p, env, &args)
}

fn tribunal(p: &TestProject, env: &[(&str, &str)], args: &[&str]) -> CliOutput {
    let mut cmd = p.tribunal(args);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.output()
}

const GOOD: &str = "suite: good
cases:
  - id: hello
    output: hello world
    checks:
      - contains: hello
  - id: later
    output: x
    skip: waits for the new model
    checks:
      - contains: x
";

const BROKEN: &str = "suite: broken
cases:
  - id: a
    output: x
    checks:
      - contians: x
";

#[test]
fn a_broken_file_and_a_skipped_case_are_in_every_report_and_fail_the_gates() {
    let p = TestProject::with(&[("evals/good.yaml", GOOD), ("evals/broken.yaml", BROKEN)]);
    let out = test_run(&p, &[("INSTA_UPDATE", "always")], &[]);
    assert_eq!(out.code, Some(101), "tribunal test fails");
    insta::assert_snapshot!(
        "broken_summary_md",
        p.normalize(&p.read("target/tribunal/summary.md"))
    );
    insta::assert_snapshot!(
        "broken_junit",
        p.normalize(&p.read("target/tribunal/junit.xml"))
    );
    let last: serde_json::Value =
        serde_json::from_str(&p.read("target/tribunal/last.json")).expect("json");
    let entries: Vec<(String, String, String)> = last["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["verdict"]["trial"].as_str().unwrap_or("").to_string(),
                r["status"].as_str().unwrap_or("").to_string(),
                r["load_error"]
                    .as_str()
                    .or(r["skip_reason"].as_str())
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("broken".into(), "error".into(), "evals/broken.yaml".into()),
            ("good::hello".into(), "pass".into(), String::new()),
            (
                "good::later".into(),
                "skipped".into(),
                "waits for the new model".into()
            ),
        ]
    );
    let html = p.read("target/tribunal/report.html");
    assert!(
        html.contains("Suite files that did not load (1)")
            && html.contains("skipped: waits for the new model"),
        "the HTML lists both"
    );
    // Every gate fails on the broken file, not only --fail-on-status.
    for gate in [&["--fail-on-status"][..], &["--min-pass-rate", "0"][..]] {
        let mut args = vec!["report", "--root", "."];
        args.extend_from_slice(gate);
        let out = tribunal(&p, &[], &args);
        let text = out.text();
        assert_eq!(out.code, Some(1), "{gate:?} fails: {text}");
        assert!(
            text.contains("1 suite file(s) could not be loaded"),
            "{gate:?}: {text}"
        );
    }
}

#[test]
fn every_file_broken_is_a_failing_report_not_a_green_one() {
    let p = TestProject::with(&[("evals/broken.yaml", BROKEN)]);
    let out = test_run(&p, &[], &[]);
    assert_eq!(out.code, Some(101));
    let md = p.read("target/tribunal/summary.md");
    assert!(md.starts_with("## ❌ tribunal evals: 1 trial"), "{md}");
    let out = tribunal(&p, &[], &["report", "--root", ".", "--fail-on-status"]);
    let text = out.text();
    assert_eq!(out.code, Some(1), "{text}");
}

#[test]
fn one_trial_name_in_two_files_is_a_load_error_not_a_shared_result() {
    let a = "suite: s\ncases:\n  - id: same\n    output: yes\n    gate: must_pass\n    checks:\n      - contains: yes\n";
    let b = "suite: s\ncases:\n  - id: same\n    output: no\n    gate: must_pass\n    checks:\n      - contains: yes\n";
    let p = TestProject::with(&[("evals/a.yaml", a), ("evals/b.yaml", b)]);
    let out = test_run(&p, &[("INSTA_UPDATE", "always")], &[]);
    let text = out.text();
    assert_eq!(out.code, Some(101), "{text}");
    assert!(
        text.contains("evals/a.yaml:3:5: duplicate trial name `s::same`: defined at evals/a.yaml:3:5 and at evals/b.yaml:3:5"),
        "{text}"
    );
    assert!(!p.exists("evals/snapshots/s__same.snap"));
}

#[test]
fn a_filter_that_selects_nothing_is_an_error_in_ci() {
    let p = TestProject::with(&[("evals/good.yaml", GOOD)]);
    let out = test_run(&p, &[("CI", "true")], &["refnud"]);
    let text = out.text();
    assert_eq!(out.code, Some(2), "{text}");
    insta::assert_snapshot!(text.trim(), @"tribunal: the filter `refnud` selects none of the 2 trials (in CI a run that selects nothing is an error, not a pass; hint: list the trial names with `--list`)");
    assert!(!p.exists("target"), "nothing written in CI");
    // Listing selects nothing to run and is no error (nextest lists with
    // `--list --ignored` in CI).
    for list in [&["--list"][..], &["--list", "--ignored"][..]] {
        let out = test_run(&p, &[("CI", "true")], list);
        assert_eq!(out.code, Some(0), "{list:?}: {}", out.text());
    }
    // Locally an empty selection stays libtest's (exit 0).
    let out = test_run(&p, &[], &["refnud"]);
    assert_eq!(out.code, Some(0));
}

#[test]
fn a_case_nothing_decided_is_an_error() {
    let suite = "suite: s
cases:
  - id: weightless
    output: x
    checks:
      - contains: x
        weight: 0
  - id: all-skipped
    output: x
    checks:
      - contains: x
        when: failed
      - contains: y
        when: failed
";
    let p = TestProject::with(&[("evals/s.yaml", suite)]);
    let out = test_run(&p, &[("INSTA_UPDATE", "always")], &[]);
    let text = out.text();
    assert_eq!(out.code, Some(101), "{text}");
    assert!(text.contains("every check that ran has weight 0"), "{text}");
    let last: serde_json::Value =
        serde_json::from_str(&p.read("target/tribunal/last.json")).expect("json");
    let outcomes: Vec<&str> = last["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["verdict"]["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(outcomes, ["error", "error"]);
    assert!(text.contains("every check was skipped"), "{text}");
}

#[test]
fn a_cassette_miss_under_tribunal_test_names_tribunal_test() {
    let suite = "suite: s
cases:
  - id: ask
    input: where is my parcel?
    target:
      prompt:
        provider: openai:gpt-4.1-mini
        template: \"{{ input }}\"
    checks:
      - contains: parcel
";
    let p = TestProject::with(&[("evals/s.yaml", suite)]);
    let out = test_run(&p, &[("CI", "true")], &[]);
    let text = out.text();
    assert_eq!(out.code, Some(101), "{text}");
    let root = p.path().display().to_string();
    assert!(
        text.contains(&format!(
            "by running `TRIBUNAL_MODE=record tribunal test --root {root} -- 's::ask'`"
        )),
        "{text}"
    );
    assert!(!text.contains("cargo test --test evals"), "{text}");
}

/// Under `--exact NAME` (nextest's one process per trial) only the files
/// that can hold NAME's suite are loaded; anything unsure is loaded too.
#[test]
fn exact_loads_only_the_files_of_its_suite() {
    let a = "suite: a\ncases:\n  - id: c\n    output: x\n    checks: [{contains: x}]\n";
    let quoted = "suite: \"a\"\ncases:\n  - id: d\n    output: x\n    checks: [{contains: x}]\n";
    let broken = "suite: other\ncases:\n  - id: c\n    checks: [{contians: x}]\n";
    let p = TestProject::with(&[
        ("evals/a.yaml", a),
        ("evals/quoted.yaml", quoted),
        ("evals/other.yaml", broken),
    ]);
    let run = |args: &[&str]| {
        let mut all = vec!["evals", "--quiet"];
        all.extend_from_slice(args);
        tribunal::Harness::new()
            .root(p.path())
            .snapshot_settings(super::common::quiet_settings())
            .run_quietly(&libtest_mimic::Arguments::from_iter(all))
    };
    let exact = run(&["--exact", "a::c"]);
    let trials: Vec<&str> = exact
        .records
        .iter()
        .map(|r| r.verdict.trial.as_str())
        .collect();
    assert_eq!(trials, ["a::c"]);
    assert!(
        exact.load_errors.is_empty(),
        "other.yaml was not loaded: {:?}",
        exact.load_errors
    );
    // The quoted `suite:` is unsure, so its file is loaded: its trial is found.
    let quoted = run(&["--exact", "a::d"]);
    let trials: Vec<&str> = quoted
        .records
        .iter()
        .map(|r| r.verdict.trial.as_str())
        .collect();
    assert_eq!(trials, ["a::d"]);
    // Without --exact every file loads, and the broken one is reported.
    let all = run(&[]);
    assert_eq!(all.load_errors.len(), 1, "{:?}", all.load_errors);
    // The broken file's own trial, run alone, is still its load error.
    let alone = run(&["--exact", "other"]);
    assert_eq!(alone.load_errors.len(), 1);
    assert_ne!(alone.exit_code, std::process::ExitCode::SUCCESS);
}
