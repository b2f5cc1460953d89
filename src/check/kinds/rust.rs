//! `rust`: a check function registered in `tests/evals.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, main_error};
use crate::check::ParseCx;
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

impl Kind for RustCheck {
    const NAMES: &'static [&'static str] = &["rust"];
    const OPTIONS: &'static [&'static str] = &["args"];

    fn parse(p: &Parsed<'_>, cx: &ParseCx<'_>) -> Result<Self, SpecError> {
        let (main, args, known) = (p.main, p.options.get("args"), cx.rust_checks);
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
}

impl Immediate for RustCheck {
    /// A panic in the function is an `error` result.
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let Some(f) = cx.services.registry.checks.get(&self.function) else {
            return CheckResult::error(
                "rust",
                cx.name,
                format!("no Rust check named `{}` is registered", self.function),
            );
        };
        let input = CheckInput {
            output: cx.output,
            input: cx.trial.input,
            expected: cx.trial.expected,
            args: &self.args,
            vars: cx.trial.vars,
        };
        match catch_unwind(AssertUnwindSafe(|| f(&input))) {
            Ok(Ok(())) => {
                CheckResult::pass_with("rust", cx.name, format!("{} passed", self.function))
            }
            Ok(Err(reason)) => CheckResult::from_bool("rust", cx.name, false, reason),
            Err(panic) => CheckResult::error(
                "rust",
                cx.name,
                format!(
                    "{} panicked: {}",
                    self.function,
                    crate::registry::panic_text(&*panic)
                ),
            ),
        }
    }
}
