//! Helpers shared by integration tests: temporary projects and harness runs.

#![allow(dead_code)]

use std::path::Path;

use libtest_mimic::Arguments;
use tribunal::snapshot::Settings;
use tribunal::{Harness, RunOutcome};

/// A temporary project holding the given files (paths relative to its root).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

/// Snapshot settings that never write and never fail on snapshots, so a run
/// reports verdicts only.
pub fn quiet_settings() -> Settings {
    Settings::from_vars(Some("no"), Some("1"), false)
}

/// Runs `harness` over the project at `root`, quietly.
pub fn run(harness: Harness, root: &Path) -> RunOutcome {
    harness
        .root(root)
        .snapshot_settings(quiet_settings())
        .run_quietly(&Arguments::from_iter(["evals", "--quiet"]))
}

/// Indents every line of `text` by `n` spaces.
pub fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
