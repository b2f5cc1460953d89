//! tribunal: LLM evaluations as a `cargo test` regression suite.

pub mod case;
pub mod check;
pub mod provider;
pub mod report;
pub mod run;
pub mod target;
pub mod verdict;
