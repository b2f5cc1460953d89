//! `dialect: sql` without the `sql` feature: no SQL parser, no SQLite.
//!
//! Every door to SQL comparison is here and refuses, naming the feature
//! ([`crate::features::off`]): a check with `dialect: sql` (or a SQL
//! `schema:`) is a load error at its file:line:col, `tribunal equiv
//! --dialect sql` and SQL ground truths fail. No SQL [`Schema`] can exist
//! (the type has no values), so no comparison ever runs, and nothing passes
//! for want of the feature.

use std::collections::BTreeSet;
use std::path::Path;

pub use super::SqlOptions;
use super::equivalence::Equivalence;

/// The error naming the `sql` feature, for `what` (`` `dialect: sql` ``,
/// `SQL ground truths`, ...).
pub fn enabled(what: &str) -> Result<(), String> {
    Err(crate::features::off(what, "sql"))
}

/// Every name is let through: the check is refused by [`enabled`] first,
/// with the error that matters (the missing feature).
pub fn known_dialect(_d: &str) -> bool {
    true
}

/// A SQL schema: none can be loaded without the `sql` feature.
#[derive(Debug, Clone)]
pub enum Schema {}

/// Why a schema could not be loaded: here always the missing feature.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(String);

impl SchemaError {
    /// The message (it names no file).
    pub fn into_message(self, _spec: &str) -> String {
        self.0
    }
}

/// Refuses: a SQL `schema:` needs the `sql` feature.
pub fn load_schema(_spec: &str, _db_id: Option<&str>, _base: &Path) -> Result<Schema, SchemaError> {
    Err(SchemaError(crate::features::off("a SQL `schema:`", "sql")))
}

/// Never runs: it takes a [`Schema`], which cannot exist in this build.
pub fn equivalent(_left: &str, _right: &str, schema: &Schema, _opts: &SqlOptions) -> Equivalence {
    match *schema {}
}

/// Never runs: it takes a [`Schema`], which cannot exist in this build.
pub fn differential(_left: &str, _right: &str, schema: &Schema, _opts: &SqlOptions) -> Equivalence {
    match *schema {}
}

/// No text is taken for SQL without the parser; the callers ask
/// [`enabled`] first (`dataset::truth::sql_available`).
pub fn parses_as_query(_s: &str) -> bool {
    false
}

/// No clause tags without the parser (see [`parses_as_query`]).
pub fn clause_features(_sql: &str, _out: &mut BTreeSet<String>) {}

/// Fixture pairs without the parser: the expressions as filters over a
/// table of INTEGER columns (never run: SQL comparison is refused first).
pub mod fixture {
    /// One fixture pair made runnable.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct FixturePair {
        /// The left query.
        pub left: String,
        /// The right query.
        pub right: String,
        /// `CREATE TABLE` statements.
        pub ddl: String,
    }

    /// The pair as filters over `t(a..z)`.
    pub fn fixture_pair(a: &str, b: &str, _truth_values: bool) -> FixturePair {
        let cols: Vec<String> = ('a'..='z').map(|c| format!("{c} INTEGER")).collect();
        let q = |e: &str| format!("SELECT CASE WHEN ({e}) THEN 1 ELSE 0 END AS v FROM t");
        FixturePair {
            left: q(a),
            right: q(b),
            ddl: format!("CREATE TABLE t ({});", cols.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_door_names_the_feature_and_the_cargo_line() {
        let messages = [
            enabled("`dialect: sql`").expect_err("off"),
            load_schema("schema.sql", None, Path::new("."))
                .expect_err("off")
                .into_message("schema.sql"),
        ];
        // One snapshot file whichever module compiles this stub (`sql`
        // without the feature, `sql_off` in the default build's tests).
        insta::with_settings!({prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("sql_feature_off", messages.join("\n"));
        });
    }
}
