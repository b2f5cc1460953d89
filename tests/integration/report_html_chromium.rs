//! The HTML report renders in a real headless Chromium: the screenshot is a
//! non-empty PNG and the rendered DOM has the report's key elements.

use std::path::{Path, PathBuf};
use std::process::Command;

use tribunal::report::{html, sample};

use crate::common::{TestProject, tool_available};

/// The Chromium binary: `TRIBUNAL_CHROMIUM`, else `chromium` on the `PATH`,
/// else `/usr/bin/chromium` (where `.ci/install-tools` puts it). `None`, with
/// the install hint, when there is none (see [`tool_available`]).
pub(crate) fn chromium() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("TRIBUNAL_CHROMIUM") {
        Some(p) => vec![PathBuf::from(p)],
        None => std::env::var_os("PATH")
            .map(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join("chromium"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/bin/chromium")])
            .collect(),
    };
    match candidates.iter().find(|p| p.is_file()) {
        Some(p) => Some(p.clone()),
        None => {
            let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            tool_available(
                "chromium",
                Some(format!(
                    "is not installed (looked at {})",
                    looked.join(", ")
                )),
            );
            None
        }
    }
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
