//! `tribunal init`: scaffolds a working tribunal project.
//!
//! In a crate (a folder with a `Cargo.toml` that has a `[package]`), it
//! writes `tests/evals.rs` (a [`crate::Harness`] with one Rust target), an
//! example suite with a Rust-target case and a prompt case, their accepted
//! snapshots, the prompt case's cassette, `tribunal.yaml` and a GitHub
//! workflow, and edits `Cargo.toml` (`[[test]] name = "evals"` with
//! `harness = false`, `tribunal` under `[dev-dependencies]`) keeping its
//! comments and layout. With `--no-rust`, or in a folder that does not exist
//! yet or is empty, it writes a project run with `tribunal test`, whose
//! Rust-target case is a fixed output instead.
//!
//! The snapshots and the cassette are not typed in: they are what tribunal
//! itself writes for the example. Its cases are evaluated here, in a scratch
//! folder, with the prompt answered by a stand-in model (the [`STANDIN`]
//! answer) through the same provider door and cassette writer a recording
//! run uses, so the first `cargo test` replays a cassette whose key matches
//! the request and agrees with snapshots in the format the harness reads.
//!
//! Nothing is overwritten: when any file it would write exists (or
//! `Cargo.toml` already has a test target named `evals`), it writes nothing,
//! lists them and exits 2. `.gitignore` is created or appended to. Every file
//! is written atomically ([`crate::fsutil::write_atomic`]); when a write
//! fails, the files written before it are removed again.
//!
//! Under `CI=true` it writes too: it writes into the project it is asked to
//! scaffold, on request, not into a tree under test.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use toml_edit::{DocumentMut, Item, Table, value};

use crate::case::{KnownNames, display_path};
use crate::config::ProjectFile;
use crate::exit;
use crate::provider::{
    BoxFuture, ChatRequest, ChatResponse, Mode, Options, Provider, ProviderError, Providers,
};
use crate::registry::{Input, Registry};
use crate::run::RunEnv;
use crate::snapshot::{SnapshotFile, render, snapshot_path};
use crate::verdict::Outcome;

/// Arguments of `tribunal init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder: a crate's folder (where its Cargo.toml is), or a
    /// folder to create for a project without Rust.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Scaffold a project run with `tribunal test` (no Rust harness, no
    /// Cargo.toml edit), even in a crate's folder.
    #[arg(long)]
    pub no_rust: bool,
}

/// The largest `Cargo.toml` or `.gitignore` read (4 MiB).
const MAX_READ_BYTES: u64 = 4 << 20;
/// The suite file of the example.
const SUITE_FILE: &str = "evals/example.yaml";
/// The prompt case's provider, as the example suites name it.
const PROMPT_PROVIDER: (&str, &str) = ("openai", "gpt-4.1-mini");
/// The answer written into the example's cassette.
pub const STANDIN: &str = "The customer received order #1234 with a cracked screen and wants a refund rather than a replacement.";

const EVALS_RS: &str = include_str!("init/evals.rs.tmpl");
const EXAMPLE_RUST: &str = include_str!("init/example.yaml");
const EXAMPLE_NO_RUST: &str = include_str!("init/example-no-rust.yaml");
const TRIBUNAL_YAML: &str = include_str!("init/tribunal.yaml");
const WORKFLOW_RUST: &str = include_str!("init/evals.yml");
const WORKFLOW_NO_RUST: &str = include_str!("init/evals-no-rust.yml");
const GITIGNORE: &str = include_str!("init/gitignore");
/// Where a downstream user reads how to add tribunal by hand.
const DOCS_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/init.md");

/// The Rust target of `tests/evals.rs` (the template's `greeter`), run here
/// to write the example's accepted snapshot.
fn greeter(input: &Input) -> Result<String, String> {
    Ok(format!("Hello, {}!", input.text()))
}

/// Which project is scaffolded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A crate: `tests/evals.rs`, run by `cargo test`.
    Rust,
    /// No Rust harness: run by `tribunal test`.
    NoRust,
}

/// Why nothing was scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Files that would be overwritten.
    #[error(
        "nothing written: {} already exist{} in {}:\n{}\n(hint: tribunal init never overwrites; move {} away, or add tribunal by hand as {DOCS_URL} shows)",
        if .existing.len() == 1 { "this" } else { "these" },
        if .existing.len() == 1 { "s" } else { "" },
        .dir,
        .existing.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"),
        if .existing.len() == 1 { "it" } else { "them" }
    )]
    Exists {
        /// The project folder as given.
        dir: String,
        /// What exists, relative to the folder.
        existing: Vec<String>,
    },
    /// A folder with files and no Cargo.toml.
    #[error(
        "{dir} has no Cargo.toml and is not empty (hint: run `tribunal init` in your crate's folder for a `cargo test` harness, or `tribunal init --no-rust{arg}` for suites run with `tribunal test`)"
    )]
    NotACrate {
        /// The folder as messages name it.
        dir: String,
        /// The folder as a command-line argument (empty for `.`).
        arg: String,
    },
    /// Cargo.toml cannot be used.
    #[error("{0}")]
    Manifest(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// The example could not be evaluated (a bug in tribunal).
    #[error(
        "cannot prepare the example suite: {0} (hint: this is a bug in tribunal; please report it)"
    )]
    Example(String),
}

/// What was scaffolded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The form.
    pub form: Form,
    /// Created files, relative to the project folder, with what each is.
    pub created: Vec<(String, String)>,
    /// Edited files, with what changed.
    pub edited: Vec<(String, String)>,
    /// What the user should know (an older tribunal dependency kept).
    pub warnings: Vec<String>,
}

/// Runs `tribunal init`.
pub fn run(args: Args) -> ExitCode {
    match init(&args.dir, args.no_rust) {
        Ok(done) => {
            for w in &done.warnings {
                eprintln!("warning: {w}");
            }
            print!("{}", describe(&args.dir, &done));
            ExitCode::from(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::TOOL_ERROR)
        }
    }
}

/// One file to write.
struct NewFile {
    /// Relative to the project folder, as printed.
    rel: String,
    /// Where it is written when that is not `rel` under the project folder
    /// (the workflow of a project inside a git repository).
    at: Option<PathBuf>,
    text: Vec<u8>,
    what: String,
}

/// Scaffolds the project in `dir` (see the module documentation).
pub fn init(dir: &Path, no_rust: bool) -> Result<Done, InitError> {
    let shown = shown(dir);
    let manifest_path = dir.join("Cargo.toml");
    let form = if no_rust {
        Form::NoRust
    } else if manifest_path.is_file() {
        Form::Rust
    } else if is_empty_or_missing(dir) {
        Form::NoRust
    } else {
        return Err(InitError::NotACrate {
            dir: shown,
            arg: if dir == Path::new(".") {
                String::new()
            } else {
                format!(" {}", dir.display())
            },
        });
    };

    let mut existing = Vec::new();
    let mut warnings = Vec::new();
    let manifest_shown = if dir == Path::new(".") {
        "Cargo.toml".to_string()
    } else {
        manifest_path.display().to_string()
    };
    let manifest = match form {
        Form::Rust => {
            let text =
                crate::fsutil::read_regular(&manifest_path, MAX_READ_BYTES).map_err(|e| {
                    InitError::Io(format!("cannot read {}: {e}", manifest_path.display()))
                })?;
            // Cargo reads profiles from the workspace root only.
            let workspace = workspace_root(dir);
            if let Some(root) = &workspace {
                warnings.push(format!(
                    "{root} is the workspace's manifest, and cargo reads profiles only there: the dev-profile lines that make tribunal fast under `cargo test` were not added to {manifest_shown} (hint: add `[profile.dev.package.tribunal]` with `opt-level = 3` and `debug = false`, and the same for its hot dependencies, to {root}, as {DOCS_URL}#dev-profile shows)"
                ));
            }
            match edit_manifest(
                &text,
                &crate_version(),
                &manifest_shown,
                workspace.is_none(),
            )? {
                Edited::Done(new, note, warned) => {
                    warnings.extend(warned);
                    Some((text, new, note))
                }
                Edited::HasEvalsTest => {
                    existing.push("Cargo.toml: a [[test]] target named \"evals\"".to_string());
                    None
                }
            }
        }
        Form::NoRust => None,
    };

    let mut files = files(form)?;
    if let Some(place) = git_place(dir) {
        for f in files.iter_mut().filter(|f| f.rel == WORKFLOW_FILE) {
            place.move_workflow(f);
        }
    }
    for f in &files {
        let at = f.at.clone().unwrap_or_else(|| dir.join(&f.rel));
        if std::fs::symlink_metadata(at).is_ok() {
            existing.push(f.rel.clone());
        }
    }
    if !existing.is_empty() {
        // Files first, in the order they would be written; the manifest last.
        existing.sort_by_key(|e| e.starts_with("Cargo.toml"));
        return Err(InitError::Exists {
            dir: shown,
            existing,
        });
    }

    let gitignore_path = dir.join(".gitignore");
    let old_ignore = match crate::fsutil::read_regular(&gitignore_path, MAX_READ_BYTES) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(InitError::Io(format!(
                "cannot read {}: {e}",
                gitignore_path.display()
            )));
        }
    };
    let (new_ignore, added) = gitignore(old_ignore.as_deref());

    std::fs::create_dir_all(dir)
        .map_err(|e| InitError::Io(format!("cannot create {shown}: {e}")))?;
    let mut written: Vec<PathBuf> = Vec::new();
    let mut write = |path: PathBuf, bytes: &[u8], fresh: bool| -> Result<(), InitError> {
        match crate::fsutil::write_atomic(&path, bytes) {
            Ok(()) => {
                if fresh {
                    written.push(path);
                }
                Ok(())
            }
            Err(e) => {
                for p in written.iter().rev() {
                    let _ = std::fs::remove_file(p);
                }
                Err(InitError::Io(format!(
                    "cannot write {}: {e} (nothing was kept: the files written before it were removed)",
                    path.display()
                )))
            }
        }
    };
    let mut created = Vec::new();
    for f in &files {
        let at = f.at.clone().unwrap_or_else(|| dir.join(&f.rel));
        write(at, &f.text, true)?;
        created.push((f.rel.clone(), f.what.clone()));
    }
    let mut edited = Vec::new();
    if !added.is_empty() {
        write(gitignore_path, new_ignore.as_bytes(), old_ignore.is_none())?;
        let what = format!("ignores {}", added.join(", "));
        match old_ignore {
            None => created.push((".gitignore".into(), what)),
            Some(_) => edited.push((".gitignore".into(), what)),
        }
    }
    if let Some((_, new, note)) = manifest {
        write(manifest_path, new.as_bytes(), false)?;
        edited.push(("Cargo.toml".into(), note));
    }
    Ok(Done {
        form,
        created,
        edited,
        warnings,
    })
}

/// The workflow's path in a project.
const WORKFLOW_FILE: &str = ".github/workflows/evals.yml";

/// A project folder inside a git repository, below its root: GitHub reads
/// workflows only from the root's `.github/workflows/`.
struct GitPlace {
    /// The repository's root (the folder with `.git`), absolute.
    root: PathBuf,
    /// The project folder relative to the root, `/`-separated.
    member: String,
    /// How many folders the project is below the root.
    depth: usize,
}

/// Where `dir` sits in its git repository: `None` when no folder above it
/// (or itself) has a `.git`, or when it is the repository's root.
fn git_place(dir: &Path) -> Option<GitPlace> {
    let abs = absolute(dir)?;
    let mut root = abs.as_path();
    while std::fs::symlink_metadata(root.join(".git")).is_err() {
        root = root.parent()?;
    }
    let rel = abs.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(GitPlace {
        root: root.to_path_buf(),
        member: parts.join("/"),
        depth: parts.len(),
    })
}

/// `dir` made absolute with its existing part canonicalized (it may not
/// exist yet: `tribunal init new-folder`).
fn absolute(dir: &Path) -> Option<PathBuf> {
    let mut base = dir.to_path_buf();
    let mut rest = Vec::new();
    loop {
        let probe = if base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            base.as_path()
        };
        if let Ok(c) = probe.canonicalize() {
            return Some(rest.iter().rev().fold(c, |p: PathBuf, n| p.join(n)));
        }
        rest.push(base.file_name()?.to_os_string());
        base = base.parent()?.to_path_buf();
    }
}

/// A YAML scalar for a folder path: plain when it is safe, else quoted.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
        && !s.starts_with(['-', '.']);
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

impl GitPlace {
    /// Points the workflow at the repository's root, running in the
    /// project's folder; `evals-<member>.yml` when `evals.yml` is taken.
    fn move_workflow(&self, f: &mut NewFile) {
        let workflows = self.root.join(".github/workflows");
        let slug = self.member.replace('/', "-");
        let taken = std::fs::symlink_metadata(workflows.join("evals.yml")).is_ok();
        let name = if taken {
            format!("evals-{slug}.yml")
        } else {
            "evals.yml".to_string()
        };
        let dir = yaml_scalar(&self.member);
        let text = String::from_utf8_lossy(&f.text).into_owned();
        let mut with = format!("        with:\n          working-directory: {dir}\n");
        let mut text = text.replacen(
            "# repository.\n",
            &format!(
                "# repository.\n#\n# The project is the folder {}/ of this repository (working-directory).\n",
                self.member
            ),
            1,
        );
        if taken {
            // A second use of the action in one pull request: its own
            // comment and its own name in the checks list.
            with.push_str(&format!("          comment-key: {}\n", yaml_scalar(&slug)));
            text = text.replacen(
                "name: evals\n",
                &format!(
                    "name: {}\n",
                    yaml_scalar(&format!("evals ({})", self.member))
                ),
                1,
            );
        }
        f.text = text.replacen("        with:\n", &with, 1).into_bytes();
        f.rel = format!("{}.github/workflows/{name}", "../".repeat(self.depth));
        f.what = format!(
            "CI, at the root of the git repository {}: replays the suites of {}/ on every pull request (tribunal-rs/tribunal@v0, working-directory: {})",
            self.root.display(),
            self.member,
            self.member
        );
        f.at = Some(workflows.join(name));
    }
}

/// A folder as messages name it: `this folder` for `.`.
fn shown(dir: &Path) -> String {
    if dir == Path::new(".") {
        "this folder".into()
    } else {
        dir.display().to_string()
    }
}

fn is_empty_or_missing(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut rd) => rd.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The dependency requirement of the running tribunal: `0.1` for 0.1.x.
fn crate_version() -> String {
    let v = env!("CARGO_PKG_VERSION");
    let mut parts = v.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => v.to_string(),
    }
}

/// The result of editing a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited {
    /// The new text, what changed, and warnings.
    Done(String, String, Vec<String>),
    /// It already has a `[[test]]` named `evals`.
    HasEvalsTest,
}

/// Adds `[[test]] name = "evals"` with `harness = false` and (unless
/// tribunal is already a dependency) `tribunal = "<version>"` under
/// `[dev-dependencies]` to a Cargo.toml, and `opt-level = 3` in the dev
/// profile for tribunal and its hot dependencies ([`DEV_OPTIMIZED`], those
/// the manifest does not set already), keeping everything else as written
/// (comments too). `name` is the manifest as messages name it.
pub fn edit_manifest(
    text: &str,
    version: &str,
    name: &str,
    with_dev_profile: bool,
) -> Result<Edited, InitError> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (line, col) = e
            .span()
            .map(|s| line_col(text, s.start))
            .unwrap_or((1, 1));
        let message = e.message().trim().to_string();
        InitError::Manifest(format!(
            "{name}:{line}:{col}: cannot read the manifest: {message} (hint: fix it so that `cargo metadata` reads it, then run `tribunal init` again)"
        ))
    })?;
    if !doc.contains_table("package") {
        return Err(InitError::Manifest(format!(
            "{name} has no [package]: it is a workspace manifest (hint: run `tribunal init` in the folder of the member crate that gets the eval suites)"
        )));
    }
    match doc.get("test") {
        None | Some(Item::ArrayOfTables(_)) => {}
        Some(item) => {
            let named = item.as_array().is_some_and(|a| {
                a.iter().any(|t| {
                    t.as_inline_table()
                        .and_then(|t| t.get("name"))
                        .and_then(|n| n.as_str())
                        == Some("evals")
                })
            });
            if named {
                return Ok(Edited::HasEvalsTest);
            }
            return Err(InitError::Manifest(format!(
                "{name}'s `test` is not written as [[test]] tables (hint: add `[[test]] name = \"evals\"` with `harness = false` by hand, as {DOCS_URL} shows)"
            )));
        }
    }
    if let Some(tests) = doc.get("test").and_then(Item::as_array_of_tables)
        && tests
            .iter()
            .any(|t| t.get("name").and_then(Item::as_str) == Some("evals"))
    {
        return Ok(Edited::HasEvalsTest);
    }
    let mut notes = vec!["[[test]] evals (harness = false)".to_string()];
    let mut warnings = Vec::new();
    let dep = ["dependencies", "dev-dependencies"].iter().find_map(|t| {
        doc.get(t)
            .and_then(Item::as_table_like)
            .and_then(|d| d.get("tribunal"))
            .map(|d| (*t, d))
    });
    let has_dep = dep.is_some();
    if let Some((table, dep)) = dep {
        let req = dep.as_str().or_else(|| {
            dep.as_table_like()
                .and_then(|t| t.get("version"))
                .and_then(Item::as_str)
        });
        let running = env!("CARGO_PKG_VERSION");
        if let Some(req) = req
            && caret_mismatch(req, running)
        {
            let dev = if table == "dev-dependencies" {
                " --dev"
            } else {
                ""
            };
            warnings.push(format!(
                "{name} keeps tribunal = \"{req}\" under [{table}], but this tribunal is {running}: the tests/evals.rs written now is for tribunal {running}'s API and may not build against {req} (hint: `cargo add{dev} tribunal@{version}` moves the dependency to {version})"
            ));
        }
    }
    // A comment after the last table is the document's trailing text, which
    // toml_edit writes after every table appended below: it is given to the
    // first table rendered after the old last one instead.
    let trailing = doc.trailing().as_str().unwrap_or("").to_string();
    let last_before = max_position(doc.as_table());
    let new_dev_deps = doc.get("dev-dependencies").is_none();
    if !has_dep {
        match doc.get_mut("dev-dependencies") {
            Some(item) => {
                let Some(deps) = item.as_table_like_mut() else {
                    return Err(InitError::Manifest(format!(
                        "{name}'s `dev-dependencies` is not a table (hint: fix it, then run `tribunal init` again)"
                    )));
                };
                deps.insert("tribunal", value(version));
            }
            None => {
                let mut deps = Table::new();
                deps.insert("tribunal", value(version));
                deps.set_position(last_before.map(|p| p + 1));
                doc.insert("dev-dependencies", Item::Table(deps));
            }
        }
        notes.push(format!("tribunal = \"{version}\" under [dev-dependencies]"));
    }
    match doc.get_mut("test").and_then(Item::as_array_of_tables_mut) {
        Some(tests) => {
            let mut t = evals_test();
            // Right after the last [[test]], where toml_edit puts it.
            t.set_position(tests.iter().filter_map(Table::position).max());
            tests.push(t)
        }
        None => {
            let mut tests = toml_edit::ArrayOfTables::new();
            let mut t = evals_test();
            t.set_position(last_before.map(|p| p + 2));
            tests.push(t);
            doc.insert("test", Item::ArrayOfTables(tests));
        }
    }
    let (optimized, kept) = if with_dev_profile {
        dev_profile(&mut doc, name)?
    } else {
        (Vec::new(), Vec::new())
    };
    if !optimized.is_empty() {
        notes.push(format!(
            "opt-level = 3 without debug info in the dev profile for {}",
            optimized.join(", ")
        ));
    }
    if !kept.is_empty() {
        let kept: Vec<String> = kept
            .iter()
            .map(|k| format!("[profile.dev.package.{k}]"))
            .collect();
        notes.push(format!("kept as written: {}", kept.join(", ")));
    }
    if !trailing.trim().is_empty() {
        let prefixed = |t: &mut Table| {
            let old = t
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or("\n")
                .to_string();
            t.decor_mut().set_prefix(format!("{trailing}{old}"));
        };
        let moved = if !has_dep && new_dev_deps {
            doc.get_mut("dev-dependencies")
                .and_then(Item::as_table_mut)
                .map(prefixed)
                .is_some()
        } else {
            let evals = doc
                .get_mut("test")
                .and_then(Item::as_array_of_tables_mut)
                .and_then(|a| a.iter_mut().last())
                .filter(|t| t.position() >= last_before);
            evals.map(prefixed).is_some()
        };
        if moved {
            doc.set_trailing("");
        }
    }
    Ok(Edited::Done(doc.to_string(), notes.join("; "), warnings))
}

/// Whether `running` (a version, `0.1.0`) is outside the requirement `req`
/// as Cargo reads it (`0.0.9`, `^0.1`, `~0.1.2`, `=0.1.0`); requirements of
/// another shape (`>=`, `*`, lists) are not judged.
fn caret_mismatch(req: &str, running: &str) -> bool {
    let req = req.trim();
    let (op, rest) = match req.chars().next() {
        Some('^') => ('^', &req[1..]),
        Some('~') => ('~', &req[1..]),
        Some('=') => ('=', &req[1..]),
        Some(c) if c.is_ascii_digit() => ('^', req),
        _ => return false,
    };
    let nums = |s: &str| -> Option<Vec<u64>> {
        let core = s.trim().split(['-', '+']).next()?;
        core.split('.').map(|n| n.parse().ok()).collect()
    };
    let (Some(want), Some(have)) = (nums(rest), nums(running)) else {
        return false;
    };
    if want.is_empty() || want.len() > 3 || have.len() != 3 {
        return false;
    }
    let at = |i: usize| want.get(i).copied().unwrap_or(0);
    let ge = have[..] >= [at(0), at(1), at(2)][..];
    let ok = match op {
        '=' => want.iter().zip(&have).all(|(w, h)| w == h),
        '~' => ge && have[0] == at(0) && (want.len() < 2 || have[1] == at(1)),
        _ => {
            // Caret: the leftmost non-zero part given is fixed.
            let fixed = want.iter().position(|n| *n != 0).unwrap_or(want.len() - 1);
            ge && want[..=fixed] == have[..=fixed]
        }
    };
    !ok
}

/// The largest position of a table (or array-of-tables element) in a
/// document, searched through dotted and implicit tables.
fn max_position(t: &Table) -> Option<isize> {
    let mut best = t.position();
    for (_, item) in t.iter() {
        let inner = match item {
            Item::Table(t) => max_position(t),
            Item::ArrayOfTables(a) => a.iter().filter_map(max_position).max(),
            _ => None,
        };
        best = best.max(inner);
    }
    best
}

/// The Cargo.toml of the workspace `dir`'s crate belongs to, when it is in
/// a folder above `dir` (a manifest with a `[workspace]` table).
/// Named relative to the project folder (`../../Cargo.toml`).
fn workspace_root(dir: &Path) -> Option<String> {
    let start = absolute(dir)?;
    start.ancestors().enumerate().skip(1).find_map(|(up, d)| {
        let text = crate::fsutil::read_regular(&d.join("Cargo.toml"), MAX_READ_BYTES).ok()?;
        let doc: DocumentMut = text.parse().ok()?;
        doc.contains_key("workspace")
            .then(|| format!("{}Cargo.toml", "../".repeat(up)))
    })
}

/// The packages `tribunal init` optimizes in the dev profile: tribunal and
/// the crates a replay spends its time in (YAML cassettes and snapshots,
/// snapshot files and diffs, hashing, templates, JSON, regexes, SQLite). A
/// name not in the build (`libsqlite3-sys` without the `sql` and `history`
/// features) makes cargo warn that it matches no package, nothing more.
pub const DEV_OPTIMIZED: &[&str] = &[
    "tribunal",
    "serde-saphyr",
    "granit-parser",
    "insta",
    "similar",
    "sha2",
    "minijinja",
    "serde_json",
    "regex-automata",
    "regex-syntax",
    "libsqlite3-sys",
];

const DEV_PROFILE_COMMENT: &str = "
# `cargo test` builds tribunal in the dev profile, unoptimized: a 1,000-case
# replay then takes several times the wall time and CPU of an optimized build.
# tribunal and the crates its replay path spends its time in (YAML, snapshot
# files, hashing, templates, JSON, regexes, SQLite) are optimized here; your
# own crate stays in the dev profile. Without debug info for them, their cold
# build takes about a third less; your own crate keeps its debug info.
# Written by `tribunal init` (docs/init.md).
";

/// Adds `<name> = { opt-level = 3, debug = false }` under `[profile.dev.package]` for each
/// of [`DEV_OPTIMIZED`] the manifest does not already set, after every
/// other table. Returns the names added and the names already set (kept as
/// written, whatever they say).
fn dev_profile(doc: &mut DocumentMut, name: &str) -> Result<(Vec<String>, Vec<String>), InitError> {
    let end = max_position(doc.as_table()).map_or(0, |p| p + 1);
    let mut level = doc.as_table_mut();
    for key in ["profile", "dev", "package"] {
        let item = level.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        level = match item {
            Item::Table(t) => t,
            _ => {
                return Err(InitError::Manifest(format!(
                    "{name}'s `{key}` in [profile] is not written as a table (hint: add `[profile.dev.package.tribunal]` with `opt-level = 3` and `debug = false` by hand, as {DOCS_URL}#dev-profile shows)"
                )));
            }
        };
    }
    let (mut added, mut kept) = (Vec::new(), Vec::new());
    for pkg in DEV_OPTIMIZED {
        if level.contains_key(pkg) {
            kept.push(pkg.to_string());
            continue;
        }
        let mut opt = toml_edit::InlineTable::new();
        opt.insert("opt-level", 3.into());
        opt.insert("debug", false.into());
        level.insert(pkg, value(opt));
        added.push(pkg.to_string());
    }
    // A `[profile.dev.package]` header of its own, after every other table
    // (a table the manifest already wrote keeps its place).
    if !added.is_empty() && level.is_implicit() {
        level.set_implicit(false);
        level.set_position(Some(end));
        level.decor_mut().set_prefix(DEV_PROFILE_COMMENT);
    }
    Ok((added, kept))
}

fn evals_test() -> Table {
    let mut t = Table::new();
    t.insert("name", value("evals"));
    t.insert("harness", value(false));
    t.decor_mut().set_prefix(
        "\n# The eval suites (evals/*.yaml), run by tribunal's harness: `cargo test --test evals`.\n",
    );
    t
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The `.gitignore` text with tribunal's lines appended (those not already
/// there; `/target`, `target` and `target/` count as the same line), and the
/// lines added.
pub fn gitignore(old: Option<&str>) -> (String, Vec<String>) {
    let norm = |l: &str| l.trim().trim_matches('/').to_string();
    let have: Vec<String> = old.unwrap_or("").lines().map(norm).collect();
    let lines: Vec<&str> = GITIGNORE.lines().collect();
    let missing: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !have.contains(&norm(l)))
        .collect();
    if missing.is_empty() {
        return (old.unwrap_or("").to_string(), Vec::new());
    }
    let mut out = old.unwrap_or("").to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    for l in &lines {
        if l.starts_with('#') || missing.contains(l) {
            out.push_str(l);
            out.push('\n');
        }
    }
    (out, missing.iter().map(|s| s.to_string()).collect())
}

/// Every file of the form, with the example's snapshots and cassette.
fn files(form: Form) -> Result<Vec<NewFile>, InitError> {
    let (suite, workflow) = match form {
        Form::Rust => (EXAMPLE_RUST, WORKFLOW_RUST),
        Form::NoRust => (EXAMPLE_NO_RUST, WORKFLOW_NO_RUST),
    };
    let file = |rel: &str, text: &str, what: &str| NewFile {
        rel: rel.into(),
        at: None,
        text: text.as_bytes().to_vec(),
        what: what.into(),
    };
    let mut out = Vec::new();
    if form == Form::Rust {
        out.push(file(
            "tests/evals.rs",
            EVALS_RS,
            "the harness, with the Rust target `greeter`",
        ));
    }
    out.push(file(
        SUITE_FILE,
        suite,
        match form {
            Form::Rust => "an example suite: a Rust-target case and a prompt case",
            Form::NoRust => "an example suite: a fixed-output case and a prompt case",
        },
    ));
    out.extend(example_outputs(form, suite)?);
    out.push(file(
        "tribunal.yaml",
        TRIBUNAL_YAML,
        "configuration, with a commented provider block",
    ));
    out.push(file(
        WORKFLOW_FILE,
        workflow,
        "CI: replays the suites on every pull request (tribunal-rs/tribunal@v0)",
    ));
    Ok(out)
}

/// The stand-in model of the example's prompt case: it answers [`STANDIN`]
/// under the provider name and model the case's spec resolves to, so the
/// cassette key is the one a run of the real provider computes.
struct Standin;

impl Provider for Standin {
    fn name(&self) -> &str {
        PROMPT_PROVIDER.0
    }

    fn model(&self) -> &str {
        PROMPT_PROVIDER.1
    }

    fn chat<'a>(
        &'a self,
        _request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        Box::pin(async {
            Ok(ChatResponse {
                finish_reason: Some("stop".into()),
                model: PROMPT_PROVIDER.1.into(),
                ..ChatResponse::new(STANDIN)
            })
        })
    }
}

/// A scratch folder under the system's temporary folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("tribunal-init-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Evaluates the example suite in a scratch folder, recording the prompt
/// case's answer from [`Standin`]: the accepted snapshot of every case and
/// the cassette files, as the harness writes and reads them.
fn example_outputs(form: Form, suite_text: &str) -> Result<Vec<NewFile>, InitError> {
    let fail = |e: String| InitError::Example(e);
    let scratch = Scratch::new().map_err(|e| {
        InitError::Io(format!(
            "cannot create a scratch folder under {}: {e} (hint: set TMPDIR to a writable folder)",
            std::env::temp_dir().display()
        ))
    })?;
    let root = scratch.0.as_path();
    let mut registry = Registry::default();
    if form == Form::Rust {
        registry.target("greeter", greeter);
    }
    let known = KnownNames {
        targets: registry.target_names(),
        checks: registry.check_names(),
    };
    let suite = crate::case::load_str(suite_text, SUITE_FILE, &root.join("evals"), Some(&known))
        .map_err(|e| fail(e.to_string()))?;
    let trials = crate::expand::expand(&[Arc::new(suite)]);
    let project = ProjectFile::parse(TRIBUNAL_YAML, "tribunal.yaml").map_err(|e| {
        fail(
            e.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let mut providers = Providers::with_options(
        root,
        Options {
            mode: Mode::Record,
            config: project.providers.clone(),
            env: Default::default(),
            inherit_env: false,
            usage_dir: None,
        },
    )
    .map_err(|e| fail(e.to_string()))?;
    let spec = format!("{}:{}", PROMPT_PROVIDER.0, PROMPT_PROVIDER.1);
    providers.insert(spec, Arc::new(Standin));
    let env = RunEnv::new(root.to_path_buf(), registry, providers, false, &trials);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the async runtime: {e}")))?;
    let mut out = Vec::new();
    for trial in &trials {
        let verdict = runtime.block_on(crate::run::evaluate(&env, trial));
        if verdict.outcome != Outcome::Pass {
            return Err(fail(format!(
                "case `{}` does not pass: {}",
                verdict.trial,
                verdict
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", verdict.checks))
            )));
        }
        let case = trial.case();
        let path = snapshot_path(
            &root.join("evals"),
            &trial.suite.name,
            &case.id,
            trial.variant().map(|v| v.id.as_str()),
        );
        let rel = display_path(root, &path);
        let rerun = crate::rerun::Rerun::default();
        let text = render(
            &verdict,
            &SnapshotFile {
                path: &path,
                display: &rel,
                source: &trial.suite.file,
                line: case.location.line,
                description: case.description.as_deref(),
                rerun: &rerun,
            },
            false,
        );
        out.push(NewFile {
            rel,
            at: None,
            text: text.into_bytes(),
            what: format!("the accepted verdict of `{}`", verdict.trial),
        });
    }
    let cassettes = root.join(&project.providers.cassettes.dir);
    let mut found = Vec::new();
    collect_files(&cassettes, &mut found);
    found.sort();
    if found.is_empty() {
        return Err(fail("no cassette was recorded".into()));
    }
    for path in found {
        let text = std::fs::read(&path)
            .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
        out.push(NewFile {
            rel: display_path(root, &path),
            at: None,
            text,
            what: "the prompt case's recorded answer (a stand-in, not the model's)".into(),
        });
    }
    Ok(out)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// What `tribunal init` prints when it is done: the files, then the next
/// commands.
pub fn describe(dir: &Path, done: &Done) -> String {
    let here = dir == Path::new(".");
    // Long names (the cassette's) take a line of their own.
    const WIDTH: usize = 44;
    let width = done
        .created
        .iter()
        .chain(&done.edited)
        .map(|(f, _)| f.len())
        .filter(|n| *n <= WIDTH)
        .max()
        .unwrap_or(0);
    let line = |f: &str, what: &str| {
        if f.len() > width {
            format!("  {f}\n  {:width$}  {what}\n", "")
        } else {
            format!("  {f:<width$}  {what}\n")
        }
    };
    let mut s = format!(
        "Scaffolded a tribunal project in {} ({}).\n\nCreated:\n",
        shown(dir),
        match done.form {
            Form::Rust => "suites run by `cargo test`",
            Form::NoRust => "suites run by `tribunal test`, without Rust",
        }
    );
    for (f, what) in &done.created {
        s.push_str(&line(f, what));
    }
    if !done.edited.is_empty() {
        s.push_str("Edited:\n");
        for (f, what) in &done.edited {
            s.push_str(&line(f, what));
        }
    }
    let cd = if here {
        String::new()
    } else {
        format!("  cd {}\n", dir.display())
    };
    let (run, record) = match done.form {
        Form::Rust => (
            "cargo test --test evals",
            "TRIBUNAL_MODE=record cargo test --test evals",
        ),
        Form::NoRust => ("tribunal test", "TRIBUNAL_MODE=record tribunal test"),
    };
    s.push_str(&format!(
        "\nNext:\n{cd}  {run}\n      runs the example suite, replaying the recorded answer (no key, no network)\n  OPENAI_API_KEY=... {record}\n      records the model's own answer; review the snapshot, then commit\n  git add -A && git commit -m \"Add tribunal eval suites\"\n      the suites, snapshots, cassettes and workflow are meant to be committed\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::caret_mismatch;

    #[test]
    fn requirements_are_read_as_cargo_reads_them() {
        // Caret (bare) requirements: the leftmost non-zero part is fixed.
        assert!(caret_mismatch("0.0.9", "0.1.0"));
        assert!(!caret_mismatch("0.1", "0.1.0"));
        assert!(!caret_mismatch("^0.1.0", "0.1.3"));
        assert!(caret_mismatch("0.1.4", "0.1.3"));
        assert!(caret_mismatch("0.2", "0.1.0"));
        assert!(!caret_mismatch("1", "1.4.0"));
        assert!(caret_mismatch("1", "2.0.0"));
        assert!(caret_mismatch("=0.1.1", "0.1.0"));
        assert!(!caret_mismatch("~0.1", "0.1.7"));
        // Other shapes are not judged.
        assert!(!caret_mismatch(">=0.0.1", "0.1.0"));
        assert!(!caret_mismatch("*", "0.1.0"));
    }
}
