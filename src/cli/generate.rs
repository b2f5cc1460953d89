//! `tribunal generate …`: draft cases beside a suite
//! (`evals/<suite>.drafts.jsonl`) and accept the chosen ones into it. Each
//! subcommand is one variant of [`Command`] with its own arguments and
//! function. See `docs/datasets.md`.
//!
//! With `CI` set (or `--dry-run`) every subcommand does its work and prints
//! what it would write, and writes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::dataset::accept::{self, Selection};
use crate::dataset::logs::{self, LogSpec, Strategy};
use crate::dataset::pii::Scrubber;
use crate::dataset::{Draft, drafts_path, merge_drafts, read_drafts_if_exists, write_drafts};

/// `tribunal generate <source>`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a log of real interactions (JSONL, CSV or a JSON array) as
    /// drafts: personal data scrubbed, duplicates dropped, sampled.
    Logs(LogsArgs),
    /// Promote chosen drafts into the suite's cases and remove them from
    /// the drafts file.
    Accept(AcceptArgs),
    /// Requests for ground truths (a suite's `expected` values, or a JSONL or CSV
    /// file): `k` per truth, written by a generator model, as drafts.
    Truth(super::generate_llm::TruthArgs),
    /// Inputs for the suite's `dimensions:` tuples (every combination or a
    /// covering sample), written by a generator model, as drafts.
    Dimensions(super::generate_llm::DimensionsArgs),
}

/// Runs `tribunal generate …`.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Logs(a) => logs(&a),
        Command::Accept(a) => accept(&a),
        Command::Truth(a) => super::generate_llm::truth(a),
        Command::Dimensions(a) => super::generate_llm::dimensions(a),
    }
}

/// The format of a data file, for `--format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
}

/// Arguments of `tribunal generate logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The project root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The suite the drafts are for (relative to the root); they are
    /// written to `<suite-stem>.drafts.jsonl` beside it.
    #[arg(long)]
    pub suite: PathBuf,
    /// The log file (relative to the current folder).
    #[arg(long)]
    pub from: PathBuf,
    /// The log's format (default: from its extension).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// The field holding the user's input (dotted paths reach into JSON).
    #[arg(long, default_value = "input")]
    pub input: String,
    /// A field kept as the draft's `expected` value (such as the logged
    /// answer, as a reference).
    #[arg(long)]
    pub expected: Option<String>,
    /// A field kept as tags `field:value` (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// A field kept as a variable of the input (repeatable); the input
    /// becomes a map of the input field and these.
    #[arg(long = "var")]
    pub vars: Vec<String>,
    /// Keep this many rows (after de-duplication); default every row.
    #[arg(long)]
    pub sample: Option<usize>,
    /// The sampling seed (the same seed gives the same drafts).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sample each value of this field in proportion (at least one each).
    #[arg(long, conflicts_with = "failures_first")]
    pub stratify: Option<String>,
    /// `FIELD=VALUE[,VALUE…]`: rows whose field has one of the values are
    /// taken first (and flagged `failure`), then the others.
    #[arg(long)]
    pub failures_first: Option<String>,
    /// `NAME=REGEX`: a scrubbing rule of your own (repeatable), replacing
    /// each match with `<NAME>`; applied before `pii.rules` of
    /// `tribunal.yaml` and the default rules.
    #[arg(long = "scrub")]
    pub scrub: Vec<String>,
    /// Print what would be written, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `tribunal generate accept`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The project root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The suite whose drafts are accepted (relative to the root).
    #[arg(long)]
    pub suite: PathBuf,
    /// Accept the draft with this id (repeatable).
    #[arg(long = "id")]
    pub ids: Vec<String>,
    /// Accept every draft.
    #[arg(long)]
    pub all: bool,
    /// Accept the drafts with this tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Accept the drafts with this flag (repeatable).
    #[arg(long = "flag")]
    pub flags: Vec<String>,
    /// List the drafts (id, source, flags, tags, input) and accept nothing.
    #[arg(long)]
    pub list: bool,
    /// Print what would be accepted, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    crate::exit::code(crate::exit::TOOL_ERROR)
}

/// Why nothing is written, when nothing is: `CI` set, or `--dry-run`.
fn no_write_reason(dry_run: bool) -> Option<&'static str> {
    if crate::config::ci_from_env() {
        Some("CI is set: nothing was written (run it without CI to write)")
    } else if dry_run {
        Some("--dry-run: nothing was written")
    } else {
        None
    }
}

/// The suite file under `root`, which must exist.
fn suite_file(root: &Path, suite: &Path) -> Result<PathBuf, String> {
    let path = root.join(suite);
    if !path.is_file() {
        return Err(format!(
            "{}: no such suite file (hint: name the suite's YAML file relative to --root, such as evals/support.yaml)",
            suite.display()
        ));
    }
    Ok(path)
}

fn logs(a: &LogsArgs) -> ExitCode {
    match logs_inner(a) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn logs_inner(a: &LogsArgs) -> Result<ExitCode, String> {
    let suite = suite_file(&a.root, &a.suite)?;
    let project = crate::config::ProjectFile::load(&a.root).map_err(|e| e.to_string())?;
    let mut rules: Vec<(String, String)> = Vec::new();
    for s in &a.scrub {
        let (name, regex) = s.split_once('=').ok_or_else(|| {
            format!(
                "`--scrub {s}` is not NAME=REGEX (hint: write `--scrub 'employee=EMP-\\d{{6}}'`)"
            )
        })?;
        rules.push((name.to_string(), regex.to_string()));
    }
    rules.extend(
        project
            .pii
            .rules
            .iter()
            .map(|r| (r.name.clone(), r.regex.clone())),
    );
    let scrubber = Scrubber::new(&rules)?;
    let log_path = if a.from.is_absolute() {
        a.from.clone()
    } else {
        std::env::current_dir()
            .map(|d| d.join(&a.from))
            .unwrap_or_else(|_| a.from.clone())
    };
    let display = match (
        std::fs::canonicalize(&log_path),
        std::fs::canonicalize(&a.root),
    ) {
        (Ok(file), Ok(root)) if file.starts_with(&root) => crate::case::display_path(&root, &file),
        _ => a.from.display().to_string(),
    };
    let format = match a.format {
        Some(FormatArg::Jsonl) => crate::case::Format::Jsonl,
        Some(FormatArg::Csv) => crate::case::Format::Csv,
        Some(FormatArg::Json) => crate::case::Format::Json,
        None => {
            let m: crate::case::Mapping =
                serde_json::from_value(serde_json::json!({"file": a.from.display().to_string()}))
                    .map_err(|e| e.to_string())?;
            crate::case::format_of(&m).map_err(|p| {
                format!(
                    "{}: {} (hint: {}; or pass --format)",
                    display, p.message, p.hint
                )
            })?
        }
    };
    let text = crate::case::read_text(&log_path, &display)
        .map_err(|p| format!("{display}: {} (hint: {})", p.message, p.hint))?;
    let strategy = match (&a.stratify, &a.failures_first) {
        (Some(f), _) => Strategy::Stratified(f.clone()),
        (None, Some(spec)) => {
            let (field, values) = spec.split_once('=').ok_or_else(|| {
                format!("`--failures-first {spec}` is not FIELD=VALUE (hint: write `--failures-first feedback=thumbs_down`)")
            })?;
            Strategy::FailuresFirst {
                field: field.to_string(),
                values: values.split(',').map(str::to_string).collect(),
            }
        }
        (None, None) => Strategy::Uniform,
    };
    let spec = LogSpec {
        text,
        display: display.clone(),
        format,
        input: a.input.clone(),
        expected: a.expected.clone(),
        tags: a.tags.clone(),
        vars: a.vars.clone(),
        sample: a.sample,
        seed: a.seed,
        strategy,
    };
    let imported = logs::import(&spec, &scrubber)?;
    let drafts_file = drafts_path(&suite);
    let drafts_display = crate::case::display_path(&a.root, &drafts_file);
    let existing =
        read_drafts_if_exists(&drafts_file, &drafts_display).map_err(|e| e.to_string())?;
    let merged = merge_drafts(existing, imported.drafts);
    print!("{}", logs_report(&imported.report, &spec, &scrubber));
    let reason = no_write_reason(a.dry_run);
    if reason.is_none() {
        write_drafts(&drafts_file, &drafts_display, &merged.drafts).map_err(|e| e.to_string())?;
    }
    println!(
        "drafts: {} added, {} already in the file (kept as they are) → {drafts_display}",
        merged.added.len(),
        merged.kept.len()
    );
    if let Some(r) = reason {
        println!("{r}");
    } else {
        println!(
            "next: review {drafts_display}, then `tribunal generate accept --suite {} --id …` (or --all)",
            a.suite.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What `generate logs` prints: rows read and skipped, duplicates, the
/// sample, the scrubbing counts (never what was scrubbed).
pub fn logs_report(r: &logs::ImportReport, spec: &LogSpec, scrubber: &Scrubber) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "read {} of {}",
        crate::text::count(r.rows, "row"),
        spec.display
    );
    if r.skipped_count > 0 {
        let _ = writeln!(
            out,
            "skipped {}:",
            crate::text::count(r.skipped_count, "row")
        );
        for s in &r.skipped {
            let _ = writeln!(out, "  {s}");
        }
        if r.skipped_count > r.skipped.len() {
            let _ = writeln!(out, "  … and {} more", r.skipped_count - r.skipped.len());
        }
    }
    let _ = writeln!(
        out,
        "de-duplicated: {} dropped (same input once lowercased, with every run of characters other than letters and digits read as one space)",
        crate::text::count(r.duplicates, "row")
    );
    match (spec.sample, &spec.strategy) {
        (None, _) => {
            let _ = writeln!(out, "kept every row: {}", r.kept);
        }
        (Some(_), Strategy::Uniform) => {
            let _ = writeln!(
                out,
                "sampled {} of {} uniformly (seed {})",
                r.kept, r.distinct, spec.seed
            );
        }
        (Some(_), Strategy::Stratified(field)) => {
            let _ = writeln!(
                out,
                "sampled {} of {} stratified by `{field}` (seed {}):",
                r.kept, r.distinct, spec.seed
            );
            let width = r
                .strata
                .iter()
                .map(|s| s.value.chars().count())
                .max()
                .unwrap_or(0);
            for s in &r.strata {
                let _ = writeln!(out, "  {:<width$}  {} of {}", s.value, s.taken, s.available);
            }
        }
        (Some(_), Strategy::FailuresFirst { field, values }) => {
            let (available, taken) = r.failures.unwrap_or_default();
            let _ = writeln!(
                out,
                "sampled {} of {} failures first (`{field}` = {}; seed {}): {taken} of {available} failures, flagged `failure`",
                r.kept,
                r.distinct,
                values.join(" or "),
                spec.seed
            );
        }
    }
    let rules = scrubber.rule_names().join(", ");
    if r.scrubbed.is_empty() {
        let _ = writeln!(out, "scrubbed: nothing matched ({rules})");
    } else {
        let counts: Vec<String> = r.scrubbed.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(
            out,
            "scrubbed: {} (rules: {rules}; the originals are neither printed nor written)",
            counts.join(", ")
        );
    }
    out
}

fn accept(a: &AcceptArgs) -> ExitCode {
    let suite = match suite_file(&a.root, &a.suite) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if a.list {
        return list(&a.root, &suite);
    }
    let selection = Selection {
        ids: a.ids.clone(),
        all: a.all,
        tags: a.tags.clone(),
        flags: a.flags.clone(),
    };
    let plan = match accept::plan(&a.root, &suite, &selection) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let reason = no_write_reason(a.dry_run);
    if reason.is_none()
        && let Err(e) = accept::write(&plan)
    {
        return fail(format!(
            "cannot write: {e} (hint: run the same accept again: drafts already accepted are recognised and only leave the drafts file)"
        ));
    }
    let acc = &plan.accepted;
    if !acc.added.is_empty() {
        println!(
            "accepted {} into {}: {}",
            crate::text::count(acc.added.len(), "draft"),
            acc.into,
            acc.added.join(", ")
        );
    }
    if !acc.already.is_empty() {
        println!(
            "already accepted (removed from the drafts): {}",
            acc.already.join(", ")
        );
    }
    println!(
        "{} left in the drafts file",
        crate::text::count(acc.left, "draft")
    );
    if let Some(r) = reason {
        println!("{r}");
    }
    ExitCode::SUCCESS
}

fn list(root: &Path, suite: &Path) -> ExitCode {
    let path = drafts_path(suite);
    let display = crate::case::display_path(root, &path);
    let drafts: Vec<Draft> = match read_drafts_if_exists(&path, &display) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    println!("{} in {display}", crate::text::count(drafts.len(), "draft"));
    for d in &drafts {
        let mut marks = Vec::new();
        if !d.flags.is_empty() {
            marks.push(format!("flags: {}", d.flags.join(", ")));
        }
        if !d.tags.is_empty() {
            marks.push(format!("tags: {}", d.tags.join(", ")));
        }
        println!(
            "  {}  [{}]  {}{}",
            d.id,
            d.provenance.source,
            crate::text::one_line(&crate::text::of_value(&d.input.to_value()), 60),
            if marks.is_empty() {
                String::new()
            } else {
                format!("  ({})", marks.join("; "))
            }
        );
    }
    ExitCode::SUCCESS
}
