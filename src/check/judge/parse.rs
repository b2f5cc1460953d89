//! Strict parsing of judge answers.
//!
//! The judge must answer with one JSON object (possibly inside a single
//! fenced code block) carrying exactly the fields its mode asks for, each
//! once. A missing or repeated field, a field of the wrong type, a score
//! outside the scale, text that is not JSON, an answer cut off at the token
//! limit, a call of some other tool, or a refusal is a [`ParseError`]: the
//! check becomes an `error`, never a pass.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::params::Mode;
use crate::provider::ChatResponse;
use crate::text::kind_of;

/// Which output a pairwise judge preferred, in the order shown to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    /// Output A.
    A,
    /// Output B.
    B,
    /// Neither.
    Tie,
}

/// A parsed judge answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `pass_fail`.
    PassFail {
        /// The verdict.
        pass: bool,
        /// The critique.
        critique: String,
    },
    /// `score` and `reference`.
    Score {
        /// The score, on the scale.
        score: i64,
        /// The reasoning.
        reasoning: String,
    },
    /// `pairwise`.
    Pairwise {
        /// The preferred output.
        winner: Winner,
        /// The reasoning.
        reasoning: String,
    },
}

impl Answer {
    /// The critique or reasoning text.
    pub fn critique(&self) -> &str {
        match self {
            Answer::PassFail { critique, .. } => critique,
            Answer::Score { reasoning, .. } | Answer::Pairwise { reasoning, .. } => reasoning,
        }
    }
}

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The judge declined to judge.
    #[error("the judge refused to answer")]
    Refusal,
    /// The answer is empty.
    #[error("the judge's answer is empty")]
    Empty,
    /// The model stopped at its token limit: the answer is cut off.
    #[error(
        "the judge's answer was cut off at its token limit ({tokens} output tokens); raise `max_tokens`{}",
        detail.as_ref().map(|d| format!(" (what arrived does not parse: {d})")).unwrap_or_default()
    )]
    Truncated {
        /// Output tokens the answer used.
        tokens: u64,
        /// Why what arrived does not parse, when it does not.
        detail: Option<String>,
    },
    /// The answer holds no text, only a call of a tool (not the verdict).
    #[error(
        "the judge answered with a call of the tool `{name}` ({arguments}) instead of a verdict"
    )]
    ToolCall {
        /// The tool it called.
        name: String,
        /// The call's arguments, as compact JSON.
        arguments: String,
    },
    /// A field appears more than once (JSON parsers would keep only one).
    #[error("the judge's answer has the field `{0}` more than once")]
    DuplicateKey(String),
    /// The answer is not a JSON object.
    #[error("the judge's answer is not a JSON object: {0}")]
    NotJson(String),
    /// A required field is missing.
    #[error("the judge's answer has no `{0}` field")]
    Missing(&'static str),
    /// A field has the wrong type or value.
    #[error("the judge's answer has `{field}` = {found}, expected {expected}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What was found.
        found: String,
        /// What was expected.
        expected: String,
    },
    /// The score is outside the scale.
    #[error("the judge's score {score} is outside the scale {min}–{max}")]
    OutOfRange {
        /// The score given.
        score: String,
        /// Scale minimum.
        min: i64,
        /// Scale maximum.
        max: i64,
    },
}

static REFUSAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(i'?m sorry|i am sorry|sorry,|i can(no|')t|i can not|i won'?t|i will not|i'?m (not able|unable)|i am (not able|unable)|as an ai\b|i must decline|i decline)",
    )
    .ok()
});

/// Whether `text` reads as a refusal.
pub fn looks_like_refusal(text: &str) -> bool {
    REFUSAL.as_ref().is_some_and(|re| re.is_match(text))
}

/// The JSON object of an answer: the provider's parsed structured output, or
/// the text as a whole, or the one fenced code block it consists of.
fn object_of(response: &ChatResponse) -> Result<Map<String, Value>, ParseError> {
    if let Some(reason) = &response.finish_reason {
        let r = reason.to_ascii_lowercase();
        if r == "content_filter" || r == "refusal" {
            return Err(ParseError::Refusal);
        }
    }
    let text = response.text.trim();
    let body = strip_fence(text).unwrap_or(text);
    if let Some(key) = duplicate_key(body) {
        return Err(ParseError::DuplicateKey(key));
    }
    let value = match &response.json {
        Some(v) => v.clone(),
        None => {
            if text.is_empty() {
                return Err(match response.tool_calls.first() {
                    Some(call) => ParseError::ToolCall {
                        name: call.name.clone(),
                        arguments: call.arguments.to_string(),
                    },
                    None => ParseError::Empty,
                });
            }
            match serde_json::from_str::<Value>(body) {
                Ok(v) => v,
                Err(e) => {
                    if looks_like_refusal(text) {
                        return Err(ParseError::Refusal);
                    }
                    return Err(ParseError::NotJson(e.to_string()));
                }
            }
        }
    };
    match value {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("refusal")
                && !r.trim().is_empty()
            {
                return Err(ParseError::Refusal);
            }
            Ok(m)
        }
        other => Err(ParseError::NotJson(format!("found {}", kind_of(&other)))),
    }
}

/// The inside of a text that is exactly one fenced code block.
fn strip_fence(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    let rest = rest.strip_suffix("```")?;
    let (first, body) = rest.split_once('\n')?;
    let lang = first.trim();
    if !(lang.is_empty() || lang.eq_ignore_ascii_case("json")) || body.contains("```") {
        return None;
    }
    Some(body.trim())
}

fn text_field(m: &Map<String, Value>, field: &'static str) -> Result<String, ParseError> {
    match m.get(field) {
        None | Some(Value::Null) => Err(ParseError::Missing(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ParseError::Invalid {
            field,
            found: other.to_string(),
            expected: "a string".into(),
        }),
    }
}

/// Parses a judge response for `mode` with the given score scale. An answer
/// cut off at the token limit is never used, even when what arrived parses:
/// its critique (or more) is missing.
pub fn parse(mode: Mode, scale: (i64, i64), response: &ChatResponse) -> Result<Answer, ParseError> {
    let parsed = parse_fields(mode, scale, response);
    if response.truncated() {
        return Err(ParseError::Truncated {
            tokens: response.usage.output_tokens,
            detail: parsed.err().map(|e| match e {
                ParseError::NotJson(d) => d,
                other => other.to_string(),
            }),
        });
    }
    parsed
}

fn parse_fields(
    mode: Mode,
    scale: (i64, i64),
    response: &ChatResponse,
) -> Result<Answer, ParseError> {
    let m = object_of(response)?;
    match mode {
        Mode::PassFail | Mode::Conversation => {
            let critique = text_field(&m, "critique")?;
            let pass = match m.get("pass") {
                None | Some(Value::Null) => return Err(ParseError::Missing("pass")),
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(ParseError::Invalid {
                        field: "pass",
                        found: other.to_string(),
                        expected: "true or false".into(),
                    });
                }
            };
            Ok(Answer::PassFail { pass, critique })
        }
        Mode::Score | Mode::Reference => {
            let reasoning = text_field(&m, "reasoning")?;
            let score = match m.get("score") {
                None | Some(Value::Null) => return Err(ParseError::Missing("score")),
                Some(Value::Number(n)) => {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    if f.fract() != 0.0 || !f.is_finite() {
                        return Err(ParseError::Invalid {
                            field: "score",
                            found: n.to_string(),
                            expected: format!("an integer from {} to {}", scale.0, scale.1),
                        });
                    }
                    if f < scale.0 as f64 || f > scale.1 as f64 {
                        return Err(ParseError::OutOfRange {
                            score: n.to_string(),
                            min: scale.0,
                            max: scale.1,
                        });
                    }
                    f as i64
                }
                Some(other) => {
                    return Err(ParseError::Invalid {
                        field: "score",
                        found: other.to_string(),
                        expected: format!("an integer from {} to {}", scale.0, scale.1),
                    });
                }
            };
            Ok(Answer::Score { score, reasoning })
        }
        Mode::Pairwise => {
            let reasoning = text_field(&m, "reasoning")?;
            let raw = text_field(&m, "winner")?;
            let winner = match raw.trim().to_ascii_lowercase().as_str() {
                "a" => Winner::A,
                "b" => Winner::B,
                "tie" => Winner::Tie,
                _ => {
                    return Err(ParseError::Invalid {
                        field: "winner",
                        found: format!("{raw:?}"),
                        expected: "\"A\", \"B\" or \"tie\"".into(),
                    });
                }
            };
            Ok(Answer::Pairwise { winner, reasoning })
        }
    }
}

/// The first key that appears twice in one object of the JSON `text`, at
/// any depth; `None` when there is none or `text` is not JSON.
fn duplicate_key(text: &str) -> Option<String> {
    let err = serde_json::from_str::<Unique>(text).err()?;
    let message = err.to_string();
    let rest = message.strip_prefix(DUPLICATE)?;
    rest.split_once('\u{0}').map(|(key, _)| key.to_string())
}

const DUPLICATE: &str = "duplicate key \u{0}";

/// Any JSON value whose objects name each key once.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("{DUPLICATE}{key}\u{0}")));
            }
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }
}
