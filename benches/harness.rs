//! How fast tribunal loads, evaluates and snapshots a large suite.
//!
//! `cargo bench --bench harness` prints figures for suites of generated
//! cases (fixed outputs and a registered Rust target, deterministic checks),
//! so that what is measured is tribunal's own overhead, not a model's.
//! Ratios between rows of one run are what to compare: the machine is noisy.

use std::time::Instant;

use libtest_mimic::Arguments;
use tribunal::Harness;
use tribunal::snapshot::Settings;

fn suite(cases: usize) -> String {
    let mut s = String::from(
        "suite: bench\ndefaults:\n  target: echo\n  checks:\n    - contains: case\n    - regex: '\\d+'\n    - word_count: {min: 1, max: 50}\n    - similarity: {value: 'echo case 1', threshold: 0.1}\ncases:\n",
    );
    for i in 0..cases {
        s.push_str(&format!(
            "  - id: c{i}\n    tags: [feature:f{}]\n    input: case {i}\n",
            i % 7
        ));
    }
    s
}

fn run(root: &std::path::Path, settings: Settings) -> (f64, usize) {
    let args = Arguments::from_iter(["bench", "--quiet"]);
    let started = Instant::now();
    let out = Harness::new()
        .root(root)
        .snapshot_settings(settings)
        .target("echo", |i: &tribunal::Input| {
            Ok::<_, String>(format!("echo {}", i.text()))
        })
        .run_quietly(&args);
    (started.elapsed().as_secs_f64(), out.records.len())
}

/// The data file of `rows` cases in `format` (`jsonl` or `csv`), each with
/// an id, an input, an expected value and two tags.
fn data_file(format: &str, rows: usize) -> String {
    let mut s = String::new();
    if format == "csv" {
        s.push_str("id,input,expected,tags\n");
    }
    for i in 0..rows {
        let (id, input, expected) = (
            format!("c{i}"),
            format!("How long do I have for a refund on order {i}, \"exactly\"?"),
            format!("30 days (order {i})"),
        );
        if format == "csv" {
            s.push_str(&format!(
                "{id},\"{}\",{expected},feature:f{};tier:t{}\n",
                input.replace('"', "\"\""),
                i % 7,
                i % 3
            ));
        } else {
            s.push_str(&format!(
                "{}\n",
                serde_json::json!({"id": id, "input": input, "expected": expected, "tags": [format!("feature:f{}", i % 7), format!("tier:t{}", i % 3)]})
            ));
        }
    }
    s
}

/// Loading and expanding a suite whose 10,000 cases come from a data file
/// (`cases_from:`): the best of five runs of `load_file` + `expand_unique`.
fn cases_from_figures() {
    println!();
    println!(
        "{:>7} {:>7} {:>12} {:>10}",
        "format", "rows", "load+expand s", "µs/case"
    );
    for format in ["jsonl", "csv"] {
        let rows = 10_000;
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("tempdir: {e}");
                return;
            }
        };
        let evals = dir.path().join("evals");
        let suite = format!(
            "suite: data\ndefaults:\n  target: echo\n  checks:\n    - contains: days\n    - regex: '\\d+'\ncases_from: {{file: data/cases.{format}}}\n"
        );
        if std::fs::create_dir_all(evals.join("data")).is_err()
            || std::fs::write(evals.join("data.yaml"), suite).is_err()
            || std::fs::write(
                evals.join(format!("data/cases.{format}")),
                data_file(format, rows),
            )
            .is_err()
        {
            eprintln!("cannot write the suite");
            return;
        }
        let file = evals.join("data.yaml");
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let started = Instant::now();
            let suite = match tribunal::case::load_file(&file, "evals/data.yaml", None) {
                Ok(s) => std::sync::Arc::new(s),
                Err(e) => {
                    eprintln!("{e}");
                    return;
                }
            };
            let expanded = tribunal::expand::expand_unique(&[suite]);
            let took = started.elapsed().as_secs_f64();
            assert_eq!(expanded.trials.len(), rows);
            best = best.min(took);
        }
        println!(
            "{format:>7} {rows:>7} {best:>12.3} {:>10.1}",
            best / rows as f64 * 1e6
        );
    }
}

fn main() {
    println!(
        "tribunal harness benchmark (debug assertions: {})",
        cfg!(debug_assertions)
    );
    cases_from_figures();
    if std::env::args().any(|a| a == "--cases-from-only") {
        return;
    }
    println!(
        "{:>7} {:>14} {:>12} {:>14} {:>12}",
        "cases", "first run s", "µs/trial", "re-run s", "µs/trial"
    );
    for n in [100usize, 1_000, 5_000] {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("tempdir: {e}");
                return;
            }
        };
        let evals = dir.path().join("evals");
        if std::fs::create_dir_all(&evals).is_err()
            || std::fs::write(evals.join("bench.yaml"), suite(n)).is_err()
        {
            eprintln!("cannot write the suite");
            return;
        }
        // First run writes every snapshot; the re-run reads and compares them.
        let (first, got) = run(dir.path(), Settings::from_vars(Some("always"), None, false));
        let (again, _) = run(dir.path(), Settings::from_vars(Some("no"), None, false));
        println!(
            "{n:>7} {first:>14.3} {:>12.1} {again:>14.3} {:>12.1}",
            first / got as f64 * 1e6,
            again / got as f64 * 1e6
        );
    }
}
