//! Which trials go under which heading: the one rule the terminal summary,
//! the Markdown summary and the HTML report share.
//!
//! In reading order: suite files that did not load (their cases did not
//! run at all), regressions, must-pass failures, new verdicts that do not
//! pass (new passing trials are counted, not listed), changed verdicts,
//! errors, improvements awaiting review, known failures, and skipped cases
//! with their reason.

use super::results::RunResults;
use crate::verdict::{Outcome, Status, TrialRecord};

/// One heading and the trials under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Section<'a> {
    /// The heading (`Regressions`).
    pub title: &'static str,
    /// The status of every trial under it.
    pub status: Status,
    /// Whether the trials under it fail the build.
    pub fails_build: bool,
    /// Whether each trial is worth its location and snapshot (known
    /// failures and skipped cases are listed one line each).
    pub detailed: bool,
    /// The trials, in run order.
    pub records: Vec<&'a TrialRecord>,
}

/// The headings, in reading order, and which status each lists.
const HEADINGS: [(&str, Status); 10] = [
    ("Suite files that did not load", Status::Error),
    ("Regressions", Status::Regression),
    ("Must-pass failures", Status::MustPassFailure),
    ("New", Status::New),
    ("Changed verdicts", Status::Changed),
    ("Errors", Status::Error),
    ("Improvements awaiting review", Status::Improvement),
    ("Known failures", Status::KnownFailure),
    ("Skipped", Status::Skipped),
    ("Quarantined (reported, not gating)", Status::Quarantined),
];

fn belongs(index: usize, status: Status, r: &TrialRecord) -> bool {
    if r.status != status {
        return false;
    }
    match index {
        0 => r.load_error.is_some(),
        5 => r.load_error.is_none(),
        _ if status == Status::New => r.verdict.outcome != Outcome::Pass,
        _ => true,
    }
}

/// The non-empty sections of a run, in reading order.
pub fn sections(run: &RunResults) -> Vec<Section<'_>> {
    HEADINGS
        .iter()
        .enumerate()
        .filter_map(|(i, (title, status))| {
            let records: Vec<&TrialRecord> = run
                .records
                .iter()
                .filter(|r| belongs(i, *status, r))
                .collect();
            (!records.is_empty()).then(|| Section {
                title,
                status: *status,
                fails_build: status.fails_build(),
                detailed: !matches!(
                    status,
                    Status::KnownFailure | Status::Skipped | Status::Quarantined
                ),
                records,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn every_listed_trial_is_under_one_heading() {
        let mut run = sample::run(0, 1.0, 1);
        let statuses = [
            Status::Error,
            Status::Regression,
            Status::New,
            Status::New,
            Status::Error,
            Status::Skipped,
            Status::KnownFailure,
        ];
        for (i, st) in statuses.iter().enumerate() {
            let outcome = if i == 3 { Outcome::Pass } else { Outcome::Fail };
            let mut r = sample::record(&format!("s::c{i}"), outcome, *st, 0.5, &[], 1.0, 0.0);
            if i == 0 {
                r.load_error = Some("evals/broken.yaml".into());
            }
            run.records.push(r);
        }
        let got: Vec<(&str, Vec<&str>)> = sections(&run)
            .iter()
            .map(|s| {
                (
                    s.title,
                    s.records.iter().map(|r| r.verdict.trial.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Suite files that did not load", vec!["s::c0"]),
                ("Regressions", vec!["s::c1"]),
                ("New", vec!["s::c2"]),
                ("Errors", vec!["s::c4"]),
                ("Known failures", vec!["s::c6"]),
                ("Skipped", vec!["s::c5"]),
            ]
        );
    }
}
