//! GitHub Actions: the review of a run (head results, the base branch's
//! results when there are any, the gates) rendered as the job summary, the
//! sticky pull-request comment, workflow-command annotations and step
//! outputs.
//!
//! - **Annotations** are workflow commands printed on standard output
//!   (`::error file=evals/shop.yaml,line=8,col=9,title=…::…`): one per trial
//!   that fails the build, at the YAML line of its first failing check
//!   (the case's line when no check failed, the first problem of a suite
//!   file that did not load), and a warning for every trial that passed on
//!   the base branch and fails here while its snapshot accepts the failure.
//!   Paths are made relative to `GITHUB_WORKSPACE`, so a project in a
//!   subfolder of the repository still points at the right file.
//! - **The comment** starts with a hidden marker ([`COMMENT_MARKER`]) by
//!   which the next run finds it and edits it instead of adding another.
//! - **The gate** is [`crate::report::Gates`] applied to the head run and
//!   the comparison; without a base run the significant-regressions gate is
//!   not checked (and says so) unless the base is required.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::report::markdown;
use crate::report::summary::{failing_the_build, failure_reason};
use crate::report::{Comparison, GateReport, Gates, RunResults, Summary, compare};
use crate::verdict::{Status, TrialRecord};

/// The hidden first line of tribunal's pull-request comment.
pub const COMMENT_MARKER: &str = "<!-- tribunal:comment -->";

/// The longest comment body sent, in characters: GitHub rejects bodies
/// over 65,536 characters, so a longer one is cut and says where the rest is.
pub const MAX_COMMENT_CHARS: usize = 60_000;

/// The largest event payload read (`GITHUB_EVENT_PATH`).
pub const MAX_EVENT_BYTES: u64 = 32 << 20;

/// Annotations printed when `--max` does not say: GitHub shows at most 10
/// errors and 10 warnings per step and 50 per job.
pub const DEFAULT_MAX_ANNOTATIONS: usize = 50;

/// The marker of the comment with key `key` (several uses of the action in
/// one pull request keep one comment each).
pub fn comment_marker(key: Option<&str>) -> String {
    match key {
        None => COMMENT_MARKER.to_string(),
        Some(k) => format!("<!-- tribunal:comment:{} -->", marker_key(k)),
    }
}

/// A key safe inside an HTML comment: letters, digits, `-_.:/` kept, the
/// rest replaced by `-`.
fn marker_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:/".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The pull request an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// Whether its head is in another repository (a fork): the workflow's
    /// token is then read-only.
    pub fork: bool,
}

/// The pull request of an event payload: `pull_request` (the
/// `pull_request` and `pull_request_target` events) or an `issue` that is a
/// pull request (`issue_comment`). `None` for other events (`push`).
pub fn pull_request(event: &Value) -> Option<PullRequest> {
    if let Some(pr) = event.get("pull_request").filter(|v| v.is_object())
        && let Some(number) = pr.get("number").and_then(Value::as_u64)
    {
        let repo = |side: &str| {
            pr.pointer(&format!("/{side}/repo/full_name"))
                .and_then(Value::as_str)
        };
        let fork = match (repo("head"), repo("base")) {
            (Some(h), Some(b)) => h != b,
            // A deleted fork has no head repository.
            (None, Some(_)) => true,
            _ => false,
        };
        return Some(PullRequest { number, fork });
    }
    let issue = event.get("issue")?;
    issue.get("pull_request")?;
    Some(PullRequest {
        number: issue.get("number")?.as_u64()?,
        fork: false,
    })
}

/// Reads an event payload (`GITHUB_EVENT_PATH`): a regular JSON file of at
/// most [`MAX_EVENT_BYTES`].
pub fn read_event(path: &Path) -> Result<Value, String> {
    let text = crate::fsutil::read_regular(path, MAX_EVENT_BYTES).map_err(|e| {
        format!(
            "cannot read the event payload GITHUB_EVENT_PATH={}: {e}",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "the event payload GITHUB_EVENT_PATH={} is not JSON: {e} (hint: GitHub Actions writes this file; point the variable at a webhook payload)",
            path.display()
        )
    })
}

/// A run under review: its results, the base run's when there is one, their
/// comparison, and the gates applied to both.
#[derive(Debug, Clone)]
pub struct Review {
    /// The run under review.
    pub head: RunResults,
    /// The base branch's run, when its results were found.
    pub base: Option<RunResults>,
    /// `base` compared with `head`.
    pub comparison: Option<Comparison>,
    /// The gates, as checked (the significant-regressions gate removed when
    /// there is no base and none is required).
    pub gates: Gates,
    /// What the gates found.
    pub report: GateReport,
    /// What the reader must know that no number says: no base to compare
    /// with, a gate not checked.
    pub notes: Vec<String>,
}

impl Review {
    /// The review of `head` against `base`; `without_base` says why there
    /// is none (see [`no_base_note`]). Without a base,
    /// `gates.max_significant_regressions` fails the gate when
    /// `require_base`, and is otherwise not checked, with a note.
    pub fn new(
        head: RunResults,
        base: Option<RunResults>,
        mut gates: Gates,
        require_base: bool,
        without_base: String,
    ) -> Review {
        let comparison = base.as_ref().map(|b| compare(b, &head));
        let mut notes = Vec::new();
        if base.is_none() {
            notes.push(without_base);
            if let Some(max) = gates.max_significant_regressions
                && !require_base
            {
                gates.max_significant_regressions = None;
                notes.push(format!(
                    "Not checked: at most {max} significant regressions against the base (there is no base run; `require-base: true` fails instead)."
                ));
            }
        }
        let report = gates.check(&Summary::of(&head), comparison.as_ref());
        Review {
            head,
            base,
            comparison,
            gates,
            report,
            notes,
        }
    }

    /// Whether the gates passed.
    pub fn passed(&self) -> bool {
        self.report.failures.is_empty()
    }

    /// Trials that passed on the base and do not pass here.
    pub fn regressions_against_base(&self) -> Option<usize> {
        self.comparison
            .as_ref()
            .map(|c| c.flipped.iter().filter(|f| f.is_regression()).count())
    }

    /// The job summary: the run's Markdown summary, the comparison with the
    /// base (or why there is none) and the gates.
    pub fn summary_markdown(&self) -> String {
        let mut out = markdown::run_summary(&self.head);
        out.push('\n');
        out.push_str(&self.comparison_markdown());
        out.push_str(&self.gates_markdown());
        out
    }

    fn comparison_markdown(&self) -> String {
        let mut out = String::new();
        if let Some(c) = &self.comparison {
            out.push_str(&markdown::comparison(c, None));
        }
        for n in &self.notes {
            let _ = writeln!(out, "> {}\n", markdown::cell(n));
        }
        out
    }

    /// The gates as a Markdown list (nothing when no gate is set).
    pub fn gates_markdown(&self) -> String {
        if self.gates.is_empty() && self.report.failures.is_empty() {
            return String::new();
        }
        let mut out = String::from("### Gates\n\n");
        for f in &self.report.failures {
            let _ = writeln!(out, "- ❌ {f}");
        }
        for p in &self.report.passed {
            let _ = writeln!(out, "- ✅ {p}");
        }
        out.push('\n');
        out
    }

    /// The pull-request comment: `marker`, a headline, the comparison with
    /// the base (or why there is none), the gates, the run's summary folded,
    /// and a link to the run (`run_url`) whose artifact `artifact` holds the
    /// reports. At most [`MAX_COMMENT_CHARS`] characters.
    pub fn comment_body(&self, marker: &str, run_url: Option<&str>, artifact: &str) -> String {
        let s = Summary::of(&self.head);
        let failing = failing_the_build(&self.head, &s);
        let icon = if self.passed() && failing == 0 {
            "✅"
        } else if self.passed() {
            "⚠️"
        } else {
            "❌"
        };
        let mut out = format!("{marker}\n");
        let versus = match (&self.comparison, self.head.short_commit()) {
            (Some(c), _) => format!(
                "`{}` against the base (`{}`)",
                c.head_commit.as_deref().unwrap_or(&c.head_id),
                c.base_commit.as_deref().unwrap_or(&c.base_id)
            ),
            (None, Some(commit)) => format!("{commit}, no base to compare with"),
            (None, None) => "no base to compare with".to_string(),
        };
        let gate = if !self.passed() {
            "gates fail"
        } else if self.gates.is_empty() {
            "no gate set"
        } else {
            "gates pass"
        };
        let _ = writeln!(
            out,
            "## {icon} tribunal: {}, {} · {gate}\n\n<sub>{versus}</sub>\n",
            crate::text::count(s.total, "trial"),
            crate::report::summary::fail_the_build(failing),
        );
        let mut body = self.comparison_markdown();
        // The comparison's own heading repeats the headline; keep its table.
        if let Some(rest) = body.strip_prefix("## ")
            && let Some((_, tail)) = rest.split_once('\n')
        {
            body = tail.trim_start_matches('\n').to_string();
        }
        out.push_str(&body);
        out.push_str(&self.gates_markdown());
        let run = markdown::run_summary(&self.head);
        let _ = writeln!(
            out,
            "<details><summary>This run: {}</summary>\n\n{run}\n</details>\n",
            crate::report::summary::fail_the_build(failing)
        );
        let footer = match run_url {
            Some(url) => format!(
                "Reports (JUnit, HTML, results JSON): the `{artifact}` artifact of [this run]({url}) · tribunal {}",
                self.head.tribunal_version
            ),
            None => format!(
                "Reports: the `{artifact}` artifact of this run · tribunal {}",
                self.head.tribunal_version
            ),
        };
        bound_comment(out, &footer)
    }

    /// The annotations: an error per trial that fails the build (regressions
    /// first, in the order of the summary's sections), then a warning per
    /// trial that passed on the base and fails here but whose snapshot
    /// accepts it. At most `max`; a notice counts the rest.
    pub fn annotations(&self, paths: &PathMap, max: usize) -> Vec<Annotation> {
        let head = &self.head;
        let mut failing: Vec<&TrialRecord> = head
            .records
            .iter()
            .filter(|r| r.status.fails_build())
            .collect();
        failing.sort_by_key(|r| rank(r));
        let mut out: Vec<Annotation> = failing
            .iter()
            .map(|r| {
                let at = r.verdict.failure_location();
                let force_passed =
                    head.force_pass && !matches!(r.status, Status::Error | Status::MustPassFailure);
                let title = match &r.load_error {
                    Some(_) => "tribunal: suite file did not load".to_string(),
                    None => format!(
                        "tribunal {}: {}",
                        markdown::status_label(r.status),
                        r.verdict.trial
                    ),
                };
                let mut message = crate::text::one_line(&failure_reason(r), 1000);
                // Errors are never snapshotted: name a snapshot only when one
                // was accepted before (as the summary's `where` does).
                let unwritten = r.status == Status::Error && r.accepted.is_none();
                if !r.snapshot.is_empty() && r.load_error.is_none() && !unwritten {
                    let _ = write!(message, " (snapshot {})", r.snapshot);
                }
                if force_passed {
                    message.push_str(" (does not fail the build under INSTA_FORCE_PASS=1)");
                }
                Annotation {
                    level: if force_passed {
                        Level::Warning
                    } else {
                        Level::Error
                    },
                    file: Some(paths.map(&at.file)).filter(|f| !f.is_empty()),
                    line: (at.line > 0).then_some(at.line),
                    col: (at.col > 0).then_some(at.col),
                    title,
                    message,
                }
            })
            .collect();
        if let Some(c) = &self.comparison {
            for f in c.flipped.iter().filter(|f| f.is_regression()) {
                let Some(r) = head.records.iter().find(|r| r.verdict.trial == f.trial) else {
                    continue;
                };
                if r.status.fails_build() {
                    continue;
                }
                let at = r.verdict.failure_location();
                out.push(Annotation {
                    level: Level::Warning,
                    file: Some(paths.map(&at.file)).filter(|f| !f.is_empty()),
                    line: (at.line > 0).then_some(at.line),
                    col: (at.col > 0).then_some(at.col),
                    title: format!("tribunal: {} passed on the base", f.trial),
                    message: format!(
                        "passed on the base ({}); here its verdict is `{}` ({}), and its snapshot accepts that as a {}, so it does not fail the build",
                        c.base_commit.as_deref().unwrap_or(&c.base_id),
                        f.head,
                        crate::text::one_line(&failure_reason(r), 600),
                        markdown::status_label(r.status)
                    ),
                });
            }
        }
        // Quarantined trials gate nothing, and are always shown.
        for r in head
            .records
            .iter()
            .filter(|r| r.status == Status::Quarantined)
        {
            let at = r.verdict.failure_location();
            out.push(Annotation {
                level: Level::Notice,
                file: Some(paths.map(&at.file)).filter(|f| !f.is_empty()),
                line: (at.line > 0).then_some(at.line),
                col: (at.col > 0).then_some(at.col),
                title: format!("tribunal quarantined: {}", r.verdict.trial),
                message: crate::text::one_line(&failure_reason(r), 1000),
            });
        }
        if out.len() > max {
            let rest = out.len() - max;
            out.truncate(max);
            out.push(Annotation {
                level: Level::Notice,
                file: None,
                line: None,
                col: None,
                title: "tribunal".into(),
                message: format!(
                    "{} more not annotated; every one is in the job summary and the JUnit report",
                    crate::text::count(rest, "trial")
                ),
            });
        }
        out
    }

    /// The step outputs (`GITHUB_OUTPUT`), in a fixed order.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let s = Summary::of(&self.head);
        vec![
            ("trials", s.total.to_string()),
            ("failing", failing_the_build(&self.head, &s).to_string()),
            (
                "pass-rate",
                s.pass.rate.map(|r| format!("{r:.4}")).unwrap_or_default(),
            ),
            ("compared", self.comparison.is_some().to_string()),
            (
                "regressions",
                self.regressions_against_base()
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            ),
            (
                "gate",
                if self.passed() { "pass" } else { "fail" }.to_string(),
            ),
        ]
    }
}

/// Why a review has no base, as its note says it: on a pull request, that
/// the base branch (`base_name`, `main`) has no results (`missing`: where
/// they were looked for); on another event (`push`), that its results are
/// what pull requests compare with.
pub fn no_base_note(event: Option<&str>, base_name: Option<&str>, missing: &str) -> String {
    match event {
        Some(e) if !e.starts_with("pull_request") => format!(
            "Nothing to compare with on a `{e}` run; its results are the base that pull requests compare with."
        ),
        _ => {
            let of = base_name
                .map(|b| format!(" of the base branch `{b}`"))
                .unwrap_or_default();
            format!(
                "No results{of} to compare with ({missing}); once this branch is merged, its run is the base."
            )
        }
    }
}

/// The order of the summary's sections: files that did not load,
/// regressions, must-pass failures, new, changed, errors, improvements.
fn rank(r: &TrialRecord) -> u8 {
    if r.load_error.is_some() {
        return 0;
    }
    match r.status {
        Status::Regression => 1,
        Status::MustPassFailure => 2,
        Status::New => 3,
        Status::Changed => 4,
        Status::Error => 5,
        Status::Improvement => 6,
        _ => 7,
    }
}

/// `body` and `footer`, cut to [`MAX_COMMENT_CHARS`] when longer.
fn bound_comment(body: String, footer: &str) -> String {
    let room = MAX_COMMENT_CHARS.saturating_sub(footer.chars().count() + 200);
    let total = body.chars().count();
    if total <= room {
        return format!("{body}{footer}\n");
    }
    let cut: String = body.chars().take(room).collect();
    // Cut at a line end so no table row or tag is left half-written.
    let cut = match cut.rfind('\n') {
        Some(i) => &cut[..i],
        None => &cut[..],
    };
    format!(
        "{cut}\n\n</details>\n\n… cut at {room} of {total} characters (GitHub's comment limit); the whole summary is in the job summary.\n\n{footer}\n"
    )
}

/// How serious an annotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `::error`: fails the build.
    Error,
    /// `::warning`.
    Warning,
    /// `::notice`.
    Notice,
}

/// One workflow-command annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Its level.
    pub level: Level,
    /// The file, relative to the workspace.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub col: Option<u32>,
    /// The title.
    pub title: String,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for Annotation {
    /// `::error file=…,line=…,col=…,title=…::message`, escaped as the
    /// Actions toolkit escapes (`%`, CR, LF everywhere; `:` and `,` in
    /// properties too).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cmd = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        };
        let mut props = Vec::new();
        if let Some(file) = &self.file {
            props.push(format!("file={}", escape_property(file)));
        }
        if let Some(l) = self.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = self.col {
            props.push(format!("col={c}"));
        }
        props.push(format!("title={}", escape_property(&self.title)));
        write!(
            f,
            "::{cmd} {}::{}",
            props.join(","),
            escape_data(&self.message)
        )
    }
}

/// Escapes a workflow command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Maps the project's file names (relative to its root) to paths relative
/// to the checkout (`GITHUB_WORKSPACE`), which is what annotations need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathMap {
    root: Option<PathBuf>,
    prefix: Option<PathBuf>,
    workspace: Option<PathBuf>,
}

impl PathMap {
    /// The map for a project at `root` in the checkout `workspace`.
    pub fn new(root: &Path, workspace: Option<&Path>) -> PathMap {
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let root = canon(root);
        let workspace = workspace.map(canon);
        let prefix = workspace
            .as_ref()
            .and_then(|w| root.strip_prefix(w).ok())
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty());
        PathMap {
            root: Some(root),
            prefix,
            workspace,
        }
    }

    /// `file` (as reports show it) relative to the workspace, with `/`.
    pub fn map(&self, file: &str) -> String {
        let path = Path::new(file);
        let mapped = if path.is_absolute() {
            match self
                .workspace
                .as_ref()
                .and_then(|w| path.strip_prefix(w).ok())
            {
                Some(rel) => rel.to_path_buf(),
                None => match self.root.as_ref().and_then(|r| path.strip_prefix(r).ok()) {
                    Some(rel) => self.prefixed(rel),
                    None => path.to_path_buf(),
                },
            }
        } else {
            self.prefixed(path)
        };
        mapped.to_string_lossy().replace('\\', "/")
    }

    fn prefixed(&self, rel: &Path) -> PathBuf {
        match &self.prefix {
            Some(p) => p.join(rel),
            None => rel.to_path_buf(),
        }
    }
}

/// Appends `name=value` lines to a step's outputs file (`GITHUB_OUTPUT`).
/// A value with a line break uses the file's heredoc form.
pub fn append_outputs(path: &Path, outputs: &[(&str, String)]) -> std::io::Result<()> {
    use std::io::Write;
    let mut text = String::new();
    for (name, value) in outputs {
        if value.contains('\n') || value.contains('\r') {
            // A delimiter the value cannot contain: derived from the value.
            use sha2::Digest;
            let digest = sha2::Sha256::digest(value.as_bytes());
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            let delimiter = format!("tribunal_{hex}");
            let _ = writeln!(text, "{name}<<{delimiter}\n{value}\n{delimiter}");
        } else {
            let _ = writeln!(text, "{name}={value}");
        }
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_actions_toolkit() {
        assert_eq!(escape_data("50% a\r\nb"), "50%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        let a = Annotation {
            level: Level::Error,
            file: Some("evals/a, b.yaml".into()),
            line: Some(3),
            col: None,
            title: "tribunal regression: s::c".into(),
            message: "x\ny".into(),
        };
        assert_eq!(
            a.to_string(),
            "::error file=evals/a%2C b.yaml,line=3,title=tribunal regression%3A s%3A%3Ac::x%0Ay"
        );
    }

    #[test]
    fn pull_requests_are_found_in_pull_request_and_issue_events() {
        let pr = serde_json::json!({"pull_request": {"number": 7,
            "head": {"repo": {"full_name": "me/fork"}},
            "base": {"repo": {"full_name": "org/repo"}}}});
        assert_eq!(
            pull_request(&pr),
            Some(PullRequest {
                number: 7,
                fork: true
            })
        );
        let same = serde_json::json!({"pull_request": {"number": 8,
            "head": {"repo": {"full_name": "org/repo"}},
            "base": {"repo": {"full_name": "org/repo"}}}});
        assert_eq!(pull_request(&same).map(|p| p.fork), Some(false));
        let comment = serde_json::json!({"issue": {"number": 9, "pull_request": {}}});
        assert_eq!(pull_request(&comment).map(|p| p.number), Some(9));
        let issue = serde_json::json!({"issue": {"number": 9}});
        assert_eq!(pull_request(&issue), None);
        assert_eq!(
            pull_request(&serde_json::json!({"ref": "refs/heads/main"})),
            None
        );
    }

    #[test]
    fn paths_become_relative_to_the_workspace() {
        let ws = tempfile::tempdir().expect("tempdir");
        let root = ws.path().join("sub/project");
        std::fs::create_dir_all(&root).expect("mkdir");
        let map = PathMap::new(&root, Some(ws.path()));
        assert_eq!(map.map("evals/a.yaml"), "sub/project/evals/a.yaml");
        let abs = root.canonicalize().expect("canon").join("evals/b.yaml");
        assert_eq!(map.map(&abs.to_string_lossy()), "sub/project/evals/b.yaml");
        let plain = PathMap::new(&root, None);
        assert_eq!(plain.map("evals/a.yaml"), "evals/a.yaml");
    }

    #[test]
    fn markers_are_keyed_and_safe() {
        assert_eq!(comment_marker(None), "<!-- tribunal:comment -->");
        assert_eq!(
            comment_marker(Some("sql suite-->")),
            "<!-- tribunal:comment:sql-suite--- -->"
        );
    }

    #[test]
    fn a_long_comment_is_cut_under_the_limit() {
        let body = "| row |\n".repeat(20_000);
        let out = bound_comment(body, "footer");
        assert!(out.chars().count() <= MAX_COMMENT_CHARS, "{}", out.len());
        assert!(out.ends_with("footer\n"));
        assert!(out.contains("GitHub's comment limit"));
    }
}
