//! `tribunal generate …`: draft cases for a suite.

use std::process::ExitCode;

use clap::Subcommand;

use super::generate_llm;

/// The `generate` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Requests for ground truths (a suite's `expected` values, or a JSONL or CSV
    /// file): `k` per truth, written by a generator model, as drafts.
    Truth(generate_llm::TruthArgs),
    /// Inputs for the suite's `dimensions:` tuples (every combination or a
    /// covering sample), written by a generator model, as drafts.
    Dimensions(generate_llm::DimensionsArgs),
}

/// Runs a `generate` subcommand.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Truth(a) => generate_llm::truth(a),
        Command::Dimensions(a) => generate_llm::dimensions(a),
    }
}
