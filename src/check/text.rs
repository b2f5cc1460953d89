//! Text assertions: equals, contains, affixes, regex, counts, similarity.

use serde_json::Value;

use super::spec::main_error;
use super::{CheckContext, SpecError, expected_text};
use crate::verdict::CheckResult;

fn string_value(kind: &str, main: &Value) -> Result<String, SpecError> {
    match main {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(main_error(
            kind,
            format!("`{kind}` takes a string"),
            Some("quote the text, e.g. `contains: \"refund\"`"),
        )),
    }
}

fn excerpt(s: &str) -> String {
    const MAX: usize = 120;
    let flat: String = s.chars().map(|c| if c == '\n' { '⏎' } else { c }).collect();
    if flat.chars().count() <= MAX {
        format!("{flat:?}")
    } else {
        let cut: String = flat.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

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

impl Equals {
    pub(crate) fn parse(main: &Value, ignore_case: bool, trim: bool) -> Result<Self, SpecError> {
        let value = match main {
            Value::Null => None,
            v => Some(v.clone()),
        };
        Ok(Equals {
            value,
            ignore_case,
            trim,
        })
    }

    /// Runs the check.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let reference = match (&self.value, ctx.expected) {
            (Some(v), _) => v,
            (None, Some(e)) => e,
            (None, None) => {
                return CheckResult::error(
                    "equals",
                    ctx.name,
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
                let ok = norm(&ctx.output.text) == norm(want);
                let reason = if ok {
                    "output equals the expected text".to_string()
                } else {
                    format!(
                        "expected {}, got {}",
                        excerpt(want),
                        excerpt(&ctx.output.text)
                    )
                };
                CheckResult::from_bool("equals", ctx.name, ok, reason)
            }
            want => match ctx.output.as_json() {
                Ok(got) => {
                    let ok = json_equal(&got, want);
                    let reason = if ok {
                        "output equals the expected JSON".to_string()
                    } else {
                        format!("expected {want}, got {got}")
                    };
                    CheckResult::from_bool("equals", ctx.name, ok, reason)
                }
                Err(e) => CheckResult::from_bool(
                    "equals",
                    ctx.name,
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

impl Contains {
    pub(crate) fn parse(
        kind: &'static str,
        main: &Value,
        ignore_case: bool,
    ) -> Result<Self, SpecError> {
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

    /// Runs the check.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let hay = if self.ignore_case {
            ctx.output.text.to_lowercase()
        } else {
            ctx.output.text.clone()
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
                excerpt(&ctx.output.text)
            ),
        };
        CheckResult::from_bool(self.kind, ctx.name, ok, reason)
    }
}

fn quoted(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `starts_with` and `ends_with`.
#[derive(Debug, Clone, PartialEq)]
pub struct Affix {
    /// The kind as written.
    pub kind: &'static str,
    /// The prefix or suffix.
    pub value: String,
    /// Compare case-insensitively.
    pub ignore_case: bool,
}

impl Affix {
    pub(crate) fn parse(
        kind: &'static str,
        main: &Value,
        ignore_case: bool,
    ) -> Result<Self, SpecError> {
        Ok(Affix {
            kind,
            value: string_value(kind, main)?,
            ignore_case,
        })
    }

    /// Runs the check (leading/trailing whitespace of the output is ignored).
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let (text, value) = if self.ignore_case {
            (
                ctx.output.text.trim().to_lowercase(),
                self.value.to_lowercase(),
            )
        } else {
            (ctx.output.text.trim().to_string(), self.value.clone())
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
                excerpt(&ctx.output.text)
            )
        };
        CheckResult::from_bool(self.kind, ctx.name, ok, reason)
    }
}

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

impl RegexCheck {
    pub(crate) fn parse(main: &Value) -> Result<Self, SpecError> {
        let pattern = string_value("regex", main)?;
        let regex = regex::RegexBuilder::new(&pattern)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| {
                let msg = e.to_string();
                let last = msg.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("invalid").trim().to_string();
                main_error("regex", format!("invalid regex {pattern:?}: {last}"), Some("quote patterns with single quotes in YAML so backslashes survive: regex: '\\d+'"))
            })?;
        Ok(RegexCheck { regex })
    }

    /// Runs the check.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        match self.regex.find(&ctx.output.text) {
            Some(m) => {
                CheckResult::pass_with("regex", ctx.name, format!("matched {:?}", m.as_str()))
            }
            None => CheckResult::from_bool(
                "regex",
                ctx.name,
                false,
                format!(
                    "no match for /{}/ in {}",
                    self.regex.as_str(),
                    excerpt(&ctx.output.text)
                ),
            ),
        }
    }
}

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

impl Count {
    pub(crate) fn parse(kind: &'static str, main: &Value) -> Result<Self, SpecError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Bounds {
            min: Option<u64>,
            max: Option<u64>,
        }
        let b: Bounds = super::spec::typed(kind, main, &format!("`{kind}` check"))?;
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

    /// Runs the check. Words are whitespace-separated; characters are Unicode
    /// scalar values of the trimmed output.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let n = if self.kind == "word_count" {
            ctx.output.text.split_whitespace().count() as u64
        } else {
            ctx.output.text.trim().chars().count() as u64
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
            ctx.name,
            ok,
            format!("{n} {unit}, expected {bounds}"),
        )
    }
}

/// `similarity`: normalized Levenshtein similarity with a reference is at
/// least a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    /// The reference; `None` uses the case's `expected`.
    pub value: Option<String>,
    /// Minimum similarity in `0..=1`.
    pub threshold: f64,
}

impl Similarity {
    pub(crate) fn parse(main: &Value) -> Result<Self, SpecError> {
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
            other => super::spec::typed::<Params>("similarity", other, "`similarity` check")?,
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

    /// Runs the check. The score (similarity, two decimals) is part of the decision.
    pub fn run(&self, ctx: &CheckContext<'_>) -> CheckResult {
        let reference = match (&self.value, ctx.expected) {
            (Some(v), _) => v.clone(),
            (None, Some(e)) => expected_text(e),
            (None, None) => {
                return CheckResult::error(
                    "similarity",
                    ctx.name,
                    "`similarity` has no `value` and the case has no `expected`",
                );
            }
        };
        let sim = strsim::normalized_levenshtein(ctx.output.text.trim(), reference.trim());
        let ok = sim + 1e-12 >= self.threshold;
        CheckResult::from_bool(
            "similarity",
            ctx.name,
            ok,
            format!("similarity {sim:.3} (threshold {})", self.threshold),
        )
        .with_score(sim)
    }
}
