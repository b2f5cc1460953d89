//! `tribunal equiv` and `tribunal bench-ast`: the equivalence checker from
//! the command line.
//!
//! ```text
//! tribunal equiv --dialect audience expected.json output.json
//! tribunal equiv --dialect sql --schema schema.sql "SELECT ..." "SELECT ..."
//! tribunal equiv --dialect sql --schema tables.json#concert_singer q1.sql q2.sql
//! tribunal equiv --pairs pairs.jsonl > verdicts.jsonl
//! tribunal bench-ast --datasets ../shared/datasets
//! ```
//!
//! Exit codes of `equiv` on one pair: 0 equivalent, 1 not equivalent,
//! 2 unknown, 3 invalid input or usage. With `--pairs`: 0 when every line
//! was checked, 3 when some line could not be read.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::check::ast::tolerance::{Class, Classes};
use crate::check::ast::{Dialect, Equivalence, Options, audience, compare, load_schema, sql};

/// The subcommands this module adds to `tribunal`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check whether two audience ASTs, SQL queries or JSON values are equivalent.
    Equiv(EquivArgs),
    /// Run the equivalence checker over the bundled datasets and print
    /// verdict counts, throughput and time per pair.
    BenchAst(BenchArgs),
}

/// `--dialect`: the language of the compared values ([`Dialect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DialectArg {
    /// JSON audience ASTs (`schemas/audience-ast.schema.json`).
    Audience,
    /// SQL queries.
    Sql,
    /// Any JSON values.
    Json,
}

impl From<DialectArg> for Dialect {
    fn from(d: DialectArg) -> Dialect {
        match d {
            DialectArg::Audience => Dialect::Audience,
            DialectArg::Sql => Dialect::Sql,
            DialectArg::Json => Dialect::Json,
        }
    }
}

/// Arguments of `tribunal equiv`.
#[derive(Debug, clap::Args)]
pub struct EquivArgs {
    /// The language of the inputs.
    #[arg(long, value_enum, default_value = "audience")]
    pub dialect: DialectArg,
    /// SQL schema: a DDL file, `tables.json#db_id`, or inline DDL.
    #[arg(long)]
    pub schema: Option<String>,
    /// Check many pairs: a JSON-lines file of `{left, right, dialect, id?, schema?}`.
    #[arg(long, conflicts_with_all = ["left", "right"])]
    pub pairs: Option<PathBuf>,
    /// sqlparser dialect for canonicalization, or `calcite`; `calcite` and
    /// `mysql` also compute `AVG` and `/` as those engines do.
    #[arg(long, default_value = "generic")]
    pub sql_dialect: String,
    /// Time budget per pair in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub budget_ms: u64,
    /// Most generated databases per SQL pair.
    #[arg(long, default_value_t = 200)]
    pub max_databases: usize,
    /// Seed of the generators.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// JSON: compare every array as a multiset.
    #[arg(long)]
    pub ignore_order: bool,
    /// JSON: an array path compared as a multiset (repeatable).
    #[arg(long = "set-path")]
    pub set_paths: Vec<String>,
    /// JSON: absolute numeric tolerance.
    #[arg(long, default_value_t = 0.0)]
    pub tolerance: f64,
    /// Counterexample classes to tolerate, comma-separated (`nulls,ties`;
    /// see docs/equivalence.md).
    #[arg(long, value_delimiter = ',')]
    pub tolerate: Vec<String>,
    /// The reference: a file path or the text itself.
    #[arg(required_unless_present = "pairs")]
    pub left: Option<String>,
    /// The candidate: a file path or the text itself.
    #[arg(required_unless_present = "pairs")]
    pub right: Option<String>,
}

/// Arguments of `tribunal bench-ast`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The datasets folder (see its README).
    #[arg(long, default_value = "../shared/datasets")]
    pub datasets: PathBuf,
    /// Time budget per SQL pair in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub budget_ms: u64,
    /// Most generated databases per SQL pair.
    #[arg(long, default_value_t = 200)]
    pub max_databases: usize,
    /// Number of generated audience pairs for the throughput run.
    #[arg(long, default_value_t = 5000)]
    pub audience_pairs: usize,
    /// Print every pair's verdict as JSON lines.
    #[arg(long)]
    pub verbose: bool,
}

/// Runs one subcommand.
pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Equiv(a) => equiv(a),
        Command::BenchAst(a) => super::bench_ast::run(&a),
    }
}

/// One line of a pairs file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    /// Optional identifier echoed in the verdict.
    #[serde(default)]
    pub id: Option<Value>,
    /// The reference.
    pub left: Value,
    /// The candidate.
    pub right: Value,
    /// Overrides `--dialect`.
    #[serde(default)]
    pub dialect: Option<Dialect>,
    /// Inline DDL, or a path relative to the pairs file (`tables.json#db`).
    #[serde(default)]
    pub schema: Option<String>,
    /// Overrides `--sql-dialect` (the engine the queries were written for).
    #[serde(default)]
    pub sql_dialect: Option<String>,
}

/// One verdict line.
pub fn verdict_json(
    id: Option<&Value>,
    result: &Result<Equivalence, String>,
    millis: f64,
) -> Value {
    match result {
        Ok(v) => {
            let cex = match v {
                Equivalence::NotEquivalent { evidence, .. }
                | Equivalence::EquivalentUnderTolerances { evidence, .. } => evidence.clone(),
                _ => Value::Null,
            };
            json!({
                "id": id,
                "verdict": v.label(),
                "method": v.method().map(|m| m.as_str()),
                "counterexample": cex,
                "reason": v.reason(),
                "millis": millis,
            })
        }
        Err(e) => json!({
            "id": id, "verdict": "error", "method": null, "counterexample": null,
            "reason": e, "millis": millis,
        }),
    }
}

fn text_or_file(s: &str) -> String {
    let p = Path::new(s);
    if s.len() < 4096 && !s.contains('\n') && p.is_file() {
        std::fs::read_to_string(p).unwrap_or_else(|_| s.to_string())
    } else {
        s.to_string()
    }
}

fn as_input(dialect: Dialect, text: &str) -> Result<Value, String> {
    match dialect {
        Dialect::Sql => Ok(Value::String(text.to_string())),
        _ => serde_json::from_str(text).map_err(|e| format!("not JSON: {e}")),
    }
}

fn options(a: &EquivArgs) -> Result<Options, String> {
    let mut o = Options::default();
    // One pairs file may mix dialects: each takes its own classes.
    let tolerate = match (&a.pairs, &a.dialect) {
        (None, DialectArg::Sql) => Classes::parse_list(&a.tolerate, &Class::SQL, "sql")?,
        (None, DialectArg::Audience) => {
            Classes::parse_list(&a.tolerate, &Class::AUDIENCE, "audience")?
        }
        _ => Classes::parse_list(&a.tolerate, &Class::ALL, "sql or audience")?,
    };
    o.sql.tolerate = tolerate.minus(Classes::of(&Class::AUDIENCE));
    o.audience.tolerate = tolerate.minus(Classes::of(&Class::SQL));
    o.sql.dialect = a.sql_dialect.clone();
    o.sql.budget_ms = a.budget_ms;
    o.sql.max_dbs = a.max_databases;
    o.sql.seed = a.seed;
    o.audience.budget_ms = a.budget_ms;
    o.audience.seed = a.seed;
    o.json.ignore_order = a.ignore_order;
    o.json.set_paths = a.set_paths.clone();
    o.json.tolerance = a.tolerance;
    Ok(o)
}

/// A SQL counterexample's database and results as text tables, one per
/// table the queries read, then the two results.
pub fn counterexample_tables(evidence: &Value) -> String {
    let Some(tables) = evidence.get("tables").and_then(Value::as_array) else {
        return String::new();
    };
    let cell = |v: &Value| match v {
        Value::Null => "NULL".to_string(),
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    let grid = |head: Vec<String>, rows: Vec<Vec<String>>| -> String {
        let n = head.len().max(rows.iter().map(Vec::len).max().unwrap_or(0));
        let mut w = vec![0; n];
        for r in std::iter::once(&head).chain(&rows) {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |r: &Vec<String>| {
            let cs: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<width$}", width = w[i]))
                .collect();
            format!("  | {} |\n", cs.join(" | "))
        };
        let mut out = String::new();
        if !head.is_empty() {
            out.push_str(&line(&head));
        }
        if rows.is_empty() {
            out.push_str("  (no rows)\n");
        }
        for r in &rows {
            out.push_str(&line(r));
        }
        out
    };
    let as_rows = |v: Option<&Value>| -> Vec<Vec<String>> {
        v.and_then(Value::as_array)
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        r.as_array()
                            .map(|c| c.iter().map(cell).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = String::from("counterexample database:\n");
    for t in tables {
        out.push_str(&format!(
            "{}\n",
            t.get("table").and_then(Value::as_str).unwrap_or("?")
        ));
        let head: Vec<String> = t
            .get("columns")
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&grid(head, as_rows(t.get("rows"))));
    }
    for (side, key) in [("left", "left_result"), ("right", "right_result")] {
        out.push_str(&format!("{side} query returns:\n"));
        out.push_str(&grid(Vec::new(), as_rows(evidence.get(key))));
    }
    if let Some(c) = evidence.get("classes").and_then(Value::as_array) {
        let names: Vec<&str> = c.iter().filter_map(Value::as_str).collect();
        out.push_str(&format!(
            "needs: {}\n",
            if names.is_empty() {
                "nothing special".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    out
}

/// Schemas loaded once per spec.
#[derive(Default)]
pub struct SchemaCache(HashMap<String, Result<sql::Schema, String>>);

impl SchemaCache {
    /// Loads (or reuses) the schema named by `spec`, relative to `base`.
    pub fn get(&mut self, spec: &str, base: &Path) -> Result<sql::Schema, String> {
        self.0
            .entry(spec.to_string())
            .or_insert_with(|| load_schema(spec, None, base).map_err(|e| e.to_string()))
            .clone()
    }
}

/// Checks one pair with `opts` (its schema resolved from `pair.schema`).
pub fn check_pair(
    pair: &Pair,
    default_dialect: Dialect,
    opts: &Options,
    cache: &mut SchemaCache,
    base: &Path,
) -> Result<Equivalence, String> {
    let dialect = pair.dialect.unwrap_or(default_dialect);
    let mut opts = opts.clone();
    if let Some(d) = &pair.sql_dialect {
        opts.sql.dialect = d.clone();
    }
    if let Some(s) = &pair.schema {
        opts.schema = Some(cache.get(s, base)?);
    }
    let to_input = |v: &Value| -> Result<Value, String> {
        match (dialect, v) {
            (Dialect::Sql, _) => Ok(v.clone()),
            (_, Value::String(s)) => as_input(dialect, s),
            (_, other) => Ok(other.clone()),
        }
    };
    compare(
        dialect,
        &to_input(&pair.left)?,
        &to_input(&pair.right)?,
        &opts,
        &audience::Names {
            left: "the left AST".into(),
            right: "the right AST".into(),
        },
    )
    .map_err(|e| e.to_string())
}

fn equiv(a: EquivArgs) -> ExitCode {
    if a.dialect == DialectArg::Sql
        && a.pairs.is_none()
        && let Err(e) = sql::enabled("`--dialect sql`")
    {
        eprintln!("error: {e}");
        return crate::exit::code(crate::exit::EQUIV_INVALID);
    }
    if !a.tolerate.is_empty() && a.dialect == DialectArg::Json && a.pairs.is_none() {
        eprintln!(
            "error: `--tolerate` applies to `--dialect sql` and `--dialect audience` (hint: drop `--tolerate`)"
        );
        return crate::exit::code(crate::exit::EQUIV_INVALID);
    }
    let mut opts = match options(&a) {
        Ok(o) => o,
        Err(e) => {
            let example = match a.dialect {
                DialectArg::Audience => "missing_traits,zero_counts",
                _ => "nulls,ties",
            };
            eprintln!("error: {e} (hint: `--tolerate {example}`)");
            return crate::exit::code(crate::exit::EQUIV_INVALID);
        }
    };
    let mut cache = SchemaCache::default();
    if let Some(path) = &a.pairs {
        return equiv_pairs(path, &a, &opts, &mut cache);
    }
    if let Some(s) = &a.schema {
        match load_schema(s, None, Path::new(".")) {
            Ok(sc) => opts.schema = Some(sc),
            Err(e) => {
                eprintln!("error: {e}");
                return crate::exit::code(crate::exit::EQUIV_INVALID);
            }
        }
    }
    let (Some(l), Some(r)) = (&a.left, &a.right) else {
        eprintln!("error: give LEFT and RIGHT, or --pairs FILE");
        return crate::exit::code(crate::exit::EQUIV_INVALID);
    };
    let start = Instant::now();
    let result = (|| {
        let left =
            as_input(a.dialect.into(), &text_or_file(l)).map_err(|e| format!("left: {e}"))?;
        let right =
            as_input(a.dialect.into(), &text_or_file(r)).map_err(|e| format!("right: {e}"))?;
        compare(
            a.dialect.into(),
            &left,
            &right,
            &opts,
            &audience::Names {
                left: "LEFT".into(),
                right: "RIGHT".into(),
            },
        )
        .map_err(|e| e.to_string())
    })();
    let millis = start.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(v) => {
            println!("{}: {}", v.label(), v.reason());
            if let Equivalence::NotEquivalent { evidence, .. }
            | Equivalence::EquivalentUnderTolerances { evidence, .. } = v
            {
                print!("{}", counterexample_tables(evidence));
                println!(
                    "{}",
                    serde_json::to_string_pretty(evidence).unwrap_or_default()
                );
            }
            eprintln!("({millis:.1} ms)");
            crate::exit::code(match v {
                Equivalence::Equivalent { .. } | Equivalence::EquivalentUnderTolerances { .. } => {
                    crate::exit::EQUIV_EQUIVALENT
                }
                Equivalence::NotEquivalent { .. } => crate::exit::EQUIV_NOT_EQUIVALENT,
                Equivalence::Unknown { .. } => crate::exit::EQUIV_UNKNOWN,
            })
        }
        Err(e) => {
            eprintln!("error: {e}");
            crate::exit::code(crate::exit::EQUIV_INVALID)
        }
    }
}

fn equiv_pairs(path: &Path, a: &EquivArgs, opts: &Options, cache: &mut SchemaCache) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return crate::exit::code(crate::exit::EQUIV_INVALID);
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut bad = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let start = Instant::now();
        let (id, result) = match serde_json::from_str::<Pair>(line) {
            Ok(p) => (
                p.id.clone(),
                check_pair(&p, a.dialect.into(), opts, cache, base),
            ),
            Err(e) => {
                bad = true;
                (
                    None,
                    Err(format!("{}:{}: not a pair: {e}", path.display(), i + 1)),
                )
            }
        };
        let v = verdict_json(id.as_ref(), &result, start.elapsed().as_secs_f64() * 1000.0);
        if writeln!(out, "{v}").is_err() {
            return crate::exit::code(crate::exit::EQUIV_INVALID);
        }
    }
    if bad {
        crate::exit::code(crate::exit::EQUIV_INVALID)
    } else {
        ExitCode::SUCCESS
    }
}
