//! How the suite is being run, so that every hint names a command that
//! works: `cargo test --test evals` in a project with a Rust harness (or
//! `cargo nextest run --test evals` when nextest runs it), `tribunal test
//! --root <dir>` in one without.

use serde::{Deserialize, Serialize};

/// The way the suite is being run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rerun {
    /// A Rust harness run by cargo: `cargo test --test <name>`.
    Cargo {
        /// The test target (`evals`).
        test: String,
    },
    /// A Rust harness run by nextest: `cargo nextest run --test <name>`.
    Nextest {
        /// The test target (`evals`).
        test: String,
    },
    /// `tribunal test --root <root>`, no Rust harness.
    Tribunal {
        /// The root as the user wrote it.
        root: String,
    },
    /// A `tribunal` command that makes model calls of its own
    /// (`tribunal generate truth …`): it is re-run whole to record them.
    Command {
        /// The command line, shell-quoted.
        command: String,
    },
}

impl Default for Rerun {
    fn default() -> Self {
        Rerun::Cargo {
            test: "evals".into(),
        }
    }
}

impl Rerun {
    /// A Rust harness named after this test binary: cargo names it
    /// `<test>-<hash>` (`target/debug/deps/evals-1a2b…`); `evals` when the
    /// name says nothing. `nextest` is whether nextest runs this process
    /// (`NEXTEST_RUN_ID` is set: [`crate::config::Config::nextest_run`]).
    pub fn from_test_binary(nextest: bool) -> Rerun {
        let program = std::env::args_os().next();
        Rerun::for_binary(program.as_deref().map(std::path::Path::new), nextest)
    }

    /// [`Rerun::from_test_binary`] for the program path `program`.
    pub fn for_binary(program: Option<&std::path::Path>, nextest: bool) -> Rerun {
        let test = program
            .and_then(|a| a.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .map(|stem| match stem.rsplit_once('-') {
                Some((name, hash))
                    if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) =>
                {
                    name.to_string()
                }
                _ => stem,
            })
            .filter(|t| {
                !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            })
            .unwrap_or_else(|| "evals".into());
        if nextest {
            Rerun::Nextest { test }
        } else {
            Rerun::Cargo { test }
        }
    }

    /// How a project's suites are run when no run says so (the `tribunal`
    /// commands that read what runs left behind): its Rust harness when it
    /// has the conventional `tests/evals.rs`, else `tribunal test --root
    /// <root>` (`root` as the user wrote it).
    pub fn for_project(root: &std::path::Path) -> Rerun {
        if root.join("tests").join("evals.rs").is_file() {
            Rerun::default()
        } else {
            Rerun::Tribunal {
                root: root.display().to_string(),
            }
        }
    }

    /// The command that runs the whole suite.
    pub fn all(&self) -> String {
        match self {
            Rerun::Cargo { test } => format!("cargo test --test {test}"),
            Rerun::Nextest { test } => format!("cargo nextest run --test {test}"),
            Rerun::Tribunal { root } => format!("tribunal test --root {}", shell_word(root)),
            Rerun::Command { command } => command.clone(),
        }
    }

    /// The command that runs one trial, with environment assignments in
    /// front (`TRIBUNAL_MODE=record`).
    pub fn trial(&self, env: &str, trial: &str) -> String {
        let env = if env.is_empty() {
            String::new()
        } else {
            format!("{env} ")
        };
        match self {
            Rerun::Command { command } => format!("{env}{command}"),
            // nextest's filter is a positional argument.
            Rerun::Nextest { .. } => format!("{env}{} '{trial}'", self.all()),
            _ => format!("{env}{} -- '{trial}'", self.all()),
        }
    }

    /// How to record one trial's model calls again (a cassette that is
    /// missing, corrupt or not a file).
    pub fn record(&self, trial: &str) -> String {
        self.trial("TRIBUNAL_MODE=record", trial)
    }

    /// How to review and accept pending snapshots (`.snap.new`).
    pub fn review(&self) -> String {
        match self {
            Rerun::Cargo { .. } | Rerun::Nextest { .. } => {
                "review with `cargo insta review` (or `cargo insta accept`)".into()
            }
            Rerun::Tribunal { .. } | Rerun::Command { .. } => format!(
                "accept after review with `INSTA_UPDATE=always {}` (the test output shows each diff; or rename the .snap.new over the .snap)",
                self.all()
            ),
        }
    }
}

/// `args` as one shell command line (each word quoted when needed).
pub fn command_line<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| shell_word(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A path as one shell word: quoted when it holds anything but plain characters.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ':'))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every command a message names, for each way of running the suite.
    fn table(ways: &[Rerun]) -> String {
        ways.iter()
            .map(|w| {
                format!(
                    "{w:?}\n  all:    {}\n  trial:  {}\n  record: {}\n  review: {}\n",
                    w.all(),
                    w.trial("", "s::c"),
                    w.record("s::c"),
                    w.review()
                )
            })
            .collect()
    }

    #[test]
    fn each_way_names_its_own_commands() {
        insta::assert_snapshot!(table(&[
            Rerun::Cargo { test: "evals".into() },
            Rerun::Nextest { test: "evals".into() },
            Rerun::Tribunal { root: "my project".into() },
        ]), @r#"
        Cargo { test: "evals" }
          all:    cargo test --test evals
          trial:  cargo test --test evals -- 's::c'
          record: TRIBUNAL_MODE=record cargo test --test evals -- 's::c'
          review: review with `cargo insta review` (or `cargo insta accept`)
        Nextest { test: "evals" }
          all:    cargo nextest run --test evals
          trial:  cargo nextest run --test evals 's::c'
          record: TRIBUNAL_MODE=record cargo nextest run --test evals 's::c'
          review: review with `cargo insta review` (or `cargo insta accept`)
        Tribunal { root: "my project" }
          all:    tribunal test --root 'my project'
          trial:  tribunal test --root 'my project' -- 's::c'
          record: TRIBUNAL_MODE=record tribunal test --root 'my project' -- 's::c'
          review: accept after review with `INSTA_UPDATE=always tribunal test --root 'my project'` (the test output shows each diff; or rename the .snap.new over the .snap)
        "#);
    }

    #[test]
    fn a_command_of_its_own_is_rerun_whole() {
        let line = command_line(&[
            "tribunal",
            "generate",
            "truth",
            "--style",
            "a marketer's words",
        ]);
        let r = Rerun::Command { command: line };
        assert_eq!(
            r.record("segment::generate-truth::pro-plan"),
            r#"TRIBUNAL_MODE=record tribunal generate truth --style 'a marketer'\''s words'"#
        );
    }

    #[test]
    fn a_harness_is_named_after_its_test_binary_and_its_runner() {
        let bin = Path::new("target/debug/deps/support_evals-0123456789abcdef");
        assert_eq!(
            Rerun::for_binary(Some(bin), false),
            Rerun::Cargo {
                test: "support_evals".into()
            }
        );
        assert_eq!(
            Rerun::for_binary(Some(bin), true),
            Rerun::Nextest {
                test: "support_evals".into()
            }
        );
        // Not cargo's `<name>-<16 hex digits>`: the stem as it is.
        assert_eq!(
            Rerun::for_binary(Some(Path::new("/opt/evals-v2")), false),
            Rerun::Cargo {
                test: "evals-v2".into()
            }
        );
        // A name that is not one shell word: the conventional target.
        assert_eq!(
            Rerun::for_binary(Some(Path::new("my evals")), false),
            Rerun::default()
        );
        assert_eq!(Rerun::for_binary(None, false), Rerun::default());
    }

    #[test]
    fn a_project_without_tests_evals_rs_is_run_by_tribunal_test() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            Rerun::for_project(dir.path()),
            Rerun::Tribunal {
                root: dir.path().display().to_string()
            }
        );
        std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
        std::fs::write(dir.path().join("tests/evals.rs"), "fn main() {}\n").expect("write");
        assert_eq!(Rerun::for_project(dir.path()), Rerun::default());
    }
}
