//! Error analysis: where a run fails, by two tag dimensions, and why, by
//! the failing check.
//!
//! - **Cross-tab.** Tags of the form `key:value` are dimensions
//!   (`feature:refunds`, `persona:new-user`). The failures of the run
//!   (trials whose outcome is `fail` or `error`; skipped trials are not
//!   counted) are counted per pair of values of two dimensions: the two
//!   given (`tribunal report --by feature,persona`), else the two tag keys
//!   of the run when it has exactly two. A trial with two values of one key
//!   counts under each; a trial without a value on either key is counted
//!   as untagged.
//! - **Failure modes.** Every failing check of a failing trial is grouped
//!   under its check (`judge no invented offers`, `contains "30 days"`),
//!   largest group first, with the critiques (or reasons) it gave, so the
//!   recurring ways a system fails read as a list rather than one trial at
//!   a time.
//! - **Failure modes experts gave.** Outputs an expert labelled `fail`
//!   with failure-mode tags (`tags:` of a label, given in `tribunal
//!   review`) are grouped by tag, largest first, with the expert's
//!   critiques. Only labels about the very output judged count (a stale
//!   label does not); one output counts once per tag.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::error::ReportError;
use super::results::RunResults;
use super::summary::counted;
use crate::verdict::{Outcome, TrialRecord};

/// How reports are drawn beyond their defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportView {
    /// The two tag keys to cross-tabulate failures by (default: the run's
    /// two tag keys, when it has exactly two).
    pub by: Option<(String, String)>,
    /// Trends over runs include runs that evaluated only a subset.
    pub include_subsets: bool,
}

/// Failures and trials of one cell of the cross-tab.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// Trials that failed (`fail` or `error`).
    pub failed: u64,
    /// Trials counted.
    pub n: u64,
}

/// Failures counted by the values of two tag keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossTab {
    /// The key of the rows (`feature`).
    pub row_key: String,
    /// The key of the columns (`persona`).
    pub col_key: String,
    /// Row values, sorted.
    pub rows: Vec<String>,
    /// Column values, sorted.
    pub cols: Vec<String>,
    /// `cells[row][col]`.
    pub cells: Vec<Vec<Cell>>,
    /// Totals per row.
    pub row_totals: Vec<Cell>,
    /// Totals per column.
    pub col_totals: Vec<Cell>,
    /// Every trial in the table, once.
    pub total: Cell,
    /// Counted trials without a value on one of the keys (not in the table).
    pub untagged: Cell,
    /// How the keys were chosen: `--by`, or the run's only two tag keys.
    pub chosen_by_flag: bool,
}

/// One failing check and what it said, over the trials it failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureMode {
    /// The check's name (`judge no invented offers`).
    pub check: String,
    /// The check kind.
    pub kind: String,
    /// The trials it failed (or errored) on, in run order.
    pub trials: Vec<String>,
    /// Each trial's critique (judges) or reason, aligned with `trials`.
    pub critiques: Vec<String>,
}

/// The error analysis of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorAnalysis {
    /// Trials counted (not skipped).
    pub counted: usize,
    /// Of which failed.
    pub failed: usize,
    /// The cross-tab, when two dimensions were given or found.
    pub cross_tab: Option<CrossTab>,
    /// Why there is no cross-tab (when there is none).
    pub no_cross_tab: Option<String>,
    /// Failing checks grouped, largest first.
    pub modes: Vec<FailureMode>,
    /// Outputs experts failed, grouped by the failure-mode tags they gave
    /// (`check` is the tag, `kind` is `expert`), largest first.
    pub expert_modes: Vec<FailureMode>,
}

fn failed(r: &TrialRecord) -> bool {
    matches!(r.verdict.outcome, Outcome::Fail | Outcome::Error)
}

/// The values of tag key `key` on a trial (`feature:refunds` → `refunds`).
fn values<'a>(r: &'a TrialRecord, key: &str) -> Vec<&'a str> {
    r.verdict
        .tags
        .iter()
        .filter_map(|t| t.split_once(':'))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .collect()
}

/// The tag keys (`feature` of `feature:refunds`) of the counted trials, sorted.
pub fn tag_keys(run: &RunResults) -> Vec<String> {
    let keys: BTreeSet<&str> = run
        .records
        .iter()
        .filter(|r| counted(r))
        .flat_map(|r| r.verdict.tags.iter())
        .filter_map(|t| t.split_once(':').map(|(k, _)| k))
        .filter(|k| !k.is_empty())
        .collect();
    keys.into_iter().map(str::to_string).collect()
}

/// Parses `--by KEY,KEY`.
pub fn parse_by(text: &str) -> Result<(String, String), String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [a, b] if !a.is_empty() && !b.is_empty() && a != b => Ok((a.to_string(), b.to_string())),
        [a, b] if a == b && !a.is_empty() => Err(format!(
            "`{text}` names the tag key `{a}` twice (hint: give two different keys, e.g. `--by feature,persona`)"
        )),
        _ => Err(format!(
            "`{text}` is not two tag keys (hint: write two keys of `key:value` tags separated by a comma, e.g. `--by feature,persona`)"
        )),
    }
}

/// The error analysis of `run`, cross-tabulated by `view.by` (checked
/// against the run's tag keys: a key no trial has is an error naming the
/// keys it has) or by the run's two tag keys.
pub fn analyse(run: &RunResults, view: &ReportView) -> Result<ErrorAnalysis, ReportError> {
    let live: Vec<&TrialRecord> = run.records.iter().filter(|r| counted(r)).collect();
    let keys = tag_keys(run);
    let (dims, by_flag, no_cross_tab) = match &view.by {
        Some((a, b)) => {
            for k in [a, b] {
                if !keys.contains(k) {
                    return Err(ReportError::Config(format!(
                        "--by {a},{b}: no trial of this run has a `{k}:` tag (hint: its tag keys are {})",
                        if keys.is_empty() {
                            "none: tag cases like `tags: [feature:refunds, persona:new-user]`"
                                .into()
                        } else {
                            keys.iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    )));
                }
            }
            (Some((a.clone(), b.clone())), true, None)
        }
        None if keys.len() == 2 => (Some((keys[0].clone(), keys[1].clone())), false, None),
        None => (
            None,
            false,
            Some(match keys.len() {
                0 => "no `key:value` tags in this run".to_string(),
                1 => format!("one tag key in this run (`{}`)", keys[0]),
                n => format!(
                    "{n} tag keys in this run ({}): choose two with `tribunal report --by KEY,KEY`",
                    keys.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        ),
    };
    let cross_tab = dims.map(|(rk, ck)| cross_tab(&live, rk, ck, by_flag));
    Ok(ErrorAnalysis {
        counted: live.len(),
        failed: live.iter().filter(|r| failed(r)).count(),
        cross_tab,
        no_cross_tab,
        modes: modes(&live),
        expert_modes: expert_modes(&live),
    })
}

fn expert_modes(live: &[&TrialRecord]) -> Vec<FailureMode> {
    let mut out: Vec<FailureMode> = Vec::new();
    for r in live {
        // One label per output: the first fresh, failed, tagged label of
        // the trial's judge results.
        let Some(h) = r
            .verdict
            .checks
            .iter()
            .filter_map(|c| c.human.as_ref())
            .find(|h| h.fresh && !h.pass && !h.tags.is_empty())
        else {
            continue;
        };
        let mut tags: Vec<&String> = h.tags.iter().collect();
        tags.sort();
        tags.dedup();
        for tag in tags {
            let text = if h.critique.trim().is_empty() {
                "(no critique)".to_string()
            } else {
                h.critique.clone()
            };
            match out.iter_mut().find(|m| &m.check == tag) {
                Some(m) => {
                    m.trials.push(r.verdict.trial.clone());
                    m.critiques.push(text);
                }
                None => out.push(FailureMode {
                    check: tag.clone(),
                    kind: "expert".into(),
                    trials: vec![r.verdict.trial.clone()],
                    critiques: vec![text],
                }),
            }
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.trials.len()));
    out
}

fn cross_tab(live: &[&TrialRecord], row_key: String, col_key: String, by_flag: bool) -> CrossTab {
    let mut rows = BTreeSet::new();
    let mut cols = BTreeSet::new();
    // Only trials with a value on both keys are in the table.
    for r in live {
        let (rv, cv) = (values(r, &row_key), values(r, &col_key));
        if !rv.is_empty() && !cv.is_empty() {
            rows.extend(rv);
            cols.extend(cv);
        }
    }
    let rows: Vec<String> = rows.into_iter().map(str::to_string).collect();
    let cols: Vec<String> = cols.into_iter().map(str::to_string).collect();
    let mut cells = vec![vec![Cell::default(); cols.len()]; rows.len()];
    let mut row_totals = vec![Cell::default(); rows.len()];
    let mut col_totals = vec![Cell::default(); cols.len()];
    let mut untagged = Cell::default();
    let mut total = Cell::default();
    let add = |c: &mut Cell, f: bool| {
        c.n += 1;
        c.failed += u64::from(f);
    };
    for r in live {
        let f = failed(r);
        let (rv, cv) = (values(r, &row_key), values(r, &col_key));
        if rv.is_empty() || cv.is_empty() {
            add(&mut untagged, f);
            continue;
        }
        add(&mut total, f);
        for v in &rv {
            let i = rows.iter().position(|x| x == v).unwrap_or(0);
            add(&mut row_totals[i], f);
            for w in &cv {
                let j = cols.iter().position(|x| x == w).unwrap_or(0);
                add(&mut cells[i][j], f);
            }
        }
        for w in &cv {
            let j = cols.iter().position(|x| x == w).unwrap_or(0);
            add(&mut col_totals[j], f);
        }
    }
    CrossTab {
        row_key,
        col_key,
        rows,
        cols,
        cells,
        row_totals,
        col_totals,
        total,
        untagged,
        chosen_by_flag: by_flag,
    }
}

fn modes(live: &[&TrialRecord]) -> Vec<FailureMode> {
    let mut out: Vec<FailureMode> = Vec::new();
    for r in live.iter().filter(|r| failed(r)) {
        for c in r
            .verdict
            .checks
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Error))
        {
            let text = c
                .critique
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or(&c.reason);
            let text = crate::text::one_line(text, 300);
            match out
                .iter_mut()
                .find(|m| m.check == c.name && m.kind == c.kind)
            {
                Some(m) => {
                    m.trials.push(r.verdict.trial.clone());
                    m.critiques.push(text);
                }
                None => out.push(FailureMode {
                    check: c.name.clone(),
                    kind: c.kind.clone(),
                    trials: vec![r.verdict.trial.clone()],
                    critiques: vec![text],
                }),
            }
        }
    }
    // Largest first; equal sizes keep run order (the sort is stable).
    out.sort_by_key(|m| std::cmp::Reverse(m.trials.len()));
    out
}

/// `3/10` with the share: `3/10 (30%)`; `–` for an empty cell.
pub fn fmt_cell(c: &Cell) -> String {
    if c.n == 0 {
        "–".into()
    } else {
        format!(
            "{}/{} ({:.0}%)",
            c.failed,
            c.n,
            100.0 * c.failed as f64 / c.n as f64
        )
    }
}

/// How many critiques each failure mode lists in reports.
pub const CRITIQUES_SHOWN: usize = 3;

/// The error analysis as plain text, for the terminal.
pub fn terminal(a: &ErrorAnalysis) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nerror analysis: {} of {} trials fail",
        a.failed, a.counted
    );
    match &a.cross_tab {
        Some(t) => {
            let _ = writeln!(out, "  failures by {} × {}:", t.row_key, t.col_key);
            let w0 = t
                .rows
                .iter()
                .map(|r| r.chars().count())
                .chain([t.row_key.chars().count(), 5])
                .max()
                .unwrap_or(5);
            let cells: Vec<Vec<String>> = t
                .cells
                .iter()
                .zip(&t.row_totals)
                .map(|(row, tot)| row.iter().chain([tot]).map(fmt_cell).collect())
                .collect();
            let totals: Vec<String> = t
                .col_totals
                .iter()
                .chain([&t.total])
                .map(fmt_cell)
                .collect();
            let mut widths: Vec<usize> = t
                .cols
                .iter()
                .map(|c| c.chars().count())
                .chain([5])
                .collect();
            for row in cells.iter().chain([&totals]) {
                for (i, c) in row.iter().enumerate() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
            let mut line = format!("    {:<w0$}", t.row_key);
            for (c, w) in t.cols.iter().zip(&widths) {
                let _ = write!(line, "  {c:>w$}");
            }
            let _ = writeln!(out, "{line}  {:>w$}", "total", w = widths[t.cols.len()]);
            for (r, row) in t.rows.iter().zip(&cells) {
                let mut line = format!("    {r:<w0$}");
                for (c, w) in row.iter().zip(&widths) {
                    let _ = write!(line, "  {c:>w$}");
                }
                let _ = writeln!(out, "{line}");
            }
            let mut line = format!("    {:<w0$}", "total");
            for (c, w) in totals.iter().zip(&widths) {
                let _ = write!(line, "  {c:>w$}");
            }
            let _ = writeln!(out, "{line}");
            if t.untagged.n > 0 {
                let _ = writeln!(out, "    not tagged with both: {}", fmt_cell(&t.untagged));
            }
        }
        None => {
            if let Some(why) = &a.no_cross_tab {
                let _ = writeln!(out, "  no cross-tab: {why}");
            }
        }
    }
    for (title, modes) in [
        ("failing checks", &a.modes),
        ("failure modes experts gave", &a.expert_modes),
    ] {
        if modes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title}:");
        for m in modes {
            let _ = writeln!(out, "    {} × {} ({})", m.trials.len(), m.check, m.kind);
            for (t, c) in m.trials.iter().zip(&m.critiques).take(CRITIQUES_SHOWN) {
                let _ = writeln!(out, "      {t}: {c}");
            }
            if m.trials.len() > CRITIQUES_SHOWN {
                let _ = writeln!(out, "      … and {} more", m.trials.len() - CRITIQUES_SHOWN);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample::record;
    use crate::verdict::Status;

    fn run(records: Vec<TrialRecord>) -> RunResults {
        let mut r = crate::report::sample::run(0, 1.0, 1);
        r.records = records;
        r
    }

    fn rec(name: &str, pass: bool, tags: &[&str]) -> TrialRecord {
        let (o, s) = if pass {
            (Outcome::Pass, Status::Pass)
        } else {
            (Outcome::Fail, Status::KnownFailure)
        };
        record(name, o, s, 0.0, tags, 1.0, 0.0)
    }

    #[test]
    fn cross_tabulates_by_the_only_two_keys() {
        let run = run(vec![
            rec("s::a", false, &["feature:refunds", "persona:new"]),
            rec("s::b", true, &["feature:refunds", "persona:new"]),
            rec("s::c", false, &["feature:refunds", "persona:admin"]),
            rec("s::d", true, &["feature:billing", "persona:admin"]),
            rec("s::e", false, &["feature:billing"]),
            record(
                "s::f",
                Outcome::Skipped,
                Status::Skipped,
                0.0,
                &["feature:x", "persona:y"],
                0.0,
                0.0,
            ),
        ]);
        let a = analyse(&run, &ReportView::default()).expect("analysis");
        assert_eq!((a.counted, a.failed), (5, 3));
        let t = a.cross_tab.expect("two keys");
        assert_eq!(
            (t.row_key.as_str(), t.col_key.as_str()),
            ("feature", "persona")
        );
        assert_eq!(t.rows, ["billing", "refunds"]);
        assert_eq!(t.cols, ["admin", "new"]);
        let c = |failed, n| Cell { failed, n };
        assert_eq!(t.cells, [[c(0, 1), c(0, 0)], [c(1, 1), c(1, 2)]]);
        assert_eq!(t.row_totals, [c(0, 1), c(2, 3)]);
        assert_eq!(t.col_totals, [c(1, 2), c(1, 2)]);
        assert_eq!(t.total, c(2, 4));
        assert_eq!(t.untagged, c(1, 1));
        // Every failure is the sample's judge; grouped once, three trials.
        assert_eq!(a.modes.len(), 1);
        assert_eq!(a.modes[0].trials, ["s::a", "s::c", "s::e"]);
        assert!(a.modes[0].critiques[0].starts_with("The reply promises a refund"));
    }

    #[test]
    fn by_names_the_keys_and_a_missing_key_is_an_error() {
        let run = run(vec![rec(
            "s::a",
            false,
            &["feature:x", "persona:y", "locale:fr"],
        )]);
        let a = analyse(&run, &ReportView::default()).expect("analysis");
        assert!(a.cross_tab.is_none());
        assert_eq!(
            a.no_cross_tab.as_deref(),
            Some(
                "3 tag keys in this run (`feature`, `locale`, `persona`): choose two with `tribunal report --by KEY,KEY`"
            )
        );
        let view = ReportView {
            by: Some(("locale".into(), "feature".into())),
            ..ReportView::default()
        };
        let t = analyse(&run, &view)
            .expect("analysis")
            .cross_tab
            .expect("by");
        assert_eq!(
            (t.rows.as_slice(), t.cols.as_slice()),
            (&["fr".to_string()][..], &["x".to_string()][..])
        );
        assert!(t.chosen_by_flag);
        let view = ReportView {
            by: Some(("feature".into(), "team".into())),
            ..ReportView::default()
        };
        let e = analyse(&run, &view).expect_err("no team tag").to_string();
        assert_eq!(
            e,
            "--by feature,team: no trial of this run has a `team:` tag (hint: its tag keys are `feature`, `locale`, `persona`)"
        );
        assert_eq!(
            parse_by("feature, persona"),
            Ok(("feature".into(), "persona".into()))
        );
        assert!(
            parse_by("feature")
                .expect_err("one")
                .contains("is not two tag keys")
        );
        assert!(parse_by("a,a").expect_err("twice").contains("twice"));
    }
    #[test]
    fn expert_failure_modes_group_fresh_failed_labels_by_tag() {
        use crate::verdict::HumanLabel;
        let label = |pass: bool, fresh: bool, tags: &[&str], critique: &str| HumanLabel {
            pass,
            fresh,
            few_shot: false,
            date: "2026-12-01".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            critique: critique.into(),
        };
        let labelled = |name: &str, pass_run: bool, h: HumanLabel| {
            let mut r = rec(name, pass_run, &[]);
            r.verdict.checks[0].human = Some(h);
            r
        };
        let run = run(vec![
            labelled(
                "s::a",
                false,
                label(
                    false,
                    true,
                    &["invented-policy", "tone"],
                    "Promises a refund.",
                ),
            ),
            labelled(
                "s::b",
                true,
                label(false, true, &["invented-policy", "invented-policy"], ""),
            ),
            // A stale label, a pass and an untagged fail are not failure modes.
            labelled("s::c", false, label(false, false, &["tone"], "old output")),
            labelled("s::d", true, label(true, true, &["tone"], "fine")),
            labelled("s::e", false, label(false, true, &[], "no tag")),
        ]);
        let a = analyse(&run, &ReportView::default()).expect("analysis");
        let got: Vec<(&str, &str, Vec<&str>, Vec<&str>)> = a
            .expert_modes
            .iter()
            .map(|m| {
                (
                    m.check.as_str(),
                    m.kind.as_str(),
                    m.trials.iter().map(String::as_str).collect(),
                    m.critiques.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "invented-policy",
                    "expert",
                    vec!["s::a", "s::b"],
                    vec!["Promises a refund.", "(no critique)"]
                ),
                ("tone", "expert", vec!["s::a"], vec!["Promises a refund."]),
            ]
        );
        let text = terminal(&a);
        assert!(
            text.contains("  failure modes experts gave:\n    2 × invented-policy (expert)\n      s::a: Promises a refund.\n      s::b: (no critique)\n"),
            "{text}"
        );
    }
}
