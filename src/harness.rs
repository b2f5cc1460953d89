//! The test harness: eval suites become libtest trials.
//!
//! A project's `tests/evals.rs` (with `harness = false` in `Cargo.toml`)
//! registers its systems under test and hands over to [`Harness::main`]:
//!
//! ```no_run
//! use tribunal::Harness;
//!
//! fn answer(input: &tribunal::Input) -> Result<String, String> {
//!     Ok(format!("You asked: {}", input.text()))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     Harness::new()
//!         .target("support_bot", answer)
//!         .check("is_polite", |c: &tribunal::CheckInput<'_>| !c.output.text.contains("stupid"))
//!         .main()
//! }
//! ```
//!
//! Every case is one trial, `suite::case` (or `suite::case::variant`), so
//! `cargo test refund`, `--exact`, `--list`, `--ignored`, `--test-threads`
//! and `cargo nextest run` work as with any Rust test. The selected trials are
//! evaluated concurrently on one tokio runtime before libtest prints them:
//! model calls overlap instead of waiting for a test thread each. Under
//! nextest (one process per trial, `--exact NAME`) a process loads only the
//! suite files of NAME's suite ([`crate::expand::files_for_suite`]). Under
//! CI a filter that selects no trial is an error naming the filter.
//!
//! The run is four steps, each in its own module: configuration
//! (`setup`), loading, expansion and evaluation (`orchestrate`), the
//! libtest adapter (`libtest`), and records and reports (`reporting`).

mod libtest;
mod orchestrate;
mod reporting;
mod setup;

use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use libtest_mimic::Arguments;

use crate::case::KnownNames;
use crate::expand::{Filter, Trial};
use crate::provider::{Provider, Providers};
use crate::registry::{CheckInput, Input, IntoCheckOutcome, Registry};
use crate::rerun::Rerun;
use crate::run::RunEnv;
use crate::snapshot::Settings;
use crate::verdict::{Output, TrialRecord};
use orchestrate::{Plan, evaluate_all};
use setup::RunConfig;

/// Builds and runs the eval harness. See the [module docs](self).
#[derive(Default)]
pub struct Harness {
    registry: Registry,
    providers: Vec<(String, Arc<dyn Provider>)>,
    root: Option<PathBuf>,
    suites: Option<String>,
    settings: Option<Settings>,
    rerun: Option<Rerun>,
    env: Option<crate::config::Env>,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("registry", &self.registry)
            .field(
                "providers",
                &self.providers.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            )
            .field("root", &self.root)
            .field("suites", &self.suites)
            .field("settings", &self.settings)
            .field("rerun", &self.rerun)
            .field("env", &self.env.is_some())
            .finish()
    }
}

impl Harness {
    /// A harness with nothing registered, reading `evals/` under the crate root.
    pub fn new() -> Self {
        Harness::default()
    }

    /// Registers a synchronous target (`target: name` in YAML). It runs on a
    /// blocking thread, so it may do CPU work or blocking I/O.
    pub fn target<F, O, E>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&Input) -> Result<O, E> + Send + Sync + 'static,
        O: Into<Output>,
        E: Display,
    {
        self.registry.target(name, f);
        self
    }

    /// Registers an async target, run concurrently with every other trial.
    pub fn async_target<F, Fut, O, E>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(Input) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        O: Into<Output>,
        E: Display,
    {
        self.registry.async_target(name, f);
        self
    }

    /// Registers a check function (`- rust: name` in YAML). It returns `bool`
    /// or `Result<(), E>` (the error text is the failure reason).
    pub fn check<F, R>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&CheckInput<'_>) -> R + Send + Sync + 'static,
        R: IntoCheckOutcome,
    {
        self.registry.check(name, f);
        self
    }

    /// Registers a model provider under a spec (`provider: spec` in YAML),
    /// in addition to the configured ones.
    pub fn provider(mut self, spec: &str, provider: Arc<dyn Provider>) -> Self {
        self.providers.push((spec.to_string(), provider));
        self
    }

    /// The project root (default: `CARGO_MANIFEST_DIR`, else the current folder).
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// Which suite files to load: a glob relative to the root such as
    /// `evals/**/*.yaml` (default: every `*.yaml`/`*.yml` under `evals/`).
    /// The `TRIBUNAL_SUITES` environment variable overrides it.
    pub fn suites(mut self, glob: impl Into<String>) -> Self {
        self.suites = Some(glob.into());
        self
    }

    /// Snapshot behaviour (default: from `INSTA_UPDATE`, `INSTA_FORCE_PASS`
    /// and `CI` in the environment).
    pub fn snapshot_settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// How the suite is being run, for the commands named in hints
    /// (default: `cargo test --test <this test binary>`, or `cargo nextest
    /// run --test <this test binary>` when nextest runs it; `tribunal test`
    /// sets [`Rerun::Tribunal`]).
    pub fn rerun(mut self, rerun: Rerun) -> Self {
        self.rerun = Some(rerun);
        self
    }

    /// Reads the configuration (`TRIBUNAL_*`, `INSTA_UPDATE`, `CI`, ...)
    /// from `env` instead of the process environment: for tools that run
    /// suites in process under settings of their own (`tribunal bench
    /// --e2e`). Keys and base URLs of providers are still read from the
    /// process environment.
    pub fn env(mut self, env: crate::config::Env) -> Self {
        self.env = Some(env);
        self
    }

    /// Parses the test arguments from the command line, runs, and returns
    /// the exit code for `main`.
    pub fn main(self) -> ExitCode {
        let args = Arguments::from_args();
        self.run(&args).exit_code
    }

    /// Runs with the given arguments.
    pub fn run(self, args: &Arguments) -> RunOutcome {
        self.execute(args, true)
    }

    /// Like [`Harness::run`], but prints nothing: no libtest lines, no
    /// summary. Reports are still written. For embedding tribunal in other
    /// tools and for testing it.
    pub fn run_quietly(self, args: &Arguments) -> RunOutcome {
        self.execute(args, false)
    }

    fn execute(self, args: &Arguments, print: bool) -> RunOutcome {
        let started = SystemTime::now();
        let clock = Instant::now();
        let setup_failed = |message: String| {
            if print {
                eprintln!("tribunal: {message}");
            }
            RunOutcome::failed_setup(message)
        };
        let config = match RunConfig::resolve(
            self.root,
            self.suites,
            self.settings,
            self.rerun,
            self.env.unwrap_or_else(crate::config::Env::process),
        ) {
            Ok(c) => c,
            Err(message) => return setup_failed(message),
        };
        // What the last run left in the history's log is copied into the
        // database while this run loads and evaluates (the store after it
        // leaves its own for the next run).
        let history_ready = config
            .project
            .history
            .as_deref()
            .filter(|_| config.project.nextest_run.is_none() && !args.list)
            .and_then(crate::report::history::prepare);
        // Read while the run loads and evaluates (the reports need it).
        let git = if args.list {
            reporting::GitState::not_started()
        } else {
            reporting::GitState::start(&config.root)
        };
        let files = match config.suite_files() {
            Ok(files) => files,
            Err(message) => return setup_failed(message),
        };
        let filter = Filter::new(args);
        let known = KnownNames {
            targets: self.registry.target_names(),
            checks: self.registry.check_names(),
        };
        // Loaded on a thread of its own, which ends with the loading: the
        // memory the parse used and freed stays with that thread's malloc
        // arena, which glibc hands to the next thread started (a runtime
        // worker, which fills it with the run's verdicts) instead of leaving
        // it unused beside the workers' own (max RSS of a 10,000-case replay
        // 152 -> 142 MB).
        // The providers' clients (TLS configuration, connection pools) are
        // built here meanwhile: 3 ms of a cold run's lead-in before its
        // first call.
        let load = || Plan::load(&config, &files, &known, &filter);
        let configure = || {
            let mode = config.project.cassette_mode(config.settings.ci);
            Providers::configure(&config.root, mode, config.project.providers.clone())
        };
        let (plan, providers) = std::thread::scope(|s| {
            match std::thread::Builder::new()
                .name("tribunal-load".into())
                .spawn_scoped(s, load)
            {
                Ok(h) => {
                    let providers = configure();
                    let plan = h
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    (plan, providers)
                }
                Err(_) => (load(), configure()),
            }
        });
        let mut providers = match providers {
            Ok(p) => p,
            Err(e) => return setup_failed(format!("provider configuration: {e}")),
        };
        for (spec, p) in self.providers {
            providers.insert(spec, p);
        }
        providers.set_rerun(config.rerun.clone());
        let mut env = RunEnv::new(
            config.root.clone(),
            self.registry,
            providers,
            config.settings.ci,
            &plan.trials,
        );
        env.default_repeat = config.project.repeat;
        let env = Arc::new(env);

        // Which trials libtest will run: evaluate exactly those, up front and
        // concurrently.
        let selected = plan.selected(&filter);
        if let Some(message) =
            nothing_selected(&plan, &selected, &filter, config.settings.ci).filter(|_| !args.list)
        {
            return setup_failed(message);
        }
        let quarantine = match crate::quarantine::Quarantine::load(
            &config.project.quarantine,
            &crate::case::display_path(&config.root, &config.project.quarantine),
        ) {
            Ok(q) => q,
            Err(errors) => {
                let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                return setup_failed(format!(
                    "the quarantine list cannot be used:\n{}",
                    lines.join("\n")
                ));
            }
        };
        let mut results = evaluate_all(&env, &config, &selected);
        // Every cassette and accepted snapshot of the run is written: flush
        // them to disk while libtest prints and the reports are written.
        let flush = std::thread::Builder::new()
            .name("tribunal-flush".into())
            .spawn(crate::fsutil::sync_deferred);
        let notes = reporting::quarantine(&mut results, &quarantine, &crate::datetime::today());
        let (records, comparisons) =
            reporting::records(&config.root, &plan, results, &filter, !args.list);
        let records: Vec<_> = records
            .into_iter()
            .map(|mut r| {
                r.quarantine = notes.get(&r.verdict.trial).cloned();
                r
            })
            .collect();
        let comparisons = Arc::new(comparisons);
        let subset = reporting::subset(&filter, config.project.suites.as_deref());
        let spend = reporting::spend(&env.services.providers.stats());
        if let Some(ready) = history_ready {
            let _ = ready.join();
        }
        // The reports are written while libtest prints the trials.
        let reports = reporting::start(
            &config,
            records,
            &plan,
            reporting::RunTime {
                started,
                elapsed: clock.elapsed(),
                git,
            },
            subset,
            spend,
        );
        let failed = libtest::run(args, &plan, &comparisons, print);
        let calls = env.services.providers.stats();
        let model_calls = calls.attempts + calls.replayed + calls.errors > 0;
        let finished = reports.finish(&config, model_calls, &plan, print);
        let reports_lost = finished.is_none();
        let records = finished.unwrap_or_default();
        let flushed = match flush {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the flush panicked"))),
            Err(_) => crate::fsutil::sync_deferred(),
        };
        let flush_failed = if let Err(e) = &flushed {
            if print {
                eprintln!(
                    "tribunal: the cassettes and snapshots this run wrote may not be on disk: {e}"
                );
            }
            true
        } else {
            false
        };
        // The suites' `min_canary_catch` gates are over the whole run; one
        // process of a nextest run sees one trial, so there they apply when
        // the processes' results are merged (`tribunal report --merge`).
        let canary_failures = if config.project.nextest_run.is_none() {
            crate::report::canaries::gate_failures_of(&records)
        } else {
            Vec::new()
        };
        if print {
            for f in &canary_failures {
                eprintln!("tribunal: canary gate failed: {f}");
            }
            let queued = env.services.providers.queued();
            if queued > 0 {
                eprintln!(
                    "tribunal: batch mode queued {queued} model call(s) under target/tribunal/batches/pending/ (next: `tribunal batch submit`, then `tribunal batch collect --wait 24h`, then run the suite again)"
                );
            }
        }
        let failed = failed || !canary_failures.is_empty() || flush_failed || reports_lost;
        RunOutcome {
            exit_code: if failed {
                crate::exit::code(crate::exit::EVALS_FAILED)
            } else {
                ExitCode::SUCCESS
            },
            records,
            load_errors: plan.broken.iter().map(LoadFailure::from).collect(),
        }
    }
}

/// Under `CI`, a filter that selects nothing is an error naming the filter:
/// a gate that ran no trial has not passed.
fn nothing_selected(
    plan: &Plan,
    selected: &[Trial],
    filter: &Filter<'_>,
    ci: bool,
) -> Option<String> {
    if !ci || !filter.narrows() || !selected.is_empty() || !plan.selected_broken(filter).is_empty()
    {
        return None;
    }
    let skipped = plan
        .trials
        .iter()
        .filter(|t| t.case().skip.is_some() && filter.selects(&t.name(), false))
        .count();
    Some(format!(
        "the {} selects none of the {} trials{} (in CI a run that selects nothing is an error, not a pass; hint: list the trial names with `--list`)",
        filter.describe(),
        plan.trials.len() + plan.broken.len(),
        if skipped > 0 {
            format!(" ({skipped} matching case(s) are `skip:`ped)")
        } else {
            String::new()
        }
    ))
}

/// What a harness run produced.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutcome {
    /// The process exit code (libtest's: 0 when every selected trial passed).
    pub exit_code: ExitCode,
    /// Every evaluated trial with its status.
    pub records: Vec<TrialRecord>,
    /// What could not become a trial: suite files that failed to load,
    /// trial names used twice, or a setup problem that stopped the run.
    pub load_errors: Vec<LoadFailure>,
}

/// Something that could not become a trial, with where it is. Its
/// `Display` is the whole message, as the terminal shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadFailure {
    /// What kind of failure this is.
    pub kind: LoadFailureKind,
    /// The trial name it stands for in reports: the suite name for a broken
    /// file, the trial name for a duplicate, `suite::file:line` for a bad
    /// row of a data file; empty for a setup problem.
    pub name: String,
    /// The file, as displayed; empty for a setup problem.
    pub file: String,
    /// The 1-based line of the first problem (0 for a setup problem).
    pub line: u32,
    /// The 1-based column of the first problem (0 for a setup problem).
    pub col: u32,
    /// Every problem, one per line, with positions and hints.
    pub message: String,
}

/// The kinds of [`LoadFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadFailureKind {
    /// A suite file that failed to load (its cases did not run).
    File,
    /// A trial name used by two cases.
    Duplicate,
    /// A problem that stopped the run before any trial (configuration,
    /// no suite found).
    Setup,
    /// A row of a `cases_from:` data file that could not become a case
    /// (the suite's other cases ran).
    Row,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<&orchestrate::Broken> for LoadFailure {
    fn from(b: &orchestrate::Broken) -> LoadFailure {
        LoadFailure {
            kind: b.kind,
            name: b.name.clone(),
            file: b.file.clone(),
            line: b.location.line,
            col: b.location.col,
            message: b.message.clone(),
        }
    }
}

impl RunOutcome {
    fn failed_setup(message: String) -> RunOutcome {
        RunOutcome {
            exit_code: crate::exit::code(crate::exit::TOOL_ERROR),
            records: Vec::new(),
            load_errors: vec![LoadFailure {
                kind: LoadFailureKind::Setup,
                name: String::new(),
                file: String::new(),
                line: 0,
                col: 0,
                message,
            }],
        }
    }
}
