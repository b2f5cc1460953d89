//! `regex`: the output matches a regular expression.

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, excerpt, main_error, string_value};
use crate::check::ParseCx;
use crate::verdict::CheckResult;

/// `regex`: the output matches a regular expression (Rust `regex` syntax;
/// inline flags such as `(?i)` and `(?s)` work).
#[derive(Debug, Clone)]
pub struct RegexCheck {
    /// The compiled expression.
    pub regex: regex::Regex,
}

impl PartialEq for RegexCheck {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_str() == other.regex.as_str()
    }
}

impl Kind for RegexCheck {
    const NAMES: &'static [&'static str] = &["regex"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let pattern = string_value("regex", p.main)?;
        let regex = regex::RegexBuilder::new(&pattern)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| {
                main_error(
                    "regex",
                    crate::diag::invalid_regex(&pattern, &e),
                    Some("quote patterns with single quotes in YAML so backslashes survive: regex: '\\d+'"),
                )
            })?;
        Ok(RegexCheck { regex })
    }
}

impl Immediate for RegexCheck {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        match self.regex.find(&cx.output.text) {
            Some(m) => {
                CheckResult::pass_with("regex", cx.name, format!("matched {:?}", m.as_str()))
            }
            None => CheckResult::from_bool(
                "regex",
                cx.name,
                false,
                format!(
                    "no match for /{}/ in {}",
                    self.regex.as_str(),
                    excerpt(&cx.output.text)
                ),
            ),
        }
    }
}
