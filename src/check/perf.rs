//! Resource assertions: `latency_ms` and `cost` bounds.

use serde_json::Value;

use super::spec::main_error;
use super::{CheckContext, SpecError};
use crate::verdict::CheckResult;

fn bound(kind: &str, main: &Value, key: &str, example: &str) -> Result<f64, SpecError> {
    let v = match main {
        Value::Object(m) if m.len() == 1 && m.contains_key(key) => &m[key],
        other => other,
    };
    match v.as_f64() {
        Some(x) if x >= 0.0 => Ok(x),
        _ => Err(main_error(
            kind,
            format!("`{kind}` takes a number >= 0 (or `{{{key}: N}}`)"),
            Some(example),
        )),
    }
}

/// `latency_ms`: the target answered within a bound. Latency is measured,
/// so this check is meant for `cargo test` runs against live or local
/// targets; replayed model calls report their recorded latency.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Maximum latency in milliseconds.
    pub max: f64,
}

impl Latency {
    pub(crate) fn parse(main: &Value) -> Result<Self, SpecError> {
        Ok(Latency {
            max: bound("latency_ms", main, "max", "latency_ms: 2000")?,
        })
    }

    /// Runs the check.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        match ctx.output.latency_ms {
            Some(ms) => CheckResult::from_bool(
                "latency_ms",
                ctx.name,
                ms <= self.max,
                format!("{ms:.0} ms (max {})", self.max),
            ),
            None => CheckResult::error(
                "latency_ms",
                ctx.name,
                "the target reported no latency (fixed outputs have none)",
            ),
        }
    }
}

/// `cost`: the case (target and judges so far) cost at most a bound in US dollars.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Maximum cost in US dollars.
    pub max_usd: f64,
}

impl Cost {
    pub(crate) fn parse(main: &Value) -> Result<Self, SpecError> {
        Ok(Cost {
            max_usd: bound("cost", main, "max_usd", "cost: {max_usd: 0.01}")?,
        })
    }

    /// Runs the check.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let prior: f64 = ctx.prior.iter().filter_map(|c| c.cost_usd).sum();
        match ctx.output.cost_usd {
            Some(target) => {
                let total = target + prior;
                CheckResult::from_bool(
                    "cost",
                    ctx.name,
                    total <= self.max_usd,
                    format!("${total:.6} (max ${})", self.max_usd),
                )
            }
            None => CheckResult::error(
                "cost",
                ctx.name,
                "the target reported no cost (no price is known for its model, or it is not a model call)",
            ),
        }
    }
}
