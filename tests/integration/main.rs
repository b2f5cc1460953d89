//! tribunal's own integration tests, in one test binary (one link step for
//! all of them). Each module is one area; `common` holds the shared helpers.
//! The shipped example suites run separately as `cargo test --test evals`.

mod common;

mod ast_equivalent;
mod checks;
mod cli;
mod gates;
mod harness;
mod labels;
mod loader;
mod providers;
mod report_html_chromium;
mod report_outputs;
mod report_workflows;
mod targets;
