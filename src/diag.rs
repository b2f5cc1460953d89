//! The shared error vocabulary: where something is written ([`Span`],
//! [`Spanned`]), the key path inside a YAML value ([`Seg`]), "did you mean"
//! hints, errors in a check or target definition ([`SpecError`]), and the
//! conversion of serde's messages into tribunal's wording.
//!
//! Loading (`case`), checks and targets all report problems with these, so
//! none of them has to import another to say what is wrong.

use std::fmt;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A position in an eval file: `evals/support.yaml:12:7`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file, as displayed (relative to the project root when possible).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A value together with where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it is written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// `value`, written at `span`.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// Renders a key path as `cases[2].checks[0].regex`.
pub fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                c,
                strsim::damerau_levenshtein(&word_lower, &c.to_lowercase()),
            )
        })
        .filter(|(c, d)| {
            // Allow one edit per three characters, at least one.
            let budget = (c.len().max(word.len()) / 3).max(1);
            *d <= budget
        })
        .min_by_key(|(_, d)| *d)
        .map(|(c, _)| c)
}

/// A hint sentence: `did you mean `x`?` or the list of valid choices.
pub fn hint<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    match did_you_mean(word, candidates.clone()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => {
            let list: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            format!("expected one of {}", list.join(", "))
        }
    }
}

/// A problem in a check or target definition, relative to its YAML value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
pub struct SpecError {
    /// Path from the check's value to the problem.
    pub path: Vec<Seg>,
    /// Point at the key itself rather than its value.
    pub at_key: bool,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl SpecError {
    /// An error at `path`.
    pub fn new(path: Vec<Seg>, message: impl Into<String>, hint: Option<String>) -> Self {
        SpecError {
            path,
            at_key: false,
            message: message.into(),
            hint,
        }
    }
    /// An error at the key `key`.
    pub fn at_key(key: &str, message: impl Into<String>, hint: Option<String>) -> Self {
        SpecError {
            path: vec![Seg::Key(key.to_string())],
            at_key: true,
            message: message.into(),
            hint,
        }
    }
}

/// Deserializes `value` (found under `key`) into `T`, with the error pointing
/// at the exact place inside it.
pub fn typed<T: DeserializeOwned>(key: &str, value: &Value, what: &str) -> Result<T, SpecError> {
    serde_path_to_error::deserialize::<_, T>(value.clone()).map_err(|err| {
        let mut path = vec![Seg::Key(key.to_string())];
        path.extend(serde_segments(err.path()));
        let key = path_text(&path);
        let (message, hint, at_key) = explain_serde(&err.inner().to_string(), what, Some(&key));
        SpecError {
            path,
            at_key,
            message,
            hint,
        }
    })
}

/// What is wrong with a regex that does not compile, for error messages:
/// `invalid regex "a(": unclosed group` (the last line of the regex
/// crate's message, which draws the pattern above it).
pub(crate) fn invalid_regex(pattern: &str, err: &regex::Error) -> String {
    let text = err.to_string();
    let last = text
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("invalid")
        .trim();
    format!("invalid regex {pattern:?}: {last}")
}

/// Shorthand for errors about a kind's main value.
pub(crate) fn main_error(kind: &str, message: impl Into<String>, hint: Option<&str>) -> SpecError {
    SpecError::new(
        vec![Seg::Key(kind.to_string())],
        message,
        hint.map(str::to_string),
    )
}

/// Removes the entry at `path` (a key of a map) from `value`.
pub(crate) fn remove_at(value: &mut Value, path: &[Seg]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = value;
    for seg in parents {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => match m.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (Seg::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Seg::Key(k), Value::Object(m)) => m.remove(k).is_some(),
        _ => false,
    }
}

/// Deserializes `value` into `T`, calling `report` with the key path
/// (inside `value`) and serde's message of each error. An unknown key is
/// dropped and the rest checked again, so every misspelled key of a file
/// shows in one run; any other error ends here with `None`.
pub(crate) fn typed_dropping_unknown<T: serde::de::DeserializeOwned>(
    mut value: Value,
    mut report: impl FnMut(&[Seg], &str),
) -> Option<T> {
    // Each round removes one unknown key; a value has finitely many.
    for _ in 0..64 {
        // From a reference: the typed value copies what it keeps, and the
        // tree is not cloned on each round.
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(v) => return Some(v),
            Err(err) => {
                let inner = serde_segments(err.path());
                let text = err.inner().to_string();
                report(&inner, &text);
                if !(text.starts_with("unknown field") && remove_at(&mut value, &inner)) {
                    return None;
                }
            }
        }
    }
    None
}

/// [`typed_dropping_unknown`] for a value that `make` can build again (from
/// the node tree it came from): the first try takes the value itself, so a
/// valid one moves its strings into `T` instead of copying them (a large
/// suite file's text was held three times at once: the tree, its JSON, the
/// typed copy); only an invalid value is built again and checked as
/// [`typed_dropping_unknown`] does, with the same errors.
pub(crate) fn typed_from_fresh<T: serde::de::DeserializeOwned>(
    make: impl Fn() -> Value,
    report: impl FnMut(&[Seg], &str),
) -> Option<T> {
    if let Ok(v) = serde_path_to_error::deserialize::<_, T>(make()) {
        return Some(v);
    }
    typed_dropping_unknown(make(), report)
}

/// A serde path as tribunal's path segments.
pub(crate) fn serde_segments(path: &serde_path_to_error::Path) -> Vec<Seg> {
    path.iter()
        .filter_map(|seg| match seg {
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect()
}

static UNKNOWN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^unknown (field|variant) `([^`]*)`, expected (?:one of )?(.*)$")
        .expect("static regex")
});
static NAME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]*)`").expect("static regex"));

/// Turns a serde message into tribunal's wording, with a suggestion for
/// unknown keys and values and the expected shape for wrong types. `key` is
/// the key path of the value, when known (`tags`, `cases[0].threshold`).
/// Returns (message, hint, point at the key).
pub(crate) fn explain_serde(
    message: &str,
    what: &str,
    key: Option<&str>,
) -> (String, Option<String>, bool) {
    if let (Some(key), Some(rest)) = (key, message.strip_prefix("invalid type: "))
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        let (expected, example) = match expected {
            "a sequence" => (
                "a list",
                format!("write `{key}: [a, b]`, or one `- item` per line"),
            ),
            e if e.starts_with("a map") || e.starts_with("struct ") => (
                "a mapping",
                format!("write `{key}: {{name: value}}`, or indented `name: value` lines"),
            ),
            "f64" | "f32" | "u64" | "u32" | "i64" | "i32" | "usize" => {
                ("a number", format!("write a number, e.g. `{key}: 0.75`"))
            }
            "a string" => ("a string", format!("quote the value: `{key}: \"...\"`")),
            "a boolean" => (
                "true or false",
                format!("write `{key}: true` or `{key}: false`"),
            ),
            other => (other, String::new()),
        };
        let hint = (!example.is_empty()).then_some(example);
        return (
            format!("`{key}` must be {expected}, found {found}"),
            hint,
            false,
        );
    }
    if let Some(caps) = UNKNOWN_RE.captures(message) {
        let word = &caps[2];
        let choices: Vec<&str> = NAME_RE
            .captures_iter(&caps[3])
            .filter_map(|c| c.get(1).map(|m| m.as_str()))
            .collect();
        let h = hint(word, choices.iter().copied());
        return if &caps[1] == "field" {
            (format!("unknown key `{word}` in {what}"), Some(h), true)
        } else {
            (format!("unknown value `{word}`"), Some(h), false)
        };
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return (
            format!("{what} is missing required key {rest}"),
            Some(format!("add {rest}: to the {what}")),
            false,
        );
    }
    (message.to_string(), None, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("contians", Some("contains"))]
    #[case("promt", Some("prompt"))]
    #[case("inptu", Some("input"))]
    #[case("xyz", None)]
    #[case("Regex", Some("regex"))]
    fn suggestions(#[case] word: &str, #[case] expected: Option<&str>) {
        let candidates = ["contains", "prompt", "input", "regex", "equals"];
        assert_eq!(did_you_mean(word, candidates), expected);
    }

    #[test]
    fn typed_from_fresh_reports_what_typed_dropping_unknown_reports() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        #[serde(deny_unknown_fields)]
        struct Shape {
            name: String,
            #[serde(default)]
            n: u32,
        }
        let valid = || serde_json::json!({"name": "a", "n": 2});
        let mut none: Vec<String> = Vec::new();
        assert_eq!(
            typed_from_fresh::<Shape>(valid, |_, t| none.push(t.into())),
            Some(Shape {
                name: "a".into(),
                n: 2
            })
        );
        assert!(none.is_empty());
        let invalid = || serde_json::json!({"name": "a", "nn": 2});
        let (mut fresh, mut by_ref) = (Vec::new(), Vec::new());
        let a = typed_from_fresh::<Shape>(invalid, |p, t| fresh.push((p.to_vec(), t.to_string())));
        let b = typed_dropping_unknown::<Shape>(invalid(), |p, t| {
            by_ref.push((p.to_vec(), t.to_string()))
        });
        assert_eq!(a, b);
        assert_eq!(fresh, by_ref);
        assert_eq!(fresh.len(), 1, "{fresh:?}");
    }

    #[test]
    fn hint_lists_choices_when_nothing_is_close() {
        assert_eq!(hint("zzz", ["a", "b"]), "expected one of `a`, `b`");
        assert_eq!(hint("equls", ["equals"]), "did you mean `equals`?");
    }
}
