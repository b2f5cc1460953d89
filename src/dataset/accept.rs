//! Accepting drafts: chosen drafts of `<suite>.drafts.jsonl` become cases of
//! the suite, and leave the drafts file.
//!
//! Where they go: into the suite's `cases_from:` JSONL file when it has one
//! (one line per case, written with the field names its mapping reads),
//! else appended to the suite file's `cases:` list as text, so the rest of
//! the file (comments, layout, key order) is kept byte for byte. The new
//! text is loaded before anything is written (the accepted ids must come
//! back from it), then the cases file and the drafts file are each replaced
//! atomically. A draft whose id is already a case with the same content was
//! accepted before (a rerun after an interrupted accept): it only leaves
//! the drafts file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::drafts::{Draft, DraftInput, read_drafts, render_drafts};
use crate::case::yaml::{self, NodeValue};
use crate::case::{Format, Mapping};

/// Which drafts to accept.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// These ids (each must be in the drafts file).
    pub ids: Vec<String>,
    /// Every draft.
    pub all: bool,
    /// Drafts with any of these tags.
    pub tags: Vec<String>,
    /// Drafts with any of these flags.
    pub flags: Vec<String>,
}

impl Selection {
    fn is_empty(&self) -> bool {
        self.ids.is_empty() && !self.all && self.tags.is_empty() && self.flags.is_empty()
    }

    fn selects(&self, d: &Draft) -> bool {
        self.all
            || self.ids.contains(&d.id)
            || d.tags.iter().any(|t| self.tags.contains(t))
            || d.flags.iter().any(|f| self.flags.contains(f))
    }
}

/// What an accept did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The file the cases were written to, as displayed.
    pub into: String,
    /// Ids of the drafts that became cases, sorted.
    pub added: Vec<String>,
    /// Ids of the drafts already accepted (same id and content): removed
    /// from the drafts file only.
    pub already: Vec<String>,
    /// Drafts left in the drafts file.
    pub left: usize,
}

/// Why an accept did not happen (nothing was written).
#[derive(Debug, thiserror::Error)]
#[error("{place}: {message} (hint: {hint})")]
pub struct AcceptError {
    /// The file (or `file:line:col`) the problem is in.
    pub place: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

fn err(place: &str, message: impl Into<String>, hint: impl Into<String>) -> AcceptError {
    AcceptError {
        place: place.to_string(),
        message: message.into(),
        hint: hint.into(),
    }
}

/// The files one accept writes: the new cases text and the new drafts text.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What the accept does.
    pub accepted: Accepted,
    /// The cases file and its new text (`None` when only already-accepted
    /// drafts are removed).
    pub cases_file: Option<(PathBuf, String)>,
    /// The drafts file and its new text.
    pub drafts_file: (PathBuf, String),
}

/// Plans accepting the drafts `selection` chooses from the drafts file of
/// the suite at `suite_path` (`display` relative to `root`), checking
/// everything and writing nothing.
pub fn plan(root: &Path, suite_path: &Path, selection: &Selection) -> Result<Plan, AcceptError> {
    let display = crate::case::display_path(root, suite_path);
    if selection.is_empty() {
        return Err(err(
            &display,
            "no drafts chosen",
            "choose with `--id ID`, `--tag TAG`, `--flag FLAG` or `--all`",
        ));
    }
    let drafts_path = super::drafts_path(suite_path);
    let drafts_display = crate::case::display_path(root, &drafts_path);
    if !drafts_path.exists() {
        return Err(err(
            &drafts_display,
            "the suite has no drafts file",
            "write drafts with `tribunal generate logs` (or `truth`, `dimensions`) first",
        ));
    }
    let drafts = read_drafts(&drafts_path, &drafts_display).map_err(|e| {
        err(
            &drafts_display,
            e.to_string(),
            "fix the drafts file and accept again",
        )
    })?;
    let known: Vec<&str> = drafts.iter().map(|d| d.id.as_str()).collect();
    for id in &selection.ids {
        if !known.contains(&id.as_str()) {
            let hint = match crate::diag::did_you_mean(id, known.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!(
                    "{drafts_display} holds {} drafts; list them with `tribunal generate accept --list`",
                    drafts.len()
                ),
            };
            return Err(err(
                &drafts_display,
                format!("no draft has the id `{id}`"),
                hint,
            ));
        }
    }
    let total = drafts.len();
    let (chosen, rest): (Vec<Draft>, Vec<Draft>) =
        drafts.into_iter().partition(|d| selection.selects(d));
    if chosen.is_empty() {
        return Err(err(
            &drafts_display,
            format!("none of the {total} drafts is chosen"),
            "list the drafts and their tags and flags with `tribunal generate accept --list`",
        ));
    }
    let suite_text =
        crate::fsutil::read_regular(suite_path, crate::case::MAX_FILE_BYTES).map_err(|e| {
            err(
                &display,
                format!("cannot read the suite file: {e}"),
                "check the path",
            )
        })?;
    let dir = suite_path.parent().unwrap_or(Path::new("."));
    let before = load(&suite_text, &display, dir, root)?;
    let mut added = Vec::new();
    let mut already = Vec::new();
    let mut new_cases = Vec::new();
    for d in chosen {
        match before.iter().find(|c| c.id == d.id) {
            Some(c) if same_case(c, &d) => already.push(d.id.clone()),
            Some(c) => {
                return Err(err(
                    &display,
                    format!(
                        "draft `{}` has the id of the case at {}, with other content",
                        d.id, c.location
                    ),
                    "rename the draft's id in the drafts file (ids must be unique in a suite), then accept it",
                ));
            }
            None => {
                added.push(d.id.clone());
                new_cases.push(d);
            }
        }
    }
    let root_node = yaml::parse(&suite_text).map_err(|e| {
        err(
            &format!("{display}:{}:{}", e.line, e.col),
            e.message,
            "fix the suite file first",
        )
    })?;
    let jsonl = jsonl_target(&root_node, dir, root, &display)?;
    let (into, cases_file) = match (&jsonl, new_cases.is_empty()) {
        (_, true) => (display.clone(), None),
        (Some((mapping, path, data_display)), false) => {
            let text = crate::case::read_text(path, &mapping.file)
                .map_err(|p| err(data_display, p.message, p.hint))?;
            let new_text = append_rows(&text, mapping, &new_cases, data_display)?;
            check_rows(mapping, &new_text, data_display, &added)?;
            (data_display.clone(), Some((path.clone(), new_text)))
        }
        (None, false) => {
            let new_text = append_yaml(&suite_text, &root_node, &new_cases, &display)?;
            let after = load(&new_text, &display, dir, root)?;
            let ids: BTreeSet<&str> = after.iter().map(|c| c.id.as_str()).collect();
            if let Some(missing) = added.iter().find(|id| !ids.contains(id.as_str())) {
                return Err(err(
                    &display,
                    format!("after accepting, the suite does not load case `{missing}`"),
                    "this is a bug in tribunal: please report it with the suite file",
                ));
            }
            (display.clone(), Some((suite_path.to_path_buf(), new_text)))
        }
    };
    let left = rest.len();
    Ok(Plan {
        accepted: Accepted {
            into,
            added,
            already,
            left,
        },
        cases_file,
        drafts_file: (drafts_path, render_drafts(&rest)),
    })
}

/// Writes a [`plan`]: the cases file first, then the drafts file, each
/// atomically. An accept interrupted between the two is finished by
/// running it again (the drafts already accepted are recognised).
pub fn write(plan: &Plan) -> std::io::Result<()> {
    if let Some((path, text)) = &plan.cases_file {
        crate::fsutil::write_atomic(path, text.as_bytes())?;
    }
    crate::fsutil::write_atomic(&plan.drafts_file.0, plan.drafts_file.1.as_bytes())
}

/// The suite's cases as the loader reads `text`; a suite that does not load
/// is an error (accept into a suite that loads).
fn load(
    text: &str,
    display: &str,
    dir: &Path,
    root: &Path,
) -> Result<Vec<crate::case::Case>, AcceptError> {
    crate::case::load_in(text, display, dir, root)
        .map(|s| s.cases)
        .map_err(|e| {
            err(
                display,
                format!("the suite does not load:\n{e}"),
                "fix the suite (`tribunal validate`), then accept",
            )
        })
}

/// Whether the case `c` is what accepting `d` makes.
fn same_case(c: &crate::case::Case, d: &Draft) -> bool {
    c.input == d.input.to_value() && c.expected == d.expected
}

/// The suite's first `cases_from:` JSONL file, when it has one.
fn jsonl_target(
    root_node: &yaml::Node,
    dir: &Path,
    project: &Path,
    display: &str,
) -> Result<Option<(Mapping, PathBuf, String)>, AcceptError> {
    let NodeValue::Map(entries) = &root_node.value else {
        return Ok(None);
    };
    let Some((_, from)) = entries.iter().find(|(k, _)| k.key_text() == "cases_from") else {
        return Ok(None);
    };
    let list = match from.to_json() {
        Value::Array(items) => items,
        one => vec![one],
    };
    for value in list {
        let Ok(mapping) = serde_json::from_value::<Mapping>(value) else {
            continue;
        };
        if crate::case::format_of(&mapping).ok() != Some(Format::Jsonl) {
            continue;
        }
        let (path, data_display) = crate::case::locate(&mapping, dir, project)
            .map_err(|p| err(display, p.message, p.hint))?;
        return Ok(Some((mapping, path, data_display)));
    }
    Ok(None)
}

/// Sets `value` at the dotted `path` of `row` (`answer.sql` → nested).
fn set_path(row: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = row;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.to_string(), value);
            return;
        }
        let next = cur
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        cur = next.as_object_mut().expect("an object");
    }
}

/// `text` with one JSONL row per draft appended, written with the field
/// names `mapping` reads.
fn append_rows(
    text: &str,
    mapping: &Mapping,
    drafts: &[Draft],
    display: &str,
) -> Result<String, AcceptError> {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for d in drafts {
        let mut row = Map::new();
        set_path(
            &mut row,
            mapping.id.as_deref().unwrap_or("id"),
            Value::String(d.id.clone()),
        );
        if mapping.output.is_some() {
            return Err(err(
                display,
                "the data file's rows carry a fixed `output`, which drafts do not have",
                "add the drafts to another suite, or remove `output:` from `cases_from:`",
            ));
        }
        let input_map = match &mapping.input {
            None => {
                row.insert("input".into(), d.input.to_value());
                None
            }
            Some(Value::String(field)) => {
                set_path(&mut row, field, d.input.to_value());
                None
            }
            Some(Value::Object(fields)) => Some(fields),
            Some(_) => None,
        };
        let vars_of_input = |var: &str| -> Result<Value, AcceptError> {
            match &d.input {
                DraftInput::Vars(m) => m.get(var).cloned().ok_or_else(|| {
                    err(
                        display,
                        format!("draft `{}` has no input variable `{var}`, which `cases_from:` maps", d.id),
                        "give the draft's input that variable in the drafts file, or accept it into another suite",
                    )
                }),
                DraftInput::Text(_) => Err(err(
                    display,
                    format!("draft `{}` has a text input, but `cases_from:` maps the input from several fields", d.id),
                    "write the draft's input as a map of those variables in the drafts file",
                )),
            }
        };
        if let Some(fields) = input_map {
            for (var, field) in fields {
                if let Value::String(field) = field {
                    set_path(&mut row, field, vars_of_input(var)?);
                }
            }
        }
        let var_fields: Vec<(String, String)> = match &mapping.vars {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(|s| (s.to_string(), s.to_string())))
                .collect(),
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect(),
            _ => Vec::new(),
        };
        for (var, field) in var_fields {
            set_path(&mut row, &field, vars_of_input(&var)?);
        }
        if let Some(e) = &d.expected {
            set_path(
                &mut row,
                mapping.expected.as_deref().unwrap_or("expected"),
                e.clone(),
            );
        }
        if !d.tags.is_empty() {
            let tags = d.tags.iter().cloned().map(Value::String).collect();
            set_path(
                &mut row,
                mapping.tags.as_deref().unwrap_or("tags"),
                Value::Array(tags),
            );
        }
        if let Some(desc) = &d.description {
            set_path(
                &mut row,
                mapping.description.as_deref().unwrap_or("description"),
                Value::String(desc.clone()),
            );
        }
        out.push_str(&Value::Object(row).to_string());
        out.push('\n');
    }
    Ok(out)
}

/// The rows of `text` read back with the ids `added` among them, and no
/// new bad row.
fn check_rows(
    mapping: &Mapping,
    text: &str,
    display: &str,
    added: &[String],
) -> Result<(), AcceptError> {
    let rows = crate::case::rows_of_text(mapping, text, display.to_string())
        .map_err(|p| err(display, p.message, p.hint))?;
    let ids: BTreeSet<String> = rows
        .rows
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|c| c.id.clone()))
        .collect();
    match added.iter().find(|id| !ids.contains(*id)) {
        Some(missing) => Err(err(
            display,
            format!("after accepting, `{missing}` does not read back as a case of the data file"),
            "check the draft's input against the mapping of `cases_from:`",
        )),
        None => Ok(()),
    }
}

/// `text` with one `cases:` item per draft appended after the last item of
/// the top-level `cases:` list (or a new `cases:` list at the end), indented
/// as the list is; nothing else in the text changes.
fn append_yaml(
    text: &str,
    root: &yaml::Node,
    drafts: &[Draft],
    display: &str,
) -> Result<String, AcceptError> {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let NodeValue::Map(entries) = &root.value else {
        return Err(err(
            display,
            "the suite file is not a mapping",
            "see docs/format.md",
        ));
    };
    let at = entries.iter().position(|(k, _)| k.key_text() == "cases");
    let items = |indent: usize| -> String {
        let mut out = String::new();
        for d in drafts {
            out.push_str(&case_item(d, indent, nl));
        }
        out
    };
    let Some(at) = at else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(nl);
        }
        out.push_str("cases:");
        out.push_str(nl);
        out.push_str(&items(2));
        return Ok(out);
    };
    let (key, value) = &entries[at];
    let key_line = key.line as usize;
    // Where the list ends: before the next top-level key, after its last
    // line that is not blank or a comment at the left margin.
    let next_key_line = entries
        .get(at + 1)
        .map_or(lines.len() + 1, |(k, _)| k.line as usize);
    let last_content = (key_line..next_key_line)
        .rev()
        .find(|l| {
            let t = lines.get(l - 1).copied().unwrap_or("");
            !t.trim().is_empty() && !t.starts_with('#')
        })
        .unwrap_or(key_line);
    let indent = match &value.value {
        NodeValue::Seq(seq) if !seq.is_empty() => {
            let first = &seq[0];
            let line = lines.get(first.line as usize - 1).copied().unwrap_or("");
            let before: String = line.chars().take(first.col as usize - 1).collect();
            match before.trim_end().strip_suffix('-') {
                Some(lead) if lead.trim().is_empty() => lead.chars().count(),
                _ => {
                    return Err(err(
                        &format!("{display}:{}:{}", key.line, key.col),
                        "`cases:` is written as a flow list (`[…]`)",
                        "write it as a block list (one `- id: …` per case) to accept drafts into it",
                    ));
                }
            }
        }
        NodeValue::Null => 2,
        _ => {
            return Err(err(
                &format!("{display}:{}:{}", key.line, key.col),
                "`cases:` is not a block list of cases",
                "write it as a block list (one `- id: …` per case), or remove it",
            ));
        }
    };
    let mut out: String = lines[..last_content].concat();
    if !out.ends_with('\n') {
        out.push_str(nl);
    }
    out.push_str(&items(indent));
    out.push_str(&lines[last_content..].concat());
    Ok(out)
}

/// One `- id: …` item of a `cases:` list for a draft, at `indent`.
fn case_item(d: &Draft, indent: usize, nl: &str) -> String {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(d.id.clone()));
    if let Some(desc) = &d.description {
        m.insert("description".into(), Value::String(desc.clone()));
    }
    if !d.tags.is_empty() {
        m.insert(
            "tags".into(),
            Value::Array(d.tags.iter().cloned().map(Value::String).collect()),
        );
    }
    m.insert("input".into(), d.input.to_value());
    if let Some(e) = &d.expected {
        m.insert("expected".into(), e.clone());
    }
    let body = crate::yaml_out::to_yaml(&Value::Object(m));
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for (i, line) in body.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("{pad}- {line}"));
        } else if line.is_empty() {
            // A blank line inside a literal block stays blank.
        } else {
            out.push_str(&format!("{pad}  {line}"));
        }
        out.push_str(nl);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::drafts::{Provenance, Source};

    fn draft(id: &str, input: &str) -> Draft {
        let mut d = Draft::new(
            id,
            DraftInput::Text(input.into()),
            Provenance::new(Source::Logs),
        );
        d.tags = vec!["from-logs".into()];
        d
    }

    #[test]
    fn yaml_items_go_after_the_last_case_keeping_comments() {
        let text = "suite: s\n# the cases\ncases:\n    - id: a   # first\n      input: hi\n\n# trailing comment of the file\n";
        let root = yaml::parse(text).unwrap();
        let out = append_yaml(text, &root, &[draft("b", "two\nlines")], "s.yaml").unwrap();
        assert_eq!(
            out,
            "suite: s\n# the cases\ncases:\n    - id: a   # first\n      input: hi\n    - id: b\n      tags:\n      - from-logs\n      input: |-\n        two\n        lines\n\n# trailing comment of the file\n"
        );
    }

    #[test]
    fn a_suite_without_cases_gets_a_list_at_the_end() {
        let text = "suite: s\ncases_from: {file: q.csv}\n";
        let root = yaml::parse(text).unwrap();
        let out = append_yaml(text, &root, &[draft("b", "x")], "s.yaml").unwrap();
        assert_eq!(
            out,
            format!("{text}cases:\n  - id: b\n    tags:\n    - from-logs\n    input: x\n")
        );
    }

    #[test]
    fn a_flow_list_is_refused() {
        let text = "suite: s\ncases: [{id: a, input: x}]\n";
        let root = yaml::parse(text).unwrap();
        let e = append_yaml(text, &root, &[draft("b", "x")], "s.yaml").unwrap_err();
        assert_eq!(e.place, "s.yaml:2:1");
    }

    #[test]
    fn jsonl_rows_use_the_mapping_field_names() {
        let mapping: Mapping = serde_json::from_value(serde_json::json!({
            "file": "q.jsonl", "id": "key", "input": "q.text", "tags": "labels"
        }))
        .unwrap();
        let mut d = draft("b", "hello");
        d.expected = Some(serde_json::json!({"sql": "SELECT 1"}));
        let out = append_rows(
            "{\"key\":\"a\",\"q\":{\"text\":\"x\"}}",
            &mapping,
            &[d],
            "q.jsonl",
        )
        .unwrap();
        assert_eq!(
            out,
            "{\"key\":\"a\",\"q\":{\"text\":\"x\"}}\n{\"key\":\"b\",\"q\":{\"text\":\"hello\"},\"expected\":{\"sql\":\"SELECT 1\"},\"labels\":[\"from-logs\"]}\n"
        );
        check_rows(&mapping, &out, "q.jsonl", &["a".into(), "b".into()]).unwrap();
    }
}
