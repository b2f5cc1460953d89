//! `dialect: sql`: canonical comparison, then differential execution over
//! generated databases in bundled SQLite, with the first counterexample
//! shrunk to a minimal database.
//!
//! Results are compared as bags, or as lists when both queries order their
//! output. A database only counts as a counterexample when each query's
//! own result is the same whatever the physical row order (so `ORDER BY`
//! ties and `LIMIT` without an order never produce a false alarm).
//! "No counterexample in N databases" is reported as evidence, never as a
//! proof.

pub mod compat;
pub mod datagen;
pub mod schema;

use std::time::Instant;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::{Value, json};
use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, GenericDialect, dialect_from_str};
use sqlparser::parser::Parser;

pub use datagen::{Db, Pools, SqlVal};
pub use schema::{ColType, Schema, SchemaError};

use super::equivalence::{Equivalence, Method};
use crate::rng::Rng;

/// Options of one SQL comparison.
#[derive(Debug, Clone)]
pub struct SqlOptions {
    /// sqlparser dialect name for canonicalization (`generic`, `sqlite`,
    /// `mysql`, `postgresql`, ...).
    pub dialect: String,
    /// Most generated databases.
    pub max_dbs: usize,
    /// Wall-clock budget in milliseconds (generation and shrinking).
    pub budget_ms: u64,
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            dialect: "generic".into(),
            max_dbs: 200,
            budget_ms: 2_000,
            seed: 0,
        }
    }
}

/// Canonical text of a query: sqlparser's rendering, lowercased outside
/// string literals and quoted identifiers, backticks as double quotes.
/// Returns the text and whether the query orders its output.
pub fn canonical(sql: &str, dialect: &str) -> Result<(String, bool), String> {
    let d: Box<dyn Dialect> =
        dialect_from_str(dialect).unwrap_or_else(|| Box::new(GenericDialect {}));
    let stmts = Parser::parse_sql(d.as_ref(), sql).map_err(|e| e.to_string())?;
    let [stmt] = stmts.as_slice() else {
        return Err(format!("expected one statement, found {}", stmts.len()));
    };
    let Statement::Query(q) = stmt else {
        return Err("only SELECT queries are compared".into());
    };
    let ordered = q.order_by.is_some();
    Ok((lower_outside_quotes(&stmt.to_string()), ordered))
}

fn lower_outside_quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                out.push(if c == '`' { '"' } else { c });
                if c == q {
                    quote = None;
                }
            }
            None => {
                if c == '\'' || c == '"' || c == '`' {
                    quote = Some(c);
                    out.push(if c == '`' { '"' } else { c });
                } else {
                    out.extend(c.to_lowercase());
                }
            }
        }
    }
    out
}

/// Whether `sql` has an `ORDER BY` at parenthesis depth 0 (fallback when
/// sqlparser cannot parse the query).
fn top_level_order_by(sql: &str) -> bool {
    let lower = lower_outside_quotes(sql);
    let mut depth = 0i32;
    let bytes = lower.as_bytes();
    let mut in_str = false;
    for i in 0..bytes.len() {
        match bytes[i] {
            b'\'' => in_str = !in_str,
            b'(' if !in_str => depth += 1,
            b')' if !in_str => depth -= 1,
            b'o' if !in_str
                && depth == 0
                && lower[i..].starts_with("order")
                && lower[i + 5..].trim_start().starts_with("by")
                && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// Result of one query on one database: row keys (for comparison) and
/// the rows (for display).
#[derive(Debug, Clone, PartialEq)]
struct Rows {
    keys: Vec<String>,
    shown: Vec<Vec<SqlVal>>,
}

impl Rows {
    fn same(&self, other: &Rows, ordered: bool) -> bool {
        if ordered {
            self.keys == other.keys
        } else {
            let (mut a, mut b) = (self.keys.clone(), other.keys.clone());
            a.sort();
            b.sort();
            a == b
        }
    }
    fn to_json(&self) -> Value {
        Value::Array(
            self.shown
                .iter()
                .map(|r| Value::Array(r.iter().map(SqlVal::to_json).collect()))
                .collect(),
        )
    }
}

fn val_key(v: &SqlVal) -> String {
    match v {
        SqlVal::Null => "N".into(),
        SqlVal::Int(i) => format!("#{i}"),
        SqlVal::Real(f) if f.fract() == 0.0 && f.abs() < 9e15 => format!("#{}", *f as i64),
        SqlVal::Real(f) => format!("#{f:.9e}"),
        SqlVal::Text(s) => format!("'{s}"),
    }
}

struct Runner<'a> {
    conn: Connection,
    schema: &'a Schema,
    left: String,
    right: String,
}

impl Runner<'_> {
    fn load(&self, db: &Db, reverse: bool) -> rusqlite::Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for (ti, t) in self.schema.tables.iter().enumerate() {
            if t.internal() {
                continue;
            }
            tx.execute(&format!("DELETE FROM {}", schema::quote(&t.name)), [])?;
            let marks = vec!["?"; t.columns.len()].join(", ");
            let mut st = tx.prepare_cached(&format!(
                "INSERT INTO {} VALUES ({marks})",
                schema::quote(&t.name)
            ))?;
            let rows: Box<dyn Iterator<Item = &Vec<SqlVal>>> = if reverse {
                Box::new(db.tables[ti].iter().rev())
            } else {
                Box::new(db.tables[ti].iter())
            };
            for r in rows {
                let params: Vec<rusqlite::types::Value> = r
                    .iter()
                    .map(|v| match v {
                        SqlVal::Null => rusqlite::types::Value::Null,
                        SqlVal::Int(i) => rusqlite::types::Value::Integer(*i),
                        SqlVal::Real(f) => rusqlite::types::Value::Real(*f),
                        SqlVal::Text(s) => rusqlite::types::Value::Text(s.clone()),
                    })
                    .collect();
                st.execute(rusqlite::params_from_iter(params))?;
            }
        }
        tx.commit()
    }

    fn query(&self, sql: &str) -> rusqlite::Result<Rows> {
        let mut st = self.conn.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query([])?;
        let mut out = Rows {
            keys: Vec::new(),
            shown: Vec::new(),
        };
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => SqlVal::Null,
                    ValueRef::Integer(x) => SqlVal::Int(x),
                    ValueRef::Real(x) => SqlVal::Real(x),
                    ValueRef::Text(t) => SqlVal::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => SqlVal::Text(format!("x'{}'", hex(b))),
                });
            }
            out.keys
                .push(row.iter().map(val_key).collect::<Vec<_>>().join("\u{1f}"));
            out.shown.push(row);
            if out.keys.len() > 100_000 {
                break;
            }
        }
        Ok(out)
    }

    /// `Some((left, right))` when `db` is a stable counterexample.
    fn distinguishes(&self, db: &Db, ordered: bool) -> rusqlite::Result<Option<(Rows, Rows)>> {
        self.load(db, false)?;
        let a = self.query(&self.left)?;
        let b = self.query(&self.right)?;
        if a.same(&b, ordered) {
            return Ok(None);
        }
        // Each result must not depend on the physical row order.
        self.load(db, true)?;
        let a2 = self.query(&self.left)?;
        let b2 = self.query(&self.right)?;
        if !a.same(&a2, ordered) || !b.same(&b2, ordered) || a2.same(&b2, ordered) {
            return Ok(None);
        }
        Ok(Some((a, b)))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decides whether two queries return the same results on every database
/// of `schema` (as far as generated databases can tell).
pub fn equivalent(left: &str, right: &str, schema: &Schema, opts: &SqlOptions) -> Equivalence {
    let start = Instant::now();
    let cl = canonical(left, &opts.dialect);
    let cr = canonical(right, &opts.dialect);
    if left.trim() == right.trim() && cl.is_ok() {
        return Equivalence::Equivalent {
            method: Method::Identical,
            detail: "the two queries are identical".into(),
        };
    }
    if let (Ok((a, _)), Ok((b, _))) = (&cl, &cr)
        && a == b
    {
        return Equivalence::Equivalent {
            method: Method::Canonical,
            detail: format!("both canonicalize to `{a}`"),
        };
    }
    let ordered_l = cl
        .as_ref()
        .map_or_else(|_| top_level_order_by(left), |c| c.1);
    let ordered_r = cr
        .as_ref()
        .map_or_else(|_| top_level_order_by(right), |c| c.1);
    let ordered = ordered_l && ordered_r;
    let conn = match Connection::open_in_memory() {
        Ok(c) => c,
        Err(e) => {
            return Equivalence::Unknown {
                reason: format!("cannot open SQLite: {e}"),
                tried: 0,
            };
        }
    };
    // A watchdog interrupts a query that outlives the budget (for example a
    // recursive CTE that never ends); the verdict is then `unknown`.
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let handle = conn.get_interrupt_handle();
    let limit = std::time::Duration::from_millis(opts.budget_ms.saturating_mul(3).max(50));
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(limit) {
            handle.interrupt();
        }
    });
    let verdict = run_with(conn, left, right, schema, opts, &cl, &cr, ordered, start);
    drop(stop_tx);
    let _ = watchdog.join();
    verdict
}

#[allow(clippy::too_many_arguments)]
fn run_with(
    conn: Connection,
    left: &str,
    right: &str,
    schema: &Schema,
    opts: &SqlOptions,
    cl: &Result<(String, bool), String>,
    cr: &Result<(String, bool), String>,
    ordered: bool,
    start: Instant,
) -> Equivalence {
    if let Err(e) = conn.execute_batch(&schema.sqlite_ddl()) {
        return Equivalence::Unknown {
            reason: format!("the schema does not load in SQLite: {e}"),
            tried: 0,
        };
    }
    let runner = Runner {
        conn,
        schema,
        left: compat::for_sqlite(left.trim().trim_end_matches(';')),
        right: compat::for_sqlite(right.trim().trim_end_matches(';')),
    };
    for (side, sql) in [("left", &runner.left), ("right", &runner.right)] {
        if let Err(e) = runner.conn.prepare(sql) {
            let parse = match (side, cl, cr) {
                ("left", Err(p), _) | ("right", _, Err(p)) => format!(" (sqlparser: {p})"),
                _ => String::new(),
            };
            return Equivalence::Unknown {
                reason: format!("the {side} query does not run in SQLite: {e}{parse}"),
                tried: 0,
            };
        }
    }
    let pools = Pools::from_queries(&[left, right]);
    let mut rng = Rng::new(opts.seed);
    let mut tried = 0u64;
    let mut found: Option<Db> = None;
    for round in 0..opts.max_dbs {
        if start.elapsed().as_millis() as u64 > opts.budget_ms {
            break;
        }
        let db = datagen::generate(schema, &pools, &mut rng, round);
        tried += 1;
        match runner.distinguishes(&db, ordered) {
            Ok(Some(_)) => {
                found = Some(db);
                break;
            }
            Ok(None) => {}
            Err(e) => {
                let why = if matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::OperationInterrupted)
                {
                    format!(
                        "a query ran past the time budget ({} ms) and was interrupted",
                        opts.budget_ms
                    )
                } else {
                    format!("SQLite failed while running the queries: {e}")
                };
                return Equivalence::Unknown { reason: why, tried };
            }
        }
    }
    let Some(db) = found else {
        let why = if tried < opts.max_dbs as u64 {
            format!(" (time budget of {} ms reached)", opts.budget_ms)
        } else {
            String::new()
        };
        if tried == 0 {
            return Equivalence::Unknown {
                reason: format!("no database generated within {} ms", opts.budget_ms),
                tried,
            };
        }
        return Equivalence::Equivalent {
            method: Method::Differential,
            detail: format!(
                "no counterexample in {tried} generated databases{why}, compared as {}",
                if ordered { "ordered lists" } else { "bags" }
            ),
        };
    };
    let db = shrink(
        &runner,
        db,
        ordered,
        &start,
        opts.budget_ms.saturating_mul(2),
    );
    let (a, b) = match runner.distinguishes(&db, ordered) {
        Ok(Some(x)) => x,
        _ => {
            return Equivalence::Unknown {
                reason: "a counterexample was found but could not be replayed".into(),
                tried,
            };
        }
    };
    let inserts = db.inserts(schema);
    let text = format!(
        "on the database {{{}}} the left query returns {} and the right query returns {} (compared as {})",
        if inserts.is_empty() {
            "all tables empty".to_string()
        } else {
            inserts.join(" ")
        },
        rows_text(&a),
        rows_text(&b),
        if ordered { "ordered lists" } else { "bags" }
    );
    Equivalence::NotEquivalent {
        method: Method::Differential,
        counterexample: text,
        evidence: json!({
            "database": inserts,
            "left_result": a.to_json(),
            "right_result": b.to_json(),
            "ordered": ordered,
            "databases_tried": tried,
        }),
    }
}

fn rows_text(r: &Rows) -> String {
    if r.shown.is_empty() {
        return "no rows".into();
    }
    let rows: Vec<String> = r
        .shown
        .iter()
        .take(10)
        .map(|row| {
            let v: Vec<String> = row.iter().map(SqlVal::literal).collect();
            format!("({})", v.join(", "))
        })
        .collect();
    let more = if r.shown.len() > 10 {
        format!(" and {} more", r.shown.len() - 10)
    } else {
        String::new()
    };
    format!("{} row(s) {}{more}", r.shown.len(), rows.join(", "))
}

/// Removes rows one at a time while the database stays valid and still
/// tells the queries apart.
fn shrink(runner: &Runner<'_>, mut db: Db, ordered: bool, start: &Instant, limit_ms: u64) -> Db {
    loop {
        let mut changed = false;
        for ti in 0..db.tables.len() {
            let mut ri = 0;
            while ri < db.tables[ti].len() {
                if start.elapsed().as_millis() as u64 > limit_ms {
                    return db;
                }
                let mut cand = db.clone();
                cand.tables[ti].remove(ri);
                if cand.valid(runner.schema)
                    && matches!(runner.distinguishes(&cand, ordered), Ok(Some(_)))
                {
                    db = cand;
                    changed = true;
                } else {
                    ri += 1;
                }
            }
        }
        if !changed {
            return db;
        }
    }
}
