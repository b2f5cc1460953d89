//! The round-trip filter of `tribunal generate truth --round-trip`: each
//! draft runs as a case of its suite (the suite's target, defaults and
//! variants) and is decided by the suite's equivalence checks only
//! (`ast_equivalent`, or the checks named by `--round-trip-check`), so a
//! set can be built from the requests the system under test gets wrong.
//!
//! The target is called in the `tribunal` process, through the same
//! provider layer and cassettes as a run (prompt, command, http and
//! pipeline targets; a Rust target needs the project's harness and is an
//! error here). A draft whose round trip cannot be decided (a target
//! error, a cassette miss, an equivalence check that answers `error`) is
//! an error: it is never taken as passing or failing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::synth::Made;
use crate::case::{Suite, load_str};
use crate::provider::Providers;
use crate::registry::Registry;
use crate::run::{RunEnv, evaluate, expand};
use crate::verdict::Outcome;

/// The check kinds that decide a round trip by default.
pub const EQUIVALENCE_KINDS: &[&str] = &["ast_equivalent"];

/// What the filter does with the drafts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Keep the drafts the system under test gets wrong (failure mining).
    KeepFailing,
    /// Keep the drafts it gets right.
    KeepPassing,
    /// Keep every draft; flag those it gets wrong (`round-trip-failed`).
    Flag,
}

/// The filter's result.
#[derive(Debug, Clone, Default)]
pub struct RoundTrip {
    /// The drafts kept, each with `provenance.round_trip`.
    pub drafts: Vec<Made>,
    /// One line per draft: its id, pass or fail per variant, and the first
    /// failing check's reason.
    pub lines: Vec<String>,
    /// Drafts whose round trip could not be decided.
    pub errors: Vec<String>,
}

/// Runs every draft through `suite` (loaded from `suite_text` at `display`
/// in `dir`) and filters them.
#[allow(clippy::too_many_arguments)]
pub async fn filter(
    root: &Path,
    suite_text: &str,
    display: &str,
    dir: &Path,
    providers: Providers,
    ci: bool,
    drafts: Vec<Made>,
    mode: Filter,
    checks: &[String],
    variant: Option<&str>,
) -> Result<RoundTrip, String> {
    let suite = draft_suite(suite_text, display, dir, &drafts, checks)?;
    if let Some(v) = variant
        && !suite.variants.iter().any(|x| x.id == v)
    {
        return Err(format!(
            "suite `{}` has no variant `{v}` (hint: use one of {})",
            suite.name,
            suite
                .variants
                .iter()
                .map(|x| x.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let trials: Vec<_> = expand(&[Arc::new(suite)])
        .into_iter()
        .filter(|t| variant.is_none() || t.variant().map(|v| v.id.as_str()) == variant)
        .collect();
    let env = Arc::new(RunEnv::new(
        root.to_path_buf(),
        Registry::default(),
        providers,
        ci,
        &trials,
    ));
    let mut set = tokio::task::JoinSet::new();
    for (i, trial) in trials.into_iter().enumerate() {
        let env = Arc::clone(&env);
        set.spawn(async move { (i, evaluate(&env, &trial).await) });
    }
    let mut verdicts = Vec::new();
    while let Some(done) = set.join_next().await {
        verdicts.push(done.map_err(|e| format!("a round-trip trial stopped: {e}"))?);
    }
    verdicts.sort_by_key(|(i, _)| *i);
    // Per draft: each variant's outcome and the first failing reason.
    let mut per: BTreeMap<String, Vec<(Option<String>, Outcome, String)>> = BTreeMap::new();
    for (_, v) in verdicts {
        let reason = match v.outcome {
            Outcome::Error => v.error.clone().unwrap_or_else(|| "undecided".into()),
            _ => v
                .checks
                .iter()
                .find(|c| c.outcome == Outcome::Fail)
                .map(|c| format!("{}: {}", c.name, crate::text::flat(&c.reason, 160)))
                .unwrap_or_default(),
        };
        per.entry(v.case.clone())
            .or_default()
            .push((v.variant.clone(), v.outcome, reason));
    }
    let mut out = RoundTrip::default();
    for mut d in drafts {
        let results = per.remove(&d.id).unwrap_or_default();
        if let Some((variant, _, reason)) = results.iter().find(|(_, o, _)| *o == Outcome::Error) {
            out.errors.push(format!(
                "draft `{}`{}: the round trip cannot be decided: {reason} (hint: the round trip calls the suite's target in this process: prompt, command, http and pipeline targets work; for a Rust target run the drafts through the project's harness after `tribunal generate accept`)",
                d.id,
                variant.as_deref().map(|v| format!(" under `{v}`")).unwrap_or_default()
            ));
            continue;
        }
        let failed: Vec<&(Option<String>, Outcome, String)> = results
            .iter()
            .filter(|(_, o, _)| *o == Outcome::Fail)
            .collect();
        let passed = failed.is_empty();
        let mut record = Map::new();
        for (variant, outcome, _) in &results {
            if let Some(v) = variant {
                record.insert(
                    v.clone(),
                    json!(if *outcome == Outcome::Pass {
                        "pass"
                    } else {
                        "fail"
                    }),
                );
            }
        }
        let reason = failed.first().map(|(_, _, r)| r.clone());
        let summary = results
            .iter()
            .map(|(v, o, _)| {
                let o = if *o == Outcome::Pass { "pass" } else { "fail" };
                match v {
                    Some(v) => format!("{v}: {o}"),
                    None => o.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let keep = match mode {
            Filter::KeepFailing => !passed,
            Filter::KeepPassing => passed,
            Filter::Flag => true,
        };
        out.lines.push(format!(
            "{} `{}`: {summary}{}",
            if keep { "kept   " } else { "dropped" },
            d.id,
            reason
                .as_deref()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default()
        ));
        if !keep {
            continue;
        }
        if let Value::Object(p) = &mut d.provenance {
            let mut rt = Map::new();
            rt.insert("result".into(), json!(if passed { "pass" } else { "fail" }));
            if !record.is_empty() {
                rt.insert("variants".into(), Value::Object(record));
            }
            if let Some(r) = reason {
                rt.insert("reason".into(), json!(r));
            }
            p.insert("round_trip".into(), Value::Object(rt));
        }
        if mode == Filter::Flag && !passed {
            d.flags.push("round-trip-failed".into());
        }
        out.drafts.push(d);
    }
    Ok(out)
}

/// The suite with its cases replaced by the drafts and its checks by the
/// equivalence checks.
fn draft_suite(
    text: &str,
    display: &str,
    dir: &Path,
    drafts: &[Made],
    checks: &[String],
) -> Result<Suite, String> {
    let mut value: Value = serde_saphyr::from_str(text)
        .map_err(|e| format!("{display}: cannot read the suite for the round trip: {e}"))?;
    let Value::Object(map) = &mut value else {
        return Err(format!("{display}: the suite is not a mapping"));
    };
    map.remove("dimensions");
    map.remove("cases_from");
    let cases: Vec<Value> = drafts
        .iter()
        .map(|d| {
            let mut c = Map::new();
            c.insert("id".into(), json!(d.id));
            c.insert("input".into(), json!(d.input));
            if let Some(e) = &d.expected {
                c.insert("expected".into(), e.clone());
            }
            c.insert("tags".into(), json!(d.tags));
            Value::Object(c)
        })
        .collect();
    map.insert("cases".into(), Value::Array(cases));
    let yaml = crate::yaml_out::to_yaml(&value);
    let mut suite = load_str(&yaml, display, dir, None)
        .map_err(|e| format!("the drafts cannot run as cases of {display}:\n{e}"))?;
    for case in &mut suite.cases {
        case.checks.retain(|c| {
            if checks.is_empty() {
                EQUIVALENCE_KINDS.contains(&c.kind_name)
            } else {
                checks.iter().any(|n| n == &c.name)
            }
        });
        if case.checks.is_empty() {
            return Err(if checks.is_empty() {
                format!(
                    "{display}: the suite has no `ast_equivalent` check to decide the round trip (hint: add one to `defaults.checks`, or name the deciding checks with `--round-trip-check NAME`)"
                )
            } else {
                format!(
                    "{display}: the suite has no check named {} (hint: `--round-trip-check` takes a check's `name:` as the suite writes it)",
                    checks
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            });
        }
        case.threshold = 1.0;
    }
    Ok(suite)
}
