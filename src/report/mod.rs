//! Reports, run history and regression statistics.
//!
//! After every run the harness calls [`after_run`], which writes
//!
//! - the JSON results (`target/tribunal/runs/<id>.json` and
//!   `target/tribunal/last.json`): every verdict with its evidence;
//! - JUnit XML (`target/tribunal/junit.xml`);
//! - a Markdown summary (`target/tribunal/summary.md`, also appended to
//!   `$GITHUB_STEP_SUMMARY` when set);
//! - a self-contained HTML report (`target/tribunal/report.html`);
//! - the run into the SQLite history ([`history`]);
//!
//! and returns the terminal summary to print. [`compare()`] pairs two runs and
//! runs the paired tests in [`stats`]; [`gate`] turns thresholds into a
//! pass or a fail; the `report`/`compare`/`history` commands are in `cli/report.rs`.
//!
//! The output folder is `<root>/target/tribunal`, or `TRIBUNAL_REPORT_DIR`
//! (relative to the root) when set. See `docs/reports.md`.

mod after_run;
pub mod analysis;
pub mod bias;
pub mod calibration;
pub mod canaries;
pub mod compare;
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod flaky;
#[doc(hidden)]
pub mod gate;
#[doc(hidden)]
// Without the `history` feature, `history_off.rs` stands in: opening the
// history fails, naming the feature.
#[cfg_attr(not(feature = "history"), path = "history_off.rs")]
pub mod history;
// The stub's errors are what users of a build without `history` see: the
// default build's tests check them too.
#[cfg(all(test, feature = "history"))]
#[path = "history_off.rs"]
#[allow(dead_code)] // only the refusals are called
mod history_off;
#[doc(hidden)]
pub mod html;
#[doc(hidden)]
pub mod junit;
#[doc(hidden)]
pub mod markdown;
#[doc(hidden)]
pub mod results;
pub mod retention;
/// Synthetic runs for tests, examples and benchmarks.
#[doc(hidden)]
pub mod sample;
pub mod sections;
pub mod stats;
#[doc(hidden)]
pub mod summary;
pub mod trend;

pub use after_run::{
    AfterRun, PLOT_RUNS, Reports, Settings, after_run, after_run_with, append_step_summary,
};
pub use compare::{Comparison, VariantMatrix, VariantReport, VariantRow, compare, variant_matrix};
pub use error::{HistoryError, ReportError};
pub use gate::{EXIT_EVAL_FAILURE, EXIT_PASS, EXIT_TOOL_ERROR, GateReport, Gates};
pub use results::{GitInfo, RunResults, merge};
pub use summary::{Summary, terminal_summary};
