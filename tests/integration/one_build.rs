//! README's two commands share one build: `cargo run -- run` (the binary,
//! no dev-dependencies) and `cargo test` (dev-dependencies too, and the
//! `cargo test --test evals` that `tribunal run` starts) must compile every
//! shared crate with the same features, or cargo builds most of the tree a
//! second time (resolver 2 applies a dev-dependency's features to the test
//! build only). See the comment above `getrandom` in Cargo.toml.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::common::repo_root;

/// Every package of the resolved tree with its features, for the given
/// dependency kinds (`cargo tree -e KINDS`): `name vX.Y.Z` → the feature
/// lists it is built with (two for a crate built for the compiler side too).
fn tree(kinds: &str) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "tree",
            "--locked",
            "--offline",
            "-e",
            kinds,
            "--prefix",
            "none",
            "--format",
            "{p}|{f}",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -e {kinds}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        // `serde_derive v1.0.0 (proc-macro)`, `tribunal v0.1.0 (/path)`.
        let package = package.split(" (").next().unwrap_or(package).trim();
        let features = features.trim_end_matches(" (*)").trim();
        map.entry(package.to_string())
            .or_default()
            .insert(features.to_string());
    }
    map
}

#[test]
fn the_binary_and_the_tests_build_shared_crates_with_the_same_features() {
    let binary = tree("normal,build");
    let tests = tree("normal,build,dev");
    assert!(
        binary.keys().any(|k| k.starts_with("tokio v")),
        "{binary:?}"
    );
    let differing: Vec<String> = binary
        .iter()
        .filter_map(|(package, features)| {
            let in_tests = tests.get(package).cloned().unwrap_or_default();
            let missing: Vec<&String> = features.difference(&in_tests).collect();
            (!missing.is_empty()).then(|| {
                format!("{package}: binary build [{missing:?}], test build [{in_tests:?}]")
            })
        })
        .collect();
    assert!(
        differing.is_empty(),
        "`cargo run` and `cargo test` would compile these (and everything that \
         depends on them) twice; turn the features the dev-dependencies add on \
         in [dependencies] (or [build-dependencies] for compiler-side crates):\n{}",
        differing.join("\n")
    );
}
