//! `tribunal review` in a real headless Chromium, driven through
//! chromedriver's WebDriver protocol (W3C, JSON over HTTP on 127.0.0.1):
//! the expert's loop with keys and clicks, the label file it writes, the
//! agreement numbers against `tribunal align`, escaping of an output that
//! holds markup, and screenshots that are not blank.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{TestProject, find_tool, repo_root};
use crate::report_html_chromium::chromium;
use crate::review::{Server, http};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver: `TRIBUNAL_CHROMEDRIVER`, else `chromedriver` on the
/// `PATH`, else `/usr/bin/chromedriver` (Debian's `chromium-driver`, which
/// `.ci/install-tools` installs).
fn chromedriver() -> Option<PathBuf> {
    find_tool(
        "TRIBUNAL_CHROMEDRIVER",
        "chromedriver",
        "/usr/bin/chromedriver",
        "chromium-driver",
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A chromedriver process with one browser session; both end when dropped.
struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

impl Browser {
    fn start(driver: &Path, chromium: &Path, profile: &Path) -> Browser {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr = format!("127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            if std::net::TcpStream::connect(&addr).is_ok() {
                let (status, _, body) = http(&addr, "GET", "/status", &[], None);
                if status == 200 && body.contains("\"ready\":true") {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut b = Browser {
            driver: child,
            addr,
            session: String::new(),
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("a session id").to_string();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let (status, _, text) = http(
            &self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_deref().or((method == "POST").then_some("{}")),
        );
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: {text}"));
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({"url": url})));
    }

    fn refresh(&self) {
        self.call("POST", &self.s("/refresh"), None);
    }

    fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            &self.s("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().expect("an element").to_string()
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.call("POST", &self.s(&format!("/element/{id}/click")), None);
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(
            "POST",
            &self.s(&format!("/element/{id}/value")),
            Some(json!({"text": text})),
        );
    }

    /// Presses keys on whatever has the focus (`\u{E00C}` is Escape,
    /// `\u{E007}` Enter).
    fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.call(
            "POST",
            &self.s("/actions"),
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
        // Let the page handle them (the labels go to the server).
        std::thread::sleep(Duration::from_millis(50));
    }

    fn text(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Waits until `script` returns true.
    fn wait(&self, what: &str, script: &str) {
        let started = Instant::now();
        while self.js(script, json!([])) != json!(true) {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "timed out waiting for {what}; the page shows: {}",
                self.text("body")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_text(&self, css: &str, want: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.textContent === {};",
            json!(css),
            json!(want)
        );
        self.wait(&format!("{css} to read {want:?}"), &script);
    }

    fn screenshot(&self) -> Vec<u8> {
        let b64 = self.call("GET", &self.s("/screenshot"), None);
        base64_decode(b64.as_str().expect("base64 text"))
    }

    /// Width, height and the number of distinct colours of a PNG, decoded
    /// by the browser (drawn on a canvas, every pixel read back).
    fn png_stats(&self, png: &[u8]) -> (u64, u64, u64) {
        let b64 = base64_encode(png);
        let v = self.js(
            "const img = new Image();
             img.src = 'data:image/png;base64,' + arguments[0];
             return img.decode().then(() => {
               const c = document.createElement('canvas');
               c.width = img.naturalWidth; c.height = img.naturalHeight;
               const g = c.getContext('2d'); g.drawImage(img, 0, 0);
               const d = g.getImageData(0, 0, c.width, c.height).data;
               const seen = new Set();
               for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
               return [c.width, c.height, seen.size];
             });",
            json!([b64]),
        );
        let n = |i: usize| v[i].as_u64().expect("a number");
        (n(0), n(1), n(2))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                &self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                Some(""),
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = B64.iter().position(|b| *b == c).expect("base64 digit") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_round_trips() {
    for s in [&b""[..], b"a", b"ab", b"abc", b"\x89PNG\r\n\x1a\n\x00\xff"] {
        assert_eq!(base64_decode(&base64_encode(s)), s);
    }
    assert_eq!(base64_encode(b"Man"), "TWFu");
}

const XSS: &str = "<script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\"> done";

/// The shipped assistant suite (a prompt target and judges, replayed from
/// its cassettes) and a suite whose fixed output is markup.
fn project() -> TestProject {
    let repo = repo_root();
    let copy = |from: &str| std::fs::read_to_string(repo.join(from)).expect(from);
    let p = TestProject::with(&[
        ("tribunal.yaml", &copy("tribunal.yaml")),
        ("evals/assistant.yaml", &copy("evals/assistant.yaml")),
        (
            "evals/markup.yaml",
            &format!(
                "suite: markup\ncases:\n  - id: script-output\n    tags: [feature:markup]\n    input: Show me HTML\n    output: {}\n    checks:\n      - contains: done\n",
                serde_json::to_string(XSS).expect("JSON")
            ),
        ),
    ]);
    for dir in ["fixtures/cassettes/assistant", "evals/snapshots"] {
        for e in std::fs::read_dir(repo.join(dir)).expect(dir).flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if dir.ends_with("snapshots") && !name.starts_with("assistant__") {
                continue;
            }
            let rel = format!("{dir}/{name}");
            if e.path().is_dir() {
                for f in std::fs::read_dir(e.path()).expect("cassette dir").flatten() {
                    let bytes = std::fs::read(f.path()).expect("cassette");
                    p.write(&format!("{rel}/{}", f.file_name().to_string_lossy()), bytes);
                }
            } else {
                p.write(&rel, std::fs::read(e.path()).expect("file"));
            }
        }
    }
    let run = p.tribunal(&["test", "--root", "."]).ci(true).output();
    assert!(p.exists("target/tribunal/last.json"), "{}", run.text());
    p
}

/// Saves a screenshot under `target/review-screenshots/` (and, with
/// `TRIBUNAL_BLESS=1` outside CI, as the picture `docs/review.md` shows).
fn keep_screenshot(name: &str, png: &[u8]) {
    let dir = repo_root().join("target/review-screenshots");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join(name), png).expect("write screenshot");
    if std::env::var("TRIBUNAL_BLESS").as_deref() == Ok("1") && !tribunal::config::ci_from_env() {
        std::fs::write(repo_root().join("docs/images").join(name), png).expect("bless screenshot");
    }
}

fn assert_not_blank(b: &Browser, png: &[u8]) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (w, h, colours) = b.png_stats(png);
    assert!(w == 1280 && h > 600, "the window's viewport, not {w}x{h}");
    assert!(
        colours > 50,
        "a blank page has a handful of colours, this one {colours}"
    );
}

#[test]
fn the_expert_labels_in_a_real_browser_and_sees_what_align_sees() {
    let Some(chromium) = chromium() else { return };
    let Some(driver) = chromedriver() else { return };
    let p = project();
    let server = Server::start(&p, &[]);
    let b = Browser::start(&driver, &chromium, &p.join("profile"));
    b.go(&server.url);

    // Asked once for a name.
    b.wait(
        "the name form",
        "return !document.getElementById('ask-name').hidden;",
    );
    b.type_into("#annotator-name", "Dana Expert");
    b.click("#ask-name button");
    b.wait_text("#who", "labelling as Dana Expert");
    b.wait_text("#progress", "0 of 4 labelled");

    // 1: blind until labelled; `c` focuses the critique; Escape leaves it; `p`.
    b.wait_text("#trial-id", "assistant::return-window");
    assert_eq!(
        b.js(
            "return document.getElementById('judge-side') === null;",
            json!([])
        ),
        json!(true),
        "blind"
    );
    b.keys("c");
    assert_eq!(
        b.js("return document.activeElement.id;", json!([])),
        json!("critique")
    );
    b.keys("States the 30-day window plainly.\u{E007}Offers the warranty route.\u{E00C}");
    b.keys("p");
    b.wait_text("#progress", "1 of 4 labelled");
    b.wait(
        "the judge's verdict",
        "return !!document.getElementById('judge-side');",
    );
    let judge = b.text("#judge-side");
    assert!(
        judge.contains("return policy") && judge.contains("pass"),
        "{judge}"
    );

    // 2: `j`, a critique typed in the box, the Fail button clicked.
    b.keys("j");
    b.wait_text("#trial-id", "assistant::delivery-delay");
    b.type_into("#critique", "Vague: no tracking link, no date.");
    b.click("#btn-fail");
    b.wait_text("#progress", "2 of 4 labelled");

    // 3: `j`, failure modes, `f`; then `u` undoes it.
    b.keys("j");
    b.wait_text("#trial-id", "assistant::invents-a-discount");
    b.type_into("#modes", "invented offer");
    b.keys("\u{E00C}f");
    b.wait_text("#progress", "3 of 4 labelled");
    b.keys("u");
    b.wait_text("#progress", "2 of 4 labelled");
    b.wait_text("#banner", "Undone: assistant::invents-a-discount");

    // A reload shows what the file holds.
    b.refresh();
    b.wait_text("#progress", "2 of 4 labelled");
    let labels = p.read("fixtures/labels/assistant.yaml");
    insta::assert_snapshot!(
        "review_browser_label_file",
        labels.replace(&tribunal::labels::today(), "[DATE]")
    );
    let png = b.screenshot();
    assert_not_blank(&b, &png);
    keep_screenshot("review-trial.png", &png);

    // An output that is markup renders as text and runs nothing.
    b.click("#queue li[data-id='markup::script-output']");
    b.wait_text("#trial-id", "markup::script-output");
    assert_eq!(b.text("#output"), XSS);
    assert_eq!(
        b.js("return [typeof window.__xss, document.querySelectorAll('#trial script, #trial img').length];", json!([])),
        json!(["undefined", 0])
    );

    // The agreement view shows tribunal align's numbers.
    b.click("#tab-agreement");
    b.click("#run-align");
    b.wait(
        "the alignment",
        "return !!document.querySelector('.align-text');",
    );
    assert_eq!(
        b.js(
            "return getComputedStyle(document.getElementById('view-queue')).display;",
            json!([])
        ),
        json!("none"),
        "one view at a time"
    );
    let shown = b.text(".align-text");
    let align = p.tribunal(&["align", "--root", "."]).ci(true).output();
    assert_eq!(shown, align.stdout, "{}", align.stderr);
    let agreement = align
        .stdout
        .split("  agreement ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("tribunal align prints the agreement");
    assert_eq!(
        b.text("#overall-assistant tr:nth-child(2) td:nth-child(3)"),
        agreement
    );
    let png = b.screenshot();
    assert_not_blank(&b, &png);
    keep_screenshot("review-agreement.png", &png);

    // The judge improvement loop: a disagreement picked as a few-shot
    // example is marked in the label file; the alignment runs again and
    // shows before and after.
    b.click("input.pick[data-id='assistant::delivery-delay']");
    b.wait_text("#banner", "Picked assistant::delivery-delay as a few-shot example; run the alignment again to see the effect.");
    let file = tribunal::labels::LabelFile::load(&p.join("fixtures/labels/assistant.yaml"))
        .expect("parses")
        .expect("exists");
    let picked: Vec<(&str, bool)> = file
        .labels
        .iter()
        .map(|l| (l.case.as_str(), l.few_shot))
        .collect();
    assert_eq!(picked, [("return-window", false), ("delivery-delay", true)]);
    b.click("#run-align");
    b.wait(
        "before and after",
        "return !!document.querySelector('.before-after');",
    );
    let before_after = b.text(".before-after");
    assert!(
        before_after.starts_with(&format!("agreement before {agreement} → after ")),
        "{before_after}"
    );

    // The error analysis crosses the failures by dimension.
    b.click("#tab-analysis");
    b.wait(
        "the analysis",
        "return !!document.getElementById('failures');",
    );
    let failures = b.text("#failures");
    assert!(
        failures.contains("assistant::delivery-delay")
            && failures.contains("Vague: no tracking link"),
        "{failures}"
    );
    let png = b.screenshot();
    assert_not_blank(&b, &png);
    keep_screenshot("review-analysis.png", &png);

    // The run replaced under the open page: the page says so, keeps what
    // the expert was typing and labels nothing against the old outputs.
    b.click("#tab-queue");
    b.click("#queue li[data-id='assistant::invents-a-discount']");
    b.wait_text("#trial-id", "assistant::invents-a-discount");
    b.type_into("#critique", "Half-written thought");
    let rerun = p.tribunal(&["test", "--root", "."]).ci(true).output();
    assert!(p.exists("target/tribunal/last.json"), "{}", rerun.text());
    b.wait(
        "the replaced-run notice",
        "return document.getElementById('banner').textContent.startsWith('The run was replaced while this page was open');",
    );
    assert_eq!(
        b.js("return [document.getElementById('critique').value, document.getElementById('btn-fail').disabled];", json!([])),
        json!(["Half-written thought", true])
    );
    b.keys("\u{E00C}f");
    assert_eq!(
        b.text("#progress"),
        "2 of 4 labelled",
        "nothing was labelled"
    );
}
