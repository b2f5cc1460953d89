//! Parsing a check from its YAML value.

use serde_json::{Map, Value};

use super::{ast, json, judge, perf, rust, text};
pub(crate) use crate::diag::main_error;
use crate::diag::{Seg, hint};
pub use crate::diag::{SpecError, typed};

/// Every check kind, as written in YAML.
pub const KINDS: &[&str] = &[
    "equals",
    "contains",
    "icontains",
    "contains_any",
    "contains_all",
    "starts_with",
    "ends_with",
    "regex",
    "is_json",
    "json_path",
    "word_count",
    "char_count",
    "similarity",
    "latency_ms",
    "cost",
    "rust",
    "ast_equivalent",
    "judge",
];

const COMMON: &[&str] = &["name", "weight", "not", "when"];

/// A check kind with its parameters.
#[derive(Debug, Clone)]
pub enum CheckKind {
    /// `equals`
    Equals(text::Equals),
    /// `contains`, `icontains`, `contains_any`, `contains_all`
    Contains(text::Contains),
    /// `starts_with`, `ends_with`
    Affix(text::Affix),
    /// `regex`
    Regex(text::RegexCheck),
    /// `word_count`, `char_count`
    Count(text::Count),
    /// `similarity`
    Similarity(text::Similarity),
    /// `is_json`
    IsJson(json::IsJson),
    /// `json_path`
    JsonPath(json::JsonPath),
    /// `latency_ms`
    Latency(perf::Latency),
    /// `cost`
    Cost(perf::Cost),
    /// `rust`
    Rust(rust::RustCheck),
    /// `ast_equivalent`, with the judge that decides when equivalence is
    /// `unknown` (its `fallback:` option)
    Ast(ast::AstParams, Option<Box<judge::JudgeParams>>),
    /// `judge`
    Judge(judge::JudgeParams),
}

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
    /// The kind and its parameters.
    pub kind: CheckKind,
    /// Display name: the YAML `name`, or derived from the kind and its value.
    pub name: String,
    /// Weight in the case threshold.
    pub weight: f64,
    /// `not: true` inverts pass and fail.
    pub negate: bool,
    /// Run only when earlier checks passed or failed.
    pub when: Option<When>,
    /// Line of the check in its file.
    pub line: u32,
    /// Column of the check in its file.
    pub col: u32,
}

impl CheckSpec {
    /// Parses one check. `rust_checks` lists the registered Rust check names,
    /// when known, so that a misspelled one is reported at load time.
    pub fn parse(value: &Value, rust_checks: Option<&[String]>) -> Result<CheckSpec, SpecError> {
        let (kind_name, main, mut map) = match value {
            Value::String(s) => {
                let kind = lookup_kind(s).ok_or_else(|| unknown_kind(s, vec![]))?;
                (kind, Value::Null, Map::new())
            }
            Value::Object(map) => {
                let kinds: Vec<&String> = map.keys().filter(|k| lookup_kind(k).is_some()).collect();
                match kinds.as_slice() {
                    [one] => {
                        let kind = lookup_kind(one).unwrap_or("equals");
                        let mut rest = map.clone();
                        let main = rest.remove(kind).unwrap_or(Value::Null);
                        (kind, main, rest)
                    }
                    [] => {
                        let other = map.keys().find(|k| !COMMON.contains(&k.as_str()));
                        return Err(match other {
                            Some(k) => unknown_kind(k, vec![Seg::Key(k.clone())]),
                            None => SpecError::new(
                                vec![],
                                "check has no kind",
                                Some(format!("add one of {}", list(KINDS))),
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
            Some(v) => Some(parse_when(&v)?),
        };
        let kind = parse_kind(kind_name, &main, &map, rust_checks)?;
        let name = name.unwrap_or_else(|| derive_name(kind_name, &main));
        Ok(CheckSpec {
            kind_name,
            kind,
            name,
            weight,
            negate,
            when,
            line: 0,
            col: 0,
        })
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn lookup_kind(name: &str) -> Option<&'static str> {
    KINDS.iter().copied().find(|k| *k == name)
}

fn unknown_kind(word: &str, path: Vec<Seg>) -> SpecError {
    SpecError {
        path,
        at_key: true,
        message: format!("unknown check kind `{word}`"),
        hint: Some(hint(word, KINDS.iter().copied())),
    }
}

fn parse_when(v: &Value) -> Result<When, SpecError> {
    let bad = || {
        SpecError::new(
            vec![Seg::Key("when".into())],
            "`when` must be `passed`, `failed`, `{passed: <check name or list>}` or `{failed: <check name or list>}`",
            None,
        )
    };
    let names = |v: &Value| -> Result<Vec<String>, SpecError> {
        match v {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string).ok_or_else(bad))
                .collect(),
            _ => Err(bad()),
        }
    };
    match v {
        Value::String(s) if s == "passed" => Ok(When::Passed),
        Value::String(s) if s == "failed" => Ok(When::Failed),
        Value::Object(m) if m.len() == 1 => match m.iter().next() {
            Some((k, v)) if k == "passed" => Ok(When::NamedPassed(names(v)?)),
            Some((k, v)) if k == "failed" => Ok(When::NamedFailed(names(v)?)),
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

fn parse_kind(
    kind: &'static str,
    main: &Value,
    options: &Map<String, Value>,
    rust_checks: Option<&[String]>,
) -> Result<CheckKind, SpecError> {
    let allowed: &[&str] = match kind {
        "equals" | "starts_with" | "ends_with" => &["ignore_case", "trim"],
        "contains_any" | "contains_all" => &["ignore_case"],
        "rust" => &["args"],
        "ast_equivalent" => &["fallback"],
        _ => &[],
    };
    no_options(kind, options, allowed)?;
    let flag = |key: &str, default: bool| -> Result<bool, SpecError> {
        match options.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(SpecError::new(
                vec![Seg::Key(key.into())],
                format!("`{key}` must be true or false"),
                None,
            )),
        }
    };
    Ok(match kind {
        "equals" => CheckKind::Equals(text::Equals::parse(
            main,
            flag("ignore_case", false)?,
            flag("trim", true)?,
        )?),
        "contains" | "icontains" | "contains_any" | "contains_all" => CheckKind::Contains(
            text::Contains::parse(kind, main, flag("ignore_case", false)?)?,
        ),
        "starts_with" | "ends_with" => CheckKind::Affix(text::Affix::parse(
            kind,
            main,
            flag("ignore_case", false)?,
            flag("trim", true)?,
        )?),
        "regex" => CheckKind::Regex(text::RegexCheck::parse(main)?),
        "word_count" | "char_count" => CheckKind::Count(text::Count::parse(kind, main)?),
        "similarity" => CheckKind::Similarity(text::Similarity::parse(main)?),
        "is_json" => CheckKind::IsJson(json::IsJson::parse(main)?),
        "json_path" => CheckKind::JsonPath(json::JsonPath::parse(main)?),
        "latency_ms" => CheckKind::Latency(perf::Latency::parse(main)?),
        "cost" => CheckKind::Cost(perf::Cost::parse(main)?),
        "rust" => CheckKind::Rust(rust::RustCheck::parse(
            main,
            options.get("args"),
            rust_checks,
        )?),
        "ast_equivalent" => {
            let fallback = match options.get("fallback") {
                None => None,
                Some(v) => Some(Box::new(judge_params(v).map_err(|mut e| {
                    e.path.insert(0, Seg::Key("fallback".into()));
                    e
                })?)),
            };
            CheckKind::Ast(
                typed("ast_equivalent", main, "`ast_equivalent` check")?,
                fallback,
            )
        }
        "judge" => CheckKind::Judge(judge_params(main)?),
        other => return Err(unknown_kind(other, vec![])),
    })
}

/// A judge's parameters: a map, a bare `judge` (defaults), or criteria text.
fn judge_params(main: &Value) -> Result<judge::JudgeParams, SpecError> {
    match main {
        Value::Null | Value::Bool(true) => Ok(judge::JudgeParams::default()),
        Value::String(s) => Ok(judge::JudgeParams {
            criteria: Some(s.clone()),
            ..Default::default()
        }),
        other => typed("judge", other, "`judge` check"),
    }
}

/// A short display name: the kind and its main value.
fn derive_name(kind: &str, main: &Value) -> String {
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
            for key in ["path", "dialect", "mode", "criteria", "max", "value"] {
                if let Some(v) = m.get(key) {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    return format!("{kind} {}", truncate(&text, 40));
                }
            }
            return kind.to_string();
        }
        other => other.to_string(),
    };
    format!("{kind} {}", truncate(&shown, 48))
}

fn truncate(s: &str, max: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
