//! The provider commands of the `tribunal` CLI: `cassettes list|prune` and
//! `tribunal bench`.
//!
//! Prune works from usage logs: every run that replays or records a cassette
//! appends its path to `target/tribunal/cassette-usage/<pid>-<time>.log`
//! (one file per process, so concurrent nextest processes never share one).
//! `cassettes prune` removes cassette files named in no log, then clears the
//! logs. Run the whole suite first (`cargo test --test evals`), then prune;
//! it is a dry run unless `--yes` is given.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bench_e2e::{cpu_ticks, peak_rss_mb};
use crate::provider::cassette;
use crate::provider::config::{NamedProvider, ProjectConfig, ProviderKind};
use crate::provider::mock::{MockReply, MockServer};
use crate::provider::{CallSite, ChatRequest, Message, Mode, Options, Providers, usage_dir};

/// Provider subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List or prune recorded model calls under `fixtures/cassettes/`.
    Cassettes {
        /// What to do.
        #[command(subcommand)]
        action: CassetteAction,
    },
    /// Push synthetic cases (one judge call each) through the provider layer
    /// against a loopback OpenAI-compatible server and print wall time
    /// against ideal, CPU per case, peak RSS and calls made.
    #[command(name = "bench")]
    BenchProviders(BenchArgs),
}

/// `cassettes` actions.
#[derive(Debug, clap::Subcommand)]
pub enum CassetteAction {
    /// List cassette files, per suite and case.
    List {
        /// Project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Remove cassette files no run has used since the last prune.
    Prune {
        /// Project root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Really delete (otherwise only list what would go).
        #[arg(long)]
        yes: bool,
    },
}

/// `tribunal bench` options.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Synthetic cases, one call each.
    #[arg(long, default_value_t = 1000)]
    pub cases: usize,
    /// Calls in flight at most.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Server latency per call, in milliseconds (the stand-in server's; with
    /// `--base-url` the latency is the external server's own and no ideal
    /// time is computed).
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Also time a warm replay of the same calls from cassettes.
    #[arg(long)]
    pub replay: bool,
    /// An external OpenAI-compatible server instead of the built-in one.
    #[arg(long)]
    pub base_url: Option<String>,
    /// The model named in every request (an external server needs one it serves).
    #[arg(long, default_value = "bench-model")]
    pub model: String,
    /// The key sent as `Authorization: Bearer` to `--base-url` (the built-in
    /// server needs none).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Also run the end-to-end benchmark: a generated suite of `--cases`
    /// judged cases through the whole harness, cold, record, warm replay and
    /// first run, printed after the provider-layer figures.
    #[arg(long)]
    pub e2e: bool,
    /// With `--e2e`: each case's output comes from a prompt target (one more
    /// call per case) instead of a fixed output.
    #[arg(long, requires = "e2e")]
    pub target: bool,
    /// With `--e2e`: generate the project in this folder and keep it (to
    /// profile `tribunal test --root DIR` on it), instead of a temporary one.
    #[arg(long, requires = "e2e")]
    pub dir: Option<PathBuf>,
}

/// Runs a provider subcommand.
pub fn run(cmd: Command) -> ExitCode {
    let result = match cmd {
        Command::Cassettes {
            action: CassetteAction::List { root },
        } => list(&root),
        Command::Cassettes {
            action: CassetteAction::Prune { root, yes },
        } => prune(&root, yes),
        Command::BenchProviders(args) => bench_all(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tribunal: {e}");
            crate::exit::code(crate::exit::TOOL_ERROR)
        }
    }
}

/// `tribunal bench`: the provider-layer benchmark, then with `--e2e` the
/// end-to-end one, each printed under its own heading.
fn bench_all(args: &BenchArgs) -> Result<(), String> {
    let layer = bench(args)?;
    println!(
        "provider layer (Providers::chat alone, no harness):\n{}",
        layer.render()
    );
    if args.e2e {
        if args.base_url.is_some() {
            return Err(
                "--e2e runs against the built-in loopback server (hint: drop --base-url)".into(),
            );
        }
        let report = super::bench_e2e::run(&super::bench_e2e::E2eArgs {
            cases: args.cases,
            concurrency: args.concurrency,
            latency_ms: args.latency_ms,
            target: args.target,
            dir: args.dir.clone(),
        })?;
        print!("{}", report.render());
    }
    Ok(())
}

fn cassette_dir(root: &Path) -> Result<PathBuf, String> {
    let file = crate::config::ProjectFile::load(root).map_err(|e| e.to_string())?;
    Ok(root.join(file.providers.cassettes.dir))
}

fn list(root: &Path) -> Result<(), String> {
    let dir = cassette_dir(root)?;
    let files: Vec<PathBuf> = cassette::list(&dir)
        .into_iter()
        .filter(|f| cassette::is_cassette(f))
        .collect();
    for f in &files {
        println!("{}", f.strip_prefix(root).unwrap_or(f).display());
    }
    println!("{} cassette file(s) under {}", files.len(), dir.display());
    Ok(())
}

/// The cassette files that prune would remove: those under the cassette
/// folder that no usage log names. An error when there are no logs.
pub fn unused(root: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = cassette_dir(root)?;
    let logs = usage_dir(root);
    let mut used = BTreeSet::new();
    let mut any = false;
    if let Ok(rd) = std::fs::read_dir(&logs) {
        for e in rd.flatten() {
            any = true;
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            used.extend(text.lines().map(|l| dir.join(l)));
        }
    }
    if !any {
        return Err(format!(
            "no usage logs under {} (hint: run the whole suite first (`{}`), then prune)",
            logs.display(),
            crate::rerun::Rerun::for_project(root).all()
        ));
    }
    // Only cassettes by their content: with `dir: .` the suites and
    // tribunal.yaml are under the folder too, and are never touched.
    Ok(cassette::list(&dir)
        .into_iter()
        .filter(|f| !used.contains(f) && cassette::is_cassette(f))
        .collect())
}

fn prune(root: &Path, yes: bool) -> Result<(), String> {
    let mut gone = unused(root)?;
    let leftovers = cassette::leftovers(&cassette_dir(root)?);
    for f in &leftovers {
        let shown = f.strip_prefix(root).unwrap_or(f).display().to_string();
        if yes {
            std::fs::remove_file(f).map_err(|e| format!("cannot remove {shown}: {e}"))?;
            println!("removed {shown} (left by an interrupted write)");
        } else {
            println!("would remove {shown} (left by an interrupted write)");
        }
    }
    // Checked again just before removal: a file rewritten meanwhile stays.
    gone.retain(|f| cassette::is_cassette(f));
    for f in &gone {
        let shown = f.strip_prefix(root).unwrap_or(f).display().to_string();
        if yes {
            std::fs::remove_file(f).map_err(|e| format!("cannot remove {shown}: {e}"))?;
            println!("removed {shown}");
        } else {
            println!("would remove {shown}");
        }
    }
    let since = "(used means: named by a run since the last prune; a file used before a prompt change counts until the next prune)";
    if yes {
        let _ = std::fs::remove_dir_all(usage_dir(root));
        println!(
            "{} unused cassette file(s) and {} leftover temporary file(s) removed {since}",
            gone.len(),
            leftovers.len()
        );
    } else {
        println!(
            "{} unused cassette file(s) and {} leftover temporary file(s) {since}; run again with --yes to remove them",
            gone.len(),
            leftovers.len()
        );
    }
    Ok(())
}

/// Figures from one benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// Cases run.
    pub cases: usize,
    /// Concurrency limit.
    pub concurrency: usize,
    /// Server latency.
    pub latency_ms: u64,
    /// Wall time of the live phase.
    pub wall_s: f64,
    /// `ceil(cases / concurrency) × latency`.
    pub ideal_s: f64,
    /// Client CPU per case (server thread excluded), milliseconds.
    pub cpu_ms_per_case: Option<f64>,
    /// Peak resident memory, MB.
    pub peak_rss_mb: Option<f64>,
    /// HTTP requests the server answered.
    pub calls: u64,
    /// Wall time of recording the same calls to cassettes (with `--replay`).
    pub record_s: Option<f64>,
    /// Wall time of the warm replay, when run.
    pub replay_s: Option<f64>,
    /// HTTP requests during the replay.
    pub replay_calls: Option<u64>,
}

impl BenchReport {
    /// Wall time over ideal time; `None` when the ideal is zero (a server
    /// with no latency has no ideal to compare with).
    pub fn wall_over_ideal(&self) -> Option<f64> {
        (self.ideal_s > 0.0).then(|| self.wall_s / self.ideal_s)
    }

    /// Human lines plus one machine-readable line.
    pub fn render(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
        let ratio = opt(self.wall_over_ideal());
        let mut s = format!(
            "cases {} concurrency {} latency {} ms\nwall {:.3} s, ideal {:.3} s, wall/ideal {}\ncpu per case {} ms, peak rss {} MB, calls {}\n",
            self.cases,
            self.concurrency,
            self.latency_ms,
            self.wall_s,
            self.ideal_s,
            ratio,
            opt(self.cpu_ms_per_case),
            opt(self.peak_rss_mb),
            self.calls
        );
        s.push_str(&format!(
            "throughput {:.0} calls/s\n",
            self.cases as f64 / self.wall_s.max(1e-9)
        ));
        if let Some(r) = self.record_s {
            s.push_str(&format!("recording the same calls {r:.3} s\n"));
        }
        if let (Some(r), Some(c)) = (self.replay_s, self.replay_calls) {
            s.push_str(&format!("warm replay {r:.3} s, calls {c}\n"));
        }
        s.push_str(&format!(
            "wall_s={:.3} ideal_s={:.3} wall_over_ideal={} cpu_ms_per_case={} peak_rss_mb={} calls={} calls_per_s={:.0}{}",
            self.wall_s,
            self.ideal_s,
            ratio,
            opt(self.cpu_ms_per_case),
            opt(self.peak_rss_mb),
            self.calls,
            self.cases as f64 / self.wall_s.max(1e-9),
            match (self.replay_s, self.replay_calls) {
                (Some(r), Some(c)) => format!(" replay_s={r:.3} replay_calls={c}"),
                _ => String::new(),
            }
        ));
        s
    }
}

/// The variable the benchmark's provider reads its key from (filled from
/// `--api-key`, never from the process environment directly).
const BENCH_KEY_ENV: &str = "TRIBUNAL_BENCH_API_KEY";

/// Runs the benchmark: `cases` calls through [`Providers::chat`] in live
/// mode (timed: wall, CPU, calls), then with `replay` the same calls recorded
/// into a temporary cassette folder and replayed from it.
pub fn bench(args: &BenchArgs) -> Result<BenchReport, String> {
    let latency = Duration::from_millis(args.latency_ms);
    let server = match &args.base_url {
        Some(_) => None,
        None => Some(
            MockServer::start(false, move |_, i| {
                MockReply::openai(&format!("answer {i}"), 12, 3).after(latency)
            })
            .map_err(|e| format!("cannot start the loopback server: {e}"))?,
        ),
    };
    let base = args
        .base_url
        .clone()
        .or_else(|| server.as_ref().map(|s| format!("{}/v1", s.url())))
        .unwrap_or_default();
    let tmp = std::env::temp_dir().join(format!("tribunal-bench-{}", std::process::id()));
    let mut config = ProjectConfig::default();
    config.limits.concurrency = Some(args.concurrency.max(1));
    config.limits.per_provider = Some(args.concurrency.max(1));
    config.providers.insert(
        "bench".into(),
        NamedProvider {
            kind: ProviderKind::Openai,
            model: Some(args.model.clone()),
            base_url: Some(base),
            api_key_env: Some(BENCH_KEY_ENV.into()),
            headers: Default::default(),
            params: Default::default(),
            price: None,
            concurrency: None,
            rpm: None,
            retry: None,
            structured_output: None,
        },
    );
    let env: std::collections::BTreeMap<String, String> = args
        .api_key
        .iter()
        .filter(|_| args.base_url.is_some())
        .map(|k| (BENCH_KEY_ENV.to_string(), k.clone()))
        .collect();
    let options = |mode| Options {
        mode,
        config: config.clone(),
        env: env.clone(),
        inherit_env: false,
        usage_dir: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let requests: Arc<Vec<ChatRequest>> = Arc::new(
        (0..args.cases)
            .map(|i| ChatRequest {
                messages: vec![Message::user(format!(
                    "Judge case {i}: is the answer right?"
                ))],
                ..ChatRequest::default()
            })
            .collect(),
    );
    let run_all = |providers: Providers| {
        let requests = Arc::clone(&requests);
        rt.block_on(async move {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..requests.len() {
                let (p, reqs) = (providers.clone(), Arc::clone(&requests));
                set.spawn(async move {
                    let site = CallSite {
                        suite: "bench".into(),
                        case_id: format!("case_{:03}", i / 100),
                        ..CallSite::default()
                    };
                    p.chat("bench", &reqs[i], &site).await.map(|_| ())
                });
            }
            let mut first_err = None;
            while let Some(r) = set.join_next().await {
                if let Ok(Err(e)) = r {
                    first_err.get_or_insert(e.to_string());
                }
            }
            first_err.map_or(Ok(()), Err)
        })
    };
    let live = Providers::with_options(&tmp, options(Mode::Live)).map_err(|e| e.to_string())?;
    let server_tid = server.as_ref().and_then(MockServer::thread_id);
    let server_path = server_tid.map(|t| format!("/proc/self/task/{t}/stat"));
    let cpu0 = cpu_ticks("/proc/self/stat");
    let srv0 = server_path.as_deref().and_then(cpu_ticks).unwrap_or(0);
    let started = Instant::now();
    run_all(live)?;
    let wall_s = started.elapsed().as_secs_f64();
    let cpu1 = cpu_ticks("/proc/self/stat");
    let srv1 = server_path.as_deref().and_then(cpu_ticks).unwrap_or(0);
    // Linux reports CPU time in clock ticks of 10 ms (USER_HZ = 100).
    let cpu_ms_per_case = match (cpu0, cpu1) {
        (Some(a), Some(b)) if args.cases > 0 => {
            Some(((b - a).saturating_sub(srv1 - srv0)) as f64 * 10.0 / args.cases as f64)
        }
        _ => None,
    };
    let calls = server.as_ref().map_or(args.cases as u64, MockServer::count);
    let mut record_s = None;
    let (replay_s, replay_calls) = if args.replay {
        let record =
            Providers::with_options(&tmp, options(Mode::Record)).map_err(|e| e.to_string())?;
        let t = Instant::now();
        run_all(record)?;
        record_s = Some(t.elapsed().as_secs_f64());
        let before = server.as_ref().map_or(0, MockServer::count);
        let replay =
            Providers::with_options(&tmp, options(Mode::Replay)).map_err(|e| e.to_string())?;
        let t = Instant::now();
        run_all(replay)?;
        (
            Some(t.elapsed().as_secs_f64()),
            Some(server.as_ref().map_or(0, MockServer::count) - before),
        )
    } else {
        (None, None)
    };
    let _ = std::fs::remove_dir_all(&tmp);
    // An external server's latency is not known, so neither is the ideal
    // time: its wall/ideal would compare with a number it never had.
    let ideal_s = if args.base_url.is_some() {
        0.0
    } else {
        args.cases.div_ceil(args.concurrency.max(1)) as f64 * latency.as_secs_f64()
    };
    Ok(BenchReport {
        cases: args.cases,
        concurrency: args.concurrency,
        latency_ms: args.latency_ms,
        wall_s,
        ideal_s,
        cpu_ms_per_case,
        peak_rss_mb: peak_rss_mb(),
        calls,
        record_s,
        replay_s,
        replay_calls,
    })
}
