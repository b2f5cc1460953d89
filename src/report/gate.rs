//! Gating thresholds and exit codes.
//!
//! | exit code | meaning |
//! |---|---|
//! | 0 ([`EXIT_PASS`]) | every gate passed |
//! | 1 ([`EXIT_EVAL_FAILURE`]) | evaluation failure: a gate failed (pass rate below the minimum, too many significant regressions, trials that fail the build) |
//! | 2 ([`EXIT_TOOL_ERROR`]) | tool or configuration error: unreadable results, unknown run, bad flag, broken history |

use serde::Serialize;

use crate::case::{LoadError, Location};
use crate::diag::{Seg, explain_serde, path_text, remove_at, serde_segments};

use super::compare::Comparison;
use super::summary::{Summary, fmt_prop};

/// Every gate passed.
pub const EXIT_PASS: u8 = crate::exit::OK;
/// An evaluation gate failed.
pub const EXIT_EVAL_FAILURE: u8 = crate::exit::FAILED;
/// tribunal could not do its job (input, configuration, history).
pub const EXIT_TOOL_ERROR: u8 = crate::exit::TOOL_ERROR;

/// Thresholds a run (and its comparison with a base) must meet.
///
/// Set by CLI flags, or for a whole project by a gates file
/// (`evals/gates.yaml` by default, see [`GatesFile`]); flags win.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Gates {
    /// Minimum overall pass rate, in [0, 1].
    pub min_pass_rate: Option<f64>,
    /// Minimum pass rate of one tag: `TAG=RATE` (repeatable), e.g.
    /// `--min-tag-pass-rate feature:refunds=0.9`.
    pub min_tag_pass_rate: Vec<(String, f64)>,
    /// Maximum number of significant regressions (overall and per tag, by
    /// McNemar on pass/fail or Wilcoxon on scores) against the base.
    pub max_significant_regressions: Option<usize>,
    /// Significance level of the regression tests.
    pub alpha: f64,
    /// Fail when any trial's status fails the build (regression, new
    /// failure, error, ...), as `cargo test` does.
    pub fail_on_status: bool,
}

/// The gates file (`evals/gates.yaml`): the project's thresholds.
///
/// ```yaml
/// min_pass_rate: 0.9
/// min_tag_pass_rate:
///   feature:refunds: 0.95
/// max_significant_regressions: 0
/// alpha: 0.05
/// fail_on_status: true
/// ```
#[derive(Debug, Clone, PartialEq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatesFile {
    /// Minimum overall pass rate.
    #[serde(default)]
    pub min_pass_rate: Option<f64>,
    /// Minimum pass rate per tag.
    #[serde(default)]
    pub min_tag_pass_rate: std::collections::BTreeMap<String, f64>,
    /// Maximum significant regressions against the base.
    #[serde(default)]
    pub max_significant_regressions: Option<usize>,
    /// Significance level.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Fail on any trial whose status fails the build.
    #[serde(default)]
    pub fail_on_status: bool,
}

impl GatesFile {
    /// Reads a gates file (a regular file of at most 1 MiB); rates must be
    /// in `[0, 1]`. Every problem is reported with its `file:line:col`.
    pub fn load(path: &std::path::Path) -> Result<GatesFile, super::ReportError> {
        let text = crate::fsutil::read_regular(path, 1 << 20)
            .map_err(|e| super::ReportError::read(path, e))?;
        let display = path.display().to_string();
        Self::parse(&text, &display).map_err(|errors| {
            super::ReportError::Config(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })
    }

    /// Parses the text of a gates file; `display` names it in errors.
    pub fn parse(text: &str, display: &str) -> Result<GatesFile, Vec<LoadError>> {
        let file: std::sync::Arc<str> = display.into();
        let at = |(line, col): (u32, u32), message: String, hint: Option<String>| LoadError {
            location: Location {
                file: file.clone(),
                line,
                col,
            },
            message,
            hint,
        };
        let root = crate::case::yaml::parse(text)
            .map_err(|e| vec![at((e.line, e.col), e.message, e.hint)])?;
        let mut value = root.to_json();
        if value.is_null() {
            return Ok(GatesFile::default());
        }
        let mut errors = Vec::new();
        // Each round reports and removes one unknown key, so that every
        // misspelled key is reported in one run.
        let mut parsed = None;
        for _ in 0..64 {
            match serde_path_to_error::deserialize::<_, GatesFile>(value.clone()) {
                Ok(v) => {
                    parsed = Some(v);
                    break;
                }
                Err(err) => {
                    let path = serde_segments(err.path());
                    let key = path_text(&path);
                    let text = err.inner().to_string();
                    let (message, hint, at_key) = explain_serde(&text, "gates file", Some(&key));
                    errors.push(at(root.locate(&path, at_key), message, hint));
                    if !(text.starts_with("unknown field") && remove_at(&mut value, &path)) {
                        break;
                    }
                }
            }
        }
        let Some(parsed) = parsed else {
            return Err(errors);
        };
        let rates = [
            ("min_pass_rate", parsed.min_pass_rate),
            ("alpha", parsed.alpha),
        ]
        .into_iter()
        .filter_map(|(k, r)| r.map(|r| (vec![Seg::Key(k.to_string())], r)))
        .chain(parsed.min_tag_pass_rate.iter().map(|(tag, r)| {
            (
                vec![
                    Seg::Key("min_tag_pass_rate".to_string()),
                    Seg::Key(tag.clone()),
                ],
                *r,
            )
        }));
        for (path, r) in rates {
            if !(0.0..=1.0).contains(&r) {
                errors.push(at(
                    root.locate(&path, false),
                    format!("rate {r} is outside [0, 1]"),
                    Some("write a fraction such as 0.9 for 90%".to_string()),
                ));
            }
        }
        if errors.is_empty() {
            Ok(parsed)
        } else {
            errors.sort_by_key(|e| (e.location.line, e.location.col));
            Err(errors)
        }
    }
}

impl Gates {
    /// These gates with unset ones taken from a gates file (flags win; per
    /// tag minimums from both apply, the flag's where a tag is in both).
    pub fn with_file(mut self, file: &GatesFile, alpha_from_flag: bool) -> Gates {
        self.min_pass_rate = self.min_pass_rate.or(file.min_pass_rate);
        for (tag, rate) in &file.min_tag_pass_rate {
            if !self.min_tag_pass_rate.iter().any(|(t, _)| t == tag) {
                self.min_tag_pass_rate.push((tag.clone(), *rate));
            }
        }
        self.max_significant_regressions = self
            .max_significant_regressions
            .or(file.max_significant_regressions);
        if !alpha_from_flag && let Some(a) = file.alpha {
            self.alpha = a;
        }
        self.fail_on_status |= file.fail_on_status;
        self
    }
}

pub(crate) fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    let v = if s.trim().ends_with('%') {
        v / 100.0
    } else {
        v
    };
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is outside [0, 1] (write 0.9 or 90%)"))
    }
}

pub(crate) fn parse_tag_rate(s: &str) -> Result<(String, f64), String> {
    let (tag, rate) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("`{s}` is not TAG=RATE (e.g. feature:refunds=0.9)"))?;
    if tag.is_empty() {
        return Err(format!("`{s}` has an empty tag"));
    }
    Ok((tag.to_string(), parse_rate(rate)?))
}

/// The outcome of applying the gates.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GateReport {
    /// One line per failed gate.
    pub failures: Vec<String>,
    /// One line per gate checked and passed.
    pub passed: Vec<String>,
}

impl GateReport {
    /// The exit code: [`EXIT_PASS`] or [`EXIT_EVAL_FAILURE`].
    pub fn exit_code(&self) -> u8 {
        if self.failures.is_empty() {
            EXIT_PASS
        } else {
            EXIT_EVAL_FAILURE
        }
    }
}

impl Gates {
    /// Whether no gate is set (besides `alpha`).
    pub fn is_empty(&self) -> bool {
        self.min_pass_rate.is_none()
            && self.min_tag_pass_rate.is_empty()
            && self.max_significant_regressions.is_none()
            && !self.fail_on_status
    }

    /// Applies the gates to a run's summary and, when there is one, its
    /// comparison with a base.
    pub fn check(&self, head: &Summary, comparison: Option<&Comparison>) -> GateReport {
        let mut report = GateReport::default();
        let mut verdict = |ok: bool, line: String| {
            if ok {
                report.passed.push(line);
            } else {
                report.failures.push(line);
            }
        };
        // A run in which suite files did not load measured only part of
        // the suite: no gate can pass on it.
        if !self.is_empty() && head.load_errors > 0 {
            verdict(
                false,
                format!(
                    "{} suite file(s) could not be loaded, so their cases did not run",
                    head.load_errors
                ),
            );
        }
        // The suites' own `min_canary_catch` gates apply under any gates.
        for g in &head.canary_gates {
            verdict(g.held, g.line.clone());
        }
        if let Some(min) = self.min_pass_rate {
            let rate = head.pass.rate.unwrap_or(0.0);
            verdict(
                rate + 1e-12 >= min,
                format!("pass rate {} ≥ {:.1}%", fmt_prop(&head.pass), min * 100.0),
            );
        }
        for (tag, min) in &self.min_tag_pass_rate {
            match head.by_tag.iter().find(|t| &t.name == tag) {
                Some(t) => verdict(
                    t.pass.rate.unwrap_or(0.0) + 1e-12 >= *min,
                    format!(
                        "tag {tag} pass rate {} ≥ {:.1}%",
                        fmt_prop(&t.pass),
                        min * 100.0
                    ),
                ),
                None => verdict(false, format!("tag {tag} has no trials in this run")),
            }
        }
        if self.fail_on_status {
            verdict(
                head.failing == 0,
                super::summary::fail_the_build(head.failing),
            );
        }
        if let Some(max) = self.max_significant_regressions {
            match comparison {
                Some(c) => {
                    let mut found = Vec::new();
                    if c.overall.significant_regression(self.alpha) {
                        found.push("overall".to_string());
                    }
                    for t in &c.by_tag {
                        if t.paired.significant_regression(self.alpha) {
                            found.push(t.tag.clone());
                        }
                    }
                    verdict(
                        found.len() <= max,
                        format!(
                            "{} significant regressions at α = {} (max {max}){}{}",
                            found.len(),
                            self.alpha,
                            if found.is_empty() { "" } else { ": " },
                            found.join(", ")
                        ),
                    );
                }
                None => verdict(
                    false,
                    "--max-significant-regressions needs a base run to compare with".into(),
                ),
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::compare::compare;
    use crate::report::sample;
    use rstest::rstest;

    #[rstest]
    #[case("0.9", Ok(0.9))]
    #[case("90%", Ok(0.9))]
    #[case("1.5", Err(()))]
    #[case("x", Err(()))]
    fn rates_parse(#[case] s: &str, #[case] want: Result<f64, ()>) {
        assert_eq!(parse_rate(s).map_err(|_| ()), want);
    }

    #[test]
    fn gates_file_fills_unset_gates_and_flags_win() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gates.yaml");
        std::fs::write(
            &path,
            "min_pass_rate: 0.9\nmin_tag_pass_rate:\n  feature:a: 0.8\n  feature:b: 0.7\nalpha: 0.01\nfail_on_status: true\n",
        )
        .expect("write");
        let file = GatesFile::load(&path).expect("load");
        let flags = Gates {
            min_pass_rate: Some(0.5),
            min_tag_pass_rate: vec![("feature:a".into(), 0.6)],
            alpha: 0.05,
            ..Gates::default()
        };
        let g = flags.with_file(&file, false);
        assert_eq!(g.min_pass_rate, Some(0.5));
        assert_eq!(
            g.min_tag_pass_rate,
            vec![
                ("feature:a".to_string(), 0.6),
                ("feature:b".to_string(), 0.7)
            ]
        );
        assert_eq!(g.alpha, 0.01);
        assert!(g.fail_on_status);
        std::fs::write(&path, "min_pass_rate: 9\n").expect("write");
        assert!(GatesFile::load(&path).is_err());
        std::fs::write(&path, "min_pass_rat: 0.9\n").expect("write");
        let err = GatesFile::load(&path).expect_err("unknown key");
        assert!(err.to_string().contains("min_pass_rat"), "{err}");
    }

    #[test]
    fn tag_rates_parse_with_colons_in_tags() {
        assert_eq!(
            parse_tag_rate("feature:a=0.5"),
            Ok(("feature:a".into(), 0.5))
        );
        assert!(parse_tag_rate("nope").is_err());
    }

    #[test]
    fn gates_fail_and_pass_with_distinct_exit_codes() {
        let base = sample::run(400, 0.9, 1);
        let head = sample::run(400, 0.6, 2);
        let s = Summary::of(&head);
        let c = compare(&base, &head);
        let gates = Gates {
            min_pass_rate: Some(0.8),
            min_tag_pass_rate: vec![("feature:sql".into(), 0.1), ("missing".into(), 0.1)],
            max_significant_regressions: Some(0),
            alpha: 0.05,
            fail_on_status: false,
        };
        let r = gates.check(&s, Some(&c));
        assert_eq!(r.exit_code(), EXIT_EVAL_FAILURE);
        assert_eq!(r.failures.len(), 3, "{r:?}");
        assert!(r.failures[0].starts_with("pass rate"), "{r:?}");
        assert!(r.failures[2].contains("overall"), "{r:?}");
        assert_eq!(r.passed.len(), 1);
        let lenient = Gates {
            min_pass_rate: Some(0.5),
            ..Gates::default()
        };
        assert_eq!(lenient.check(&s, Some(&c)).exit_code(), EXIT_PASS);
        let needs_base = Gates {
            max_significant_regressions: Some(3),
            ..Gates::default()
        };
        assert_eq!(needs_base.check(&s, None).exit_code(), EXIT_EVAL_FAILURE);
    }
}
