//! Near-duplicate detection for generated requests.
//!
//! The measure is the **Jaccard similarity of normalized token sets**: a
//! text is lower-cased, split into runs of letters and digits (everything
//! else separates), and the set of those tokens is compared; two texts whose
//! `|A ∩ B| / |A ∪ B|` reaches the threshold are near-duplicates. Word order,
//! punctuation, case and repeated words do not count, so "Users on the pro
//! plan." and "users on the PRO plan" are the same request (similarity 1),
//! while "users on the pro plan" and "users not on the pro plan" share 5 of
//! 6 tokens (0.83). Two empty texts are duplicates; an empty and a non-empty
//! one are not.

use std::collections::BTreeSet;

/// The default threshold (`--dedupe-threshold`): 0.8.
pub const DEFAULT_THRESHOLD: f64 = 0.8;

/// The normalized token set of a text.
pub fn tokens(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The Jaccard similarity of two token sets, in `[0, 1]`.
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.intersection(b).count();
    let all = a.len() + b.len() - shared;
    shared as f64 / all as f64
}

/// Why a text was dropped: it is a near-duplicate of the text at `of`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    /// The index of the dropped text.
    pub index: usize,
    /// The index of the kept text it duplicates.
    pub of: usize,
    /// Their similarity.
    pub similarity: f64,
}

/// Splits `texts` (in the order given, which decides which of two
/// duplicates is kept: the first) into the indices kept and those dropped
/// as near-duplicates of a kept one (similarity ≥ `threshold`). A
/// threshold above 1 keeps everything.
pub fn dedupe<S: AsRef<str>>(texts: &[S], threshold: f64) -> (Vec<usize>, Vec<Dropped>) {
    let mut kept: Vec<(usize, BTreeSet<String>)> = Vec::new();
    let mut dropped = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let t = tokens(text.as_ref());
        let best = kept.iter().map(|(k, s)| (*k, jaccard(&t, s))).fold(
            None::<(usize, f64)>,
            |best, (k, sim)| match best {
                Some((_, b)) if b >= sim => best,
                _ => Some((k, sim)),
            },
        );
        match best {
            Some((of, similarity)) if similarity >= threshold => dropped.push(Dropped {
                index: i,
                of,
                similarity,
            }),
            _ => kept.push((i, t)),
        }
    }
    (kept.into_iter().map(|(i, _)| i).collect(), dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_punctuation_order_and_repeats_do_not_count() {
        let a = tokens("Users on the pro plan.");
        let b = tokens("the PRO plan: users on, users on");
        assert_eq!(jaccard(&a, &b), 1.0);
        let c = tokens("users not on the pro plan");
        assert!((jaccard(&a, &c) - 5.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn the_first_of_two_duplicates_is_kept() {
        let texts = [
            "Users on the pro plan",
            "Customers who bought twice",
            "users on the pro plan!",
            "users not on the pro plan",
        ];
        let (kept, dropped) = dedupe(&texts, 0.8);
        assert_eq!(kept, [0, 1]);
        assert_eq!(
            dropped.iter().map(|d| (d.index, d.of)).collect::<Vec<_>>(),
            [(2, 0), (3, 0)]
        );
        let (kept, _) = dedupe(&texts, 0.9);
        assert_eq!(kept, [0, 1, 3]);
        let (kept, _) = dedupe(&texts, 1.01);
        assert_eq!(kept, [0, 1, 2, 3]);
    }
}
