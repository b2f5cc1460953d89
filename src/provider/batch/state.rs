//! What `tribunal batch` remembers between commands, under
//! `target/tribunal/batches/`: `state.json` (every batch submitted: its
//! provider id, its status, how many requests), `submitted/<local>.jsonl`
//! (the requests of each batch, written once before it is sent) and
//! `failed.json` (requests a batch did not answer, with why). Each is
//! written atomically after every step, so an interrupted `submit` or
//! `collect` resumes where it stopped.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Item;

/// The largest state or failed-list file read (1 GiB: they hold ids and
/// counts, or the failed requests).
const MAX_STATE_BYTES: u64 = 1 << 30;

/// Every batch `tribunal batch submit` sent, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The batches.
    pub batches: Vec<Batch>,
}

/// One provider batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// tribunal's own name for it: its requests are in `submitted/<local>.jsonl`.
    pub local: String,
    /// `openai` or `anthropic`.
    pub kind: String,
    /// The provider spec its requests were made through (the first one, when several reach one endpoint).
    pub spec: String,
    /// The model of its requests.
    pub model: String,
    /// The provider's batch id (`batch_...`, `msgbatch_...`), once created.
    #[serde(default)]
    pub id: Option<String>,
    /// OpenAI: the uploaded input file.
    #[serde(default)]
    pub input_file_id: Option<String>,
    /// The provider's last reported status (`uploaded` before an OpenAI
    /// batch is created).
    pub status: String,
    /// How many requests it holds.
    pub requests: usize,
    /// When it was submitted (RFC 3339).
    pub submitted_at: String,
    /// True once its results were recorded (or its failures listed).
    #[serde(default)]
    pub collected: bool,
}

/// A request a batch did not answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failed {
    /// The cassette key (the batch's `custom_id`).
    pub key: String,
    /// The cassette file it was to be recorded to, under the cassette folder.
    pub cassette: PathBuf,
    /// The batch that did not answer it.
    pub batch: String,
    /// Why.
    pub reason: String,
    /// The request, for `tribunal batch submit --retry-failed`.
    pub item: Item,
}

/// `failed.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedList {
    /// The failed requests, one per key.
    pub failed: Vec<Failed>,
}

fn load<T: Default + for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    match crate::fsutil::read_regular(path, MAX_STATE_BYTES) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is corrupt: {e} (hint: it is tribunal's own record of submitted batches; restore it, or delete it to forget them)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
    text.push('\n');
    crate::fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl State {
    /// The state under `dir` (empty when there is none).
    pub fn load(dir: &Path) -> Result<State, String> {
        load(&dir.join("state.json"))
    }

    /// Writes the state under `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        save(&dir.join("state.json"), self)
    }
}

impl FailedList {
    /// The failed list under `dir` (empty when there is none).
    pub fn load(dir: &Path) -> Result<FailedList, String> {
        load(&dir.join("failed.json"))
    }

    /// Writes the list under `dir` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        save(&dir.join("failed.json"), self)
    }

    /// Adds or replaces the entry of `f.key`.
    pub fn put(&mut self, f: Failed) {
        self.failed.retain(|x| x.key != f.key);
        self.failed.push(f);
    }

    /// Drops the entry of `key` (it was recorded).
    pub fn drop_key(&mut self, key: &str) {
        self.failed.retain(|x| x.key != key);
    }
}

/// The requests of a submitted batch.
pub fn items_path(dir: &Path, local: &str) -> PathBuf {
    dir.join("submitted").join(format!("{local}.jsonl"))
}

/// Writes the requests of a batch atomically, one JSON line each.
pub fn save_items(dir: &Path, local: &str, items: &[&Item]) -> Result<(), String> {
    let mut text = String::new();
    for i in items {
        text.push_str(&serde_json::to_string(i).map_err(|e| format!("cannot encode: {e}"))?);
        text.push('\n');
    }
    let path = items_path(dir, local);
    crate::fsutil::write_atomic(&path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The requests of a submitted batch.
pub fn load_items(dir: &Path, local: &str) -> Result<Vec<Item>, String> {
    let path = items_path(dir, local);
    let text = crate::fsutil::read_regular(&path, MAX_STATE_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(n, l)| {
            serde_json::from_str(l)
                .map_err(|e| format!("{}:{} is corrupt: {e}", path.display(), n + 1))
        })
        .collect()
}
