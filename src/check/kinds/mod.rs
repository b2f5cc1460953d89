//! The built-in check kinds, one module each. A kind implements
//! [`Kind`] (how it is written and parsed) and [`Check`](super::Check) or
//! [`Immediate`] (how it runs), and has one line in `check/registry.rs`. The judge and `ast_equivalent` kinds have folders
//! of their own (`check/judge/`, `check/ast/`).

pub mod affix;
pub mod contains;
pub mod cost;
pub mod count;
pub mod equals;
pub mod is_json;
pub mod json_path;
pub mod latency;
pub mod regex;
pub mod rust;
pub mod similarity;
pub mod skip;

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
