//! `dialect: json`: structural equality after canonicalization.
//!
//! Object key order never matters (JSON objects are unordered). Arrays are
//! ordered unless `ignore_order` is set (every array compared as a
//! multiset) or their path is listed in `set_paths` (`/tags`, `/items/*/ids`,
//! with `*` matching any array index or object key). Numbers are equal
//! within `tolerance` (absolute, default exact).

use serde_json::{Value, json};

use super::equivalence::{Equivalence, Method};

/// Options of the JSON comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonOptions {
    /// Compare every array as a multiset.
    pub ignore_order: bool,
    /// JSON-pointer-like paths of arrays compared as multisets.
    pub set_paths: Vec<String>,
    /// Absolute numeric tolerance.
    pub tolerance: f64,
}

fn path_matches(pattern: &str, path: &[String]) -> bool {
    let segs: Vec<&str> = pattern
        .trim_start_matches('$')
        .split(['/', '.'])
        .filter(|s| !s.is_empty())
        .collect();
    segs.len() == path.len() && segs.iter().zip(path).all(|(p, s)| *p == "*" || p == s)
}

/// Canonical form: arrays that compare as multisets are sorted by the
/// canonical text of their items; numbers are rounded to the tolerance
/// grid only for sorting (equality uses the tolerance itself).
fn canon(v: &Value, path: &mut Vec<String>, o: &JsonOptions) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                path.push(k.clone());
                out.insert(k.clone(), canon(&m[k], path, o));
                path.pop();
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let mut items: Vec<Value> = a
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    path.push(i.to_string());
                    let c = canon(x, path, o);
                    path.pop();
                    c
                })
                .collect();
            if o.ignore_order || o.set_paths.iter().any(|p| path_matches(p, path)) {
                items.sort_by_key(|x| x.to_string());
            }
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// The first place where `a` and `b` differ: (pointer, left, right).
fn first_diff(a: &Value, b: &Value, ptr: String, tol: f64) -> Option<(String, Value, Value)> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            if x == y || (x - y).abs() <= tol {
                None
            } else {
                Some((ptr, a.clone(), b.clone()))
            }
        }
        (Value::Object(m), Value::Object(n)) => {
            let mut keys: Vec<&String> = m.keys().chain(n.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{ptr}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (m.get(k), n.get(k)) {
                    (Some(x), Some(y)) => {
                        if let Some(d) = first_diff(x, y, p, tol) {
                            return Some(d);
                        }
                    }
                    (x, y) => {
                        return Some((
                            p,
                            x.cloned().unwrap_or(json!("<missing>")),
                            y.cloned().unwrap_or(json!("<missing>")),
                        ));
                    }
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some((
                    ptr,
                    json!(format!("{} item(s)", x.len())),
                    json!(format!("{} item(s)", y.len())),
                ));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_diff(p, q, format!("{ptr}/{i}"), tol))
        }
        _ if a == b => None,
        _ => Some((ptr, a.clone(), b.clone())),
    }
}

/// Compares two JSON values under `o`.
pub fn equivalent(left: &Value, right: &Value, o: &JsonOptions) -> Equivalence {
    if left == right {
        return Equivalence::Equivalent {
            method: Method::Identical,
            detail: "the two values are identical".into(),
        };
    }
    let cl = canon(left, &mut Vec::new(), o);
    let cr = canon(right, &mut Vec::new(), o);
    match first_diff(&cl, &cr, String::new(), o.tolerance) {
        None => Equivalence::Equivalent {
            method: Method::Structural,
            detail: describe_opts(o),
        },
        Some((ptr, a, b)) => {
            let at = if ptr.is_empty() { "/".to_string() } else { ptr };
            Equivalence::NotEquivalent {
                method: Method::Structural,
                counterexample: format!(
                    "at `{at}` the left value is {a} and the right value is {b} (after canonicalization: {})",
                    describe_opts(o)
                ),
                evidence: json!({"path": at, "left": a, "right": b}),
            }
        }
    }
}

fn describe_opts(o: &JsonOptions) -> String {
    let mut parts = vec!["key order ignored".to_string()];
    if o.ignore_order {
        parts.push("all arrays as multisets".into());
    } else if !o.set_paths.is_empty() {
        parts.push(format!("arrays at {} as multisets", o.set_paths.join(", ")));
    }
    if o.tolerance > 0.0 {
        parts.push(format!("numbers within {}", o.tolerance));
    }
    parts.join(", ")
}
