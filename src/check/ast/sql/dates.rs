//! Dates and times for SQLite: typed literals, casts, `INTERVAL`
//! arithmetic, `DATE_ADD`/`DATE_SUB` (and the `DATETIME_*`/`TIMESTAMP_*`
//! forms), `DATE_TRUNC`, `TS_OR_DS_TO_DATE` and `EXTRACT`, rewritten on
//! sqlparser's AST into SQLite's `date()`, `datetime()` and `strftime()`
//! with the meaning other engines give them.
//!
//! A `DATE` value runs as ISO text `YYYY-MM-DD`, a `DATETIME`/`TIMESTAMP`
//! as `YYYY-MM-DD HH:MM:SS` (what generated date columns hold, see
//! [`super::datagen`]); both sort as text in time order. A comparison of a
//! `DATE` with a `TIMESTAMP` compares the date's midnight
//! (`datetime(d)`), as engines do; a string literal compared with a date
//! is read as one (and must be a valid date).
//!
//! Month and year arithmetic clamps at the month's end (`2023-01-31 +
//! 1 month` is `2023-02-28`, as in PostgreSQL, MySQL, BigQuery and
//! sqlglot), with SQLite's `'floor'` modifier; SQLite's own `+1 month`
//! would give `2023-03-03`.
//!
//! What differs between engines depends on `sql_dialect`:
//! - `DATE + n`, `DATE - n` (days) and `DATE - DATE` (days) run only for
//!   `postgres`/`redshift`/`duckdb`; MySQL reads `DATE + n` as a number.
//! - `DATE ± INTERVAL` is a `TIMESTAMP` in PostgreSQL/DuckDB/BigQuery and a
//!   `DATE` (for units of a day or more) elsewhere; `DATE_TRUNC(unit,
//!   DATE)` a `TIMESTAMP` in PostgreSQL/Redshift/DuckDB and a `DATE`
//!   elsewhere.
//! - `DATE_ADD(d, n, 'UNIT')` and `DATE_ADD(d, n)` (days) are sqlglot's
//!   and Spark's forms, run for `generic`, `spark`, `databricks`, `hive`;
//!   `DATE_ADD(d, INTERVAL n unit)` runs everywhere.
//!
//! Anything else that touches a date (a date in `||`, `LIKE`, `*`, a
//! function tribunal does not know, an `INTERVAL` outside date arithmetic,
//! a `CAST` of a number or a text column to `DATE`, `TIME` values, time
//! zones, fractional seconds) is not translated: the comparison ends
//! `unknown`, naming the construct. The one exception: under
//! `sql_dialect: sqlite`, a query whose only dates are date columns runs as
//! written, since SQLite's own functions on the ISO text are what SQLite
//! computes.

use std::collections::BTreeMap;

use sqlparser::ast::{
    BinaryOperator, DataType, DateTimeField, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, Ident, InTarget, JoinConstraint, JoinOperator, OrderByKind, Query, Select,
    SelectItem, SetExpr, Statement, TableFactor, UnaryOperator, Value,
};
use sqlparser::dialect::{Dialect, GenericDialect, dialect_from_str};
use sqlparser::parser::Parser;

use super::schema::{ColType, Schema};

/// A date or a date with a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `DATE`: `YYYY-MM-DD`.
    Date,
    /// `DATETIME`/`TIMESTAMP`: `YYYY-MM-DD HH:MM:SS`.
    DateTime,
}

impl Kind {
    /// The column type holding this kind.
    pub fn col_type(self) -> ColType {
        match self {
            Kind::Date => ColType::Date,
            Kind::DateTime => ColType::DateTime,
        }
    }
    /// The SQL type name: `DATE` or `TIMESTAMP`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Date => "DATE",
            Kind::DateTime => "TIMESTAMP",
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `z` days after 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days in month `m` of year `y`.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A point in time to the second: days since 1970-01-01 and seconds into
/// the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// Days since 1970-01-01.
    pub days: i64,
    /// Seconds since midnight.
    pub secs: u32,
}

impl Stamp {
    /// Reads `YYYY-MM-DD`, optionally followed by ` HH:MM[:SS[.000]]` (or
    /// `T` for the space); `None` for anything else, an impossible date
    /// (`2023-02-30`), a year outside 1..9999 or nonzero fractional
    /// seconds. The flag tells whether a time of day was written.
    pub fn parse(s: &str) -> Option<(Stamp, bool)> {
        let s = s.trim();
        let (date, time) = match s.find([' ', 'T']) {
            Some(i) => (&s[..i], Some(s[i + 1..].trim())),
            None => (s, None),
        };
        let mut parts = date.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || y.len() != 4
            || !(1..=2).contains(&m.len())
            || !(1..=2).contains(&d.len())
        {
            return None;
        }
        let num = |t: &str| -> Option<u32> {
            t.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| t.parse().ok())
                .flatten()
        };
        let (y, m, d) = (i64::from(num(y)?), num(m)?, num(d)?);
        if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        let mut secs = 0;
        if let Some(t) = time {
            let (hms, frac) = match t.split_once('.') {
                Some((a, f)) => (a, Some(f)),
                None => (t, None),
            };
            if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b == b'0')) {
                return None;
            }
            let mut it = hms.split(':');
            let h = num(it.next()?)?;
            let mi = num(it.next()?)?;
            let se = match it.next() {
                Some(x) => num(x)?,
                None => 0,
            };
            if it.next().is_some() || h > 23 || mi > 59 || se > 59 {
                return None;
            }
            secs = h * 3600 + mi * 60 + se;
        }
        Some((
            Stamp {
                days: days_from_civil(y, m, d),
                secs,
            },
            time.is_some(),
        ))
    }
    /// `YYYY-MM-DD`.
    pub fn date_text(&self) -> String {
        let (y, m, d) = civil_from_days(self.days);
        format!("{y:04}-{m:02}-{d:02}")
    }
    /// `YYYY-MM-DD HH:MM:SS`.
    pub fn datetime_text(&self) -> String {
        format!(
            "{} {:02}:{:02}:{:02}",
            self.date_text(),
            self.secs / 3600,
            self.secs / 60 % 60,
            self.secs % 60
        )
    }
    /// The text of this point as a value of `kind`.
    pub fn text(&self, kind: Kind) -> String {
        match kind {
            Kind::Date => self.date_text(),
            Kind::DateTime => self.datetime_text(),
        }
    }
}

/// Units of date arithmetic and truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl Unit {
    fn parse(s: &str) -> Option<Unit> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "second" | "seconds" => Unit::Second,
            "minute" | "minutes" => Unit::Minute,
            "hour" | "hours" => Unit::Hour,
            "day" | "days" => Unit::Day,
            "week" | "weeks" => Unit::Week,
            "month" | "months" => Unit::Month,
            "quarter" | "quarters" => Unit::Quarter,
            "year" | "years" => Unit::Year,
            _ => return None,
        })
    }
    fn field(f: &DateTimeField) -> Option<Unit> {
        Some(match f {
            DateTimeField::Second | DateTimeField::Seconds => Unit::Second,
            DateTimeField::Minute | DateTimeField::Minutes => Unit::Minute,
            DateTimeField::Hour | DateTimeField::Hours => Unit::Hour,
            DateTimeField::Day | DateTimeField::Days => Unit::Day,
            DateTimeField::Week(None) | DateTimeField::Weeks => Unit::Week,
            DateTimeField::Month | DateTimeField::Months => Unit::Month,
            DateTimeField::Quarter => Unit::Quarter,
            DateTimeField::Year | DateTimeField::Years => Unit::Year,
            _ => return None,
        })
    }
    fn of_time(self) -> bool {
        matches!(self, Unit::Second | Unit::Minute | Unit::Hour)
    }
    /// SQLite's modifier word and how many of it one unit is.
    fn modifier(self) -> (&'static str, i64) {
        match self {
            Unit::Second => ("seconds", 1),
            Unit::Minute => ("minutes", 1),
            Unit::Hour => ("hours", 1),
            Unit::Day => ("days", 1),
            Unit::Week => ("days", 7),
            Unit::Month => ("months", 1),
            Unit::Quarter => ("months", 3),
            Unit::Year => ("months", 12),
        }
    }
}

/// How the declared engine types date arithmetic (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
struct Family {
    /// `DATE + n` and `DATE - n` are days, `DATE - DATE` a number of days.
    int_days: bool,
    /// `DATE ± INTERVAL` is a timestamp.
    interval_timestamp: bool,
    /// `DATE_TRUNC(unit, DATE)` is a timestamp.
    trunc_timestamp: bool,
    /// `DATE_ADD(d, n, 'UNIT')` / `DATE_ADD(d, n)` (sqlglot, Spark).
    numeric_date_add: bool,
}

fn family(dialect: &str) -> Family {
    match dialect.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "redshift" => Family {
            int_days: true,
            interval_timestamp: true,
            trunc_timestamp: true,
            numeric_date_add: false,
        },
        "duckdb" => Family {
            int_days: true,
            interval_timestamp: true,
            trunc_timestamp: true,
            numeric_date_add: false,
        },
        "bigquery" => Family {
            interval_timestamp: true,
            ..Family::default()
        },
        "" | "generic" | "ansi" | "spark" | "databricks" | "hive" => Family {
            numeric_date_add: true,
            ..Family::default()
        },
        _ => Family::default(),
    }
}

/// What an amount of an `INTERVAL` is.
#[derive(Debug, Clone)]
enum Amount {
    Lit(i64),
    /// SQL text of an integer expression.
    Expr(String),
}

/// The type of an expression, as far as dates are concerned.
#[derive(Debug, Clone)]
enum Ty {
    Kind(Kind),
    Interval(Unit, Amount),
    /// A number (`int`: an integer), possibly a bare column.
    Num {
        int: bool,
        col: Option<String>,
    },
    /// Text; `lit` when a string literal.
    Text(Option<String>),
    Null,
    Other,
}

impl Ty {
    fn kind(&self) -> Option<Kind> {
        match self {
            Ty::Kind(k) => Some(*k),
            _ => None,
        }
    }
    fn describe(&self) -> &'static str {
        match self {
            Ty::Kind(Kind::Date) => "a DATE",
            Ty::Kind(Kind::DateTime) => "a TIMESTAMP",
            Ty::Interval(..) => "an INTERVAL",
            Ty::Num { .. } => "a number",
            Ty::Text(Some(_)) => "a string literal",
            Ty::Text(None) => "a text value",
            Ty::Null => "NULL",
            Ty::Other => "a value",
        }
    }
}

/// Functions that take or make dates (lowercase).
const FUNCS: &[&str] = &[
    "extract",
    "date_trunc",
    "datetrunc",
    "timestamp_trunc",
    "datetime_trunc",
    "date_add",
    "date_sub",
    "datetime_add",
    "datetime_sub",
    "timestamp_add",
    "timestamp_sub",
    "ts_or_ds_to_date",
];

/// Type names of date values (lowercase).
const TYPES: &[&str] = &[
    "date",
    "datetime",
    "datetime2",
    "timestamp",
    "timestamptz",
    "time",
    "interval",
];

/// The lowercase words of `sql` outside string literals, each with the
/// next non-blank character after it and the word before it (`::` after
/// a PostgreSQL cast).
fn words(sql: &str) -> Vec<(String, char, String)> {
    let mut out: Vec<(String, char, String)> = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut k = 0;
    let mut quote = false;
    let mut prev = String::new();
    while k < chars.len() {
        let c = chars[k];
        if c == '\'' {
            quote = !quote;
            k += 1;
            continue;
        }
        if !quote && (c.is_alphanumeric() || c == '_') {
            let start = k;
            while k < chars.len() && (chars[k].is_alphanumeric() || chars[k] == '_') {
                k += 1;
            }
            let w = chars[start..k]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            let next = chars[k..]
                .iter()
                .copied()
                .find(|c| !c.is_whitespace())
                .unwrap_or(' ');
            let before = if start >= 2 && chars[start - 1] == ':' && chars[start - 2] == ':' {
                "::".to_string()
            } else {
                prev.clone()
            };
            out.push((w.clone(), next, before));
            prev = w;
            continue;
        }
        k += 1;
    }
    out
}

/// Whether `sql` writes a date construct: a typed literal (`DATE '…'`), an
/// `INTERVAL`, a cast to a date type (`AS DATE)`, `AS TIMESTAMP(0))`, not
/// an alias named `date`), or a call of a date function.
fn explicit(sql: &str) -> bool {
    words(sql).iter().any(|(w, next, prev)| {
        let w = w.as_str();
        (FUNCS.contains(&w) && *next == '(')
            || (TYPES.contains(&w)
                && (*next == '\'' || prev == "::" || (prev == "as" && matches!(*next, ')' | '('))))
            || (w == "interval" && (next.is_alphanumeric() || *next == '('))
    })
}

fn raw(text: String) -> Expr {
    Expr::Identifier(Ident::new(text))
}

fn lit(text: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(text.to_string()))
}

fn kind_of_type(dt: &DataType) -> Result<Option<Kind>, String> {
    let s = dt.to_string().to_ascii_lowercase();
    if s == "date" {
        return Ok(Some(Kind::Date));
    }
    if s.starts_with("timestamp") || s.starts_with("datetime") {
        if s.contains("zone") || s.contains("tz") {
            return Err(format!("{} (time zones)", dt));
        }
        return Ok(Some(Kind::DateTime));
    }
    if s.starts_with("time") {
        return Err(format!("{dt} (times of day)"));
    }
    Ok(None)
}

fn num_type(dt: &DataType) -> Ty {
    let s = dt.to_string().to_ascii_lowercase();
    if s.contains("int") {
        Ty::Num {
            int: true,
            col: None,
        }
    } else if s.contains("real")
        || s.contains("floa")
        || s.contains("doub")
        || s.contains("dec")
        || s.contains("num")
    {
        Ty::Num {
            int: false,
            col: None,
        }
    } else if s.contains("char") || s.contains("text") || s.contains("string") {
        Ty::Text(None)
    } else {
        Ty::Other
    }
}

fn upper_name(f: &sqlparser::ast::Function) -> String {
    f.name
        .0
        .last()
        .map(|p| p.to_string().to_ascii_uppercase())
        .unwrap_or_default()
}

/// The unnamed argument expressions of a call, `None` if it has others.
fn plain_args(f: &mut sqlparser::ast::Function) -> Option<Vec<&mut Expr>> {
    if matches!(f.args, FunctionArguments::None) {
        return Some(Vec::new());
    }
    let FunctionArguments::List(list) = &mut f.args else {
        return None;
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    list.args
        .iter_mut()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

/// A unit written as a string literal or a bare word.
fn unit_arg(e: &Expr) -> Option<Unit> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Unit::parse(s),
            _ => None,
        },
        Expr::Identifier(i) if i.quote_style.is_none() => Unit::parse(&i.value),
        _ => None,
    }
}

/// The translation state of one query.
struct Tr<'a> {
    fam: Family,
    /// Column name (lowercase) to its type, `None` when tables disagree.
    cols: &'a BTreeMap<String, Option<ColType>>,
    /// Columns found used as dates (inference only).
    infer: Option<BTreeMap<String, Kind>>,
    changed: bool,
}

type Res<T> = Result<T, String>;

impl Tr<'_> {
    fn column(&self, name: &str) -> Ty {
        let l = name.to_ascii_lowercase();
        if let Some(k) = self.infer.as_ref().and_then(|m| m.get(&l)) {
            return Ty::Kind(*k);
        }
        match self.cols.get(&l) {
            Some(Some(ColType::Date)) => Ty::Kind(Kind::Date),
            Some(Some(ColType::DateTime)) => Ty::Kind(Kind::DateTime),
            Some(Some(ColType::Int)) => Ty::Num {
                int: true,
                col: Some(l),
            },
            Some(Some(ColType::Real)) => Ty::Num {
                int: false,
                col: Some(l),
            },
            Some(Some(ColType::Text)) => Ty::Text(None),
            _ => Ty::Other,
        }
    }

    /// In inference, a bare column where a date of `kind` is expected
    /// becomes one; `true` when `ty` was such a column.
    fn adopt(&mut self, ty: &Ty, kind: Kind) -> bool {
        if let (Some(m), Ty::Num { col: Some(c), .. }) = (self.infer.as_mut(), ty) {
            let k = m.entry(c.clone()).or_insert(kind);
            *k = (*k).max(kind);
            return true;
        }
        false
    }

    /// `ty` as a date of `kind`, or an error naming what it is.
    fn want(&mut self, ty: &Ty, kind: Kind, what: &str) -> Res<Kind> {
        match ty {
            Ty::Kind(k) => Ok(*k),
            _ if self.adopt(ty, kind) => Ok(kind),
            _ => Err(format!("{what} of {}", ty.describe())),
        }
    }

    /// Brings `e` (of type `ty`) to the representation of `kind`.
    fn coerce(&mut self, e: &mut Expr, ty: &Ty, kind: Kind) -> Res<()> {
        match ty {
            Ty::Kind(Kind::Date) if kind == Kind::DateTime => {
                *e = raw(format!("datetime({e})"));
                self.changed = true;
            }
            Ty::Kind(_) | Ty::Null => {}
            Ty::Text(Some(s)) => {
                let Some((st, has_time)) = Stamp::parse(s) else {
                    return Err(format!(
                        "the string '{s}' compared with a {}, which is not a valid date",
                        kind.name()
                    ));
                };
                if kind == Kind::Date && has_time && st.secs != 0 {
                    return Err(format!(
                        "the string '{s}' (a time of day) compared with a DATE (engines disagree)"
                    ));
                }
                *e = lit(&st.text(kind));
                self.changed = true;
            }
            other => {
                if !self.adopt(other, kind) {
                    return Err(format!(
                        "a {} compared with {}",
                        kind.name(),
                        other.describe()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Brings several expressions compared with each other to one
    /// representation (the latest kind among them); the kind, if any.
    fn unify(&mut self, items: Vec<(&mut Expr, Ty)>) -> Res<Option<Kind>> {
        let kind = items.iter().filter_map(|(_, t)| t.kind()).max();
        if items.iter().any(|(_, t)| matches!(t, Ty::Interval(..))) {
            return Err("an INTERVAL outside date arithmetic".into());
        }
        let Some(kind) = kind else {
            // In inference, a bare column compared with a string that reads
            // as a date is used as one.
            let lits = items.iter().filter_map(|(_, t)| match t {
                Ty::Text(Some(s)) => {
                    Stamp::parse(s).map(|(_, time)| if time { Kind::DateTime } else { Kind::Date })
                }
                _ => None,
            });
            if self.infer.is_some()
                && let Some(k) = lits.max()
            {
                for (_, t) in &items {
                    self.adopt(t, k);
                }
            }
            return Ok(None);
        };
        for (e, t) in items {
            self.coerce(e, &t, kind)?;
        }
        Ok(Some(kind))
    }

    fn no_dates(&self, tys: &[&Ty], what: &str) -> Res<()> {
        for t in tys {
            if matches!(t, Ty::Kind(_) | Ty::Interval(..)) {
                return Err(format!("{what} of {}", t.describe()));
            }
        }
        Ok(())
    }

    /// An expression whose value is output, grouped or ordered by.
    fn value(&mut self, e: &mut Expr) -> Res<Ty> {
        let t = self.expr(e)?;
        if matches!(t, Ty::Interval(..)) {
            return Err("an INTERVAL as a value".into());
        }
        Ok(t)
    }

    /// A condition (`WHERE`, `HAVING`, `ON`, `AND`, …).
    fn condition(&mut self, e: &mut Expr) -> Res<()> {
        let t = self.expr(e)?;
        match t {
            Ty::Kind(_) | Ty::Interval(..) => Err(format!("{} as a truth value", t.describe())),
            _ => Ok(()),
        }
    }

    fn query(&mut self, q: &mut Query) -> Res<()> {
        if let Some(with) = q.with.as_mut() {
            for cte in with.cte_tables.iter_mut() {
                self.query(&mut cte.query)?;
            }
        }
        self.set_expr(&mut q.body)?;
        if let Some(ob) = q.order_by.as_mut()
            && let OrderByKind::Expressions(es) = &mut ob.kind
        {
            for o in es.iter_mut() {
                self.value(&mut o.expr)?;
            }
        }
        Ok(())
    }

    fn set_expr(&mut self, s: &mut SetExpr) -> Res<()> {
        match s {
            SetExpr::Select(sel) => self.select(sel),
            SetExpr::Query(q) => self.query(q),
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left)?;
                self.set_expr(right)
            }
            SetExpr::Values(v) => {
                for row in v.rows.iter_mut() {
                    for e in row.iter_mut() {
                        self.value(e)?;
                    }
                }
                Ok(())
            }
            other => self.untouched(&other.to_string()),
        }
    }

    fn untouched(&self, text: &str) -> Res<()> {
        if explicit(text) {
            Err(format!("`{}`", short(text)))
        } else {
            Ok(())
        }
    }

    fn factor(&mut self, f: &mut TableFactor) -> Res<()> {
        match f {
            TableFactor::Table { .. } => Ok(()),
            TableFactor::Derived { subquery, .. } => self.query(subquery),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.factor(&mut table_with_joins.relation)?;
                for j in table_with_joins.joins.iter_mut() {
                    self.join(&mut j.relation, &mut j.join_operator)?;
                }
                Ok(())
            }
            other => self.untouched(&other.to_string()),
        }
    }

    fn join(&mut self, rel: &mut TableFactor, op: &mut JoinOperator) -> Res<()> {
        self.factor(rel)?;
        let c = match super::join_constraint_mut(op) {
            Some(c) => c,
            None => return self.untouched(&other_join_text(op)),
        };
        if let JoinConstraint::On(e) = c {
            self.condition(e)?;
        }
        Ok(())
    }

    fn select(&mut self, s: &mut Select) -> Res<()> {
        for item in s.projection.iter_mut() {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.value(e)?;
                }
                _ => {}
            }
        }
        for t in s.from.iter_mut() {
            self.factor(&mut t.relation)?;
            for j in t.joins.iter_mut() {
                self.join(&mut j.relation, &mut j.join_operator)?;
            }
        }
        for e in [&mut s.selection, &mut s.having, &mut s.qualify]
            .into_iter()
            .flatten()
        {
            self.condition(e)?;
        }
        if let GroupByExpr::Expressions(es, _) = &mut s.group_by {
            for e in es.iter_mut() {
                self.value(e)?;
            }
        }
        let rest = format!(
            "{} {} {}",
            s.distinct
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            s.named_window
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            s.prewhere
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        );
        self.untouched(&rest)
    }

    fn expr(&mut self, e: &mut Expr) -> Res<Ty> {
        match e {
            Expr::Identifier(i) => Ok(self.column(&i.value)),
            Expr::CompoundIdentifier(p) => {
                Ok(p.last().map(|i| self.column(&i.value)).unwrap_or(Ty::Other))
            }
            Expr::Value(v) => Ok(match &v.value {
                Value::Number(n, _) => Ty::Num {
                    int: n.parse::<i64>().is_ok(),
                    col: None,
                },
                Value::SingleQuotedString(s) => Ty::Text(Some(s.clone())),
                Value::Null => Ty::Null,
                _ => Ty::Other,
            }),
            Expr::Nested(inner) => self.expr(inner),
            Expr::TypedString(ts) => {
                let Some(kind) = kind_of_type(&ts.data_type)? else {
                    return self.untouched(&ts.to_string()).map(|()| Ty::Other);
                };
                let text = match &ts.value.value {
                    Value::SingleQuotedString(s) => s.clone(),
                    _ => return Err(format!("`{ts}`")),
                };
                let st = literal(&text, kind)?;
                *e = lit(&st.text(kind));
                self.changed = true;
                Ok(Ty::Kind(kind))
            }
            Expr::Cast {
                expr,
                data_type,
                format,
                ..
            } => {
                let target = kind_of_type(data_type)?;
                let inner = self.expr(expr)?;
                let Some(kind) = target else {
                    if matches!(inner, Ty::Kind(_) | Ty::Interval(..)) {
                        return Err(format!("CAST of {} AS {data_type}", inner.describe()));
                    }
                    return Ok(num_type(data_type));
                };
                if format.is_some() {
                    return Err(format!("CAST(… AS {data_type} FORMAT …)"));
                }
                let out = match &inner {
                    Ty::Text(Some(s)) => lit(&literal(s, kind)?.text(kind)),
                    Ty::Null => raw("NULL".into()),
                    Ty::Kind(k) => cast_kind(expr, *k, kind),
                    Ty::Num { col: Some(_), .. } if self.infer.is_some() => {
                        // `CAST(x AS DATE)` says nothing of `x`'s type.
                        return Ok(Ty::Kind(kind));
                    }
                    other => {
                        return Err(format!("CAST of {} AS {data_type}", other.describe()));
                    }
                };
                *e = out;
                self.changed = true;
                Ok(Ty::Kind(kind))
            }
            Expr::Interval(iv) => {
                if iv.last_field.is_some() || iv.fractional_seconds_precision.is_some() {
                    return Err(format!("`{iv}` (a range of fields)"));
                }
                let field = iv.leading_field.as_ref();
                let unit = match field {
                    Some(f) => {
                        Some(Unit::field(f).ok_or_else(|| format!("INTERVAL with the unit {f}"))?)
                    }
                    None => None,
                };
                let text = iv.to_string();
                let (unit, amount) = match (&mut *iv.value, unit) {
                    (Expr::Value(v), u) => match (&v.value, u) {
                        (Value::Number(n, _), Some(u)) => (
                            u,
                            Amount::Lit(
                                n.parse()
                                    .map_err(|_| format!("`{text}` (not a whole number)"))?,
                            ),
                        ),
                        (Value::SingleQuotedString(s), Some(u)) => (
                            u,
                            Amount::Lit(
                                s.trim()
                                    .parse()
                                    .map_err(|_| format!("`{text}` (not a whole number)"))?,
                            ),
                        ),
                        (Value::SingleQuotedString(s), None) => {
                            let mut it = s.split_whitespace();
                            let (n, w) = (it.next(), it.next());
                            match (n.and_then(|n| n.parse().ok()), w.and_then(Unit::parse)) {
                                (Some(n), Some(u)) if it.next().is_none() => (u, Amount::Lit(n)),
                                _ => return Err(format!("`{text}` (no unit tribunal knows)")),
                            }
                        }
                        _ => return Err(format!("`{text}`")),
                    },
                    (v, Some(u)) => {
                        let t = self.expr(v)?;
                        match t {
                            Ty::Num { int: true, .. } => (u, Amount::Expr(v.to_string())),
                            other => {
                                return Err(format!(
                                    "`{text}` (an amount that is {})",
                                    other.describe()
                                ));
                            }
                        }
                    }
                    _ => return Err(format!("`{text}`")),
                };
                Ok(Ty::Interval(unit, amount))
            }
            Expr::BinaryOp { left, op, right } => {
                let lt = self.expr(left)?;
                let rt = self.expr(right)?;
                match op {
                    BinaryOperator::Plus | BinaryOperator::Minus => {
                        let minus = matches!(op, BinaryOperator::Minus);
                        match self.arith(left, &lt, right, &rt, minus)? {
                            Some((text, ty)) => {
                                *e = raw(text);
                                self.changed = true;
                                Ok(ty)
                            }
                            None => Ok(match (&lt, &rt) {
                                (Ty::Num { int: a, .. }, Ty::Num { int: b, .. }) => Ty::Num {
                                    int: *a && *b,
                                    col: None,
                                },
                                _ => Ty::Other,
                            }),
                        }
                    }
                    BinaryOperator::Eq
                    | BinaryOperator::NotEq
                    | BinaryOperator::Lt
                    | BinaryOperator::LtEq
                    | BinaryOperator::Gt
                    | BinaryOperator::GtEq
                    | BinaryOperator::Spaceship => {
                        self.unify(vec![(&mut **left, lt), (&mut **right, rt)])?;
                        Ok(Ty::Other)
                    }
                    BinaryOperator::Multiply | BinaryOperator::Modulo | BinaryOperator::Divide => {
                        self.no_dates(&[&lt, &rt], &format!("`{op}`"))?;
                        Ok(match (&lt, &rt) {
                            (Ty::Num { int: a, .. }, Ty::Num { int: b, .. }) => Ty::Num {
                                int: *a && *b && !matches!(op, BinaryOperator::Divide),
                                col: None,
                            },
                            _ => Ty::Other,
                        })
                    }
                    _ => {
                        self.no_dates(&[&lt, &rt], &format!("`{op}`"))?;
                        Ok(Ty::Other)
                    }
                }
            }
            Expr::UnaryOp { op, expr } => {
                let t = self.expr(expr)?;
                self.no_dates(&[&t], &format!("`{op}`"))?;
                Ok(match (op, t) {
                    (UnaryOperator::Minus | UnaryOperator::Plus, Ty::Num { int, .. }) => {
                        Ty::Num { int, col: None }
                    }
                    _ => Ty::Other,
                })
            }
            Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNotFalse(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x) => {
                let t = self.expr(x)?;
                if !matches!(e, Expr::IsNull(_) | Expr::IsNotNull(_)) {
                    self.no_dates(&[&t], "a truth test")?;
                }
                Ok(Ty::Other)
            }
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let (ta, tb) = (self.expr(a)?, self.expr(b)?);
                self.unify(vec![(&mut **a, ta), (&mut **b, tb)])?;
                Ok(Ty::Other)
            }
            Expr::In {
                expr,
                target: InTarget::List(list),
                ..
            } => {
                let t = self.expr(expr)?;
                let mut items = vec![(&mut **expr, t)];
                for x in list.iter_mut() {
                    let tx = self.expr(x)?;
                    items.push((x, tx));
                }
                self.unify(items)?;
                Ok(Ty::Other)
            }
            Expr::In {
                expr,
                target: InTarget::Subquery(q),
                ..
            } => {
                let t = self.expr(expr)?;
                self.no_dates(&[&t], "IN (subquery)")?;
                self.query(q)?;
                Ok(Ty::Other)
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                let (t, tl, th) = (self.expr(expr)?, self.expr(low)?, self.expr(high)?);
                self.unify(vec![(&mut **expr, t), (&mut **low, tl), (&mut **high, th)])?;
                Ok(Ty::Other)
            }
            Expr::Like { expr, pattern, .. }
            | Expr::ILike { expr, pattern, .. }
            | Expr::SimilarTo { expr, pattern, .. } => {
                let (t, tp) = (self.expr(expr)?, self.expr(pattern)?);
                self.no_dates(&[&t, &tp], "LIKE")?;
                Ok(Ty::Other)
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(op) = operand.as_mut() {
                    let t = self.expr(op)?;
                    let mut items = vec![(&mut **op, t)];
                    for c in conditions.iter_mut() {
                        let tc = self.expr(&mut c.condition)?;
                        items.push((&mut c.condition, tc));
                    }
                    self.unify(items)?;
                } else {
                    for c in conditions.iter_mut() {
                        let tc = self.expr(&mut c.condition)?;
                        self.no_dates(&[&tc], "a WHEN condition")?;
                    }
                }
                let mut items = Vec::new();
                for c in conditions.iter_mut() {
                    let tr = self.expr(&mut c.result)?;
                    items.push((&mut c.result, tr));
                }
                if let Some(x) = else_result.as_mut() {
                    let tx = self.expr(x)?;
                    items.push((&mut **x, tx));
                }
                let first = items
                    .iter()
                    .map(|(_, t)| t.clone())
                    .find(|t| !matches!(t, Ty::Null))
                    .unwrap_or(Ty::Null);
                Ok(match self.unify(items)? {
                    Some(k) => Ty::Kind(k),
                    None => first,
                })
            }
            Expr::Function(f) => self.function(f).map(|(out, ty)| {
                if let Some(text) = out {
                    *e = raw(text);
                    self.changed = true;
                }
                ty
            }),
            Expr::Extract { field, expr, .. } => {
                let t = self.expr(expr)?;
                let fmt = match field {
                    DateTimeField::Year => "%Y",
                    DateTimeField::Month => "%m",
                    DateTimeField::Day => "%d",
                    DateTimeField::Hour => "%H",
                    DateTimeField::Minute => "%M",
                    DateTimeField::Second => "%S",
                    DateTimeField::Doy | DateTimeField::DayOfYear => "%j",
                    DateTimeField::Quarter => "q",
                    other => return Err(format!("EXTRACT({other} FROM …)")),
                };
                let timeish = matches!(
                    field,
                    DateTimeField::Hour | DateTimeField::Minute | DateTimeField::Second
                );
                let want = if timeish { Kind::DateTime } else { Kind::Date };
                self.want(&t, want, "EXTRACT")?;
                let x = expr.to_string();
                *e = raw(if fmt == "q" {
                    format!("((CAST(strftime('%m', {x}) AS INTEGER) + 2) / 3)")
                } else {
                    format!("CAST(strftime('{fmt}', {x}) AS INTEGER)")
                });
                self.changed = true;
                Ok(Ty::Num {
                    int: true,
                    col: None,
                })
            }
            Expr::Subquery(q) | Expr::Exists { subquery: q, .. } => {
                self.query(q)?;
                Ok(Ty::Other)
            }
            other => {
                self.untouched(&other.to_string())?;
                Ok(Ty::Other)
            }
        }
    }

    /// `l + r` / `l - r` where dates are involved: the SQLite text and its
    /// type, `None` when no date is involved.
    fn arith(
        &mut self,
        l: &mut Expr,
        lt: &Ty,
        r: &mut Expr,
        rt: &Ty,
        minus: bool,
    ) -> Res<Option<(String, Ty)>> {
        let sign = if minus { "-" } else { "+" };
        match (lt, rt) {
            (Ty::Interval(..), Ty::Interval(..)) => Err("INTERVAL ± INTERVAL".into()),
            (base, Ty::Interval(u, a)) | (Ty::Interval(u, a), base)
                if !(minus && matches!(lt, Ty::Interval(..))) =>
            {
                let want = if u.of_time() {
                    Kind::DateTime
                } else {
                    Kind::Date
                };
                let k = self.want(base, want, &format!("INTERVAL {sign}"))?;
                let b = if matches!(lt, Ty::Interval(..)) {
                    &*r
                } else {
                    &*l
                };
                let b = b.to_string();
                let out = if self.fam.interval_timestamp {
                    Kind::DateTime
                } else {
                    k
                };
                shift(&b, out, *u, a, minus).map(Some)
            }
            (Ty::Interval(..), _) => Err("a value minus an INTERVAL's other order".into()),
            (Ty::Kind(Kind::Date), Ty::Kind(Kind::Date)) if minus => {
                if !self.fam.int_days {
                    return Err(format!(
                        "`DATE - DATE` (days in PostgreSQL and DuckDB, a number in MySQL; {})",
                        DECLARE
                    ));
                }
                Ok(Some((
                    format!("CAST(round(julianday({l}) - julianday({r})) AS INTEGER)"),
                    Ty::Num {
                        int: true,
                        col: None,
                    },
                )))
            }
            (Ty::Kind(Kind::Date), Ty::Num { int: true, .. })
            | (Ty::Num { int: true, .. }, Ty::Kind(Kind::Date))
                if !(minus && matches!(lt, Ty::Num { .. })) =>
            {
                if !self.fam.int_days {
                    return Err(format!(
                        "`DATE {sign} number` (days in PostgreSQL and DuckDB, a number in MySQL; {})",
                        DECLARE
                    ));
                }
                let (b, n) = if matches!(lt, Ty::Kind(_)) {
                    (&*l, &*r)
                } else {
                    (&*r, &*l)
                };
                shift(
                    &b.to_string(),
                    Kind::Date,
                    Unit::Day,
                    &Amount::Expr(n.to_string()),
                    minus,
                )
                .map(Some)
            }
            _ => {
                self.no_dates(&[lt, rt], &format!("`{sign}`"))?;
                Ok(None)
            }
        }
    }

    /// A call: its replacement text (if rewritten) and type.
    fn function(&mut self, f: &mut sqlparser::ast::Function) -> Res<(Option<String>, Ty)> {
        let name = upper_name(f);
        let extra = f.over.is_some()
            || f.filter.is_some()
            || !f.within_group.is_empty()
            || !matches!(f.parameters, FunctionArguments::None);
        let text = f.to_string();
        let fam = self.fam;
        let Some(mut args) = plain_args(f) else {
            self.untouched(&text)?;
            return Ok((None, Ty::Other));
        };
        let mut tys = Vec::with_capacity(args.len());
        for a in args.iter_mut() {
            tys.push(self.expr(a)?);
        }
        let known = matches!(
            name.as_str(),
            "DATE_TRUNC"
                | "TIMESTAMP_TRUNC"
                | "DATETIME_TRUNC"
                | "DATE_ADD"
                | "DATE_SUB"
                | "DATETIME_ADD"
                | "DATETIME_SUB"
                | "TIMESTAMP_ADD"
                | "TIMESTAMP_SUB"
                | "TS_OR_DS_TO_DATE"
        );
        if known && extra {
            return Err(format!("`{}`", short(&text)));
        }
        match name.as_str() {
            "COALESCE" | "IFNULL" | "NULLIF" | "MIN" | "MAX" => {
                let first = tys.first().cloned().unwrap_or(Ty::Other);
                let items: Vec<(&mut Expr, Ty)> = args.into_iter().zip(tys).collect();
                Ok((
                    None,
                    match self.unify(items)? {
                        Some(k) => Ty::Kind(k),
                        None => first,
                    },
                ))
            }
            // SQLite's own functions, over the ISO text dates run as.
            "DATE" if !extra => Ok((None, Ty::Kind(Kind::Date))),
            "DATETIME" if !extra => Ok((None, Ty::Kind(Kind::DateTime))),
            "STRFTIME" if !extra => Ok((None, Ty::Text(None))),
            "JULIANDAY" if !extra => Ok((
                None,
                Ty::Num {
                    int: false,
                    col: None,
                },
            )),
            "COUNT" => Ok((
                None,
                Ty::Num {
                    int: true,
                    col: None,
                },
            )),
            "DATE_TRUNC" | "TIMESTAMP_TRUNC" | "DATETIME_TRUNC" => {
                if args.len() != 2 {
                    return Err(format!("`{}`", short(&text)));
                }
                // `DATE_TRUNC('unit', d)` (PostgreSQL, Snowflake, DuckDB)
                // or `DATE_TRUNC(d, UNIT)` (BigQuery, weeks from Sunday).
                let (unit, di, sunday) = match (unit_arg(args[0]), &*args[0]) {
                    (Some(u), Expr::Value(_)) => (u, 1, false),
                    _ => match (unit_arg(args[1]), &*args[1]) {
                        (Some(u), Expr::Identifier(i))
                            if !self.cols.contains_key(&i.value.to_ascii_lowercase()) =>
                        {
                            (u, 0, true)
                        }
                        _ => return Err(format!("`{}` (an unknown unit)", short(&text))),
                    },
                };
                let stamp = name != "DATE_TRUNC";
                let want = if stamp || unit.of_time() {
                    Kind::DateTime
                } else {
                    Kind::Date
                };
                let k = self.want(&tys[di], want, &name)?;
                let x = args[di].to_string();
                let out = if stamp || unit.of_time() || k == Kind::DateTime || fam.trunc_timestamp {
                    Kind::DateTime
                } else {
                    Kind::Date
                };
                Ok((Some(truncate(&x, unit, out, sunday)), Ty::Kind(out)))
            }
            "DATE_ADD" | "DATE_SUB" | "DATETIME_ADD" | "DATETIME_SUB" | "TIMESTAMP_ADD"
            | "TIMESTAMP_SUB" => {
                let minus = name.ends_with("_SUB");
                let stamp = !name.starts_with("DATE_");
                let (unit, amount) = match (args.len(), tys.get(1)) {
                    (2, Some(Ty::Interval(u, a))) => (*u, a.clone()),
                    (2, Some(Ty::Num { int: true, .. })) if fam.numeric_date_add && !stamp => {
                        (Unit::Day, Amount::Expr(args[1].to_string()))
                    }
                    (3, Some(Ty::Num { int: true, .. })) if fam.numeric_date_add => {
                        let u = unit_arg(args[2])
                            .ok_or_else(|| format!("`{}` (an unknown unit)", short(&text)))?;
                        (u, Amount::Expr(args[1].to_string()))
                    }
                    _ => return Err(format!("`{}`", short(&text))),
                };
                let want = if stamp || unit.of_time() {
                    Kind::DateTime
                } else {
                    Kind::Date
                };
                let k = self.want(&tys[0], want, &name)?;
                let out = if stamp { Kind::DateTime } else { k };
                let base = args[0].to_string();
                let (text, ty) = shift(&base, out, unit, &amount, minus)?;
                Ok((Some(text), ty))
            }
            "TS_OR_DS_TO_DATE" => {
                if args.len() != 1 {
                    return Err(format!("`{}` (with a format)", short(&text)));
                }
                let out = match &tys[0] {
                    Ty::Text(Some(s)) => {
                        let st = literal(s, Kind::DateTime)?;
                        format!("'{}'", st.date_text())
                    }
                    Ty::Null => "NULL".into(),
                    t => match self.want(t, Kind::Date, "TS_OR_DS_TO_DATE")? {
                        Kind::Date => args[0].to_string(),
                        Kind::DateTime => format!("date({})", args[0]),
                    },
                };
                Ok((Some(out), Ty::Kind(Kind::Date)))
            }
            _ => {
                self.no_dates(&tys.iter().collect::<Vec<_>>(), &format!("{name}(…)"))?;
                if known {
                    return Err(format!("`{}`", short(&text)));
                }
                Ok((None, Ty::Other))
            }
        }
    }
}

const DECLARE: &str = "`sql_dialect:` postgres or duckdb runs it as days";

fn other_join_text(op: &JoinOperator) -> String {
    match op {
        JoinOperator::AsOf {
            match_condition, ..
        } => match_condition.to_string(),
        _ => String::new(),
    }
}

/// A literal of `kind`: valid, and for a `DATE` without a time of day.
fn literal(s: &str, kind: Kind) -> Res<Stamp> {
    let Some((st, _)) = Stamp::parse(s) else {
        return Err(format!(
            "the {} literal '{s}', which is not valid",
            kind.name()
        ));
    };
    match kind {
        Kind::Date => Ok(Stamp { secs: 0, ..st }),
        Kind::DateTime => Ok(st),
    }
}

/// `e` (of kind `from`) as a value of kind `to`.
fn cast_kind(e: &Expr, from: Kind, to: Kind) -> Expr {
    match (from, to) {
        (Kind::DateTime, Kind::Date) => raw(format!("date({e})")),
        (Kind::Date, Kind::DateTime) => raw(format!("datetime({e})")),
        _ => Expr::Nested(Box::new(e.clone())),
    }
}

/// `base ± amount unit` as a value of kind `out`.
fn shift(base: &str, out: Kind, unit: Unit, amount: &Amount, minus: bool) -> Res<(String, Ty)> {
    let (word, per) = unit.modifier();
    let per = if minus { -per } else { per };
    let modifier = match amount {
        Amount::Lit(n) => {
            let v = n
                .checked_mul(per)
                .filter(|v| v.abs() < 1_000_000_000)
                .ok_or_else(|| format!("INTERVAL {n} {word} (out of range)"))?;
            format!("'{v:+} {word}'")
        }
        Amount::Expr(x) => format!("((({x}) * {per}) || ' {word}')"),
    };
    let out = if unit.of_time() { Kind::DateTime } else { out };
    let f = match out {
        Kind::Date => "date",
        Kind::DateTime => "datetime",
    };
    let floor = if word == "months" { ", 'floor'" } else { "" };
    Ok((format!("{f}({base}, {modifier}{floor})"), Ty::Kind(out)))
}

/// `DATE_TRUNC(unit, x)` as a value of kind `out`.
fn truncate(x: &str, unit: Unit, out: Kind, sunday: bool) -> String {
    let f = match out {
        Kind::Date => "date",
        Kind::DateTime => "datetime",
    };
    match unit {
        Unit::Second => format!("datetime({x})"),
        Unit::Minute => format!("strftime('%Y-%m-%d %H:%M:00', {x})"),
        Unit::Hour => format!("strftime('%Y-%m-%d %H:00:00', {x})"),
        Unit::Day => format!("{f}({x}, 'start of day')"),
        Unit::Week => format!(
            "{f}({x}, 'start of day', '-6 days', 'weekday {}')",
            if sunday { 0 } else { 1 }
        ),
        Unit::Month => format!("{f}({x}, 'start of month')"),
        Unit::Quarter => format!(
            "{f}({x}, 'start of month', (-((CAST(strftime('%m', {x}) AS INTEGER) - 1) % 3)) || ' months')"
        ),
        Unit::Year => format!("{f}({x}, 'start of year')"),
    }
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Column names (lowercase) to their type in `schema`, `None` where tables
/// declare the same name with different types.
pub fn column_types(schema: &Schema) -> BTreeMap<String, Option<ColType>> {
    let mut out: BTreeMap<String, Option<ColType>> = BTreeMap::new();
    for t in &schema.tables {
        for c in &t.columns {
            let e = out.entry(c.name.to_ascii_lowercase()).or_insert(Some(c.ty));
            if *e != Some(c.ty) {
                *e = None;
            }
        }
    }
    out
}

fn parse(sql: &str, dialect: &str) -> Result<Box<Query>, String> {
    let d: Box<dyn Dialect> =
        dialect_from_str(dialect).unwrap_or_else(|| Box::new(GenericDialect {}));
    let mut stmts = Parser::parse_sql(d.as_ref(), sql).map_err(|e| e.to_string())?;
    match stmts.pop() {
        Some(Statement::Query(q)) if stmts.is_empty() => Ok(q),
        _ => Err("not one query".into()),
    }
}

/// The query with its date constructs rewritten for SQLite, for an
/// engine of `dialect`: `Ok(None)` when nothing needs rewriting (the text
/// is then run as written), `Err` naming the construct that is not
/// translated. Under `sql_dialect: sqlite` a query whose only dates are
/// date columns runs as written (SQLite's own functions over ISO text).
pub fn translate(sql: &str, schema: &Schema, dialect: &str) -> Result<Option<String>, String> {
    let cols = column_types(schema);
    let has_words = explicit(sql);
    let date_cols = words(sql)
        .iter()
        .any(|(w, _, _)| matches!(cols.get(w), Some(Some(ColType::Date | ColType::DateTime))));
    if !has_words && !date_cols {
        return Ok(None);
    }
    let mut q = match parse(sql, dialect) {
        Ok(q) => q,
        Err(e) if has_words => {
            return Err(format!(
                "date constructs in a query sqlparser does not parse ({})",
                short(&e)
            ));
        }
        Err(_) => return Ok(None),
    };
    let mut tr = Tr {
        fam: family(dialect),
        cols: &cols,
        infer: None,
        changed: false,
    };
    match tr.query(&mut q) {
        Ok(()) if tr.changed => Ok(Some(q.to_string())),
        Ok(()) => Ok(None),
        // SQLite's own queries over date columns mean what SQLite computes.
        Err(_) if !has_words && dialect.eq_ignore_ascii_case("sqlite") => Ok(None),
        Err(e) => Err(e),
    }
}

/// The bare columns of `schema` that `queries` use as dates (compared with
/// a date, shifted by an `INTERVAL`, truncated, extracted from; not merely
/// cast to a date), with the kind they are used as: a `TIMESTAMP` when any
/// use needs a time of day. A benchmark harness over untyped expressions
/// declares them so.
pub fn date_columns(queries: &[&str], schema: &Schema, dialect: &str) -> BTreeMap<String, Kind> {
    let cols = column_types(schema);
    let mut found: BTreeMap<String, Kind> = BTreeMap::new();
    // Uses propagate through comparisons of columns: a few rounds.
    for _ in 0..3 {
        let before = found.clone();
        for sql in queries {
            if !explicit(sql) && found.is_empty() {
                continue;
            }
            let Ok(mut q) = parse(sql, dialect) else {
                continue;
            };
            let mut tr = Tr {
                fam: family(dialect),
                cols: &cols,
                infer: Some(found.clone()),
                changed: false,
            };
            let _ = tr.query(&mut q);
            if let Some(m) = tr.infer {
                for (c, k) in m {
                    let e = found.entry(c).or_insert(k);
                    *e = (*e).max(k);
                }
            }
        }
        if found == before {
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(ddl: &str) -> Schema {
        Schema::from_ddl(ddl).unwrap()
    }

    #[test]
    fn civil_days_round_trip_and_literals_are_validated() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in [-800_000, -1, 0, 59, 11_016, 19_000, 2_000_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        let p = |s: &str| Stamp::parse(s).map(|(st, t)| (st.datetime_text(), t));
        assert_eq!(p("2024-02-29"), Some(("2024-02-29 00:00:00".into(), false)));
        assert_eq!(
            p("2021-1-2 3:04"),
            Some(("2021-01-02 03:04:00".into(), true))
        );
        assert_eq!(
            p("2021-01-02T03:04:05.000"),
            Some(("2021-01-02 03:04:05".into(), true))
        );
        for bad in [
            "2023-02-29",
            "2021-13-01",
            "2021-01-01 24:00:00",
            "x",
            "2021-01-01 1:2:3.5",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_constructs_are_told_from_columns_named_date() {
        for yes in [
            "SELECT DATE '2020-01-01'",
            "SELECT x + interval 1 day",
            "SELECT CAST(x AS timestamp)",
            "SELECT x::date",
            "SELECT date_trunc ('week', x)",
            "SELECT EXTRACT(YEAR FROM x)",
        ] {
            assert!(explicit(yes), "{yes}");
        }
        for no in [
            "SELECT date, time FROM t WHERE date > '2020'",
            "SELECT 'DATE ''x''' FROM t",
            "SELECT date_add FROM t",
            "SELECT MAX(x) AS date FROM t",
        ] {
            assert!(!explicit(no), "{no}");
        }
    }

    #[test]
    fn infers_the_columns_used_as_dates_but_not_merely_cast() {
        let s = schema("CREATE TABLE t (x INTEGER, y INTEGER, z INTEGER)");
        let cols = |q: &str| date_columns(&[q], &s, "generic");
        assert_eq!(
            cols("SELECT x > CAST('2024-01-01' AS DATE) AND y = 1 FROM t"),
            BTreeMap::from([("x".to_string(), Kind::Date)])
        );
        assert_eq!(
            cols("SELECT CAST(y AS DATE) = x - INTERVAL '1' HOUR FROM t"),
            BTreeMap::from([("x".to_string(), Kind::DateTime)])
        );
        assert_eq!(
            cols("SELECT DATE_TRUNC('week', x) = z FROM t"),
            BTreeMap::from([("x".to_string(), Kind::Date), ("z".to_string(), Kind::Date)])
        );
        assert!(cols("SELECT CAST(x AS DATE) FROM t").is_empty());
        assert!(cols("SELECT DATE '2020-01-01' - INTERVAL x DAY FROM t").is_empty());
    }

    #[test]
    fn rewrites_on_the_ast_only_what_it_types() {
        let s = schema("CREATE TABLE t (d DATE, ts TIMESTAMP, n INTEGER, s TEXT)");
        let tr = |q: &str, dialect: &str| translate(q, &s, dialect);
        assert_eq!(tr("SELECT n + 1 FROM t", "generic"), Ok(None));
        assert_eq!(
            tr(
                "SELECT d + INTERVAL '1' MONTH FROM t WHERE ts > d",
                "generic"
            ),
            Ok(Some(
                "SELECT date(d, '+1 months', 'floor') FROM t WHERE ts > datetime(d)".into()
            ))
        );
        assert_eq!(
            tr(
                "SELECT DATE_TRUNC('week', d) = '2023-12-11' FROM t",
                "generic"
            ),
            Ok(Some(
                "SELECT date(d, 'start of day', '-6 days', 'weekday 1') = '2023-12-11' FROM t"
                    .into()
            ))
        );
        assert_eq!(
            tr("SELECT d - n FROM t", "postgres"),
            Ok(Some(
                "SELECT date(d, (((n) * -1) || ' days')) FROM t".into()
            ))
        );
        let e = tr("SELECT d + 84 FROM t", "generic").unwrap_err();
        assert_eq!(tr("SELECT d + 84 FROM t", "sqlite"), Ok(None));
        assert_eq!(
            tr(
                "SELECT strftime('%Y', d) FROM t WHERE date(ts) = d",
                "generic"
            ),
            Ok(None)
        );
        assert!(e.contains("`DATE + number`"), "{e}");
        let e = tr("SELECT CAST(s AS DATE) FROM t", "generic").unwrap_err();
        assert_eq!(e, "CAST of a text value AS DATE");
        let e = tr("SELECT DATE '2020-01-01' || 'x' FROM t", "generic").unwrap_err();
        assert!(e.contains("`||` of a DATE"), "{e}");
        let e = tr("SELECT DATE '2023-02-30' FROM t", "generic").unwrap_err();
        assert!(e.contains("not valid"), "{e}");
        // Only date columns, used as text: not run, but as written in
        // SQLite's own dialect.
        let e = tr("SELECT s || d FROM t WHERE d LIKE '2%'", "mysql").unwrap_err();
        assert_eq!(e, "`||` of a DATE");
        assert_eq!(
            tr("SELECT s || d FROM t WHERE d LIKE '2%'", "sqlite"),
            Ok(None)
        );
    }

    /// `SELECT e` translated for `dialect` and run in the bundled SQLite.
    fn run(e: &str, dialect: &str) -> String {
        let s = schema("CREATE TABLE t (n INTEGER)");
        let q = format!("SELECT {e} FROM (SELECT NULL AS n) AS z");
        let sql = translate(&q, &s, dialect)
            .unwrap_or_else(|err| panic!("{e}: {err}"))
            .unwrap_or(q);
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.query_row(&sql, [], |r| {
            Ok(match r.get::<_, rusqlite::types::Value>(0)? {
                rusqlite::types::Value::Null => "NULL".to_string(),
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Real(f) => f.to_string(),
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Blob(_) => "blob".to_string(),
            })
        })
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
    }

    #[test]
    fn translations_compute_what_engines_compute() {
        let cases = [
            // Month arithmetic clamps at the month's end.
            ("DATE '2023-01-31' + INTERVAL '1' MONTH", "2023-02-28"),
            ("DATE '2024-02-29' + INTERVAL '1' YEAR", "2025-02-28"),
            ("DATE '2023-03-31' - INTERVAL 1 MONTH", "2023-02-28"),
            ("DATE '2023-05-31' + INTERVAL '1' QUARTER", "2023-08-31"),
            (
                "CAST('2008-11-11' AS DATETIME) + INTERVAL '5' MONTH",
                "2009-04-11 00:00:00",
            ),
            ("DATE '1998-12-01' - INTERVAL '90' DAY", "1998-09-02"),
            ("INTERVAL '1' YEAR + DATE '1998-01-01'", "1999-01-01"),
            ("DATE '1998-12-01' + INTERVAL '1' WEEK", "1998-12-08"),
            (
                "DATE '2023-01-01' + INTERVAL '36' HOUR",
                "2023-01-02 12:00:00",
            ),
            (
                "TIMESTAMP '2023-01-01 00:00:30' - INTERVAL 45 SECOND",
                "2022-12-31 23:59:45",
            ),
            ("DATE '2020-01-01' - INTERVAL n DAY", "NULL"),
            ("DATE '2021-01-31' + INTERVAL '2 months'", "2021-03-31"),
            // Truncation: ISO weeks from Monday; BigQuery's from Sunday.
            ("DATE_TRUNC('week', DATE '2023-12-15')", "2023-12-11"),
            ("DATE_TRUNC('week', DATE '2023-12-11')", "2023-12-11"),
            ("DATE_TRUNC('week', DATE '2023-12-17')", "2023-12-11"),
            ("DATE_TRUNC(DATE '2023-12-15', WEEK)", "2023-12-10"),
            ("DATE_TRUNC('quarter', DATE '2023-11-15')", "2023-10-01"),
            ("DATE_TRUNC('QUARTER', DATE '2023-01-05')", "2023-01-01"),
            (
                "DATE_TRUNC('month', TIMESTAMP '2023-11-15 10:11:12')",
                "2023-11-01 00:00:00",
            ),
            ("DATE_TRUNC('year', DATE '2023-11-15')", "2023-01-01"),
            (
                "DATE_TRUNC('day', TIMESTAMP '2023-11-15 10:11:12')",
                "2023-11-15 00:00:00",
            ),
            (
                "TIMESTAMP_TRUNC(TIMESTAMP '2021-05-06 07:08:09', HOUR)",
                "2021-05-06 07:00:00",
            ),
            (
                "DATE_TRUNC('minute', TIMESTAMP '2021-05-06 07:08:09')",
                "2021-05-06 07:08:00",
            ),
            ("EXTRACT(QUARTER FROM DATE '2021-05-06')", "2"),
            ("EXTRACT(DAY FROM DATE '2021-05-06')", "6"),
            ("EXTRACT(YEAR FROM DATE '2021-05-06') + 1", "2022"),
            ("EXTRACT(HOUR FROM TIMESTAMP '2021-05-06 07:08:09')", "7"),
            ("EXTRACT(DOY FROM DATE '2021-02-01')", "32"),
            // sqlglot's and Spark's DATE_ADD, MySQL's and BigQuery's.
            (
                "DATE_ADD(CAST('2023-01-02' AS DATE), -2, 'MONTH')",
                "2022-11-02",
            ),
            (
                "DATE_SUB(CAST('2023-01-02' AS DATE), 1 + 1, 'DAY')",
                "2022-12-31",
            ),
            (
                "DATETIME_SUB(CAST('2023-01-02' AS DATETIME), 1 + 1, 'HOUR')",
                "2023-01-01 22:00:00",
            ),
            (
                "DATE_ADD(CAST('2023-01-02' AS DATE), 1, HOUR)",
                "2023-01-02 01:00:00",
            ),
            (
                "DATE_ADD(DATE '2023-01-31', INTERVAL 1 MONTH)",
                "2023-02-28",
            ),
            ("DATE_ADD(DATE '2023-01-31', 1)", "2023-02-01"),
            (
                "TS_OR_DS_TO_DATE('1998-12-01 00:00:01') - INTERVAL '90' DAY",
                "1998-09-02",
            ),
            // Casts and comparisons across kinds.
            ("CAST('2021-01-01 01:02:03' AS DATE)", "2021-01-01"),
            (
                "CAST(CAST('2021-01-01 01:02:03' AS DATETIME) AS DATE)",
                "2021-01-01",
            ),
            (
                "CAST(DATE '2021-01-01' AS TIMESTAMP)",
                "2021-01-01 00:00:00",
            ),
            ("DATE '2021-01-01' = TIMESTAMP '2021-01-01 00:00:00'", "1"),
            (
                "DATE '2021-01-01' < CAST('2021-01-01 00:00:01' AS DATETIME)",
                "1",
            ),
            ("DATE '2021-01-01' IN ('2021-01-01', '2022-01-01')", "1"),
            (
                "TIMESTAMP '2021-01-01 10:00:00' BETWEEN '2021-01-01' AND '2021-01-02'",
                "1",
            ),
            (
                "COALESCE(CAST(NULL AS DATE), DATE '2021-01-01')",
                "2021-01-01",
            ),
            (
                "CASE WHEN n IS NULL THEN DATE '2021-01-01' ELSE TIMESTAMP '2021-01-01 10:00:00' END",
                "2021-01-01 00:00:00",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(run(e, "generic"), want, "{e}");
        }
        // Days as numbers, where the engine means days.
        assert_eq!(
            run("DATE '2021-03-01' - DATE '2021-02-01'", "postgres"),
            "28"
        );
        assert_eq!(run("DATE '1999-01-01' + 84", "postgres"), "1999-03-26");
        assert_eq!(run("7 + DATE '1999-01-01'", "duckdb"), "1999-01-08");
        // PostgreSQL's DATE + INTERVAL and DATE_TRUNC are timestamps.
        assert_eq!(
            run("DATE '2021-01-31' + INTERVAL '1 month'", "postgres"),
            "2021-02-28 00:00:00"
        );
        assert_eq!(
            run("DATE_TRUNC('month', DATE '2021-01-31')", "postgres"),
            "2021-01-01 00:00:00"
        );
    }

    #[test]
    fn untranslated_constructs_are_named() {
        let s = schema("CREATE TABLE t (d DATE, n INTEGER, r REAL)");
        let err = |q: &str, dialect: &str| translate(q, &s, dialect).unwrap_err();
        assert!(err("SELECT DATE '1999-01-01' + 84 FROM t", "generic").contains("`DATE + number`"));
        assert!(err("SELECT DATE '1999-01-01' + 84 FROM t", "mysql").contains("`DATE + number`"));
        assert!(err("SELECT d - d FROM t", "mysql").contains("`DATE - DATE`"));
        assert_eq!(
            err("SELECT CAST(n AS DATE) FROM t", "generic"),
            "CAST of a number AS DATE"
        );
        assert!(
            err("SELECT d + INTERVAL r DAY FROM t", "generic")
                .contains("an amount that is a number")
        );
        // sqlparser reads `FOO` as an alias: the interval has no unit.
        let e = err("SELECT d + INTERVAL '1' FOO FROM t", "generic");
        assert_eq!(e, "`INTERVAL '1'` (no unit tribunal knows)");
        assert!(
            err("SELECT DATE_TRUNC('week', d) = 5 FROM t", "generic")
                .contains("a DATE compared with a number")
        );
        assert!(err("SELECT TIME '10:00:00' FROM t", "generic").contains("times of day"));
        assert!(err("SELECT EXTRACT(WEEK FROM d) FROM t", "generic").contains("EXTRACT(WEEK"));
        assert!(err("SELECT DATE_ADD(d, 1, 'DAY') FROM t", "mysql").contains("DATE_ADD"));
        assert!(
            err(
                "SELECT TS_OR_DS_TO_DATE('2021-01-02', '%Y') FROM t",
                "generic"
            )
            .contains("with a format")
        );
        assert!(
            err("SELECT d = '2021-01-01 10:00:00' FROM t", "generic").contains("engines disagree")
        );
        assert!(
            err("SELECT UPPER(DATE '2021-01-01') FROM t", "generic").contains("UPPER(…) of a DATE")
        );
        assert_eq!(
            err("SELECT INTERVAL '1' DAY FROM t", "generic"),
            "an INTERVAL as a value"
        );
        assert_eq!(
            err("SELECT n FROM t WHERE DATE '2021-01-01'", "generic"),
            "a DATE as a truth value"
        );
    }
}
