//! Writing generated drafts into a suite's draft file, keeping the drafts
//! other sources wrote: the file's drafts from `source` are replaced by the
//! new ones, the rest kept, all sorted by id and written atomically; a rerun
//! that generates the same drafts leaves the file byte for byte as it was.
//! With `CI=true` nothing is written: the file must already hold exactly
//! what the generation produced.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::synth::Made;

/// The draft file's line of a generated draft.
pub fn to_json(d: &Made) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(d.id));
    m.insert("input".into(), json!(d.input));
    if let Some(e) = &d.expected {
        m.insert("expected".into(), e.clone());
    }
    if !d.tags.is_empty() {
        m.insert("tags".into(), json!(d.tags));
    }
    m.insert("provenance".into(), d.provenance.clone());
    if !d.flags.is_empty() {
        m.insert("flags".into(), json!(d.flags));
    }
    Value::Object(m)
}

/// Saves `drafts` as the drafts of `source` in `path` (`shown` in
/// messages); returns the line that says what happened.
pub fn save(path: &Path, shown: &str, source: &str, drafts: &[Made], ci: bool) -> Result<String, String> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{shown}: cannot read the drafts: {e}")),
    };
    let mut lines: Vec<Value> = Vec::new();
    for (i, line) in old.as_deref().unwrap_or("").lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{shown}:{}: not a draft: {e} (hint: fix or remove the line)", i + 1))?;
        if v["provenance"]["source"] != source {
            lines.push(v);
        }
    }
    let kept = lines.len();
    lines.extend(drafts.iter().map(to_json));
    lines.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    for w in lines.windows(2) {
        if w[0]["id"] == w[1]["id"] {
            return Err(format!(
                "{shown}: the generated draft `{}` has the id of a draft from `{}` already in the file (hint: accept or remove that draft first)",
                w[0]["id"].as_str().unwrap_or(""),
                w[0]["provenance"]["source"].as_str().unwrap_or("?")
            ));
        }
    }
    let mut text = String::new();
    for l in &lines {
        text.push_str(&l.to_string());
        text.push('\n');
    }
    let summary = format!(
        "{} from `{source}`, {kept} from other sources",
        crate::text::count(drafts.len(), "draft")
    );
    if old.as_deref() == Some(text.as_str()) {
        return Ok(format!("{shown} is up to date: {summary}\n"));
    }
    if ci {
        return Err(format!(
            "{shown} is not what this generation produces ({summary}), and with CI=true nothing is written (hint: run the command without CI=true and commit the file)"
        ));
    }
    crate::fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("{shown}: cannot write the drafts: {e}"))?;
    Ok(format!("wrote {shown}: {summary}\n"))
}
