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
