//! Report generation and statistics throughput on a synthetic 10,000-trial
//! run. Prints figures; no assertions on time. Run with
//! `cargo bench --bench report` (optionally `-- N` for another size).

use std::hint::black_box;
use std::time::Instant;

use tribunal::report::history::History;
use tribunal::report::stats::{mcnemar_exact, wilcoxon_signed_rank, wilson_interval};
use tribunal::report::{Summary, compare, html, junit, markdown, sample, terminal_summary};

fn time<T>(label: &str, reps: u32, mut f: impl FnMut() -> T) {
    let _ = black_box(f());
    let start = Instant::now();
    for _ in 0..reps {
        black_box(f());
    }
    let per = start.elapsed().as_secs_f64() / reps as f64;
    println!("{label:<44} {:>10.3} ms", per * 1000.0);
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let base = sample::run(n, 0.85, 1);
    let head = sample::run(n, 0.80, 2);
    println!("tribunal report benchmarks, {n} trials per run");
    time("Summary::of", 20, || Summary::of(&head));
    time("terminal_summary", 20, || terminal_summary(&head));
    time("markdown::run_summary", 10, || markdown::run_summary(&head));
    time("junit::render", 10, || junit::render(&head));
    let page = html::render(&head, &[]);
    time("html::render", 5, || html::render(&head, &[]));
    println!(
        "{:<44} {:>10.1} KiB",
        "  html size",
        page.len() as f64 / 1024.0
    );
    let json = head.to_json();
    time("results JSON serialize", 5, || head.to_json());
    time("results JSON parse", 5, || {
        serde_json::from_str::<tribunal::report::RunResults>(&json).map(|r| r.records.len())
    });
    println!(
        "{:<44} {:>10.1} KiB",
        "  json size",
        json.len() as f64 / 1024.0
    );
    time("compare (pairing + McNemar + Wilcoxon + tags)", 10, || {
        compare(&base, &head)
    });
    let diffs: Vec<f64> = base
        .records
        .iter()
        .zip(&head.records)
        .map(|(b, h)| h.verdict.score - b.verdict.score)
        .collect();
    time("wilcoxon_signed_rank (normal approx.)", 20, || {
        wilcoxon_signed_rank(&diffs)
    });
    time("wilcoxon_signed_rank exact, n = 50", 200, || {
        wilcoxon_signed_rank(&diffs[..50])
    });
    time("mcnemar_exact (b + c = n)", 200, || {
        mcnemar_exact((n / 3) as u64, (n / 2) as u64)
    });
    time("wilson_interval", 10_000, || {
        wilson_interval(8_000, 10_000, 0.95)
    });
    let dir = std::env::temp_dir().join(format!("tribunal-bench-{}", std::process::id()));
    let db = dir.join("history.db");
    let mut h = History::open(&db).expect("open history");
    let mut i = 0;
    time("history store (one run, one transaction)", 5, || {
        i += 1;
        let mut r = head.clone();
        r.run_id = format!("bench-{i}");
        h.store(&r).expect("store")
    });
    time("history load by id", 5, || h.load("bench-1").expect("load"));
    time("history runs(50)", 20, || h.runs(50).expect("runs"));
    let _ = std::fs::remove_dir_all(&dir);
}
