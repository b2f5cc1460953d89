//! The exit codes of the `tribunal` binary and of the eval harness, in one
//! place (the table is in `docs/exit-codes.md`).
//!
//! Codes follow two conventions: libtest's (`0` every test passed, `101` a
//! test failed) for running trials, and the usual tool convention (`1` a
//! check of the tool failed, `2` the tool could not do its job) for the
//! other subcommands. `tribunal equiv` has its own four answers.

use std::process::ExitCode;

/// Success: every trial or gate passed, nothing wrong was found.
pub const OK: u8 = 0;
/// A gate failed or problems were found: a report gate (`tribunal report
/// --min-pass-rate`, `compare`), the alignment gate (`tribunal align
/// --min-agreement`), or `tribunal validate` found broken suites or
/// configuration.
pub const FAILED: u8 = 1;
/// tribunal could not do its job: a usage error, unreadable input, an
/// invalid configuration value, a broken history, a harness that could not
/// start (no suites, invalid `tribunal.yaml` or variable).
pub const TOOL_ERROR: u8 = 2;
/// A trial failed (or a suite file could not be loaded): libtest's code for
/// a failed test run, so `cargo test` reports it like any failing test.
pub const EVALS_FAILED: u8 = 101;

/// `tribunal equiv`: the two sides are equivalent (or, with `--pairs`, every
/// line was checked).
pub const EQUIV_EQUIVALENT: u8 = 0;
/// `tribunal equiv`: the two sides are not equivalent (evidence printed).
pub const EQUIV_NOT_EQUIVALENT: u8 = 1;
/// `tribunal equiv`: equivalence could not be decided.
pub const EQUIV_UNKNOWN: u8 = 2;
/// `tribunal equiv`: invalid input or usage (or, with `--pairs`, some line
/// could not be read).
pub const EQUIV_INVALID: u8 = 3;

/// The process exit code for one of the constants above.
pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}
