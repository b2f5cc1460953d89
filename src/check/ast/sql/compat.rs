//! Meaning-preserving syntax rewrites so that standard and Calcite-style SQL
//! runs in SQLite: `$` identifiers quoted, `FETCH FIRST/NEXT n ROWS ONLY`
//! as `LIMIT`, and `(VALUES ...) AS t(a, b)` as a subquery naming SQLite's
//! `column1, column2, ...`. Only the text sent to SQLite changes; anything
//! still unsupported makes the comparison `unknown`.

use std::sync::OnceLock;

use regex::Regex;

struct Res {
    dollar: Regex,
    offset_fetch: Regex,
    fetch: Regex,
    offset_rows: Regex,
}

fn res() -> Option<&'static Res> {
    static R: OnceLock<Option<Res>> = OnceLock::new();
    R.get_or_init(|| {
        Some(Res {
            dollar: Regex::new(r"[A-Za-z_][A-Za-z0-9_]*\$[A-Za-z0-9_$]*|\$[A-Za-z_][A-Za-z0-9_$]*")
                .ok()?,
            offset_fetch: Regex::new(
                r"(?i)\bOFFSET\s+(\d+)\s+ROWS?\s+FETCH\s+(?:NEXT|FIRST)\s+(\d+)\s+ROWS?\s+ONLY\b",
            )
            .ok()?,
            fetch: Regex::new(r"(?i)\bFETCH\s+(?:NEXT|FIRST)\s+(\d+)\s+ROWS?\s+ONLY\b").ok()?,
            offset_rows: Regex::new(r"(?i)\bOFFSET\s+(\d+)\s+ROWS?\b").ok()?,
        })
    })
    .as_ref()
}

/// Applies `f` to the parts of `sql` outside quotes and literals.
fn outside_quotes(sql: &str, f: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut plain = String::new();
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' || c == '`' => {
                out.push_str(&f(&plain));
                plain.clear();
                out.push(c);
                quote = Some(c);
            }
            None => plain.push(c),
        }
    }
    out.push_str(&f(&plain));
    out
}

/// The query rewritten for SQLite.
pub fn for_sqlite(sql: &str) -> String {
    let Some(r) = res() else {
        return sql.to_string();
    };
    let text = outside_quotes(sql, &|s: &str| {
        let s = r.dollar.replace_all(s, "\"$0\"");
        let s = r.offset_fetch.replace_all(&s, "LIMIT $2 OFFSET $1");
        let s = r.fetch.replace_all(&s, "LIMIT $1");
        r.offset_rows
            .replace_all(&s, "LIMIT -1 OFFSET $1")
            .into_owned()
    });
    values_aliases(&text)
}

/// `(VALUES ...) AS t(a, b)` becomes
/// `(SELECT column1 AS a, column2 AS b FROM (VALUES ...)) AS t`.
fn values_aliases(sql: &str) -> String {
    let lower = sql.to_ascii_lowercase();
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 32);
    let mut i = 0;
    while i < sql.len() {
        let here = &lower[i..];
        if bytes[i] == b'('
            && here[1..].trim_start().starts_with("values")
            && let Some(end) = matching(sql, i)
            && let Some((name, cols, after)) = alias_with_columns(sql, end + 1)
        {
            let inner = &sql[i + 1..end];
            let select: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(k, c)| format!("column{} AS {c}", k + 1))
                .collect();
            out.push_str(&format!(
                "(SELECT {} FROM ({})) AS {name}",
                select.join(", "),
                inner.trim()
            ));
            i = after;
            continue;
        }
        let ch = sql[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Index of the parenthesis closing the one at `open`.
fn matching(sql: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    for (k, &b) in sql.as_bytes().iter().enumerate().skip(open) {
        match quote {
            Some(q) => {
                if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(k);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// After `pos`: `[AS] name (c1, c2)` → (name, columns, index after `)`).
fn alias_with_columns(sql: &str, pos: usize) -> Option<(String, Vec<String>, usize)> {
    let rest = sql[pos..].trim_start();
    let t = if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("as ") {
        rest[3..].trim_start()
    } else {
        rest
    };
    let name_len = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '"' || c == '$'))
        .unwrap_or(t.len());
    if name_len == 0 {
        return None;
    }
    let name = t[..name_len].to_string();
    let after_name = t[name_len..].trim_start();
    if !after_name.starts_with('(') {
        return None;
    }
    let open = sql.len() - after_name.len();
    let close = matching(sql, open)?;
    let cols: Vec<String> = sql[open + 1..close]
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if cols.is_empty() {
        return None;
    }
    Some((name, cols, close + 1))
}

#[cfg(test)]
mod tests {
    use super::for_sqlite;

    #[test]
    fn rewrites_calcite_syntax() {
        assert_eq!(
            for_sqlite("SELECT t.$f9, 'a$b' FROM x AS t"),
            "SELECT t.\"$f9\", 'a$b' FROM x AS t"
        );
        assert_eq!(
            for_sqlite("SELECT * FROM e ORDER BY a FETCH NEXT 0 ROWS ONLY"),
            "SELECT * FROM e ORDER BY a LIMIT 0"
        );
        assert_eq!(
            for_sqlite("SELECT * FROM e ORDER BY a OFFSET 1 ROWS FETCH FIRST 2 ROWS ONLY"),
            "SELECT * FROM e ORDER BY a LIMIT 2 OFFSET 1"
        );
        assert_eq!(
            for_sqlite("SELECT X FROM (VALUES (10, 1), (30, 3)) AS T(X, Y) WHERE X > 1"),
            "SELECT X FROM (SELECT column1 AS X, column2 AS Y FROM (VALUES (10, 1), (30, 3))) AS T WHERE X > 1"
        );
        assert_eq!(
            for_sqlite("SELECT * FROM (VALUES (1)) AS t"),
            "SELECT * FROM (VALUES (1)) AS t"
        );
    }
}
