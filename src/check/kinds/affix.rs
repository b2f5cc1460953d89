//! `starts_with` and `ends_with`: the output's prefix or suffix.

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, excerpt, string_value};
use crate::check::ParseCx;
use crate::verdict::CheckResult;

/// `starts_with` and `ends_with`.
#[derive(Debug, Clone, PartialEq)]
pub struct Affix {
    /// The kind as written.
    pub kind: &'static str,
    /// The prefix or suffix.
    pub value: String,
    /// Compare case-insensitively.
    pub ignore_case: bool,
    /// Ignore leading and trailing whitespace of the output (default true).
    pub trim: bool,
}

impl Kind for Affix {
    const NAMES: &'static [&'static str] = &["starts_with", "ends_with"];
    const OPTIONS: &'static [&'static str] = &["ignore_case", "trim"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        Ok(Affix {
            kind: p.kind,
            value: string_value(p.kind, p.main)?,
            ignore_case: p.flag("ignore_case", false)?,
            trim: p.flag("trim", true)?,
        })
    }
}

impl Immediate for Affix {
    /// With `trim`, the default, leading and trailing whitespace of the
    /// output is ignored.
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let output = if self.trim {
            cx.output.text.trim()
        } else {
            cx.output.text.as_str()
        };
        let (text, value) = if self.ignore_case {
            (output.to_lowercase(), self.value.to_lowercase())
        } else {
            (output.to_string(), self.value.clone())
        };
        let ok = if self.kind == "starts_with" {
            text.starts_with(&value)
        } else {
            text.ends_with(&value)
        };
        let reason = if ok {
            format!("output {} {:?}", self.kind.replace('_', " "), self.value)
        } else {
            format!(
                "output does not {} {:?}: {}",
                if self.kind == "starts_with" {
                    "start with"
                } else {
                    "end with"
                },
                self.value,
                excerpt(&cx.output.text)
            )
        };
        CheckResult::from_bool(self.kind, cx.name, ok, reason)
    }
}
