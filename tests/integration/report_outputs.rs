//! End-to-end tests of the report stage: `after_run` outputs, history
//! failures, and the `report`/`compare`/`history` subcommands.

use std::path::Path;

use tribunal::report::history::History;
use tribunal::report::{
    EXIT_EVAL_FAILURE, EXIT_PASS, EXIT_TOOL_ERROR, HistoryError, RunResults, Settings,
    after_run_with, sample,
};

use crate::common::{CliOutput, TestProject};

fn settings(root: &Path) -> Settings {
    Settings {
        report_dir: root.join("target/tribunal"),
        history: Some(root.join("target/tribunal/history.db")),
        keep: 3,
        step_summary: Some(root.join("step-summary.md")),
        nextest_run: None,
        retention: Default::default(),
    }
}

/// Results files under `runs/` are kept by count (and by size), oldest
/// first; the run just written always stays, and so does the history's
/// newest run under a size limit it does not fit.
#[test]
fn results_files_and_the_history_are_pruned_after_each_run() {
    let dir = TestProject::new();
    let mut s = settings(dir.path());
    s.keep = 0;
    s.retention.keep_runs = 2;
    let mut last = None;
    for seed in 1..=4 {
        last = Some(after_run_with(&sample::run(60, 0.8, seed), &s).expect("after_run"));
    }
    let runs = dir.join("target/tribunal/runs");
    let mut names: Vec<String> = std::fs::read_dir(&runs)
        .expect("runs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["sample-3.json", "sample-4.json"]);
    assert!(last.expect("ran").results_json.ends_with("sample-4.json"));
    s.retention.history_max_bytes = 1;
    after_run_with(&sample::run(60, 0.8, 5), &s).expect("after_run");
    let history = tribunal::report::history::History::open(&dir.join("target/tribunal/history.db"))
        .expect("history");
    let ids: Vec<String> = history
        .runs(10)
        .expect("runs")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec!["sample-5".to_string()]);
}

/// `last.json` (written without fsync) says exactly what the fsync'd
/// `runs/<id>.json` says, run after run, and no temporary file is left next
/// to either.
#[test]
fn last_json_is_the_newest_results_file_byte_for_byte() {
    let dir = TestProject::new();
    let s = settings(dir.path());
    for seed in 1..=3 {
        let after = after_run_with(&sample::run(60, 0.8, seed), &s).expect("after_run");
        let reports = after.reports.expect("reports");
        let last = std::fs::read(&reports.last_json).expect("last.json");
        let results = std::fs::read(&after.results_json).expect("results");
        assert_eq!(last, results, "seed {seed}");
        assert!(after.results_json.ends_with(format!("sample-{seed}.json")));
    }
    for folder in ["target/tribunal", "target/tribunal/runs"] {
        let tmp: Vec<String> = std::fs::read_dir(dir.join(folder))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(tmp.is_empty(), "{folder}: {tmp:?}");
    }
}

/// Runs `tribunal ARGS --root ROOT` in the project.
fn cli(p: &TestProject, args: &[&str]) -> CliOutput {
    let root = p.root_arg();
    let mut all = args.to_vec();
    all.extend_from_slice(&["--root", &root]);
    p.tribunal(&all).output()
}

fn code(c: u8) -> Option<i32> {
    Some(i32::from(c))
}

#[test]
fn after_run_writes_every_output_and_the_history() {
    let dir = TestProject::new();
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
    assert_eq!(junit, tribunal::report::junit::render(&loaded));
    let html = std::fs::read_to_string(&files.html).expect("html");
    assert!(html.contains("Pass rate over the last 3 runs"));
    let md = std::fs::read_to_string(&files.markdown).expect("markdown");
    assert_eq!(md, tribunal::report::markdown::run_summary(&loaded));
    // Each run appends its Markdown to the step summary.
    let step = dir.read("step-summary.md");
    assert_eq!(step.matches("tribunal evals: 60 trials").count(), 4);
    assert!(step.ends_with(&format!("{md}\n")));
    insta::assert_snapshot!(
        "after_run_summary",
        crate::common::replace_root(&a.summary, dir.path())
    );
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
    let dir = TestProject::new();
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
    let dir = TestProject::new();
    let full = sample::run(40, 0.75, 9);
    let (left, right) = full.records.split_at(17);
    let mut a = full.clone();
    a.records = left.to_vec();
    a.run_id = "part-1".into();
    let mut b = full.clone();
    b.records = right.to_vec();
    b.run_id = "part-2".into();
    dir.write("a.json", a.to_json());
    dir.write("b.json", b.to_json());
    let out = cli(
        &dir,
        &[
            "report",
            "--merge",
            "a.json",
            "b.json",
            "--format",
            "terminal",
            "--format",
            "matrix",
            "--out",
            "merged",
            "--min-pass-rate",
            "0.99",
        ],
    );
    assert_eq!(out.code, code(EXIT_EVAL_FAILURE), "{out:?}");
    // The terminal summary of the 40 merged trials, the variant matrix and
    // the failed gate.
    insta::assert_snapshot!("merged_terminal_and_matrix", out.snapshot_exact());
    let merged = RunResults::load(&dir.join("merged/results.json")).expect("merged results");
    assert_eq!(merged.records.len(), 40);
    let mut want = full.records.clone();
    want.sort_by(|x, y| x.verdict.trial.cmp(&y.verdict.trial));
    assert_eq!(merged.records, want);
    assert!(dir.join("merged/junit.xml").is_file() && dir.join("merged/report.html").is_file());
    // Overlapping partitions are a tool error.
    let out = cli(&dir, &["report", "--merge", "a.json", "a.json"]);
    assert_eq!(out.code, code(EXIT_TOOL_ERROR), "{out:?}");
    insta::assert_snapshot!("overlapping_partitions", out.snapshot_exact());
}

#[test]
fn compare_files_history_ids_and_git_refs() {
    let dir = TestProject::new();
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
    let s = settings(root);
    let mut base = sample::run(80, 0.95, 1);
    if let Some(g) = base.git.as_mut() {
        g.commit = base_commit.clone();
    }
    let head = sample::run(80, 0.5, 2);
    let mut h = History::open(s.history.as_deref().expect("history")).expect("open");
    h.store(&base).expect("store base");
    h.store(&head).expect("store head");
    // git ref for base, run id for head.
    let out = cli(
        &dir,
        &[
            "compare",
            "HEAD",
            "sample-2",
            "--max-significant-regressions",
            "0",
        ],
    );
    assert_eq!(out.code, code(EXIT_EVAL_FAILURE), "{out:?}");
    // The base's commit is the repository's (it changes with the clock).
    insta::assert_snapshot!(
        "compare_ref_and_run_id",
        out.snapshot_exact().replace(&base_commit[..12], "[COMMIT]")
    );
    // Same run on both sides: nothing flips and the gate passes.
    dir.write("head.json", head.to_json());
    let out = cli(
        &dir,
        &[
            "compare",
            "sample-2",
            "head.json",
            "--format",
            "json",
            "--max-significant-regressions",
            "0",
        ],
    );
    assert_eq!(out.code, code(EXIT_PASS), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json output");
    assert_eq!(v["comparison"]["flipped"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["comparison"]["overall"]["mcnemar"]["p_value"], 1.0);
    // Unknown references are tool errors that say what was tried.
    let out = cli(&dir, &["compare", "no-such-run", "sample-2"]);
    assert_eq!(out.code, code(EXIT_TOOL_ERROR), "{out:?}");
    insta::assert_snapshot!("compare_unknown_run", out.snapshot_exact());
    // History listing.
    let out = cli(&dir, &["history"]);
    assert_eq!(out.code, code(EXIT_PASS), "{out:?}");
    insta::assert_snapshot!(
        "history_list",
        out.snapshot_exact().replace(&base_commit[..12], "[COMMIT]")
    );
}

#[test]
fn the_projects_gates_file_applies_without_flags() {
    let dir = TestProject::new()
        .file("evals/gates.yaml", "min_pass_rate: 0.99\n")
        .file("run.json", &sample::run(30, 0.7, 4).to_json());
    let out = cli(&dir, &["report", "--merge", "run.json"]);
    assert_eq!(out.code, code(EXIT_EVAL_FAILURE), "{out:?}");
    insta::assert_snapshot!("gates_file", out.snapshot_exact());
    // A flag overrides the file.
    let out = cli(
        &dir,
        &["report", "--merge", "run.json", "--min-pass-rate", "0.1"],
    );
    assert_eq!(out.code, code(EXIT_PASS), "{out:?}");
    assert!(out.stdout.contains("✓ pass rate"), "{out:?}");
    // A broken gates file is a tool error.
    dir.write("evals/gates.yaml", "min_pass_rate: [\n");
    let out = cli(&dir, &["report", "--merge", "run.json"]);
    assert_eq!(out.code, code(EXIT_TOOL_ERROR), "{out:?}");
    insta::assert_snapshot!("broken_gates_file", out.snapshot_exact());
}

#[test]
fn a_gates_file_reports_every_problem_at_its_place() {
    let dir = TestProject::new()
        .file(
            "evals/gates.yaml",
            "min_pass_rat: 0.9\nmin_tag_pass_rate:\n  feature:refunds: 1.5\nfail_on_stat: true\n",
        )
        .file("run.json", &sample::run(30, 0.7, 4).to_json());
    let out = cli(&dir, &["report", "--merge", "run.json"]);
    assert_eq!(out.code, code(EXIT_TOOL_ERROR), "{out:?}");
    insta::assert_snapshot!(out.snapshot_exact(), @r"
    exit: 2
    --- stdout

    --- stderr
    error: [ROOT]/evals/gates.yaml:1:1: unknown key `min_pass_rat` in gates file (hint: did you mean `min_pass_rate`?)
    [ROOT]/evals/gates.yaml:3:20: rate 1.5 is outside [0, 1] (hint: write a fraction such as 0.9 for 90%)
    [ROOT]/evals/gates.yaml:4:1: unknown key `fail_on_stat` in gates file (hint: did you mean `fail_on_status`?)
    ");
    dir.write("evals/gates.yaml", "min_pass_rate: 0.9\n---\nalpha: 0.05\n");
    let out = cli(&dir, &["report", "--merge", "run.json"]);
    assert_eq!(out.code, code(EXIT_TOOL_ERROR), "{out:?}");
    insta::assert_snapshot!(out.snapshot_exact(), @r"
    exit: 2
    --- stdout

    --- stderr
    error: [ROOT]/evals/gates.yaml:2:1: tribunal reads one YAML document per file, and a second one starts here (hint: remove the `---` line, or move the second document into a file of its own)
    ");
}

#[test]
fn under_nextest_each_process_writes_only_its_results_and_they_merge() {
    let dir = TestProject::new();
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
        if i == 0 {
            insta::assert_snapshot!(
                "nextest_process_summary",
                crate::common::replace_root(&a.summary, dir.path())
            );
        }
    }
    assert!(!dir.exists("target/tribunal/last.json"));
    assert!(!dir.exists("target/tribunal/history.db"));
    let parts = dir.files_under("target/tribunal/runs/0a1b-run");
    assert_eq!(parts.len(), 6);
    let mut args = vec!["report", "--format", "json", "--merge"];
    args.extend(parts.iter().map(String::as_str));
    let out = cli(&dir, &args);
    assert_eq!(out.code, code(EXIT_PASS), "{out:?}");
    let merged: RunResults = serde_json::from_str(&out.stdout).expect("merged JSON");
    let mut want = full.records.clone();
    want.sort_by(|x, y| x.verdict.trial.cmp(&y.verdict.trial));
    assert_eq!(merged.records, want);
}

#[test]
fn a_sample_run_renders_as_terminal_markdown_and_junit() {
    // Every status, tags, variants, latency and cost, in each format
    // `tribunal report` prints.
    let dir = TestProject::new().file("run.json", &sample::run(16, 0.6, 5).to_json());
    for format in ["terminal", "markdown", "junit", "matrix"] {
        let out = cli(&dir, &["report", "--merge", "run.json", "--format", format]);
        assert_eq!(out.code, code(EXIT_PASS), "{out:?}");
        insta::assert_snapshot!(format!("sample_{format}"), out.snapshot_exact());
    }
}
