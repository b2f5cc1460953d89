//! What a harness run is configured with: the project root, snapshot
//! settings, which suite files, time and concurrency limits, and the command
//! that re-runs the suite (for the hints in messages).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::case::{discover, display_path};
use crate::snapshot::Settings;

/// A harness run's configuration, resolved once before anything loads.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    pub root: PathBuf,
    pub settings: Settings,
    /// The suite glob (`TRIBUNAL_SUITES`, else the builder's), if any.
    pub pattern: Option<String>,
    pub timeout: Duration,
    pub concurrency: usize,
}

impl RunConfig {
    /// The builder's choices, with the environment where the builder left
    /// them open (`TRIBUNAL_SUITES` overrides the builder's glob).
    pub fn resolve(
        root: Option<PathBuf>,
        suites: Option<String>,
        settings: Option<Settings>,
    ) -> RunConfig {
        RunConfig {
            root: root.unwrap_or_else(default_root),
            settings: settings.unwrap_or_else(Settings::from_env),
            pattern: std::env::var("TRIBUNAL_SUITES")
                .ok()
                .filter(|s| !s.trim().is_empty())
                .or(suites),
            timeout: trial_timeout(),
            concurrency: concurrency(),
        }
    }

    /// Every suite file of the run.
    pub fn suite_files(&self) -> Result<Vec<PathBuf>, String> {
        find_suites(&self.root, self.pattern.as_deref())
    }
}

fn default_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

fn trial_timeout() -> Duration {
    std::env::var("TRIBUNAL_TRIAL_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(Duration::from_secs(600))
}

fn concurrency() -> usize {
    std::env::var("TRIBUNAL_CONCURRENCY")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(64)
}

/// The suite files: every YAML file under `evals/`, or those a glob matches.
fn find_suites(root: &Path, pattern: Option<&str>) -> Result<Vec<PathBuf>, String> {
    let Some(pattern) = pattern else {
        return discover(&root.join("evals")).map_err(|e| e.to_string());
    };
    let base = glob_base(pattern);
    let re = glob_regex(pattern)?;
    let all = discover(&root.join(&base)).map_err(|e| e.to_string())?;
    let found: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| re.is_match(&display_path(root, p)))
        .collect();
    if found.is_empty() {
        return Err(format!(
            "the suite pattern `{pattern}` matches no YAML file under {} (an empty selection is an error, not a pass; hint: patterns are relative to the project root, such as `evals/**/*.yaml`)",
            root.join(&base).display()
        ));
    }
    Ok(found)
}

/// The literal folder a glob starts with (`evals/sub` for `evals/sub/*.yaml`).
fn glob_base(pattern: &str) -> String {
    let mut parts = Vec::new();
    for part in pattern.split('/') {
        if part.contains(['*', '?', '[', '{']) {
            break;
        }
        parts.push(part);
    }
    // The last literal part is a file name when the pattern has no wildcard.
    if parts.len() == pattern.split('/').count() {
        parts.pop();
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// A glob as a regex: `**/` any folders, `*` within a name, `?` one
/// character, `{a,b}` either.
fn glob_regex(pattern: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut braces = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                braces += 1;
                re.push_str("(?:");
            }
            '}' if braces > 0 => {
                braces -= 1;
                re.push(')');
            }
            ',' if braces > 0 => re.push('|'),
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                    re.push_str("(?:[^/]*/)*");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| format!("invalid suite pattern `{pattern}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_select_files() {
        let re = glob_regex("evals/**/*.yaml").expect("valid");
        assert!(re.is_match("evals/a.yaml"));
        assert!(re.is_match("evals/x/y/a.yaml"));
        assert!(!re.is_match("evals/a.yml"));
        assert!(!re.is_match("other/a.yaml"));
        let re = glob_regex("evals/support*.y?ml").expect("valid");
        assert!(re.is_match("evals/support-v2.yaml"));
        assert!(!re.is_match("evals/x/support.yaml"));
        assert_eq!(glob_base("evals/**/*.yaml"), "evals");
        assert_eq!(glob_base("evals/sub/one.yaml"), "evals/sub");
        assert_eq!(glob_base("*.yaml"), ".");
        let re = glob_regex("evals/{support,tone}.yaml").expect("valid");
        assert!(re.is_match("evals/support.yaml") && re.is_match("evals/tone.yaml"));
        assert!(!re.is_match("evals/triage.yaml"));
        assert!(
            glob_regex("evals/{a.yaml").is_err(),
            "unclosed brace is an error"
        );
    }
}
