//! `cost`: the case (target and judges so far) cost at most a bound in US dollars.
//!
//! ```yaml
//! - cost: {max_usd: 0.01}     # or `cost: 0.01`
//! ```

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, bound};
use crate::check::ParseCx;
use crate::verdict::CheckResult;

/// `cost`: the case (target and judges so far) cost at most a bound in US dollars.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Maximum cost in US dollars.
    pub max_usd: f64,
}

impl Kind for Cost {
    const NAMES: &'static [&'static str] = &["cost"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        Ok(Cost {
            max_usd: bound("cost", p.main, "max_usd", "cost: {max_usd: 0.01}")?,
        })
    }

    /// `cost <= $0.01`, for `cost: 0.01` and `cost: {max_usd: 0.01}` alike.
    fn display(kind: &str, main: &Value) -> String {
        let max = match main {
            Value::Object(m) => m.get("max_usd").unwrap_or(main),
            other => other,
        };
        match max {
            Value::Number(n) => format!("{kind} <= ${n}"),
            _ => kind.to_string(),
        }
    }
}

impl Immediate for Cost {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let prior: f64 = cx.prior.iter().filter_map(|c| c.cost_usd).sum();
        match cx.output.cost_usd {
            Some(target) => {
                let total = target + prior;
                CheckResult::from_bool(
                    "cost",
                    cx.name,
                    total <= self.max_usd,
                    format!("${total:.6} (max ${})", self.max_usd),
                )
            }
            None => CheckResult::error(
                "cost",
                cx.name,
                "the target reported no cost (no price is known for its model, or it is not a model call)",
            ),
        }
    }
}
