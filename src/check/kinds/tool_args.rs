//! `tool_args`: every tool call's arguments are valid against the JSON
//! Schema of its tool.
//!
//! ```yaml
//! - tool_args:
//!     schemas:
//!       get_order: {type: object, required: [id], properties: {id: {type: integer}}}
//!       refund: {type: object, required: [order_id, amount]}
//!     allow_unknown: false    # default: a call of a tool with no schema fails
//! ```
//!
//! Without `schemas:` (`- tool_args: {}`), the schemas are the `tools:`
//! of the case's `prompt` target (or of a pipeline's prompt steps), taken
//! when the suite loads. A call of a tool that has no schema fails (the
//! model called a tool it was not given) unless `allow_unknown: true`. A
//! call whose arguments are not JSON fails. An output without tool calls
//! fails: there is nothing to validate.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{
    CheckCx, Immediate, Kind, Parsed, SpecError, call_label, call_list, compile_schema, main_error,
    schema_problems,
};
use crate::check::ParseCx;
use crate::diag::Seg;
use crate::verdict::CheckResult;

const KIND: &str = "tool_args";

/// `tool_args`: schema-valid arguments for every call.
#[derive(Debug, Clone)]
pub struct ToolArgs {
    /// Each tool's schema, compiled, in the order written.
    pub schemas: Vec<(String, Arc<jsonschema::Validator>)>,
    /// Whether a call of a tool without a schema is let through.
    pub allow_unknown: bool,
    /// Whether the schemas are the target's `tools:` (no `schemas:` given).
    pub from_target: bool,
}

impl Kind for ToolArgs {
    const NAMES: &'static [&'static str] = &["tool_args"];

    fn parse(p: &Parsed<'_>, cx: &ParseCx<'_>) -> Result<Self, SpecError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            #[serde(default)]
            schemas: Option<Map<String, Value>>,
            #[serde(default)]
            allow_unknown: bool,
        }
        let main = match p.main {
            Value::Null => &Value::Object(Map::new()),
            other => other,
        };
        if !main.is_object() {
            return Err(main_error(
                KIND,
                "`tool_args` takes `schemas:` (the JSON Schema of each tool's arguments) or `{}` for the target's `tools:`",
                Some(
                    "write e.g. `tool_args: {schemas: {get_order: {type: object, required: [id]}}}`, or `tool_args: {}` on a case whose prompt target has `tools:`",
                ),
            ));
        }
        let params: Params = crate::check::typed(KIND, main, "`tool_args` check")?;
        let from_target = params.schemas.is_none();
        let schemas = match params.schemas {
            Some(s) => s,
            None if cx.target_tools.is_empty() => {
                return Err(main_error(
                    KIND,
                    "`tool_args` has no `schemas:` and the case's target defines no `tools:` to take them from",
                    Some(
                        "give `schemas:` (e.g. `tool_args: {schemas: {get_order: {type: object, required: [id]}}}`), or use it on a case whose prompt target has `tools:`",
                    ),
                ));
            }
            None => cx.target_tools.iter().cloned().collect(),
        };
        if schemas.is_empty() {
            return Err(SpecError::new(
                vec![Seg::Key(KIND.into()), Seg::Key("schemas".into())],
                "`schemas` names no tools",
                Some("map each tool name to the JSON Schema of its arguments".into()),
            ));
        }
        let schemas = schemas
            .iter()
            .map(|(name, schema)| {
                let path = if from_target {
                    vec![Seg::Key(KIND.into())]
                } else {
                    vec![
                        Seg::Key(KIND.into()),
                        Seg::Key("schemas".into()),
                        Seg::Key(name.clone()),
                    ]
                };
                compile_schema(schema, path).map(|v| (name.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ToolArgs {
            schemas,
            allow_unknown: params.allow_unknown,
            from_target,
        })
    }

    fn display(kind: &str, _: &Value) -> String {
        kind.to_string()
    }
}

impl Immediate for ToolArgs {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let calls = &cx.output.tool_calls;
        if calls.is_empty() {
            return CheckResult::from_bool(
                KIND,
                cx.name,
                false,
                "the output has no tool calls, so there are no arguments to validate",
            );
        }
        let known = || {
            let names = self
                .schemas
                .iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if self.from_target {
                format!("the target's tools {names}")
            } else {
                names
            }
        };
        let mut problems = Vec::new();
        let mut checked = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            if let Some(why) = &call.invalid_arguments {
                problems.push(format!(
                    "{}: the arguments are not JSON ({why})",
                    call_label(i, call)
                ));
                continue;
            }
            match self.schemas.iter().find(|(n, _)| n == &call.name) {
                Some((_, schema)) => match schema_problems(schema, &call.arguments) {
                    Some(p) => problems.push(format!("{}: {p}", call_label(i, call))),
                    None => checked.push((i, call)),
                },
                None if self.allow_unknown => {}
                None => problems.push(format!(
                    "{}: no schema for `{}` (schemas are given for {})",
                    call_label(i, call),
                    call.name,
                    known()
                )),
            }
        }
        if !problems.is_empty() {
            let total = problems.len();
            let more = if total > 5 {
                format!(" and {} more", total - 5)
            } else {
                String::new()
            };
            problems.truncate(5);
            return CheckResult::from_bool(
                KIND,
                cx.name,
                false,
                format!(
                    "{total} of {} fail validation: {}{more}",
                    crate::text::count(calls.len(), "tool call"),
                    problems.join("; ")
                ),
            );
        }
        if checked.is_empty() {
            return CheckResult::error(
                KIND,
                cx.name,
                format!(
                    "no call has a schema to check it against (calls: {}; schemas are given for {}), so nothing was validated",
                    call_list(calls.iter().enumerate()),
                    known()
                ),
            );
        }
        CheckResult::pass_with(
            KIND,
            cx.name,
            format!(
                "the arguments of {} match their schemas: {}",
                crate::text::count(checked.len(), "call"),
                call_list(checked)
            ),
        )
    }
}
