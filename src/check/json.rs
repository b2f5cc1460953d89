//! JSON assertions: `is_json` (optionally against a JSON Schema) and `json_path`.

use std::sync::Arc;

use serde_json::Value;

use super::spec::main_error;
use super::text::json_equal;
use super::{CheckContext, SpecError};
use crate::diag::Seg;
use crate::verdict::CheckResult;

/// `is_json`: the output parses as JSON, and matches a schema when one is given.
#[derive(Debug, Clone)]
pub struct IsJson {
    /// The compiled schema, if any.
    pub schema: Option<Arc<jsonschema::Validator>>,
}

impl IsJson {
    pub(crate) fn parse(main: &Value) -> Result<Self, SpecError> {
        let schema = match main {
            Value::Null | Value::Bool(true) => None,
            Value::Object(m) if m.len() == 1 && m.contains_key("schema") => Some(&m["schema"]),
            Value::Object(m) => {
                let key = m
                    .keys()
                    .find(|k| k.as_str() != "schema")
                    .cloned()
                    .unwrap_or_default();
                return Err(SpecError {
                    path: vec![Seg::Key("is_json".into()), Seg::Key(key.clone())],
                    at_key: true,
                    message: format!("unknown key `{key}` in an `is_json` check"),
                    hint: Some("`is_json` takes `true` or `{schema: {...}}`".into()),
                });
            }
            _ => {
                return Err(main_error(
                    "is_json",
                    "`is_json` takes `true` or `{schema: {...}}`",
                    None,
                ));
            }
        };
        let schema = match schema {
            None => None,
            Some(s) => {
                let validator = jsonschema::validator_for(s).map_err(|e| SpecError {
                    path: vec![Seg::Key("is_json".into()), Seg::Key("schema".into())],
                    at_key: false,
                    message: format!("invalid JSON Schema: {e}"),
                    hint: Some("see https://json-schema.org/understanding-json-schema".into()),
                })?;
                Some(Arc::new(validator))
            }
        };
        Ok(IsJson { schema })
    }

    /// Runs the check.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let value = match ctx.output.as_json() {
            Ok(v) => v,
            Err(e) => {
                return CheckResult::from_bool(
                    "is_json",
                    ctx.name,
                    false,
                    format!("output is not JSON: {e}"),
                );
            }
        };
        match &self.schema {
            None => CheckResult::pass_with("is_json", ctx.name, "output is valid JSON"),
            Some(schema) => {
                let problems: Vec<String> = schema
                    .iter_errors(&value)
                    .take(5)
                    .map(|e| {
                        let at = e.instance_path().to_string();
                        format!("{}: {e}", if at.is_empty() { "/".to_string() } else { at })
                    })
                    .collect();
                if problems.is_empty() {
                    CheckResult::pass_with("is_json", ctx.name, "output matches the schema")
                } else {
                    CheckResult::from_bool(
                        "is_json",
                        ctx.name,
                        false,
                        format!("schema violations: {}", problems.join("; ")),
                    )
                }
            }
        }
    }
}

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
        let mut next = Vec::new();
        for v in current {
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
        current = next;
    }
    current
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

impl JsonPath {
    pub(crate) fn parse(main: &Value) -> Result<Self, SpecError> {
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
            other => super::spec::typed::<Params>("json_path", other, "`json_path` check")?,
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
                let last = e
                    .to_string()
                    .lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or("invalid")
                    .trim()
                    .to_string();
                SpecError::new(at("matches"), format!("invalid regex {m:?}: {last}"), None)
            })?),
        };
        Ok(JsonPath {
            path: p.path,
            steps,
            equals: p.equals,
            matches,
        })
    }

    /// Runs the check.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let root = match ctx.output.as_json() {
            Ok(v) => v,
            Err(e) => {
                return CheckResult::from_bool(
                    "json_path",
                    ctx.name,
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
                ctx.name,
                false,
                format!("nothing at {}", self.path),
            );
        }
        let value = if wildcard {
            Value::Array(found.into_iter().cloned().collect())
        } else {
            found[0].clone()
        };
        if let Some(want) = &self.equals {
            let ok = json_equal(&value, want);
            return CheckResult::from_bool(
                "json_path",
                ctx.name,
                ok,
                format!(
                    "{} is {value}{}",
                    self.path,
                    if ok {
                        String::new()
                    } else {
                        format!(", expected {want}")
                    }
                ),
            );
        }
        if let Some(re) = &self.matches {
            let text = match &value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let ok = re.is_match(&text);
            return CheckResult::from_bool(
                "json_path",
                ctx.name,
                ok,
                format!(
                    "{} is {value}{}",
                    self.path,
                    if ok {
                        String::new()
                    } else {
                        format!(", which does not match /{}/", re.as_str())
                    }
                ),
            );
        }
        CheckResult::pass_with(
            "json_path",
            ctx.name,
            format!("{} exists: {value}", self.path),
        )
    }
}
