//! `tribunal label`: a terminal walk-through for a domain expert.
//!
//! For each trial of a suite without a label (or with a stale one, when
//! asked), it shows the input, the reference and the current output, reads a
//! verdict line (`p`, `f`, optionally followed by a score: `f 2`; `s` skips,
//! `u` undoes the last label, `q` quits) and a critique (a line ending with
//! `\` continues on the next), and saves the label file after every answer,
//! in place (comments and order kept), so quitting at any point keeps the
//! work done. A trial whose target cannot run from the CLI (a registered
//! Rust function) is labelled on the output the last run recorded.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use crate::case::Suite;
use crate::labels::edit::{self, Key};
use crate::labels::{HumanVerdict, Label, LabelError, LabelFile, output_hash, today};
use crate::run::{RunEnv, expand};
use crate::verdict::Output;

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Who is labelling.
    pub labeller: String,
    /// Also relabel outputs whose label is stale.
    pub relabel_stale: bool,
    /// Label for this judge check only (stored in the label's `check`).
    pub check: Option<String>,
    /// Outputs a run recorded, by trial name (`suite::case[::variant]`):
    /// used when a target cannot run here (a registered Rust function).
    pub recorded: HashMap<String, Output>,
    /// The run the recorded outputs are from.
    pub recorded_run: Option<String>,
}

/// What a walk did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkSummary {
    /// Labels written.
    pub labelled: usize,
    /// Outputs skipped by the labeller.
    pub skipped: usize,
    /// Labels undone.
    pub undone: usize,
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
    Undo,
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
        "u" | "undo" if score.is_none() => Some(Answer::Undo),
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

/// Reads a critique: lines ending with `\\` continue on the next line.
fn read_critique(input: &mut impl BufRead) -> std::io::Result<String> {
    let mut lines = Vec::new();
    while let Some(line) = read_line(input)? {
        match line.strip_suffix('\\') {
            Some(more) => lines.push(more.trim_end().to_string()),
            None => {
                lines.push(line);
                break;
            }
        }
    }
    Ok(lines.join("\n").trim().to_string())
}

/// One label written, to undo: the trial's position and the label its key
/// had before.
struct Done {
    at: usize,
    key: Key,
    previous: Option<Label>,
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
    let mut file: LabelFile = edit::load(path, &suite.name)?.0.file().clone();
    let mut summary = WalkSummary::default();
    let trials = expand(std::slice::from_ref(suite));
    let total = trials.len();
    let mut done: Vec<Done> = Vec::new();
    // A trial to show whatever its label (the one an undo went back to).
    let mut reshow: Option<usize> = None;
    let mut i = 0;
    while i < trials.len() {
        let trial = &trials[i];
        let at = i;
        i += 1;
        let case = trial.case();
        if case.skip.is_some() {
            continue;
        }
        let variant = trial.variant().map(|v| v.id.clone());
        let existing = file
            .find(&case.id, variant.as_deref(), options.check.as_deref())
            .cloned();
        let (output, recorded) = match env.target_output(trial).await {
            Ok(o) => (o, false),
            Err(e) => match options.recorded.get(&trial.name()) {
                Some(o) => (o.clone(), true),
                None => {
                    writeln!(
                        out,
                        "[{}/{total}] {}: no output ({e})",
                        at + 1,
                        trial.name()
                    )
                    .map_err(|e| io_err(path, e))?;
                    summary.unavailable += 1;
                    continue;
                }
            },
        };
        let forced = reshow.take_if(|r| *r == at).is_some();
        if let Some(l) = &existing
            && !forced
        {
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
            writeln!(w, "── [{}/{total}] {}", at + 1, trial.name())?;
            if !case.tags.is_empty() {
                writeln!(w, "tags: {}", case.tags.join(", "))?;
            }
            if let Some(check) = &options.check {
                writeln!(w, "judge check: {check}")?;
            }
            writeln!(w, "input:\n{input_text}")?;
            if let Some(expected) = &case.expected {
                writeln!(w, "reference:\n{}", crate::text::of_value(expected))?;
            }
            match (recorded, &options.recorded_run) {
                (true, Some(run)) => writeln!(
                    w,
                    "output (recorded by run {run}; the target cannot run here):\n{}",
                    output.text
                )?,
                (true, None) => writeln!(
                    w,
                    "output (recorded by the last run; the target cannot run here):\n{}",
                    output.text
                )?,
                (false, _) => writeln!(w, "output:\n{}", output.text)?,
            }
            if let Some(l) = &existing {
                writeln!(
                    w,
                    "({} label from {} by {}: {} — {})",
                    if l.matches_output(&output.text) {
                        "current"
                    } else {
                        "stale"
                    },
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
                "verdict? [p]ass / [f]ail (optionally a score: `f 2`) / [s]kip / [u]ndo / [q]uit: "
            )
            .and_then(|()| out.flush())
            .map_err(|e| io_err(path, e))?;
            let Some(line) = read_line(&mut input).map_err(|e| io_err(path, e))? else {
                break Answer::Quit;
            };
            match parse_answer(&line) {
                Some(a) => break a,
                None => {
                    writeln!(out, "please answer p, f, s, u or q").map_err(|e| io_err(path, e))?
                }
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
            Answer::Undo => {
                let Some(last) = done.pop() else {
                    writeln!(out, "nothing to undo").map_err(|e| io_err(path, e))?;
                    reshow = Some(at);
                    i = at;
                    continue;
                };
                let (edited, _) = edit::update(path, &suite.name, |doc| match &last.previous {
                    Some(p) => doc.upsert(p),
                    None => doc.remove(&last.key),
                })?;
                file = edited.file;
                summary.labelled -= 1;
                summary.undone += 1;
                writeln!(out, "undone: {}", trials[last.at].name()).map_err(|e| io_err(path, e))?;
                reshow = Some(last.at);
                i = last.at;
                continue;
            }
            Answer::Verdict(v, s) => (v, s),
        };
        write!(
            out,
            "critique (what is right or wrong; end a line with \\ to continue on the next): "
        )
        .and_then(|()| out.flush())
        .map_err(|e| io_err(path, e))?;
        let critique = read_critique(&mut input).map_err(|e| io_err(path, e))?;
        let label = Label {
            case: case.id.clone(),
            variant,
            check: options.check.clone(),
            verdict,
            score,
            critique,
            tags: existing
                .as_ref()
                .map(|l| l.tags.clone())
                .unwrap_or_default(),
            few_shot: existing.as_ref().is_some_and(|l| l.few_shot),
            labeller: options.labeller.clone(),
            date: today(),
            output_sha256: output_hash(&output.text),
            input: Some(input_text),
            output: output.text.clone(),
        };
        let (edited, _) = edit::update(path, &suite.name, |doc| doc.upsert(&label))?;
        file = edited.file;
        done.push(Done {
            at,
            key: edit::key_of(&label),
            previous: edited.previous,
        });
        summary.labelled += 1;
    }
    writeln!(
        out,
        "\nlabelled {}, skipped {}, undone {}, already labelled {}, stale left alone {}, no output {}; labels in {}",
        summary.labelled,
        summary.skipped,
        summary.undone,
        summary.already,
        summary.stale,
        summary.unavailable,
        path.display()
    )
    .map_err(|e| io_err(path, e))?;
    Ok(summary)
}
