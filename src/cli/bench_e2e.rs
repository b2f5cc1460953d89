//! `tribunal bench --e2e`: the end-to-end benchmark. It generates an N-case
//! suite in a temporary project (each case a fixed output of about 1 KB
//! judged by one `judge` check: each judge prompt is about 2 KB; with
//! `--target` a prompt target makes the output first) and runs it through the
//! harness in this process, exactly as `tribunal test` does (loading,
//! expansion, evaluation, cassettes, snapshots, reports and history), against
//! the loopback server of the provider-layer benchmark:
//!
//! 1. `cold`: live calls, nothing recorded, no snapshot written;
//! 2. `record`: live calls recorded to cassettes, snapshots accepted;
//! 3. `warm`: replayed from the cassettes, snapshots compared (the steady
//!    state of a suite in CI);
//! 4. `first`: replayed again with no accepted snapshot (the accepted ones
//!    are moved aside), so every trial writes a pending `.snap.new` (a
//!    suite's first runs). The accepted snapshots are put back afterwards,
//!    so a project kept with `--dir` replays as the `warm` phase did.
//!
//! Each phase reports wall time (and, for live phases, the ideal: the
//! server's latency times the rounds the concurrency allows), CPU per case
//! (the process's user and system time minus the server thread's) and peak
//! RSS (reset before each phase through `/proc/self/clear_refs`). The harness
//! runs quietly: libtest's per-trial lines are not printed, the reports are
//! written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Env;
use crate::provider::mock::{MockReply, MockServer};
use crate::verdict::Outcome;

/// What the end-to-end benchmark runs.
#[derive(Debug, Clone, PartialEq)]
pub struct E2eArgs {
    /// Cases in the generated suite.
    pub cases: usize,
    /// Trials evaluated at once (`TRIBUNAL_CONCURRENCY`; calls in flight follow it).
    pub concurrency: usize,
    /// The loopback server's latency per call.
    pub latency_ms: u64,
    /// Whether each case's output comes from a prompt target (one more call
    /// per case) instead of a fixed output.
    pub target: bool,
    /// Where the project is generated (a temporary folder when `None`); it
    /// is removed afterwards unless given.
    pub dir: Option<PathBuf>,
}

/// One phase's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// `cold`, `record`, `warm` or `first`.
    pub name: &'static str,
    /// Wall time of the harness run, seconds.
    pub wall_s: f64,
    /// Ideal wall time of a live phase, seconds (`None` when replayed or
    /// when the server answers at once).
    pub ideal_s: Option<f64>,
    /// Client CPU per case (server thread excluded), milliseconds.
    pub cpu_ms_per_case: Option<f64>,
    /// Peak resident memory during the phase, MB.
    pub peak_rss_mb: Option<f64>,
    /// HTTP requests the server answered during the phase.
    pub calls: u64,
}

/// The benchmark's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct E2eReport {
    /// What was run.
    pub args: E2eArgs,
    /// Bytes of the first judge prompt the server received.
    pub judge_prompt_bytes: usize,
    /// The phases, in order.
    pub phases: Vec<Phase>,
}

impl E2eReport {
    /// The phase called `name`.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// Human lines, then one machine-readable line per phase.
    pub fn render(&self) -> String {
        let opt = |v: Option<f64>, digits: usize| {
            v.map_or("n/a".to_string(), |v| format!("{v:.digits$}"))
        };
        let a = &self.args;
        let mut s = format!(
            "end to end (tribunal test's harness in process): {} cases, {} at once, latency {} ms, {}, judge prompt {} bytes\n",
            a.cases,
            a.concurrency,
            a.latency_ms,
            if a.target {
                "prompt target + judge (2 calls per case)"
            } else {
                "fixed outputs + judge (1 call per case)"
            },
            self.judge_prompt_bytes
        );
        for p in &self.phases {
            let ratio = p.ideal_s.filter(|i| *i > 0.0).map(|i| p.wall_s / i);
            let _ = writeln!(
                s,
                "{:<6} wall {:.3} s, ideal {} s, wall/ideal {}, cpu per case {} ms, peak rss {} MB, calls {}",
                p.name,
                p.wall_s,
                opt(p.ideal_s, 3),
                opt(ratio, 3),
                opt(p.cpu_ms_per_case, 3),
                opt(p.peak_rss_mb, 1),
                p.calls
            );
        }
        if let (Some(first), Some(warm)) = (self.phase("first"), self.phase("warm")) {
            let _ = writeln!(
                s,
                "first run (pending snapshots) / accepted run: {:.2}",
                first.wall_s / warm.wall_s.max(1e-9)
            );
        }
        for p in &self.phases {
            let ratio = p.ideal_s.filter(|i| *i > 0.0).map(|i| p.wall_s / i);
            let _ = writeln!(
                s,
                "e2e phase={} cases={} concurrency={} wall_s={:.3} wall_over_ideal={} cpu_ms_per_case={} peak_rss_mb={} calls={}",
                p.name,
                a.cases,
                a.concurrency,
                p.wall_s,
                opt(ratio, 3),
                opt(p.cpu_ms_per_case, 3),
                opt(p.peak_rss_mb, 1),
                p.calls
            );
        }
        s
    }
}

const JUDGE_MODEL: &str = "bench-judge";
const TARGET_MODEL: &str = "bench-target";

/// Runs the end-to-end benchmark. Every trial of every phase must pass (the
/// server's judge says pass); anything else is an error naming the trial.
pub fn run(args: &E2eArgs) -> Result<E2eReport, String> {
    let latency = Duration::from_millis(args.latency_ms);
    let first_prompt = std::sync::Arc::new(std::sync::Mutex::new(None::<usize>));
    let seen = std::sync::Arc::clone(&first_prompt);
    let target_answer = output_text(0);
    let server = MockServer::start(false, move |r, _| {
        let target = find(&r.body, TARGET_MODEL.as_bytes());
        if !target && let Ok(mut s) = seen.lock() {
            s.get_or_insert_with(|| judge_prompt_len(&r.body));
        }
        let reply = if target {
            MockReply::openai(&target_answer, 40, 400)
        } else {
            MockReply::openai(
                r#"{"critique": "The reply states the window and the next step.", "pass": true}"#,
                520,
                14,
            )
        };
        reply.after(latency)
    })
    .map_err(|e| format!("cannot start the loopback server: {e}"))?;
    let (root, remove) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("tribunal-bench-e2e-{}", std::process::id())),
            true,
        ),
    };
    let result = generate(&root, args, &server.url()).and_then(|()| phases(&root, args, &server));
    if remove {
        let _ = std::fs::remove_dir_all(&root);
    }
    let phases = result?;
    let judge_prompt_bytes = first_prompt.lock().ok().and_then(|p| *p).unwrap_or(0);
    Ok(E2eReport {
        args: args.clone(),
        judge_prompt_bytes,
        phases,
    })
}

fn phases(root: &Path, args: &E2eArgs, server: &MockServer) -> Result<Vec<Phase>, String> {
    let calls_per_case = if args.target { 2 } else { 1 };
    let rounds = args.cases.div_ceil(args.concurrency.max(1)) as f64;
    let ideal = (args.latency_ms > 0)
        .then(|| rounds * calls_per_case as f64 * args.latency_ms as f64 / 1000.0);
    let server_stat = server
        .thread_id()
        .map(|t| format!("/proc/self/task/{t}/stat"));
    let snapshots = root.join("evals").join("snapshots");
    let accepted_aside = root.join("snapshots.accepted");
    let mut out = Vec::new();
    for (name, mode, update) in [
        ("cold", "live", "no"),
        ("record", "record", "always"),
        ("warm", "replay", "no"),
        ("first", "replay", "auto"),
    ] {
        if name == "first" {
            // Moved aside, not deleted: ext4 avoids reusing the inodes of
            // files deleted in the last minute or so, and allocating next to
            // 1,000 of them makes each file creation several times slower
            // (`recently_deleted` in a profile). A suite's first run follows
            // no such mass deletion, so the phase should not either.
            std::fs::rename(&snapshots, &accepted_aside).map_err(|e| {
                format!(
                    "cannot move {} to {}: {e}",
                    snapshots.display(),
                    accepted_aside.display()
                )
            })?;
        }
        let env = Env::from_vars([
            ("TRIBUNAL_MODE", mode),
            ("INSTA_UPDATE", update),
            ("TRIBUNAL_CONCURRENCY", &args.concurrency.to_string()),
        ]);
        let harness =
            crate::Harness::new()
                .root(root)
                .env(env)
                .rerun(crate::rerun::Rerun::Tribunal {
                    root: root.display().to_string(),
                });
        let argv = libtest_mimic::Arguments::from_iter(["tribunal-bench".to_string()]);
        reset_peak_rss();
        let calls0 = server.count();
        let cpu0 = cpu_ticks("/proc/self/stat");
        let srv0 = server_stat.as_deref().and_then(cpu_ticks).unwrap_or(0);
        let started = Instant::now();
        let outcome = harness.run_quietly(&argv);
        let wall_s = started.elapsed().as_secs_f64();
        let cpu1 = cpu_ticks("/proc/self/stat");
        let srv1 = server_stat.as_deref().and_then(cpu_ticks).unwrap_or(0);
        if let Some(e) = outcome.load_errors.first() {
            return Err(format!("the {name} phase could not run: {e}"));
        }
        if outcome.records.len() != args.cases {
            return Err(format!(
                "the {name} phase ran {} trials of {}",
                outcome.records.len(),
                args.cases
            ));
        }
        if let Some(bad) = outcome
            .records
            .iter()
            .find(|r| r.verdict.outcome != Outcome::Pass)
        {
            return Err(format!(
                "the {name} phase: trial {} did not pass: {}",
                bad.verdict.trial,
                bad.verdict.error.as_deref().unwrap_or("(see its checks)")
            ));
        }
        let calls = server.count() - calls0;
        let live = mode != "replay";
        let expected = if live {
            (args.cases * calls_per_case) as u64
        } else {
            0
        };
        if calls != expected {
            return Err(format!(
                "the {name} phase made {calls} calls, expected {expected}"
            ));
        }
        // Linux counts CPU time in ticks of 10 ms (USER_HZ = 100).
        let cpu_ms_per_case = match (cpu0, cpu1) {
            (Some(a), Some(b)) if args.cases > 0 => {
                Some((b - a).saturating_sub(srv1 - srv0) as f64 * 10.0 / args.cases as f64)
            }
            _ => None,
        };
        out.push(Phase {
            name,
            wall_s,
            ideal_s: ideal.filter(|_| live),
            cpu_ms_per_case,
            peak_rss_mb: peak_rss_mb(),
            calls,
        });
    }
    let pending = count_files(&snapshots, ".snap.new");
    if pending != args.cases {
        return Err(format!(
            "the first phase left {pending} pending snapshots, expected {}",
            args.cases
        ));
    }
    // Once every phase is timed: the pending snapshots go, the accepted
    // ones come back.
    std::fs::remove_dir_all(&snapshots)
        .and_then(|()| std::fs::rename(&accepted_aside, &snapshots))
        .map_err(|e| {
            format!(
                "cannot put the accepted snapshots back from {}: {e}",
                accepted_aside.display()
            )
        })?;
    Ok(out)
}

/// The judged output of case `i`: about 1 KB of support-reply prose (the judge
/// prompt around it is about 2 KB),
/// different per case so every judge prompt (and cassette key) is its own.
fn output_text(i: usize) -> String {
    let mut s = format!("Reply {i}: thank you for writing to us about order {i}. ");
    let sentences = [
        "You can return any item within 30 days of delivery for a full refund to the original payment method.",
        "Items must be unused and in their original packaging, with the receipt or order number at hand.",
        "To start a return, open Orders, choose the item and select Return; a prepaid label is emailed within an hour.",
        "Refunds are issued within five business days after the parcel reaches our warehouse.",
        "If the 30-day window has passed, we can offer store credit for the item's current price instead.",
        "Gift purchases are refunded as a gift card to the recipient rather than to the buyer's card.",
    ];
    let mut k = i;
    while s.len() < 950 {
        s.push_str(sentences[k % sentences.len()]);
        s.push(' ');
        k += 1;
    }
    s
}

fn generate(root: &Path, args: &E2eArgs, url: &str) -> Result<(), String> {
    let evals = root.join("evals");
    if root.exists() {
        std::fs::remove_dir_all(root)
            .map_err(|e| format!("cannot clear {}: {e}", root.display()))?;
    }
    std::fs::create_dir_all(&evals)
        .map_err(|e| format!("cannot create {}: {e}", evals.display()))?;
    let config = format!(
        "providers:\n  judge:\n    kind: openai\n    model: {JUDGE_MODEL}\n    base_url: {url}/v1\n  writer:\n    kind: openai\n    model: {TARGET_MODEL}\n    base_url: {url}/v1\nretry: {{max_attempts: 2, timeout_s: 60, budget_s: 120}}\n"
    );
    let mut suite = String::from(
        "suite: bench\ndescription: Generated by tribunal bench --e2e.\njudge:\n  provider: judge\n",
    );
    if args.target {
        suite.push_str("defaults:\n  target:\n    prompt:\n      provider: writer\n      template: \"Answer the customer: {{ input }}\"\n");
    }
    suite.push_str("cases:\n");
    for i in 0..args.cases {
        let _ = writeln!(suite, "  - id: case-{i:05}");
        if args.target {
            let _ = writeln!(
                suite,
                "    input: \"Question {i}: how do I return order {i}?\""
            );
        } else {
            let _ = writeln!(suite, "    output: \"{}\"", output_text(i));
        }
        suite.push_str("    checks:\n      - judge:\n          criteria: The reply states the 30-day return window, does not promise a refund outside it, and gives the next step.\n");
    }
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(root.join("tribunal.yaml"), &config)?;
    write(evals.join("bench.yaml"), &suite)
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The length of the judge request's user message (the rendered prompt).
fn judge_prompt_len(body: &[u8]) -> usize {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    v["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["content"].as_str())
                .map(str::len)
                .sum()
        })
        .unwrap_or(0)
}

fn count_files(dir: &Path, suffix: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
                .count()
        })
        .unwrap_or(0)
}

pub(crate) fn cpu_ticks(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let after = text.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

pub(crate) fn peak_rss_mb() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak RSS (`VmHWM`) to the current RSS, so that each phase
/// reports its own peak; when the kernel refuses, peaks accumulate.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
