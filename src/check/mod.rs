//! Checks: what is verified on a target's output.
//!
//! In YAML a check is a mapping with exactly one kind key (its main value)
//! plus the common keys `name`, `weight`, `not`, `when` and `output`/`step`, and the kind's
//! own options:
//!
//! ```yaml
//! checks:
//!   - contains: refund
//!   - regex: '\d+ days'
//!     name: mentions a delay
//!     weight: 2
//!   - icontains: "as an ai"
//!     not: true
//!   - is_json                      # a kind with no parameters
//!   - judge: {criteria: "Polite and accurate"}
//!     when: passed                 # only when every earlier check passed
//! ```
//!
//! Each kind is one module (`kinds/`, or the `judge/` and `ast/` folders)
//! implementing [`Kind`] (its YAML names, options, parsing at load, display
//! name) and [`Check`] (how it runs; [`Immediate`] for kinds that decide
//! without waiting), and one line in `registry.rs`. The common keys and the
//! ast→judge hand-over are combinators in `dispatch.rs`.
//!
//! Adding a kind: write `kinds/<kind>.rs` (see `kinds/cost.rs`: the struct,
//! `impl Kind` with `NAMES`, `OPTIONS`, `parse` and, when the default does
//! not fit, `display`; `impl Immediate` or `impl Check`), declare it in
//! `kinds/mod.rs`, add its `entry::<...>()` line to the table in
//! `registry.rs`, and document it in `docs/format.md`. Whatever the YAML
//! alone determines (files it names, patterns, option conflicts) is checked
//! in `parse`, so that it is a load error at the check's line; a check sees
//! the trial only through [`CheckCx`] (the trial's data, the output, the
//! results before it, [`Services`](crate::services::Services) and
//! [`Baselines`]).

pub mod ast;
mod context;
mod dispatch;
pub mod judge;
pub mod kinds;
mod registry;
mod spec;

use std::fmt::Debug;

pub use context::{Baselines, CheckCx, NoBaselines, ParseCx, TrialView};
pub use dispatch::{Fallback, OutputPath, run_check, run_checks};
pub use registry::{Entry, KINDS, Kind, Parsed, REGISTRY};
pub use spec::{CheckSpec, SpecError, When, derive_name, derive_name_with, typed};

use crate::provider::BoxFuture;
use crate::verdict::CheckResult;

/// The JSON path subset shared with the `http` target's `output:`.
pub mod json {
    pub use super::kinds::json_path::{PathStep, parse_path, select};
}

/// A parsed check, run on one trial's output. Sync and async kinds share this
/// one interface: a kind that decides without waiting implements
/// [`Immediate`] instead and gets this for free.
pub trait Check: Debug + Send + Sync {
    /// Runs the check. Whatever it cannot decide is an `error` result, never
    /// a pass.
    fn run<'a>(&'a self, cx: &'a CheckCx<'a>) -> BoxFuture<'a, CheckResult>;
}

/// A check that decides at once, without I/O.
pub trait Immediate: Debug + Send + Sync {
    /// Decides the check.
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult;
}

impl<T: Immediate> Check for T {
    fn run<'a>(&'a self, cx: &'a CheckCx<'a>) -> BoxFuture<'a, CheckResult> {
        Box::pin(std::future::ready(self.check(cx)))
    }
}
