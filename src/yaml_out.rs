//! A small, deterministic YAML writer for snapshot bodies and headers.
//!
//! Snapshot files are reviewed in pull requests, so their text must be stable
//! across tribunal and dependency versions: this writer is ours. Strings that
//! could be read back as something else are double-quoted (JSON escapes,
//! which YAML accepts); multi-line text uses literal blocks when it can be
//! written back exactly.

use serde_json::Value;

/// Writes a JSON value as block YAML, ending with a newline.
///
/// Everything is written into one string as it goes (no string per line,
/// key or scalar): snapshot bodies are rendered for every trial of every
/// run, and pending snapshots' headers and recorded cassettes through the
/// same writer.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            scalar(&mut out, other, 0);
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        pad(out, indent);
        key(out, k);
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    for v in a {
        pad(out, indent);
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // First entry on the dash line, the rest aligned under it.
                let mut first = true;
                for (k, val) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        pad(out, indent + 2);
                    }
                    key(out, k);
                    out.push(':');
                    write_value_after_key(out, val, indent + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            other => {
                out.push(' ');
                scalar(out, other, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn write_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, indent);
        }
        other => {
            out.push(' ');
            scalar(out, other, indent + 2);
            out.push('\n');
        }
    }
}

fn key(out: &mut String, k: &str) {
    if plain_ok(k) {
        out.push_str(k);
    } else {
        quote(out, k);
    }
}

/// A double-quoted string with JSON's escapes (which YAML reads back).
fn quote(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("\"\""),
    }
}

/// Whether a string can be written unquoted and read back as the same string.
fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.len() > 200 {
        return false;
    }
    // ASCII case-insensitively: a string with anything but ASCII is not
    // plain anyway (the last test below).
    let reserved = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
    ];
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return false;
    }
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
        || s.parse::<f64>().is_ok()
    {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' '))
        && !s.ends_with(' ')
        && !s.starts_with(' ')
}

fn scalar(out: &mut String, v: &Value, indent: usize) {
    use std::fmt::Write as _;
    match v {
        Value::Null => out.push('~'),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => {
            if plain_ok(s) {
                out.push_str(s);
            } else if literal_ok(s) {
                out.push_str("|-");
                for line in s.split('\n') {
                    out.push('\n');
                    if !line.is_empty() {
                        pad(out, indent);
                        out.push_str(line);
                    }
                }
            } else {
                quote(out, s);
            }
        }
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Multi-line text that a `|-` literal block reproduces exactly.
fn literal_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.ends_with('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && s.split('\n')
            .all(|l| !l.ends_with([' ', '\t']) && !l.contains('\r'))
        && s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let value = json!({
            "outcome": "fail",
            "checks": [
                {"check": "contains \"refund\"", "kind": "contains", "outcome": "pass", "score": 0.5},
                {"check": "true", "kind": "judge", "label": "007", "nested": {"a": [1, 2]}}
            ],
            "text": "line one\nline two: with colon\n\n- dash line",
            "odd": " leading space\nx",
            "empty": "",
            "list": [],
        });
        let text = to_yaml(&value);
        let back: Value = serde_saphyr::from_str(&text).expect("parses");
        assert_eq!(back, value, "{text}");
    }

    #[test]
    fn output_is_readable() {
        let text = to_yaml(
            &json!({"outcome": "pass", "checks": [{"check": "is_json", "outcome": "pass"}]}),
        );
        assert_eq!(
            text,
            "outcome: pass\nchecks:\n- check: is_json\n  outcome: pass\n"
        );
    }
}
