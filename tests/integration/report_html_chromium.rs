//! The HTML report renders in a real headless Chromium: the screenshot is a
//! non-empty PNG and the rendered DOM has the report's key elements.

use std::path::{Path, PathBuf};
use std::process::Command;

use tribunal::report::{html, sample};

use crate::common::{TestProject, find_tool};

/// The Chromium binary: `TRIBUNAL_CHROMIUM`, else `chromium` on the `PATH`,
/// else `/usr/bin/chromium` (where `.ci/install-tools` puts it). `None`, with
/// the install hint, when there is none (see [`find_tool`]).
pub(crate) fn chromium() -> Option<PathBuf> {
    find_tool(
        "TRIBUNAL_CHROMIUM",
        "chromium",
        "/usr/bin/chromium",
        "chromium",
    )
}

fn headless(chromium: &Path, profile: &Path, extra: &[String]) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .output()
        .expect("chromium runs")
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let tmp = TestProject::new();
    let run = sample::run(300, 0.75, 11);
    let page = tmp.path().join("report.html");
    std::fs::write(&page, html::render(&run, &[])).expect("write report");
    let url = format!("file://{}", page.display());

    let shot = tmp.path().join("shot.png");
    let out = headless(
        &chromium,
        &tmp.path().join("profile-1"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600".into(),
            url.clone(),
        ],
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}); chromium said: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    // Width and height from the IHDR chunk.
    let w = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let h = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    assert_eq!((w, h), (1280, 1600));
    // A blank page compresses to a few KB; the report has tables and plots.
    assert!(
        png.len() > 30_000,
        "screenshot suspiciously small: {} bytes",
        png.len()
    );

    let out = headless(
        &chromium,
        &tmp.path().join("profile-2"),
        &["--dump-dom".into(), url],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    for id in [
        "summary",
        "by-tag",
        "variants",
        "failures",
        "plot-pass-rate",
        "plot-latency",
        "plot-cost",
        "trials",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "rendered DOM lacks #{id}"
        );
    }
    assert!(dom.contains("<svg"), "plots are SVG");
    assert!(dom.contains("critique"), "failures show critiques");
    assert!(dom.matches("<tr>").count() >= 300, "every trial has a row");
}

/// A history of five runs of a suite with two score judges; the fourth
/// evaluated only a subset (a name filter).
fn trend_history() -> Vec<tribunal::report::trend::RunPoint> {
    use tribunal::report::results::Spend;
    use tribunal::report::trend::RunPoint;
    (0..5)
        .map(|i| {
            let mut run = sample::run(0, 1.0, i + 1);
            run.label = Some(format!("v1.{i}"));
            for c in 0..4 {
                for (judge, base) in [("accuracy", 3), ("completeness", 2)] {
                    let score = (base + (i as i64 + c) % 3).min(5);
                    let mut r = sample::scored(
                        &format!("qa::case{c}"),
                        judge,
                        score,
                        4,
                        &[],
                        1000.0 + 100.0 * i as f64,
                        0.01,
                        300,
                    );
                    if let Some(prev) = run
                        .records
                        .iter_mut()
                        .find(|p| p.verdict.trial == r.verdict.trial)
                    {
                        prev.verdict.checks.append(&mut r.verdict.checks);
                    } else {
                        run.records.push(r);
                    }
                }
            }
            run.spend = Some(Spend {
                replayed_calls: 8,
                live_calls: if i == 4 { 8 } else { 0 },
                replayed_usd: 0.04,
                spent_usd: if i == 4 { 0.04 } else { 0.0 },
            });
            if i == 3 {
                run.subset = Some("filter `case1`".into());
            }
            RunPoint::of(&run)
        })
        .collect()
}

/// The `<figure id="ID">…</figure>` of a rendered DOM.
fn figure<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("<figure id=\"{id}\""))
        .unwrap_or_else(|| panic!("rendered DOM lacks #{id}"));
    let end = dom[start..].find("</figure>").expect("figure closes") + start;
    &dom[start..end]
}

#[test]
fn trend_plots_render_with_labelled_axes_one_path_per_series_and_a_point_per_run() {
    let Some(chromium) = chromium() else {
        return;
    };
    let tmp = TestProject::new();
    let history = trend_history();
    let mut run = sample::run(0, 1.0, 5);
    run.run_id = history[4].id.clone();
    let page = tmp.path().join("report.html");
    std::fs::write(&page, html::render(&run, &history)).expect("write report");
    let out = headless(
        &chromium,
        &tmp.path().join("profile"),
        &["--dump-dom".into(), format!("file://{}", page.display())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    // Four runs in the trend: the subset run is left out, and said so.
    assert!(
        dom.contains("Left out of the trends: 1 run that evaluated only part of the suites: sample-4 (filter `case1`)"),
        "{dom}"
    );
    let cases: [(&str, &str, &[&str]); 5] = [
        ("plot-pass-rate", "pass rate (%)", &["pass rate"]),
        (
            "plot-judge-score",
            "mean judge score",
            &["qa: accuracy", "qa: completeness"],
        ),
        ("plot-latency-p95", "P95 latency (ms)", &["P95 latency"]),
        ("plot-tokens", "tokens per run", &["tokens"]),
        ("plot-cost", "cost (USD)", &["recorded cost", "spent"]),
    ];
    for (id, y_label, series) in cases {
        let f = figure(&dom, id);
        assert!(
            f.contains(&format!(
                "rotate(-90)\" text-anchor=\"middle\">{y_label}</text>"
            )),
            "#{id}: y axis label `{y_label}` missing: {f}"
        );
        assert!(
            f.contains(">run (oldest → newest)</text>"),
            "#{id}: x axis label"
        );
        // The x ticks are the runs' labels, the subset run's absent.
        for tick in ["v1.0", "v1.1", "v1.2", "v1.4"] {
            assert!(f.contains(&format!(">{tick}</text>")), "#{id}: tick {tick}");
        }
        assert!(
            !f.contains(">v1.3</text>"),
            "#{id}: the subset run is not plotted"
        );
        assert_eq!(
            f.matches("<path class=\"series\"").count(),
            series.len(),
            "#{id}: one path per series"
        );
        for s in series {
            assert_eq!(
                f.matches(&format!("<circle class=\"point\" data-series=\"{s}\""))
                    .count(),
                4,
                "#{id}: series `{s}` has one point per run in the trend"
            );
            assert!(
                f.contains(&format!("data-series=\"{s}\" x=")),
                "#{id}: legend for `{s}`"
            );
        }
    }
    // The spent series is 0 until the last run, which spent $0.04: its
    // last point sits higher (smaller y) than its first.
    let cost = figure(&dom, "plot-cost");
    let ys: Vec<f64> = cost
        .match_indices("<circle class=\"point\" data-series=\"spent\"")
        .map(|(i, _)| {
            let rest = &cost[i..];
            let cy = rest.find("cy=\"").expect("cy") + 4;
            rest[cy..cy + rest[cy..].find('"').expect("quote")]
                .parse::<f64>()
                .expect("number")
        })
        .collect();
    assert_eq!(ys.len(), 4);
    assert!(ys[3] < ys[0] && ys[0] == ys[2], "{ys:?}");
    assert!(dom.contains("id=\"trend-table\""));
}

#[test]
fn the_variant_grid_renders_as_a_model_by_prompt_table_with_the_best_marked() {
    let Some(chromium) = chromium() else {
        return;
    };
    let tmp = TestProject::new();
    // small+terse is the baseline; large+friendly beats it on every case.
    let scores: [(&str, [i64; 6]); 4] = [
        ("small+terse", [3, 4, 3, 4, 3, 4]),
        ("small+friendly", [3, 4, 4, 4, 3, 4]),
        ("large+terse", [4, 4, 4, 4, 4, 4]),
        ("large+friendly", [5, 5, 5, 5, 5, 5]),
    ];
    let mut run = sample::run(0, 1.0, 1);
    for c in 0..6 {
        for (v, s) in &scores {
            run.records.push(sample::scored(
                &format!("models::case{c}::{v}"),
                "quality",
                s[c],
                4,
                &[],
                100.0,
                0.001,
                100,
            ));
        }
    }
    run.variant_axes
        .insert("models".into(), vec!["model".into(), "prompt".into()]);
    let page = tmp.path().join("report.html");
    std::fs::write(&page, html::render(&run, &[])).expect("write report");
    let out = headless(
        &chromium,
        &tmp.path().join("profile"),
        &["--dump-dom".into(), format!("file://{}", page.display())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<table class=\"grid\">").expect("grid table");
    let grid = &dom[start..start + dom[start..].find("</table>").expect("closes")];
    assert!(
        grid.contains("<caption>mean quality judge score by model × prompt (95% CI)</caption>"),
        "{grid}"
    );
    assert!(
        grid.contains("<th>model ↓ · prompt →</th><th>terse</th><th>friendly</th>"),
        "{grid}"
    );
    let body = &grid[grid.find("<tbody>").expect("body")..];
    assert_eq!(
        body.matches("<tr><th>").count(),
        2,
        "one row per model: {grid}"
    );
    assert_eq!(
        grid.matches("<td class=\"num").count(),
        4,
        "one cell per variant"
    );
    // Only large+friendly is significantly better (6 positive differences,
    // p = 2/64); large+terse (3 positive, 3 ties) is not.
    assert_eq!(grid.matches("class=\"num best\"").count(), 1, "{grid}");
    assert!(
        grid.contains("<td class=\"num best\">5.00 [5.00–5.00] ▲ ★<br><small>n=6</small></td>"),
        "{grid}"
    );
    assert!(
        grid.contains("3.50 [2.93–4.07]<br><small>n=6 · baseline</small>"),
        "{grid}"
    );
}
