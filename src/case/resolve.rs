//! Resolving suite files: YAML text → validated [`Suite`], with every
//! problem reported at its `file:line:col`. Defaults are merged into cases,
//! variants and matrices expanded, targets and checks parsed, and names
//! (targets, Rust checks, variants) checked against what exists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::display_path;
use super::error::{LoadError, Location, SuiteErrors};
use super::model::Dimension;
use super::raw::{RawCase, RawDefaults, RawSuite, RawVariant};
use super::yaml::{self, Node, NodeValue};
use super::{Case, Suite, Variant};
use crate::check::judge::SuiteJudge;
use crate::check::{CheckSpec, ParseCx};
use crate::diag::{self, Seg, SpecError, explain_serde, hint};
use crate::fsutil::snapshot_file_name;
use crate::target::TargetSpec;
use crate::target::conversation::{MAX_TURNS, Script, SimulatedUser};

/// The most dimensions a suite may declare.
pub const MAX_DIMENSIONS: usize = 16;
/// The most values one dimension may have.
pub const MAX_DIMENSION_VALUES: usize = 100;

/// Names that exist outside the file: registered Rust targets and checks.
/// When given, unknown names are load errors with a suggestion.
#[derive(Debug, Clone, Default)]
pub struct KnownNames {
    /// Registered Rust target names.
    pub targets: Vec<String>,
    /// Registered Rust check names.
    pub checks: Vec<String>,
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

/// Loads suite files (from [`discover`](fn@super::discover)); a broken file never stops the others.
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

/// Largest suite file read, in bytes (16 MiB). A larger file is an error:
/// split it into several suites.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Most variants one suite may run its cases under (listed, or the product
/// of the matrix axes).
pub const MAX_VARIANTS: usize = 1_000;

/// Most trials (cases × their variants) one suite file may expand to.
pub const MAX_TRIALS: usize = 100_000;

/// Most problems reported for one file; the rest are counted.
pub const MAX_ERRORS: usize = 100;

/// Longest snapshot file name (`<suite>__<case>[__<variant>].snap`, with
/// each part escaped as file names are), in bytes: with `.new` and the
/// hidden temporary name it is written through, it stays under the 255
/// bytes of common filesystems.
pub const MAX_FILE_NAME_BYTES: usize = 210;

/// Longest suite name, case id or variant id, in characters: names are
/// parts of trial names and file names (see [`MAX_FILE_NAME_BYTES`] for the
/// whole snapshot file name, where escaping can make a name longer).
pub const MAX_ID_CHARS: usize = 64;

/// Loads one suite file. `display` is the path shown in messages
/// (`evals/support.yaml`).
pub fn load_file(
    path: &Path,
    display: &str,
    known: Option<&KnownNames>,
) -> Result<Suite, SuiteErrors> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let unreadable = |line: u32, col: u32, message: String, hint: Option<String>| SuiteErrors {
        file: display.into(),
        suite: stem(display),
        errors: vec![LoadError {
            location: Location {
                file: display.into(),
                line,
                col,
            },
            message,
            hint,
        }],
    };
    let bytes = read_suite_file(path).map_err(|(message, hint)| unreadable(1, 1, message, hint))?;
    match String::from_utf8(bytes) {
        Ok(text) => load_text(
            text.into(),
            display,
            &dir,
            &project_root(path, display),
            known,
        ),
        Err(e) => {
            let bytes = e.as_bytes();
            let (line, col) = position_of(bytes, e.utf8_error().valid_up_to());
            let bad = bytes
                .get(e.utf8_error().valid_up_to())
                .copied()
                .unwrap_or(0);
            let hint = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
                "the file looks UTF-16 encoded: save it as UTF-8"
            } else {
                "save the file as UTF-8: suite files are UTF-8 text"
            };
            Err(unreadable(
                line,
                col,
                format!(
                    "the file is not valid UTF-8: byte 0x{bad:02X} is not part of a UTF-8 character"
                ),
                Some(hint.into()),
            ))
        }
    }
}

/// Reads a suite file: regular files only (a FIFO or device would block or
/// never end), at most [`MAX_FILE_BYTES`]. The error is (message, hint).
pub fn read_suite_file(path: &Path) -> Result<Vec<u8>, (String, Option<String>)> {
    use crate::fsutil::ReadError;
    crate::fsutil::read_regular_bytes(path, MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::Io(e) => (format!("cannot read file: {e}"), None),
        ReadError::NotRegular(kind) => (
            format!("not a regular file ({kind})"),
            Some("suite files must be plain files; remove it or rename it so it does not end in .yaml".into()),
        ),
        ReadError::TooLarge(max) => (
            format!("the file is larger than {} MiB", max / (1024 * 1024)),
            Some("split the suite into several files".into()),
        ),
    })
}

/// The 1-based line and column (in characters) of byte `offset`.
fn position_of(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn stem(display: &str) -> String {
    Path::new(display)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| display.to_string())
}

/// The project a suite file belongs to: `path` without the components of
/// `display` (its path relative to the project); the file's folder when
/// `display` is not a suffix of `path`.
fn project_root(path: &Path, display: &str) -> PathBuf {
    let parts = Path::new(display).components().count();
    let dir = || path.parent().map(Path::to_path_buf).unwrap_or_default();
    if Path::new(display).is_absolute() || !path.ends_with(display) {
        return dir();
    }
    path.ancestors()
        .nth(parts)
        .map_or_else(dir, Path::to_path_buf)
}

/// Loads a suite from YAML text. `dir` is the folder relative paths resolve
/// in; the data files of `cases_from:` must be inside it.
pub fn load_str(
    text: &str,
    display: &str,
    dir: &Path,
    known: Option<&KnownNames>,
) -> Result<Suite, SuiteErrors> {
    load_text(text.into(), display, dir, dir, known)
}

/// [`load_str`] for a suite of the project at `project`: its data files
/// may be anywhere inside the project (as when the file is loaded from
/// disk), not only under `dir`.
pub fn load_in(
    text: &str,
    display: &str,
    dir: &Path,
    project: &Path,
) -> Result<Suite, SuiteErrors> {
    load_text(text.into(), display, dir, project, None)
}

/// [`load_str`], with data files allowed anywhere inside `project`.
fn load_text(
    text: std::borrow::Cow<'_, str>,
    display: &str,
    dir: &Path,
    project: &Path,
    known: Option<&KnownNames>,
) -> Result<Suite, SuiteErrors> {
    let file: Arc<str> = display.into();
    let fallback_name = stem(display);
    let fail = |suite: String, errors: Vec<LoadError>| SuiteErrors {
        file: file.clone(),
        suite,
        errors,
    };
    let parsed = yaml::parse(&text);
    // The tree owns its strings: a large file's text is not kept alongside.
    drop(text);
    let root = match parsed {
        Ok(root) => root,
        Err(e) => {
            return Err(fail(
                fallback_name,
                vec![LoadError {
                    location: Location {
                        file: file.clone(),
                        line: e.line,
                        col: e.col,
                    },
                    message: e.message,
                    hint: e.hint,
                }],
            ));
        }
    };
    let mut loader = Loader {
        file: file.clone(),
        root,
        known,
        target_names: Vec::new(),
        named: Vec::new(),
        judge: SuiteJudge::default(),
        dir: dir.to_path_buf(),
        project: project.to_path_buf(),
        errors: Vec::new(),
        bad_rows: Vec::new(),
    };
    let suite = loader.suite(dir, &fallback_name);
    let name = suite
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or(fallback_name);
    match suite {
        Some(mut suite) if loader.errors.is_empty() => {
            suite.bad_rows = loader.bad_rows;
            Ok(suite)
        }
        _ => {
            // The file does not run: its bad rows are among its problems.
            let mut errors = loader.errors;
            errors.extend(loader.bad_rows.into_iter().map(|b| b.error));
            Err(fail(name, at_most_max_errors(errors)))
        }
    }
}

/// The first [`MAX_ERRORS`] problems of a file, and one line saying how many
/// more there are, so that a generated file with a mistake in every case
/// does not flood the terminal and every report.
fn at_most_max_errors(mut errors: Vec<LoadError>) -> Vec<LoadError> {
    if errors.len() <= MAX_ERRORS {
        return errors;
    }
    let more = errors.len() - MAX_ERRORS;
    let location = errors[MAX_ERRORS].location.clone();
    errors.truncate(MAX_ERRORS);
    errors.push(LoadError {
        location,
        message: format!(
            "… and {more} more problems in this file (the first {MAX_ERRORS} are shown)"
        ),
        hint: Some("fix these first; the others show on the next run".into()),
    });
    errors
}

struct Loader<'a> {
    file: Arc<str>,
    /// The file's tree, for the `line:col` of each problem (its values'
    /// text is dropped once the file is typed).
    root: Node,
    /// Registered Rust targets and checks, when known.
    known: Option<&'a KnownNames>,
    /// The names declared under the suite's `targets:`.
    target_names: Vec<String>,
    /// The targets declared under `targets:`, parsed.
    named: Vec<(String, TargetSpec)>,
    /// The suite's `judge:` block, parsed before any check (judge checks
    /// merge it in at load).
    judge: SuiteJudge,
    /// The suite file's folder.
    dir: PathBuf,
    /// The project folder: data files must be inside it.
    project: PathBuf,
    errors: Vec<LoadError>,
    /// Rows of `cases_from:` files that could not become cases.
    bad_rows: Vec<super::BadRow>,
}

/// What a suite hands down to each of its cases.
struct Defaults<'r> {
    /// The `defaults:` block as written.
    raw: &'r RawDefaults,
    /// `defaults.target`, parsed (absent when missing or invalid).
    target: Option<TargetSpec>,
    /// `defaults.checks`, parsed (the invalid ones reported and left out).
    checks: Vec<CheckSpec>,
    /// The suite's variants.
    variants: Vec<Variant>,
}

static ID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$").expect("static regex"));

/// `base` extended by the key `key`.
fn child(base: &[Seg], key: &str) -> Vec<Seg> {
    let mut path = base.to_vec();
    path.push(Seg::Key(key.into()));
    path
}

/// `base` extended by the index `index`.
fn item(base: &[Seg], index: usize) -> Vec<Seg> {
    let mut path = base.to_vec();
    path.push(Seg::Index(index));
    path
}

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

    /// Deserializes `value` (found at `base`) into `T`, with errors pointing
    /// at the exact key. Unknown keys are reported one by one and dropped, so
    /// that the rest of the value is still checked and every problem shows in
    /// one run; any other error stops here.
    fn typed<T: DeserializeOwned>(&mut self, base: &[Seg], value: Value, what: &str) -> Option<T> {
        let mut seen = Vec::new();
        let typed = diag::typed_dropping_unknown(value, |inner, text| {
            seen.push((inner.to_vec(), text.to_string()));
        });
        self.report_serde(base, what, seen);
        typed
    }

    /// [`Loader::typed`] for the whole file, whose JSON is built from the
    /// tree on demand (see [`diag::typed_from_fresh`]).
    fn typed_root<T: DeserializeOwned>(&mut self, what: &str) -> Option<T> {
        let mut seen = Vec::new();
        let typed = diag::typed_from_fresh(
            || self.root.to_json(),
            |inner, text| seen.push((inner.to_vec(), text.to_string())),
        );
        self.report_serde(&[], what, seen);
        typed
    }

    /// Reports the serde errors (path inside the value, message) of a value
    /// found at `base`.
    fn report_serde(&mut self, base: &[Seg], what: &str, seen: Vec<(Vec<Seg>, String)>) {
        for (inner, text) in seen {
            // An unknown key inside a nested section (`defaults:`) is
            // reported as being in that section, not in the whole suite.
            let section = match inner.len().checked_sub(2).map(|i| &inner[i]) {
                Some(Seg::Key(section)) => section.as_str(),
                _ => what,
            };
            let key = (!inner.is_empty()).then(|| diag::path_text(&inner));
            let mut path = base.to_vec();
            path.extend(inner.iter().cloned());
            let (message, hint, at_key) = explain_serde(&text, section, key.as_deref());
            self.push(&path, at_key, message, hint);
        }
    }

    fn suite(&mut self, dir: &Path, fallback_name: &str) -> Option<Suite> {
        if !matches!(self.root.value, NodeValue::Map(_)) {
            self.push(
                &[],
                false,
                "a suite file must be a mapping with a `cases:` list".into(),
                Some("start the file with `suite: <name>` and `cases:`; see docs/format.md".into()),
            );
            return None;
        }
        let mut raw: RawSuite = self.typed_root("suite")?;
        // From here the tree only points problems at `line:col`: its values'
        // text (most of a large suite's bytes, now moved into `raw`) goes.
        self.root.strip_values();
        // A misspelled key was reported and dropped: what it would have set
        // (a target, the checks) is not reported missing on top of it.
        let suite_misspelled = !self.errors.is_empty();
        let name = self.suite_name(&raw, fallback_name);
        if raw.cases.is_empty() && raw.cases_from.is_none() {
            self.push(
                &[Seg::Key("cases".into())],
                true,
                "the suite has no cases".into(),
                Some("add at least one case under `cases:`, or read them from a data file with `cases_from:` (docs/datasets.md)".into()),
            );
        }
        self.judge = self.suite_judge(raw.judge.as_ref());
        let targets = self.named_targets(&raw.targets);
        let variants = self.variants(&raw);
        let defaults = self.defaults(&raw.defaults, variants);
        // The raw cases are consumed as they become cases, so a large
        // suite is not held twice.
        let mut cases = self.cases(std::mem::take(&mut raw.cases), &defaults, suite_misspelled);
        let written = cases.len();
        if let Some(from) = &raw.cases_from {
            self.cases_from(from, &name, &defaults, &mut cases);
        }
        // File names are measured once every name in them is valid (those
        // of rows, which have no YAML path, as the rows are read).
        if self.trial_count(&cases, &defaults.variants) && self.errors.is_empty() {
            self.file_names(&name, &cases[..written], &defaults.variants);
        }
        Some(Suite {
            name,
            description: raw.description,
            file: self.file.clone(),
            dir: dir.to_path_buf(),
            variants: defaults.variants,
            axes: match &raw.matrix {
                Some(m) if raw.variants.is_empty() => m.keys().cloned().collect(),
                _ => Vec::new(),
            },
            cases,
            judge: std::mem::take(&mut self.judge),
            targets,
            bad_rows: Vec::new(),
            dimensions: self.dimensions(raw.dimensions.as_ref()),
        })
    }

    /// The suite's name (`suite:`, else the file stem), checked.
    fn suite_name(&mut self, raw: &RawSuite, fallback_name: &str) -> String {
        let name = raw
            .suite
            .clone()
            .unwrap_or_else(|| fallback_name.to_string());
        if let Some((message, hint)) = too_long("suite name", &name) {
            self.push(&[Seg::Key("suite".into())], false, message, Some(hint));
        } else if !ID_RE.is_match(&name) {
            self.push(
                &[Seg::Key("suite".into())],
                false,
                format!("invalid suite name `{name}`"),
                Some(
                    "use letters, digits, `_`, `-` and `.`, starting with a letter or digit".into(),
                ),
            );
        }
        name
    }

    /// The targets declared under `targets:`; their names become known to
    /// every later `target:` of the suite.
    fn named_targets(&mut self, raw: &BTreeMap<String, Value>) -> Vec<(String, TargetSpec)> {
        let mut named = Vec::new();
        for (tname, tvalue) in raw {
            let path = [Seg::Key("targets".into()), Seg::Key(tname.clone())];
            match TargetSpec::parse(tvalue) {
                Ok(spec) => named.push((tname.clone(), spec)),
                Err(e) => self.spec_error(&path, e),
            }
        }
        self.target_names = named.iter().map(|(n, _)| n.clone()).collect();
        self.named = named.clone();
        named
    }

    /// The `defaults:` block: its target and checks parsed once for all cases.
    fn defaults<'r>(&mut self, raw: &'r RawDefaults, variants: Vec<Variant>) -> Defaults<'r> {
        let base = [Seg::Key("defaults".into())];
        let target = raw
            .target
            .as_ref()
            .and_then(|t| self.target(&child(&base, "target"), t));
        let checks_path = child(&base, "checks");
        let tools = target
            .as_ref()
            .map(|t| self.target_tools(t))
            .unwrap_or_default();
        let mut checks = Vec::new();
        for (i, c) in raw.checks.iter().enumerate() {
            if tools.is_empty() && is_tool_args(c) {
                // Its schemas may come from each case's own target: parsed,
                // and reported, with the cases.
                continue;
            }
            if let Some(spec) = self.check(
                &item(&checks_path, i),
                c,
                &checks,
                &raw.checks[i + 1..],
                &tools,
            ) {
                checks.push(spec);
            }
        }
        if let Some(t) = raw.threshold {
            self.threshold(&child(&base, "threshold"), t);
        }
        Defaults {
            raw,
            target,
            checks,
            variants,
        }
    }

    /// Every case of the suite; ids must be valid and unique.
    fn cases(&mut self, raw: Vec<Value>, defaults: &Defaults, suite_misspelled: bool) -> Vec<Case> {
        let mut cases = Vec::with_capacity(raw.len());
        let mut seen: BTreeMap<String, Location> = BTreeMap::new();
        for (i, value) in raw.into_iter().enumerate() {
            let base = [Seg::Key("cases".into()), Seg::Index(i)];
            let before = self.errors.len();
            let Some(rc) = self.typed::<RawCase>(&base, value, "case") else {
                continue;
            };
            let misspelled = suite_misspelled || self.errors.len() > before;
            self.case_id(&child(&base, "id"), &rc.id, &mut seen);
            if let Some(case) = self.case(&base, rc, misspelled, defaults) {
                cases.push(case);
            }
        }
        cases
    }

    fn case_id(&mut self, path: &[Seg], id: &str, seen: &mut BTreeMap<String, Location>) {
        if let Some((message, hint)) = too_long("case id", id) {
            self.push(path, false, message, Some(hint));
        } else if !ID_RE.is_match(id) {
            self.push(
                path,
                false,
                format!("invalid case id `{id}`"),
                Some("ids name trials and snapshot files: use letters, digits, `_`, `-` and `.`, starting with a letter or digit".into()),
            );
        }
        if let Some(first) = seen.get(id) {
            let first = first.to_string();
            self.push(
                path,
                false,
                format!("duplicate case id `{id}` (first used at {first})"),
                Some("case ids must be unique within a suite: rename one of them".into()),
            );
        } else {
            seen.insert(id.to_string(), self.at(path, false));
        }
    }

    /// The suite may expand to at most [`MAX_TRIALS`] trials; `false` when
    /// it does not.
    fn trial_count(&mut self, cases: &[Case], variants: &[Variant]) -> bool {
        let trials: usize = cases
            .iter()
            .map(|c| match (&c.only_variants, variants.len()) {
                (_, 0) => 1,
                // As expansion counts: each suite variant the case names, once.
                (Some(only), _) => variants.iter().filter(|v| only.contains(&v.id)).count(),
                (None, n) => n,
            })
            .sum();
        if trials > MAX_TRIALS {
            self.push(
                &[Seg::Key("cases".into())],
                true,
                format!(
                    "the suite expands to {trials} trials ({} cases under {} variants), more than the {MAX_TRIALS} one file may hold",
                    cases.len(),
                    variants.len()
                ),
                Some("split the suite into several files".into()),
            );
            return false;
        }
        true
    }

    /// Every trial's snapshot file name fits [`MAX_FILE_NAME_BYTES`]; one
    /// error per case, at its id.
    fn file_names(&mut self, suite: &str, cases: &[Case], variants: &[Variant]) {
        for (i, case) in cases.iter().enumerate() {
            let runs: Vec<Option<&Variant>> = if variants.is_empty() {
                vec![None]
            } else {
                variants
                    .iter()
                    .filter(|v| {
                        case.only_variants
                            .as_ref()
                            .is_none_or(|only| only.contains(&v.id))
                    })
                    .map(Some)
                    .collect()
            };
            let longest = runs
                .iter()
                .map(|v| {
                    (
                        snapshot_file_name(suite, &case.id, v.map(|v| v.id.as_str())).len(),
                        *v,
                    )
                })
                .max_by_key(|(n, _)| *n);
            if let Some((n, variant)) = longest.filter(|(n, _)| *n > MAX_FILE_NAME_BYTES) {
                let under = variant
                    .map(|v| format!(" under variant `{}`", v.id))
                    .unwrap_or_default();
                let path = [
                    Seg::Key("cases".into()),
                    Seg::Index(i),
                    Seg::Key("id".into()),
                ];
                self.push(
                    &path,
                    false,
                    format!("the snapshot file name of case `{}`{under} would be {n} bytes, more than {MAX_FILE_NAME_BYTES}", case.id),
                    Some("shorten the case id, the suite name or the variant id; in a name with `__`, each `_` takes two bytes in a file name".into()),
                );
            }
        }
    }

    fn suite_judge(&mut self, judge: Option<&Value>) -> SuiteJudge {
        SuiteJudge::parse(judge).unwrap_or_else(|message| {
            self.push(
                &[Seg::Key("judge".into())],
                true,
                message,
                Some("see docs/judges.md for the suite-level `judge:` keys".into()),
            );
            SuiteJudge::default()
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

    /// The suite's `dimensions:`: each key a map of values to their
    /// one-line descriptions; a dimension with no values, a value that is
    /// not a tag-safe name or a description that is not one line is an
    /// error at its key.
    fn dimensions(&mut self, raw: Option<&Map<String, Value>>) -> Vec<Dimension> {
        let Some(raw) = raw else {
            return Vec::new();
        };
        let base = [Seg::Key("dimensions".into())];
        if raw.is_empty() {
            self.push(
                &base,
                true,
                "`dimensions:` declares no dimension".into(),
                Some("give each dimension a map of values to one-line descriptions, e.g. `feature: {refunds: Money back for a returned item}`, or remove `dimensions:`".into()),
            );
            return Vec::new();
        }
        if raw.len() > MAX_DIMENSIONS {
            self.push(
                &base,
                true,
                format!(
                    "`dimensions:` declares {} dimensions, more than {MAX_DIMENSIONS}",
                    raw.len()
                ),
                Some("combine related dimensions, or split the suite".into()),
            );
            return Vec::new();
        }
        let mut out = Vec::new();
        for (name, values) in raw {
            let path = child(&base, name);
            let location = self.at(&path, true);
            if !ID_RE.is_match(name) {
                self.push(
                    &path,
                    true,
                    format!("invalid dimension name `{name}`"),
                    Some("use letters, digits, `_`, `-` and `.`, starting with a letter or digit (it becomes the tag prefix, `feature` in `feature:refunds`)".into()),
                );
                continue;
            }
            let empty = match values {
                Value::Null => true,
                Value::Array(a) => a.is_empty(),
                Value::Object(m) => m.is_empty(),
                _ => false,
            };
            if empty {
                self.push(
                    &path,
                    true,
                    format!("dimension `{name}` has no values"),
                    Some(format!("give `{name}` at least one value with a one-line description, e.g. `{name}: {{example: what it means}}`, or remove it")),
                );
                continue;
            }
            let Value::Object(map) = values else {
                self.push(
                    &path,
                    true,
                    format!("dimension `{name}` must be a map of values to one-line descriptions, not {}", crate::text::kind_of(values)),
                    Some(format!("write `{name}: {{value: what the value means, ...}}`")),
                );
                continue;
            };
            if map.len() > MAX_DIMENSION_VALUES {
                self.push(
                    &path,
                    true,
                    format!(
                        "dimension `{name}` has {} values, more than {MAX_DIMENSION_VALUES}",
                        map.len()
                    ),
                    Some("group the values into fewer, broader ones".into()),
                );
                continue;
            }
            let mut values = Vec::new();
            for (value, description) in map {
                let vpath = child(&path, value);
                if !ID_RE.is_match(value) || value.len() > 64 {
                    self.push(
                        &vpath,
                        true,
                        format!("invalid value `{value}` of dimension `{name}`"),
                        Some(format!("use at most 64 letters, digits, `_`, `-` and `.`, starting with a letter or digit (it becomes the tag `{name}:VALUE` and part of draft ids)")),
                    );
                    continue;
                }
                match description {
                    Value::String(d) if !d.trim().is_empty() && !d.trim().contains('\n') && d.len() <= 500 => {
                        values.push((value.clone(), d.trim().to_string()));
                    }
                    other => self.push(
                        &vpath,
                        false,
                        format!("value `{value}` of dimension `{name}` needs a one-line description (at most 500 bytes), not {}", match other {
                            Value::String(d) if d.trim().is_empty() => "an empty one".to_string(),
                            Value::String(_) => "several lines or a longer text".to_string(),
                            v => crate::text::kind_of(v).to_string(),
                        }),
                        Some(format!("write `{value}: what the value means, in one line` (the generator reads it)")),
                    ),
                }
            }
            out.push(Dimension {
                name: name.clone(),
                values,
                location,
            });
        }
        out
    }

    /// The suite's variants: those listed under `variants:`, or the cross
    /// product of the `matrix:` axes (not both).
    fn variants(&mut self, raw: &RawSuite) -> Vec<Variant> {
        let listed = self.listed_variants(&raw.variants);
        let Some(matrix) = &raw.matrix else {
            return listed;
        };
        let crossed = self.matrix(matrix);
        if !listed.is_empty() && !matrix.is_empty() {
            self.push(
                &[Seg::Key("matrix".into())],
                true,
                "a suite can declare `variants:` or `matrix:`, not both".into(),
                Some("move the listed variants into matrix axes, or list every combination under `variants:`".into()),
            );
            return listed;
        }
        let mut out = listed;
        out.extend(crossed);
        out
    }

    fn listed_variants(&mut self, raw: &[Value]) -> Vec<Variant> {
        let mut out: Vec<Variant> = Vec::new();
        if raw.len() > MAX_VARIANTS {
            self.push(
                &[Seg::Key("variants".into())],
                true,
                format!(
                    "the suite lists {} variants, more than the {MAX_VARIANTS} a suite may run",
                    raw.len()
                ),
                Some("split the suite into several files".into()),
            );
            return out;
        }
        for (i, v) in raw.iter().enumerate() {
            let base = [Seg::Key("variants".into()), Seg::Index(i)];
            let Some(rv) = self.typed::<RawVariant>(&base, v.clone(), "variant") else {
                continue;
            };
            let target = rv
                .target
                .as_ref()
                .and_then(|t| self.target(&child(&base, "target"), t));
            self.variant_id(&base, &rv.id, &out);
            out.push(Variant {
                id: rv.id,
                vars: rv.vars,
                target,
            });
        }
        out
    }

    /// The cross product of the matrix axes, in the order written; the id
    /// of each combination joins its values with `+`.
    fn matrix(&mut self, matrix: &Map<String, Value>) -> Vec<Variant> {
        if !self.matrix_size_ok(matrix) {
            return Vec::new();
        }
        let mut combos: Vec<(Vec<String>, Map<String, Value>)> = vec![(Vec::new(), Map::new())];
        for (axis, values) in matrix {
            let Some(values) = values.as_array().filter(|a| !a.is_empty()) else {
                self.push(
                    &[Seg::Key("matrix".into()), Seg::Key(axis.clone())],
                    false,
                    format!("matrix axis `{axis}` must be a non-empty list"),
                    Some(
                        "write e.g. `model: [openai:gpt-4.1-mini, anthropic:claude-sonnet-4-5]`"
                            .into(),
                    ),
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
        let variants: Vec<Variant> = combos
            .into_iter()
            .filter(|(ids, _)| !ids.is_empty())
            .map(|(ids, vars)| Variant {
                id: ids.join("+"),
                vars,
                target: None,
            })
            .collect();
        if let Some((message, _)) = variants
            .iter()
            .find_map(|v| too_long("matrix variant id", &v.id))
        {
            self.push(
                &[Seg::Key("matrix".into())],
                true,
                message,
                Some("use shorter values on the matrix axes, or list the variants under `variants:` with short ids and their `vars:`".into()),
            );
            return Vec::new();
        }
        variants
    }

    /// Whether the matrix's cross product is small enough to expand; the
    /// product is computed, not built, so a huge one costs nothing.
    fn matrix_size_ok(&mut self, matrix: &Map<String, Value>) -> bool {
        let sizes: Vec<usize> = matrix
            .values()
            .filter_map(|v| v.as_array().map(Vec::len))
            .filter(|n| *n > 0)
            .collect();
        let product = sizes.iter().try_fold(1usize, |acc, n| acc.checked_mul(*n));
        if product.is_some_and(|p| p <= MAX_VARIANTS) {
            return true;
        }
        let factors = sizes
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" × ");
        let total = product.map_or_else(
            || "more combinations than can be counted".to_string(),
            |p| format!("{p} combinations"),
        );
        self.push(
            &[Seg::Key("matrix".into())],
            true,
            format!("the matrix has {factors} = {total}, more than the {MAX_VARIANTS} variants a suite may run"),
            Some("use fewer axes or values, or split the suite into several files".into()),
        );
        false
    }

    fn variant_id(&mut self, base: &[Seg], id: &str, before: &[Variant]) {
        let p = child(base, "id");
        if let Some((message, hint)) = too_long("variant id", id) {
            self.push(&p, false, message, Some(hint));
        } else if !ID_RE.is_match(id) {
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

    /// A target; a name must be a registered Rust target or one declared
    /// under `targets:`.
    fn target(&mut self, path: &[Seg], value: &Value) -> Option<TargetSpec> {
        let spec = match TargetSpec::parse(value) {
            Ok(spec) => spec,
            Err(e) => {
                self.spec_error(path, e);
                return None;
            }
        };
        let Some(known) = self.known else {
            return Some(spec);
        };
        let mut unknown = false;
        for (inner, name) in spec.names() {
            if known.targets.iter().any(|t| t == name)
                || self.target_names.iter().any(|t| t == name)
            {
                continue;
            }
            let candidates: Vec<&str> = known
                .targets
                .iter()
                .chain(&self.target_names)
                .map(String::as_str)
                .collect();
            let hint = if candidates.is_empty() {
                "no Rust targets are registered: register one in tests/evals.rs with `.target(\"name\", fn)`, or declare it under `targets:`".to_string()
            } else {
                hint(name, candidates.iter().copied())
            };
            let mut at = path.to_vec();
            at.extend(inner);
            self.push(&at, false, format!("unknown target `{name}`"), Some(hint));
            unknown = true;
        }
        (!unknown).then_some(spec)
    }

    /// Parses and validates one check; `before` are the checks above it in
    /// its case (suite defaults first), which its `when:` may name, and
    /// `after` the ones written below it.
    /// `tools` are the case target's tools (see [`Loader::target_tools`]).
    fn check(
        &mut self,
        path: &[Seg],
        value: &Value,
        before: &[CheckSpec],
        after: &[Value],
        tools: &[(String, Value)],
    ) -> Option<CheckSpec> {
        match self.parse_check(path, value, before, after, tools) {
            Ok(spec) => Some(spec),
            Err(e) => {
                self.spec_error(path, e);
                None
            }
        }
    }

    fn parse_check(
        &self,
        path: &[Seg],
        value: &Value,
        before: &[CheckSpec],
        after: &[Value],
        tools: &[(String, Value)],
    ) -> Result<CheckSpec, SpecError> {
        let span = self.at(path, false);
        let earlier: Vec<String> = before.iter().map(|c| c.name.clone()).collect();
        let later: Vec<String> = after.iter().filter_map(CheckSpec::display_name).collect();
        let cx = ParseCx {
            span: &span,
            suite_dir: &self.dir,
            judge: &self.judge,
            rust_checks: self.known.map(|k| k.checks.as_slice()),
            earlier: &earlier,
            later: &later,
            target_tools: tools,
        };
        CheckSpec::parse(value, &cx)
    }

    /// One case, with the suite's defaults merged in; `None` when anything
    /// in it is wrong (every problem is reported).
    fn case(
        &mut self,
        base: &[Seg],
        rc: RawCase,
        misspelled: bool,
        defaults: &Defaults,
    ) -> Option<Case> {
        let errors_before = self.errors.len();
        let target = self.case_target(base, &rc, misspelled, defaults);
        let checks = self.case_checks(base, &rc, misspelled, defaults, target.as_ref());
        let threshold = rc.threshold.or(defaults.raw.threshold).unwrap_or(1.0);
        if let Some(t) = rc.threshold {
            self.threshold(&child(base, "threshold"), t);
        }
        let skip = self.skip(&child(base, "skip"), rc.skip.as_ref());
        let repeat = self.repeat(base, rc.repeat.as_ref(), defaults.raw.repeat.as_ref());
        if let Some(only) = &rc.variants {
            self.only_variants(&child(base, "variants"), only, &defaults.variants);
        }
        self.conversation_input(&child(base, "input"), rc.input.as_ref());
        let script = self.script(base, &rc);
        if let Some(TargetSpec::Prompt(p)) = &target {
            self.tool_functions(&child(base, "target"), p);
        }
        self.check_steps(base, &rc, target.as_ref(), defaults);
        if self.errors.len() > errors_before {
            return None;
        }
        let tags = merged_tags(&defaults.raw.tags, rc.tags);
        let input = rc.input.unwrap_or(Value::Null);
        let vars = merged_vars(&defaults.raw.vars, rc.vars, &input);
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
            gate: rc.gate.or(defaults.raw.gate).unwrap_or_default(),
            skip,
            only_variants: rc.variants,
            script,
            repeat,
        })
    }

    /// `repeat:` of a case, else of `defaults:` (reported once per case
    /// that uses a broken default, at the default).
    fn repeat(
        &mut self,
        base: &[Seg],
        own: Option<&Value>,
        default: Option<&Value>,
    ) -> Option<crate::repeat::Repeat> {
        let (path, value) = match (own, default) {
            (Some(v), _) => (child(base, "repeat"), v),
            (None, Some(v)) => (
                vec![Seg::Key("defaults".into()), Seg::Key("repeat".into())],
                v,
            ),
            (None, None) => return None,
        };
        match crate::repeat::Repeat::parse(value) {
            Ok(r) => Some(r),
            Err(e) => {
                self.spec_error(&path, e);
                None
            }
        }
    }

    /// The step names of a target when it is a pipeline (written in place
    /// or named under `targets:`); `None` for any other target, whose
    /// output's steps (a Rust target's, a tool loop's) are known only when
    /// it runs.
    fn pipeline_steps(&self, target: &TargetSpec) -> Option<Vec<String>> {
        match target {
            TargetSpec::Pipeline(p) => Some(p.steps.iter().map(|s| s.name.clone()).collect()),
            TargetSpec::Named(n) => match self.named.iter().find(|(name, _)| name == n) {
                Some((_, TargetSpec::Pipeline(p))) => {
                    Some(p.steps.iter().map(|s| s.name.clone()).collect())
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The tools a target offers the model (`tools:` of a `prompt` target,
    /// written in place or named under `targets:`, or of a pipeline's
    /// prompt steps), each with the JSON Schema of its arguments. Tools
    /// defined twice keep their first schema.
    fn target_tools(&self, target: &TargetSpec) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = Vec::new();
        let mut add = |spec: &TargetSpec| {
            if let TargetSpec::Prompt(p) = spec
                && let Ok(tools) = crate::target::tools::definitions(&p.tools)
            {
                for t in tools {
                    if !out.iter().any(|(n, _)| *n == t.name) {
                        out.push((t.name, t.parameters));
                    }
                }
            }
        };
        let named = |spec: &TargetSpec| match spec {
            TargetSpec::Named(n) => self
                .named
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, s)| s.clone()),
            other => Some(other.clone()),
        };
        match named(target) {
            Some(TargetSpec::Pipeline(p)) => {
                for step in &p.steps {
                    if let Some(spec) = named(&step.target) {
                        add(&spec);
                    }
                }
            }
            Some(spec) => add(&spec),
            None => {}
        }
        out
    }

    /// Checks that address a step (`step: NAME`, `output: steps.NAME…`) of
    /// a case whose target is a pipeline name one of its steps. Under
    /// variants with their own targets, every target that applies must be a
    /// pipeline, and the step must be in one of them.
    fn check_steps(
        &mut self,
        base: &[Seg],
        rc: &RawCase,
        target: Option<&TargetSpec>,
        defaults: &Defaults,
    ) {
        let variant_targets: Vec<&TargetSpec> = defaults
            .variants
            .iter()
            .filter_map(|v| v.target.as_ref())
            .collect();
        let mut applying: Vec<&TargetSpec> = variant_targets.clone();
        if variant_targets.len() < defaults.variants.len() || defaults.variants.is_empty() {
            applying.extend(target);
        }
        let mut names: Vec<String> = Vec::new();
        for t in &applying {
            match self.pipeline_steps(t) {
                Some(steps) => {
                    for s in steps {
                        if !names.contains(&s) {
                            names.push(s);
                        }
                    }
                }
                None => return,
            }
        }
        if applying.is_empty() {
            return;
        }
        let defaults_path = child(&[Seg::Key("defaults".into())], "checks");
        let written = defaults
            .raw
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| (item(&defaults_path, i), c))
            .chain(
                rc.checks
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (item(&child(base, "checks"), i), c)),
            );
        let mut problems = Vec::new();
        let from_defaults = defaults.raw.checks.len();
        for (i, (path, check)) in written.enumerate() {
            let text = |k: &str| check.get(k).and_then(Value::as_str);
            let Ok(address) = crate::check::OutputPath::parse(text("output"), text("step")) else {
                continue;
            };
            let Some(step) = address.step_name() else {
                continue;
            };
            if names.iter().any(|n| n == step) {
                continue;
            }
            let key = if text("step").is_some() {
                "step"
            } else {
                "output"
            };
            let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            let hint = match diag::did_you_mean(step, names.iter().map(String::as_str)) {
                Some(best) => format!(
                    "did you mean `{best}`? the pipeline's steps are {}",
                    list.join(", ")
                ),
                None => format!("the pipeline's steps are {}", list.join(", ")),
            };
            problems.push((
                child(&path, key),
                format!(
                    "`{key}: {}` names the step `{step}`, which {} does not have",
                    text(key).unwrap_or_default(),
                    if i < from_defaults {
                        format!(
                            "the pipeline of case `{}` (a default check applies to every case)",
                            rc.id
                        )
                    } else {
                        "the case's pipeline".to_string()
                    }
                ),
                hint,
            ));
        }
        for (path, message, hint) in problems {
            let location = self.at(&path, false);
            // A default check is the same mistake for every case: said once.
            if self.errors.iter().any(|e| {
                e.location == location
                    && e.message
                        .starts_with(&message[..message.find(" which ").unwrap_or(message.len())])
            }) {
                continue;
            }
            self.push(&path, false, message, Some(hint));
        }
    }

    /// A list `input:` of messages: each a `{role, content}` mapping with a
    /// known role, ending with a message the target answers. A list of
    /// anything else is plain data; an empty list is neither.
    fn conversation_input(&mut self, path: &[Seg], input: Option<&Value>) {
        let Some(Value::Array(items)) = input else {
            return;
        };
        if items.is_empty() {
            self.push(
                path,
                false,
                "`input: []` is an empty list: a conversation needs at least one message".into(),
                Some("write a list of messages such as `[{role: user, content: Hello}]`, a string, or a map of variables".into()),
            );
            return;
        }
        if !crate::chat::is_conversation(&Value::Array(items.clone())) {
            return;
        }
        let roles = ["system", "user", "assistant", "tool"];
        for (i, m) in items.iter().enumerate() {
            let p = item(path, i);
            let Some(obj) = m.as_object() else {
                self.push(
                    &p,
                    false,
                    format!("input[{i}] is not a message: the other items are messages"),
                    Some("write every message as `{role: user, content: …}`".into()),
                );
                continue;
            };
            for k in obj.keys() {
                if !crate::chat::MESSAGE_KEYS.contains(&k.as_str()) {
                    self.push(
                        &child(&p, k),
                        true,
                        format!("unknown message key `{k}`"),
                        Some(hint(k, crate::chat::MESSAGE_KEYS.iter().copied())),
                    );
                }
            }
            let role = match obj.get("role") {
                None => {
                    self.push(
                        &p,
                        false,
                        "a message needs a `role`".into(),
                        Some("add `role: user` (or `system`, `assistant`, `tool`)".into()),
                    );
                    continue;
                }
                Some(Value::String(r)) if roles.contains(&r.as_str()) => r.as_str(),
                Some(other) => {
                    let word = crate::text::of_value(other);
                    self.push(
                        &child(&p, "role"),
                        false,
                        format!("unknown role `{word}`"),
                        Some(hint(&word, roles)),
                    );
                    continue;
                }
            };
            let calls = obj.get("tool_calls");
            match obj.get("content") {
                Some(Value::String(_)) => {}
                None if role == "assistant" && calls.is_some() => {}
                None => self.push(
                    &p,
                    false,
                    format!("a `{role}` message needs a `content`"),
                    Some("add `content: <text>`".into()),
                ),
                Some(_) => self.push(
                    &child(&p, "content"),
                    false,
                    "a message's `content` is text".into(),
                    Some("quote it: `content: \"...\"`".into()),
                ),
            }
            if let Some(calls) = calls {
                if role != "assistant" {
                    self.push(
                        &child(&p, "tool_calls"),
                        true,
                        format!("a `{role}` message cannot have `tool_calls`"),
                        Some("tool calls belong to `assistant` messages".into()),
                    );
                } else if serde_json::from_value::<Vec<crate::chat::ToolCall>>(calls.clone())
                    .is_err()
                {
                    self.push(
                        &child(&p, "tool_calls"),
                        false,
                        "`tool_calls` is a list of `{id, name, arguments}`".into(),
                        Some(
                            "write e.g. `[{id: call_1, name: get_order, arguments: {id: 7}}]`"
                                .into(),
                        ),
                    );
                }
            }
            if role == "tool" && !obj.get("tool_call_id").is_some_and(Value::is_string) {
                self.push(
                    &p,
                    false,
                    "a `tool` message needs the `tool_call_id` of the call it answers".into(),
                    Some("add `tool_call_id: <the id of an assistant message's call>`".into()),
                );
            }
            if i + 1 == items.len() && role == "assistant" {
                self.push(
                    &p,
                    false,
                    "the conversation ends with an `assistant` message: the target answers the last message".into(),
                    Some("end with the `user` (or `tool`) message the target should answer".into()),
                );
            }
        }
    }

    /// `turns:` or `simulated_user:`, checked.
    fn script(&mut self, base: &[Seg], rc: &RawCase) -> Option<Script> {
        if rc.turns.is_some() && rc.simulated_user.is_some() {
            self.push(
                &child(base, "simulated_user"),
                true,
                "a case has either scripted `turns` or a `simulated_user`, not both".into(),
                None,
            );
            return None;
        }
        if rc.output.is_some() && (rc.turns.is_some() || rc.simulated_user.is_some()) {
            let key = if rc.turns.is_some() {
                "turns"
            } else {
                "simulated_user"
            };
            self.push(
                &child(base, key),
                true,
                format!("`{key}` talks with a target, and this case has a fixed `output`"),
                Some("remove `output` to call the target".into()),
            );
            return None;
        }
        if let Some(turns) = &rc.turns {
            let path = child(base, "turns");
            let list = match turns {
                Value::Array(l) if !l.is_empty() && l.len() <= MAX_TURNS => l,
                Value::Array(l) if l.len() > MAX_TURNS => {
                    self.push(
                        &path,
                        false,
                        format!(
                            "{} turns, more than the {MAX_TURNS} a case may script",
                            l.len()
                        ),
                        Some("split the conversation into several cases".into()),
                    );
                    return None;
                }
                _ => {
                    self.push(
                        &path,
                        false,
                        "`turns` is a non-empty list of user messages".into(),
                        Some("write e.g. `turns: [\"It is order 123.\", \"Thanks!\"]`".into()),
                    );
                    return None;
                }
            };
            let mut out = Vec::new();
            for (i, t) in list.iter().enumerate() {
                match t {
                    Value::String(s) if !s.trim().is_empty() => out.push(s.clone()),
                    _ => self.push(
                        &item(&path, i),
                        false,
                        "a turn is the user's message, as text".into(),
                        Some("write the message as a string".into()),
                    ),
                }
            }
            return (out.len() == list.len()).then_some(Script::Turns(out));
        }
        let raw = rc.simulated_user.clone()?;
        let path = child(base, "simulated_user");
        let sim: SimulatedUser = self.typed(&path, raw, "simulated_user")?;
        if let Some(re) = &sim.stop_when
            && let Err(e) = Regex::new(re)
        {
            self.push(
                &child(&path, "stop_when"),
                false,
                format!(
                    "invalid regex {re:?} in `stop_when`: {}",
                    e.to_string().lines().last().unwrap_or_default()
                ),
                Some("quote patterns with single quotes in YAML so backslashes survive: stop_when: '\\bDONE\\b'".into()),
            );
            return None;
        }
        if let Err(e) = Script::max_turns(&sim) {
            self.push(&child(&path, "max_turns"), false, e, None);
            return None;
        }
        Some(Script::Simulated(sim))
    }

    /// The Rust functions a prompt target's `tools_from` calls must be
    /// registered (when the registered names are known).
    fn tool_functions(&mut self, path: &[Seg], p: &crate::target::prompt::PromptTarget) {
        let Some(known) = self.known else {
            return;
        };
        for (tool, name) in p.tool_functions() {
            if !known.targets.contains(&name) {
                let h = if known.targets.is_empty() {
                    format!("register it in tests/evals.rs with `.target(\"{name}\", f)`")
                } else {
                    hint(&name, known.targets.iter().map(String::as_str))
                };
                self.push(
                    &[
                        path,
                        &[
                            Seg::Key("prompt".into()),
                            Seg::Key("tools_from".into()),
                            Seg::Key(tool.clone()),
                        ],
                    ]
                    .concat(),
                    false,
                    format!(
                        "tool `{tool}` maps to the Rust function `{name}`, which is not registered"
                    ),
                    Some(h),
                );
            }
        }
    }

    /// The case's target (its own, else the default), and whether the case
    /// has exactly one of a target and a fixed output.
    fn case_target(
        &mut self,
        base: &[Seg],
        rc: &RawCase,
        misspelled: bool,
        defaults: &Defaults,
    ) -> Option<TargetSpec> {
        let target = match &rc.target {
            Some(t) => self.target(&child(base, "target"), t),
            None => defaults.target.clone(),
        };
        if rc.output.is_some() && rc.target.is_some() {
            self.push(
                &child(base, "output"),
                true,
                "a case has either a fixed `output` or a `target`, not both".into(),
                Some("remove `output` to call the target, or remove `target` to check the fixed output".into()),
            );
        }
        let has_variant_targets =
            !defaults.variants.is_empty() && defaults.variants.iter().all(|v| v.target.is_some());
        // A target that is written but invalid is reported where it is
        // written; the case does not also claim to have none.
        if !misspelled
            && rc.output.is_none()
            && rc.target.is_none()
            && defaults.raw.target.is_none()
            && !has_variant_targets
        {
            self.push(
                &child(base, "id"),
                true,
                format!("case `{}` has no target and no fixed output", rc.id),
                Some("add `target: <name>` to the case or `defaults: {target: <name>}` to the suite, or give a fixed `output:`".into()),
            );
        }
        target
    }

    /// The suite's default checks followed by the case's own.
    fn case_checks(
        &mut self,
        base: &[Seg],
        rc: &RawCase,
        misspelled: bool,
        defaults: &Defaults,
        target: Option<&TargetSpec>,
    ) -> Vec<CheckSpec> {
        let tools = target.map(|t| self.target_tools(t)).unwrap_or_default();
        let mut checks = defaults.checks.clone();
        let default_tools = defaults
            .target
            .as_ref()
            .map(|t| self.target_tools(t))
            .unwrap_or_default();
        let deferred = default_tools.is_empty() && defaults.raw.checks.iter().any(is_tool_args);
        if deferred || (rc.target.is_some() && tools != default_tools) {
            // The default checks read the tools of the case's own target
            // (`tool_args` without `schemas:`). Other errors were reported
            // once, with the suite's target; a `tool_args` one is reported
            // here, once.
            let defaults_path = child(&[Seg::Key("defaults".into())], "checks");
            checks.clear();
            for (i, c) in defaults.raw.checks.iter().enumerate() {
                let after = &defaults.raw.checks[i + 1..];
                let path = item(&defaults_path, i);
                match self.parse_check(&path, c, &checks, after, &tools) {
                    Ok(spec) => checks.push(spec),
                    Err(e) if is_tool_args(c) => {
                        let mut at = path.clone();
                        at.extend(e.path.iter().cloned());
                        let location = self.at(&at, e.at_key);
                        if !self
                            .errors
                            .iter()
                            .any(|x| x.location == location && x.message == e.message)
                        {
                            self.spec_error(&path, e);
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        let path = child(base, "checks");
        checks.reserve_exact(rc.checks.len());
        for (i, c) in rc.checks.iter().enumerate() {
            if let Some(spec) = self.check(&item(&path, i), c, &checks, &rc.checks[i + 1..], &tools)
            {
                checks.push(spec);
            }
        }
        // Checks that are written but invalid are reported one by one; the
        // case does not also claim to have none.
        if !misspelled && defaults.raw.checks.is_empty() && rc.checks.is_empty() {
            self.push(
                &child(base, "id"),
                true,
                format!("case `{}` has no checks", rc.id),
                Some("add `checks:` to the case or `defaults: {checks: [...]}` to the suite; a case with nothing to check would always pass".into()),
            );
        }
        checks
    }

    /// `skip:` takes a reason; `false` and `~` mean not skipped.
    fn skip(&mut self, path: &[Seg], skip: Option<&Value>) -> Option<String> {
        match skip {
            None | Some(Value::Bool(false)) | Some(Value::Null) => None,
            Some(Value::String(reason)) if !reason.trim().is_empty() => Some(reason.clone()),
            Some(_) => {
                self.push(
                    path,
                    false,
                    "`skip` takes the reason the case is skipped".into(),
                    Some("write e.g. `skip: \"flaky upstream API, see #12\"`".into()),
                );
                None
            }
        }
    }

    /// A case's `variants:` must name variants of the suite.
    fn only_variants(&mut self, path: &[Seg], only: &[String], variants: &[Variant]) {
        for (i, id) in only.iter().enumerate() {
            if !variants.iter().any(|v| &v.id == id) {
                let ids: Vec<&str> = variants.iter().map(|v| v.id.as_str()).collect();
                let h = if ids.is_empty() {
                    "the suite declares no variants".to_string()
                } else {
                    hint(id, ids.iter().copied())
                };
                self.push(
                    &item(path, i),
                    false,
                    format!("unknown variant `{id}`"),
                    Some(h),
                );
            }
        }
    }
}

/// The suite's default tags, then the case's own that are new.
/// Whether a check as written is a `tool_args` check.
fn is_tool_args(check: &Value) -> bool {
    check.get("tool_args").is_some()
}

fn merged_tags(defaults: &[String], own: Vec<String>) -> Vec<String> {
    let mut tags = defaults.to_vec();
    for t in own {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    tags
}

/// Variables: the suite's defaults, overridden by the case's `vars:`, then
/// by the keys of a mapping `input:`.
fn merged_vars(
    defaults: &Map<String, Value>,
    own: Map<String, Value>,
    input: &Value,
) -> Map<String, Value> {
    let mut vars = defaults.clone();
    vars.extend(own);
    if let Value::Object(map) = input {
        for (k, v) in map {
            vars.insert(k.clone(), v.clone());
        }
    }
    vars
}

/// `cases_from:`: cases read from data files (`files.rs`).
impl Loader<'_> {
    /// The rows of the data file(s) named by `cases_from:` (one mapping or
    /// a list), as cases with the suite's defaults, after `cases`; a row
    /// that cannot become a case is a bad row of its own.
    fn cases_from(
        &mut self,
        from: &Value,
        suite: &str,
        defaults: &Defaults,
        cases: &mut Vec<Case>,
    ) {
        let base = vec![Seg::Key("cases_from".into())];
        match from {
            Value::Array(list) if !list.is_empty() => {
                for (i, one) in list.iter().enumerate() {
                    self.one_cases_from(&item(&base, i), one, suite, defaults, cases);
                }
            }
            Value::Object(_) => self.one_cases_from(&base, from, suite, defaults, cases),
            _ => self.push(
                &base,
                true,
                "`cases_from` must be a mapping such as `{file: data/questions.jsonl}`, or a list of them".into(),
                Some("see docs/datasets.md".into()),
            ),
        }
    }

    fn one_cases_from(
        &mut self,
        path: &[Seg],
        value: &Value,
        suite: &str,
        defaults: &Defaults,
        cases: &mut Vec<Case>,
    ) {
        let before = self.errors.len();
        let Some(mapping) = self.typed::<super::files::Mapping>(path, value.clone(), "cases_from")
        else {
            return;
        };
        if self.errors.len() > before {
            // A misspelled key was reported: what it would have mapped is
            // not also reported missing from the file.
            return;
        }
        let problem = |this: &mut Self, display: Option<&str>, p: super::files::FileProblem| {
            let hint = Some(p.hint);
            match (p.at, display) {
                (Some((line, col)), Some(file)) => this.errors.push(LoadError {
                    location: Location {
                        file: file.into(),
                        line,
                        col,
                    },
                    message: p.message,
                    hint,
                }),
                _ => {
                    let at = p.key.map_or_else(|| path.to_vec(), |k| child(path, k));
                    this.push(&at, false, p.message, hint);
                }
            }
        };
        let (file, display) = match super::files::locate(&mapping, &self.dir, &self.project) {
            Ok(found) => found,
            Err(p) => return problem(self, None, p),
        };
        let rows = match super::files::read(&mapping, &file, display.clone()) {
            Ok(rows) => rows,
            Err(p) => return problem(self, Some(&display), p),
        };
        let Some(template) = self.row_template(path, &mapping, defaults) else {
            return;
        };
        let data_file: Arc<str> = rows.display.as_str().into();
        let at = |line: u32, col: u32| Location {
            file: data_file.clone(),
            line,
            col,
        };
        let mut seen: BTreeMap<String, Location> = cases
            .iter()
            .map(|c| (c.id.clone(), c.location.clone()))
            .collect();
        let longest_variant = defaults
            .variants
            .iter()
            .map(|v| v.id.as_str())
            .max_by_key(|v| snapshot_file_name(suite, "", Some(v)).len());
        let mut bad = Vec::new();
        for row in rows.rows {
            let row = row.and_then(|r| {
                let problem = |message: String, hint: &str| super::files::RowProblem {
                    row_line: r.line,
                    line: r.id_at.map_or(r.line, |a| a.0),
                    col: r.id_at.map_or(r.col, |a| a.1),
                    message,
                    hint: hint.into(),
                };
                if let Some(first) = seen.get(&r.id) {
                    return Err(problem(
                        format!("duplicate case id `{}` (first used at {first})", r.id),
                        if r.id_at.is_some() {
                            "case ids must be unique within a suite: rename one of them"
                        } else {
                            "the two rows have the same content, so the same id: remove one, or give the rows an `id` column"
                        },
                    ));
                }
                let n = snapshot_file_name(suite, &r.id, longest_variant).len();
                if n > MAX_FILE_NAME_BYTES {
                    return Err(problem(
                        format!("the snapshot file name of case `{}` would be {n} bytes, more than {MAX_FILE_NAME_BYTES}", r.id),
                        "shorten the case id, the suite name or the variant ids",
                    ));
                }
                if r.input.is_array() && crate::chat::messages_of(&r.input).is_none() {
                    return Err(problem(
                        "the input is a list, but not of `{role, content}` messages".into(),
                        "write the input as a string, a map of variables, or a list of messages",
                    ));
                }
                Ok(r)
            });
            match row {
                Ok(r) => {
                    let location = at(r.line, r.col);
                    seen.insert(r.id.clone(), location.clone());
                    let mut case = template.clone();
                    case.vars = merged_vars(&defaults.raw.vars, r.vars, &r.input);
                    case.tags = merged_tags(&defaults.raw.tags, r.tags);
                    case.id = r.id;
                    case.description = r.description;
                    case.input = r.input;
                    case.expected = r.expected;
                    if r.output.is_some() {
                        case.output = r.output;
                    }
                    case.location = location;
                    cases.push(case);
                }
                Err(p) => bad.push(super::BadRow {
                    name: format!("{}:{}", rows.display, p.row_line),
                    error: LoadError {
                        location: at(p.line, p.col),
                        message: p.message,
                        hint: Some(p.hint),
                    },
                }),
            }
        }
        if bad.len() > MAX_ERRORS {
            // So many bad rows are one mistake (a wrong mapping, the wrong
            // file): the file does not run, and says so once.
            self.push(
                path,
                true,
                format!(
                    "{} of the rows of {} cannot become cases (the first problems follow)",
                    bad.len(),
                    rows.display
                ),
                Some("check the mapping of `cases_from:` against the file's fields".into()),
            );
            self.errors.extend(bad.into_iter().map(|b| b.error));
        } else {
            self.bad_rows.extend(bad);
        }
    }

    /// The case every row starts from: the suite's defaults (target,
    /// checks, threshold, gate), checked once for the whole file.
    fn row_template(
        &mut self,
        path: &[Seg],
        mapping: &super::files::Mapping,
        defaults: &Defaults,
    ) -> Option<Case> {
        let has_variant_targets =
            !defaults.variants.is_empty() && defaults.variants.iter().all(|v| v.target.is_some());
        if mapping.output.is_none() && defaults.raw.target.is_none() && !has_variant_targets {
            self.push(
                path,
                true,
                "cases from a file have no target: they take the suite's `defaults.target`".into(),
                Some("add `defaults: {target: <name>}` to the suite, or map a column of fixed outputs with `output:`".into()),
            );
            return None;
        }
        if defaults.raw.checks.is_empty() {
            self.push(
                path,
                true,
                "cases from a file have no checks: they take the suite's `defaults.checks`".into(),
                Some("add `defaults: {checks: [...]}` to the suite; a case with nothing to check would always pass".into()),
            );
            return None;
        }
        let rc = RawCase {
            id: "row".into(),
            output: mapping.output.as_ref().map(|_| Value::Null),
            ..RawCase::default()
        };
        self.case(path, rc, false, defaults)
    }
}

/// The error for a name longer than [`MAX_ID_CHARS`], if it is.
fn too_long(what: &str, id: &str) -> Option<(String, String)> {
    let n = id.chars().count();
    (n > MAX_ID_CHARS).then(|| {
        let start: String = id.chars().take(24).collect();
        (
            format!("{what} `{start}…` is {n} characters long, more than {MAX_ID_CHARS}"),
            format!("names become trial and snapshot file names: shorten it to at most {MAX_ID_CHARS} characters"),
        )
    })
}

/// What is wrong with `id` as a case id (too long, or characters a trial
/// or snapshot file name cannot hold), as (message, hint); `what` names it
/// (`case id`, `draft id`).
pub fn id_problem(what: &str, id: &str) -> Option<(String, String)> {
    if let Some(problem) = too_long(what, id) {
        return Some(problem);
    }
    (!ID_RE.is_match(id)).then(|| {
        (
            format!("invalid {what} `{id}`"),
            "ids name trials and snapshot files: use letters, digits, `_`, `-` and `.`, starting with a letter or digit".into(),
        )
    })
}

fn variant_id_part(value: &Value) -> String {
    crate::text::of_value(value)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_measures_the_snapshot_file_name_the_snapshot_module_writes() {
        for (suite, case, variant) in [
            ("s", "a", None),
            ("support", "refund__window", Some("openai-gpt-4.1+v2")),
            ("_x_", "a.b", Some("__")),
        ] {
            let path = crate::snapshot::snapshot_path(Path::new("evals"), suite, case, variant);
            let written = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            assert_eq!(snapshot_file_name(suite, case, variant), written);
        }
    }
}
