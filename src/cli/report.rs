//! The `report`, `compare` and `history` subcommands. The `tribunal` binary
//! flattens [`Command`] into its own subcommands and calls [`run`].
//!
//! Exit codes: 0 pass, 1 evaluation failure (a gate failed), 2 tool or
//! configuration error (see [`crate::report::gate`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::report::analysis::{ReportView, analyse};
use crate::report::compare::{compare, variant_matrix};
use crate::report::error::ReportError;
use crate::report::gate::{
    EXIT_PASS, EXIT_TOOL_ERROR, GateReport, Gates, parse_rate, parse_tag_rate,
};
use crate::report::history::History;
use crate::report::results::{RunResults, merge};
use crate::report::summary::{Summary, terminal_summary};
use crate::report::trend::trend;
use crate::report::{Settings, html, junit, markdown};

/// Output formats of `tribunal report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The terminal summary.
    Terminal,
    /// The Markdown summary.
    Markdown,
    /// The results JSON.
    Json,
    /// JUnit XML.
    Junit,
    /// The HTML report.
    Html,
    /// The variant matrix (Markdown table).
    Matrix,
}

/// Output formats of `tribunal compare` and `tribunal history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    /// Markdown (readable in a terminal, and as a PR comment).
    Markdown,
    /// JSON.
    Json,
}

/// Report, comparison and history subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Render reports from results files (default: the last run), merging
    /// several (for example nextest partitions) into one.
    Report {
        /// Results files to merge (default: target/tribunal/last.json).
        #[arg(long, num_args = 1.., value_name = "FILE")]
        merge: Vec<PathBuf>,
        /// What to print (repeatable).
        #[arg(long, value_enum, default_value = "terminal")]
        format: Vec<Format>,
        /// Also write results.json, junit.xml, summary.md and report.html
        /// into this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Store the (merged) run in the history.
        #[arg(long)]
        store: bool,
        /// Baseline variant of the variant matrix (default: each suite's
        /// first variant).
        #[arg(long, value_name = "VARIANT")]
        baseline: Option<String>,
        /// Cross-tabulate failures by these two tag keys (default: the
        /// run's two tag keys, when it has exactly two).
        #[arg(long, value_name = "KEY,KEY", value_parser = crate::report::analysis::parse_by)]
        by: Option<(String, String)>,
        /// Include runs that evaluated only a subset in the HTML trends.
        #[arg(long)]
        include_subsets: bool,
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// Compare two runs: paired pass rates (McNemar), scores (Wilcoxon),
    /// latency and cost, flipped trials. BASE and HEAD are results JSON
    /// files, run ids from the history, `last`, or git refs of stored runs.
    Compare {
        /// The run compared against.
        base: String,
        /// The run under review.
        head: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "markdown")]
        format: CompareFormat,
        /// Also write the Markdown comparison to this file (for a PR comment).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        // The gates apply to HEAD and the comparison.
        #[command(flatten)]
        project: ProjectArgs,
    },
    /// List stored runs, or one trial's outcomes over runs.
    History {
        /// How many runs to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Show this trial's outcomes over runs instead.
        #[arg(long, value_name = "TRIAL")]
        trial: Option<String>,
        /// Include runs that evaluated only a subset (a filter or
        /// `TRIBUNAL_SUITES`) in the metrics over runs.
        #[arg(long)]
        include_subsets: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "markdown")]
        format: CompareFormat,
        /// Project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

/// Runs a subcommand, printing to stdout/stderr, and returns its exit code.
pub fn run(cmd: Command) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match execute(cmd, &mut stdout) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_TOOL_ERROR)
        }
    }
}

/// Runs a subcommand writing its output to `out`; returns the exit code
/// ([`EXIT_PASS`] or [`crate::report::EXIT_EVAL_FAILURE`]) or the tool error.
pub fn execute(cmd: Command, out: &mut dyn std::io::Write) -> Result<u8, ReportError> {
    let io = |e: std::io::Error| ReportError::write(Path::new("<stdout>"), e);
    match cmd {
        Command::Report {
            merge: files,
            format,
            out: dir,
            store,
            baseline,
            by,
            include_subsets,
            project,
        } => {
            let root = &project.root;
            let settings = Settings::from_env(root)?;
            let gates = project.gates()?;
            let files = if files.is_empty() {
                vec![settings.report_dir.join("last.json")]
            } else {
                files
            };
            let parts = files
                .iter()
                .map(|f| RunResults::load(f))
                .collect::<Result<Vec<_>, _>>()?;
            let run = if parts.len() == 1 {
                parts
                    .into_iter()
                    .next()
                    .ok_or_else(|| ReportError::Config("no results".into()))?
            } else {
                merge(parts)?
            };
            let view = ReportView {
                by,
                include_subsets,
            };
            // A `--by` key no trial has is an error before anything is written.
            let analysis = analyse(&run, &view)?;
            let mut points = Vec::new();
            if store {
                let path = crate::report::history::needed(settings.history.clone()).map_err(
                    |e| match e {
                        ReportError::Config(_) => ReportError::Config(
                            "--store needs a history, but TRIBUNAL_HISTORY=off".into(),
                        ),
                        e => e,
                    },
                )?;
                let mut h = History::open(&path)?;
                h.store_retained(
                    &run,
                    None,
                    settings.keep,
                    settings.retention.history_max_bytes,
                )?;
                points = h.points(crate::report::PLOT_RUNS)?;
            } else if let Some(path) = settings.history.as_ref().filter(|p| p.is_file())
                && (dir.is_some() || format.contains(&Format::Html))
            {
                points = History::open(path)?.points(crate::report::PLOT_RUNS)?;
            }
            for f in &format {
                let text = match f {
                    Format::Terminal => {
                        let mut t = terminal_summary(&run);
                        if let Some(spend) = &run.spend
                            && spend.replayed_calls + spend.live_calls > 0
                        {
                            t.push_str(&format!("{}\n", spend.line()));
                        }
                        if analysis.failed > 0 {
                            t.push_str(&crate::report::analysis::terminal(&analysis));
                        }
                        t
                    }
                    Format::Markdown => markdown::run_summary_with(&run, &view),
                    Format::Json => run.to_json(),
                    Format::Junit => junit::render(&run),
                    Format::Html => html::render_with(&run, &points, &view),
                    Format::Matrix => markdown::matrix(&variant_matrix(&run, baseline.as_deref())),
                };
                out.write_all(text.as_bytes()).map_err(io)?;
            }
            if let Some(dir) = dir {
                let mut s = settings.clone();
                s.report_dir = dir.clone();
                s.history = None;
                // Printing is what --format is for; do not also append to
                // the step summary.
                s.step_summary = None;
                s.nextest_run = None;
                crate::report::after_run_with(&run, &s)?;
                // after_run_with draws the default view with no history:
                // redo the Markdown and HTML with the plots and this view.
                let path = dir.join("report.html");
                crate::fsutil::write_atomic(
                    &path,
                    html::render_with(&run, &points, &view).as_bytes(),
                )
                .map_err(|e| ReportError::write(&path, e))?;
                let path = dir.join("summary.md");
                crate::fsutil::write_atomic(
                    &path,
                    markdown::run_summary_with(&run, &view).as_bytes(),
                )
                .map_err(|e| ReportError::write(&path, e))?;
                let results = dir.join("results.json");
                crate::fsutil::write_atomic(&results, run.to_json().as_bytes())
                    .map_err(|e| ReportError::write(&results, e))?;
                writeln!(
                    out,
                    "wrote {} · {} · {} · {}",
                    results.display(),
                    dir.join("junit.xml").display(),
                    dir.join("summary.md").display(),
                    dir.join("report.html").display()
                )
                .map_err(io)?;
            }
            let report = gates.check(&Summary::of(&run), None);
            print_gates(out, &gates, &report).map_err(io)?;
            Ok(report.exit_code())
        }
        Command::Compare {
            base,
            head,
            format,
            out: file,
            project,
        } => {
            let root = &project.root;
            let settings = Settings::from_env(root)?;
            let gates = project.gates()?;
            let base_run = resolve(root, &settings, &base)?;
            let head_run = resolve(root, &settings, &head)?;
            let c = compare(&base_run, &head_run);
            let report = gates.check(&Summary::of(&head_run), Some(&c));
            let shown =
                !gates.is_empty() || !report.failures.is_empty() || !report.passed.is_empty();
            let md = markdown::comparison(&c, shown.then_some(&report));
            match format {
                CompareFormat::Markdown => out.write_all(md.as_bytes()).map_err(io)?,
                CompareFormat::Json => {
                    let v = serde_json::json!({ "comparison": c, "gates": report });
                    writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&v).unwrap_or_default()
                    )
                    .map_err(io)?
                }
            }
            if let Some(file) = file {
                crate::fsutil::write_atomic(&file, md.as_bytes())
                    .map_err(|e| ReportError::write(&file, e))?;
            }
            Ok(report.exit_code())
        }
        Command::History {
            limit,
            trial,
            include_subsets,
            format,
            root,
        } => {
            let settings = Settings::from_env(&root)?;
            let path = crate::report::history::needed(settings.history)?;
            if !path.exists() {
                return Err(ReportError::Config(format!(
                    "no run history at {} yet (hint: run the suites first: `{}`)",
                    path.display(),
                    crate::rerun::Rerun::for_project(&root).all()
                )));
            }
            let h = History::open(&path)?;
            match trial {
                Some(t) => {
                    let rows = h.trial_history(&t, limit)?;
                    match format {
                        CompareFormat::Json => writeln!(
                            out,
                            "{}",
                            serde_json::to_string_pretty(&rows).unwrap_or_default()
                        ),
                        CompareFormat::Markdown => {
                            let mut text =
                                String::from("| run | outcome | score |\n|---|---|---|\n");
                            for (id, o, s) in &rows {
                                text.push_str(&format!("| `{id}` | {o} | {s:.2} |\n"));
                            }
                            write!(out, "{text}")
                        }
                    }
                    .map_err(io)?;
                }
                None => {
                    let t = trend(h.points(limit)?, include_subsets);
                    match format {
                        CompareFormat::Json => writeln!(
                            out,
                            "{}",
                            serde_json::to_string_pretty(&t).unwrap_or_default()
                        ),
                        CompareFormat::Markdown => {
                            write!(out, "{}", crate::report::trend::markdown(&t))
                        }
                    }
                    .map_err(io)?;
                }
            }
            Ok(EXIT_PASS)
        }
    }
}

/// The project and gate flags `tribunal report` and `tribunal compare`
/// share.
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ProjectArgs {
    /// Project root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Gates file (default: `evals/gates.yaml` when it exists).
    #[arg(long, value_name = "FILE")]
    pub gates_file: Option<PathBuf>,
    /// Gating thresholds (override the gates file).
    #[command(flatten)]
    pub gates: GateArgs,
}

impl ProjectArgs {
    /// The gates: the gates file's, overridden by the flags.
    pub(crate) fn gates(&self) -> Result<Gates, ReportError> {
        resolve_gates(
            &self.root,
            self.gates_file.as_deref(),
            self.gates.clone().into(),
        )
    }
}

/// The gate flags of `tribunal report` and `tribunal compare` (see
/// [`Gates`]).
#[derive(Debug, Clone, PartialEq, Default, clap::Args)]
pub struct GateArgs {
    /// Minimum overall pass rate, in [0, 1].
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub min_pass_rate: Option<f64>,
    /// Minimum pass rate of one tag: `TAG=RATE` (repeatable), e.g.
    /// `--min-tag-pass-rate feature:refunds=0.9`.
    #[arg(long = "min-tag-pass-rate", value_name = "TAG=RATE", value_parser = parse_tag_rate)]
    pub min_tag_pass_rate: Vec<(String, f64)>,
    /// Maximum number of significant regressions (overall and per tag, by
    /// McNemar on pass/fail or Wilcoxon on scores) against the base.
    #[arg(long, value_name = "N")]
    pub max_significant_regressions: Option<usize>,
    /// Significance level of the regression tests.
    #[arg(long, default_value_t = 0.05, value_parser = parse_rate)]
    pub alpha: f64,
    /// Fail when any trial's status fails the build (regression, new
    /// failure, error, ...), as `cargo test` does.
    #[arg(long)]
    pub fail_on_status: bool,
}

impl From<GateArgs> for Gates {
    fn from(a: GateArgs) -> Gates {
        Gates {
            min_pass_rate: a.min_pass_rate,
            min_tag_pass_rate: a.min_tag_pass_rate,
            max_significant_regressions: a.max_significant_regressions,
            alpha: a.alpha,
            fail_on_status: a.fail_on_status,
        }
    }
}

/// The flags' gates completed from the gates file: the one given, else
/// `<root>/evals/gates.yaml` when it exists.
fn resolve_gates(root: &Path, file: Option<&Path>, flags: Gates) -> Result<Gates, ReportError> {
    let default = root.join("evals").join("gates.yaml");
    let path = match file {
        Some(f) => Some(f.to_path_buf()),
        None => default.is_file().then_some(default),
    };
    let Some(path) = path else {
        return Ok(flags);
    };
    let file = crate::report::gate::GatesFile::load(&path)?;
    // clap cannot tell a default from an explicit --alpha 0.05; treat the
    // default value as unset.
    let alpha_from_flag = (flags.alpha - 0.05).abs() > f64::EPSILON;
    Ok(flags.with_file(&file, alpha_from_flag))
}

fn print_gates(
    out: &mut dyn std::io::Write,
    gates: &Gates,
    report: &GateReport,
) -> std::io::Result<()> {
    if gates.is_empty() && report.failures.is_empty() && report.passed.is_empty() {
        return Ok(());
    }
    writeln!(out, "\ngates:")?;
    for f in &report.failures {
        writeln!(out, "  ✗ {f}")?;
    }
    for p in &report.passed {
        writeln!(out, "  ✓ {p}")?;
    }
    Ok(())
}

/// Finds a run from what the user typed: `last`, a results file, a run id
/// in the history, or a git ref (the newest stored run of that commit, or
/// of that branch name).
pub fn resolve(
    root: &Path,
    settings: &Settings,
    reference: &str,
) -> Result<RunResults, ReportError> {
    if reference == "last" {
        return RunResults::load(&settings.report_dir.join("last.json"));
    }
    let as_path = Path::new(reference);
    let candidates = [as_path.to_path_buf(), root.join(as_path)];
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return RunResults::load(p);
    }
    let mut tried = vec!["not a file".to_string()];
    let Some(db) = settings.history.as_ref().filter(|p| p.exists()) else {
        tried.push(if crate::report::history::ENABLED {
            "no run history to look it up in".into()
        } else {
            crate::features::off("finding a run by id or git ref", "history")
        });
        return Err(ReportError::UnknownRun {
            reference: reference.into(),
            why: tried.join("; "),
        });
    };
    let h = History::open(db)?;
    if let Some(r) = h.load(reference)? {
        return Ok(r);
    }
    tried.push(format!("no run id `{reference}` in {}", db.display()));
    match git_commit(root, reference) {
        Some(commit) => {
            if let Some(r) = h.latest_for_commit(&commit)? {
                return Ok(r);
            }
            tried.push(format!(
                "no stored run of commit {}",
                &commit[..commit.len().min(12)]
            ));
        }
        None => tried.push("not a git ref".into()),
    }
    if let Some(r) = h.latest_for_branch(reference)? {
        return Ok(r);
    }
    Err(ReportError::UnknownRun {
        reference: reference.into(),
        why: tried.join("; "),
    })
}

fn git_commit(root: &Path, reference: &str) -> Option<String> {
    if reference.starts_with('-') {
        return None;
    }
    let commit = format!("{reference}^{{commit}}");
    crate::report::results::git(root, &["rev-parse", "--verify", "--quiet", &commit])
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    /// The lead's CLI flattens [`Command`] next to its own subcommands.
    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        cmd: TopCmd,
    }

    #[derive(Debug, clap::Subcommand)]
    enum TopCmd {
        /// Stand-in for `tribunal run`.
        Run,
        /// Boxed, so the enum stays small (clippy::large_enum_variant).
        #[command(flatten)]
        Reports(Box<Command>),
    }

    #[test]
    fn flattens_into_a_parent_cli() {
        Top::command().debug_assert();
        let top = Top::try_parse_from([
            "tribunal",
            "compare",
            "main",
            "last",
            "--min-pass-rate",
            "90%",
            "--min-tag-pass-rate",
            "feature:a=0.5",
        ])
        .expect("parses");
        let TopCmd::Reports(cmd) = top.cmd else {
            panic!("`compare` parsed as another subcommand");
        };
        match *cmd {
            Command::Compare {
                base,
                head,
                project: ProjectArgs { gates, .. },
                ..
            } => {
                assert_eq!((base.as_str(), head.as_str()), ("main", "last"));
                assert_eq!(gates.min_pass_rate, Some(0.9));
                assert_eq!(
                    gates.min_tag_pass_rate,
                    vec![("feature:a".to_string(), 0.5)]
                );
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(Top::try_parse_from(["tribunal", "report", "--min-pass-rate", "2"]).is_err());
    }

    #[test]
    fn tool_errors_exit_with_code_2() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.json");
        let code = run(Command::Report {
            merge: vec![missing],
            format: vec![Format::Terminal],
            out: None,
            store: false,
            baseline: None,
            by: None,
            include_subsets: false,
            project: ProjectArgs {
                root: dir.path().to_path_buf(),
                gates_file: None,
                gates: GateArgs::default(),
            },
        });
        assert_eq!(code, ExitCode::from(EXIT_TOOL_ERROR));
    }
}
