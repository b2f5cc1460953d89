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
//! model calls overlap instead of waiting for a test thread each.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use libtest_mimic::{Arguments, Failed};

use crate::case::{KnownNames, Loaded, display_path, find_suites, load_files};
use crate::config::Config;
use crate::provider::{Provider, Providers};
use crate::registry::{CheckInput, Input, IntoCheckOutcome, Registry};
use crate::run::{RunEnv, Trial, error_verdict, evaluate, expand};
use crate::snapshot::{self, Compared, Settings, SnapshotFile};
use crate::verdict::{Output, TrialRecord, Verdict};

/// Builds and runs the eval harness. See the [module docs](self).
#[derive(Default)]
pub struct Harness {
    registry: Registry,
    providers: Vec<(String, Arc<dyn Provider>)>,
    root: Option<PathBuf>,
    suites: Option<String>,
    settings: Option<Settings>,
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
        let root = self.root.clone().unwrap_or_else(default_root);
        let config = match Config::load(&root) {
            Ok(c) => c,
            Err(e) => {
                let message = format!("configuration: {e}");
                if print {
                    eprintln!("tribunal: {message}");
                }
                return RunOutcome::failed_setup(message);
            }
        };
        let settings = self.settings.unwrap_or(config.snapshots);
        let pattern = config.suites.clone().or(self.suites.clone());
        let files = match find_suites(&root, pattern.as_deref()) {
            Ok(files) => files,
            Err(message) => {
                if print {
                    eprintln!("tribunal: {message}");
                }
                return RunOutcome::failed_setup(message);
            }
        };

        let known = KnownNames {
            targets: self.registry.target_names(),
            checks: self.registry.check_names(),
        };
        let Loaded { suites, broken } = load_files(&root, &files, Some(&known));
        let mode = config.cassette_mode(settings.ci);
        let mut providers = match Providers::configure(&root, mode, config.providers.clone()) {
            Ok(p) => p,
            Err(e) => {
                let message = format!("provider configuration: {e}");
                if print {
                    eprintln!("tribunal: {message}");
                }
                return RunOutcome::failed_setup(message);
            }
        };
        for (spec, p) in self.providers {
            providers.insert(spec, p);
        }

        let trials = expand(&suites);
        let env = Arc::new(RunEnv::new(
            root.clone(),
            self.registry,
            providers,
            settings.ci,
            &trials,
        ));

        // Which trials libtest will run: evaluate exactly those, up front and
        // concurrently.
        let probe = |name: &str, ignored: bool| {
            libtest_mimic::Trial::test(name, || Ok(())).with_ignored_flag(ignored)
        };
        let selected: Vec<Trial> = if args.list {
            Vec::new()
        } else {
            trials
                .iter()
                .filter(|t| {
                    let p = probe(&t.name(), t.case().skip.is_some());
                    !args.is_filtered_out(&p) && !args.is_ignored(&p)
                })
                .cloned()
                .collect()
        };
        let results = evaluate_all(&env, &root, &selected, &settings, &config);

        let mut lib_trials: Vec<libtest_mimic::Trial> = Vec::new();
        for e in &broken {
            let message = format!(
                "{}\n(this file's cases did not run; every other suite did)",
                e
            );
            lib_trials.push(libtest_mimic::Trial::test(e.suite.clone(), move || {
                Err(Failed::from(message))
            }));
        }
        let results = Arc::new(results);
        for t in &trials {
            let name = t.name();
            let skip = t.case().skip.clone();
            let results = Arc::clone(&results);
            let key = name.clone();
            let trial = libtest_mimic::Trial::test(name, move || match results.get(&key) {
                Some((_, c)) if c.fails => Err(Failed::from(
                    c.message.clone().unwrap_or_else(|| "failed".into()),
                )),
                Some(_) => Ok(()),
                None => Err(Failed::from(
                    "tribunal did not evaluate this trial (it was not selected up front)",
                )),
            });
            lib_trials.push(trial.with_ignored_flag(skip.is_some()));
        }
        let failed = if print {
            libtest_mimic::run(args, lib_trials).has_failed()
        } else {
            let selected_broken = broken.iter().any(|e| {
                let p = libtest_mimic::Trial::test(e.suite.clone(), || Ok(()));
                !args.list && !args.is_filtered_out(&p)
            });
            selected_broken || results.values().any(|(_, c)| c.fails)
        };

        let mut records: Vec<TrialRecord> = Vec::new();
        if !args.list {
            for t in &trials {
                if let Some((verdict, c)) = results.get(&t.name()) {
                    records.push(TrialRecord {
                        verdict: verdict.clone(),
                        status: c.status,
                        accepted: c.accepted.clone(),
                        snapshot: display_path(&root, &snapshot_of(t)),
                    });
                }
            }
        }
        if !args.list && (!records.is_empty() || !broken.is_empty()) {
            let run =
                crate::report::RunResults::new(&root, records.clone(), started, clock.elapsed());
            let report_settings = crate::report::Settings::from_config(&config);
            match crate::report::after_run_with(&run, &report_settings) {
                Ok(after) if print => eprint!("{}", after.summary),
                Ok(_) => {}
                Err(e) => eprintln!("tribunal: reports were not written: {e}"),
            }
            if print && !broken.is_empty() {
                eprintln!(
                    "tribunal: {} suite file(s) could not be loaded and did not run: {}",
                    broken.len(),
                    broken
                        .iter()
                        .map(|b| b.file.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        RunOutcome {
            exit_code: if failed {
                crate::exit::code(crate::exit::EVALS_FAILED)
            } else {
                ExitCode::SUCCESS
            },
            records,
            load_errors: broken.iter().map(ToString::to_string).collect(),
        }
    }
}

/// What a harness run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The process exit code (libtest's: 0 when every selected trial passed).
    pub exit_code: ExitCode,
    /// Every evaluated trial with its status.
    pub records: Vec<TrialRecord>,
    /// Suite files that could not be loaded, with their errors.
    pub load_errors: Vec<String>,
}

impl RunOutcome {
    fn failed_setup(message: String) -> RunOutcome {
        RunOutcome {
            exit_code: crate::exit::code(crate::exit::TOOL_ERROR),
            records: Vec::new(),
            load_errors: vec![message],
        }
    }
}

fn default_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

fn snapshot_of(t: &Trial) -> PathBuf {
    snapshot::snapshot_path(
        &t.suite.dir,
        &t.suite.name,
        &t.case().id,
        t.variant().map(|v| v.id.as_str()),
    )
}

type Results = HashMap<String, (Verdict, Compared)>;

/// Evaluates the trials concurrently and compares each with its snapshot.
fn evaluate_all(
    env: &Arc<RunEnv>,
    root: &Path,
    trials: &[Trial],
    settings: &Settings,
    config: &Config,
) -> Results {
    let mut out = Results::new();
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
                let c = compare(root, t, &v, settings);
                out.insert(t.name(), (v, c));
            }
            return out;
        }
    };
    let timeout = config.trial_timeout;
    let limit = Arc::new(tokio::sync::Semaphore::new(config.concurrency));
    let verdicts: Vec<(Trial, Verdict)> = runtime.block_on(async {
        // A live progress line on a terminal; nothing in CI or in logs.
        let progress = crate::provider::progress::Progress::start(
            &env.services.providers,
            trials.len() as u64,
            settings.ci,
        );
        let mut set = tokio::task::JoinSet::new();
        for (i, t) in trials.iter().enumerate() {
            let env = Arc::clone(env);
            let t = t.clone();
            let limit = Arc::clone(&limit);
            let progress = progress.clone();
            set.spawn(async move {
                let _permit = limit.acquire_owned().await.ok();
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
                progress.finish_one();
                (i, v)
            });
        }
        let mut got: Vec<Option<Verdict>> = vec![None; trials.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, v)) = joined {
                got[i] = Some(v);
            }
        }
        progress.stop();
        trials
            .iter()
            .zip(got)
            .map(|(t, v)| {
                let v = v.unwrap_or_else(|| {
                    error_verdict(
                        t,
                        Some("the evaluation panicked (see the output above)".into()),
                    )
                });
                (t.clone(), v)
            })
            .collect()
    });
    for (t, v) in verdicts {
        let c = compare(root, &t, &v, settings);
        out.insert(t.name(), (v, c));
    }
    out
}

fn compare(root: &Path, t: &Trial, v: &Verdict, settings: &Settings) -> Compared {
    let path = snapshot_of(t);
    let display = display_path(root, &path);
    let file = SnapshotFile {
        path: &path,
        display: &display,
        source: &t.suite.file,
        line: t.case().location.line,
        description: t.case().description.as_deref(),
    };
    snapshot::compare(v, &file, settings)
}
