//! tribunal: LLM evaluations as a `cargo test` regression suite.
//!
//! YAML eval cases under `evals/` become libtest trials; each case calls a
//! target (the system under test), runs checks on what comes back, and its
//! verdict is snapshotted in insta's format, so a changed verdict fails the
//! build and is reviewed with `cargo insta review`.
//!
//! Data flows one way: [`case`] (load YAML, with spans) → [`run`] (expand
//! trials, call the [`target`], run the [`check`]s) → [`verdict`] →
//! [`snapshot`] → reports. [`Harness`] ties it together for `tests/evals.rs`.
//! The file format is documented in `docs/format.md`.

pub mod case;
pub mod check;
#[doc(hidden)]
pub mod cli;
pub mod config;
pub mod datetime;
pub mod diag;
pub mod exit;
pub mod expand;
pub mod fsutil;
pub mod harness;
pub mod labels;
pub mod provider;
pub mod registry;
pub mod report;
pub mod rerun;
pub mod run;
pub mod snapshot;
pub mod target;
pub mod text;
pub mod verdict;
pub mod yaml_out;

pub use harness::{Harness, RunOutcome};
pub use registry::{CheckInput, Input};
pub use verdict::{Outcome, Output, Verdict};
