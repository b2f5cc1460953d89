//! `tool_sequence`: the output's tool calls come in an order.
//!
//! ```yaml
//! - tool_sequence: [search_orders, get_order]           # in order, extra calls allowed
//! - tool_sequence: {calls: [get_order, refund], mode: exact}
//! - tool_sequence: {calls: [refund, send_email], mode: contains}
//! ```
//!
//! Modes: `in_order` (default; the names are a subsequence of the calls:
//! they come in this order, other calls may come between and around them),
//! `exact` (the calls are these, in this order, and no others), `contains`
//! (each name is called at least as many times as it is listed, in any
//! order). A failure shows the actual sequence and where it diverged.

use serde_json::Value;

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, call_label, call_sequence, main_error};
use crate::check::ParseCx;
use crate::diag::Seg;
use crate::verdict::CheckResult;

const KIND: &str = "tool_sequence";

/// How the listed names are compared with the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequenceMode {
    /// The names are a subsequence of the calls (default).
    #[default]
    InOrder,
    /// The calls are exactly the names, in order.
    Exact,
    /// Every name is called (as often as listed), in any order.
    Contains,
}

impl SequenceMode {
    fn as_str(self) -> &'static str {
        match self {
            SequenceMode::InOrder => "in_order",
            SequenceMode::Exact => "exact",
            SequenceMode::Contains => "contains",
        }
    }
}

/// `tool_sequence`: tool call names in an order.
#[derive(Debug, Clone)]
pub struct ToolSequence {
    /// The expected names.
    pub calls: Vec<String>,
    /// How they are compared.
    pub mode: SequenceMode,
}

impl Kind for ToolSequence {
    const NAMES: &'static [&'static str] = &["tool_sequence"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            calls: Vec<String>,
            #[serde(default)]
            mode: SequenceMode,
        }
        let params = match p.main {
            Value::Array(_) => Params {
                calls: crate::check::typed(KIND, p.main, "`tool_sequence` check")?,
                mode: SequenceMode::InOrder,
            },
            Value::Object(_) => {
                crate::check::typed::<Params>(KIND, p.main, "`tool_sequence` check")?
            }
            _ => {
                return Err(main_error(
                    KIND,
                    "`tool_sequence` takes a list of tool names or `{calls: [...], mode: exact | in_order | contains}`",
                    Some("write e.g. `tool_sequence: [search_orders, get_order]`"),
                ));
            }
        };
        if params.calls.is_empty() {
            let path = if p.main.is_array() {
                vec![Seg::Key(KIND.into())]
            } else {
                vec![Seg::Key(KIND.into()), Seg::Key("calls".into())]
            };
            return Err(SpecError::new(
                path,
                "`tool_sequence` lists no tool names",
                Some(
                    "list the calls in order; for \"no tool calls at all\" write `max_tool_calls: 0`"
                        .into(),
                ),
            ));
        }
        Ok(ToolSequence {
            calls: params.calls,
            mode: params.mode,
        })
    }

    /// `tool_sequence search → get_order` (`exact`/`contains` added when set).
    fn display(kind: &str, main: &Value) -> String {
        let (names, mode) = match main {
            Value::Array(a) => (a.as_slice(), None),
            Value::Object(m) => (
                m.get("calls")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                m.get("mode").and_then(Value::as_str),
            ),
            _ => (&[][..], None),
        };
        let names: Vec<String> = names.iter().map(crate::text::of_value).collect();
        let shown = crate::text::one_line(&names.join(" → "), 60);
        match mode {
            Some(m) if m != "in_order" => format!("{kind} {m} {shown}"),
            _ => format!("{kind} {shown}"),
        }
    }
}

impl Immediate for ToolSequence {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        let calls = &cx.output.tool_calls;
        let want = self.calls.join(" → ");
        let mode = self.mode.as_str();
        if calls.is_empty() {
            return CheckResult::from_bool(
                KIND,
                cx.name,
                false,
                format!("the output has no tool calls (expected {mode} {want})"),
            );
        }
        let actual = call_sequence(calls);
        let result = match self.mode {
            SequenceMode::Exact => exact(&self.calls, calls),
            SequenceMode::InOrder => in_order(&self.calls, calls),
            SequenceMode::Contains => contains(&self.calls, calls),
        };
        match result {
            Ok(how) => CheckResult::pass_with(KIND, cx.name, format!("{how}; actual: {actual}")),
            Err(why) => CheckResult::from_bool(
                KIND,
                cx.name,
                false,
                format!("{why}; actual: {actual} (expected {mode} {want})"),
            ),
        }
    }
}

type Calls = [crate::chat::ToolCall];

fn exact(want: &[String], calls: &Calls) -> Result<String, String> {
    for (i, name) in want.iter().enumerate() {
        match calls.get(i) {
            Some(c) if &c.name == name => {}
            Some(c) => {
                return Err(format!(
                    "the calls diverge at #{i}: expected `{name}`, got {}",
                    call_label(i, c)
                ));
            }
            None => {
                let after = match i.checked_sub(1).and_then(|j| calls.get(j).map(|c| (j, c))) {
                    Some((j, c)) => format!(" after {}", call_label(j, c)),
                    None => String::new(),
                };
                let rest = want.len() - i - 1;
                let missing = if rest == 0 {
                    format!("`{name}` (#{i}) is missing")
                } else {
                    format!("`{name}` (#{i}) and {rest} more expected call(s) are missing")
                };
                return Err(format!("the calls stop{after}: {missing}"));
            }
        }
    }
    if let Some(extra) = calls.get(want.len()) {
        return Err(format!(
            "{} extra call(s) after the expected sequence, from {}",
            calls.len() - want.len(),
            call_label(want.len(), extra)
        ));
    }
    Ok(format!("the calls are exactly {}", want.join(" → ")))
}

fn in_order(want: &[String], calls: &Calls) -> Result<String, String> {
    let mut at: Vec<usize> = Vec::with_capacity(want.len());
    let mut next = 0;
    for name in want {
        match calls[next..].iter().position(|c| &c.name == name) {
            Some(k) => {
                at.push(next + k);
                next += k + 1;
            }
            None => {
                let matched: Vec<String> = want
                    .iter()
                    .zip(&at)
                    .map(|(n, i)| format!("{n} (#{i})"))
                    .collect();
                let earlier: Vec<String> = calls[..next]
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| &c.name == name)
                    .map(|(i, _)| format!("#{i}"))
                    .collect();
                let whence = match at.last() {
                    Some(&j) => format!(
                        "`{name}` is not called after {} (matched so far: {})",
                        call_label(j, &calls[j]),
                        matched.join(" → ")
                    ),
                    None => format!("`{name}` is never called"),
                };
                let before = if earlier.is_empty() {
                    String::new()
                } else {
                    format!(", only before it, at {}", earlier.join(", "))
                };
                return Err(format!("{whence}{before}"));
            }
        }
    }
    let matched: Vec<String> = want
        .iter()
        .zip(&at)
        .map(|(n, i)| format!("{n} (#{i})"))
        .collect();
    Ok(format!("in order: {}", matched.join(" → ")))
}

fn contains(want: &[String], calls: &Calls) -> Result<String, String> {
    let mut missing = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for name in want {
        if seen.contains(&name.as_str()) {
            continue;
        }
        seen.push(name);
        let needed = want.iter().filter(|n| *n == name).count();
        let found = calls.iter().filter(|c| &c.name == name).count();
        if found < needed {
            missing.push(format!(
                "`{name}` (listed {needed} time(s), called {found})"
            ));
        }
    }
    if missing.is_empty() {
        Ok("every listed call is made".into())
    } else {
        Err(format!("missing: {}", missing.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::chat::ToolCall;

    fn calls(names: &[&str]) -> Vec<ToolCall> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| ToolCall::new(*n, json!({"i": i})))
            .collect()
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_names_where_the_calls_diverge() {
        let c = calls(&["a", "x", "c"]);
        assert_eq!(
            exact(&names(&["a", "b", "c"]), &c).unwrap_err(),
            r#"the calls diverge at #1: expected `b`, got #1 x({"i":1})"#
        );
        assert_eq!(
            exact(&names(&["a", "x", "c", "d", "e"]), &c).unwrap_err(),
            r#"the calls stop after #2 c({"i":2}): `d` (#3) and 1 more expected call(s) are missing"#
        );
        assert_eq!(
            exact(&names(&["a"]), &c).unwrap_err(),
            r#"2 extra call(s) after the expected sequence, from #1 x({"i":1})"#
        );
        assert!(exact(&names(&["a", "x", "c"]), &c).is_ok());
    }

    #[test]
    fn in_order_allows_extra_calls_and_says_what_came_too_early() {
        let c = calls(&["b", "a", "x", "c"]);
        assert_eq!(
            in_order(&names(&["a", "c"]), &c).unwrap(),
            "in order: a (#1) → c (#3)"
        );
        assert_eq!(
            in_order(&names(&["a", "b"]), &c).unwrap_err(),
            r#"`b` is not called after #1 a({"i":1}) (matched so far: a (#1)), only before it, at #0"#
        );
        assert_eq!(
            in_order(&names(&["z"]), &c).unwrap_err(),
            "`z` is never called"
        );
    }

    #[test]
    fn contains_counts_repeated_names() {
        let c = calls(&["a", "b", "a"]);
        assert!(contains(&names(&["b", "a", "a"]), &c).is_ok());
        assert_eq!(
            contains(&names(&["b", "b"]), &c).unwrap_err(),
            "missing: `b` (listed 2 time(s), called 1)"
        );
    }
}
