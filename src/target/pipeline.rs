//! `pipeline` targets: named steps, each any other target kind, where each
//! step's output feeds the next step's input.
//!
//! ```yaml
//! target:
//!   pipeline:
//!     - name: question                  # a model writes the request…
//!       target: {prompt: {provider: question-writer, template: "Ask for: {{ expected }}"}}
//!     - name: audience                  # …the system under test answers it
//!       target: audience_builder
//!       input: "{{ steps.question.text }}"   # optional: by default the previous step's output
//! ```
//!
//! A step's `input` is a template that sees what every template sees (`input`,
//! `vars`, `expected`, …) plus `steps.NAME.text` / `steps.NAME.json` for each
//! step before it and `previous` (the step just before, as `{text, json}`).
//! Without `input`, a step gets the previous step's output: its JSON when it
//! has JSON, else its text; the first step gets the case input. The step's
//! target sees `steps` and `previous` too (as variables: a prompt template,
//! a command's `args`, an HTTP body can read `{{ steps.question.text }}`).
//! A `steps.NAME` that is not a step before it is an error at load.
//!
//! The pipeline's output is its last step's output, with every step kept in
//! [`Output::steps`](crate::verdict::Output::steps) (checks can address one
//! with `output: steps.NAME`). Usage and cost add up over the steps; latency
//! is the whole pipeline's. A step that fails makes the case an error naming
//! the step. Each step's model calls are recorded and replayed like any other.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{TargetContext, TargetError, TargetSpec};
use crate::diag::{Seg, SpecError};
use crate::verdict::{Output, Step, Usage};

/// The most steps a pipeline may have.
pub const MAX_STEPS: usize = 32;

/// One step of a pipeline, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineStep {
    /// The step's name (unique in the pipeline).
    pub name: String,
    /// What the step calls.
    pub target: TargetSpec,
    /// The template of the step's input, when not the previous output.
    pub input: Option<String>,
}

/// A `pipeline` target: its steps, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineTarget {
    /// The steps, in order (at least one).
    pub steps: Vec<PipelineStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    target: Value,
    #[serde(default)]
    input: Option<String>,
}

impl PipelineTarget {
    /// Parses the value under `pipeline:` (a list of steps).
    pub fn parse(value: &Value) -> Result<PipelineTarget, SpecError> {
        let at = |path: Vec<Seg>| {
            let mut p = vec![Seg::Key("pipeline".into())];
            p.extend(path);
            p
        };
        let Value::Array(items) = value else {
            return Err(SpecError::new(
                at(vec![]),
                "`pipeline` takes a list of steps",
                Some(
                    "write `pipeline: [{name: first, target: ...}, {name: second, target: ...}]`"
                        .into(),
                ),
            ));
        };
        if items.is_empty() {
            return Err(SpecError::new(
                at(vec![]),
                "a pipeline needs at least one step",
                Some("give each step a `name` and a `target`".into()),
            ));
        }
        if items.len() > MAX_STEPS {
            return Err(SpecError::new(
                at(vec![]),
                format!(
                    "a pipeline has {} steps, more than the {MAX_STEPS} tribunal runs",
                    items.len()
                ),
                None,
            ));
        }
        let mut steps: Vec<PipelineStep> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let raw: RawStep =
                crate::diag::typed("pipeline", item, "a pipeline step").map_err(|mut e| {
                    // `typed` roots the path at its key; the step is one level down.
                    e.path.insert(1, Seg::Index(i));
                    e
                })?;
            let step_path = |rest: &[&str]| {
                let mut p = vec![Seg::Index(i)];
                p.extend(rest.iter().map(|k| Seg::Key((*k).to_string())));
                at(p)
            };
            if !valid_name(&raw.name) {
                return Err(SpecError::new(
                    step_path(&["name"]),
                    format!("invalid step name `{}`", raw.name),
                    Some(
                        "use letters, digits and `_`, starting with a letter (templates read it as `steps.NAME`)"
                            .into(),
                    ),
                ));
            }
            if steps.iter().any(|s| s.name == raw.name) {
                return Err(SpecError::new(
                    step_path(&["name"]),
                    format!("duplicate step name `{}`", raw.name),
                    Some("give every step of a pipeline its own name".into()),
                ));
            }
            let target = TargetSpec::parse(&raw.target).map_err(|e| {
                let mut path = step_path(&["target"]);
                path.extend(e.path);
                SpecError { path, ..e }
            })?;
            if matches!(target, TargetSpec::Pipeline(_)) {
                return Err(SpecError::new(
                    step_path(&["target"]),
                    "a pipeline step cannot itself be a pipeline",
                    Some("list the inner pipeline's steps in this one".into()),
                ));
            }
            if let Some(template) = &raw.input {
                check_template(template).map_err(|why| {
                    SpecError::new(
                        step_path(&["input"]),
                        format!("the step's `input` is not a valid template: {why}"),
                        None,
                    )
                })?;
                let earlier: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
                if let Some((message, hint)) =
                    unknown_step_reference(template, &raw.name, &earlier, items)
                {
                    return Err(SpecError::new(step_path(&["input"]), message, Some(hint)));
                }
            }
            steps.push(PipelineStep {
                name: raw.name,
                target,
                input: raw.input,
            });
        }
        Ok(PipelineTarget { steps })
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_template(source: &str) -> Result<(), String> {
    let env = super::prompt::environment();
    env.template_from_str(source)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The first `steps.NAME` a step's `input` template reads that is not a
/// step before it (`earlier`): the message and the hint (a likely typo, or
/// that the step named runs later or is this one). `items` are all the
/// steps as written.
fn unknown_step_reference(
    source: &str,
    this: &str,
    earlier: &[&str],
    items: &[Value],
) -> Option<(String, String)> {
    let env = super::prompt::environment();
    let template = env.template_from_str(source).ok()?;
    let mut names: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter_map(|v| {
            let mut parts = v.split('.');
            (parts.next() == Some("steps"))
                .then(|| parts.next().map(str::to_string))
                .flatten()
        })
        .collect();
    names.sort();
    let name = names.into_iter().find(|n| !earlier.contains(&n.as_str()))?;
    let all: Vec<&str> = items
        .iter()
        .filter_map(|i| i.get("name").and_then(Value::as_str))
        .collect();
    let message =
        format!("the step's `input` reads `steps.{name}`, which is not a step before `{this}`");
    let hint = if name == this {
        "a step cannot read its own output; use `steps.NAME` of a step before it, or `previous`"
            .to_string()
    } else if all.contains(&name.as_str()) {
        format!("`{name}` runs after `{this}`; a step's input sees only the steps before it")
    } else if earlier.is_empty() {
        "the first step has no steps before it; it reads the case's `input`".to_string()
    } else {
        let list: Vec<String> = earlier.iter().map(|n| format!("`{n}`")).collect();
        match crate::diag::did_you_mean(&name, earlier.iter().copied()) {
            Some(best) => format!(
                "did you mean `{best}`? the steps before it are {}",
                list.join(", ")
            ),
            None => format!("the steps before it are {}", list.join(", ")),
        }
    };
    Some((message, hint))
}

/// A step's output as templates see it: `{text, json}`.
fn seen(output: &Output) -> Value {
    json!({"text": output.text, "json": output.json})
}

/// Calls the steps in order; `named` resolves suite-level named targets.
pub async fn call(
    pipeline: &PipelineTarget,
    named: &[(String, TargetSpec)],
    ctx: &TargetContext<'_>,
) -> Result<Output, TargetError> {
    let total = pipeline.steps.len();
    let mut done: Vec<Step> = Vec::with_capacity(total);
    let mut seen_steps = Map::new();
    let mut usage: Option<Usage> = None;
    let mut cost: Option<f64> = None;
    for (i, step) in pipeline.steps.iter().enumerate() {
        let what = || format!("pipeline step `{}` ({} of {total})", step.name, i + 1);
        let input: Value = match (&step.input, done.last()) {
            (Some(template), _) => {
                let mut context = super::prompt::template_context(ctx);
                if let Value::Object(m) = &mut context {
                    m.insert("steps".into(), Value::Object(seen_steps.clone()));
                    m.insert(
                        "previous".into(),
                        done.last().map_or(Value::Null, |s| seen(&s.output)),
                    );
                }
                Value::String(super::prompt::render(
                    template,
                    &context,
                    &format!("the input of {}", what()),
                )?)
            }
            (None, Some(prev)) => prev
                .output
                .json
                .clone()
                .unwrap_or_else(|| Value::String(prev.output.text.clone())),
            (None, None) => ctx.input.clone(),
        };
        // The step's own target sees the steps before it too: its
        // templates (a prompt, a command's `args`, an HTTP body) read
        // `steps.NAME.text` and `previous` like the `input` template does.
        let mut step_vars = ctx.vars.clone();
        step_vars.insert("steps".into(), Value::Object(seen_steps.clone()));
        step_vars.insert(
            "previous".into(),
            done.last().map_or(Value::Null, |s| seen(&s.output)),
        );
        let step_ctx = TargetContext {
            input: &input,
            vars: &step_vars,
            ..*ctx
        };
        // A step is any target but a pipeline (refused at load), so this
        // recursion is one level deep.
        let output = Box::pin(super::call(&step.target, named, &step_ctx))
            .await
            .map_err(|e| TargetError(format!("{} failed: {}", what(), e.0)))?;
        if let Some(u) = output.usage {
            usage.get_or_insert_with(Usage::default).add(u);
        }
        if let Some(c) = output.cost_usd {
            *cost.get_or_insert(0.0) += c;
        }
        seen_steps.insert(step.name.clone(), seen(&output));
        done.push(Step::new(step.name.clone(), output));
    }
    let mut last = done
        .last()
        .map(|s| s.output.clone())
        .ok_or_else(|| TargetError("a pipeline needs at least one step".into()))?;
    last.usage = usage;
    last.cost_usd = cost;
    // The pipeline's latency is measured around the whole call by the caller.
    last.latency_ms = None;
    last.steps = done;
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: Value) -> Result<PipelineTarget, String> {
        PipelineTarget::parse(&yaml)
            .map_err(|e| format!("{}: {}", crate::diag::path_text(&e.path), e.message))
    }

    #[test]
    fn steps_parse_with_any_target_kind() {
        let p = parse(json!([
            {"name": "question", "target": {"prompt": {"provider": "p", "template": "{{ expected }}"}}},
            {"name": "answer", "target": "bot", "input": "{{ steps.question.text }}"},
        ]))
        .unwrap();
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.steps[1].target, TargetSpec::Named("bot".into()));
        assert_eq!(
            p.steps[1].input.as_deref(),
            Some("{{ steps.question.text }}")
        );
    }

    #[test]
    fn bad_steps_are_refused_where_they_are_written() {
        let cases = [
            (json!([]), "pipeline: a pipeline needs at least one step"),
            (
                json!({"name": "a"}),
                "pipeline: `pipeline` takes a list of steps",
            ),
            (
                json!([{"name": "a", "target": "x"}, {"name": "a", "target": "y"}]),
                "pipeline[1].name: duplicate step name `a`",
            ),
            (
                json!([{"name": "1st", "target": "x"}]),
                "pipeline[0].name: invalid step name `1st`",
            ),
            (
                json!([{"name": "a", "target": {"pipeline": [{"name": "b", "target": "x"}]}}]),
                "pipeline[0].target: a pipeline step cannot itself be a pipeline",
            ),
            (
                json!([{"name": "a", "target": {"shell": "x"}}]),
                "pipeline[0].target.shell: unknown target kind `shell`",
            ),
            (
                json!([{"name": "a", "target": "x", "input": "{{ oops"}]),
                "pipeline[0].input: the step's `input` is not a valid template",
            ),
        ];
        for (yaml, want) in cases {
            let got = parse(yaml).unwrap_err();
            assert!(got.starts_with(want), "{got}\n  wanted: {want}");
        }
    }

    #[test]
    fn unknown_step_keys_point_inside_the_step() {
        let got = parse(json!([{"name": "a", "target": "x", "inputs": "y"}])).unwrap_err();
        assert!(got.starts_with("pipeline[0].inputs"), "{got}");
    }
}
