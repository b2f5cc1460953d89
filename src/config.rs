//! Configuration: every environment variable tribunal reads and the project
//! file `tribunal.yaml`, resolved in one place with one precedence:
//!
//! **command-line flag > environment variable > `tribunal.yaml` > default.**
//!
//! (`tribunal run` passes its flags to the test binary as the variables
//! below, so a flag wins by setting the variable.) Every invalid value is an
//! error that names the variable or the file position and says what is
//! accepted; nothing is silently replaced by a default. Empty variables count
//! as unset. The table of variables and keys is `docs/configuration.md`.
//!
//! [`Config::resolve`] reads everything for a run; the few informational
//! values read where they are used (the run label, the branch) have their
//! reader here too, so every name tribunal reads is in this file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::case::yaml::{self, Node, NodeValue};
use crate::case::{LoadError, Location};
use crate::diag::{Seg, explain_serde, hint, path_text};
use crate::provider::cassette::Mode;
use crate::provider::price::Price;
use crate::provider::retry::RetryPolicy;
use crate::provider::{
    NamedProvider, ProjectConfig,
    config::{CassetteConfig, LimitsConfig},
};

/// Runs kept in the history when `TRIBUNAL_HISTORY_KEEP` is not set.
pub const DEFAULT_HISTORY_KEEP: usize = 500;
/// The trial timeout when neither `TRIBUNAL_TRIAL_TIMEOUT` nor
/// `run.trial_timeout_s` sets one, in seconds.
pub const DEFAULT_TRIAL_TIMEOUT_S: f64 = 600.0;
/// The longest trial timeout accepted, in seconds (one day).
pub const MAX_TRIAL_TIMEOUT_S: f64 = 86_400.0;
/// Trials evaluated at once when nothing sets it.
pub const DEFAULT_CONCURRENCY: usize = 64;
/// The most trials evaluated at once that can be configured.
pub const MAX_CONCURRENCY: usize = 4096;
/// The project configuration file, at the project root.
pub const FILE_NAME: &str = "tribunal.yaml";

/// Largest `tribunal.yaml` read (1 MiB); a larger file is an error.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Where variables come from: the process environment, or a fixed set (for
/// tests and tools that must not depend on the caller's environment).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    inherit: bool,
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env {
            vars: BTreeMap::new(),
            inherit: true,
        }
    }

    /// Exactly these variables; the process environment is not consulted.
    pub fn from_vars<I, K, V>(vars: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            inherit: false,
        }
    }

    /// The trimmed value of `name`; unset and empty are both `None`.
    pub fn get(&self, name: &str) -> Option<String> {
        let raw = match self.vars.get(name) {
            Some(v) => Some(v.clone()),
            None if self.inherit => std::env::var(name).ok(),
            None => None,
        };
        raw.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// Whether this environment says the process runs in CI (see [`is_ci`]).
    pub fn ci(&self) -> bool {
        is_ci(self.get("CI").as_deref(), self.get("TF_BUILD").as_deref())
    }
}

/// Whether the environment says this is CI: `CI` set to anything but empty,
/// `0` or `false` (as insta and most CI services do), or Azure's `TF_BUILD`.
/// In CI nothing is written silently: no snapshots, no cassettes.
pub fn is_ci(ci: Option<&str>, tf_build: Option<&str>) -> bool {
    truthy(ci) || truthy(tf_build)
}

/// An environment flag is on when set to anything but empty, `0` or `false`.
pub(crate) fn truthy(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some(s) if !s.is_empty() && s != "0" && !s.eq_ignore_ascii_case("false"))
}

/// [`is_ci`] on this process's environment.
pub fn ci_from_env() -> bool {
    Env::process().ci()
}

/// `TRIBUNAL_RUN_LABEL`: a free-text label stored with the run's results.
pub fn run_label() -> Option<String> {
    Env::process().get("TRIBUNAL_RUN_LABEL")
}

/// `GITHUB_HEAD_REF`: the pull request's branch in GitHub Actions, used when
/// the checkout is a detached HEAD.
pub fn github_head_ref() -> Option<String> {
    Env::process().get("GITHUB_HEAD_REF")
}

/// `INSTA_SNAPSHOT_REFERENCES_FILE`: where `cargo insta test --unreferenced`
/// asks a run to list the snapshots it used.
pub fn snapshot_references_file() -> Option<PathBuf> {
    Env::process()
        .get("INSTA_SNAPSHOT_REFERENCES_FILE")
        .map(PathBuf::from)
}

/// How missing and changed snapshots are written (`INSTA_UPDATE`, with
/// insta's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// `new` locally, `no` in CI.
    Auto,
    /// Write `.snap.new` files for review.
    New,
    /// Overwrite `.snap` files that changed and write missing ones.
    Always,
    /// Write new snapshots as `.snap`, changed ones as `.snap.new`.
    Unseen,
    /// Write nothing.
    No,
    /// Like `always`, and also rewrite snapshots whose verdict did not
    /// change (refreshing their header).
    Force,
}

impl UpdateMode {
    /// Parses insta's spellings: `auto`, `new`, `always` (or `1`), `unseen`,
    /// `no` (or `0`), `force`.
    pub fn parse(s: &str) -> Option<UpdateMode> {
        Some(match s {
            "auto" => UpdateMode::Auto,
            "new" => UpdateMode::New,
            "always" | "1" => UpdateMode::Always,
            "unseen" => UpdateMode::Unseen,
            "no" | "0" => UpdateMode::No,
            "force" => UpdateMode::Force,
            _ => return None,
        })
    }
}

/// Snapshot behaviour for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotSettings {
    /// How missing and changed snapshots are written.
    pub update: UpdateMode,
    /// Report snapshot mismatches without failing (`INSTA_FORCE_PASS`).
    pub force_pass: bool,
    /// Running in CI: nothing is written silently.
    pub ci: bool,
}

impl SnapshotSettings {
    /// Settings with the given behaviour.
    pub fn new(update: UpdateMode, force_pass: bool, ci: bool) -> SnapshotSettings {
        SnapshotSettings {
            update,
            force_pass,
            ci,
        }
    }

    /// Reads `INSTA_UPDATE`, `INSTA_FORCE_PASS` and the CI detection from
    /// the process environment; an invalid value is an error naming it.
    pub fn from_env() -> Result<SnapshotSettings, ConfigErrors> {
        let env = Env::process();
        let mut errors = Vec::new();
        let settings = snapshot_settings(&env, env.ci(), &mut errors);
        ConfigErrors::result(settings, errors)
    }

    /// Builds settings from given variable values, for tests and tools.
    /// Values that are not valid count as unset; [`Config::resolve`] is the
    /// checked way.
    #[doc(hidden)]
    pub fn from_vars(update: Option<&str>, force_pass: Option<&str>, ci: bool) -> SnapshotSettings {
        SnapshotSettings {
            update: update
                .map(str::trim)
                .and_then(UpdateMode::parse)
                .unwrap_or(UpdateMode::Auto),
            force_pass: truthy(force_pass),
            ci,
        }
    }

    /// The mode that applies: `auto` is `no` in CI and `new` elsewhere.
    ///
    /// Under CI nothing in the tree is written (or deleted), whatever
    /// `INSTA_UPDATE` says.
    pub fn effective(&self) -> UpdateMode {
        match self.update {
            _ if self.ci => UpdateMode::No,
            UpdateMode::Auto => UpdateMode::New,
            other => other,
        }
    }
}

/// One invalid setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable with a value that is not accepted.
    #[error("{name}=`{value}` is not {what} (hint: {accepted})")]
    Var {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What the value should be.
        what: &'static str,
        /// The values accepted.
        accepted: &'static str,
    },
    /// A problem in `tribunal.yaml`, at its position.
    #[error(transparent)]
    File(#[from] LoadError),
    /// `tribunal.yaml` exists but cannot be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
}

/// Every invalid setting found, in the order checked (variables, then the
/// file in file order).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl ConfigErrors {
    fn result<T>(value: T, errors: Vec<ConfigError>) -> Result<T, ConfigErrors> {
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// The `run:` section of `tribunal.yaml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// The timeout of one trial, in seconds (`TRIBUNAL_TRIAL_TIMEOUT`).
    pub trial_timeout_s: Option<f64>,
    /// Trials evaluated at once (`TRIBUNAL_CONCURRENCY`).
    pub concurrency: Option<usize>,
    /// Samples of a case without `repeat:` (`TRIBUNAL_REPEAT`).
    pub repeat: Option<u32>,
}

/// The `reports:` section of `tribunal.yaml`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsSection {
    /// The report folder, relative to the root (`TRIBUNAL_REPORT_DIR`).
    pub dir: Option<String>,
    /// The history database relative to the root, or `off`
    /// (`TRIBUNAL_HISTORY`).
    pub history: Option<String>,
    /// Runs kept in the history; 0 keeps every run (`TRIBUNAL_HISTORY_KEEP`).
    pub history_keep: Option<usize>,
    /// Megabytes of history kept; 0 keeps any size.
    pub history_max_mb: Option<u64>,
    /// Results files kept under `runs/`; 0 keeps every one.
    pub keep_runs: Option<usize>,
    /// Megabytes of results files kept under `runs/`; 0 keeps any size.
    pub runs_max_mb: Option<u64>,
    /// The quarantine list relative to the root (`TRIBUNAL_QUARANTINE`).
    pub quarantine: Option<String>,
}

/// `tribunal.yaml`: every section, each with unknown keys rejected.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectFile {
    /// `providers:`, `prices:`, `limits:`, `retry:`, `cassettes:` (see
    /// `docs/providers.md`).
    pub providers: ProjectConfig,
    /// `run:`.
    pub run: RunSection,
    /// `reports:`.
    pub reports: ReportsSection,
    /// `pii:`.
    pub pii: PiiSection,
}

/// The `pii:` section of `tribunal.yaml`: the project's own scrubbing
/// rules for `tribunal generate logs`, applied before the default ones.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PiiSection {
    /// `rules: [{name: employee_id, regex: 'EMP-\d{6}'}]`: each match is
    /// replaced by `<EMPLOYEE_ID>`.
    pub rules: Vec<PiiRule>,
}

/// Largest compiled size of a scrubbing rule's regex (4 MiB, as `regex:`
/// checks).
const MAX_PII_REGEX_SIZE: usize = 1 << 22;

/// A scrubbing rule (of `pii.rules` or `--scrub NAME=REGEX`) compiled, or
/// what is wrong with it: the name must be letters, digits, `_` and `-`.
pub fn pii_rule(name: &str, pattern: &str) -> Result<regex::Regex, String> {
    let ok_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok_name {
        return Err(format!(
            "invalid scrubbing rule name {name:?}: use letters, digits, `_` and `-`"
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(MAX_PII_REGEX_SIZE)
        .build()
        .map_err(|e| {
            format!(
                "scrubbing rule `{name}`: {}",
                crate::diag::invalid_regex(pattern, &e)
            )
        })
}

/// One scrubbing rule of `pii.rules`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiRule {
    /// The rule's name (letters, digits, `_`, `-`); the placeholder is
    /// `<NAME>` in capitals.
    pub name: String,
    /// The regex (Rust `regex` syntax).
    pub regex: String,
}

/// The top-level keys of `tribunal.yaml`.
pub const FILE_SECTIONS: &[&str] = &[
    "providers",
    "prices",
    "limits",
    "retry",
    "cassettes",
    "run",
    "reports",
    "pii",
];

impl ProjectFile {
    /// Parses the text of a `tribunal.yaml`; `display` names it in errors.
    /// Every problem is reported, in file order.
    pub fn parse(text: &str, display: &str) -> Result<ProjectFile, Vec<LoadError>> {
        let file: Arc<str> = display.into();
        if text.trim().is_empty() {
            return Ok(ProjectFile::default());
        }
        let root = match yaml::parse(text) {
            Ok(root) => root,
            Err(e) => {
                return Err(vec![LoadError {
                    location: Location {
                        file,
                        line: e.line,
                        col: e.col,
                    },
                    message: e.message,
                    hint: e.hint,
                }]);
            }
        };
        let mut cx = FileCx {
            file,
            root: &root,
            errors: Vec::new(),
        };
        let out = cx.file();
        let mut errors = cx.errors;
        errors.sort_by_key(|e| (e.location.line, e.location.col));
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Reads `<root>/tribunal.yaml`; a missing file is the default
    /// configuration.
    pub fn load(root: &Path) -> Result<ProjectFile, ConfigErrors> {
        let path = root.join(FILE_NAME);
        let read = || -> std::io::Result<String> {
            use crate::fsutil::ReadError;
            crate::fsutil::read_regular_bytes(&path, MAX_FILE_BYTES)
                .map_err(|e| match e {
                    ReadError::Io(e) => e,
                    ReadError::NotRegular(_) => std::io::Error::other(
                        "not a regular file (tribunal.yaml must be a plain file)",
                    ),
                    ReadError::TooLarge(max) => {
                        std::io::Error::other(format!("the file is larger than {} MiB", max >> 20))
                    }
                })
                .and_then(|bytes| {
                    String::from_utf8(bytes).map_err(|_| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "stream did not contain valid UTF-8",
                        )
                    })
                })
        };
        match read() {
            Ok(text) => ProjectFile::parse(&text, &crate::case::display_path(root, &path))
                .map_err(|errs| ConfigErrors(errs.into_iter().map(ConfigError::File).collect())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProjectFile::default()),
            Err(e) => Err(ConfigErrors(vec![ConfigError::Read {
                path: path.display().to_string(),
                message: e.to_string(),
            }])),
        }
    }
}

struct FileCx<'a> {
    file: Arc<str>,
    root: &'a Node,
    errors: Vec<LoadError>,
}

impl FileCx<'_> {
    fn push(&mut self, path: &[Seg], at_key: bool, message: String, hint: Option<String>) {
        let (line, col) = self.root.locate(path, at_key);
        self.errors.push(LoadError {
            location: Location {
                file: self.file.clone(),
                line,
                col,
            },
            message,
            hint,
        });
    }

    fn file(&mut self) -> ProjectFile {
        let mut out = ProjectFile::default();
        let entries = match &self.root.value {
            NodeValue::Map(entries) => entries,
            NodeValue::Null => return out,
            _ => {
                self.push(
                    &[],
                    false,
                    format!("{FILE_NAME} must be a mapping of sections"),
                    Some(format!(
                        "start with `providers:` (sections: {})",
                        FILE_SECTIONS.join(", ")
                    )),
                );
                return out;
            }
        };
        for (key, value) in entries {
            let name = key.key_text();
            let path = [Seg::Key(name.clone())];
            let json = value.to_json();
            let p = &mut out.providers;
            match name.as_str() {
                "providers" => {
                    // One provider at a time, so that a problem in one does
                    // not hide the problems in the others.
                    match json {
                        Value::Object(map) => {
                            for (id, block) in map {
                                let at = [Seg::Key(name.clone()), Seg::Key(id.clone())];
                                if let Some(np) = self.typed::<NamedProvider>(&at, block) {
                                    p.providers.insert(id, np);
                                }
                            }
                        }
                        Value::Null => {}
                        _ => self.push(
                            &path,
                            false,
                            "`providers` must be a mapping of provider names to blocks".into(),
                            Some("write `providers:` then `  judge: {kind: openai, model: gpt-4.1-mini}`".into()),
                        ),
                    }
                }
                "prices" => {
                    if let Some(v) = self.typed::<BTreeMap<String, Price>>(&path, json) {
                        p.prices = v;
                    }
                }
                "limits" => {
                    if let Some(v) = self.typed::<LimitsConfig>(&path, json) {
                        p.limits = v;
                    }
                }
                "retry" => {
                    if let Some(v) = self.typed::<RetryPolicy>(&path, json) {
                        p.retry = v;
                    }
                }
                "cassettes" => {
                    if let Some(v) = self.typed::<CassetteConfig>(&path, json) {
                        p.cassettes = v;
                    }
                }
                "run" => {
                    if let Some(v) = self.typed::<RunSection>(&path, json) {
                        self.check_run(&v);
                        out.run = v;
                    }
                }
                "reports" => {
                    if let Some(v) = self.typed::<ReportsSection>(&path, json) {
                        out.reports = v;
                    }
                }
                "pii" => {
                    if let Some(v) = self.typed::<PiiSection>(&path, json) {
                        self.check_pii(&v);
                        out.pii = v;
                    }
                }
                other => self.push(
                    &path,
                    true,
                    format!("unknown section `{other}` in {FILE_NAME}"),
                    Some(hint(other, FILE_SECTIONS.iter().copied())),
                ),
            }
        }
        out
    }

    /// Every `pii.rules` regex compiles and every name is usable.
    fn check_pii(&mut self, pii: &PiiSection) {
        for (i, rule) in pii.rules.iter().enumerate() {
            if let Err(message) = pii_rule(&rule.name, &rule.regex) {
                self.push(
                    &[Seg::Key("pii".into()), Seg::Key("rules".into()), Seg::Index(i)],
                    false,
                    message,
                    Some("quote patterns with single quotes in YAML so backslashes survive: regex: 'EMP-\\d{6}'".into()),
                );
            }
        }
    }

    fn check_run(&mut self, run: &RunSection) {
        let key = |k: &str| [Seg::Key("run".into()), Seg::Key(k.into())];
        if let Some(t) = run.trial_timeout_s
            && !(t > 0.0 && t <= MAX_TRIAL_TIMEOUT_S)
        {
            self.push(
                &key("trial_timeout_s"),
                false,
                format!("`run.trial_timeout_s` is {t}, not a positive number of seconds up to {MAX_TRIAL_TIMEOUT_S}"),
                Some("write `trial_timeout_s: 600`".into()),
            );
        }
        if let Some(n) = run.concurrency
            && !(1..=MAX_CONCURRENCY).contains(&n)
        {
            self.push(
                &key("concurrency"),
                false,
                format!("`run.concurrency` is {n}, not between 1 and {MAX_CONCURRENCY}"),
                Some("write `concurrency: 8`".into()),
            );
        }
        if let Some(n) = run.repeat
            && !(1..=crate::repeat::MAX_K).contains(&n)
        {
            self.push(
                &key("repeat"),
                false,
                format!(
                    "`run.repeat` is {n}, not between 1 and {}",
                    crate::repeat::MAX_K
                ),
                Some("write `repeat: 3`".into()),
            );
        }
    }

    /// Deserializes one section. Unknown keys are reported one by one and
    /// dropped, so the rest of the section is still checked; any other
    /// error ends the section.
    fn typed<T: DeserializeOwned>(&mut self, base: &[Seg], value: Value) -> Option<T> {
        crate::diag::typed_dropping_unknown(value, |inner, text| {
            let mut path = base.to_vec();
            path.extend(inner.iter().cloned());
            let section = match path.len().checked_sub(2).map(|i| &path[i]) {
                Some(Seg::Key(s)) => s.clone(),
                _ => FILE_NAME.to_string(),
            };
            let key = path_text(&path);
            let (message, hint, at_key) = explain_serde(text, &section, Some(&key));
            self.push(&path, at_key, message, hint);
        })
    }
}

/// Everything a run is configured with, resolved.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Running in CI (`CI`, `TF_BUILD`).
    pub ci: bool,
    /// How model calls use cassettes, when `TRIBUNAL_MODE` says; see
    /// [`Config::cassette_mode`] for the default.
    pub mode: Option<Mode>,
    /// Only the suite files matching this glob (`TRIBUNAL_SUITES`).
    pub suites: Option<String>,
    /// The timeout of one trial (`TRIBUNAL_TRIAL_TIMEOUT`,
    /// `run.trial_timeout_s`).
    pub trial_timeout: Duration,
    /// Trials evaluated at once (`TRIBUNAL_CONCURRENCY`, `run.concurrency`).
    pub concurrency: usize,
    /// Snapshot behaviour (`INSTA_UPDATE`, `INSTA_FORCE_PASS`).
    pub snapshots: SnapshotSettings,
    /// The report folder (`TRIBUNAL_REPORT_DIR`, `reports.dir`).
    pub report_dir: PathBuf,
    /// The history database, `None` when off (`TRIBUNAL_HISTORY`,
    /// `reports.history`).
    pub history: Option<PathBuf>,
    /// Runs kept in the history; 0 keeps all (`TRIBUNAL_HISTORY_KEEP`,
    /// `reports.history_keep`).
    pub history_keep: usize,
    /// How many results files and how much history are kept
    /// (`reports.keep_runs`, `reports.runs_max_mb`, `reports.history_max_mb`).
    pub retention: Retention,
    /// The file the Markdown summary is appended to (`GITHUB_STEP_SUMMARY`).
    pub step_summary: Option<PathBuf>,
    /// nextest's run id: each process writes only its own results file
    /// (`NEXTEST_RUN_ID`).
    pub nextest_run: Option<String>,
    /// The rest of `tribunal.yaml` (providers, prices, limits, retries,
    /// cassettes).
    pub providers: ProjectConfig,
    /// Samples of a case that has no `repeat:` of its own or in its
    /// suite's `defaults:` (`TRIBUNAL_REPEAT`, `run.repeat`; default 1).
    pub repeat: u32,
    /// The quarantine list (`TRIBUNAL_QUARANTINE`, `reports.quarantine`;
    /// default `evals/quarantine.yaml`).
    pub quarantine: PathBuf,
}

impl Config {
    /// The cassette mode: `TRIBUNAL_MODE` when set, else `replay` in CI
    /// (`ci`, normally [`Config::ci`]) and `auto` elsewhere.
    pub fn cassette_mode(&self, ci: bool) -> Mode {
        match self.mode {
            Some(m) => m,
            None if ci => Mode::Replay,
            None => Mode::Auto,
        }
    }

    /// The configuration of the project at `root` from the process
    /// environment and `<root>/tribunal.yaml`.
    pub fn load(root: &Path) -> Result<Config, ConfigErrors> {
        Config::resolve(root, &Env::process())
    }

    /// The configuration of the project at `root` from `env` and
    /// `<root>/tribunal.yaml`. Every invalid value is reported, not only
    /// the first.
    pub fn resolve(root: &Path, env: &Env) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let file = match ProjectFile::load(root) {
            Ok(f) => f,
            Err(ConfigErrors(e)) => {
                errors.extend(e);
                ProjectFile::default()
            }
        };
        let config = Config::from_parts(root, env, file, &mut errors);
        // Variables first, then the file, as documented.
        errors.sort_by_key(|e| !matches!(e, ConfigError::Var { .. }));
        ConfigErrors::result(config, errors)
    }

    fn from_parts(
        root: &Path,
        env: &Env,
        file: ProjectFile,
        errors: &mut Vec<ConfigError>,
    ) -> Config {
        let ci = env.ci();
        let mode = match env.get("TRIBUNAL_MODE") {
            Some(v) => Mode::parse(&v.to_ascii_lowercase()).or_else(|| {
                errors.push(var_error(
                    "TRIBUNAL_MODE",
                    v,
                    "a mode",
                    "use replay, record, live, auto or batch",
                ));
                None
            }),
            None => None,
        };
        let trial_timeout_s = match env.get("TRIBUNAL_TRIAL_TIMEOUT") {
            Some(v) => match v.parse::<f64>() {
                Ok(s) if s > 0.0 && s <= MAX_TRIAL_TIMEOUT_S => s,
                _ => {
                    errors.push(var_error(
                        "TRIBUNAL_TRIAL_TIMEOUT",
                        v,
                        "a number of seconds",
                        "use a positive number of seconds up to 86400, such as `600` or `2.5`",
                    ));
                    DEFAULT_TRIAL_TIMEOUT_S
                }
            },
            None => file.run.trial_timeout_s.unwrap_or(DEFAULT_TRIAL_TIMEOUT_S),
        };
        let concurrency = match env.get("TRIBUNAL_CONCURRENCY") {
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => n,
                _ => {
                    errors.push(var_error(
                        "TRIBUNAL_CONCURRENCY",
                        v,
                        "a number of trials",
                        "use a whole number from 1 to 4096, such as `8`",
                    ));
                    DEFAULT_CONCURRENCY
                }
            },
            None => file.run.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        };
        let repeat = match env.get("TRIBUNAL_REPEAT") {
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=crate::repeat::MAX_K).contains(&n) => n,
                _ => {
                    errors.push(var_error(
                        "TRIBUNAL_REPEAT",
                        v,
                        "a number of samples",
                        "use a whole number from 1 to 100, such as `5`",
                    ));
                    1
                }
            },
            None => file.run.repeat.unwrap_or(1),
        };
        let quarantine = root.join(
            env.get("TRIBUNAL_QUARANTINE")
                .or(file.reports.quarantine.clone())
                .unwrap_or_else(|| crate::quarantine::DEFAULT_PATH.into()),
        );
        let snapshots = snapshot_settings(env, ci, errors);
        let report_dir = root.join(
            env.get("TRIBUNAL_REPORT_DIR")
                .or(file.reports.dir.clone())
                .unwrap_or_else(|| "target/tribunal".into()),
        );
        let history = match env.get("TRIBUNAL_HISTORY").or(file.reports.history.clone()) {
            Some(v) if v.eq_ignore_ascii_case("off") || v == "0" => None,
            Some(v) => Some(root.join(v)),
            // A build without the `history` feature keeps none unless one
            // is asked for (which then fails, naming the feature).
            None if !cfg!(feature = "history") => None,
            None => Some(root.join("target").join("tribunal").join("history.db")),
        };
        let history_keep = match env.get("TRIBUNAL_HISTORY_KEEP") {
            Some(v) => v.parse::<usize>().unwrap_or_else(|_| {
                errors.push(var_error(
                    "TRIBUNAL_HISTORY_KEEP",
                    v,
                    "a number of runs",
                    "use a whole number of runs to keep, or 0 to keep every run",
                ));
                DEFAULT_HISTORY_KEEP
            }),
            None => file.reports.history_keep.unwrap_or(DEFAULT_HISTORY_KEEP),
        };
        Config {
            ci,
            mode,
            suites: env.get("TRIBUNAL_SUITES"),
            trial_timeout: Duration::from_secs_f64(trial_timeout_s),
            concurrency,
            snapshots,
            report_dir,
            history,
            history_keep,
            retention: {
                let r = &file.reports;
                Retention {
                    keep_runs: r.keep_runs.unwrap_or(DEFAULT_KEEP_RUNS),
                    runs_max_bytes: r
                        .runs_max_mb
                        .unwrap_or(DEFAULT_RUNS_MAX_MB)
                        .saturating_mul(1 << 20),
                    history_max_bytes: r
                        .history_max_mb
                        .unwrap_or(DEFAULT_HISTORY_MAX_MB)
                        .saturating_mul(1 << 20),
                }
            },
            step_summary: env.get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            nextest_run: env.get("NEXTEST_RUN_ID"),
            providers: {
                // One knob: calls in flight follow the trial concurrency
                // unless `limits:` sets them.
                let mut p = file.providers;
                p.limits.follow(concurrency);
                p
            },
            repeat,
            quarantine,
        }
    }
}

fn var_error(
    name: &'static str,
    value: String,
    what: &'static str,
    accepted: &'static str,
) -> ConfigError {
    ConfigError::Var {
        name,
        value,
        what,
        accepted,
    }
}

fn snapshot_settings(env: &Env, ci: bool, errors: &mut Vec<ConfigError>) -> SnapshotSettings {
    let update = match env.get("INSTA_UPDATE") {
        Some(v) => UpdateMode::parse(&v).unwrap_or_else(|| {
            errors.push(var_error(
                "INSTA_UPDATE",
                v,
                "an update mode",
                "use auto, new, always, unseen, no or force, as insta does",
            ));
            UpdateMode::Auto
        }),
        None => UpdateMode::Auto,
    };
    let force_pass = match env.get("INSTA_FORCE_PASS").as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) => {
            errors.push(var_error(
                "INSTA_FORCE_PASS",
                v.to_string(),
                "a switch",
                "use 1 to report snapshot mismatches without failing, or 0",
            ));
            false
        }
    };
    SnapshotSettings {
        update,
        force_pass,
        ci,
    }
}

/// `GITHUB_API_URL` when unset: github.com's REST API.
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
/// `GITHUB_SERVER_URL` when unset.
pub const DEFAULT_GITHUB_SERVER_URL: &str = "https://github.com";

/// A secret read from the environment (`GITHUB_TOKEN`): its `Debug` output
/// never shows the value, and reading it registers the value for redaction
/// ([`crate::provider::secrets`]), so no message that echoes it prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// The value, for the one place that sends it (an `Authorization`
    /// header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What GitHub Actions tells a step through its environment, read for
/// `tribunal ci github` (every variable is set by the runner; see
/// `docs/configuration.md` and `docs/ci.md`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct GithubEnv {
    /// `GITHUB_EVENT_NAME`: `pull_request`, `push`, ...
    pub event_name: Option<String>,
    /// `GITHUB_EVENT_PATH`: the webhook payload of the event (JSON).
    pub event_path: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: the job summary file (Markdown, appended to).
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_OUTPUT`: the step's outputs file (`name=value` lines).
    pub output: Option<PathBuf>,
    /// `GITHUB_REPOSITORY`: `owner/name`.
    pub repository: Option<String>,
    /// `GITHUB_API_URL` (default [`DEFAULT_GITHUB_API_URL`]), without a
    /// trailing `/`.
    pub api_url: String,
    /// `GITHUB_SERVER_URL` (default [`DEFAULT_GITHUB_SERVER_URL`]), without
    /// a trailing `/`.
    pub server_url: String,
    /// `GITHUB_RUN_ID`: links the comment to the run's reports.
    pub run_id: Option<String>,
    /// `GITHUB_WORKSPACE`: the checkout; annotation paths are relative to it.
    pub workspace: Option<PathBuf>,
    /// `GITHUB_BASE_REF`: a pull request's base branch.
    pub base_ref: Option<String>,
    /// `GITHUB_TOKEN`: the token the PR comment is written with.
    pub token: Option<SecretValue>,
}

impl GithubEnv {
    /// Reads the GitHub Actions variables from `env`. `GITHUB_REPOSITORY`
    /// must be `owner/name` and the URLs must be `http://` or `https://`;
    /// every invalid value is reported.
    pub fn from_env(env: &Env) -> Result<GithubEnv, ConfigErrors> {
        let mut errors = Vec::new();
        let repository = env.get("GITHUB_REPOSITORY").filter(|r| {
            let ok = matches!(r.split_once('/'), Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/'))
                && r.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
            if !ok {
                errors.push(var_error(
                    "GITHUB_REPOSITORY",
                    r.clone(),
                    "a repository",
                    "use owner/name, as GitHub Actions sets it (`octo-org/octo-repo`)",
                ));
            }
            ok
        });
        let url = |name: &'static str, default: &str, errors: &mut Vec<ConfigError>| match env
            .get(name)
        {
            Some(v) if v.starts_with("https://") || v.starts_with("http://") => {
                v.trim_end_matches('/').to_string()
            }
            Some(v) => {
                errors.push(var_error(
                    name,
                    v,
                    "a URL",
                    "use an http:// or https:// URL, as GitHub Actions sets it",
                ));
                default.to_string()
            }
            None => default.to_string(),
        };
        let api_url = url("GITHUB_API_URL", DEFAULT_GITHUB_API_URL, &mut errors);
        let server_url = url("GITHUB_SERVER_URL", DEFAULT_GITHUB_SERVER_URL, &mut errors);
        let token = env.get("GITHUB_TOKEN").map(|t| {
            crate::provider::secrets::register("GITHUB_TOKEN", &t);
            SecretValue(t)
        });
        let github = GithubEnv {
            event_name: env.get("GITHUB_EVENT_NAME"),
            event_path: env.get("GITHUB_EVENT_PATH").map(PathBuf::from),
            step_summary: env.get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: env.get("GITHUB_OUTPUT").map(PathBuf::from),
            repository,
            api_url,
            server_url,
            run_id: env.get("GITHUB_RUN_ID"),
            workspace: env.get("GITHUB_WORKSPACE").map(PathBuf::from),
            base_ref: env.get("GITHUB_BASE_REF"),
            token,
        };
        ConfigErrors::result(github, errors)
    }
}

/// Results files kept under `runs/` by default.
pub const DEFAULT_KEEP_RUNS: usize = 50;
/// Megabytes of results files kept under `runs/` by default.
pub const DEFAULT_RUNS_MAX_MB: u64 = 512;
/// Megabytes of history (the pages its runs use) kept by default.
pub const DEFAULT_HISTORY_MAX_MB: u64 = 1024;

/// How much a project keeps; 0 in any field means no limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Results files kept under `runs/` (`reports.keep_runs`).
    pub keep_runs: usize,
    /// Bytes of results files kept under `runs/` (`reports.runs_max_mb`).
    pub runs_max_bytes: u64,
    /// Bytes of history kept (`reports.history_max_mb`).
    pub history_max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_runs: DEFAULT_KEEP_RUNS,
            runs_max_bytes: DEFAULT_RUNS_MAX_MB << 20,
            history_max_bytes: DEFAULT_HISTORY_MAX_MB << 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&str, &str)], file: Option<&str>) -> Result<Config, ConfigErrors> {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(text) = file {
            std::fs::write(dir.path().join(FILE_NAME), text).expect("write");
        }
        Config::resolve(dir.path(), &Env::from_vars(vars.iter().copied())).map(|mut c| {
            // Paths under the temporary root, made relative for asserts.
            c.report_dir = c
                .report_dir
                .strip_prefix(dir.path())
                .map(Path::to_path_buf)
                .unwrap_or(c.report_dir);
            c.history = c.history.map(|h| {
                h.strip_prefix(dir.path())
                    .map(Path::to_path_buf)
                    .unwrap_or(h)
            });
            c
        })
    }

    fn errors(vars: &[(&str, &str)], file: Option<&str>) -> String {
        resolve(vars, file).expect_err("must fail").to_string()
    }

    #[test]
    fn repeat_and_the_quarantine_list_follow_the_precedence() {
        let c = resolve(&[], None).expect("defaults");
        assert_eq!(c.repeat, 1);
        assert!(c.quarantine.ends_with("evals/quarantine.yaml"));
        let file = "run: {repeat: 3}\nreports: {quarantine: ci/quarantine.yaml}\n";
        let c = resolve(&[], Some(file)).expect("file");
        assert_eq!(c.repeat, 3);
        assert!(c.quarantine.ends_with("ci/quarantine.yaml"));
        let c = resolve(
            &[("TRIBUNAL_REPEAT", "5"), ("TRIBUNAL_QUARANTINE", "q.yaml")],
            Some(file),
        )
        .expect("env");
        assert_eq!(c.repeat, 5);
        assert!(c.quarantine.ends_with("q.yaml"));
        assert_eq!(
            errors(&[("TRIBUNAL_REPEAT", "many")], None),
            "TRIBUNAL_REPEAT=`many` is not a number of samples (hint: use a whole number from 1 to 100, such as `5`)"
        );
        assert_eq!(
            errors(&[("TRIBUNAL_REPEAT", "101")], None),
            "TRIBUNAL_REPEAT=`101` is not a number of samples (hint: use a whole number from 1 to 100, such as `5`)"
        );
    }

    #[test]
    fn ci_detection_follows_insta() {
        assert!(is_ci(Some("true"), None));
        assert!(is_ci(Some("1"), None));
        assert!(!is_ci(Some("false"), None));
        assert!(!is_ci(Some("0"), None));
        assert!(!is_ci(Some(""), None));
        assert!(is_ci(None, Some("True")));
        assert!(!is_ci(None, None));
    }

    #[test]
    fn defaults_without_variables_or_file() {
        let c = resolve(&[], None).expect("defaults");
        assert!(!c.ci);
        assert_eq!(c.cassette_mode(c.ci), Mode::Auto);
        assert_eq!(c.trial_timeout, Duration::from_secs(600));
        assert_eq!(c.concurrency, 64);
        assert_eq!(c.snapshots.update, UpdateMode::Auto);
        assert_eq!(c.report_dir, PathBuf::from("target/tribunal"));
        // A build without the `history` feature keeps none by default.
        assert_eq!(
            c.history,
            cfg!(feature = "history").then(|| PathBuf::from("target/tribunal/history.db"))
        );
        assert_eq!(c.history_keep, 500);
        let mut followed = ProjectConfig::default();
        followed.limits.concurrency = Some(64);
        assert_eq!(c.providers, followed);
        assert_eq!(c.providers.limits.per_provider(), 64);
        let ci = resolve(&[("CI", "true")], None).expect("ci");
        assert_eq!(
            (ci.ci, ci.cassette_mode(ci.ci), ci.snapshots.effective()),
            (true, Mode::Replay, UpdateMode::No)
        );
    }

    #[test]
    fn variables_win_over_the_file_and_the_file_over_defaults() {
        let file = "run: {trial_timeout_s: 30, concurrency: 4}\nreports: {dir: out, history: 'off', history_keep: 7}\n";
        let c = resolve(&[], Some(file)).expect("file");
        assert_eq!(c.trial_timeout, Duration::from_secs(30));
        assert_eq!(c.concurrency, 4);
        assert_eq!(c.report_dir, PathBuf::from("out"));
        assert_eq!(c.history, None);
        assert_eq!(c.history_keep, 7);
        let vars = [
            ("TRIBUNAL_TRIAL_TIMEOUT", "2.5"),
            ("TRIBUNAL_CONCURRENCY", "2"),
            ("TRIBUNAL_REPORT_DIR", "elsewhere"),
            ("TRIBUNAL_HISTORY", "h.db"),
            ("TRIBUNAL_HISTORY_KEEP", "0"),
            ("TRIBUNAL_MODE", "record"),
            ("TRIBUNAL_SUITES", "evals/a*.yaml"),
            ("INSTA_UPDATE", "force"),
            ("INSTA_FORCE_PASS", "1"),
        ];
        let c = resolve(&vars, Some(file)).expect("vars");
        assert_eq!(c.trial_timeout, Duration::from_millis(2500));
        assert_eq!(c.concurrency, 2);
        assert_eq!(c.report_dir, PathBuf::from("elsewhere"));
        assert_eq!(c.history, Some(PathBuf::from("h.db")));
        assert_eq!(c.history_keep, 0);
        assert_eq!(c.cassette_mode(true), Mode::Record);
        assert_eq!(c.suites.as_deref(), Some("evals/a*.yaml"));
        assert_eq!(c.snapshots.update, UpdateMode::Force);
        assert!(c.snapshots.force_pass);
    }

    #[test]
    fn every_invalid_variable_is_named_with_what_is_accepted() {
        let vars = [
            ("TRIBUNAL_TRIAL_TIMEOUT", "abc"),
            ("TRIBUNAL_CONCURRENCY", "x"),
            ("INSTA_UPDATE", "bogus"),
            ("INSTA_FORCE_PASS", "yes"),
            ("TRIBUNAL_MODE", "replya"),
            ("TRIBUNAL_HISTORY_KEEP", "-1"),
        ];
        insta::assert_snapshot!(errors(&vars, None), @r"
        TRIBUNAL_MODE=`replya` is not a mode (hint: use replay, record, live, auto or batch)
        TRIBUNAL_TRIAL_TIMEOUT=`abc` is not a number of seconds (hint: use a positive number of seconds up to 86400, such as `600` or `2.5`)
        TRIBUNAL_CONCURRENCY=`x` is not a number of trials (hint: use a whole number from 1 to 4096, such as `8`)
        INSTA_UPDATE=`bogus` is not an update mode (hint: use auto, new, always, unseen, no or force, as insta does)
        INSTA_FORCE_PASS=`yes` is not a switch (hint: use 1 to report snapshot mismatches without failing, or 0)
        TRIBUNAL_HISTORY_KEEP=`-1` is not a number of runs (hint: use a whole number of runs to keep, or 0 to keep every run)
        ");
        for v in ["0", "-3", "inf", "NaN", "1e30"] {
            let e = errors(&[("TRIBUNAL_TRIAL_TIMEOUT", v)], None);
            assert!(
                e.starts_with(&format!("TRIBUNAL_TRIAL_TIMEOUT=`{v}`")),
                "{e}"
            );
        }
        assert!(
            errors(&[("TRIBUNAL_CONCURRENCY", "0")], None).starts_with("TRIBUNAL_CONCURRENCY=`0`")
        );
    }

    #[test]
    fn insta_update_accepts_every_insta_value() {
        for (v, m) in [
            ("auto", UpdateMode::Auto),
            ("new", UpdateMode::New),
            ("always", UpdateMode::Always),
            ("1", UpdateMode::Always),
            ("unseen", UpdateMode::Unseen),
            ("no", UpdateMode::No),
            ("0", UpdateMode::No),
            ("force", UpdateMode::Force),
        ] {
            let c = resolve(&[("INSTA_UPDATE", v)], None).expect(v);
            assert_eq!(c.snapshots.update, m, "{v}");
        }
    }

    #[test]
    fn invalid_yaml_is_reported_once_in_the_loaders_words() {
        let file = "providers:\n  judge: {kind: openai\nretry: {}\n";
        insta::assert_snapshot!(errors(&[], Some(file)), @"tribunal.yaml:2:10: invalid YAML: unclosed brace '{' (still open at line 3) (hint: close the mapping with `}`, or write its entries as indented `key: value` lines)");
    }

    #[test]
    fn a_misspelled_section_is_an_error_with_a_suggestion() {
        // `provders:` used to be ignored, leaving zero providers.
        let file = "provders:\n  judge: {kind: openai}\n";
        insta::assert_snapshot!(errors(&[], Some(file)), @"tribunal.yaml:1:1: unknown section `provders` in tribunal.yaml (hint: did you mean `providers`?)");
    }

    #[test]
    fn every_problem_in_the_file_is_reported_in_file_order() {
        let file = "\
providers:
  judge:
    kind: openai
    modle: gpt-4.1-mini
  other:
    kind: openia
limits: {concurency: 4}
retry:
  max_attempts: many
run: {trial_timeout_s: 0, concurrency: 3}
reprots: {dir: x}
cassettes: {dir: fixtures, extra: 1}
";
        insta::assert_snapshot!(errors(&[("INSTA_UPDATE", "bogus")], Some(file)), @r#"
        INSTA_UPDATE=`bogus` is not an update mode (hint: use auto, new, always, unseen, no or force, as insta does)
        tribunal.yaml:4:5: unknown key `modle` in judge (hint: did you mean `model`?)
        tribunal.yaml:6:11: unknown value `openia` (hint: did you mean `openai`?)
        tribunal.yaml:7:10: unknown key `concurency` in limits (hint: did you mean `concurrency`?)
        tribunal.yaml:9:17: `retry.max_attempts` must be a number, found string "many" (hint: write a number, e.g. `retry.max_attempts: 0.75`)
        tribunal.yaml:10:24: `run.trial_timeout_s` is 0, not a positive number of seconds up to 86400 (hint: write `trial_timeout_s: 600`)
        tribunal.yaml:11:1: unknown section `reprots` in tribunal.yaml (hint: did you mean `reports`?)
        tribunal.yaml:12:28: unknown key `extra` in cassettes (hint: expected one of `dir`)
        "#);
    }

    #[test]
    fn the_file_parses_every_section() {
        let file = "\
providers:
  judge:
    kind: openai
    model: gpt-4.1-mini
    params: {temperature: 0}
prices:
  my-model: {input_per_mtok: 1, output_per_mtok: 2}
limits: {concurrency: 8}
retry: {max_attempts: 2}
cassettes: {dir: tapes}
run: {concurrency: 3}
reports: {history_keep: 9}
";
        let f = ProjectFile::parse(file, FILE_NAME).expect("parses");
        assert_eq!(
            f.providers.providers["judge"].model.as_deref(),
            Some("gpt-4.1-mini")
        );
        assert_eq!(f.providers.prices["my-model"].output_per_mtok, 2.0);
        assert_eq!(f.providers.limits.concurrency, Some(8));
        assert_eq!(f.providers.limits.per_provider(), 8);
        assert_eq!(f.providers.retry.max_attempts, 2);
        assert_eq!(f.providers.cassettes.dir, "tapes");
        assert_eq!(f.run.concurrency, Some(3));
        assert_eq!(f.reports.history_keep, Some(9));
        assert_eq!(
            ProjectFile::parse("", FILE_NAME),
            Ok(ProjectFile::default())
        );
    }
}
