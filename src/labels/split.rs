//! The held-out split of a label file: which labels a judge may show as
//! few-shot examples, and which it is measured on.
//!
//! A judge with `few_shot: n` draws its examples from a fixed **few-shot
//! pool** of `n` labels; every other label is **held out**: `tribunal
//! align` and calibrated pass rates measure agreement on held-out labels
//! only, so no label the judge has seen as an example counts towards its
//! agreement. The pool is deterministic: labels with a critique, ordered by
//! the SHA-256 of their id (`case`, `variant`, `check` joined by `::`, an
//! absent part empty), taken alternately fail, pass (fail first: failures
//! carry the most telling critiques) until `n` are taken or none is left.
//! It depends on the labels' ids only, so adding a label moves at most the
//! labels that sort after it, and relabelling an output never moves it.
//! Labels an expert picked as examples (`few_shot: true`, set from the
//! agreement view of `tribunal review`) come first, in the same id order;
//! the alternating fill takes the rest.

use super::{Label, LabelFile, output_hash};

/// The id a label is split by: `case::variant::check`.
pub fn label_id(label: &Label) -> String {
    format!(
        "{}::{}::{}",
        label.case,
        label.variant.as_deref().unwrap_or(""),
        label.check.as_deref().unwrap_or("")
    )
}

/// The few-shot pool of a judge with `few_shot: n`, in the order the
/// examples are shown.
pub fn few_shot_pool(file: &LabelFile, n: usize) -> Vec<&Label> {
    if n == 0 {
        return Vec::new();
    }
    let mut eligible: Vec<(String, &Label)> = file
        .labels
        .iter()
        .filter(|l| !l.critique.trim().is_empty())
        .map(|l| (output_hash(&label_id(l)), l))
        .collect();
    eligible.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<&Label> = eligible
        .iter()
        .filter(|(_, l)| l.few_shot)
        .map(|(_, l)| *l)
        .take(n)
        .collect();
    let mut fails = eligible
        .iter()
        .filter(|(_, l)| !l.few_shot && !l.verdict.is_pass());
    let mut passes = eligible
        .iter()
        .filter(|(_, l)| !l.few_shot && l.verdict.is_pass());
    while out.len() < n {
        let mut took = false;
        for next in [fails.next(), passes.next()].into_iter().flatten() {
            if out.len() < n {
                out.push(next.1);
                took = true;
            }
        }
        if !took {
            break;
        }
    }
    out
}

/// Whether `label` is in the few-shot pool of a judge with `few_shot: n`.
pub fn in_pool(file: &LabelFile, n: usize, label: &Label) -> bool {
    few_shot_pool(file, n)
        .iter()
        .any(|l| l.key() == label.key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::HumanVerdict;

    fn label(case: &str, verdict: HumanVerdict, critique: &str) -> Label {
        Label {
            case: case.into(),
            variant: None,
            check: None,
            verdict,
            score: None,
            critique: critique.into(),
            tags: Vec::new(),
            few_shot: false,
            labeller: "l".into(),
            date: "2026-11-20".into(),
            output_sha256: output_hash(case),
            input: None,
            output: case.into(),
        }
    }

    #[test]
    fn the_pool_is_ordered_by_id_hash_alternating_fail_and_pass() {
        let mut file = LabelFile::new("s");
        for (c, v) in [
            ("a", HumanVerdict::Pass),
            ("b", HumanVerdict::Fail),
            ("c", HumanVerdict::Pass),
            ("d", HumanVerdict::Fail),
            ("e", HumanVerdict::Pass),
        ] {
            file.upsert(label(c, v, "why"));
        }
        file.upsert(label("no-critique", HumanVerdict::Fail, " "));
        // sha256("a::::") … sorted: the hashes below fix the order.
        let mut ids: Vec<(String, &str)> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|c| (output_hash(&format!("{c}::::")), *c))
            .collect();
        ids.sort();
        let fails: Vec<&str> = ids
            .iter()
            .map(|x| x.1)
            .filter(|c| ["b", "d"].contains(c))
            .collect();
        let passes: Vec<&str> = ids
            .iter()
            .map(|x| x.1)
            .filter(|c| ["a", "c", "e"].contains(c))
            .collect();
        let pool: Vec<&str> = few_shot_pool(&file, 3)
            .iter()
            .map(|l| l.case.as_str())
            .collect();
        assert_eq!(pool, [fails[0], passes[0], fails[1]]);
        // Asking for more than there are takes every label with a critique.
        assert_eq!(few_shot_pool(&file, 10).len(), 5);
        assert!(few_shot_pool(&file, 0).is_empty());
        assert!(in_pool(
            &file,
            3,
            file.find(fails[1], None, None).expect("label")
        ));
        assert!(!in_pool(
            &file,
            3,
            file.find("no-critique", None, None).expect("label")
        ));
        assert_eq!(label_id(&label("x", HumanVerdict::Pass, "")), "x::::");
    }

    #[test]
    fn picked_labels_come_first_and_the_fill_takes_the_rest() {
        let mut file = LabelFile::new("s");
        for (c, v) in [
            ("a", HumanVerdict::Pass),
            ("b", HumanVerdict::Fail),
            ("c", HumanVerdict::Pass),
            ("d", HumanVerdict::Fail),
        ] {
            file.upsert(label(c, v, "why"));
        }
        let mut picked = label("c", HumanVerdict::Pass, "why");
        picked.few_shot = true;
        file.upsert(picked);
        assert!(few_shot_pool(&LabelFile::new("s"), 2).is_empty());
        let pool: Vec<&str> = few_shot_pool(&file, 2)
            .iter()
            .map(|l| l.case.as_str())
            .collect();
        // `c` is picked, so it leads; the fill starts with the first fail
        // by id hash.
        let first_fail = ["b", "d"]
            .iter()
            .min_by_key(|c| output_hash(&format!("{c}::::")))
            .copied()
            .expect("two fails");
        assert_eq!(pool, ["c", first_fail]);
        // A pool of one holds the picked label only.
        assert_eq!(few_shot_pool(&file, 1)[0].case, "c");
    }
}
