//! The quarantine list: cases known to be unstable, which still run and are
//! reported but do not gate the build until their entry expires.
//!
//! The list is a file in the repository, `evals/quarantine.yaml` by default
//! (`TRIBUNAL_QUARANTINE`, `reports.quarantine`); a missing file is an empty
//! list.
//!
//! ```yaml
//! quarantine:
//!   - case: "support::refund_window"   # a trial name, or a glob (`*` any text)
//!     reason: "the judge splits 2-1 on this answer; see #142"
//!     owner: "@alice"
//!     expires: 2027-01-31              # YYYY-MM-DD, UTC; the last day it holds
//! ```
//!
//! An entry matches a trial whose name the pattern matches, and every
//! variant of a case it names (`support::refund` covers
//! `support::refund::gpt-4o`). A matched trial is evaluated and its snapshot
//! compared as usual; its status becomes `quarantined`, which fails neither
//! the harness, `tribunal report --gate` nor `tribunal ci github gate`, and
//! is left out of pass rates. Every report lists it with the reason, owner,
//! expiry and the status it would have had.
//!
//! An **expired** entry quarantines nothing: its trials gate again, and
//! the summary says the entry expired (so the fix is to act on the case, or
//! renew the entry with a new date and reason). A malformed file is a setup
//! error naming `file:line:col`: a list that cannot be read never silently
//! quarantines nothing (or everything).

use std::path::Path;
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::case::{LoadError, Location};
use crate::diag::Seg;
use crate::verdict::{QuarantineNote as Note, Status};

/// Where the quarantine list is, relative to the project root.
pub const DEFAULT_PATH: &str = "evals/quarantine.yaml";

/// The largest quarantine file read (1 MiB).
pub const MAX_BYTES: u64 = 1 << 20;

/// The most entries one list may hold.
pub const MAX_ENTRIES: usize = 1000;

/// One entry of the list.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The trial name or glob.
    pub case: String,
    matcher: Regex,
    /// Why the case is quarantined.
    pub reason: String,
    /// Who is fixing it.
    pub owner: String,
    /// The last day the entry holds (`YYYY-MM-DD`).
    pub expires: String,
    /// Where the entry is written.
    pub location: Location,
}

/// The quarantine list, read.
#[derive(Debug, Clone, Default)]
pub struct Quarantine {
    /// The entries, in file order.
    pub entries: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    case: String,
    reason: String,
    owner: String,
    expires: Value,
}

fn glob(pattern: &str) -> Regex {
    let mut re = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).unwrap_or_else(|_| Regex::new("^$").expect("valid"))
}

/// Whether `s` is a calendar date `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) if (1..=12).contains(&m) && d >= 1 => {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let days = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            d <= days[(m - 1) as usize]
        }
        _ => false,
    }
}

impl Quarantine {
    /// Reads the list at `path` (shown as `display`); a missing file is an
    /// empty list.
    pub fn load(path: &Path, display: &str) -> Result<Quarantine, Vec<LoadError>> {
        let file: Arc<str> = display.into();
        let at0 = |message: String| {
            vec![LoadError {
                location: Location {
                    file: file.clone(),
                    line: 1,
                    col: 1,
                },
                message,
                hint: None,
            }]
        };
        match crate::fsutil::read_regular(path, MAX_BYTES) {
            Ok(text) => Quarantine::parse(&text, display),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Quarantine::default()),
            Err(e) => Err(at0(format!("the quarantine list cannot be read: {e}"))),
        }
    }

    /// Parses a list's text (`display` names the file in errors). Every
    /// problem is reported, each at its `file:line:col`.
    pub fn parse(text: &str, display: &str) -> Result<Quarantine, Vec<LoadError>> {
        let file: Arc<str> = display.into();
        if text.trim().is_empty() {
            return Ok(Quarantine::default());
        }
        let root = crate::case::yaml::parse(text).map_err(|e| {
            vec![LoadError {
                location: Location {
                    file: file.clone(),
                    line: e.line,
                    col: e.col,
                },
                message: e.message.clone(),
                hint: None,
            }]
        })?;
        let mut errors = Vec::new();
        let push = |errors: &mut Vec<LoadError>,
                    path: &[Seg],
                    key: bool,
                    msg: String,
                    hint: Option<String>| {
            let (line, col) = root.locate(path, key);
            errors.push(LoadError {
                location: Location {
                    file: file.clone(),
                    line,
                    col,
                },
                message: msg,
                hint,
            });
        };
        let value = root.to_json();
        let list = match &value {
            Value::Object(m) => {
                for k in m.keys().filter(|k| *k != "quarantine") {
                    push(
                        &mut errors,
                        &[Seg::Key(k.clone())],
                        true,
                        format!("unknown key `{k}` in the quarantine list"),
                        Some("the file has one key, `quarantine:`, a list of entries".into()),
                    );
                }
                match m.get("quarantine") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a.clone(),
                    Some(_) => {
                        push(
                            &mut errors,
                            &[Seg::Key("quarantine".into())],
                            false,
                            "`quarantine` is a list of entries".into(),
                            Some("write `quarantine: []` for an empty list".into()),
                        );
                        Vec::new()
                    }
                }
            }
            Value::Null => Vec::new(),
            _ => {
                push(
                    &mut errors,
                    &[],
                    false,
                    "the quarantine list is a mapping with `quarantine:`".into(),
                    None,
                );
                Vec::new()
            }
        };
        if list.len() > MAX_ENTRIES {
            push(
                &mut errors,
                &[Seg::Key("quarantine".into())],
                false,
                format!("{} entries are over the limit of {MAX_ENTRIES}", list.len()),
                Some("fix or delete cases instead of quarantining them".into()),
            );
        }
        let mut entries = Vec::new();
        for (i, item) in list.iter().enumerate().take(MAX_ENTRIES) {
            let base = vec![Seg::Key("quarantine".into()), Seg::Index(i)];
            let raw: RawEntry = match crate::diag::typed("quarantine", item, "quarantine entry") {
                Ok(r) => r,
                Err(e) => {
                    let mut path = base.clone();
                    path.extend(e.path.into_iter().skip(1));
                    push(
                        &mut errors,
                        &path,
                        e.at_key,
                        e.message,
                        e.hint.or_else(|| {
                            Some("an entry has `case`, `reason`, `owner` and `expires`".into())
                        }),
                    );
                    continue;
                }
            };
            let field = |k: &str| {
                let mut p = base.clone();
                p.push(Seg::Key(k.into()));
                p
            };
            let expires = match &raw.expires {
                Value::String(s) if is_date(s) => s.clone(),
                other => {
                    push(
                        &mut errors,
                        &field("expires"),
                        false,
                        format!(
                            "`expires: {}` is not a date",
                            crate::text::of_value(other)
                        ),
                        Some("write the last day the entry holds as `YYYY-MM-DD`, such as `2027-01-31`".into()),
                    );
                    continue;
                }
            };
            for (k, v) in [
                ("case", &raw.case),
                ("reason", &raw.reason),
                ("owner", &raw.owner),
            ] {
                if v.trim().is_empty() {
                    push(
                        &mut errors,
                        &field(k),
                        false,
                        format!("`{k}` is empty"),
                        Some("every entry says which case, why, and who fixes it".into()),
                    );
                }
            }
            let (line, col) = root.locate(&base, false);
            entries.push(Entry {
                matcher: glob(&raw.case),
                case: raw.case,
                reason: raw.reason,
                owner: raw.owner,
                expires,
                location: Location {
                    file: file.clone(),
                    line,
                    col,
                },
            });
        }
        if errors.is_empty() {
            Ok(Quarantine { entries })
        } else {
            Err(errors)
        }
    }

    /// The entry for `trial` (the first that matches), if any.
    pub fn find(&self, trial: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.matches(trial))
    }

    /// What the list says about a trial whose status is `status`, on
    /// `today` (`YYYY-MM-DD`).
    pub fn note(&self, trial: &str, status: Status, today: &str) -> Option<Note> {
        self.find(trial).map(|e| Note {
            case: e.case.clone(),
            reason: e.reason.clone(),
            owner: e.owner.clone(),
            expires: e.expires.clone(),
            expired: e.expires.as_str() < today,
            status,
            location: e.location.to_string(),
        })
    }
}

impl Entry {
    /// Whether the entry covers `trial`: the pattern matches it, or names
    /// its case (`suite::case` covers `suite::case::variant`).
    pub fn matches(&self, trial: &str) -> bool {
        if self.matcher.is_match(trial) {
            return true;
        }
        trial.rsplit_once("::").is_some_and(|(case, _)| {
            trial.matches("::").count() == 2 && self.matcher.is_match(case)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "quarantine:\n  - case: \"support::refund*\"\n    reason: flaky judge\n    owner: \"@alice\"\n    expires: 2027-01-31\n  - case: triage::urgent\n    reason: split votes\n    owner: \"@bob\"\n    expires: 2026-11-30\n";

    #[test]
    fn entries_match_trials_and_variants_and_expire() {
        let q = Quarantine::parse(LIST, "evals/quarantine.yaml").expect("parses");
        assert_eq!(q.entries.len(), 2);
        assert!(q.find("support::refund_window").is_some());
        assert!(q.find("support::refunds::gpt").is_some());
        assert!(q.find("support::greeting").is_none());
        assert!(q.find("triage::urgent::small").is_some());
        assert!(q.find("triage::urgent_two").is_none());
        let live = q
            .note("support::refund", Status::Regression, "2026-12-02")
            .expect("note");
        assert_eq!(live.effective(), Status::Quarantined);
        assert_eq!(
            live.line(),
            "quarantined until 2027-01-31 by @alice: flaky judge (would be: regression)"
        );
        let old = q
            .note("triage::urgent", Status::Regression, "2026-12-02")
            .expect("note");
        assert_eq!(old.effective(), Status::Regression);
        assert_eq!(
            old.line(),
            "quarantine entry `triage::urgent` (evals/quarantine.yaml:6:5) expired on 2026-11-30: the case gates again (hint: fix the case, or renew the entry with a new date)"
        );
        // The last day still holds.
        assert!(
            !q.note("triage::urgent", Status::Pass, "2026-11-30")
                .expect("n")
                .expired
        );
    }

    #[test]
    fn a_broken_list_names_every_problem_at_its_place() {
        let text = "quarantine:\n  - case: a::b\n    reason: r\n    owner: o\n    expires: 2027-02-30\n  - case: c::d\n    reason: \"\"\n    owner: o\n    expires: 2027-01-01\n  - case: e::f\n    why: x\n";
        let errs = Quarantine::parse(text, "q.yaml").expect_err("refused");
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "q.yaml:5:14: `expires: 2027-02-30` is not a date (hint: write the last day the entry holds as `YYYY-MM-DD`, such as `2027-01-31`)",
                "q.yaml:7:13: `reason` is empty (hint: every entry says which case, why, and who fixes it)",
                "q.yaml:11:5: unknown key `why` in quarantine entry (hint: expected one of `case`, `reason`, `owner`, `expires`)",
            ]
        );
    }

    #[test]
    fn a_missing_or_empty_list_quarantines_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let q = Quarantine::load(&dir.path().join("none.yaml"), "none.yaml").expect("empty");
        assert!(q.entries.is_empty());
        let q = Quarantine::parse("quarantine: []\n", "q.yaml").expect("empty");
        assert!(q.entries.is_empty());
    }
}
