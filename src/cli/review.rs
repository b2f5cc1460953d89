//! `tribunal review`: starts the review app for a domain expert (see
//! `docs/review.md` and [`crate::review`]).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `tribunal review`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The project root (where evals/ and fixtures/labels/ are).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Review this results file instead of the last run's (`target/tribunal/last.json`).
    #[arg(long, conflicts_with = "run")]
    pub results: Option<PathBuf>,
    /// Review this run of the report folder (`target/tribunal/runs/<ID>.json`).
    #[arg(long, conflicts_with = "drafts")]
    pub run: Option<String>,
    /// Read the drafts of `tribunal generate` (`evals/<suite>.drafts.jsonl`)
    /// before they become cases (no outputs to label yet).
    #[arg(long, conflicts_with = "results")]
    pub drafts: Option<PathBuf>,
    /// The annotator's name, recorded in every label (otherwise the page asks once).
    #[arg(long, env = "TRIBUNAL_LABELLER")]
    pub annotator: Option<String>,
    /// The port to listen on (default: a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Listen on this address instead of 127.0.0.1; needs `--token`.
    #[arg(long, requires = "token")]
    pub host: Option<IpAddr>,
    /// The access token every request must carry (`?token=` in the URL
    /// printed, then a cookie). Required with `--host`.
    #[arg(long, env = "TRIBUNAL_REVIEW_TOKEN")]
    pub token: Option<String>,
    /// Show the judges' verdicts before the expert labels (default: only after).
    #[arg(long)]
    pub no_blind: bool,
    /// Write labels to the annotator's own file (`fixtures/labels/<suite>.<annotator>.yaml`)
    /// so several experts can label the same trials; the agreement view
    /// shows Cohen's kappa for each pair of files.
    #[arg(long, requires = "annotator")]
    pub own_labels: bool,
}

/// Runs `tribunal review` until interrupted.
pub fn run(args: Args) -> ExitCode {
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            crate::exit::code(crate::exit::TOOL_ERROR)
        }
    }
}

#[cfg(feature = "review")]
fn serve(args: Args) -> Result<(), String> {
    use crate::review::{Options, Review, Source};
    let root = args.root;
    let settings = crate::report::Settings::from_env(&root).map_err(|e| e.to_string())?;
    let under_root = |f: PathBuf| if f.is_absolute() { f } else { root.join(f) };
    let source = match (args.results, args.run, args.drafts) {
        (_, _, Some(file)) => Source::Drafts(under_root(file)),
        (Some(file), _, _) => Source::File(under_root(file)),
        (None, Some(id), _) => {
            Source::File(settings.report_dir.join("runs").join(format!("{id}.json")))
        }
        (None, None, None) => Source::Last(settings.report_dir.join("last.json")),
    };
    if let Some(t) = &args.token
        && t.len() < 16
    {
        return Err("the access token is too short: use at least 16 characters (hint: `openssl rand -hex 16`)".into());
    }
    let mut opts = Options::new(root, source);
    opts.annotator = args.annotator.filter(|a| !a.trim().is_empty());
    opts.port = args.port;
    if let Some(h) = args.host {
        opts.host = h;
    }
    opts.token = args.token;
    opts.blind = !args.no_blind;
    opts.own_labels = args.own_labels;
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async move {
        let review = Review::new(opts)?;
        if let Some(e) = review.run_error() {
            eprintln!("tribunal review: {e}");
        }
        let bound = review.bind().await?;
        println!("tribunal review: {}", bound.url);
        println!("(open it in a browser; Ctrl-C stops the server)");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        bound.serve().await
    })
}

#[cfg(not(feature = "review"))]
fn serve(_args: Args) -> Result<(), String> {
    Err("this tribunal was built without the `review` feature (hint: `cargo install tribunal` builds it by default; do not pass `--no-default-features`)".into())
}
