//! `tool_called`: the output calls a tool, with arguments that meet
//! constraints, a number of times within bounds.
//!
//! ```yaml
//! - tool_called: get_order                      # at least once
//! - tool_called:
//!     name: refund
//!     args: {"$.order_id": 7, "$.reason": {matches: "damaged|broken"}}
//!     schema: {type: object, required: [order_id]}
//!     times: 1                                  # or `min:` / `max:`
//! - tool_called: delete_account
//!   not: true                                   # never called
//! ```
//!
//! A call *matches* when its name is `name` and its arguments meet every
//! `args` constraint and the `schema`; the check counts matching calls.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::equals::json_equal;
use super::json_path::{PathStep, parse_path, select};
use super::{
    CheckCx, Immediate, Kind, Parsed, SpecError, call_label, call_list, compile_schema, main_error,
    schema_problems,
};
use crate::chat::ToolCall;
use crate::check::ParseCx;
use crate::diag::Seg;
use crate::verdict::CheckResult;

const KIND: &str = "tool_called";

/// What the value at an argument path must be.
#[derive(Debug, Clone)]
pub enum Want {
    /// Equal to this JSON value (numbers compare by value).
    Equals(Value),
    /// Its text matches this regex.
    Matches(regex::Regex),
}

/// One argument constraint: the value at a JSON path of the arguments.
#[derive(Debug, Clone)]
pub struct ArgConstraint {
    /// The path as written (`$` added when it was left out).
    pub path: String,
    /// The parsed path.
    pub steps: Vec<PathStep>,
    /// What the value there must be.
    pub want: Want,
}

impl ArgConstraint {
    /// Why `args` breaks the constraint, or `None` when it meets it.
    pub fn broken_by(&self, args: &Value) -> Option<String> {
        let found = select(args, &self.steps);
        if found.is_empty() {
            return Some(format!("nothing at {}", self.path));
        }
        let value = if self.steps.contains(&PathStep::Wildcard) {
            Value::Array(found.into_iter().cloned().collect())
        } else {
            found[0].clone()
        };
        match &self.want {
            Want::Equals(want) => (!json_equal(&value, want))
                .then(|| format!("{} is {value}, expected {want}", self.path)),
            Want::Matches(re) => (!re.is_match(&crate::text::of_value(&value))).then(|| {
                format!(
                    "{} is {value}, which does not match /{}/",
                    self.path,
                    re.as_str()
                )
            }),
        }
    }
}

/// Inclusive bounds on a number of calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// At least this many.
    pub min: u64,
    /// At most this many.
    pub max: Option<u64>,
}

impl Bounds {
    fn allows(&self, n: u64) -> bool {
        n >= self.min && self.max.is_none_or(|m| n <= m)
    }

    fn text(&self) -> String {
        match self.max {
            Some(m) if m == self.min => format!("exactly {m}"),
            Some(m) if self.min == 0 => format!("at most {m}"),
            Some(m) => format!("{} to {m}", self.min),
            None => format!("at least {}", self.min),
        }
    }
}

/// `tool_called`: calls of a tool, counted when their arguments meet the
/// constraints.
#[derive(Debug, Clone)]
pub struct ToolCalled {
    /// The tool's name.
    pub name: String,
    /// Constraints on the arguments, each by JSON path.
    pub args: Vec<ArgConstraint>,
    /// A JSON Schema the arguments must match.
    pub schema: Option<Arc<jsonschema::Validator>>,
    /// How many matching calls there must be.
    pub bounds: Bounds,
}

impl ToolCalled {
    /// Why `call` does not match (beyond its name), or `None` when it does.
    fn mismatch(&self, call: &ToolCall) -> Option<String> {
        // Arguments that are not JSON meet no constraint on them.
        if let Some(why) = &call.invalid_arguments
            && (!self.args.is_empty() || self.schema.is_some())
        {
            return Some(format!("the arguments are not JSON ({why})"));
        }
        let mut why: Vec<String> = self
            .args
            .iter()
            .filter_map(|c| c.broken_by(&call.arguments))
            .collect();
        if let Some(schema) = &self.schema
            && let Some(p) = schema_problems(schema, &call.arguments)
        {
            why.push(format!("schema: {p}"));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }
}

fn at(key: &str) -> Vec<Seg> {
    vec![Seg::Key(KIND.into()), Seg::Key(key.into())]
}

fn constraint(path: &str, want: &Value) -> Result<ArgConstraint, SpecError> {
    let seg = || {
        vec![
            Seg::Key(KIND.into()),
            Seg::Key("args".into()),
            Seg::Key(path.into()),
        ]
    };
    let written = if path.starts_with('$') {
        path.to_string()
    } else {
        format!("$.{path}")
    };
    let steps = parse_path(&written).map_err(|e| SpecError {
        path: seg(),
        at_key: true,
        message: format!("invalid JSON path {path:?}: {e}"),
        hint: Some(
            "an `args` key is a JSON path into the arguments, e.g. `$.order.id` or `order.id`"
                .into(),
        ),
    })?;
    let want = match want {
        Value::Object(m) if m.len() == 1 && m.contains_key("matches") => {
            let Value::String(re) = &m["matches"] else {
                return Err(SpecError::new(
                    seg(),
                    "`matches` takes a regex as a string",
                    Some("quote the pattern, e.g. `{matches: \"^\\\\d+$\"}`".into()),
                ));
            };
            Want::Matches(
                regex::Regex::new(re)
                    .map_err(|e| SpecError::new(seg(), crate::diag::invalid_regex(re, &e), None))?,
            )
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("equals") => {
            Want::Equals(m["equals"].clone())
        }
        other => Want::Equals(other.clone()),
    };
    Ok(ArgConstraint {
        path: written,
        steps,
        want,
    })
}

/// Bounds from `min`, `max` and `times` (default: at least one).
pub(crate) fn bounds_of(
    min: Option<u64>,
    max: Option<u64>,
    times: Option<u64>,
    at: impl Fn(&str) -> Vec<Seg>,
) -> Result<Bounds, SpecError> {
    if let Some(t) = times {
        if min.is_some() || max.is_some() {
            return Err(SpecError::new(
                at("times"),
                "give `times` or `min`/`max`, not both",
                Some("`times: N` means exactly N; use `min:` and `max:` for a range".into()),
            ));
        }
        return Ok(Bounds {
            min: t,
            max: Some(t),
        });
    }
    let b = Bounds {
        min: min.unwrap_or(if max == Some(0) { 0 } else { 1 }),
        max,
    };
    if let Some(hi) = b.max
        && b.min > hi
    {
        return Err(SpecError::new(
            at("min"),
            format!("`min` ({}) is greater than `max` ({hi})", b.min),
            None,
        ));
    }
    Ok(b)
}

impl Kind for ToolCalled {
    const NAMES: &'static [&'static str] = &["tool_called"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            name: String,
            #[serde(default)]
            args: Option<Map<String, Value>>,
            #[serde(default)]
            schema: Option<Value>,
            #[serde(default)]
            min: Option<u64>,
            #[serde(default)]
            max: Option<u64>,
            #[serde(default)]
            times: Option<u64>,
        }
        let params = match p.main {
            Value::String(s) => Params {
                name: s.clone(),
                args: None,
                schema: None,
                min: None,
                max: None,
                times: None,
            },
            Value::Object(_) => crate::check::typed::<Params>(KIND, p.main, "`tool_called` check")?,
            _ => {
                return Err(main_error(
                    KIND,
                    "`tool_called` takes a tool name or `{name: ..., args: ..., times: ...}`",
                    Some("write e.g. `tool_called: get_order`"),
                ));
            }
        };
        if params.name.trim().is_empty() {
            return Err(main_error(
                KIND,
                "`tool_called` needs the tool's name",
                Some("write e.g. `tool_called: get_order`"),
            ));
        }
        let args = params
            .args
            .unwrap_or_default()
            .iter()
            .map(|(path, want)| constraint(path, want))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = match &params.schema {
            None => None,
            Some(s) => Some(compile_schema(s, at("schema"))?),
        };
        Ok(ToolCalled {
            name: params.name,
            args,
            schema,
            bounds: bounds_of(params.min, params.max, params.times, at)?,
        })
    }

    /// `tool_called get_order` whether written as a name or a map.
    fn display(kind: &str, main: &Value) -> String {
        match main {
            Value::Object(m) if m.get("name").is_some_and(Value::is_string) => {
                crate::check::derive_name(kind, &m["name"])
            }
            other => crate::check::derive_name(kind, other),
        }
    }
}

impl Immediate for ToolCalled {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let calls = &cx.output.tool_calls;
        let name = &self.name;
        let expected = self.bounds.text();
        let named: Vec<(usize, &ToolCall)> = calls
            .iter()
            .enumerate()
            .filter(|(_, c)| &c.name == name)
            .collect();
        let (matching, mismatched): (Vec<_>, Vec<_>) = named
            .iter()
            .map(|(i, c)| (*i, *c, self.mismatch(c)))
            .partition(|(_, _, why)| why.is_none());
        let n = matching.len() as u64;
        let noun = |n: u64| {
            let what = if self.args.is_empty() && self.schema.is_none() {
                "call"
            } else {
                "matching call"
            };
            crate::text::count(n as usize, what)
        };
        let ok = self.bounds.allows(n);
        let reason = if calls.is_empty() {
            format!("the output has no tool calls (expected {expected} call(s) of `{name}`)")
        } else if named.is_empty() {
            format!(
                "no call of `{name}` (expected {expected}); the calls: {}",
                call_list(calls.iter().enumerate())
            )
        } else if matching.is_empty() {
            let why: Vec<String> = mismatched
                .iter()
                .take(5)
                .map(|(i, c, w)| format!("{}: {}", call_label(*i, c), w.as_deref().unwrap_or("")))
                .collect();
            format!(
                "no call of `{name}` meets the constraints (expected {expected}): {}",
                why.join("; ")
            )
        } else {
            format!(
                "{} of `{name}` (expected {expected}): {}",
                noun(n),
                call_list(matching.iter().map(|(i, c, _)| (*i, *c)))
            )
        };
        CheckResult::from_bool(KIND, cx.name, ok, reason)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_constraint_reports_what_it_found() {
        let c = constraint("id", &json!(7)).expect("parses");
        assert_eq!(c.path, "$.id");
        assert_eq!(c.broken_by(&json!({"id": 7.0})), None);
        assert_eq!(
            c.broken_by(&json!({"id": 8})).as_deref(),
            Some("$.id is 8, expected 7")
        );
        assert_eq!(c.broken_by(&json!({})).as_deref(), Some("nothing at $.id"));
        let m = constraint("$.reason", &json!({"matches": "^dam"})).expect("parses");
        assert_eq!(
            m.broken_by(&json!({"reason": "late"})).as_deref(),
            Some(r#"$.reason is "late", which does not match /^dam/"#)
        );
    }

    #[test]
    fn bounds_read_as_words() {
        let at = |k: &str| vec![Seg::Key(k.into())];
        assert_eq!(
            bounds_of(None, None, None, at).unwrap().text(),
            "at least 1"
        );
        assert_eq!(
            bounds_of(None, None, Some(2), at).unwrap().text(),
            "exactly 2"
        );
        assert_eq!(
            bounds_of(None, Some(0), None, at).unwrap().text(),
            "exactly 0"
        );
        assert_eq!(bounds_of(None, Some(3), None, at).unwrap().text(), "1 to 3");
        assert_eq!(
            bounds_of(Some(0), Some(3), None, at).unwrap().text(),
            "at most 3"
        );
        assert!(bounds_of(Some(1), None, Some(1), at).is_err());
        assert!(bounds_of(Some(4), Some(3), None, at).is_err());
    }
}
