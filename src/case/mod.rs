//! The YAML case model and its loader.
//!
//! A file under `evals/` holds one [`Suite`]: defaults inherited by its
//! cases, optional variants (a matrix of models or prompt versions), and the
//! cases. Loading keeps every case's `file:line:col` so that any later error
//! or report can point back at it. See `docs/format.md` for the format.
//!
//! The stages: [`discover`](fn@discover) finds the files, `yaml.rs` parses one into a
//! tree of positioned nodes, `raw.rs` is the shape serde reads, and
//! `resolve.rs` validates it into the [`model`](Suite).

mod discover;
mod error;
mod files;
mod model;
mod raw;
mod resolve;
pub mod yaml;

pub use crate::diag::{did_you_mean, hint};
pub use discover::{discover, display_path, find_suites};
pub use error::{BadRow, DiscoverError, LoadError, Location, SuiteErrors};
pub use files::{Format, MAX_DATA_FILE_BYTES, MAX_ROW_BYTES, MAX_ROWS};
pub(crate) use files::{
    Mapping, PlainRow, content_id, format_of, locate, plain_rows, read_text, rows_of_text,
};
pub use model::{Case, Dimension, Suite, Variant};
pub use resolve::{
    KnownNames, Loaded, MAX_ERRORS, MAX_FILE_BYTES, MAX_FILE_NAME_BYTES, MAX_ID_CHARS, MAX_TRIALS,
    MAX_VARIANTS, id_problem, load_file, load_files, load_in, load_str, read_suite_file,
};
pub use resolve::{MAX_DIMENSION_VALUES, MAX_DIMENSIONS};
pub use yaml::{MAX_DEPTH, MAX_NODES, MAX_TEXT_BYTES};
