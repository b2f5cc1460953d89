//! The run itself: load the suite files (only the needed ones under
//! `--exact`), expand them into trials, evaluate the selected trials
//! concurrently, and compare each verdict with its snapshot.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::case::{KnownNames, Loaded, SuiteErrors, display_path, load_files};
use crate::expand::{Duplicate, Filter, Trial, expand_unique, files_for_suite};
use crate::run::{RunEnv, error_verdict, evaluate};
use crate::snapshot::{self, Compared, SnapshotFile};
use crate::verdict::Verdict;

use super::setup::RunConfig;

/// Something that should have been trials and could not be: a suite file
/// that did not load, or cases whose trial names collide. It is a failing
/// libtest trial of its own and a failing entry in every report.
#[derive(Debug, Clone)]
pub(crate) struct Broken {
    /// The libtest trial name: the suite name for a file, the trial name
    /// for a duplicate.
    pub name: String,
    /// The suite name.
    pub suite: String,
    /// The file, as displayed.
    pub file: String,
    /// Where the first problem is.
    pub location: crate::diag::Span,
    /// Every problem, one per line.
    pub message: String,
    /// A file that failed to load, a trial name used twice, or a row of a
    /// data file that could not become a case.
    pub kind: super::LoadFailureKind,
}

impl Broken {
    fn file(e: &SuiteErrors) -> Broken {
        Broken {
            name: e.suite.clone(),
            suite: e.suite.clone(),
            file: e.file.to_string(),
            location: e.errors.first().map_or_else(
                || crate::diag::Span {
                    file: e.file.clone(),
                    line: 1,
                    col: 1,
                },
                |l| l.location.clone(),
            ),
            message: format!("{e}\n(this file's cases did not run; every other suite did)"),
            kind: super::LoadFailureKind::File,
        }
    }

    fn duplicate(d: &Duplicate) -> Broken {
        let error = d.error();
        Broken {
            name: d.name.clone(),
            suite: d.suite.clone(),
            file: error.location.file.to_string(),
            location: error.location.clone(),
            message: error.to_string(),
            kind: super::LoadFailureKind::Duplicate,
        }
    }

    fn row(suite: &crate::case::Suite, row: &crate::case::BadRow) -> Broken {
        Broken {
            name: format!("{}::{}", suite.name, row.name),
            suite: suite.name.clone(),
            file: row.error.location.file.to_string(),
            location: row.error.location.clone(),
            message: format!(
                "{}\n(this row did not run; the suite's other cases did)",
                row.error
            ),
            kind: super::LoadFailureKind::Row,
        }
    }
}

/// The loaded run: suites, trials and what could not become trials.
#[derive(Debug)]
pub(crate) struct Plan {
    pub trials: Vec<Trial>,
    pub broken: Vec<Broken>,
}

impl Plan {
    /// Loads and expands. Under `--exact NAME` (nextest's one process per
    /// trial) only the files that can hold NAME's suite are loaded; when
    /// those do not produce NAME, every file is loaded after all, so the
    /// fast path never changes what runs.
    pub fn load(
        config: &RunConfig,
        files: &[PathBuf],
        known: &KnownNames,
        filter: &Filter<'_>,
    ) -> Plan {
        if let Some(suite) = filter.exact_suite() {
            let few = files_for_suite(files, suite);
            if few.len() < files.len() {
                let plan = Plan::load_files(&config.root, &few, known);
                let found = plan.trials.iter().any(|t| filter.selects(&t.name(), false))
                    || plan.broken.iter().any(|b| filter.selects(&b.name, false));
                if found {
                    return plan;
                }
            }
        }
        Plan::load_files(&config.root, files, known)
    }

    fn load_files(root: &Path, files: &[PathBuf], known: &KnownNames) -> Plan {
        let Loaded { suites, broken } = load_files(root, files, Some(known));
        let expanded = expand_unique(&suites);
        let mut all: Vec<Broken> = broken.iter().map(Broken::file).collect();
        for suite in &suites {
            all.extend(suite.bad_rows.iter().map(|r| Broken::row(suite, r)));
        }
        all.extend(expanded.duplicates.iter().map(Broken::duplicate));
        Plan {
            trials: expanded.trials,
            broken: all,
        }
    }

    /// The trials the filter selects, in order.
    pub fn selected(&self, filter: &Filter<'_>) -> Vec<Trial> {
        self.trials
            .iter()
            .filter(|t| filter.selects(&t.name(), t.case().skip.is_some()))
            .cloned()
            .collect()
    }

    /// The broken entries the filter selects.
    pub fn selected_broken(&self, filter: &Filter<'_>) -> Vec<&Broken> {
        self.broken
            .iter()
            .filter(|b| filter.selects(&b.name, false))
            .collect()
    }
}

/// The snapshot file of a trial.
pub(crate) fn snapshot_of(t: &Trial) -> PathBuf {
    snapshot::snapshot_path(
        &t.suite.dir,
        &t.suite.name,
        &t.case().id,
        t.variant().map(|v| v.id.as_str()),
    )
}

/// Each evaluated trial's name, verdict and snapshot comparison, in the
/// order of the trials given to [`evaluate_all`] (the plan's order). The
/// verdict is boxed so that moving it into its record later frees it one
/// by one rather than holding a second array of verdicts.
pub(crate) type Results = Vec<(String, Box<Verdict>, Compared)>;

/// What libtest reports of each evaluated trial: its comparison only (the
/// verdicts move into the run's records, so one copy of each is held).
pub(crate) type Comparisons = HashMap<String, Compared>;

/// Evaluates the trials concurrently and compares each with its snapshot.
pub(crate) fn evaluate_all(env: &Arc<RunEnv>, config: &RunConfig, trials: &[Trial]) -> Results {
    let settings = &config.settings;
    let mut out = Results::with_capacity(trials.len());
    if trials.is_empty() {
        return out;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            for t in trials {
                let v = error_verdict(t, Some(format!("cannot start the async runtime: {e}")));
                let c = compare(config, t, &v);
                out.push((t.name(), Box::new(v), c));
            }
            return out;
        }
    };
    let timeout = config.timeout;
    // `concurrency` workers take the trials in order, one at a time, so only
    // the trials in flight exist as tasks: spawning every trial up front held
    // each one's whole evaluation future (a few KB) from the start, 10,000 of
    // them on a 10,000-case suite. Each trial still runs as its own task, so
    // a panic fails that trial alone.
    let workers = config.concurrency.max(1).min(trials.len());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let all: Arc<[Trial]> = trials.into();
    // Each trial is compared with its snapshot as soon as it is evaluated
    // (a small file read, and a write when it changed), so the comparisons
    // overlap the other trials' model calls instead of following them all.
    let shared = Arc::new(config.clone());
    env.expect(trials);
    let evaluated: Vec<Option<(Box<Verdict>, Compared)>> = runtime.block_on(async {
        // A live progress line on a terminal; nothing in CI or in logs.
        let progress = crate::provider::progress::Progress::start(
            &env.services.providers,
            trials.len() as u64,
            settings.ci,
        );
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let env = Arc::clone(env);
            let all = Arc::clone(&all);
            let next = Arc::clone(&next);
            let progress = progress.clone();
            let config = Arc::clone(&shared);
            set.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(t) = all.get(i).cloned() else { break };
                    let env = Arc::clone(&env);
                    let config = Arc::clone(&config);
                    let trial = tokio::spawn(async move {
                        let v = match tokio::time::timeout(timeout, evaluate(&env, &t)).await {
                            Ok(v) => v,
                            Err(_) => error_verdict(
                                &t,
                                Some(format!(
                                    "timed out after {:.0}s (TRIBUNAL_TRIAL_TIMEOUT)",
                                    timeout.as_secs_f64()
                                )),
                            ),
                        };
                        env.finished(&t);
                        let c = compare(&config, &t, &v);
                        (Box::new(v), c)
                    });
                    // A panicked trial stays `None`: an error verdict below.
                    if let Ok((v, c)) = trial.await {
                        done.push((i, v, c));
                    }
                    progress.finish_one();
                }
                done
            });
        }
        let mut got: Vec<Option<(Box<Verdict>, Compared)>> = Vec::with_capacity(trials.len());
        got.resize_with(trials.len(), || None);
        while let Some(joined) = set.join_next().await {
            if let Ok(done) = joined {
                for (i, v, c) in done {
                    got[i] = Some((v, c));
                }
            }
        }
        progress.stop();
        got
    });
    for (t, done) in trials.iter().zip(evaluated) {
        let (v, c) = done.unwrap_or_else(|| {
            let v = error_verdict(
                t,
                Some("the evaluation panicked (see the output above)".into()),
            );
            let c = compare(config, t, &v);
            (Box::new(v), c)
        });
        out.push((t.name(), v, c));
    }
    out
}

fn compare(config: &RunConfig, t: &Trial, v: &Verdict) -> Compared {
    let (root, settings) = (&config.root, &config.settings);
    let path = snapshot_of(t);
    let display = display_path(root, &path);
    let file = SnapshotFile {
        path: &path,
        display: &display,
        source: &t.case().location.file,
        line: t.case().location.line,
        description: t.case().description.as_deref(),
        rerun: &config.rerun,
    };
    snapshot::compare(v, &file, settings)
}
