//! A YAML document as a tree of nodes that remember where they were written.
//!
//! serde-saphyr parses the text; every node keeps its `line:col`, so that a
//! typed deserialization error (which knows only a key path such as
//! `cases[2].checks[0].regex`) can be pointed back at the exact place in the
//! file.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

pub use crate::diag::{Seg, path_text};

/// One YAML node with its position (1-based line and column).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's value.
    pub value: NodeValue,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order; keys are nodes so they keep their position.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// Converts the tree to JSON for typed deserialization. Mapping keys that
    /// are not strings are written as their YAML text.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// The text of a node used as a mapping key.
    pub fn key_text(&self) -> String {
        match &self.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Null => "~".to_string(),
            _ => "<complex key>".to_string(),
        }
    }

    /// Empties the text of every scalar value, keeping mapping keys, the
    /// shape and every position: what [`Node::locate`] needs.
    pub fn strip_values(&mut self) {
        match &mut self.value {
            NodeValue::Str(s) => *s = String::new(),
            NodeValue::Seq(items) => items.iter_mut().for_each(Node::strip_values),
            NodeValue::Map(entries) => entries.iter_mut().for_each(|(_, v)| v.strip_values()),
            _ => {}
        }
    }

    /// The node at `path`, following as far as the path exists. With
    /// `key_position`, a final mapping key resolves to the key itself (where
    /// an unknown key is written) rather than to its value.
    pub fn locate(&self, path: &[Seg], key_position: bool) -> (u32, u32) {
        let mut node = self;
        for (i, seg) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            match (seg, &node.value) {
                (Seg::Key(k), NodeValue::Map(entries)) => {
                    match entries.iter().find(|(key, _)| &key.key_text() == k) {
                        Some((key, value)) => {
                            if last && key_position {
                                return (key.line, key.col);
                            }
                            node = value;
                        }
                        None => break,
                    }
                }
                (Seg::Index(idx), NodeValue::Seq(items)) => match items.get(*idx) {
                    Some(item) => node = item,
                    None => break,
                },
                _ => break,
            }
        }
        (node.line, node.col)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<NodeValue>::deserialize(deserializer)?;
        Ok(Node {
            value: spanned.value,
            line: u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX),
            col: u32::try_from(spanned.referenced.column()).unwrap_or(u32::MAX),
        })
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => NodeValue::Int(i),
            Err(_) => NodeValue::Float(v as f64),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            entries.push((k, v));
        }
        entries.shrink_to_fit();
        Ok(NodeValue::Map(entries))
    }
}

/// A problem with the YAML text itself, in tribunal's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Most YAML nodes (values, lists and mappings) one file may hold, counting
/// every value an alias repeats: the parser refuses more, so that an alias
/// bomb cannot exhaust memory.
pub const MAX_NODES: usize = 250_000;

/// Most bytes of text (all scalar values, counting every value an alias
/// repeats) one file may hold: 64 MiB.
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// Deepest nesting of lists and mappings in one file.
pub const MAX_DEPTH: usize = 64;

/// Parses YAML text into a node tree.
///
/// Booleans follow YAML 1.2: only `true` and `false` (any case style) are
/// booleans. YAML 1.1 spellings such as `yes`, `no`, `on`, `off`, `y` and `n`
/// stay strings, so `contains: yes`, `expected: no` or a country code `NO`
/// mean the text the user wrote.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let options = serde_saphyr::options! {
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_nodes: MAX_NODES,
            max_depth: MAX_DEPTH,
            max_total_scalar_bytes: MAX_TEXT_BYTES,
        },
    };
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|err| explain(text, &err))
}

/// The error serde-saphyr reports, turned into tribunal's wording at the
/// place the problem really is.
fn explain(text: &str, err: &serde_saphyr::Error) -> YamlError {
    use serde_saphyr::Error;
    let (line, col) = err
        .location()
        .map(|l| {
            (
                u32::try_from(l.line()).unwrap_or(1).max(1),
                u32::try_from(l.column()).unwrap_or(1).max(1),
            )
        })
        .unwrap_or((1, 1));
    let at = |line, col, message: String, hint: &str| YamlError {
        line,
        col,
        message,
        hint: Some(hint.to_string()),
    };
    match innermost(err) {
        Error::MultipleDocuments { .. } => {
            let (line, col) = document_start_before(text, line).unwrap_or((line, col));
            return at(
                line,
                col,
                "tribunal reads one YAML document per file, and a second one starts here".into(),
                "remove the `---` line, or move the second document into a file of its own",
            );
        }
        Error::Budget { breach, .. } => {
            let (message, hint) = budget_breach(breach);
            return at(line, col, message, hint);
        }
        Error::AliasReplayLimitExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::AliasReplayCounterOverflow { .. } => {
            return at(
                line,
                col,
                "the aliases (`*name`) in this file repeat more values than a suite file may hold"
                    .into(),
                "write the repeated values out, or use fewer aliases of large anchors",
            );
        }
        _ => {}
    }
    let message = first_line_of(&err.to_string());
    if is_flow_error(&message)
        && let Some((open, bracket)) = unclosed_flow(text, line)
    {
        return at(
            open.0,
            open.1,
            format!(
                "invalid YAML: {} (still open at line {line})",
                unclosed_text(bracket)
            ),
            unclosed_hint(bracket),
        );
    }
    if message.starts_with("unclosed bracket") {
        let bracket = if message.contains('{') { '{' } else { '[' };
        return at(
            line,
            col,
            format!("invalid YAML: {}", unclosed_text(bracket)),
            unclosed_hint(bracket),
        );
    }
    let hint = if message.contains("did not find expected ','") {
        Some(
            "inside `{...}` or `[...]`, the characters `[ ] { } ,` end a plain value: quote a value that contains them, e.g. `path: \"$.a.b[0]\"`",
        )
    } else if message.starts_with("misplaced bracket") {
        Some("this `]` or `}` closes nothing: remove it, or quote the value it belongs to")
    } else if message.starts_with("unclosed quote") {
        Some(
            "end the text with the quote it starts with; inside single quotes write `'` as `''`, inside double quotes write `\"` as `\\\"`",
        )
    } else {
        None
    };
    if let Some(hint) = hint {
        return at(line, col, format!("invalid YAML: {message}"), hint);
    }
    // The scanner reports where the token it was reading started;
    // when the problem is a tab, point at the tab itself.
    let tab = message.contains("tab");
    let (line, col) = if tab {
        first_tab_from(text, line).unwrap_or((line, col))
    } else {
        (line, col)
    };
    YamlError {
        line,
        col,
        hint: tab
            .then(|| "indent with spaces: YAML does not allow tabs in indentation".to_string()),
        message: format!("invalid YAML: {message}"),
    }
}

/// The error inside serde-saphyr's wrappers (source snippets, alias context).
fn innermost(err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    let mut err = err;
    loop {
        match err {
            serde_saphyr::Error::WithSnippet { error, .. }
            | serde_saphyr::Error::AliasError { error, .. } => err = error,
            other => return other,
        }
    }
}

fn budget_breach(breach: &serde_saphyr::budget::BudgetBreach) -> (String, &'static str) {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Nodes { .. } => (
            format!(
                "the file holds more than {MAX_NODES} YAML values, counting every value an alias (`*name`) repeats"
            ),
            "split the suite into several files; if aliases repeat large anchors, write the values out",
        ),
        B::Depth { .. } => (
            format!("lists and mappings are nested more than {MAX_DEPTH} deep"),
            "flatten the structure: a suite file needs only a few levels",
        ),
        B::ScalarBytes { .. } => (
            "the text in the file adds up to more than 64 MiB, counting every value an alias (`*name`) repeats".into(),
            "split the suite into several files; if aliases repeat large anchors, write the values out",
        ),
        B::Aliases { .. } | B::Anchors { .. } => (
            "the file uses more aliases or anchors than a suite file may (50000)".into(),
            "write the repeated values out",
        ),
        _ => (
            "the file is larger than the YAML parser accepts for one suite file".into(),
            "split the suite into several files",
        ),
    }
}

fn unclosed_text(bracket: char) -> &'static str {
    if bracket == '{' {
        "unclosed brace '{'"
    } else {
        "unclosed bracket '['"
    }
}

fn unclosed_hint(bracket: char) -> &'static str {
    if bracket == '{' {
        "close the mapping with `}`, or write its entries as indented `key: value` lines"
    } else {
        "close the list with `]`, or write its items as `- item` lines"
    }
}

/// Errors the parser gives when a `[` or `{` was never closed and the next
/// line is read as part of it.
fn is_flow_error(message: &str) -> bool {
    message.contains("illegal placement of ':'")
        || message.contains("did not find expected ','")
        || message.contains("unclosed bracket")
        || message.contains("flow")
}

/// The innermost `[` or `{` opened on a line before `line` and still open
/// when `line` starts, with its position. Quoted text and comments are
/// skipped; block scalars (`|`, `>`) too.
fn unclosed_flow(text: &str, line: u32) -> Option<((u32, u32), char)> {
    let mut open: Vec<((u32, u32), char)> = Vec::new();
    let mut quote: Option<char> = None;
    // Indentation of the line that opened a block scalar.
    let mut block: Option<usize> = None;
    for (i, l) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).ok()?;
        if n >= line {
            break;
        }
        let indent = l.len() - l.trim_start().len();
        if let Some(b) = block {
            if l.trim().is_empty() || indent > b {
                continue;
            }
            block = None;
        }
        let mut prev = ' ';
        let mut chars = l.chars().enumerate().peekable();
        while let Some((c_at, c)) = chars.next() {
            match quote {
                Some('\'') if c == '\'' => {
                    if chars.peek().map(|(_, c)| *c) == Some('\'') {
                        chars.next();
                    } else {
                        quote = None;
                    }
                }
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some('"') if c == '"' => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if prev.is_whitespace() || c_at == 0 => break,
                    '\'' | '"'
                        if matches!(prev, ' ' | '\t' | '[' | '{' | ',' | ':' | '-' | '?')
                            || c_at == 0 =>
                    {
                        quote = Some(c)
                    }
                    // Outside brackets, `[` opens a list only where a value
                    // starts (`a[0]` is plain text).
                    '[' | '{'
                        if !open.is_empty()
                            || c_at == 0
                            || matches!(prev, ' ' | '\t' | ':' | '-' | '?' | ',') =>
                    {
                        open.push(((n, u32::try_from(c_at + 1).ok()?), c))
                    }
                    ']' | '}' => {
                        open.pop();
                    }
                    _ => {}
                },
            }
            prev = c;
        }
        let body = l.split(" #").next().unwrap_or(l).trim_end();
        if open.is_empty()
            && quote.is_none()
            && (body.ends_with('|')
                || body.ends_with('>')
                || body.ends_with("|-")
                || body.ends_with(">-")
                || body.ends_with("|+")
                || body.ends_with(">+"))
        {
            block = Some(indent);
        }
    }
    open.last().copied()
}

/// The `---` (or `...`) line at or before `line` that starts a second
/// document.
fn document_start_before(text: &str, line: u32) -> Option<(u32, u32)> {
    let last = usize::try_from(line).ok()?;
    let lines: Vec<&str> = text.lines().take(last).collect();
    lines.iter().enumerate().rev().find_map(|(i, l)| {
        let rest = l.strip_prefix("---").or_else(|| l.strip_prefix("..."))?;
        (i > 0 && (rest.is_empty() || rest.starts_with([' ', '\t'])))
            .then(|| (u32::try_from(i + 1).unwrap_or(line), 1))
    })
}

/// The position (1-based) of the first tab on `line` or after it. The
/// scanner reports either the start of the token it was reading (before the
/// tab) or the place just after the tab, so the search starts at the
/// beginning of the reported line.
fn first_tab_from(text: &str, line: u32) -> Option<(u32, u32)> {
    let first = usize::try_from(line).ok()?.checked_sub(1)?;
    text.lines().enumerate().skip(first).find_map(|(i, l)| {
        let at = l.chars().position(|c| c == '\t')?;
        Some((u32::try_from(i + 1).ok()?, u32::try_from(at + 1).ok()?))
    })
}

/// serde-saphyr renders a snippet under its message; tribunal prints its own
/// `file:line:col` prefix, so only the message line is kept.
fn first_line_of(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid YAML");
    let line = line.strip_prefix("error: ").unwrap_or(line);
    // Drop serde-saphyr's own "line N column M: " prefix.
    let line = match line.find(": ") {
        Some(i) if line[..i].starts_with("line ") && line[..i].contains(" column ") => {
            &line[i + 2..]
        }
        _ => line,
    };
    let line = line
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(line);
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripped_values_keep_every_position_and_key() {
        let doc = "suite: a\ncases:\n  - id: one\n    output: \"long text\"\n    checks:\n      - contains: x\n  - id: two\n    tags: [p, q]\n";
        let full = parse(doc).expect("parses");
        let mut stripped = full.clone();
        stripped.strip_values();
        // `cases.0.output`: keys, and indexes where a segment is a number.
        let paths: Vec<Vec<Seg>> = [
            "suite",
            "cases.0.output",
            "cases.0.checks.0.contains",
            "cases.1.tags.1",
            "cases.1.missing",
        ]
        .iter()
        .map(|p| {
            p.split('.')
                .map(|seg| match seg.parse() {
                    Ok(i) => Seg::Index(i),
                    Err(_) => Seg::Key(seg.into()),
                })
                .collect()
        })
        .collect();
        for path in &paths {
            for key in [false, true] {
                assert_eq!(
                    stripped.locate(path, key),
                    full.locate(path, key),
                    "{path:?}"
                );
            }
        }
        assert_eq!(stripped.locate(&paths[3], false), (8, 15));
        // The text is gone; the shape and the keys are not.
        let json = stripped.to_json();
        assert_eq!(json["cases"][0]["output"], "");
        assert_eq!(json["cases"][1]["tags"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn nodes_keep_positions() {
        let doc = "suite: a\ncases:\n  - id: one\n    input: hi\n  - id: two\n";
        let node = parse(doc).expect("valid yaml");
        let path = [
            Seg::Key("cases".into()),
            Seg::Index(1),
            Seg::Key("id".into()),
        ];
        assert_eq!(node.locate(&path, false), (5, 9));
        assert_eq!(node.locate(&path, true), (5, 5));
        assert_eq!(node.to_json()["cases"][0]["input"], serde_json::json!("hi"));
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second_key() {
        let e = parse("a: 1\nb:\n  c: 1\n  c: 2\n").expect_err("duplicate");
        assert_eq!((e.line, e.col), (4, 3));
        assert_eq!(e.message, "invalid YAML: duplicate mapping key: c");
    }

    #[test]
    fn a_second_document_is_found_among_multibyte_lines() {
        let e = parse("a: 1\néé: 2\n---\nb: 2\n").expect_err("two documents");
        assert_eq!((e.line, e.col), (3, 1), "{e:?}");
    }

    #[test]
    fn a_bracket_inside_plain_text_is_not_taken_for_the_unclosed_one() {
        let e = parse("a: what is x[0\nb: {c: d e: f}\n").expect_err("invalid");
        assert_eq!((e.line, e.col), (2, 11), "{e:?}");
    }

    #[test]
    fn aliases_of_a_long_text_are_bounded_in_bytes() {
        let mut text = format!("a: &a {}\nb: [", "x".repeat(1 << 20));
        text.push_str(&"*a, ".repeat(70));
        text.push_str("*a]\n");
        let e = parse(&text).expect_err("over 64 MiB");
        assert!(
            e.message
                .starts_with("the text in the file adds up to more than 64 MiB"),
            "{e:?}"
        );
    }

    #[test]
    fn a_bracket_that_closes_nothing_has_a_hint() {
        let e = parse("a: [b]]\n").expect_err("invalid");
        assert_eq!(e.message, "invalid YAML: misplaced bracket");
        assert!(e.hint.is_some_and(|h| h.contains("closes nothing")));
    }

    #[test]
    fn an_unclosed_bracket_is_reported_where_it_opens() {
        let e = parse("a: [1, 2\nb: 3\n").expect_err("invalid");
        assert_eq!((e.line, e.col), (1, 4), "{e:?}");
        assert!(
            e.message.starts_with("invalid YAML: unclosed bracket '['"),
            "{e:?}"
        );
    }
}
