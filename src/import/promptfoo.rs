//! `tribunal import promptfoo`: a promptfoo configuration
//! (`promptfooconfig.yaml`) converted into one tribunal suite
//! (`evals/<suite>.yaml`) and the `tribunal.yaml` that names its providers.
//!
//! - `prompts` × `providers` become `variants:` (one named `prompt` target
//!   each); a single prompt and provider become the suite's default target.
//! - `tests` (inline, or `file://` YAML, JSON, JSONL and CSV files with
//!   `__expected` columns) become cases; `vars` stay vars (a var named
//!   `input` becomes the case's `input`), list-valued vars expand into one
//!   case per combination, as promptfoo does.
//! - `defaultTest` becomes `defaults:` (its grader, `options.provider`, the
//!   suite's `judge:` provider).
//! - every `assert` becomes a check; what tribunal cannot run is kept as a
//!   `skip` check with the reason and the original assertion, and listed as
//!   a [`Note`] at its `file:line:col`.
//!
//! The mapping table is in `docs/migrate-from-promptfoo.md`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Conversion, ImportError, Loc, Note, NoteKind};
use crate::case::yaml::{self, Node, NodeValue};

/// The largest promptfoo file read (the configuration, a tests file, a
/// prompt file): 16 MiB, the limit of a tribunal suite file.
pub const MAX_FILE_BYTES: u64 = 16 << 20;
/// The most bytes read over all the files of one import.
pub const MAX_TOTAL_BYTES: u64 = 64 << 20;
/// The most cases one import writes (tests × list-valued var combinations).
pub const MAX_CASES: usize = 100_000;

/// Top-level keys of a promptfoo configuration that tribunal reads.
const READ_KEYS: &[&str] = &[
    "description",
    "prompts",
    "providers",
    "tests",
    "defaultTest",
];
/// Top-level keys that only steer promptfoo's own runner or its web viewer:
/// nothing to carry over, nothing said.
const RUNNER_KEYS: &[&str] = &[
    "$schema",
    "outputPath",
    "sharing",
    "writeLatestResults",
    "commandLineOptions",
    "tags",
    "metadata",
];
/// Top-level keys with no tribunal equivalent: each one is a note.
const UNMAPPED_KEYS: &[(&str, &str, &str)] = &[
    (
        "evaluateOptions",
        "promptfoo's runner options (`maxConcurrency`, `repeat`, `delay`) are not carried over",
        "set `run.concurrency` and `limits` in tribunal.yaml (docs/configuration.md)",
    ),
    (
        "scenarios",
        "`scenarios` (config × tests combinations) are not imported",
        "write each scenario's tests as cases, with its config as `variants:`",
    ),
    (
        "env",
        "`env` values are not copied (they may hold secrets)",
        "export the variables in the shell or CI job that runs tribunal",
    ),
    (
        "extensions",
        "`extensions` (JavaScript/Python hooks) have no tribunal equivalent",
        "move setup into `tests/evals.rs` (the harness runs Rust before the trials)",
    ),
    (
        "derivedMetrics",
        "`derivedMetrics` are not computed",
        "tribunal reports pass rates per tag (`tribunal report`)",
    ),
    (
        "nunjucksFilters",
        "custom Nunjucks filters are not available in tribunal's minijinja templates",
        "rewrite the templates with minijinja's built-in filters",
    ),
    (
        "redteam",
        "`redteam` generation is not imported",
        "generate the cases with promptfoo, then import the generated config",
    ),
    (
        "tracing",
        "OpenTelemetry `tracing` settings are not carried over",
        "tribunal records every model call in cassettes (docs/providers.md)",
    ),
];

/// promptfoo assertion types, for "did you mean" and for reading the
/// `type: value` text of CSV `__expected` columns.
const ASSERT_TYPES: &[&str] = &[
    "equals",
    "contains",
    "icontains",
    "contains-any",
    "contains-all",
    "icontains-any",
    "icontains-all",
    "starts-with",
    "ends-with",
    "regex",
    "is-json",
    "contains-json",
    "is-html",
    "contains-html",
    "is-xml",
    "contains-xml",
    "is-sql",
    "contains-sql",
    "is-refusal",
    "javascript",
    "python",
    "ruby",
    "webhook",
    "rouge-n",
    "bleu",
    "gleu",
    "meteor",
    "levenshtein",
    "latency",
    "cost",
    "perplexity",
    "perplexity-score",
    "finish-reason",
    "word-count",
    "is-valid-function-call",
    "is-valid-openai-function-call",
    "is-valid-openai-tools-call",
    "tool-call-f1",
    "similar",
    "similar:cosine",
    "similar:dot",
    "similar:euclidean",
    "classifier",
    "moderation",
    "llm-rubric",
    "model-graded-closedqa",
    "factuality",
    "g-eval",
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
    "context-relevance",
    "conversation-relevance",
    "select-best",
    "max-score",
    "assert-set",
    "guardrails",
];

/// The default grader the import names when the configuration uses
/// model-graded assertions without choosing one: promptfoo's default when
/// `OPENAI_API_KEY` is set.
const DEFAULT_GRADER_MODEL: &str = "gpt-4.1";

/// Converts the promptfoo configuration at `config` (a path as the user
/// gave it; `file://` references resolve against its folder) into a suite
/// named `suite` (default: the file stem; `promptfooconfig` becomes
/// `promptfoo`).
pub fn convert(config: &Path, suite: Option<&str>) -> Result<Conversion, ImportError> {
    let mut cx = Cx::new(config);
    let file: Arc<str> = Arc::from(config.display().to_string());
    let root = cx.read_yaml(config, &file, None)?;
    let suite = suite_name(config, suite)?;
    cx.run(&root, &file, &suite)
}

/// The suite name: the `--suite` value, else the file stem.
fn suite_name(config: &Path, given: Option<&str>) -> Result<String, ImportError> {
    if let Some(name) = given {
        let ok = !name.is_empty()
            && name.len() <= crate::case::MAX_ID_CHARS
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(ImportError {
                place: "--suite".into(),
                message: format!("`{name}` is not a suite name"),
                hint: Some(format!(
                    "use letters, digits, `_`, `-` and `.`, starting with a letter or digit, at most {} characters",
                    crate::case::MAX_ID_CHARS
                )),
            });
        }
        return Ok(name.to_string());
    }
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = if stem == "promptfooconfig" || stem.is_empty() {
        "promptfoo".to_string()
    } else {
        stem
    };
    Ok(slug(&stem, "promptfoo"))
}

// ---------------------------------------------------------------------------
// Small helpers over the positioned YAML tree.

fn get<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    match &n.value {
        NodeValue::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.key_text() == key)
            .map(|(_, v)| v),
        _ => None,
    }
}

fn key_node<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    match &n.value {
        NodeValue::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.key_text() == key)
            .map(|(k, _)| k),
        _ => None,
    }
}

fn text(n: &Node) -> Option<String> {
    match &n.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::Float(f) => Some(f.to_string()),
        NodeValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(n: &Node) -> Option<f64> {
    match &n.value {
        NodeValue::Int(i) => Some(*i as f64),
        NodeValue::Float(f) => Some(*f),
        NodeValue::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A number as JSON: whole numbers without a fraction (`5000`, not `5000.0`).
fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn kind_of(n: &Node) -> &'static str {
    match &n.value {
        NodeValue::Null => "nothing",
        NodeValue::Bool(_) => "a boolean",
        NodeValue::Int(_) | NodeValue::Float(_) => "a number",
        NodeValue::Str(_) => "a string",
        NodeValue::Seq(_) => "a list",
        NodeValue::Map(_) => "a mapping",
    }
}

/// The most files one `tests: file://` glob may name.
pub const MAX_GLOB_FILES: usize = 1000;

/// Walks `dir` for the glob `parts`, pushing matching files as `rel` paths
/// (`/`-separated); stops early past [`MAX_GLOB_FILES`] + 1 matches.
fn glob_walk(dir: &Path, parts: &[&str], rel: String, out: &mut Vec<String>) {
    if out.len() > MAX_GLOB_FILES {
        return;
    }
    let join = |name: &str| {
        if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        }
    };
    let Some((first, rest)) = parts.split_first() else {
        if dir.is_file() {
            out.push(rel);
        }
        return;
    };
    if *first == "**" {
        // Zero folders, then one more folder and `**` again.
        glob_walk(dir, rest, rel.clone(), out);
        for (name, path) in entries(dir, "") {
            if path.is_dir() {
                glob_walk(&path, parts, join(&name), out);
            }
        }
        return;
    }
    if !first.contains(['*', '?']) {
        glob_walk(&dir.join(first), rest, join(first), out);
        return;
    }
    for (name, path) in entries(dir, first) {
        if wildcard(first, &name) {
            glob_walk(&path, rest, join(&name), out);
        }
    }
}

/// The entries of a folder, sorted by name; hidden ones only when
/// `pattern` starts with `.`.
fn entries(dir: &Path, pattern: &str) -> Vec<(String, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = rd
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(n, _)| !n.starts_with('.') || pattern.starts_with('.'))
        .collect();
    out.sort();
    out
}

/// Whether `name` matches `pattern` (`*` any run, `?` one character).
fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn str_node(s: &str, line: u32, col: u32) -> Node {
    Node {
        value: NodeValue::Str(s.to_string()),
        line,
        col,
    }
}

/// A name made of letters, digits, `_`, `-` and `.`, starting with a letter
/// or digit, at most 64 characters; `fallback` when nothing is left.
fn slug(s: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(crate::case::MAX_ID_CHARS)
        .collect();
    let trimmed = trimmed.trim_end_matches(['-', '.', '_']).to_string();
    if trimmed.is_empty() {
        fallback.to_string()
    } else {
        trimmed
    }
}

/// `base`, or `base-2`, `base-3`, ... when taken.
fn unique(base: &str, taken: &mut HashSet<String>) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while taken.contains(&name) {
        let suffix = format!("-{n}");
        let keep = crate::case::MAX_ID_CHARS.saturating_sub(suffix.len());
        name = format!("{}{suffix}", base.chars().take(keep).collect::<String>());
        n += 1;
    }
    taken.insert(name.clone());
    name
}

// ---------------------------------------------------------------------------
// The conversion state.

/// A provider block of `tribunal.yaml`, with what a test's `providers:`
/// filter may call it.
#[derive(Debug, Clone)]
struct Provider {
    name: String,
    block: Map<String, Value>,
    /// The promptfoo id and label, for `providers:` filters.
    aliases: Vec<String>,
    /// `config.tools`, for the prompt targets that use this provider.
    tools: Option<Value>,
    /// `config.tool_choice`, as tribunal writes it.
    tool_choice: Option<Value>,
    /// An HTTP provider: the `http` target (with `{{prompt}}` still in its
    /// body), instead of a block in tribunal.yaml.
    http: Option<Map<String, Value>>,
    /// Where an HTTP provider is, for notes about its targets.
    http_loc: Option<Loc>,
}

#[derive(Debug, Clone)]
struct Prompt {
    id: String,
    label: Option<String>,
    system: Option<String>,
    template: String,
}

#[derive(Debug, Clone)]
struct VariantOut {
    id: String,
    prompt: usize,
    provider: usize,
}

/// What one case collects while its assertions are mapped.
#[derive(Default)]
struct CaseCx {
    expected: Option<Value>,
    tags: Vec<String>,
    judge_provider: Option<String>,
}

struct Cx {
    dir: PathBuf,
    shown_dir: PathBuf,
    notes: Vec<Note>,
    files: Vec<Arc<str>>,
    read: u64,
    providers: Vec<Provider>,
    provider_names: HashSet<String>,
    grader: Option<String>,
    first_judge: Option<Loc>,
    assertions: usize,
    checks: usize,
    skipped: usize,
}

impl Cx {
    fn new(config: &Path) -> Cx {
        let parent = config.parent().map(Path::to_path_buf).unwrap_or_default();
        Cx {
            dir: parent.clone(),
            shown_dir: parent,
            notes: Vec::new(),
            files: Vec::new(),
            read: 0,
            providers: Vec::new(),
            // Names with a meaning of their own in provider specs.
            provider_names: ["openai", "anthropic"]
                .into_iter()
                .map(String::from)
                .collect(),
            grader: None,
            first_judge: None,
            assertions: 0,
            checks: 0,
            skipped: 0,
        }
    }

    fn loc(&mut self, file: &Arc<str>, n: &Node) -> Loc {
        if !self.files.contains(file) {
            self.files.push(Arc::clone(file));
        }
        Loc {
            file: Arc::clone(file),
            line: n.line,
            col: n.col,
        }
    }

    fn note(&mut self, loc: Loc, kind: NoteKind, message: String, hint: Option<&str>) {
        self.notes.push(Note {
            loc,
            kind,
            message,
            hint: hint.map(str::to_string),
        });
    }

    /// A `file://` reference: the path on disk and as displayed.
    fn reference(&self, rest: &str) -> (PathBuf, Arc<str>) {
        let rel = Path::new(rest);
        let path = if rel.is_absolute() {
            rel.to_path_buf()
        } else {
            self.dir.join(rel)
        };
        let shown = if rel.is_absolute() {
            rel.to_path_buf()
        } else {
            self.shown_dir.join(rel)
        };
        (path, Arc::from(shown.display().to_string()))
    }

    /// The files a `file://` glob names (`*` and `?` within a name, `**`
    /// for any folders), relative to the configuration's folder as the glob
    /// is, sorted; at most [`MAX_GLOB_FILES`]. Hidden entries match only a
    /// part that starts with `.`. Matching nothing is an error.
    fn glob(&self, pattern: &str) -> Result<Vec<String>, (String, String)> {
        let absolute = pattern.starts_with('/');
        let parts: Vec<&str> = pattern
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        let start = if absolute {
            PathBuf::from("/")
        } else {
            self.dir.clone()
        };
        let mut found = Vec::new();
        glob_walk(&start, &parts, String::new(), &mut found);
        found.sort();
        found.dedup();
        if found.is_empty() {
            return Err((
                format!("the test file glob `file://{pattern}` matches no file"),
                "globs are relative to the promptfoo configuration's folder; an empty match is an error, not zero tests".into(),
            ));
        }
        if found.len() > MAX_GLOB_FILES {
            return Err((
                format!(
                    "the test file glob `file://{pattern}` matches {} files, more than {MAX_GLOB_FILES}",
                    found.len()
                ),
                "narrow the glob, or import the configuration in parts".into(),
            ));
        }
        Ok(found
            .into_iter()
            .map(|rel| if absolute { format!("/{rel}") } else { rel })
            .collect())
    }

    /// Reads a file the configuration names (bounded, regular files only).
    fn read(
        &mut self,
        path: &Path,
        shown: &Arc<str>,
        at: Option<&Loc>,
    ) -> Result<String, ImportError> {
        let fail = |message: String, hint: Option<String>| match at {
            Some(loc) => ImportError::at(loc, format!("{shown} {message}"), hint),
            None => ImportError {
                place: shown.to_string(),
                message,
                hint,
            },
        };
        let bytes = crate::fsutil::read_regular_bytes(path, MAX_FILE_BYTES).map_err(|e| {
            use crate::fsutil::ReadError;
            match e {
                ReadError::Io(e) => fail(
                    format!("cannot be read: {e}"),
                    Some("paths after `file://` are relative to the promptfoo configuration's folder".into()),
                ),
                ReadError::NotRegular(what) => fail(
                    format!("is {what}, not a regular file"),
                    Some("point at a plain file".into()),
                ),
                ReadError::TooLarge(max) => fail(
                    format!("is larger than {} MiB", max >> 20),
                    Some("split it into several files".into()),
                ),
            }
        })?;
        self.read += bytes.len() as u64;
        if self.read > MAX_TOTAL_BYTES {
            return Err(fail(
                format!(
                    "brings the files of this import to more than {} MiB",
                    MAX_TOTAL_BYTES >> 20
                ),
                Some("import the configuration in parts".into()),
            ));
        }
        String::from_utf8(bytes).map_err(|e| {
            fail(
                format!("is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
                Some("save it as UTF-8".into()),
            )
        })
    }

    fn read_yaml(
        &mut self,
        path: &Path,
        shown: &Arc<str>,
        at: Option<&Loc>,
    ) -> Result<Node, ImportError> {
        let text = self.read(path, shown, at)?;
        if !self.files.contains(shown) {
            self.files.push(Arc::clone(shown));
        }
        yaml::parse(&text).map_err(|e| ImportError {
            place: format!("{shown}:{}:{}", e.line, e.col),
            message: e.message,
            hint: e.hint,
        })
    }

    // -----------------------------------------------------------------------

    fn run(
        &mut self,
        root: &Node,
        file: &Arc<str>,
        suite: &str,
    ) -> Result<Conversion, ImportError> {
        let NodeValue::Map(entries) = &root.value else {
            let loc = self.loc(file, root);
            return Err(ImportError::at(
                &loc,
                format!(
                    "a promptfoo configuration is a mapping, found {}",
                    kind_of(root)
                ),
                Some("it starts with keys such as `prompts:`, `providers:` and `tests:`".into()),
            ));
        };
        for (k, _) in entries {
            let key = k.key_text();
            if READ_KEYS.contains(&key.as_str()) || RUNNER_KEYS.contains(&key.as_str()) {
                continue;
            }
            let loc = self.loc(file, k);
            if let Some((_, what, hint)) = UNMAPPED_KEYS.iter().find(|(name, ..)| *name == key) {
                self.note(loc, NoteKind::NotMapped, (*what).to_string(), Some(hint));
                continue;
            }
            let known = READ_KEYS
                .iter()
                .chain(RUNNER_KEYS)
                .copied()
                .chain(UNMAPPED_KEYS.iter().map(|(k, ..)| *k));
            return Err(ImportError::at(
                &loc,
                format!("unknown key `{key}` in a promptfoo configuration"),
                Some(crate::diag::hint(&key, known)),
            ));
        }
        let description = get(root, "description").and_then(text);

        // Providers first: a grader named in `defaultTest` may reuse one.
        let providers = match get(root, "providers") {
            Some(n) => self.providers_of(n, file)?,
            None => Vec::new(),
        };
        let prompts = match get(root, "prompts") {
            Some(n) => self.prompts_of(n, file)?,
            None => Vec::new(),
        };

        let default_test = match get(root, "defaultTest") {
            Some(n) => Some(self.default_test(n, file)?),
            None => None,
        };
        let tests = match get(root, "tests") {
            Some(n) => self.tests_of(n, file)?,
            None => {
                let loc = self.loc(file, root);
                return Err(ImportError::at(
                    &loc,
                    "the configuration has no `tests`",
                    Some(
                        "add `tests:` (a list of `vars` and `assert`) or `tests: file://tests.csv`"
                            .into(),
                    ),
                ));
            }
        };
        if tests.is_empty() {
            let n = get(root, "tests").unwrap_or(root);
            let loc = self.loc(file, n);
            return Err(ImportError::at(
                &loc,
                "`tests` holds no test",
                Some("a suite needs at least one case".into()),
            ));
        }

        // Variants: every prompt under every provider.
        let mut variants = Vec::new();
        let mut taken = HashSet::new();
        for (pi, p) in prompts.iter().enumerate() {
            for (qi, q) in providers.iter().enumerate() {
                let id = match (prompts.len() > 1, providers.len() > 1) {
                    (true, true) => format!("{}_{}", p.id, q),
                    (true, false) => p.id.clone(),
                    _ => q.clone(),
                };
                let id = unique(&slug(&id, "variant"), &mut taken);
                variants.push(VariantOut {
                    id,
                    prompt: pi,
                    provider: qi,
                });
            }
        }
        let defaults_node = default_test.as_ref();
        let mut cases: Vec<Value> = Vec::new();
        let mut case_ids = HashSet::new();
        let needs_target = tests
            .iter()
            .any(|t| get(&t.node, "providerOutput").is_none());
        if needs_target && (prompts.is_empty() || providers.is_empty()) {
            let key = if prompts.is_empty() {
                "prompts"
            } else {
                "providers"
            };
            let at = get(root, key).unwrap_or(root);
            let loc = self.loc(file, at);
            let left_out: Vec<String> = self
                .notes
                .iter()
                .filter(|n| n.kind == NoteKind::NotMapped && n.message.contains("left out"))
                .map(|n| format!("{}: {}", n.loc, n.message))
                .collect();
            let (what, hint) = if prompts.is_empty() {
                (
                    "no prompt could be imported",
                    "give `prompts:` as text, `file://` text or chat files, or `{raw: ...}`",
                )
            } else {
                (
                    "no provider could be imported",
                    "tribunal calls OpenAI-compatible and Anthropic APIs: use ids such as `openai:gpt-4.1-mini` or `anthropic:messages:claude-sonnet-4-5`",
                )
            };
            let what = if left_out.is_empty() {
                what.to_string()
            } else {
                format!("{what} ({})", left_out.join("; "))
            };
            return Err(ImportError::at(&loc, what, Some(hint.into())));
        }
        let test_count = tests.len();
        for (i, t) in tests.iter().enumerate() {
            let made = self.case(
                i,
                t,
                defaults_node,
                &variants,
                &prompts,
                &providers,
                &mut case_ids,
            )?;
            if cases.len() + made.len() > MAX_CASES {
                let loc = self.loc(&t.file, &t.node);
                return Err(ImportError::at(
                    &loc,
                    format!("the tests expand to more than {MAX_CASES} cases"),
                    Some(
                        "list-valued vars expand into every combination: shorten the lists".into(),
                    ),
                ));
            }
            cases.extend(made);
        }

        // The judge's provider: the grader, else a `judge` provider block.
        if self.first_judge.is_some() && self.grader.is_none() {
            let name = unique("judge", &mut self.provider_names);
            let mut block = Map::new();
            block.insert("kind".into(), json!("openai"));
            block.insert("model".into(), json!(DEFAULT_GRADER_MODEL));
            self.providers.push(Provider {
                name: name.clone(),
                block,
                aliases: Vec::new(),
                tools: None,
                tool_choice: None,
                http: None,
                http_loc: None,
            });
            if let Some(loc) = self.first_judge.clone() {
                self.note(
                    loc,
                    NoteKind::Changed,
                    format!(
                        "no grader is configured: promptfoo picks one from the API keys set; the judges use the provider `{name}` (openai, {DEFAULT_GRADER_MODEL}) written to tribunal.yaml"
                    ),
                    Some("change it there, or set `defaultTest.options.provider` before importing"),
                );
            }
            self.grader = Some(name);
        }

        // A chat prompt sent through an HTTP provider.
        for v in &variants {
            let provider = &self.providers[v.provider_index(&providers, &self.providers)];
            if let (Some(at), Some(_)) = (&provider.http_loc, &prompts[v.prompt].system) {
                let at = at.clone();
                let pid = prompts[v.prompt].id.clone();
                self.note(
                    at,
                    NoteKind::Changed,
                    format!("the chat prompt `{pid}` is sent to this HTTP provider as its system text and template joined by a blank line in place of `{{{{prompt}}}}`; promptfoo sends the messages as JSON text"),
                    Some("write the body of the `http` target by hand if the endpoint reads messages"),
                );
            }
        }

        // The suite file.
        let mut suite_map = Map::new();
        suite_map.insert("suite".into(), json!(suite));
        if let Some(d) = &description {
            suite_map.insert("description".into(), json!(d));
        }
        let mut defaults = Map::new();
        if variants.len() == 1 {
            let v = &variants[0];
            defaults.insert(
                "target".into(),
                prompt_target(
                    &prompts[v.prompt],
                    &self.providers[v.provider_index(&providers, &self.providers)],
                ),
            );
        }
        if let Some(d) = &default_test {
            if !d.vars.is_empty() {
                defaults.insert("vars".into(), Value::Object(d.vars.clone()));
            }
            if !d.checks.is_empty() {
                defaults.insert("checks".into(), Value::Array(d.checks.clone()));
            }
            if let Some(t) = d.threshold {
                defaults.insert("threshold".into(), num(t));
            }
            if !d.tags.is_empty() {
                defaults.insert("tags".into(), json!(d.tags));
            }
        }
        if !defaults.is_empty() {
            suite_map.insert("defaults".into(), Value::Object(defaults));
        }
        if variants.len() > 1 {
            let mut targets = Map::new();
            let mut list = Vec::new();
            for v in &variants {
                let provider = &self.providers[v.provider_index(&providers, &self.providers)];
                targets.insert(v.id.clone(), prompt_target(&prompts[v.prompt], provider));
                list.push(json!({"id": v.id, "target": v.id}));
            }
            suite_map.insert("targets".into(), Value::Object(targets));
            suite_map.insert("variants".into(), Value::Array(list));
        }
        if let Some(g) = &self.grader {
            suite_map.insert("judge".into(), json!({"provider": g}));
        }
        suite_map.insert("cases".into(), Value::Array(cases.clone()));

        let source = file.to_string();
        let suite_text = format!(
            "# Imported from {source} by `tribunal import promptfoo`.\n# docs/migrate-from-promptfoo.md says what each promptfoo assertion became.\n{}",
            crate::yaml_out::to_yaml(&Value::Object(suite_map))
        );
        let mut blocks = Map::new();
        for p in self.providers.iter().filter(|p| p.http.is_none()) {
            blocks.insert(p.name.clone(), Value::Object(p.block.clone()));
        }
        let config_text = format!(
            "# Providers imported from {source} by `tribunal import promptfoo`.\n# API keys are read from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, or each block's api_key_env).\n{}",
            crate::yaml_out::to_yaml(&json!({"providers": blocks}))
        );

        let files_order = self.files.clone();
        self.notes.sort_by_key(|n| {
            (
                files_order
                    .iter()
                    .position(|f| *f == n.loc.file)
                    .unwrap_or(usize::MAX),
                n.loc.line,
                n.loc.col,
            )
        });
        let summary = format!(
            "imported {source}: {} prompt(s) × {} provider(s) = {} variant(s); {} test(s) → {} case(s); {} assertion(s) → {} check(s), {} of them `skip`",
            prompts.len(),
            providers.len(),
            variants.len(),
            test_count,
            cases.len(),
            self.assertions,
            self.checks,
            self.skipped
        );
        Ok(Conversion {
            files: vec![
                (format!("evals/{suite}.yaml"), suite_text),
                ("tribunal.yaml".to_string(), config_text),
            ],
            notes: std::mem::take(&mut self.notes),
            summary,
        })
    }

    // -----------------------------------------------------------------------
    // Providers.

    /// The configuration's providers; returns their names in
    /// `tribunal.yaml`, in order (unmappable ones are left out, with a note).
    fn providers_of(&mut self, n: &Node, file: &Arc<str>) -> Result<Vec<String>, ImportError> {
        let items: Vec<&Node> = match &n.value {
            NodeValue::Seq(items) => items.iter().collect(),
            NodeValue::Str(_) | NodeValue::Map(_) => vec![n],
            _ => {
                let loc = self.loc(file, n);
                return Err(ImportError::at(
                    &loc,
                    format!("`providers` is {}, not a list", kind_of(n)),
                    Some("write `providers: [openai:gpt-4.1-mini]`".into()),
                ));
            }
        };
        let mut names = Vec::new();
        for item in items {
            if let Some(name) = self.provider(item, file)? {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// One provider: its name in `tribunal.yaml`, or `None` (with a note)
    /// when tribunal cannot call it.
    fn provider(&mut self, n: &Node, file: &Arc<str>) -> Result<Option<String>, ImportError> {
        let loc = self.loc(file, n);
        let (id, label, config) = match &n.value {
            NodeValue::Str(s) => (s.clone(), None, None),
            NodeValue::Map(_) => {
                let Some(id) = get(n, "id").and_then(text) else {
                    return Err(ImportError::at(
                        &loc,
                        "a provider mapping needs an `id`",
                        Some("write `- id: openai:gpt-4.1-mini` with `label:` and `config:` beside it".into()),
                    ));
                };
                for (k, _) in match &n.value {
                    NodeValue::Map(e) => e.as_slice(),
                    _ => &[],
                } {
                    let key = k.key_text();
                    if !matches!(key.as_str(), "id" | "label" | "config") {
                        let kl = self.loc(file, k);
                        self.note(
                            kl,
                            NoteKind::NotMapped,
                            format!("provider key `{key}` is not carried over"),
                            None,
                        );
                    }
                }
                (id, get(n, "label").and_then(text), get(n, "config"))
            }
            _ => {
                return Err(ImportError::at(
                    &loc,
                    format!(
                        "a provider is an id or a mapping with `id`, found {}",
                        kind_of(n)
                    ),
                    Some("write `- openai:gpt-4.1-mini`".into()),
                ));
            }
        };
        if id.starts_with("http://") || id.starts_with("https://") || id == "http" || id == "https"
        {
            return Ok(self.http_provider(&id, label, config, loc, file));
        }
        let parts: Vec<&str> = id.splitn(3, ':').collect();
        let (kind, model, base_url, key_env) = match parts.as_slice() {
            ["openai", "chat", m] => ("openai", m.to_string(), None, None),
            ["openai", m] if !m.is_empty() => ("openai", m.to_string(), None, None),
            ["openai", "responses", m] => {
                self.note(
                    loc.clone(),
                    NoteKind::Changed,
                    format!("`{id}` uses OpenAI's Responses API; tribunal sends chat completions to the same model"),
                    None,
                );
                ("openai", m.to_string(), None, None)
            }
            ["anthropic", "messages", m] => ("anthropic", m.to_string(), None, None),
            ["anthropic", m] if !m.is_empty() && !m.contains(':') => {
                ("anthropic", m.to_string(), None, None)
            }
            ["ollama", "chat", m] => (
                "openai",
                m.to_string(),
                Some("http://localhost:11434/v1"),
                None,
            ),
            ["ollama", m] if !m.is_empty() => (
                "openai",
                m.to_string(),
                Some("http://localhost:11434/v1"),
                None,
            ),
            ["openrouter", m, rest @ ..] => (
                "openai",
                std::iter::once(*m)
                    .chain(rest.iter().copied())
                    .collect::<Vec<_>>()
                    .join(":"),
                Some("https://openrouter.ai/api/v1"),
                Some("OPENROUTER_API_KEY"),
            ),
            _ => {
                self.note(
                    loc,
                    NoteKind::NotMapped,
                    format!("provider `{id}` is left out: tribunal calls OpenAI-compatible chat completions and Anthropic messages"),
                    Some("point an `openai` provider at an OpenAI-compatible gateway with `base_url` in tribunal.yaml, or wrap the system in a `command`/`http` target (docs/providers.md)"),
                );
                return Ok(None);
            }
        };
        let base = label.clone().unwrap_or_else(|| model.clone());
        let name = unique(&slug(&base, "provider"), &mut self.provider_names);
        let mut block = Map::new();
        block.insert("kind".into(), json!(kind));
        block.insert("model".into(), json!(model));
        if let Some(b) = base_url {
            block.insert("base_url".into(), json!(b));
        }
        if let Some(k) = key_env {
            block.insert("api_key_env".into(), json!(k));
        }
        let (tools, tool_choice) = match config {
            Some(c) => self.provider_config(c, file, &mut block),
            None => (None, None),
        };
        let mut aliases = vec![id.clone()];
        aliases.extend(label);
        self.providers.push(Provider {
            name: name.clone(),
            block,
            aliases,
            tools,
            tool_choice,
            http: None,
            http_loc: None,
        });
        Ok(Some(name))
    }

    /// promptfoo's HTTP provider (`id: https://…`, or `id: http` with
    /// `config.url`) as an `http` target: `url`, `method` (GET or POST), a
    /// JSON `body` whose `{{prompt}}` is the prompt, `headers` (`{{env.X}}`
    /// becomes `${X}`; a literal secret is not copied) and `transformResponse`
    /// when it is a path into `json`. Anything else leaves it out, listed.
    fn http_provider(
        &mut self,
        id: &str,
        label: Option<String>,
        config: Option<&Node>,
        loc: Loc,
        file: &Arc<str>,
    ) -> Option<String> {
        let left_out = |this: &mut Cx, at: Loc, why: String| {
            this.note(
                at,
                NoteKind::NotMapped,
                format!("HTTP provider `{id}` is left out: {why}"),
                Some("write an `http` target by hand (docs/providers.md): url, method, a JSON body with `{{ vars.NAME }}`, headers with `${ENV}`, and `output:` as a JSON path"),
            );
            None
        };
        let empty = Vec::new();
        let entries = match config.map(|c| &c.value) {
            None => &empty,
            Some(NodeValue::Map(e)) => e,
            Some(_) => return left_out(self, loc, "its `config` is not a mapping".into()),
        };
        let env_re = regex::Regex::new(r"\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
            .expect("a valid regex");
        let mut target = Map::new();
        let mut url = id
            .starts_with("http")
            .then(|| id.to_string())
            .filter(|u| u.contains("://"));
        for (k, v) in entries {
            let key = k.key_text();
            let kl = self.loc(file, k);
            match key.as_str() {
                "url" => url = text(v),
                "method" => {
                    let m = text(v).unwrap_or_default().to_ascii_uppercase();
                    if m != "GET" && m != "POST" {
                        return left_out(
                            self,
                            kl,
                            format!("method `{m}`: tribunal's `http` target sends GET or POST"),
                        );
                    }
                    target.insert("method".into(), json!(m));
                }
                "body" => match v.to_json() {
                    b @ (Value::Object(_) | Value::Array(_)) => {
                        target.insert("body".into(), b);
                    }
                    Value::String(t) => match serde_json::from_str::<Value>(&t) {
                        Ok(b @ (Value::Object(_) | Value::Array(_))) => {
                            target.insert("body".into(), b);
                        }
                        _ => {
                            return left_out(self, kl, "its `body` is text, not JSON: tribunal's `http` target sends a JSON body".into());
                        }
                    },
                    other => {
                        return left_out(
                            self,
                            kl,
                            format!("its `body` is {other}, not a JSON object"),
                        );
                    }
                },
                "headers" => {
                    let NodeValue::Map(hs) = &v.value else {
                        return left_out(self, kl, "its `headers` is not a mapping".into());
                    };
                    let mut headers = Map::new();
                    for (hk, hv) in hs {
                        let name = hk.key_text();
                        let value = text(hv).unwrap_or_default();
                        let mapped = env_re.replace_all(&value, "$${$1}").into_owned();
                        let hl = self.loc(file, hk);
                        if mapped.contains("{{") {
                            return left_out(
                                self,
                                hl,
                                format!(
                                    "header `{name}` is a template tribunal does not render (only `{{{{env.NAME}}}}` maps, to `${{NAME}}`)"
                                ),
                            );
                        }
                        if !mapped.contains("${") && crate::provider::secrets::is_secret_name(&name)
                        {
                            self.note(
                                hl,
                                NoteKind::NotMapped,
                                format!("header `{name}` is not copied: tribunal never writes secrets into files"),
                                Some("put the value in an environment variable and write the header as `Bearer ${TOKEN}` in the `http` target"),
                            );
                            continue;
                        }
                        headers.insert(name, json!(mapped));
                    }
                    if !headers.is_empty() {
                        target.insert("headers".into(), Value::Object(headers));
                    }
                }
                "transformResponse" => {
                    let t = text(v).unwrap_or_default();
                    match json_path_of(&t) {
                        Some(path) => {
                            target.insert("output".into(), json!(path));
                        }
                        None => {
                            return left_out(
                                self,
                                kl,
                                format!(
                                    "`transformResponse` `{t}` is JavaScript, not a path into `json`"
                                ),
                            );
                        }
                    }
                }
                other => {
                    return left_out(
                        self,
                        kl,
                        format!("config `{other}` has no equivalent in tribunal's `http` target"),
                    );
                }
            }
        }
        let Some(url) = url else {
            return left_out(self, loc, "it has no `url`".into());
        };
        if url.contains("{{") {
            return left_out(
                self,
                loc,
                "its `url` is a template (tribunal encodes every value in a URL)".into(),
            );
        }
        target.insert("url".into(), json!(url));
        let prompt_re = regex::Regex::new(r"\{\{\s*prompt\s*\}\}").expect("a valid regex");
        let mentions = target
            .get("body")
            .is_some_and(|b| prompt_re.is_match(&b.to_string()));
        if !mentions {
            return left_out(self, loc, "its `body` does not send `{{prompt}}`".into());
        }
        // Keep the keys in the documented order.
        let mut ordered = Map::new();
        for key in ["url", "method", "body", "headers", "output"] {
            if let Some(v) = target.remove(key) {
                ordered.insert(key.to_string(), v);
            }
        }
        let base = label.clone().unwrap_or_else(|| "http".into());
        let name = unique(&slug(&base, "http"), &mut self.provider_names);
        let mut aliases = vec![id.to_string()];
        aliases.extend(label);
        self.providers.push(Provider {
            name: name.clone(),
            block: Map::new(),
            aliases,
            tools: None,
            tool_choice: None,
            http: Some(ordered),
            http_loc: Some(loc),
        });
        Some(name)
    }

    /// Reads a provider's `config` into its block; returns its `tools` and
    /// `tool_choice`, which go on the prompt targets.
    fn provider_config(
        &mut self,
        c: &Node,
        file: &Arc<str>,
        block: &mut Map<String, Value>,
    ) -> (Option<Value>, Option<Value>) {
        let NodeValue::Map(entries) = &c.value else {
            let loc = self.loc(file, c);
            self.note(
                loc,
                NoteKind::NotMapped,
                format!(
                    "provider `config` is {}, not a mapping: not carried over",
                    kind_of(c)
                ),
                None,
            );
            return (None, None);
        };
        let mut params = Map::new();
        let mut tools = None;
        let mut tool_choice = None;
        let mut choice_loc = None;
        for (k, v) in entries {
            let key = k.key_text();
            let loc = self.loc(file, k);
            match key.as_str() {
                "tools" => match &v.value {
                    NodeValue::Seq(items) if !items.is_empty() => {
                        // OpenAI's function schema, which prompt targets take as is.
                        tools = Some(v.to_json());
                    }
                    NodeValue::Str(f) if f.starts_with("file://") => {
                        let (path, shown) = self.reference(&f["file://".len()..]);
                        match self.read_yaml(&path, &shown, Some(&loc)) {
                            Ok(n) if matches!(&n.value, NodeValue::Seq(items) if !items.is_empty()) => {
                                tools = Some(n.to_json());
                            }
                            Ok(n) => self.note(
                                loc,
                                NoteKind::NotMapped,
                                format!(
                                    "provider config `tools` file {shown} holds {}, not a list of tool definitions: not carried over",
                                    kind_of(&n)
                                ),
                                Some("the file holds a list (OpenAI's `{type: function, function: {name, parameters}}`)"),
                            ),
                            Err(e) => self.note(
                                loc,
                                NoteKind::NotMapped,
                                format!("provider config `tools` is not carried over: {}: {}", e.place, e.message),
                                e.hint.as_deref(),
                            ),
                        }
                    }
                    _ => self.note(
                        loc,
                        NoteKind::NotMapped,
                        format!(
                            "provider config `tools` is {}, not a list of tool definitions: not carried over",
                            kind_of(v)
                        ),
                        Some("write the definitions out as a list (OpenAI's `{type: function, function: {name, parameters}}`)"),
                    ),
                },
                "tool_choice" => {
                    let j = v.to_json();
                    let named = j
                        .pointer("/function/name")
                        .or_else(|| j.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    match (&j, named) {
                        (Value::String(m), _) if matches!(m.as_str(), "auto" | "none" | "required" | "any") => {
                            tool_choice = Some(j.clone());
                        }
                        (Value::Object(_), Some(name)) => tool_choice = Some(json!({"name": name})),
                        _ => self.note(
                            loc.clone(),
                            NoteKind::NotMapped,
                            format!("provider config `tool_choice` {j} is not carried over"),
                            Some("tribunal's `tool_choice` is `auto`, `none`, `required` or `{name: TOOL}` (docs/tools-and-conversations.md)"),
                        ),
                    }
                    choice_loc = Some(loc);
                }
                "temperature" | "max_tokens" | "top_p" | "seed" | "stop" | "presence_penalty"
                | "frequency_penalty" | "response_format" => {
                    params.insert(key, v.to_json());
                }
                "apiBaseUrl" | "apiHost" | "baseUrl" | "base_url" => {
                    let url = text(v).unwrap_or_default();
                    let url = if url.starts_with("http") {
                        url
                    } else {
                        format!("https://{url}")
                    };
                    block.insert("base_url".into(), json!(url));
                }
                "apiKeyEnvar" => {
                    block.insert("api_key_env".into(), v.to_json());
                }
                "apiKey" => self.note(
                    loc,
                    NoteKind::NotMapped,
                    "`apiKey` is not copied: tribunal never writes keys into files".into(),
                    Some("put the key in an environment variable and name it with `api_key_env` in tribunal.yaml"),
                ),
                _ => self.note(
                    loc,
                    NoteKind::NotMapped,
                    format!("provider config `{key}` is not carried over"),
                    Some("request fields go under the provider's `params:` in tribunal.yaml (sent as they are)"),
                ),
            }
        }
        if !params.is_empty() {
            block.insert("params".into(), Value::Object(params));
        }
        if tools.is_none()
            && tool_choice.take().is_some()
            && let Some(loc) = choice_loc
        {
            self.note(
                loc,
                NoteKind::NotMapped,
                "provider config `tool_choice` without `tools` is not carried over".into(),
                Some("a prompt target's `tool_choice` must name a tool of its `tools:`"),
            );
        }
        (tools, tool_choice)
    }

    /// A provider named by an assertion or `options.provider`: its name in
    /// `tribunal.yaml`, reusing a configured provider with the same id.
    fn grader_of(&mut self, n: &Node, file: &Arc<str>) -> Result<Option<String>, ImportError> {
        let id = match &n.value {
            NodeValue::Str(s) => Some(s.clone()),
            NodeValue::Map(_) if get(n, "config").is_none() => get(n, "id").and_then(text),
            _ => None,
        };
        if let Some(id) = &id
            && let Some(p) = self
                .providers
                .iter()
                .find(|p| p.http.is_none() && p.aliases.contains(id))
        {
            return Ok(Some(p.name.clone()));
        }
        if let NodeValue::Map(_) = &n.value
            && get(n, "id").is_none()
        {
            // `{text: ..., embedding: ...}`: the text grader.
            if let Some(t) = get(n, "text") {
                return self.grader_of(t, file);
            }
        }
        self.provider(n, file)
    }

    // -----------------------------------------------------------------------
    // Prompts.

    fn prompts_of(&mut self, n: &Node, file: &Arc<str>) -> Result<Vec<Prompt>, ImportError> {
        let mut out = Vec::new();
        let mut taken = HashSet::new();
        match &n.value {
            NodeValue::Seq(items) => {
                for item in items {
                    self.prompt_item(item, None, file, &mut out, &mut taken)?;
                }
            }
            NodeValue::Str(_) => self.prompt_item(n, None, file, &mut out, &mut taken)?,
            NodeValue::Map(entries) => {
                // The legacy form `{file://path: label}`.
                for (k, v) in entries {
                    let label = text(v);
                    self.prompt_item(k, label, file, &mut out, &mut taken)?;
                }
            }
            _ => {
                let loc = self.loc(file, n);
                return Err(ImportError::at(
                    &loc,
                    format!("`prompts` is {}, not a list", kind_of(n)),
                    Some("write `prompts: [\"Answer: {{question}}\"]`".into()),
                ));
            }
        }
        Ok(out)
    }

    fn prompt_item(
        &mut self,
        n: &Node,
        label: Option<String>,
        file: &Arc<str>,
        out: &mut Vec<Prompt>,
        taken: &mut HashSet<String>,
    ) -> Result<(), ImportError> {
        let loc = self.loc(file, n);
        let (raw, label) = match &n.value {
            NodeValue::Str(s) => (s.clone(), label),
            NodeValue::Map(_) => {
                let label = get(n, "label").and_then(text).or(label);
                match (get(n, "raw").and_then(text), get(n, "id").and_then(text)) {
                    (Some(raw), _) => (raw, label),
                    (None, Some(id)) => (id, label),
                    (None, None) => {
                        return Err(ImportError::at(
                            &loc,
                            "a prompt mapping needs `raw` (the text) or `id` (a `file://` path)",
                            Some("write `- {raw: \"Answer: {{question}}\", label: short}`".into()),
                        ));
                    }
                }
            }
            _ => {
                return Err(ImportError::at(
                    &loc,
                    format!(
                        "a prompt is text, a `file://` path or a mapping, found {}",
                        kind_of(n)
                    ),
                    None,
                ));
            }
        };
        let mut bodies: Vec<(String, String)> = Vec::new(); // (default id, text)
        if let Some(rest) = raw.strip_prefix("file://") {
            if rest.contains('*') || rest.contains('?') {
                self.note(
                    loc,
                    NoteKind::NotMapped,
                    format!("prompt glob `{raw}` is left out: globs are not expanded"),
                    Some("list the prompt files one by one"),
                );
                return Ok(());
            }
            let ext = Path::new(rest)
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            let code_ext = ["js", "cjs", "mjs", "ts", "py"];
            let bare_ext = ext.split(':').next().unwrap_or_default().to_string();
            if code_ext.contains(&bare_ext.as_str()) {
                self.note(
                    loc,
                    NoteKind::NotMapped,
                    format!("prompt function `{raw}` is left out: tribunal renders templates, it runs no JavaScript or Python"),
                    Some("render the prompt in a Rust target registered in tests/evals.rs, or a `command` target"),
                );
                return Ok(());
            }
            let (path, shown) = self.reference(rest);
            let content = self.read(&path, &shown, Some(&loc))?;
            let stem = Path::new(rest)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if matches!(ext.as_str(), "json" | "yaml" | "yml") {
                bodies.push((stem, content));
            } else {
                // Text prompt files hold several prompts separated by `---` lines.
                let parts: Vec<String> = split_prompts(&content);
                let many = parts.len() > 1;
                for (i, p) in parts.into_iter().enumerate() {
                    let id = if many {
                        format!("{stem}-{}", i + 1)
                    } else {
                        stem.clone()
                    };
                    bodies.push((id, p));
                }
            }
        } else {
            bodies.push((format!("prompt-{}", out.len() + 1), raw));
        }
        let many = bodies.len() > 1;
        for (i, (default_id, body)) in bodies.into_iter().enumerate() {
            let (system, template) = self.chat_or_text(&body, &loc);
            let base = match (&label, many) {
                (Some(l), false) => l.clone(),
                (Some(l), true) => format!("{l}-{}", i + 1),
                (None, _) => default_id,
            };
            let id = unique(&slug(&base, "prompt"), taken);
            if let Err(e) = crate::target::prompt::environment().template_from_str(&template) {
                self.note(
                    loc.clone(),
                    NoteKind::Changed,
                    format!("prompt `{id}` is not a valid minijinja template: {e}"),
                    Some("tribunal renders prompts with minijinja (Jinja2 syntax); rewrite the Nunjucks-only parts"),
                );
            }
            out.push(Prompt {
                id,
                label: label.clone(),
                system,
                template,
            });
        }
        Ok(())
    }

    /// A chat-format prompt (a JSON list of `{role, content}`) as a system
    /// message and a user template; text stays text.
    fn chat_or_text(&mut self, body: &str, loc: &Loc) -> (Option<String>, String) {
        let trimmed = body.trim();
        let messages: Option<Vec<(String, String)>> = if trimmed.starts_with('[') {
            serde_json::from_str::<Value>(trimmed)
                .ok()
                .or_else(|| yaml::parse(trimmed).ok().map(|n| n.to_json()))
                .and_then(|v| {
                    v.as_array().map(|items| {
                        items
                            .iter()
                            .filter_map(|m| {
                                Some((
                                    m.get("role")?.as_str()?.to_string(),
                                    match m.get("content")? {
                                        Value::String(s) => s.clone(),
                                        other => other.to_string(),
                                    },
                                ))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .filter(|ms: &Vec<(String, String)>| !ms.is_empty())
        } else {
            None
        };
        let Some(messages) = messages else {
            return (None, body.to_string());
        };
        let system: Vec<&str> = messages
            .iter()
            .filter(|(r, _)| r == "system")
            .map(|(_, c)| c.as_str())
            .collect();
        let rest: Vec<&(String, String)> = messages.iter().filter(|(r, _)| r != "system").collect();
        let system = (!system.is_empty()).then(|| system.join("\n\n"));
        let template = if rest.len() == 1 && rest[0].0 == "user" {
            rest[0].1.clone()
        } else {
            self.note(
                loc.clone(),
                NoteKind::Changed,
                format!(
                    "a chat prompt with {} non-system messages became one user message (each turn as `role: text`)",
                    rest.len()
                ),
                Some("tribunal's `prompt` target sends one system and one user message; for a real multi-turn conversation, use a Rust target"),
            );
            rest.iter()
                .map(|(r, c)| format!("{r}: {c}"))
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        (system, template)
    }

    // -----------------------------------------------------------------------
    // Tests.

    fn tests_of(&mut self, n: &Node, file: &Arc<str>) -> Result<Vec<TestIn>, ImportError> {
        let mut out = Vec::new();
        match &n.value {
            NodeValue::Str(_) => self.test_item(n, file, &mut out)?,
            NodeValue::Seq(items) => {
                for item in items {
                    self.test_item(item, file, &mut out)?;
                }
            }
            _ => {
                let loc = self.loc(file, n);
                return Err(ImportError::at(
                    &loc,
                    format!("`tests` is {}, not a list or a `file://` path", kind_of(n)),
                    Some("write `tests: file://tests.csv` or a list of `- vars: {...}`".into()),
                ));
            }
        }
        Ok(out)
    }

    fn test_item(
        &mut self,
        n: &Node,
        file: &Arc<str>,
        out: &mut Vec<TestIn>,
    ) -> Result<(), ImportError> {
        match &n.value {
            NodeValue::Map(_) => {
                out.push(TestIn {
                    node: n.clone(),
                    file: Arc::clone(file),
                });
                Ok(())
            }
            NodeValue::Str(s) => {
                let loc = self.loc(file, n);
                let Some(rest) = s.strip_prefix("file://") else {
                    return Err(ImportError::at(
                        &loc,
                        format!("a test is a mapping or a `file://` path, found the text {s:?}"),
                        Some("write `- vars: {question: ...}`".into()),
                    ));
                };
                if rest.contains(['*', '?']) {
                    let found = self
                        .glob(rest)
                        .map_err(|(message, hint)| ImportError::at(&loc, message, Some(hint)))?;
                    for rel in found {
                        let one = str_node(&format!("file://{rel}"), n.line, n.col);
                        self.test_item(&one, file, out)?;
                    }
                    return Ok(());
                }
                let (path, shown) = self.reference(rest);
                let ext = path
                    .extension()
                    .map(|e| e.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                match ext.as_str() {
                    "csv" => {
                        let text = self.read(&path, &shown, Some(&loc))?;
                        if !self.files.contains(&shown) {
                            self.files.push(Arc::clone(&shown));
                        }
                        for node in csv_tests(&text, &shown, self)? {
                            out.push(TestIn {
                                node,
                                file: Arc::clone(&shown),
                            });
                        }
                        Ok(())
                    }
                    "yaml" | "yml" | "json" => {
                        let root = self.read_yaml(&path, &shown, Some(&loc))?;
                        match &root.value {
                            NodeValue::Seq(items) => {
                                for item in items {
                                    self.test_item(item, &shown, out)?;
                                }
                                Ok(())
                            }
                            NodeValue::Map(_) => self.test_item(&root, &shown, out),
                            _ => {
                                let l = self.loc(&shown, &root);
                                Err(ImportError::at(
                                    &l,
                                    format!("a tests file holds a list of tests, found {}", kind_of(&root)),
                                    None,
                                ))
                            }
                        }
                    }
                    "jsonl" => {
                        let text = self.read(&path, &shown, Some(&loc))?;
                        for (i, line) in text.lines().enumerate() {
                            if line.trim().is_empty() {
                                continue;
                            }
                            let mut node = yaml::parse(line).map_err(|e| ImportError {
                                place: format!("{shown}:{}:{}", i + 1, e.col),
                                message: e.message,
                                hint: e.hint,
                            })?;
                            shift_lines(&mut node, i as u32);
                            self.test_item(&node, &shown, out)?;
                        }
                        Ok(())
                    }
                    _ => Err(ImportError::at(
                        &loc,
                        format!("tests file `{s}` is not CSV, YAML, JSON or JSONL"),
                        Some("Google Sheets, Excel and generator scripts are not read: export the tests to CSV".into()),
                    )),
                }
            }
            _ => {
                let loc = self.loc(file, n);
                Err(ImportError::at(
                    &loc,
                    format!(
                        "a test is a mapping or a `file://` path, found {}",
                        kind_of(n)
                    ),
                    None,
                ))
            }
        }
    }

    fn default_test(&mut self, n: &Node, file: &Arc<str>) -> Result<DefaultTest, ImportError> {
        let (n, file) = match &n.value {
            NodeValue::Str(s) if s.starts_with("file://") => {
                let loc = self.loc(file, n);
                let (path, shown) = self.reference(&s["file://".len()..]);
                (self.read_yaml(&path, &shown, Some(&loc))?, shown)
            }
            NodeValue::Map(_) => (n.clone(), Arc::clone(file)),
            _ => {
                let loc = self.loc(file, n);
                return Err(ImportError::at(
                    &loc,
                    format!("`defaultTest` is {}, not a mapping", kind_of(n)),
                    Some("write `defaultTest: {assert: [...], vars: {...}}`".into()),
                ));
            }
        };
        let file = &file;
        let mut d = DefaultTest::default();
        if let Some(options) = get(&n, "options") {
            if let Some(p) = get(options, "provider") {
                self.grader = self.grader_of(p, file)?;
            }
            self.options_notes(options, file, &["provider"]);
        }
        self.unknown_test_keys(
            &n,
            file,
            &["vars", "assert", "threshold", "options", "metadata"],
        );
        if let Some(v) = get(&n, "vars") {
            d.vars = self.vars_map(v, file)?;
        }
        if let Some(t) = get(&n, "threshold").and_then(number) {
            d.threshold = Some(t.clamp(0.0, 1.0));
        }
        if let Some(m) = get(&n, "metadata") {
            d.tags = metadata_tags(m);
        }
        if let Some(a) = get(&n, "assert") {
            d.asserts = match &a.value {
                NodeValue::Seq(items) => items.clone(),
                _ => vec![a.clone()],
            };
            d.file = Arc::clone(file);
            // Assertions without `{{ }}` are the same for every case: suite defaults.
            let mut case = CaseCx::default();
            let mut kept = Vec::new();
            for item in &d.asserts {
                let factuality = get(item, "type")
                    .and_then(text)
                    .is_some_and(|t| t.trim_start_matches("not-") == "factuality");
                // Per case: values with `{{ }}`, and `factuality`, whose
                // reference becomes each case's `expected`.
                if has_template(item) || factuality {
                    kept.push(item.clone());
                } else {
                    let c = self.assertion(item, file, &mut case, &Map::new(), &Map::new());
                    d.checks.push(c);
                }
            }
            d.asserts = kept;
            d.tags.extend(case.tags);
        }
        Ok(d)
    }

    fn options_notes(&mut self, options: &Node, file: &Arc<str>, read: &[&str]) {
        if let NodeValue::Map(entries) = &options.value {
            for (k, _) in entries {
                let key = k.key_text();
                if read.contains(&key.as_str()) {
                    continue;
                }
                let loc = self.loc(file, k);
                let hint = match key.as_str() {
                    "transform" | "postprocess" => {
                        "tribunal checks the output as the target returns it: do the transformation in a Rust target, or a `json_path` check for JSON"
                    }
                    "prefix" | "suffix" => "put the text in the prompt template",
                    "rubricPrompt" => "a judge's prompt is its `template:` (docs/judges.md)",
                    _ => "see docs/migrate-from-promptfoo.md",
                };
                self.note(
                    loc,
                    NoteKind::NotMapped,
                    format!("test option `{key}` is not carried over"),
                    Some(hint),
                );
            }
        }
    }

    fn unknown_test_keys(&mut self, n: &Node, file: &Arc<str>, known: &[&str]) {
        if let NodeValue::Map(entries) = &n.value {
            for (k, _) in entries {
                let key = k.key_text();
                if known.contains(&key.as_str()) {
                    continue;
                }
                let loc = self.loc(file, k);
                self.note(
                    loc,
                    NoteKind::NotMapped,
                    format!("test key `{key}` is not carried over"),
                    None,
                );
            }
        }
    }

    fn vars_map(&mut self, v: &Node, file: &Arc<str>) -> Result<Map<String, Value>, ImportError> {
        let NodeValue::Map(entries) = &v.value else {
            let loc = self.loc(file, v);
            return Err(ImportError::at(
                &loc,
                format!("`vars` is {}, not a mapping", kind_of(v)),
                Some("write `vars: {question: ...}`".into()),
            ));
        };
        let mut out = Map::new();
        for (k, val) in entries {
            let key = k.key_text();
            let value = match &val.value {
                NodeValue::Str(s) if s.starts_with("file://") => {
                    let loc = self.loc(file, val);
                    let rest = &s["file://".len()..];
                    let (path, shown) = self.reference(rest);
                    Value::String(self.read(&path, &shown, Some(&loc))?)
                }
                NodeValue::Seq(items) => Value::Array(
                    items
                        .iter()
                        .map(|i| match &i.value {
                            NodeValue::Str(s) if s.starts_with("file://") => {
                                let loc = self.loc(file, i);
                                let (path, shown) = self.reference(&s["file://".len()..]);
                                self.read(&path, &shown, Some(&loc)).map(Value::String)
                            }
                            _ => Ok(i.to_json()),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => val.to_json(),
            };
            if matches!(
                key.as_str(),
                "expected" | "vars" | "suite" | "case_id" | "variant"
            ) {
                let loc = self.loc(file, k);
                self.note(
                    loc,
                    NoteKind::Changed,
                    format!("var `{key}` is shadowed in templates by tribunal's own `{key}`"),
                    Some(&format!(
                        "write `{{{{ vars.{key} }}}}` in the prompt instead of `{{{{ {key} }}}}`"
                    )),
                );
            }
            out.insert(key, value);
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn case(
        &mut self,
        index: usize,
        t: &TestIn,
        defaults: Option<&DefaultTest>,
        variants: &[VariantOut],
        prompts: &[Prompt],
        providers: &[String],
        ids: &mut HashSet<String>,
    ) -> Result<Vec<Value>, ImportError> {
        let n = &t.node;
        let file = &t.file;
        self.unknown_test_keys(
            n,
            file,
            &[
                "description",
                "vars",
                "assert",
                "threshold",
                "options",
                "metadata",
                "providerOutput",
                "providers",
                "prompts",
            ],
        );
        let description = get(n, "description").and_then(text);
        let vars = match get(n, "vars") {
            Some(v) => self.vars_map(v, file)?,
            None => Map::new(),
        };
        let mut judge_provider = None;
        if let Some(options) = get(n, "options") {
            if let Some(p) = get(options, "provider") {
                judge_provider = self.grader_of(p, file)?;
            }
            self.options_notes(options, file, &["provider"]);
        }
        let combos = expand_vars(&vars);
        if combos.len() > MAX_CASES {
            let loc = self.loc(file, n);
            return Err(ImportError::at(
                &loc,
                format!(
                    "the list-valued vars of this test expand to {} cases",
                    combos.len()
                ),
                Some(format!(
                    "at most {MAX_CASES} cases are imported: shorten the lists"
                )),
            ));
        }
        let asserts: Vec<Node> = match get(n, "assert") {
            Some(a) => match &a.value {
                NodeValue::Seq(items) => items.clone(),
                _ => vec![a.clone()],
            },
            None => Vec::new(),
        };
        let base_id = description
            .as_deref()
            .map(|d| slug(d, "test"))
            .unwrap_or_else(|| format!("test-{}", index + 1));
        let only = self.variant_filter(n, file, variants, prompts, providers);
        let mut out = Vec::new();
        let default_vars = defaults.map(|d| d.vars.clone()).unwrap_or_default();
        for (ci, combo) in combos.iter().enumerate() {
            let id = if combos.len() > 1 {
                unique(&format!("{}-{}", trim_id(&base_id, 4), ci + 1), ids)
            } else {
                unique(&base_id, ids)
            };
            self.missing_vars(
                n,
                file,
                &id,
                combo,
                &default_vars,
                variants,
                prompts,
                only.as_deref(),
            );
            let mut case = CaseCx {
                judge_provider: judge_provider.clone(),
                ..CaseCx::default()
            };
            let mut checks = Vec::new();
            if let Some(d) = defaults {
                for a in &d.asserts {
                    checks.push(self.assertion(a, &d.file, &mut case, combo, &default_vars));
                }
            }
            for a in &asserts {
                checks.push(self.assertion(a, file, &mut case, combo, &default_vars));
            }
            let mut m = Map::new();
            m.insert("id".into(), json!(id));
            if let Some(d) = &description {
                m.insert("description".into(), json!(d));
            }
            if let Some(meta) = get(n, "metadata") {
                case.tags.extend(metadata_tags(meta));
            }
            if !case.tags.is_empty() {
                let mut seen = HashSet::new();
                case.tags.retain(|t| seen.insert(t.clone()));
                m.insert("tags".into(), json!(case.tags));
            }
            let mut vars = combo.clone();
            if let Some(input) = vars.remove("input") {
                m.insert("input".into(), input);
            }
            if !vars.is_empty() {
                m.insert("vars".into(), Value::Object(vars));
            }
            if let Some(o) = get(n, "providerOutput") {
                m.insert("output".into(), o.to_json());
            }
            if let Some(e) = case.expected.take() {
                m.insert("expected".into(), e);
            }
            if let Some(t) = get(n, "threshold").and_then(number) {
                m.insert("threshold".into(), num(t.clamp(0.0, 1.0)));
            }
            let all_skip = !checks.is_empty() && checks.iter().all(|c| c.get("skip").is_some());
            let defaults_decide =
                defaults.is_some_and(|d| !d.checks.iter().all(|c| c.get("skip").is_some()));
            if checks.is_empty() && defaults.is_none_or(|d| d.checks.is_empty()) {
                let loc = self.loc(file, n);
                self.note(
                    loc,
                    NoteKind::NotMapped,
                    format!("test `{id}` has no assertions: tribunal needs a check to decide, so the case is skipped"),
                    Some("add `checks:` to the case (promptfoo passes a test with no assertions)"),
                );
                m.insert(
                    "skip".into(),
                    json!("imported from promptfoo without assertions: add a check"),
                );
                checks.push(json!({"skip": "the promptfoo test had no assertions"}));
            } else if all_skip && !defaults_decide {
                m.insert(
                    "skip".into(),
                    json!("no assertion of this promptfoo test could be mapped: port the `skip` checks"),
                );
            }
            if let Some(only) = &only {
                if only.is_empty() {
                    m.insert(
                        "skip".into(),
                        json!("the promptfoo test runs on no imported prompt × provider"),
                    );
                } else if variants.len() > 1 {
                    m.insert("variants".into(), json!(only));
                }
            }
            m.insert("checks".into(), Value::Array(checks));
            out.push(Value::Object(m));
        }
        Ok(out)
    }

    /// Notes every variable a case's prompts use that neither the test nor
    /// `defaultTest` sets: promptfoo renders it empty, tribunal's templates
    /// fail on it.
    #[allow(clippy::too_many_arguments)]
    fn missing_vars(
        &mut self,
        n: &Node,
        file: &Arc<str>,
        id: &str,
        vars: &Map<String, Value>,
        defaults: &Map<String, Value>,
        variants: &[VariantOut],
        prompts: &[Prompt],
        only: Option<&[String]>,
    ) {
        if get(n, "providerOutput").is_some() {
            return;
        }
        let builtin = ["vars", "suite", "case_id", "variant"];
        let env = crate::target::prompt::environment();
        for (pi, p) in prompts.iter().enumerate() {
            let used_here = only.is_none_or(|ids| {
                variants
                    .iter()
                    .any(|v| v.prompt == pi && ids.contains(&v.id))
            });
            if !used_here {
                continue;
            }
            let mut used: Vec<String> = [Some(&p.template), p.system.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|t| env.template_from_str(t).ok())
                .flat_map(|t| t.undeclared_variables(false))
                .filter(|v| {
                    !vars.contains_key(v)
                        && !defaults.contains_key(v)
                        && !builtin.contains(&v.as_str())
                })
                .collect();
            used.sort();
            used.dedup();
            if used.is_empty() {
                continue;
            }
            let names: Vec<String> = used.iter().map(|v| format!("`{v}`")).collect();
            let loc = self.loc(file, n);
            self.note(
                loc,
                NoteKind::Changed,
                format!(
                    "prompt `{}` uses {}, which test `{id}` does not set: promptfoo renders it empty, tribunal's trial is an error",
                    p.id,
                    names.join(", ")
                ),
                Some("set it in the case's `vars`, or in `defaults: {vars: ...}` for every case"),
            );
        }
    }

    /// The variant ids a test's `providers:` / `prompts:` filters keep
    /// (`None`: no filter).
    fn variant_filter(
        &mut self,
        n: &Node,
        file: &Arc<str>,
        variants: &[VariantOut],
        prompts: &[Prompt],
        providers: &[String],
    ) -> Option<Vec<String>> {
        let pf = get(n, "providers").map(string_list);
        let rf = get(n, "prompts").map(string_list);
        if pf.is_none() && rf.is_none() {
            return None;
        }
        let matches = |pattern: &str, names: &[String]| -> bool {
            names.iter().any(|name| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == pattern || name.starts_with(&format!("{pattern}:")),
            })
        };
        let kept: Vec<String> = variants
            .iter()
            .filter(|v| {
                let q = v.provider_index(providers, &self.providers);
                let qnames = &self.providers[q].aliases;
                let p = &prompts[v.prompt];
                let pnames: Vec<String> = p.label.iter().cloned().chain([p.id.clone()]).collect();
                pf.as_ref()
                    .is_none_or(|list| list.iter().any(|pat| matches(pat, qnames)))
                    && rf
                        .as_ref()
                        .is_none_or(|list| list.iter().any(|pat| matches(pat, &pnames)))
            })
            .map(|v| v.id.clone())
            .collect();
        if kept.is_empty() {
            let at = get(n, "providers")
                .or_else(|| get(n, "prompts"))
                .unwrap_or(n);
            let loc = self.loc(file, at);
            self.note(
                loc,
                NoteKind::NotMapped,
                "the test's `providers`/`prompts` filter matches no imported variant: the case is skipped".into(),
                None,
            );
        }
        Some(kept)
    }

    // -----------------------------------------------------------------------
    // Assertions.

    /// One promptfoo assertion as a tribunal check. `vars` are the case's
    /// vars (for `{{ }}` in values), `defaults` the suite's.
    fn assertion(
        &mut self,
        n: &Node,
        file: &Arc<str>,
        case: &mut CaseCx,
        vars: &Map<String, Value>,
        defaults: &Map<String, Value>,
    ) -> Value {
        self.assertions += 1;
        self.checks += 1;
        let loc = self.loc(file, n);
        let original = n.to_json();
        let Some(ty) = get(n, "type").and_then(text) else {
            return self.skip(
                loc,
                "assertion",
                original,
                "an assertion is a mapping with a `type`".into(),
                "write `- type: contains` with `value:` beside it",
            );
        };
        let (negate, base) = match ty.strip_prefix("not-") {
            Some(b) => (true, b.to_string()),
            None => (false, ty.clone()),
        };
        // The value, with `{{ var }}` rendered for this case and `file://` read.
        let value_node = get(n, "value");
        let value: Option<Value> = match value_node {
            None => None,
            Some(v) => match self.value(v, file, vars, defaults, &base) {
                Ok(v) => Some(v),
                Err(reason) => {
                    return self.skip(
                        loc,
                        &ty,
                        original,
                        reason,
                        "write the value out in the assertion",
                    );
                }
            },
        };
        let threshold = get(n, "threshold").and_then(number);
        if get(n, "transform").is_some() {
            return self.skip(
                loc,
                &ty,
                original,
                "it applies a JavaScript `transform` to the output first".into(),
                "do the transformation in a Rust target, or check JSON fields with `json_path`",
            );
        }
        if let Some(m) = get(n, "metric").and_then(text) {
            case.tags.push(format!("metric:{m}"));
        }
        for key in ["rubricPrompt", "config", "contextTransform"] {
            if let Some(k) = key_node(n, key) {
                let kl = self.loc(file, k);
                self.note(
                    kl,
                    NoteKind::Changed,
                    format!("assertion key `{key}` is not carried over"),
                    Some("see docs/migrate-from-promptfoo.md"),
                );
            }
        }
        let text_value = value.as_ref().map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let need_text = |this: &mut Cx, loc: Loc, original: Value| {
            this.skip(
                loc,
                &ty,
                original,
                format!("`{ty}` needs a `value`"),
                "add the text the output is compared with",
            )
        };
        let mut threshold_used = false;
        let mut check = Map::new();
        match base.as_str() {
            "equals" => match &value {
                Some(v) => {
                    check.insert("equals".into(), v.clone());
                }
                None => return need_text(self, loc, original),
            },
            "contains" | "icontains" | "starts-with" | "ends-with" => match &text_value {
                Some(s) => {
                    let kind = base.replace('-', "_");
                    check.insert(kind, json!(s));
                }
                None => return need_text(self, loc, original),
            },
            "contains-any" | "contains-all" | "icontains-any" | "icontains-all" => {
                let items: Vec<Value> = match &value {
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|i| match i {
                            Value::String(s) => json!(s),
                            other => json!(other.to_string()),
                        })
                        .collect(),
                    Some(Value::String(s)) => s
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| json!(s))
                        .collect(),
                    _ => Vec::new(),
                };
                if items.is_empty() {
                    return need_text(self, loc, original);
                }
                let kind = base.trim_start_matches('i').replace('-', "_");
                check.insert(kind, Value::Array(items));
                if base.starts_with('i') {
                    check.insert("ignore_case".into(), json!(true));
                }
            }
            "regex" => match &text_value {
                Some(p) => {
                    if let Err(e) = regex::Regex::new(p) {
                        let why = e.to_string();
                        let why = why.lines().last().unwrap_or_default().trim();
                        let why = why.strip_prefix("error: ").unwrap_or(why);
                        return self.skip(
                            loc,
                            &ty,
                            original,
                            format!("the JavaScript pattern does not compile as a Rust regex: {why}"),
                            "rewrite it without look-around or back-references (Rust `regex` syntax)",
                        );
                    }
                    check.insert("regex".into(), json!(p));
                }
                None => return need_text(self, loc, original),
            },
            "is-json" => match &value {
                None | Some(Value::Null) => {
                    check.insert("is_json".into(), json!(true));
                }
                Some(schema @ Value::Object(_)) => {
                    if let Err(e) = jsonschema::validator_for(schema) {
                        return self.skip(
                            loc,
                            &ty,
                            original,
                            format!("its JSON Schema is invalid: {e}"),
                            "fix the schema",
                        );
                    }
                    check.insert("is_json".into(), json!({"schema": schema}));
                }
                Some(_) => {
                    return self.skip(
                        loc,
                        &ty,
                        original,
                        "its `value` is not a JSON Schema object".into(),
                        "give the schema as a mapping, or a `file://` JSON or YAML file",
                    );
                }
            },
            "word-count" => {
                let bounds = match &value {
                    Some(Value::Number(n)) => Some(json!({"min": n, "max": n})),
                    Some(Value::Object(m))
                        if m.keys().all(|k| k == "min" || k == "max") && !m.is_empty() =>
                    {
                        Some(Value::Object(m.clone()))
                    }
                    _ => None,
                };
                match bounds {
                    Some(b) => {
                        check.insert("word_count".into(), b);
                    }
                    None => return need_text(self, loc, original),
                }
            }
            "latency" => match threshold {
                Some(ms) if ms >= 0.0 => {
                    threshold_used = true;
                    check.insert("latency_ms".into(), num(ms));
                }
                _ => {
                    return self.skip(
                        loc,
                        &ty,
                        original,
                        "`latency` needs a `threshold` in milliseconds".into(),
                        "add `threshold: 3000`",
                    );
                }
            },
            "cost" => match threshold {
                Some(usd) if usd >= 0.0 => {
                    threshold_used = true;
                    check.insert("cost".into(), json!({"max_usd": num(usd)}));
                }
                _ => {
                    return self.skip(
                        loc,
                        &ty,
                        original,
                        "`cost` needs a `threshold` in US dollars".into(),
                        "add `threshold: 0.01`",
                    );
                }
            },
            "similar" | "similar:cosine" => {
                let Some(Value::String(reference)) = &value else {
                    return self.skip(
                        loc,
                        &ty,
                        original,
                        "`similar` with a list of references (any of them) has no tribunal equivalent".into(),
                        "write one `similarity` check per reference and a case `threshold`",
                    );
                };
                let t = threshold.unwrap_or(0.75);
                threshold_used = true;
                check.insert(
                    "similarity".into(),
                    json!({"value": reference, "threshold": num(t)}),
                );
                self.note(
                    loc.clone(),
                    NoteKind::Changed,
                    format!("`{ty}` compares embeddings; tribunal's `similarity` is normalized Levenshtein similarity (threshold {t} kept): paraphrases score lower"),
                    Some("keep `similarity` for near-verbatim answers; for paraphrases use `judge: {mode: reference}` with the text as the case's `expected`"),
                );
            }
            "llm-rubric" | "model-graded-closedqa" | "g-eval" | "factuality" => {
                let Some(criteria) = text_value.clone() else {
                    return need_text(self, loc, original);
                };
                if self.first_judge.is_none() {
                    self.first_judge = Some(loc.clone());
                }
                let mut judge = Map::new();
                match base.as_str() {
                    "factuality" => {
                        if case.expected.is_none() {
                            case.expected = Some(json!(criteria));
                            judge.insert("mode".into(), json!("reference"));
                            judge.insert(
                                "criteria".into(),
                                json!("The output is factually consistent with the reference: it may add or leave out detail, but it contradicts none of it."),
                            );
                        } else {
                            judge.insert(
                                "criteria".into(),
                                json!(format!("The output is factually consistent with this reference answer (it may add or leave out detail, but contradicts none of it): {criteria}")),
                            );
                        }
                    }
                    "g-eval" => {
                        threshold_used = true;
                        let t = threshold.unwrap_or(0.7);
                        judge.insert("mode".into(), json!("score"));
                        judge.insert("criteria".into(), json!(criteria));
                        judge.insert("scale".into(), json!([0, 10]));
                        judge.insert("min_score".into(), json!((t * 10.0).ceil() as i64));
                    }
                    _ => {
                        judge.insert("criteria".into(), json!(criteria));
                        if let Some(t) = threshold {
                            threshold_used = true;
                            judge.insert("mode".into(), json!("score"));
                            judge.insert("scale".into(), json!([0, 10]));
                            judge.insert("min_score".into(), json!((t * 10.0).ceil() as i64));
                        }
                    }
                }
                let provider = match get(n, "provider") {
                    Some(p) => match self.grader_of(p, file) {
                        Ok(p) => p,
                        Err(e) => {
                            return self.skip(
                                loc,
                                &ty,
                                original,
                                format!("its grader cannot be imported: {}", e.message),
                                "name a provider tribunal can call",
                            );
                        }
                    },
                    None => None,
                };
                if let Some(p) = provider.or_else(|| case.judge_provider.clone()) {
                    judge.insert("provider".into(), json!(p));
                }
                check.insert("judge".into(), Value::Object(judge));
            }
            "is-valid-openai-tools-call" => match self.tool_schemas() {
                Ok(Some(schemas)) => {
                    check.insert("tool_args".into(), json!({ "schemas": schemas }));
                }
                Ok(None) => {
                    let (reason, hint) = unmapped_reason(&base);
                    return self.skip(loc, &ty, original, reason.into(), hint);
                }
                Err(reason) => {
                    return self.skip(
                        loc,
                        &ty,
                        original,
                        reason,
                        "write `tool_args: {schemas: {TOOL: {...}}}` with the schema each call must meet (docs/agents-checks.md)",
                    );
                }
            },
            other => {
                let (reason, hint) = unmapped_reason(other);
                let hint = if ASSERT_TYPES.contains(&other) {
                    hint.to_string()
                } else {
                    crate::diag::hint(other, ASSERT_TYPES.iter().copied())
                };
                return self.skip(loc, &ty, original, reason.to_string(), &hint);
            }
        }
        if negate {
            check.insert("not".into(), json!(true));
        }
        if let Some(w) = get(n, "weight").and_then(number)
            && (w - 1.0).abs() > f64::EPSILON
        {
            check.insert("weight".into(), num(w.max(0.0)));
        }
        if threshold.is_some() && !threshold_used {
            let tl = get(n, "threshold")
                .map(|t| self.loc(file, t))
                .unwrap_or(loc);
            self.note(
                tl,
                NoteKind::Changed,
                format!("`threshold` of a `{ty}` assertion has no tribunal meaning and is dropped"),
                Some("a case's `threshold` is the weighted share of its checks that must pass"),
            );
        }
        Value::Object(check)
    }

    /// A promptfoo value: `file://` files read (JSON/YAML parsed), `{{ }}`
    /// rendered with the case's vars. `Err` is the reason it cannot be used.
    fn value(
        &mut self,
        v: &Node,
        file: &Arc<str>,
        vars: &Map<String, Value>,
        defaults: &Map<String, Value>,
        ty: &str,
    ) -> Result<Value, String> {
        if let NodeValue::Str(s) = &v.value {
            if let Some(rest) = s.strip_prefix("file://") {
                if matches!(ty, "javascript" | "python" | "ruby") {
                    return Ok(json!(s));
                }
                let loc = self.loc(file, v);
                let (path, shown) = self.reference(rest);
                let content = self
                    .read(&path, &shown, Some(&loc))
                    .map_err(|e| e.message)?;
                let ext = path
                    .extension()
                    .map(|e| e.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                return if matches!(ext.as_str(), "json" | "yaml" | "yml") {
                    yaml::parse(&content)
                        .map(|n| n.to_json())
                        .map_err(|e| format!("{shown}:{}:{}: {}", e.line, e.col, e.message))
                } else {
                    Ok(json!(content))
                };
            }
            if s.contains("{{") || s.contains("{%") {
                let mut ctx = defaults.clone();
                ctx.extend(vars.clone());
                return crate::target::prompt::environment()
                    .render_str(s, minijinja::value::Serde(&Value::Object(ctx)))
                    .map(Value::String)
                    .map_err(|e| {
                        format!("its value {s:?} does not render with the test's vars: {e}")
                    });
            }
        }
        Ok(v.to_json())
    }

    /// The JSON Schema of every tool the providers offer (`config.tools`,
    /// OpenAI's function schema), by name: `None` when none offers tools; an
    /// error when two define one name differently.
    fn tool_schemas(&self) -> Result<Option<Map<String, Value>>, String> {
        let mut schemas = Map::new();
        for p in &self.providers {
            for t in p.tools.iter().filter_map(Value::as_array).flatten() {
                let f = t.get("function").unwrap_or(t);
                let Some(name) = f.get("name").and_then(Value::as_str) else {
                    return Err(format!("a tool of the provider `{}` has no name", p.name));
                };
                let schema = f
                    .get("parameters")
                    .or_else(|| f.get("input_schema"))
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object"}));
                match schemas.get(name) {
                    Some(old) if *old != schema => {
                        return Err(format!(
                            "the providers define the tool `{name}` with different schemas; one `tool_args` check cannot hold both"
                        ));
                    }
                    _ => {
                        schemas.insert(name.to_string(), schema);
                    }
                }
            }
        }
        Ok((!schemas.is_empty()).then_some(schemas))
    }

    fn skip(&mut self, loc: Loc, ty: &str, original: Value, reason: String, hint: &str) -> Value {
        self.skipped += 1;
        self.note(
            loc,
            NoteKind::NotMapped,
            format!("`{ty}` assertion kept as a `skip` check: {reason}"),
            Some(hint),
        );
        json!({
            "skip": format!("promptfoo `{ty}`: {reason} ({hint})"),
            "name": format!("promptfoo {ty}"),
            "original": original,
        })
    }
}

impl VariantOut {
    /// The variant's provider as an index into the conversion's provider
    /// blocks (the configured providers' names are `names`).
    fn provider_index(&self, names: &[String], blocks: &[Provider]) -> usize {
        let name = &names[self.provider];
        blocks.iter().position(|p| &p.name == name).unwrap_or(0)
    }
}

/// `{{prompt}}` (any spacing) in every string of an HTTP body, replaced by
/// the prompt's text (its template, rendered with the same vars).
fn with_prompt(v: &Value, prompt: &str) -> Value {
    match v {
        Value::String(s) => {
            let re = regex::Regex::new(r"\{\{\s*prompt\s*\}\}").expect("a valid regex");
            json!(re.replace_all(s, regex::NoExpand(prompt)).into_owned())
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| with_prompt(x, prompt)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), with_prompt(x, prompt)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// promptfoo's `transformResponse` as a JSON path, when it is one: `json`,
/// `json.a.b`, `json.items[0].text`, `json['key']`.
fn json_path_of(t: &str) -> Option<String> {
    let t = t.trim();
    let rest = t.strip_prefix("json")?;
    let re = regex::Regex::new(
        r#"^(?:\.[A-Za-z_$][A-Za-z0-9_$]*|\[[0-9]+\]|\['[^'\]]*'\]|\["[^"\]]*"\])*$"#,
    )
    .expect("a valid regex");
    if !re.is_match(rest) {
        return None;
    }
    Some(format!("${}", rest.replace('"', "'")))
}

fn prompt_target(p: &Prompt, provider: &Provider) -> Value {
    if let Some(http) = &provider.http {
        let mut m = http.clone();
        let prompt = match &p.system {
            Some(system) => format!("{system}\n\n{}", p.template),
            None => p.template.clone(),
        };
        if let Some(body) = m.get("body") {
            let body = with_prompt(body, &prompt);
            m.insert("body".into(), body);
        }
        return json!({ "http": m });
    }
    let mut m = Map::new();
    m.insert("provider".into(), json!(provider.name));
    if let Some(s) = &p.system {
        m.insert("system".into(), json!(s));
    }
    m.insert("template".into(), json!(p.template));
    if let Some(t) = &provider.tools {
        m.insert("tools".into(), t.clone());
    }
    if let Some(c) = &provider.tool_choice {
        m.insert("tool_choice".into(), c.clone());
    }
    json!({ "prompt": m })
}

/// Why an assertion type has no tribunal check, and what to do instead.
fn unmapped_reason(ty: &str) -> (&'static str, &'static str) {
    match ty {
        "javascript" => (
            "tribunal runs no JavaScript",
            "port it to a `rust` check registered in tests/evals.rs, or to `regex`/`word_count`/`json_path` when it only tests text",
        ),
        "python" | "ruby" => (
            "tribunal runs no Python or Ruby",
            "port it to a `rust` check registered in tests/evals.rs",
        ),
        "webhook" => (
            "tribunal does not call assertion webhooks",
            "call the service from a `rust` check",
        ),
        "contains-json" => (
            "tribunal's `is_json` checks the whole output, not JSON inside text",
            "ask the prompt for JSON only and use `is_json`, or check the text with `regex`",
        ),
        "levenshtein" => (
            "tribunal's `similarity` is a normalized score in 0..=1, not an edit-distance bound",
            "use `similarity: {value: ..., threshold: 0.9}`",
        ),
        "rouge-n" | "bleu" | "gleu" | "meteor" => (
            "tribunal has no n-gram overlap metric",
            "use `similarity` (normalized Levenshtein) or a `judge` with `mode: reference`",
        ),
        "is-html" | "contains-html" | "is-xml" | "contains-xml" => (
            "tribunal has no HTML or XML parser check",
            "use `regex`, or a `rust` check that parses the output",
        ),
        "is-sql" | "contains-sql" => (
            "promptfoo checks SQL syntax only",
            "use `ast_equivalent: {dialect: sql}` against the expected query (docs/audience-ast.md)",
        ),
        "is-refusal" | "moderation" | "classifier" | "guardrails" => (
            "tribunal has no classifier or moderation check",
            "use a `judge` with criteria saying what a refusal (or harmful output) is",
        ),
        "answer-relevance"
        | "context-faithfulness"
        | "context-recall"
        | "context-relevance"
        | "conversation-relevance" => (
            "tribunal has no built-in RAG metric",
            "write a `judge` whose criteria name the context var (judges see `vars`)",
        ),
        "select-best" | "max-score" => (
            "it compares the outputs of one test across providers",
            "use `judge: {mode: pairwise, baseline: {variant: <id>}}`, which compares a variant with a baseline in both orders",
        ),
        "perplexity" | "perplexity-score" => (
            "tribunal does not read log-probabilities",
            "use a `judge` or a deterministic check",
        ),
        "finish-reason" => (
            "checks see the text, not the finish reason (a truncated answer is already an error)",
            "remove it, or set `allow_truncated` on the target",
        ),
        "is-valid-function-call" | "is-valid-openai-function-call" => (
            "it validates OpenAI's legacy `function_call` answer against `config.functions`, which tribunal does not send",
            "offer the functions as `tools:` on the prompt target and check the calls with `tool_args` (docs/agents-checks.md)",
        ),
        "is-valid-openai-tools-call" => (
            "no provider of the configuration has `config.tools` to take the tools' schemas from",
            "give the provider its `tools`, or write `tool_args: {schemas: {TOOL: {...}}}` (docs/agents-checks.md)",
        ),
        "tool-call-f1" => (
            "it scores the F1 of the set of called tool names against the expected set (a threshold on precision and recall); tribunal's `tool_sequence` checks order or counts and `tool_called` one tool, neither scores a set",
            "for an exact set, write `tool_sequence: {calls: [...], mode: contains}` for the expected tools and `tool_called: NAME` with `not: true` for the unwanted ones (docs/agents-checks.md)",
        ),
        "similar:dot" | "similar:euclidean" => (
            "tribunal has no embedding similarity",
            "use `similarity` for near-verbatim text or a `judge` with `mode: reference`",
        ),
        "assert-set" => (
            "groups of assertions with their own threshold have no tribunal equivalent",
            "list the inner assertions as checks and set the case's `threshold`",
        ),
        _ => (
            "it is not a promptfoo assertion type tribunal knows",
            "check the spelling, or write the check by hand",
        ),
    }
}

/// Whether an assertion's value holds a `{{ }}` template (then it is
/// rendered per case, not put in the suite defaults).
fn has_template(n: &Node) -> bool {
    get(n, "value").is_some_and(|v| {
        matches!(&v.value, NodeValue::Str(s) if !s.starts_with("file://") && (s.contains("{{") || s.contains("{%")))
    })
}

fn string_list(n: &Node) -> Vec<String> {
    match &n.value {
        NodeValue::Seq(items) => items.iter().filter_map(text).collect(),
        _ => text(n).into_iter().collect(),
    }
}

fn metadata_tags(n: &Node) -> Vec<String> {
    match &n.value {
        NodeValue::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| match &v.value {
                NodeValue::Seq(items) => Some(
                    items
                        .iter()
                        .filter_map(text)
                        .map(|t| format!("{}:{t}", k.key_text()))
                        .collect::<Vec<_>>(),
                ),
                _ => text(v).map(|t| vec![format!("{}:{t}", k.key_text())]),
            })
            .flatten()
            .collect(),
        _ => Vec::new(),
    }
}

/// `id` cut so that a suffix of `room` characters still fits the id limit.
fn trim_id(id: &str, room: usize) -> String {
    let keep = crate::case::MAX_ID_CHARS.saturating_sub(room);
    id.chars()
        .take(keep)
        .collect::<String>()
        .trim_end_matches(['-', '.', '_'])
        .to_string()
}

/// promptfoo expands list-valued vars into one test per combination.
fn expand_vars(vars: &Map<String, Value>) -> Vec<Map<String, Value>> {
    let mut out = vec![Map::new()];
    for (k, v) in vars {
        match v {
            Value::Array(items) if !items.is_empty() => {
                if out.len().saturating_mul(items.len()) > MAX_CASES + 1 {
                    // Reported by the caller as too many cases.
                    return vec![Map::new(); MAX_CASES + 1];
                }
                out = out
                    .into_iter()
                    .flat_map(|m| {
                        items.iter().map(move |i| {
                            let mut m = m.clone();
                            m.insert(k.clone(), i.clone());
                            m
                        })
                    })
                    .collect();
            }
            other => {
                for m in &mut out {
                    m.insert(k.clone(), other.clone());
                }
            }
        }
    }
    out
}

/// A text prompt file's prompts: separated by lines holding only `---`.
fn split_prompts(content: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    for line in content.split_inclusive('\n') {
        if line.trim_end() == "---" {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push_str(line);
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn shift_lines(n: &mut Node, by: u32) {
    n.line += by;
    match &mut n.value {
        NodeValue::Seq(items) => items.iter_mut().for_each(|i| shift_lines(i, by)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            shift_lines(k, by);
            shift_lines(v, by);
        }),
        _ => {}
    }
}

/// One test as read, with the file it is written in.
#[derive(Debug, Clone)]
struct TestIn {
    node: Node,
    file: Arc<str>,
}

#[derive(Debug, Default)]
struct DefaultTest {
    vars: Map<String, Value>,
    checks: Vec<Value>,
    /// Assertions with `{{ }}` in their value: mapped per case.
    asserts: Vec<Node>,
    file: Arc<str>,
    threshold: Option<f64>,
    tags: Vec<String>,
}

// ---------------------------------------------------------------------------
// CSV tests.

/// One CSV cell with its 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub(crate) text: String,
    pub(crate) line: u32,
    pub(crate) col: u32,
}

/// Parses CSV (RFC 4180: quoted fields, `""` escapes, newlines inside
/// quotes; `\n` or `\r\n` rows). Blank lines are skipped.
pub(crate) fn parse_csv(text: &str, shown: &Arc<str>) -> Result<Vec<Vec<Cell>>, ImportError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row: Vec<Cell> = Vec::new();
    let mut cur = String::new();
    let (mut line, mut col) = (1u32, 1u32);
    let mut start = (1u32, 1u32);
    let mut quoted = false;
    let mut in_quotes = false;
    let mut open_at = (0u32, 0u32);
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if at_field_start {
            start = (line, col);
            at_field_start = false;
            if c == '"' {
                quoted = true;
                in_quotes = true;
                open_at = (line, col);
                col += 1;
                continue;
            }
        }
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                    col += 2;
                } else {
                    in_quotes = false;
                    col += 1;
                }
            } else {
                cur.push(c);
                if c == '\n' {
                    line += 1;
                    col = 1;
                } else {
                    col += 1;
                }
            }
            continue;
        }
        match c {
            ',' => {
                row.push(Cell {
                    text: std::mem::take(&mut cur),
                    line: start.0,
                    col: start.1,
                });
                quoted = false;
                at_field_start = true;
                col += 1;
            }
            '\r' if chars.peek() == Some(&'\n') => {
                col += 1;
            }
            '\n' => {
                row.push(Cell {
                    text: std::mem::take(&mut cur),
                    line: start.0,
                    col: start.1,
                });
                if !(row.len() == 1 && row[0].text.is_empty() && !quoted) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
                quoted = false;
                at_field_start = true;
                line += 1;
                col = 1;
            }
            _ => {
                cur.push(c);
                col += 1;
            }
        }
    }
    if in_quotes {
        return Err(ImportError {
            place: format!("{shown}:{}:{}", open_at.0, open_at.1),
            message: "this quoted CSV field is never closed".into(),
            hint: Some("close it with `\"`; write a quote inside a quoted field as `\"\"`".into()),
        });
    }
    if !at_field_start || !row.is_empty() {
        row.push(Cell {
            text: cur,
            line: start.0,
            col: start.1,
        });
        if !(row.len() == 1 && row[0].text.is_empty() && !quoted) {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// A CSV tests file as test mappings (positioned at their cells): columns
/// are vars, `__expected*` columns assertions, `__description`,
/// `__threshold`, `__metric` and `__metadata:*` as in promptfoo.
fn csv_tests(text: &str, shown: &Arc<str>, cx: &mut Cx) -> Result<Vec<Node>, ImportError> {
    let rows = parse_csv(text, shown)?;
    let Some((header, body)) = rows.split_first() else {
        return Err(ImportError {
            place: shown.to_string(),
            message: "the CSV file is empty".into(),
            hint: Some("the first row names the columns (vars and `__expected`)".into()),
        });
    };
    for h in header {
        let name = h.text.trim();
        let known = name.starts_with("__expected")
            || matches!(name, "__description" | "__threshold" | "__metric")
            || name.starts_with("__metadata:")
            || !name.starts_with("__");
        if !known {
            let loc = Loc {
                file: Arc::clone(shown),
                line: h.line,
                col: h.col,
            };
            cx.note(
                loc,
                NoteKind::NotMapped,
                format!("CSV column `{name}` is not carried over"),
                Some("put prefixes and suffixes in the prompt template"),
            );
        }
    }
    let mut tests = Vec::new();
    for row in body {
        if row.len() > header.len() {
            let extra = &row[header.len()];
            return Err(ImportError {
                place: format!("{shown}:{}:{}", extra.line, extra.col),
                message: format!(
                    "this row has {} fields, the header {}",
                    row.len(),
                    header.len()
                ),
                hint: Some("quote fields that contain a comma: \"a, b\"".into()),
            });
        }
        let first = &row[0];
        let mut vars = Vec::new();
        let mut asserts = Vec::new();
        let mut entries = Vec::new();
        let mut metric = None;
        let mut metadata = Vec::new();
        for (h, cell) in header.iter().zip(row) {
            let name = h.text.trim();
            let key = |k: &str| str_node(k, cell.line, cell.col);
            if name.starts_with("__expected") {
                if let Some(a) = expected_cell(cell) {
                    asserts.push(a);
                }
            } else if name == "__description" {
                if !cell.text.is_empty() {
                    entries.push((
                        key("description"),
                        str_node(&cell.text, cell.line, cell.col),
                    ));
                }
            } else if name == "__threshold" {
                if let Ok(t) = cell.text.trim().parse::<f64>() {
                    entries.push((
                        key("threshold"),
                        Node {
                            value: NodeValue::Float(t),
                            line: cell.line,
                            col: cell.col,
                        },
                    ));
                }
            } else if name == "__metric" {
                if !cell.text.is_empty() {
                    metric = Some(cell.text.clone());
                }
            } else if let Some(m) = name.strip_prefix("__metadata:") {
                if !cell.text.is_empty() {
                    metadata.push((key(m), str_node(&cell.text, cell.line, cell.col)));
                }
            } else if !name.starts_with("__") {
                vars.push((key(name), str_node(&cell.text, cell.line, cell.col)));
            }
        }
        if let Some(m) = metric {
            for a in &mut asserts {
                if let NodeValue::Map(e) = &mut a.value {
                    e.push((
                        str_node("metric", a.line, a.col),
                        str_node(&m, a.line, a.col),
                    ));
                }
            }
        }
        let at = |v| Node {
            value: v,
            line: first.line,
            col: first.col,
        };
        entries.push((
            str_node("vars", first.line, first.col),
            at(NodeValue::Map(vars)),
        ));
        if !asserts.is_empty() {
            entries.push((
                str_node("assert", first.line, first.col),
                at(NodeValue::Seq(asserts)),
            ));
        }
        if !metadata.is_empty() {
            entries.push((
                str_node("metadata", first.line, first.col),
                at(NodeValue::Map(metadata)),
            ));
        }
        tests.push(at(NodeValue::Map(entries)));
    }
    Ok(tests)
}

/// An `__expected` cell as an assertion mapping: `type: value` for a known
/// type (`not-` too), `grade:` (llm-rubric), `fn:`/`eval:` (javascript),
/// `type(threshold): value`; any other text is `equals`.
fn expected_cell(cell: &Cell) -> Option<Node> {
    let t = cell.text.trim();
    if t.is_empty() {
        return None;
    }
    let (line, col) = (cell.line, cell.col);
    let mut entries: Vec<(Node, Node)> = Vec::new();
    let push = |entries: &mut Vec<(Node, Node)>, k: &str, v: Node| {
        entries.push((str_node(k, line, col), v));
    };
    let known = |ty: &str| ASSERT_TYPES.contains(&ty.strip_prefix("not-").unwrap_or(ty));
    let (head, rest) = match t.split_once(':') {
        Some((h, r)) => (h.trim(), Some(r.trim_start())),
        None => (t, None),
    };
    // `similar(0.8)`, `levenshtein(5)`: the threshold in parentheses.
    let (name, threshold) = match head.split_once('(') {
        Some((n, tail)) if tail.ends_with(')') => {
            (n.trim(), tail[..tail.len() - 1].trim().parse::<f64>().ok())
        }
        _ => (head, None),
    };
    let ty = match name {
        "grade" => Some("llm-rubric".to_string()),
        "fn" | "eval" => Some("javascript".to_string()),
        n if known(n) => Some(n.to_string()),
        _ => None,
    };
    match (ty, rest) {
        (Some(ty), Some(value)) => {
            push(&mut entries, "type", str_node(&ty, line, col));
            let base = ty.trim_start_matches("not-");
            if base.contains("-any") || base.contains("-all") {
                let items = value
                    .split(',')
                    .map(|s| str_node(s.trim(), line, col))
                    .collect();
                push(
                    &mut entries,
                    "value",
                    Node {
                        value: NodeValue::Seq(items),
                        line,
                        col,
                    },
                );
            } else if matches!(base, "latency" | "cost") {
                if let Ok(n) = value.trim().parse::<f64>() {
                    push(
                        &mut entries,
                        "threshold",
                        Node {
                            value: NodeValue::Float(n),
                            line,
                            col,
                        },
                    );
                }
            } else {
                push(&mut entries, "value", str_node(value, line, col));
            }
        }
        (Some(ty), None) if rest.is_none() && known(&ty) => {
            push(&mut entries, "type", str_node(&ty, line, col));
        }
        _ => {
            push(&mut entries, "type", str_node("equals", line, col));
            push(&mut entries, "value", str_node(t, line, col));
        }
    }
    if let Some(th) = threshold {
        push(
            &mut entries,
            "threshold",
            Node {
                value: NodeValue::Float(th),
                line,
                col,
            },
        );
    }
    Some(Node {
        value: NodeValue::Map(entries),
        line,
        col,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_within_a_name() {
        assert!(wildcard("*.yaml", "a.yaml"));
        assert!(wildcard("t?st-*.y*ml", "test-1.yaml"));
        assert!(!wildcard("*.yaml", "a.yml"));
        assert!(!wildcard("a*", "ba"));
        assert!(wildcard("*", ""));
    }

    #[test]
    fn glob_walks_are_sorted_and_stop_past_the_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in ["b/2.yaml", "a/1.yaml", "a/deep/3.yaml", "a/x.csv"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, "[]").expect("write");
        }
        let mut found = Vec::new();
        glob_walk(dir.path(), &["**", "*.yaml"], String::new(), &mut found);
        found.sort();
        assert_eq!(found, ["a/1.yaml", "a/deep/3.yaml", "b/2.yaml"]);
        let mut one = Vec::new();
        glob_walk(dir.path(), &["*", "*.yaml"], String::new(), &mut one);
        assert_eq!(one, ["a/1.yaml", "b/2.yaml"]);
        let many: Vec<String> = (0..=MAX_GLOB_FILES).map(|i| format!("f{i}")).collect();
        let mut full = many.clone();
        glob_walk(dir.path(), &["a", "1.yaml"], String::new(), &mut full);
        assert_eq!(full.len(), many.len(), "no more are read past the bound");
    }

    #[test]
    fn transform_response_paths_become_json_paths() {
        assert_eq!(json_path_of("json").as_deref(), Some("$"));
        assert_eq!(
            json_path_of("json.reply.text").as_deref(),
            Some("$.reply.text")
        );
        assert_eq!(
            json_path_of("json.choices[0].message.content").as_deref(),
            Some("$.choices[0].message.content")
        );
        assert_eq!(json_path_of(r#"json["a b"]"#).as_deref(), Some("$['a b']"));
        assert_eq!(json_path_of("(json) => json.a"), None);
        assert_eq!(json_path_of("json.a.toUpperCase()"), None);
        assert_eq!(json_path_of("text"), None);
    }

    fn shown() -> Arc<str> {
        Arc::from("t.csv")
    }

    #[test]
    fn csv_quoted_fields_keep_commas_quotes_and_newlines_with_their_positions() {
        let rows = parse_csv(
            "a,b\n\"x, y\",\"say \"\"hi\"\"\nthere\"\r\n\nz,\n",
            &shown(),
        )
        .expect("parses");
        let texts: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.text.as_str()).collect())
            .collect();
        assert_eq!(
            texts,
            vec![
                vec!["a", "b"],
                vec!["x, y", "say \"hi\"\nthere"],
                vec!["z", ""]
            ]
        );
        assert_eq!((rows[1][1].line, rows[1][1].col), (2, 8));
        assert_eq!((rows[2][0].line, rows[2][0].col), (5, 1));
    }

    #[test]
    fn an_unclosed_csv_quote_is_reported_where_it_opens() {
        let e = parse_csv("a\n\"open\n", &shown()).expect_err("unclosed");
        assert_eq!(
            e.to_string(),
            "t.csv:2:1: this quoted CSV field is never closed (hint: close it with `\"`; write a quote inside a quoted field as `\"\"`)"
        );
    }

    #[test]
    fn expected_cells_read_promptfoo_prefixes() {
        let read = |t: &str| {
            expected_cell(&Cell {
                text: t.into(),
                line: 1,
                col: 1,
            })
            .map(|n| n.to_json())
        };
        assert_eq!(
            read("Paris"),
            Some(json!({"type": "equals", "value": "Paris"}))
        );
        assert_eq!(
            read("not-icontains: sorry"),
            Some(json!({"type": "not-icontains", "value": "sorry"}))
        );
        assert_eq!(
            read("grade: is polite"),
            Some(json!({"type": "llm-rubric", "value": "is polite"}))
        );
        assert_eq!(
            read("fn: output.length < 5"),
            Some(json!({"type": "javascript", "value": "output.length < 5"}))
        );
        assert_eq!(
            read("similar(0.8): hello there"),
            Some(json!({"type": "similar", "value": "hello there", "threshold": 0.8}))
        );
        assert_eq!(
            read("contains-any: a, b"),
            Some(json!({"type": "contains-any", "value": ["a", "b"]}))
        );
        assert_eq!(read("is-json"), Some(json!({"type": "is-json"})));
        assert_eq!(
            read("Time: 10:30"),
            Some(json!({"type": "equals", "value": "Time: 10:30"}))
        );
        assert_eq!(read("  "), None);
    }

    #[test]
    fn list_vars_expand_into_every_combination() {
        let vars = json!({"a": [1, 2], "b": "x", "c": ["p", "q"]});
        let out = expand_vars(vars.as_object().expect("map"));
        let got: Vec<Value> = out.into_iter().map(Value::Object).collect();
        assert_eq!(
            got,
            vec![
                json!({"a": 1, "b": "x", "c": "p"}),
                json!({"a": 1, "b": "x", "c": "q"}),
                json!({"a": 2, "b": "x", "c": "p"}),
                json!({"a": 2, "b": "x", "c": "q"}),
            ]
        );
    }

    #[test]
    fn slugs_are_valid_ids() {
        assert_eq!(slug("What is 2 + 2?", "t"), "what-is-2-2");
        assert_eq!(slug("  --", "t"), "t");
        assert_eq!(slug(&"x".repeat(100), "t").len(), 64);
    }

    #[test]
    fn prompt_files_split_on_dash_lines() {
        assert_eq!(split_prompts("one\n---\ntwo\n"), vec!["one", "two"]);
        assert_eq!(split_prompts("a --- b"), vec!["a --- b"]);
    }
}
