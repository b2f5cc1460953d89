//! Tools of a `prompt` target: their definitions (`tools:`), the choice the
//! model is given (`tool_choice:`), and what answers each call
//! (`tools_from:`) when tribunal runs the tool loop itself.
//!
//! ```yaml
//! target:
//!   prompt:
//!     provider: openai:gpt-4.1-mini
//!     template: "{{ input }}"
//!     tools:
//!       # tribunal's short form, OpenAI's function schema or Anthropic's tool schema:
//!       - {name: get_order, description: Look up an order, parameters: {type: object, properties: {id: {type: integer}}}}
//!       - {type: function, function: {name: refund, parameters: {type: object}}}
//!       - {name: escalate, input_schema: {type: object}}
//!     tool_choice: auto                 # auto | none | required | {name: get_order}
//!     tools_from:
//!       get_order: lookup_order         # a registered Rust target: input = the arguments
//!       refund: {fixed: {ok: true}}     # always this result
//!       escalate:                       # a result per arguments; `otherwise` for the rest
//!         match:
//!           - {arguments: {level: 1}, result: "queued"}
//!         otherwise: "no agent available"
//!     max_steps: 8                      # model calls of the loop (default 8)
//! ```
//!
//! A tool may also be a `{command: …}` or `{http: …}` target, whose input is
//! the arguments. A tool that fails (a Rust target's `Err`, a failed command
//! or request) answers the model with `error: <why>` (marked `is_error` on
//! the Anthropic wire) and the loop goes on; a tool that panics, a call of a
//! tool `tools_from` does not map, arguments no `match` rule covers, or a
//! model still calling tools after `max_steps` calls make the trial an error.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::{TargetContext, TargetError, TargetSpec};
use crate::chat::ToolCall;
use crate::diag::{Seg, SpecError, hint};
use crate::provider::{Tool, ToolChoice, secrets};
use crate::registry::Input;

/// The model calls a tool loop makes when `max_steps` is not given.
pub const DEFAULT_MAX_STEPS: u32 = 8;
/// The largest `max_steps`.
pub const MAX_STEPS: u32 = 100;
/// The most tool calls one model answer may make in a tool loop.
pub const MAX_CALLS_PER_STEP: usize = 64;
/// The largest tool result sent back to the model (1 MiB).
pub const MAX_RESULT_BYTES: usize = 1 << 20;

/// Tool names as both wire formats accept them.
static NAME_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_-]{1,64}$").expect("valid regex"));

fn at(path: Vec<Seg>, message: impl Into<String>, hint: Option<String>) -> SpecError {
    SpecError::new(path, message, hint)
}

fn key(k: &str) -> Seg {
    Seg::Key(k.into())
}

/// The `tools:` list, read in any of the three forms.
pub fn definitions(tools: &[Value]) -> Result<Vec<Tool>, SpecError> {
    let mut out: Vec<Tool> = Vec::new();
    for (i, v) in tools.iter().enumerate() {
        let base = vec![key("tools"), Seg::Index(i)];
        let tool = definition(v, &base)?;
        if out.iter().any(|t| t.name == tool.name) {
            return Err(at(
                base,
                format!("tool `{}` is defined twice", tool.name),
                Some("give every tool a distinct name".into()),
            ));
        }
        out.push(tool);
    }
    Ok(out)
}

fn definition(v: &Value, base: &[Seg]) -> Result<Tool, SpecError> {
    let form_hint = || {
        Some("write `{name, description, parameters}`, OpenAI's `{type: function, function: {name, description, parameters}}` or Anthropic's `{name, description, input_schema}`".to_string())
    };
    let Some(obj) = v.as_object() else {
        return Err(at(base.to_vec(), "a tool is a mapping", form_hint()));
    };
    // OpenAI's function schema wraps the definition in `function`.
    let (obj, base, allowed): (&Map<String, Value>, Vec<Seg>, &[&str]) =
        match (obj.get("type"), obj.get("function")) {
            (Some(Value::String(t)), Some(Value::Object(f))) if t == "function" => {
                if let Some(k) = obj
                    .keys()
                    .find(|k| !["type", "function"].contains(&k.as_str()))
                {
                    return Err(at(
                        [base, &[key(k)]].concat(),
                        format!("unknown key `{k}` beside `function`"),
                        form_hint(),
                    ));
                }
                let mut b = base.to_vec();
                b.push(key("function"));
                (f, b, &["name", "description", "parameters", "strict"])
            }
            _ => (
                obj,
                base.to_vec(),
                &["name", "description", "parameters", "input_schema"],
            ),
        };
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(SpecError {
            at_key: true,
            ..at(
                [base.as_slice(), &[key(k)]].concat(),
                format!("unknown tool key `{k}`"),
                Some(hint(k, allowed.iter().copied())),
            )
        });
    }
    let name = match obj.get("name") {
        Some(Value::String(n)) if NAME_RE.is_match(n) => n.clone(),
        Some(Value::String(n)) => {
            return Err(at(
                [base.as_slice(), &[key("name")]].concat(),
                format!("tool name `{n}` is not one providers accept"),
                Some("use 1 to 64 letters, digits, `_` or `-`".into()),
            ));
        }
        _ => return Err(at(base, "a tool needs a `name`", form_hint())),
    };
    let description = match obj.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(d.clone()),
        Some(_) => {
            return Err(at(
                [base.as_slice(), &[key("description")]].concat(),
                "a tool's `description` is text",
                None,
            ));
        }
    };
    let (schema_key, parameters) = match (obj.get("parameters"), obj.get("input_schema")) {
        (Some(_), Some(_)) => {
            return Err(at(
                base,
                "give either `parameters` or `input_schema`, not both",
                None,
            ));
        }
        (Some(p), None) => ("parameters", p.clone()),
        (None, Some(p)) => ("input_schema", p.clone()),
        (None, None) => ("parameters", json!({"type": "object", "properties": {}})),
    };
    if !parameters.is_object() {
        return Err(at(
            [base.as_slice(), &[key(schema_key)]].concat(),
            format!("`{schema_key}` is a JSON Schema (a mapping such as `{{type: object}}`)"),
            None,
        ));
    }
    if let Err(e) = jsonschema::validator_for(&parameters) {
        return Err(at(
            [base.as_slice(), &[key(schema_key)]].concat(),
            format!("`{schema_key}` is not a valid JSON Schema: {e}"),
            None,
        ));
    }
    Ok(Tool {
        name,
        description,
        parameters,
    })
}

/// `tool_choice:`: `auto`, `none`, `required` (or `any`), or the tool the
/// model must call (`{name: x}`, or either wire format's own shape).
pub fn choice(v: &Value, tools: &[Tool]) -> Result<ToolChoice, SpecError> {
    let path = vec![key("tool_choice")];
    let words = ["auto", "none", "required", "any"];
    let named = |name: &str| -> Result<ToolChoice, SpecError> {
        if tools.iter().any(|t| t.name == name) {
            Ok(ToolChoice::Tool(name.to_string()))
        } else {
            let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
            Err(at(
                path.clone(),
                format!("`tool_choice` names `{name}`, which is not under `tools:`"),
                Some(if names.is_empty() {
                    "define the tool under `tools:`".into()
                } else {
                    hint(name, names.iter().copied())
                }),
            ))
        }
    };
    if tools.is_empty() {
        return Err(at(
            path,
            "`tool_choice` without `tools:`",
            Some("define the tools the model may call under `tools:`".into()),
        ));
    }
    match v {
        Value::String(w) => match w.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" | "any" => Ok(ToolChoice::Required),
            other => Err(at(
                path,
                format!("unknown tool_choice `{other}`"),
                Some(format!(
                    "{}, or `{{name: TOOL}}` to force one tool",
                    hint(other, words)
                )),
            )),
        },
        Value::Object(m) => {
            let name = m
                .get("name")
                .or_else(|| m.get("function").and_then(|f| f.get("name")))
                .and_then(Value::as_str);
            match name {
                Some(n) => named(n),
                None => Err(at(
                    path,
                    "a `tool_choice` mapping names the tool: `{name: TOOL}`",
                    None,
                )),
            }
        }
        _ => Err(at(
            path,
            "`tool_choice` is `auto`, `none`, `required` or `{name: TOOL}`",
            None,
        )),
    }
}

/// What answers a tool's calls.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolSource {
    /// `{fixed: VALUE}`: always this result.
    Fixed(Value),
    /// `{match: [{arguments, result}], otherwise}`: the result of the first
    /// rule whose arguments are all equal in the call (the call may have
    /// more), else `otherwise`.
    Match {
        /// The rules, in order.
        rules: Vec<(Map<String, Value>, Value)>,
        /// The result when no rule matches (none: an error).
        otherwise: Option<Value>,
    },
    /// A target called with the arguments as its input (a registered Rust
    /// function, a command or an HTTP endpoint).
    Target(Box<TargetSpec>),
}

/// `tools_from:`, each entry checked against the defined tools.
pub fn sources(
    map: &BTreeMap<String, Value>,
    tools: &[Tool],
) -> Result<Vec<(String, ToolSource)>, SpecError> {
    if !map.is_empty() && tools.is_empty() {
        return Err(at(
            vec![key("tools_from")],
            "`tools_from` without `tools:`",
            Some("define each tool (name, description, parameters) under `tools:` so the model knows it".into()),
        ));
    }
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    let mut out = Vec::new();
    for (name, v) in map {
        let base = vec![key("tools_from"), key(name)];
        if !names.contains(&name.as_str()) {
            return Err(SpecError {
                at_key: true,
                ..at(
                    base,
                    format!("`tools_from` maps `{name}`, which is not under `tools:`"),
                    Some(hint(name, names.iter().copied())),
                )
            });
        }
        out.push((name.clone(), source(v, &base)?));
    }
    Ok(out)
}

fn source(v: &Value, base: &[Seg]) -> Result<ToolSource, SpecError> {
    let with = |segs: &[Seg]| [base, segs].concat();
    if let Some(m) = v.as_object() {
        if let Some(fixed) = m.get("fixed") {
            if m.len() > 1 {
                return Err(at(
                    base.to_vec(),
                    "`fixed` stands alone",
                    Some(
                        "use `match` with `otherwise` for results that depend on the arguments"
                            .into(),
                    ),
                ));
            }
            return Ok(ToolSource::Fixed(fixed.clone()));
        }
        if m.contains_key("match") || m.contains_key("otherwise") {
            if let Some(k) = m
                .keys()
                .find(|k| !["match", "otherwise"].contains(&k.as_str()))
            {
                return Err(at(
                    with(&[key(k)]),
                    format!("unknown key `{k}` beside `match`"),
                    Some("a rule list is `{match: [{arguments: {...}, result: ...}], otherwise: ...}`".into()),
                ));
            }
            let mut rules = Vec::new();
            let list = match m.get("match") {
                None => &Vec::new(),
                Some(Value::Array(l)) => l,
                Some(_) => {
                    return Err(at(
                        with(&[key("match")]),
                        "`match` is a list of `{arguments: {...}, result: ...}`",
                        None,
                    ));
                }
            };
            for (i, r) in list.iter().enumerate() {
                let rp = with(&[key("match"), Seg::Index(i)]);
                let (Some(Value::Object(args)), Some(result), 2) = (
                    r.get("arguments"),
                    r.get("result"),
                    r.as_object().map_or(0, Map::len),
                ) else {
                    return Err(at(
                        rp,
                        "a rule is `{arguments: {...}, result: ...}`",
                        Some("`arguments` lists the argument values the rule answers (a call may have more)".into()),
                    ));
                };
                rules.push((args.clone(), result.clone()));
            }
            return Ok(ToolSource::Match {
                rules,
                otherwise: m.get("otherwise").cloned(),
            });
        }
    }
    let spec = TargetSpec::parse(v).map_err(|mut e| {
        e.path = with(&e.path);
        e
    })?;
    match spec {
        TargetSpec::Named(n) => Ok(ToolSource::Target(Box::new(TargetSpec::Rust(n)))),
        TargetSpec::Prompt(_) | TargetSpec::Pipeline(_) => Err(at(
            base.to_vec(),
            "a tool cannot be a `prompt` or `pipeline` target",
            Some("map it to a registered Rust function, a `command`, an `http` endpoint, `fixed` or `match`".into()),
        )),
        other => Ok(ToolSource::Target(Box::new(other))),
    }
}

/// The Rust function names `tools_from` entries call (for the loader's
/// check that they are registered).
pub fn rust_names(sources: &[(String, ToolSource)]) -> Vec<(String, String)> {
    sources
        .iter()
        .filter_map(|(tool, s)| match s {
            ToolSource::Target(t) => match t.as_ref() {
                TargetSpec::Rust(n) => Some((tool.clone(), n.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A result value as the text sent to the model: a string as it is, other
/// JSON compact.
fn result_text(v: &Value) -> String {
    crate::text::of_value(v)
}

/// Whether every argument a rule lists has that value in the call.
fn covers(rule: &Map<String, Value>, arguments: &Value) -> bool {
    rule.iter()
        .all(|(k, want)| arguments.get(k).is_some_and(|got| got == want))
}

/// Answers one call. `Ok(Ok(text))`: the result; `Ok(Err(why))`: the tool
/// failed and the model is told; `Err`: the trial is an error.
pub async fn answer(
    tool: &str,
    source: &ToolSource,
    call: &ToolCall,
    ctx: &TargetContext<'_>,
) -> Result<Result<String, String>, TargetError> {
    let result = match source {
        ToolSource::Fixed(v) => Ok(result_text(v)),
        ToolSource::Match { rules, otherwise } => {
            match rules
                .iter()
                .find(|(args, _)| covers(args, &call.arguments))
                .map(|(_, r)| r)
                .or(otherwise.as_ref())
            {
                Some(r) => Ok(result_text(r)),
                None => {
                    return Err(TargetError(format!(
                        "the model called `{tool}` with arguments {} that no `match` rule of `tools_from.{tool}` covers (hint: add a rule for them, or an `otherwise:` result)",
                        call.arguments
                    )));
                }
            }
        }
        ToolSource::Target(spec) => run_target(tool, spec, call, ctx).await?,
    };
    let result = result
        .map(|t| secrets::redact(&t))
        .map_err(|e| secrets::redact(&e));
    if let Ok(text) = &result
        && text.len() > MAX_RESULT_BYTES
    {
        return Err(TargetError(format!(
            "tool `{tool}` answered {} bytes, more than the {} MiB a tool result may have",
            text.len(),
            MAX_RESULT_BYTES >> 20
        )));
    }
    Ok(result)
}

async fn run_target(
    tool: &str,
    spec: &TargetSpec,
    call: &ToolCall,
    ctx: &TargetContext<'_>,
) -> Result<Result<String, String>, TargetError> {
    let mut vars = ctx.vars.clone();
    if let Value::Object(args) = &call.arguments {
        vars.extend(args.clone());
    }
    let sub = TargetContext {
        input: &call.arguments,
        vars: &vars,
        ..*ctx
    };
    let output = match spec {
        TargetSpec::Rust(name) | TargetSpec::Named(name) => {
            return rust(tool, name, call, &vars, ctx).await;
        }
        TargetSpec::Command(c) => super::command::call(c, &sub).await,
        TargetSpec::Http(h) => super::http::call(h, &sub).await,
        TargetSpec::Prompt(_) | TargetSpec::Pipeline(_) => {
            return Err(TargetError(format!(
                "tool `{tool}` is a prompt or pipeline target, which a tool cannot be"
            )));
        }
    };
    Ok(output.map(|o| o.text).map_err(|e| e.0))
}

async fn rust(
    tool: &str,
    name: &str,
    call: &ToolCall,
    vars: &Map<String, Value>,
    ctx: &TargetContext<'_>,
) -> Result<Result<String, String>, TargetError> {
    let Some(target) = ctx.env.registry.targets.get(name).cloned() else {
        let names: Vec<&str> = ctx
            .env
            .registry
            .targets
            .keys()
            .map(String::as_str)
            .collect();
        return Err(TargetError(format!(
            "tool `{tool}` maps to the Rust function `{name}`, which is not registered (hint: {})",
            if names.is_empty() {
                format!("register it in tests/evals.rs with `.target(\"{name}\", f)`")
            } else {
                hint(name, names.iter().copied())
            }
        )));
    };
    let input = Input {
        value: call.arguments.clone(),
        vars: vars.clone(),
        case_id: ctx.case_id.to_string(),
        variant: ctx.variant.map(str::to_string),
    };
    let joined = target.call(input).await;
    match joined {
        Ok(Ok(output)) => Ok(Ok(output.text)),
        Ok(Err(e)) => Ok(Err(e)),
        Err(join) if join.is_panic() => Err(TargetError(format!(
            "tool `{tool}` (Rust function `{name}`) panicked: {}",
            crate::registry::panic_text(&*join.into_panic())
        ))),
        Err(join) => Err(TargetError(format!(
            "tool `{tool}` (Rust function `{name}`) was cancelled: {join}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_definition_forms_read_alike() {
        let tools = definitions(&[
            json!({"name": "a", "description": "A", "parameters": {"type": "object"}}),
            json!({"type": "function", "function": {"name": "b", "parameters": {"type": "object"}}}),
            json!({"name": "c", "input_schema": {"type": "object"}}),
            json!({"name": "d"}),
        ])
        .expect("valid");
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        assert_eq!(tools[0].description.as_deref(), Some("A"));
        assert_eq!(
            tools[3].parameters,
            json!({"type": "object", "properties": {}})
        );
        let dup = definitions(&[json!({"name": "a"}), json!({"name": "a"})]).expect_err("dup");
        assert_eq!(dup.path, vec![key("tools"), Seg::Index(1)]);
        let typo = definitions(&[json!({"name": "a", "paramters": {}})]).expect_err("typo");
        assert_eq!(typo.hint.as_deref(), Some("did you mean `parameters`?"));
    }

    #[test]
    fn choices_name_defined_tools() {
        let tools = definitions(&[json!({"name": "get_order"})]).expect("valid");
        assert_eq!(choice(&json!("any"), &tools), Ok(ToolChoice::Required));
        assert_eq!(
            choice(&json!({"name": "get_order"}), &tools),
            Ok(ToolChoice::Tool("get_order".into()))
        );
        let e = choice(&json!({"name": "get_ordr"}), &tools).expect_err("unknown");
        assert_eq!(e.hint.as_deref(), Some("did you mean `get_order`?"));
        assert!(choice(&json!("sometimes"), &tools).is_err());
    }

    #[test]
    fn match_rules_cover_a_subset_of_the_arguments() {
        let rule = Map::from_iter([("id".to_string(), json!(7))]);
        assert!(covers(&rule, &json!({"id": 7, "verbose": true})));
        assert!(!covers(&rule, &json!({"id": 8})));
        assert!(!covers(&rule, &json!({})));
    }
}
