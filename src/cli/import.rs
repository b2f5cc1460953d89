//! `tribunal import promptfoo`: converts a promptfoo configuration into
//! tribunal suites and a `tribunal.yaml` (see `docs/migrate-from-promptfoo.md`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::import::{self, NoteKind};

/// `tribunal import <tool>`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert a promptfoo configuration (`promptfooconfig.yaml`) into
    /// `evals/<suite>.yaml` and a `tribunal.yaml` with its providers. What
    /// cannot be mapped is listed on stderr with its `file:line:col` and kept
    /// as `skip` checks. Existing files are never overwritten without `--force`.
    Promptfoo {
        /// The promptfoo configuration file.
        config: PathBuf,
        /// The project folder to write into (`evals/` and `tribunal.yaml`).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// The suite name (default: the file stem; `promptfooconfig` becomes `promptfoo`).
        #[arg(long)]
        suite: Option<String>,
        /// Replace files that already exist.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `tribunal import ...`.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Promptfoo {
            config,
            out,
            suite,
            force,
        } => promptfoo(&config, &out, suite.as_deref(), force),
    }
}

fn promptfoo(
    config: &std::path::Path,
    out: &std::path::Path,
    suite: Option<&str>,
    force: bool,
) -> ExitCode {
    let conversion = match import::promptfoo::convert(config, suite) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::exit::code(crate::exit::TOOL_ERROR);
        }
    };
    let written = match import::write(&conversion, out, force) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::exit::code(crate::exit::TOOL_ERROR);
        }
    };
    for (kind, title) in [
        (
            NoteKind::NotMapped,
            "not mapped (kept as `skip` checks, or left out):",
        ),
        (
            NoteKind::Changed,
            "mapped with a different meaning (read before trusting the verdicts):",
        ),
    ] {
        let notes: Vec<_> = conversion.notes.iter().filter(|n| n.kind == kind).collect();
        if notes.is_empty() {
            continue;
        }
        eprintln!("{title}");
        for n in notes {
            eprintln!("  {n}");
        }
    }
    println!("{}", conversion.summary);
    for p in &written {
        println!("wrote {}", p.display());
    }
    let root = out.display();
    println!("next:");
    println!("  tribunal validate --root {root}");
    println!(
        "  TRIBUNAL_MODE=record tribunal test --root {root}   # calls the models once and records cassettes (needs the API keys)"
    );
    println!(
        "  INSTA_UPDATE=always tribunal test --root {root}    # accepts the first verdicts as snapshots: review them, then commit evals/ and fixtures/"
    );
    println!(
        "  CI=true tribunal test --root {root}                # what CI runs: replays the cassettes, compares the snapshots"
    );
    ExitCode::SUCCESS
}
