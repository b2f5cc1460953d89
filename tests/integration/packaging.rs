//! The crate as users get it: the crates.io package holds every file the
//! code embeds, the GitHub release archives are named as cargo-binstall
//! looks for them, and README's two commands share one build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::repo_root;

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args(args)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every `include_str!("…")` / `include_bytes!("…")` under `dir`, as paths
/// relative to the repository root.
fn embedded_files(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    let root = repo_root();
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            embedded_files(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        for mac in ["include_str!(\"", "include_bytes!(\""] {
            for (at, _) in text.match_indices(mac) {
                let rest = &text[at + mac.len()..];
                let Some(end) = rest.find('"') else { continue };
                let file = path.parent().expect("parent").join(&rest[..end]);
                let file = file.canonicalize().unwrap_or(file);
                let rel = file
                    .strip_prefix(root.canonicalize().expect("root"))
                    .unwrap_or_else(|_| panic!("{} embeds {}", path.display(), file.display()))
                    .to_path_buf();
                out.insert(rel);
            }
        }
    }
}

#[test]
fn the_package_holds_every_file_the_code_embeds() {
    let listed: BTreeSet<PathBuf> = cargo(&["package", "--list", "--allow-dirty", "--offline"])
        .lines()
        .map(PathBuf::from)
        .collect();
    let mut embedded = BTreeSet::new();
    embedded_files(&repo_root().join("src"), &mut embedded);
    assert!(
        embedded.contains(Path::new("README.md")),
        "the crate docs compile README's examples: {embedded:?}"
    );
    let missing: Vec<&PathBuf> = embedded.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "embedded by src/ but not in the crates.io package (add them to `include` in Cargo.toml): {missing:?}"
    );
    // What users need and nothing of tribunal's own test material.
    for needed in [
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "README.md",
        "src/lib.rs",
        "src/main.rs",
    ] {
        assert!(
            listed.contains(Path::new(needed)),
            "{needed} is not packaged"
        );
    }
    let own: Vec<&PathBuf> = listed
        .iter()
        .filter(|p| {
            [
                "tests", "evals", "fixtures", "benches", "examples", "target", ".github", ".ci",
            ]
            .iter()
            .any(|d| p.starts_with(d))
        })
        .collect();
    assert!(
        own.is_empty(),
        "packaged but only for tribunal's own repository: {own:?}"
    );
}

/// cargo-binstall looks for the archive `[package.metadata.binstall]`
/// names; `.github/workflows/release.yml` uploads archives of that name.
#[test]
fn release_archives_are_named_as_binstall_looks_for_them() {
    let meta: serde_json::Value = serde_json::from_str(&cargo(&[
        "metadata",
        "--no-deps",
        "--offline",
        "--format-version",
        "1",
    ]))
    .expect("cargo metadata JSON");
    let binstall = &meta["packages"][0]["metadata"]["binstall"];
    assert_eq!(
        binstall["pkg-url"],
        "{ repo }/releases/download/v{ version }/{ name }-{ target }-v{ version }{ archive-suffix }"
    );
    assert_eq!(
        binstall["bin-dir"],
        "{ name }-{ target }-v{ version }/{ bin }{ binary-ext }"
    );
    assert_eq!(binstall["pkg-fmt"], "tgz");
    assert_eq!(
        binstall["overrides"]["x86_64-pc-windows-msvc"]["pkg-fmt"],
        "zip"
    );
    let workflow = std::fs::read_to_string(repo_root().join(".github/workflows/release.yml"))
        .expect("release.yml");
    for line in [
        // The tag is `v<version>`, checked against Cargo.toml by the workflow.
        r#"name="tribunal-$TARGET-$GITHUB_REF_NAME""#,
        r#"tar czf "$name.tgz" "$name""#,
        r#"7z a "$name.zip" "$name""#,
        r#"cp "target/$TARGET/release/tribunal.exe" "$name/""#,
        r#"cp "target/$TARGET/release/tribunal" "$name/""#,
        r#"if [ "v$version" != "$GITHUB_REF_NAME" ]; then"#,
    ] {
        assert!(workflow.contains(line), "release.yml no longer has: {line}");
    }
}

/// Every package of the resolved tree with its features, for the given
/// dependency kinds (`cargo tree -e KINDS`): `name vX.Y.Z` → the feature
/// lists it is built with (two for a crate built for the compiler side too).
fn tree(kinds: &str) -> BTreeMap<String, BTreeSet<String>> {
    let out = cargo(&[
        "tree",
        "--locked",
        "--offline",
        "-e",
        kinds,
        "--prefix",
        "none",
        "--format",
        "{p}|{f}",
    ]);
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in out.lines() {
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

/// README's two commands share one build: `cargo run -- run` (the binary,
/// no dev-dependencies) and `cargo test` (dev-dependencies too, and the
/// `cargo test --test evals` that `tribunal run` starts) must compile every
/// shared crate with the same features, or cargo builds most of the tree a
/// second time (resolver 2 applies a dev-dependency's features to the test
/// build only). See the comment above `getrandom` in Cargo.toml.
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
