//! Parsing an audience AST from JSON: the typed parser (whose errors name
//! the node and the fix) and the JSON Schema behind it.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::*;

fn validator() -> Result<&'static jsonschema::Validator, AstError> {
    static V: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    let v = V.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
        jsonschema::validator_for(&schema).map_err(|e| e.to_string())
    });
    v.as_ref()
        .map_err(|e| err("", format!("the bundled audience schema is invalid: {e}")))
}

/// Validates `v` against the audience AST JSON Schema and parses it.
///
/// The typed parser runs first so its message (which names the exact
/// node and the fix) is preferred; the schema is the backstop.
pub fn parse(v: &Value) -> Result<Cond, AstError> {
    let cond = parse_cond(v, "")?;
    let validator = validator()?;
    if let Some(e) = validator.iter_errors(v).next() {
        return Err(err(&e.instance_path().to_string(), e.to_string()));
    }
    Ok(cond)
}

/// Checks `v` against the schema only, returning every violation as
/// `(pointer, message)`.
pub fn schema_errors(v: &Value) -> Result<Vec<(String, String)>, AstError> {
    Ok(validator()?
        .iter_errors(v)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .collect())
}

fn obj<'a>(v: &'a Value, ptr: &str, what: &str) -> Result<&'a Map<String, Value>, AstError> {
    v.as_object().ok_or_else(|| {
        err(
            ptr,
            format!("expected {what} (a JSON object), found {}", kind(v)),
        )
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn unknown_keys(m: &Map<String, Value>, allowed: &[&str], ptr: &str) -> Result<(), AstError> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            let close = allowed
                .iter()
                .filter(|a| strsim::levenshtein(a, k) <= 2)
                .map(|a| format!(" (did you mean `{a}`?)"))
                .next()
                .unwrap_or_default();
            return Err(err(
                &format!("{ptr}/{k}"),
                format!(
                    "unknown key `{k}`{close}; allowed here: {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn parse_cond(v: &Value, ptr: &str) -> Result<Cond, AstError> {
    let m = obj(v, ptr, "a condition")?;
    if let Some(c) = m.get("and").or_else(|| m.get("or")) {
        let is_and = m.contains_key("and");
        let key = if is_and { "and" } else { "or" };
        unknown_keys(m, &[key], ptr)?;
        let arr = c.as_array().ok_or_else(|| {
            err(
                &format!("{ptr}/{key}"),
                format!("`{key}` takes a list of conditions"),
            )
        })?;
        let kids = arr
            .iter()
            .enumerate()
            .map(|(i, c)| parse_cond(c, &format!("{ptr}/{key}/{i}")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if is_and {
            Cond::And(kids)
        } else {
            Cond::Or(kids)
        });
    }
    if let Some(c) = m.get("not") {
        unknown_keys(m, &["not"], ptr)?;
        return Ok(Cond::Not(Box::new(parse_cond(c, &format!("{ptr}/not"))?)));
    }
    if let Some(c) = m.get("const") {
        unknown_keys(m, &["const"], ptr)?;
        return c
            .as_bool()
            .map(Cond::Const)
            .ok_or_else(|| err(&format!("{ptr}/const"), "`const` is true or false"));
    }
    if m.contains_key("cmp") || m.contains_key("term") {
        unknown_keys(m, &["cmp", "term", "value"], ptr)?;
        let op_s = m.get("cmp").and_then(Value::as_str).ok_or_else(|| {
            err(
                ptr,
                "a comparison needs `cmp` (=, !=, >, >=, <, <=, one_of, exists, absent)",
            )
        })?;
        let op = Op::parse(op_s).ok_or_else(|| {
            err(
                &format!("{ptr}/cmp"),
                format!("unknown comparator `{op_s}`; use one of =, !=, >, >=, <, <=, one_of, exists, absent"),
            )
        })?;
        let term_v = m
            .get("term")
            .ok_or_else(|| err(ptr, "a comparison needs `term`"))?;
        let term = parse_term(term_v, &format!("{ptr}/term"))?;
        let vptr = format!("{ptr}/value");
        let values = match (op, m.get("value")) {
            (Op::Exists | Op::Absent, None) => Vec::new(),
            (Op::Exists | Op::Absent, Some(_)) => {
                return Err(err(&vptr, format!("`{op_s}` takes no `value`")));
            }
            (_, None) => return Err(err(ptr, format!("`{op_s}` needs a `value`"))),
            (Op::OneOf, Some(Value::Array(a))) if !a.is_empty() => a
                .iter()
                .enumerate()
                .map(|(i, x)| Lit::from_json(x, &format!("{vptr}/{i}")))
                .collect::<Result<_, _>>()?,
            (Op::OneOf, Some(_)) => {
                return Err(err(&vptr, "`one_of` takes a non-empty list of constants"));
            }
            (_, Some(x)) => vec![Lit::from_json(x, &vptr)?],
        };
        if matches!(term, Term::Agg(ref s) if s.func == Func::Count)
            && values.iter().any(|l| !matches!(l, Lit::Num(_)))
        {
            return Err(err(&vptr, "a count is compared with numbers"));
        }
        return Ok(Cond::Atom(Atom { term, op, values }));
    }
    Err(err(
        ptr,
        "expected a condition: `and`, `or`, `not`, `const`, or a comparison with `cmp`, `term` and `value`",
    ))
}

fn parse_ty(m: &Map<String, Value>, ptr: &str) -> Result<Option<Ty>, AstError> {
    match m.get("type") {
        None => Ok(None),
        Some(Value::String(s)) => Ty::parse(s).map(Some).ok_or_else(|| {
            err(
                &format!("{ptr}/type"),
                format!("unknown type `{s}`; use int, real, string or bool"),
            )
        }),
        Some(_) => Err(err(&format!("{ptr}/type"), "`type` is a string")),
    }
}

fn name_of(m: &Map<String, Value>, key: &str, ptr: &str) -> Result<String, AstError> {
    match m.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(err(
            &format!("{ptr}/{key}"),
            format!("`{key}` is a non-empty string"),
        )),
    }
}

fn parse_term(v: &Value, ptr: &str) -> Result<Term, AstError> {
    let m = obj(v, ptr, "a term")?;
    if m.contains_key("trait") {
        unknown_keys(m, &["trait", "type"], ptr)?;
        return Ok(Term::Trait {
            name: name_of(m, "trait", ptr)?,
            ty: parse_ty(m, ptr)?,
        });
    }
    if m.contains_key("property") {
        unknown_keys(m, &["property", "type"], ptr)?;
        return Ok(Term::Property {
            name: name_of(m, "property", ptr)?,
            ty: parse_ty(m, ptr)?,
        });
    }
    for (key, func) in [
        ("count", Func::Count),
        ("sum", Func::Sum),
        ("avg", Func::Avg),
        ("min", Func::Min),
        ("max", Func::Max),
    ] {
        if let Some(s) = m.get(key) {
            unknown_keys(m, &[key], ptr)?;
            return Ok(Term::Agg(Box::new(parse_stream(
                s,
                func,
                &format!("{ptr}/{key}"),
            )?)));
        }
    }
    Err(err(
        ptr,
        "expected a term: `trait`, `property`, or a reducer `count`, `sum`, `avg`, `min`, `max`",
    ))
}

fn duration(v: &Value, ptr: &str) -> Result<f64, AstError> {
    let m = obj(v, ptr, "a duration such as {\"days\": 7}")?;
    unknown_keys(m, &["days", "hours"], ptr)?;
    if m.is_empty() {
        return Err(err(ptr, "a duration needs `days` or `hours`"));
    }
    let mut h = 0.0;
    for (k, factor) in [("days", 24.0), ("hours", 1.0)] {
        if let Some(x) = m.get(k) {
            let n = x
                .as_f64()
                .filter(|n| *n >= 0.0 && n.is_finite())
                .ok_or_else(|| err(&format!("{ptr}/{k}"), format!("`{k}` is a number >= 0")))?;
            h += n * factor;
        }
    }
    Ok(h)
}

fn parse_stream(v: &Value, func: Func, ptr: &str) -> Result<Stream, AstError> {
    let m = obj(v, ptr, "a stream such as {\"event\": \"Order Completed\"}")?;
    unknown_keys(
        m,
        &["event", "property", "type", "within", "between", "where"],
        ptr,
    )?;
    let event = name_of(m, "event", ptr)?;
    let property = match (func, m.get("property")) {
        (Func::Count, None) => None,
        (Func::Count, Some(_)) => {
            return Err(err(
                &format!("{ptr}/property"),
                "`count` counts events and takes no `property`",
            ));
        }
        (_, None) => {
            return Err(err(
                ptr,
                format!("`{}` needs the reduced `property`", func.as_str()),
            ));
        }
        (_, Some(_)) => Some(name_of(m, "property", ptr)?),
    };
    let window = match (m.get("within"), m.get("between")) {
        (Some(_), Some(_)) => {
            return Err(err(ptr, "use either `within` or `between`, not both"));
        }
        (Some(w), None) => Window {
            from_h: 0.0,
            to_h: Some(duration(w, &format!("{ptr}/within"))?),
        },
        (None, Some(b)) => {
            let bp = format!("{ptr}/between");
            let bm = obj(b, &bp, "`{from, to}`")?;
            unknown_keys(bm, &["from", "to"], &bp)?;
            let from = duration(
                bm.get("from")
                    .ok_or_else(|| err(&bp, "`between` needs `from`"))?,
                &format!("{bp}/from"),
            )?;
            let to = match bm.get("to") {
                None | Some(Value::Null) => None,
                Some(t) => Some(duration(t, &format!("{bp}/to"))?),
            };
            if to.is_some_and(|t| t < from) {
                return Err(err(&bp, "`between`: `from` must not exceed `to`"));
            }
            Window {
                from_h: from,
                to_h: to,
            }
        }
        (None, None) => Window::ALL,
    };
    let filter = match m.get("where") {
        None => None,
        Some(w) => {
            let wp = format!("{ptr}/where");
            let c = parse_cond(w, &wp)?;
            check_filter(&c, &wp)?;
            Some(c)
        }
    };
    Ok(Stream {
        func,
        event,
        property,
        ty: parse_ty(m, ptr)?,
        window,
        filter,
    })
}

/// A `where` filter may only compare event properties.
fn check_filter(c: &Cond, ptr: &str) -> Result<(), AstError> {
    match c {
        Cond::And(k) | Cond::Or(k) => k.iter().try_for_each(|c| check_filter(c, ptr)),
        Cond::Not(c) => check_filter(c, ptr),
        Cond::Const(_) => Ok(()),
        Cond::Atom(a) => match a.term {
            Term::Property { .. } => Ok(()),
            _ => Err(err(
                ptr,
                "a `where` filter compares event properties only (`{\"property\": ...}`)",
            )),
        },
        Cond::Range(..) => Ok(()),
    }
}

/// Outside a `where`, `property` terms are not allowed.
pub fn check_top(c: &Cond) -> Result<(), AstError> {
    match c {
        Cond::And(k) | Cond::Or(k) => k.iter().try_for_each(check_top),
        Cond::Not(c) => check_top(c),
        Cond::Atom(a) if matches!(a.term, Term::Property { .. }) => Err(err(
            "",
            "a `property` term is only allowed inside a stream's `where`",
        )),
        _ => Ok(()),
    }
}
