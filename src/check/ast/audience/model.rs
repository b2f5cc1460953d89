//! The audience AST as plain data, parsed from JSON with precise errors.
//!
//! The JSON shape is defined by `schemas/audience-ast.schema.json` and
//! documented in `docs/audience-ast.md`. Parsing checks the schema first,
//! then builds typed nodes; every error names the JSON pointer of the
//! offending node.

use std::fmt;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// The audience AST JSON Schema, as shipped in `schemas/`.
pub const SCHEMA: &str = include_str!("../../../../schemas/audience-ast.schema.json");

/// A problem in an audience AST: where (JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("audience AST at `{pointer}`: {message}")]
pub struct AstError {
    /// JSON pointer of the offending node (`""` is the root).
    pub pointer: String,
    /// What is wrong, with the fix where one is obvious.
    pub message: String,
}

fn err(pointer: &str, message: impl Into<String>) -> AstError {
    AstError {
        pointer: if pointer.is_empty() {
            "/".to_string()
        } else {
            pointer.to_string()
        },
        message: message.into(),
    }
}

/// A boolean audience condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// All children hold (an empty list is true).
    And(Vec<Cond>),
    /// Some child holds (an empty list is false).
    Or(Vec<Cond>),
    /// Classical negation (two-valued).
    Not(Box<Cond>),
    /// A constant.
    Const(bool),
    /// A comparison of one term with constants.
    Atom(Atom),
    /// Canonical form only: a count term lies in a set of integer intervals.
    Range(Term, IntervalSet),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=` (false when the term is absent)
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `one_of`
    OneOf,
    /// `exists`
    Exists,
    /// `absent`
    Absent,
}

impl Op {
    /// The operator as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::OneOf => "one_of",
            Op::Exists => "exists",
            Op::Absent => "absent",
        }
    }
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "=" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            "one_of" => Op::OneOf,
            "exists" => Op::Exists,
            "absent" => Op::Absent,
            _ => return None,
        })
    }
}

/// A constant value.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Lit {
    /// A number (integers are exact up to 2^53).
    Num(f64),
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
}

impl Lit {
    /// The literal as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Lit::Num(n) => num_json(*n),
            Lit::Str(s) => Value::String(s.clone()),
            Lit::Bool(b) => Value::Bool(*b),
        }
    }
    fn from_json(v: &Value, ptr: &str) -> Result<Lit, AstError> {
        match v {
            Value::Number(n) => n
                .as_f64()
                .map(Lit::Num)
                .ok_or_else(|| err(ptr, "number out of range")),
            Value::String(s) => Ok(Lit::Str(s.clone())),
            Value::Bool(b) => Ok(Lit::Bool(*b)),
            _ => Err(err(ptr, "a constant is a number, a string or a boolean")),
        }
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Num(n) => write!(f, "{}", num_json(*n)),
            Lit::Str(s) => write!(f, "{s:?}"),
            Lit::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A number as JSON: integral values print without a fraction.
pub fn num_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

/// A comparison `term op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Atom {
    /// The compared term.
    pub term: Term,
    /// The operator.
    pub op: Op,
    /// The constants: one for binary operators, the list for `one_of`, none
    /// for `exists`/`absent`.
    pub values: Vec<Lit>,
}

/// The value type of a trait or property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ty {
    /// Integers.
    Int,
    /// Real numbers (the default for numbers without a declared type).
    Real,
    /// Strings.
    Str,
    /// Booleans.
    Bool,
}

impl Ty {
    /// As written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Real => "real",
            Ty::Str => "string",
            Ty::Bool => "bool",
        }
    }
    fn parse(s: &str) -> Option<Ty> {
        Some(match s {
            "int" => Ty::Int,
            "real" => Ty::Real,
            "string" => Ty::Str,
            "bool" => Ty::Bool,
            _ => return None,
        })
    }
}

/// A reducer over an event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Func {
    /// Number of events (never absent).
    Count,
    /// Sum of a property (absent on an empty stream).
    Sum,
    /// Mean of a property (absent on an empty stream).
    Avg,
    /// Minimum of a property (absent on an empty stream).
    Min,
    /// Maximum of a property (absent on an empty stream).
    Max,
}

impl Func {
    /// As written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Func::Count => "count",
            Func::Sum => "sum",
            Func::Avg => "avg",
            Func::Min => "min",
            Func::Max => "max",
        }
    }
}

/// An event-age window in hours, inclusive at both ends.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Window {
    /// Youngest age included (hours ago).
    pub from_h: f64,
    /// Oldest age included, or unbounded.
    pub to_h: Option<f64>,
}

impl Window {
    /// Every event, whatever its age.
    pub const ALL: Window = Window {
        from_h: 0.0,
        to_h: None,
    };
    /// Whether an event `age_h` hours old falls in the window.
    pub fn contains(&self, age_h: f64) -> bool {
        age_h >= self.from_h && self.to_h.is_none_or(|t| age_h <= t)
    }
}

/// A term: something with a value on a user profile.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A profile trait; may be absent.
    Trait {
        /// Trait name.
        name: String,
        /// Declared type, if any.
        ty: Option<Ty>,
    },
    /// An event property; only inside a stream's `where`.
    Property {
        /// Property name.
        name: String,
        /// Declared type, if any.
        ty: Option<Ty>,
    },
    /// A reducer over the user's events of one name.
    Agg(Box<Stream>),
}

/// A reducer applied to the events of one name, filtered by window and `where`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// The reducer.
    pub func: Func,
    /// Event name.
    pub event: String,
    /// Reduced property (not for `count`).
    pub property: Option<String>,
    /// Declared type of the reduced property.
    pub ty: Option<Ty>,
    /// Age window.
    pub window: Window,
    /// Property filter.
    pub filter: Option<Cond>,
}

impl Term {
    /// Whether the term can be absent on some profile.
    pub fn nullable(&self) -> bool {
        !matches!(self, Term::Agg(s) if s.func == Func::Count)
    }

    /// The term as JSON, in the input shape.
    pub fn to_json(&self) -> Value {
        match self {
            Term::Trait { name, ty } => {
                let mut m = Map::new();
                m.insert("trait".into(), json!(name));
                if let Some(t) = ty {
                    m.insert("type".into(), json!(t.as_str()));
                }
                Value::Object(m)
            }
            Term::Property { name, ty } => {
                let mut m = Map::new();
                m.insert("property".into(), json!(name));
                if let Some(t) = ty {
                    m.insert("type".into(), json!(t.as_str()));
                }
                Value::Object(m)
            }
            Term::Agg(s) => {
                let mut m = Map::new();
                m.insert("event".into(), json!(s.event));
                if let Some(p) = &s.property {
                    m.insert("property".into(), json!(p));
                }
                if let Some(t) = s.ty {
                    m.insert("type".into(), json!(t.as_str()));
                }
                if s.window != Window::ALL {
                    m.insert(
                        "between".into(),
                        json!({"from": {"hours": num_json(s.window.from_h)},
                               "to": s.window.to_h.map(|t| json!({"hours": num_json(t)}))}),
                    );
                }
                if let Some(f) = &s.filter {
                    m.insert("where".into(), f.to_json());
                }
                json!({ s.func.as_str(): Value::Object(m) })
            }
        }
    }

    /// A short human phrase for the term.
    pub fn describe(&self) -> String {
        match self {
            Term::Trait { name, .. } => format!("trait `{name}`"),
            Term::Property { name, .. } => format!("property `{name}`"),
            Term::Agg(s) => {
                let what = match s.func {
                    Func::Count => format!("number of `{}` events", s.event),
                    f => format!(
                        "{} of `{}` over `{}` events",
                        f.as_str(),
                        s.property.as_deref().unwrap_or("?"),
                        s.event
                    ),
                };
                format!("{what}{}", window_phrase(&s.window))
            }
        }
    }
}

/// "in the last 7 days", "between 7 and 10 days ago", or "".
pub fn window_phrase(w: &Window) -> String {
    let unit = |h: f64| {
        if h % 24.0 == 0.0 {
            let d = h / 24.0;
            format!("{} day{}", num_json(d), if d == 1.0 { "" } else { "s" })
        } else {
            format!("{} hour{}", num_json(h), if h == 1.0 { "" } else { "s" })
        }
    };
    match (w.from_h, w.to_h) {
        (0.0, None) => String::new(),
        (f, None) => format!(" at least {} ago", unit(f)),
        (0.0, Some(t)) => format!(" in the last {}", unit(t)),
        (f, Some(t)) => format!(" between {} and {} ago", unit(f), unit(t)),
    }
}

impl Cond {
    /// The condition as JSON, in the input shape (`Range` nodes print as
    /// `{"term": ..., "in": [[lo, hi], ...]}`).
    pub fn to_json(&self) -> Value {
        match self {
            Cond::And(c) => json!({"and": c.iter().map(Cond::to_json).collect::<Vec<_>>()}),
            Cond::Or(c) => json!({"or": c.iter().map(Cond::to_json).collect::<Vec<_>>()}),
            Cond::Not(c) => json!({"not": c.to_json()}),
            Cond::Const(b) => json!({ "const": b }),
            Cond::Atom(a) => {
                let mut m = Map::new();
                m.insert("cmp".into(), json!(a.op.as_str()));
                m.insert("term".into(), a.term.to_json());
                match a.op {
                    Op::Exists | Op::Absent => {}
                    Op::OneOf => {
                        m.insert(
                            "value".into(),
                            Value::Array(a.values.iter().map(Lit::to_json).collect()),
                        );
                    }
                    _ => {
                        if let Some(v) = a.values.first() {
                            m.insert("value".into(), v.to_json());
                        }
                    }
                }
                Value::Object(m)
            }
            Cond::Range(t, set) => json!({"term": t.to_json(), "in": set.to_json()}),
        }
    }
}

/// A set of integers as sorted, disjoint, non-adjacent closed intervals;
/// `None` as an upper bound is +infinity. Used for count terms (>= 0).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntervalSet(pub Vec<(i64, Option<i64>)>);

impl IntervalSet {
    /// All counts: `[0, inf)`.
    pub fn all() -> Self {
        IntervalSet(vec![(0, None)])
    }
    /// No count.
    pub fn empty() -> Self {
        IntervalSet(Vec::new())
    }
    /// Whether `n` is in the set.
    pub fn contains(&self, n: i64) -> bool {
        self.0
            .iter()
            .any(|&(lo, hi)| n >= lo && hi.is_none_or(|h| n <= h))
    }
    fn normalize(mut v: Vec<(i64, Option<i64>)>) -> Self {
        v.retain(|&(lo, hi)| hi.is_none_or(|h| h >= lo));
        v.sort();
        let mut out: Vec<(i64, Option<i64>)> = Vec::new();
        for (lo, hi) in v {
            if let Some(last) = out.last_mut() {
                let touches = match last.1 {
                    None => true,
                    Some(h) => lo <= h.saturating_add(1),
                };
                if touches {
                    last.1 = match (last.1, hi) {
                        (None, _) | (_, None) => None,
                        (Some(a), Some(b)) => Some(a.max(b)),
                    };
                    continue;
                }
            }
            out.push((lo, hi));
        }
        IntervalSet(out)
    }
    /// Union.
    pub fn union(&self, o: &Self) -> Self {
        let mut v = self.0.clone();
        v.extend(o.0.iter().copied());
        Self::normalize(v)
    }
    /// Complement within `[0, inf)`.
    pub fn complement(&self) -> Self {
        let mut out = Vec::new();
        let mut next = 0i64;
        for &(lo, hi) in &self.0 {
            if lo > next {
                out.push((next, Some(lo - 1)));
            }
            match hi {
                None => return Self::normalize(out),
                Some(h) => next = h.saturating_add(1),
            }
        }
        out.push((next, None));
        Self::normalize(out)
    }
    /// Intersection.
    pub fn intersect(&self, o: &Self) -> Self {
        self.complement().union(&o.complement()).complement()
    }
    /// As JSON: `[[lo, hi|null], ...]`.
    pub fn to_json(&self) -> Value {
        Value::Array(self.0.iter().map(|(l, h)| json!([l, h])).collect())
    }
    /// The set described by a count comparison, if the constants allow it.
    pub fn from_atom(op: Op, values: &[Lit]) -> Option<Self> {
        let num = |l: &Lit| match l {
            Lit::Num(n) if n.is_finite() && n.abs() < 1e15 => Some(*n),
            _ => None,
        };
        let point = |c: f64| {
            if c.fract() == 0.0 && c >= 0.0 {
                IntervalSet(vec![(c as i64, Some(c as i64))])
            } else {
                IntervalSet::empty()
            }
        };
        let set = match op {
            Op::Exists => IntervalSet::all(),
            Op::Absent => IntervalSet::empty(),
            Op::OneOf => {
                let mut s = IntervalSet::empty();
                for v in values {
                    s = s.union(&point(num(v)?));
                }
                s
            }
            _ => {
                let c = num(values.first()?)?;
                match op {
                    Op::Eq => point(c),
                    Op::Ne => point(c).complement(),
                    Op::Ge => Self::normalize(vec![(c.ceil().max(0.0) as i64, None)]),
                    Op::Gt => Self::normalize(vec![((c.floor() + 1.0).max(0.0) as i64, None)]),
                    Op::Le if c < 0.0 => IntervalSet::empty(),
                    Op::Le => IntervalSet(vec![(0, Some(c.floor() as i64))]),
                    Op::Lt if c <= 0.0 => IntervalSet::empty(),
                    Op::Lt => IntervalSet(vec![(0, Some(c.ceil() as i64 - 1))]),
                    _ => return None,
                }
            }
        };
        Some(set)
    }
}

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
