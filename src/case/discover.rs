//! Finding suite files: every `*.yaml`/`*.yml` under a folder, or those a
//! glob selects, and how a file is named in messages and reports.

use std::path::{Path, PathBuf};

use super::DiscoverError;

/// The gates file `tribunal report` reads from the top of `evals/`
/// (docs/reports.md): never a suite.
pub const GATES_FILE: &str = "gates.yaml";

/// The quarantine list at the top of `evals/` (docs/flaky.md): never a suite.
pub const QUARANTINE_FILE: &str = "quarantine.yaml";

/// Finds the suite files under the suites folder `dir` (`evals/`): `*.yaml`
/// and `*.yml`, recursively, skipping `snapshots/` and `prompts/` folders,
/// hidden entries and the gates file and quarantine list at the top
/// (`evals/gates.yaml`, `evals/quarantine.yaml`). Sorted.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    discover_except(dir, &[dir.join(GATES_FILE), dir.join(QUARANTINE_FILE)])
}

/// [`discover`] under any folder, leaving out the files `except`.
fn discover_except(dir: &Path, except: &[PathBuf]) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut found = Vec::new();
    walk(dir, &mut found).map_err(|source| DiscoverError::Folder {
        path: dir.display().to_string(),
        source,
    })?;
    found.retain(|p| !except.contains(p));
    if found.is_empty() {
        return Err(DiscoverError::Empty {
            path: dir.display().to_string(),
        });
    }
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if name != "snapshots" && name != "prompts" {
                walk(&path, found)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            found.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `root`, with `/` separators: how files are named in
/// messages, snapshots and reports.
pub fn display_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The suite files: every YAML file under `evals/`, or those a glob matches.
pub fn find_suites(root: &Path, pattern: Option<&str>) -> Result<Vec<PathBuf>, String> {
    let Some(pattern) = pattern else {
        return discover(&root.join("evals")).map_err(|e| e.to_string());
    };
    let base = glob_base(pattern);
    let re = glob_regex(pattern)?;
    let top = root.join("evals");
    let all = discover_except(
        &root.join(&base),
        &[top.join(GATES_FILE), top.join(QUARANTINE_FILE)],
    )
    .map_err(|e| e.to_string())?;
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
