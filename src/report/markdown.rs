//! The Markdown summary: for `$GITHUB_STEP_SUMMARY`, PR comments and
//! `tribunal compare`.

use std::fmt::Write as _;

use super::analysis::{CRITIQUES_SHOWN, ErrorAnalysis, ReportView, analyse, fmt_cell};
use super::compare::{Comparison, Paired, VariantMatrix, VariantReport};
use super::gate::GateReport;
use super::results::RunResults;
use super::stats::PMethod;
use super::summary::{Summary, failure_reason, fmt_ms, fmt_prop, status_name};
use crate::verdict::Status;

/// Escapes text for a Markdown table cell.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn p_fmt(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "n/a".into())
}

/// The Markdown summary of one run: totals, per-tag table, failures by
/// section (regressions first) with reason and location, the variant
/// matrices of suites with variants, and the error analysis.
pub fn run_summary(run: &RunResults) -> String {
    run_summary_with(run, &ReportView::default())
}

/// [`run_summary`] drawn as `view` says (the error analysis's dimensions).
pub fn run_summary_with(run: &RunResults, view: &ReportView) -> String {
    let s = Summary::of(run);
    let mut out = String::new();
    let icon = if super::summary::failing_the_build(run, &s) == 0 {
        "✅"
    } else {
        "❌"
    };
    let _ = writeln!(
        out,
        "## {icon} tribunal evals: {}
",
        crate::text::count(s.total, "trial")
    );
    let commit = run
        .short_commit()
        .map(|c| format!(" · commit `{c}`"))
        .unwrap_or_default();
    let _ = writeln!(out, "Run `{}`{commit} · {}\n", run.run_id, run.started_at);
    let _ = writeln!(
        out,
        "| pass rate (95% CI) | mean score | failing the build | cost | latency p50 / p95 |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | ${:.4} | {} / {} |\n",
        fmt_prop(&s.pass),
        opt(s.mean_score, |m| format!("{m:.2}")),
        s.failing,
        s.cost_usd,
        fmt_ms(s.latency_p50),
        fmt_ms(s.latency_p95)
    );
    let counts: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| format!("{v} {}", k.replace('_', " ")))
        .collect();
    let _ = writeln!(out, "{}\n", counts.join(" · "));
    if let Some(spend) = &run.spend
        && spend.replayed_calls + spend.live_calls > 0
    {
        let _ = writeln!(out, "{}\n", cell(&spend.line()));
    }
    if !s.by_tag.is_empty() {
        let _ = writeln!(out, "<details><summary>Pass rate by tag</summary>\n");
        let _ = writeln!(out, "| tag | passed | pass rate (95% CI) | mean score |");
        let _ = writeln!(out, "|---|---|---|---|");
        for t in &s.by_tag {
            let _ = writeln!(
                out,
                "| `{}` | {}/{} | {} | {} |",
                cell(&t.name),
                t.pass.successes,
                t.pass.n,
                fmt_prop(&t.pass),
                opt(t.mean_score, |m| format!("{m:.2}"))
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    for note in super::summary::length_bias_notes(run) {
        let _ = writeln!(out, "> {}\n", cell(&note));
    }
    out.push_str(&super::calibration::markdown(run));
    out.push_str(&super::canaries::markdown(run));
    for section in super::sections::sections(run) {
        let items = &section.records;
        let open = if section.fails_build { " open" } else { "" };
        let _ = writeln!(
            out,
            "<details{open}><summary><b>{} ({})</b></summary>\n",
            section.title,
            items.len()
        );
        let _ = writeln!(out, "| trial | why | where |");
        let _ = writeln!(out, "|---|---|---|");
        for r in items.iter().take(50) {
            let _ = writeln!(
                out,
                "| `{}` | {} | `{}` |",
                cell(&r.verdict.trial),
                cell(&with_calls(
                    r,
                    crate::text::one_line(&failure_reason(r), 200)
                )),
                cell(&r.verdict.failure_location().to_string())
            );
        }
        if items.len() > 50 {
            let _ = writeln!(
                out,
                "\n… and {} more (see the HTML report)",
                items.len() - 50
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    let advice = super::summary::closing_advice(run, &s);
    if advice != "No trial fails the build." {
        let _ = writeln!(out, "{}\n", advice.replace('\n', "  \n"));
    }
    let variants = super::compare::variant_matrix(run, None);
    if !variants.is_empty() {
        out.push_str(&matrix(&variants));
    }
    match analyse(run, view) {
        Ok(a) => out.push_str(&error_analysis(&a)),
        Err(e) => {
            let _ = writeln!(out, "> error analysis: {}\n", cell(&e.to_string()));
        }
    }
    out
}

fn paired_row(name: &str, p: &Paired) -> String {
    let w = &p.wilcoxon;
    let method = match w.method {
        PMethod::Exact => "exact",
        PMethod::Normal => "normal",
    };
    format!(
        "| {} | {} | {} | {} | {} ({}↓ {}↑) | {} | {} ({method}, n={}) |",
        name,
        fmt_prop(&p.base),
        fmt_prop(&p.head),
        opt(p.delta, |d| format!("{:+.1} pp", d * 100.0)),
        p_fmt(p.mcnemar.p_value),
        p.mcnemar.pass_to_fail,
        p.mcnemar.fail_to_pass,
        match (p.base_mean_score, p.head_mean_score) {
            (Some(b), Some(h)) => format!("{b:.2} → {h:.2}"),
            _ => "n/a".into(),
        },
        p_fmt(w.p_value),
        w.n
    )
}

/// The Markdown of a comparison (and of its gates, when given).
pub fn comparison(c: &Comparison, gates: Option<&GateReport>) -> String {
    let mut out = String::new();
    let regressions = c.flipped.iter().filter(|f| f.is_regression()).count();
    let icon = match gates {
        Some(g) if !g.failures.is_empty() => "❌",
        _ if regressions > 0 => "⚠️",
        _ => "✅",
    };
    let label = |id: &str, commit: &Option<String>| match commit {
        Some(c) => format!("`{id}` (`{c}`)"),
        None => format!("`{id}`"),
    };
    let _ = writeln!(
        out,
        "## {icon} tribunal compare: {} → {}\n",
        label(&c.base_id, &c.base_commit),
        label(&c.head_id, &c.head_commit)
    );
    let _ = writeln!(
        out,
        "{} paired trials · {} flipped ({regressions} pass→fail) · {} only in base · {} only in head\n",
        c.overall.pairs,
        c.flipped.len(),
        c.only_in_base.len(),
        c.only_in_head.len()
    );
    let _ = writeln!(
        out,
        "| | base pass rate | head pass rate | change | McNemar exact p (regressed/improved) | mean score | Wilcoxon p |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let _ = writeln!(out, "{}", paired_row("**overall**", &c.overall));
    for t in &c.by_tag {
        let _ = writeln!(
            out,
            "{}",
            paired_row(&format!("`{}`", cell(&t.tag)), &t.paired)
        );
    }
    let _ = writeln!(out, "\n| | base p50 | head p50 | base p95 | head p95 |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    let l = &c.latency_ms;
    let _ = writeln!(
        out,
        "| latency | {} | {} | {} | {} |",
        fmt_ms(l.base_p50),
        fmt_ms(l.head_p50),
        fmt_ms(l.base_p95),
        fmt_ms(l.head_p95)
    );
    let k = &c.cost_usd;
    let usd = |v: Option<f64>| opt(v, |x| format!("${x:.5}"));
    let _ = writeln!(
        out,
        "| cost per trial | {} | {} | {} | {} |",
        usd(k.base_p50),
        usd(k.head_p50),
        usd(k.base_p95),
        usd(k.head_p95)
    );
    let _ = writeln!(
        out,
        "\nTotal cost of paired trials: ${:.4} → ${:.4}\n",
        c.total_cost_usd.0, c.total_cost_usd.1
    );
    if !c.flipped.is_empty() {
        let _ = writeln!(
            out,
            "<details open><summary><b>Flipped trials ({})</b></summary>\n",
            c.flipped.len()
        );
        let _ = writeln!(out, "| trial | base | head | score | where |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for f in c.flipped.iter().take(50) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {:.2} → {:.2} | `{}` |",
                cell(&f.trial),
                f.base,
                f.head,
                f.base_score,
                f.head_score,
                cell(&f.location)
            );
        }
        if c.flipped.len() > 50 {
            let _ = writeln!(out, "\n… and {} more", c.flipped.len() - 50);
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    out.push_str(&c.calibration.markdown());
    if let Some(g) = gates {
        let _ = writeln!(out, "### Gates\n");
        for f in &g.failures {
            let _ = writeln!(out, "- ❌ {f}");
        }
        for p in &g.passed {
            let _ = writeln!(out, "- ✅ {p}");
        }
        out.push('\n');
    }
    out
}

/// The variant matrices as Markdown (Segment's model comparison table, seed
/// 000): per suite, a model × prompt grid of the mean judge score when the
/// suite's matrix has two axes, then one row per variant with n, mean score
/// per score judge (95% CI), pass rate (95% CI), latency, tokens, cost and
/// the paired tests against the baseline; the best marked only where it is
/// significantly better. Suites without variants are named, not mixed in.
pub fn matrix(report: &VariantReport) -> String {
    let mut out = String::new();
    if report.matrices.is_empty() {
        out.push_str("### Variants\n\nNo suite in this run has more than one variant.\n\n");
        return out;
    }
    for m in &report.matrices {
        let _ = writeln!(out, "### Variants of `{}`\n", cell(&m.suite));
        if m.axes.len() == 2 {
            grid(&mut out, m);
        }
        let mut head = String::from("| variant | n |");
        for j in &m.judges {
            let _ = write!(head, " `{}` mean (95% CI) |", cell(j));
        }
        head.push_str(" pass rate (95% CI) | latency p50 / p95 | tokens / trial | cost / trial | vs baseline |");
        let cols = 7 + m.judges.len();
        let _ = writeln!(out, "{head}\n|{}", "---|".repeat(cols));
        for r in &m.rows {
            let name = if r.best {
                format!("**`{}`** ★", cell(&r.variant))
            } else {
                format!("`{}`", cell(&r.variant))
            };
            let mut line = format!("| {name} | {} |", r.n);
            for i in 0..r.scores.len() {
                let _ = write!(line, " {} |", r.score_text(i));
            }
            let pass_mark = match &r.vs_baseline {
                Some(v) if v.better => " ▲",
                Some(v) if v.worse => " ▼",
                _ => "",
            };
            let _ = writeln!(
                out,
                "{line} {}{pass_mark} | {} / {} | {} | {} | {} |",
                fmt_prop(&r.pass),
                fmt_ms(r.latency_p50),
                fmt_ms(r.latency_p95),
                opt(r.mean_tokens, |t| format!("{t:.0}")),
                opt(r.mean_cost_usd, |c| format!("${c:.5}")),
                cell(&r.vs_text(&m.judges))
            );
        }
        let _ = writeln!(out, "\n{}\n", m.legend());
    }
    if !report.excluded.is_empty() {
        let parts: Vec<String> = report
            .excluded
            .iter()
            .map(|(s, n)| format!("`{}` ({})", cell(s), crate::text::count(*n, "trial")))
            .collect();
        let _ = writeln!(
            out,
            "Not in a variant matrix (no variants, or only one): {}.\n",
            parts.join(", ")
        );
    }
    out
}

/// The model × prompt grid of a two-axis matrix: the first score judge's
/// mean (or the pass rate, without one) per cell.
fn grid(out: &mut String, m: &VariantMatrix) {
    let (rows, cols) = (m.axis_values(0), m.axis_values(1));
    let what = match m.judges.first() {
        Some(j) => {
            let scale = m
                .rows
                .iter()
                .find_map(|r| r.scores.first().and_then(|s| s.scale_max))
                .map(|max| format!(" (1–{max})"))
                .unwrap_or_default();
            format!("Mean `{}` judge score{scale}", cell(j))
        }
        None => "Pass rate".to_string(),
    };
    let _ = writeln!(
        out,
        "{what} by {} × {} (95% CI, n cases):\n",
        cell(&m.axes[0]),
        cell(&m.axes[1])
    );
    let mut head = format!("| {} ↓ · {} → |", cell(&m.axes[0]), cell(&m.axes[1]));
    for c in &cols {
        let _ = write!(head, " `{}` |", cell(c));
    }
    let _ = writeln!(out, "{head}\n|{}", "---|".repeat(cols.len() + 1));
    for r in &rows {
        let mut line = format!("| `{}` |", cell(r));
        for c in &cols {
            let text = match m.cell(r, c) {
                None => "—".to_string(),
                Some(v) => {
                    let value = match v.scores.first() {
                        Some(_) => v.score_text(0),
                        None => format!("{}{}", fmt_prop(&v.pass), if v.best { " ★" } else { "" }),
                    };
                    let base = if v.vs_baseline.is_none() {
                        " · baseline"
                    } else {
                        ""
                    };
                    format!("{value} · n={}{base}", v.n)
                }
            };
            let _ = write!(line, " {} |", cell(&text));
        }
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
}

/// The error analysis as Markdown: failures cross-tabulated by two tag
/// dimensions and the failing checks with their critiques (nothing when
/// no trial fails).
pub fn error_analysis(a: &ErrorAnalysis) -> String {
    let mut out = String::new();
    if a.failed == 0 {
        return out;
    }
    let _ = writeln!(
        out,
        "### Error analysis\n\n{} of {} fail.\n",
        a.failed,
        crate::text::count(a.counted, "trial")
    );
    match &a.cross_tab {
        Some(t) => {
            let _ = writeln!(
                out,
                "Failures by `{}` × `{}` (failed/trials){}:\n",
                cell(&t.row_key),
                cell(&t.col_key),
                if t.chosen_by_flag {
                    ""
                } else {
                    ", the run's two tag keys"
                }
            );
            let mut head = format!("| {} ↓ · {} → |", cell(&t.row_key), cell(&t.col_key));
            for c in &t.cols {
                let _ = write!(head, " `{}` |", cell(c));
            }
            let _ = writeln!(out, "{head} total |\n|{}", "---|".repeat(t.cols.len() + 2));
            for ((r, row), tot) in t.rows.iter().zip(&t.cells).zip(&t.row_totals) {
                let mut line = format!("| `{}` |", cell(r));
                for c in row {
                    let _ = write!(line, " {} |", fmt_cell(c));
                }
                let _ = writeln!(out, "{line} {} |", fmt_cell(tot));
            }
            let mut line = String::from("| **total** |");
            for c in &t.col_totals {
                let _ = write!(line, " {} |", fmt_cell(c));
            }
            let _ = writeln!(out, "{line} {} |\n", fmt_cell(&t.total));
            if t.untagged.n > 0 {
                let _ = writeln!(
                    out,
                    "Not tagged with both keys (not in the table): {}.\n",
                    fmt_cell(&t.untagged)
                );
            }
        }
        None => {
            if let Some(why) = &a.no_cross_tab {
                let _ = writeln!(out, "No cross-tab: {}.\n", cell(why));
            }
        }
    }
    for (title, head, modes) in [
        ("Failing checks", "check", &a.modes),
        (
            "Failure modes experts gave",
            "failure mode",
            &a.expert_modes,
        ),
    ] {
        if modes.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<details open><summary><b>{title} ({})</b>, most frequent first</summary>\n",
            modes.len()
        );
        let _ = writeln!(out, "| {head} | fails | critiques |\n|---|---|---|");
        for m in modes {
            let mut shown: Vec<String> = m
                .trials
                .iter()
                .zip(&m.critiques)
                .take(CRITIQUES_SHOWN)
                .map(|(t, c)| format!("`{}`: {}", cell(t), cell(c)))
                .collect();
            if m.trials.len() > CRITIQUES_SHOWN {
                shown.push(format!("… and {} more", m.trials.len() - CRITIQUES_SHOWN));
            }
            let _ = writeln!(
                out,
                "| `{}` ({}) | {} | {} |",
                cell(&m.check),
                cell(&m.kind),
                m.trials.len(),
                shown.join("<br>")
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    out
}

/// A trial's reason, followed by the names of the tool calls its output
/// made, when it made any (`… · tool calls: search → get_order`).
fn with_calls(r: &crate::verdict::TrialRecord, reason: String) -> String {
    match r.verdict.output.as_ref().map(|o| &o.tool_calls) {
        Some(calls) if !calls.is_empty() => {
            let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
            let names = crate::text::one_line(&names.join(" → "), 120);
            format!("{reason} · tool calls: {names}")
        }
        _ => reason,
    }
}

/// Name of a status for display (`known failure`).
pub fn status_label(s: Status) -> String {
    status_name(s).replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::compare::{compare, variant_matrix};
    use crate::report::sample;

    #[test]
    fn run_summary_has_totals_tags_and_open_regressions() {
        let run = sample::run(200, 0.8, 7);
        let md = run_summary(&run);
        assert!(md.starts_with("## ❌ tribunal evals: 200 trials"), "{md}");
        assert!(md.contains("| `feature:sql` |"), "{md}");
        assert!(
            md.contains("<details open><summary><b>Regressions ("),
            "{md}"
        );
        assert!(md.contains("<details><summary><b>Known failures ("), "{md}");
        assert!(md.contains("cargo insta review"));
        assert!(md.contains("### Variants"), "{md}");
    }

    #[test]
    fn force_pass_headline_follows_what_fails_the_build() {
        let mut run = sample::run(0, 1.0, 1);
        run.records.push(sample::record(
            "s::c",
            crate::verdict::Outcome::Fail,
            Status::Regression,
            0.0,
            &[],
            1.0,
            0.0,
        ));
        assert!(run_summary(&run).starts_with("## ❌"));
        run.force_pass = true;
        let md = run_summary(&run);
        assert!(md.starts_with("## ✅"), "{md}");
        assert!(
            md.contains("do not fail the build under INSTA_FORCE_PASS=1"),
            "{md}"
        );
    }

    #[test]
    fn comparison_lists_tests_and_flips() {
        let c = compare(&sample::run(100, 0.9, 1), &sample::run(100, 0.5, 2));
        let md = comparison(&c, None);
        assert!(md.contains("| **overall** |"), "{md}");
        assert!(md.contains("Flipped trials"), "{md}");
        assert!(md.contains("exact, n="), "{md}");
    }

    #[test]
    fn matrix_renders_the_grid_and_marks_the_significant_best() {
        let md = matrix(&variant_matrix(
            &crate::report::compare::tests::models_run(),
            None,
        ));
        insta::assert_snapshot!("variant_matrix_markdown", md);
    }

    #[test]
    fn cells_escape_pipes() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
