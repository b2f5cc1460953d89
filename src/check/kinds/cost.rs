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

    /// `cost <= 0.01` for `{max_usd: 0.01}` (as `latency_ms <= 2000` for
    /// `{max: 2000}`); `cost 0.01` for a bare number.
    fn display(kind: &str, main: &Value) -> String {
        match main {
            Value::Object(m) if m.len() == 1 && m.contains_key("max_usd") => {
                format!("{kind} <= {}", m["max_usd"])
            }
            other => crate::check::derive_name(kind, other),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_display_name_shows_the_bound_in_both_spellings() {
        assert_eq!(
            Cost::display("cost", &json!({"max_usd": 0.01})),
            "cost <= 0.01"
        );
        assert_eq!(Cost::display("cost", &json!(0.5)), "cost 0.5");
    }
}
