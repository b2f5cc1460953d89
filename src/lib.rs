//! tribunal: LLM evaluations as a `cargo test` regression suite.

pub mod case;
pub mod check;
pub mod fsutil;
pub mod labels;
pub mod provider;
pub mod registry;
pub mod run;
pub mod target;
pub mod verdict;
pub mod yaml_out;
