//! Choosing dimension tuples for `tribunal generate dimensions`: every
//! combination, or a seeded sample of `n` that covers every value and, where
//! `n` allows, every pair of values; and the coverage table printed after.
//!
//! The sample is a greedy pairwise covering (the AETG construction): each
//! new tuple is the best of [`CANDIDATES`] candidates, each started from a
//! still-uncovered pair and completed dimension by dimension with the value
//! that covers the most still-uncovered values and pairs; a tuple covering a
//! new value outranks any number of new pairs. Once everything is covered,
//! the rest of the `n` tuples are drawn at random among those not chosen.
//! Ties are broken by [`Rng`] from the seed, so the same suite and seed give
//! the same tuples on every machine. A greedy covering is not always the
//! smallest one: the table says what was covered, never assumes it.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;

use crate::case::Dimension;
use crate::rng::Rng;

/// Candidates tried for each sampled tuple.
pub const CANDIDATES: usize = 24;

/// The most tuples one generation may ask for.
pub const MAX_TUPLES: usize = 10_000;

/// A tuple: one value index per dimension, in the suite's dimension order.
pub type Tuple = Vec<usize>;

/// Which tuples to generate for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every combination (at most [`MAX_TUPLES`]).
    All,
    /// `n` tuples covering every value and, where `n` allows, every pair.
    Sample {
        /// How many tuples.
        n: usize,
        /// The seed of the tie-breaks.
        seed: u64,
    },
}

/// The number of combinations of `dims` (saturating).
pub fn combinations(dims: &[Dimension]) -> u128 {
    dims.iter()
        .map(|d| d.values.len() as u128)
        .fold(1u128, |a, b| a.saturating_mul(b))
}

/// The tuples `selection` picks, or an error saying why it cannot.
pub fn select(dims: &[Dimension], selection: Selection) -> Result<Vec<Tuple>, String> {
    if dims.is_empty() || dims.iter().any(|d| d.values.is_empty()) {
        return Err("the suite declares no `dimensions:` with values (hint: add `dimensions:` to the suite; see docs/datasets.md)".into());
    }
    let total = combinations(dims);
    match selection {
        Selection::All => {
            if total > MAX_TUPLES as u128 {
                return Err(format!(
                    "the dimensions have {total} combinations, more than the {MAX_TUPLES} one generation makes (hint: sample with `--n N`, which still covers every value and pair)"
                ));
            }
            Ok(all(dims))
        }
        Selection::Sample { n, seed } => {
            if n == 0 || n > MAX_TUPLES {
                return Err(format!(
                    "`--n {n}` is not a number of tuples from 1 to {MAX_TUPLES}"
                ));
            }
            Ok(sample(dims, n, seed))
        }
    }
}

/// Every combination, the first dimension varying slowest.
fn all(dims: &[Dimension]) -> Vec<Tuple> {
    let mut out: Vec<Tuple> = vec![Vec::new()];
    for d in dims {
        out = out
            .into_iter()
            .flat_map(|t| {
                (0..d.values.len()).map(move |v| {
                    let mut t = t.clone();
                    t.push(v);
                    t
                })
            })
            .collect();
    }
    out
}

type Pair = (usize, usize, usize, usize);

fn pairs_of(t: &[usize]) -> impl Iterator<Item = Pair> + '_ {
    (0..t.len()).flat_map(move |a| (a + 1..t.len()).map(move |b| (a, t[a], b, t[b])))
}

/// The greedy covering sample (see the module documentation).
fn sample(dims: &[Dimension], n: usize, seed: u64) -> Vec<Tuple> {
    let total = combinations(dims);
    let n = if total < n as u128 { total as usize } else { n };
    let mut rng = Rng::new(seed);
    let mut values: BTreeSet<(usize, usize)> = dims
        .iter()
        .enumerate()
        .flat_map(|(d, dim)| (0..dim.values.len()).map(move |v| (d, v)))
        .collect();
    let mut pairs: BTreeSet<Pair> = BTreeSet::new();
    for a in 0..dims.len() {
        for b in a + 1..dims.len() {
            for va in 0..dims[a].values.len() {
                for vb in 0..dims[b].values.len() {
                    pairs.insert((a, va, b, vb));
                }
            }
        }
    }
    let mut chosen: Vec<Tuple> = Vec::new();
    let mut seen: HashSet<Tuple> = HashSet::new();
    while chosen.len() < n {
        let mut best: Option<(usize, Tuple)> = None;
        if !values.is_empty() || !pairs.is_empty() {
            for _ in 0..CANDIDATES {
                let t = candidate(dims, &values, &pairs, &mut rng);
                if seen.contains(&t) {
                    continue;
                }
                let gain = gain_of(&t, &values, &pairs);
                if best.as_ref().is_none_or(|(g, _)| gain > *g) {
                    best = Some((gain, t));
                }
            }
        }
        let t = match best {
            Some((gain, t)) if gain > 0 => t,
            _ => match unchosen(dims, &seen, &mut rng) {
                Some(t) => t,
                None => break,
            },
        };
        for (d, &v) in t.iter().enumerate() {
            values.remove(&(d, v));
        }
        for p in pairs_of(&t) {
            pairs.remove(&p);
        }
        seen.insert(t.clone());
        chosen.push(t);
    }
    chosen
}

/// What a tuple would newly cover: a value counts more than every pair.
fn gain_of(t: &[usize], values: &BTreeSet<(usize, usize)>, pairs: &BTreeSet<Pair>) -> usize {
    let new_values = t
        .iter()
        .enumerate()
        .filter(|(d, v)| values.contains(&(*d, **v)))
        .count();
    let new_pairs = pairs_of(t).filter(|p| pairs.contains(p)).count();
    new_values * 1_000_000 + new_pairs
}

/// One candidate tuple: started from an uncovered pair (or value), the
/// other dimensions filled in a random order, each with the value of most gain.
fn candidate(
    dims: &[Dimension],
    values: &BTreeSet<(usize, usize)>,
    pairs: &BTreeSet<Pair>,
    rng: &mut Rng,
) -> Tuple {
    let mut t: Vec<Option<usize>> = vec![None; dims.len()];
    if !pairs.is_empty() {
        let &(a, va, b, vb) = pairs.iter().nth(rng.below(pairs.len())).expect("in range");
        t[a] = Some(va);
        t[b] = Some(vb);
    } else if !values.is_empty() {
        let &(d, v) = values
            .iter()
            .nth(rng.below(values.len()))
            .expect("in range");
        t[d] = Some(v);
    }
    let mut order: Vec<usize> = (0..dims.len()).filter(|&d| t[d].is_none()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for d in order {
        let mut best: Vec<usize> = Vec::new();
        let mut best_gain = 0usize;
        for v in 0..dims[d].values.len() {
            let mut gain = if values.contains(&(d, v)) {
                1_000_000
            } else {
                0
            };
            for (e, fixed) in t.iter().enumerate() {
                if let Some(fv) = fixed {
                    let p = if e < d {
                        (e, *fv, d, v)
                    } else {
                        (d, v, e, *fv)
                    };
                    if pairs.contains(&p) {
                        gain += 1;
                    }
                }
            }
            if best.is_empty() || gain > best_gain {
                best = vec![v];
                best_gain = gain;
            } else if gain == best_gain {
                best.push(v);
            }
        }
        t[d] = Some(best[rng.below(best.len())]);
    }
    t.into_iter().map(|v| v.unwrap_or(0)).collect()
}

/// A random tuple not chosen yet (`None` when every one is).
fn unchosen(dims: &[Dimension], seen: &HashSet<Tuple>, rng: &mut Rng) -> Option<Tuple> {
    for _ in 0..1000 {
        let t: Tuple = dims.iter().map(|d| rng.below(d.values.len())).collect();
        if !seen.contains(&t) {
            return Some(t);
        }
    }
    // Nearly everything is chosen: the first left, in combination order.
    all(dims).into_iter().find(|t| !seen.contains(t))
}

/// A tuple's id: its values joined with `.` (`refunds.ambiguous.angry`).
pub fn tuple_id(dims: &[Dimension], t: &[usize]) -> String {
    dims.iter()
        .zip(t)
        .map(|(d, &v)| d.values[v].0.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// A tuple's tags: `dimension:value` for each dimension.
pub fn tuple_tags(dims: &[Dimension], t: &[usize]) -> Vec<String> {
    dims.iter()
        .zip(t)
        .map(|(d, &v)| format!("{}:{}", d.name, d.values[v].0))
        .collect()
}

/// The coverage table: how many tuples hold each value, and for each pair
/// of dimensions a grid of how many hold each pair of values; the first
/// line says whether every value and every pair is covered.
pub fn coverage_table(dims: &[Dimension], tuples: &[Tuple]) -> String {
    let mut out = String::new();
    let total = combinations(dims);
    let value_count = |d: usize, v: usize| tuples.iter().filter(|t| t[d] == v).count();
    let pair_count = |a: usize, va: usize, b: usize, vb: usize| {
        tuples.iter().filter(|t| t[a] == va && t[b] == vb).count()
    };
    let all_values: usize = dims.iter().map(|d| d.values.len()).sum();
    let covered_values = dims
        .iter()
        .enumerate()
        .flat_map(|(d, dim)| (0..dim.values.len()).map(move |v| (d, v)))
        .filter(|&(d, v)| value_count(d, v) > 0)
        .count();
    let mut all_pairs = 0usize;
    let mut covered_pairs = 0usize;
    for a in 0..dims.len() {
        for b in a + 1..dims.len() {
            for va in 0..dims[a].values.len() {
                for vb in 0..dims[b].values.len() {
                    all_pairs += 1;
                    if pair_count(a, va, b, vb) > 0 {
                        covered_pairs += 1;
                    }
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "coverage: {} of {total} combinations; values {covered_values}/{all_values}{}; pairs {covered_pairs}/{all_pairs}{}",
        tuples.len(),
        if covered_values == all_values {
            " (all)"
        } else {
            " (NOT all)"
        },
        if covered_pairs == all_pairs {
            " (all)"
        } else {
            " (NOT all)"
        },
    );
    let width = dims
        .iter()
        .flat_map(|d| {
            d.values
                .iter()
                .map(move |(v, _)| d.name.len() + 1 + v.len())
        })
        .max()
        .unwrap_or(0);
    for (d, dim) in dims.iter().enumerate() {
        for (v, (value, _)) in dim.values.iter().enumerate() {
            let label = format!("{}={value}", dim.name);
            let _ = writeln!(out, "  {label:<width$}  {}", value_count(d, v));
        }
    }
    for a in 0..dims.len() {
        for b in a + 1..dims.len() {
            let _ = writeln!(out, "  {} × {}:", dims[a].name, dims[b].name);
            let rows = dims[a]
                .values
                .iter()
                .map(|(v, _)| v.len())
                .max()
                .unwrap_or(0);
            let mut head = format!("    {:<rows$}", "");
            for (vb, _) in &dims[b].values {
                let _ = write!(head, "  {vb}");
            }
            let _ = writeln!(out, "{}", head.trim_end());
            for (va, (value, _)) in dims[a].values.iter().enumerate() {
                let mut line = format!("    {value:<rows$}");
                for (vb, (bv, _)) in dims[b].values.iter().enumerate() {
                    let c = pair_count(a, va, b, vb).to_string();
                    let w = bv.len();
                    let _ = write!(line, "  {c:>w$}");
                }
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Location;

    fn dims(spec: &[(&str, &[&str])]) -> Vec<Dimension> {
        spec.iter()
            .map(|(n, vs)| Dimension {
                name: n.to_string(),
                values: vs
                    .iter()
                    .map(|v| (v.to_string(), format!("{v}.")))
                    .collect(),
                location: Location {
                    file: "s.yaml".into(),
                    line: 1,
                    col: 1,
                },
            })
            .collect()
    }

    fn uncovered_pairs(d: &[Dimension], tuples: &[Tuple]) -> usize {
        let mut missing = 0;
        for a in 0..d.len() {
            for b in a + 1..d.len() {
                for va in 0..d[a].values.len() {
                    for vb in 0..d[b].values.len() {
                        if !tuples.iter().any(|t| t[a] == va && t[b] == vb) {
                            missing += 1;
                        }
                    }
                }
            }
        }
        missing
    }

    #[test]
    fn every_combination_in_order() {
        let d = dims(&[("a", &["x", "y"]), ("b", &["1", "2", "3"])]);
        let ids: Vec<String> = select(&d, Selection::All)
            .unwrap()
            .iter()
            .map(|t| tuple_id(&d, t))
            .collect();
        assert_eq!(ids, ["x.1", "x.2", "x.3", "y.1", "y.2", "y.3"]);
    }

    #[test]
    fn a_sample_covers_every_pair_when_n_allows_and_is_seeded() {
        // 4 × 3 × 3 × 2 = 72 combinations; 12 tuples can cover all 4×3 pairs.
        let d = dims(&[
            ("a", &["a1", "a2", "a3", "a4"]),
            ("b", &["b1", "b2", "b3"]),
            ("c", &["c1", "c2", "c3"]),
            ("d", &["d1", "d2"]),
        ]);
        for seed in 0..20 {
            let t = select(&d, Selection::Sample { n: 16, seed }).unwrap();
            assert_eq!(t.len(), 16);
            assert_eq!(uncovered_pairs(&d, &t), 0, "seed {seed}");
            let distinct: HashSet<&Tuple> = t.iter().collect();
            assert_eq!(distinct.len(), 16);
            assert_eq!(t, select(&d, Selection::Sample { n: 16, seed }).unwrap());
        }
    }

    #[test]
    fn a_small_sample_still_covers_every_value() {
        let d = dims(&[("a", &["a1", "a2", "a3", "a4"]), ("b", &["b1", "b2", "b3"])]);
        let t = select(&d, Selection::Sample { n: 4, seed: 3 }).unwrap();
        for (dim, values) in d.iter().enumerate() {
            for v in 0..values.values.len() {
                assert!(t.iter().any(|t| t[dim] == v), "{dim}/{v} in {t:?}");
            }
        }
    }

    #[test]
    fn a_sample_larger_than_the_product_is_every_combination() {
        let d = dims(&[("a", &["x", "y"]), ("b", &["1", "2"])]);
        let mut t = select(&d, Selection::Sample { n: 50, seed: 1 }).unwrap();
        t.sort();
        assert_eq!(t, select(&d, Selection::All).unwrap());
    }
}
