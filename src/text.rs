//! Text for people and for files: a JSON value as text, one rule for
//! excerpts (shown to reviewers) and one for bounds (what reports and the
//! history keep).

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// The SHA-256 of a text, as lowercase hex: what cassette keys, output
/// hashes of labels and the bounds' notes name.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A JSON value as text: a string is itself (no quotes), anything else is
/// its compact JSON (`null`, `3`, `{"a":1}`).
pub fn of_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The kind of a JSON value as an error message names it: `null`,
/// `a boolean`, `a number`, `a string`, `an array` or `an object`.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An input as text: as [`of_value`], but an input that is not given
/// (`null`) is empty text.
pub fn of_input(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => of_value(other),
    }
}

/// `n` and the noun for it: `1 trial`, `2 trials` (the plural adds `s`).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// At most `max` characters of `text`; when cut, followed by
/// `… (N characters in all)`.
pub fn excerpt(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}… ({total} characters in all)")
}

/// At most `max` characters of `text`, `…` after them when cut (the
/// transcripts and trajectories judges read).
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}…")
}

/// `text` on one line with its newlines shown as `⏎`, at most `max`
/// characters, the last one `…` when cut (tool calls and steps in snapshot
/// headers and reports).
pub fn flat(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' { '⏎' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let head: String = flat.chars().take(max.saturating_sub(1)).collect();
    format!("{head}…")
}

/// `text` on one line (runs of whitespace become one space), at most `max`
/// characters; when cut, the last one is `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        line
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The most of any one text (an output, an error body, a judge's answer)
/// that results files, the history and the HTML report keep: 64 KiB.
pub const KEPT_BYTES: usize = 64 * 1024;

/// `text` when it fits in `limit` bytes; otherwise its first `limit` bytes
/// (cut at a character boundary) followed by a note with the size and the
/// SHA-256 of the whole, so a reader knows what is missing and can check a
/// copy of the original.
pub fn bounded(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let hex = sha256_hex(text);
    format!(
        "{}\n… [tribunal kept the first {end} of {} bytes; sha256 of the whole: {hex}]",
        &text[..end],
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        // `printf abc | sha256sum`
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn values_read_as_text() {
        use serde_json::json;
        assert_eq!(of_value(&json!("a \"b\"")), "a \"b\"");
        assert_eq!(of_value(&json!({"a": [1, "x"]})), r#"{"a":[1,"x"]}"#);
        assert_eq!(of_value(&json!(null)), "null");
        assert_eq!(of_input(&json!(null)), "");
        assert_eq!(of_input(&json!(2.5)), "2.5");
        assert_eq!(of_input(&json!("q")), "q");
        let kinds: Vec<_> = [
            json!(null),
            json!(true),
            json!(1),
            json!(""),
            json!([]),
            json!({}),
        ]
        .iter()
        .map(kind_of)
        .collect();
        assert_eq!(
            kinds,
            [
                "null",
                "a boolean",
                "a number",
                "a string",
                "an array",
                "an object"
            ]
        );
    }

    #[test]
    fn excerpts_and_bounds_say_what_was_cut() {
        assert_eq!(excerpt("héllo", 10), "héllo");
        assert_eq!(excerpt("héllo", 2), "hé… (5 characters in all)");
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(bounded("short", 10), "short");
        let big = "é".repeat(10);
        let b = bounded(&big, 5);
        assert!(
            b.starts_with("éé\n… [tribunal kept the first 4 of 20 bytes; sha256 of the whole: "),
            "{b}"
        );
        let hex: String = Sha256::digest(big.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(b.ends_with(&format!("{hex}]")), "{b}");
    }
}
