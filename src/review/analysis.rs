//! Error analysis over reviewed trials: failures as a cross-table of two
//! dimensions (tags `dimension:value`, such as `feature:returns` ×
//! `persona:new-user`), failure modes from the experts' tags ranked by
//! count with example critiques, and the failures as a list to export.
//!
//! A trial counts as failed when the expert labelled it `fail`; an
//! unlabelled trial counts by the run's outcome (`fail` or `error`), so the
//! table is useful before every trial is labelled. Each failure says which
//! of the two it came from.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::data::TrialView;
use crate::verdict::Outcome;

/// One failed trial.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The trial.
    pub id: String,
    /// `expert` (labelled fail) or `run` (unlabelled, failed in the run).
    pub by: &'static str,
    /// The expert's failure modes.
    pub modes: Vec<String>,
    /// The expert's critique (empty for `run`).
    pub critique: String,
    /// The case's tags.
    pub tags: Vec<String>,
}

/// A failure mode with its count and up to three example critiques.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mode {
    /// The tag.
    pub mode: String,
    /// Failures with it.
    pub count: usize,
    /// Share of the expert's failures.
    pub share: f64,
    /// Example critiques.
    pub examples: Vec<String>,
}

/// Failures of one cell of the cross-table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// Failed trials.
    pub failed: usize,
    /// All trials.
    pub total: usize,
}

/// The error analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The dimensions found in the tags (`feature`, `persona`, …).
    pub dimensions: Vec<String>,
    /// The rows' dimension.
    pub rows: Option<String>,
    /// The columns' dimension.
    pub cols: Option<String>,
    /// Row values, column values (`(none)` for trials without the dimension).
    pub row_values: Vec<String>,
    /// Column values.
    pub col_values: Vec<String>,
    /// `cells[row][col]`.
    pub cells: Vec<Vec<Cell>>,
    /// Failure modes, most frequent first.
    pub modes: Vec<Mode>,
    /// Every failure.
    pub failures: Vec<Failure>,
}

const NONE: &str = "(none)";

fn dim_value<'a>(tags: &'a [String], dim: &str) -> &'a str {
    tags.iter()
        .find_map(|t| t.split_once(':').filter(|(d, _)| *d == dim).map(|(_, v)| v))
        .unwrap_or(NONE)
}

fn failure_of(t: &TrialView) -> Option<Failure> {
    match &t.label {
        Some(l) if l.verdict == "fail" => Some(Failure {
            id: t.id.clone(),
            by: "expert",
            modes: l.tags.clone(),
            critique: l.critique.clone(),
            tags: t.tags.clone(),
        }),
        Some(_) => None,
        None => matches!(t.outcome, Outcome::Fail | Outcome::Error).then(|| Failure {
            id: t.id.clone(),
            by: "run",
            modes: Vec::new(),
            critique: String::new(),
            tags: t.tags.clone(),
        }),
    }
}

/// The analysis of `trials`, crossing `rows` × `cols` (default: the first
/// two dimensions found).
pub fn analyse(trials: &[TrialView], rows: Option<&str>, cols: Option<&str>) -> Analysis {
    let mut dimensions: Vec<String> = trials
        .iter()
        .flat_map(|t| t.tags.iter())
        .filter_map(|t| t.split_once(':').map(|(d, _)| d.to_string()))
        .collect();
    dimensions.sort();
    dimensions.dedup();
    let pick = |want: Option<&str>, skip: Option<&str>| -> Option<String> {
        match want {
            Some(w) if dimensions.iter().any(|d| d == w) => Some(w.to_string()),
            Some(_) => None,
            None => dimensions
                .iter()
                .find(|d| Some(d.as_str()) != skip)
                .cloned(),
        }
    };
    let rows = pick(rows, None);
    let cols = pick(cols, rows.as_deref());
    let failures: Vec<(usize, Failure)> = trials
        .iter()
        .enumerate()
        .filter_map(|(i, t)| failure_of(t).map(|f| (i, f)))
        .collect();
    let values = |dim: &Option<String>| -> Vec<String> {
        let mut v: Vec<String> = trials
            .iter()
            .map(|t| {
                dim.as_deref()
                    .map_or(NONE, |d| dim_value(&t.tags, d))
                    .to_string()
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let row_values = values(&rows);
    let col_values = values(&cols);
    let mut cells = vec![vec![Cell::default(); col_values.len()]; row_values.len()];
    let failed: std::collections::HashSet<usize> = failures.iter().map(|(i, _)| *i).collect();
    for (i, t) in trials.iter().enumerate() {
        let value = |dim: &Option<String>| dim.as_deref().map_or(NONE, |d| dim_value(&t.tags, d));
        let r = row_values.iter().position(|v| v == value(&rows));
        let c = col_values.iter().position(|v| v == value(&cols));
        if let (Some(r), Some(c)) = (r, c) {
            cells[r][c].total += 1;
            if failed.contains(&i) {
                cells[r][c].failed += 1;
            }
        }
    }
    let expert_failures = failures.iter().filter(|(_, f)| f.by == "expert").count();
    let mut by_mode: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for (_, f) in &failures {
        for m in &f.modes {
            let e = by_mode.entry(m.clone()).or_default();
            e.0 += 1;
            if e.1.len() < 3 && !f.critique.trim().is_empty() {
                e.1.push(f.critique.clone());
            }
        }
    }
    let mut modes: Vec<Mode> = by_mode
        .into_iter()
        .map(|(mode, (count, examples))| Mode {
            mode,
            count,
            share: if expert_failures == 0 {
                0.0
            } else {
                count as f64 / expert_failures as f64
            },
            examples,
        })
        .collect();
    modes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.mode.cmp(&b.mode)));
    Analysis {
        dimensions,
        rows,
        cols,
        row_values,
        col_values,
        cells,
        modes,
        failures: failures.into_iter().map(|(_, f)| f).collect(),
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

impl Analysis {
    /// The analysis as Markdown: the cross-table, the failure modes and
    /// the failures.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# Error analysis\n\n");
        if let (Some(r), Some(c)) = (&self.rows, &self.cols) {
            let _ = writeln!(out, "## Failures by {r} × {c}\n");
            let _ = write!(out, "| {r} \\ {c} |");
            for v in &self.col_values {
                let _ = write!(out, " {} |", md_cell(v));
            }
            out.push_str("\n|---|");
            out.push_str(&"---|".repeat(self.col_values.len()));
            out.push('\n');
            for (rv, row) in self.row_values.iter().zip(&self.cells) {
                let _ = write!(out, "| {} |", md_cell(rv));
                for cell in row {
                    let _ = write!(out, " {}/{} |", cell.failed, cell.total);
                }
                out.push('\n');
            }
            out.push('\n');
        }
        out.push_str(
            "## Failure modes\n\n| mode | count | share | example critique |\n|---|---|---|---|\n",
        );
        for m in &self.modes {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0}% | {} |",
                md_cell(&m.mode),
                m.count,
                m.share * 100.0,
                md_cell(m.examples.first().map_or("", String::as_str))
            );
        }
        out.push_str("\n## Failures\n\n| trial | by | modes | critique |\n|---|---|---|---|\n");
        for f in &self.failures {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                md_cell(&f.id),
                f.by,
                md_cell(&f.modes.join(", ")),
                md_cell(&f.critique)
            );
        }
        out
    }

    /// The failures as CSV (RFC 4180 quoting): trial, by, modes, tags, critique.
    pub fn csv(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let mut out = String::from("trial,by,modes,tags,critique\r\n");
        for f in &self.failures {
            let _ = write!(
                out,
                "{},{},{},{},{}\r\n",
                q(&f.id),
                f.by,
                q(&f.modes.join(";")),
                q(&f.tags.join(";")),
                q(&f.critique)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::data::LabelView;

    fn trial(
        id: &str,
        tags: &[&str],
        outcome: Outcome,
        label: Option<(&str, &[&str], &str)>,
    ) -> TrialView {
        TrialView {
            id: id.into(),
            suite: "s".into(),
            case: id.into(),
            variant: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            outcome,
            description: None,
            input: String::new(),
            expected: None,
            output: None,
            error: None,
            output_sha256: String::new(),
            checks: Vec::new(),
            label: label.map(|(v, modes, critique)| LabelView {
                verdict: if v == "pass" { "pass" } else { "fail" },
                critique: critique.into(),
                tags: modes.iter().map(|t| t.to_string()).collect(),
                labeller: "dana".into(),
                date: "2026-12-01".into(),
                stale: false,
                few_shot: false,
            }),
            judges: None,
            has_judges: false,
            disagrees: false,
        }
    }

    #[test]
    fn cross_table_modes_and_exports() {
        let trials = vec![
            trial(
                "a",
                &["feature:returns", "persona:new"],
                Outcome::Pass,
                Some(("fail", &["tone", "policy"], "Cold, \"wrong\" window.")),
            ),
            trial(
                "b",
                &["feature:returns", "persona:pro"],
                Outcome::Fail,
                Some(("fail", &["policy"], "Says 60 days.")),
            ),
            trial("c", &["feature:orders", "persona:new"], Outcome::Fail, None),
            trial(
                "d",
                &["feature:orders", "persona:pro"],
                Outcome::Fail,
                Some(("pass", &[], "Fine.")),
            ),
            trial("e", &["feature:orders"], Outcome::Pass, None),
        ];
        let a = analyse(&trials, None, None);
        assert_eq!(a.rows.as_deref(), Some("feature"));
        assert_eq!(a.cols.as_deref(), Some("persona"));
        assert_eq!(a.row_values, ["orders", "returns"]);
        assert_eq!(a.col_values, ["(none)", "new", "pro"]);
        let cells: Vec<Vec<(usize, usize)>> = a
            .cells
            .iter()
            .map(|r| r.iter().map(|c| (c.failed, c.total)).collect())
            .collect();
        assert_eq!(cells, [[(0, 1), (1, 1), (0, 1)], [(0, 0), (1, 1), (1, 1)]]);
        assert_eq!(a.modes[0].mode, "policy");
        assert_eq!(a.modes[0].count, 2);
        assert!((a.modes[0].share - 1.0).abs() < 1e-12);
        assert_eq!(
            a.failures.iter().map(|f| f.by).collect::<Vec<_>>(),
            ["expert", "expert", "run"]
        );
        insta::assert_snapshot!(a.csv().replace("\r\n", "\n"), @r#"
        trial,by,modes,tags,critique
        "a",expert,"tone;policy","feature:returns;persona:new","Cold, ""wrong"" window."
        "b",expert,"policy","feature:returns;persona:pro","Says 60 days."
        "c",run,"","feature:orders;persona:new",""
        "#);
        insta::assert_snapshot!(a.markdown(), @r#"
        # Error analysis

        ## Failures by feature × persona

        | feature \ persona | (none) | new | pro |
        |---|---|---|---|
        | orders | 0/1 | 1/1 | 0/1 |
        | returns | 0/0 | 1/1 | 1/1 |

        ## Failure modes

        | mode | count | share | example critique |
        |---|---|---|---|
        | policy | 2 | 100% | Cold, "wrong" window. |
        | tone | 1 | 50% | Cold, "wrong" window. |

        ## Failures

        | trial | by | modes | critique |
        |---|---|---|---|
        | a | expert | tone, policy | Cold, "wrong" window. |
        | b | expert | policy | Says 60 days. |
        | c | run |  |  |
        "#);
        let other = analyse(&trials, Some("persona"), Some("nope"));
        assert_eq!(other.rows.as_deref(), Some("persona"));
        assert_eq!(other.cols, None, "an unknown dimension is not guessed");
    }
}
