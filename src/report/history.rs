//! The run history: every run stored in an embedded SQLite database.
//!
//! - Location: `TRIBUNAL_HISTORY` (a path, relative to the project root, or
//!   `off` to disable), default `<root>/target/tribunal/history.db`.
//! - Concurrency: WAL journal, a busy timeout ([`BUSY_TIMEOUT_MS`]) and one
//!   `BEGIN IMMEDIATE` transaction per stored run, so concurrent runs (for
//!   example nextest partitions on one machine) queue instead of corrupting
//!   the file. A lock held past the timeout is [`HistoryError::Locked`]; a
//!   damaged file is [`HistoryError::Corrupt`].
//! - Retention: `TRIBUNAL_HISTORY_KEEP` runs (default [`DEFAULT_KEEP`]; `0`
//!   keeps everything); older runs are deleted after each store.
//! - Trends: each stored run's metrics ([`RunPoint`]: pass rate, mean score
//!   per judge, P95 latency, tokens, recorded cost and money spent) are kept
//!   in `run_points`, so [`History::points`] reads them without decoding
//!   every results JSON.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

use super::error::HistoryError;
use super::results::RunResults;
use super::summary::{Summary, latency_of};
use super::trend::RunPoint;
pub use super::trend::RunRow;

/// Whether this build keeps a run history (the `history` feature; without
/// it, `history_off.rs`).
pub const ENABLED: bool = true;

/// The history a command needs (`tribunal history`, `flaky`, `report
/// --store`): its path, or the error when `TRIBUNAL_HISTORY=off`.
pub fn needed(path: Option<PathBuf>) -> Result<PathBuf, super::error::ReportError> {
    path.ok_or_else(|| {
        super::error::ReportError::Config("the history is disabled (TRIBUNAL_HISTORY=off)".into())
    })
}

/// How long a store waits for another process's lock.
pub const BUSY_TIMEOUT_MS: u64 = 5_000;
/// Runs kept when `TRIBUNAL_HISTORY_KEEP` is not set.
pub const DEFAULT_KEEP: usize = crate::config::DEFAULT_HISTORY_KEEP;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    git_commit TEXT,
    git_branch TEXT,
    label TEXT,
    tribunal_version TEXT NOT NULL,
    trials INTEGER NOT NULL,
    counted INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    failing INTEGER NOT NULL,
    mean_score REAL,
    cost_usd REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    latency_p50 REAL,
    latency_p95 REAL,
    results TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE INDEX IF NOT EXISTS runs_commit ON runs(git_commit);
CREATE TABLE IF NOT EXISTS trials (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial TEXT NOT NULL,
    suite TEXT NOT NULL,
    case_id TEXT NOT NULL,
    variant TEXT,
    outcome TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL,
    latency_ms REAL,
    tags TEXT NOT NULL,
    PRIMARY KEY (run_id, trial)
);
CREATE INDEX IF NOT EXISTS trials_trial ON trials(trial);
CREATE TABLE IF NOT EXISTS run_points (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    point TEXT NOT NULL
);
";

/// The pages the write-ahead log may hold after storing a run with
/// [`History::open_for_run`] before a commit checkpoints it anyway (64 MiB
/// with 4 KiB pages: three 10,000-trial runs): the bound on what the log
/// holds when runs are stored without [`prepare`] between them.
const RUN_WAL_PAGES: i64 = 16_384;

/// Starts copying what the last run left in the history's write-ahead log
/// into the database, on a thread of its own (for the start of a run, so
/// that it overlaps the evaluation). Nothing happens when the history does
/// not exist yet. Join the handle before storing the run: the store would
/// otherwise wait for the checkpoint's lock. Errors are left to the store,
/// which meets the same file and reports them.
pub fn prepare(path: &Path) -> Option<std::thread::JoinHandle<()>> {
    if !path.is_file() {
        return None;
    }
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("tribunal-history-prepare".into())
        .spawn(move || {
            if let Ok(h) = History::open(&path) {
                // TRUNCATE: the log file is emptied too, so it holds at most
                // one run between runs.
                let _ = h
                    .conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            }
        })
        .ok()
}

/// An open history database.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: PathBuf,
    busy: Duration,
}

impl History {
    /// Opens (creating when missing) the history at `path`.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        Self::open_with_timeout(path, Duration::from_millis(BUSY_TIMEOUT_MS))
    }

    /// Opens the history with a given busy timeout.
    pub fn open_with_timeout(path: &Path, busy: Duration) -> Result<History, HistoryError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(|e| classify(path, busy, e))?;
        let h = History {
            conn,
            path: path.to_path_buf(),
            busy,
        };
        h.conn.busy_timeout(busy).map_err(|e| h.err(e))?;
        h.conn
            .query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .map_err(|e| h.err(e))?;
        h.conn
            .execute_batch("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;")
            .map_err(|e| h.err(e))?;
        h.conn.execute_batch(SCHEMA).map_err(|e| h.err(e))?;
        Ok(h)
    }

    /// Opens the history to store the run that just finished, leaving the
    /// write-ahead log for [`prepare`] at the start of the next run to copy
    /// into the database: closing does not checkpoint, and commits do not
    /// checkpoint below [`RUN_WAL_PAGES`]. Copying a run into the database
    /// (and the `fsync` that ends it) took longer than storing the run
    /// itself (18 of 40 ms at 1,000 trials), and at the start of a run it
    /// overlaps the evaluation instead of delaying the reports.
    pub fn open_for_run(path: &Path) -> Result<History, HistoryError> {
        let h = Self::open(path)?;
        h.conn
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                true,
            )
            .map_err(|e| h.err(e))?;
        h.conn
            .pragma_update(None, "wal_autocheckpoint", RUN_WAL_PAGES)
            .map_err(|e| h.err(e))?;
        Ok(h)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> HistoryError {
        classify(&self.path, self.busy, e)
    }

    /// Stores a run (replacing a stored run with the same id) in one
    /// transaction.
    pub fn store(&mut self, run: &RunResults) -> Result<(), HistoryError> {
        self.store_from(run, None)
    }

    /// [`History::store`], with the run's results JSON taken from the file
    /// it was just written to (`runs/<id>.json`, the serialization of
    /// `run`), so the run is not serialized again: its bytes are copied
    /// into the row. Without a file, the run is serialized (twice: once to
    /// size the row, once into it).
    pub fn store_from(
        &mut self,
        run: &RunResults,
        results_file: Option<&Path>,
    ) -> Result<(), HistoryError> {
        self.store_when_written(run, || Ok(results_file.map(Path::to_path_buf)))
    }

    /// [`History::store_from`] for a results file that is still being
    /// written: the transaction is opened and the run's trial rows and
    /// metrics are stored first, then `written` is asked for the file (it
    /// waits for the writer; an error ends the store with nothing stored),
    /// and its bytes become the run's row. So the history's share of the
    /// end of a run runs beside the results file's serialization instead of
    /// after it (the trials' foreign keys are checked at the commit).
    pub(crate) fn store_when_written(
        &mut self,
        run: &RunResults,
        written: impl FnOnce() -> Result<Option<PathBuf>, String>,
    ) -> Result<(), HistoryError> {
        let s = Summary::of(run);
        let path = self.path.clone();
        let write_err = |io: std::io::Error| HistoryError::Write {
            path: path.clone(),
            detail: io.to_string(),
        };
        let busy = self.busy;
        let e = |err| classify(&path, busy, err);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        // The trial rows go in before the run's row they refer to.
        tx.execute_batch("PRAGMA defer_foreign_keys = ON")
            .map_err(e)?;
        tx.execute("DELETE FROM runs WHERE id = ?1", params![run.run_id])
            .map_err(e)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT OR REPLACE INTO trials (run_id, trial, suite, case_id, variant, outcome, status, score,
                        input_tokens, output_tokens, cost_usd, latency_ms, tags)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(e)?;
            for r in &run.records {
                let v = &r.verdict;
                stmt.execute(params![
                    run.run_id,
                    v.trial,
                    v.suite,
                    v.case,
                    v.variant,
                    v.outcome.as_str(),
                    super::summary::status_name(r.status),
                    v.score,
                    v.usage.input_tokens as i64,
                    v.usage.output_tokens as i64,
                    v.cost_usd,
                    latency_of(r),
                    v.tags.join(","),
                ])
                .map_err(e)?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO run_points (run_id, point) VALUES (?1, ?2)",
            params![
                run.run_id,
                serde_json::to_string(&RunPoint::of(run)).unwrap_or_default()
            ],
        )
        .map_err(e)?;
        let results_file = written().map_err(|detail| HistoryError::Write {
            path: path.clone(),
            detail,
        })?;
        let mut file = match &results_file {
            Some(f) => {
                let opened = std::fs::File::open(f).map_err(|err| HistoryError::Write {
                    path: path.clone(),
                    detail: format!("cannot read the results {}: {err}", f.display()),
                })?;
                let len = opened.metadata().map_err(write_err)?.len();
                Some((opened, len))
            }
            None => None,
        };
        let results_len = match &file {
            Some((_, len)) => *len,
            None => json_len(run),
        };
        tx.execute(
            "INSERT INTO runs (id, started_at, duration_ms, git_commit, git_branch, label, tribunal_version,
                trials, counted, passed, failing, mean_score, cost_usd, input_tokens, output_tokens,
                latency_p50, latency_p95, results)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, zeroblob(?18))",
            params![
                run.run_id,
                run.started_at,
                run.duration_ms,
                run.git.as_ref().map(|g| g.commit.as_str()),
                run.git.as_ref().and_then(|g| g.branch.as_deref()),
                run.label,
                run.tribunal_version,
                s.total as i64,
                s.pass.n as i64,
                s.pass.successes as i64,
                s.failing as i64,
                s.mean_score,
                s.cost_usd,
                s.usage.input_tokens as i64,
                s.usage.output_tokens as i64,
                s.latency_p50,
                s.latency_p95,
                results_len as i64,
            ],
        )
        .map_err(e)?;
        // The results JSON is streamed into the row's zero-filled blob, so
        // a large run's text (tens of MB at 10,000 trials) is never held
        // in memory, neither here nor bound as a parameter in SQLite.
        {
            let row = tx.last_insert_rowid();
            let mut blob = tx
                .blob_open(rusqlite::MAIN_DB, "runs", "results", row, false)
                .map_err(e)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut blob);
            let copied = match &mut file {
                Some((f, len)) => std::io::copy(f, &mut w).and_then(|n| {
                    if n == *len {
                        Ok(())
                    } else {
                        Err(std::io::Error::other(format!(
                            "the results file changed while it was copied ({n} bytes of {len})"
                        )))
                    }
                }),
                None => serde_json::to_writer(&mut w, run).map_err(std::io::Error::from),
            };
            copied
                .and_then(|()| std::io::Write::flush(&mut w))
                .map_err(write_err)?;
        }
        tx.commit().map_err(e)
    }

    /// The metrics of the newest `limit` runs, oldest first (for trends).
    /// Runs stored before tribunal kept these metrics are measured from
    /// their stored results.
    pub fn points(&self, limit: usize) -> Result<Vec<RunPoint>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                // Start times have second precision: runs of one second
                // keep the order they were stored in.
                "SELECT r.id, p.point FROM runs r LEFT JOIN run_points p ON p.run_id = r.id
                 ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<(String, Option<String>)> = stmt
            .query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, point) in rows.into_iter().rev() {
            let parsed = point.and_then(|p| serde_json::from_str::<RunPoint>(&p).ok());
            match parsed {
                Some(p) => out.push(p),
                None => {
                    if let Some(run) = self.load(&id)? {
                        out.push(RunPoint::of(&run));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Stores a run ([`History::store_from`]) and applies the retention:
    /// the newest `keep` runs (`0`: all), then at most `max_bytes` (`0`: no
    /// limit). What every command that stores a run does.
    pub fn store_retained(
        &mut self,
        run: &RunResults,
        results_file: Option<&Path>,
        keep: usize,
        max_bytes: u64,
    ) -> Result<(), HistoryError> {
        self.store_from(run, results_file)?;
        self.retain(keep, max_bytes)
    }

    /// The retention alone: the newest `keep` runs (`0`: all), then at most
    /// `max_bytes` (`0`: no limit).
    pub(crate) fn retain(&mut self, keep: usize, max_bytes: u64) -> Result<(), HistoryError> {
        self.trim(keep)?;
        self.trim_bytes(max_bytes)?;
        Ok(())
    }

    /// Deletes all but the newest `keep` runs (`0` keeps all). Returns how
    /// many runs were deleted.
    pub fn trim(&mut self, keep: usize) -> Result<usize, HistoryError> {
        if keep == 0 {
            return Ok(0);
        }
        let n = self
            .conn
            .execute(
                "DELETE FROM runs WHERE id NOT IN (SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1)",
                params![keep as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// The bytes the stored runs use: the database's pages less its free
    /// ones (SQLite reuses freed pages, so the file stops growing there).
    pub fn used_bytes(&self) -> Result<u64, HistoryError> {
        let pragma = |name: &str| -> Result<i64, HistoryError> {
            self.conn
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .map_err(|e| self.err(e))
        };
        let pages = pragma("page_count")? - pragma("freelist_count")?;
        Ok((pages.max(0) as u64).saturating_mul(pragma("page_size")?.max(0) as u64))
    }

    /// Deletes the oldest runs while the history uses more than `max_bytes`
    /// (`0`: no limit), never the newest run. Returns how many runs were
    /// deleted.
    pub fn trim_bytes(&mut self, max_bytes: u64) -> Result<usize, HistoryError> {
        if max_bytes == 0 {
            return Ok(0);
        }
        let mut deleted = 0;
        // A few rounds: each deletes as many of the oldest runs as the mean
        // run size says are over, then measures again.
        for _ in 0..16 {
            let used = self.used_bytes()?;
            if used <= max_bytes {
                break;
            }
            let runs: i64 = self
                .conn
                .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            if runs <= 1 {
                break;
            }
            let per_run = (used / runs as u64).max(1);
            let over = (used - max_bytes)
                .div_ceil(per_run)
                .clamp(1, runs as u64 - 1);
            let n = self
                .conn
                .execute(
                    "DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY started_at ASC, id ASC LIMIT ?1)",
                    params![over as i64],
                )
                .map_err(|e| self.err(e))?;
            if n == 0 {
                break;
            }
            deleted += n;
        }
        Ok(deleted)
    }

    fn decode(&self, id: &str, json: Vec<u8>) -> Result<RunResults, HistoryError> {
        serde_json::from_slice(&json).map_err(|e| HistoryError::Decode {
            path: self.path.clone(),
            run: id.to_string(),
            detail: e.to_string(),
        })
    }

    fn load_where(&self, sql: &str, arg: &str) -> Result<Option<RunResults>, HistoryError> {
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .query_row(sql, params![arg], |r| Ok((r.get(0)?, results_bytes(r, 1)?)))
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(id, json)| self.decode(&id, json)).transpose()
    }

    /// The run with this id.
    pub fn load(&self, run_id: &str) -> Result<Option<RunResults>, HistoryError> {
        self.load_where("SELECT id, results FROM runs WHERE id = ?1", run_id)
    }

    /// The newest run made from a commit (full hash or unique prefix).
    pub fn latest_for_commit(&self, commit: &str) -> Result<Option<RunResults>, HistoryError> {
        self.load_where(
            "SELECT id, results FROM runs WHERE git_commit LIKE ?1 || '%' ORDER BY started_at DESC, id DESC LIMIT 1",
            commit,
        )
    }

    /// The newest run on a branch.
    pub fn latest_for_branch(&self, branch: &str) -> Result<Option<RunResults>, HistoryError> {
        self.load_where(
            "SELECT id, results FROM runs WHERE git_branch = ?1 ORDER BY started_at DESC, id DESC LIMIT 1",
            branch,
        )
    }

    /// The newest `limit` runs, oldest first (for plots and listings).
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, started_at, git_commit, git_branch, label, trials, counted, passed, failing,
                    mean_score, cost_usd, latency_p50, latency_p95
                 FROM runs ORDER BY started_at DESC, id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    started_at: r.get(1)?,
                    git_commit: r.get(2)?,
                    git_branch: r.get(3)?,
                    label: r.get(4)?,
                    trials: r.get::<_, i64>(5)? as u64,
                    counted: r.get::<_, i64>(6)? as u64,
                    passed: r.get::<_, i64>(7)? as u64,
                    failing: r.get::<_, i64>(8)? as u64,
                    mean_score: r.get(9)?,
                    cost_usd: r.get(10)?,
                    latency_p50: r.get(11)?,
                    latency_p95: r.get(12)?,
                })
            })
            .map_err(|e| self.err(e))?;
        let mut out: Vec<RunRow> = rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        out.reverse();
        Ok(out)
    }

    /// Outcomes of one trial over the newest `limit` runs, oldest first:
    /// `(run id, outcome, score)`.
    pub fn trial_history(
        &self,
        trial: &str,
        limit: usize,
    ) -> Result<Vec<(String, String, f64)>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT t.run_id, t.outcome, t.score FROM trials t JOIN runs r ON r.id = t.run_id
                 WHERE t.trial = ?1 ORDER BY r.started_at DESC, r.id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![trial, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out: Vec<_> = rows.collect::<Result<_, _>>().map_err(|e| self.err(e))?;
        out.reverse();
        Ok(out)
    }
}

/// The length of a run's compact JSON, counted without building it.
fn json_len(run: &RunResults) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serializing plain data with string keys cannot fail.
    let _ = serde_json::to_writer(&mut count, run);
    count.0
}

/// A stored run's results JSON: a blob since runs are streamed in, text in
/// histories written before.
fn results_bytes(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    match row.get_ref(i)? {
        rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => Ok(b.to_vec()),
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            "results".into(),
            other.data_type(),
        )),
    }
}

fn classify(path: &Path, busy: Duration, e: rusqlite::Error) -> HistoryError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return HistoryError::Locked {
                    path: path.to_path_buf(),
                    waited_ms: busy.as_millis() as u64,
                };
            }
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                return HistoryError::Corrupt {
                    path: path.to_path_buf(),
                    detail: msg.clone().unwrap_or_else(|| f.to_string()),
                };
            }
            _ => {}
        }
    }
    HistoryError::Sqlite {
        path: path.to_path_buf(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn results_are_stored_as_streamed_json_and_rows_written_as_text_still_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let mut h = History::open(&path).expect("open");
        let run = sample::run(30, 0.6, 7);
        h.store(&run).expect("store");
        let (kind, len): (String, i64) = h
            .conn
            .query_row(
                "SELECT typeof(results), length(results) FROM runs WHERE id = 'sample-7'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("row");
        // The blob is exactly the compact JSON: no zero bytes left over.
        assert_eq!(
            (kind.as_str(), len as usize),
            ("blob", serde_json::to_string(&run).expect("json").len())
        );
        assert_eq!(h.load("sample-7").expect("load"), Some(run.clone()));
        // A history written before results were streamed holds them as text.
        let older = sample::run(3, 0.6, 8);
        h.store(&older).expect("store");
        h.conn
            .execute(
                "UPDATE runs SET results = ?1 WHERE id = 'sample-8'",
                params![serde_json::to_string(&older).expect("json")],
            )
            .expect("as text");
        assert_eq!(h.load("sample-8").expect("load"), Some(older));
    }

    #[test]
    fn a_run_stored_while_its_results_are_written_is_whole_or_absent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let results = dir.path().join("run.json");
        let mut h = History::open(&path).expect("open");
        let run = sample::run(25, 0.6, 5);
        // The trial rows go in before the run's row, and the file is asked
        // for in between: here it is written at that moment.
        h.store_when_written(&run, || {
            std::fs::write(&results, serde_json::to_vec(&run).expect("json"))
                .map_err(|e| e.to_string())?;
            Ok(Some(results.clone()))
        })
        .expect("store");
        assert_eq!(h.load("sample-5").expect("load"), Some(run.clone()));
        let t = &run.records[0].verdict.trial;
        assert_eq!(h.trial_history(t, 10).expect("trial").len(), 1);
        // A results file that was never written stores nothing of the run,
        // and the run stored before it is untouched.
        let failed = sample::run(25, 0.6, 6);
        let err = h
            .store_when_written(&failed, || Err("the results file was not written".into()))
            .expect_err("no results, no run");
        assert!(
            err.to_string().contains("the results file was not written"),
            "{err}"
        );
        assert_eq!(h.load("sample-6").expect("load"), None);
        let trials: i64 = h
            .conn
            .query_row(
                "SELECT COUNT(*) FROM trials WHERE run_id = 'sample-6'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(trials, 0);
        assert_eq!(h.trial_history(t, 10).expect("trial").len(), 1);
        assert_eq!(h.runs(10).expect("runs").len(), 1);
    }

    #[test]
    fn a_run_stored_for_run_waits_in_the_log_until_prepare_copies_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let wal = dir.path().join("h.db-wal");
        assert!(prepare(&path).is_none(), "no history yet: nothing to do");
        History::open(&path).expect("create");
        let run = sample::run(40, 0.7, 3);
        {
            let mut h = History::open_for_run(&path).expect("open for run");
            h.store(&run).expect("store");
        }
        // Closed without a checkpoint: the run is in the log.
        let logged = std::fs::metadata(&wal).expect("log kept").len();
        assert!(logged > 0, "the log holds the run");
        // The next run's start copies it into the database and empties the
        // log; the run is still there.
        prepare(&path).expect("thread").join().expect("joined");
        assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
        let h = History::open(&path).expect("after prepare");
        assert_eq!(h.load("sample-3").expect("load"), Some(run));
    }

    #[test]
    fn stores_loads_lists_and_trims() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let mut h = History::open(&path).expect("open");
        for seed in 1..=4 {
            h.store(&sample::run(20, 0.7, seed)).expect("store");
        }
        let run = sample::run(20, 0.7, 2);
        assert_eq!(h.load("sample-2").expect("load"), Some(run.clone()));
        let commit = run
            .git
            .as_ref()
            .map(|g| g.commit.clone())
            .unwrap_or_default();
        let by_commit = h.latest_for_commit(&commit[..10]).expect("by commit");
        assert_eq!(by_commit.map(|r| r.run_id), Some("sample-2".into()));
        let rows = h.runs(10).expect("runs");
        assert_eq!(
            rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["sample-1", "sample-2", "sample-3", "sample-4"]
        );
        assert_eq!(rows[0].trials, 20);
        let t = &run.records[0].verdict.trial;
        assert_eq!(h.trial_history(t, 10).expect("trial").len(), 4);
        assert_eq!(h.trim(2).expect("trim"), 2);
        assert_eq!(h.runs(10).expect("runs").len(), 2);
        assert_eq!(h.load("sample-1").expect("load"), None);
        // Trials of trimmed runs are gone too.
        assert_eq!(h.trial_history(t, 10).expect("trial").len(), 2);
        // Storing the same id again replaces it.
        h.store(&sample::run(5, 0.7, 4)).expect("restore");
        assert_eq!(h.runs(10).expect("runs").last().map(|r| r.trials), Some(5));
    }

    #[test]
    fn trims_by_size_oldest_first_and_never_the_newest_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let mut h = History::open(&path).expect("open");
        for seed in 1..=6 {
            h.store(&sample::run(300, 0.7, seed)).expect("store");
        }
        let full = h.used_bytes().expect("size");
        assert_eq!(h.trim_bytes(0).expect("no limit"), 0);
        // Half the size: the oldest runs go, the newest stay.
        let deleted = h.trim_bytes(full / 2).expect("trim");
        assert!((2..6).contains(&deleted), "{deleted}");
        assert!(h.used_bytes().expect("size") <= full / 2);
        let ids: Vec<String> = h
            .runs(10)
            .expect("runs")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids.last().map(String::as_str), Some("sample-6"), "{ids:?}");
        assert!(!ids.contains(&"sample-1".to_string()), "{ids:?}");
        // A limit no run fits under still keeps the newest one.
        h.trim_bytes(1).expect("trim");
        let ids: Vec<String> = h
            .runs(10)
            .expect("runs")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, vec!["sample-6".to_string()]);
    }

    #[test]
    fn concurrent_writers_do_not_lose_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        History::open(&path).expect("create");
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || -> Result<(), HistoryError> {
                    let mut h = History::open(&path)?;
                    for i in 0..5 {
                        let mut run = sample::run(30, 0.5, t * 10 + i);
                        run.run_id = format!("t{t}-{i}");
                        h.store(&run)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread").expect("store");
        }
        assert_eq!(
            History::open(&path)
                .expect("open")
                .runs(100)
                .expect("runs")
                .len(),
            20
        );
    }

    #[test]
    fn a_held_lock_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let holder = History::open(&path).expect("open");
        holder.conn.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let mut other = History::open_with_timeout(&path, Duration::from_millis(50)).expect("open");
        let err = other.store(&sample::run(3, 0.5, 1)).expect_err("locked");
        assert!(
            matches!(err, HistoryError::Locked { waited_ms: 50, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("is locked by another process"),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        std::fs::write(&path, vec![0x42u8; 8192]).expect("write garbage");
        let err = History::open(&path).expect_err("corrupt");
        assert!(matches!(err, HistoryError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("move the file away"), "{err}");
    }
}
