//! The HTML report: one self-contained static file (inline CSS and SVG, no
//! script, no external resource), readable offline and as a CI artifact.
//!
//! Sections (with stable ids for tools and tests): `#summary`, `#by-tag`,
//! `#variants`, `#failures` (each non-passing trial with its checks,
//! reasons and critiques), `#plots` with `#plot-pass-rate` (pass rate and
//! mean score over runs), `#plot-latency` (latency distribution of this run)
//! and `#plot-cost` (cost per run), and `#trials` (every trial).

use std::fmt::Write as _;

use super::compare::variant_matrix;
use super::history::RunRow;
use super::results::RunResults;
use super::summary::{Summary, fmt_ms, fmt_prop, latency_of, status_name};

/// Escapes text for HTML content and attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
header{background:#1d232b;color:#fff;padding:16px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#b9c2cc}main{padding:12px 28px 40px;max-width:1200px}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:12px 18px;margin:14px 0}
h2{font-size:16px;margin:4px 0 10px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.kpis{display:flex;gap:14px;flex-wrap:wrap}.kpi{border:1px solid #dde2e8;border-radius:6px;padding:8px 14px;min-width:140px}
.kpi b{display:block;font-size:20px}.st{border-radius:3px;padding:1px 6px;font-size:12px;white-space:nowrap}
.st-pass{background:#dcf5e3}.st-known_failure{background:#eee}.st-regression,.st-must_pass_failure{background:#ffd9d9}
.st-error{background:#ffe3c2}.st-new,.st-changed{background:#fff3b8}.st-improvement{background:#d7ecff}.st-skipped{background:#f3f3f3}
details{margin:6px 0}summary{cursor:pointer}pre{white-space:pre-wrap;background:#f6f8fa;padding:6px 8px;border-radius:4px;margin:4px 0}
.plots{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0}figcaption{font-size:12px;color:#56606b}
.best{font-weight:700}svg text{font:11px system-ui,sans-serif;fill:#56606b}
";

/// Renders the report of `run`; `history` (oldest first, may include this
/// run) feeds the over-time plots.
pub fn render(run: &RunResults, history: &[RunRow]) -> String {
    let s = Summary::of(run);
    let mut o = String::with_capacity(4096 + run.records.len() * 300);
    page_header(&mut o, run);
    summary_section(&mut o, &s);
    tags_section(&mut o, &s);
    variants_section(&mut o, run);
    plots_section(&mut o, run, &s, history);
    failures_section(&mut o, run);
    trials_section(&mut o, run);
    o
}

/// The document head, the style and the page header.
fn page_header(o: &mut String, run: &RunResults) {
    let title = format!("tribunal report {}", run.run_id);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&title)
    );
    let git = run
        .git
        .as_ref()
        .map(|g| {
            format!(
                " · commit {}{}",
                esc(run.short_commit().unwrap_or_default()),
                g.branch
                    .as_ref()
                    .map(|b| format!(" on {}", esc(b)))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "<header><h1>{}</h1><p>{}{} · tribunal {}</p></header><main>",
        esc(&title),
        esc(&run.started_at),
        git,
        esc(&run.tribunal_version)
    );
}

/// `#summary`: the key numbers and the count per status.
fn summary_section(o: &mut String, s: &Summary) {
    let _ = write!(
        o,
        "<section id=\"summary\"><h2>Summary</h2><div class=\"kpis\">"
    );
    let kpi = |o: &mut String, label: &str, value: String| {
        let _ = write!(
            o,
            "<div class=\"kpi\">{}<b>{}</b></div>",
            esc(label),
            esc(&value)
        );
    };
    kpi(o, "trials", s.total.to_string());
    kpi(o, "pass rate (95% CI)", fmt_prop(&s.pass));
    kpi(o, "failing the build", s.failing.to_string());
    kpi(
        o,
        "mean score",
        s.mean_score
            .map(|m| format!("{m:.3}"))
            .unwrap_or_else(|| "n/a".into()),
    );
    kpi(o, "cost", format!("${:.4}", s.cost_usd));
    kpi(
        o,
        "latency p50 / p95",
        format!("{} / {}", fmt_ms(s.latency_p50), fmt_ms(s.latency_p95)),
    );
    let _ = write!(o, "</div><p>");
    for (k, v) in &s.by_status {
        let _ = write!(
            o,
            "<span class=\"st st-{k}\">{v} {}</span> ",
            k.replace('_', " ")
        );
    }
    let _ = writeln!(o, "</p></section>");
}

/// `#by-tag`: pass rate and mean score per tag.
fn tags_section(o: &mut String, s: &Summary) {
    let _ = write!(
        o,
        "<section id=\"by-tag\"><h2>By tag</h2><table><thead><tr><th>tag</th><th>passed</th><th>pass rate (95% CI)</th><th>mean score</th></tr></thead><tbody>"
    );
    for t in &s.by_tag {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&t.name),
            t.pass.successes,
            t.pass.n,
            fmt_prop(&t.pass),
            t.mean_score.map(|m| format!("{m:.3}")).unwrap_or_default()
        );
    }
    if s.by_tag.is_empty() {
        let _ = write!(o, "<tr><td colspan=\"4\">No tags in this run.</td></tr>");
    }
    let _ = writeln!(o, "</tbody></table></section>");
}

/// `#variants`: per suite with variants, the model × prompt grid (two
/// axes) and the variant table; see [`super::markdown::matrix`].
fn variants_section(o: &mut String, run: &RunResults) {
    let report = variant_matrix(run, None);
    if report.is_empty() {
        return;
    }
    let _ = write!(o, "<section id=\"variants\"><h2>Variants</h2>");
    for m in &report.matrices {
        let _ = write!(
            o,
            "<div class=\"matrix\" data-suite=\"{}\"><h3>{}</h3>",
            esc(&m.suite),
            esc(&m.suite)
        );
        if m.axes.len() == 2 {
            let (rows, cols) = (m.axis_values(0), m.axis_values(1));
            let what = match m.judges.first() {
                Some(j) => format!("mean {j} judge score"),
                None => "pass rate".into(),
            };
            let _ = write!(
                o,
                "<table class=\"grid\"><caption>{} by {} × {} (95% CI)</caption><thead><tr><th>{} ↓ · {} →</th>",
                esc(&what),
                esc(&m.axes[0]),
                esc(&m.axes[1]),
                esc(&m.axes[0]),
                esc(&m.axes[1])
            );
            for c in &cols {
                let _ = write!(o, "<th>{}</th>", esc(c));
            }
            let _ = write!(o, "</tr></thead><tbody>");
            for r in &rows {
                let _ = write!(o, "<tr><th>{}</th>", esc(r));
                for c in &cols {
                    match m.cell(r, c) {
                        None => {
                            let _ = write!(o, "<td>—</td>");
                        }
                        Some(v) => {
                            let value = match v.scores.first() {
                                Some(s) => s.text(),
                                None => fmt_prop(&v.pass),
                            };
                            let _ = write!(
                                o,
                                "<td class=\"num{}\">{}<br><small>n={}{}</small></td>",
                                if v.best { " best" } else { "" },
                                esc(&value),
                                v.n,
                                if v.vs_baseline.is_none() {
                                    " · baseline"
                                } else {
                                    ""
                                }
                            );
                        }
                    }
                }
                let _ = write!(o, "</tr>");
            }
            let _ = write!(o, "</tbody></table>");
        }
        let _ = write!(o, "<table class=\"variants\"><thead><tr><th>variant</th><th>n</th>");
        for j in &m.judges {
            let _ = write!(o, "<th>{} mean (95% CI)</th>", esc(j));
        }
        let _ = write!(
            o,
            "<th>pass rate (95% CI)</th><th>latency p50 / p95</th><th>tokens / trial</th><th>cost / trial</th><th>vs baseline</th></tr></thead><tbody>"
        );
        for r in &m.rows {
            let _ = write!(
                o,
                "<tr{}><td>{}{}</td><td class=\"num\">{}</td>",
                if r.best { " class=\"best\"" } else { "" },
                esc(&r.variant),
                if r.best { " ★" } else { "" },
                r.n
            );
            for s in &r.scores {
                let _ = write!(o, "<td class=\"num\">{}</td>", esc(&s.text()));
            }
            let _ = write!(
                o,
                "<td class=\"num\">{}</td><td class=\"num\">{} / {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                fmt_prop(&r.pass),
                fmt_ms(r.latency_p50),
                fmt_ms(r.latency_p95),
                r.mean_tokens.map(|t| format!("{t:.0}")).unwrap_or_default(),
                r.mean_cost_usd
                    .map(|c| format!("${c:.5}"))
                    .unwrap_or_default(),
                esc(&r.vs_text(&m.judges))
            );
        }
        let _ = write!(
            o,
            "</tbody></table><p class=\"legend\">{}</p></div>",
            esc(&m.legend())
        );
    }
    if !report.excluded.is_empty() {
        let parts: Vec<String> = report
            .excluded
            .iter()
            .map(|(s, n)| format!("{s} ({})", crate::text::count(*n, "trial")))
            .collect();
        let _ = write!(
            o,
            "<p class=\"excluded\">Not in a variant matrix (no variants, or only one): {}.</p>",
            esc(&parts.join(", "))
        );
    }
    let _ = writeln!(o, "</section>");
}

/// `#plots`: pass rate and mean score over runs, this run's latency, cost per run.
fn plots_section(o: &mut String, run: &RunResults, s: &Summary, history: &[RunRow]) {
    let mut points: Vec<RunRow> = history.to_vec();
    if !points.iter().any(|p| p.id == run.run_id) {
        points.push(RunRow {
            id: run.run_id.clone(),
            started_at: run.started_at.clone(),
            git_commit: run.git.as_ref().map(|g| g.commit.clone()),
            git_branch: run.git.as_ref().and_then(|g| g.branch.clone()),
            label: run.label.clone(),
            trials: s.total as u64,
            counted: s.pass.n,
            passed: s.pass.successes,
            failing: s.failing as u64,
            mean_score: s.mean_score,
            cost_usd: s.cost_usd,
            latency_p50: s.latency_p50,
            latency_p95: s.latency_p95,
        });
    }
    let latencies: Vec<f64> = run.records.iter().filter_map(latency_of).collect();
    let _ = write!(
        o,
        "<section id=\"plots\"><h2>Plots</h2><div class=\"plots\">"
    );
    let _ = write!(
        o,
        "<figure id=\"plot-pass-rate\">{}<figcaption>Pass rate (blue) and mean score (orange) over the last {} runs</figcaption></figure>",
        line_plot(&points),
        points.len()
    );
    let _ = write!(
        o,
        "<figure id=\"plot-latency\">{}<figcaption>Latency distribution of this run ({} trials)</figcaption></figure>",
        histogram(&latencies),
        latencies.len()
    );
    let _ = write!(
        o,
        "<figure id=\"plot-cost\">{}<figcaption>Cost per run (USD)</figcaption></figure>",
        bars(&points.iter().map(|p| p.cost_usd).collect::<Vec<_>>())
    );
    let _ = writeln!(o, "</div></section>");
}

/// `#failures`: every listed trial under its heading ([`super::sections`]),
/// with its checks, reasons, critiques and output.
fn failures_section(o: &mut String, run: &RunResults) {
    let _ = write!(o, "<section id=\"failures\"><h2>Failures and changes</h2>");
    let mut any = false;
    for section in super::sections::sections(run) {
        any = true;
        let _ = write!(
            o,
            "<h3>{} ({})</h3>",
            esc(section.title),
            section.records.len()
        );
        for r in section.records {
            let v = &r.verdict;
            let _ = write!(
                o,
                "<details class=\"trial\"{}><summary><span class=\"st st-{st}\">{}</span> <code>{}</code> — {}</summary>",
                if section.fails_build { " open" } else { "" },
                status_name(r.status).replace('_', " "),
                esc(&v.trial),
                esc(&crate::text::one_line(
                    &super::summary::failure_reason(r),
                    super::summary::WHOLE_REASON
                )),
                st = status_name(r.status)
            );
            if r.snapshot.is_empty() {
                let _ = write!(
                    o,
                    "<p>at <code>{}</code></p>",
                    esc(&v.failure_location().to_string())
                );
            } else {
                let _ = write!(
                    o,
                    "<p>at <code>{}</code> · snapshot <code>{}</code> · score {:.2} (threshold {:.2})</p>",
                    esc(&v.failure_location().to_string()),
                    esc(&r.snapshot),
                    v.score,
                    v.threshold
                );
            }
            if let Some(e) = &v.error {
                let _ = write!(o, "<pre class=\"error\">{}</pre>", esc(e));
            }
            let _ = write!(
                o,
                "<table><tr><th>check</th><th>outcome</th><th>score</th><th>reason / critique</th></tr>"
            );
            for c in &v.checks {
                let _ = write!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}{}</td></tr>",
                    esc(&c.name),
                    c.outcome,
                    c.score.map(|s| format!("{s:.2}")).unwrap_or_default(),
                    esc(&c.reason),
                    c.critique
                        .as_ref()
                        .map(|cr| format!("<pre class=\"critique\">{}</pre>", esc(cr)))
                        .unwrap_or_default()
                );
            }
            let _ = write!(o, "</table>");
            if let Some(out) = &v.output {
                let text = crate::text::excerpt(&out.text, 2000);
                let _ = write!(
                    o,
                    "<details><summary>output</summary><pre>{}</pre></details>",
                    esc(&text)
                );
                structure(o, out);
            }
            let _ = write!(o, "</details>");
        }
    }
    if !any {
        let _ = write!(o, "<p>Every trial passes and matches its snapshot.</p>");
    }
    let _ = writeln!(o, "</section>");
}

/// An output's tool calls, conversation and steps, each in a closed
/// `<details>` (nothing when it has none).
fn structure(o: &mut String, out: &crate::verdict::Output) {
    if !out.tool_calls.is_empty() {
        let _ = write!(
            o,
            "<details class=\"tool-calls\"><summary>tool calls ({})</summary><ol start=\"0\">",
            out.tool_calls.len()
        );
        for c in out.tool_calls.iter().take(100) {
            let _ = write!(
                o,
                "<li><code>{}</code> <pre>{}</pre></li>",
                esc(&c.name),
                esc(&crate::text::excerpt(&c.arguments.to_string(), 2000))
            );
        }
        let _ = write!(o, "</ol></details>");
    }
    if !out.conversation.is_empty() {
        let _ = write!(
            o,
            "<details class=\"conversation\"><summary>conversation ({} messages)</summary><pre>{}</pre></details>",
            out.conversation.len(),
            esc(&crate::text::excerpt(
                &crate::chat::transcript(&out.conversation),
                20_000
            ))
        );
    }
    if !out.steps.is_empty() {
        let _ = write!(
            o,
            "<details class=\"steps\"><summary>steps ({})</summary><ol>",
            out.steps.len()
        );
        for s in out.steps.iter().take(100) {
            let _ = write!(
                o,
                "<li><b>{}</b><pre>{}</pre></li>",
                esc(&s.name),
                esc(&crate::text::excerpt(&s.output.text, 2000))
            );
        }
        let _ = write!(o, "</ol></details>");
    }
}

/// `#trials`: every trial of the run.
fn trials_section(o: &mut String, run: &RunResults) {
    let _ = write!(
        o,
        "<section id=\"trials\"><details><summary><h2 style=\"display:inline\">All trials ({})</h2></summary><table><thead><tr><th>trial</th><th>status</th><th>outcome</th><th>score</th><th>latency</th><th>cost</th><th>tags</th></tr></thead><tbody>",
        run.records.len()
    );
    for r in &run.records {
        let v = &r.verdict;
        let st = status_name(r.status);
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td><span class=\"st st-{st}\">{}</span></td><td>{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&v.trial),
            st.replace('_', " "),
            v.outcome,
            v.score,
            fmt_ms(latency_of(r)),
            v.cost_usd.map(|c| format!("${c:.5}")).unwrap_or_default(),
            esc(&v.tags.join(", "))
        );
    }
    let _ = write!(
        o,
        "</tbody></table></details></section>\n</main></body></html>\n"
    );
}

const W: f64 = 360.0;
const H: f64 = 180.0;
const PAD: f64 = 30.0;

fn frame(inner: &str, y_label_top: &str, y_label_bottom: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\"><rect x=\"{PAD}\" y=\"8\" width=\"{}\" height=\"{}\" fill=\"#fafbfc\" stroke=\"#dde2e8\"/><text x=\"2\" y=\"16\">{}</text><text x=\"2\" y=\"{}\">{}</text>{inner}</svg>",
        W - PAD - 8.0,
        H - PAD - 8.0,
        esc(y_label_top),
        H - PAD,
        esc(y_label_bottom)
    )
}

fn xy(i: usize, n: usize, v: f64) -> (f64, f64) {
    let span = W - PAD - 16.0;
    let x = PAD
        + 4.0
        + if n > 1 {
            span * i as f64 / (n - 1) as f64
        } else {
            span / 2.0
        };
    let y = 8.0 + (H - PAD - 8.0) * (1.0 - v.clamp(0.0, 1.0));
    (x, y)
}

fn polyline(values: &[Option<f64>], color: &str) -> String {
    let n = values.len();
    let pts: Vec<String> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| xy(i, n, v)))
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    let dots: String = pts
        .iter()
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
            format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\" fill=\"{color}\"/>")
        })
        .collect();
    format!(
        "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>{dots}",
        pts.join(" ")
    )
}

/// Pass rate and mean score over runs, both on a 0–1 axis.
fn line_plot(points: &[RunRow]) -> String {
    let pass: Vec<Option<f64>> = points
        .iter()
        .map(|p| (p.counted > 0).then(|| p.passed as f64 / p.counted as f64))
        .collect();
    let score: Vec<Option<f64>> = points.iter().map(|p| p.mean_score).collect();
    frame(
        &format!(
            "{}{}",
            polyline(&pass, "#2f6fdb"),
            polyline(&score, "#e07b24")
        ),
        "1.0",
        "0.0",
    )
}

/// Histogram of values in 12 equal bins.
fn histogram(values: &[f64]) -> String {
    if values.is_empty() {
        return frame(
            "<text x=\"120\" y=\"90\">no latency recorded</text>",
            "",
            "",
        );
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bins = 12usize;
    let width = ((hi - lo) / bins as f64).max(1e-9);
    let mut counts = vec![0usize; bins];
    for v in values {
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let span = W - PAD - 16.0;
    let bw = span / bins as f64;
    let inner: String = counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let h = (H - PAD - 8.0) * *c as f64 / max;
            format!(
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#2f6fdb\"><title>{:.0}–{:.0} ms: {c}</title></rect>",
                PAD + 4.0 + bw * i as f64,
                H - PAD - h,
                bw - 2.0,
                lo + width * i as f64,
                lo + width * (i + 1) as f64
            )
        })
        .collect();
    let axis = format!(
        "<text x=\"{PAD}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        H - 10.0,
        esc(&fmt_ms(Some(lo))),
        W - 8.0,
        H - 10.0,
        esc(&fmt_ms(Some(hi)))
    );
    frame(&format!("{inner}{axis}"), &format!("{}", max as usize), "0")
}

/// One bar per value, scaled to the largest.
fn bars(values: &[f64]) -> String {
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    let n = values.len().max(1);
    let span = W - PAD - 16.0;
    let bw = span / n as f64;
    let inner: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = if max > 0.0 { (H - PAD - 8.0) * v / max } else { 0.0 };
            format!(
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#6b8e23\"><title>${v:.4}</title></rect>",
                PAD + 4.0 + bw * i as f64,
                H - PAD - h,
                (bw - 2.0).max(1.0)
            )
        })
        .collect();
    frame(&inner, &format!("${max:.3}"), "$0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn report_is_self_contained_and_has_every_section() {
        let mut run = sample::run(120, 0.7, 5);
        run.records[0].verdict.trial = "<script>alert(1)</script>".into();
        let html = render(&run, &[]);
        for id in [
            "summary",
            "by-tag",
            "variants",
            "failures",
            "plots",
            "plot-pass-rate",
            "plot-latency",
            "plot-cost",
            "trials",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "missing #{id}");
        }
        assert!(
            !html.contains("<script"),
            "no script, and user text is escaped"
        );
        assert!(html.contains("&lt;script&gt;"));
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "no external resource"
        );
        assert!(html.contains("critique"));
        assert_eq!(
            html.matches("class=\"bar\"").count(),
            12 + 1,
            "12 latency bins + 1 cost bar"
        );
    }

    #[test]
    fn esc_escapes_markup() {
        assert_eq!(
            esc("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
