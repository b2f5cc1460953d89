//! Scrubbing personal data out of imported text: each match of a rule is
//! replaced by the rule's typed placeholder (`<EMAIL>`), and only the count
//! per rule is reported, never what was replaced.
//!
//! The default rules, applied after the user's own (so a specific pattern
//! wins), in this order:
//!
//! | rule | placeholder | what matches |
//! |---|---|---|
//! | `email` | `<EMAIL>` | `local@domain.tld` |
//! | `iban` | `<IBAN>` | two letters, two check digits and 11–30 letters or digits (spaces allowed every four), whose ISO 13616 mod-97 check is 1 |
//! | `card` | `<CARD>` | 13–19 digits, optionally in groups split by spaces or `-`, that pass the Luhn check |
//! | `account` | `<ACCOUNT>` | 6–20 digits (spaces or `-` between) after `account`, `acct`, `a/c` (optionally `no`, `number`, `#`, `:`) |
//! | `phone` | `<PHONE>` | 7–15 digits written with a leading `+`, or with separators (spaces, `.`, `-`, brackets) between groups |
//!
//! A bare run of digits is not taken for a phone number (it is as likely an
//! order number); a card number that fails the Luhn check is left as it
//! is, unless a later rule matches it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Most user rules.
pub const MAX_USER_RULES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    None,
    Luhn,
    Iban,
    PhoneShape,
}

/// One scrubbing rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule's name, as counts are reported (`email`).
    pub name: String,
    /// What a match is replaced by (`<EMAIL>`).
    pub placeholder: String,
    regex: Regex,
    test: Test,
    /// Which capture group is replaced (0: the whole match).
    group: usize,
}

static DEFAULTS: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |name: &str, pattern: &str, test: Test, group: usize| Rule {
        name: name.into(),
        placeholder: format!("<{}>", name.to_ascii_uppercase()),
        regex: Regex::new(pattern).expect("static regex"),
        test,
        group,
    };
    vec![
        rule(
            "email",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            Test::None,
            0,
        ),
        rule(
            "iban",
            r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b",
            Test::Iban,
            0,
        ),
        rule("card", r"\b[0-9](?:[ -]?[0-9]){12,18}\b", Test::Luhn, 0),
        rule(
            "account",
            r"(?i)\b(?:account|acct|a/c)(?:\s*(?:no\.?|number|#))?\s*[:#]?\s*([0-9](?:[ -]?[0-9]){5,19})\b",
            Test::None,
            1,
        ),
        rule(
            "phone",
            r"(?:\+[0-9]|\(?\b[0-9])[0-9(). -]{5,22}[0-9]\b",
            Test::PhoneShape,
            0,
        ),
    ]
});

/// The names of the default rules, in the order they apply.
pub fn default_rule_names() -> Vec<&'static str> {
    vec!["email", "iban", "card", "account", "phone"]
}

/// Rules applied in order; see the module documentation for the defaults.
#[derive(Debug, Clone)]
pub struct Scrubber {
    rules: Vec<Rule>,
}

/// How many matches each rule replaced, by rule name.
pub type Counts = BTreeMap<String, usize>;

impl Scrubber {
    /// The user's rules `(name, regex)` first, then the default rules. A
    /// regex that does not compile (or is too large) is an error naming it.
    pub fn new(user: &[(String, String)]) -> Result<Scrubber, String> {
        if user.len() > MAX_USER_RULES {
            return Err(format!(
                "{} scrubbing rules, more than the {MAX_USER_RULES} allowed",
                user.len()
            ));
        }
        let mut rules = Vec::new();
        for (name, pattern) in user {
            let name = name.trim();
            let regex = crate::config::pii_rule(name, pattern)?;
            rules.push(Rule {
                name: name.to_string(),
                placeholder: format!("<{}>", name.to_ascii_uppercase()),
                regex,
                test: Test::None,
                group: 0,
            });
        }
        rules.extend(DEFAULTS.iter().cloned());
        Ok(Scrubber { rules })
    }

    /// The rules' names, in the order they apply.
    pub fn rule_names(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.name.as_str()).collect()
    }

    /// `text` with every match replaced, adding to `counts`.
    pub fn scrub(&self, text: &str, counts: &mut Counts) -> String {
        let mut cur = text.to_string();
        for rule in &self.rules {
            let mut n = 0;
            let mut out = String::with_capacity(cur.len());
            let mut last = 0;
            for caps in rule.regex.captures_iter(&cur) {
                let Some(m) = caps.get(rule.group) else {
                    continue;
                };
                if m.start() < last {
                    continue;
                }
                let Some(len) = passes(rule.test, m.as_str()) else {
                    continue;
                };
                out.push_str(&cur[last..m.start()]);
                out.push_str(&rule.placeholder);
                last = m.start() + len;
                n += 1;
            }
            if n > 0 {
                out.push_str(&cur[last..]);
                cur = out;
                *counts.entry(rule.name.clone()).or_default() += n;
            }
        }
        cur
    }

    /// Every string in `value` scrubbed (object keys are kept).
    pub fn scrub_value(&self, value: &Value, counts: &mut Counts) -> Value {
        match value {
            Value::String(s) => Value::String(self.scrub(s, counts)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.scrub_value(v, counts)).collect())
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.scrub_value(v, counts)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// How much of a match is replaced (its length in bytes), if any: an IBAN
/// may be followed by a word the pattern took in, so its longest prefix
/// ending at a space that passes the check is.
fn passes(test: Test, text: &str) -> Option<usize> {
    let whole = Some(text.len());
    match test {
        Test::None => whole,
        Test::Luhn => luhn(text).then_some(text.len()),
        Test::PhoneShape => phone_shape(text).then_some(text.len()),
        Test::Iban => {
            let ends = text
                .match_indices(' ')
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()));
            let mut ends: Vec<usize> = ends.collect();
            ends.reverse();
            ends.into_iter().find(|e| iban(&text[..*e]))
        }
    }
}

/// The Luhn check of the digits of `text`.
fn luhn(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The ISO 13616 check: the first four characters moved to the end,
/// letters as 10–35, the number mod 97 is 1.
fn iban(text: &str) -> bool {
    let compact: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let rotated = compact[4..].iter().chain(&compact[..4]);
    let mut rem: u32 = 0;
    for c in rotated {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v < 10 {
            (rem * 10 + v) % 97
        } else {
            (rem * 100 + v) % 97
        };
    }
    rem == 1
}

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}\b|\b[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{4}\b",
    )
    .expect("static regex")
});

/// 7–15 digits after a leading `+` or an area code in brackets; else 9–15
/// digits with separators between groups (not a bare run of digits, and
/// not a date).
fn phone_shape(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if text.starts_with('+') || text.starts_with('(') {
        return (7..=15).contains(&digits);
    }
    (9..=15).contains(&digits) && text.chars().any(|c| !c.is_ascii_digit()) && !DATE.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(text: &str) -> (String, Counts) {
        let s = Scrubber::new(&[("employee".into(), r"EMP-\d{6}".into())]).unwrap();
        let mut counts = Counts::new();
        (s.scrub(text, &mut counts), counts)
    }

    #[test]
    fn every_default_rule_replaces_with_its_placeholder() {
        let (out, counts) = scrub(
            "Mail ana.b+x@mail.example.co.uk or call +44 20 7946 0958 / (555) 123-4567. \
             Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, account no. 12345678, \
             employee EMP-004211, order 1234567890123, GB82 WEST 1234 5698 7654 32 AND MORE.",
        );
        assert_eq!(
            out,
            "Mail <EMAIL> or call <PHONE> / <PHONE>. \
             Card <CARD>, IBAN <IBAN>, account no. <ACCOUNT>, \
             employee <EMPLOYEE>, order 1234567890123, <IBAN> AND MORE."
        );
        let got: Vec<(&str, usize)> = counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            got,
            [
                ("account", 1),
                ("card", 1),
                ("email", 1),
                ("employee", 1),
                ("iban", 2),
                ("phone", 2)
            ]
        );
    }

    #[test]
    fn numbers_that_fail_their_check_are_kept() {
        // Luhn fails; IBAN check digits wrong; a bare run of digits.
        let text =
            "card 4111 1111 1111 1112, GB00WEST12345698765432, ref 5551234567, on 2024-01-15 10:30";
        let (out, counts) = scrub(text);
        assert_eq!(out, text);
        assert!(counts.is_empty(), "{counts:?}");
    }

    #[test]
    fn a_bad_user_regex_is_an_error_naming_the_rule() {
        let e = Scrubber::new(&[("x".into(), "a(".into())]).unwrap_err();
        assert!(
            e.starts_with("scrubbing rule `x`: invalid regex \"a(\""),
            "{e}"
        );
    }
}
