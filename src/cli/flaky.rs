//! `tribunal flaky`: the trials whose verdicts are unstable across the
//! stored runs (see [`crate::report::flaky`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::report::Settings;
use crate::report::error::ReportError;
use crate::report::flaky::{listed, markdown};
use crate::report::history::History;

/// Arguments of `tribunal flaky`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many of the newest stored runs to read.
    #[arg(long, default_value_t = 20)]
    pub last: usize,
    /// List every trial, not only the unstable ones.
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of the Markdown table.
    #[arg(long)]
    pub json: bool,
    /// Project root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

/// Runs `tribunal flaky`: 0 on success (an unstable trial is a finding,
/// not a failure), 2 when the history cannot be read.
pub fn run(args: Args) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match execute(&args, &mut stdout) {
        Ok(()) => crate::exit::code(crate::exit::OK),
        Err(e) => {
            eprintln!("error: {e}");
            crate::exit::code(crate::exit::TOOL_ERROR)
        }
    }
}

/// [`run`], writing to `out`.
pub fn execute(args: &Args, out: &mut dyn std::io::Write) -> Result<(), ReportError> {
    let settings = Settings::from_env(&args.root)?;
    let path = crate::report::history::needed(settings.history)?;
    if !path.exists() {
        return Err(ReportError::Config(format!(
            "no run history at {} yet (hint: run the suites a few times first: `{}`)",
            path.display(),
            crate::rerun::Rerun::for_project(&args.root).all()
        )));
    }
    let h = History::open(&path)?;
    let mut runs = Vec::new();
    for row in h.runs(args.last.max(1))? {
        if let Some(run) = h.load(&row.id)? {
            runs.push(run);
        }
    }
    let rows = listed(&runs, args.all);
    let text = if args.json {
        serde_json::to_string_pretty(&serde_json::json!({
            "runs": runs.len(),
            "trials": rows,
        }))
        .unwrap_or_default()
            + "\n"
    } else {
        markdown(&rows, runs.len())
    };
    out.write_all(text.as_bytes())
        .map_err(|e| ReportError::write(Path::new("<stdout>"), e))
}
