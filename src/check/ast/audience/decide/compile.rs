//! The compiled evaluator of the decision procedure: both conditions
//! compiled against a profile space, so each profile is evaluated without
//! allocating.

use super::{Space, compare, term_key};
use crate::check::ast::audience::model::{Cond, Func, IntervalSet, Lit, Op, Term};

/// Both conditions compiled against a [`Space`]: trait comparisons become
/// truth tables indexed by the trait's representative, and reducers become
/// flat lists of the profile dimensions (event classes) they read, so one
/// profile is evaluated without allocating.
pub(super) struct Program {
    pub(super) left: Node,
    pub(super) right: Node,
    pub(super) aggs: Vec<AggTerm>,
}

/// A reducer over the classes of one event, flattened.
pub(super) struct AggTerm {
    pub(super) func: Func,
    /// The classes inside the stream: profile dimension and the reduced
    /// property's numeric value in that class, in class order.
    pub(super) inside: Vec<(usize, Option<f64>)>,
    /// The largest dimension in `inside` (0 when empty).
    max_dim: usize,
    /// The event (index into `Space::events`) and the term's position in
    /// its `terms`.
    pub(super) event: usize,
    pub(super) pos: usize,
}

/// A compiled condition.
pub(super) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Const(bool),
    /// Truth value per representative of the trait in this dimension.
    Table(usize, Vec<bool>),
    /// A comparison of reducer `.0`'s value.
    Agg(usize, NumTest),
    /// Reducer `.0`'s value is an integer in the set.
    AggRange(usize, IntervalSet),
}

/// [`compare`] specialized to numeric values.
pub(super) struct NumTest {
    /// The result when the value is absent.
    absent: bool,
    kind: NumKind,
}

enum NumKind {
    Fixed(bool),
    Eq(f64),
    Ne(f64),
    Gt(f64),
    Ge(f64),
    Lt(f64),
    Le(f64),
    OneOf(Vec<f64>),
}

impl NumTest {
    /// Exactly `compare(Some(&Lit::Num(x)), op, values)` for every `x`, and
    /// `compare(None, op, values)` for an absent value.
    fn new(op: Op, values: &[Lit]) -> NumTest {
        let first = match values.first() {
            Some(Lit::Num(c)) => Some(*c),
            _ => None,
        };
        let kind = match (op, first) {
            (Op::Exists, _) => NumKind::Fixed(true),
            (Op::Absent, _) => NumKind::Fixed(false),
            (Op::OneOf, _) => NumKind::OneOf(
                values
                    .iter()
                    .filter_map(|l| match l {
                        Lit::Num(c) => Some(*c),
                        _ => None,
                    })
                    .collect(),
            ),
            // A non-numeric (or missing) constant: never equal, unordered.
            (Op::Ne, None) => NumKind::Fixed(!values.is_empty()),
            (_, None) => NumKind::Fixed(false),
            (Op::Eq, Some(c)) => NumKind::Eq(c),
            (Op::Ne, Some(c)) => NumKind::Ne(c),
            (Op::Gt, Some(c)) => NumKind::Gt(c),
            (Op::Ge, Some(c)) => NumKind::Ge(c),
            (Op::Lt, Some(c)) => NumKind::Lt(c),
            (Op::Le, Some(c)) => NumKind::Le(c),
        };
        NumTest {
            absent: op == Op::Absent,
            kind,
        }
    }

    pub(super) fn test(&self, v: Option<f64>) -> bool {
        let Some(x) = v else {
            return self.absent;
        };
        match &self.kind {
            NumKind::Fixed(b) => *b,
            NumKind::Eq(c) => x == *c,
            NumKind::Ne(c) => x != *c,
            NumKind::Gt(c) => x > *c,
            NumKind::Ge(c) => x >= *c,
            NumKind::Lt(c) => x < *c,
            NumKind::Le(c) => x <= *c,
            NumKind::OneOf(cs) => cs.contains(&x),
        }
    }
}

impl Program {
    /// How many reduced values one profile has.
    pub(super) fn slots(&self) -> usize {
        self.aggs.len()
    }

    /// Whether the left condition holds on profile `p`.
    pub(super) fn left_holds(&self, p: &[usize], vals: &[Option<f64>]) -> bool {
        self.left.eval(p, vals)
    }

    pub(super) fn new(left: &Cond, right: &Cond, space: &Space) -> Program {
        let nt = space.traits.len();
        let mut offsets = Vec::with_capacity(space.events.len());
        let mut off = nt;
        for e in &space.events {
            offsets.push(off);
            off += e.classes.len();
        }
        // Reducer slot per term index.
        let mut slot_of_term = vec![None; space.terms.len()];
        let mut aggs = Vec::new();
        for (ti, t) in space.terms.iter().enumerate() {
            if let (Term::Agg(s), Some((ei, pos))) = (t, space.agg_of_term[ti]) {
                let ev = &space.events[ei];
                let inside: Vec<(usize, Option<f64>)> = ev
                    .classes
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.sig[pos].0)
                    .map(|(ci, c)| {
                        let x = match &c.sig[pos].1 {
                            Some(Lit::Num(x)) => Some(*x),
                            _ => None,
                        };
                        (offsets[ei] + ci, x)
                    })
                    .collect();
                let max_dim = inside.iter().map(|(d, _)| *d).max().unwrap_or(0);
                slot_of_term[ti] = Some(aggs.len());
                aggs.push(AggTerm {
                    func: s.func,
                    inside,
                    max_dim,
                    event: ei,
                    pos,
                });
            }
        }
        let keys: Vec<String> = space.terms.iter().map(term_key).collect();
        let cx = Compiler {
            space,
            keys: &keys,
            slot_of_term: &slot_of_term,
        };
        Program {
            left: cx.compile(left),
            right: cx.compile(right),
            aggs,
        }
    }

    /// Recomputes the reducers that read a dimension at or after `lo`.
    pub(super) fn refresh(&self, p: &[usize], vals: &mut [Option<f64>], lo: usize) {
        for (a, v) in self.aggs.iter().zip(vals.iter_mut()) {
            if a.max_dim >= lo {
                *v = a.value(p);
            }
        }
    }

    pub(super) fn differs(&self, p: &[usize], vals: &[Option<f64>]) -> bool {
        self.left.eval(p, vals) != self.right.eval(p, vals)
    }
}

impl AggTerm {
    /// The reducer's value on profile `p` (class counts in `p`).
    fn value(&self, p: &[usize]) -> Option<f64> {
        match self.func {
            Func::Count => {
                let n: usize = self.inside.iter().map(|&(d, _)| p[d]).sum();
                Some(n as f64)
            }
            func => {
                let mut sum = 0.0f64;
                let mut with_value = 0usize;
                let mut min: Option<f64> = None;
                let mut max: Option<f64> = None;
                for &(d, x) in &self.inside {
                    let k = p[d];
                    if k == 0 {
                        continue;
                    }
                    if let Some(x) = x {
                        with_value += k;
                        sum += x * k as f64;
                        min = Some(min.map_or(x, |m| m.min(x)));
                        max = Some(max.map_or(x, |m| m.max(x)));
                    }
                }
                match func {
                    Func::Sum => (with_value > 0).then_some(sum),
                    Func::Avg => (with_value > 0).then(|| sum / with_value as f64),
                    Func::Min => min,
                    Func::Max | Func::Count => max,
                }
            }
        }
    }
}

struct Compiler<'a> {
    space: &'a Space,
    keys: &'a [String],
    slot_of_term: &'a [Option<usize>],
}

impl Compiler<'_> {
    fn term_index(&self, t: &Term) -> usize {
        let k = term_key(t);
        self.keys.iter().position(|u| *u == k).unwrap_or(0)
    }

    fn compile(&self, c: &Cond) -> Node {
        match c {
            Cond::And(k) => Node::And(k.iter().map(|c| self.compile(c)).collect()),
            Cond::Or(k) => Node::Or(k.iter().map(|c| self.compile(c)).collect()),
            Cond::Not(c) => Node::Not(Box::new(self.compile(c))),
            Cond::Const(b) => Node::Const(*b),
            Cond::Atom(a) => {
                let ti = self.term_index(&a.term);
                self.leaf(
                    ti,
                    |v| compare(v, a.op, &a.values),
                    || {
                        Node::Agg(
                            self.slot_of_term[ti].unwrap_or(0),
                            NumTest::new(a.op, &a.values),
                        )
                    },
                )
            }
            Cond::Range(t, s) => {
                let ti = self.term_index(t);
                self.leaf(
                    ti,
                    |v| match v {
                        Some(Lit::Num(n)) if n.fract() == 0.0 => s.contains(*n as i64),
                        _ => false,
                    },
                    || Node::AggRange(self.slot_of_term[ti].unwrap_or(0), s.clone()),
                )
            }
        }
    }

    /// A comparison of term `ti`: `test` on a trait's or an absent value,
    /// `agg` for a reducer.
    fn leaf(
        &self,
        ti: usize,
        test: impl Fn(Option<&Lit>) -> bool,
        agg: impl FnOnce() -> Node,
    ) -> Node {
        match self.space.terms.get(ti) {
            Some(Term::Trait { .. }) => match self.space.trait_of_term[ti] {
                Some(d) => Node::Table(
                    d,
                    self.space.traits[d]
                        .reps
                        .iter()
                        .map(|v| test(v.as_ref()))
                        .collect(),
                ),
                None => Node::Const(test(None)),
            },
            Some(Term::Agg(_)) if self.slot_of_term[ti].is_some() => agg(),
            _ => Node::Const(test(None)),
        }
    }
}

impl Node {
    /// The truth value on a partial profile: `dims[d]` is the representative
    /// of dimension `d` when known, `vals[a]` the value of reducer `a` when
    /// known; `None` when the known part does not decide the node.
    pub(super) fn eval3(
        &self,
        dims: &[Option<usize>],
        vals: &[Option<Option<f64>>],
    ) -> Option<bool> {
        match self {
            Node::And(k) => {
                let mut all = true;
                for c in k {
                    match c.eval3(dims, vals) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => all = false,
                    }
                }
                all.then_some(true)
            }
            Node::Or(k) => {
                let mut all = true;
                for c in k {
                    match c.eval3(dims, vals) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => all = false,
                    }
                }
                all.then_some(false)
            }
            Node::Not(c) => c.eval3(dims, vals).map(|b| !b),
            Node::Const(b) => Some(*b),
            Node::Table(d, t) => dims[*d].map(|r| t[r]),
            Node::Agg(a, test) => vals[*a].map(|v| test.test(v)),
            Node::AggRange(a, s) => vals[*a].map(|v| match v {
                Some(n) if n.fract() == 0.0 => s.contains(n as i64),
                _ => false,
            }),
        }
    }

    fn eval(&self, p: &[usize], vals: &[Option<f64>]) -> bool {
        match self {
            Node::And(k) => k.iter().all(|c| c.eval(p, vals)),
            Node::Or(k) => k.iter().any(|c| c.eval(p, vals)),
            Node::Not(c) => !c.eval(p, vals),
            Node::Const(b) => *b,
            Node::Table(d, t) => t[p[*d]],
            Node::Agg(a, test) => test.test(vals[*a]),
            Node::AggRange(a, s) => match vals[*a] {
                Some(n) if n.fract() == 0.0 => s.contains(n as i64),
                _ => false,
            },
        }
    }
}
