//! Expansion: loaded suites become trials, and libtest's arguments select
//! which of them run.
//!
//! A trial is one case of a suite under one variant (or none), named
//! `suite::case` or `suite::case::variant`. Names are unique: two trials with
//! one name (the same `suite:` and case id in two files) would share one
//! result and one snapshot, so [`expand_unique`] refuses both and names both
//! places.
//!
//! [`Filter`] reads what libtest's arguments select. Under nextest every
//! trial runs in its own process as `--exact <name>`; [`Filter::exact_suite`]
//! and [`files_for_suite`] let such a process load only the files that can
//! hold its trial instead of every suite file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::Arguments;
use serde_json::{Map, Value};

use crate::case::{Case, LoadError, Location, Suite, Variant};

/// One trial: a case of a suite, under a variant or none.
#[derive(Debug, Clone)]
pub struct Trial {
    /// The suite.
    pub suite: Arc<Suite>,
    /// Index of the case in `suite.cases`.
    pub case: usize,
    /// Index of the variant in `suite.variants`, if any.
    pub variant: Option<usize>,
}

impl Trial {
    /// The case.
    pub fn case(&self) -> &Case {
        &self.suite.cases[self.case]
    }

    /// The variant.
    pub fn variant(&self) -> Option<&Variant> {
        self.variant.map(|v| &self.suite.variants[v])
    }

    /// `suite::case` or `suite::case::variant`.
    pub fn name(&self) -> String {
        trial_name(
            &self.suite.name,
            &self.case().id,
            self.variant().map(|v| v.id.as_str()),
        )
    }

    /// Variables: suite defaults and case, then the variant's.
    pub fn vars(&self) -> Map<String, Value> {
        let mut vars = self.case().vars.clone();
        if let Some(v) = self.variant() {
            vars.extend(v.vars.clone());
        }
        vars
    }
}

pub use crate::verdict::trial_name;

/// Every trial of a set of suites, in suite, case, variant order. Names are
/// not checked for uniqueness; the harness uses [`expand_unique`].
pub fn expand(suites: &[Arc<Suite>]) -> Vec<Trial> {
    let mut out = Vec::new();
    for suite in suites {
        for (ci, case) in suite.cases.iter().enumerate() {
            for variant in suite.variants_of(case) {
                let variant =
                    variant.and_then(|v| suite.variants.iter().position(|x| x.id == v.id));
                out.push(Trial {
                    suite: Arc::clone(suite),
                    case: ci,
                    variant,
                });
            }
        }
    }
    out
}

/// Trials with unique names, and the names that were not unique.
#[derive(Debug, Default)]
pub struct Expanded {
    /// The trials, in suite, case, variant order; no two share a name.
    pub trials: Vec<Trial>,
    /// Names that more than one trial had, in order of first appearance.
    /// None of those trials is in `trials`: neither may pass for the other.
    pub duplicates: Vec<Duplicate>,
}

/// A trial name that more than one case has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The trial name (`suite::case[::variant]`).
    pub name: String,
    /// The suite name.
    pub suite: String,
    /// Every case that has the name, in load order.
    pub places: Vec<Location>,
}

impl Duplicate {
    /// The load error: the name, every place, and how to fix it.
    pub fn error(&self) -> LoadError {
        let places: Vec<String> = self.places.iter().map(ToString::to_string).collect();
        LoadError {
            location: self.places[0].clone(),
            message: format!(
                "duplicate trial name `{}`: defined at {} (two trials with one name would share one result and one snapshot, so neither runs)",
                self.name,
                places.join(" and at ")
            ),
            hint: Some(
                "give one of the suites another `suite:` name, or rename one of the cases".into(),
            ),
        }
    }
}

/// [`expand`], refusing duplicate trial names: every trial sharing its name
/// with another is left out and the name reported with every place it has.
pub fn expand_unique(suites: &[Arc<Suite>]) -> Expanded {
    let all = expand(suites);
    let mut places: HashMap<String, Vec<Location>> = HashMap::new();
    for t in &all {
        let at = places.entry(t.name()).or_default();
        if !at.contains(&t.case().location) {
            at.push(t.case().location.clone());
        }
    }
    let mut count: HashMap<String, usize> = HashMap::new();
    for t in &all {
        *count.entry(t.name()).or_default() += 1;
    }
    let mut out = Expanded::default();
    for t in all {
        let name = t.name();
        if count[&name] == 1 {
            out.trials.push(t);
        } else if !out.duplicates.iter().any(|d| d.name == name) {
            out.duplicates.push(Duplicate {
                suite: t.suite.name.clone(),
                places: places.remove(&name).unwrap_or_default(),
                name,
            });
        }
    }
    out
}

/// What libtest's arguments select.
#[derive(Debug, Clone, Copy)]
pub struct Filter<'a> {
    args: &'a Arguments,
}

impl<'a> Filter<'a> {
    /// The selection the arguments make.
    pub fn new(args: &'a Arguments) -> Filter<'a> {
        Filter { args }
    }

    /// Whether a trial of this name (ignored when `skipped`) runs.
    pub fn selects(&self, name: &str, skipped: bool) -> bool {
        if self.args.list {
            return false;
        }
        let probe = libtest_mimic::Trial::test(name, || Ok(())).with_ignored_flag(skipped);
        !self.args.is_filtered_out(&probe) && !self.args.is_ignored(&probe)
    }

    /// Whether the arguments narrow the run at all (a name filter, `--skip`,
    /// or `--ignored`).
    pub fn narrows(&self) -> bool {
        self.args.filter.is_some() || !self.args.skip.is_empty() || self.args.ignored
    }

    /// The arguments as a user wrote them, for messages:
    /// `` filter `refund` (--exact), --skip `slow` ``.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(f) = &self.args.filter {
            parts.push(format!(
                "filter `{f}`{}",
                if self.args.exact { " (--exact)" } else { "" }
            ));
        }
        for s in &self.args.skip {
            parts.push(format!("--skip `{s}`"));
        }
        if self.args.ignored {
            parts.push("--ignored (only skipped cases)".into());
        }
        if parts.is_empty() {
            "no filter".into()
        } else {
            parts.join(", ")
        }
    }

    /// Under `--exact NAME` (how nextest runs each trial in its own
    /// process), the suite the one selected trial belongs to: the part of
    /// the name before the first `::` (a broken file's trial is named by its
    /// suite alone). `None` when more than one trial may be selected, or
    /// when listing.
    pub fn exact_suite(&self) -> Option<&'a str> {
        if !self.args.exact || self.args.list {
            return None;
        }
        let name = self.args.filter.as_deref()?;
        Some(name.split_once("::").map_or(name, |(suite, _)| suite))
    }
}

/// What a cheap look at a suite file says its suite name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuiteHint {
    /// The name the file will have once loaded, or would have if broken: its
    /// top-level `suite:` value, else its file stem.
    Named(String),
    /// The file writes its name in a way only the full loader reads (quoted,
    /// flow style, more than once, ...): load it to be sure.
    Unsure,
}

/// The suite name of a suite file, from its top-level `suite:` line alone
/// (no YAML parse). Correctness first: anything but a plain one-line
/// `suite: name` at column 0 is [`SuiteHint::Unsure`].
pub fn suite_hint(text: &str, stem: &str) -> SuiteHint {
    let mut found: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with([' ', '\t', '#']) {
            continue;
        }
        if line.starts_with(['{', '?', '"', '\'', '%', '&', '*', '!']) {
            if line.contains("suite") || line.starts_with('{') || line.starts_with('%') {
                return SuiteHint::Unsure;
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("suite") else {
            continue;
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let Some(value) = rest.strip_prefix(':') else {
            continue;
        };
        let value = match value.find(" #") {
            Some(i) => &value[..i],
            None => value,
        }
        .trim();
        let plain = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !plain || found.is_some() {
            return SuiteHint::Unsure;
        }
        found = Some(value.to_string());
    }
    SuiteHint::Named(found.unwrap_or_else(|| stem.to_string()))
}

/// The files among `files` that may hold trials of suite `suite`: those
/// whose [`suite_hint`] is that name or unsure, and any file that cannot be
/// read (its load error is its trial). Reads each file's text, never parses.
pub fn files_for_suite(files: &[PathBuf], suite: &str) -> Vec<PathBuf> {
    files
        .iter()
        // Read as the loader reads (regular files only, bounded): a FIFO
        // named like a suite must not block the fast path.
        .filter(
            |path| match crate::case::read_suite_file(path).map(String::from_utf8) {
                Ok(Ok(text)) => match suite_hint(&text, &stem_of(path)) {
                    SuiteHint::Named(n) => n == suite,
                    SuiteHint::Unsure => true,
                },
                _ => true,
            },
        )
        .cloned()
        .collect()
}

/// A path's file stem (the suite name of a file without `suite:`).
fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FIFO named like a suite is kept (its load error is its trial) and
    /// never opened for reading, which would wait for a writer.
    #[cfg(unix)]
    #[test]
    fn the_fast_path_does_not_block_on_a_fifo() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("x.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let (tx, rx) = std::sync::mpsc::channel();
        let files = vec![fifo.clone()];
        std::thread::spawn(move || {
            let _ = tx.send(files_for_suite(&files, "other"));
        });
        let kept = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("files_for_suite must not block on a FIFO");
        assert_eq!(kept, vec![fifo]);
    }
    use crate::case::load_str;
    use rstest::rstest;

    #[rstest]
    #[case("suite: support\ncases: []\n", SuiteHint::Named("support".into()))]
    #[case("# c\nsuite: support # the bot\n", SuiteHint::Named("support".into()))]
    #[case("suite:   a.b-c_d\r\n", SuiteHint::Named("a.b-c_d".into()))]
    #[case("cases:\n  - suite: x\n", SuiteHint::Named("stem".into()))]
    #[case("suite: 'support'\n", SuiteHint::Unsure)]
    #[case("suite: \"support\"\n", SuiteHint::Unsure)]
    #[case("\"suite\": support\n", SuiteHint::Unsure)]
    #[case("{suite: support}\n", SuiteHint::Unsure)]
    #[case("? suite\n: support\n", SuiteHint::Unsure)]
    #[case("suite: &a support\n", SuiteHint::Unsure)]
    #[case("suite: |\n  support\n", SuiteHint::Unsure)]
    #[case("suite:\n  support\n", SuiteHint::Unsure)]
    #[case("suite: a\nsuite: b\n", SuiteHint::Unsure)]
    #[case("%YAML 1.2\n---\nsuite: a\n", SuiteHint::Unsure)]
    fn the_cheap_suite_name_is_plain_or_unsure(#[case] text: &str, #[case] want: SuiteHint) {
        assert_eq!(suite_hint(text, "stem"), want);
    }

    #[test]
    fn a_plain_hint_agrees_with_the_loader() {
        for text in [
            "suite: support\ncases:\n  - id: a\n    output: x\n    checks: [{contains: x}]\n",
            "cases:\n  - id: a\n    output: x\n    checks: [{contains: x}]\n",
        ] {
            let loaded =
                load_str(text, "evals/stem.yaml", Path::new("evals"), None).expect("loads");
            assert_eq!(suite_hint(text, "stem"), SuiteHint::Named(loaded.name));
        }
    }

    fn suite(file: &str, name: &str, ids: &[&str]) -> Arc<Suite> {
        let mut text = format!("suite: {name}\ncases:\n");
        for id in ids {
            text.push_str(&format!(
                "  - id: {id}\n    output: x\n    checks: [{{contains: x}}]\n"
            ));
        }
        Arc::new(load_str(&text, file, Path::new("evals"), None).expect("loads"))
    }

    #[test]
    fn one_name_in_two_files_is_an_error_naming_both_places() {
        let a = suite("evals/a.yaml", "s", &["same", "only-a"]);
        let b = suite("evals/b.yaml", "s", &["other", "same"]);
        let got = expand_unique(&[a, b]);
        let names: Vec<String> = got.trials.iter().map(Trial::name).collect();
        assert_eq!(names, ["s::only-a", "s::other"]);
        let errors: Vec<String> = got
            .duplicates
            .iter()
            .map(|d| d.error().to_string())
            .collect();
        assert_eq!(
            errors,
            [
                "evals/a.yaml:3:5: duplicate trial name `s::same`: defined at evals/a.yaml:3:5 and at evals/b.yaml:6:5 (two trials with one name would share one result and one snapshot, so neither runs) (hint: give one of the suites another `suite:` name, or rename one of the cases)"
            ]
        );
    }

    #[test]
    fn matrix_values_that_make_one_variant_id_are_a_load_error() {
        let text = "suite: s\nmatrix:\n  model: [\"x:y\", \"x/y\", \"x y\"]\ncases:\n  - id: c\n    output: x\n    checks: [{contains: x}]\n";
        let err = load_str(text, "evals/s.yaml", Path::new("evals"), None).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "evals/s.yaml:3:18: matrix value \"x/y\" of axis `model` makes the variant id `x-y`, as the value at evals/s.yaml:3:11 does (two variants with one name would share one result and one snapshot) (hint: variant ids keep letters, digits, `.`, `-` and `_` (anything else becomes `-`): make the values differ in those, or list the variants under `variants:` with their own ids)\nevals/s.yaml:3:25: matrix value \"x y\" of axis `model` makes the variant id `x-y`, as the value at evals/s.yaml:3:11 does (two variants with one name would share one result and one snapshot) (hint: variant ids keep letters, digits, `.`, `-` and `_` (anything else becomes `-`): make the values differ in those, or list the variants under `variants:` with their own ids)"
        );
    }
}
