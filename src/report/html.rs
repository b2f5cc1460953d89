//! The HTML report: one self-contained static file (inline CSS and SVG, no
//! script, no external resource), readable offline and as a CI artifact.
//!
//! Sections (with stable ids for tools and tests): `#summary`, `#by-tag`,
//! `#variants` (per suite with variants: the model × prompt grid and the
//! variant table), `#plots` (metrics over runs: `#plot-pass-rate`,
//! `#plot-judge-score` (mean score per judge), `#plot-latency-p95`,
//! `#plot-tokens` and `#plot-cost` (recorded cost and money spent), each a
//! line plot with labelled axes, the `#trend-table`, and `#plot-latency`,
//! this run's latency distribution), `#errors` (failures by two tag
//! dimensions, `#error-crosstab`, and the failing checks with their
//! critiques, `#failure-modes`), `#failures` (each non-passing trial with
//! its checks, reasons and critiques) and `#trials` (every trial).

use std::fmt::Write as _;

use super::analysis::{CRITIQUES_SHOWN, ReportView, analyse, fmt_cell};
use super::compare::variant_matrix;
use super::results::RunResults;
use super::summary::{Summary, fmt_ms, fmt_prop, latency_of, status_name};
use super::trend::{RunPoint, Trend, trend};

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
.st-error{background:#ffe3c2}.st-new,.st-changed{background:#fff3b8}.st-improvement{background:#d7ecff}.st-skipped{background:#f3f3f3}.st-quarantined{background:#ece4ff}
details{margin:6px 0}summary{cursor:pointer}pre{white-space:pre-wrap;background:#f6f8fa;padding:6px 8px;border-radius:4px;margin:4px 0}
.plots{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0}figcaption{font-size:12px;color:#56606b}
.best{font-weight:700}svg text{font:11px system-ui,sans-serif;fill:#56606b}
svg .axis-label{font-weight:600;fill:#1d232b}caption{text-align:left;font-size:12px;color:#56606b;padding:4px 0}
table.grid td,table.grid th{text-align:center}.matrix{margin:10px 0 18px}tr.subset td{color:#8a96a3}
";

/// Renders the report of `run`; `history` (oldest first, may include this
/// run) feeds the plots over runs.
pub fn render(run: &RunResults, history: &[RunPoint]) -> String {
    render_with(run, history, &ReportView::default())
}

/// [`render`] drawn as `view` says (the error analysis's dimensions,
/// whether trends include runs over a subset).
pub fn render_with(run: &RunResults, history: &[RunPoint], view: &ReportView) -> String {
    let s = Summary::of(run);
    let mut o = String::with_capacity(4096 + run.records.len() * 300);
    page_header(&mut o, run);
    summary_section(&mut o, &s, run.spend.as_ref());
    tags_section(&mut o, &s);
    variants_section(&mut o, run);
    plots_section(&mut o, run, history, view);
    errors_section(&mut o, run, view);
    failures_section(&mut o, run);
    o.push_str(&super::calibration::html(run));
    o.push_str(&super::canaries::html(run));
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
fn summary_section(o: &mut String, s: &Summary, spend: Option<&super::results::Spend>) {
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
    kpi(o, "cost (recorded)", format!("${:.4}", s.cost_usd));
    if let Some(sp) = spend {
        kpi(
            o,
            "spent (live calls)",
            format!(
                "${:.4} · {} live, {} replayed",
                sp.spent_usd, sp.live_calls, sp.replayed_calls
            ),
        );
    }
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
                                Some(_) => v.score_text(0),
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
        let _ = write!(
            o,
            "<table class=\"variants\"><thead><tr><th>variant</th><th>n</th>"
        );
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
            for i in 0..r.scores.len() {
                let _ = write!(o, "<td class=\"num\">{}</td>", esc(&r.score_text(i)));
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

/// `#plots`: the metrics over runs (`#trends`: pass rate, mean score per
/// judge, P95 latency, tokens, recorded cost and money spent, one labelled
/// SVG plot each, and their table) and this run's latency distribution.
fn plots_section(o: &mut String, run: &RunResults, history: &[RunPoint], view: &ReportView) {
    let mut points: Vec<RunPoint> = history.to_vec();
    if !points.iter().any(|p| p.id == run.run_id) {
        points.push(RunPoint::of(run));
    }
    let t = trend(points, view.include_subsets);
    let latencies: Vec<f64> = run.records.iter().filter_map(latency_of).collect();
    let _ = write!(
        o,
        "<section id=\"plots\"><h2>Metrics over runs</h2><div id=\"trends\" class=\"plots\">"
    );
    let ticks: Vec<String> = t.points.iter().map(RunPoint::tick).collect();
    let subset: Vec<bool> = t.points.iter().map(|p| p.subset.is_some()).collect();
    let chart = |id: &str,
                 caption: String,
                 y_label: &str,
                 series: Vec<Series>,
                 range: Option<(f64, f64)>,
                 fmt: fn(f64) -> String| {
        format!(
            "<figure id=\"{id}\" class=\"trend\">{}<figcaption>{}</figcaption></figure>",
            trend_chart(id, y_label, &ticks, &subset, &series, range, fmt),
            esc(&caption)
        )
    };
    let n = t.points.len();
    let runs = crate::text::count(n, "run");
    o.push_str(&chart(
        "plot-pass-rate",
        format!("Pass rate over the last {runs}"),
        "pass rate (%)",
        vec![Series::new(
            "pass rate",
            t.points
                .iter()
                .map(|p| p.pass().rate.map(|r| r * 100.0))
                .collect(),
        )],
        Some((0.0, 100.0)),
        |v| format!("{v:.0}%"),
    ));
    if !t.judges.is_empty() {
        let max = 5.0_f64.max(
            t.points
                .iter()
                .flat_map(|p| p.judges.iter().map(|(_, m)| m.ceil()))
                .fold(0.0, f64::max),
        );
        o.push_str(&chart(
            "plot-judge-score",
            format!("Mean score per judge over the last {runs}"),
            "mean judge score",
            t.judges
                .iter()
                .map(|j| Series::new(j, t.points.iter().map(|p| p.judge(j)).collect()))
                .collect(),
            Some((1.0, max)),
            |v| format!("{v:.1}"),
        ));
    }
    o.push_str(&chart(
        "plot-latency-p95",
        format!("P95 latency over the last {runs}"),
        "P95 latency (ms)",
        vec![Series::new(
            "P95 latency",
            t.points.iter().map(|p| p.latency_p95).collect(),
        )],
        None,
        |v| format!("{v:.0}"),
    ));
    o.push_str(&chart(
        "plot-tokens",
        format!("Tokens per run over the last {runs}"),
        "tokens per run",
        vec![Series::new(
            "tokens",
            t.points.iter().map(|p| Some(p.tokens as f64)).collect(),
        )],
        None,
        |v| format!("{v:.0}"),
    ));
    o.push_str(&chart(
        "plot-cost",
        format!("Cost per run over the last {runs}: recorded cost of the trials, and money spent on live calls (a replayed call spends nothing)"),
        "cost (USD)",
        vec![
            Series::new(
                "recorded cost",
                t.points.iter().map(|p| Some(p.cost_usd)).collect(),
            ),
            Series::new("spent", t.points.iter().map(RunPoint::spent_usd).collect()),
        ],
        None,
        |v| format!("${v:.3}"),
    ));
    let _ = write!(
        o,
        "<figure id=\"plot-latency\">{}<figcaption>Latency distribution of this run ({} trials)</figcaption></figure>",
        histogram(&latencies),
        latencies.len()
    );
    let _ = write!(o, "</div>");
    trend_table(o, &t);
    let _ = writeln!(o, "</section>");
}

/// The trend as a table (seed 003's table, one row per run).
fn trend_table(o: &mut String, t: &Trend) {
    let _ = write!(
        o,
        "<table id=\"trend-table\"><thead><tr><th>run</th><th>started</th><th>commit</th><th>trials</th><th>pass rate (95% CI)</th>"
    );
    for j in &t.judges {
        let _ = write!(o, "<th>mean {}</th>", esc(j));
    }
    let _ = write!(
        o,
        "<th>latency p95</th><th>tokens</th><th>cost (recorded)</th><th>spent (live calls)</th><th>replayed calls</th></tr></thead><tbody>"
    );
    for p in &t.points {
        let _ = write!(
            o,
            "<tr{}><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            if p.subset.is_some() {
                " class=\"subset\""
            } else {
                ""
            },
            esc(&p.id),
            if p.subset.is_some() { " (subset)" } else { "" },
            esc(&p.started_at),
            esc(p.commit.as_deref().unwrap_or("")),
            p.counted,
            fmt_prop(&p.pass())
        );
        for j in &t.judges {
            let _ = write!(
                o,
                "<td class=\"num\">{}</td>",
                p.judge(j).map(|m| format!("{m:.2}")).unwrap_or_default()
            );
        }
        let (spent, replayed) = match p.spend {
            Some(s) => (
                format!("${:.4}", s.spent_usd),
                format!("{} (${:.4} recorded)", s.replayed_calls, s.replayed_usd),
            ),
            None => ("not recorded".into(), "not recorded".into()),
        };
        let _ = write!(
            o,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">${:.4}</td><td class=\"num\">{spent}</td><td class=\"num\">{replayed}</td></tr>",
            fmt_ms(p.latency_p95),
            p.tokens,
            p.cost_usd
        );
    }
    let _ = write!(o, "</tbody></table>");
    if !t.left_out.is_empty() {
        let ids: Vec<String> = t
            .left_out
            .iter()
            .map(|p| format!("{} ({})", p.id, p.subset.as_deref().unwrap_or("")))
            .collect();
        let _ = write!(
            o,
            "<p class=\"left-out\">Left out of the trends: {} that evaluated only part of the suites: {} (<code>tribunal report --include-subsets</code> includes them).</p>",
            crate::text::count(t.left_out.len(), "run"),
            esc(&ids.join(", "))
        );
    }
}

/// The smallest of 1, 2, 4, 8 or 10 × a power of ten at or above `v`, so
/// that the four intervals of a plot's y axis fall on round numbers
/// (1540 → 2000: 0, 500, 1000, 1500, 2000); 1 for nothing above zero.
fn nice_ceiling(v: f64) -> f64 {
    if !(v > 0.0 && v.is_finite()) {
        return 1.0;
    }
    let unit = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 4.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * unit)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * unit)
}

/// One line of a trend plot.
struct Series {
    name: String,
    values: Vec<Option<f64>>,
}

impl Series {
    fn new(name: &str, values: Vec<Option<f64>>) -> Series {
        Series {
            name: name.to_string(),
            values,
        }
    }
}

const COLORS: [&str; 6] = [
    "#2f6fdb", "#e07b24", "#3a9a5b", "#b04fc4", "#c23b3b", "#5b6b7b",
];

/// A line plot of `series` over runs with labelled axes: the x axis is
/// the runs (oldest left, tick labels from `ticks`), the y axis the metric
/// (`y_label`, five gridlines labelled by `fmt`, over `range` or the data's
/// span from 0). Each series is one `<path class="series">` (a gap where a
/// run has no value) with one `<circle class="point">` per value; a run
/// over a subset has a hollow point.
fn trend_chart(
    id: &str,
    y_label: &str,
    ticks: &[String],
    subset: &[bool],
    series: &[Series],
    range: Option<(f64, f64)>,
    fmt: fn(f64) -> String,
) -> String {
    const TW: f64 = 520.0;
    const TH: f64 = 250.0;
    const L: f64 = 64.0;
    const R: f64 = 14.0;
    const B: f64 = 58.0;
    // The legend, laid out first: entries wrap onto more lines, and the
    // plot starts below them.
    let mut legend: Vec<(f64, f64)> = Vec::new();
    let (mut lx, mut ly) = (L, 8.0);
    for se in series {
        let w = 24.0 + 6.5 * se.name.chars().count() as f64;
        if lx > L && lx + w > TW - R {
            lx = L;
            ly += 14.0;
        }
        legend.push((lx, ly));
        lx += w;
    }
    let t_top = ly + 18.0;
    let n = ticks.len();
    let values = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied());
    let (lo, hi) = match range {
        Some(r) => r,
        None => {
            let max = values.fold(0.0_f64, f64::max);
            (0.0, nice_ceiling(max * 1.05))
        }
    };
    let span = (hi - lo).max(1e-12);
    let x = |i: usize| {
        if n > 1 {
            L + (TW - L - R) * i as f64 / (n - 1) as f64
        } else {
            L + (TW - L - R) / 2.0
        }
    };
    let y = |v: f64| t_top + (TH - t_top - B) * (1.0 - ((v - lo) / span).clamp(0.0, 1.0));
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"trend-plot\" data-metric=\"{}\" width=\"{TW}\" height=\"{TH}\" viewBox=\"0 0 {TW} {TH}\" role=\"img\" aria-label=\"{} by run\">",
        esc(id),
        esc(y_label)
    );
    // Gridlines and the y axis.
    let _ = write!(s, "<g class=\"axis y\">");
    for k in 0..=4 {
        let v = lo + span * k as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            s,
            "<line x1=\"{L}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#eceff3\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            TW - R,
            L - 4.0,
            yy + 4.0,
            esc(&fmt(v))
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{L}\" x2=\"{L}\" y1=\"{t_top:.1}\" y2=\"{:.1}\" stroke=\"#8a96a3\"/><text class=\"axis-label\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text></g>",
        TH - B,
        t_top + (TH - t_top - B) / 2.0,
        esc(y_label)
    );
    // The x axis: one point per run.
    let _ = write!(
        s,
        "<g class=\"axis x\"><line x1=\"{L}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#8a96a3\"/>",
        TW - R,
        TH - B,
        TH - B
    );
    // Labels thinned to about six, none crowding the last one.
    let every = n.div_ceil(6).max(1);
    for (i, t) in ticks.iter().enumerate() {
        if (i % every == 0 && n - 1 - i >= every) || i + 1 == n {
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\">{}</text>",
                x(i),
                TH - B + 14.0,
                // The first and last labels stay inside the plot.
                if i == 0 && n > 1 {
                    "start"
                } else if i + 1 == n && n > 1 {
                    "end"
                } else {
                    "middle"
                },
                esc(&crate::text::one_line(t, 14))
            );
        }
    }
    let _ = write!(
        s,
        "<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">run (oldest → newest)</text></g>",
        L + (TW - L - R) / 2.0,
        TH - 10.0
    );
    // Series, then the legend.
    for (k, se) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let mut d = String::new();
        let mut pen_down = false;
        let mut dots = String::new();
        for (i, v) in se.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1}",
                        if pen_down { " L" } else { " M" },
                        x(i),
                        y(*v)
                    );
                    pen_down = true;
                    let hollow = subset.get(i).copied().unwrap_or(false);
                    let _ = write!(
                        dots,
                        "<circle class=\"point{}\" data-series=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\" stroke=\"{color}\"><title>{}: {}</title></circle>",
                        if hollow { " subset" } else { "" },
                        esc(&se.name),
                        x(i),
                        y(*v),
                        if hollow { "#fff" } else { color },
                        esc(&ticks[i]),
                        esc(&fmt(*v))
                    );
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            s,
            "<path class=\"series\" data-series=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>{dots}",
            esc(&se.name),
            d.trim_start()
        );
    }
    let _ = write!(s, "<g class=\"legend\">");
    for (k, (se, (lx, ly))) in series.iter().zip(&legend).enumerate() {
        let color = COLORS[k % COLORS.len()];
        let _ = write!(
            s,
            "<rect x=\"{lx:.1}\" y=\"{ly:.1}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text class=\"legend-entry\" data-series=\"{}\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            esc(&se.name),
            lx + 14.0,
            ly + 9.0,
            esc(&se.name)
        );
    }
    let _ = write!(s, "</g></svg>");
    s
}

/// `#errors`: the error analysis: failures by two tag dimensions
/// (`#error-crosstab`) and the failing checks with their critiques
/// (`#failure-modes`). Absent when no trial fails.
fn errors_section(o: &mut String, run: &RunResults, view: &ReportView) {
    let a = match analyse(run, view) {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(
                o,
                "<section id=\"errors\"><h2>Error analysis</h2><p class=\"error\">{}</p></section>",
                esc(&e.to_string())
            );
            return;
        }
    };
    if a.failed == 0 {
        return;
    }
    let _ = write!(
        o,
        "<section id=\"errors\"><h2>Error analysis</h2><p>{} of {} fail.</p>",
        a.failed,
        esc(&crate::text::count(a.counted, "trial"))
    );
    match &a.cross_tab {
        Some(t) => {
            let _ = write!(
                o,
                "<table id=\"error-crosstab\" data-rows=\"{}\" data-cols=\"{}\"><caption>Failures by {} × {} (failed/trials)</caption><thead><tr><th>{} ↓ · {} →</th>",
                esc(&t.row_key),
                esc(&t.col_key),
                esc(&t.row_key),
                esc(&t.col_key),
                esc(&t.row_key),
                esc(&t.col_key)
            );
            for c in &t.cols {
                let _ = write!(o, "<th>{}</th>", esc(c));
            }
            let _ = write!(o, "<th>total</th></tr></thead><tbody>");
            for ((r, row), tot) in t.rows.iter().zip(&t.cells).zip(&t.row_totals) {
                let _ = write!(o, "<tr><th>{}</th>", esc(r));
                for c in row {
                    let heat = if c.n > 0 {
                        c.failed as f64 / c.n as f64
                    } else {
                        0.0
                    };
                    let _ = write!(
                        o,
                        "<td class=\"num\" style=\"background:rgba(220,60,60,{:.2})\">{}</td>",
                        0.6 * heat,
                        fmt_cell(c)
                    );
                }
                let _ = write!(o, "<td class=\"num\">{}</td></tr>", fmt_cell(tot));
            }
            let _ = write!(o, "<tr><th>total</th>");
            for c in &t.col_totals {
                let _ = write!(o, "<td class=\"num\">{}</td>", fmt_cell(c));
            }
            let _ = write!(
                o,
                "<td class=\"num\">{}</td></tr></tbody></table>",
                fmt_cell(&t.total)
            );
            if t.untagged.n > 0 {
                let _ = write!(
                    o,
                    "<p>Not tagged with both keys (not in the table): {}.</p>",
                    fmt_cell(&t.untagged)
                );
            }
        }
        None => {
            if let Some(why) = &a.no_cross_tab {
                let _ = write!(o, "<p>No cross-tab: {}.</p>", esc(why));
            }
        }
    }
    for (id, title, head, modes) in [
        ("failure-modes", "Failing checks", "check", &a.modes),
        (
            "expert-failure-modes",
            "Failure modes experts gave",
            "failure mode",
            &a.expert_modes,
        ),
    ] {
        if modes.is_empty() {
            continue;
        }
        let _ = write!(
            o,
            "<table id=\"{id}\"><caption>{title}, most frequent first</caption><thead><tr><th>{head}</th><th>fails</th><th>critiques</th></tr></thead><tbody>"
        );
        for m in modes {
            let _ = write!(
                o,
                "<tr><td>{} <small>({})</small></td><td class=\"num\">{}</td><td><ul>",
                esc(&m.check),
                esc(&m.kind),
                m.trials.len()
            );
            for (t, c) in m.trials.iter().zip(&m.critiques).take(CRITIQUES_SHOWN) {
                let _ = write!(o, "<li><code>{}</code>: {}</li>", esc(t), esc(c));
            }
            if m.trials.len() > CRITIQUES_SHOWN {
                let _ = write!(
                    o,
                    "<li>… and {} more</li>",
                    m.trials.len() - CRITIQUES_SHOWN
                );
            }
            let _ = write!(o, "</ul></td></tr>");
        }
        let _ = write!(o, "</tbody></table>");
    }
    let _ = writeln!(o, "</section>");
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
            "plot-latency-p95",
            "plot-tokens",
            "trend-table",
            "errors",
            "error-crosstab",
            "failure-modes",
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
        assert_eq!(html.matches("class=\"bar\"").count(), 12, "12 latency bins");
        // One run: one point per series (pass rate, P95, tokens, recorded
        // cost; the sample records no spend).
        assert_eq!(html.matches("<circle class=\"point\"").count(), 4);
    }

    #[test]
    fn y_axes_end_on_round_numbers() {
        for (v, want) in [
            (1540.0, 2000.0),
            (0.0462, 0.08),
            (100.0, 100.0),
            (3.2, 4.0),
            (0.0, 1.0),
        ] {
            assert!(
                (nice_ceiling(v) - want).abs() < 1e-12,
                "{v}: {}",
                nice_ceiling(v)
            );
        }
    }

    #[test]
    fn esc_escapes_markup() {
        assert_eq!(
            esc("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
