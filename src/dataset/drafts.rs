//! Draft files: the cases `tribunal generate` writes beside a suite,
//! `evals/<suite-stem>.drafts.jsonl`, for a person to read, edit and accept.
//!
//! One JSON object per line ([`Draft`]): `id`, `input` (a string or a map of
//! variables), optional `expected`, `tags`, `description` and `flags`, and
//! the `provenance` (where the draft came from). The file is not a `.yaml`,
//! so suite discovery never runs it: drafts are not trials until
//! `tribunal generate accept` promotes them into the suite's cases.
//!
//! Writing ([`write_drafts`]) sorts the drafts by id, keeps the first draft
//! of each id, and replaces the file atomically; the same drafts always give
//! the same bytes, so a rerun with the same inputs and seed leaves the file
//! unchanged. Reading ([`read_drafts`]) is bounded ([`MAX_DRAFTS_BYTES`],
//! [`MAX_DRAFT_LINE_BYTES`], [`MAX_DRAFTS`]) and points every problem at its
//! `file:line:col`. Writing never checks `CI`: the commands that write
//! drafts refuse to run under `CI=true` before they get here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Largest drafts file read, in bytes (64 MiB).
pub const MAX_DRAFTS_BYTES: u64 = 64 << 20;

/// Longest line (one draft) of a drafts file, in bytes (1 MiB).
pub const MAX_DRAFT_LINE_BYTES: usize = 1 << 20;

/// Most drafts one file may hold (as many as the trials one suite may run).
pub const MAX_DRAFTS: usize = crate::case::MAX_TRIALS;

/// One drafted case: what a suite's case would be, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// The case id it is accepted under (a valid case id, unique in the file).
    pub id: String,
    /// The case's input.
    pub input: DraftInput,
    /// The case's `expected` value, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// The case's tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The case's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the draft came from.
    pub provenance: Provenance,
    /// Marks set by the generator for the reviewer (`round-trip-failed`,
    /// `near-duplicate`); `accept --flag` selects by them. Not copied into
    /// the accepted case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

impl Draft {
    /// A draft with only an id, an input and its provenance.
    pub fn new(id: impl Into<String>, input: DraftInput, provenance: Provenance) -> Draft {
        Draft {
            id: id.into(),
            input,
            expected: None,
            tags: Vec::new(),
            description: None,
            provenance,
            flags: Vec::new(),
        }
    }
}

/// A draft's input: one text, or a map of variables (as a case's `input:`).
#[derive(Debug, Clone, PartialEq)]
pub enum DraftInput {
    /// `"input": "How do I get a refund?"`.
    Text(String),
    /// `"input": {"question": "…", "locale": "fr"}`.
    Vars(Map<String, Value>),
}

impl DraftInput {
    /// The input as the JSON value a case's `input:` holds.
    pub fn to_value(&self) -> Value {
        match self {
            DraftInput::Text(s) => Value::String(s.clone()),
            DraftInput::Vars(m) => Value::Object(m.clone()),
        }
    }
}

impl Serialize for DraftInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DraftInput::Text(t) => t.serialize(s),
            DraftInput::Vars(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for DraftInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(DraftInput::Text(s)),
            Value::Object(m) => Ok(DraftInput::Vars(m)),
            other => Err(serde::de::Error::custom(format!(
                "`input` must be a string or a map of variables, not {}",
                crate::text::kind_of(&other)
            ))),
        }
    }
}

/// Which generator wrote a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `tribunal generate truth`: a request written for a ground truth.
    Truth,
    /// `tribunal generate dimensions`: an input written for a dimension tuple.
    Dimensions,
    /// `tribunal generate logs`: a row of a production log.
    Logs,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Truth => "truth",
            Source::Dimensions => "dimensions",
            Source::Logs => "logs",
        })
    }
}

/// Where a draft came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The generator.
    pub source: Source,
    /// The model that wrote it, for generated drafts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<Generator>,
    /// The source row (ground-truth file or log), when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<RowRef>,
    /// The dimension tuple it was written for (`dimensions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuple: Option<BTreeMap<String, String>>,
    /// The seed of the sampling or generation run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Anything else a generator records, kept as written (sorted by key).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Provenance {
    /// Provenance naming only its source.
    pub fn new(source: Source) -> Provenance {
        Provenance {
            source,
            generator: None,
            row: None,
            tuple: None,
            seed: None,
            extra: BTreeMap::new(),
        }
    }
}

/// The model call that wrote a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generator {
    /// The provider (`openai`, `anthropic`, a registered name).
    pub provider: String,
    /// The model.
    pub model: String,
    /// SHA-256 (hex) of the prompt template the request was rendered from.
    pub template_sha256: String,
}

/// A row of a source file: the file as displayed and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowRef {
    /// The file, relative to the project root when it is inside it.
    pub file: String,
    /// The 1-based line the row starts on.
    pub line: u64,
}

/// Why a drafts file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// The file could not be read as a whole (missing, too large, not text).
    #[error("{file}: {message} (hint: {hint})")]
    Read {
        /// The file, as displayed.
        file: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// One line is not a valid draft.
    #[error("{file}:{line}:{col}: {message} (hint: {hint})")]
    Line {
        /// The file, as displayed.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        col: u32,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The file could not be written (nothing was changed).
    #[error("{file}: cannot write the drafts file: {source} (hint: check the folder is writable)")]
    Write {
        /// The file, as displayed.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The drafts file of a suite file: `evals/support.yaml` →
/// `evals/support.drafts.jsonl`.
pub fn drafts_path(suite_file: &Path) -> PathBuf {
    let stem = suite_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    suite_file.with_file_name(format!("{stem}.drafts.jsonl"))
}

/// Reads a drafts file; every line must be a valid draft with an id not
/// used on an earlier line (blank lines are skipped). `display` is the path
/// shown in errors.
pub fn read_drafts(path: &Path, display: &str) -> Result<Vec<Draft>, DraftError> {
    use crate::fsutil::ReadError;
    let read = |message: String, hint: &str| DraftError::Read {
        file: display.to_string(),
        message,
        hint: hint.to_string(),
    };
    let bytes = crate::fsutil::read_regular_bytes(path, MAX_DRAFTS_BYTES).map_err(|e| match e {
        ReadError::Io(e) => read(
            format!("cannot read the drafts file: {e}"),
            "generate drafts with `tribunal generate`, or check the path",
        ),
        ReadError::NotRegular(kind) => read(
            format!("the drafts file is not a regular file ({kind})"),
            "drafts files are plain JSONL files",
        ),
        ReadError::TooLarge(max) => read(
            format!("the drafts file is larger than {} MiB", max >> 20),
            "accept or delete drafts so the file gets smaller",
        ),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        read(
            "the drafts file is not valid UTF-8".into(),
            "save it as UTF-8: drafts files are JSON Lines",
        )
    })?;
    parse_drafts(&text, display)
}

/// [`read_drafts`], with a missing file read as no drafts.
pub fn read_drafts_if_exists(path: &Path, display: &str) -> Result<Vec<Draft>, DraftError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        _ => read_drafts(path, display),
    }
}

fn parse_drafts(text: &str, display: &str) -> Result<Vec<Draft>, DraftError> {
    let at = |line: usize, col: usize, message: String, hint: &str| DraftError::Line {
        file: display.to_string(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
        message,
        hint: hint.to_string(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut drafts = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_DRAFT_LINE_BYTES {
            return Err(at(
                line_no,
                1,
                format!(
                    "the draft is {} bytes long, more than the {} MiB a draft may be",
                    line.len(),
                    MAX_DRAFT_LINE_BYTES >> 20
                ),
                "shorten its input or expected value",
            ));
        }
        if drafts.len() == MAX_DRAFTS {
            return Err(at(
                line_no,
                1,
                format!("the file holds more than {MAX_DRAFTS} drafts"),
                "accept or delete drafts before generating more",
            ));
        }
        let draft = match parse_line(line) {
            Ok(d) => d,
            Err((col, message)) => {
                return Err(at(
                    line_no,
                    col,
                    message,
                    "each line is one JSON object with `id`, `input` and `provenance`; see docs/datasets.md",
                ));
            }
        };
        if let Some((message, hint)) = crate::case::id_problem("draft id", &draft.id) {
            return Err(at(line_no, id_col(line), message, &hint));
        }
        if let Some(first) = seen.get(&draft.id) {
            return Err(at(
                line_no,
                id_col(line),
                format!(
                    "duplicate draft id `{}` (first used on line {first})",
                    draft.id
                ),
                "draft ids must be unique within the file: rename or delete one of them",
            ));
        }
        seen.insert(draft.id.clone(), line_no);
        drafts.push(draft);
    }
    Ok(drafts)
}

/// One line as a draft, or the 1-based column and message of its problem.
fn parse_line(line: &str) -> Result<Draft, (usize, String)> {
    let mut de = serde_json::Deserializer::from_str(line);
    let draft: Draft = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let key = if path == "." || path.is_empty() {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        (
            inner.column().max(1),
            format!(
                "not a valid draft{key}: {}",
                strip_position(&inner.to_string())
            ),
        )
    })?;
    de.end().map_err(|e| {
        (
            e.column().max(1),
            format!("not a valid draft: {}", strip_position(&e.to_string())),
        )
    })?;
    Ok(draft)
}

/// serde_json's message without its trailing `at line 1 column 7`.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The 1-based column of the `"id"` key on a line, else 1.
fn id_col(line: &str) -> usize {
    line.find("\"id\"")
        .map_or(1, |b| line[..b].chars().count() + 1)
}

/// The bytes of a drafts file holding `drafts`: sorted by id, the first
/// draft of each id kept, one compact JSON object per line.
pub fn render_drafts(drafts: &[Draft]) -> String {
    let mut sorted: Vec<&Draft> = drafts.iter().collect();
    // Stable: among drafts with one id, the first given stays first.
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    sorted.dedup_by(|b, a| a.id == b.id);
    let mut out = String::new();
    for d in sorted {
        out.push_str(&serde_json::to_string(d).expect("a draft serializes to JSON"));
        out.push('\n');
    }
    out
}

/// Replaces the drafts file at `path` with `drafts` ([`render_drafts`]),
/// atomically. An empty list writes an empty file.
pub fn write_drafts(path: &Path, display: &str, drafts: &[Draft]) -> Result<(), DraftError> {
    crate::fsutil::write_atomic(path, render_drafts(drafts).as_bytes()).map_err(|source| {
        DraftError::Write {
            file: display.to_string(),
            source,
        }
    })
}

/// The outcome of merging new drafts into existing ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Merged {
    /// Every draft, sorted by id.
    pub drafts: Vec<Draft>,
    /// Ids of the new drafts that were added.
    pub added: Vec<String>,
    /// Ids of the new drafts left out because the id was already there
    /// (the existing draft, perhaps edited by hand, is kept as it is).
    pub kept: Vec<String>,
}

/// Merges `new` drafts into `existing` by id: an id already present keeps
/// its existing draft (so hand edits survive a rerun), a new id is added;
/// among new drafts sharing an id the first wins.
pub fn merge_drafts(existing: Vec<Draft>, new: Vec<Draft>) -> Merged {
    let mut ids: BTreeSet<String> = existing.iter().map(|d| d.id.clone()).collect();
    let mut merged = Merged {
        drafts: existing,
        ..Merged::default()
    };
    for d in new {
        if ids.insert(d.id.clone()) {
            merged.added.push(d.id.clone());
            merged.drafts.push(d);
        } else {
            merged.kept.push(d.id);
        }
    }
    merged.drafts.sort_by(|a, b| a.id.cmp(&b.id));
    merged
}

/// Reads the drafts file at `path` (missing: none), merges `new` into it
/// ([`merge_drafts`]) and writes it back atomically. Nothing is written when
/// the existing file cannot be read.
pub fn merge_into_file(path: &Path, display: &str, new: Vec<Draft>) -> Result<Merged, DraftError> {
    let existing = read_drafts_if_exists(path, display)?;
    let merged = merge_drafts(existing, new);
    write_drafts(path, display, &merged.drafts)?;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft(id: &str, input: &str) -> Draft {
        Draft::new(
            id,
            DraftInput::Text(input.into()),
            Provenance::new(Source::Logs),
        )
    }

    #[test]
    fn the_drafts_file_sits_beside_the_suite() {
        assert_eq!(
            drafts_path(Path::new("evals/support.yaml")),
            Path::new("evals/support.drafts.jsonl")
        );
    }

    #[test]
    fn rendering_sorts_by_id_keeps_the_first_of_an_id_and_round_trips() {
        let mut b = draft("b", "second");
        b.expected = Some(json!({"sql": "SELECT 1"}));
        b.tags = vec!["refunds".into()];
        b.flags = vec!["near-duplicate".into()];
        b.provenance = Provenance {
            generator: Some(Generator {
                provider: "openai".into(),
                model: "gpt-4.1-mini".into(),
                template_sha256: "ab".into(),
            }),
            row: Some(RowRef {
                file: "data/t.jsonl".into(),
                line: 3,
            }),
            tuple: Some(BTreeMap::from([("persona".into(), "angry".into())])),
            seed: Some(7),
            extra: BTreeMap::from([("k".into(), json!(2))]),
            ..Provenance::new(Source::Truth)
        };
        let mut vars = Map::new();
        vars.insert("q".into(), json!("hi"));
        let a = Draft::new("a", DraftInput::Vars(vars), Provenance::new(Source::Logs));
        let text = render_drafts(&[b.clone(), a.clone(), draft("b", "dropped")]);
        assert_eq!(
            text,
            concat!(
                r#"{"id":"a","input":{"q":"hi"},"provenance":{"source":"logs"}}"#,
                "\n",
                r#"{"id":"b","input":"second","expected":{"sql":"SELECT 1"},"tags":["refunds"],"provenance":{"source":"truth","generator":{"provider":"openai","model":"gpt-4.1-mini","template_sha256":"ab"},"row":{"file":"data/t.jsonl","line":3},"tuple":{"persona":"angry"},"seed":7,"k":2},"flags":["near-duplicate"]}"#,
                "\n"
            )
        );
        assert_eq!(parse_drafts(&text, "d.jsonl").unwrap(), vec![a, b]);
    }

    #[test]
    fn a_bad_line_is_an_error_at_its_line_and_column() {
        let text = "{\"id\":\"a\",\"input\":\"x\",\"provenance\":{\"source\":\"logs\"}}\n\n{\"id\":\"b\",\"input\":3,\"provenance\":{\"source\":\"logs\"}}\n";
        let err = parse_drafts(text, "evals/s.drafts.jsonl").unwrap_err();
        assert_eq!(
            err.to_string(),
            "evals/s.drafts.jsonl:3:19: not a valid draft at `input`: `input` must be a string or a map of variables, not a number (hint: each line is one JSON object with `id`, `input` and `provenance`; see docs/datasets.md)"
        );
        let dup = "{\"id\":\"a\",\"input\":\"x\",\"provenance\":{\"source\":\"logs\"}}\n{\"id\":\"a\",\"input\":\"y\",\"provenance\":{\"source\":\"logs\"}}\n";
        assert_eq!(
            parse_drafts(dup, "d").unwrap_err().to_string(),
            "d:2:2: duplicate draft id `a` (first used on line 1) (hint: draft ids must be unique within the file: rename or delete one of them)"
        );
        let unknown = "{\"id\":\"a\",\"inptu\":\"x\"}";
        assert_eq!(
            parse_drafts(unknown, "d").unwrap_err().to_string(),
            "d:1:17: not a valid draft at `inptu`: unknown field `inptu`, expected one of `id`, `input`, `expected`, `tags`, `description`, `provenance`, `flags` (hint: each line is one JSON object with `id`, `input` and `provenance`; see docs/datasets.md)"
        );
        let bad_id = "{\"id\":\"a b\",\"input\":\"x\",\"provenance\":{\"source\":\"logs\"}}";
        assert!(
            parse_drafts(bad_id, "d")
                .unwrap_err()
                .to_string()
                .starts_with("d:1:2: invalid draft id `a b`")
        );
    }

    #[test]
    fn merging_keeps_existing_drafts_and_adds_new_ids() {
        let merged = merge_drafts(
            vec![draft("b", "edited by hand")],
            vec![
                draft("c", "new"),
                draft("b", "regenerated"),
                draft("a", "new"),
            ],
        );
        assert_eq!(merged.added, vec!["c", "a"]);
        assert_eq!(merged.kept, vec!["b"]);
        let ids: Vec<&str> = merged.drafts.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "b", "c"]);
        assert_eq!(
            merged.drafts[1].input,
            DraftInput::Text("edited by hand".into())
        );
    }

    #[test]
    fn merging_into_a_file_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.drafts.jsonl");
        let new = vec![draft("z", "1"), draft("y", "2")];
        merge_into_file(&path, "s", new.clone()).unwrap();
        let first = std::fs::read(&path).unwrap();
        let again = merge_into_file(&path, "s", new).unwrap();
        assert_eq!(again.kept, vec!["z", "y"]);
        assert_eq!(std::fs::read(&path).unwrap(), first);
    }
}
