//! `skip`: a check that is kept in the suite but never run, with the reason.
//! Its result is `skipped` (shown in the snapshot, the results file and
//! every report with the reason), and it never counts towards the case's
//! threshold, so it can never make a case pass: a case whose checks are all
//! skipped is an `error`, as every case that nothing decided.
//!
//! ```yaml
//! - skip: "promptfoo `javascript` assertion: tribunal runs no JavaScript; port it to a `rust` check"
//!   original: {type: javascript, value: "output.length < 280"}
//! ```
//!
//! `tribunal import promptfoo` writes one for every assertion it cannot map.

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, main_error};
use crate::check::ParseCx;
use crate::verdict::{CheckResult, Outcome};

/// `skip: "reason"`, with an optional `original` (what the check was, kept
/// for the reader and shown as evidence).
#[derive(Debug, Clone, PartialEq)]
pub struct Skip {
    /// Why the check is not run.
    pub reason: String,
    /// What the check was before it was kept as a skip (an imported
    /// assertion), if given.
    pub original: Option<Value>,
}

impl Kind for Skip {
    const NAMES: &'static [&'static str] = &["skip"];
    const OPTIONS: &'static [&'static str] = &["original"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        match p.main {
            Value::String(s) if !s.trim().is_empty() => Ok(Skip {
                reason: s.trim().to_string(),
                original: p.options.get("original").cloned(),
            }),
            _ => Err(main_error(
                "skip",
                "`skip` takes the reason the check is not run, as text",
                Some("write e.g. `skip: \"needs JavaScript: port it to a rust check\"`"),
            )),
        }
    }

    /// `skip` (the reason is the result's reason, not its name).
    fn display(kind: &str, _: &Value) -> String {
        kind.to_string()
    }
}

impl Immediate for Skip {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let mut r = CheckResult::new(
            "skip",
            cx.name,
            Outcome::Skipped,
            format!("not run: {}", self.reason),
        );
        r.warnings.push("not run: kept as a `skip` check".into());
        if let Some(original) = &self.original {
            r = r.with_evidence(serde_json::json!({ "original": original }));
        }
        r
    }
}
