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
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Node, Node>()? {
            entries.push((k, v));
        }
        Ok(NodeValue::Map(entries))
    }
}

/// Parses YAML text into a node tree. The error carries `(line, col, message)`.
///
/// Booleans follow YAML 1.2: only `true` and `false` (any case style) are
/// booleans. YAML 1.1 spellings such as `yes`, `no`, `on`, `off`, `y` and `n`
/// stay strings, so `contains: yes`, `expected: no` or a country code `NO`
/// mean the text the user wrote.
pub fn parse(text: &str) -> Result<Node, (u32, u32, String)> {
    let options = serde_saphyr::options! { strict_booleans: true };
    match serde_saphyr::from_str_with_options::<Node>(text, options) {
        Ok(node) => Ok(node),
        Err(err) => {
            let (line, col) = err
                .location()
                .map(|l| {
                    (
                        u32::try_from(l.line()).unwrap_or(1),
                        u32::try_from(l.column()).unwrap_or(1),
                    )
                })
                .unwrap_or((1, 1));
            let message = first_line_of(&err.to_string());
            // The scanner reports where the token it was reading started;
            // when the problem is a tab, point at the tab itself.
            let (line, col) = if message.contains("tab") {
                first_tab_from(text, line).unwrap_or((line, col))
            } else {
                (line, col)
            };
            Err((line, col, message))
        }
    }
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
        let (line, col, msg) = parse("a: 1\nb:\n  c: 1\n  c: 2\n").expect_err("duplicate");
        assert_eq!((line, col), (4, 3));
        assert_eq!(msg, "duplicate mapping key: c");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let (line, _col, msg) = parse("a: [1, 2\nb: 3\n").expect_err("invalid");
        assert!(line >= 1, "{msg}");
        assert!(!msg.is_empty());
    }
}
