//! Human labels: what a domain expert said about a case's output, kept in
//! the repository next to the evals.
//!
//! A label file (`fixtures/labels/<suite>.yaml` by default) holds one entry
//! per labelled output: the case (and variant, and optionally the judge
//! check it is about), the expert's verdict and critique, who labelled it
//! and when, the labelled output itself and its SHA-256. When the case's
//! current output no longer hashes to the labelled one, the label is
//! **stale**: it describes an output that no longer exists, and alignment
//! runs report it rather than use it silently.
//!
//! ```yaml
//! suite: support
//! labels:
//!   - case: refund-late
//!     verdict: fail
//!     critique: Promises a refund without checking the 30-day window.
//!     labeller: dana
//!     date: 2026-11-20
//!     output_sha256: 5f1c…
//!     input: I bought this 45 days ago, can I return it?
//!     output: Sure, we'll refund you right away!
//! ```
//!
//! [`LabelFile::save`] rewrites a file whole, sorted by case, variant and
//! check; [`edit::update`] (what `tribunal review` uses) changes one label in
//! place, keeping comments and order, and never loses a label another writer
//! added meanwhile. Both write atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub mod edit;
pub mod split;

/// The expert's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HumanVerdict {
    /// The output is good enough.
    Pass,
    /// The output is not.
    Fail,
}

impl HumanVerdict {
    /// `pass` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            HumanVerdict::Pass => "pass",
            HumanVerdict::Fail => "fail",
        }
    }

    /// Whether this is a pass.
    pub fn is_pass(self) -> bool {
        self == HumanVerdict::Pass
    }
}

/// One labelled output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// The case id.
    pub case: String,
    /// The variant, when the suite has variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The judge check (by name) this label is about; absent: every judge of the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// The expert's verdict.
    pub verdict: HumanVerdict,
    /// The expert's score, when they also scored the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
    /// Why: the expert's critique (what a judge should learn from).
    #[serde(default)]
    pub critique: String,
    /// Failure modes (or other tags) the expert gave the output, for error
    /// analysis (`tribunal review`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Picked as a few-shot example: judges with `few_shot` show picked
    /// labels before the others (`tribunal review`'s agreement view picks
    /// them from the disagreements).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub few_shot: bool,
    /// Who labelled it.
    pub labeller: String,
    /// When (`YYYY-MM-DD`, UTC).
    pub date: String,
    /// SHA-256 (hex) of the labelled output text.
    pub output_sha256: String,
    /// The input the output answered, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The labelled output text.
    pub output: String,
}

impl Label {
    /// Whether this label is about the output `current` (false: stale).
    pub fn matches_output(&self, current: &str) -> bool {
        self.output_sha256
            .eq_ignore_ascii_case(&output_hash(current))
    }

    /// Whether the stored output text matches the stored hash (a hand-edited
    /// label where they differ is reported).
    pub fn is_consistent(&self) -> bool {
        self.matches_output(&self.output)
    }

    fn key(&self) -> (&str, Option<&str>, Option<&str>) {
        (
            self.case.as_str(),
            self.variant.as_deref(),
            self.check.as_deref(),
        )
    }
}

/// The largest label file tribunal reads: 64 MiB.
pub const MAX_LABEL_FILE_BYTES: u64 = 64 << 20;

/// A suite's label file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFile {
    /// The suite the labels belong to.
    pub suite: String,
    /// The labels (`labels:` with nothing after it is none yet).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub labels: Vec<Label>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Label>, D::Error> {
    Ok(Option::<Vec<Label>>::deserialize(d)?.unwrap_or_default())
}

/// Why a label file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The file exists but cannot be read.
    #[error("cannot read label file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid label file.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The file cannot be written.
    #[error("cannot write label file {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl LabelFile {
    /// An empty label file for `suite`.
    pub fn new(suite: &str) -> Self {
        LabelFile {
            suite: suite.to_string(),
            labels: Vec::new(),
        }
    }

    /// Reads a label file (a regular file of at most
    /// [`MAX_LABEL_FILE_BYTES`]); `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<LabelFile>, LabelError> {
        // Regular files only (a FIFO would block the read), and bounded.
        let text = match crate::fsutil::read_regular(path, MAX_LABEL_FILE_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(LabelError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Self::parse(&text, &path.display().to_string()).map(Some)
    }

    /// Like [`LabelFile::load`], but parses a file once per process while its
    /// size and modification time stay the same (judges with `few_shot` read
    /// the same label file for every case).
    pub fn load_cached(path: &Path) -> Result<Option<Arc<LabelFile>>, LabelError> {
        type Cache = Mutex<HashMap<PathBuf, (Option<SystemTime>, u64, Arc<LabelFile>)>>;
        static CACHE: LazyLock<Cache> = LazyLock::new(|| Mutex::new(HashMap::new()));
        let stamp = match std::fs::metadata(path) {
            Ok(m) => (m.modified().ok(), m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(LabelError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        if let Ok(cache) = CACHE.lock()
            && let Some((modified, len, file)) = cache.get(path)
            && (*modified, *len) == stamp
            && modified.is_some()
        {
            return Ok(Some(Arc::clone(file)));
        }
        let Some(file) = Self::load(path)? else {
            return Ok(None);
        };
        let file = Arc::new(file);
        if let Ok(mut cache) = CACHE.lock() {
            cache.insert(path.to_path_buf(), (stamp.0, stamp.1, Arc::clone(&file)));
        }
        Ok(Some(file))
    }

    /// Parses label file text; `display` names the file in errors.
    pub fn parse(text: &str, display: &str) -> Result<LabelFile, LabelError> {
        let file: LabelFile = serde_saphyr::from_str(text).map_err(|e| LabelError::Parse {
            path: display.to_string(),
            message: e.to_string(),
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for l in &file.labels {
            if !seen.insert(l.key()) {
                return Err(LabelError::Parse {
                    path: display.to_string(),
                    message: format!(
                        "case `{}`{}{} is labelled twice",
                        l.case,
                        l.variant
                            .as_deref()
                            .map(|v| format!(" (variant `{v}`)"))
                            .unwrap_or_default(),
                        l.check
                            .as_deref()
                            .map(|c| format!(" (check `{c}`)"))
                            .unwrap_or_default(),
                    ),
                });
            }
        }
        Ok(file)
    }

    /// The file as YAML text, labels sorted by case, variant and check.
    pub fn to_yaml(&self) -> String {
        let mut sorted = self.clone();
        sorted.labels.sort_by(|a, b| a.key().cmp(&b.key()));
        match serde_json::to_value(&sorted) {
            Ok(v) => crate::yaml_out::to_yaml(&v),
            Err(_) => String::new(),
        }
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), LabelError> {
        crate::fsutil::write_atomic(path, self.to_yaml().as_bytes()).map_err(|source| {
            LabelError::Write {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// The label of a case, variant and check, if any.
    pub fn find(&self, case: &str, variant: Option<&str>, check: Option<&str>) -> Option<&Label> {
        self.labels
            .iter()
            .find(|l| l.key() == (case, variant, check))
    }

    /// Adds a label, replacing one with the same case, variant and check.
    pub fn upsert(&mut self, label: Label) {
        match self.labels.iter_mut().find(|l| l.key() == label.key()) {
            Some(slot) => *slot = label,
            None => self.labels.push(label),
        }
    }
}

/// SHA-256 of an output text, as lowercase hex.
pub fn output_hash(text: &str) -> String {
    crate::text::sha256_hex(text)
}

/// Where a suite's labels live: `override_path` (relative to `root`) or
/// `fixtures/labels/<suite>.yaml`.
pub fn labels_path(root: &Path, suite: &str, override_path: Option<&str>) -> PathBuf {
    match override_path {
        Some(p) => root.join(p),
        None => root
            .join("fixtures")
            .join("labels")
            .join(format!("{suite}.yaml")),
    }
}

pub use crate::datetime::{civil_date, today};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_file_that_is_not_a_regular_file_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("support.yaml");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo runs");
        assert!(status.success(), "mkfifo failed");
        let err = LabelFile::load(&path).expect_err("a FIFO is refused");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    fn label(case: &str, output: &str) -> Label {
        Label {
            case: case.into(),
            variant: None,
            check: None,
            verdict: HumanVerdict::Fail,
            score: None,
            critique: "Too vague: \"soon\" is not a date.\nSecond line.".into(),
            tags: Vec::new(),
            few_shot: false,
            labeller: "dana".into(),
            date: "2026-11-20".into(),
            output_sha256: output_hash(output),
            input: Some("When will it ship?".into()),
            output: output.into(),
        }
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            output_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn stale_when_output_changed() {
        let l = label("a", "It ships soon.");
        assert!(l.matches_output("It ships soon."));
        assert!(!l.matches_output("It ships on Monday."));
        assert!(l.is_consistent());
    }

    #[test]
    fn round_trips_through_yaml_sorted_and_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = labels_path(dir.path(), "support", None);
        let mut file = LabelFile::new("support");
        file.upsert(label("b", "yes: \"quoted\" # not a comment"));
        file.upsert(label("a", "multi\nline\n  indented"));
        file.save(&path).expect("save");
        let back = LabelFile::load(&path).expect("load").expect("exists");
        assert_eq!(back.labels.len(), 2);
        assert_eq!(back.labels[0].case, "a");
        assert_eq!(back.labels[0].output, "multi\nline\n  indented");
        assert_eq!(back.labels[1].output, "yes: \"quoted\" # not a comment");
        assert_eq!(back.labels[1].critique, file.labels[0].critique);
        assert!(back.labels.iter().all(Label::is_consistent));
    }

    #[test]
    fn upsert_replaces_same_key() {
        let mut file = LabelFile::new("s");
        file.upsert(label("a", "x"));
        let mut again = label("a", "y");
        again.verdict = HumanVerdict::Pass;
        file.upsert(again);
        assert_eq!(file.labels.len(), 1);
        assert_eq!(file.labels[0].verdict, HumanVerdict::Pass);
    }

    #[test]
    fn duplicate_labels_are_rejected() {
        let text = "suite: s\nlabels:\n  - {case: a, verdict: pass, labeller: x, date: d, output_sha256: h, output: o}\n  - {case: a, verdict: fail, labeller: x, date: d, output_sha256: h, output: o}\n";
        let err = LabelFile::parse(text, "l.yaml").expect_err("duplicate");
        assert!(err.to_string().contains("labelled twice"), "{err}");
    }

    #[test]
    fn cached_load_sees_rewrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.yaml");
        assert!(LabelFile::load_cached(&path).expect("ok").is_none());
        let mut file = LabelFile::new("s");
        file.upsert(label("a", "x"));
        file.save(&path).expect("save");
        let first = LabelFile::load_cached(&path).expect("ok").expect("some");
        let again = LabelFile::load_cached(&path).expect("ok").expect("some");
        assert!(Arc::ptr_eq(&first, &again), "parsed once");
        file.upsert(label("b", "longer output"));
        file.save(&path).expect("save");
        let after = LabelFile::load_cached(&path).expect("ok").expect("some");
        assert_eq!(after.labels.len(), 2);
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(
            LabelFile::load(&dir.path().join("nope.yaml"))
                .expect("ok")
                .is_none()
        );
    }
}
