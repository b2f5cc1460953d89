//! The `tribunal` command line: every clap type and the code behind each
//! subcommand. `main.rs` parses and dispatches; the library's domain modules
//! have no command-line types.

pub mod batch;
pub mod bench_ast;
pub mod bench_e2e;
pub mod ci;
pub mod equiv;
pub mod flaky;
pub mod generate;
pub mod generate_llm;
pub mod import;
pub mod init;
pub mod labels;
pub mod providers;
pub mod report;
pub mod review;
pub mod run;
pub mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// LLM evaluations as a `cargo test` regression suite.
#[derive(Debug, Parser)]
#[command(name = "tribunal", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the eval suites (`cargo test --test evals`) and print the summary.
    Run(RunArgs),
    /// Run the suites in this process, without a `tests/evals.rs`: for suites
    /// whose targets are fixed outputs, commands, HTTP endpoints or prompts
    /// (Rust targets need the project's own harness). Takes libtest's
    /// arguments: a filter, `--exact`, `--list`, `--ignored`.
    Test {
        /// The project root (where evals/ is).
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// libtest arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// `report`, `compare`, `history`, `trend`, `flaky`.
    #[command(flatten)]
    Reports(Box<report::Command>),
    /// `label`, `align`.
    #[command(flatten)]
    Labels(labels::Command),
    /// `cassettes`, `bench`.
    #[command(flatten)]
    Providers(providers::Command),
    /// Provider batch APIs: `submit` the calls a `TRIBUNAL_MODE=batch` run
    /// queued, `status`, and `collect` their answers into cassettes.
    #[command(subcommand)]
    Batch(batch::Command),
    /// `equiv`, `bench-ast`.
    #[command(flatten)]
    Equivalence(equiv::Command),
    /// `ci github summary|annotate|comment|gate`: a run reported to CI.
    #[command(subcommand)]
    Ci(ci::Command),
    /// Load every suite file and the configuration (`tribunal.yaml`, the
    /// environment) and report every problem, without running anything.
    Validate {
        /// The project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Scaffold a tribunal project: an example suite with its snapshots and
    /// cassette, `tribunal.yaml`, a CI workflow, and in a crate
    /// `tests/evals.rs` with its `Cargo.toml` entries. Never overwrites.
    Init(init::Args),
    /// Convert another tool's eval configuration into tribunal suites.
    #[command(subcommand)]
    Import(import::Command),
    /// Draft cases beside a suite (`<suite>.drafts.jsonl`): from ground truth,
    /// from dimensions, from production logs; and accept the chosen ones
    /// into it (docs/datasets.md).
    #[command(subcommand)]
    Generate(generate::Command),
    /// Start the review app: a local web page where a domain expert labels
    /// outputs pass/fail with critiques, then sees judge agreement and an
    /// error analysis. Prints the URL; opens nothing.
    Review(review::Args),
    /// List the trials whose verdicts are unstable across the stored runs:
    /// flips, pass rate and its Wilson interval, split judge votes, mixed
    /// `repeat:` samples, and whether each is quarantined.
    Flaky(flaky::Args),
}

/// `tribunal run --mode`: the cassette mode (`TRIBUNAL_MODE`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mode {
    /// Answer from cassettes only.
    Replay,
    /// Call the providers and record every answer.
    Record,
    /// Call the providers, record nothing.
    Live,
    /// Replay what is recorded, record the rest.
    Auto,
    /// Replay what is recorded, queue the rest for `tribunal batch submit`.
    Batch,
}

/// Arguments of `tribunal run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The project root (where Cargo.toml and evals/ are).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The eval test target (`[[test]] name = ...` with `harness = false`).
    #[arg(long, default_value = "evals")]
    pub test: String,
    /// Model calls: replay cassettes, record new ones, call live, or replay
    /// what is recorded and record the rest (default: replay in CI, else auto).
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Accept changed verdicts into the snapshots (`INSTA_UPDATE=always`).
    /// Review them with `git diff` before committing.
    #[arg(long)]
    pub accept: bool,
    /// Only run suites matching this glob (relative to the root).
    #[arg(long)]
    pub suites: Option<String>,
    /// Arguments for the test binary (a filter, `--exact`, `--test-threads N`).
    #[arg(last = true)]
    pub test_args: Vec<String>,
    /// Samples of every case without its own `repeat:` (`TRIBUNAL_REPEAT`).
    #[arg(long, value_name = "K")]
    pub repeat: Option<u32>,
}

/// Runs a parsed command line and returns the process exit code (see
/// [`crate::exit`]).
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Cmd::Run(args) => run::run(args),
        Cmd::Validate { root } => validate::run(&root),
        Cmd::Reports(c) => report::run(*c),
        Cmd::Labels(c) => labels::run(c),
        Cmd::Providers(c) => providers::run(c),
        Cmd::Batch(c) => batch::run(c),
        Cmd::Equivalence(c) => equiv::run(c),
        Cmd::Test { root, args } => run::test(root, args),
        Cmd::Ci(c) => ci::run(c),
        Cmd::Init(args) => init::run(args),
        Cmd::Import(c) => import::run(c),
        Cmd::Generate(c) => generate::run(c),
        Cmd::Review(args) => review::run(args),
        Cmd::Flaky(args) => flaky::run(args),
    }
}
