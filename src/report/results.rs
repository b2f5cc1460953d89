//! The results of one run: every trial record plus run metadata, as written
//! to `target/tribunal/runs/<id>.json` and stored in the history.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::error::ReportError;
use crate::rerun::Rerun;
use crate::text::{KEPT_BYTES, bounded};
use crate::verdict::TrialRecord;

/// Version of the results file format.
pub const RESULTS_SCHEMA: u32 = 1;

/// The git state a run was made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// Full commit hash of `HEAD`.
    pub commit: String,
    /// Branch name, when `HEAD` is on a branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Whether the work tree had uncommitted changes.
    #[serde(default)]
    pub dirty: bool,
}

impl GitInfo {
    /// Reads the git state of `root` with the `git` command; `None` when
    /// `root` is not in a git repository or git is not installed.
    pub fn detect(root: &Path) -> Option<GitInfo> {
        let git = |args: &[&str]| git(root, args);
        let commit = git(&["rev-parse", "HEAD"])?;
        let branch = git(&["symbolic-ref", "--quiet", "--short", "HEAD"])
            .filter(|b| !b.is_empty())
            .or_else(crate::config::github_head_ref);
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
            .map(|s| !s.is_empty())
            .unwrap_or(false);
        Some(GitInfo {
            commit,
            branch,
            dirty,
        })
    }
}

/// The trimmed standard output of `git ARGS` run in `root`; `None` when git
/// is not installed or fails.
pub fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A record with every text it carries (output, error, reasons,
/// critiques, judge answers and other evidence) bounded to
/// [`KEPT_BYTES`] each: what results files, the history and the HTML
/// report keep. A cut text ends with its full size and SHA-256
/// ([`crate::text::bounded`]); structured output or evidence too large to
/// keep is replaced by its bounded JSON text.
pub fn bound_record(mut r: TrialRecord) -> TrialRecord {
    let cut = |s: &mut String| {
        if s.len() > KEPT_BYTES {
            *s = bounded(s, KEPT_BYTES);
        }
    };
    let v = &mut r.verdict;
    if let Some(out) = &mut v.output {
        bound_output(out);
    }
    if let Some(e) = &mut v.error {
        cut(e);
    }
    for c in &mut v.checks {
        cut(&mut c.reason);
        if let Some(cr) = &mut c.critique {
            cut(cr);
        }
        for w in &mut c.warnings {
            cut(w);
        }
        if let Some(ev) = &mut c.evidence
            && ev.as_json().len() > KEPT_BYTES
        {
            *ev = serde_json::Value::String(bounded(ev.as_json(), KEPT_BYTES)).into();
        }
    }
    r
}

/// An output's texts bounded as [`bound_record`] says: its text, its JSON,
/// each tool call's arguments, each message and each step.
fn bound_output(out: &mut crate::verdict::Output) {
    let cut = |s: &mut String| {
        if s.len() > KEPT_BYTES {
            *s = bounded(s, KEPT_BYTES);
        }
    };
    let cut_json = |v: &mut serde_json::Value| {
        let text = v.to_string();
        if text.len() > KEPT_BYTES {
            *v = serde_json::Value::String(bounded(&text, KEPT_BYTES));
        }
    };
    cut(&mut out.text);
    if out
        .json
        .as_ref()
        .is_some_and(|j| j.to_string().len() > KEPT_BYTES)
    {
        out.json = None;
    }
    for c in &mut out.tool_calls {
        cut_json(&mut c.arguments);
    }
    for m in &mut out.conversation {
        cut(&mut m.content);
        for c in &mut m.tool_calls {
            cut_json(&mut c.arguments);
        }
    }
    for s in &mut out.steps {
        bound_output(&mut s.output);
    }
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunResults {
    /// Format version ([`RESULTS_SCHEMA`]).
    pub schema: u32,
    /// Unique run id: `<UTC time>-<random suffix>`, e.g. `20261125T093000Z-3f9a1c`.
    pub run_id: String,
    /// Start time, RFC 3339 in UTC.
    pub started_at: String,
    /// Wall time of the whole run, in milliseconds.
    pub duration_ms: f64,
    /// The git state, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitInfo>,
    /// The tribunal version that produced the run.
    pub tribunal_version: String,
    /// A free label for the run (model or prompt version under test), from
    /// `TRIBUNAL_RUN_LABEL` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Every trial.
    pub records: Vec<TrialRecord>,
    /// How the suite was run, so reports name the command that re-runs
    /// it (absent: `cargo test --test evals`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun: Option<Rerun>,
    /// Snapshot mismatches were reported without failing the run
    /// (`INSTA_FORCE_PASS`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_pass: bool,
    /// The axes of each suite declared with a `matrix:` (suite name → axis
    /// names, in the order written), so that reports can lay a two-axis
    /// matrix out as a grid; a variant id joins its values with `+`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variant_axes: BTreeMap<String, Vec<String>>,
    /// When the run evaluated only part of the suites (a name filter,
    /// `--skip`, `--ignored` or `TRIBUNAL_SUITES`): what selected it.
    /// Trends over runs leave such runs out by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
    /// What the model calls of the run cost, split into calls answered from
    /// cassettes (recorded cost, no money spent) and calls made live.
    /// Absent in results written before tribunal recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend: Option<Spend>,
}

/// The model calls of a run: how many were replayed from cassettes and how
/// many went to a provider, and what each kind cost. A replayed call's cost
/// is what it cost when it was recorded; only live calls spend money.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spend {
    /// Calls answered from a cassette.
    pub replayed_calls: u64,
    /// Calls sent to a provider (and recorded, in record or auto mode).
    pub live_calls: u64,
    /// The recorded cost of the replayed calls (USD): not spent by this run.
    pub replayed_usd: f64,
    /// The cost of the live calls (USD): money this run spent.
    pub spent_usd: f64,
}

impl Spend {
    /// One line for reports: `model calls: 132 replayed ($0.0049 recorded,
    /// not spent) · 0 live ($0.0000 spent)`.
    pub fn line(&self) -> String {
        format!(
            "model calls: {} replayed (${:.4} recorded, not spent) · {} live (${:.4} spent)",
            self.replayed_calls, self.replayed_usd, self.live_calls, self.spent_usd
        )
    }
}

impl RunResults {
    /// Results of a run that started at `started` and took `duration`, with
    /// a fresh run id, the git state of `root` and the label from
    /// `TRIBUNAL_RUN_LABEL`.
    pub fn new(
        root: &Path,
        records: Vec<TrialRecord>,
        started: SystemTime,
        duration: Duration,
    ) -> RunResults {
        Self::with_git(GitInfo::detect(root), records, started, duration)
    }

    /// [`RunResults::new`] with the git state already read (a run reads it
    /// while its trials are evaluated, not after them).
    pub fn with_git(
        git: Option<GitInfo>,
        records: Vec<TrialRecord>,
        started: SystemTime,
        duration: Duration,
    ) -> RunResults {
        RunResults {
            schema: RESULTS_SCHEMA,
            run_id: new_run_id(started),
            started_at: rfc3339(started),
            duration_ms: duration.as_secs_f64() * 1000.0,
            git,
            tribunal_version: env!("CARGO_PKG_VERSION").to_string(),
            label: crate::config::run_label(),
            records: records.into_iter().map(bound_record).collect(),
            rerun: None,
            force_pass: false,
            variant_axes: BTreeMap::new(),
            subset: None,
            spend: None,
        }
    }

    /// Reads a results file.
    pub fn load(path: &Path) -> Result<RunResults, ReportError> {
        // Regular files only (a FIFO would block), at most 1 GiB.
        let text =
            crate::fsutil::read_regular(path, 1 << 30).map_err(|e| ReportError::read(path, e))?;
        serde_json::from_str(&text).map_err(|source| ReportError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Pretty JSON text of the results.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the results to `w` as compact JSON, as it is produced (never
    /// held in memory whole): the results file's form, and the bytes the
    /// history stores. [`RunResults::to_json`] is the same data indented,
    /// for printing.
    pub fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(w, self).map_err(std::io::Error::from)
    }

    /// The short commit (12 characters), when known. Cut on a character
    /// boundary: a results file edited by hand may hold any text there.
    pub fn short_commit(&self) -> Option<&str> {
        self.git.as_ref().map(|g| {
            let end = g
                .commit
                .char_indices()
                .nth(12)
                .map_or(g.commit.len(), |(i, _)| i);
            &g.commit[..end]
        })
    }
}

/// Merges the results of a suite split across runners (for example nextest
/// partitions) into one run: records are concatenated in trial order; a
/// trial that appears in several files is an error, since partitions must
/// not overlap. The merged run takes the earliest start, the longest
/// duration and the first file's git state, and gets a new id.
pub fn merge(parts: Vec<RunResults>) -> Result<RunResults, ReportError> {
    let mut parts = parts.into_iter();
    let Some(mut merged) = parts.next() else {
        return Err(ReportError::Config(
            "nothing to merge: pass at least one results file".into(),
        ));
    };
    let mut seen: std::collections::HashSet<String> = merged
        .records
        .iter()
        .map(|r| r.verdict.trial.clone())
        .collect();
    for part in parts {
        if merged.subset != part.subset {
            // Partitions of one run each select a part; what they make
            // together is not known to be a subset.
            merged.subset = None;
        }
        merged.spend = match (merged.spend, part.spend) {
            (Some(a), Some(b)) => Some(Spend {
                replayed_calls: a.replayed_calls + b.replayed_calls,
                live_calls: a.live_calls + b.live_calls,
                replayed_usd: a.replayed_usd + b.replayed_usd,
                spent_usd: a.spent_usd + b.spent_usd,
            }),
            _ => None,
        };
        for (suite, axes) in part.variant_axes {
            merged.variant_axes.entry(suite).or_insert(axes);
        }
        for record in part.records {
            if !seen.insert(record.verdict.trial.clone()) {
                return Err(ReportError::Config(format!(
                    "trial `{}` appears in more than one results file (run {}); partitions must not overlap",
                    record.verdict.trial, part.run_id
                )));
            }
            merged.records.push(record);
        }
        if part.started_at < merged.started_at {
            merged.started_at = part.started_at;
        }
        merged.duration_ms = merged.duration_ms.max(part.duration_ms);
    }
    merged
        .records
        .sort_by(|a, b| a.verdict.trial.cmp(&b.verdict.trial));
    merged.run_id = format!("{}-merged", merged.run_id);
    Ok(merged)
}

/// A new run id from the start time and a per-process random suffix.
pub fn new_run_id(started: SystemTime) -> String {
    use sha2::Digest;
    let nanos = started
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = sha2::Sha256::new();
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    let digest = h.finalize();
    let suffix: String = digest[..3].iter().map(|b| format!("{b:02x}")).collect();
    let stamp: String = rfc3339(started)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{stamp}-{suffix}")
}

/// Formats a time as RFC 3339 in UTC with second precision
/// (`2026-11-25T09:30:00Z`).
pub use crate::datetime::rfc3339;

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(0, "1970-01-01T00:00:00Z")]
    #[case(951_782_400, "2000-02-29T00:00:00Z")]
    #[case(1_795_512_645, "2026-11-24T09:30:45Z")]
    #[case(4_107_542_399, "2100-02-28T23:59:59Z")]
    fn formats_rfc3339(#[case] secs: u64, #[case] want: &str) {
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(secs)), want);
    }

    #[test]
    fn run_ids_are_time_ordered_and_distinct() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_512_645);
        let a = new_run_id(t);
        let b = new_run_id(t + Duration::from_nanos(1));
        assert!(a.starts_with("20261124T093045Z-"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn a_short_commit_of_any_text_does_not_panic() {
        let mut run = crate::report::sample::run(1, 1.0, 1);
        if let Some(g) = &mut run.git {
            g.commit = "ééééééééééééééé".into();
        }
        assert_eq!(run.short_commit(), Some("éééééééééééé"));
    }

    #[test]
    fn huge_texts_are_bounded_with_their_size_and_hash() {
        let mut r = crate::report::sample::record(
            "s::c",
            crate::verdict::Outcome::Fail,
            crate::verdict::Status::Regression,
            0.0,
            &[],
            1.0,
            0.0,
        );
        let big = "x".repeat(3_000_000);
        r.verdict.output = Some(crate::verdict::Output::text(big.clone()));
        r.verdict.error = Some(big.clone());
        r.verdict.checks[0].critique = Some(big.clone());
        r.verdict.checks[0].evidence = Some(serde_json::json!({"answer": big}).into());
        let run = RunResults::new(
            Path::new("/nonexistent"),
            vec![r],
            SystemTime::now(),
            Duration::ZERO,
        );
        let json = run.to_json();
        assert!(json.len() < 5 * KEPT_BYTES, "{} bytes kept", json.len());
        assert!(
            json.contains("tribunal kept the first 65536 of 3000000 bytes; sha256 of the whole: ")
        );
    }

    #[test]
    fn tool_calls_messages_and_steps_are_kept_and_bounded() {
        use crate::chat::{Message, ToolCall};
        use crate::verdict::{Output, Step};
        let mut r = crate::report::sample::record(
            "s::c",
            crate::verdict::Outcome::Fail,
            crate::verdict::Status::Regression,
            0.0,
            &[],
            1.0,
            0.0,
        );
        let big = "x".repeat(1_000_000);
        let call = ToolCall::new("search", serde_json::json!({"q": big})).with_id("c1");
        r.verdict.output = Some(
            Output::text("answer")
                .with_tool_call(call.clone())
                .with_tool_call(ToolCall::new("get_order", serde_json::json!({"id": 7})))
                .with_conversation(vec![
                    Message::user(big.clone()),
                    Message::assistant_calls("", vec![call]),
                    Message::tool_result("c1", "search", big.clone()),
                ])
                .with_step(Step::new("draft", Output::text(big.clone()))),
        );
        let run = RunResults::new(
            Path::new("/nonexistent"),
            vec![r],
            SystemTime::now(),
            Duration::ZERO,
        );
        let json = run.to_json();
        assert!(json.len() < 8 * KEPT_BYTES, "{} bytes kept", json.len());
        let back: RunResults = serde_json::from_str(&json).expect("reads back");
        let out = back.records[0].verdict.output.clone().expect("output kept");
        assert_eq!(out.tool_calls.len(), 2);
        assert_eq!(out.tool_calls[1].arguments, serde_json::json!({"id": 7}));
        assert!(out.tool_calls[0].arguments.is_string(), "cut to its text");
        assert_eq!(out.conversation.len(), 3);
        assert_eq!(out.conversation[2].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(out.steps[0].name, "draft");
        assert!(
            out.steps[0]
                .output
                .text
                .contains("tribunal kept the first 65536")
        );
    }
}
