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
use sha2::{Digest, Sha256};

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
}

impl Mode {
    /// Parses `replay`, `record`, `live` or `auto`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "replay" => Some(Mode::Replay),
            "record" => Some(Mode::Record),
            "live" => Some(Mode::Live),
            "auto" => Some(Mode::Auto),
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
        }
    }

    /// `TRIBUNAL_MODE` if set (an invalid value is an error naming it), else
    /// `replay` in CI and `auto` elsewhere.
    pub fn resolve(var: Option<&str>, ci: bool) -> Result<Mode, ProviderError> {
        match var.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Mode::parse(v).ok_or_else(|| {
                ProviderError::Config(format!(
                    "TRIBUNAL_MODE=`{v}` is not a mode (hint: use replay, record, live or auto)"
                ))
            }),
            None => Ok(if ci { Mode::Replay } else { Mode::Auto }),
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

/// Sorts object keys recursively so that the same request always hashes the same.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The canonical request of a call: what the key hashes and the file shows.
pub fn canonical_request(kind: &str, req: &ChatRequest, extra: &Map<String, Value>) -> Value {
    let mut v = serde_json::to_value(req).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("provider".into(), Value::String(kind.to_string()));
        if !extra.is_empty() {
            m.insert("params".into(), Value::Object(extra.clone()));
        }
    }
    canonical(&v)
}

/// The SHA-256 (hex) of a canonical request.
pub fn key_of(canonical_request: &Value) -> String {
    let text = serde_json::to_string(canonical_request).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
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

/// Reads a cassette file: `Ok(None)` when absent, an error naming the file
/// when it is truncated, corrupt or holds another request.
pub fn read(path: &Path, key: &str) -> Result<Option<Entry>, ProviderError> {
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
            "cassette {} is corrupt: {why} (hint: delete the file and record it again with TRIBUNAL_MODE=record)",
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

/// Writes an entry atomically.
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
    crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|e| {
        ProviderError::Cassette(format!("cannot write cassette {}: {e}", path.display()))
    })
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
                if !hidden {
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

    #[test]
    fn key_ignores_map_order_but_not_sample() {
        let a = ChatRequest {
            model: "m".into(),
            messages: vec![Message::user("x")],
            ..ChatRequest::default()
        };
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

    #[test]
    fn modes_resolve_from_env_and_ci() {
        assert_eq!(Mode::resolve(None, true).ok(), Some(Mode::Replay));
        assert_eq!(Mode::resolve(None, false).ok(), Some(Mode::Auto));
        assert_eq!(Mode::resolve(Some("RECORD"), true).ok(), Some(Mode::Record));
        let e = Mode::resolve(Some("replya"), false).expect_err("invalid");
        assert!(e.to_string().contains("replya"));
    }

    #[test]
    fn safe_names_stay_inside_the_folder() {
        assert_eq!(safe_name("../x"), "~..~2f~x");
        assert_eq!(safe_name("a b/c"), "a~20~b~2f~c");
        assert_eq!(safe_name("gpt+v2"), "gpt+v2");
    }
}
