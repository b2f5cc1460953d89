//! `equals`: the output equals a value (text, or JSON structurally), or the
//! case's `expected`.

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, excerpt};
use crate::check::ParseCx;
use crate::verdict::CheckResult;

/// `equals`: the output equals a value (text, or JSON structurally), or the
/// case's `expected` when no value is given.
#[derive(Debug, Clone, PartialEq)]
pub struct Equals {
    /// The value; `None` compares with `expected`.
    pub value: Option<Value>,
    /// Compare text case-insensitively.
    pub ignore_case: bool,
    /// Ignore leading and trailing whitespace (default true).
    pub trim: bool,
}

impl Kind for Equals {
    const NAMES: &'static [&'static str] = &["equals"];
    const OPTIONS: &'static [&'static str] = &["ignore_case", "trim"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let (ignore_case, trim) = (p.flag("ignore_case", false)?, p.flag("trim", true)?);
        let value = match p.main {
            Value::Null => None,
            v => Some(v.clone()),
        };
        Ok(Equals {
            value,
            ignore_case,
            trim,
        })
    }
}

impl Immediate for Equals {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let reference = match (&self.value, cx.trial.expected) {
            (Some(v), _) => v,
            (None, Some(e)) => e,
            (None, None) => {
                return CheckResult::error(
                    "equals",
                    cx.name,
                    "`equals` has no value and the case has no `expected`",
                );
            }
        };
        match reference {
            Value::String(want) => {
                let norm = |s: &str| {
                    let s = if self.trim { s.trim() } else { s };
                    if self.ignore_case {
                        s.to_lowercase()
                    } else {
                        s.to_string()
                    }
                };
                let ok = norm(&cx.output.text) == norm(want);
                let reason = if ok {
                    "output equals the expected text".to_string()
                } else {
                    format!(
                        "expected {}, got {}",
                        excerpt(want),
                        excerpt(&cx.output.text)
                    )
                };
                CheckResult::from_bool("equals", cx.name, ok, reason)
            }
            want => match cx.output.as_json() {
                Ok(got) => {
                    let ok = json_equal(&got, want);
                    let reason = if ok {
                        "output equals the expected JSON".to_string()
                    } else {
                        format!("expected {want}, got {got}")
                    };
                    CheckResult::from_bool("equals", cx.name, ok, reason)
                }
                Err(e) => CheckResult::from_bool(
                    "equals",
                    cx.name,
                    false,
                    format!("expected JSON {want}, but the output is not JSON ({e})"),
                ),
            },
        }
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
