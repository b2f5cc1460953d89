//! The exact decision for the complete fragment (counts, `min`, `max`,
//! traits compared with constants): a case split over independent groups.
//!
//! A profile's dimensions fall into independent groups: each trait (its
//! representatives), and each event name (the counts of its classes). No
//! atom reads two groups, and every combination of one choice per group is
//! a profile. So:
//!
//! 1. each trait's representatives are reduced to one per *pattern* (the
//!    truth values of the atoms over that trait);
//! 2. each event's reachable reducer values are computed by a pass over its
//!    classes (a class count in `0..=cap`, counts capped where no atom
//!    changes any more, `min`/`max` as values), then reduced to one profile
//!    per pattern of the atoms over that event;
//! 3. a depth-first case split assigns one pattern per group, evaluating
//!    both conditions on the partial profile in three-valued logic, and
//!    drops a branch as soon as both sides are decided.
//!
//! Every profile is covered (each pattern stands for all profiles that give
//! its group's atoms those truth values), so no difference is missed; and a
//! difference found is a concrete profile, evaluated again before it is
//! reported.

use std::collections::HashMap;
use std::time::Instant;

use super::Space;
use super::compile::{Node, Program};
use crate::check::ast::audience::model::Func;
use crate::check::ast::tolerance::{Class, Classes};

/// Most reachable combinations of one event's reducer values.
const MAX_STATES: usize = 200_000;

/// Largest count per class the pass over an event's classes steps through.
pub(super) const MAX_CLASS_COUNT: usize = 1024;

/// Why the exact decision stopped.
pub(super) enum Stop {
    /// The time budget ran out: the verdict is `unknown`.
    Budget(String),
    /// The pair is too large for this procedure (the search takes over).
    TooLarge(String),
}

/// The outcome of one exact decision.
pub(super) struct Exact {
    /// A profile on which the two conditions differ, if any.
    pub(super) found: Option<Vec<usize>>,
    /// Atom patterns over all groups (the choices of the case split).
    pub(super) patterns: usize,
    /// Partial profiles evaluated by the case split.
    pub(super) steps: u64,
}

/// One way to set a group: dimensions and the reducer values they give.
struct Choice {
    dims: Vec<(usize, usize)>,
    vals: Vec<(usize, Option<f64>)>,
}

struct Group {
    choices: Vec<Choice>,
}

/// Decides `prog`'s two conditions over every profile of `space` that shows
/// none of the classes in `excl` (`missing_traits`: no absent trait;
/// `zero_counts`: every event has at least one event inside its streams).
pub(super) fn decide(
    space: &Space,
    prog: &Program,
    excl: Classes,
    start: &Instant,
    budget_ms: u64,
) -> Result<Exact, Stop> {
    let ndims = space.dims().len();
    let nslots = prog.aggs.len();
    let mut leaves: Vec<&Node> = Vec::new();
    collect_leaves(&prog.left, &mut leaves);
    collect_leaves(&prog.right, &mut leaves);
    let mut groups: Vec<Group> = Vec::new();
    let mut kdims: Vec<Option<usize>> = vec![None; ndims];
    let mut kvals: Vec<Option<Option<f64>>> = vec![None; nslots];

    // Traits.
    for (d, dom) in space.traits.iter().enumerate() {
        let choices = dom
            .reps
            .iter()
            .enumerate()
            .filter(|(_, v)| !(v.is_none() && excl.contains(Class::MissingTraits)))
            .map(|(r, _)| Choice {
                dims: vec![(d, r)],
                vals: Vec::new(),
            })
            .collect();
        groups.push(Group {
            choices: dedupe(choices, &leaves, &mut kdims, &mut kvals),
        });
    }

    // Events.
    let mut off = space.traits.len();
    for (ei, ev) in space.events.iter().enumerate() {
        let m = ev.classes.len();
        let slots: Vec<usize> = (0..nslots).filter(|&a| prog.aggs[a].event == ei).collect();
        // Per class: (position in `slots`, reduced value) of the reducers
        // that include it.
        let mut per_class: Vec<Vec<(usize, Option<f64>)>> = vec![Vec::new(); m];
        let mut caps: Vec<u64> = Vec::with_capacity(slots.len());
        for (si, &a) in slots.iter().enumerate() {
            let agg = &prog.aggs[a];
            if matches!(agg.func, Func::Sum | Func::Avg) {
                return Err(Stop::TooLarge(format!(
                    "`{}` over `{}` is outside the complete fragment",
                    agg.func.as_str(),
                    ev.name
                )));
            }
            caps.push(ev.term_caps[agg.pos] as u64);
            for &(dim, x) in &agg.inside {
                per_class[dim - off].push((si, x));
            }
        }
        if let Some(&big) = ev.caps.iter().find(|&&c| c > MAX_CLASS_COUNT) {
            return Err(Stop::TooLarge(format!(
                "`{}` events are counted up to {big}, over the exact decision's limit of {MAX_CLASS_COUNT}",
                ev.name
            )));
        }
        let any = slots.len();
        let mut init = vec![0u64; slots.len() + 1];
        for (si, &a) in slots.iter().enumerate() {
            if prog.aggs[a].func != Func::Count {
                init[si] = NONE;
            }
        }
        let mut states: Vec<(Vec<u64>, Vec<usize>)> = vec![(init, vec![0; m])];
        for j in 0..m {
            let mut index: HashMap<Vec<u64>, ()> = HashMap::with_capacity(states.len() * 2);
            let mut next: Vec<(Vec<u64>, Vec<usize>)> = Vec::with_capacity(states.len() * 2);
            for (key, w) in &states {
                for k in 0..=ev.caps[j] {
                    let mut nk = key.clone();
                    if k > 0 {
                        nk[any] = 1;
                    }
                    for &(si, x) in &per_class[j] {
                        match prog.aggs[slots[si]].func {
                            Func::Count => nk[si] = (nk[si] + k as u64).min(caps[si]),
                            f => {
                                if let (true, Some(x)) = (k > 0, x) {
                                    let cur = (nk[si] != NONE).then(|| f64::from_bits(nk[si]));
                                    let v = match (f, cur) {
                                        (_, None) => x,
                                        (Func::Min, Some(c)) => c.min(x),
                                        (_, Some(c)) => c.max(x),
                                    };
                                    nk[si] = v.to_bits();
                                }
                            }
                        }
                    }
                    if index.insert(nk.clone(), ()).is_none() {
                        let mut nw = w.clone();
                        nw[j] = k;
                        next.push((nk, nw));
                        if next.len() > MAX_STATES {
                            return Err(Stop::TooLarge(format!(
                                "event `{}` has more than {MAX_STATES} reachable combinations of reducer values",
                                ev.name
                            )));
                        }
                    }
                }
            }
            if start.elapsed().as_millis() as u64 > budget_ms {
                return Err(Stop::Budget(budget(
                    budget_ms,
                    "while combining the classes of one event",
                )));
            }
            states = next;
        }
        let choices: Vec<Choice> = states
            .into_iter()
            // An event no stream can select (no class) never shows
            // `zero_counts`.
            .filter(|(key, _)| key[any] == 1 || m == 0 || !excl.contains(Class::ZeroCounts))
            .map(|(key, w)| Choice {
                dims: w.iter().enumerate().map(|(j, &n)| (off + j, n)).collect(),
                vals: slots
                    .iter()
                    .enumerate()
                    .map(|(si, &a)| {
                        let v = match prog.aggs[a].func {
                            Func::Count => Some(key[si] as f64),
                            _ => (key[si] != NONE).then(|| f64::from_bits(key[si])),
                        };
                        (a, v)
                    })
                    .collect(),
            })
            .collect();
        groups.push(Group {
            choices: dedupe(choices, &leaves, &mut kdims, &mut kvals),
        });
        off += m;
    }

    let patterns = groups.iter().map(|g| g.choices.len()).sum();
    if groups.iter().any(|g| g.choices.is_empty()) {
        // No profile shows none of the excluded classes.
        return Ok(Exact {
            found: None,
            patterns,
            steps: 0,
        });
    }
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&g| groups[g].choices.len());
    let mut split = Split {
        prog,
        groups: &groups,
        order: &order,
        dims: kdims,
        vals: kvals,
        steps: 0,
        start,
        budget_ms,
    };
    let found = split.run(0).map_err(Stop::Budget)?;
    let steps = split.steps;
    let found = found.map(|picked| {
        let mut p = vec![0usize; ndims];
        for (g, group) in groups.iter().enumerate() {
            let c = &group.choices[picked.get(g).copied().flatten().unwrap_or(0)];
            for &(d, x) in &c.dims {
                p[d] = x;
            }
        }
        p
    });
    Ok(Exact {
        found,
        patterns,
        steps,
    })
}

/// A reducer with no value in the pass over an event's classes.
const NONE: u64 = u64::MAX;

fn budget(ms: u64, when: &str) -> String {
    format!("time budget of {ms} ms exhausted during the exact decision ({when})")
}

fn collect_leaves<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
    match n {
        Node::And(k) | Node::Or(k) => k.iter().for_each(|c| collect_leaves(c, out)),
        Node::Not(c) => collect_leaves(c, out),
        Node::Const(_) => {}
        leaf => out.push(leaf),
    }
}

/// Keeps the first choice of each pattern: the truth values of the leaves
/// this group decides.
fn dedupe(
    choices: Vec<Choice>,
    leaves: &[&Node],
    dims: &mut [Option<usize>],
    vals: &mut [Option<Option<f64>>],
) -> Vec<Choice> {
    let mut seen: HashMap<Vec<bool>, ()> = HashMap::new();
    let mut out = Vec::new();
    for c in choices {
        set(&c, dims, vals);
        let pattern: Vec<bool> = leaves.iter().filter_map(|l| l.eval3(dims, vals)).collect();
        unset(&c, dims, vals);
        if seen.insert(pattern, ()).is_none() {
            out.push(c);
        }
    }
    out
}

fn set(c: &Choice, dims: &mut [Option<usize>], vals: &mut [Option<Option<f64>>]) {
    for &(d, x) in &c.dims {
        dims[d] = Some(x);
    }
    for &(a, v) in &c.vals {
        vals[a] = Some(v);
    }
}

fn unset(c: &Choice, dims: &mut [Option<usize>], vals: &mut [Option<Option<f64>>]) {
    for &(d, _) in &c.dims {
        dims[d] = None;
    }
    for &(a, _) in &c.vals {
        vals[a] = None;
    }
}

struct Split<'a> {
    prog: &'a Program,
    groups: &'a [Group],
    order: &'a [usize],
    dims: Vec<Option<usize>>,
    vals: Vec<Option<Option<f64>>>,
    steps: u64,
    start: &'a Instant,
    budget_ms: u64,
}

impl Split<'_> {
    /// Assigns the groups from `order[depth]` on; returns the choice per
    /// group (by group index) of a profile where the conditions differ.
    fn run(&mut self, depth: usize) -> Result<Option<Vec<Option<usize>>>, String> {
        let l = self.prog.left.eval3(&self.dims, &self.vals);
        let r = self.prog.right.eval3(&self.dims, &self.vals);
        if let (Some(a), Some(b)) = (l, r) {
            return Ok((a != b).then(|| vec![None; self.groups.len()]));
        }
        let Some(&g) = self.order.get(depth) else {
            return Err("internal error: a condition is undecided on a complete profile".into());
        };
        for (ci, c) in self.groups[g].choices.iter().enumerate() {
            self.steps += 1;
            if self.steps.is_multiple_of(1024)
                && self.start.elapsed().as_millis() as u64 > self.budget_ms
            {
                return Err(budget(
                    self.budget_ms,
                    &format!("{} partial profiles split", self.steps),
                ));
            }
            set(c, &mut self.dims, &mut self.vals);
            let outcome = self.run(depth + 1);
            unset(c, &mut self.dims, &mut self.vals);
            if let Some(mut picked) = outcome? {
                picked[g] = Some(ci);
                return Ok(Some(picked));
            }
        }
        Ok(None)
    }
}
