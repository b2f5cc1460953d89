//! `tribunal generate truth` and `tribunal generate dimensions`: the
//! command-line side of the LLM generators in `dataset::synth` (the
//! `generate` command group itself is in `cli/generate.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;

use crate::case::{Suite, display_path, load_str, read_suite_file};
use crate::dataset::dimensions::{self, Selection};
use crate::dataset::generator::{Generator, MAX_TEMPLATE_BYTES};
use crate::dataset::roundtrip;
use crate::dataset::synth::{self, DIMENSIONS_TEMPLATE, Made, Outcome, Variety};
use crate::dataset::truth::{self, DEFAULT_TEMPLATE, Dialect};
use crate::dataset::{dedupe, drafts_out};
use crate::exit;
use crate::provider::Providers;

/// What the generators share on the command line.
#[derive(Debug, clap::Args)]
pub struct GeneratorArgs {
    /// The suite file the drafts are for (`evals/segment.yaml`); drafts go
    /// to `<suite>.drafts.jsonl` beside it.
    #[arg(long)]
    pub suite: PathBuf,
    /// The generator model: `openai:MODEL`, `anthropic:MODEL` or a provider
    /// named in tribunal.yaml.
    #[arg(long)]
    pub generator: String,
    /// A minijinja template replacing the shipped prompt (see docs/datasets.md).
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Requests per truth or tuple.
    #[arg(short = 'k', long, default_value_t = 1)]
    pub k: u32,
    /// A style for variety (`terse`, `formal`); repeat it: request i uses
    /// style i modulo their number.
    #[arg(long)]
    pub style: Vec<String>,
    /// A persona for variety (`a marketer new to the tool`); repeat it.
    #[arg(long)]
    pub persona: Vec<String>,
    /// Drop a request whose token-set Jaccard similarity to a kept one is
    /// at least this (0–1; above 1 keeps every request).
    #[arg(long, default_value_t = dedupe::DEFAULT_THRESHOLD)]
    pub dedupe_threshold: f64,
    /// The sampling temperature (default: the provider's).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// The project root (where tribunal.yaml and fixtures/cassettes are).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

/// `tribunal generate truth --round-trip`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoundTripArg {
    /// Keep the drafts the system under test gets wrong.
    KeepFailing,
    /// Keep the drafts it gets right.
    KeepPassing,
    /// Keep every draft, flag the ones it gets wrong.
    Flag,
}

/// Arguments of `tribunal generate truth`.
#[derive(Debug, clap::Args)]
pub struct TruthArgs {
    /// The generator.
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// A file of ground truths instead of the suite's `expected` values:
    /// JSONL (one object per line), or CSV with a header row (`.csv`).
    #[arg(long)]
    pub truths: Option<PathBuf>,
    /// The field of a row holding the truth.
    #[arg(long, default_value = "expected")]
    pub field: String,
    /// The field of a row holding its id (else `row-<line>`).
    #[arg(long, default_value = "id")]
    pub id_field: String,
    /// What the truths are (default: detected per truth).
    #[arg(long, value_parser = ["audience", "sql", "json", "text"])]
    pub dialect: Option<String>,
    /// Run the suite's system under test on each draft and keep, drop or
    /// flag it by the equivalence result.
    #[arg(long, value_enum)]
    pub round_trip: Option<RoundTripArg>,
    /// The checks (by name) deciding the round trip (default: the suite's
    /// `ast_equivalent` checks). Repeatable.
    #[arg(long)]
    pub round_trip_check: Vec<String>,
    /// Only this variant of the suite runs the round trip.
    #[arg(long)]
    pub variant: Option<String>,
}

/// Arguments of `tribunal generate dimensions`.
#[derive(Debug, clap::Args)]
pub struct DimensionsArgs {
    /// The generator.
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// Sample this many tuples covering every value (and every pair where
    /// it allows) instead of every combination.
    #[arg(long)]
    pub n: Option<usize>,
    /// The seed of the sample's tie-breaks.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

struct Setup {
    root: PathBuf,
    suite: Suite,
    suite_text: String,
    display: String,
    drafts: PathBuf,
    ci: bool,
    providers: Providers,
    generator: Generator,
    variety: Variety,
}

fn fail(message: String) -> ExitCode {
    for line in message.lines() {
        eprintln!("error: {line}");
    }
    exit::code(exit::TOOL_ERROR)
}

fn setup(args: &GeneratorArgs, command: &str, default_template: &str) -> Result<Setup, String> {
    let root = args.root.clone();
    if args.k == 0 || args.k > 100 {
        return Err(format!(
            "`-k {}` is not a number of requests from 1 to 100",
            args.k
        ));
    }
    if !(args.dedupe_threshold >= 0.0 && args.dedupe_threshold.is_finite()) {
        return Err(format!(
            "`--dedupe-threshold {}` is not a similarity from 0 to 1 (hint: 0.8 drops requests sharing 80% of their words; above 1 keeps every request)",
            args.dedupe_threshold
        ));
    }
    let path = if args.suite.is_absolute() {
        args.suite.clone()
    } else {
        root.join(&args.suite)
    };
    let display = display_path(&root, &path);
    let bytes = read_suite_file(&path).map_err(|(m, h)| {
        format!(
            "{display}: {m}{}",
            h.map(|h| format!(" (hint: {h})")).unwrap_or_default()
        )
    })?;
    let suite_text = String::from_utf8(bytes).map_err(|_| format!("{display}: not UTF-8"))?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let suite = load_str(&suite_text, &display, &dir, None).map_err(|e| e.to_string())?;
    let drafts = crate::dataset::drafts_path(&path);
    let config = crate::config::Config::load(&root).map_err(|e| e.to_string())?;
    let mut providers =
        Providers::configure(&root, config.cassette_mode(config.ci), config.providers)
            .map_err(|e| e.to_string())?;
    let argv: Vec<String> = std::iter::once("tribunal".to_string())
        .chain(std::env::args().skip(1))
        .collect();
    let line = if argv.len() > 1 {
        crate::rerun::command_line(&argv)
    } else {
        format!("tribunal generate {command} --suite {display}")
    };
    providers.set_rerun(crate::rerun::Rerun::Command { command: line });
    let template = match &args.template {
        None => default_template.to_string(),
        Some(t) => {
            let p = if t.is_absolute() {
                t.clone()
            } else {
                root.join(t)
            };
            crate::fsutil::read_regular(&p, MAX_TEMPLATE_BYTES)
                .map_err(|e| format!("{}: cannot read the template: {e}", t.display()))?
        }
    };
    let mut generator = Generator::new(
        providers.clone(),
        &args.generator,
        template,
        &suite.name,
        dir,
    );
    generator.temperature = args.temperature;
    Ok(Setup {
        root,
        suite,
        suite_text,
        display,
        drafts,
        ci: config.ci,
        providers,
        generator,
        variety: Variety {
            k: args.k,
            styles: args.style.clone(),
            personas: args.persona.clone(),
            threshold: args.dedupe_threshold,
        },
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// `tribunal generate truth`.
pub fn truth(args: TruthArgs) -> ExitCode {
    match run_truth(args) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn run_truth(args: TruthArgs) -> Result<ExitCode, String> {
    let s = setup(&args.generator, "truth", DEFAULT_TEMPLATE)?;
    let truths = match &args.truths {
        None => truth::from_suite(&s.suite)?,
        Some(file) => {
            let path = if file.is_absolute() {
                file.clone()
            } else {
                s.root.join(file)
            };
            let display = display_path(&s.root, &path);
            truth::from_file(&path, &display, &args.field, &args.id_field)
                .map_err(|e| e.join("\n"))?
        }
    };
    let dialect = args.dialect.as_deref().and_then(Dialect::parse);
    truth::sql_available(&truths, dialect)?;
    let rt = runtime()?;
    let outcome = rt.block_on(synth::from_truths(
        &s.generator,
        &truths,
        dialect,
        &s.variety,
    ));
    let mut report = header(
        &s,
        &outcome,
        &crate::text::count(truths.len(), "ground truth"),
    );
    if !outcome.rejected.is_empty() {
        return Ok(rejected(&s, &outcome, report));
    }
    let mut drafts = outcome.drafts;
    if let Some(mode) = args.round_trip {
        let mode = match mode {
            RoundTripArg::KeepFailing => roundtrip::Filter::KeepFailing,
            RoundTripArg::KeepPassing => roundtrip::Filter::KeepPassing,
            RoundTripArg::Flag => roundtrip::Filter::Flag,
        };
        let dir = s.drafts.parent().map(Path::to_path_buf).unwrap_or_default();
        let rt_out = rt.block_on(roundtrip::filter(
            &s.root,
            &s.suite_text,
            &s.display,
            &dir,
            s.providers.clone(),
            s.ci,
            drafts,
            mode,
            &args.round_trip_check,
            args.variant.as_deref(),
        ))?;
        if !rt_out.lines.is_empty() {
            report.push_str("round trip:\n");
        }
        for l in &rt_out.lines {
            report.push_str(&format!("  {l}\n"));
        }
        if !rt_out.errors.is_empty() {
            print!("{report}");
            for e in &rt_out.errors {
                eprintln!("error: {e}");
            }
            eprintln!(
                "error: {} of the drafts could not be decided; nothing was written to {}",
                rt_out.errors.len(),
                display_path(&s.root, &s.drafts)
            );
            return Ok(exit::code(exit::TOOL_ERROR));
        }
        drafts = rt_out.drafts;
    }
    finish(&s, drafts, report)
}

/// `tribunal generate dimensions`.
pub fn dimensions(args: DimensionsArgs) -> ExitCode {
    match run_dimensions(args) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn run_dimensions(args: DimensionsArgs) -> Result<ExitCode, String> {
    let s = setup(&args.generator, "dimensions", DIMENSIONS_TEMPLATE)?;
    if s.suite.dimensions.is_empty() {
        return Err(format!(
            "{}: suite `{}` declares no `dimensions:` (hint: add e.g. `dimensions: {{feature: {{refunds: Money back for a returned item}}}}`; see docs/datasets.md)",
            s.display, s.suite.name
        ));
    }
    let dims = &s.suite.dimensions;
    let selection = match args.n {
        Some(n) => Selection::Sample { n, seed: args.seed },
        None => Selection::All,
    };
    let tuples = dimensions::select(dims, selection)?;
    let suffix = format!("-{}", args.generator.k).len();
    if let Some(long) = tuples
        .iter()
        .map(|t| dimensions::tuple_id(dims, t))
        .find(|id| id.len() + suffix > crate::case::MAX_ID_CHARS)
    {
        return Err(format!(
            "{}: the draft id `{long}-{}` would be longer than the {} characters of a case id (hint: use shorter dimension values)",
            s.display,
            args.generator.k,
            crate::case::MAX_ID_CHARS
        ));
    }
    let rt = runtime()?;
    let outcome = rt.block_on(synth::from_dimensions(
        &s.generator,
        dims,
        &tuples,
        s.suite.description.as_deref(),
        args.n.map(|_| args.seed),
        &s.variety,
    ));
    let mut report = header(&s, &outcome, &crate::text::count(tuples.len(), "tuple"));
    report.push_str(&dimensions::coverage_table(dims, &tuples));
    if !outcome.rejected.is_empty() {
        return Ok(rejected(&s, &outcome, report));
    }
    finish(&s, outcome.drafts, report)
}

fn header(s: &Setup, outcome: &Outcome, what: &str) -> String {
    let stats = s.providers.stats();
    let mut out = format!(
        "generated for {what} of suite `{}` with `{}` (template sha256 {}): {} ({} replayed, {} recorded), {}, {} dropped\n",
        s.suite.name,
        s.generator.spec,
        &s.generator.template_sha256[..12],
        crate::text::count(outcome.requests, "request"),
        stats.replayed,
        stats.recorded,
        crate::text::count(outcome.drafts.len(), "draft"),
        crate::text::count(outcome.dropped.len(), "near-duplicate")
    );
    for d in &outcome.dropped {
        out.push_str(&format!("  {d}\n"));
    }
    out
}

fn rejected(s: &Setup, outcome: &Outcome, report: String) -> ExitCode {
    print!("{report}");
    for r in &outcome.rejected {
        eprintln!("error: {r}");
    }
    eprintln!(
        "error: {} of {} requests gave no usable answer; nothing was written to {} (hint: fix the rows named above, or change the template with `--template`)",
        outcome.rejected.len(),
        outcome.requests,
        display_path(&s.root, &s.drafts)
    );
    exit::code(exit::TOOL_ERROR)
}

fn finish(s: &Setup, drafts: Vec<Made>, mut report: String) -> Result<ExitCode, String> {
    let shown = display_path(&s.root, &s.drafts);
    let accepted = s.suite.cases.iter().map(|c| c.id.clone()).collect();
    let saved = drafts_out::save(&s.drafts, &shown, &accepted, &drafts, s.ci)?;
    report.push_str(&saved);
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
