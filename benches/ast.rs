//! `cargo bench --bench ast -- [--datasets DIR] [--budget-ms N] ...`: runs
//! `tribunal bench-ast` (the same code as the CLI subcommand) and prints
//! verdict counts, throughput and time per pair.

use std::process::ExitCode;

use clap::Parser;
use tribunal::cli::equiv::{self as cli, Command};

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    bench: cli::BenchArgs,
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; ignore it.
    let args = std::env::args().filter(|a| a != "--bench");
    let a = Args::parse_from(args);
    cli::run(Command::BenchAst(a.bench))
}
