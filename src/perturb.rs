//! Deterministic perturbations of an input text, for invariance checks: the
//! same perturbation of the same text is always the same text, so its model
//! call has one cassette and replays.
//!
//! | YAML | What it does |
//! |---|---|
//! | `lowercase` / `uppercase` | the whole text in lower / upper case |
//! | `whitespace` | every run of spaces becomes two spaces, and the text gets a leading space and a trailing newline |
//! | `punctuation` | drops `, . ; : ! ?` where followed by whitespace or at the end (`3.5` keeps its point) |
//! | `{typos: {seed: S, count: N}}` | swaps two neighbouring letters inside a word of 4+ letters (never its first letter) at N distinct places chosen by seed S |
//! | `reorder_facts` / `{reorder_facts: {seed: S}}` | the list lines (`- `, `* `, `1. `) in reverse order, or shuffled by seed S (never left as they were) |
//! | `{distractor: TEXT}` / `{distractor: {text: TEXT, at: start}}` | inserts an irrelevant sentence at the end (or start) |
//!
//! A perturbation that cannot change the text (no list lines to reorder, no
//! word long enough for a typo) is an error, never an unchanged input that
//! would hold by construction.

use serde_json::Value;

use crate::diag::{Seg, SpecError};
use crate::rng::Rng;

/// The perturbation names, as written in YAML.
pub const NAMES: &[&str] = &[
    "lowercase",
    "uppercase",
    "whitespace",
    "punctuation",
    "typos",
    "reorder_facts",
    "distractor",
];

/// One perturbation, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Perturbation {
    /// The whole text lower-cased.
    Lowercase,
    /// The whole text upper-cased.
    Uppercase,
    /// Doubled spaces, a leading space and a trailing newline.
    Whitespace,
    /// Sentence and clause punctuation dropped.
    Punctuation,
    /// `count` swaps of neighbouring letters, placed by `seed`.
    Typos {
        /// The seed.
        seed: u64,
        /// How many swaps.
        count: u32,
    },
    /// List lines reversed (`None`) or shuffled by a seed.
    ReorderFacts {
        /// The seed of the shuffle; `None` reverses.
        seed: Option<u64>,
    },
    /// An irrelevant sentence inserted.
    Distractor {
        /// The sentence.
        text: String,
        /// At the start instead of the end.
        at_start: bool,
    },
}

impl Perturbation {
    /// Parses one item of `perturb:`; error paths are relative to the item.
    pub fn parse(value: &Value) -> Result<Perturbation, SpecError> {
        let unknown = |name: &str| {
            SpecError::new(
                vec![],
                format!("unknown perturbation `{name}`"),
                Some(crate::diag::hint(name, NAMES.iter().copied())),
            )
        };
        match value {
            Value::String(name) => match name.as_str() {
                "lowercase" => Ok(Perturbation::Lowercase),
                "uppercase" => Ok(Perturbation::Uppercase),
                "whitespace" => Ok(Perturbation::Whitespace),
                "punctuation" => Ok(Perturbation::Punctuation),
                "reorder_facts" => Ok(Perturbation::ReorderFacts { seed: None }),
                "typos" => Err(SpecError::new(
                    vec![],
                    "`typos` needs a seed and a count",
                    Some("write `{typos: {seed: 7, count: 2}}`".into()),
                )),
                "distractor" => Err(SpecError::new(
                    vec![],
                    "`distractor` needs the sentence to insert",
                    Some("write `{distractor: \"The office is closed on Sundays.\"}`".into()),
                )),
                other => Err(unknown(other)),
            },
            Value::Object(m) if m.len() == 1 => {
                let (name, v) = m.iter().next().expect("one entry");
                let at = |k: &str| vec![Seg::Key(name.clone()), Seg::Key(k.into())];
                let int = |k: &str, v: Option<&Value>| -> Result<Option<u64>, SpecError> {
                    match v {
                        None => Ok(None),
                        Some(x) => x.as_u64().map(Some).ok_or_else(|| {
                            SpecError::new(at(k), format!("`{k}` is a whole number"), None)
                        }),
                    }
                };
                match name.as_str() {
                    "typos" => {
                        let seed = int("seed", v.get("seed"))?.unwrap_or(0);
                        let count = int("count", v.get("count"))?.unwrap_or(1);
                        if !(1..=20).contains(&count) {
                            return Err(SpecError::new(
                                at("count"),
                                format!("`count: {count}` is not from 1 to 20"),
                                Some("a few typos are the test; write e.g. `count: 2`".into()),
                            ));
                        }
                        only_keys(name, v, &["seed", "count"])?;
                        Ok(Perturbation::Typos {
                            seed,
                            count: count as u32,
                        })
                    }
                    "reorder_facts" => {
                        only_keys(name, v, &["seed"])?;
                        Ok(Perturbation::ReorderFacts {
                            seed: int("seed", v.get("seed"))?,
                        })
                    }
                    "distractor" => match v {
                        Value::String(t) if !t.trim().is_empty() => Ok(Perturbation::Distractor {
                            text: t.clone(),
                            at_start: false,
                        }),
                        Value::Object(o) => {
                            only_keys(name, v, &["text", "at"])?;
                            let text = o
                                .get("text")
                                .and_then(Value::as_str)
                                .filter(|t| !t.trim().is_empty())
                                .ok_or_else(|| {
                                    SpecError::new(
                                        at("text"),
                                        "`text` is the sentence to insert",
                                        None,
                                    )
                                })?;
                            let at_start = match o.get("at").and_then(Value::as_str) {
                                None | Some("end") => false,
                                Some("start") => true,
                                Some(x) => {
                                    return Err(SpecError::new(
                                        at("at"),
                                        format!("`at: {x}` is not `start` or `end`"),
                                        None,
                                    ));
                                }
                            };
                            Ok(Perturbation::Distractor {
                                text: text.to_string(),
                                at_start,
                            })
                        }
                        _ => Err(SpecError::new(
                            vec![Seg::Key(name.clone())],
                            "`distractor` is the sentence to insert",
                            None,
                        )),
                    },
                    "lowercase" | "uppercase" | "whitespace" | "punctuation" => {
                        Err(SpecError::new(
                            vec![Seg::Key(name.clone())],
                            format!("`{name}` takes no parameters"),
                            Some(format!("write `{name}` alone")),
                        ))
                    }
                    other => Err(unknown(other)),
                }
            }
            _ => Err(SpecError::new(
                vec![],
                "a perturbation is a name (`lowercase`) or a mapping with one name (`{typos: {seed: 7, count: 2}}`)",
                None,
            )),
        }
    }

    /// The name shown in verdicts: `typos(seed 7, count 2)`.
    pub fn label(&self) -> String {
        match self {
            Perturbation::Lowercase => "lowercase".into(),
            Perturbation::Uppercase => "uppercase".into(),
            Perturbation::Whitespace => "whitespace".into(),
            Perturbation::Punctuation => "punctuation".into(),
            Perturbation::Typos { seed, count } => format!("typos(seed {seed}, count {count})"),
            Perturbation::ReorderFacts { seed: None } => "reorder_facts".into(),
            Perturbation::ReorderFacts { seed: Some(s) } => format!("reorder_facts(seed {s})"),
            Perturbation::Distractor { at_start, .. } => {
                format!("distractor({})", if *at_start { "start" } else { "end" })
            }
        }
    }

    /// The perturbed text, or why this text cannot be perturbed so.
    pub fn apply(&self, text: &str) -> Result<String, String> {
        let out = match self {
            Perturbation::Lowercase => text.to_lowercase(),
            Perturbation::Uppercase => text.to_uppercase(),
            Perturbation::Whitespace => {
                let spaced: Vec<String> = text
                    .split('\n')
                    .map(|line| line.split_whitespace().collect::<Vec<_>>().join("  "))
                    .collect();
                format!(" {}\n", spaced.join("\n"))
            }
            Perturbation::Punctuation => punctuation(text),
            Perturbation::Typos { seed, count } => typos(text, *seed, *count)?,
            Perturbation::ReorderFacts { seed } => reorder(text, *seed)?,
            Perturbation::Distractor { text: s, at_start } => {
                if *at_start {
                    format!("{} {text}", s.trim())
                } else {
                    format!("{} {}", text.trim_end(), s.trim())
                }
            }
        };
        if out == text {
            return Err(format!(
                "`{}` leaves this input unchanged, so it tests nothing",
                self.label()
            ));
        }
        Ok(out)
    }
}

fn only_keys(name: &str, v: &Value, keys: &[&str]) -> Result<(), SpecError> {
    if let Value::Object(m) = v {
        for k in m.keys() {
            if !keys.contains(&k.as_str()) {
                return Err(SpecError::at_key(
                    k,
                    format!("unknown key `{k}` in `{name}`"),
                    Some(crate::diag::hint(k, keys.iter().copied())),
                ))
                .map_err(|mut e| {
                    e.path.insert(0, Seg::Key(name.into()));
                    e
                });
            }
        }
        Ok(())
    } else if v.is_null() {
        Ok(())
    } else {
        Err(SpecError::new(
            vec![Seg::Key(name.into())],
            format!("`{name}` takes a mapping of {}", keys.join(", ")),
            None,
        ))
    }
}

fn punctuation(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let next_is_gap = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if matches!(c, ',' | '.' | ';' | ':' | '!' | '?') && next_is_gap {
            continue;
        }
        out.push(c);
    }
    out
}

fn typos(text: &str, seed: u64, count: u32) -> Result<String, String> {
    let mut chars: Vec<char> = text.chars().collect();
    // Swappable positions: i and i+1 both letters, inside a word of 4+
    // letters, and i not the word's first letter.
    let mut spots: Vec<usize> = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        if !chars[start].is_alphabetic() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < chars.len() && chars[end].is_alphabetic() {
            end += 1;
        }
        if end - start >= 4 {
            spots.extend(start + 1..end - 1);
        }
        start = end;
    }
    spots.retain(|&i| chars[i] != chars[i + 1]);
    if spots.is_empty() {
        return Err(
            "`typos` found no word of 4 or more letters to misspell in this input".to_string(),
        );
    }
    // Distinct places, so that no swap undoes another.
    let mut rng = Rng::new(seed);
    for _ in 0..count {
        if spots.is_empty() {
            break;
        }
        let i = spots.swap_remove(rng.below(spots.len()));
        chars.swap(i, i + 1);
    }
    Ok(chars.into_iter().collect())
}

fn is_item(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("- ") || t.starts_with("* ") {
        return true;
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && (t[digits..].starts_with(". ") || t[digits..].starts_with(") "))
}

fn reorder(text: &str, seed: Option<u64>) -> Result<String, String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let at: Vec<usize> = (0..lines.len()).filter(|&i| is_item(lines[i])).collect();
    if at.len() < 2 {
        return Err(
            "`reorder_facts` needs at least two list lines (`- `, `* ` or `1. `) in the input"
                .to_string(),
        );
    }
    let items: Vec<&str> = at.iter().map(|&i| lines[i]).collect();
    let order: Vec<usize> = match seed {
        None => (0..items.len()).rev().collect(),
        Some(s) => {
            let mut rng = Rng::new(s);
            let identity: Vec<usize> = (0..items.len()).collect();
            let mut order = identity.clone();
            // Fisher-Yates; a shuffle that lands on the identity is rotated
            // by one, so the order always changes.
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            if order == identity {
                order.rotate_left(1);
            }
            order
        }
    };
    // A numbered list keeps its numbers in place: only the facts move.
    let body = |line: &str| -> (String, String) {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            (
                format!("{indent}{}", &t[..digits + 2]),
                t[digits + 2..].to_string(),
            )
        } else {
            (format!("{indent}{}", &t[..2]), t[2..].to_string())
        }
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for (slot, &from) in at.iter().zip(&order) {
        let (marker, _) = body(lines[*slot]);
        let (_, fact) = body(items[from]);
        out[*slot] = format!("{marker}{fact}");
    }
    Ok(out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Value) -> Perturbation {
        Perturbation::parse(&v).expect("parses")
    }

    const TEXT: &str =
        "Please classify this email: Win a FREE cruise, today only! Reply by 5.30 pm.";

    #[test]
    fn each_perturbation_gives_its_exact_text() {
        assert_eq!(
            p(json!("lowercase")).apply(TEXT).unwrap(),
            "please classify this email: win a free cruise, today only! reply by 5.30 pm."
        );
        assert_eq!(
            p(json!("uppercase")).apply("Is it spam?").unwrap(),
            "IS IT SPAM?"
        );
        assert_eq!(
            p(json!("whitespace")).apply("Is it\nspam?").unwrap(),
            " Is  it\nspam?\n"
        );
        assert_eq!(
            p(json!("punctuation")).apply(TEXT).unwrap(),
            "Please classify this email Win a FREE cruise today only Reply by 5.30 pm"
        );
        assert_eq!(
            p(json!({"typos": {"seed": 7, "count": 2}}))
                .apply(TEXT)
                .unwrap(),
            "Please classify this email: Win a FREE cruise, today onyl! Repyl by 5.30 pm."
        );
        assert_eq!(
            p(json!({"distractor": "The office plants were watered."}))
                .apply("Is it spam?")
                .unwrap(),
            "Is it spam? The office plants were watered."
        );
        assert_eq!(
            p(json!({"distractor": {"text": "Unrelated.", "at": "start"}}))
                .apply("Is it spam?")
                .unwrap(),
            "Unrelated. Is it spam?"
        );
    }

    #[test]
    fn reordering_moves_the_facts_and_keeps_the_rest() {
        let text = "Facts:\n- the order is late\n- the customer paid\n- it is a gift\nWhat now?";
        assert_eq!(
            p(json!("reorder_facts")).apply(text).unwrap(),
            "Facts:\n- it is a gift\n- the customer paid\n- the order is late\nWhat now?"
        );
        let numbered = "1. red\n2. green\n3. blue";
        assert_eq!(
            p(json!({"reorder_facts": {"seed": 3}}))
                .apply(numbered)
                .unwrap(),
            "1. blue\n2. red\n3. green"
        );
        assert_eq!(
            p(json!("reorder_facts")).apply("no list here").unwrap_err(),
            "`reorder_facts` needs at least two list lines (`- `, `* ` or `1. `) in the input"
        );
    }

    #[test]
    fn a_perturbation_that_changes_nothing_is_an_error() {
        assert_eq!(
            p(json!("lowercase")).apply("already lower").unwrap_err(),
            "`lowercase` leaves this input unchanged, so it tests nothing"
        );
        assert_eq!(
            p(json!({"typos": {"seed": 1, "count": 1}}))
                .apply("a is ok")
                .unwrap_err(),
            "`typos` found no word of 4 or more letters to misspell in this input"
        );
    }

    #[test]
    fn typos_are_the_same_for_the_same_seed() {
        let t = p(json!({"typos": {"seed": 42, "count": 3}}));
        assert_eq!(t.apply(TEXT), t.apply(TEXT));
        let other = p(json!({"typos": {"seed": 43, "count": 3}}));
        assert_ne!(t.apply(TEXT), other.apply(TEXT));
    }

    #[test]
    fn bad_perturbations_are_refused() {
        let msg = |v: Value| Perturbation::parse(&v).expect_err("refused").to_string();
        assert_eq!(
            msg(json!("lowercaes")),
            "unknown perturbation `lowercaes` (hint: did you mean `lowercase`?)"
        );
        assert_eq!(
            msg(json!("typos")),
            "`typos` needs a seed and a count (hint: write `{typos: {seed: 7, count: 2}}`)"
        );
        assert_eq!(
            msg(json!({"typos": {"seed": 1, "count": 0}})),
            "`count: 0` is not from 1 to 20 (hint: a few typos are the test; write e.g. `count: 2`)"
        );
    }
}
