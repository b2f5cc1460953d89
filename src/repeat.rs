//! Repeated samples: `repeat:` on a case (or under `defaults:`, or from
//! `TRIBUNAL_REPEAT`) runs the target `k` times as distinct samples and
//! decides by a declared rule.
//!
//! ```yaml
//! repeat: 5                              # five samples, every one must pass
//! repeat: {k: 5, rule: majority}         # more than half must pass
//! repeat: {k: 5, rule: {at_least: 3}}    # at least three of five
//! ```
//!
//! Each sample is its own target call: a `prompt` target sends the same
//! request with the sample index (`sample: i`), which is part of the
//! cassette key, so a recorded run replays `k` distinct answers. Every check
//! runs on every sample. Per check, the pass rate over the samples is
//! evidence and the rule decides the check; the case's samples decide the
//! case by the same rule. A `repeat` result is added to the verdict: its
//! label is the rate **bucketed** ([`bucket`]), so a snapshot changes when
//! the rate crosses a bucket, not with every sample that flips.
//!
//! A sample that errs (the target failed, a check could not decide) makes
//! the case an error: an undecided sample is never counted as a pass or a
//! fail.

use serde_json::Value;

use crate::diag::{Seg, SpecError};

/// The most samples one case may ask for.
pub const MAX_K: u32 = 100;

/// How the samples of a repeated case decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every sample must pass (the default).
    All,
    /// More than half of the samples must pass.
    Majority,
    /// At least this many samples must pass.
    AtLeast(u32),
}

impl Rule {
    /// Whether `passed` of `k` samples meet the rule.
    pub fn holds(self, passed: u32, k: u32) -> bool {
        match self {
            Rule::All => passed == k,
            Rule::Majority => passed * 2 > k,
            Rule::AtLeast(m) => passed >= m,
        }
    }

    /// The rule as written: `all`, `majority`, `at_least 3`.
    pub fn describe(self) -> String {
        match self {
            Rule::All => "all".into(),
            Rule::Majority => "majority".into(),
            Rule::AtLeast(m) => format!("at_least {m}"),
        }
    }
}

/// A case's `repeat:`: how many samples and the rule that decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeat {
    /// Samples (at least 1).
    pub k: u32,
    /// The rule.
    pub rule: Rule,
}

impl Repeat {
    /// One sample, decided as a case without `repeat:` is.
    pub const ONCE: Repeat = Repeat {
        k: 1,
        rule: Rule::All,
    };

    /// `k` samples that must all pass.
    pub fn all(k: u32) -> Repeat {
        Repeat { k, rule: Rule::All }
    }

    /// Parses `repeat:` from its YAML value (`5`, or `{k: 5, rule: ...}`);
    /// error paths are relative to the value.
    pub fn parse(value: &Value) -> Result<Repeat, SpecError> {
        let hint = || {
            Some("write `repeat: 5`, or `repeat: {k: 5, rule: majority}` (rules: all, majority, {at_least: M})".to_string())
        };
        let (k, k_path, rule) = match value {
            Value::Number(_) => (value, vec![], None),
            Value::Object(map) => {
                for key in map.keys() {
                    if key != "k" && key != "rule" {
                        return Err(SpecError::at_key(
                            key,
                            format!("unknown key `{key}` in `repeat`"),
                            Some(crate::diag::hint(key, ["k", "rule"])),
                        ));
                    }
                }
                let Some(k) = map.get("k") else {
                    return Err(SpecError::new(
                        vec![],
                        "`repeat` needs `k`, the number of samples",
                        hint(),
                    ));
                };
                (k, vec![Seg::Key("k".into())], map.get("rule"))
            }
            _ => {
                return Err(SpecError::new(
                    vec![],
                    "`repeat` is a number of samples or a mapping with `k` and `rule`",
                    hint(),
                ));
            }
        };
        let k = match k.as_u64() {
            Some(k) if (1..=u64::from(MAX_K)).contains(&k) => k as u32,
            _ => {
                return Err(SpecError::new(
                    k_path,
                    format!("`{k}` is not a number of samples from 1 to {MAX_K}"),
                    hint(),
                ));
            }
        };
        let rule = match rule {
            None => Rule::All,
            Some(r) => parse_rule(r, k)?,
        };
        Ok(Repeat { k, rule })
    }
}

fn parse_rule(value: &Value, k: u32) -> Result<Rule, SpecError> {
    let path = vec![Seg::Key("rule".into())];
    let hint = Some("rules: `all`, `majority`, or `{at_least: M}` with M from 1 to k".to_string());
    match value {
        Value::String(s) if s == "all" => Ok(Rule::All),
        Value::String(s) if s == "majority" => Ok(Rule::Majority),
        Value::Object(m) if m.len() == 1 && m.contains_key("at_least") => {
            match m["at_least"].as_u64() {
                Some(n) if n >= 1 && n <= u64::from(k) => Ok(Rule::AtLeast(n as u32)),
                _ => Err(SpecError::new(
                    vec![Seg::Key("rule".into()), Seg::Key("at_least".into())],
                    format!(
                        "`at_least: {}` is not a number of samples from 1 to k = {k}",
                        m["at_least"]
                    ),
                    hint,
                )),
            }
        }
        other => Err(SpecError::new(
            path,
            format!("`{}` is not a repeat rule", crate::text::of_value(other)),
            hint,
        )),
    }
}

/// The bucket of a pass rate, as the snapshot records it: `all` (100%),
/// `most` (80% or more), `half` (50% or more), `some` (above 0) or `none`.
/// A rate that moves inside a bucket does not change the snapshot.
pub fn bucket(passed: u32, k: u32) -> &'static str {
    if k == 0 || passed == 0 {
        "none"
    } else if passed == k {
        "all"
    } else if passed * 10 >= k * 8 {
        "most"
    } else if passed * 2 >= k {
        "half"
    } else {
        "some"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case(json!(5), Repeat::all(5))]
    #[case(json!({"k": 3, "rule": "majority"}), Repeat { k: 3, rule: Rule::Majority })]
    #[case(json!({"k": 5, "rule": {"at_least": 3}}), Repeat { k: 5, rule: Rule::AtLeast(3) })]
    fn parses(#[case] v: Value, #[case] want: Repeat) {
        assert_eq!(Repeat::parse(&v).expect("parses"), want);
    }

    #[rstest]
    #[case(json!(0), "`0` is not a number of samples from 1 to 100")]
    #[case(json!(101), "`101` is not a number of samples from 1 to 100")]
    #[case(json!({"k": 3, "rule": {"at_least": 4}}), "`at_least: 4` is not a number of samples from 1 to k = 3")]
    #[case(json!({"k": 3, "rule": "most"}), "`most` is not a repeat rule")]
    #[case(json!({"n": 3}), "unknown key `n` in `repeat`")]
    #[case(json!("five"), "`repeat` is a number of samples or a mapping with `k` and `rule`")]
    fn refuses(#[case] v: Value, #[case] message: &str) {
        assert_eq!(Repeat::parse(&v).expect_err("refused").message, message);
    }

    #[test]
    fn rules_count_passes() {
        assert!(Rule::All.holds(3, 3) && !Rule::All.holds(2, 3));
        assert!(Rule::Majority.holds(2, 3) && !Rule::Majority.holds(2, 4));
        assert!(Rule::AtLeast(2).holds(2, 5) && !Rule::AtLeast(2).holds(1, 5));
    }

    #[test]
    fn buckets_are_stable_inside_their_range() {
        let got: Vec<&str> = (0..=10).map(|p| bucket(p, 10)).collect();
        assert_eq!(
            got,
            [
                "none", "some", "some", "some", "some", "half", "half", "half", "most", "most",
                "all"
            ]
        );
        assert_eq!(bucket(4, 5), "most");
        assert_eq!(bucket(1, 2), "half");
    }
}
