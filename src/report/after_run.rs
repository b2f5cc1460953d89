//! What happens after every run: write the results JSON, JUnit XML, the
//! Markdown summary (and the GitHub step summary), the HTML report and the
//! history, and build the terminal summary to print.

use std::path::{Path, PathBuf};

use super::error::{HistoryError, ReportError};
use super::results::RunResults;
use super::summary::terminal_summary;
use super::{history, html, junit, markdown};
use crate::fsutil::write_atomic_unsynced;

/// How many past runs feed the HTML plots.
pub const PLOT_RUNS: usize = 50;

/// The report files of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reports {
    /// `last.json` (a copy of the newest results).
    pub last_json: PathBuf,
    /// `junit.xml`.
    pub junit: PathBuf,
    /// `summary.md`.
    pub markdown: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
}

/// What [`after_run`] wrote, and the text to print.
#[derive(Debug)]
pub struct AfterRun {
    /// The terminal summary, followed by where the reports are.
    pub summary: String,
    /// The results JSON: `runs/<id>.json`, or
    /// `runs/<nextest run id>/<id>.json` for one process of a nextest run.
    pub results_json: PathBuf,
    /// The reports, or `None` for one process of a nextest run (merge the
    /// processes' results with `tribunal report --merge`).
    pub reports: Option<Reports>,
    /// The history database the run was stored in, when it was.
    pub history: Option<PathBuf>,
    /// Why the run could not be stored in the history, when it could not.
    /// The other outputs are written regardless.
    pub history_error: Option<HistoryError>,
    /// Problems that did not stop the reports (history, step summary).
    pub warnings: Vec<String>,
}

/// Where reports go, resolved once from the environment (see
/// [`Settings::from_env`]) so tests and tools can pass their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The folder reports are written to.
    pub report_dir: PathBuf,
    /// The history database, or `None` when disabled.
    pub history: Option<PathBuf>,
    /// Runs the history keeps (`0`: all).
    pub keep: usize,
    /// The GitHub step summary file to append to, when set.
    pub step_summary: Option<PathBuf>,
    /// The nextest run this process belongs to (`NEXTEST_RUN_ID`): nextest
    /// runs every trial in its own process, so each process writes only its
    /// results file, under `runs/<nextest run id>/`, and the run's reports
    /// come from merging them.
    pub nextest_run: Option<String>,
    /// How many results files and how much history are kept.
    pub retention: super::retention::Retention,
}

impl Settings {
    /// The report settings of a resolved configuration (`TRIBUNAL_REPORT_DIR`,
    /// `TRIBUNAL_HISTORY`, `TRIBUNAL_HISTORY_KEEP`, `GITHUB_STEP_SUMMARY`,
    /// `NEXTEST_RUN_ID` and `reports:` in `tribunal.yaml`; see
    /// `docs/configuration.md`).
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            report_dir: config.report_dir.clone(),
            history: config.history.clone(),
            keep: config.history_keep,
            step_summary: config.step_summary.clone(),
            nextest_run: config.nextest_run.clone(),
            retention: config.retention,
        }
    }

    /// Reads the settings for a project at `root` from the environment and
    /// its `tribunal.yaml`; an invalid value is an error naming it.
    pub fn from_env(root: &Path) -> Result<Settings, ReportError> {
        crate::config::Config::load(root)
            .map(|c| Settings::from_config(&c))
            .map_err(|e| ReportError::Config(e.to_string()))
    }
}

/// The results JSON, streamed to the file (a run of any size never holds
/// its whole text in memory), flushed to disk before it is renamed into
/// place when `sync` (otherwise its caller flushes it).
fn write_results(path: &Path, run: &RunResults, sync: bool) -> Result<(), ReportError> {
    crate::fsutil::write_atomic_streamed(path, sync, |w| run.write_json(w))
        .map_err(|e| ReportError::write(path, e))
}

/// Files rebuilt from the results JSON (`last.json`, JUnit, Markdown, HTML):
/// still atomic (readers never see a torn file), but not fsync'd, since the
/// fsync'd `runs/<id>.json` holds everything they say.
fn write_derived(path: &Path, text: &str) -> Result<(), ReportError> {
    write_atomic_unsynced(path, text.as_bytes()).map_err(|e| ReportError::write(path, e))
}

/// Writes every report of a finished run and stores it in the history,
/// with settings from the environment ([`Settings::from_env`]).
///
/// The JSON results are written first, so a run's results survive anything
/// that fails later. A history that is locked or corrupt does not fail this
/// call: it is reported in [`AfterRun::history_error`] and the warnings,
/// and every file is still written. Errors are only I/O failures on the
/// report files themselves, or an invalid setting.
pub fn after_run(root: &Path, run: &RunResults) -> Result<AfterRun, ReportError> {
    after_run_with(run, &Settings::from_env(root)?)
}

/// [`after_run`] with explicit settings.
pub fn after_run_with(run: &RunResults, settings: &Settings) -> Result<AfterRun, ReportError> {
    let dir = &settings.report_dir;
    if let Some(part) = &settings.nextest_run {
        // A nextest run id is a UUID, kept as it is; anything else is escaped.
        let safe = crate::fsutil::name_part(part);
        let folder = dir.join("runs").join(&safe);
        let results_json = folder.join(format!("{}.json", run.run_id));
        write_results(&results_json, run, true)?;
        let summary = format!(
            "{}\nnextest run {part}: this process's results are in {}; for the run's reports, merge every process's results:\n  tribunal report --merge {}/*.json --store --out {}\n",
            terminal_summary(run),
            results_json.display(),
            folder.display(),
            dir.display()
        );
        return Ok(AfterRun {
            summary,
            results_json,
            reports: None,
            history: None,
            history_error: None,
            warnings: Vec::new(),
        });
    }
    let results_json = dir.join("runs").join(format!("{}.json", run.run_id));
    let last_json = dir.join("last.json");
    // The history (store, retention, the plots' points) runs on its own
    // thread from the start: it opens the database and stores the trial
    // rows while the results file is written, then copies that file into
    // the run's row. Only the HTML report waits for it.
    let (written_tx, written_rx) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::scope(|scope| {
        let history_job = settings.history.as_ref().map(|path| {
            let results_json = &results_json;
            let written = move || {
                written_rx
                    .recv()
                    .map(|()| Some(results_json.clone()))
                    .map_err(|_| "the results file was not written".to_string())
            };
            let job = std::thread::Builder::new()
                .name("tribunal-history".into())
                .spawn_scoped(scope, move || store_history(run, written, settings, path));
            (path, job)
        });

        // Renamed into place at once (readers see all of it or the previous
        // state), then flushed to disk on a thread of its own while the
        // other reports are written from it: the flush (5–10 ms for the 2 MB
        // of a 1,000-trial run on the benchmark machine) used to delay them
        // all. The call returns only once it is on disk.
        let results_written = write_results(&results_json, run, false);
        if results_written.is_ok() {
            let _ = written_tx.send(());
        }
        drop(written_tx);
        results_written?;
        let flush_job = {
            let path = &results_json;
            let work = move || crate::fsutil::sync_paths(vec![path.clone()]).map(|_| ());
            std::thread::Builder::new()
                .name("tribunal-results-flush".into())
                .spawn_scoped(scope, work)
                .map_err(|_| work())
        };

        crate::fsutil::copy_atomic_unsynced(&results_json, &last_json)
            .map_err(|e| ReportError::write(&last_json, e))?;
        let r = settings.retention;
        super::retention::prune_runs(
            &dir.join("runs"),
            r.keep_runs,
            r.runs_max_bytes,
            &results_json,
        );
        let junit = dir.join("junit.xml");
        write_derived(&junit, &junit::render(run))?;
        let markdown_path = dir.join("summary.md");
        let md = markdown::run_summary(run);
        write_derived(&markdown_path, &md)?;

        let mut warnings = Vec::new();
        let mut history_error = None;
        let mut history_path = None;
        let mut points = Vec::new();
        if let Some((path, job)) = history_job {
            let stored = match job {
                Ok(handle) => handle.join().unwrap_or_else(|_| {
                    Err(HistoryError::Write {
                        path: path.clone(),
                        detail: "storing the run panicked".into(),
                    })
                }),
                // No thread to be had: stored here and now instead.
                Err(_) => store_history(run, || Ok(Some(results_json.clone())), settings, path),
            };
            match stored {
                Ok(rows) => {
                    points = rows;
                    history_path = Some(path.clone());
                }
                Err(e) => {
                    warnings.push(format!("warning: {e}"));
                    history_error = Some(e);
                }
            }
        }
        let html_path = dir.join("report.html");
        write_derived(&html_path, &html::render(run, &points))?;
        if let Some(step) = &settings.step_summary
            && let Err(w) = append_step_summary(step, &md)
        {
            warnings.push(w);
        }
        let flushed = match flush_job {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the flush panicked"))),
            Err(done) => done,
        };
        flushed.map_err(|e| ReportError::write(&results_json, e))?;
        let mut summary = terminal_summary(run);
        if let Some(spend) = &run.spend
            && spend.replayed_calls + spend.live_calls > 0
        {
            summary.push_str(&format!("{}\n", spend.line()));
        }
        summary.push_str(&format!(
            "\nreports: {} · {} · {}\n",
            html_path.display(),
            junit.display(),
            results_json.display()
        ));
        for w in &warnings {
            summary.push_str(w);
            summary.push('\n');
        }
        Ok(AfterRun {
            summary,
            results_json: results_json.clone(),
            reports: Some(Reports {
                last_json,
                junit,
                markdown: markdown_path,
                html: html_path,
            }),
            history: history_path,
            history_error,
            warnings,
        })
    })
}
/// Stores the run in the history from its results file, applies the
/// retention, and reads the points the HTML plots show.
fn store_history(
    run: &RunResults,
    results_written: impl FnOnce() -> Result<Option<PathBuf>, String>,
    settings: &Settings,
    path: &Path,
) -> Result<Vec<super::trend::RunPoint>, HistoryError> {
    let mut h = history::History::open_for_run(path)?;
    h.store_when_written(run, results_written)?;
    h.retain(settings.keep, settings.retention.history_max_bytes)?;
    h.points(PLOT_RUNS)
}

/// Appends Markdown to a GitHub step summary file. (That file is GitHub's
/// to create and read; appending is its contract, so this is not atomic.)
pub fn append_step_summary(path: &Path, md: &str) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(md.as_bytes()).and_then(|_| f.write_all(b"\n")))
        .map_err(|e| {
            format!(
                "warning: cannot append to GITHUB_STEP_SUMMARY {}: {e}",
                path.display()
            )
        })
}
