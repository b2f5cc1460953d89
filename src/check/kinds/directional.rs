//! `directional`: a change to the input moves the output in a declared
//! direction. The check calls the case's target on the edited input (as
//! `invariant` does: one recorded call per input) and compares a value of
//! the two outputs.
//!
//! ```yaml
//! - directional:
//!     edit: {append: " This is urgent: the site is down."}   # or prepend, {replace: {from, to}}
//!     # input: "..."                # or a whole other input
//!     value: $.priority             # a JSON path (default: the output text, trimmed)
//!     expect: not_lower             # not_lower | not_higher | higher | lower | same | differ | flip
//!     order: [low, medium, high]    # how values rank (default: numbers)
//!     flip: {spam: ham, ham: spam}  # for `expect: flip`: the value each value must become
//! ```
//!
//! `higher`/`lower`/`not_lower`/`not_higher` rank the two values by `order`
//! (or as numbers without it); a value outside `order` is an error, never a
//! guess. `flip` without a mapping means the value must differ. The label,
//! part of the decision, is the movement seen (`up`, `down`, `same`,
//! `changed`), so a prompt that starts ignoring the edit changes the
//! snapshot.

use serde_json::{Value, json};

use super::invariant::{input_text, spend, value_at, with_text};
use super::json_path::{PathStep, parse_path};
use super::{CheckCx, Kind, Parsed, SpecError, excerpt, main_error};
use crate::check::{Check, ParseCx};
use crate::diag::Seg;
use crate::provider::BoxFuture;
use crate::verdict::{CheckResult, Output};

const KIND: &str = "directional";

/// How the input is changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Text appended to the input's text.
    Append(String),
    /// Text put before the input's text.
    Prepend(String),
    /// One text replaced by another (it must occur).
    Replace(String, String),
    /// A whole other input (a text goes where the input's text is).
    Input(Value),
}

/// The movement the edit must cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Ranked strictly higher.
    Higher,
    /// Ranked strictly lower.
    Lower,
    /// Not ranked lower.
    NotLower,
    /// Not ranked higher.
    NotHigher,
    /// Equal.
    Same,
    /// Not equal.
    Differ,
    /// The mapped value (or, without a mapping, any other value).
    Flip,
}

const EXPECTS: &[&str] = &[
    "higher",
    "lower",
    "not_lower",
    "not_higher",
    "same",
    "differ",
    "flip",
];

/// `directional`: an edit of the input moves a value of the output.
#[derive(Debug, Clone, PartialEq)]
pub struct Directional {
    /// The edit.
    pub edit: Edit,
    /// The value compared: a JSON path, or the trimmed text.
    pub value: Option<(String, Vec<PathStep>)>,
    /// The expected movement.
    pub expect: Expect,
    /// How values rank (lowest first), when they are not numbers.
    pub order: Vec<Value>,
    /// For `flip`: what each value must become.
    pub flip: Vec<(Value, Value)>,
    /// The input variable to edit when the input is a mapping.
    pub field: Option<String>,
}

const KEYS: &[&str] = &["edit", "input", "value", "expect", "order", "flip", "field"];

fn at(key: &str) -> Vec<Seg> {
    vec![Seg::Key(KIND.into()), Seg::Key(key.into())]
}

fn text_of(v: &Value, key: &str) -> Result<String, SpecError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| SpecError::new(at("edit"), format!("`{key}` takes a text"), None))
}

impl Kind for Directional {
    const NAMES: &'static [&'static str] = &[KIND];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        let Value::Object(m) = p.main else {
            return Err(main_error(
                KIND,
                "`directional` takes a mapping with `edit` (or `input`), `value` and `expect`",
                Some(
                    "write `directional: {edit: {append: \" urgent\"}, value: $.priority, expect: not_lower, order: [low, high]}`",
                ),
            ));
        };
        for k in m.keys() {
            if !KEYS.contains(&k.as_str()) {
                return Err(SpecError {
                    path: at(k),
                    at_key: true,
                    message: format!("unknown key `{k}` in `directional`"),
                    hint: Some(crate::diag::hint(k, KEYS.iter().copied())),
                });
            }
        }
        let edit_hint = Some(
            "write `edit: {append: TEXT}`, `{prepend: TEXT}` or `{replace: {from: A, to: B}}`, or `input: OTHER`"
                .to_string(),
        );
        let edit = match (m.get("edit"), m.get("input")) {
            (Some(_), Some(_)) => {
                return Err(main_error(
                    KIND,
                    "give either `edit` or `input`, not both",
                    None,
                ));
            }
            (None, Some(v)) => Edit::Input(v.clone()),
            (Some(Value::Object(e)), None) if e.len() == 1 => {
                let (k, v) = e.iter().next().expect("one entry");
                match k.as_str() {
                    "append" => Edit::Append(text_of(v, k)?),
                    "prepend" => Edit::Prepend(text_of(v, k)?),
                    "replace" => {
                        let from = v.get("from").and_then(Value::as_str);
                        let to = v.get("to").and_then(Value::as_str);
                        match (from, to) {
                            (Some(f), Some(t)) if !f.is_empty() => {
                                Edit::Replace(f.to_string(), t.to_string())
                            }
                            _ => {
                                return Err(SpecError::new(
                                    at("edit"),
                                    "`replace` takes `from` (not empty) and `to`",
                                    edit_hint,
                                ));
                            }
                        }
                    }
                    other => {
                        return Err(SpecError::new(
                            at("edit"),
                            format!("unknown edit `{other}`"),
                            edit_hint,
                        ));
                    }
                }
            }
            (Some(_), None) => {
                return Err(SpecError::new(
                    at("edit"),
                    "`edit` is a mapping with one edit",
                    edit_hint,
                ));
            }
            (None, None) => {
                return Err(main_error(
                    KIND,
                    "`directional` needs `edit` or `input`: how the input changes",
                    edit_hint.as_deref(),
                ));
            }
        };
        let value = match m.get("value") {
            None => None,
            Some(Value::String(p)) => Some((
                p.clone(),
                parse_path(p).map_err(|e| {
                    SpecError::new(at("value"), format!("`{p}` is not a JSON path: {e}"), None)
                })?,
            )),
            Some(_) => {
                return Err(SpecError::new(
                    at("value"),
                    "`value` is a JSON path such as `$.priority`",
                    None,
                ));
            }
        };
        let expect = match m.get("expect").and_then(Value::as_str) {
            Some("higher") => Expect::Higher,
            Some("lower") => Expect::Lower,
            Some("not_lower") => Expect::NotLower,
            Some("not_higher") => Expect::NotHigher,
            Some("same") => Expect::Same,
            Some("differ") => Expect::Differ,
            Some("flip") => Expect::Flip,
            Some(other) => {
                return Err(SpecError::new(
                    at("expect"),
                    format!("unknown expectation `{other}`"),
                    Some(crate::diag::hint(other, EXPECTS.iter().copied())),
                ));
            }
            None => {
                return Err(SpecError::new(
                    at("expect"),
                    "`directional` needs `expect`",
                    Some(format!("one of: {}", EXPECTS.join(", "))),
                ));
            }
        };
        let order = match m.get("order") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.len() >= 2 => a.clone(),
            Some(_) => {
                return Err(SpecError::new(
                    at("order"),
                    "`order` lists at least two values, lowest first",
                    None,
                ));
            }
        };
        let flip = match m.get("flip") {
            None => Vec::new(),
            Some(Value::Object(f)) if expect == Expect::Flip => f
                .iter()
                .map(|(k, v)| (Value::String(k.clone()), v.clone()))
                .collect(),
            Some(_) => {
                return Err(SpecError::new(
                    at("flip"),
                    "`flip` is a mapping from each value to the value it must become, with `expect: flip`",
                    None,
                ));
            }
        };
        let field = m.get("field").and_then(Value::as_str).map(str::to_string);
        Ok(Directional {
            edit,
            value,
            expect,
            order,
            flip,
            field,
        })
    }

    fn display(_: &str, main: &Value) -> String {
        let expect = main.get("expect").and_then(Value::as_str).unwrap_or("?");
        let value = main
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or("output");
        format!("directional ({value} {expect})")
    }
}

impl Check for Directional {
    fn run<'a>(&'a self, cx: &'a CheckCx<'a>) -> BoxFuture<'a, CheckResult> {
        Box::pin(self.decide(cx))
    }
}

impl Directional {
    fn edited(&self, input: &Value) -> Result<Value, String> {
        let field = self.field.as_deref();
        let text = |input: &Value| input_text(input, field);
        Ok(match &self.edit {
            Edit::Input(Value::String(t)) => with_text(input, field, t),
            Edit::Input(other) => other.clone(),
            Edit::Append(s) => with_text(input, field, &format!("{}{s}", text(input)?)),
            Edit::Prepend(s) => with_text(input, field, &format!("{s}{}", text(input)?)),
            Edit::Replace(from, to) => {
                let t = text(input)?;
                if !t.contains(from.as_str()) {
                    return Err(format!(
                        "the input does not contain {from:?}, so `replace` changes nothing"
                    ));
                }
                with_text(input, field, &t.replace(from.as_str(), to))
            }
        })
    }

    fn value(&self, out: &Output) -> Result<Value, String> {
        match &self.value {
            Some((path, steps)) => value_at(out, path, steps),
            None => Ok(Value::String(out.text.trim().to_string())),
        }
    }

    /// The rank of a value: its place in `order`, or the number itself.
    fn rank(&self, v: &Value) -> Result<f64, String> {
        if self.order.is_empty() {
            return v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| {
                    format!("{v} is not a number (hint: give `order:` to rank such values)")
                });
        }
        self.order
            .iter()
            .position(|o| super::equals::json_equal(o, v))
            .map(|i| i as f64)
            .ok_or_else(|| {
                format!(
                    "{v} is not in `order` ({})",
                    self.order
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    async fn decide(&self, cx: &CheckCx<'_>) -> CheckResult {
        let err = |why: String| CheckResult::error(KIND, cx.name, why);
        let input = match self.edited(cx.trial.input) {
            Ok(i) => i,
            Err(e) => return err(e),
        };
        let (suite, case, variant) = (cx.trial.suite, cx.trial.case_id, cx.trial.variant);
        let out = match cx.baselines.output_for(suite, case, variant, &input).await {
            Ok(o) => o,
            Err(e) => return err(format!("the target failed on the edited input: {e}")),
        };
        let (a, b) = match (self.value(cx.output), self.value(&out)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) => return err(format!("the case's own output: {e}")),
            (_, Err(e)) => return err(format!("the edited input's output: {e}")),
        };
        let equal = super::equals::json_equal(&a, &b);
        let ranked = matches!(
            self.expect,
            Expect::Higher | Expect::Lower | Expect::NotLower | Expect::NotHigher
        );
        let movement = if equal {
            "same"
        } else if ranked {
            match (self.rank(&a), self.rank(&b)) {
                (Ok(x), Ok(y)) if y > x => "up",
                (Ok(x), Ok(y)) if y < x => "down",
                (Ok(_), Ok(_)) => "same",
                (Err(e), _) | (_, Err(e)) => return err(e),
            }
        } else {
            "changed"
        };
        let held = match self.expect {
            Expect::Higher => movement == "up",
            Expect::Lower => movement == "down",
            Expect::NotLower => movement != "down",
            Expect::NotHigher => movement != "up",
            Expect::Same => equal,
            Expect::Differ => !equal,
            Expect::Flip if self.flip.is_empty() => !equal,
            Expect::Flip => match self
                .flip
                .iter()
                .find(|(k, _)| super::equals::json_equal(k, &a))
            {
                Some((_, want)) => super::equals::json_equal(want, &b),
                None => {
                    return err(format!(
                        "the case's own value {a} has no entry in `flip`, so what it must become is unknown"
                    ));
                }
            },
        };
        let what = self
            .value
            .as_ref()
            .map_or("the output", |(p, _)| p.as_str());
        let expect = EXPECTS[match self.expect {
            Expect::Higher => 0,
            Expect::Lower => 1,
            Expect::NotLower => 2,
            Expect::NotHigher => 3,
            Expect::Same => 4,
            Expect::Differ => 5,
            Expect::Flip => 6,
        }];
        let reason = format!(
            "{what} went from {a} to {b} ({movement}; expected {expect}) on the edited input {}, output {}",
            excerpt(&crate::text::of_value(&input)),
            excerpt(&out.text)
        );
        let mut r = CheckResult::from_bool(KIND, cx.name, held, reason)
            .with_label(movement)
            .with_evidence(json!({
                "edited_input": crate::text::cut(&crate::text::of_value(&input), 300),
                "output": crate::text::cut(&cx.output.text, 300),
                "edited_output": crate::text::cut(&out.text, 300),
                "before": a,
                "after": b,
            }));
        spend(&mut r, out.usage, out.cost_usd);
        r
    }
}
