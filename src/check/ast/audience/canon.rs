//! Canonicalization of audience conditions.
//!
//! Rules (each sound under the two-valued, false-on-absent semantics):
//! negation pushed inward (De Morgan; into comparisons only for counts,
//! which are never absent); every count comparison becomes an integer
//! interval set, and sets over the same count term under one `and`/`or`
//! merge; `and`/`or` flattened, constants folded, children deduplicated and
//! sorted by their canonical JSON; `one_of` lists sorted and deduplicated.

use super::model::{Atom, Cond, Func, IntervalSet, Op, Stream, Term};

/// The canonical form of `c`.
pub fn canonicalize(c: &Cond) -> Cond {
    canon(c, false)
}

fn key(c: &Cond) -> String {
    c.to_json().to_string()
}

fn canon_term(t: &Term) -> Term {
    match t {
        Term::Agg(s) => Term::Agg(Box::new(Stream {
            filter: s.filter.as_ref().map(canonicalize).and_then(|f| match f {
                Cond::Const(true) => None,
                f => Some(f),
            }),
            ..(**s).clone()
        })),
        other => other.clone(),
    }
}

fn is_count(t: &Term) -> bool {
    matches!(t, Term::Agg(s) if s.func == Func::Count)
}

fn canon_atom(a: &Atom, negate: bool) -> Cond {
    let term = canon_term(&a.term);
    if is_count(&term)
        && let Some(set) = IntervalSet::from_atom(a.op, &a.values)
    {
        let set = if negate { set.complement() } else { set };
        return range(term, set);
    }
    let mut values = a.values.clone();
    if a.op == Op::OneOf {
        values.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
        values.dedup();
    }
    let (op, values) = match (a.op, values.as_slice()) {
        (Op::OneOf, [one]) => (Op::Eq, vec![one.clone()]),
        (op, _) => (op, values),
    };
    let atom = Cond::Atom(Atom { term, op, values });
    if negate {
        Cond::Not(Box::new(atom))
    } else {
        atom
    }
}

fn range(term: Term, set: IntervalSet) -> Cond {
    if set == IntervalSet::all() {
        Cond::Const(true)
    } else if set.0.is_empty() {
        Cond::Const(false)
    } else {
        Cond::Range(term, set)
    }
}

fn canon(c: &Cond, negate: bool) -> Cond {
    match c {
        Cond::Const(b) => Cond::Const(*b != negate),
        Cond::Not(inner) => canon(inner, !negate),
        Cond::Atom(a) => canon_atom(a, negate),
        Cond::Range(t, s) => {
            let s = if negate { s.complement() } else { s.clone() };
            range(canon_term(t), s)
        }
        Cond::And(kids) | Cond::Or(kids) => {
            let is_and = matches!(c, Cond::And(_)) != negate;
            let kids: Vec<Cond> = kids.iter().map(|k| canon(k, negate)).collect();
            junction(is_and, kids)
        }
    }
}

/// Builds a flattened, folded, merged, sorted junction.
fn junction(is_and: bool, kids: Vec<Cond>) -> Cond {
    let mut flat = Vec::new();
    for k in kids {
        match k {
            Cond::And(g) if is_and => flat.extend(g),
            Cond::Or(g) if !is_and => flat.extend(g),
            other => flat.push(other),
        }
    }
    // Constant folding: the absorbing element wins, the neutral one drops.
    let mut out: Vec<Cond> = Vec::new();
    let mut ranges: Vec<(Term, IntervalSet)> = Vec::new();
    for k in flat {
        match k {
            Cond::Const(b) if b == is_and => {}
            Cond::Const(b) => return Cond::Const(b),
            Cond::Range(t, s) => {
                if let Some(slot) = ranges.iter_mut().find(|(u, _)| *u == t) {
                    slot.1 = if is_and {
                        slot.1.intersect(&s)
                    } else {
                        slot.1.union(&s)
                    };
                } else {
                    ranges.push((t, s));
                }
            }
            other => out.push(other),
        }
    }
    for (t, s) in ranges {
        match range(t, s) {
            Cond::Const(b) if b == is_and => {}
            Cond::Const(b) => return Cond::Const(b),
            r => out.push(r),
        }
    }
    let mut keyed: Vec<(String, Cond)> = out.into_iter().map(|c| (key(&c), c)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    // `x` and `not x` together: false under `and`, true under `or`
    // (sound here: the logic is two-valued).
    for (k, c) in &keyed {
        if let Cond::Not(inner) = c {
            let ik = key(inner);
            if keyed.iter().any(|(k2, _)| *k2 == ik) && k != &ik {
                return Cond::Const(!is_and);
            }
        }
    }
    let mut kids: Vec<Cond> = keyed.into_iter().map(|(_, c)| c).collect();
    match kids.len() {
        0 => Cond::Const(is_and),
        1 => kids.pop().unwrap_or(Cond::Const(is_and)),
        _ if is_and => Cond::And(kids),
        _ => Cond::Or(kids),
    }
}
