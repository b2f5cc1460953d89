//! Known secret values and their redaction.
//!
//! Every API key, and every header value read from the environment that is a
//! secret by its name (see [`is_secret_name`]: `Authorization`, `X-Api-Key`,
//! `${BOT_TOKEN}`, ...), is registered here when it is read; a plain
//! `X-Team: ${TEAM}` is not, so that the team's name is not redacted from
//! every answer. [`redact`] replaces each registered value
//! with `[redacted NAME]`; the provider layer and the targets apply it to
//! every server message, error body, answer and cassette before it leaves
//! them, so a server that echoes the key never puts it into a report, the
//! history or the terminal. Values shorter than [`MIN_LEN`] are not
//! registered (redacting `1` would mangle every number).

use std::sync::{Mutex, OnceLock};

/// The shortest value treated as a secret.
pub const MIN_LEN: usize = 6;

fn registry() -> &'static Mutex<Vec<(String, String)>> {
    static SECRETS: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Registers `value` (read from the variable `name`) as a secret.
pub fn register(name: &str, value: &str) {
    if value.len() < MIN_LEN {
        return;
    }
    if let Ok(mut s) = registry().lock()
        && !s.iter().any(|(_, v)| v == value)
    {
        s.push((name.to_string(), value.to_string()));
        // Longest first, so that a secret containing another is replaced whole.
        s.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    }
}

/// `text` with every registered secret replaced by `[redacted NAME]`.
pub fn redact(text: &str) -> String {
    let Ok(s) = registry().lock() else {
        return text.to_string();
    };
    let mut out = text.to_string();
    for (name, value) in s.iter() {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), &format!("[redacted {name}]"));
        }
    }
    out
}

/// Redacts every string inside a JSON value.
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            let r = redact(s);
            if r != *s {
                *s = r;
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        serde_json::Value::Object(m) => m.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// Whether a header or variable name says its value is a secret: it
/// contains `auth`, `key`, `token`, `secret`, `pass`, `cookie`, `session` or
/// `credential` (any case).
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "auth",
        "key",
        "token",
        "secret",
        "pass",
        "cookie",
        "session",
        "credential",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Substitutes every `${NAME}` in the value of header `header` (NAME:
/// letters, digits and `_`, not starting with a digit) with `lookup(NAME)`,
/// registering each substituted value as a secret when the header or the
/// variable has a secret's name ([`is_secret_name`]). Anything else, `$x` and
/// a lone `${` included, stays as written. `Err(NAME)` names the first
/// variable `lookup` does not know.
pub fn expand_vars(
    header: &str,
    value: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_ok = |n: &str| {
            !n.is_empty()
                && !n.starts_with(|c: char| c.is_ascii_digit())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        match after.find('}') {
            Some(end) if name_ok(&after[..end]) => {
                let name = &after[..end];
                let v = lookup(name).ok_or_else(|| name.to_string())?;
                if is_secret_name(header) || is_secret_name(name) {
                    register(name, &v);
                }
                out.push_str(&v);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_variables_inside_values() {
        let lookup = |n: &str| (n == "BOT_TOKEN").then(|| "tok-123456".to_string());
        assert_eq!(
            expand_vars("X-Bot", "Bearer ${BOT_TOKEN}", lookup),
            Ok("Bearer tok-123456".into())
        );
        assert_eq!(
            expand_vars("X-Bot", "${BOT_TOKEN}/${BOT_TOKEN}", lookup),
            Ok("tok-123456/tok-123456".into())
        );
        assert_eq!(
            expand_vars("X-Bot", "a ${ b} $x ${", lookup),
            Ok("a ${ b} $x ${".into())
        );
        assert_eq!(
            expand_vars("X-Bot", "x ${NOPE} y", lookup),
            Err("NOPE".into())
        );
        assert_eq!(redact("tok-123456"), "[redacted BOT_TOKEN]");
        let team = |_: &str| Some("support-team".to_string());
        assert_eq!(
            expand_vars("X-Team", "${TEAM}", team),
            Ok("support-team".into())
        );
        assert_eq!(
            redact("support-team"),
            "support-team",
            "not a secret by name"
        );
        assert!(expand_vars("Authorization", "${TEAM}", team).is_ok());
        assert_eq!(redact("support-team"), "[redacted TEAM]");
    }

    #[test]
    fn registered_values_are_replaced_by_their_name() {
        register("UNIT_TEST_KEY", "sk-unit-0123456789");
        register("SHORT", "abc");
        assert_eq!(
            redact("bad key sk-unit-0123456789, abc"),
            "bad key [redacted UNIT_TEST_KEY], abc"
        );
        let mut v = serde_json::json!({"a": ["x sk-unit-0123456789"]});
        redact_json(&mut v);
        assert_eq!(v["a"][0], "x [redacted UNIT_TEST_KEY]");
    }
}
