//! Verdict snapshots, in insta's `.snap` format.
//!
//! Each trial's [`Decision`] (outcome, and per check its outcome, score and
//! label) is the body of `<suite dir>/snapshots/<suite>__<case>[__<variant>].snap`.
//! The header carries what a reviewer needs and what must never make a
//! snapshot differ: the case's location, the output, reasons and critiques
//! (insta's `info` field). `cargo insta review` shows and accepts them like
//! any other snapshot.
//!
//! tribunal writes the files itself (atomically: temporary file + rename) and
//! reads them back with insta's own parser, so the two always agree on the
//! format. The environment is honoured as insta documents it:
//!
//! | `INSTA_UPDATE` | missing or changed snapshot |
//! |---|---|
//! | `auto` (default) | `.snap.new` for review |
//! | `new` | `.snap.new` for review |
//! | `always` | `.snap` overwritten (accepted) |
//! | `unseen` | `.snap` for new snapshots, `.snap.new` for changed ones |
//! | `no` | nothing written |
//! | `force` | as `always`, and unchanged `.snap` files are rewritten too |
//!
//! Under CI (`CI=true`) nothing in the tree is written or deleted, whatever
//! the mode: no `.snap`, no `.snap.new`, no clean-up of stale `.snap.new`.
//! `INSTA_FORCE_PASS=1` reports mismatches without failing.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::fsutil::{snapshot_file_name, write_atomic_unsynced};
use crate::rerun::Rerun;
use crate::verdict::{Decision, Gate, Outcome, Status, Verdict};
use crate::yaml_out::to_yaml;

pub use crate::config::{SnapshotSettings as Settings, UpdateMode, is_ci};

/// The snapshot file of a trial: `<suite>__<case>[__<variant>].snap`, each
/// part through [`crate::fsutil::name_part`] (so no two trials share a file).
pub fn snapshot_path(suite_dir: &Path, suite: &str, case: &str, variant: Option<&str>) -> PathBuf {
    suite_dir
        .join("snapshots")
        .join(snapshot_file_name(suite, case, variant))
}

/// What a trial's verdict came to against its accepted snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// The status.
    pub status: Status,
    /// The accepted decision, when one was read.
    pub accepted: Option<Decision>,
    /// Whether the trial fails the build.
    pub fails: bool,
    /// What to show when the trial fails (or passes with a note).
    pub message: Option<String>,
    /// The file written, if any (`.snap` or `.snap.new`).
    pub wrote: Option<PathBuf>,
}

/// Where a trial's snapshot lives and how to describe it.
#[derive(Debug, Clone)]
pub struct SnapshotFile<'a> {
    /// Absolute path of the `.snap` file.
    pub path: &'a Path,
    /// The same path as shown to users (relative to the project root).
    pub display: &'a str,
    /// The suite file as shown to users (`evals/support.yaml`).
    pub source: &'a str,
    /// The line of the case in the suite file.
    pub line: u32,
    /// The case description, if any.
    pub description: Option<&'a str>,
    /// How the suite is being run (for the commands in messages).
    pub rerun: &'a Rerun,
}

/// The text of a snapshot file for a verdict.
pub fn render(verdict: &Verdict, file: &SnapshotFile<'_>, pending: bool) -> String {
    render_with_body(verdict, file, pending, &decision_text(&verdict.decision()))
}

/// [`render`] with the body (the decision as [`decision_text`] writes it)
/// already made: the comparison made it to compare with the accepted one.
fn render_with_body(
    verdict: &Verdict,
    file: &SnapshotFile<'_>,
    pending: bool,
    body: &str,
) -> String {
    let mut header = Map::new();
    header.insert("source".into(), json!(file.source));
    if pending {
        // cargo-insta shows `source:line` in review; it strips the line on accept.
        header.insert("assertion_line".into(), json!(file.line));
    }
    let description = match file.description {
        Some(d) => format!("{} ({})", d.trim(), verdict.location),
        None => verdict.location.to_string(),
    };
    header.insert("description".into(), json!(description));
    header.insert("expression".into(), json!(verdict.trial));
    header.insert("info".into(), evidence(verdict));
    header.insert("snapshot_kind".into(), json!("text"));
    format!("---\n{}---\n{body}", to_yaml(&Value::Object(header)))
}

/// The snapshot body of a decision.
pub fn decision_text(decision: &Decision) -> String {
    match serde_json::to_value(decision) {
        Ok(v) => to_yaml(&v),
        Err(e) => format!("# tribunal could not serialize the decision: {e}\n"),
    }
}

/// How much of each evidence text a snapshot header shows.
const EXCERPT: usize = 1500;

fn excerpt(s: &str) -> String {
    crate::text::excerpt(s, EXCERPT)
}

/// Structured evidence as YAML in the header (not a JSON string inside
/// YAML), unless its JSON text is longer than an excerpt: then an excerpt
/// of that text.
fn header_evidence(ev: &crate::verdict::Evidence) -> Value {
    let text = ev.as_json();
    if text.len() <= EXCERPT || text.chars().count() <= EXCERPT {
        ev.to_value()
    } else {
        json!(excerpt(text))
    }
}

/// The non-gating evidence shown in review: output and per-check reasons.
fn evidence(verdict: &Verdict) -> Value {
    let mut info = Map::new();
    if let Some(out) = &verdict.output {
        info.insert("output".into(), json!(excerpt(&out.text)));
        structure(&mut info, out);
    }
    if let Some(err) = &verdict.error {
        info.insert("error".into(), json!(excerpt(err)));
    }
    let checks: Vec<Value> = verdict
        .checks
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("check".into(), json!(c.name));
            if !c.reason.is_empty() {
                m.insert("reason".into(), json!(excerpt(&c.reason)));
            }
            if let Some(crit) = &c.critique {
                m.insert("critique".into(), json!(excerpt(crit)));
            }
            if let Some(ev) = &c.evidence {
                m.insert("evidence".into(), header_evidence(ev));
            }
            if !c.warnings.is_empty() {
                m.insert("warnings".into(), json!(c.warnings));
            }
            Value::Object(m)
        })
        .collect();
    if !checks.is_empty() {
        info.insert("checks".into(), Value::Array(checks));
    }
    Value::Object(info)
}

/// The tool calls and conversation of an output, readably (left out when
/// the output has none, or its conversation is one request and its answer,
/// so a text output's header is as it always was).
/// A pipeline's (or a Rust target's) steps are shown one line each, its
/// name and output text; a tool loop's rounds (`model#N`, `tool:NAME#N`)
/// are not, since the conversation shows them.
fn structure(info: &mut Map<String, Value>, out: &crate::verdict::Output) {
    let loop_round = |name: &str| name.starts_with("model#") || name.starts_with("tool:");
    if out.steps.iter().any(|s| !loop_round(&s.name)) {
        let steps: Vec<Value> = out
            .steps
            .iter()
            .map(|s| {
                json!(format!(
                    "{}: {}",
                    s.name,
                    crate::text::flat(&s.output.text, 200)
                ))
            })
            .collect();
        info.insert("steps".into(), Value::Array(steps));
    }
    if !out.tool_calls.is_empty() {
        let calls: Vec<Value> = out
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, c)| json!(format!("#{i} {}", c.summary(200))))
            .collect();
        info.insert("tool_calls".into(), Value::Array(calls));
    }
    // A single request and its answer says nothing the output and the
    // suite file do not: the conversation is shown when it holds tool
    // calls, tool results or more than one user turn.
    let c = &out.conversation;
    let users = c
        .iter()
        .filter(|m| m.role == crate::chat::Role::User)
        .count();
    let tools = c
        .iter()
        .any(|m| m.role == crate::chat::Role::Tool || !m.tool_calls.is_empty());
    if users > 1 || tools {
        // One YAML item per transcript line, so that it reads as it prints.
        let text = excerpt(&crate::chat::transcript(&out.conversation));
        let lines: Vec<Value> = text.lines().map(|l| json!(l)).collect();
        info.insert("conversation".into(), Value::Array(lines));
    }
}

/// Reads the accepted decision from a `.snap` file.
///
/// `Ok(None)`: there is no snapshot. `Err`: there is one and it cannot be used.
pub fn read_accepted(path: &Path) -> Result<Option<(String, Decision)>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let snap = insta::Snapshot::from_file(path).map_err(|e| e.to_string())?;
    let Some(text) = snap.contents().as_text() else {
        return Err("it is a binary snapshot, not a tribunal verdict".into());
    };
    let body = text.to_string();
    let decision: Decision = serde_saphyr::from_str(&body)
        .map_err(|e| format!("its body is not a tribunal decision: {e}"))?;
    Ok(Some((body, decision)))
}

/// The accepted decision of `path`, without parsing the file when its body
/// is exactly `body` (the snapshot is unchanged: the common case of a
/// steady-state run), which then gives `now` back. Anything else (another
/// body, line endings changed, a header holding keys tribunal does not write)
/// goes through [`read_accepted`], insta's parser included.
fn read_accepted_unless_same(
    path: &Path,
    body: &str,
    now: &Decision,
) -> Result<Option<(String, Decision)>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if unchanged(&text, body) => return Ok(Some((body.to_string(), now.clone()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    read_accepted(path)
}

/// The header keys of a snapshot file tribunal writes ([`render`]).
const HEADER_KEYS: [&str; 6] = [
    "source",
    "assertion_line",
    "description",
    "expression",
    "info",
    "snapshot_kind",
];

/// Whether `text` is a snapshot file as [`render`] writes it whose body is
/// exactly `body`: `---`, a header whose top-level lines are only tribunal's
/// keys (nested lines are indented), `---`, the body.
fn unchanged(text: &str, body: &str) -> bool {
    let Some((header, rest)) = text
        .strip_prefix("---\n")
        .and_then(|t| t.split_once("\n---\n"))
    else {
        return false;
    };
    rest == body
        && !header.contains('\r')
        && header.lines().all(|l| {
            l.starts_with(' ')
                || l.split_once(':')
                    .is_some_and(|(k, _)| HEADER_KEYS.contains(&k))
        })
}

fn classify(accepted: &Decision, now: &Decision) -> Status {
    match (accepted.outcome, now.outcome) {
        (Outcome::Pass, Outcome::Fail) => Status::Regression,
        (Outcome::Fail, Outcome::Pass) => Status::Improvement,
        _ => Status::Changed,
    }
}

fn settled(outcome: Outcome) -> Status {
    if outcome == Outcome::Pass {
        Status::Pass
    } else {
        Status::KnownFailure
    }
}

fn pending_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".new");
    PathBuf::from(p)
}

/// Compares a verdict with its accepted snapshot and writes a new or pending
/// snapshot as the settings say.
pub fn compare(verdict: &Verdict, file: &SnapshotFile<'_>, settings: &Settings) -> Compared {
    record_reference(file.path);
    let now = verdict.decision();
    let pending = pending_path(file.path);
    if verdict.outcome == Outcome::Error {
        let why = verdict
            .error
            .clone()
            .or_else(|| {
                verdict
                    .checks
                    .iter()
                    .find(|c| c.outcome == Outcome::Error)
                    .map(|c| match &c.location {
                        Some(l) => format!("check `{}` (at {l}): {}", c.name, c.reason),
                        None => format!("check `{}`: {}", c.name, c.reason),
                    })
            })
            .unwrap_or_else(|| "unknown error".into());
        return Compared {
            status: Status::Error,
            accepted: read_accepted(file.path).ok().flatten().map(|(_, d)| d),
            fails: true,
            message: Some(format!(
                "error: {why}\n  case: {}\n  (errors are never snapshotted: fix the cause and run again)",
                verdict.location
            )),
            wrote: None,
        };
    }
    let body = decision_text(&now);
    let accepted = match read_accepted_unless_same(file.path, &body, &now) {
        Ok(a) => a,
        Err(e) => {
            return Compared {
                status: Status::Error,
                accepted: None,
                fails: true,
                message: Some(format!(
                    "snapshot {} cannot be read: {e}\n  fix or delete it, then run `{}` and {}",
                    file.display,
                    file.rerun.all(),
                    file.rerun.review()
                )),
                wrote: None,
            };
        }
    };
    let must_pass = verdict.gate == Gate::MustPass && verdict.outcome != Outcome::Pass;
    let mode = settings.effective();
    match accepted {
        Some((old_body, old)) => {
            let same = insta::internals::TextSnapshotContents::new(
                old_body.clone(),
                insta::TextSnapshotKind::File,
            )
            .matches_latest(&insta::internals::TextSnapshotContents::new(
                body.clone(),
                insta::TextSnapshotKind::File,
            ));
            if same {
                if !settings.ci {
                    remove_stale(&pending);
                }
                // `force` rewrites the header (location, output, evidence);
                // the decision is the same, so the status is unchanged.
                let wrote = if mode == UpdateMode::Force {
                    write_for(verdict, file, mode, false, &pending, settings.ci, &body).0
                } else {
                    None
                };
                let status = if must_pass {
                    Status::MustPassFailure
                } else {
                    settled(now.outcome)
                };
                return Compared {
                    status,
                    accepted: Some(old),
                    fails: must_pass,
                    message: must_pass.then(|| must_pass_message(verdict)),
                    wrote,
                };
            }
            let status = classify(&old, &now);
            let (wrote, note) = write_for(verdict, file, mode, false, &pending, settings.ci, &body);
            let accepted_now = matches!(wrote.as_deref(), Some(p) if p == file.path);
            let status = if must_pass {
                Status::MustPassFailure
            } else if accepted_now {
                settled(now.outcome)
            } else {
                status
            };
            let fails = must_pass || (!accepted_now && !settings.force_pass);
            let message = format!(
                "{}: the verdict changed\n  case: {}\n  snapshot: {}\n{}\n{}{}",
                status_word(status),
                verdict.location,
                file.display,
                diff(&old_body, &body),
                failing_reasons(verdict),
                note
            );
            Compared {
                status,
                accepted: Some(old),
                fails,
                message: Some(message),
                wrote,
            }
        }
        None => {
            let (wrote, note) = write_for(verdict, file, mode, true, &pending, settings.ci, &body);
            let accepted_now = matches!(wrote.as_deref(), Some(p) if p == file.path);
            let status = if must_pass {
                Status::MustPassFailure
            } else if accepted_now {
                settled(now.outcome)
            } else {
                Status::New
            };
            let fails = must_pass || (!accepted_now && !settings.force_pass);
            let message = format!(
                "{}: no accepted snapshot at {}\n  case: {}\n{}{}{}",
                if accepted_now {
                    "recorded"
                } else {
                    status_word(status)
                },
                file.display,
                verdict.location,
                indent(&body),
                failing_reasons(verdict),
                note
            );
            Compared {
                status,
                accepted: None,
                fails,
                message: Some(message),
                wrote,
            }
        }
    }
}

fn must_pass_message(verdict: &Verdict) -> String {
    format!(
        "must_pass: the case is gated `must_pass` and its verdict is {}\n  case: {}\n{}",
        verdict.outcome,
        verdict.location,
        failing_reasons(verdict)
    )
}

/// Writes the snapshot the mode calls for. Returns the path written and a
/// note telling the user what to do next.
fn write_for(
    verdict: &Verdict,
    file: &SnapshotFile<'_>,
    mode: UpdateMode,
    is_new: bool,
    pending: &Path,
    ci: bool,
    body: &str,
) -> (Option<PathBuf>, String) {
    let (target, as_pending) = match mode {
        UpdateMode::Always | UpdateMode::Force => (file.path.to_path_buf(), false),
        UpdateMode::Unseen if is_new => (file.path.to_path_buf(), false),
        UpdateMode::New | UpdateMode::Unseen | UpdateMode::Auto => (pending.to_path_buf(), true),
        UpdateMode::No => {
            let why = if ci {
                "CI: nothing in the tree is written"
            } else {
                "INSTA_UPDATE=no"
            };
            return (
                None,
                format!(
                    "  nothing was written ({why}): run `{}` locally, {}, and commit the accepted .snap file\n",
                    file.rerun.trial("", &verdict.trial),
                    file.rerun.review()
                ),
            );
        }
    };
    let text = render_with_body(verdict, file, as_pending, body);
    // A pending snapshot is a proposal, rewritten by every run until it is
    // reviewed: an unchanged one is left alone, a changed one is replaced
    // atomically but not fsync'd (losing it in a crash loses nothing the
    // next run does not write again). Accepted snapshots are flushed to
    // disk once the run is over.
    let written = if as_pending {
        match std::fs::read(&target) {
            Ok(old) if old == text.as_bytes() => Ok(()),
            _ => write_atomic_unsynced(&target, text.as_bytes()),
        }
    } else {
        // Accepted: flushed with the run's other accepted snapshots and
        // cassettes at its end (`fsutil::sync_deferred`).
        crate::fsutil::write_atomic_deferred(&target, text.as_bytes())
    };
    match written {
        Ok(()) if as_pending => (
            Some(target.clone()),
            format!(
                "  wrote {}.new: {}, then commit the .snap\n",
                file.display,
                file.rerun.review()
            ),
        ),
        Ok(()) => {
            // The verdict is accepted: a pending file left by an earlier
            // run would offer to undo that.
            remove_stale(pending);
            (
                Some(target),
                format!("  accepted into {} (INSTA_UPDATE)\n", file.display),
            )
        }
        Err(e) => (
            None,
            format!("  could not write {}: {e}\n", target.display()),
        ),
    }
}

fn remove_stale(pending: &Path) {
    if pending.exists() {
        let _ = std::fs::remove_file(pending);
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::KnownFailure => "known failure",
        Status::Regression => "REGRESSION",
        Status::Improvement => "improvement (awaiting review)",
        Status::Changed => "changed",
        Status::New => "new",
        Status::MustPassFailure => "must_pass failure",
        Status::Error => "error",
        Status::Skipped => "skipped",
        Status::Quarantined => "quarantined",
    }
}

fn indent(body: &str) -> String {
    body.lines().map(|l| format!("    {l}\n")).collect()
}

/// A unified diff of two snapshot bodies (`-` accepted, `+` now).
pub fn diff(old: &str, new: &str) -> String {
    // insta reads an accepted body without its final newline; compare the
    // lines, not the line endings, or the unchanged last line shows as
    // removed and added.
    let (old, new) = (
        format!("{}\n", old.trim_end_matches('\n')),
        format!("{}\n", new.trim_end_matches('\n')),
    );
    let d = similar::TextDiff::from_lines(&old, &new);
    let mut out = String::from("  --- accepted\n  +++ now\n");
    for change in d.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        out.push_str(&format!("  {sign} {}", change.value()));
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The reasons (and critiques) of the checks that did not pass, and the
/// tool calls the output made (when it made any).
fn failing_reasons(verdict: &Verdict) -> String {
    let mut out = String::new();
    for c in &verdict.checks {
        if matches!(c.outcome, Outcome::Fail | Outcome::Error) {
            let at = c
                .location
                .as_ref()
                .map(|l| format!(" (at {l})"))
                .unwrap_or_default();
            out.push_str(&format!("  {} `{}`{at}: {}\n", c.outcome, c.name, c.reason));
            if let Some(crit) = &c.critique {
                out.push_str(&format!("    critique: {}\n", excerpt(crit)));
            }
        }
    }
    if let Some(o) = &verdict.output
        && !o.tool_calls.is_empty()
        && verdict.outcome != Outcome::Pass
    {
        out.push_str(&format!(
            "  tool calls: {}\n",
            crate::chat::ToolCall::sequence(&o.tool_calls)
        ));
    }
    out
}

/// cargo-insta's `--unreferenced` support: it asks each test run to list the
/// snapshots it used in `INSTA_SNAPSHOT_REFERENCES_FILE`.
fn record_reference(path: &Path) {
    use std::io::Write;
    let Some(list) = crate::config::snapshot_references_file() else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(list)
    {
        let _ = writeln!(f, "{}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{CheckResult, Output, Usage};

    fn verdict(outcome: Outcome, checks: Vec<CheckResult>) -> Verdict {
        Verdict {
            suite: "support".into(),
            case: "refund".into(),
            variant: None,
            trial: "support::refund".into(),
            outcome,
            tags: vec![],
            score: 1.0,
            threshold: 1.0,
            gate: Gate::Snapshot,
            checks,
            output: Some(Output::text("We refund within 30 days.\nThanks!")),
            error: None,
            location: crate::verdict::parse_span("evals/support.yaml:4:5"),
            usage: Usage::default(),
            cost_usd: None,
            duration_ms: 1.0,
        }
    }

    fn file<'a>(path: &'a Path) -> SnapshotFile<'a> {
        SnapshotFile {
            path,
            display: "evals/snapshots/support__refund.snap",
            source: "evals/support.yaml",
            line: 4,
            description: Some("asks for a refund"),
            rerun: &CARGO,
        }
    }

    static CARGO: std::sync::LazyLock<Rerun> = std::sync::LazyLock::new(Rerun::default);

    fn local() -> Settings {
        Settings::from_vars(None, None, false)
    }

    #[test]
    fn an_unchanged_snapshot_is_recognised_without_parsing_and_anything_else_is_parsed() {
        let pass = verdict(
            Outcome::Pass,
            vec![CheckResult::from_bool(
                "contains", "contains", true, "found",
            )],
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "support", "refund", None);
        let text = render(&pass, &file(&path), false);
        let body = decision_text(&pass.decision());
        assert!(unchanged(&text, &body));
        assert!(!unchanged(&text, &body.replace("pass", "fail")));
        assert!(!unchanged(&text.replace('\n', "\r\n"), &body));
        let odd = text.replacen("source:", "surprise: 1\nsource:", 1);
        assert!(!unchanged(&odd, &body), "a key tribunal never writes");
        // The slow path still decides such a file (insta's parser), and a
        // corrupt one is an error, not a pass.
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &odd).expect("write");
        let c = compare(&pass, &file(&path), &local());
        assert_eq!(c.status, Status::Pass, "{:?}", c.message);
        std::fs::write(&path, "---\nsource: [unclosed\n---\noutcome: pass\n").expect("write");
        let c = compare(&pass, &file(&path), &local());
        assert_eq!(c.status, Status::Error, "{:?}", c.message);
    }

    #[test]
    fn an_unchanged_pending_snapshot_is_not_rewritten() {
        use std::os::unix::fs::MetadataExt;
        let pass = verdict(
            Outcome::Pass,
            vec![CheckResult::from_bool(
                "contains", "contains", true, "found",
            )],
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "support", "refund", None);
        let pending = pending_path(&path);
        assert_eq!(compare(&pass, &file(&path), &local()).status, Status::New);
        let inode = std::fs::metadata(&pending).expect("pending").ino();
        assert_eq!(compare(&pass, &file(&path), &local()).status, Status::New);
        assert_eq!(std::fs::metadata(&pending).expect("pending").ino(), inode);
        // A changed verdict replaces the pending file (a new file, renamed in).
        let fail = verdict(
            Outcome::Fail,
            vec![CheckResult::from_bool(
                "contains", "contains", false, "missing",
            )],
        );
        assert_eq!(compare(&fail, &file(&path), &local()).status, Status::New);
        assert_ne!(std::fs::metadata(&pending).expect("pending").ino(), inode);
        let text = std::fs::read_to_string(&pending).expect("read");
        assert!(text.contains("outcome: fail"), "{text}");
    }

    #[test]
    fn new_then_accepted_then_regression() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "support", "refund", None);
        let pass = verdict(
            Outcome::Pass,
            vec![CheckResult::from_bool(
                "contains",
                "contains \"refund\"",
                true,
                "found",
            )],
        );
        let first = compare(&pass, &file(&path), &local());
        assert_eq!(first.status, Status::New);
        assert!(first.fails);
        let pending = pending_path(&path);
        assert!(pending.exists() && !path.exists());
        // What cargo insta accept does: rename the pending file.
        std::fs::rename(&pending, &path).expect("accept");
        let again = compare(&pass, &file(&path), &local());
        assert_eq!(again.status, Status::Pass, "{:?}", again.message);
        assert!(!again.fails);

        let fail = verdict(
            Outcome::Fail,
            vec![CheckResult::from_bool(
                "contains",
                "contains \"refund\"",
                false,
                "missing",
            )],
        );
        let third = compare(&fail, &file(&path), &local());
        assert_eq!(third.status, Status::Regression);
        assert!(third.fails);
        let msg = third.message.expect("message");
        assert!(
            msg.contains("-   outcome: pass") || msg.contains("- outcome: pass"),
            "{msg}"
        );
        assert!(msg.contains("+ outcome: fail"), "{msg}");
        assert!(pending.exists());
    }

    #[test]
    fn evidence_never_changes_the_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "support", "refund", None);
        let mut v = verdict(
            Outcome::Pass,
            vec![CheckResult::from_bool("contains", "c", true, "found at 3")],
        );
        let always = Settings::from_vars(Some("always"), None, false);
        let first = compare(&v, &file(&path), &always);
        assert_eq!(first.wrote.as_deref(), Some(path.as_path()));
        v.checks[0].reason = "found at 7".into();
        v.output = Some(Output::text("different wording"));
        let second = compare(&v, &file(&path), &local());
        assert_eq!(second.status, Status::Pass);
    }

    #[test]
    fn ci_writes_nothing_and_says_how_to_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "support", "refund", None);
        let v = verdict(Outcome::Pass, vec![]);
        let ci = Settings::from_vars(None, None, true);
        let c = compare(&v, &file(&path), &ci);
        assert_eq!(c.status, Status::New);
        assert!(c.fails && c.wrote.is_none());
        assert!(
            c.message.expect("message").contains("cargo insta review"),
            "message names the command"
        );
        assert!(!path.exists() && !pending_path(&path).exists());
    }

    #[test]
    fn known_failure_passes_but_must_pass_does_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "s", "c", Some("gpt+v2"));
        assert!(path.ends_with("snapshots/s__c__gpt+v2.snap"));
        let mut v = verdict(
            Outcome::Fail,
            vec![CheckResult::from_bool("equals", "e", false, "differs")],
        );
        let always = Settings::from_vars(Some("always"), None, false);
        compare(&v, &file(&path), &always);
        let c = compare(&v, &file(&path), &local());
        assert_eq!(c.status, Status::KnownFailure);
        assert!(!c.fails);
        v.gate = Gate::MustPass;
        let c = compare(&v, &file(&path), &local());
        assert_eq!(c.status, Status::MustPassFailure);
        assert!(c.fails);
    }

    #[test]
    fn errors_are_never_snapshotted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "s", "c", None);
        let mut v = verdict(Outcome::Error, vec![]);
        v.error = Some("target crashed".into());
        let always = Settings::from_vars(Some("always"), None, false);
        let c = compare(&v, &file(&path), &always);
        assert_eq!(c.status, Status::Error);
        assert!(c.fails && c.wrote.is_none() && !path.exists());
        assert!(c.message.expect("message").contains("target crashed"));
    }

    #[test]
    fn force_pass_reports_without_failing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "s", "c", None);
        let v = verdict(Outcome::Pass, vec![]);
        let s = Settings::from_vars(Some("no"), Some("1"), false);
        let c = compare(&v, &file(&path), &s);
        assert_eq!(c.status, Status::New);
        assert!(!c.fails);
    }

    #[test]
    fn force_rewrites_an_unchanged_snapshot_and_always_does_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "s", "c", None);
        let v = verdict(Outcome::Pass, vec![]);
        let always = Settings::new(UpdateMode::Always, false, false);
        compare(&v, &file(&path), &always);
        // A hand-edited header: `always` leaves it, `force` rewrites it.
        let text = std::fs::read_to_string(&path).expect("written");
        let edited = text.replacen("---\n", "---\nexpression: stale\n", 1);
        std::fs::write(&path, &edited).expect("edit");
        let c = compare(&v, &file(&path), &always);
        assert_eq!((c.status, c.wrote.is_some()), (Status::Pass, false));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), edited);
        let force = Settings::new(UpdateMode::Force, false, false);
        let c = compare(&v, &file(&path), &force);
        assert_eq!((c.status, c.fails), (Status::Pass, false));
        assert_eq!(c.wrote.as_deref(), Some(path.as_path()));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    }

    #[test]
    fn a_corrupt_snapshot_is_an_error_not_a_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "s", "c", None);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "---\nsource: x\n---\noutcome: [unclosed\n").expect("write");
        let c = compare(&verdict(Outcome::Pass, vec![]), &file(&path), &local());
        assert_eq!(c.status, Status::Error);
        assert!(c.fails);
    }

    #[test]
    fn a_single_turn_conversation_and_steps_leave_the_header_as_it_was() {
        use crate::chat::{Message, ToolCall};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.snap");
        let plain = verdict(Outcome::Pass, vec![]);
        let mut structured = plain.clone();
        let out = structured.output.take().expect("an output");
        structured.output = Some(
            out.clone()
                .with_conversation(vec![
                    Message::system("Be brief."),
                    Message::user("Refund?"),
                    Message::assistant(out.text.clone()),
                ])
                .with_finish_reason("stop")
                .with_step(crate::verdict::Step::new("model#1", Output::text("x"))),
        );
        let before = render(&plain, &file(&path), false);
        // A tool loop's rounds are not shown (its conversation shows them).
        assert_eq!(render(&structured, &file(&path), false), before);
        // A pipeline's steps are: name and output text, one line each; the
        // body of the snapshot does not change.
        let mut piped = plain.clone();
        if let Some(o) = piped.output.as_mut() {
            o.steps = vec![
                crate::verdict::Step::new("question", Output::text("Who bought\nshoes?")),
                crate::verdict::Step::new("audience", Output::text("x".repeat(300))),
            ];
        }
        let text = render(&piped, &file(&path), false);
        let long = format!("{}…", "x".repeat(199));
        assert!(
            text.contains(&format!(
                "  steps:\n  - \"question: Who bought⏎shoes?\"\n  - \"audience: {long}\"\n"
            )),
            "{text}"
        );
        assert_eq!(
            text.split_once("snapshot_kind").map(|(_, body)| body),
            before.split_once("snapshot_kind").map(|(_, body)| body)
        );
        // A tool call is shown, and so is the conversation around it.
        let mut called = structured.clone();
        if let Some(o) = called.output.as_mut() {
            o.tool_calls
                .push(ToolCall::new("refund", serde_json::json!({"id": 7})));
            o.conversation.insert(
                2,
                Message::assistant_calls("", vec![o.tool_calls[0].clone()]),
            );
        }
        let text = render(&called, &file(&path), false);
        assert!(
            text.contains("  tool_calls:\n  - \"#0 refund({\\\"id\\\":7})\"\n  conversation:\n  - \"[system] Be brief.\"\n"),
            "{text}"
        );
    }

    #[test]
    fn header_evidence_is_yaml_not_an_escaped_json_string() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.snap");
        let c = CheckResult::from_bool("ast_equivalent", "sql", true, "ok")
            .with_evidence(serde_json::json!({"verdict": "equivalent", "proof": false}));
        let text = render(&verdict(Outcome::Pass, vec![c]), &file(&path), false);
        assert!(
            text.contains("    evidence:\n      verdict: equivalent\n      proof: false\n"),
            "{text}"
        );
        assert!(!text.contains("\\\""), "{text}");
    }

    #[test]
    fn rendered_file_is_read_back_by_insta() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.snap");
        let mut c = CheckResult::from_bool("judge", "polite", true, "ok: \"quoted\"\nline two")
            .with_score(0.756)
            .with_label("4/5")
            .with_critique("Friendly --- and clear.");
        c.warnings.push("same model".into());
        let v = verdict(Outcome::Pass, vec![c]);
        std::fs::write(&path, render(&v, &file(&path), true)).expect("write");
        let snap = insta::Snapshot::from_file(&path).expect("insta parses it");
        assert_eq!(snap.metadata().expression(), Some("support::refund"));
        assert_eq!(snap.metadata().source(), Some("evals/support.yaml"));
        let (_, d) = read_accepted(&path).expect("read").expect("present");
        assert_eq!(d, v.decision());
        assert_eq!(d.checks[0].score, Some(0.76));
    }

    #[test]
    fn snapshot_names_are_injective_across_suites() {
        let dir = Path::new("evals");
        let a = snapshot_path(dir, "x", "y__z", None);
        let b = snapshot_path(dir, "x__y", "z", None);
        assert_ne!(a, b);
        assert!(a.ends_with("snapshots/x__y~u~uz.snap"), "{a:?}");
        assert!(b.ends_with("snapshots/x~u~uy__z.snap"), "{b:?}");
    }

    /// What a user of a build without `sql` sees for a suite that compares
    /// SQL: a load error at the check's file:line:col naming the feature.
    #[cfg(not(feature = "sql"))]
    #[test]
    fn shipped_sql_suites_are_refused_without_the_sql_feature() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = crate::case::discover(&root.join("evals")).expect("evals");
        let loaded = crate::case::load_files(root, &files, None);
        let errors: Vec<String> = loaded.broken.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(errors.join("\n"));
    }

    // The shipped suites compare SQL: without the feature they are refused
    // (the test above).
    #[cfg(feature = "sql")]
    #[test]
    fn shipped_snapshots_keep_their_names() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = crate::case::discover(&root.join("evals")).expect("evals");
        let loaded = crate::case::load_files(root, &files, None);
        assert!(loaded.broken.is_empty());
        let mut named: Vec<String> = crate::expand::expand(&loaded.suites)
            .iter()
            .filter(|t| t.case().skip.is_none())
            .map(|t| {
                let p = snapshot_path(
                    &t.suite.dir,
                    &t.suite.name,
                    &t.case().id,
                    t.variant().map(|v| v.id.as_str()),
                );
                p.file_name().expect("name").to_string_lossy().into_owned()
            })
            .collect();
        named.sort();
        let mut shipped: Vec<String> = std::fs::read_dir(root.join("evals/snapshots"))
            .expect("snapshots")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".snap"))
            .collect();
        shipped.sort();
        assert_eq!(named, shipped);
    }

    fn two_checks(first: bool) -> Verdict {
        let outcome = if first { Outcome::Pass } else { Outcome::Fail };
        verdict(
            outcome,
            vec![
                CheckResult::from_bool("contains", "first", first, "r"),
                CheckResult::from_bool("contains", "second", true, "r"),
            ],
        )
    }

    #[test]
    fn the_printed_diff_shows_only_real_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "support", "refund", None);
        let always = Settings::from_vars(Some("always"), None, false);
        compare(&two_checks(false), &file(&path), &always);
        let c = compare(&two_checks(true), &file(&path), &local());
        let msg = c.message.expect("message");
        let changed: Vec<&str> = msg
            .lines()
            .filter(|l| l.starts_with("  - ") || l.starts_with("  + "))
            .collect();
        assert_eq!(
            changed,
            [
                "  - outcome: fail",
                "  + outcome: pass",
                "  -   outcome: fail",
                "  +   outcome: pass"
            ],
            "{msg}"
        );
    }

    #[test]
    fn ci_never_writes_or_deletes_in_the_tree() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "support", "refund", None);
        let pending = pending_path(&path);
        let always = Settings::from_vars(Some("always"), None, false);
        compare(&two_checks(true), &file(&path), &always);
        std::fs::write(&pending, "left by an earlier run").expect("pending");
        let before = std::fs::read_to_string(&path).expect("snap");
        for update in [None, Some("always"), Some("new"), Some("unseen")] {
            let ci = Settings::from_vars(update, None, true);
            // Unchanged: the stale pending file stays (a CI run deletes nothing).
            let c = compare(&two_checks(true), &file(&path), &ci);
            assert_eq!(c.status, Status::Pass);
            assert!(pending.exists(), "{update:?} deleted the pending file");
            // Changed: nothing is written, whatever INSTA_UPDATE says.
            let c = compare(&two_checks(false), &file(&path), &ci);
            assert!(c.fails && c.wrote.is_none(), "{update:?}");
            assert_eq!(std::fs::read_to_string(&path).expect("snap"), before);
            assert_eq!(
                std::fs::read_to_string(&pending).expect("pending"),
                "left by an earlier run"
            );
        }
    }

    #[test]
    fn accepting_removes_the_pending_file_it_supersedes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = snapshot_path(dir.path(), "support", "refund", None);
        compare(&two_checks(true), &file(&path), &local());
        assert!(pending_path(&path).exists());
        let always = Settings::from_vars(Some("always"), None, false);
        let c = compare(&two_checks(true), &file(&path), &always);
        assert_eq!(c.wrote.as_deref(), Some(path.as_path()));
        assert!(!pending_path(&path).exists(), "no .snap.new left behind");
    }
}
