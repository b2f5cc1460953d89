//! A small, deterministic YAML writer for snapshot bodies and headers.
//!
//! Snapshot files are reviewed in pull requests, so their text must be stable
//! across tribunal and dependency versions: this writer is ours. Strings that
//! could be read back as something else are double-quoted (JSON escapes,
//! which YAML accepts); multi-line text uses literal blocks when it can be
//! written back exactly.

use serde_json::Value;

/// Writes a JSON value as block YAML, ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
    out
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        out.push_str(&pad(indent));
        out.push_str(&key(k));
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    for v in a {
        out.push_str(&pad(indent));
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
                        out.push_str(&pad(indent + 2));
                    }
                    out.push_str(&key(k));
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
                out.push_str(&scalar(other, indent + 2));
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
            out.push_str(&scalar(other, indent + 2));
            out.push('\n');
        }
    }
}

fn key(k: &str) -> String {
    if plain_ok(k) { k.to_string() } else { quote(k) }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Whether a string can be written unquoted and read back as the same string.
fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.len() > 200 {
        return false;
    }
    let reserved = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
    ];
    if reserved.contains(&s.to_lowercase().as_str()) {
        return false;
    }
    if s.parse::<f64>().is_ok()
        || s.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
    {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' '))
        && !s.ends_with(' ')
        && !s.starts_with(' ')
}

fn scalar(v: &Value, indent: usize) -> String {
    match v {
        Value::Null => "~".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if plain_ok(s) {
                s.clone()
            } else if literal_ok(s) {
                let mut block = String::from("|-");
                for line in s.split('\n') {
                    block.push('\n');
                    if !line.is_empty() {
                        block.push_str(&pad(indent));
                        block.push_str(line);
                    }
                }
                block
            } else {
                quote(s)
            }
        }
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
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
