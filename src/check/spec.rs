//! Parsing one check from its YAML value: the kind key, the common keys
//! (`name`, `weight`, `not`, `when`, `output`, `step`) and the kind's own
//! options.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Check;
use super::context::ParseCx;
use super::dispatch::OutputPath;
use super::registry::{KINDS, Parsed, lookup};
pub(crate) use crate::diag::main_error;
use crate::diag::{Seg, Span, hint};
pub use crate::diag::{SpecError, typed};
use crate::text::{of_value, one_line};

const COMMON: &[&str] = &["name", "weight", "not", "when", "output", "step"];

/// When a check runs, depending on the checks before it.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// Every earlier (non-skipped) check passed.
    Passed,
    /// Some earlier check failed.
    Failed,
    /// All the named earlier checks passed.
    NamedPassed(Vec<String>),
    /// Some of the named earlier checks failed.
    NamedFailed(Vec<String>),
}

/// One check of a case, parsed.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// The kind key as written (`icontains`, `judge`, ...).
    pub kind_name: &'static str,
    /// The parsed check.
    pub check: Arc<dyn Check>,
    /// Display name: the YAML `name`, or derived from the kind and its value.
    pub name: String,
    /// Weight in the case threshold.
    pub weight: f64,
    /// `not: true` inverts pass and fail.
    pub negate: bool,
    /// Run only when earlier checks passed or failed.
    pub when: Option<When>,
    /// The part of the output the check runs on (`output:`, `step:`);
    /// `None`: the whole output.
    pub output: Option<OutputPath>,
    /// Where the check is written.
    pub span: Span,
}

impl CheckSpec {
    /// The display name a check's YAML value gives it (its `name`, or the
    /// one derived from its kind), without validating the rest; `None` when
    /// it has no recognizable kind.
    pub fn display_name(value: &Value) -> Option<String> {
        match value {
            Value::String(s) => lookup(s).map(|(e, k)| (e.display)(k, &Value::Null)),
            Value::Object(map) => {
                if let Some(Value::String(n)) = map.get("name")
                    && !n.trim().is_empty()
                {
                    return Some(n.clone());
                }
                let mut kinds = map.keys().filter_map(|k| lookup(k));
                match (kinds.next(), kinds.next()) {
                    (Some((entry, kind)), None) => {
                        Some((entry.display)(kind, map.get(kind).unwrap_or(&Value::Null)))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Parses and validates one check.
    pub fn parse(value: &Value, cx: &ParseCx<'_>) -> Result<CheckSpec, SpecError> {
        let (entry, kind_name, main, mut map) = match value {
            Value::String(s) => {
                let (entry, kind) = lookup(s).ok_or_else(|| unknown_kind(s, vec![]))?;
                (entry, kind, Value::Null, Map::new())
            }
            Value::Object(map) => {
                let kinds: Vec<&String> = map.keys().filter(|k| lookup(k).is_some()).collect();
                match kinds.as_slice() {
                    [one] => {
                        let Some((entry, kind)) = lookup(one) else {
                            return Err(unknown_kind(one, vec![]));
                        };
                        let mut rest = map.clone();
                        let main = rest.remove(kind).unwrap_or(Value::Null);
                        (entry, kind, main, rest)
                    }
                    [] => {
                        let other = map.keys().find(|k| !COMMON.contains(&k.as_str()));
                        return Err(match other {
                            Some(k) => unknown_kind(k, vec![Seg::Key(k.clone())]),
                            None => SpecError::new(
                                vec![],
                                "check has no kind",
                                Some(format!("add one of {}", list(&KINDS))),
                            ),
                        });
                    }
                    many => {
                        let names: Vec<String> = many.iter().map(|k| format!("`{k}`")).collect();
                        return Err(SpecError::at_key(
                            many[1],
                            format!(
                                "a check has exactly one kind, found {}",
                                names.join(" and ")
                            ),
                            Some("split them into two list items, each starting with `- `".into()),
                        ));
                    }
                }
            }
            _ => {
                return Err(SpecError::new(
                    vec![],
                    "a check is a mapping such as `contains: refund`, or a bare kind such as `is_json`",
                    None,
                ));
            }
        };
        let name = match map.remove("name") {
            None => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                return Err(SpecError::new(
                    vec![Seg::Key("name".into())],
                    "`name` must be a non-empty string",
                    None,
                ));
            }
        };
        let weight = match map.remove("weight") {
            None => 1.0,
            Some(Value::Number(n)) if n.as_f64().is_some_and(|w| w >= 0.0) => {
                n.as_f64().unwrap_or(1.0)
            }
            Some(_) => {
                return Err(SpecError::new(
                    vec![Seg::Key("weight".into())],
                    "`weight` must be a number >= 0",
                    None,
                ));
            }
        };
        let negate = match map.remove("not") {
            None => false,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                return Err(SpecError::new(
                    vec![Seg::Key("not".into())],
                    "`not` must be true or false",
                    None,
                ));
            }
        };
        let when = match map.remove("when") {
            None => None,
            Some(v) => Some(parse_when(&v, cx)?),
        };
        let output = address(map.remove("output"), map.remove("step"))?;
        no_options(kind_name, &map, entry.options)?;
        let parsed = Parsed {
            kind: kind_name,
            main: &main,
            options: &map,
        };
        let check = (entry.parse)(&parsed, cx)?;
        let name = name.unwrap_or_else(|| (entry.display)(kind_name, &main));
        Ok(CheckSpec {
            kind_name,
            check: Arc::from(check),
            name,
            weight,
            negate,
            when,
            output,
            span: cx.span.clone(),
        })
    }
}

/// `output:` and `step:`, validated.
fn address(output: Option<Value>, step: Option<Value>) -> Result<Option<OutputPath>, SpecError> {
    let text = |key: &str, v: Option<Value>| -> Result<Option<String>, SpecError> {
        match v {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(SpecError::new(
                vec![Seg::Key(key.into())],
                format!("`{key}` must be a string"),
                Some(if key == "step" {
                    "name the step, e.g. `step: question`".into()
                } else {
                    "write a path such as `output: tool_calls[0].arguments`".into()
                }),
            )),
        }
    };
    let (output, step) = (text("output", output)?, text("step", step)?);
    if output.is_none() && step.is_none() {
        return Ok(None);
    }
    let key = if output.is_some() { "output" } else { "step" };
    OutputPath::parse(output.as_deref(), step.as_deref())
        .map(Some)
        .map_err(|(message, hint)| SpecError::new(vec![Seg::Key(key.into())], message, hint))
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_kind(word: &str, path: Vec<Seg>) -> SpecError {
    SpecError {
        path,
        at_key: true,
        message: format!("unknown check kind `{word}`"),
        hint: Some(hint(word, KINDS.iter().copied())),
    }
}

fn parse_when(v: &Value, cx: &ParseCx<'_>) -> Result<When, SpecError> {
    let earlier = cx.earlier;
    let bad = || {
        SpecError::new(
            vec![Seg::Key("when".into())],
            "`when` must be `passed`, `failed`, `{passed: <check name or list>}` or `{failed: <check name or list>}`",
            None,
        )
    };
    let names = |key: &str, v: &Value| -> Result<Vec<String>, SpecError> {
        let names: Vec<String> = match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
            _ => return Err(bad()),
        };
        for (i, name) in names.iter().enumerate() {
            if !earlier.contains(name) {
                let mut path = vec![Seg::Key("when".into()), Seg::Key(key.into())];
                if matches!(v, Value::Array(_)) {
                    path.push(Seg::Index(i));
                }
                let shown: Vec<String> = earlier.iter().map(|c| format!("`{c}`")).collect();
                if cx.later.contains(name) {
                    return Err(SpecError::new(
                        path,
                        format!("`when` names `{name}`, which comes after this check"),
                        Some(format!(
                            "a check can only depend on the checks above it: move this check below `{name}`"
                        )),
                    ));
                }
                let h = if earlier.is_empty() {
                    "this is the first check of the case: `when:` can only name checks above it"
                        .to_string()
                } else {
                    hint(name, earlier.iter().map(String::as_str))
                };
                return Err(SpecError::new(
                    path,
                    format!(
                        "`when` names `{name}`, which is not an earlier check of this case (earlier checks: {})",
                        if shown.is_empty() {
                            "none".to_string()
                        } else {
                            shown.join(", ")
                        }
                    ),
                    Some(h),
                ));
            }
        }
        Ok(names)
    };
    match v {
        Value::String(s) if s == "passed" => Ok(When::Passed),
        Value::String(s) if s == "failed" => Ok(When::Failed),
        Value::Object(m) if m.len() == 1 => match m.iter().next() {
            Some((k, v)) if k == "passed" => Ok(When::NamedPassed(names(k, v)?)),
            Some((k, v)) if k == "failed" => Ok(When::NamedFailed(names(k, v)?)),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

fn no_options(kind: &str, options: &Map<String, Value>, allowed: &[&str]) -> Result<(), SpecError> {
    for key in options.keys() {
        if !allowed.contains(&key.as_str()) {
            let mut candidates: Vec<&str> = allowed.to_vec();
            candidates.extend(COMMON);
            return Err(SpecError::at_key(
                key,
                format!("unknown key `{key}` in a `{kind}` check"),
                Some(hint(key, candidates.iter().copied())),
            ));
        }
    }
    Ok(())
}

/// A short display name: the kind and its main value. For a parameter map,
/// `keys` are tried in order and the first present one is shown.
pub fn derive_name(kind: &str, main: &Value) -> String {
    derive_name_with(
        kind,
        main,
        &["path", "dialect", "mode", "criteria", "max", "value"],
    )
}

/// [`derive_name`] with the kind's own list of telling keys.
pub fn derive_name_with(kind: &str, main: &Value, keys: &[&str]) -> String {
    let shown = match main {
        Value::Null | Value::Bool(true) => return kind.to_string(),
        Value::String(s) => format!("\"{s}\""),
        Value::Object(m) if m.contains_key("min") || m.contains_key("max") => {
            let part = |k: &str| m.get(k).map(Value::to_string).unwrap_or_default();
            return match (m.get("min"), m.get("max")) {
                (Some(_), Some(_)) => format!("{kind} {}..={}", part("min"), part("max")),
                (Some(_), None) => format!("{kind} >= {}", part("min")),
                _ => format!("{kind} <= {}", part("max")),
            };
        }
        Value::Object(m) => {
            // For parameter maps, show the most telling field.
            for key in keys {
                if let Some(v) = m.get(*key) {
                    return format!("{kind} {}", one_line(&of_value(v), 40));
                }
            }
            return kind.to_string();
        }
        other => other.to_string(),
    };
    format!("{kind} {}", one_line(&shown, 48))
}
