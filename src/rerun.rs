//! How the suite is being run, so that every hint names a command that
//! works: `cargo test --test evals` in a project with a Rust harness,
//! `tribunal test --root <dir>` in one without.

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
    /// `tribunal test --root <root>`, no Rust harness.
    Tribunal {
        /// The root as the user wrote it.
        root: String,
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
    /// A cargo harness named after this test binary: cargo names it
    /// `<test>-<hash>` (`target/debug/deps/evals-1a2b…`); `evals` when the
    /// name says nothing.
    pub fn from_test_binary() -> Rerun {
        let test = std::env::args_os()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
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
        Rerun::Cargo { test }
    }

    /// The command that runs the whole suite.
    pub fn all(&self) -> String {
        match self {
            Rerun::Cargo { test } => format!("cargo test --test {test}"),
            Rerun::Tribunal { root } => format!("tribunal test --root {}", shell_word(root)),
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
        format!("{env}{} -- '{trial}'", self.all())
    }

    /// How to review and accept pending snapshots (`.snap.new`).
    pub fn review(&self) -> String {
        match self {
            Rerun::Cargo { .. } => {
                "review with `cargo insta review` (or `cargo insta accept`)".into()
            }
            Rerun::Tribunal { .. } => format!(
                "accept after review with `INSTA_UPDATE=always {}` (the test output shows each diff; or rename the .snap.new over the .snap)",
                self.all()
            ),
        }
    }
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

    #[test]
    fn each_way_names_its_own_commands() {
        let cargo = Rerun::Cargo {
            test: "evals".into(),
        };
        assert_eq!(
            cargo.trial("TRIBUNAL_MODE=record", "s::c"),
            "TRIBUNAL_MODE=record cargo test --test evals -- 's::c'"
        );
        let cli = Rerun::Tribunal {
            root: "my project".into(),
        };
        assert_eq!(
            cli.trial("TRIBUNAL_MODE=record", "s::c"),
            "TRIBUNAL_MODE=record tribunal test --root 'my project' -- 's::c'"
        );
        assert!(!cli.review().contains("cargo"), "{}", cli.review());
    }
}
