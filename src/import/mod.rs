//! Importing other eval tools' configurations into tribunal suites
//! (`tribunal import …`). Each tool is one module; the shared vocabulary is
//! here: where something was written in the source ([`Loc`]), what could not
//! be carried over ([`Note`]), the files a conversion produces
//! ([`Conversion`]) and how they are written ([`write`]).

pub mod promptfoo;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A place in a source file: `file:line:col` (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    /// The file as displayed (relative to where the command ran, when it was
    /// given so).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How faithfully something was carried over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoteKind {
    /// Not carried over: kept as a `skip` check, or left out, with the reason.
    NotMapped,
    /// Carried over with a different meaning or measure: read it before
    /// trusting the verdicts.
    Changed,
}

/// One thing the reader of an import must know about, at its source place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Where it is written in the source configuration.
    pub loc: Loc,
    /// Not mapped, or mapped with a changed meaning.
    pub kind: NoteKind,
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// An import that could not be done: the source is broken, unreadable or
/// not supported, or the output would overwrite files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}{}", hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
pub struct ImportError {
    /// `file:line:col`, or the file alone.
    pub place: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl ImportError {
    /// An error at a place in a source file.
    pub fn at(loc: &Loc, message: impl Into<String>, hint: Option<String>) -> Self {
        ImportError {
            place: loc.to_string(),
            message: message.into(),
            hint,
        }
    }
}

/// What an import produces: files (paths relative to the output folder, in
/// writing order) and the notes to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// `(relative path, contents)`.
    pub files: Vec<(String, String)>,
    /// Everything not mapped or mapped with a changed meaning, in source order.
    pub notes: Vec<Note>,
    /// One line saying what was imported.
    pub summary: String,
}

/// Writes a conversion under `out`. Without `force`, nothing is written when
/// any of the files exists: the error lists them all. Every file is written
/// atomically. Returns the written paths.
pub fn write(
    conversion: &Conversion,
    out: &Path,
    force: bool,
) -> Result<Vec<PathBuf>, ImportError> {
    let paths: Vec<PathBuf> = conversion
        .files
        .iter()
        .map(|(rel, _)| out.join(rel))
        .collect();
    if !force {
        let existing: Vec<String> = paths
            .iter()
            .filter(|p| p.exists() || p.symlink_metadata().is_ok())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(ImportError {
                place: out.display().to_string(),
                message: format!(
                    "refusing to overwrite {} existing file(s): {}",
                    existing.len(),
                    existing.join(", ")
                ),
                hint: Some(
                    "pass `--out DIR` for another folder, or `--force` to replace them".into(),
                ),
            });
        }
    }
    for (path, (_, contents)) in paths.iter().zip(&conversion.files) {
        crate::fsutil::write_atomic(path, contents.as_bytes()).map_err(|e| ImportError {
            place: path.display().to_string(),
            message: format!("cannot write: {e}"),
            hint: None,
        })?;
    }
    Ok(paths)
}
