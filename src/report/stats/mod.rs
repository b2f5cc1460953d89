//! Statistics for comparing runs: Wilson intervals for pass rates, McNemar's
//! exact test for paired pass/fail outcomes, the Wilcoxon signed-rank test
//! for paired scores, and percentiles for latency and cost.
//!
//! Everything here is plain `f64` arithmetic with no dependency; each
//! function is tested against published or independently computed values
//! (scipy 1.17, R, textbook tables).

pub mod binomial;
pub mod normal;

pub use binomial::{McNemar, Proportion, binomial_half_cdf, mcnemar_exact, wilson_interval};
pub mod wilcoxon;

pub use wilcoxon::{PMethod, Wilcoxon, percentile, wilcoxon_signed_rank};
pub mod student;

pub use student::{Mean, mean_interval, t_975};
