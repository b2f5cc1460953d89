//! "Did you mean" suggestions for misspelled keys, kinds and names.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                c,
                strsim::damerau_levenshtein(&word_lower, &c.to_lowercase()),
            )
        })
        .filter(|(c, d)| {
            // Allow one edit per three characters, at least one.
            let budget = (c.len().max(word.len()) / 3).max(1);
            *d <= budget
        })
        .min_by_key(|(_, d)| *d)
        .map(|(c, _)| c)
}

/// A hint sentence: `did you mean `x`?` or the list of valid choices.
pub fn hint<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    match did_you_mean(word, candidates.clone()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => {
            let list: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            format!("expected one of {}", list.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("contians", Some("contains"))]
    #[case("promt", Some("prompt"))]
    #[case("inptu", Some("input"))]
    #[case("xyz", None)]
    #[case("Regex", Some("regex"))]
    fn suggestions(#[case] word: &str, #[case] expected: Option<&str>) {
        let candidates = ["contains", "prompt", "input", "regex", "equals"];
        assert_eq!(did_you_mean(word, candidates), expected);
    }

    #[test]
    fn hint_lists_choices_when_nothing_is_close() {
        assert_eq!(hint("zzz", ["a", "b"]), "expected one of `a`, `b`");
        assert_eq!(hint("equls", ["equals"]), "did you mean `equals`?");
    }
}
