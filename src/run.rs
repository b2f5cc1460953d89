//! Evaluating one trial: call the target, run the checks, conclude a verdict.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use crate::check::{Baselines, CheckCx, TrialView, run_checks};
pub use crate::expand::{Trial, expand, trial_name};
use crate::provider::{BoxFuture, Providers};
use crate::registry::Registry;
use crate::services::Services;
use crate::target::{self, TargetContext, TargetError};
use crate::verdict::{Output, Usage, Verdict};

type OutputCell = Arc<OnceCell<Result<Output, TargetError>>>;

/// What a run shares across all trials: the [`Services`] targets and checks
/// use, and the output cache (each target is called at most once per run).
#[derive(Debug, Default)]
pub struct RunEnv {
    /// Root, providers, registered functions, CI flag.
    pub services: Services,
    /// Every trial of the run by name (selected or not), so that one trial can
    /// ask for another's output.
    trials: HashMap<String, Trial>,
    outputs: Mutex<HashMap<String, OutputCell>>,
}

impl RunEnv {
    /// A run environment over the given trials.
    pub fn new(
        root: PathBuf,
        registry: Registry,
        providers: Providers,
        ci: bool,
        trials: &[Trial],
    ) -> Self {
        RunEnv {
            services: Services::new(root, registry, providers, ci),
            trials: trials.iter().map(|t| (t.name(), t.clone())).collect(),
            outputs: Mutex::new(HashMap::new()),
        }
    }

    fn cell(&self, name: &str) -> OutputCell {
        let mut map = self.outputs.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(name.to_string()).or_default())
    }

    /// The target output of a trial, calling its target at most once per run.
    pub async fn target_output(&self, trial: &Trial) -> Result<Output, TargetError> {
        let cell = self.cell(&trial.name());
        cell.get_or_init(|| call_target(self, trial)).await.clone()
    }

    /// The target output of another trial of this run (for pairwise judges
    /// that compare a variant with a baseline variant). Calls that trial's
    /// target if it has not run yet; `None` when no such trial exists or its
    /// target failed.
    pub async fn output_of(
        &self,
        suite: &str,
        case_id: &str,
        variant: Option<&str>,
    ) -> Option<Output> {
        let trial = self.trials.get(&trial_name(suite, case_id, variant))?;
        self.target_output(trial).await.ok()
    }
}

impl Baselines for RunEnv {
    fn output_of<'a>(
        &'a self,
        suite: &'a str,
        case_id: &'a str,
        variant: &'a str,
    ) -> BoxFuture<'a, Option<Output>> {
        Box::pin(RunEnv::output_of(self, suite, case_id, Some(variant)))
    }
}

/// The check context of a trial whose target returned `output`: no check
/// name and no prior results yet (the dispatcher sets them per check).
pub fn check_cx<'a>(
    env: &'a RunEnv,
    trial: &'a Trial,
    vars: &'a Map<String, Value>,
    output: &'a Output,
) -> CheckCx<'a> {
    let case = trial.case();
    CheckCx {
        name: "",
        trial: TrialView {
            suite: &trial.suite.name,
            case_id: &case.id,
            variant: trial.variant().map(|v| v.id.as_str()),
            input: &case.input,
            expected: case.expected.as_ref(),
            vars,
            tags: &case.tags,
            suite_dir: &trial.suite.dir,
        },
        output,
        prior: &[],
        services: &env.services,
        baselines: env,
    }
}

async fn call_target(env: &RunEnv, trial: &Trial) -> Result<Output, TargetError> {
    let case = trial.case();
    if let Some(fixed) = &case.output {
        return Ok(match fixed {
            Value::String(s) => Output::text(s.clone()),
            other => Output::json(other.clone()),
        });
    }
    let spec = trial
        .variant()
        .and_then(|v| v.target.as_ref())
        .or(case.target.as_ref())
        .ok_or_else(|| TargetError("the case has no target".into()))?;
    let vars = trial.vars();
    let ctx = TargetContext {
        input: &case.input,
        vars: &vars,
        expected: case.expected.as_ref(),
        suite: &trial.suite.name,
        case_id: &case.id,
        variant: trial.variant().map(|v| v.id.as_str()),
        suite_dir: &trial.suite.dir,
        env: &env.services,
    };
    match &case.script {
        Some(script) => target::conversation::run(spec, &trial.suite.targets, &ctx, script).await,
        None => target::call(spec, &trial.suite.targets, &ctx).await,
    }
}

/// A verdict for a trial that has not run (or could not): outcome `error`,
/// no checks, and `error` as the reason when given.
pub fn error_verdict(trial: &Trial, error: Option<String>) -> Verdict {
    let case = trial.case();
    Verdict {
        suite: trial.suite.name.clone(),
        case: case.id.clone(),
        variant: trial.variant().map(|v| v.id.clone()),
        trial: trial.name(),
        outcome: crate::verdict::Outcome::Error,
        tags: case.tags.clone(),
        score: 0.0,
        threshold: case.threshold,
        gate: case.gate,
        checks: Vec::new(),
        output: None,
        error,
        location: case.location.clone(),
        usage: Usage::default(),
        cost_usd: None,
        duration_ms: 0.0,
    }
}

/// Evaluates one trial: target, then checks, then the verdict.
pub async fn evaluate(env: &RunEnv, trial: &Trial) -> Verdict {
    let started = Instant::now();
    let case = trial.case();
    let mut verdict = error_verdict(trial, None);
    match env.target_output(trial).await {
        Err(e) => {
            verdict.error = Some(e.to_string());
        }
        Ok(output) => {
            let vars = trial.vars();
            let base = check_cx(env, trial, &vars, &output);
            let checks = run_checks(&case.checks, &base).await;
            let (outcome, score) = Verdict::conclude(&checks, case.threshold);
            verdict.outcome = outcome;
            verdict.score = score;
            verdict.error = Verdict::undecided(&checks);
            if let Some(u) = output.usage {
                verdict.usage.add(u);
            }
            let mut cost = output.cost_usd;
            for c in &checks {
                if let Some(u) = c.usage {
                    verdict.usage.add(u);
                }
                if let Some(x) = c.cost_usd {
                    cost = Some(cost.unwrap_or(0.0) + x);
                }
                // Judge canaries: spent, so in the totals (docs/canaries.md).
                if let Some(k) = &c.canaries {
                    verdict.usage.add(k.usage);
                    if let Some(x) = k.cost_usd {
                        cost = Some(cost.unwrap_or(0.0) + x);
                    }
                }
            }
            verdict.cost_usd = cost;
            verdict.checks = checks;
            verdict.output = Some(output);
        }
    }
    verdict.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    verdict
}
