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

fn main() {
    println!(
        "tribunal harness benchmark (debug assertions: {})",
        cfg!(debug_assertions)
    );
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
