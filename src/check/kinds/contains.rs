//! `contains`, `icontains`, `contains_any`, `contains_all`: substrings of the output.

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, excerpt, main_error, string_value};
use crate::check::ParseCx;
use crate::verdict::CheckResult;

/// How `contains` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainsMode {
    /// One needle.
    One,
    /// At least one of several.
    Any,
    /// All of several.
    All,
}

/// `contains`, `icontains`, `contains_any`, `contains_all`.
#[derive(Debug, Clone, PartialEq)]
pub struct Contains {
    /// The kind as written.
    pub kind: &'static str,
    /// The needles.
    pub needles: Vec<String>,
    /// How to combine them.
    pub mode: ContainsMode,
    /// Compare case-insensitively.
    pub ignore_case: bool,
}

impl Kind for Contains {
    const NAMES: &'static [&'static str] =
        &["contains", "icontains", "contains_any", "contains_all"];
    /// `ignore_case` is an option of `contains_any` and `contains_all` only
    /// (checked in `parse`).
    const OPTIONS: &'static [&'static str] = &["ignore_case"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let (kind, main) = (p.kind, p.main);
        if matches!(kind, "contains" | "icontains") && p.options.contains_key("ignore_case") {
            return Err(SpecError::at_key(
                "ignore_case",
                format!("unknown key `ignore_case` in a `{kind}` check"),
                Some(crate::diag::hint(
                    "ignore_case",
                    ["name", "weight", "not", "when"],
                )),
            ));
        }
        let ignore_case = p.flag("ignore_case", false)?;
        let (mode, ignore_case) = match kind {
            "contains" => (ContainsMode::One, ignore_case),
            "icontains" => (ContainsMode::One, true),
            "contains_any" => (ContainsMode::Any, ignore_case),
            _ => (ContainsMode::All, ignore_case),
        };
        let needles = match (mode, main) {
            (ContainsMode::One, v) => vec![string_value(kind, v)?],
            (_, Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|i| string_value(kind, i))
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(main_error(
                    kind,
                    format!("`{kind}` takes a non-empty list of strings"),
                    Some("write e.g. `contains_any: [refund, \"money back\"]`"),
                ));
            }
        };
        Ok(Contains {
            kind,
            needles,
            mode,
            ignore_case,
        })
    }
}

impl Immediate for Contains {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let hay = if self.ignore_case {
            cx.output.text.to_lowercase()
        } else {
            cx.output.text.clone()
        };
        let found: Vec<&String> = self
            .needles
            .iter()
            .filter(|n| {
                let n = if self.ignore_case {
                    n.to_lowercase()
                } else {
                    (*n).clone()
                };
                hay.contains(&n)
            })
            .collect();
        let missing: Vec<&String> = self.needles.iter().filter(|n| !found.contains(n)).collect();
        let ok = match self.mode {
            ContainsMode::One | ContainsMode::All => missing.is_empty(),
            ContainsMode::Any => !found.is_empty(),
        };
        let reason = match (ok, self.mode) {
            (true, _) => format!("found {}", quoted(&found)),
            (false, ContainsMode::Any) => format!(
                "none of {} in the output",
                quoted(&self.needles.iter().collect::<Vec<_>>())
            ),
            (false, _) => format!(
                "missing {} in {}",
                quoted(&missing),
                excerpt(&cx.output.text)
            ),
        };
        CheckResult::from_bool(self.kind, cx.name, ok, reason)
    }
}

fn quoted(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
