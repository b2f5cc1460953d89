//! Database schemas for SQL equivalence: parsed from DDL or from a
//! Spider-style `tables.json` entry, then created in SQLite.

use serde_json::Value;
use sqlparser::ast::{ColumnOption, DataType, Expr, Statement, TableConstraint};
use sqlparser::dialect::{GenericDialect, MySqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

/// The value class of a column, which decides the generated values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Integers.
    Int,
    /// Reals.
    Real,
    /// Text.
    Text,
    /// Dates, held as ISO text `YYYY-MM-DD`.
    Date,
    /// Dates with a time of day (`DATETIME`, `TIMESTAMP`), held as ISO
    /// text `YYYY-MM-DD HH:MM:SS`.
    DateTime,
}

impl ColType {
    fn sqlite(self) -> &'static str {
        match self {
            ColType::Int => "INTEGER",
            ColType::Real => "REAL",
            ColType::Text | ColType::Date | ColType::DateTime => "TEXT",
        }
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Name as declared.
    pub name: String,
    /// Value class.
    pub ty: ColType,
    /// `NOT NULL` (primary-key columns are never null).
    pub not_null: bool,
    /// Referenced `(table index, column index)`, if a foreign key.
    pub references: Option<(usize, usize)>,
}

/// One table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Name as declared.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Primary-key column indices (empty if none).
    pub primary_key: Vec<usize>,
    /// `UNIQUE` column sets (each a list of column indices).
    pub unique: Vec<Vec<usize>>,
    /// `CHECK` constraint expressions, as SQL text.
    pub checks: Vec<String>,
}

/// A database schema.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schema {
    /// Tables in declaration order.
    pub tables: Vec<Table>,
}

/// A schema that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    /// The DDL does not parse.
    #[error("schema DDL does not parse: {0}")]
    Ddl(String),
    /// `tables.json` is malformed or lacks the database.
    #[error("tables.json: {0}")]
    Spider(String),
    /// A file could not be read.
    #[error("cannot read schema file `{path}`: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
}

impl SchemaError {
    /// The message, with a file named as the suite wrote it (relative to
    /// the suite file), not where this machine keeps it.
    pub fn into_message(self, spec: &str) -> String {
        match self {
            SchemaError::Io { message, .. } => format!(
                "cannot read schema file `{}`: {message}",
                spec.rsplit_once('#').map_or(spec, |(f, _)| f)
            ),
            other => other.to_string(),
        }
    }
}

fn col_type(dt: &DataType) -> ColType {
    let s = dt.to_string().to_ascii_lowercase();
    if s.starts_with("timestamp") || s.starts_with("datetime") {
        return ColType::DateTime;
    }
    if s == "date" {
        return ColType::Date;
    }
    if s.contains("int") || s.starts_with("bool") || s.starts_with("bit") {
        ColType::Int
    } else if s.contains("real")
        || s.contains("floa")
        || s.contains("doub")
        || s.contains("dec")
        || s.contains("num")
    {
        ColType::Real
    } else {
        ColType::Text
    }
}

fn strip(name: &str) -> String {
    name.trim_matches(|c| c == '`' || c == '"' || c == '[' || c == ']')
        .to_string()
}

fn last_ident(name: &sqlparser::ast::ObjectName) -> String {
    name.0
        .last()
        .map(|p| strip(&p.to_string()))
        .unwrap_or_default()
}

fn expr_name(e: &Expr) -> String {
    strip(&e.to_string())
}

impl Schema {
    /// Parses `CREATE TABLE` statements (other statements are ignored).
    pub fn from_ddl(ddl: &str) -> Result<Schema, SchemaError> {
        let stmts = Parser::parse_sql(&GenericDialect {}, ddl)
            .or_else(|_| Parser::parse_sql(&MySqlDialect {}, ddl))
            .or_else(|_| Parser::parse_sql(&SQLiteDialect {}, ddl))
            .map_err(|e| SchemaError::Ddl(e.to_string()))?;
        // Pass 1: tables and columns; foreign keys kept by name.
        let mut tables: Vec<Table> = Vec::new();
        let mut fks: Vec<(usize, String, String, String)> = Vec::new();
        for s in &stmts {
            let Statement::CreateTable(ct) = s else {
                continue;
            };
            let ti = tables.len();
            let mut t = Table {
                name: last_ident(&ct.name),
                columns: Vec::new(),
                primary_key: Vec::new(),
                unique: Vec::new(),
                checks: Vec::new(),
            };
            for (ci, c) in ct.columns.iter().enumerate() {
                let mut col = Column {
                    name: c.name.value.clone(),
                    ty: col_type(&c.data_type),
                    not_null: false,
                    references: None,
                };
                for o in &c.options {
                    match &o.option {
                        ColumnOption::NotNull => col.not_null = true,
                        ColumnOption::PrimaryKey(_) => {
                            col.not_null = true;
                            t.primary_key.push(ci);
                        }
                        ColumnOption::Unique(_) => t.unique.push(vec![ci]),
                        ColumnOption::Check(ck) => t.checks.push(ck.expr.to_string()),
                        ColumnOption::ForeignKey(fk) => {
                            if let Some(rc) = fk.referred_columns.first() {
                                fks.push((
                                    ti,
                                    col.name.clone(),
                                    last_ident(&fk.foreign_table),
                                    rc.value.clone(),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                t.columns.push(col);
            }
            for c in &ct.constraints {
                match c {
                    TableConstraint::PrimaryKey(pk) => {
                        for ic in &pk.columns {
                            let n = expr_name(&ic.column.expr);
                            if let Some(i) = t.col(&n) {
                                t.primary_key.push(i);
                                t.columns[i].not_null = true;
                            }
                        }
                    }
                    TableConstraint::Unique(u) => {
                        let cols: Vec<usize> = u
                            .columns
                            .iter()
                            .filter_map(|ic| t.col(&expr_name(&ic.column.expr)))
                            .collect();
                        if !cols.is_empty() {
                            t.unique.push(cols);
                        }
                    }
                    TableConstraint::Check(ck) => t.checks.push(ck.expr.to_string()),
                    TableConstraint::ForeignKey(fk) => {
                        for (a, b) in fk.columns.iter().zip(&fk.referred_columns) {
                            fks.push((
                                ti,
                                a.value.clone(),
                                last_ident(&fk.foreign_table),
                                b.value.clone(),
                            ));
                        }
                    }
                    _ => {}
                }
            }
            t.primary_key.dedup();
            if t.unique.contains(&t.primary_key) {
                t.unique.retain(|u| *u != t.primary_key);
            }
            tables.push(t);
        }
        if tables.is_empty() {
            return Err(SchemaError::Ddl("no CREATE TABLE statement found".into()));
        }
        let mut schema = Schema { tables };
        for (ti, col, ft, fc) in fks {
            if schema.tables[ti]
                .name
                .to_ascii_lowercase()
                .starts_with("sqlite_")
            {
                continue;
            }
            schema.link(ti, &col, &ft, &fc);
        }
        Ok(schema)
    }

    fn link(&mut self, ti: usize, col: &str, ft: &str, fc: &str) {
        let Some(pt) = self.table(ft) else { return };
        let Some(pc) = self.tables[pt].col(fc) else {
            return;
        };
        if let Some(ci) = self.tables[ti].col(col)
            && (pt, pc) != (ti, ci)
        {
            self.tables[ti].columns[ci].references = Some((pt, pc));
        }
    }

    /// Index of a table by case-insensitive name.
    pub fn table(&self, name: &str) -> Option<usize> {
        self.tables
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// Reads the entry `db_id` of a Spider-style `tables.json` array.
    pub fn from_spider(tables_json: &Value, db_id: &str) -> Result<Schema, SchemaError> {
        let arr = tables_json
            .as_array()
            .ok_or_else(|| SchemaError::Spider("expected a JSON array of databases".into()))?;
        let db = arr
            .iter()
            .find(|d| d.get("db_id").and_then(Value::as_str) == Some(db_id))
            .ok_or_else(|| SchemaError::Spider(format!("no database with db_id `{db_id}`")))?;
        Self::from_spider_entry(db)
    }

    /// Reads one Spider database entry.
    pub fn from_spider_entry(db: &Value) -> Result<Schema, SchemaError> {
        let bad = |m: &str| SchemaError::Spider(m.to_string());
        let names = db
            .get("table_names_original")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing table_names_original"))?;
        let cols = db
            .get("column_names_original")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing column_names_original"))?;
        let types = db
            .get("column_types")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("missing column_types"))?;
        let mut tables: Vec<Table> = names
            .iter()
            .map(|n| Table {
                name: n.as_str().unwrap_or_default().to_string(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                unique: Vec::new(),
                checks: Vec::new(),
            })
            .collect();
        // Global column index -> (table, column).
        let mut place: Vec<Option<(usize, usize)>> = Vec::new();
        for (i, c) in cols.iter().enumerate() {
            let ti = c.get(0).and_then(Value::as_i64).unwrap_or(-1);
            let name = c.get(1).and_then(Value::as_str).unwrap_or_default();
            if ti < 0 || ti as usize >= tables.len() {
                place.push(None);
                continue;
            }
            let ty = match types.get(i).and_then(Value::as_str).unwrap_or("text") {
                "number" => ColType::Real,
                "boolean" => ColType::Int,
                _ => ColType::Text,
            };
            let t = &mut tables[ti as usize];
            place.push(Some((ti as usize, t.columns.len())));
            t.columns.push(Column {
                name: name.to_string(),
                ty,
                not_null: false,
                references: None,
            });
        }
        let mut flat_pk: Vec<i64> = Vec::new();
        for p in db
            .get("primary_keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match p {
                Value::Array(a) => flat_pk.extend(a.iter().filter_map(Value::as_i64)),
                other => flat_pk.extend(other.as_i64()),
            }
        }
        for g in flat_pk {
            if let Some(Some((t, c))) = place.get(g as usize) {
                tables[*t].primary_key.push(*c);
                let col = &mut tables[*t].columns[*c];
                col.not_null = true;
                // Spider declares every numeric column `number`; its keys
                // are integer ids (no `2.5` in an id).
                if col.ty == ColType::Real {
                    col.ty = ColType::Int;
                }
            }
        }
        let mut schema = Schema { tables };
        for fk in db
            .get("foreign_keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let a = fk.get(0).and_then(Value::as_i64).unwrap_or(-1);
            let b = fk.get(1).and_then(Value::as_i64).unwrap_or(-1);
            if let (Some(Some((ct, cc))), Some(Some((pt, pc)))) =
                (place.get(a as usize), place.get(b as usize))
                && (ct, cc) != (pt, pc)
            {
                // Spider stores numbers as "number": keep key pairs comparable.
                let ty = schema.tables[*pt].columns[*pc].ty;
                schema.tables[*ct].columns[*cc].ty = ty;
                schema.tables[*ct].columns[*cc].references = Some((*pt, *pc));
            }
        }
        Ok(schema)
    }

    /// `CREATE TABLE` statements for SQLite (types only: the generator
    /// itself keeps keys unique, references valid and NOT NULL honoured).
    pub fn sqlite_ddl(&self) -> String {
        let mut out = String::new();
        for t in self.tables.iter().filter(|t| !t.internal()) {
            let cols: Vec<String> = t
                .columns
                .iter()
                .map(|c| format!("{} {}", quote(&c.name), c.ty.sqlite()))
                .collect();
            out.push_str(&format!(
                "CREATE TABLE {} ({});\n",
                quote(&t.name),
                cols.join(", ")
            ));
        }
        out
    }

    /// Tables ordered so that referenced tables come first (cycles broken
    /// in declaration order).
    pub fn fill_order(&self) -> Vec<usize> {
        let n = self.tables.len();
        let mut done = vec![false; n];
        let mut order = Vec::with_capacity(n);
        while order.len() < n {
            let mut progressed = false;
            for i in 0..n {
                if done[i] {
                    continue;
                }
                let ready = self.tables[i]
                    .columns
                    .iter()
                    .all(|c| c.references.is_none_or(|(p, _)| p == i || done[p]));
                if ready {
                    done[i] = true;
                    order.push(i);
                    progressed = true;
                }
            }
            if !progressed && let Some(i) = (0..n).find(|&i| !done[i]) {
                done[i] = true;
                order.push(i);
            }
        }
        order
    }
}

impl Table {
    /// SQLite's own tables (`sqlite_sequence`, ...): never created or filled.
    pub fn internal(&self) -> bool {
        self.name.to_ascii_lowercase().starts_with("sqlite_")
    }

    /// Whether column `ci` is part of a key (primary or unique): its
    /// repeated values are never "duplicates".
    pub fn is_key(&self, ci: usize) -> bool {
        self.primary_key.contains(&ci) || self.unique.iter().any(|u| u.contains(&ci))
    }

    /// Index of a column by case-insensitive name.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// Quotes an identifier for SQLite.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
