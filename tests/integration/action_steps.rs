//! The shell steps of the composite action (`action.yml`) and of the
//! workflows, run for real: each `run:` block with its `${{ … }}`
//! expressions substituted the way GitHub substitutes them for a given
//! event and input set, under `bash --noprofile --norc -eo pipefail` (what
//! `shell: bash` runs), in a fake runner (`GITHUB_OUTPUT`, `GITHUB_PATH`,
//! `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`, `GITHUB_EVENT_PATH`, `RUNNER_TEMP`,
//! a home whose `~/.cargo/bin` is on `PATH`), with stub `cargo`, `gh`,
//! `git` and `tribunal` executables first on `PATH` that log their
//! arguments and exit with the code a case chooses. The snapshots are the
//! commands each step runs, in order, and the job's outcome (the steps'
//! stdout and stderr follow each step's commands).
//!
//! Covered: the action (pull request, push, the `cli` harness, a failing
//! suite, a bad input, a cached binary, `local`, cargo-binstall and its
//! fallback, and one run with the real `tribunal` binary), the release's
//! major-tag job, the reusable live workflow (secrets, a failed run) and
//! the GitLab recipe of `docs/ci.md`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{TestProject, repo_root};

/// A stub executable: logs `name ARG…` (shell-quoted) to `$STUB_LOG`, with
/// the working directory when it is not the workspace, then does what its
/// tool-specific part says.
const STUB_HEAD: &str = r#"#!/usr/bin/env bash
name=$(basename "$0")
where=${PWD#"$GITHUB_WORKSPACE"}
{ printf '%s' "$name"; for a in "$@"; do printf ' %q' "$a"; done
  if [ -n "$where" ]; then printf '   (in .%s)' "$where"; fi; printf '\n'; } >> "$STUB_LOG"
"#;

/// `cargo install tribunal --version V` leaves a `tribunal` stub reporting
/// V in `$CARGO_HOME/bin` (default `~/.cargo/bin`); `cargo test` exits
/// `$STUB_CARGO_TEST_EXIT`, logging the environment the harness reads.
const CARGO_STUB: &str = r#"
case "$1" in
  install)
    crate=$2
    version=""
    while [ $# -gt 0 ]; do
      if [ "$1" = --version ]; then version=$2; fi
      shift
    done
    bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    mkdir -p "$bin"
    if [ "$crate" = tribunal ]; then
      sed "s/@VERSION@/$version/" "$STUB_DIR/tribunal.template" > "$bin/tribunal"
    else
      cp "$STUB_DIR/plain.template" "$bin/$crate"
    fi
    chmod +x "$bin/$crate"
    ;;
  binstall)
    if ! command -v cargo-binstall > /dev/null; then
      echo "error: no such command: \`binstall\`" >&2
      exit 101
    fi
    if [ "${STUB_BINSTALL_EXIT:-0}" != 0 ]; then
      echo "ERROR no prebuilt binary for this target" >&2
      exit "$STUB_BINSTALL_EXIT"
    fi
    bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    mkdir -p "$bin"
    sed "s/@VERSION@/${2#tribunal@}/" "$STUB_DIR/tribunal.template" > "$bin/tribunal"
    chmod +x "$bin/tribunal"
    ;;
  nextest)
    if ! command -v cargo-nextest > /dev/null; then
      echo "error: no such command: \`nextest\`" >&2
      exit 101
    fi
    exit 0
    ;;
  test)
    if [ "$1" = test ] && [ "$2" = --no-run ]; then
      # The build of the checked-out crate, binary included.
      mkdir -p target/debug
      sed "s/@VERSION@/0.0.0-checkout/" "$STUB_DIR/tribunal.template" > target/debug/tribunal
      chmod +x target/debug/tribunal
      exit 0
    fi
    echo "  env: CI=$CI TRIBUNAL_MODE=$TRIBUNAL_MODE TRIBUNAL_SUITES=$TRIBUNAL_SUITES TRIBUNAL_REPORT_DIR=$TRIBUNAL_REPORT_DIR GITHUB_STEP_SUMMARY=${GITHUB_STEP_SUMMARY:+set}" >> "$STUB_LOG"
    for name in $STUB_SHOW_ENV; do
      echo "  env: $name=${!name-(unset)}" >> "$STUB_LOG"
    done
    exit "${STUB_CARGO_TEST_EXIT:-0}"
    ;;
esac
"#;

/// `tribunal --version` prints the version it was installed as;
/// `tribunal ci github gate` exits `$STUB_GATE_EXIT`, `tribunal test`
/// `$STUB_CARGO_TEST_EXIT`.
const TRIBUNAL_STUB: &str = r#"
case "$1 $2 $3" in
  "--version  ") echo "tribunal @VERSION@" ;;
  "ci github gate")
    echo "  (the tribunal in ${0%/tribunal})" >> "$STUB_LOG"
    exit "${STUB_GATE_EXIT:-0}" ;;
  "test "*)
    echo "  env: CI=$CI TRIBUNAL_MODE=$TRIBUNAL_MODE TRIBUNAL_SUITES=$TRIBUNAL_SUITES TRIBUNAL_REPORT_DIR=$TRIBUNAL_REPORT_DIR GITHUB_STEP_SUMMARY=${GITHUB_STEP_SUMMARY:+set}" >> "$STUB_LOG"
    exit "${STUB_CARGO_TEST_EXIT:-0}" ;;
esac
"#;

/// `gh run list` prints `$STUB_GH_RUN_ID` (nothing when unset).
const GH_STUB: &str = r#"
case "$1 $2" in
  "run list") if [ -n "$STUB_GH_RUN_ID" ]; then echo "$STUB_GH_RUN_ID"; fi ;;
esac
"#;

/// A fake runner: the workspace, the stubs, the home and temp folders.
struct Runner {
    dir: TestProject,
    /// Extra `PATH` entries from `GITHUB_PATH`, newest first.
    path: Vec<String>,
    /// `GITHUB_ENV` assignments, for the steps after the one that wrote them.
    env: BTreeMap<String, String>,
    /// `steps.<id>.outputs.<name>`.
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// `steps.<id>.outcome`.
    outcomes: BTreeMap<String, String>,
    transcript: Vec<String>,
    failed: bool,
}

/// One run of the action: the event, the inputs given, the stubs' answers.
#[derive(Clone)]
struct Case {
    event: &'static str,
    inputs: Vec<(&'static str, &'static str)>,
    /// Extra environment of every step (the stubs' exit codes).
    stub_env: Vec<(&'static str, &'static str)>,
    /// `Some(version)`: a `tribunal` of that version is already in
    /// `~/.cargo/bin` (restored by `actions/cache`).
    cached: Option<&'static str>,
    /// `cargo-binstall` is on `PATH`.
    binstall: bool,
}

impl Case {
    fn pull_request() -> Self {
        Self {
            event: "pull_request",
            inputs: vec![],
            stub_env: vec![("STUB_GH_RUN_ID", "4242")],
            cached: None,
            binstall: false,
        }
    }
}

fn stub(dir: &TestProject, name: &str, body: &str) {
    let path = format!("stubs/{name}");
    dir.write(&path, format!("{STUB_HEAD}{body}"));
    make_executable(&dir.join(&path));
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(path).expect("stub").permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(path, perm).expect("chmod");
}

impl Runner {
    fn new() -> Self {
        let dir = TestProject::new();
        stub(&dir, "cargo", CARGO_STUB);
        stub(&dir, "gh", GH_STUB);
        stub(&dir, "git", "");
        dir.write(
            "stubs/tribunal.template",
            format!("{STUB_HEAD}{TRIBUNAL_STUB}"),
        );
        dir.write("stubs/plain.template", STUB_HEAD);
        dir.write("work/.keep", "");
        dir.write("home/.keep", "");
        dir.write("temp/.keep", "");
        dir.write("stub.log", "");
        Self {
            dir,
            path: Vec::new(),
            env: BTreeMap::new(),
            outputs: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            transcript: Vec::new(),
            failed: false,
        }
    }

    /// A `tribunal` of `version` in `~/.cargo/bin`, as a cache hit leaves it.
    fn install_cached_tribunal(&self, version: &str) {
        let text = self
            .dir
            .read("stubs/tribunal.template")
            .replace("@VERSION@", version);
        self.dir.write("home/.cargo/bin/tribunal", text);
        make_executable(&self.dir.join("home/.cargo/bin/tribunal"));
    }

    /// The value of one `${{ … }}` expression (the contexts the action and
    /// workflows read); an unknown one fails the test, so a new expression
    /// gets a value here before its step is trusted.
    fn value(&self, expr: &str, ctx: &Contexts) -> String {
        let expr = expr.trim();
        if let Some(lit) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
            return lit.to_string();
        }
        if let Some((a, b)) = expr.split_once(" || ") {
            let a = self.value(a, ctx);
            return if a.is_empty() { self.value(b, ctx) } else { a };
        }
        if let Some(name) = expr.strip_prefix("inputs.") {
            return ctx
                .inputs
                .get(name)
                .unwrap_or_else(|| panic!("no input `{name}`"))
                .clone();
        }
        if let Some(rest) = expr.strip_prefix("steps.") {
            let (id, field) = rest.split_once('.').expect("steps.ID.FIELD");
            if field == "outcome" {
                return self.outcomes.get(id).cloned().unwrap_or_default();
            }
            let name = field
                .strip_prefix("outputs.")
                .expect("steps.ID.outputs.NAME");
            return self
                .outputs
                .get(id)
                .and_then(|o| o.get(name))
                .cloned()
                .unwrap_or_default();
        }
        if let Some(name) = expr.strip_prefix("secrets.") {
            return ctx.secrets.get(name).cloned().unwrap_or_default();
        }
        if expr == "toJSON(secrets)" {
            return serde_json::to_string(&ctx.secrets).expect("json");
        }
        match expr {
            "github.token" => "ghs_fake_token".into(),
            "github.event_name" => ctx.event.into(),
            "github.base_ref" => if ctx.event.starts_with("pull_request") {
                "main"
            } else {
                ""
            }
            .into(),
            "github.run_id" => "777".into(),
            "github.event.repository.default_branch" => "main".into(),
            "runner.temp" => self.dir.join("temp").display().to_string(),
            "runner.os" => "Linux".into(),
            "runner.arch" => "X64".into(),
            _ => panic!("the test gives no value to `${{{{ {expr} }}}}`"),
        }
    }

    /// `text` with every `${{ … }}` replaced by its value.
    fn substitute(&self, text: &str, ctx: &Contexts) -> String {
        let re = regex::Regex::new(r"\$\{\{(.*?)\}\}").expect("regex");
        re.replace_all(text, |c: &regex::Captures| self.value(&c[1], ctx))
            .into_owned()
    }

    /// Whether a step's `if:` holds: `always()`, `==`/`!=` against a
    /// string literal, `&&`, `||`; without a status function it is
    /// `success() && …`, as on GitHub.
    fn condition(&self, cond: Option<&str>, ctx: &Contexts) -> bool {
        let Some(cond) = cond else {
            return !self.failed;
        };
        let cond = cond.trim();
        let cond = cond
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(cond)
            .trim();
        let status = ["always()", "success()", "failure()", "cancelled()"]
            .iter()
            .any(|f| cond.contains(f));
        let holds = cond.split(" || ").any(|alt| {
            alt.split(" && ").all(|atom| {
                let atom = atom.trim();
                match atom {
                    "always()" => true,
                    "success()" => !self.failed,
                    "failure()" => self.failed,
                    "cancelled()" | "!cancelled()" => atom.starts_with('!'),
                    _ => {
                        let (lhs, rhs, eq) = if let Some((l, r)) = atom.split_once(" == ") {
                            (l, r, true)
                        } else if let Some((l, r)) = atom.split_once(" != ") {
                            (l, r, false)
                        } else {
                            // A bare context: truthy when not empty.
                            return !self.value(atom, ctx).is_empty();
                        };
                        (self.value(lhs, ctx) == self.value(rhs, ctx)) == eq
                    }
                }
            })
        });
        if status { holds } else { !self.failed && holds }
    }

    /// Runs the steps of a job (or of the composite action) in order.
    fn run_steps(&mut self, steps: &[Value], ctx: &Contexts) {
        for (i, step) in steps.iter().enumerate() {
            let name = step["name"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("step {}", i + 1));
            let id = step["id"].as_str().map(String::from);
            if !self.condition(step["if"].as_str(), ctx) {
                self.transcript.push(format!("── {name}: skipped"));
                if let Some(id) = id {
                    self.outcomes.insert(id, "skipped".into());
                }
                continue;
            }
            if let Some(uses) = step["uses"].as_str() {
                let mut with: Vec<String> = step["with"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        let v = self.substitute(v.as_str().unwrap_or_default(), ctx);
                        let v = v.trim().replace('\n', " ");
                        format!("{k}={}", self.normalize(&v))
                    })
                    .collect();
                with.sort();
                with.insert(0, format!("── {name}: uses {uses}"));
                self.transcript.push(with.join(" "));
                if let Some(id) = id {
                    self.outcomes.insert(id, "success".into());
                }
                continue;
            }
            let script = self.substitute(step["run"].as_str().expect("run"), ctx);
            let code = self.run_script(step, &script, ctx, id.as_deref());
            let continue_on_error = step["continue-on-error"] == true;
            self.transcript.push(format!(
                "── {name}: exit {code}{}",
                if code != 0 && continue_on_error {
                    " (continue-on-error)"
                } else {
                    ""
                }
            ));
            let log = self.dir.read("stub.log");
            for line in log.lines() {
                self.transcript.push(format!("  {}", self.normalize(line)));
            }
            self.dir.write("stub.log", "");
            if let Some(id) = id {
                let outcome = if code == 0 { "success" } else { "failure" };
                self.outcomes.insert(id, outcome.into());
            }
            if code != 0 && !continue_on_error {
                self.failed = true;
            }
        }
        self.transcript.push(format!(
            "job: {}",
            if self.failed { "failure" } else { "success" }
        ));
    }

    fn normalize(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), "<runner>")
    }

    /// Runs one `run:` script the way `shell: bash` does, in its
    /// `working-directory`, with its `env:`; reads back what it wrote to
    /// `GITHUB_OUTPUT`, `GITHUB_PATH` and `GITHUB_ENV`; logs its stdout and
    /// stderr into the transcript. Returns its exit code.
    fn run_script(&mut self, step: &Value, script: &str, ctx: &Contexts, id: Option<&str>) -> i32 {
        assert_eq!(
            step["shell"]
                .as_str()
                .or(ctx.default_shell)
                .unwrap_or("bash"),
            "bash",
            "every step runs in bash"
        );
        self.dir.write("temp/step.sh", script);
        for f in ["output", "path", "env"] {
            self.dir.write(&format!("temp/{f}"), "");
        }
        let root = self.dir.path().to_path_buf();
        let workspace = root.join("work");
        let dir = step["working-directory"]
            .as_str()
            .or(ctx.default_working_directory)
            .map(|d| self.substitute(d, ctx))
            .unwrap_or_else(|| ".".into());
        let mut path: Vec<String> = vec![root.join("stubs").display().to_string()];
        path.extend(self.path.iter().cloned());
        path.push(root.join("home/.cargo/bin").display().to_string());
        path.push("/usr/bin:/bin".into());
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(root.join("temp/step.sh"))
            .current_dir(workspace.join(dir))
            .env_clear()
            .env("PATH", path.join(":"))
            .env("HOME", root.join("home"))
            .env("STUB_LOG", root.join("stub.log"))
            .env("STUB_DIR", root.join("stubs"))
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_WORKSPACE", &workspace)
            .env("GITHUB_REPOSITORY", "octo/app")
            .env("GITHUB_EVENT_NAME", ctx.event)
            .env("GITHUB_EVENT_PATH", root.join("temp/event.json"))
            .env("GITHUB_REF_NAME", ctx.ref_name)
            .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
            .env("GITHUB_RUN_ID", "777")
            .env(
                "GITHUB_WORKFLOW_REF",
                "octo/app/.github/workflows/evals.yml@refs/pull/7/merge",
            )
            .env("GITHUB_STEP_SUMMARY", root.join("temp/summary.md"))
            .env("GITHUB_OUTPUT", root.join("temp/output"))
            .env("GITHUB_PATH", root.join("temp/path"))
            .env("GITHUB_ENV", root.join("temp/env"))
            .env("RUNNER_TEMP", root.join("temp"))
            .env("RUNNER_OS", "Linux");
        self.dir.write(
            "temp/event.json",
            if ctx.event.starts_with("pull_request") {
                r#"{"pull_request": {"number": 7}, "repository": {"default_branch": "main"}}"#
            } else {
                r#"{"repository": {"default_branch": "main"}}"#
            },
        );
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in &ctx.stub_env {
            cmd.env(k, v);
        }
        for (k, v) in step["env"].as_object().into_iter().flatten() {
            let v = match v {
                Value::String(s) => self.substitute(s, ctx),
                other => other.to_string(),
            };
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        for (label, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for line in String::from_utf8_lossy(stream).lines() {
                let line = self.normalize(line);
                self.dir.write(
                    "stub.log",
                    format!("{}{label}: {line}\n", self.dir.read("stub.log")),
                );
            }
        }
        let outputs: BTreeMap<String, String> = self
            .dir
            .read("temp/output")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(id) = id {
            self.outputs.insert(id.to_string(), outputs);
        }
        for line in self.dir.read("temp/path").lines().rev() {
            self.path.insert(0, line.to_string());
        }
        for line in self.dir.read("temp/env").lines() {
            if let Some((k, v)) = line.split_once('=') {
                self.env.insert(k.to_string(), v.to_string());
            }
        }
        out.status.code().unwrap_or(-1)
    }
}

/// What the expressions of one run read.
struct Contexts<'a> {
    event: &'a str,
    ref_name: &'a str,
    inputs: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    stub_env: Vec<(String, String)>,
    default_shell: Option<&'a str>,
    default_working_directory: Option<&'a str>,
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(path)).expect("read");
    serde_saphyr::from_str(&text).expect("YAML parses")
}

/// The action's inputs: the defaults of `action.yml` (expressions in them
/// substituted), overridden by the case's.
fn action_inputs(runner: &Runner, action: &Value, case: &Case) -> BTreeMap<String, String> {
    let empty = Contexts {
        event: case.event,
        ref_name: "main",
        inputs: BTreeMap::new(),
        secrets: BTreeMap::new(),
        stub_env: vec![],
        default_shell: None,
        default_working_directory: None,
    };
    let mut inputs: BTreeMap<String, String> = action["inputs"]
        .as_object()
        .expect("inputs")
        .iter()
        .map(|(k, v)| {
            let d = v["default"].as_str().unwrap_or_default();
            (k.clone(), runner.substitute(d, &empty))
        })
        .collect();
    for (k, v) in &case.inputs {
        assert!(inputs.contains_key(*k), "action.yml has no input `{k}`");
        inputs.insert((*k).to_string(), (*v).to_string());
    }
    inputs
}

/// Runs `action.yml` for one case: the transcript of every step.
fn run_action(case: &Case) -> String {
    run_action_on(Runner::new(), case).0
}

/// [`run_action`] on a prepared runner: the transcript, and the action's
/// outputs (`outputs:` of action.yml, read from the steps' outputs).
fn run_action_on(mut runner: Runner, case: &Case) -> (String, Vec<String>) {
    let action = yaml("action.yml");
    if let Some(v) = case.cached {
        runner.install_cached_tribunal(v);
    }
    if case.binstall {
        stub(&runner.dir, "cargo-binstall", "");
    }
    let ctx = Contexts {
        event: case.event,
        ref_name: "main",
        inputs: action_inputs(&runner, &action, case),
        secrets: BTreeMap::new(),
        stub_env: case
            .stub_env
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        default_shell: None,
        default_working_directory: None,
    };
    let mut head = vec![format!("event: {}", case.event)];
    for (k, v) in &case.inputs {
        head.push(format!("with: {k}: {v}"));
    }
    for (k, v) in &case.stub_env {
        head.push(format!("stub: {k}={v}"));
    }
    if let Some(v) = case.cached {
        head.push(format!("cached: tribunal {v}"));
    }
    if case.binstall {
        head.push("cargo-binstall is on PATH".into());
    }
    let steps = action["runs"]["steps"].as_array().expect("steps").clone();
    runner.run_steps(&steps, &ctx);
    let outputs = action["outputs"]
        .as_object()
        .expect("outputs")
        .iter()
        .map(|(k, v)| {
            let value = runner.substitute(v["value"].as_str().expect("value"), &ctx);
            format!("{k}={value}")
        })
        .collect();
    head.append(&mut runner.transcript);
    (head.join("\n"), outputs)
}

#[test]
fn a_pull_request_with_the_cargo_harness_installs_runs_compares_and_gates() {
    insta::assert_snapshot!(run_action(&Case::pull_request()));
}

#[test]
fn a_push_with_the_cli_harness_runs_tribunal_test_and_keeps_the_baseline() {
    let case = Case {
        event: "push",
        inputs: vec![
            ("harness", "cli"),
            ("filter", "--exact shop::refund"),
            ("suites", "evals/shop*.yaml"),
        ],
        stub_env: vec![],
        cached: None,
        binstall: false,
    };
    insta::assert_snapshot!(run_action(&case));
}

#[test]
fn a_failing_suite_still_reports_and_the_gate_fails_the_job() {
    let mut case = Case::pull_request();
    case.stub_env
        .extend([("STUB_CARGO_TEST_EXIT", "101"), ("STUB_GATE_EXIT", "1")]);
    let text = run_action(&case);
    insta::assert_snapshot!(text);
    assert!(text.ends_with("job: failure"), "{text}");
}

#[test]
fn a_failing_suite_whose_results_pass_the_gates_still_fails_the_job() {
    let mut case = Case::pull_request();
    case.stub_env.push(("STUB_CARGO_TEST_EXIT", "101"));
    let text = run_action(&case);
    insta::assert_snapshot!(text);
    assert!(text.ends_with("job: failure"), "{text}");
    // Without fail-on-status the run's exit code is not a gate.
    case.inputs.push(("fail-on-status", "false"));
    let text = run_action(&case);
    assert!(text.ends_with("job: success"), "{text}");
}

#[test]
fn a_cached_tribunal_is_not_installed_again() {
    let mut case = Case::pull_request();
    case.cached = Some(env!("CARGO_PKG_VERSION"));
    let text = run_action(&case);
    insta::assert_snapshot!(text);
    assert!(!text.contains("cargo install"), "{text}");
}

#[test]
fn a_bad_input_stops_the_action_before_anything_runs() {
    let mut case = Case::pull_request();
    case.inputs.push(("harness", "make"));
    insta::assert_snapshot!(run_action(&case));
}

#[test]
fn the_local_version_builds_the_checkout_and_puts_it_on_path() {
    let mut case = Case::pull_request();
    case.inputs.push(("tribunal-version", "local"));
    insta::assert_snapshot!(run_action(&case));
}

/// Runs one job of a workflow with the given contexts: the transcript.
fn run_job(workflow: &str, job: &str, ctx: Contexts<'_>) -> String {
    run_job_on(Runner::new(), workflow, job, ctx)
}

/// [`run_job`] on a prepared runner.
fn run_job_on(mut runner: Runner, workflow: &str, job: &str, ctx: Contexts<'_>) -> String {
    let doc = yaml(&format!(".github/workflows/{workflow}"));
    let body = &doc["jobs"][job];
    let ctx = Contexts {
        default_shell: body["defaults"]["run"]["shell"].as_str(),
        default_working_directory: body["defaults"]["run"]["working-directory"].as_str(),
        ..ctx
    };
    let steps = body["steps"].as_array().expect("steps").clone();
    runner.run_steps(&steps, &ctx);
    runner.transcript.join("\n")
}

fn release_contexts(tag: &str) -> Contexts<'_> {
    Contexts {
        event: "push",
        ref_name: tag,
        inputs: BTreeMap::new(),
        secrets: BTreeMap::new(),
        stub_env: vec![],
        default_shell: None,
        default_working_directory: None,
    }
}

#[test]
fn a_release_moves_the_major_tag_to_its_commit() {
    let text = ["v0.1.0", "v1.2.3", "v0"]
        .iter()
        .map(|tag| {
            format!(
                "GITHUB_REF_NAME={tag}\n{}",
                run_job("release.yml", "major-tag", release_contexts(tag))
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    insta::assert_snapshot!(text);
}

/// The GitLab pipeline of `docs/ci.md`, parsed.
fn gitlab_recipe() -> Value {
    let text = std::fs::read_to_string(repo_root().join("docs/ci.md")).expect("docs/ci.md");
    let start = text.find("# .gitlab-ci.yml\n").expect("the GitLab recipe");
    let end = start + text[start..].find("```").expect("its end");
    serde_saphyr::from_str(&text[start..end]).expect("YAML")
}

/// Runs one job of the GitLab recipe the way a GitLab runner's shell does:
/// the `variables` exported (expanded like GitLab expands them), then
/// `before_script` and `script` in one `bash -eo pipefail` shell, in a
/// fresh checkout (`CI_PROJECT_DIR`) with an empty cache.
fn run_gitlab_job(runner: &mut Runner, job: &str) -> String {
    let doc = gitlab_recipe();
    let mut script = String::new();
    for (k, v) in doc["variables"].as_object().expect("variables") {
        script.push_str(&format!("export {k}=\"{}\"\n", v.as_str().expect("string")));
    }
    let lines = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|l| l.as_str().expect("a script line").to_string())
            .collect()
    };
    let before = if doc[job]["before_script"].is_array() {
        &doc[job]["before_script"]
    } else {
        &doc["default"]["before_script"]
    };
    for line in lines(before).into_iter().chain(lines(&doc[job]["script"])) {
        script.push_str(&line);
        script.push('\n');
    }
    let step = serde_json::json!({
        "name": job,
        "shell": "bash",
        "env": {
            "CI_PROJECT_DIR": runner.dir.join("work").display().to_string(),
            "CI_NODE_INDEX": "2",
            "CI_NODE_TOTAL": "3",
        },
    });
    let ctx = release_contexts("main");
    let code = runner.run_script(&step, &script, &ctx, None);
    let log = runner.dir.read("stub.log");
    runner.dir.write("stub.log", "");
    format!("── {job}: exit {code}\n{}", runner.normalize(&log))
}

#[test]
fn every_command_of_the_gitlab_recipe_is_found_on_a_fresh_runner() {
    // Each job on its own runner, the cache cold.
    let evals = run_gitlab_job(&mut Runner::new(), "evals");
    let mut runner = Runner::new();
    // A partition's results, as the `evals` jobs leave them.
    runner
        .dir
        .write("work/target/tribunal/runs/r1/a.json", "{}");
    let report = run_gitlab_job(&mut runner, "evals-report");
    let text = format!("{evals}\n{report}");
    insta::assert_snapshot!(text);
    assert!(!text.contains("command not found"), "{text}");
}

/// Runs the reusable live workflow's job with these inputs and secrets.
fn run_live(
    inputs: &[(&str, &str)],
    secrets: &[(&str, &str)],
    stub_env: &[(&str, &str)],
) -> String {
    run_live_on(Runner::new(), inputs, secrets, stub_env)
}

fn run_live_on(
    runner: Runner,
    inputs: &[(&str, &str)],
    secrets: &[(&str, &str)],
    stub_env: &[(&str, &str)],
) -> String {
    let doc = yaml(".github/workflows/tribunal-live.yml");
    let mut all: BTreeMap<String, String> = doc["on"]["workflow_call"]["inputs"]
        .as_object()
        .expect("inputs")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v["default"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (k, v) in inputs {
        assert!(all.contains_key(*k), "no input `{k}`");
        all.insert((*k).into(), (*v).into());
    }
    let ctx = Contexts {
        event: "schedule",
        ref_name: "main",
        inputs: all,
        secrets: secrets
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        stub_env: stub_env
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        default_shell: None,
        default_working_directory: None,
    };
    let mut head: Vec<String> = inputs
        .iter()
        .map(|(k, v)| format!("with: {k}: {v}"))
        .collect();
    head.extend(secrets.iter().map(|(k, _)| format!("secret: {k}")));
    head.extend(stub_env.iter().map(|(k, v)| format!("stub: {k}={v}")));
    format!(
        "{}\n{}",
        head.join("\n"),
        run_job_on(runner, "tribunal-live.yml", "record", ctx)
    )
}

const SHOW: (&str, &str) = (
    "STUB_SHOW_ENV",
    "OPENAI_API_KEY MISTRAL_API_KEY GROQ_API_KEY UNLISTED_SECRET SECRETS_JSON",
);

#[test]
fn the_live_workflow_passes_the_secrets_named_in_secret_names_and_only_those() {
    let text = run_live(
        &[("secret-names", "MISTRAL_API_KEY GROQ_API_KEY")],
        &[
            ("OPENAI_API_KEY", "sk-openai"),
            ("MISTRAL_API_KEY", "mistral-key"),
            ("GROQ_API_KEY", "groq-key"),
            ("UNLISTED_SECRET", "do-not-pass"),
        ],
        &[SHOW],
    );
    insta::assert_snapshot!(text);
}

#[test]
fn the_live_workflow_fails_before_recording_when_a_named_secret_is_missing() {
    let text = run_live(
        &[("secret-names", "MISTRAL_API_KEY bad-name")],
        &[("OPENAI_API_KEY", "sk-openai")],
        &[SHOW],
    );
    insta::assert_snapshot!(text);
    assert!(text.ends_with("job: failure"), "{text}");
}

#[test]
fn a_failed_live_run_that_recorded_nothing_fails_the_job() {
    let text = run_live(&[], &[], &[SHOW, ("STUB_CARGO_TEST_EXIT", "101")]);
    insta::assert_snapshot!(text);
    assert!(text.ends_with("job: failure"), "{text}");
}

#[test]
fn with_cargo_binstall_the_prebuilt_binary_is_installed() {
    let mut case = Case::pull_request();
    case.binstall = true;
    let text = run_action(&case);
    insta::assert_snapshot!(text);
    assert!(!text.contains("cargo install"), "{text}");
}

#[test]
fn without_a_prebuilt_binary_binstall_falls_back_to_cargo_install() {
    let mut case = Case::pull_request();
    case.binstall = true;
    case.stub_env.push(("STUB_BINSTALL_EXIT", "94"));
    let text = run_action(&case);
    insta::assert_snapshot!(text);
    assert!(
        text.contains("cargo install tribunal --locked --version"),
        "{text}"
    );
    assert!(text.ends_with("job: success"), "{text}");
}

#[test]
fn the_live_workflow_installs_the_cli_as_the_action_does() {
    let plain = run_live(&[("harness", "cli")], &[], &[]);
    let runner = Runner::new();
    stub(&runner.dir, "cargo-binstall", "");
    let prebuilt = run_live_on(runner, &[("harness", "cli")], &[], &[]);
    let install = |t: &str| {
        t.lines()
            .skip_while(|l| !l.starts_with("── Install tribunal"))
            .take_while(|l| !l.starts_with("── Run the suites"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(format!(
        "without cargo-binstall:\n{}\nwith cargo-binstall:\n{}",
        install(&plain),
        install(&prebuilt)
    ));
}

const SUITE: &str = r#"suite: shop
cases:
  - id: refund
    output: "Refunds are accepted within 30 days."
    checks:
      - contains: 30 days
  - id: greet
    output: "Hello, how can I help?"
    checks:
      - icontains: hello
"#;

/// The action end to end with the real `tribunal` (as a cache hit leaves
/// it) on a push: `tribunal test` runs the suite, and the report step's
/// `tribunal ci github summary|annotate|gate` read its results and write
/// the outputs the action declares.
#[test]
fn the_action_with_the_real_tribunal_writes_its_outputs_and_gates() {
    let runner = Runner::new();
    runner.dir.write("work/evals/shop.yaml", SUITE);
    let accepted = runner
        .dir
        .tribunal(&["test", "--root", "work"])
        .ci(false)
        .env("INSTA_UPDATE", "always")
        .output();
    assert!(accepted.success(), "{accepted:?}");
    // The pull request's change: the refund answer regresses.
    runner.dir.write(
        "work/evals/shop.yaml",
        SUITE.replace("within 30 days", "within 14 days"),
    );
    let bin = runner.dir.join("home/.cargo/bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_tribunal"), bin.join("tribunal"))
        .expect("symlink");
    let case = Case {
        event: "push",
        inputs: vec![("harness", "cli")],
        stub_env: vec![],
        cached: None,
        binstall: false,
    };
    let (text, outputs) = run_action_on(runner, &case);
    let steps: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("── ") || l.starts_with("job:") || l.contains("::error "))
        .collect();
    insta::assert_snapshot!(format!(
        "{}\n\noutputs:\n{}",
        steps.join("\n"),
        outputs.join("\n")
    ));
    assert!(!text.contains("cargo install"), "{text}");
}
