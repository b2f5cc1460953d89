//! `tribunal run` (the project's `cargo test --test evals`, with flags passed
//! on as environment variables) and `tribunal test` (the suites in this
//! process, without a Rust harness).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use super::{Mode, RunArgs};
use crate::exit;

/// `tribunal run`: the project's own eval test target under cargo.
pub fn run(args: RunArgs) -> ExitCode {
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
            Mode::Batch => "batch",
        };
        cmd.env("TRIBUNAL_MODE", m);
    }
    if args.accept {
        cmd.env("INSTA_UPDATE", "always");
    }
    if let Some(glob) = &args.suites {
        cmd.env("TRIBUNAL_SUITES", glob);
    }
    if let Some(k) = args.repeat {
        cmd.env("TRIBUNAL_REPEAT", k.to_string());
    }
    // cargo's own status: 0, or 101 when a trial (or the build) failed.
    match cmd.status() {
        Ok(status) => match status.code().and_then(|c| u8::try_from(c).ok()) {
            Some(c) => exit::code(c),
            None => exit::code(exit::TOOL_ERROR),
        },
        Err(e) => {
            eprintln!("tribunal: cannot run cargo: {e}");
            exit::code(exit::TOOL_ERROR)
        }
    }
}

/// `tribunal test`: runs the suites under `root` in this process with
/// libtest's arguments.
pub fn test(root: PathBuf, args: Vec<String>) -> ExitCode {
    let argv = std::iter::once("tribunal-test".to_string()).chain(args);
    let args = libtest_mimic::Arguments::from_iter(argv);
    crate::Harness::new()
        .rerun(crate::rerun::Rerun::Tribunal {
            root: root.display().to_string(),
        })
        .root(root)
        .run(&args)
        .exit_code
}
