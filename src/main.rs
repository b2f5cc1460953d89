//! The `tribunal` command line: runs the eval suites and works with their
//! results. The evaluation itself lives in the library and the project's
//! `tests/evals.rs`; this binary is a thin layer over both.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand, ValueEnum};

/// LLM evaluations as a `cargo test` regression suite.
#[derive(Debug, Parser)]
#[command(name = "tribunal", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
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
    #[command(flatten)]
    Reports(Box<tribunal::report::cli::Command>),
    #[command(flatten)]
    Labels(tribunal::labels::cli::Command),
    #[command(flatten)]
    Providers(tribunal::provider::cli::Command),
    #[command(flatten)]
    Equivalence(tribunal::check::ast::cli::Command),
    /// Load every suite file and report problems, without running anything.
    Validate {
        /// The project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    Replay,
    Record,
    Live,
    Auto,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The project root (where Cargo.toml and evals/ are).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// The eval test target (`[[test]] name = ...` with `harness = false`).
    #[arg(long, default_value = "evals")]
    test: String,
    /// Model calls: replay cassettes, record new ones, call live, or replay
    /// what is recorded and record the rest (default: replay in CI, else auto).
    #[arg(long, value_enum)]
    mode: Option<Mode>,
    /// Accept changed verdicts into the snapshots (`INSTA_UPDATE=always`).
    /// Review them with `git diff` before committing.
    #[arg(long)]
    accept: bool,
    /// Only run suites matching this glob (relative to the root).
    #[arg(long)]
    suites: Option<String>,
    /// Arguments for the test binary (a filter, `--exact`, `--test-threads N`).
    #[arg(last = true)]
    test_args: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Run(args) => run(args),
        Cmd::Validate { root } => validate(&root),
        Cmd::Reports(c) => tribunal::report::cli::run(*c),
        Cmd::Labels(c) => tribunal::labels::cli::run(c),
        Cmd::Providers(c) => tribunal::provider::cli::run(c),
        Cmd::Equivalence(c) => tribunal::check::ast::cli::run(c),
        Cmd::Test { root, args } => {
            let argv = std::iter::once("tribunal-test".to_string()).chain(args);
            let args = libtest_mimic::Arguments::from_iter(argv);
            tribunal::Harness::new()
                .rerun(tribunal::rerun::Rerun::Tribunal {
                    root: root.display().to_string(),
                })
                .root(root)
                .run(&args)
                .exit_code
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&args.root)
        .args(["test", "--test", &args.test, "--"])
        .args(&args.test_args);
    if let Some(mode) = args.mode {
        let m = match mode {
            Mode::Replay => "replay",
            Mode::Record => "record",
            Mode::Live => "live",
            Mode::Auto => "auto",
        };
        cmd.env("TRIBUNAL_MODE", m);
    }
    if args.accept {
        cmd.env("INSTA_UPDATE", "always");
    }
    if let Some(glob) = &args.suites {
        cmd.env("TRIBUNAL_SUITES", glob);
    }
    match cmd.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tribunal: cannot run cargo: {e}");
            ExitCode::from(2)
        }
    }
}

fn validate(root: &std::path::Path) -> ExitCode {
    let files = match tribunal::case::discover(&root.join("evals")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("tribunal: {e}");
            return ExitCode::from(2);
        }
    };
    let loaded = tribunal::case::load_files(root, &files, None);
    for e in &loaded.broken {
        eprintln!("{e}");
    }
    let bad = loaded.broken.len();
    let cases: usize = loaded.suites.iter().map(|s| s.cases.len()).sum();
    println!(
        "{} suite file(s), {cases} case(s), {bad} with problems",
        files.len()
    );
    if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
