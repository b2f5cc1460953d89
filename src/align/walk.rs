//! `tribunal label`: a terminal walk-through for a domain expert.
//!
//! For each trial of a suite without a label (or with a stale one, when
//! asked), it shows the input and the current output, reads a verdict line
//! (`p`, `f`, optionally followed by a score: `f 2`; `s` skips, `q` quits)
//! and a critique line, and saves the label file after every answer, so
//! quitting at any point keeps the work done.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use crate::case::Suite;
use crate::labels::{HumanVerdict, Label, LabelError, LabelFile, output_hash, today};
use crate::run::{RunEnv, expand};

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Who is labelling.
    pub labeller: String,
    /// Also relabel outputs whose label is stale.
    pub relabel_stale: bool,
    /// Label for this judge check only (stored in the label's `check`).
    pub check: Option<String>,
}

/// What a walk did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkSummary {
    /// Labels written.
    pub labelled: usize,
    /// Outputs skipped by the labeller.
    pub skipped: usize,
    /// Outputs already labelled (fresh).
    pub already: usize,
    /// Stale labels left alone (without `relabel_stale`).
    pub stale: usize,
    /// Trials whose output could not be produced.
    pub unavailable: usize,
    /// Whether the labeller quit (or input ended) before the end.
    pub quit: bool,
}

enum Answer {
    Verdict(HumanVerdict, Option<i64>),
    Skip,
    Quit,
}

fn parse_answer(line: &str) -> Option<Answer> {
    let mut words = line.split_whitespace();
    let first = words.next()?.to_ascii_lowercase();
    let score = match words.next() {
        None => None,
        Some(w) => Some(w.parse::<i64>().ok()?),
    };
    if words.next().is_some() {
        return None;
    }
    match first.as_str() {
        "p" | "pass" => Some(Answer::Verdict(HumanVerdict::Pass, score)),
        "f" | "fail" => Some(Answer::Verdict(HumanVerdict::Fail, score)),
        "s" | "skip" if score.is_none() => Some(Answer::Skip),
        "q" | "quit" if score.is_none() => Some(Answer::Quit),
        _ => None,
    }
}

fn read_line(input: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
}

fn io_err(path: &Path, source: std::io::Error) -> LabelError {
    LabelError::Write {
        path: path.display().to_string(),
        source,
    }
}

/// Walks the suite's trials, asking on `input` and writing prompts to `out`;
/// labels are saved to `path` after each answer.
pub async fn walk(
    env: &RunEnv,
    suite: &Arc<Suite>,
    path: &Path,
    mut input: impl BufRead,
    mut out: impl Write,
    options: &WalkOptions,
) -> Result<WalkSummary, LabelError> {
    let mut file = LabelFile::load(path)?.unwrap_or_else(|| LabelFile::new(&suite.name));
    let mut summary = WalkSummary::default();
    let trials = expand(std::slice::from_ref(suite));
    let total = trials.len();
    for (i, trial) in trials.iter().enumerate() {
        let case = trial.case();
        if case.skip.is_some() {
            continue;
        }
        let variant = trial.variant().map(|v| v.id.clone());
        let existing = file
            .find(&case.id, variant.as_deref(), options.check.as_deref())
            .cloned();
        let output = match env.target_output(trial).await {
            Ok(o) => o,
            Err(e) => {
                writeln!(out, "[{}/{total}] {}: no output ({e})", i + 1, trial.name())
                    .map_err(|e| io_err(path, e))?;
                summary.unavailable += 1;
                continue;
            }
        };
        if let Some(l) = &existing {
            if l.matches_output(&output.text) {
                summary.already += 1;
                continue;
            }
            if !options.relabel_stale {
                summary.stale += 1;
                continue;
            }
        }
        let input_text = crate::text::of_input(&case.input);
        let w = &mut out;
        (|| -> std::io::Result<()> {
            writeln!(w)?;
            writeln!(w, "── [{}/{total}] {}", i + 1, trial.name())?;
            if !case.tags.is_empty() {
                writeln!(w, "tags: {}", case.tags.join(", "))?;
            }
            if let Some(check) = &options.check {
                writeln!(w, "judge check: {check}")?;
            }
            writeln!(w, "input:\n{input_text}")?;
            writeln!(w, "output:\n{}", output.text)?;
            if let Some(l) = &existing {
                writeln!(
                    w,
                    "(stale label from {} by {}: {} — {})",
                    l.date,
                    l.labeller,
                    l.verdict.as_str(),
                    l.critique
                )?;
            }
            Ok(())
        })()
        .map_err(|e| io_err(path, e))?;
        let answer = loop {
            write!(
                out,
                "verdict? [p]ass / [f]ail (optionally a score: `f 2`) / [s]kip / [q]uit: "
            )
            .and_then(|()| out.flush())
            .map_err(|e| io_err(path, e))?;
            let Some(line) = read_line(&mut input).map_err(|e| io_err(path, e))? else {
                break Answer::Quit;
            };
            match parse_answer(&line) {
                Some(a) => break a,
                None => writeln!(out, "please answer p, f, s or q").map_err(|e| io_err(path, e))?,
            }
        };
        let (verdict, score) = match answer {
            Answer::Quit => {
                summary.quit = true;
                break;
            }
            Answer::Skip => {
                summary.skipped += 1;
                continue;
            }
            Answer::Verdict(v, s) => (v, s),
        };
        write!(out, "critique (what is right or wrong, one line): ")
            .and_then(|()| out.flush())
            .map_err(|e| io_err(path, e))?;
        let critique = read_line(&mut input)
            .map_err(|e| io_err(path, e))?
            .unwrap_or_default();
        file.upsert(Label {
            case: case.id.clone(),
            variant,
            check: options.check.clone(),
            verdict,
            score,
            critique: critique.trim().to_string(),
            tags: Vec::new(),
            few_shot: false,
            labeller: options.labeller.clone(),
            date: today(),
            output_sha256: output_hash(&output.text),
            input: Some(input_text),
            output: output.text.clone(),
        });
        file.save(path)?;
        summary.labelled += 1;
    }
    writeln!(
        out,
        "\nlabelled {}, skipped {}, already labelled {}, stale left alone {}, no output {}; labels in {}",
        summary.labelled,
        summary.skipped,
        summary.already,
        summary.stale,
        summary.unavailable,
        path.display()
    )
    .map_err(|e| io_err(path, e))?;
    Ok(summary)
}
