//! The `tribunal` binary on temporary projects: exit status and what it
//! prints, as a user or a CI log sees them.

use crate::common::{TestProject, Tribunal, repo_root};

/// `tribunal test` on the project, one test thread (so the output order is
/// fixed), with `args` for libtest.
fn test(p: &TestProject, args: &[&str]) -> Tribunal {
    let mut all = vec!["test", "--root", p.path().to_str().expect("utf8"), "--"];
    all.extend_from_slice(&["--test-threads", "1"]);
    all.extend_from_slice(args);
    p.tribunal(&all)
}

const SUITE: &str = r#"
suite: faq
cases:
  - id: refund
    output: "Refunds are accepted within 30 days."
    checks:
      - contains: 30 days
  - id: tone
    output: "Whatever."
    checks:
      - icontains: please
        name: polite
"#;

#[test]
fn passing_suite_with_a_known_failure_exits_zero() {
    let p = TestProject::with(&[("evals/faq.yaml", SUITE)]);
    let first = test(&p, &[]).output();
    assert_eq!(first.code, Some(101), "new snapshots fail: {first:?}");
    insta::assert_snapshot!("first_run_writes_new_snapshots", first.snapshot());
    assert!(p.exists("evals/snapshots/faq__refund.snap.new"));
    p.accept_snapshots();
    let second = test(&p, &[]).output();
    assert!(second.success(), "{second:?}");
    insta::assert_snapshot!("accepted_run_with_a_known_failure", second.snapshot());
}

#[test]
fn a_regression_fails_with_a_readable_diff() {
    let p = TestProject::with(&[("evals/faq.yaml", SUITE)]);
    let accepted = test(&p, &[]).env("INSTA_UPDATE", "always").output();
    assert!(p.exists("evals/snapshots/faq__refund.snap"), "{accepted:?}");
    p.write(
        "evals/faq.yaml",
        SUITE.replace("within 30 days", "within 14 days"),
    );
    let out = test(&p, &[]).output();
    assert_eq!(out.code, Some(101), "{out:?}");
    insta::assert_snapshot!(out.snapshot());
}

#[test]
fn must_pass_failure_fails_the_build() {
    let suite = SUITE.replace(
        "        name: polite\n",
        "        name: polite\n    gate: must_pass\n",
    );
    let p = TestProject::with(&[("evals/faq.yaml", &suite)]);
    test(&p, &[]).env("INSTA_UPDATE", "always").output();
    assert!(p.exists("evals/snapshots/faq__tone.snap"));
    let out = test(&p, &[]).output();
    assert_eq!(out.code, Some(101), "{out:?}");
    insta::assert_snapshot!(out.snapshot());
}

#[test]
fn missing_snapshot_in_ci_fails_and_says_how_to_create_it() {
    let p = TestProject::with(&[("evals/faq.yaml", SUITE)]);
    let out = test(&p, &[]).ci(true).output();
    assert_eq!(out.code, Some(101), "{out:?}");
    insta::assert_snapshot!(out.snapshot());
    assert!(!p.exists("evals/snapshots"), "CI wrote files");
}

#[test]
fn broken_yaml_fails_alone_with_file_line_col() {
    let broken =
        "suite: broken\ncases:\n  - id: x\n    output: hi\n    checks:\n      - contians: hi\n";
    let p = TestProject::with(&[("evals/faq.yaml", SUITE), ("evals/broken.yaml", broken)]);
    test(&p, &["faq::"]).env("INSTA_UPDATE", "always").output();
    let out = test(&p, &[]).output();
    assert_eq!(out.code, Some(101), "{out:?}");
    // The whole error line, exactly, and no follow-on errors (such as "has
    // no checks"): the snapshot holds the complete output.
    assert!(
        out.stdout.contains(
            "evals/broken.yaml:6:9: unknown check kind `contians` (hint: did you mean `contains`?)\n"
        ),
        "{out:?}"
    );
    insta::assert_snapshot!(out.snapshot());
}

#[test]
fn filters_and_list() {
    let p = TestProject::with(&[("evals/faq.yaml", SUITE)]);
    let list = test(&p, &["--list"]).output();
    assert!(list.success(), "{list:?}");
    insta::assert_snapshot!("list", list.snapshot());
    assert!(!p.exists("evals/snapshots"), "--list writes nothing");

    let exact = test(&p, &["--exact", "faq::tone"])
        .env("INSTA_UPDATE", "always")
        .output();
    insta::assert_snapshot!("exact", exact.snapshot());
    assert!(p.exists("evals/snapshots/faq__tone.snap"));
    assert!(!p.exists("evals/snapshots/faq__refund.snap"));
}

#[test]
fn an_empty_eval_folder_is_an_error() {
    let p = TestProject::with(&[("evals/.keep", "")]);
    let out = test(&p, &[]).output();
    assert!(!out.success(), "{out:?}");
    insta::assert_snapshot!(out.snapshot());
}

#[test]
fn the_shipped_alignment_example_replays_offline_and_meets_its_gate() {
    let repo = repo_root();
    let root = repo.to_str().expect("utf8");
    let p = TestProject::new();
    let out = p
        .tribunal(&["align", "--suite", "assistant", "--root", root])
        .ci(true)
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .output();
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!(crate::common::normalize(&out.snapshot(), Some(&repo)));
}

const SHOP: &str = r#"
suite: shop
cases:
  - id: refund
    tags: [feature:refunds]
    output: "Refunds are accepted within 30 days."
    checks:
      - contains: 30 days
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

/// A project whose first run is accepted and whose second run has a
/// regression (`refund`), a known failure (`tone`) and an error (`speed`);
/// `base.json` holds the first run's results.
fn shop_after_a_regression() -> TestProject {
    let p = TestProject::with(&[("evals/shop.yaml", SHOP)]);
    let first = test(&p, &[]).env("INSTA_UPDATE", "always").output();
    assert_eq!(
        first.code,
        Some(101),
        "the error fails the build: {first:?}"
    );
    p.write("base.json", p.read("target/tribunal/last.json"));
    p.write(
        "evals/shop.yaml",
        SHOP.replace("within 30 days", "within 14 days"),
    );
    let second = test(&p, &[]).output();
    assert_eq!(second.code, Some(101), "{second:?}");
    p
}

#[test]
fn a_run_writes_its_markdown_and_junit_reports() {
    let p = shop_after_a_regression();
    assert_eq!(
        p.files_under("target/tribunal")
            .iter()
            .filter(|f| !f.starts_with("target/tribunal/runs/"))
            .collect::<Vec<_>>(),
        // The last run waits in the history's write-ahead log (and its
        // shared-memory index) until the next run's start copies it in.
        [
            "target/tribunal/history.db",
            "target/tribunal/history.db-shm",
            "target/tribunal/history.db-wal",
            "target/tribunal/junit.xml",
            "target/tribunal/last.json",
            "target/tribunal/report.html",
            "target/tribunal/summary.md",
        ]
    );
    insta::assert_snapshot!(
        "summary_md",
        p.normalize(&p.read("target/tribunal/summary.md"))
    );
    insta::assert_snapshot!(
        "junit_xml",
        p.normalize(&p.read("target/tribunal/junit.xml"))
    );
}

#[test]
fn report_renders_the_last_run_as_terminal_and_markdown() {
    let p = shop_after_a_regression();
    let terminal = p.tribunal(&["report"]).output();
    assert!(terminal.success(), "{terminal:?}");
    insta::assert_snapshot!("report_terminal", terminal.snapshot());
    let markdown = p.tribunal(&["report", "--format", "markdown"]).output();
    assert!(markdown.success(), "{markdown:?}");
    // The same Markdown the run wrote to summary.md.
    assert_eq!(
        markdown.stdout.trim_end(),
        p.read("target/tribunal/summary.md").trim_end()
    );
}

#[test]
fn compare_shows_the_flipped_trial_and_a_gate_can_fail() {
    let p = shop_after_a_regression();
    let out = p.tribunal(&["compare", "base.json", "last"]).output();
    assert!(out.success(), "no gate, no failure: {out:?}");
    insta::assert_snapshot!("compare", out.snapshot());
    let gated = p
        .tribunal(&["compare", "base.json", "last", "--min-pass-rate", "0.5"])
        .output();
    assert_eq!(gated.code, Some(1), "{gated:?}");
    insta::assert_snapshot!("compare_gated", gated.snapshot());
}

#[test]
fn validate_reports_every_problem_with_its_place() {
    let broken = "suite: broken\ncases:\n  - id: a\n    output: x\n    chekcs:\n      - contains: x\n  - id: a\n    output: y\n    checks:\n      - contians: y\n";
    let p = TestProject::with(&[("evals/shop.yaml", SHOP), ("evals/broken.yaml", broken)]);
    let out = p.tribunal(&["validate"]).output();
    assert_eq!(out.code, Some(1), "{out:?}");
    insta::assert_snapshot!("validate_broken", out.snapshot());
    std::fs::remove_file(p.join("evals/broken.yaml")).expect("remove");
    let out = p.tribunal(&["validate"]).output();
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("validate_clean", out.snapshot());
    assert!(
        !p.exists("target"),
        "validate runs nothing and writes nothing"
    );
}

#[rstest::rstest]
#[case::json_order_matters("json_order_matters", &["--dialect", "json", r#"{"a": [1, 2]}"#, r#"{"a": [2, 1]}"#])]
#[case::json_ignore_order("json_ignore_order", &["--dialect", "json", "--ignore-order", r#"{"a": [1, 2]}"#, r#"{"a": [2, 1]}"#])]
#[case::sql_same_filter("sql_same_filter", &["--dialect", "sql", "--schema", "CREATE TABLE t (a INT, b INT)", "SELECT a FROM t WHERE b > 1", "SELECT a FROM t WHERE 1 < b"])]
#[case::sql_different_filter("sql_different_filter", &["--dialect", "sql", "--schema", "CREATE TABLE t (a INT, b INT)", "SELECT a FROM t WHERE b > 1", "SELECT a FROM t WHERE b >= 1"])]
#[case::sql_tolerated_nulls("sql_tolerated_nulls", &["--dialect", "sql", "--tolerate", "nulls", "--schema", "CREATE TABLE t (a INT, b INT)", "SELECT COUNT(*) FROM t", "SELECT COUNT(b) FROM t"])]
#[case::audience_tolerated_missing_traits("audience_tolerated_missing_traits", &["--tolerate", "missing_traits", r#"{"cmp": "!=", "value": "free", "term": {"trait": "plan"}}"#, r#"{"not": {"cmp": "=", "value": "free", "term": {"trait": "plan"}}}"#])]
#[case::audience_sql_class("audience_sql_class", &["--tolerate", "nulls", r#"{"const": true}"#, r#"{"const": true}"#])]
#[case::sql_unknown_class("sql_unknown_class", &["--dialect", "sql", "--tolerate", "nul", "--schema", "CREATE TABLE t (a INT)", "SELECT a FROM t", "SELECT a FROM t"])]
fn equiv_prints_the_verdict_and_why(#[case] name: &str, #[case] args: &[&str]) {
    let p = TestProject::new();
    let mut all = vec!["equiv"];
    all.extend_from_slice(args);
    let out = p.tribunal(&all).output();
    insta::assert_snapshot!(format!("equiv_{name}"), out.snapshot());
}

#[test]
fn invalid_settings_stop_the_run_before_any_trial_and_are_named() {
    // These values used to be replaced by defaults without a word.
    let p = TestProject::with(&[("evals/faq.yaml", SUITE)]);
    let env = [
        ("TRIBUNAL_TRIAL_TIMEOUT", "abc"),
        ("TRIBUNAL_CONCURRENCY", "x"),
        ("INSTA_UPDATE", "bogus"),
    ];
    let mut run = p.tribunal(&["test", "--root", &p.root_arg(), "--", "--test-threads", "1"]);
    for (k, v) in env {
        run = run.env(k, v);
    }
    let out = run.output();
    assert_eq!(out.code, Some(2));
    insta::assert_snapshot!(out.stderr, @r"
    tribunal: configuration: TRIBUNAL_TRIAL_TIMEOUT=`abc` is not a number of seconds (hint: use a positive number of seconds up to 86400, such as `600` or `2.5`)
    TRIBUNAL_CONCURRENCY=`x` is not a number of trials (hint: use a whole number from 1 to 4096, such as `8`)
    INSTA_UPDATE=`bogus` is not an update mode (hint: use auto, new, always, unseen, no or force, as insta does)
    ");
    assert!(!p.path().join("evals/snapshots").exists());
}

#[test]
fn validate_reports_every_problem_of_tribunal_yaml() {
    let p = TestProject::with(&[
        ("evals/faq.yaml", SUITE),
        (
            "tribunal.yaml",
            "provders:\n  judge: {kind: openai}\nretry: {max_atempts: 2}\n",
        ),
    ]);
    let out = p.tribunal(&["validate", "--root", &p.root_arg()]).output();
    assert_eq!(out.code, Some(1));
    insta::assert_snapshot!(format!(
        "{}{}",
        out.stderr,
        out.stdout
    ), @r"
    tribunal.yaml:1:1: unknown section `provders` in tribunal.yaml (hint: did you mean `providers`?)
    tribunal.yaml:3:9: unknown key `max_atempts` in retry (hint: did you mean `max_attempts`?)
    1 suite file(s), 2 case(s), 0 with problems; 2 configuration problem(s)
    ");
}

#[test]
fn validate_reports_trial_names_shared_across_files() {
    let case = |check: &str| {
        format!("suite: s\ncases:\n  - id: c\n    output: hi\n    checks: [contains: {check}]\n")
    };
    let p = TestProject::with(&[
        ("evals/a.yaml", &case("nope")),
        ("evals/b.yaml", &case("hi")),
    ]);
    let out = p.tribunal(&["validate", "--root", &p.root_arg()]).output();
    insta::assert_snapshot!(out.snapshot(), @r"
    exit: 1
    --- stdout
    2 suite file(s), 2 case(s), 1 with problems; 0 configuration problem(s)
    --- stderr
    evals/a.yaml:3:5: duplicate trial name `s::c`: defined at evals/a.yaml:3:5 and at evals/b.yaml:3:5 (two trials with one name would share one result and one snapshot, so neither runs) (hint: give one of the suites another `suite:` name, or rename one of the cases)
    ");
}

#[test]
fn validate_refuses_a_tribunal_yaml_that_is_not_a_regular_file() {
    let p = TestProject::with(&[("evals/faq.yaml", SUITE)]);
    crate::common::make_fifo(&p.join("tribunal.yaml"));
    // Opening a named pipe for reading blocks until a writer comes: the
    // check must not open it. A watchdog turns a hang into a failure.
    let root = p.root_arg();
    let out = crate::common::output_within_30s(
        p.tribunal(&["validate", "--root", &root]),
        "validate must not block on a named pipe",
    );
    insta::assert_snapshot!(out.snapshot(), @r"
    exit: 1
    --- stdout
    1 suite file(s), 2 case(s), 0 with problems; 1 configuration problem(s)
    --- stderr
    cannot read [ROOT]/tribunal.yaml: not a regular file (tribunal.yaml must be a plain file)
    ");
}

#[test]
fn the_gates_file_under_evals_is_not_a_suite() {
    let p = TestProject::with(&[
        ("evals/faq.yaml", SUITE),
        (
            "evals/gates.yaml",
            "min_pass_rate: 0.9\nfail_on_status: true\n",
        ),
    ]);
    let out = p.tribunal(&["validate", "--root", &p.root_arg()]).output();
    insta::assert_snapshot!(out.snapshot(), @r"
    exit: 0
    --- stdout
    1 suite file(s), 2 case(s), 0 with problems; 0 configuration problem(s)
    --- stderr
    ");
    let run = p
        .tribunal(&["test", "--root", &p.root_arg()])
        .env("INSTA_UPDATE", "always")
        .output();
    assert!(run.success(), "{}", run.text());
    // The run's known failure passes the build, but the gates file's
    // 90% minimum (read by `tribunal report`) does not.
    let report = p.tribunal(&["report", "--root", &p.root_arg()]).output();
    assert_eq!(report.code, Some(1), "{}", report.text());
    assert!(
        report
            .stdout
            .contains("✗ pass rate 50.0% [9.5–90.5] ≥ 90.0%"),
        "{}",
        report.text()
    );
}

#[test]
fn files_a_check_names_must_be_regular_files() {
    let p = TestProject::with(&[(
        "evals/named.yaml",
        "suite: named\ncases:\n  - id: judged\n    output: hi\n    checks: [{judge: {criteria: good, template_file: pipe.j2, provider: openai:m}}]\n  - id: baseline\n    output: hi\n    checks: [{judge: {mode: pairwise, criteria: better, baseline: {file: pipe.j2}, provider: openai:m}}]\n  - id: sql\n    output: SELECT 1\n    expected: SELECT 1\n    checks: [{ast_equivalent: {dialect: sql, schema: pipe.j2}}]\n",
    )]);
    crate::common::make_fifo(&p.join("evals/pipe.j2"));
    // Opening a named pipe for reading blocks until a writer comes; a
    // watchdog turns a hang into a failure.
    let root = p.root_arg();
    let out = crate::common::output_within_30s(
        p.tribunal(&["validate", "--root", &root]),
        "validate must not block on a named pipe",
    );
    insta::assert_snapshot!(out.snapshot(), @r"
    exit: 1
    --- stdout
    1 suite file(s), 0 case(s), 1 with problems; 0 configuration problem(s)
    --- stderr
    evals/named.yaml:5:54: cannot read judge template `pipe.j2`: not a regular file (hint: the path is relative to the suite file)
    evals/named.yaml:8:74: cannot read the baseline output `pipe.j2`: not a regular file (hint: the path is relative to the suite file)
    evals/named.yaml:12:54: cannot read schema file `pipe.j2`: not a regular file (hint: give inline DDL (`CREATE TABLE ...`), a DDL file or `tables.json#db_id`, relative to the suite file)
    ");
}
