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

mod alias;
mod bags;
mod canon;
pub mod compat;
pub mod datagen;
pub mod dates;
pub mod fixture;
mod functions;
pub mod schema;
pub mod ties;

use std::time::Instant;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use serde_json::{Value, json};
use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, GenericDialect, dialect_from_str};
use sqlparser::parser::Parser;

pub use datagen::{Allow, Db, Pools, SqlVal};
pub use schema::{ColType, Schema, SchemaError};

pub use super::SqlOptions;

use super::equivalence::{Equivalence, Method};
use super::tolerance::{Class, Classes};
use crate::rng::Rng;

/// `Ok`: this build compares SQL (the `sql` feature is on). Without the
/// feature (`sql_off.rs`) it is the error naming the feature.
pub fn enabled(_what: &str) -> Result<(), String> {
    Ok(())
}

/// Whether `d` names a dialect `sql_dialect:` accepts: one of sqlparser's,
/// or `calcite`.
pub fn known_dialect(d: &str) -> bool {
    dialect_from_str(d).is_some() || d.eq_ignore_ascii_case("calcite")
}

/// Loads a schema given as inline DDL, a DDL file, or `tables.json#db_id`
/// (paths relative to `base`).
pub fn load_schema(
    spec: &str,
    db_id: Option<&str>,
    base: &std::path::Path,
) -> Result<Schema, SchemaError> {
    if spec.to_ascii_lowercase().contains("create table") {
        return Schema::from_ddl(spec);
    }
    let (file, hash_db) = match spec.rsplit_once('#') {
        Some((f, d)) => (f, Some(d)),
        None => (spec, None),
    };
    let path = base.join(file);
    let text =
        crate::fsutil::read_regular(&path, crate::fsutil::MAX_NAMED_FILE_BYTES).map_err(|e| {
            SchemaError::Io {
                path: path.display().to_string(),
                message: e.to_string(),
            }
        })?;
    if file.ends_with(".json") {
        let v: Value =
            serde_json::from_str(&text).map_err(|e| SchemaError::Spider(e.to_string()))?;
        let db = hash_db.or(db_id).ok_or_else(|| {
            SchemaError::Spider(format!(
                "`{file}` holds many databases: name one with `{file}#db_id` or `db_id:`"
            ))
        })?;
        Schema::from_spider(&v, db)
    } else {
        Schema::from_ddl(&text)
    }
}

/// Whether a ground truth is a SQL query: text starting with `SELECT` or
/// `WITH` that sqlparser parses.
pub fn parses_as_query(s: &str) -> bool {
    let head = s.trim_start().to_ascii_lowercase();
    (head.starts_with("select") || head.starts_with("with"))
        && Parser::parse_sql(&GenericDialect {}, s).is_ok()
}

/// The clauses a query uses, as tags (`sql:join`, `sql:where`, ...; see
/// `dataset::truth::features`).
pub fn clause_features(sql: &str, out: &mut std::collections::BTreeSet<String>) {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return;
    };
    let words: Vec<(Keyword, String)> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .map(|t| match t {
            Token::Word(w) if w.quote_style.is_none() => (w.keyword, w.value.to_lowercase()),
            Token::LParen => (Keyword::NoKeyword, "(".into()),
            _ => (Keyword::NoKeyword, String::new()),
        })
        .collect();
    let mut selects = 0;
    for (i, (k, w)) in words.iter().enumerate() {
        let next = words.get(i + 1).map(|(k, _)| *k);
        match k {
            Keyword::SELECT => selects += 1,
            Keyword::JOIN => {
                out.insert("sql:join".into());
            }
            Keyword::WHERE => {
                out.insert("sql:where".into());
            }
            Keyword::GROUP if next == Some(Keyword::BY) => {
                out.insert("sql:group-by".into());
            }
            Keyword::ORDER if next == Some(Keyword::BY) => {
                out.insert("sql:order-by".into());
            }
            Keyword::HAVING => {
                out.insert("sql:having".into());
            }
            Keyword::LIMIT => {
                out.insert("sql:limit".into());
            }
            Keyword::DISTINCT => {
                out.insert("sql:distinct".into());
            }
            Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT => {
                out.insert("sql:union".into());
            }
            Keyword::WITH if i == 0 => {
                out.insert("sql:with".into());
            }
            _ => {}
        }
        let is_call = words.get(i + 1).is_some_and(|(_, n)| n == "(");
        if is_call && matches!(w.as_str(), "count" | "sum" | "avg" | "min" | "max") {
            out.insert("sql:aggregate".into());
        }
    }
    if selects > 1 {
        out.insert("sql:subquery".into());
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

/// The constraint (`ON`, `USING`, ...) of a join that has one, whatever its
/// kind: the one place the translations and the normal form read it from.
pub(super) fn join_constraint_mut(
    op: &mut sqlparser::ast::JoinOperator,
) -> Option<&mut sqlparser::ast::JoinConstraint> {
    use sqlparser::ast::JoinOperator as J;
    match op {
        J::Join(c)
        | J::Inner(c)
        | J::Left(c)
        | J::LeftOuter(c)
        | J::Right(c)
        | J::RightOuter(c)
        | J::FullOuter(c)
        | J::CrossJoin(c)
        | J::Semi(c)
        | J::LeftSemi(c)
        | J::RightSemi(c)
        | J::Anti(c)
        | J::LeftAnti(c)
        | J::RightAnti(c)
        | J::StraightJoin(c) => Some(c),
        _ => None,
    }
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

/// Result of one query on one database.
#[derive(Debug, Clone, PartialEq)]
struct Rows {
    columns: usize,
    shown: Vec<Vec<SqlVal>>,
}

/// How two results may differ and still agree.
#[derive(Debug, Clone, Copy, Default)]
struct Relax {
    rows: bool,
    cols: bool,
    types: bool,
}

impl Relax {
    const NONE: Relax = Relax {
        rows: false,
        cols: false,
        types: false,
    };
    fn classes(self) -> Classes {
        let mut c = Classes::NONE;
        if self.rows {
            c.insert(Class::RowOrder);
        }
        if self.cols {
            c.insert(Class::ColumnOrder);
        }
        if self.types {
            c.insert(Class::TypeAffinity);
        }
        c
    }
    /// The relaxations, smallest first.
    fn ladder(ordered: bool) -> Vec<Relax> {
        let mut out = Vec::new();
        for bits in 1u8..8 {
            let r = Relax {
                rows: bits & 1 != 0,
                cols: bits & 2 != 0,
                types: bits & 4 != 0,
            };
            if r.rows && !ordered {
                continue;
            }
            out.push(r);
        }
        out.sort_by_key(|r| r.rows as u8 + r.cols as u8 + r.types as u8);
        out
    }
}

impl Rows {
    fn keys(&self, loose: bool) -> Vec<Vec<String>> {
        self.shown
            .iter()
            .map(|r| r.iter().map(|v| val_key(v, loose)).collect())
            .collect()
    }
    fn agree(&self, other: &Rows, ordered: bool, r: Relax) -> bool {
        if self.shown.len() != other.shown.len() {
            return false;
        }
        if self.shown.is_empty() {
            return true;
        }
        let a = self.keys(r.types);
        let b = other.keys(r.types);
        let list = ordered && !r.rows;
        let same = |x: &[Vec<String>], y: Vec<Vec<String>>| {
            if list {
                x == y.as_slice()
            } else {
                let mut x = x.to_vec();
                let mut y = y;
                x.sort();
                y.sort();
                x == y
            }
        };
        if !r.cols {
            return same(&a, b);
        }
        if self.columns != other.columns || self.columns > 6 {
            return same(&a, b);
        }
        permutations(self.columns).into_iter().any(|p| {
            let pb: Vec<Vec<String>> = b
                .iter()
                .map(|row| p.iter().map(|&i| row[i].clone()).collect())
                .collect();
            same(&a, pb)
        })
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

fn permutations(n: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for k in 0..n {
        let mut next = Vec::new();
        for p in &out {
            for pos in 0..=k {
                let mut q = p.clone();
                q.insert(pos, k);
                next.push(q);
            }
        }
        out = next;
    }
    out
}

/// A value's comparison key; `loose` reads numeric text as a number and
/// truncates reals towards zero (type affinity, integer division).
fn val_key(v: &SqlVal, loose: bool) -> String {
    let num = |f: f64| {
        let f = if loose { f.trunc() } else { f };
        if f.fract() == 0.0 && f.abs() < 9e15 {
            format!("#{}", f as i64)
        } else {
            format!("#{f:.9e}")
        }
    };
    match v {
        SqlVal::Null => "N".into(),
        SqlVal::Int(i) => format!("#{i}"),
        SqlVal::Real(f) => num(*f),
        SqlVal::Text(s) if loose => match s.trim().parse::<f64>() {
            Ok(f) => num(f),
            Err(_) => format!("'{s}"),
        },
        SqlVal::Text(s) => format!("'{s}"),
    }
}

/// What both queries return on one database, loaded in both physical row
/// orders: one outcome per query, or two when its result depends on the
/// row order (ties under `ORDER BY … LIMIT`, bare columns, `LIMIT`
/// without an order).
#[derive(Debug, Clone)]
struct Obs {
    left: Vec<Rows>,
    right: Vec<Rows>,
    /// A query's `LIMIT` falls inside a tie of its sort key.
    tie: bool,
}

impl Obs {
    fn unstable(&self) -> bool {
        self.left.len() > 1 || self.right.len() > 1
    }
    /// The difference involves a tie: an order-dependent result, or a
    /// `LIMIT` that cuts through equal sort keys.
    fn ties(&self) -> bool {
        self.tie || self.unstable()
    }
    /// Some outcome of the left query agrees with some outcome of the right.
    fn agree(&self, ordered: bool, r: Relax) -> bool {
        self.left
            .iter()
            .any(|a| self.right.iter().any(|b| a.agree(b, ordered, r)))
    }
}

struct Runner<'a> {
    conn: Connection,
    schema: &'a Schema,
    left: String,
    right: String,
    /// Tables either query names.
    read: Vec<bool>,
    ordered: bool,
    /// Tie probes of the queries that keep the first rows of an order.
    probes: Vec<ties::Probe>,
    /// What the check tolerates.
    tolerate: Classes,
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
                st.execute(rusqlite::params_from_iter(r.iter().map(to_sqlite)))?;
            }
        }
        tx.commit()
    }

    fn query(&self, sql: &str) -> rusqlite::Result<Rows> {
        let mut st = self.conn.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query([])?;
        let mut out = Rows {
            columns: n,
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
                    ValueRef::Blob(b) => SqlVal::Text(format!("x'{}'", crate::text::hex(b))),
                });
            }
            out.shown.push(row);
            if out.shown.len() > 100_000 {
                break;
            }
        }
        Ok(out)
    }

    /// `Some` when the two queries disagree strictly on `db`.
    fn observe(&self, db: &Db) -> rusqlite::Result<Option<Obs>> {
        self.load(db, false)?;
        let a = self.query(&self.left)?;
        let b = self.query(&self.right)?;
        if a.agree(&b, self.ordered, Relax::NONE) {
            return Ok(None);
        }
        let mut tie = false;
        for p in &self.probes {
            let k = self.query(&p.keys_sql)?;
            if p.kept >= 1
                && k.shown.len() > p.kept
                && k.keys(false)[p.kept - 1] == k.keys(false)[p.kept]
            {
                tie = true;
            }
        }
        self.load(db, true)?;
        let a2 = self.query(&self.left)?;
        let b2 = self.query(&self.right)?;
        let mut obs = Obs {
            left: vec![a],
            right: vec![b],
            tie,
        };
        if !obs.left[0].agree(&a2, self.ordered, Relax::NONE) {
            obs.left.push(a2);
        }
        if !obs.right[0].agree(&b2, self.ordered, Relax::NONE) {
            obs.right.push(b2);
        }
        if obs.agree(self.ordered, Relax::NONE) {
            return Ok(None);
        }
        Ok(Some(obs))
    }

    /// What a difference on `db` needs: the database's own conditions
    /// (NULLs, duplicates, empty tables) plus the smallest comparison
    /// relaxation under which the results agree (ties, row order, column
    /// order, type affinity), if any.
    fn classes(&self, db: &Db, obs: &Obs) -> Classes {
        let mut c = db.features(self.schema, &self.read);
        if obs.ties() {
            // A tie is two rows with the same ORDER BY key: `ties` names it.
            c.remove(Class::Duplicates);
            c.insert(Class::Ties);
        }
        if let Some(r) = Relax::ladder(self.ordered)
            .into_iter()
            .find(|r| obs.agree(self.ordered, *r))
        {
            c = c.union(r.classes());
        }
        c
    }

    /// Whether the results agree once the tolerated comparison classes are
    /// ignored (ties, row order, column order, type affinity).
    fn agree_tolerated(&self, obs: &Obs) -> bool {
        let t = self.tolerate;
        if t.contains(Class::Ties) && obs.ties() {
            return true;
        }
        let r = Relax {
            rows: t.contains(Class::RowOrder),
            cols: t.contains(Class::ColumnOrder),
            types: t.contains(Class::TypeAffinity),
        };
        obs.agree(self.ordered, r)
    }

    /// `Some(classes)` when `db` is valid and tells the queries apart.
    fn differs(&self, db: &Db) -> rusqlite::Result<Option<(Obs, Classes)>> {
        if !db.valid(self.schema) {
            return Ok(None);
        }
        let observed = match self.observe(db) {
            Err(e) if functions::outside_domain(&e) => return Ok(None),
            other => other?,
        };
        Ok(observed.map(|o| {
            let c = self.classes(db, &o);
            (o, c)
        }))
    }

    /// What a difference on `db` needs rather than merely has: each NULL,
    /// repeated value or empty table is repaired in turn, and a repair that
    /// keeps the difference is kept. Returns the less demanding database
    /// and its classes.
    fn settle(
        &self,
        mut db: Db,
        mut classes: Classes,
        keep: &dyn Fn(&Db) -> bool,
    ) -> rusqlite::Result<(Db, Classes)> {
        for class in [Class::Nulls, Class::Duplicates, Class::EmptyTables] {
            if !classes.contains(class) {
                continue;
            }
            let Some(fixed) = db.repair(self.schema, class, &self.read) else {
                continue;
            };
            if let Some((_, c)) = self.differs(&fixed)?
                && c.subset_of(classes)
                && c != classes
                && keep(&fixed)
            {
                db = fixed;
                classes = c;
            }
        }
        Ok((db, classes))
    }
}

fn to_sqlite(v: &SqlVal) -> rusqlite::types::Value {
    match v {
        SqlVal::Null => rusqlite::types::Value::Null,
        SqlVal::Int(i) => rusqlite::types::Value::Integer(*i),
        SqlVal::Real(f) => rusqlite::types::Value::Real(*f),
        SqlVal::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

/// Tables whose name appears as a word in either query.
fn tables_read(schema: &Schema, queries: &[&str]) -> Vec<bool> {
    let mut words = std::collections::HashSet::new();
    for q in queries {
        for w in q.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')) {
            if !w.is_empty() {
                words.insert(w.to_ascii_lowercase());
            }
        }
    }
    schema
        .tables
        .iter()
        .map(|t| words.contains(&t.name.to_ascii_lowercase()))
        .collect()
}

/// The search, least demanding databases first: each level allows one more
/// kind of condition, so the first counterexample found needs as little
/// as possible. Weights share the database budget.
const LEVELS: [(Allow, usize); 8] = [
    (
        Allow {
            nulls: false,
            duplicates: false,
            empty: false,
        },
        5,
    ),
    (
        Allow {
            nulls: false,
            duplicates: false,
            empty: true,
        },
        1,
    ),
    (
        Allow {
            nulls: false,
            duplicates: true,
            empty: false,
        },
        3,
    ),
    (
        Allow {
            nulls: true,
            duplicates: false,
            empty: false,
        },
        2,
    ),
    (
        Allow {
            nulls: false,
            duplicates: true,
            empty: true,
        },
        1,
    ),
    (
        Allow {
            nulls: true,
            duplicates: false,
            empty: true,
        },
        1,
    ),
    (
        Allow {
            nulls: true,
            duplicates: true,
            empty: false,
        },
        3,
    ),
    (Allow::ALL, 4),
];

/// Decides whether two queries return the same results on every database
/// of `schema` (as far as generated databases can tell).
pub fn equivalent(left: &str, right: &str, schema: &Schema, opts: &SqlOptions) -> Equivalence {
    decide(left, right, schema, opts, true)
}

/// Differential execution alone, never a proof: how `bench-ast` checks
/// that every pair [`equivalent`] proves also survives the search.
pub fn differential(left: &str, right: &str, schema: &Schema, opts: &SqlOptions) -> Equivalence {
    decide(left, right, schema, opts, false)
}

/// The schema's table and column names, which an alias rename must not
/// capture.
fn reserved(schema: &Schema) -> alias::Reserved {
    alias::Reserved {
        tables: schema
            .tables
            .iter()
            .map(|t| t.name.to_ascii_lowercase())
            .collect(),
        columns: schema
            .tables
            .iter()
            .flat_map(|t| t.columns.iter().map(|c| c.name.to_ascii_lowercase()))
            .collect(),
    }
}

/// The proofs that need no database: identical text, identical canonical
/// text, or the same text once aliases are renamed.
fn syntactic_proof(
    left: &str,
    right: &str,
    schema: &Schema,
    cl: &Result<(String, bool), String>,
    cr: &Result<(String, bool), String>,
) -> Option<Equivalence> {
    if left.trim() == right.trim() && cl.is_ok() {
        return Some(Equivalence::Equivalent {
            method: Method::Identical,
            detail: "the two queries are identical".into(),
        });
    }
    if let (Ok((a, _)), Ok((b, _))) = (cl, cr) {
        if a == b {
            return Some(Equivalence::Equivalent {
                method: Method::Canonical,
                detail: format!("both canonicalize to `{a}`"),
            });
        }
        // The same query up to the names of its aliases.
        let reserved = reserved(schema);
        if let (Some(ra), Some(rb)) = (alias::renamed(a, &reserved), alias::renamed(b, &reserved))
            && ra == rb
        {
            return Some(Equivalence::Equivalent {
                method: Method::Canonical,
                detail: format!("both canonicalize to `{ra}` once their aliases are renamed"),
            });
        }
    }
    None
}

fn decide(left: &str, right: &str, schema: &Schema, opts: &SqlOptions, prove: bool) -> Equivalence {
    let start = Instant::now();
    let cl = canonical(left, &opts.dialect);
    let cr = canonical(right, &opts.dialect);
    if prove && let Some(proved) = syntactic_proof(left, right, schema, &cl, &cr) {
        return proved;
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
    let verdict = run_with(
        conn, left, right, schema, opts, &cl, &cr, ordered, start, prove,
    );
    drop(stop_tx);
    let _ = watchdog.join();
    verdict
}

/// A row filter that runs the table's `CHECK` constraints in SQLite (a
/// check SQLite cannot run is left out; a NULL check passes, as in SQL).
struct Checks {
    stmts: Vec<Option<String>>,
}

impl Checks {
    fn new(schema: &Schema, conn: &Connection) -> Checks {
        let stmts = schema
            .tables
            .iter()
            .map(|t| {
                if t.checks.is_empty() {
                    return None;
                }
                let cols: Vec<String> = t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("?{} AS {}", i + 1, schema::quote(&c.name)))
                    .collect();
                let runnable: Vec<String> = t
                    .checks
                    .iter()
                    .filter(|c| {
                        conn.prepare(&format!("SELECT ({c}) FROM (SELECT {})", cols.join(", ")))
                            .is_ok()
                    })
                    .map(|c| format!("({c}) IS NOT 0"))
                    .collect();
                if runnable.is_empty() {
                    return None;
                }
                Some(format!(
                    "SELECT {} FROM (SELECT {})",
                    runnable.join(" AND "),
                    cols.join(", ")
                ))
            })
            .collect();
        Checks { stmts }
    }
    fn accept(&self, conn: &Connection, table: usize, row: &[SqlVal]) -> bool {
        let Some(Some(sql)) = self.stmts.get(table) else {
            return true;
        };
        let Ok(mut st) = conn.prepare_cached(sql) else {
            return true;
        };
        st.query_row(rusqlite::params_from_iter(row.iter().map(to_sqlite)), |r| {
            r.get::<_, i64>(0)
        })
        .map(|v| v != 0)
        .unwrap_or(false)
    }
}

/// A database that tells the queries apart, with what it needs.
struct Found {
    db: Db,
    classes: Classes,
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
    prove: bool,
) -> Equivalence {
    if let Err(e) =
        functions::register(&conn).and_then(|()| conn.execute_batch(&schema.sqlite_ddl()))
    {
        return Equivalence::Unknown {
            reason: format!("the schema does not load in SQLite: {e}"),
            tried: 0,
        };
    }
    // Text SQLite runs: dates and times as the engine computes them (or
    // `unknown`, naming what is not translated), the engine's arithmetic,
    // then the bag compounds (which need the schema loaded to count a
    // member's columns).
    let runnable = |sql: &str| {
        let sql = sql.trim().trim_end_matches(';');
        let sql = dates::translate(sql, schema, &opts.dialect)?.unwrap_or_else(|| sql.to_string());
        let text = compat::for_engine(&sql, &opts.dialect);
        Ok::<String, String>(bags::rewrite(&text, &conn).unwrap_or(text))
    };
    let (run_left, run_right) = match (runnable(left), runnable(right)) {
        (Ok(l), Ok(r)) => (l, r),
        (l, r) => {
            let (side, e) = match (l, r) {
                (Err(e), _) => ("left", e),
                (_, Err(e)) => ("right", e),
                _ => ("left", String::new()),
            };
            return Equivalence::Unknown {
                reason: format!(
                    "the {side} query is not run; it uses {e}, which SQLite does not compute as other engines do and tribunal does not translate"
                ),
                tried: 0,
            };
        }
    };
    let runner = Runner {
        conn,
        schema,
        left: run_left,
        right: run_right,
        read: tables_read(schema, &[left, right]),
        ordered,
        probes: Vec::new(),
        tolerate: opts.tolerate,
    };
    for (side, sql) in [("left", &runner.left), ("right", &runner.right)] {
        if let Err(e) = runner.conn.prepare(sql) {
            let parse = match (side, cl, cr) {
                ("left", Err(p), _) | ("right", _, Err(p)) => format!(" (sqlparser: {p})"),
                _ => String::new(),
            };
            let original = if side == "left" { left } else { right };
            let constructs = compat::untranslated(original);
            let named = if constructs.is_empty() {
                String::new()
            } else {
                format!(
                    "; it uses {}, which SQLite does not run and tribunal does not translate",
                    constructs.join(", ")
                )
            };
            return Equivalence::Unknown {
                reason: format!("the {side} query does not run in SQLite: {e}{parse}{named}"),
                tried: 0,
            };
        }
    }
    // Both queries run, so neither is invalid: a proof by normal form
    // (which takes both to be valid SQL) may now be tried.
    if prove
        && let (Ok((a, _)), Ok((b, _))) = (cl, cr)
        && !schema.sqlite_ddl().to_ascii_lowercase().contains("collate")
        && let Some(detail) = canon::proof(a, b, &reserved(schema), &opts.dialect)
    {
        return Equivalence::Equivalent {
            method: Method::Canonical,
            detail,
        };
    }
    let mut runner = runner;
    // A probe that SQLite cannot run is left out (no tie is then seen).
    runner.probes = [&runner.left, &runner.right]
        .into_iter()
        .filter_map(|q| ties::probe(q))
        .filter(|p| runner.conn.prepare(&p.keys_sql).is_ok())
        .collect();
    let runner = runner;
    let checks = Checks::new(schema, &runner.conn);
    let pools = Pools::from_queries(&[left, right]);
    let mut rng = Rng::new(opts.seed);
    let mut tried = 0u64;
    let mut found: Option<Found> = None;
    let mut tolerated: Option<Found> = None;
    // Databases showing a tolerated condition (NULLs, duplicates, empty
    // tables) are never counterexamples; they are searched last, only for
    // evidence of a tolerated difference.
    let excluded = Allow::ALL.classes();
    let excluded = Classes::of(
        &excluded
            .iter()
            .filter(|c| opts.tolerate.contains(*c))
            .collect::<Vec<_>>(),
    );
    let mut levels: Vec<(Allow, usize, bool)> = LEVELS
        .iter()
        .map(|(a, w)| (*a, *w, a.classes().iter().all(|c| !excluded.contains(c))))
        .collect();
    // Clean levels first (stable order), then the tolerated ones.
    levels.sort_by_key(|(_, _, clean)| !*clean);
    // The clean levels share the database budget; the tolerated ones get a
    // quarter more, for evidence only.
    let clean_total: usize = levels.iter().filter(|l| l.2).map(|l| l.1).sum();
    let dirty_total: usize = levels.iter().filter(|l| !l.2).map(|l| l.1).sum();
    let cap = opts.max_dbs as u64
        + if dirty_total > 0 {
            opts.max_dbs as u64 / 4
        } else {
            0
        };
    'levels: for (allow, weight, clean) in levels {
        if !clean && (found.is_some() || tolerated.is_some()) {
            break;
        }
        let n = if clean {
            (opts.max_dbs * weight).div_ceil(clean_total.max(1))
        } else {
            (opts.max_dbs / 4 * weight).div_ceil(dirty_total.max(1))
        };
        for i in 0..n {
            if start.elapsed().as_millis() as u64 > opts.budget_ms || tried >= cap {
                break 'levels;
            }
            let max_rows = if i < n / 5 {
                2
            } else if i < n / 2 {
                4
            } else {
                7
            };
            let db = datagen::generate(schema, &pools, &mut rng, max_rows, allow, &mut |t, r| {
                checks.accept(&runner.conn, t, r)
            });
            tried += 1;
            let obs = match runner.differs(&db) {
                Ok(o) => o,
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
            };
            let Some((obs, classes)) = obs else { continue };
            if !clean || runner.agree_tolerated(&obs) {
                // A tolerated difference: kept as evidence.
                if tolerated.is_none() {
                    tolerated = Some(Found { db, classes });
                    if !clean {
                        break 'levels;
                    }
                }
                continue;
            }
            let plain = !classes.iter().any(|c| {
                matches!(
                    c,
                    Class::Ties | Class::ColumnOrder | Class::RowOrder | Class::TypeAffinity
                )
            });
            if found
                .as_ref()
                .is_none_or(|f| classes.len() < f.classes.len())
            {
                found = Some(Found { db, classes });
            }
            if plain {
                break;
            }
        }
        if found.is_some() {
            break;
        }
    }
    let compared = if ordered { "ordered lists" } else { "bags" };
    let (f, is_tolerated) = match (found, tolerated) {
        (Some(f), _) => (f, false),
        (None, Some(t)) => (t, true),
        (None, None) => {
            let why = if tried < opts.max_dbs.min(cap as usize) as u64 {
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
                    "no counterexample in {tried} generated databases{why}, compared as {compared}"
                ),
            };
        }
    };
    let db = minimize(&runner, f, is_tolerated, opts, &start).db;
    let Ok(Some((obs, classes))) = runner.differs(&db) else {
        return Equivalence::Unknown {
            reason: "a counterexample was found but could not be replayed".into(),
            tried,
        };
    };
    let (a, b) = (&obs.left[0], &obs.right[0]);
    let text = format!(
        "on the database {{{}}} the left query returns {} and the right query returns {} (compared as {compared}; needs: {classes})",
        tables_text(&db, schema, &runner.read),
        rows_text(a),
        rows_text(b),
    );
    let evidence = json!({
        "database": db.inserts(schema),
        "tables": tables_json(&db, schema, &runner.read),
        "left_result": a.to_json(),
        "right_result": b.to_json(),
        "ordered": ordered,
        "databases_tried": tried,
        "classes": classes.names(),
    });
    if is_tolerated {
        Equivalence::EquivalentUnderTolerances {
            method: Method::Differential,
            classes,
            counterexample: text,
            evidence,
        }
    } else {
        Equivalence::NotEquivalent {
            method: Method::Differential,
            counterexample: text,
            evidence,
        }
    }
}

/// Minimizes a difference (fewest rows, then fewest non-NULL cells) without
/// adding conditions or changing whether it is tolerated, then drops the
/// conditions it has but does not need ([`Runner::settle`]), and minimizes
/// again.
fn minimize(
    runner: &Runner<'_>,
    f: Found,
    tolerated: bool,
    opts: &SqlOptions,
    start: &Instant,
) -> Found {
    let limit = opts.budget_ms.saturating_mul(2);
    let mut cur = f;
    for _ in 0..3 {
        let classes = cur.classes;
        // A counterexample stays one: it keeps differing under the
        // tolerances and shows no tolerated condition.
        let keep = |db: &Db| match runner.differs(db) {
            Ok(Some((o, c))) => {
                c.subset_of(classes)
                    && (tolerated
                        || (!runner.agree_tolerated(&o)
                            && db
                                .features(runner.schema, &runner.read)
                                .iter()
                                .all(|x| !opts.tolerate.contains(x))))
            }
            _ => false,
        };
        let db = shrink(cur.db, classes, runner.schema, &keep, start, limit);
        let Ok((db, settled)) = runner.settle(db.clone(), classes, &keep) else {
            return Found { db, classes };
        };
        let done = settled == classes;
        cur = Found {
            db,
            classes: settled,
        };
        if done {
            break;
        }
    }
    cur
}

/// The tables of a counterexample, as rows per table (tables the queries
/// read, and any other table with rows).
fn tables_json(db: &Db, schema: &Schema, read: &[bool]) -> Value {
    Value::Array(
        schema
            .tables
            .iter()
            .enumerate()
            .filter(|(ti, t)| !t.internal() && (read[*ti] || !db.tables[*ti].is_empty()))
            .map(|(ti, t)| {
                json!({
                    "table": t.name,
                    "columns": t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                    "rows": db.tables[ti]
                        .iter()
                        .map(|r| Value::Array(r.iter().map(SqlVal::to_json).collect()))
                        .collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn tables_text(db: &Db, schema: &Schema, read: &[bool]) -> String {
    if db.rows() == 0 {
        return "all tables empty".into();
    }
    let parts: Vec<String> = schema
        .tables
        .iter()
        .enumerate()
        .filter(|(ti, t)| !t.internal() && (read[*ti] || !db.tables[*ti].is_empty()))
        .map(|(ti, t)| {
            let cols: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
            let rows = &db.tables[ti];
            if rows.is_empty() {
                return format!("{}: no rows", t.name);
            }
            let rs: Vec<String> = rows
                .iter()
                .map(|r| {
                    let v: Vec<String> = r.iter().map(SqlVal::literal).collect();
                    format!("({})", v.join(", "))
                })
                .collect();
            format!("{}({}): {}", t.name, cols.join(", "), rs.join(", "))
        })
        .collect();
    parts.join("; ")
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

/// Minimizes a counterexample while `keep` holds: fewest rows first, then
/// (when it needs NULLs) fewest non-NULL cells.
fn shrink(
    mut db: Db,
    classes: Classes,
    schema: &Schema,
    keep: &dyn Fn(&Db) -> bool,
    start: &Instant,
    limit_ms: u64,
) -> Db {
    let out_of_time = || start.elapsed().as_millis() as u64 > limit_ms;
    loop {
        let before = db.clone();
        db = shrink_once(db, classes, schema, keep, &out_of_time);
        if db == before || out_of_time() {
            return db;
        }
    }
}

fn shrink_once(
    mut db: Db,
    classes: Classes,
    schema: &Schema,
    keep: &dyn Fn(&Db) -> bool,
    out_of_time: &dyn Fn() -> bool,
) -> Db {
    loop {
        let mut changed = false;
        for ti in 0..db.tables.len() {
            let mut ri = 0;
            while ri < db.tables[ti].len() {
                if out_of_time() {
                    return db;
                }
                let mut cand = db.clone();
                cand.tables[ti].remove(ri);
                if keep(&cand) {
                    db = cand;
                    changed = true;
                } else {
                    ri += 1;
                }
            }
        }
        if !changed {
            break;
        }
    }
    if classes.contains(Class::Nulls) {
        for ti in 0..db.tables.len() {
            let t = &schema.tables[ti];
            for ri in 0..db.tables[ti].len() {
                for ci in 0..t.columns.len() {
                    if out_of_time() {
                        return db;
                    }
                    if t.columns[ci].not_null
                        || t.primary_key.contains(&ci)
                        || db.tables[ti][ri][ci] == SqlVal::Null
                    {
                        continue;
                    }
                    let mut cand = db.clone();
                    cand.tables[ti][ri][ci] = SqlVal::Null;
                    if keep(&cand) {
                        db = cand;
                    }
                }
            }
        }
    }
    db
}
