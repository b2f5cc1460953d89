//! `ast_equivalent`: deterministic equivalence of generated ASTs and SQL.
//!
//! Three dialects: `audience` (JSON audience ASTs, a complete decision
//! procedure over critical values), `sql` (canonical comparison, then
//! differential execution in bundled SQLite), and `json` (structural
//! comparison with options). Every verdict is `equivalent`,
//! `not_equivalent` (with a minimized counterexample and, for SQL, what it
//! needs: [`tolerance::Class`]), `equivalent_under_tolerances` (every
//! difference needs only what `tolerate:` accepts) or `unknown` (with the
//! reason); `unknown` is never a guess.
//!
//! ```yaml
//! checks:
//!   - ast_equivalent: {dialect: audience}          # output vs `expected`
//!   - ast_equivalent:
//!       dialect: sql
//!       schema: schema.sql                         # or inline DDL, or tables.json#db_id
//!       budget_ms: 500
//!       on_unknown: warn                           # fail (default) | warn | fallback
//!       tolerate: [ties, nulls]                    # docs/equivalence.md
//!   - ast_equivalent: {dialect: audience, tolerate: [missing_traits]}
//!   - ast_equivalent: {dialect: json, set_paths: [/tags], tolerance: 0.001}
//! ```

pub mod audience;
pub mod equivalence;
pub mod json;
// Without the `sql` feature, `sql_off.rs` stands in: no SQL schema can be
// loaded, and every door to SQL returns the error naming the feature.
#[cfg_attr(not(feature = "sql"), path = "sql_off.rs")]
pub mod sql;
// The stub's errors are what users of a build without `sql` see: the
// default build's tests check them too.
#[cfg(all(test, feature = "sql"))]
#[path = "sql_off.rs"]
#[allow(dead_code)] // only the refusals are called
mod sql_off;
pub mod tolerance;

use std::path::Path;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::check::judge::{JudgeCheck, JudgeParams};
use crate::check::{Check, CheckCx, Fallback, Immediate, Kind, ParseCx, Parsed, SpecError};
use crate::diag::Seg;
use crate::provider::BoxFuture;
use crate::verdict::{CheckResult, Outcome};

pub use equivalence::{Equivalence, Method};
pub use sql::load_schema;
use tolerance::Classes;

/// Which language the compared values are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// JSON audience ASTs (`schemas/audience-ast.schema.json`).
    Audience,
    /// SQL queries.
    Sql,
    /// Any JSON values.
    Json,
}

impl Dialect {
    /// As written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Audience => "audience",
            Dialect::Sql => "sql",
            Dialect::Json => "json",
        }
    }
}

/// What an `unknown` verdict does to the check outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnUnknown {
    /// The check fails (default: nothing passes undecided).
    #[default]
    Fail,
    /// The check passes with a warning.
    Warn,
    /// Hand over to a judge: the check's `fallback:` judge parameters, or a
    /// default judge (with the suite's `judge:` settings). The dispatcher
    /// runs it; the label records `unknown→judge:<verdict>`.
    Fallback,
}

/// Parameters of an `ast_equivalent` check, as written in YAML.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AstParams {
    /// `audience`, `sql` or `json`.
    pub dialect: Dialect,
    /// The reference to compare with; defaults to the case's `expected`.
    #[serde(default)]
    pub reference: Option<Value>,
    /// SQL only: inline DDL, or a path (relative to the suite file) to a
    /// DDL file or a Spider-style `tables.json` (with `#db_id` or `db_id`).
    #[serde(default)]
    pub schema: Option<String>,
    /// SQL only: the database of a `tables.json` schema.
    #[serde(default)]
    pub db_id: Option<String>,
    /// SQL only: sqlparser dialect used to canonicalize (default `generic`).
    #[serde(default)]
    pub sql_dialect: Option<String>,
    /// Time budget per comparison in milliseconds (default 2000).
    #[serde(default)]
    pub budget_ms: Option<u64>,
    /// SQL only: most generated databases (default 200).
    #[serde(default)]
    pub max_databases: Option<usize>,
    /// Seed of generated databases and sampled profiles (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// JSON only: compare every array as a multiset.
    #[serde(default)]
    pub ignore_order: bool,
    /// JSON only: paths of arrays compared as multisets.
    #[serde(default)]
    pub set_paths: Vec<String>,
    /// JSON only: absolute numeric tolerance.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// What `unknown` does: `fail` (default), `warn` or `fallback`.
    #[serde(default)]
    pub on_unknown: OnUnknown,
    /// Counterexample classes a reviewer accepts: for SQL `nulls`,
    /// `duplicates`, `ties`, `column_order`, `row_order`, `type_affinity`,
    /// `empty_tables`; for audience ASTs `missing_traits`, `zero_counts`. A
    /// difference that needs only these gives `equivalent_under_tolerances`
    /// (docs/equivalence.md, docs/audience-ast.md).
    #[serde(default)]
    pub tolerate: Vec<String>,
}

/// Options of one SQL comparison.
#[derive(Debug, Clone)]
pub struct SqlOptions {
    /// sqlparser dialect name for canonicalization (`generic`, `sqlite`,
    /// `mysql`, `postgresql`, ...), or `calcite` (parsed as `generic`). It
    /// also selects the engine's arithmetic where it differs from SQLite's
    /// (`compat::for_engine`).
    pub dialect: String,
    /// Most generated databases.
    pub max_dbs: usize,
    /// Wall-clock budget in milliseconds (generation and shrinking).
    pub budget_ms: u64,
    /// Seed of the generator.
    pub seed: u64,
    /// Counterexample classes the check tolerates.
    pub tolerate: Classes,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            dialect: "generic".into(),
            max_dbs: 200,
            budget_ms: 2_000,
            seed: 0,
            tolerate: Classes::NONE,
        }
    }
}

/// Everything a comparison needs besides the two inputs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// SQL schema (required for `sql`).
    pub schema: Option<sql::Schema>,
    /// SQL options.
    pub sql: sql::SqlOptions,
    /// JSON options.
    pub json: json::JsonOptions,
    /// Audience limits.
    pub audience: audience::Limits,
}

/// An input that is not valid in its dialect.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{side} is not a valid {dialect} input: {message}")]
pub struct InvalidInput {
    /// `left` or `right`.
    pub side: &'static str,
    /// The dialect.
    pub dialect: &'static str,
    /// What is wrong (with the JSON pointer for ASTs).
    pub message: String,
}

/// Compares `left` with `right` in `dialect`. SQL inputs are JSON strings.
pub fn compare(
    dialect: Dialect,
    left: &Value,
    right: &Value,
    opts: &Options,
    names: &audience::Names,
) -> Result<Equivalence, InvalidInput> {
    let invalid = |side: &'static str, message: String| InvalidInput {
        side,
        dialect: dialect.as_str(),
        message,
    };
    match dialect {
        Dialect::Audience => {
            audience::equivalent(left, right, opts.audience, names).map_err(|(side, e)| {
                let s = match side {
                    audience::Side::Left => "left",
                    audience::Side::Right => "right",
                };
                invalid(s, e.to_string())
            })
        }
        Dialect::Json => Ok(json::equivalent(left, right, &opts.json)),
        Dialect::Sql => {
            if let Err(reason) = sql::enabled("`dialect: sql`") {
                return Ok(Equivalence::Unknown { reason, tried: 0 });
            }
            let l = left
                .as_str()
                .ok_or_else(|| invalid("left", "a SQL query is a string".into()))?;
            let r = right
                .as_str()
                .ok_or_else(|| invalid("right", "a SQL query is a string".into()))?;
            let Some(schema) = &opts.schema else {
                return Ok(Equivalence::Unknown {
                    reason: "no schema given: SQL queries are run on databases generated from a schema (`schema:` DDL or tables.json)".into(),
                    tried: 0,
                });
            };
            Ok(sql::equivalent(
                &strip_fence(l),
                &strip_fence(r),
                schema,
                &opts.sql,
            ))
        }
    }
}

/// The code inside a Markdown code fence, or the text itself.
pub fn strip_fence(s: &str) -> String {
    let t = s.trim();
    if let Some(rest) = t.strip_prefix("```") {
        let body = rest.split_once('\n').map_or("", |(_, b)| b);
        return body.trim_end().trim_end_matches("```").trim().to_string();
    }
    t.to_string()
}

impl AstParams {
    /// The comparison options these parameters describe, with the schema
    /// loaded and parsed. Errors name the option at fault (`sql_dialect`,
    /// `schema`) and what is wrong.
    pub fn options(&self, suite_dir: &Path) -> Result<Options, (&'static str, String)> {
        if self.dialect == Dialect::Sql {
            sql::enabled("`dialect: sql`").map_err(|e| ("dialect", e))?;
        }
        let mut o = Options::default();
        if let Some(b) = self.budget_ms {
            o.sql.budget_ms = b;
            o.audience.budget_ms = b;
        }
        if let Some(s) = self.seed {
            o.sql.seed = s;
            o.audience.seed = s;
        }
        if let Some(n) = self.max_databases {
            o.sql.max_dbs = n;
        }
        let tolerate = match self.dialect {
            Dialect::Sql => {
                tolerance::Classes::parse_list(&self.tolerate, &tolerance::Class::SQL, "sql")
            }
            Dialect::Audience => tolerance::Classes::parse_list(
                &self.tolerate,
                &tolerance::Class::AUDIENCE,
                "audience",
            ),
            Dialect::Json if self.tolerate.is_empty() => Ok(tolerance::Classes::NONE),
            Dialect::Json => Err(
                "`tolerate` applies to `dialect: sql` and `dialect: audience`; the json dialect compares structurally (see `ignore_order`, `set_paths`, `tolerance`)"
                    .into(),
            ),
        }
        .map_err(|e| ("tolerate", e))?;
        o.audience.tolerate = tolerate;
        o.sql.tolerate = tolerate;
        if let Some(d) = &self.sql_dialect {
            if !sql::known_dialect(d) {
                return Err((
                    "sql_dialect",
                    format!(
                        "unknown `sql_dialect` `{d}`; use generic, sqlite, mysql, postgresql, mssql, bigquery, snowflake, duckdb, ansi, calcite, ..."
                    ),
                ));
            }
            o.sql.dialect = d.clone();
        }
        o.json = json::JsonOptions {
            ignore_order: self.ignore_order,
            set_paths: self.set_paths.clone(),
            tolerance: self.tolerance.unwrap_or(0.0),
        };
        if let Some(s) = &self.schema {
            o.schema = Some(
                load_schema(s, self.db_id.as_deref(), suite_dir)
                    .map_err(|e| ("schema", e.into_message(s)))?,
            );
        }
        Ok(o)
    }
}

const KIND: &str = "ast_equivalent";

/// The `ast_equivalent` check kind: the comparison, handed to a judge when it
/// is `unknown` and a fallback is asked for.
#[derive(Debug)]
pub struct AstCheck {
    check: Box<dyn Check>,
}

/// One comparison, its options (and schema) resolved at load.
#[derive(Debug)]
pub struct Ast {
    /// The parameters as written.
    pub params: AstParams,
    /// The options they describe, the schema loaded and parsed once.
    pub options: Options,
}

impl Kind for AstCheck {
    const NAMES: &'static [&'static str] = &["ast_equivalent"];
    const OPTIONS: &'static [&'static str] = &["fallback"];

    fn parse(p: &Parsed<'_>, cx: &ParseCx<'_>) -> Result<Self, SpecError> {
        let params: AstParams = crate::check::typed(KIND, p.main, "`ast_equivalent` check")?;
        let options = params.options(cx.suite_dir).map_err(|(key, message)| {
            SpecError::new(
                vec![Seg::Key(KIND.into()), Seg::Key(key.into())],
                message,
                // The missing `sql` feature's message carries its own hint.
                (key != "dialect").then(|| match key {
                    "schema" => "give inline DDL (`CREATE TABLE ...`), a DDL file or `tables.json#db_id`, relative to the suite file".into(),
                    "tolerate" => "see docs/equivalence.md (sql) and docs/audience-ast.md (audience) for the counterexample classes".into(),
                    _ => "see docs/audience-ast.md for the options of `ast_equivalent`".into(),
                }),
            )
        })?;
        let fallback = match p.options.get("fallback") {
            Some(v) => Some(JudgeCheck::from_value(v, cx).map_err(|mut e| {
                e.path.insert(0, Seg::Key("fallback".into()));
                e
            })?),
            None if params.on_unknown == OnUnknown::Fallback => Some(
                JudgeCheck::resolve(&JudgeParams::default(), cx).map_err(|mut e| {
                    e.path = vec![Seg::Key(KIND.into()), Seg::Key("on_unknown".into())];
                    e.message = format!("`on_unknown: fallback` asks for a judge: {}", e.message);
                    e
                })?,
            ),
            None => None,
        };
        let ast = Ast { params, options };
        let check: Box<dyn Check> = match fallback {
            None => Box::new(ast),
            Some(judge) => Box::new(Fallback {
                first: ast,
                then: judge,
                undecided: "unknown",
                what: "equivalence unknown",
                first_key: "ast",
                then_key: "judge",
            }),
        };
        Ok(AstCheck { check })
    }
}

impl Check for AstCheck {
    fn run<'a>(&'a self, cx: &'a CheckCx<'a>) -> BoxFuture<'a, CheckResult> {
        self.check.run(cx)
    }
}

impl Immediate for Ast {
    fn check(&self, ctx: &CheckCx<'_>) -> CheckResult {
        run(&self.params, &self.options, ctx)
    }
}

/// Runs an `ast_equivalent` comparison on the case output.
fn run(params: &AstParams, opts: &Options, ctx: &CheckCx<'_>) -> CheckResult {
    let start = Instant::now();
    let Some(reference) = params.reference.as_ref().or(ctx.trial.expected) else {
        return CheckResult::error(
            KIND,
            ctx.name,
            "no reference: give the case an `expected` value or the check a `reference`",
        );
    };
    let (left, right) = match params.dialect {
        Dialect::Sql => (
            Value::String(crate::text::of_value(reference)),
            Value::String(ctx.output.text.clone()),
        ),
        _ => {
            let left = match reference {
                Value::String(s) => match serde_json::from_str::<Value>(s) {
                    Ok(v) => v,
                    Err(e) => {
                        return CheckResult::error(
                            KIND,
                            ctx.name,
                            format!("the reference is not JSON: {e}"),
                        );
                    }
                },
                v => v.clone(),
            };
            let right = match ctx.output.as_json() {
                Ok(v) => v,
                Err(e) => {
                    return CheckResult::from_bool(
                        KIND,
                        ctx.name,
                        false,
                        format!("not equivalent: the output is not JSON ({e})"),
                    )
                    .with_label("not_equivalent")
                    .with_evidence(json!({"invalid": "output", "error": e.to_string()}));
                }
            };
            (left, right)
        }
    };
    let names = audience::Names {
        left: "the expected audience".into(),
        right: "the output".into(),
    };
    let verdict = match compare(params.dialect, &left, &right, opts, &names) {
        Ok(v) => v,
        Err(e) if e.side == "left" => {
            return CheckResult::error(
                KIND,
                ctx.name,
                format!(
                    "the reference is not a valid {} input: {}",
                    e.dialect, e.message
                ),
            );
        }
        Err(e) => {
            return CheckResult::from_bool(
                KIND,
                ctx.name,
                false,
                format!(
                    "not equivalent: the output is not a valid {} input: {}",
                    e.dialect, e.message
                ),
            )
            .with_label("not_equivalent")
            .with_evidence(json!({"invalid": "output", "error": e.message}));
        }
    };
    let mut result = to_result(&verdict, params.dialect, params.on_unknown, ctx.name, start);
    // The check compares the expected value (left) with the output (right):
    // its reason says so, as the audience dialect's does.
    result.reason = in_case_words(&result.reason);
    result
}

/// A SQL or JSON counterexample in a check's words: `expected`/`output`
/// instead of `left`/`right` (which `tribunal equiv A B` keeps).
fn in_case_words(reason: &str) -> String {
    reason
        .replace("the left query returns", "the expected query returns")
        .replace("the right query returns", "the output returns")
        .replace("the left value is", "the expected value is")
        .replace("the right value is", "the output's value is")
}

/// Maps a verdict to a check result under the `on_unknown` policy.
pub fn to_result(
    verdict: &Equivalence,
    dialect: Dialect,
    on_unknown: OnUnknown,
    name: &str,
    start: Instant,
) -> CheckResult {
    let mut evidence = verdict.evidence();
    if let Value::Object(m) = &mut evidence {
        m.insert("dialect".into(), json!(dialect.as_str()));
        m.insert(
            "millis".into(),
            json!(start.elapsed().as_secs_f64() * 1000.0),
        );
    }
    let reason = verdict.reason();
    let mut result = match verdict {
        Equivalence::Equivalent { .. } => CheckResult::new(KIND, name, Outcome::Pass, reason),
        Equivalence::NotEquivalent { .. } => CheckResult::new(KIND, name, Outcome::Fail, reason),
        Equivalence::EquivalentUnderTolerances { .. } => {
            CheckResult::new(KIND, name, Outcome::Pass, reason)
        }
        Equivalence::Unknown { .. } => match on_unknown {
            OnUnknown::Fail => CheckResult::new(KIND, name, Outcome::Fail, reason),
            OnUnknown::Warn => {
                let mut r = CheckResult::new(KIND, name, Outcome::Pass, reason.clone());
                r.warnings
                    .push(format!("ast_equivalent could not decide: {reason}"));
                r
            }
            OnUnknown::Fallback => {
                if let Value::Object(m) = &mut evidence {
                    m.insert("fallback".into(), json!("judge"));
                }
                CheckResult::new(
                    KIND,
                    name,
                    Outcome::Fail,
                    format!("{reason} (fallback to the judge requested)"),
                )
            }
        },
    };
    result.label = Some(verdict.label().to_string());
    result.evidence = Some(evidence.into());
    result
}
