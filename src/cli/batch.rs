//! `tribunal batch submit|status|collect`: the command line of
//! [`crate::provider::batch`].

use std::path::PathBuf;
use std::process::ExitCode;

use crate::exit;
use crate::provider::batch::{self, CollectOptions, SubmitOptions};

/// `tribunal batch` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Send the calls queued by `TRIBUNAL_MODE=batch` runs as provider
    /// batches (OpenAI Batch API, Anthropic Message Batches), split at the
    /// providers' limits. Calls already recorded or already in a batch are
    /// not sent again.
    Submit {
        /// The project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Also send again the requests listed in `failed.json`.
        #[arg(long)]
        retry_failed: bool,
        /// At most this many requests per batch (the providers' limits are
        /// 50,000 for OpenAI and 100,000 for Anthropic).
        #[arg(long, value_name = "N")]
        max_requests: Option<usize>,
    },
    /// Ask the providers where each submitted batch stands; records nothing.
    Status {
        /// The project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Poll the submitted batches until each ended (or `--wait` passed),
    /// record every answer to its cassette, and list failed requests in
    /// `target/tribunal/batches/failed.json`. Prints the cost at batch prices.
    Collect {
        /// The project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// How long to keep polling (`30m`, `24h`); `0` polls once.
        #[arg(long, default_value = "0", value_parser = batch::parse_duration)]
        wait: std::time::Duration,
        /// The first pause between polls; it doubles up to 10 minutes.
        #[arg(long, default_value = "30s", value_parser = batch::parse_duration)]
        poll: std::time::Duration,
    },
}

/// Runs a `tribunal batch` subcommand: exit 0 when everything went well,
/// 1 when requests failed or batches are still running, 2 when the command
/// could not do its job (no key, a refused request, an unreadable state).
pub fn run(cmd: Command) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tribunal: cannot start the async runtime: {e}");
            return exit::code(exit::TOOL_ERROR);
        }
    };
    let root = match &cmd {
        Command::Submit { root, .. } | Command::Status { root } | Command::Collect { root, .. } => {
            root.clone()
        }
    };
    let config = match crate::config::ProjectFile::load(&root) {
        Ok(file) => file.providers,
        Err(e) => {
            eprintln!("tribunal: {e}");
            return exit::code(exit::TOOL_ERROR);
        }
    };
    let result = match cmd {
        Command::Submit {
            root,
            retry_failed,
            max_requests,
        } => rt.block_on(batch::submit(
            &root,
            &config,
            &SubmitOptions {
                retry_failed,
                max_requests,
            },
        )),
        Command::Status { root } => rt.block_on(batch::status(&root, &config)),
        Command::Collect { root, wait, poll } => {
            if crate::config::ci_from_env() {
                Err("`tribunal batch collect` writes cassettes, and nothing in the tree is written in CI (hint: collect outside CI, with CI unset, and commit the cassettes)".to_string())
            } else {
                rt.block_on(batch::collect(
                    &root,
                    &config,
                    &CollectOptions { wait, poll },
                ))
            }
        }
    };
    match result {
        Ok(report) => {
            println!("{}", report.text);
            exit::code(if report.ok { exit::OK } else { exit::FAILED })
        }
        Err(e) => {
            eprintln!("tribunal: {e}");
            exit::code(exit::TOOL_ERROR)
        }
    }
}
