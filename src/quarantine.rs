//! The quarantine list.

/// Where the quarantine list is, relative to the project root.
pub const DEFAULT_PATH: &str = "evals/quarantine.yaml";
