//! After the run: one record per trial that ran, per `skip:`ped case the
//! filter selected and per broken entry; the reports; the closing lines.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::orchestrate::{Broken, Comparisons, Plan, Results, snapshot_of};
use super::setup::RunConfig;
use crate::case::display_path;
use crate::expand::Filter;
use crate::run::error_verdict;
use crate::verdict::{Outcome, Status, TrialRecord, Usage, Verdict};

/// Every record of the run, in trial order: broken entries first (as
/// libtest lists them), then evaluated and skipped trials.
/// The run's records (when `keep`) and the comparisons libtest reports:
/// each verdict moves into its record, so one copy of it is held.
pub(crate) fn records(
    root: &Path,
    plan: &Plan,
    results: Results,
    filter: &Filter<'_>,
    keep: bool,
) -> (Vec<TrialRecord>, Comparisons) {
    let mut comparisons = Comparisons::with_capacity(results.len());
    if !keep {
        comparisons.extend(results.into_iter().map(|(name, _, c)| (name, c)));
        return (Vec::new(), comparisons);
    }
    let broken = plan.selected_broken(filter);
    let skipped = plan
        .trials
        .iter()
        .filter(|t| t.case().skip.is_some())
        .count();
    let mut out: Vec<TrialRecord> = Vec::with_capacity(broken.len() + results.len() + skipped);
    out.extend(broken.into_iter().map(broken_record));
    // The results follow the plan's order (they are its selected trials):
    // one walk pairs each trial with its result.
    let mut results = results.into_iter().peekable();
    for t in &plan.trials {
        let snapshot = display_path(root, &snapshot_of(t));
        let name = t.name();
        if results.peek().is_some_and(|(n, _, _)| *n == name) {
            let Some((name, verdict, c)) = results.next() else {
                continue;
            };
            out.push(TrialRecord {
                verdict,
                status: c.status,
                accepted: c.accepted.clone(),
                snapshot,
                skip_reason: None,
                load_error: None,
                quarantine: None,
            });
            comparisons.insert(name, c);
        } else if let Some(reason) = &t.case().skip
            && filter.selects(&t.name(), false)
        {
            let mut verdict = error_verdict(t, None);
            verdict.outcome = Outcome::Skipped;
            out.push(TrialRecord {
                verdict: Box::new(verdict),
                status: Status::Skipped,
                accepted: None,
                snapshot,
                skip_reason: Some(reason.clone()),
                load_error: None,
                quarantine: None,
            });
        }
    }
    // Anything not paired (not expected: results come from the plan) still
    // reaches libtest, which reports every result it is given.
    comparisons.extend(results.map(|(name, _, c)| (name, c)));
    (out, comparisons)
}

/// The record of a broken entry: an `error` verdict carrying every problem.
/// A bad row of a data file is an errored trial of its suite (named by its
/// file and line), not a file that did not load.
fn broken_record(b: &Broken) -> TrialRecord {
    let row = b.kind == super::LoadFailureKind::Row;
    TrialRecord {
        verdict: Box::new(Verdict {
            suite: b.suite.clone(),
            case: if row {
                b.name[b.suite.len() + 2..].to_string()
            } else {
                String::new()
            },
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
        }),
        status: Status::Error,
        accepted: None,
        snapshot: String::new(),
        skip_reason: None,
        load_error: (!row).then(|| b.file.clone()),
        quarantine: None,
    }
}

/// What narrowed the run to part of the suites, when anything did: the
/// libtest filter (a name, `--skip`, `--ignored`) or `TRIBUNAL_SUITES`.
pub(crate) fn subset(filter: &Filter<'_>, suites: Option<&str>) -> Option<String> {
    let mut parts = Vec::new();
    if filter.narrows() {
        parts.push(filter.describe());
    }
    if let Some(glob) = suites {
        parts.push(format!("TRIBUNAL_SUITES `{glob}`"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// What the run's model calls cost, replayed and live.
pub(crate) fn spend(s: &crate::provider::StatsSnapshot) -> crate::report::results::Spend {
    crate::report::results::Spend {
        replayed_calls: s.replayed,
        live_calls: s.live,
        replayed_usd: s.replayed_nano_usd as f64 / 1e9,
        spent_usd: s.spent_nano_usd as f64 / 1e9,
    }
}

/// What writing the reports gives back: the outcome, and the run's records
/// (as the results file holds them: texts past `KEPT_BYTES` cut).
type Written = (Result<crate::report::AfterRun, String>, Vec<TrialRecord>);

/// The reports of a run being written on a thread of their own, so that
/// libtest prints the trials meanwhile; [`Reporting::finish`] waits for them.
pub(crate) enum Reporting {
    /// The run had no record: no report.
    None,
    /// Being written.
    Writing(std::thread::JoinHandle<Written>),
    /// Written already (no thread could be started).
    Done(Box<Written>),
}

/// The git state of the project (commit, branch, dirty), read by up to
/// three `git` processes on a thread started with the run, so that they
/// run beside the loading and the evaluation instead of before the
/// reports (`git status` alone grows with the repository).
pub(crate) struct GitState(
    Option<std::thread::JoinHandle<Option<crate::report::results::GitInfo>>>,
);

impl GitState {
    /// Starts reading the state of `root`.
    pub(crate) fn start(root: &std::path::Path) -> GitState {
        let root = root.to_path_buf();
        GitState(
            std::thread::Builder::new()
                .name("tribunal-git".into())
                .spawn(move || crate::report::results::GitInfo::detect(&root))
                .ok(),
        )
    }

    /// Nothing started: the state is read when it is asked for (a run that
    /// only lists its trials never asks).
    pub(crate) fn not_started() -> GitState {
        GitState(None)
    }

    /// The state read; read here when it was not started, no thread could
    /// be had, or it panicked.
    fn get(self, root: &std::path::Path) -> Option<crate::report::results::GitInfo> {
        match self.0.map(std::thread::JoinHandle::join) {
            Some(Ok(git)) => git,
            _ => crate::report::results::GitInfo::detect(root),
        }
    }
}

/// When the run started, how long it took, and its git state.
pub(crate) struct RunTime {
    pub(crate) started: SystemTime,
    pub(crate) elapsed: Duration,
    pub(crate) git: GitState,
}

/// Starts writing the reports of a run with any records (results JSON,
/// reports, history) off the critical path. The records move to the report
/// thread (one copy of them is held) and come back from
/// [`Reporting::finish`].
pub(crate) fn start(
    config: &RunConfig,
    records: Vec<TrialRecord>,
    plan: &Plan,
    time: RunTime,
    subset: Option<String>,
    spend: crate::report::results::Spend,
) -> Reporting {
    if records.is_empty() {
        return Reporting::None;
    }
    let RunTime {
        started,
        elapsed,
        git,
    } = time;
    let mut run =
        crate::report::RunResults::with_git(git.get(&config.root), records, started, elapsed);
    run.rerun = Some(config.rerun.clone());
    run.force_pass = config.settings.force_pass;
    run.subset = subset;
    run.spend = Some(spend);
    for t in &plan.trials {
        let suite = &t.suite;
        if !suite.axes.is_empty() && !run.variant_axes.contains_key(&suite.name) {
            run.variant_axes
                .insert(suite.name.clone(), suite.axes.clone());
        }
    }
    let settings = crate::report::Settings::from_config(&config.project);
    // When no thread can be started the run is written here instead, so
    // it waits in a slot the thread takes it from.
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(run)));
    let on_thread = (std::sync::Arc::clone(&slot), settings.clone());
    match std::thread::Builder::new()
        .name("tribunal-reports".into())
        .spawn(move || write_reports(&on_thread.0, &on_thread.1))
    {
        Ok(handle) => Reporting::Writing(handle),
        Err(_) => Reporting::Done(Box::new(write_reports(&slot, &settings))),
    }
}

fn write_reports(
    slot: &std::sync::Mutex<Option<crate::report::RunResults>>,
    settings: &crate::report::Settings,
) -> Written {
    let taken = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let Some(run) = taken else {
        return (Err("the run was already written".into()), Vec::new());
    };
    let written = crate::report::after_run_with(&run, settings).map_err(|e| e.to_string());
    (written, run.records)
}

impl Reporting {
    /// Waits for the reports and prints the summary (when `print`), with the
    /// effective concurrency limits when the run made or replayed
    /// `model_calls`.
    /// Returns the run's records, or `None` when the report thread panicked
    /// and took them with it (the run then fails: its gates cannot be read).
    pub(crate) fn finish(
        self,
        config: &RunConfig,
        model_calls: bool,
        plan: &Plan,
        print: bool,
    ) -> Option<Vec<TrialRecord>> {
        let (written, records) = match self {
            Reporting::None => return Some(Vec::new()),
            Reporting::Writing(handle) => match handle.join() {
                Ok((w, records)) => (w.map(Some), records),
                Err(_) => {
                    eprintln!(
                        "tribunal: writing the reports panicked (see the output above); the run fails, since its records are lost"
                    );
                    return None;
                }
            },
            Reporting::Done(written) => {
                let (w, records) = *written;
                (w.map(Some), records)
            }
        };
        match written {
            Ok(None) => {}
            Ok(Some(after)) if print => {
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
        let rows = plan
            .broken
            .iter()
            .filter(|b| b.kind == super::LoadFailureKind::Row)
            .count();
        if print && rows > 0 {
            eprintln!(
                "tribunal: {} of data files could not become cases and did not run (the other cases did)",
                crate::text::count(rows, "row")
            );
        }
        let files: Vec<&str> = plan
            .broken
            .iter()
            .filter(|b| b.kind != super::LoadFailureKind::Row)
            .map(|b| b.file.as_str())
            .collect();
        if print && !files.is_empty() {
            eprintln!(
                "tribunal: {} suite file(s) could not be loaded (or hold trials that could not be told apart) and did not run: {}",
                files.len(),
                files.join(", ")
            );
        }
        Some(records)
    }
}

/// Applies the quarantine list to the evaluated trials: a trial with a live
/// entry is `quarantined` and fails nothing (its message says what it would
/// have been); an expired entry changes nothing but is noted. Returns the
/// note of every trial the list names, by trial name.
pub(crate) fn quarantine(
    results: &mut Results,
    list: &crate::quarantine::Quarantine,
    today: &str,
) -> std::collections::HashMap<String, crate::verdict::QuarantineNote> {
    let mut notes = std::collections::HashMap::new();
    if list.entries.is_empty() {
        return notes;
    }
    for (name, _, c) in results.iter_mut() {
        let Some(note) = list.note(name, c.status, today) else {
            continue;
        };
        if !note.expired {
            c.status = Status::Quarantined;
            if c.fails {
                c.fails = false;
            }
        }
        let line = note.line();
        c.message = Some(match c.message.take() {
            Some(m) => format!("{line}\n{m}"),
            None => line,
        });
        notes.insert(name.clone(), note);
    }
    notes
}
