//! The `tribunal` binary on temporary projects: exit status and what it
//! prints, as a user or a CI log sees them.

use std::path::Path;
use std::process::{Command, Output};

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn tribunal(root: &Path, ci: bool, extra_env: &[(&str, &str)], args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tribunal"));
    cmd.arg("test")
        .arg("--root")
        .arg(root)
        .args(["--", "--test-threads", "1"])
        .args(args)
        .env_remove("INSTA_UPDATE")
        .env_remove("INSTA_FORCE_PASS")
        .env_remove("TRIBUNAL_SUITES")
        .env("CI", if ci { "true" } else { "false" });
    for (k, v) in extra_env {
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

fn accept(root: &Path) {
    let dir = root.join("evals/snapshots");
    for e in std::fs::read_dir(&dir).expect("snapshots").flatten() {
        let p = e.path();
        if let Some(s) = p.to_str().and_then(|s| s.strip_suffix(".new")) {
            std::fs::rename(&p, s).expect("accept");
        }
    }
}

#[test]
fn passing_suite_with_a_known_failure_exits_zero() {
    let p = project(&[("evals/faq.yaml", SUITE)]);
    let (first, text) = tribunal(p.path(), false, &[], &[]);
    assert!(!first.status.success(), "new snapshots fail: {text}");
    assert!(
        text.contains("wrote evals/snapshots/faq__refund.snap.new"),
        "{text}"
    );
    accept(p.path());
    let (second, text) = tribunal(p.path(), false, &[], &[]);
    assert!(second.status.success(), "{text}");
    assert!(text.contains("test faq::refund ... ok"), "{text}");
    assert!(text.contains("1 known failure, 1 pass"), "{text}");
}

#[test]
fn a_regression_fails_with_a_readable_diff() {
    let p = project(&[("evals/faq.yaml", SUITE)]);
    tribunal(p.path(), false, &[("INSTA_UPDATE", "always")], &[]);
    let changed = SUITE.replace("within 30 days", "within 14 days");
    std::fs::write(p.path().join("evals/faq.yaml"), changed).expect("write");
    let (out, text) = tribunal(p.path(), false, &[], &[]);
    assert_eq!(out.status.code(), Some(101), "{text}");
    assert!(text.contains("REGRESSION: the verdict changed"), "{text}");
    assert!(text.contains("- outcome: pass"), "{text}");
    assert!(text.contains("+ outcome: fail"), "{text}");
    assert!(text.contains("case: evals/faq.yaml:4:5"), "{text}");
    assert!(text.contains("missing \"30 days\""), "{text}");
}

#[test]
fn must_pass_failure_fails_the_build() {
    let suite = SUITE.replace(
        "        name: polite\n",
        "        name: polite\n    gate: must_pass\n",
    );
    let p = project(&[("evals/faq.yaml", &suite)]);
    tribunal(p.path(), false, &[("INSTA_UPDATE", "always")], &[]);
    let (out, text) = tribunal(p.path(), false, &[], &[]);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("must_pass: the case is gated `must_pass`"),
        "{text}"
    );
}

#[test]
fn missing_snapshot_in_ci_fails_and_says_how_to_create_it() {
    let p = project(&[("evals/faq.yaml", SUITE)]);
    let (out, text) = tribunal(p.path(), true, &[], &[]);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("no accepted snapshot at evals/snapshots/faq__refund.snap"),
        "{text}"
    );
    assert!(text.contains("cargo insta review"), "{text}");
    assert!(!p.path().join("evals/snapshots").exists(), "CI wrote files");
}

#[test]
fn broken_yaml_fails_alone_with_file_line_col() {
    let broken =
        "suite: broken\ncases:\n  - id: x\n    output: hi\n    checks:\n      - contians: hi\n";
    let p = project(&[("evals/faq.yaml", SUITE), ("evals/broken.yaml", broken)]);
    tribunal(p.path(), false, &[("INSTA_UPDATE", "always")], &["faq::"]);
    let (out, text) = tribunal(p.path(), false, &[], &[]);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(
            "evals/broken.yaml:6:9: unknown check kind `contians` (hint: did you mean `contains`?)"
        ),
        "{text}"
    );
    assert!(
        !text.contains("has no checks"),
        "no follow-on errors: {text}"
    );
    assert!(text.contains("test broken      ... FAILED"), "{text}");
    assert!(text.contains("test faq::refund ... ok"), "{text}");
    assert!(text.contains("test faq::tone   ... ok"), "{text}");
}

#[test]
fn filters_and_list() {
    let p = project(&[("evals/faq.yaml", SUITE)]);
    let (out, text) = tribunal(p.path(), false, &[], &["--list"]);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("faq::refund: test"), "{text}");
    assert!(text.contains("faq::tone: test"), "{text}");
    assert!(!p.path().join("evals/snapshots").exists());

    let (_, text) = tribunal(
        p.path(),
        false,
        &[("INSTA_UPDATE", "always")],
        &["--exact", "faq::tone"],
    );
    assert!(
        text.contains("1 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out"),
        "{text}"
    );
    assert!(p.path().join("evals/snapshots/faq__tone.snap").exists());
    assert!(!p.path().join("evals/snapshots/faq__refund.snap").exists());
}

#[test]
fn an_empty_eval_folder_is_an_error() {
    let p = project(&[("evals/.keep", "")]);
    let (out, text) = tribunal(p.path(), false, &[], &[]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("no eval suites found"), "{text}");
}

#[test]
fn the_shipped_alignment_example_replays_offline_and_meets_its_gate() {
    let out = Command::new(env!("CARGO_BIN_EXE_tribunal"))
        .args(["align", "--suite", "assistant", "--root"])
        .arg(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true")
        .env_remove("TRIBUNAL_MODE")
        .env_remove("OPENAI_API_KEY")
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .output()
        .expect("run tribunal align");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("labelled outputs judged: 3"), "{text}");
    assert!(text.contains("human fail          0           1"), "{text}");
}
