//! `is_json`: the output parses as JSON, and matches a JSON Schema when one is given.

use std::sync::Arc;

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, main_error};
use crate::check::ParseCx;
use crate::diag::Seg;
use crate::verdict::CheckResult;

/// `is_json`: the output parses as JSON, and matches a schema when one is given.
#[derive(Debug, Clone)]
pub struct IsJson {
    /// The compiled schema, if any.
    pub schema: Option<Arc<jsonschema::Validator>>,
}

impl Kind for IsJson {
    const NAMES: &'static [&'static str] = &["is_json"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let main = p.main;
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
}

impl Immediate for IsJson {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let value = match cx.output.as_json() {
            Ok(v) => v,
            Err(e) => {
                return CheckResult::from_bool(
                    "is_json",
                    cx.name,
                    false,
                    format!("output is not JSON: {e}"),
                );
            }
        };
        match &self.schema {
            None => CheckResult::pass_with("is_json", cx.name, "output is valid JSON"),
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
                    CheckResult::pass_with("is_json", cx.name, "output matches the schema")
                } else {
                    CheckResult::from_bool(
                        "is_json",
                        cx.name,
                        false,
                        format!("schema violations: {}", problems.join("; ")),
                    )
                }
            }
        }
    }
}
