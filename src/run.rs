//! Evaluating one trial: call the target, run the checks, conclude a verdict.
//!
//! A trial with `repeat: k` (k > 1) is evaluated by [`repeat`]: k samples,
//! each its own target call, decided by the case's rule.

pub mod repeat;

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

/// The cache group of a trial's outputs: its case.
fn case_key(t: &Trial) -> String {
    format!("{}::{}", t.suite.name, t.case().id)
}

/// What a run shares across all trials: the [`Services`] targets and checks
/// use, and the output cache (each target is called at most once per run).
#[derive(Debug, Default)]
pub struct RunEnv {
    /// Root, providers, registered functions, CI flag.
    pub services: Services,
    /// Every trial of the run by name (selected or not), so that one trial can
    /// ask for another's output.
    trials: HashMap<String, Trial>,
    /// The output cache by case (`suite::case`: the trials that may ask for
    /// each other's outputs are the variants of one case), then by trial
    /// and sample.
    outputs: Mutex<HashMap<String, HashMap<String, OutputCell>>>,
    /// How many of each case's trials are still to be evaluated, once
    /// [`RunEnv::expect`] is told; a case's outputs are dropped from the
    /// cache when its last trial is done (its verdicts hold them).
    pending: Mutex<HashMap<String, usize>>,
    /// Samples of a case without `repeat:` (`TRIBUNAL_REPEAT`; 1 when 0).
    pub default_repeat: u32,
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
            pending: Mutex::new(HashMap::new()),
            default_repeat: 1,
        }
    }

    /// The samples and rule of a trial: its case's `repeat:`, else
    /// [`RunEnv::default_repeat`] samples that must all pass.
    pub fn repeat_of(&self, trial: &Trial) -> crate::repeat::Repeat {
        trial
            .case()
            .repeat
            .unwrap_or_else(|| crate::repeat::Repeat::all(self.default_repeat.max(1)))
    }

    fn cell(&self, trial: &Trial, name: &str) -> OutputCell {
        let mut map = self.outputs.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            map.entry(case_key(trial))
                .or_default()
                .entry(name.to_string())
                .or_default(),
        )
    }

    /// The trials about to be evaluated: from now on, the outputs of a case
    /// are dropped from the cache once [`RunEnv::finished`] was called for
    /// each of its trials among these.
    pub fn expect(&self, trials: &[Trial]) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for t in trials {
            *pending.entry(case_key(t)).or_default() += 1;
        }
    }

    /// A trial given to [`RunEnv::expect`] is evaluated: when it was its
    /// case's last, the case's cached outputs are dropped.
    pub fn finished(&self, trial: &Trial) {
        let key = case_key(trial);
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let Some(left) = pending.get_mut(&key) else {
            return;
        };
        *left = left.saturating_sub(1);
        if *left == 0 {
            pending.remove(&key);
            drop(pending);
            self.outputs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        }
    }

    /// The target output of a trial, calling its target at most once per run.
    pub async fn target_output(&self, trial: &Trial) -> Result<Output, TargetError> {
        let cell = self.cell(trial, &trial.name());
        cell.get_or_init(|| call_target(self, trial, None, 0))
            .await
            .clone()
    }

    /// The output of one sample of a trial (sample 0 is
    /// [`RunEnv::target_output`]), on the case input or on another
    /// (`input`, an invariance check's equivalent input); each is called at
    /// most once per run.
    pub async fn sample_output(
        &self,
        trial: &Trial,
        input: Option<&Value>,
        sample: u32,
    ) -> Result<Output, TargetError> {
        if input.is_none() && sample == 0 {
            return self.target_output(trial).await;
        }
        let key = format!(
            "{}#{sample}#{}",
            trial.name(),
            input.map(|v| v.to_string()).unwrap_or_default()
        );
        let cell = self.cell(trial, &key);
        cell.get_or_init(|| call_target(self, trial, input, sample))
            .await
            .clone()
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

    fn output_for<'a>(
        &'a self,
        suite: &'a str,
        case_id: &'a str,
        variant: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<Output, String>> {
        Box::pin(call_for(self, 0, suite, case_id, variant, input))
    }
}

/// The run seen from one sample of a repeated trial: invariance checks on
/// sample `i` call the target on their inputs as sample `i` too.
pub(crate) struct SampleOf<'a> {
    pub env: &'a RunEnv,
    pub sample: u32,
}

/// [`Baselines::output_for`] for sample `sample`.
async fn call_for(
    env: &RunEnv,
    sample: u32,
    suite: &str,
    case_id: &str,
    variant: Option<&str>,
    input: &Value,
) -> Result<Output, String> {
    {
        let name = trial_name(suite, case_id, variant);
        let trial = env
            .trials
            .get(&name)
            .ok_or_else(|| format!("no trial `{name}` in this run"))?;
        if trial.case().output.is_some() {
            return Err(
                "the case has a fixed `output:`, so there is no target to call on other inputs (hint: give the case a `target:`)"
                    .into(),
            );
        }
        env.sample_output(trial, Some(input), sample)
            .await
            .map_err(|e| e.0)
    }
}

impl Baselines for SampleOf<'_> {
    fn output_of<'a>(
        &'a self,
        suite: &'a str,
        case_id: &'a str,
        variant: &'a str,
    ) -> BoxFuture<'a, Option<Output>> {
        Box::pin(RunEnv::output_of(self.env, suite, case_id, Some(variant)))
    }

    fn output_for<'a>(
        &'a self,
        suite: &'a str,
        case_id: &'a str,
        variant: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<Output, String>> {
        Box::pin(call_for(
            self.env,
            self.sample,
            suite,
            case_id,
            variant,
            input,
        ))
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
        canaries: true,
    }
}

async fn call_target(
    env: &RunEnv,
    trial: &Trial,
    input: Option<&Value>,
    sample: u32,
) -> Result<Output, TargetError> {
    let case = trial.case();
    if let (Some(fixed), None) = (&case.output, input) {
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
        input: input.unwrap_or(&case.input),
        vars: &vars,
        expected: case.expected.as_ref(),
        suite: &trial.suite.name,
        case_id: &case.id,
        variant: trial.variant().map(|v| v.id.as_str()),
        suite_dir: &trial.suite.dir,
        env: &env.services,
        sample,
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

/// Evaluates one trial: target, then checks, then the verdict; a trial
/// with more than one sample goes to [`repeat::evaluate`].
pub async fn evaluate(env: &RunEnv, trial: &Trial) -> Verdict {
    let rep = env.repeat_of(trial);
    if rep.k > 1 {
        return repeat::evaluate(env, trial, rep).await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn env_of(yaml: &str) -> (RunEnv, Vec<Trial>) {
        let suite =
            crate::case::load_str(yaml, "evals/s.yaml", Path::new("evals"), None).expect("suite");
        let trials = expand(&[Arc::new(suite)]);
        let env = RunEnv::new(
            PathBuf::from("."),
            Registry::default(),
            Providers::default(),
            false,
            &trials,
        );
        (env, trials)
    }

    fn cached(env: &RunEnv) -> Vec<String> {
        let map = env.outputs.lock().expect("lock");
        let mut keys: Vec<String> = map
            .iter()
            .flat_map(|(case, cells)| cells.keys().map(move |k| format!("{case} > {k}")))
            .collect();
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn a_case_outputs_stay_cached_until_its_last_variant_is_done() {
        let (env, trials) = env_of(
            "suite: s\nvariants:\n  - id: a\n  - id: b\ncases:\n  - id: one\n    output: first\n    checks: [{contains: first}]\n  - id: two\n    output: second\n    checks: [{contains: second}]\n",
        );
        assert_eq!(trials.len(), 4);
        env.expect(&trials);
        for t in &trials {
            assert!(env.target_output(t).await.is_ok());
        }
        assert_eq!(cached(&env).len(), 4);
        env.finished(&trials[0]);
        // `s::one::b` may still ask for `s::one::a`'s output (a pairwise
        // judge): nothing of the case is dropped yet.
        assert_eq!(
            cached(&env),
            [
                "s::one > s::one::a",
                "s::one > s::one::b",
                "s::two > s::two::a",
                "s::two > s::two::b"
            ]
        );
        env.finished(&trials[1]);
        assert_eq!(cached(&env), ["s::two > s::two::a", "s::two > s::two::b"]);
        // Without `expect`, nothing is ever dropped.
        let (other, trials) =
            env_of("suite: s\ncases:\n  - id: one\n    output: x\n    checks: [{contains: x}]\n");
        assert!(other.target_output(&trials[0]).await.is_ok());
        other.finished(&trials[0]);
        assert_eq!(cached(&other), ["s::one > s::one"]);
    }
}
