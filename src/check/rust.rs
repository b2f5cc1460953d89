//! `rust`: a check function registered in `tests/evals.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;

use super::spec::main_error;
use super::{CheckContext, SpecError};
use crate::diag::hint;
use crate::registry::CheckInput;
use crate::verdict::CheckResult;

/// `rust: <name>` with optional `args:`.
#[derive(Debug, Clone, PartialEq)]
pub struct RustCheck {
    /// The registered name.
    pub function: String,
    /// Arguments passed to the function.
    pub args: Value,
}

impl RustCheck {
    pub(crate) fn parse(
        main: &Value,
        args: Option<&Value>,
        known: Option<&[String]>,
    ) -> Result<Self, SpecError> {
        let Value::String(function) = main else {
            return Err(main_error(
                "rust",
                "`rust` takes the name of a registered check function",
                Some(
                    "register it in tests/evals.rs with `.check(\"name\", |c| ...)` and write `- rust: name`",
                ),
            ));
        };
        if let Some(known) = known
            && !known.iter().any(|k| k == function)
        {
            let h = if known.is_empty() {
                "no Rust checks are registered: register one in tests/evals.rs with `.check(\"name\", |c| ...)`".to_string()
            } else {
                hint(function, known.iter().map(String::as_str))
            };
            return Err(main_error(
                "rust",
                format!("unknown Rust check `{function}`"),
                Some(&h),
            ));
        }
        Ok(RustCheck {
            function: function.clone(),
            args: args.cloned().unwrap_or(Value::Null),
        })
    }

    /// Runs the check. A panic in the function is an `error` result.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let Some(f) = ctx.env.registry.checks.get(&self.function) else {
            return CheckResult::error(
                "rust",
                ctx.name,
                format!("no Rust check named `{}` is registered", self.function),
            );
        };
        let input = CheckInput {
            output: ctx.output,
            input: ctx.input,
            expected: ctx.expected,
            args: &self.args,
            vars: ctx.vars,
        };
        match catch_unwind(AssertUnwindSafe(|| f(&input))) {
            Ok(Ok(())) => {
                CheckResult::pass_with("rust", ctx.name, format!("{} passed", self.function))
            }
            Ok(Err(reason)) => CheckResult::from_bool("rust", ctx.name, false, reason),
            Err(panic) => CheckResult::error(
                "rust",
                ctx.name,
                format!("{} panicked: {}", self.function, panic_text(&*panic)),
            ),
        }
    }
}

/// The message of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}
