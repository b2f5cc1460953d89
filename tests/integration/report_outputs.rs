//! End-to-end tests of the report stage: `after_run` outputs, history
//! failures, and the `report`/`compare`/`history` subcommands.

use std::path::Path;

use clap::Parser;
use tribunal::report::cli::{Command, execute};
use tribunal::report::history::History;
use tribunal::report::{
    EXIT_EVAL_FAILURE, EXIT_PASS, HistoryError, ReportError, RunResults, Settings, after_run_with,
    sample,
};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

fn settings(root: &Path) -> Settings {
    Settings {
        report_dir: root.join("target/tribunal"),
        history: Some(root.join("target/tribunal/history.db")),
        keep: 3,
        step_summary: Some(root.join("step-summary.md")),
        nextest_run: None,
    }
}

/// Runs a subcommand with settings from a fresh environment rooted at `root`.
fn cli(args: &[&str]) -> (Result<u8, ReportError>, String) {
    let mut full = vec!["tribunal"];
    full.extend_from_slice(args);
    let parsed = Cli::try_parse_from(full).expect("arguments parse");
    let mut out = Vec::new();
    let code = execute(parsed.cmd, &mut out);
    (code, String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn after_run_writes_every_output_and_the_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = settings(dir.path());
    let mut last = None;
    for seed in 1..=4 {
        last = Some(after_run_with(&sample::run(60, 0.8, seed), &s).expect("after_run"));
    }
    let a = last.expect("ran");
    let files = a.reports.clone().expect("reports written");
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    assert!(a.history_error.is_none());
    let loaded = RunResults::load(&a.results_json).expect("results JSON");
    assert_eq!(loaded, sample::run(60, 0.8, 4));
    assert_eq!(
        std::fs::read_to_string(&files.last_json).expect("last"),
        std::fs::read_to_string(&a.results_json).expect("results")
    );
    let junit = std::fs::read_to_string(&files.junit).expect("junit");
    assert!(junit.contains("<testsuites name=\"tribunal\" tests=\"60\""));
    let html = std::fs::read_to_string(&files.html).expect("html");
    assert!(html.contains("Pass rate (blue) and mean score (orange) over the last 3 runs"));
    let md = std::fs::read_to_string(&files.markdown).expect("markdown");
    let step = std::fs::read_to_string(dir.path().join("step-summary.md")).expect("step summary");
    assert_eq!(step.matches("tribunal evals: 60 trials").count(), 4);
    assert!(step.ends_with(&format!("{md}\n")));
    assert!(a.summary.contains("tribunal run sample-4"));
    assert!(a.summary.contains("reports: "));
    // Retention keeps 3 runs.
    let h = History::open(a.history.as_deref().expect("history path")).expect("open");
    let ids: Vec<String> = h
        .runs(10)
        .expect("runs")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["sample-2", "sample-3", "sample-4"]);
}

#[test]
fn a_corrupt_history_is_reported_and_every_file_is_still_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = settings(dir.path());
    let db = s.history.clone().expect("history");
    std::fs::create_dir_all(db.parent().expect("parent")).expect("mkdir");
    std::fs::write(&db, vec![7u8; 4096]).expect("garbage");
    let a = after_run_with(&sample::run(10, 0.5, 1), &s).expect("after_run");
    assert!(
        matches!(a.history_error, Some(HistoryError::Corrupt { .. })),
        "{:?}",
        a.history_error
    );
    assert!(a.summary.contains("is corrupt"), "{}", a.summary);
    let files = a.reports.clone().expect("reports written");
    for p in [&a.results_json, &files.junit, &files.markdown, &files.html] {
        assert!(p.is_file(), "{} missing", p.display());
    }
    assert!(a.history.is_none());
}

#[test]
fn report_merges_partitions_and_gates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = sample::run(40, 0.75, 9);
    let (left, right) = full.records.split_at(17);
    let mut a = full.clone();
    a.records = left.to_vec();
    a.run_id = "part-1".into();
    let mut b = full.clone();
    b.records = right.to_vec();
    b.run_id = "part-2".into();
    let pa = dir.path().join("a.json");
    let pb = dir.path().join("b.json");
    std::fs::write(&pa, a.to_json()).expect("write");
    std::fs::write(&pb, b.to_json()).expect("write");
    let out = dir.path().join("merged");
    let root = dir.path().to_string_lossy().into_owned();
    let (code, text) = cli(&[
        "report",
        "--merge",
        pa.to_str().expect("utf8"),
        pb.to_str().expect("utf8"),
        "--format",
        "terminal",
        "--format",
        "matrix",
        "--out",
        out.to_str().expect("utf8"),
        "--root",
        &root,
        "--min-pass-rate",
        "0.99",
    ]);
    assert_eq!(code.expect("runs"), EXIT_EVAL_FAILURE, "{text}");
    assert!(text.contains("40 trials"), "{text}");
    assert!(text.contains("### Variants"), "{text}");
    assert!(text.contains("✗ pass rate"), "{text}");
    let merged = RunResults::load(&out.join("results.json")).expect("merged results");
    assert_eq!(merged.records.len(), 40);
    let mut want = full.records.clone();
    want.sort_by(|x, y| x.verdict.trial.cmp(&y.verdict.trial));
    assert_eq!(merged.records, want);
    assert!(out.join("junit.xml").is_file() && out.join("report.html").is_file());
    // Overlapping partitions are an error (exit code 2 through `run`).
    let (code, _) = cli(&[
        "report",
        "--merge",
        pa.to_str().expect("utf8"),
        pa.to_str().expect("utf8"),
        "--root",
        &root,
    ]);
    assert!(
        matches!(code, Err(ReportError::Config(m)) if m.contains("more than one results file"))
    );
}

#[test]
fn compare_files_history_ids_and_git_refs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(
            ok.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        String::from_utf8_lossy(&ok.stdout).trim().to_string()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["commit", "-q", "--allow-empty", "-m", "base"]);
    let base_commit = git(&["rev-parse", "HEAD"]);
    let s = Settings::from_env(root).expect("settings");
    let mut base = sample::run(80, 0.95, 1);
    if let Some(g) = base.git.as_mut() {
        g.commit = base_commit;
    }
    let head = sample::run(80, 0.5, 2);
    let mut h = History::open(s.history.as_deref().expect("history")).expect("open");
    h.store(&base).expect("store base");
    h.store(&head).expect("store head");
    let root_s = root.to_string_lossy().into_owned();
    // git ref for base, run id for head.
    let (code, text) = cli(&[
        "compare",
        "HEAD",
        "sample-2",
        "--root",
        &root_s,
        "--max-significant-regressions",
        "0",
    ]);
    assert_eq!(code.expect("compare"), EXIT_EVAL_FAILURE, "{text}");
    assert!(
        text.contains("## ❌ tribunal compare: `sample-1`"),
        "{text}"
    );
    assert!(text.contains("significant regressions"), "{text}");
    assert!(text.contains("Flipped trials"), "{text}");
    // Same run on both sides: nothing flips and the gate passes.
    let file = root.join("head.json");
    std::fs::write(&file, head.to_json()).expect("write");
    let (code, text) = cli(&[
        "compare",
        "sample-2",
        file.to_str().expect("utf8"),
        "--root",
        &root_s,
        "--format",
        "json",
        "--max-significant-regressions",
        "0",
    ]);
    assert_eq!(code.expect("compare"), EXIT_PASS, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json output");
    assert_eq!(v["comparison"]["flipped"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["comparison"]["overall"]["mcnemar"]["p_value"], 1.0);
    // Unknown references are tool errors that say what was tried.
    let (code, _) = cli(&["compare", "no-such-run", "sample-2", "--root", &root_s]);
    match code {
        Err(e @ ReportError::UnknownRun { .. }) => {
            let m = e.to_string();
            assert!(m.contains("not a git ref") && m.contains("hint"), "{m}");
        }
        other => panic!("expected UnknownRun, got {other:?}"),
    }
    // History listing.
    let (code, text) = cli(&["history", "--root", &root_s]);
    assert_eq!(code.expect("history"), EXIT_PASS);
    assert!(
        text.contains("| `sample-1` |") && text.contains("| `sample-2` |"),
        "{text}"
    );
}

#[test]
fn the_projects_gates_file_applies_without_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("evals")).expect("mkdir");
    std::fs::write(root.join("evals/gates.yaml"), "min_pass_rate: 0.99\n").expect("write");
    let file = root.join("run.json");
    std::fs::write(&file, sample::run(30, 0.7, 4).to_json()).expect("write");
    let root_s = root.to_string_lossy().into_owned();
    let f = file.to_str().expect("utf8");
    let (code, text) = cli(&["report", "--merge", f, "--root", &root_s]);
    assert_eq!(code.expect("report"), EXIT_EVAL_FAILURE, "{text}");
    assert!(text.contains("✗ pass rate"), "{text}");
    // A flag overrides the file.
    let (code, text) = cli(&[
        "report",
        "--merge",
        f,
        "--root",
        &root_s,
        "--min-pass-rate",
        "0.1",
    ]);
    assert_eq!(code.expect("report"), EXIT_PASS, "{text}");
    // A broken gates file is a tool error.
    std::fs::write(root.join("evals/gates.yaml"), "min_pass_rate: [\n").expect("write");
    let (code, _) = cli(&["report", "--merge", f, "--root", &root_s]);
    assert!(matches!(code, Err(ReportError::Config(_))), "{code:?}");
}

#[test]
fn under_nextest_each_process_writes_only_its_results_and_they_merge() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = settings(dir.path());
    s.nextest_run = Some("0a1b-run".into());
    let full = sample::run(6, 0.5, 3);
    for (i, rec) in full.records.iter().enumerate() {
        let mut one = full.clone();
        one.records = vec![rec.clone()];
        one.run_id = format!("proc-{i}");
        let a = after_run_with(&one, &s).expect("after_run");
        assert!(a.reports.is_none() && a.history.is_none());
        assert!(
            a.results_json
                .ends_with(format!("runs/0a1b-run/proc-{i}.json"))
        );
        assert!(
            a.summary.contains("tribunal report --merge"),
            "{}",
            a.summary
        );
    }
    assert!(!dir.path().join("target/tribunal/last.json").exists());
    assert!(!dir.path().join("target/tribunal/history.db").exists());
    let parts: Vec<String> = std::fs::read_dir(dir.path().join("target/tribunal/runs/0a1b-run"))
        .expect("list")
        .map(|e| e.expect("entry").path().to_string_lossy().into_owned())
        .collect();
    assert_eq!(parts.len(), 6);
    let mut args = vec!["report", "--format", "json", "--root"];
    let root_s = dir.path().to_string_lossy().into_owned();
    args.push(&root_s);
    args.push("--merge");
    args.extend(parts.iter().map(String::as_str));
    let (code, text) = cli(&args);
    assert_eq!(code.expect("merge"), EXIT_PASS);
    let merged: RunResults = serde_json::from_str(&text).expect("merged JSON");
    let mut want = full.records.clone();
    want.sort_by(|x, y| x.verdict.trial.cmp(&y.verdict.trial));
    assert_eq!(merged.records, want);
}
