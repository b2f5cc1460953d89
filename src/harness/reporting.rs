//! After the run: one record per trial that ran, per `skip:`ped case the
//! filter selected and per broken entry; the reports; the closing lines.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::orchestrate::{Broken, Plan, Results, snapshot_of};
use super::setup::RunConfig;
use crate::case::display_path;
use crate::expand::Filter;
use crate::run::error_verdict;
use crate::verdict::{Outcome, Status, TrialRecord, Usage, Verdict};

/// Every record of the run, in trial order: broken entries first (as
/// libtest lists them), then evaluated and skipped trials.
pub(crate) fn records(
    root: &Path,
    plan: &Plan,
    results: &Results,
    filter: &Filter<'_>,
) -> Vec<TrialRecord> {
    let mut out: Vec<TrialRecord> = plan
        .selected_broken(filter)
        .into_iter()
        .map(broken_record)
        .collect();
    for t in &plan.trials {
        let snapshot = display_path(root, &snapshot_of(t));
        if let Some((verdict, c)) = results.get(&t.name()) {
            out.push(TrialRecord {
                verdict: verdict.clone(),
                status: c.status,
                accepted: c.accepted.clone(),
                snapshot,
                skip_reason: None,
                load_error: None,
            });
        } else if let Some(reason) = &t.case().skip
            && filter.selects(&t.name(), false)
        {
            let mut verdict = error_verdict(t, None);
            verdict.outcome = Outcome::Skipped;
            out.push(TrialRecord {
                verdict,
                status: Status::Skipped,
                accepted: None,
                snapshot,
                skip_reason: Some(reason.clone()),
                load_error: None,
            });
        }
    }
    out
}

/// The record of a broken entry: an `error` verdict carrying every problem.
fn broken_record(b: &Broken) -> TrialRecord {
    TrialRecord {
        verdict: Verdict {
            suite: b.suite.clone(),
            case: String::new(),
            variant: None,
            trial: b.name.clone(),
            outcome: Outcome::Error,
            tags: Vec::new(),
            score: 0.0,
            threshold: 1.0,
            gate: Default::default(),
            checks: Vec::new(),
            output: None,
            error: Some(b.message.clone()),
            location: b.location.clone(),
            usage: Usage::default(),
            cost_usd: None,
            duration_ms: 0.0,
        },
        status: Status::Error,
        accepted: None,
        snapshot: String::new(),
        skip_reason: None,
        load_error: Some(b.file.clone()),
    }
}

/// The reports of a run being written on a thread of their own, so that
/// libtest prints the trials meanwhile; [`Reporting::finish`] waits for them.
pub(crate) enum Reporting {
    /// The run had no record: no report.
    None,
    /// Being written.
    Writing(std::thread::JoinHandle<Result<crate::report::AfterRun, String>>),
    /// Written already (no thread could be started).
    Done(Result<crate::report::AfterRun, String>),
}

/// Starts writing the reports of a run with any records (results JSON,
/// reports, history) off the critical path.
pub(crate) fn start(
    config: &RunConfig,
    records: &[TrialRecord],
    started: SystemTime,
    elapsed: Duration,
) -> Reporting {
    if records.is_empty() {
        return Reporting::None;
    }
    let mut run = crate::report::RunResults::new(&config.root, records.to_vec(), started, elapsed);
    run.rerun = Some(config.rerun.clone());
    run.force_pass = config.settings.force_pass;
    let job = std::sync::Arc::new((run, crate::report::Settings::from_config(&config.project)));
    let write = |job: &(crate::report::RunResults, crate::report::Settings)| {
        crate::report::after_run_with(&job.0, &job.1).map_err(|e| e.to_string())
    };
    let on_thread = std::sync::Arc::clone(&job);
    match std::thread::Builder::new()
        .name("tribunal-reports".into())
        .spawn(move || write(&on_thread))
    {
        Ok(handle) => Reporting::Writing(handle),
        Err(_) => Reporting::Done(write(&job)),
    }
}

impl Reporting {
    /// Waits for the reports and prints the summary (when `print`), with the
    /// effective concurrency limits when the run made or replayed
    /// `model_calls`.
    pub(crate) fn finish(self, config: &RunConfig, model_calls: bool, plan: &Plan, print: bool) {
        let written = match self {
            Reporting::None => return,
            Reporting::Writing(handle) => handle
                .join()
                .unwrap_or_else(|_| Err("writing them panicked (see the output above)".into())),
            Reporting::Done(written) => written,
        };
        match written {
            Ok(after) if print => {
                eprint!("{}", after.summary);
                if model_calls {
                    eprintln!(
                        "limits: {}",
                        config.project.providers.limits.describe(config.concurrency)
                    );
                }
            }
            Ok(_) => {}
            Err(e) => eprintln!("tribunal: reports were not written: {e}"),
        }
        if print && !plan.broken.is_empty() {
            let files: Vec<&str> = plan.broken.iter().map(|b| b.file.as_str()).collect();
            eprintln!(
                "tribunal: {} suite file(s) could not be loaded (or hold trials that could not be told apart) and did not run: {}",
                files.len(),
                files.join(", ")
            );
        }
    }
}
