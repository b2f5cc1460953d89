//! `latency_ms`: the target answered within a bound. Latency is measured,
//! so this check is meant for `cargo test` runs against live or local
//! targets; replayed model calls report their recorded latency.

use super::{CheckCx, Immediate, Kind, Parsed, SpecError, bound};
use crate::check::ParseCx;
use crate::verdict::CheckResult;

/// `latency_ms: N` or `latency_ms: {max: N}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Maximum latency in milliseconds.
    pub max: f64,
}

impl Kind for Latency {
    const NAMES: &'static [&'static str] = &["latency_ms"];

    fn parse(p: &Parsed<'_>, _: &ParseCx<'_>) -> Result<Self, SpecError> {
        Ok(Latency {
            max: bound("latency_ms", p.main, "max", "latency_ms: 2000")?,
        })
    }
}

impl Immediate for Latency {
    fn check(&self, cx: &CheckCx<'_>) -> CheckResult {
        match cx.output.latency_ms {
            Some(ms) => CheckResult::from_bool(
                "latency_ms",
                cx.name,
                ms <= self.max,
                format!("{ms:.0} ms (max {})", self.max),
            ),
            None => CheckResult::error(
                "latency_ms",
                cx.name,
                "the target reported no latency (fixed outputs have none)",
            ),
        }
    }
}
