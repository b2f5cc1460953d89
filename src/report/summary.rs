//! Aggregates of one run (totals, pass rates per tag, latency, cost) and
//! the terminal summary printed after every run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::results::RunResults;
use super::stats::{Proportion, percentile};
use crate::text::one_line;
use crate::verdict::{Outcome, Status, TrialRecord, Usage};

/// Confidence level of every interval tribunal reports.
pub const CONFIDENCE: f64 = 0.95;

/// How much of a reason (a counterexample) is shown whole under a listed
/// trial in the terminal and the HTML report.
pub const WHOLE_REASON: usize = 600;

/// How many entries a terminal section lists before "... and N more".
const SECTION_LIMIT: usize = 8;

/// Lines the failure sections of the terminal summary may use in all
/// (section headers and "... and N more" lines are not counted), so the
/// whole summary fits a screen; earlier sections (regressions) come first.
const FAILURE_LINES: usize = 22;

/// Pass rate and mean score of a group of trials (a tag, a variant).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    /// The group name (`feature:refunds`).
    pub name: String,
    /// Pass rate with its Wilson interval (skipped trials not counted).
    pub pass: Proportion,
    /// Mean verdict score.
    pub mean_score: Option<f64>,
}

/// The aggregates of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// All trials.
    pub total: usize,
    /// Trials per status (`pass`, `regression`, ...).
    pub by_status: BTreeMap<&'static str, usize>,
    /// Trials whose status fails the build.
    pub failing: usize,
    /// Entries for suite files that could not be loaded (their cases did
    /// not run; counted in `failing` too).
    pub load_errors: usize,
    /// Overall pass rate (outcome `pass` among non-skipped trials).
    pub pass: Proportion,
    /// Mean verdict score over non-skipped trials.
    pub mean_score: Option<f64>,
    /// Per tag, sorted by name (so tags of one dimension, `feature:*`, group).
    pub by_tag: Vec<GroupRow>,
    /// Total tokens.
    pub usage: Usage,
    /// Total cost in US dollars.
    pub cost_usd: f64,
    /// Median target latency (ms).
    pub latency_p50: Option<f64>,
    /// 95th percentile target latency (ms).
    pub latency_p95: Option<f64>,
    /// Judge canary gates (`min_canary_catch`). Every gate applies them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub canary_gates: Vec<super::canaries::CanaryGate>,
}

/// The snake_case name of a status, as in the JSON.
pub fn status_name(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::KnownFailure => "known_failure",
        Status::Regression => "regression",
        Status::Improvement => "improvement",
        Status::Changed => "changed",
        Status::New => "new",
        Status::MustPassFailure => "must_pass_failure",
        Status::Error => "error",
        Status::Skipped => "skipped",
        Status::Quarantined => "quarantined",
    }
}

/// The latency of a trial: the target's, else the whole case's wall time.
pub fn latency_of(r: &TrialRecord) -> Option<f64> {
    r.verdict
        .output
        .as_ref()
        .and_then(|o| o.latency_ms)
        .or((r.verdict.duration_ms > 0.0).then_some(r.verdict.duration_ms))
}

/// Whether a record counts in pass rates (skipped trials do not).
pub fn counted(r: &TrialRecord) -> bool {
    // A quarantined trial is reported but measured by no pass rate or gate.
    r.status != Status::Skipped
        && r.status != Status::Quarantined
        && r.verdict.outcome != Outcome::Skipped
}

/// Pass rate and mean score of a set of records.
pub fn group_row<'a>(name: &str, records: impl IntoIterator<Item = &'a TrialRecord>) -> GroupRow {
    let (mut n, mut passed, mut score_sum) = (0u64, 0u64, 0.0);
    for r in records.into_iter().filter(|r| counted(r)) {
        n += 1;
        if r.verdict.outcome == Outcome::Pass {
            passed += 1;
        }
        score_sum += r.verdict.score;
    }
    GroupRow {
        name: name.to_string(),
        pass: Proportion::new(passed, n, CONFIDENCE),
        mean_score: (n > 0).then(|| score_sum / n as f64),
    }
}

impl Summary {
    /// Aggregates a run.
    pub fn of(run: &RunResults) -> Summary {
        let records = &run.records;
        let mut by_status = BTreeMap::new();
        let mut usage = Usage::default();
        let mut cost = 0.0;
        let mut tags: BTreeMap<&str, Vec<&TrialRecord>> = BTreeMap::new();
        for r in records {
            *by_status.entry(status_name(r.status)).or_insert(0) += 1;
            usage.add(r.verdict.usage);
            cost += r.verdict.cost_usd.unwrap_or(0.0);
            for t in &r.verdict.tags {
                tags.entry(t.as_str()).or_default().push(r);
            }
        }
        let overall = group_row("overall", records);
        let latencies: Vec<f64> = records.iter().filter_map(latency_of).collect();
        Summary {
            total: records.len(),
            by_status,
            failing: records.iter().filter(|r| r.status.fails_build()).count(),
            load_errors: records.iter().filter(|r| r.load_error.is_some()).count(),
            pass: overall.pass,
            mean_score: overall.mean_score,
            by_tag: tags.into_iter().map(|(t, rs)| group_row(t, rs)).collect(),
            usage,
            cost_usd: cost,
            latency_p50: percentile(&latencies, 0.5),
            latency_p95: percentile(&latencies, 0.95),
            canary_gates: super::canaries::gates_of(&run.records),
        }
    }

    /// Count of one status.
    pub fn count(&self, s: Status) -> usize {
        self.by_status.get(status_name(s)).copied().unwrap_or(0)
    }
}

/// The first thing that explains a non-passing trial: the case error, or
/// the first failing/erroring check with its reason or critique.
pub fn failure_reason(r: &TrialRecord) -> String {
    if let Some(note) = &r.quarantine {
        let own = TrialRecord {
            quarantine: None,
            ..r.clone()
        };
        return format!("{} — {}", note.line(), failure_reason(&own));
    }
    if let Some(why) = &r.skip_reason {
        return format!("skipped: {why}");
    }
    if let Some(e) = &r.verdict.error {
        return e.clone();
    }
    let bad = r
        .verdict
        .checks
        .iter()
        .find(|c| matches!(c.outcome, Outcome::Fail | Outcome::Error));
    match bad {
        Some(c) => {
            let why = c
                .critique
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or(&c.reason);
            format!("{} [{}]: {}", c.name, c.outcome, why)
        }
        None => match r.status {
            Status::Improvement => "now passes; the snapshot records a failure".into(),
            Status::Changed => "a check's label or score changed".into(),
            Status::New => format!("no accepted snapshot yet (verdict: {})", r.verdict.outcome),
            _ => format!("verdict: {}", r.verdict.outcome),
        },
    }
}

/// `1 trial fails the build`, `3 trials fail the build`.
pub fn fail_the_build(n: usize) -> String {
    let verb = if n == 1 { "fails" } else { "fail" };
    format!("{} {verb} the build", crate::text::count(n, "trial"))
}

/// Formats a proportion as `85.0% [78.1–90.0]`.
pub fn fmt_prop(p: &Proportion) -> String {
    match p.rate {
        Some(r) => format!(
            "{:.1}% [{:.1}–{:.1}]",
            r * 100.0,
            p.low * 100.0,
            p.high * 100.0
        ),
        None => "n/a".into(),
    }
}

/// Formats milliseconds (`850 ms`, `1.24 s`).
pub fn fmt_ms(ms: Option<f64>) -> String {
    match ms {
        None => "n/a".into(),
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1000.0),
        Some(v) => format!("{v:.0} ms"),
    }
}

/// Where to look for a listed trial: its first failing check (else its
/// case) and its snapshot (a suite file that did not load has no snapshot).
pub fn where_to_look(r: &TrialRecord) -> String {
    // The first failing or erroring check's line, else the case's.
    let at = r.verdict.failure_location();
    // Errors are never snapshotted: name the snapshot only when one was
    // accepted before, or the reader looks for a file that does not exist.
    let unwritten = r.status == crate::verdict::Status::Error && r.accepted.is_none();
    if r.snapshot.is_empty() || unwritten {
        format!("at {at}")
    } else {
        format!("at {at} · snapshot {}", r.snapshot)
    }
}

/// The summary printed after a run: totals, pass rate overall and per tag,
/// then the non-passing trials by section (regressions first), each with
/// its reason and where to look. Fits a screen: each section lists at most
/// a few trials and counts the rest.
pub fn terminal_summary(run: &RunResults) -> String {
    let s = Summary::of(run);
    let mut out = String::new();
    let commit = run
        .short_commit()
        .map(|c| format!(" · {c}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "tribunal run {}{} · {} in {}",
        run.run_id,
        commit,
        crate::text::count(s.total, "trial"),
        fmt_ms(Some(run.duration_ms))
    );
    let counts: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| format!("{v} {}", k.replace('_', " ")))
        .collect();
    let _ = writeln!(out, "  {}", counts.join(", "));
    let _ = writeln!(
        out,
        "  pass rate {} · mean score {} · cost ${:.4} · latency p50 {} p95 {}",
        fmt_prop(&s.pass),
        s.mean_score
            .map(|m| format!("{m:.2}"))
            .unwrap_or_else(|| "n/a".into()),
        s.cost_usd,
        fmt_ms(s.latency_p50),
        fmt_ms(s.latency_p95)
    );
    if !s.by_tag.is_empty() {
        let width = s.by_tag.iter().map(|t| t.name.len()).max().unwrap_or(0);
        let _ = writeln!(out, "  by tag:");
        for (i, t) in s.by_tag.iter().enumerate() {
            if i == 12 {
                let _ = writeln!(out, "    ... and {} more tags", s.by_tag.len() - 12);
                break;
            }
            let _ = writeln!(
                out,
                "    {:<width$}  {:>4}/{:<4} {}",
                t.name,
                t.pass.successes,
                t.pass.n,
                fmt_prop(&t.pass)
            );
        }
    }
    for note in length_bias_notes(run) {
        let _ = writeln!(out, "  {note}");
    }
    out.push_str(&super::calibration::terminal(run));
    out.push_str(&super::canaries::terminal(run));
    let mut budget = FAILURE_LINES;
    for section in super::sections::sections(run) {
        let items = &section.records;
        let _ = writeln!(out, "\n{} ({}):", section.title, items.len());
        // Every section shows at least one trial; the budget decides the rest.
        let mut shown = 0;
        for r in items.iter().take(SECTION_LIMIT) {
            let mark = if section.fails_build { "✗" } else { "·" };
            let reason = failure_reason(r);
            let head = one_line(&reason, 110);
            // A counterexample is cut where its database or profile starts;
            // show it whole (bounded) under the cut line.
            let whole = (section.detailed && head.chars().count() < reason.chars().count())
                .then(|| one_line(&reason, WHOLE_REASON));
            let lines = 1 + usize::from(section.detailed) + usize::from(whole.is_some());
            if shown > 0 && lines > budget {
                break;
            }
            budget = budget.saturating_sub(lines);
            shown += 1;
            match whole {
                Some(whole) => {
                    let _ = writeln!(out, "  {mark} {}\n      {whole}", r.verdict.trial);
                }
                None => {
                    let _ = writeln!(out, "  {mark} {} — {head}", r.verdict.trial);
                }
            }
            if section.detailed {
                let _ = writeln!(out, "      {}", where_to_look(r));
            }
        }
        if items.len() > shown {
            let _ = writeln!(out, "  ... and {} more", items.len() - shown);
        }
    }
    let new_passing = run
        .records
        .iter()
        .filter(|r| r.status == Status::New && r.verdict.outcome == Outcome::Pass)
        .count();
    if new_passing > 0 {
        let _ = writeln!(
            out,
            "\n{new_passing} new passing trials have no snapshot yet."
        );
    }
    let _ = writeln!(out, "\n{}", closing_advice(run, &s));
    out
}

/// How many trials fail the build: every status that fails it, except that
/// under `INSTA_FORCE_PASS` only errors, must-pass failures and suite files
/// that did not load do (snapshot changes are reported, not failing).
pub fn failing_the_build(run: &RunResults, s: &Summary) -> usize {
    if run.force_pass {
        run.records
            .iter()
            .filter(|r| matches!(r.status, Status::Error | Status::MustPassFailure))
            .count()
    } else {
        s.failing
    }
}

/// The closing lines of a summary: what fails the build and what to do,
/// true for the situation. Reviewing snapshots is suggested only when a
/// verdict changed or is new; errors and must-pass failures are not fixed
/// by review; under `INSTA_FORCE_PASS` snapshot changes do not fail.
pub fn closing_advice(run: &RunResults, s: &Summary) -> String {
    let count = |f: &dyn Fn(&TrialRecord) -> bool| run.records.iter().filter(|r| f(r)).count();
    let reviewable = count(&|r| {
        matches!(
            r.status,
            Status::Regression | Status::Changed | Status::Improvement | Status::New
        )
    });
    let errors = count(&|r| r.status == Status::Error && r.load_error.is_none());
    let must_pass = count(&|r| r.status == Status::MustPassFailure);
    let failing = failing_the_build(run, s);
    let rerun = run.rerun.clone().unwrap_or_default();
    let mut lines = Vec::new();
    if failing == 0 {
        lines.push("No trial fails the build.".to_string());
    } else {
        lines.push(format!("{}.", fail_the_build(failing)));
    }
    if s.load_errors > 0 {
        lines.push(format!(
            "{} suite file(s) did not load: fix them (file:line:col above) and run `{}` again.",
            s.load_errors,
            rerun.all()
        ));
    }
    if errors > 0 {
        lines.push(format!(
            "{errors} trial(s) could not be decided (errors are never snapshotted): fix the cause and run again."
        ));
    }
    if must_pass > 0 {
        lines.push(format!(
            "{must_pass} must-pass case(s) fail: they fail until the case passes again (accepting the snapshot does not help)."
        ));
    }
    if reviewable > 0 {
        let review = rerun.review();
        if run.force_pass {
            lines.push(format!(
                "{reviewable} changed or new verdict(s) do not fail the build under INSTA_FORCE_PASS=1; {review}."
            ));
        } else {
            lines.push(format!("{reviewable} changed or new verdict(s): {review}."));
        }
    }
    lines.join("\n")
}

/// Judges whose scores follow output length (seed 003's verbosity bias):
/// a note per judge check with at least 5 scored outputs and |r| >= 0.3.
pub fn length_bias_notes(run: &RunResults) -> Vec<String> {
    super::bias::length_bias(run.records.iter().map(|r| &*r.verdict))
        .into_iter()
        .filter_map(|b| {
            let r = b.correlation?;
            (b.n >= 5 && r.abs() >= 0.3).then(|| {
                format!(
                    "note: judge `{}` scores {} with output length (r = {r:.2}, n = {}): look for verbosity bias",
                    b.check,
                    if r > 0.0 { "rise" } else { "fall" },
                    b.n
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::record;

    fn run_of(records: Vec<TrialRecord>) -> RunResults {
        let mut r = crate::report::sample::run(0, 1.0, 1);
        r.records = records;
        r
    }

    #[test]
    fn a_judge_whose_scores_follow_length_gets_a_note() {
        let records: Vec<TrialRecord> = (0..6)
            .map(|i| {
                let mut r = record(
                    &format!("s::c{i}"),
                    Outcome::Pass,
                    Status::Pass,
                    0.2 + 0.15 * i as f64,
                    &[],
                    10.0,
                    0.0,
                );
                if let Some(o) = r.verdict.output.as_mut() {
                    o.text = "word ".repeat(5 + 10 * i);
                }
                r
            })
            .collect();
        let run = run_of(records.clone());
        let notes = length_bias_notes(&run);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("rise with output length"), "{notes:?}");
        assert!(terminal_summary(&run).contains("verbosity bias"));
        assert!(crate::report::markdown::run_summary(&run).contains("verbosity bias"));
        // Scores unrelated to length: no note.
        let mut flat = records;
        for (i, r) in flat.iter_mut().enumerate() {
            r.verdict.checks[0].score = Some(if i % 2 == 0 { 0.8 } else { 0.6 });
        }
        assert!(length_bias_notes(&run_of(flat)).is_empty());
    }

    #[test]
    fn summary_counts_rates_and_tags() {
        let run = run_of(vec![
            record(
                "s::a",
                Outcome::Pass,
                Status::Pass,
                1.0,
                &["feature:x"],
                100.0,
                0.01,
            ),
            record(
                "s::b",
                Outcome::Fail,
                Status::Regression,
                0.0,
                &["feature:x", "persona:p"],
                300.0,
                0.02,
            ),
            record(
                "s::c",
                Outcome::Pass,
                Status::Pass,
                0.5,
                &["persona:p"],
                200.0,
                0.03,
            ),
            record(
                "s::d",
                Outcome::Skipped,
                Status::Skipped,
                0.0,
                &["persona:p"],
                0.0,
                0.0,
            ),
        ]);
        let s = Summary::of(&run);
        assert_eq!(s.total, 4);
        assert_eq!((s.pass.successes, s.pass.n), (2, 3));
        assert_eq!(s.failing, 1);
        assert_eq!(s.count(Status::Regression), 1);
        assert!((s.mean_score.unwrap_or(0.0) - 0.5).abs() < 1e-12);
        assert!((s.cost_usd - 0.06).abs() < 1e-12);
        assert_eq!(s.latency_p50, Some(150.0));
        let names: Vec<&str> = s.by_tag.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["feature:x", "persona:p"]);
        assert_eq!((s.by_tag[1].pass.successes, s.by_tag[1].pass.n), (1, 2));
    }

    #[test]
    fn terminal_summary_lists_regressions_first_with_where_to_look() {
        let run = run_of(vec![
            record(
                "s::known",
                Outcome::Fail,
                Status::KnownFailure,
                0.0,
                &[],
                1.0,
                0.0,
            ),
            record(
                "s::broke",
                Outcome::Fail,
                Status::Regression,
                0.0,
                &["feature:x"],
                1.0,
                0.0,
            ),
            record("s::fine", Outcome::Pass, Status::Pass, 1.0, &[], 1.0, 0.0),
        ]);
        let text = terminal_summary(&run);
        let reg = text.find("Regressions (1)").unwrap_or(usize::MAX);
        let known = text.find("Known failures (1)").unwrap_or(0);
        assert!(reg < known, "{text}");
        assert!(
            text.contains("✗ s::broke\n      judge helpfulness [fail]: The reply promises a refund after 30 days, which the policy forbids; it should offer store credit instead.\n"),
            "{text}"
        );
        assert!(text.contains("at evals/s.yaml:"), "{text}");
        assert!(
            text.contains("snapshot evals/snapshots/s__broke.snap"),
            "{text}"
        );
        assert!(text.contains("pass rate 33.3%"), "{text}");
        assert!(text.contains("1 trial fails the build"), "{text}");
    }

    #[test]
    fn long_sections_are_cut_to_fit_a_screen() {
        let run = crate::report::sample::run(2000, 0.5, 3);
        let text = terminal_summary(&run);
        assert!(
            text.lines().count() <= 60,
            "{} lines:\n{text}",
            text.lines().count()
        );
        // Every section is there, regressions with the most detail.
        for title in [
            "Regressions",
            "New",
            "Errors",
            "Improvements awaiting review",
            "Known failures",
        ] {
            assert!(
                text.contains(&format!("\n{title} (")),
                "{title} missing:\n{text}"
            );
        }
        assert!(text.contains("... and"), "{text}");
    }

    #[test]
    fn trim_cuts_on_characters_and_joins_lines() {
        assert_eq!(one_line("a\n b  c", 10), "a b c");
        assert_eq!(one_line("ééééé", 3), "éé…");
    }

    #[test]
    fn closing_advice_is_true_for_the_situation() {
        use crate::report::sample::record;
        let rec = |t: &str, o: Outcome, st: Status| record(t, o, st, 0.0, &[], 1.0, 0.0);
        let advice =
            |records: Vec<TrialRecord>, force_pass: bool, rerun: Option<crate::rerun::Rerun>| {
                let mut run = run_of(records);
                run.force_pass = force_pass;
                run.rerun = rerun;
                closing_advice(&run, &Summary::of(&run))
            };
        // Errors and must-pass failures: nothing to review.
        assert_eq!(
            advice(
                vec![
                    rec("s::a", Outcome::Error, Status::Error),
                    rec("s::b", Outcome::Fail, Status::MustPassFailure)
                ],
                false,
                None
            ),
            "2 trials fail the build.\n1 trial(s) could not be decided (errors are never snapshotted): fix the cause and run again.\n1 must-pass case(s) fail: they fail until the case passes again (accepting the snapshot does not help)."
        );
        // INSTA_FORCE_PASS: changed verdicts do not fail the build.
        assert_eq!(
            advice(
                vec![rec("s::a", Outcome::Fail, Status::Regression)],
                true,
                None
            ),
            "No trial fails the build.\n1 changed or new verdict(s) do not fail the build under INSTA_FORCE_PASS=1; review with `cargo insta review` (or `cargo insta accept`)."
        );
        // A project run by `tribunal test` is not told to use cargo.
        let cli = crate::rerun::Rerun::Tribunal { root: ".".into() };
        assert_eq!(
            advice(
                vec![rec("s::a", Outcome::Fail, Status::New)],
                false,
                Some(cli)
            ),
            "1 trial fails the build.\n1 changed or new verdict(s): accept after review with `INSTA_UPDATE=always tribunal test --root .` (the test output shows each diff; or rename the .snap.new over the .snap)."
        );
    }
}
