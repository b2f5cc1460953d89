//! tribunal's own example suites, run as `cargo test --test evals`.
//!
//! This is what a user's `tests/evals.rs` looks like: register the systems
//! under test and any custom checks, then hand over to the harness.

mod sut;

use std::process::ExitCode;

use tribunal::{CheckInput, Harness};

fn main() -> ExitCode {
    Harness::new()
        .target("support_bot", sut::support_bot)
        .async_target("triage", sut::triage)
        .target("sql_writer", sut::sql_writer)
        .target("audience_builder", sut::audience_builder)
        // The support agent's tools (evals/agent.yaml): a tool's input is
        // the arguments the model called it with.
        .target("get_order", sut::get_order)
        .target("start_refund", sut::start_refund)
        .check("no_pii", |c: &CheckInput<'_>| -> Result<(), String> {
            let email = regex::Regex::new(r"[\w.+-]+@[\w-]+\.[\w.]+").map_err(|e| e.to_string())?;
            match email.find(&c.output.text) {
                Some(m) => Err(format!("the answer leaks an email address: {}", m.as_str())),
                None => Ok(()),
            }
        })
        .main()
}
