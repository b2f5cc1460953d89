//! The `tribunal` command line: runs the eval suites and works with their
//! results. The evaluation itself lives in the library and the project's
//! `tests/evals.rs`; the commands are in the library's `cli` module, and this
//! binary only parses the arguments and dispatches.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tribunal::cli::dispatch(tribunal::cli::Cli::parse())
}
