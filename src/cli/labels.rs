//! The `tribunal align` and `tribunal label` subcommands.
//!
//! Both load the suites under `evals/` of the project root, so they work on
//! cases with fixed `output:` and on model targets (replayed from cassettes
//! under `CI=true`). Cases whose target is a registered Rust function have no
//! output from the bare CLI: `align` then judges the labelled output and
//! reports staleness as unknown; `label` shows the output the last run
//! recorded (`target/tribunal/last.json`), or lists them as having no output
//! when there is no run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::align::walk::{WalkOptions, walk};
use crate::align::{AlignOptions, align_suite};
use crate::case::{Suite, discover, load_files};
use crate::labels::{LabelFile, labels_path};
use crate::provider::Providers;
use crate::registry::Registry;
use crate::run::{RunEnv, expand};

/// Judge alignment commands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Run the judges over human-labelled outputs and report agreement
    /// (accuracy, Cohen's kappa, TPR/TNR, confusion matrix, per judge and
    /// tag) with every disagreement; fails below `min_agreement`.
    Align {
        /// Only this suite (default: every suite with a label file).
        #[arg(long)]
        suite: Option<String>,
        /// Only this judge check (by name).
        #[arg(long)]
        check: Option<String>,
        /// Use stale labels too (output changed since labelling).
        #[arg(long)]
        include_stale: bool,
        /// Fail below this agreement (overrides the suite's `judge.min_agreement`).
        #[arg(long)]
        min_agreement: Option<f64>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// The project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Walk through unlabelled outputs of a suite in the terminal and record
    /// a pass/fail verdict and critique for each (`u` undoes the last label;
    /// a critique line ending with `\` continues on the next).
    Label {
        /// The suite to label.
        #[arg(long)]
        suite: String,
        /// Who is labelling.
        #[arg(long, env = "TRIBUNAL_LABELLER")]
        labeller: Option<String>,
        /// Label for this judge check only.
        #[arg(long)]
        check: Option<String>,
        /// Also relabel outputs whose label is stale.
        #[arg(long)]
        relabel_stale: bool,
        /// The project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

fn load_suites(root: &Path) -> Result<Vec<Arc<Suite>>, String> {
    let files = discover(&root.join("evals")).map_err(|e| e.to_string())?;
    let loaded = load_files(root, &files, None);
    if loaded.broken.is_empty() {
        Ok(loaded.suites)
    } else {
        Err(loaded
            .broken
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

fn env_for(root: &Path, suites: &[Arc<Suite>]) -> Result<RunEnv, String> {
    let config = crate::config::Config::load(root).map_err(|e| e.to_string())?;
    let providers = Providers::configure(root, config.cassette_mode(config.ci), config.providers)
        .map_err(|e| e.to_string())?;
    Ok(RunEnv::new(
        root.to_path_buf(),
        Registry::default(),
        providers,
        config.ci,
        &expand(suites),
    ))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Runs a command; exit code 0 on success, 1 when the alignment gate
/// fails, 2 on a usage or input error.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Align {
            suite,
            check,
            include_stale,
            min_agreement,
            json,
            root,
        } => {
            let options = AlignOptions {
                check,
                include_stale,
                min_agreement,
            };
            match run_align(&root, suite.as_deref(), &options, json) {
                Ok((text, ok)) => {
                    print!("{text}");
                    if ok {
                        ExitCode::SUCCESS
                    } else {
                        crate::exit::code(crate::exit::FAILED)
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    crate::exit::code(crate::exit::TOOL_ERROR)
                }
            }
        }
        Command::Label {
            suite,
            labeller,
            check,
            relabel_stale,
            root,
        } => {
            let labeller = labeller
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into());
            let options = WalkOptions {
                labeller,
                relabel_stale,
                check,
                ..WalkOptions::default()
            };
            let stdin = std::io::stdin();
            match run_label(&root, &suite, stdin.lock(), std::io::stdout(), &options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    crate::exit::code(crate::exit::TOOL_ERROR)
                }
            }
        }
    }
}

/// `tribunal align`: the report text and whether every gate held.
pub fn run_align(
    root: &Path,
    suite: Option<&str>,
    options: &AlignOptions,
    json: bool,
) -> Result<(String, bool), String> {
    let suites = load_suites(root)?;
    if let Some(name) = suite
        && !suites.iter().any(|s| s.name == name)
    {
        let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
        return Err(format!("no suite `{name}` (suites: {})", names.join(", ")));
    }
    let env = env_for(root, &suites)?;
    let rt = runtime()?;
    let mut text = String::new();
    let mut reports = Vec::new();
    let mut ok = true;
    for s in suites.iter().filter(|s| suite.is_none_or(|n| n == s.name)) {
        let settings = &s.judge;
        let path = labels_path(root, &s.name, settings.labels.as_deref());
        let Some(labels) = LabelFile::load(&path).map_err(|e| e.to_string())? else {
            if suite.is_some() {
                return Err(format!(
                    "no labels for suite `{}` at {} (create them with `tribunal label --suite {}`)",
                    s.name,
                    path.display(),
                    s.name
                ));
            }
            continue;
        };
        let report = rt.block_on(align_suite(&env, s, &labels, options))?;
        ok &= report.gate_holds();
        text.push_str(&report.render());
        reports.push(report);
    }
    if reports.is_empty() {
        return Err("no suite has a label file under fixtures/labels/ (create one with `tribunal label --suite <name>`)".into());
    }
    if json {
        text = serde_json::to_string_pretty(&reports).map_err(|e| e.to_string())? + "\n";
    }
    Ok((text, ok))
}

/// `tribunal label`: walks one suite, reading answers from `input`.
pub fn run_label(
    root: &Path,
    suite: &str,
    input: impl std::io::BufRead,
    out: impl std::io::Write,
    options: &WalkOptions,
) -> Result<(), String> {
    let suites = load_suites(root)?;
    let Some(s) = suites.iter().find(|s| s.name == suite) else {
        let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
        return Err(format!("no suite `{suite}` (suites: {})", names.join(", ")));
    };
    let settings = &s.judge;
    let path = labels_path(root, suite, settings.labels.as_deref());
    let env = env_for(root, &suites)?;
    let rt = runtime()?;
    // Targets the CLI cannot call (registered Rust functions) are labelled
    // on the output the last run recorded.
    let mut options = options.clone();
    if options.recorded.is_empty() {
        let report = crate::report::Settings::from_env(root).map_err(|e| e.to_string())?;
        if let Ok(run) = crate::report::RunResults::load(&report.report_dir.join("last.json")) {
            options.recorded_run = Some(run.run_id.clone());
            options.recorded = run
                .records
                .into_iter()
                .filter(|r| r.verdict.suite == suite)
                .filter_map(|r| Some((r.verdict.trial, r.verdict.output?)))
                .collect();
        }
    }
    rt.block_on(walk(&env, s, &path, input, out, &options))
        .map(|_| ())
        .map_err(|e| e.to_string())
}
