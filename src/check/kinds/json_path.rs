//! `json_path`: the value at a JSONPath exists, equals a value, or matches a regex.

use serde_json::Value;

use super::equals::json_equal;
use super::{CheckCx, Immediate, Kind, Parsed, SpecError};
use crate::check::ParseCx;
use crate::diag::Seg;
use crate::verdict::CheckResult;

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathStep {
    /// `.key` or `['key']`
    Key(String),
    /// `[3]`; negative counts from the end.
    Index(i64),
    /// `[*]` or `.*`
    Wildcard,
}

/// Parses a JSONPath subset: `$`, `.key`, `['key']`, `[n]`, `[-1]`, `[*]`, `.*`.
pub fn parse_path(path: &str) -> Result<Vec<PathStep>, String> {
    let s = path.trim();
    let rest = s
        .strip_prefix('$')
        .ok_or("a JSON path starts with `$`, e.g. `$.order.items[0].sku`")?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let key: String = chars[start..i].iter().collect();
                if key.is_empty() {
                    return Err(format!(
                        "empty key at position {start} (recursive descent `..` is not supported)"
                    ));
                }
                steps.push(if key == "*" {
                    PathStep::Wildcard
                } else {
                    PathStep::Key(key)
                });
            }
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .ok_or("unclosed `[`")?
                    + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if inner == "*" {
                    steps.push(PathStep::Wildcard);
                } else if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|x| x.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
                {
                    steps.push(PathStep::Key(q.to_string()));
                } else {
                    let n: i64 = inner
                        .parse()
                        .map_err(|_| format!("`[{inner}]` is not an index, `*` or a quoted key"))?;
                    steps.push(PathStep::Index(n));
                }
                i = close + 1;
            }
            c => {
                return Err(format!(
                    "unexpected `{c}`; write `.key`, `['key']` or `[0]`"
                ));
            }
        }
    }
    Ok(steps)
}

/// Every value `steps` selects in `root`.
pub fn select<'a>(root: &'a Value, steps: &[PathStep]) -> Vec<&'a Value> {
    let mut current = vec![root];
    for step in steps {
        current = select_step(&current, step);
    }
    current
}

/// The values one step selects below each of `current`.
pub fn select_step<'a>(current: &[&'a Value], step: &PathStep) -> Vec<&'a Value> {
    let mut next = Vec::new();
    for &v in current {
        match (step, v) {
            (PathStep::Key(k), Value::Object(m)) => next.extend(m.get(k)),
            (PathStep::Index(i), Value::Array(a)) => {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                if idx >= 0 {
                    next.extend(a.get(idx as usize));
                }
            }
            (PathStep::Wildcard, Value::Array(a)) => next.extend(a.iter()),
            (PathStep::Wildcard, Value::Object(m)) => next.extend(m.values()),
            _ => {}
        }
    }
    next
}

/// `json_path`: the value at a path exists, equals a value, or matches a regex.
#[derive(Debug, Clone)]
pub struct JsonPath {
    /// The path as written.
    pub path: String,
    /// The parsed path.
    pub steps: Vec<PathStep>,
    /// Expected value (a wildcard path compares the list of matches).
    pub equals: Option<Value>,
    /// A regex the value's text must match.
    pub matches: Option<regex::Regex>,
}

impl Kind for JsonPath {
    const NAMES: &'static [&'static str] = &["json_path"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let main = p.main;
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            path: String,
            #[serde(default)]
            equals: Option<Value>,
            #[serde(default)]
            matches: Option<String>,
        }
        let p = match main {
            Value::String(s) => Params {
                path: s.clone(),
                equals: None,
                matches: None,
            },
            other => crate::check::typed::<Params>("json_path", other, "`json_path` check")?,
        };
        let at = |key: &str| vec![Seg::Key("json_path".into()), Seg::Key(key.into())];
        let steps = parse_path(&p.path).map_err(|e| {
            SpecError::new(
                if main.is_string() {
                    vec![Seg::Key("json_path".into())]
                } else {
                    at("path")
                },
                format!("invalid JSON path {:?}: {e}", p.path),
                None,
            )
        })?;
        if p.equals.is_some() && p.matches.is_some() {
            return Err(SpecError::new(
                at("matches"),
                "give `equals` or `matches`, not both",
                None,
            ));
        }
        let matches = match p.matches {
            None => None,
            Some(m) => Some(regex::Regex::new(&m).map_err(|e| {
                SpecError::new(at("matches"), crate::diag::invalid_regex(&m, &e), None)
            })?),
        };
        Ok(JsonPath {
            path: p.path,
            steps,
            equals: p.equals,
            matches,
        })
    }
}

impl Immediate for JsonPath {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let root = match cx.output.as_json() {
            Ok(v) => v,
            Err(e) => {
                return CheckResult::from_bool(
                    "json_path",
                    cx.name,
                    false,
                    format!("output is not JSON: {e}"),
                );
            }
        };
        let found = select(&root, &self.steps);
        let wildcard = self.steps.contains(&PathStep::Wildcard);
        if found.is_empty() {
            return CheckResult::from_bool(
                "json_path",
                cx.name,
                false,
                format!("nothing at {}", self.path),
            );
        }
        let value = if wildcard {
            Value::Array(found.into_iter().cloned().collect())
        } else {
            found[0].clone()
        };
        // `PATH is VALUE`, and on failure what was wanted instead.
        let compared = |ok: bool, wanted: String| {
            let why = if ok { String::new() } else { wanted };
            let reason = format!("{} is {value}{why}", self.path);
            CheckResult::from_bool("json_path", cx.name, ok, reason)
        };
        if let Some(want) = &self.equals {
            return compared(json_equal(&value, want), format!(", expected {want}"));
        }
        if let Some(re) = &self.matches {
            let ok = re.is_match(&crate::text::of_value(&value));
            return compared(ok, format!(", which does not match /{}/", re.as_str()));
        }
        CheckResult::pass_with(
            "json_path",
            cx.name,
            format!("{} exists: {value}", self.path),
        )
    }
}
