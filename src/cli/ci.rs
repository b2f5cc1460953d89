//! `tribunal ci github summary|annotate|comment|gate`: a finished run
//! reported to GitHub Actions (the job summary, annotations, the sticky
//! pull-request comment, the gate). `action.yml` runs these after the
//! suite; each also works in any workflow step (see `docs/ci.md`).
//!
//! Exit codes: 0 done (for `gate`: every gate passed), 1 a gate failed
//! (`gate` only), 2 tribunal could not do its job (no results, a bad
//! variable, GitHub refused the comment).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::report::ProjectArgs;
use crate::ci::github::{self, PathMap, Review};
use crate::ci::github_api::{Action, Api, ApiError};
use crate::config::{Env, GithubEnv};
use crate::exit;
use crate::report::{ReportError, RunResults, Settings};

/// CI services.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// GitHub Actions: the job summary, annotations, the pull-request
    /// comment and the gate, from the results of a run.
    #[command(subcommand)]
    Github(Github),
}

/// `tribunal ci github …`.
#[derive(Debug, clap::Subcommand)]
pub enum Github {
    /// Append the run's summary, the comparison with the base and the gates
    /// to the job summary (`GITHUB_STEP_SUMMARY`; stdout when unset), and
    /// write the step outputs (`GITHUB_OUTPUT`: trials, failing, pass-rate,
    /// compared, regressions, gate).
    Summary {
        #[command(flatten)]
        review: ReviewArgs,
        /// Also write the Markdown to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print an `::error` annotation at the YAML line of every trial that
    /// fails the build, and a warning for every trial that passed on the
    /// base and whose snapshot now accepts a failure.
    Annotate {
        #[command(flatten)]
        review: ReviewArgs,
        /// The most annotations printed (GitHub shows 10 errors and 10
        /// warnings per step); a notice counts the rest.
        #[arg(long, default_value_t = github::DEFAULT_MAX_ANNOTATIONS)]
        max: usize,
    },
    /// Post the comparison with the base as one pull-request comment, or
    /// edit the one an earlier run posted (found by its hidden marker).
    /// Needs GITHUB_TOKEN with `pull-requests: write`; outside a pull
    /// request it does nothing.
    Comment {
        #[command(flatten)]
        review: ReviewArgs,
        /// Keeps one comment per key, for several suites in one pull request.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// The pull request (default: the event's, from GITHUB_EVENT_PATH).
        #[arg(long, value_name = "NUMBER")]
        pr: Option<u64>,
        /// The artifact the comment points to for the reports.
        #[arg(long, value_name = "NAME", default_value = "tribunal-report")]
        artifact: String,
    },
    /// Apply the gates to the run and the comparison; print one line per
    /// gate and an `::error` for each that fails; exit 1 when one fails.
    Gate {
        #[command(flatten)]
        review: ReviewArgs,
    },
}

/// What every `tribunal ci github` command reads.
#[derive(Debug, Clone, clap::Args)]
pub struct ReviewArgs {
    /// The run's results (default: `last.json` in the report folder).
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// The base branch's results. A file that does not exist means there is
    /// no base (the first run, an expired artifact): said, not an error.
    #[arg(long, value_name = "FILE")]
    pub base: Option<PathBuf>,
    /// Fail the significant-regressions gate when there is no base, instead
    /// of leaving it unchecked.
    #[arg(long)]
    pub require_base: bool,
    #[command(flatten)]
    pub project: ProjectArgs,
}

/// Runs a subcommand against the process environment.
pub fn run(cmd: Command) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match execute(cmd, &Env::process(), &mut stdout) {
        Ok(code) => exit::code(code),
        Err(e) => {
            let text = crate::provider::secrets::redact(&e);
            eprintln!("error: {text}");
            // Also as an annotation, so the reason is on the run's page.
            println!(
                "{}",
                github::Annotation {
                    level: github::Level::Error,
                    file: None,
                    line: None,
                    col: None,
                    title: "tribunal".into(),
                    message: text,
                }
            );
            exit::code(exit::TOOL_ERROR)
        }
    }
}

/// Runs a subcommand with the variables of `env`, printing to `out`;
/// returns the exit code or the error to print.
pub fn execute(cmd: Command, env: &Env, out: &mut dyn std::io::Write) -> Result<u8, String> {
    let gh = GithubEnv::from_env(env).map_err(|e| e.to_string())?;
    let Command::Github(cmd) = cmd;
    let io = |e: std::io::Error| format!("cannot write to stdout: {e}");
    match cmd {
        Github::Summary { review, out: file } => {
            let r = load(&review, &gh)?;
            let md = r.summary_markdown();
            if let Some(file) = &file {
                crate::fsutil::write_atomic(file, md.as_bytes())
                    .map_err(|e| ReportError::write(file, e).to_string())?;
            }
            match &gh.step_summary {
                Some(path) => {
                    crate::report::append_step_summary(path, &md)?;
                    writeln!(out, "appended the summary to {}", path.display()).map_err(io)?;
                }
                None if file.is_none() => out.write_all(md.as_bytes()).map_err(io)?,
                None => {}
            }
            if let Some(path) = &gh.output {
                github::append_outputs(path, &r.outputs()).map_err(|e| {
                    format!("cannot append to GITHUB_OUTPUT {}: {e}", path.display())
                })?;
            }
            Ok(exit::OK)
        }
        Github::Annotate { review, max } => {
            let r = load(&review, &gh)?;
            let paths = PathMap::new(&review.project.root, gh.workspace.as_deref());
            for a in r.annotations(&paths, max) {
                writeln!(out, "{a}").map_err(io)?;
            }
            Ok(exit::OK)
        }
        Github::Gate { review } => {
            let r = load(&review, &gh)?;
            for n in &r.notes {
                writeln!(out, "note: {n}").map_err(io)?;
            }
            for f in &r.report.failures {
                writeln!(out, "✗ {f}").map_err(io)?;
                writeln!(
                    out,
                    "{}",
                    github::Annotation {
                        level: github::Level::Error,
                        file: None,
                        line: None,
                        col: None,
                        title: "tribunal gate".into(),
                        message: f.clone(),
                    }
                )
                .map_err(io)?;
            }
            for p in &r.report.passed {
                writeln!(out, "✓ {p}").map_err(io)?;
            }
            if r.gates.is_empty() && r.report.failures.is_empty() {
                writeln!(out, "no gate is set: nothing can fail (hint: pass --fail-on-status or a threshold, or write evals/gates.yaml)").map_err(io)?;
            }
            Ok(r.report.exit_code())
        }
        Github::Comment {
            review,
            key,
            pr,
            artifact,
        } => comment(&review, &gh, key.as_deref(), pr, &artifact, out),
    }
}

fn comment(
    review: &ReviewArgs,
    gh: &GithubEnv,
    key: Option<&str>,
    pr: Option<u64>,
    artifact: &str,
    out: &mut dyn std::io::Write,
) -> Result<u8, String> {
    let io = |e: std::io::Error| format!("cannot write to stdout: {e}");
    let event = match &gh.event_path {
        Some(p) => Some(github::read_event(p)?),
        None => None,
    };
    let from_event = event.as_ref().and_then(github::pull_request);
    let (number, fork) = match (pr, &from_event) {
        (Some(n), _) => (n, from_event.as_ref().is_some_and(|p| p.fork)),
        (None, Some(p)) => (p.number, p.fork),
        (None, None) => {
            let what = match (&gh.event_name, &gh.event_path) {
                (Some(name), _) => format!("the event is `{name}`"),
                (None, Some(_)) => "the event payload has no pull request".to_string(),
                (None, None) => "GITHUB_EVENT_PATH is not set".to_string(),
            };
            writeln!(out, "not a pull request ({what}): no comment written (hint: pass --pr NUMBER to comment anyway)").map_err(io)?;
            return Ok(exit::OK);
        }
    };
    let repository = gh.repository.clone().ok_or(
        "GITHUB_REPOSITORY is not set (hint: GitHub Actions sets it; elsewhere set it to owner/name)",
    )?;
    let token = gh.token.clone().ok_or(
        "GITHUB_TOKEN is not set (hint: give the step `env: GITHUB_TOKEN: ${{ github.token }}`, as action.yml does, and the job `permissions: pull-requests: write`)",
    )?;
    let r = load(review, gh)?;
    let marker = github::comment_marker(key);
    let run_url = gh
        .run_id
        .as_ref()
        .map(|id| format!("{}/{repository}/actions/runs/{id}", gh.server_url));
    let body = r.comment_body(&marker, run_url.as_deref(), artifact);
    let api = Api::new(&gh.api_url, &repository, token).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    match runtime.block_on(api.upsert_comment(number, &marker, &body)) {
        Ok(posted) => {
            let verb = match posted.action {
                Action::Created => "added",
                Action::Updated => "edited",
            };
            writeln!(
                out,
                "{verb} comment {} on pull request #{number}: {}",
                posted.id, posted.url
            )
            .map_err(io)?;
            if let Some(path) = &gh.output {
                github::append_outputs(
                    path,
                    &[
                        ("comment-id", posted.id.to_string()),
                        ("comment-url", posted.url.clone()),
                    ],
                )
                .map_err(|e| format!("cannot append to GITHUB_OUTPUT {}: {e}", path.display()))?;
            }
            Ok(exit::OK)
        }
        // A fork's pull request gets a read-only token: expected, and the
        // comparison is in the job summary.
        Err(ApiError::Forbidden { message, .. }) if fork => {
            writeln!(
                out,
                "{}",
                github::Annotation {
                    level: github::Level::Warning,
                    file: None,
                    line: None,
                    col: None,
                    title: "tribunal".into(),
                    message: format!(
                        "pull request #{number} comes from a fork, whose token is read-only ({message}): no comment written; the comparison is in the job summary"
                    ),
                }
            )
            .map_err(io)?;
            Ok(exit::OK)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The review the arguments describe: the results, the base when its file
/// exists, and the gates (flags over the gates file).
fn load(args: &ReviewArgs, gh: &GithubEnv) -> Result<Review, String> {
    let root = &args.project.root;
    let results = match &args.results {
        Some(f) => f.clone(),
        None => Settings::from_env(root)
            .map_err(|e| e.to_string())?
            .report_dir
            .join("last.json"),
    };
    if !results.exists() {
        return Err(format!(
            "no results at {} (hint: the suite did not run or did not finish; see the log of the step that runs it, e.g. `cargo test --test evals`)",
            results.display()
        ));
    }
    let head = RunResults::load(&results).map_err(|e| e.to_string())?;
    let (base, missing) = match &args.base {
        None => (None, "no base results were given".to_string()),
        Some(f) if !Path::new(f).exists() => (None, format!("no base results at {}", f.display())),
        Some(f) => (
            Some(RunResults::load(f).map_err(|e| e.to_string())?),
            String::new(),
        ),
    };
    let gates = args.project.gates().map_err(|e| e.to_string())?;
    let note = github::no_base_note(gh.event_name.as_deref(), gh.base_ref.as_deref(), &missing);
    Ok(Review::new(head, base, gates, args.require_base, note))
}
