//! The audience AST as plain data, parsed from JSON with precise errors.
//!
//! The JSON shape is defined by `schemas/audience-ast.schema.json` and
//! documented in `docs/audience-ast.md`. Parsing checks the schema first,
//! then builds typed nodes; every error names the JSON pointer of the
//! offending node.

use std::fmt;

use serde_json::{Map, Value, json};

mod parse;

pub use parse::{check_top, parse, schema_errors};

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
