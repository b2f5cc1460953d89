//! What can make a gate pass when it should fail: broken suite files,
//! skipped cases, duplicate trial names, filters that select nothing, cases
//! nothing decided. Each is run the way a user runs it (`tribunal test
//! --root`) and its reports are snapshotted.

use std::path::Path;
use std::process::{Command, Output};

use super::common::project;

fn tribunal(root: &Path, env: &[(&str, &str)], args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tribunal"));
    cmd.args(args)
        .current_dir(root)
        .env_remove("INSTA_UPDATE")
        .env_remove("INSTA_FORCE_PASS")
        .env_remove("TRIBUNAL_SUITES")
        .env_remove("NEXTEST_RUN_ID")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("TRIBUNAL_REPORT_DIR")
        .env("CI", "false");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run tribunal");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

fn test_run(root: &Path, env: &[(&str, &str)], filter: &[&str]) -> (Output, String) {
    let root_s = root.to_string_lossy().into_owned();
    let mut args = vec!["test", "--root", &root_s, "--", "--test-threads", "1"];
    args.extend_from_slice(filter);
    tribunal(root, env, &args)
}

/// Run ids, times and durations vary from run to run.
fn normalize(text: &str) -> String {
    let rules = [
        (r"\d{8}T\d{6}Z-[0-9a-f]+", "[run-id]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?", "[time]"),
        (r#"time="[0-9.]+""#, r#"time="[t]""#),
        (r"\d+(\.\d+)? (ms|s)\b", "[ms]"),
        (r"/[^ `']*/\.tmp[A-Za-z0-9]+", "[root]"),
    ];
    let mut out = text.to_string();
    for (re, with) in rules {
        out = regex::Regex::new(re)
            .expect("static regex")
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
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
    let p = project(&[("evals/good.yaml", GOOD), ("evals/broken.yaml", BROKEN)]);
    let (out, _) = test_run(p.path(), &[("INSTA_UPDATE", "always")], &[]);
    assert_eq!(out.status.code(), Some(101), "tribunal test fails");
    insta::assert_snapshot!(
        "broken_summary_md",
        normalize(&read(p.path(), "target/tribunal/summary.md"))
    );
    insta::assert_snapshot!(
        "broken_junit",
        normalize(&read(p.path(), "target/tribunal/junit.xml"))
    );
    let last: serde_json::Value =
        serde_json::from_str(&read(p.path(), "target/tribunal/last.json")).expect("json");
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
    let html = read(p.path(), "target/tribunal/report.html");
    assert!(
        html.contains("Suite files that did not load (1)")
            && html.contains("skipped: waits for the new model"),
        "the HTML lists both"
    );
    // Every gate fails on the broken file, not only --fail-on-status.
    for gate in [&["--fail-on-status"][..], &["--min-pass-rate", "0"][..]] {
        let mut args = vec!["report", "--root", "."];
        args.extend_from_slice(gate);
        let (out, text) = tribunal(p.path(), &[], &args);
        assert_eq!(out.status.code(), Some(1), "{gate:?} fails: {text}");
        assert!(
            text.contains("1 suite file(s) could not be loaded"),
            "{gate:?}: {text}"
        );
    }
}

#[test]
fn every_file_broken_is_a_failing_report_not_a_green_one() {
    let p = project(&[("evals/broken.yaml", BROKEN)]);
    let (out, _) = test_run(p.path(), &[], &[]);
    assert_eq!(out.status.code(), Some(101));
    let md = read(p.path(), "target/tribunal/summary.md");
    assert!(md.starts_with("## ❌ tribunal evals: 1 trials"), "{md}");
    let (out, text) = tribunal(
        p.path(),
        &[],
        &["report", "--root", ".", "--fail-on-status"],
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
}

#[test]
fn one_trial_name_in_two_files_is_a_load_error_not_a_shared_result() {
    let a = "suite: s\ncases:\n  - id: same\n    output: yes\n    gate: must_pass\n    checks:\n      - contains: yes\n";
    let b = "suite: s\ncases:\n  - id: same\n    output: no\n    gate: must_pass\n    checks:\n      - contains: yes\n";
    let p = project(&[("evals/a.yaml", a), ("evals/b.yaml", b)]);
    let (out, text) = test_run(p.path(), &[("INSTA_UPDATE", "always")], &[]);
    assert_eq!(out.status.code(), Some(101), "{text}");
    assert!(
        text.contains("evals/a.yaml:3:5: duplicate trial name `s::same`: defined at evals/a.yaml:3:5 and at evals/b.yaml:3:5"),
        "{text}"
    );
    assert!(!p.path().join("evals/snapshots/s__same.snap").exists());
}

#[test]
fn a_filter_that_selects_nothing_is_an_error_in_ci() {
    let p = project(&[("evals/good.yaml", GOOD)]);
    let (out, text) = test_run(p.path(), &[("CI", "true")], &["refnud"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    insta::assert_snapshot!(text.trim(), @"tribunal: the filter `refnud` selects none of the 2 trials (in CI a run that selects nothing is an error, not a pass; hint: list the trial names with `--list`)");
    assert!(!p.path().join("target").exists(), "nothing written in CI");
    // Locally an empty selection stays libtest's (exit 0).
    let (out, _) = test_run(p.path(), &[], &["refnud"]);
    assert_eq!(out.status.code(), Some(0));
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
    let p = project(&[("evals/s.yaml", suite)]);
    let (out, text) = test_run(p.path(), &[("INSTA_UPDATE", "always")], &[]);
    assert_eq!(out.status.code(), Some(101), "{text}");
    assert!(text.contains("every check that ran has weight 0"), "{text}");
    let last: serde_json::Value =
        serde_json::from_str(&read(p.path(), "target/tribunal/last.json")).expect("json");
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
    let p = project(&[("evals/s.yaml", suite)]);
    let (out, text) = test_run(p.path(), &[("CI", "true")], &[]);
    assert_eq!(out.status.code(), Some(101), "{text}");
    let root = p.path().display().to_string();
    assert!(
        text.contains(&format!(
            "by running `TRIBUNAL_MODE=record tribunal test --root {root} -- 's::ask'`"
        )),
        "{text}"
    );
    assert!(!text.contains("cargo test --test evals"), "{text}");
}
