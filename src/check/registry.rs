//! The table of check kinds: one line per kind. Everything else about a kind
//! (its YAML names, options, parsing, display name and how it runs) is in
//! its own module; [`KINDS`], the vocabulary of "did you mean" hints, is
//! derived from this table.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::context::ParseCx;
use super::{Check, SpecError, ast, judge, kinds};
use crate::diag::Seg;

/// The main value and options of one check, as written.
#[derive(Debug, Clone, Copy)]
pub struct Parsed<'a> {
    /// The kind key as written (`icontains`, `judge`, ...).
    pub kind: &'static str,
    /// The value under the kind key (`null` for a bare kind).
    pub main: &'a Value,
    /// The kind's own options (the keys beside the kind key, minus
    /// `name`, `weight`, `not` and `when`).
    pub options: &'a Map<String, Value>,
}

impl Parsed<'_> {
    /// A boolean option, `default` when absent.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, SpecError> {
        match self.options.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(SpecError::new(
                vec![Seg::Key(key.into())],
                format!("`{key}` must be true or false"),
                None,
            )),
        }
    }

    /// An error about the main value.
    pub fn error(&self, message: impl Into<String>, hint: Option<&str>) -> SpecError {
        super::spec::main_error(self.kind, message, hint)
    }
}

/// A check kind: how it is written and parsed. How it runs is its
/// [`Check`] implementation.
pub trait Kind: Check + Sized + 'static {
    /// The YAML keys of this kind (`contains`, `icontains`, ...).
    const NAMES: &'static [&'static str];
    /// The options it takes beside its main value.
    const OPTIONS: &'static [&'static str] = &[];
    /// Parses and validates the check. Anything that can be known at load
    /// (files it names, compiled patterns) is done here, once.
    fn parse(p: &Parsed<'_>, cx: &ParseCx<'_>) -> Result<Self, SpecError>;
    /// The display name when the YAML gives no `name`.
    fn display(kind: &str, main: &Value) -> String {
        super::spec::derive_name(kind, main)
    }
}

type ParseFn = fn(&Parsed<'_>, &ParseCx<'_>) -> Result<Box<dyn Check>, SpecError>;

/// One row of the table.
pub struct Entry {
    /// The YAML keys.
    pub names: &'static [&'static str],
    /// The options beside the main value.
    pub options: &'static [&'static str],
    /// Parses a check of this kind.
    pub parse: ParseFn,
    /// Its display name.
    pub display: fn(&str, &Value) -> String,
}

fn boxed<K: Kind>(p: &Parsed<'_>, cx: &ParseCx<'_>) -> Result<Box<dyn Check>, SpecError> {
    Ok(Box::new(K::parse(p, cx)?))
}

const fn entry<K: Kind>() -> Entry {
    Entry {
        names: K::NAMES,
        options: K::OPTIONS,
        parse: boxed::<K>,
        display: K::display,
    }
}

/// Every check kind. Adding a kind: its module under `kinds/` and one line here.
pub static REGISTRY: &[Entry] = &[
    entry::<kinds::equals::Equals>(),
    entry::<kinds::contains::Contains>(),
    entry::<kinds::affix::Affix>(),
    entry::<kinds::regex::RegexCheck>(),
    entry::<kinds::is_json::IsJson>(),
    entry::<kinds::json_path::JsonPath>(),
    entry::<kinds::count::Count>(),
    entry::<kinds::similarity::Similarity>(),
    entry::<kinds::latency::Latency>(),
    entry::<kinds::cost::Cost>(),
    entry::<kinds::rust::RustCheck>(),
    entry::<ast::AstCheck>(),
    entry::<judge::JudgeCheck>(),
    entry::<kinds::tool_called::ToolCalled>(),
    entry::<kinds::tool_sequence::ToolSequence>(),
    entry::<kinds::tool_args::ToolArgs>(),
    entry::<kinds::trajectory::Trajectory>(),
    entry::<kinds::skip::Skip>(),
    entry::<kinds::invariant::Invariant>(),
    entry::<kinds::directional::Directional>(),
];

/// Every check kind name, as written in YAML, in table order.
pub static KINDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    REGISTRY
        .iter()
        .flat_map(|e| e.names.iter().copied())
        .collect()
});

/// The table row and the `'static` spelling of a kind name.
pub fn lookup(name: &str) -> Option<(&'static Entry, &'static str)> {
    REGISTRY
        .iter()
        .find_map(|e| e.names.iter().find(|n| **n == name).map(|n| (e, *n)))
}
