//! Record/replay of provider calls.
//!
//! Layout: one file per request under a folder per suite and case,
//! `<root>/fixtures/cassettes/<suite>/<case>[@<variant>]/<key>.yaml`, where
//! `<key>` is the first 20 hex digits of the SHA-256 of the canonical
//! request (provider kind, model, messages, parameters, extra wire
//! parameters and the sample index; never a key, header or base URL). One
//! file per request means concurrent trials and concurrent nextest processes
//! never write the same file with different content, and every write is
//! atomic ([`crate::fsutil::write_atomic`]). A pull request shows each new or
//! changed exchange as its own readable YAML file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ChatRequest, ChatResponse, ProviderError};

/// How calls meet cassettes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Never call out: answer from cassettes, a miss is an error.
    Replay,
    /// Always call, and write the answer.
    Record,
    /// Always call, write nothing.
    Live,
    /// Replay hits; on a miss, call and record when the provider has a key.
    Auto,
    /// Replay hits; on a miss, queue the request for a provider batch
    /// (`tribunal batch submit`) and fail the call: nothing is sent.
    Batch,
}

impl Mode {
    /// Parses `replay`, `record`, `live`, `auto` or `batch`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "replay" => Some(Mode::Replay),
            "record" => Some(Mode::Record),
            "live" => Some(Mode::Live),
            "auto" => Some(Mode::Auto),
            "batch" => Some(Mode::Batch),
            _ => None,
        }
    }

    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Replay => "replay",
            Mode::Record => "record",
            Mode::Live => "live",
            Mode::Auto => "auto",
            Mode::Batch => "batch",
        }
    }
}

/// One recorded exchange, as written to disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The full SHA-256 of the canonical request.
    pub key: String,
    /// The provider spec the call was made through (`openai:gpt-4.1-mini`).
    pub spec: String,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// The canonical request.
    pub request: Value,
    /// The answer.
    pub response: ChatResponse,
}

/// Sorts object keys recursively, in place, so that the same request always
/// hashes the same (arrays keep their order).
fn canonicalize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.sort_keys();
            m.values_mut().for_each(canonicalize);
        }
        Value::Array(a) => a.iter_mut().for_each(canonicalize),
        _ => {}
    }
}

/// The canonical request of a call: what the key hashes and the file shows.
/// Every call of a run builds one, replayed or not, so it is sorted in
/// place rather than copied.
pub fn canonical_request(kind: &str, req: &ChatRequest, extra: &Map<String, Value>) -> Value {
    let mut v = serde_json::to_value(req).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("provider".into(), Value::String(kind.to_string()));
        if !extra.is_empty() {
            m.insert("params".into(), Value::Object(extra.clone()));
        }
    }
    canonicalize(&mut v);
    v
}

/// The SHA-256 (hex) of a canonical request.
pub fn key_of(canonical_request: &Value) -> String {
    crate::text::sha256_hex(&serde_json::to_string(canonical_request).unwrap_or_default())
}

/// A file-name-safe form of a suite, case or variant name: the same as the
/// snapshot's part ([`crate::fsutil::name_part`]), so the two never drift.
pub fn safe_name(s: &str) -> String {
    crate::fsutil::name_part(s)
}

/// The file of a request: `<dir>/<suite>/<case>[@<variant>]/<key20>.yaml`.
pub fn path_for(dir: &Path, suite: &str, case: &str, variant: Option<&str>, key: &str) -> PathBuf {
    let case_dir = match variant {
        Some(v) => format!("{}@{}", safe_name(case), safe_name(v)),
        None => safe_name(case),
    };
    dir.join(safe_name(if suite.is_empty() { "_" } else { suite }))
        .join(if case.is_empty() {
            "_".to_string()
        } else {
            case_dir
        })
        .join(format!("{}.yaml", &key[..key.len().min(20)]))
}

/// The largest cassette file read (64 MiB; an answer is at most 16 MiB).
pub const MAX_CASSETTE_BYTES: u64 = 64 << 20;

/// Reads a cassette file: `Ok(None)` when absent, an error naming the file
/// when it is truncated, corrupt or holds another request, whose hint says
/// to record it again with `record` (the command for the way the suite is
/// run: [`crate::rerun::Rerun::record`]).
pub fn read(path: &Path, key: &str, record: &str) -> Result<Option<Entry>, ProviderError> {
    if let Ok(meta) = std::fs::metadata(path)
        && (!meta.is_file() || meta.len() > MAX_CASSETTE_BYTES)
    {
        return Err(ProviderError::Cassette(format!(
            "cassette {} is not a regular file of at most {} MiB (hint: delete it and record it again with `{record}`)",
            path.display(),
            MAX_CASSETTE_BYTES >> 20
        )));
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ProviderError::Cassette(format!(
                "cannot read cassette {}: {e}",
                path.display()
            )));
        }
    };
    let corrupt = |why: String| {
        ProviderError::Cassette(format!(
            "cassette {} is corrupt: {why} (hint: delete the file and record it again with `{record}`)",
            path.display()
        ))
    };
    let entry: Entry = serde_saphyr::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    if entry.key != key {
        return Err(corrupt(format!(
            "it records request {} but its name says {}",
            entry.key, key
        )));
    }
    Ok(Some(entry))
}

/// What a replay needs of a cassette: its key and its answer (the other
/// top-level fields are checked to be there, not read).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Replayed {
    key: String,
    #[allow(dead_code)]
    spec: String,
    #[allow(dead_code)]
    recorded_at: String,
    response: ChatResponse,
}

/// The top-level fields of a cassette, in no particular order.
const FIELDS: [&str; 5] = ["key", "spec", "recorded_at", "request", "response"];

/// The answer recorded in a cassette file, for a replay: `Ok(None)` when
/// absent. The request (most of the file: the prompt) is what a reviewer
/// reads in a pull request; a replay only needs the key, which names the
/// request, and the answer, so a file as tribunal writes it (each of the
/// five fields once, as a top-level line) is parsed without its `request`
/// section. Any other file goes through [`read`], with its errors.
pub fn replay(path: &Path, key: &str, record: &str) -> Result<Option<ChatResponse>, ProviderError> {
    let full = || read(path, key, record).map(|e| e.map(|e| e.response));
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() <= MAX_CASSETTE_BYTES => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => return full(),
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return full();
    };
    match without_request(&text)
        .and_then(|rest| serde_saphyr::from_str::<Replayed>(&rest).ok())
        .filter(|r| r.key == key)
    {
        Some(r) => Ok(Some(r.response)),
        None => full(),
    }
}

/// `text` without its top-level `request:` section, when `text` has
/// exactly tribunal's five top-level fields, each once, each starting a
/// line at column 0 with every other line indented (or a `- ` entry of a
/// top-level sequence, as the writer puts them).
fn without_request(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() / 4);
    let mut seen = [false; 5];
    let mut in_request = false;
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        if blank || line.starts_with(' ') || line.starts_with("- ") || line.trim_end() == "-" {
            // Lines of the field above (a block scalar's empty lines are
            // written without indentation).
            if !blank && seen.iter().all(|s| !s) {
                return None;
            }
        } else {
            let (name, _) = line.split_once(':')?;
            let i = FIELDS.iter().position(|f| *f == name)?;
            if std::mem::replace(&mut seen[i], true) {
                return None;
            }
            in_request = name == "request";
        }
        if !in_request {
            out.push_str(line);
        }
    }
    seen.iter().all(|s| *s).then_some(out)
}

/// Writes an entry atomically; the caller flushes it to disk with
/// [`crate::fsutil::sync_deferred`] once its run is over (the harness does).
pub fn write(path: &Path, entry: &Entry) -> Result<(), ProviderError> {
    let mut response = entry.response.clone();
    response.replayed = false;
    // Tenths of a millisecond: enough for reports, and stable diffs.
    response.latency_ms = (response.latency_ms * 10.0).round() / 10.0;
    let value = serde_json::to_value(Entry {
        response,
        ..entry.clone()
    })
    .map_err(|e| ProviderError::Cassette(format!("cannot encode cassette: {e}")))?;
    let text = crate::yaml_out::to_yaml(&value);
    // Flushed to disk with the run's other recordings at its end
    // (`fsutil::sync_deferred`), not one fsync per cassette.
    crate::fsutil::write_atomic_deferred(path, text.as_bytes()).map_err(|e| {
        ProviderError::Cassette(format!("cannot write cassette {}: {e}", path.display()))
    })
}

/// The paths where two JSON values differ (`messages[1].content`,
/// `temperature`), outermost first, at most `max`.
pub fn differences(a: &Value, b: &Value, max: usize) -> Vec<String> {
    fn walk(a: &Value, b: &Value, at: &str, out: &mut Vec<String>, max: usize) {
        if out.len() >= max || a == b {
            return;
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let next = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => walk(p, q, &next, out, max),
                        _ if out.len() < max => out.push(next),
                        _ => {}
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(p, q, &format!("{at}[{i}]"), out, max);
                }
            }
            _ => out.push(if at.is_empty() {
                "(the whole request)".into()
            } else {
                at.to_string()
            }),
        }
    }
    let mut out = Vec::new();
    walk(a, b, "", &mut out, max);
    out
}

/// For a request with no recording: the recorded request of the same case
/// closest to it (fewest differing parts) and where they differ, as a
/// sentence; `None` when the case folder holds no readable recording.
pub fn changed_parts(case_dir: &Path, request: &Value) -> Option<String> {
    let rd = std::fs::read_dir(case_dir).ok()?;
    let mut best: Option<(usize, PathBuf, Vec<String>)> = None;
    for e in rd.flatten().take(200) {
        let p = e.path();
        let small = e
            .metadata()
            .is_ok_and(|m| m.is_file() && m.len() <= MAX_CASSETTE_BYTES);
        if !small || p.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let Some(entry) = std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| serde_saphyr::from_str::<Entry>(&t).ok())
        else {
            continue;
        };
        let diff = differences(&entry.request, request, 64);
        if best.as_ref().is_none_or(|(n, _, _)| diff.len() < *n) {
            best = Some((diff.len(), p, diff));
        }
    }
    let (_, file, diff) = best?;
    let shown: Vec<String> = diff.iter().take(4).map(|d| format!("`{d}`")).collect();
    let more = if diff.len() > 4 { ", ..." } else { "" };
    Some(format!(
        "the request changed since it was recorded: it differs from the one in {} in {}{more}",
        file.display(),
        shown.join(", ")
    ))
}

/// Whether a file is a cassette by its content: a YAML mapping whose keys
/// are exactly those of [`Entry`], with a 64-hex-digit `key` that its file
/// name starts with. Anything else (a suite, `tribunal.yaml`) is not.
pub fn is_cassette(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    // Cassettes are small; a huge file is not one of them and is not read.
    if !meta.is_file() || meta.len() > MAX_CASSETTE_BYTES {
        return false;
    }
    let Some(entry) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_saphyr::from_str::<Entry>(&t).ok())
    else {
        return false;
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    entry.key.len() == 64
        && entry.key.chars().all(|c| c.is_ascii_hexdigit())
        && stem.is_some_and(|s| !s.is_empty() && entry.key.starts_with(&s))
}

/// Temporary files a killed writer left under `dir`: hidden
/// `.<name>.yaml.<pid>.<n>.tmp` files (see [`crate::fsutil::write_atomic`])
/// whose process is no longer running, sorted.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                if !name.starts_with('.') {
                    stack.push(e.path());
                }
            } else if kind.is_file()
                && let Some(pid) = leftover_pid(&name)
                && !process_alive(pid)
            {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// The writer's pid of a `.<name>.yaml.<pid>.<n>.tmp` name.
fn leftover_pid(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(3, '.');
    let _counter: u64 = parts.next()?.parse().ok()?;
    let pid: u32 = parts.next()?.parse().ok()?;
    parts.next()?.ends_with(".yaml").then_some(pid)
}

fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Every cassette file under `dir`, sorted.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let hidden = e.file_name().to_string_lossy().starts_with('.');
            if p.is_dir() {
                // Build folders (cargo's `target/` has a CACHEDIR.TAG) hold no cassettes.
                if !hidden && !p.join("CACHEDIR.TAG").exists() {
                    stack.push(p);
                }
            } else if !hidden && p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Message;

    fn every_cassette(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                every_cassette(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }

    #[test]
    fn shipped_cassettes_replay_through_the_fast_path_with_the_same_answer() {
        let mut files = Vec::new();
        every_cassette(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cassettes"),
            &mut files,
        );
        assert!(files.len() >= 5, "{files:?}");
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read");
            assert!(without_request(&text).is_some(), "{}", f.display());
            let key = text
                .lines()
                .find_map(|l| l.strip_prefix("key: "))
                .expect("key")
                .trim_matches('"')
                .to_string();
            let full = read(&f, &key, "rec").expect("reads").expect("there");
            let fast = replay(&f, &key, "rec").expect("replays").expect("there");
            assert_eq!(fast, full.response, "{}", f.display());
        }
    }

    #[test]
    fn a_written_cassette_replays_fast_and_anything_unusual_is_read_in_full() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.yaml");
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![Message::user(
                "first paragraph\n\nsecond: with a colon\n- a dash",
            )],
            ..ChatRequest::default()
        };
        let canonical = canonical_request("openai", &req, &Map::new());
        let key = key_of(&canonical);
        let entry = Entry {
            key: key.clone(),
            spec: "openai:m".into(),
            recorded_at: "2026-12-02T00:00:00Z".into(),
            request: canonical,
            response: ChatResponse::new("the answer\n\nwith a blank line"),
        };
        write(&path, &entry).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        let rest = without_request(&text).expect("the fast path applies");
        assert!(!rest.contains("first paragraph"), "{rest}");
        let got = replay(&path, &key, "rec").expect("replays").expect("there");
        assert_eq!(got.text, "the answer\n\nwith a blank line");
        // Another key is an error naming the file, as before.
        let e = replay(&path, &"0".repeat(64), "rec").expect_err("wrong key");
        assert!(e.to_string().contains("it records request"), "{e}");
        // A field tribunal never writes: the full parse refuses it.
        std::fs::write(&path, format!("{text}extra: 1\n")).expect("write");
        assert!(without_request(&std::fs::read_to_string(&path).expect("read")).is_none());
        let e = replay(&path, &key, "rec").expect_err("unknown field");
        assert!(e.to_string().contains("is corrupt"), "{e}");
        // A missing field, too.
        let no_spec: String = text
            .lines()
            .filter(|l| !l.starts_with("spec:"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, no_spec).expect("write");
        assert!(replay(&path, &key, "rec").is_err());
        assert_eq!(
            replay(&dir.path().join("none.yaml"), &key, "rec").expect("absent"),
            None
        );
    }

    /// A request to model `m` with one user message, `x`.
    fn one_message() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::user("x")],
            ..ChatRequest::default()
        }
    }

    #[test]
    fn key_ignores_map_order_but_not_sample() {
        let a = one_message();
        let e1: Map<String, Value> = serde_json::from_str(r#"{"a":1,"b":2}"#).unwrap_or_default();
        let e2: Map<String, Value> = serde_json::from_str(r#"{"b":2,"a":1}"#).unwrap_or_default();
        let k1 = key_of(&canonical_request("openai", &a, &e1));
        assert_eq!(k1, key_of(&canonical_request("openai", &a, &e2)));
        let b = ChatRequest {
            sample: 1,
            ..a.clone()
        };
        assert_ne!(k1, key_of(&canonical_request("openai", &b, &e1)));
        assert_ne!(k1, key_of(&canonical_request("anthropic", &a, &e1)));
    }

    /// The key of a request is the SHA-256 of its JSON with every object's
    /// keys sorted, nested ones too: recorded cassettes are found by it, so
    /// it must never change. The expected text is written by hand, and the
    /// key is that text's SHA-256 as `sha256sum` prints it.
    #[test]
    fn the_key_is_the_hash_of_the_sorted_request() {
        let req = one_message();
        let extra: Map<String, Value> =
            serde_json::from_str(r#"{"z":{"y":1,"b":[{"d":1,"c":2}]},"a":true}"#)
                .unwrap_or_default();
        let canonical = canonical_request("openai", &req, &extra);
        assert_eq!(
            serde_json::to_string(&canonical).unwrap_or_default(),
            r#"{"messages":[{"content":"x","role":"user"}],"model":"m","params":{"a":true,"z":{"b":[{"c":2,"d":1}],"y":1}},"provider":"openai","sample":0}"#
        );
        assert_eq!(
            key_of(&canonical),
            "78e04b3e48d32d38a112ae8e71495b683259e6748ab4128d0f82564eef595602"
        );
    }

    #[test]
    fn leftover_names_are_recognised() {
        assert_eq!(leftover_pid(".0123abcd.yaml.4242.7.tmp"), Some(4242));
        assert_eq!(leftover_pid(".x.snap.4242.7.tmp"), None);
        assert_eq!(leftover_pid("0123abcd.yaml.4242.7.tmp"), None);
        assert_eq!(leftover_pid(".a.yaml.x.7.tmp"), None);
    }

    #[test]
    fn safe_names_stay_inside_the_folder() {
        assert_eq!(safe_name("../x"), "~..~2f~x");
        assert_eq!(safe_name("a b/c"), "a~20~b~2f~c");
        assert_eq!(safe_name("gpt+v2"), "gpt+v2");
    }
}
