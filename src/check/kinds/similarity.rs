//! `similarity`: normalized Levenshtein similarity with a reference.

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, main_error};
use crate::check::{ParseCx, expected_text};
use crate::verdict::CheckResult;

/// `similarity`: normalized Levenshtein similarity with a reference is at
/// least a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    /// The reference; `None` uses the case's `expected`.
    pub value: Option<String>,
    /// Minimum similarity in `0..=1`.
    pub threshold: f64,
}

impl Kind for Similarity {
    const NAMES: &'static [&'static str] = &["similarity"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let main = p.main;
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            value: Option<String>,
            threshold: f64,
        }
        let p = match main {
            Value::Number(n) => Params {
                value: None,
                threshold: n.as_f64().unwrap_or(-1.0),
            },
            other => crate::check::typed::<Params>("similarity", other, "`similarity` check")?,
        };
        if !(0.0..=1.0).contains(&p.threshold) {
            return Err(main_error(
                "similarity",
                format!("threshold {} is outside 0..=1", p.threshold),
                Some(
                    "write e.g. `similarity: 0.8` or `similarity: {value: \"...\", threshold: 0.8}`",
                ),
            ));
        }
        Ok(Similarity {
            value: p.value,
            threshold: p.threshold,
        })
    }
}

impl Immediate for Similarity {
    /// The score (similarity, two decimals) is part of the decision.
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let reference = match (&self.value, cx.trial.expected) {
            (Some(v), _) => v.clone(),
            (None, Some(e)) => expected_text(e),
            (None, None) => {
                return CheckResult::error(
                    "similarity",
                    cx.name,
                    "`similarity` has no `value` and the case has no `expected`",
                );
            }
        };
        let sim = strsim::normalized_levenshtein(cx.output.text.trim(), reference.trim());
        let ok = sim + 1e-12 >= self.threshold;
        CheckResult::from_bool(
            "similarity",
            cx.name,
            ok,
            format!("similarity {sim:.3} (threshold {})", self.threshold),
        )
        .with_score(sim)
    }
}
