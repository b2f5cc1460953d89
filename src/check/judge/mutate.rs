//! Known-bad variants of an output: the deterministic mutations a judge
//! canary asks the judge about (see `docs/canaries.md`).
//!
//! Each [`Mutation`] turns an output the judge passed into one that a
//! sensitive judge should fail, or says it does not apply (`None`: there is
//! no number to swap, a single sentence to drop, ...). Every rule is a pure
//! function of the output and the text it answers (the reference when the
//! case has one, else the input); the two mutations that pick from a list
//! (`replace_entity`, `unsupported_claim`) pick with [`crate::rng::Rng`]
//! seeded by the output's SHA-256, so the same output always gets the same
//! mutant and replays from the same cassette entry.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// One kind of known-bad change to an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutation {
    /// Remove the answer sentence: the sentence sharing the most words with
    /// the reference (or the input); the first of equals.
    DropAnswer,
    /// Swap the first two distinct numbers (one number alone is doubled),
    /// move ISO dates a year back, weekdays three days on, months six on.
    SwapNumbers,
    /// Negate the first claim of the answer sentence: remove the first
    /// negation (`not`, `n't`, `cannot`, `never`, `no longer`), else put
    /// `not` after the first auxiliary verb.
    Negate,
    /// Replace the first named entity (a capitalised word not starting a
    /// sentence, or a code such as `WELCOME50`) everywhere with another name.
    ReplaceEntity,
    /// Keep the first half: the longest run of whole words of at most half
    /// the characters.
    Truncate,
    /// Append a confident claim nothing in the input supports.
    UnsupportedClaim,
}

impl Mutation {
    /// Every mutation, in report order.
    pub const ALL: [Mutation; 6] = [
        Mutation::DropAnswer,
        Mutation::SwapNumbers,
        Mutation::Negate,
        Mutation::ReplaceEntity,
        Mutation::Truncate,
        Mutation::UnsupportedClaim,
    ];

    /// The name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutation::DropAnswer => "drop_answer",
            Mutation::SwapNumbers => "swap_numbers",
            Mutation::Negate => "negate",
            Mutation::ReplaceEntity => "replace_entity",
            Mutation::Truncate => "truncate",
            Mutation::UnsupportedClaim => "unsupported_claim",
        }
    }

    /// The mutation named `name`.
    pub fn parse(name: &str) -> Option<Mutation> {
        Mutation::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The mutant of `output`; `None` when the mutation does not apply (or
    /// would not change the text). `context` is what the output answers:
    /// the reference, else the input.
    pub fn apply(self, output: &str, context: &str) -> Option<String> {
        let mutant = match self {
            Mutation::DropAnswer => drop_answer(output, context),
            Mutation::SwapNumbers => swap_numbers(output),
            Mutation::Negate => negate(output, context),
            Mutation::ReplaceEntity => replace_entity(output),
            Mutation::Truncate => truncate(output),
            Mutation::UnsupportedClaim => Some(unsupported_claim(output)),
        }?;
        (mutant != output && !mutant.trim().is_empty()).then_some(mutant)
    }
}

impl std::fmt::Display for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

/// Sentences as byte ranges: a sentence ends after `.`, `!` or `?` followed
/// by whitespace, or at a newline; surrounding whitespace is not part of it.
pub fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(at, c)) in chars.iter().enumerate() {
        let next = chars.get(i + 1).map(|x| x.1);
        let end = match c {
            '\n' => Some(at),
            '.' | '!' | '?' if next.is_none_or(char::is_whitespace) => Some(at + c.len_utf8()),
            _ => None,
        };
        if let Some(end) = end {
            push_trimmed(text, start, end, &mut out);
            start = end;
        }
    }
    push_trimmed(text, start, text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let piece = &text[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead + trail < piece.len() {
        out.push((start + lead, end - trail));
    }
}

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "for", "from", "i", "in", "is",
    "it", "me", "my", "of", "on", "or", "our", "so", "that", "the", "this", "to", "we", "what",
    "will", "with", "you", "your",
];

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// The answer sentence of `output`: the one sharing the most distinct
/// words (lower case, common words left out) with `context`; the first
/// sentence when none shares any, the first of equals otherwise.
pub fn answer_sentence(output: &str, context: &str) -> Option<(usize, usize)> {
    let want = words(context);
    let mut best: Option<((usize, usize), usize)> = None;
    for s in sentences(output) {
        let overlap = words(&output[s.0..s.1]).intersection(&want).count();
        if best.is_none_or(|(_, b)| overlap > b) {
            best = Some((s, overlap));
        }
    }
    best.map(|(s, _)| s)
}

fn drop_answer(output: &str, context: &str) -> Option<String> {
    let all = sentences(output);
    if all.len() < 2 {
        return None;
    }
    let (start, end) = answer_sentence(output, context)?;
    // Remove the sentence and the whitespace after it (or before it, for the last).
    let after = output[end..].len() - output[end..].trim_start().len();
    let (cut_start, cut_end) = if end + after < output.len() {
        (start, end + after)
    } else {
        let before = output[..start].len() - output[..start].trim_end().len();
        (start - before, end)
    };
    Some(format!("{}{}", &output[..cut_start], &output[cut_end..]))
}

static NUMBER_OR_DATE: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"\b(\d{4})-(\d{2})-(\d{2})\b|\d+(?:[.,]\d+)*"));

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn swap_numbers(output: &str) -> Option<String> {
    let re = NUMBER_OR_DATE.as_ref()?;
    let mut numbers: Vec<&str> = Vec::new();
    for m in re.captures_iter(output) {
        if m.get(1).is_none() {
            let n = m.get(0)?.as_str();
            if !numbers.contains(&n) {
                numbers.push(n);
            }
        }
    }
    let (first, second) = match numbers.as_slice() {
        [] => (None, None),
        [one] => (Some(*one), None),
        [a, b, ..] => (Some(*a), Some(*b)),
    };
    let doubled = |n: &str| -> String {
        match n.parse::<u64>() {
            Ok(0) => "1".to_string(),
            Ok(v) => v.saturating_mul(2).to_string(),
            Err(_) => format!("{n}0"),
        }
    };
    let replaced = re.replace_all(output, |c: &regex::Captures<'_>| {
        if let (Some(y), Some(m), Some(d)) = (c.get(1), c.get(2), c.get(3)) {
            let year: i64 = y.as_str().parse().unwrap_or(0);
            return format!("{:04}-{}-{}", year - 1, m.as_str(), d.as_str());
        }
        let n = &c[0];
        match (first, second) {
            (Some(a), Some(b)) if n == a => b.to_string(),
            (Some(a), Some(b)) if n == b => a.to_string(),
            (Some(a), None) if n == a => doubled(n),
            _ => n.to_string(),
        }
    });
    let mut text = replaced.into_owned();
    text = rotate_names(&text, &WEEKDAYS, 3);
    text = rotate_names(&text, &MONTHS, 6);
    Some(text)
}

/// Every whole-word occurrence of a name in `names` moved `by` places on.
fn rotate_names(text: &str, names: &[&str], by: usize) -> String {
    let alternatives = names.join("|");
    let Some(re) = re(&format!(r"\b({alternatives})\b")) else {
        return text.to_string();
    };
    re.replace_all(text, |c: &regex::Captures<'_>| {
        let i = names.iter().position(|n| *n == &c[0]).unwrap_or(0);
        names[(i + by) % names.len()].to_string()
    })
    .into_owned()
}

/// Negations and what removing them leaves, longest first where one
/// contains another.
const NEGATIONS: &[(&str, &str)] = &[
    ("can no longer", "can still"),
    ("no longer", "still"),
    ("cannot", "can"),
    ("can't", "can"),
    ("won't", "will"),
    ("don't", "do"),
    ("doesn't", "does"),
    ("didn't", "did"),
    ("isn't", "is"),
    ("aren't", "are"),
    ("wasn't", "was"),
    ("weren't", "were"),
    ("shouldn't", "should"),
    ("never", "always"),
    ("not ", ""),
];

const AUXILIARIES: &[&str] = &[
    "is", "are", "was", "were", "can", "will", "does", "do", "did", "has", "have", "had", "should",
    "must", "could", "would", "may",
];

fn negate(output: &str, context: &str) -> Option<String> {
    let (start, end) = answer_sentence(output, context)?;
    let sentence = &output[start..end];
    let negated = negate_sentence(sentence)?;
    Some(format!("{}{negated}{}", &output[..start], &output[end..]))
}

/// The sentence with its first negation removed, else `not` after its
/// first auxiliary verb; `None` when it has neither.
pub fn negate_sentence(sentence: &str) -> Option<String> {
    // The earliest negation in the sentence, the longest at one place
    // (matched case-insensitively on the sentence itself, so offsets are its own).
    let mut found: Option<(usize, usize, &str)> = None;
    for (neg, plain) in NEGATIONS {
        let Some(re) = re(&format!(r"(?i)\b{}", regex::escape(neg))) else {
            continue;
        };
        if let Some(m) = re.find(sentence) {
            let longer = |f: &(usize, usize, &str)| {
                m.start() < f.0 || (m.start() == f.0 && m.end() - m.start() > f.1 - f.0)
            };
            if found.as_ref().is_none_or(longer) {
                found = Some((m.start(), m.end(), plain));
            }
        }
    }
    if let Some((start, end, plain)) = found {
        let plain = if sentence[start..end].starts_with(char::is_uppercase) {
            capitalise(plain)
        } else {
            plain.to_string()
        };
        return Some(format!("{}{plain}{}", &sentence[..start], &sentence[end..]));
    }
    let mut offset = 0;
    for word in sentence.split_inclusive(|c: char| !c.is_alphanumeric()) {
        let bare = word.trim_end_matches(|c: char| !c.is_alphanumeric());
        if AUXILIARIES.contains(&bare.to_lowercase().as_str()) {
            let at = offset + bare.len();
            return Some(format!("{} not{}", &sentence[..at], &sentence[at..]));
        }
        offset += word.len();
    }
    None
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Names an entity is replaced with (one different from the original).
pub const REPLACEMENT_NAMES: [&str; 6] = [
    "Northwind",
    "Globex",
    "Initech",
    "Contoso",
    "Umbrella",
    "Vandelay",
];

static WORD: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"[A-Za-z][A-Za-z0-9]*"));

fn replace_entity(output: &str) -> Option<String> {
    let word = WORD.as_ref()?;
    let mut entity = None;
    for (start, end) in sentences(output) {
        let sentence = &output[start..end];
        for (i, m) in word.find_iter(sentence).enumerate() {
            let w = m.as_str();
            let code = w.chars().any(|c| c.is_ascii_digit())
                && w.chars().filter(char::is_ascii_uppercase).count() >= 2;
            let proper = i > 0 && w.starts_with(|c: char| c.is_ascii_uppercase()) && w != "I";
            if code || proper {
                entity = Some(w.to_string());
                break;
            }
        }
        if entity.is_some() {
            break;
        }
    }
    let entity = entity?;
    let mut rng = crate::rng::Rng::new(seed_of(output));
    let choices: Vec<&str> = REPLACEMENT_NAMES
        .iter()
        .copied()
        .filter(|n| *n != entity)
        .collect();
    let with = choices[rng.below(choices.len())];
    let with = if entity.chars().any(|c| c.is_ascii_digit()) {
        // A code stays a code: the replacement in capitals, the digits kept.
        let digits: String = entity.chars().filter(char::is_ascii_digit).collect();
        format!("{}{digits}", with.to_uppercase())
    } else {
        with.to_string()
    };
    let whole = re(&format!(r"\b{}\b", regex::escape(&entity)))?;
    Some(whole.replace_all(output, with.as_str()).into_owned())
}

fn truncate(output: &str) -> Option<String> {
    let text = output.trim_end();
    let half = text.chars().count() / 2;
    let mut end = 0;
    let mut words = 0;
    for (kept, (at, c)) in text.char_indices().enumerate() {
        if kept >= half {
            break;
        }
        if c.is_whitespace() && !text[..at].trim().is_empty() {
            end = at;
            words += 1;
        }
    }
    (words >= 1 && end > 0).then(|| text[..end].trim_end().to_string())
}

/// Claims appended by `unsupported_claim`: confident, specific, and
/// supported by nothing a case's input says.
pub const UNSUPPORTED_CLAIMS: [&str; 4] = [
    "Independent studies show this works for 97% of customers.",
    "This has been guaranteed by law since 2019.",
    "Our founder personally reviews every such request within the hour.",
    "Customers who do this also receive a free one-year upgrade.",
];

fn unsupported_claim(output: &str) -> String {
    let mut rng = crate::rng::Rng::new(seed_of(output));
    let claim = UNSUPPORTED_CLAIMS[rng.below(UNSUPPORTED_CLAIMS.len())];
    let body = output.trim_end();
    let tail = &output[body.len()..];
    let sep = if body.ends_with(['.', '!', '?']) || body.is_empty() {
        " "
    } else {
        ". "
    };
    format!("{body}{sep}{claim}{tail}")
}

/// The seed of an output's seeded choices: the first 8 bytes of its SHA-256.
pub fn seed_of(output: &str) -> u64 {
    let hex = crate::labels::output_hash(output);
    u64::from_str_radix(&hex[..16], 16).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const RETURNS: &str = "Returns are accepted within 30 days of delivery, so five-week-old shoes can no longer be returned. If they are faulty, reply with a photo and we will look at a warranty repair.";
    const RETURNS_Q: &str = "Can I still return shoes I bought five weeks ago?";

    #[test]
    fn sentences_split_on_end_marks_and_newlines() {
        let t = "One. Two?  Three!\nFour 3.5 five\n\n";
        let got: Vec<&str> = sentences(t).into_iter().map(|(a, b)| &t[a..b]).collect();
        assert_eq!(got, ["One.", "Two?", "Three!", "Four 3.5 five"]);
    }

    #[test]
    fn the_answer_sentence_overlaps_the_context_most() {
        let (a, b) = answer_sentence(RETURNS, RETURNS_Q).expect("a sentence");
        assert_eq!(
            &RETURNS[a..b],
            "Returns are accepted within 30 days of delivery, so five-week-old shoes can no longer be returned."
        );
        // No overlap at all: the first sentence.
        let t = "Hello there. Goodbye now.";
        let (a, b) = answer_sentence(t, "zzz").expect("a sentence");
        assert_eq!(&t[a..b], "Hello there.");
    }

    #[rstest]
    #[case::drop_answer(
        Mutation::DropAnswer,
        RETURNS,
        RETURNS_Q,
        Some("If they are faulty, reply with a photo and we will look at a warranty repair.")
    )]
    #[case::drop_answer_last(
        Mutation::DropAnswer,
        "Thanks for asking. The store opens at 9 on Monday.",
        "When does the store open on Monday?",
        Some("Thanks for asking.")
    )]
    #[case::drop_answer_single_sentence(Mutation::DropAnswer, "Yes.", "Is it?", None)]
    #[case::swap_two_numbers(
        Mutation::SwapNumbers,
        "Returns are accepted within 30 days; refunds take 5 days, 30 at most.",
        "",
        Some("Returns are accepted within 5 days; refunds take 30 days, 5 at most.")
    )]
    #[case::double_one_number(
        Mutation::SwapNumbers,
        "It has not moved in 48 hours.",
        "",
        Some("It has not moved in 96 hours.")
    )]
    #[case::dates_weekdays_months(
        Mutation::SwapNumbers,
        "Shipped 2026-11-25, arriving Monday in December.",
        "",
        Some("Shipped 2025-11-25, arriving Thursday in June.")
    )]
    #[case::no_numbers(Mutation::SwapNumbers, "Nothing to count here.", "", None)]
    #[case::remove_negation(
        Mutation::Negate,
        RETURNS,
        RETURNS_Q,
        Some(
            "Returns are accepted within 30 days of delivery, so five-week-old shoes can still be returned. If they are faulty, reply with a photo and we will look at a warranty repair."
        )
    )]
    #[case::add_negation(
        Mutation::Negate,
        "The store is open until 9 on weekdays.",
        "store open",
        Some("The store is not open until 9 on weekdays.")
    )]
    #[case::contraction(
        Mutation::Negate,
        "We don't ship abroad.",
        "ship abroad",
        Some("We do ship abroad.")
    )]
    #[case::capital_negation(
        Mutation::Negate,
        "Never share your password.",
        "password",
        Some("Always share your password.")
    )]
    #[case::nothing_to_negate(Mutation::Negate, "Thanks!", "thanks", None)]
    #[case::replace_code(
        Mutation::ReplaceEntity,
        "Yes! Use the code WELCOME50 at checkout for 50% off your first order.",
        "",
        Some("Yes! Use the code VANDELAY50 at checkout for 50% off your first order.")
    )]
    #[case::replace_name(
        Mutation::ReplaceEntity,
        "Your parcel travels with DHL. DHL delivers on weekdays.",
        "",
        Some("Your parcel travels with Northwind. Northwind delivers on weekdays.")
    )]
    #[case::no_entity(Mutation::ReplaceEntity, "Returns take thirty days.", "", None)]
    #[case::truncate(
        Mutation::Truncate,
        "Returns are accepted within 30 days of delivery.",
        "",
        Some("Returns are accepted")
    )]
    #[case::truncate_one_word(Mutation::Truncate, "Yes.", "", None)]
    #[case::claim_after_a_sentence(
        Mutation::UnsupportedClaim,
        "Returns are accepted within 30 days.",
        "",
        Some(
            "Returns are accepted within 30 days. Independent studies show this works for 97% of customers."
        )
    )]
    #[case::claim_without_a_full_stop(
        Mutation::UnsupportedClaim,
        "Thirty days\n",
        "",
        Some("Thirty days. Customers who do this also receive a free one-year upgrade.\n")
    )]
    fn mutations_give_exactly_these_texts(
        #[case] m: Mutation,
        #[case] output: &str,
        #[case] context: &str,
        #[case] want: Option<&str>,
    ) {
        assert_eq!(m.apply(output, context).as_deref(), want);
    }

    proptest::proptest! {
        /// Any text, however unusual its Unicode, mutates without panicking,
        /// and a mutant always differs from the output.
        #[test]
        fn mutations_never_panic(output in "\\PC{0,80}", context in "\\PC{0,20}") {
            for m in Mutation::ALL {
                if let Some(mutant) = m.apply(&output, &context) {
                    proptest::prop_assert_ne!(mutant, output.clone());
                }
            }
        }
    }

    #[test]
    fn negations_with_unicode_before_them_keep_their_offsets() {
        // "İ" lower-cases to three bytes: offsets come from the sentence itself.
        assert_eq!(
            negate_sentence("İstanbul orders cannot be returned."),
            Some("İstanbul orders can be returned.".to_string())
        );
    }

    #[test]
    fn seeded_choices_are_stable_and_names_round_trip() {
        let a = Mutation::UnsupportedClaim.apply(RETURNS, "");
        assert_eq!(a, Mutation::UnsupportedClaim.apply(RETURNS, ""));
        for m in Mutation::ALL {
            assert_eq!(Mutation::parse(m.as_str()), Some(m));
        }
        assert_eq!(Mutation::parse("drop"), None);
    }
}
