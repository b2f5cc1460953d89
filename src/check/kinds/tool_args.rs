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
//! The schemas are given in the check. A call of a tool that has no schema
//! fails (the model called a tool it was not given) unless `allow_unknown:
//! true`. An output without tool calls fails: there is nothing to validate.

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
}

impl Kind for ToolArgs {
    const NAMES: &'static [&'static str] = &["tool_args"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            schemas: Map<String, Value>,
            #[serde(default)]
            allow_unknown: bool,
        }
        if !p.main.is_object() {
            return Err(main_error(
                KIND,
                "`tool_args` needs `schemas:`, the JSON Schema of each tool's arguments",
                Some(
                    "write e.g. `tool_args: {schemas: {get_order: {type: object, required: [id]}}}`",
                ),
            ));
        }
        let params: Params = crate::check::typed(KIND, p.main, "`tool_args` check")?;
        if params.schemas.is_empty() {
            return Err(SpecError::new(
                vec![Seg::Key(KIND.into()), Seg::Key("schemas".into())],
                "`schemas` names no tools",
                Some("map each tool name to the JSON Schema of its arguments".into()),
            ));
        }
        let schemas = params
            .schemas
            .iter()
            .map(|(name, schema)| {
                let path = vec![
                    Seg::Key(KIND.into()),
                    Seg::Key("schemas".into()),
                    Seg::Key(name.clone()),
                ];
                compile_schema(schema, path).map(|v| (name.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ToolArgs {
            schemas,
            allow_unknown: params.allow_unknown,
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
            self.schemas
                .iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut problems = Vec::new();
        let mut checked = Vec::new();
        for (i, call) in calls.iter().enumerate() {
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
