//! `word_count` and `char_count`: bounds on the output's length.

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, main_error};
use crate::check::ParseCx;
use crate::verdict::CheckResult;

/// `word_count` and `char_count` bounds (inclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    /// The kind as written.
    pub kind: &'static str,
    /// Lower bound.
    pub min: Option<u64>,
    /// Upper bound.
    pub max: Option<u64>,
}

impl Kind for Count {
    const NAMES: &'static [&'static str] = &["word_count", "char_count"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let (kind, main) = (p.kind, p.main);
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Bounds {
            min: Option<u64>,
            max: Option<u64>,
        }
        let b: Bounds = crate::check::typed(kind, main, &format!("`{kind}` check"))?;
        if b.min.is_none() && b.max.is_none() {
            return Err(main_error(
                kind,
                format!("`{kind}` needs `min`, `max` or both"),
                Some("write e.g. `word_count: {min: 5, max: 80}`"),
            ));
        }
        if let (Some(lo), Some(hi)) = (b.min, b.max)
            && lo > hi
        {
            return Err(main_error(
                kind,
                format!("`min` ({lo}) is greater than `max` ({hi})"),
                None,
            ));
        }
        Ok(Count {
            kind,
            min: b.min,
            max: b.max,
        })
    }
}

impl Immediate for Count {
    /// Words are whitespace-separated; characters are Unicode scalar values
    /// of the trimmed output.
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let n = if self.kind == "word_count" {
            cx.output.text.split_whitespace().count() as u64
        } else {
            cx.output.text.trim().chars().count() as u64
        };
        let unit = if self.kind == "word_count" {
            "words"
        } else {
            "characters"
        };
        let ok = self.min.is_none_or(|lo| n >= lo) && self.max.is_none_or(|hi| n <= hi);
        let bounds = match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!("{lo}..={hi}"),
            (Some(lo), None) => format!(">= {lo}"),
            (None, Some(hi)) => format!("<= {hi}"),
            (None, None) => "any".into(),
        };
        CheckResult::from_bool(
            self.kind,
            cx.name,
            ok,
            format!("{n} {unit}, expected {bounds}"),
        )
    }
}
