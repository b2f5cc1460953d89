//! Running a case's checks in order, and the combinators every kind shares:
//! `when:` conditions, `not:` negation, `weight:`, `output:`/`step:`
//! addressing ([`OutputPath`]: the check runs on a part of the output), and
//! [`Fallback`] (a second check that decides when the first could not, as
//! `ast_equivalent` hands an `unknown` to a judge).

use serde_json::Value;

use super::Check;
use super::context::CheckCx;
use super::kinds::json_path::{PathStep, parse_path};
use super::spec::{CheckSpec, When};
use crate::provider::BoxFuture;
use crate::verdict::{CheckResult, Outcome, Output};

/// Runs the checks in order and returns one result per check. `base` is the
/// context of the trial; its `name` and `prior` are set per check.
pub async fn run_checks(specs: &[CheckSpec], base: &CheckCx<'_>) -> Vec<CheckResult> {
    let mut results: Vec<CheckResult> = Vec::with_capacity(specs.len());
    for spec in specs {
        let result = match condition(spec, &results) {
            Err(reason) => located(spec, CheckResult::error(spec.kind_name, &spec.name, reason)),
            Ok(Some(reason)) => located(
                spec,
                CheckResult::new(spec.kind_name, &spec.name, Outcome::Skipped, reason),
            ),
            Ok(None) => {
                let cx = CheckCx {
                    prior: &results,
                    ..*base
                };
                run_check(spec, &cx).await
            }
        };
        results.push(result);
    }
    results
}

/// Runs one check with its negation and weight (not its `when:`, which
/// depends on the checks before it: see [`run_checks`]).
pub async fn run_check(spec: &CheckSpec, base: &CheckCx<'_>) -> CheckResult {
    let addressed;
    let output = match &spec.output {
        None => base.output,
        Some(path) => match path.resolve(base.output) {
            Ok(o) => {
                addressed = o;
                &addressed
            }
            Err(why) => {
                let r = CheckResult::error(spec.kind_name, &spec.name, why);
                return finish(spec, r);
            }
        },
    };
    let cx = CheckCx {
        name: &spec.name,
        output,
        ..*base
    };
    let result = spec.check.run(&cx).await;
    finish(spec, result)
}

/// The part of a target's output a check runs on, written `output:` on the
/// check (`tool_calls[0].arguments`, `conversation[-1].content`,
/// `steps.question`, `json.order.id`), or `step: NAME` (the output of that
/// step; with `output:` too, the path is read in that step's output).
///
/// The path is validated when the suite loads; a path that finds nothing in
/// a trial's output is an `error` of the check naming the path and what is
/// there.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputPath {
    /// The path as written (`step: q` reads as `steps.q`).
    pub text: String,
    steps: Vec<PathStep>,
}

/// The fields a path may start with.
const ROOTS: &str = "`text`, `json`, `tool_calls`, `conversation`, `steps` or `finish_reason`";
const CALL_FIELDS: &[&str] = &["id", "name", "arguments"];
const MESSAGE_FIELDS: &[&str] = &["role", "content", "tool_calls", "tool_call_id", "name"];

impl OutputPath {
    /// Parses and validates `output:` (and `step:`). `Err` is the message
    /// and the hint.
    pub fn parse(
        output: Option<&str>,
        step: Option<&str>,
    ) -> Result<OutputPath, (String, Option<String>)> {
        let mut steps = Vec::new();
        let mut text = String::new();
        if let Some(name) = step {
            if name.trim().is_empty() {
                return Err(("`step` must name a step".into(), None));
            }
            steps.push(PathStep::Key("steps".into()));
            steps.push(PathStep::Key(name.into()));
            text = format!("steps.{name}");
        }
        if let Some(path) = output {
            let p = path.trim();
            let rest = p.strip_prefix("$.").or(p.strip_prefix('$')).unwrap_or(p);
            let parsed = parse_path(&format!("$.{rest}")).map_err(|e| {
                (
                    format!("invalid `output:` path {path:?}: {e}"),
                    Some(format!(
                        "start with {ROOTS}, e.g. `output: tool_calls[0].arguments`"
                    )),
                )
            })?;
            steps.extend(parsed);
            if !text.is_empty() {
                text.push('.');
            }
            text.push_str(rest);
        }
        validate(&steps).map_err(|e| {
            (
                format!("`output: {text}`: {e}"),
                Some(format!(
                    "a path starts with {ROOTS}; e.g. `tool_calls[0].arguments`, `conversation[-1].content`, `steps.NAME`"
                )),
            )
        })?;
        Ok(OutputPath { text, steps })
    }

    /// The step the path reads (`step: NAME`, `output: steps.NAME…`), for
    /// the loader to check against a pipeline's step names.
    pub fn step_name(&self) -> Option<&str> {
        match self.steps.as_slice() {
            [PathStep::Key(root), PathStep::Key(name), ..] if root == "steps" => Some(name),
            _ => None,
        }
    }

    /// The addressed part of `out`, as an output of its own (a step's whole
    /// output; a JSON value, whose text is a string itself or compact JSON).
    pub fn resolve(&self, out: &Output) -> Result<Output, String> {
        resolve(out, &self.steps, "")
            .map_err(|e| format!("`output: {}` finds nothing: {e}", self.text))
    }
}

fn key_of(step: &PathStep) -> Option<&str> {
    match step {
        PathStep::Key(k) => Some(k),
        _ => None,
    }
}

/// Whether a path fits the shape of an output.
fn validate(steps: &[PathStep]) -> Result<(), String> {
    let Some(first) = steps.first() else {
        return Err("the path is empty".into());
    };
    let Some(root) = key_of(first) else {
        return Err(format!("a path starts with {ROOTS}, not an index"));
    };
    let rest = &steps[1..];
    match root {
        "text" | "finish_reason" => match rest.first() {
            None => Ok(()),
            Some(_) => Err(format!("`{root}` is text: nothing can follow it")),
        },
        "json" => Ok(()),
        "tool_calls" => list_of(rest, "tool_calls", CALL_FIELDS, |field, rest| {
            if field == "arguments" || rest.is_empty() {
                Ok(())
            } else {
                Err(format!("`{field}` is text: nothing can follow it"))
            }
        }),
        "conversation" => list_of(
            rest,
            "conversation",
            MESSAGE_FIELDS,
            |field, rest| match field {
                "tool_calls" => list_of(rest, "tool_calls", CALL_FIELDS, |f, r| {
                    if f == "arguments" || r.is_empty() {
                        Ok(())
                    } else {
                        Err(format!("`{f}` is text: nothing can follow it"))
                    }
                }),
                _ if rest.is_empty() => Ok(()),
                _ => Err(format!("`{field}` is text: nothing can follow it")),
            },
        ),
        "steps" => match rest.first() {
            None => Err("`steps` needs a step: `steps.NAME` or `steps[0]`".into()),
            Some(PathStep::Wildcard) => {
                Err("`steps[*]` addresses several steps; a check runs on one output".into())
            }
            Some(_) if rest.len() == 1 => Ok(()),
            Some(_) => validate(&rest[1..]),
        },
        other => Err(format!("`{other}` is not a part of an output")),
    }
}

/// `[i]` or `[*]`, then one of `fields`, then what `then` allows.
fn list_of(
    rest: &[PathStep],
    list: &str,
    fields: &[&str],
    then: impl Fn(&str, &[PathStep]) -> Result<(), String>,
) -> Result<(), String> {
    match rest.first() {
        None => Ok(()),
        Some(PathStep::Key(k)) => Err(format!(
            "`{list}` is a list: write `{list}[0].{k}` (`[-1]` is the last, `[*]` every one)"
        )),
        Some(_) => match rest.get(1) {
            None => Ok(()),
            Some(PathStep::Key(f)) if fields.contains(&f.as_str()) => then(f, &rest[2..]),
            Some(PathStep::Key(f)) => Err(format!(
                "an item of `{list}` has no `{f}` (it has {})",
                fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(_) => Err(format!("an item of `{list}` is not a list")),
        },
    }
}

fn step_text(step: &PathStep) -> String {
    match step {
        PathStep::Key(k) => format!(".{k}"),
        PathStep::Index(i) => format!("[{i}]"),
        PathStep::Wildcard => "[*]".into(),
    }
}

/// What is at `at` (for a path that found nothing below it).
fn describe(at: &str, v: &Value) -> String {
    match v {
        Value::Array(a) if a.is_empty() => format!("`{at}` is empty"),
        Value::Array(a) => format!("`{at}` has {}", crate::text::count(a.len(), "item")),
        Value::Object(m) => format!(
            "`{at}` has {}",
            if m.is_empty() {
                "no keys".to_string()
            } else {
                m.keys()
                    .take(12)
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        other => format!(
            "`{at}` is {}",
            crate::text::one_line(&other.to_string(), 80)
        ),
    }
}

fn resolve(out: &Output, steps: &[PathStep], prefix: &str) -> Result<Output, String> {
    let Some(root) = steps.first().and_then(key_of) else {
        return Ok(out.clone());
    };
    let here = format!("{prefix}{root}");
    let rest = &steps[1..];
    let value = match root {
        "text" => return Ok(Output::text(out.text.clone())),
        "finish_reason" => {
            return out
                .finish_reason
                .clone()
                .map(Output::text)
                .ok_or_else(|| format!("the output{} has no finish reason", in_step(prefix)));
        }
        "steps" => {
            let names = || {
                if out.steps.is_empty() {
                    format!("the output{} has no steps", in_step(prefix))
                } else {
                    format!(
                        "the steps are {}",
                        out.steps
                            .iter()
                            .map(|s| format!("`{}`", s.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            };
            let (step, label) = match rest.first() {
                Some(PathStep::Key(name)) => (
                    out.steps.iter().find(|s| &s.name == name),
                    (format!("`{name}`"), format!("{here}.{name}")),
                ),
                Some(PathStep::Index(i)) => {
                    let idx = if *i < 0 {
                        out.steps.len() as i64 + i
                    } else {
                        *i
                    };
                    (
                        usize::try_from(idx).ok().and_then(|i| out.steps.get(i)),
                        (format!("[{i}]"), format!("{here}[{i}]")),
                    )
                }
                _ => (None, (here.clone(), here.clone())),
            };
            let (shown, label) = label;
            let Some(step) = step else {
                return Err(format!("no step {shown}: {}", names()));
            };
            return resolve(&step.output, &rest[1..], &format!("{label}."));
        }
        "json" => out
            .as_json()
            .map_err(|e| format!("the output{} is not JSON: {e}", in_step(prefix)))?,
        "tool_calls" => {
            if out.tool_calls.is_empty() {
                return Err(format!("the output{} has no tool calls", in_step(prefix)));
            }
            serde_json::to_value(&out.tool_calls).unwrap_or(Value::Null)
        }
        "conversation" => {
            if out.conversation.is_empty() {
                return Err(format!("the output{} has no conversation", in_step(prefix)));
            }
            serde_json::to_value(&out.conversation).unwrap_or(Value::Null)
        }
        other => return Err(format!("`{other}` is not a part of an output")),
    };
    // Walk the rest one step at a time, to say where it stopped finding.
    let mut current = vec![&value];
    let mut at = here;
    for step in rest {
        let next = super::kinds::json_path::select_step(&current, step);
        if next.is_empty() {
            let shown = match current.as_slice() {
                [one] => describe(&at, one),
                many => format!("`{at}` selects {} values", many.len()),
            };
            return Err(format!("nothing at `{at}{}`: {shown}", step_text(step)));
        }
        at.push_str(&step_text(step));
        current = next;
    }
    let wildcard = rest.contains(&PathStep::Wildcard);
    Ok(if wildcard {
        Output::json(Value::Array(current.into_iter().cloned().collect()))
    } else {
        Output::json(current[0].clone())
    })
}

fn in_step(prefix: &str) -> String {
    match prefix.strip_suffix('.') {
        Some(p) if !p.is_empty() => format!(" of `{p}`"),
        _ => String::new(),
    }
}

/// Applies weight and negation, and records where the check is written.
/// Errors and skips are never negated.
fn finish(spec: &CheckSpec, mut result: CheckResult) -> CheckResult {
    result.weight = spec.weight;
    if spec.negate {
        result.outcome = match result.outcome {
            Outcome::Pass => Outcome::Fail,
            Outcome::Fail => Outcome::Pass,
            other => other,
        };
        if matches!(result.outcome, Outcome::Pass | Outcome::Fail) {
            result.reason = format!("(negated) {}", result.reason);
        }
    }
    located(spec, result)
}

fn located(spec: &CheckSpec, mut result: CheckResult) -> CheckResult {
    result.kind = spec.kind_name.to_string();
    result.name = spec.name.clone();
    result.location = Some(spec.span.clone());
    result
}

/// `Ok(None)`: run. `Ok(Some(reason))`: skip. `Err`: the condition is invalid
/// (names are validated at load; this guards checks built in code).
fn condition(spec: &CheckSpec, prior: &[CheckResult]) -> Result<Option<String>, String> {
    let Some(when) = &spec.when else {
        return Ok(None);
    };
    let ran = || prior.iter().filter(|c| c.outcome != Outcome::Skipped);
    let find = |name: &String| -> Result<&CheckResult, String> {
        prior.iter().find(|c| &c.name == name).ok_or_else(|| {
            let names: Vec<String> = prior.iter().map(|c| format!("`{}`", c.name)).collect();
            format!(
                "`when` names `{name}`, which is not an earlier check of this case (earlier checks: {})",
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )
        })
    };
    let (run, why) = match when {
        When::Passed => (
            ran().all(|c| c.outcome == Outcome::Pass),
            "not every earlier check passed",
        ),
        When::Failed => (
            ran().any(|c| c.outcome != Outcome::Pass),
            "every earlier check passed",
        ),
        When::NamedPassed(names) => {
            let mut all = true;
            for n in names {
                all &= find(n)?.outcome == Outcome::Pass;
            }
            (all, "a named earlier check did not pass")
        }
        When::NamedFailed(names) => {
            let mut any = false;
            for n in names {
                let o = find(n)?.outcome;
                any |= o == Outcome::Fail || o == Outcome::Error;
            }
            (any, "no named earlier check failed")
        }
    };
    Ok(if run {
        None
    } else {
        Some(format!("skipped: {why}"))
    })
}

/// A check that hands over to another when its result carries an undecided
/// label: the second check decides, the first one's evidence stays attached
/// under `first_key`, and the label records `<label>→<then_key>:<verdict>`.
#[derive(Debug)]
pub struct Fallback<A, B> {
    /// The check that runs first.
    pub first: A,
    /// The check that decides when the first is undecided.
    pub then: B,
    /// The label of an undecided first result (`unknown`).
    pub undecided: &'static str,
    /// How the first check's undecided result reads (`equivalence unknown`).
    pub what: &'static str,
    /// Evidence key of the first check (`ast`).
    pub first_key: &'static str,
    /// Evidence and label key of the second check (`judge`).
    pub then_key: &'static str,
}

impl<A: Check, B: Check> Check for Fallback<A, B> {
    fn run<'a>(&'a self, cx: &'a CheckCx<'a>) -> BoxFuture<'a, CheckResult> {
        Box::pin(async move {
            let result = self.first.run(cx).await;
            if result.label.as_deref() != Some(self.undecided) {
                return result;
            }
            let mut judged = self.then.run(cx).await;
            let mut evidence = serde_json::Map::new();
            evidence.insert(
                self.first_key.into(),
                result.evidence_value().unwrap_or_default(),
            );
            if let Some(j) = judged.evidence.take() {
                evidence.insert(self.then_key.into(), j.to_value());
            }
            judged.evidence = Some(Value::Object(evidence).into());
            judged.reason = format!(
                "{} ({}); judged instead: {}",
                self.what, result.reason, judged.reason
            );
            judged.label = Some(format!(
                "{}→{}:{}",
                self.undecided,
                self.then_key,
                judged.label.as_deref().unwrap_or(judged.outcome.as_str())
            ));
            judged
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::chat::ToolCall;
    use crate::verdict::Step;

    fn path(output: Option<&str>, step: Option<&str>) -> Result<OutputPath, String> {
        OutputPath::parse(output, step).map_err(|(m, _)| m)
    }

    #[test]
    fn paths_are_checked_against_the_shape_of_an_output() {
        for ok in [
            "text",
            "json.a[0]",
            "tool_calls",
            "tool_calls[-1].arguments.order.id",
            "tool_calls[*].name",
            "conversation[0].tool_calls[0].arguments",
            "steps.plan.tool_calls[0].name",
            "$.finish_reason",
        ] {
            assert!(path(Some(ok), None).is_ok(), "{ok}");
        }
        assert_eq!(
            path(Some("text.x"), None).unwrap_err(),
            "`output: text.x`: `text` is text: nothing can follow it"
        );
        assert_eq!(
            path(Some("steps"), None).unwrap_err(),
            "`output: steps`: `steps` needs a step: `steps.NAME` or `steps[0]`"
        );
        assert_eq!(
            path(Some("tool_calls[0].name.x"), None).unwrap_err(),
            "`output: tool_calls[0].name.x`: `name` is text: nothing can follow it"
        );
        assert_eq!(
            path(Some("conversation[0].text"), None).unwrap_err(),
            "`output: conversation[0].text`: an item of `conversation` has no `text` (it has `role`, `content`, `tool_calls`, `tool_call_id`, `name`)"
        );
        assert_eq!(
            path(None, Some("plan")).map(|p| p.text).unwrap(),
            "steps.plan"
        );
        assert_eq!(
            path(Some("tool_calls[0]"), Some("plan"))
                .map(|p| p.text)
                .unwrap(),
            "steps.plan.tool_calls[0]"
        );
    }

    #[test]
    fn a_step_path_resolves_inside_the_step() {
        let out = Output::text("final").with_step(Step::new(
            "plan",
            Output::text("p").with_tool_call(ToolCall::new("search", json!({"q": "x"}))),
        ));
        let p = path(Some("tool_calls[0].arguments.q"), Some("plan")).unwrap();
        assert_eq!(p.resolve(&out).unwrap().text, "x");
        let missing = path(Some("tool_calls[1]"), Some("plan")).unwrap();
        assert_eq!(
            missing.resolve(&out).unwrap_err(),
            "`output: steps.plan.tool_calls[1]` finds nothing: nothing at `steps.plan.tool_calls[1]`: `steps.plan.tool_calls` has 1 item"
        );
        let none = path(Some("finish_reason"), Some("plan")).unwrap();
        assert_eq!(
            none.resolve(&out).unwrap_err(),
            "`output: steps.plan.finish_reason` finds nothing: the output of `steps.plan` has no finish reason"
        );
    }
}
