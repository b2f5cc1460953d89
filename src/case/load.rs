//! Reading suite files: YAML text → validated [`Suite`], with every problem
//! reported at its `file:line:col`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{DiscoverError, LoadError, Location, SuiteErrors};
use super::node::{self, Node, Seg};
use super::suggest::hint;
use super::{Case, Suite, Variant};
use crate::check::{CheckSpec, SpecError};
use crate::target::TargetSpec;
use crate::verdict::Gate;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    #[serde(default)]
    suite: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    targets: BTreeMap<String, Value>,
    #[serde(default)]
    variants: Vec<Value>,
    #[serde(default)]
    matrix: Option<Map<String, Value>>,
    #[serde(default)]
    judge: Option<Value>,
    cases: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    #[serde(default)]
    target: Option<Value>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    vars: Map<String, Value>,
    #[serde(default)]
    checks: Vec<Value>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    gate: Option<Gate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    id: String,
    #[serde(default)]
    vars: Map<String, Value>,
    #[serde(default)]
    target: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    vars: Map<String, Value>,
    #[serde(default)]
    expected: Option<Value>,
    #[serde(default)]
    output: Option<Value>,
    #[serde(default)]
    target: Option<Value>,
    #[serde(default)]
    checks: Vec<Value>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    gate: Option<Gate>,
    #[serde(default)]
    skip: Option<Value>,
    #[serde(default)]
    variants: Option<Vec<String>>,
}

/// Names that exist outside the file: registered Rust targets and checks.
/// When given, unknown names are load errors with a suggestion.
#[derive(Debug, Clone, Default)]
pub struct KnownNames {
    /// Registered Rust target names.
    pub targets: Vec<String>,
    /// Registered Rust check names.
    pub checks: Vec<String>,
}

/// Finds the suite files under `dir`: `*.yaml` and `*.yml`, recursively,
/// skipping `snapshots/` and `prompts/` folders and hidden entries. Sorted.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut found = Vec::new();
    walk(dir, &mut found).map_err(|source| DiscoverError::Folder {
        path: dir.display().to_string(),
        source,
    })?;
    if found.is_empty() {
        return Err(DiscoverError::Empty {
            path: dir.display().to_string(),
        });
    }
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if name != "snapshots" && name != "prompts" {
                walk(&path, found)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            found.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `root`, with `/` separators: how files are named in
/// messages, snapshots and reports.
pub fn display_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Suite files loaded together: the good ones, and the broken ones with
/// every problem found in each.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The suites that loaded, in file order.
    pub suites: Vec<Arc<Suite>>,
    /// The files that did not.
    pub broken: Vec<SuiteErrors>,
}

/// Loads suite files (from [`discover`]); a broken file never stops the others.
pub fn load_files(root: &Path, files: &[PathBuf], known: Option<&KnownNames>) -> Loaded {
    let mut loaded = Loaded::default();
    for path in files {
        match load_file(path, &display_path(root, path), known) {
            Ok(s) => loaded.suites.push(Arc::new(s)),
            Err(e) => loaded.broken.push(e),
        }
    }
    loaded
}

/// Loads one suite file. `display` is the path shown in messages
/// (`evals/support.yaml`).
pub fn load_file(
    path: &Path,
    display: &str,
    known: Option<&KnownNames>,
) -> Result<Suite, SuiteErrors> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, display, &dir, known),
        Err(e) => Err(SuiteErrors {
            file: display.into(),
            suite: stem(display),
            errors: vec![LoadError {
                location: Location {
                    file: display.into(),
                    line: 1,
                    col: 1,
                },
                message: format!("cannot read file: {e}"),
                hint: None,
            }],
        }),
    }
}

fn stem(display: &str) -> String {
    Path::new(display)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| display.to_string())
}

/// Loads a suite from YAML text. `dir` is the folder relative paths resolve in.
pub fn load_str(
    text: &str,
    display: &str,
    dir: &Path,
    known: Option<&KnownNames>,
) -> Result<Suite, SuiteErrors> {
    let file: Arc<str> = display.into();
    let fallback_name = stem(display);
    let fail = |suite: String, errors: Vec<LoadError>| SuiteErrors {
        file: file.clone(),
        suite,
        errors,
    };
    let root = match node::parse(text) {
        Ok(root) => root,
        Err((line, col, message)) => {
            return Err(fail(
                fallback_name,
                vec![LoadError {
                    location: Location {
                        file: file.clone(),
                        line,
                        col,
                    },
                    hint: message.contains("tab").then(|| {
                        "indent with spaces: YAML does not allow tabs in indentation".to_string()
                    }),
                    message: format!("invalid YAML: {message}"),
                }],
            ));
        }
    };
    let mut loader = Loader {
        file: file.clone(),
        root: &root,
        errors: Vec::new(),
    };
    let suite = loader.suite(dir, &fallback_name, known);
    let name = suite
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or(fallback_name);
    match suite {
        Some(suite) if loader.errors.is_empty() => Ok(suite),
        _ => Err(fail(name, loader.errors)),
    }
}

struct Loader<'a> {
    file: Arc<str>,
    root: &'a Node,
    errors: Vec<LoadError>,
}

static ID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$").expect("static regex"));

impl Loader<'_> {
    fn at(&self, path: &[Seg], key: bool) -> Location {
        let (line, col) = self.root.locate(path, key);
        Location {
            file: self.file.clone(),
            line,
            col,
        }
    }

    fn push(&mut self, path: &[Seg], key: bool, message: String, hint: Option<String>) {
        let location = self.at(path, key);
        self.errors.push(LoadError {
            location,
            message,
            hint,
        });
    }

    fn spec_error(&mut self, base: &[Seg], err: SpecError) {
        let mut path = base.to_vec();
        path.extend(err.path);
        self.push(&path, err.at_key, err.message, err.hint);
    }

    /// Typed deserialization of the value at `base`; errors point at the exact key.
    /// Deserializes `value` (found at `base`) into `T`. Unknown keys are
    /// reported one by one and dropped, so that the rest of the value is
    /// still checked and every problem shows in one run; any other error
    /// stops here.
    fn typed<T: DeserializeOwned>(&mut self, base: &[Seg], value: Value, what: &str) -> Option<T> {
        let mut value = value;
        // Each round removes one unknown key; a value has finitely many.
        for _ in 0..64 {
            match serde_path_to_error::deserialize::<_, T>(value.clone()) {
                Ok(v) => return Some(v),
                Err(err) => {
                    let inner = serde_segments(err.path());
                    // An unknown key inside a nested section (`defaults:`) is
                    // reported as being in that section, not in the whole suite.
                    let section = match inner.len().checked_sub(2).map(|i| &inner[i]) {
                        Some(Seg::Key(section)) => section.as_str(),
                        _ => what,
                    };
                    let key = (!inner.is_empty()).then(|| node::path_text(&inner));
                    let mut path = base.to_vec();
                    path.extend(inner.iter().cloned());
                    let text = err.inner().to_string();
                    let (message, hint, at_key) = explain_serde(&text, section, key.as_deref());
                    self.push(&path, at_key, message, hint);
                    if !(text.starts_with("unknown field") && remove_at(&mut value, &inner)) {
                        return None;
                    }
                }
            }
        }
        None
    }

    fn suite(
        &mut self,
        dir: &Path,
        fallback_name: &str,
        known: Option<&KnownNames>,
    ) -> Option<Suite> {
        if !matches!(self.root.value, node::NodeValue::Map(_)) {
            self.push(
                &[],
                false,
                "a suite file must be a mapping with a `cases:` list".into(),
                Some("start the file with `suite: <name>` and `cases:`; see docs/format.md".into()),
            );
            return None;
        }
        let raw: RawSuite = self.typed(&[], self.root.to_json(), "suite")?;
        // A misspelled key was reported and dropped: what it would have set
        // (a target, the checks) is not reported missing on top of it.
        let suite_misspelled = !self.errors.is_empty();
        let name = raw
            .suite
            .clone()
            .unwrap_or_else(|| fallback_name.to_string());
        if !ID_RE.is_match(&name) {
            self.push(
                &[Seg::Key("suite".into())],
                false,
                format!("invalid suite name `{name}`"),
                Some(
                    "use letters, digits, `_`, `-` and `.`, starting with a letter or digit".into(),
                ),
            );
        }
        if raw.cases.is_empty() {
            self.push(
                &[Seg::Key("cases".into())],
                true,
                "the suite has no cases".into(),
                Some("add at least one case under `cases:`".into()),
            );
        }

        let mut named_targets = Vec::new();
        for (tname, tvalue) in &raw.targets {
            let path = [Seg::Key("targets".into()), Seg::Key(tname.clone())];
            match TargetSpec::parse(tvalue) {
                Ok(spec) => named_targets.push((tname.clone(), spec)),
                Err(e) => self.spec_error(&path, e),
            }
        }
        let target_names: Vec<String> = named_targets.iter().map(|(n, _)| n.clone()).collect();

        let variants = self.variants(&raw, known, &target_names);

        let default_target = raw.defaults.target.as_ref().and_then(|t| {
            let path = [Seg::Key("defaults".into()), Seg::Key("target".into())];
            self.target(&path, t, known, &target_names)
        });
        let mut default_checks = Vec::new();
        for (i, c) in raw.defaults.checks.iter().enumerate() {
            let path = [
                Seg::Key("defaults".into()),
                Seg::Key("checks".into()),
                Seg::Index(i),
            ];
            if let Some(spec) = self.check(&path, c, known) {
                default_checks.push(spec);
            }
        }
        if let Some(t) = raw.defaults.threshold {
            self.threshold(
                &[Seg::Key("defaults".into()), Seg::Key("threshold".into())],
                t,
            );
        }

        let mut cases: Vec<Case> = Vec::new();
        let mut seen: BTreeMap<String, Location> = BTreeMap::new();
        for (i, value) in raw.cases.iter().enumerate() {
            let base = [Seg::Key("cases".into()), Seg::Index(i)];
            let before = self.errors.len();
            let Some(rc) = self.typed::<RawCase>(&base, value.clone(), "case") else {
                continue;
            };
            let misspelled = suite_misspelled || self.errors.len() > before;
            let id_path = [
                Seg::Key("cases".into()),
                Seg::Index(i),
                Seg::Key("id".into()),
            ];
            if !ID_RE.is_match(&rc.id) {
                self.push(
                    &id_path,
                    false,
                    format!("invalid case id `{}`", rc.id),
                    Some("ids name trials and snapshot files: use letters, digits, `_`, `-` and `.`, starting with a letter or digit".into()),
                );
            }
            if let Some(first) = seen.get(&rc.id) {
                let first = first.to_string();
                self.push(
                    &id_path,
                    false,
                    format!("duplicate case id `{}` (first used at {first})", rc.id),
                    Some("case ids must be unique within a suite: rename one of them".into()),
                );
            } else {
                seen.insert(rc.id.clone(), self.at(&id_path, false));
            }
            if let Some(case) = self.case(
                &base,
                rc,
                misspelled,
                &raw,
                default_target.as_ref(),
                &default_checks,
                &variants,
                known,
                &target_names,
            ) {
                cases.push(case);
            }
        }

        if let Err(message) = crate::check::judge::SuiteJudge::parse(raw.judge.as_ref()) {
            self.push(
                &[Seg::Key("judge".into())],
                true,
                message,
                Some("see docs/judges.md for the suite-level `judge:` keys".into()),
            );
        }
        Some(Suite {
            name,
            description: raw.description,
            file: self.file.clone(),
            dir: dir.to_path_buf(),
            variants,
            cases,
            judge: raw.judge,
            targets: named_targets,
        })
    }

    fn threshold(&mut self, path: &[Seg], t: f64) {
        if !(0.0..=1.0).contains(&t) {
            self.push(
                path,
                false,
                format!("threshold {t} is outside 0..=1"),
                Some(
                    "the threshold is the weighted share of checks that must pass, e.g. 0.75"
                        .into(),
                ),
            );
        }
    }

    fn variants(
        &mut self,
        raw: &RawSuite,
        known: Option<&KnownNames>,
        target_names: &[String],
    ) -> Vec<Variant> {
        let mut out: Vec<Variant> = Vec::new();
        for (i, v) in raw.variants.iter().enumerate() {
            let base = [Seg::Key("variants".into()), Seg::Index(i)];
            let Some(rv) = self.typed::<RawVariant>(&base, v.clone(), "variant") else {
                continue;
            };
            let target = rv.target.as_ref().and_then(|t| {
                let mut p = base.to_vec();
                p.push(Seg::Key("target".into()));
                self.target(&p, t, known, target_names)
            });
            self.variant_id(&base, &rv.id, &out);
            out.push(Variant {
                id: rv.id,
                vars: rv.vars,
                target,
            });
        }
        if let Some(matrix) = &raw.matrix {
            // The cross product of the matrix axes, in the order written.
            let mut combos: Vec<(Vec<String>, Map<String, Value>)> = vec![(Vec::new(), Map::new())];
            for (axis, values) in matrix {
                let Some(values) = values.as_array().filter(|a| !a.is_empty()) else {
                    self.push(
                        &[Seg::Key("matrix".into()), Seg::Key(axis.clone())],
                        false,
                        format!("matrix axis `{axis}` must be a non-empty list"),
                        Some("write e.g. `model: [openai:gpt-4.1-mini, anthropic:claude-sonnet-4-5]`".into()),
                    );
                    continue;
                };
                // Two values that make one id part would make two variants
                // (and trials, and snapshots) with one name.
                let mut parts: Vec<String> = Vec::new();
                for (i, value) in values.iter().enumerate() {
                    let part = variant_id_part(value);
                    if let Some(first) = parts.iter().position(|p| *p == part) {
                        {
                            let first_at = self.at(
                                &[
                                    Seg::Key("matrix".into()),
                                    Seg::Key(axis.clone()),
                                    Seg::Index(first),
                                ],
                                false,
                            );
                            self.push(
                                &[Seg::Key("matrix".into()), Seg::Key(axis.clone()), Seg::Index(i)],
                                false,
                                format!(
                                    "matrix value {value} of axis `{axis}` makes the variant id `{part}`, as the value at {first_at} does (two variants with one name would share one result and one snapshot)"
                                ),
                                Some("variant ids keep letters, digits, `.`, `-` and `_` (anything else becomes `-`): make the values differ in those, or list the variants under `variants:` with their own ids".into()),
                            );
                        }
                    }
                    parts.push(part);
                }
                let mut next = Vec::new();
                for (ids, vars) in &combos {
                    for value in values {
                        let mut ids = ids.clone();
                        ids.push(variant_id_part(value));
                        let mut vars = vars.clone();
                        vars.insert(axis.clone(), value.clone());
                        next.push((ids, vars));
                    }
                }
                combos = next;
            }
            if !out.is_empty() && !combos.is_empty() && !matrix.is_empty() {
                self.push(
                    &[Seg::Key("matrix".into())],
                    true,
                    "a suite can declare `variants:` or `matrix:`, not both".into(),
                    Some("move the listed variants into matrix axes, or list every combination under `variants:`".into()),
                );
                return out;
            }
            for (ids, vars) in combos.into_iter().filter(|(ids, _)| !ids.is_empty()) {
                out.push(Variant {
                    id: ids.join("+"),
                    vars,
                    target: None,
                });
            }
        }
        out
    }

    fn variant_id(&mut self, base: &[Seg], id: &str, before: &[Variant]) {
        let mut p = base.to_vec();
        p.push(Seg::Key("id".into()));
        if !ID_RE.is_match(id) {
            self.push(
                &p,
                false,
                format!("invalid variant id `{id}`"),
                Some("use letters, digits, `_`, `-`, `.`".into()),
            );
        }
        if before.iter().any(|v| v.id == id) {
            self.push(&p, false, format!("duplicate variant id `{id}`"), None);
        }
    }

    fn target(
        &mut self,
        path: &[Seg],
        value: &Value,
        known: Option<&KnownNames>,
        target_names: &[String],
    ) -> Option<TargetSpec> {
        match TargetSpec::parse(value) {
            Ok(spec) => {
                if let (TargetSpec::Named(name), Some(known)) = (&spec, known)
                    && !known.targets.iter().any(|t| t == name)
                    && !target_names.iter().any(|t| t == name)
                {
                    let candidates: Vec<&str> = known
                        .targets
                        .iter()
                        .chain(target_names)
                        .map(String::as_str)
                        .collect();
                    let hint = if candidates.is_empty() {
                        "no Rust targets are registered: register one in tests/evals.rs with `.target(\"name\", fn)`, or declare it under `targets:`".to_string()
                    } else {
                        hint(name, candidates.iter().copied())
                    };
                    self.push(path, false, format!("unknown target `{name}`"), Some(hint));
                    return None;
                }
                Some(spec)
            }
            Err(e) => {
                self.spec_error(path, e);
                None
            }
        }
    }

    fn check(
        &mut self,
        path: &[Seg],
        value: &Value,
        known: Option<&KnownNames>,
    ) -> Option<CheckSpec> {
        let (line, col) = self.root.locate(path, false);
        match CheckSpec::parse(value, known.map(|k| k.checks.as_slice())) {
            Ok(mut spec) => {
                spec.line = line;
                spec.col = col;
                Some(spec)
            }
            Err(e) => {
                self.spec_error(path, e);
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn case(
        &mut self,
        base: &[Seg],
        rc: RawCase,
        misspelled: bool,
        raw: &RawSuite,
        default_target: Option<&TargetSpec>,
        default_checks: &[CheckSpec],
        variants: &[Variant],
        known: Option<&KnownNames>,
        target_names: &[String],
    ) -> Option<Case> {
        let key = |k: &str| {
            let mut p = base.to_vec();
            p.push(Seg::Key(k.into()));
            p
        };
        let errors_before = self.errors.len();
        let target = match &rc.target {
            Some(t) => self.target(&key("target"), t, known, target_names),
            None => default_target.cloned(),
        };
        if rc.output.is_some() && rc.target.is_some() {
            self.push(
                &key("output"),
                true,
                "a case has either a fixed `output` or a `target`, not both".into(),
                Some("remove `output` to call the target, or remove `target` to check the fixed output".into()),
            );
        }
        let has_variant_targets =
            !variants.is_empty() && variants.iter().all(|v| v.target.is_some());
        // A target that is written but invalid is reported where it is
        // written; the case does not also claim to have none.
        if !misspelled
            && rc.output.is_none()
            && rc.target.is_none()
            && raw.defaults.target.is_none()
            && !has_variant_targets
        {
            self.push(
                &key("id"),
                true,
                format!("case `{}` has no target and no fixed output", rc.id),
                Some("add `target: <name>` to the case or `defaults: {target: <name>}` to the suite, or give a fixed `output:`".into()),
            );
        }
        let mut checks = default_checks.to_vec();
        for (i, c) in rc.checks.iter().enumerate() {
            let mut p = key("checks");
            p.push(Seg::Index(i));
            if let Some(spec) = self.check(&p, c, known) {
                checks.push(spec);
            }
        }
        // Checks that are written but invalid are reported one by one; the
        // case does not also claim to have none.
        if !misspelled && raw.defaults.checks.is_empty() && rc.checks.is_empty() {
            self.push(
                &key("id"),
                true,
                format!("case `{}` has no checks", rc.id),
                Some("add `checks:` to the case or `defaults: {checks: [...]}` to the suite; a case with nothing to check would always pass".into()),
            );
        }
        let threshold = rc.threshold.or(raw.defaults.threshold).unwrap_or(1.0);
        if let Some(t) = rc.threshold {
            self.threshold(&key("threshold"), t);
        }
        let skip = match &rc.skip {
            None | Some(Value::Bool(false)) | Some(Value::Null) => None,
            Some(Value::String(reason)) if !reason.trim().is_empty() => Some(reason.clone()),
            Some(_) => {
                self.push(
                    &key("skip"),
                    false,
                    "`skip` takes the reason the case is skipped".into(),
                    Some("write e.g. `skip: \"flaky upstream API, see #12\"`".into()),
                );
                None
            }
        };
        if let Some(only) = &rc.variants {
            for (i, id) in only.iter().enumerate() {
                if !variants.iter().any(|v| &v.id == id) {
                    let mut p = key("variants");
                    p.push(Seg::Index(i));
                    let ids: Vec<&str> = variants.iter().map(|v| v.id.as_str()).collect();
                    let h = if ids.is_empty() {
                        "the suite declares no variants".to_string()
                    } else {
                        hint(id, ids.iter().copied())
                    };
                    self.push(&p, false, format!("unknown variant `{id}`"), Some(h));
                }
            }
        }
        let mut tags = raw.defaults.tags.clone();
        for t in rc.tags {
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let mut vars = raw.defaults.vars.clone();
        vars.extend(rc.vars);
        let input = rc.input.unwrap_or(Value::Null);
        if let Value::Object(map) = &input {
            for (k, v) in map {
                vars.insert(k.clone(), v.clone());
            }
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Case {
            location: self.at(base, false),
            id: rc.id,
            description: rc.description,
            tags,
            input,
            vars,
            expected: rc.expected,
            output: rc.output,
            target,
            checks,
            threshold,
            gate: rc.gate.or(raw.defaults.gate).unwrap_or_default(),
            skip,
            only_variants: rc.variants,
        })
    }
}

fn variant_id_part(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Removes the entry at `path` (a key of a map) from `value`.
fn remove_at(value: &mut Value, path: &[Seg]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = value;
    for seg in parents {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => match m.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (Seg::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Seg::Key(k), Value::Object(m)) => m.remove(k).is_some(),
        _ => false,
    }
}

/// A serde path as tribunal's path segments.
pub(crate) fn serde_segments(path: &serde_path_to_error::Path) -> Vec<Seg> {
    path.iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect()
}

static UNKNOWN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^unknown (field|variant) `([^`]*)`, expected (?:one of )?(.*)$")
        .expect("static regex")
});
static NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]*)`").expect("static regex"));

/// Turns a serde message into tribunal's wording, with a suggestion for
/// unknown keys and values and the expected shape for wrong types. `key` is
/// the key path of the value, when known (`tags`, `cases[0].threshold`).
/// Returns (message, hint, point at the key).
pub(crate) fn explain_serde(
    message: &str,
    what: &str,
    key: Option<&str>,
) -> (String, Option<String>, bool) {
    if let (Some(key), Some(rest)) = (key, message.strip_prefix("invalid type: "))
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        let (expected, example) = match expected {
            "a sequence" => (
                "a list",
                format!("write `{key}: [a, b]`, or one `- item` per line"),
            ),
            e if e.starts_with("a map") || e.starts_with("struct ") => (
                "a mapping",
                format!("write `{key}: {{name: value}}`, or indented `name: value` lines"),
            ),
            "f64" | "f32" | "u64" | "u32" | "i64" | "i32" | "usize" => {
                ("a number", format!("write a number, e.g. `{key}: 0.75`"))
            }
            "a string" => ("a string", format!("quote the value: `{key}: \"...\"`")),
            "a boolean" => (
                "true or false",
                format!("write `{key}: true` or `{key}: false`"),
            ),
            other => (other, String::new()),
        };
        let hint = (!example.is_empty()).then_some(example);
        return (
            format!("`{key}` must be {expected}, found {found}"),
            hint,
            false,
        );
    }
    if let Some(caps) = UNKNOWN_RE.captures(message) {
        let word = &caps[2];
        let choices: Vec<&str> = NAME_RE
            .captures_iter(&caps[3])
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect();
        let h = hint(word, choices.iter().copied());
        return if &caps[1] == "field" {
            (format!("unknown key `{word}` in {what}"), Some(h), true)
        } else {
            (format!("unknown value `{word}`"), Some(h), false)
        };
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return (
            format!("{what} is missing required key {rest}"),
            Some(format!("add {rest}: to the {what}")),
            false,
        );
    }
    (message.to_string(), None, false)
}
