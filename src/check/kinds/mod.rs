//! The built-in check kinds, one module each. A kind implements
//! [`Kind`] (how it is written and parsed) and [`Check`](super::Check) or
//! [`Immediate`] (how it runs), and has one line in `check/registry.rs`. The judge and `ast_equivalent` kinds have folders
//! of their own (`check/judge/`, `check/ast/`).

pub mod affix;
pub mod contains;
pub mod cost;
pub mod count;
pub mod directional;
pub mod equals;
pub mod invariant;
pub mod is_json;
pub mod json_path;
pub mod latency;
pub mod regex;
pub mod rust;
pub mod similarity;
pub mod skip;
pub mod tool_args;
pub mod tool_called;
pub mod tool_sequence;
pub mod trajectory;

use serde_json::Value;

pub(crate) use super::spec::main_error;
pub(crate) use super::{CheckCx, Immediate, Kind, Parsed, SpecError};

/// A text parameter: a string, or a number or boolean written without quotes.
fn string_value(kind: &str, main: &Value) -> Result<String, SpecError> {
    match main {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(main_error(
            kind,
            format!("`{kind}` takes a string"),
            Some("quote the text, e.g. `contains: \"refund\"`"),
        )),
    }
}

/// The output as shown in a reason: one line, quoted, at most 120 characters.
fn excerpt(s: &str) -> String {
    const MAX: usize = 120;
    let flat: String = s.chars().map(|c| if c == '\n' { '⏎' } else { c }).collect();
    if flat.chars().count() <= MAX {
        format!("{flat:?}")
    } else {
        let cut: String = flat.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

/// A bound `N` or `{key: N}`, a number >= 0.
fn bound(kind: &str, main: &Value, key: &str, example: &str) -> Result<f64, SpecError> {
    let v = match main {
        Value::Object(m) if m.len() == 1 && m.contains_key(key) => &m[key],
        other => other,
    };
    match v.as_f64() {
        Some(x) if x >= 0.0 => Ok(x),
        _ => Err(main_error(
            kind,
            format!("`{kind}` takes a number >= 0 (or `{{{key}: N}}`)"),
            Some(example),
        )),
    }
}

/// One tool call as a failure message names it: its index in the output's
/// calls, its name and an excerpt of its arguments (`#1 get_order({"id":7})`).
fn call_label(index: usize, call: &crate::chat::ToolCall) -> String {
    format!("#{index} {}", call.summary(80))
}

/// Labelled calls, at most `MAX_LISTED`, then how many more.
fn call_list<'a>(calls: impl IntoIterator<Item = (usize, &'a crate::chat::ToolCall)>) -> String {
    const MAX_LISTED: usize = 5;
    let all: Vec<String> = calls.into_iter().map(|(i, c)| call_label(i, c)).collect();
    let mut shown = all
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > MAX_LISTED {
        shown.push_str(&format!(" and {} more", all.len() - MAX_LISTED));
    }
    shown
}

/// The names of the calls in order: `search → get_order → refund` (the
/// first 30, then how many more).
fn call_sequence(calls: &[crate::chat::ToolCall]) -> String {
    const MAX_SHOWN: usize = 30;
    let mut s = calls
        .iter()
        .take(MAX_SHOWN)
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(" → ");
    if calls.len() > MAX_SHOWN {
        s.push_str(&format!(" → … ({} more)", calls.len() - MAX_SHOWN));
    }
    s
}

/// A JSON Schema compiled at load; a schema that does not compile is an
/// error at `path`.
fn compile_schema(
    schema: &Value,
    path: Vec<crate::diag::Seg>,
) -> Result<std::sync::Arc<jsonschema::Validator>, SpecError> {
    jsonschema::validator_for(schema)
        .map(std::sync::Arc::new)
        .map_err(|e| SpecError {
            path,
            at_key: false,
            message: format!("invalid JSON Schema: {e}"),
            hint: Some("see https://json-schema.org/understanding-json-schema".into()),
        })
}

/// Where `value` breaks `schema` (at most three problems, `; `-joined), or
/// `None` when it matches.
fn schema_problems(schema: &jsonschema::Validator, value: &Value) -> Option<String> {
    let problems: Vec<String> = schema
        .iter_errors(value)
        .take(3)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/".to_string() } else { at })
        })
        .collect();
    (!problems.is_empty()).then(|| problems.join("; "))
}
