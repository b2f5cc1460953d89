//! Reports, run history and comparison statistics.

pub mod stats;
