//! `tribunal review` on a synthetic 1,000-trial run: what the page costs to
//! load and what one label costs, end to end over HTTP on 127.0.0.1 (the
//! server in this process, a real client). Prints figures; no assertions on
//! time. Run with `cargo bench --bench review` (optionally `-- N` for
//! another size).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tribunal::report::sample;
use tribunal::review::{Options, Review, Source};

fn stats(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
    println!(
        "{label:<44} median {:>8.2} ms   p95 {:>8.2} ms   (n={})",
        ms(median),
        ms(p95),
        times.len()
    );
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let mut run = sample::run(n, 0.8, 7);
    // Outputs of a realistic length: a few paragraphs each.
    for (i, r) in run.records.iter_mut().enumerate() {
        if let Some(o) = &mut r.verdict.output {
            o.text = format!(
                "Answer {i}. {}",
                "Returns are accepted within 30 days of delivery; after that we offer store credit or a repair. ".repeat(12)
            );
        }
    }
    let results = root.join("target/tribunal/last.json");
    std::fs::create_dir_all(results.parent().expect("parent")).expect("mkdir");
    std::fs::write(&results, run.to_json()).expect("write results");
    let mut opts = Options::new(root.clone(), Source::Last(results));
    opts.annotator = Some("bench".into());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let started = Instant::now();
        let review = Review::new(opts).expect("review");
        let bound = review.bind().await.expect("bind");
        println!(
            "tribunal review benchmarks, {n} trials ({} records); server ready in {:.1} ms",
            run.records.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        let url = bound.url.clone();
        tokio::spawn(bound.serve());
        let client = reqwest::Client::new();
        let get = |path: &str| {
            let client = client.clone();
            let u = format!("{url}{}", path.trim_start_matches('/'));
            async move {
                let resp = client.get(u).send().await.expect("GET");
                assert!(resp.status().is_success(), "{}", resp.status());
                resp.bytes().await.expect("body")
            }
        };
        let page = get("/").await;
        let text = String::from_utf8_lossy(&page);
        let at = text.find("name=\"csrf\" content=\"").expect("csrf") + 21;
        let csrf = text[at..at + 32].to_string();

        let mut load = Vec::new();
        let mut state_bytes = 0;
        for _ in 0..20 {
            let t = Instant::now();
            for p in ["/", "/app.js", "/app.css"] {
                get(p).await;
            }
            state_bytes = get("/api/state").await.len();
            load.push(t.elapsed());
        }
        stats("page load (/, app.js, app.css, /api/state)", load);
        println!("{:<44} {:>8.1} KiB", "  /api/state size", state_bytes as f64 / 1024.0);

        let state: Value = serde_json::from_slice(&get("/api/state").await).expect("JSON");
        let run_id = state["run_id"].clone();
        let trials: Vec<String> = state["trials"]
            .as_array()
            .expect("trials")
            .iter()
            .filter_map(|t| t["id"].as_str().map(str::to_string))
            .collect();
        let mut label = Vec::new();
        for (i, id) in trials.iter().take(200).enumerate() {
            let body = json!({
                "trial": id,
                "verdict": if i % 3 == 0 { "fail" } else { "pass" },
                "critique": format!("Critique {i}: names the window but not the next step.\nSecond line."),
                "tags": ["policy"],
                "run_id": run_id,
            });
            let t = Instant::now();
            let resp = client
                .post(format!("{url}api/label"))
                .header("X-Tribunal-CSRF", &csrf)
                .json(&body)
                .send()
                .await
                .expect("POST");
            assert!(resp.status().is_success(), "{}", resp.text().await.unwrap_or_default());
            resp.bytes().await.expect("body");
            label.push(t.elapsed());
        }
        stats("label round-trip (write in place, 1-200 labels)", label);
        let mut undo = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let resp = client
                .post(format!("{url}api/undo"))
                .header("X-Tribunal-CSRF", &csrf)
                .json(&json!({}))
                .send()
                .await
                .expect("POST");
            assert!(resp.status().is_success());
            resp.bytes().await.expect("body");
            undo.push(t.elapsed());
        }
        stats("undo round-trip (180 labels)", undo);
        let mut poll = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            get("/api/poll").await;
            poll.push(t.elapsed());
        }
        stats("poll (the page's check for a replaced run)", poll);
        let mut analysis = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            get("/api/analysis").await;
            analysis.push(t.elapsed());
        }
        stats("error analysis", analysis);
    });
}
