//! Query pairs from untyped expression fixtures (sqlglot's optimizer
//! tests): the schema a user would declare for them, and how each
//! expression is compared.
//!
//! A fixture is a pair of expressions over columns nobody declared (or of
//! whole queries over tables nobody declared). The harness declares:
//! - a table `t`, and every table the pair names (in `FROM`/`JOIN`, or as
//!   the qualifier of a column), each with the same columns: `a` to `z`
//!   plus every other bare column name the pair uses;
//! - each column's type from how the pair uses it: `DATE` or `TIMESTAMP`
//!   when compared with a date, shifted by an `INTERVAL`, truncated or
//!   extracted from ([`super::dates::date_columns`]; a `CAST(x AS DATE)`
//!   alone says nothing of `x`), a boolean (`INTEGER` holding 0, 1 or NULL)
//!   when it stands alone as an operand of `AND`, `OR`, `NOT` or `WHEN`,
//!   `INTEGER` otherwise.
//!
//! Whole queries over tables run as written (a query without tables is a
//! scalar subquery, an expression like the others). An expression that is a value (a number,
//! a string, a date, arithmetic, a cast) on at least one side and a
//! predicate on neither is compared by value (`SELECT e AS v FROM t`);
//! predicates are compared as filters (`CASE WHEN e THEN 1 ELSE 0 END`,
//! NULL and FALSE alike) or, with `truth_values`, as three-valued truth
//! values (`CASE WHEN e THEN 1 WHEN NOT e THEN 0 END`).

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::{BinaryOperator, Expr, SelectItem, SetExpr, Statement, UnaryOperator, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::dates::{self, Kind};
use super::schema::Schema;

/// One fixture pair made runnable: the two queries and the DDL of their
/// schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixturePair {
    /// The left query.
    pub left: String,
    /// The right query.
    pub right: String,
    /// `CREATE TABLE` statements for every table the queries read.
    pub ddl: String,
}

const UNITS: &[&str] = &[
    "second", "minute", "hour", "day", "week", "month", "quarter", "year", "seconds", "minutes",
    "hours", "days", "weeks", "months", "quarters", "years",
];

fn is_query(s: &str) -> bool {
    let l = s.trim_start().to_ascii_lowercase();
    l.starts_with("select") || l.starts_with("with")
}

/// What the tokens of `sql` name: tables, bare columns, and the columns
/// used as truth values.
#[derive(Debug, Default)]
struct Names {
    tables: BTreeSet<String>,
    qualifiers: BTreeSet<String>,
    columns: BTreeSet<String>,
    booleans: BTreeSet<String>,
}

fn names(sql: &str, out: &mut Names) {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return;
    };
    let toks: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let kw = |i: usize| match toks.get(i) {
        Some(Token::Word(w)) if w.quote_style.is_none() => w.keyword,
        _ => Keyword::NoKeyword,
    };
    let word = |i: usize| match toks.get(i) {
        Some(Token::Word(w)) => Some(w.value.clone()),
        _ => None,
    };
    // A truth-value position: after AND/OR/NOT/WHEN, or before AND/OR/THEN,
    // looking through parentheses, with no operator on either side.
    let boolean_at = |start: usize, end: usize| {
        let mut p = start;
        while p > 0 && matches!(toks[p - 1], Token::LParen) {
            p -= 1;
        }
        let mut n = end + 1;
        while matches!(toks.get(n), Some(Token::RParen)) {
            n += 1;
        }
        let op = |t: Option<&&Token>| {
            matches!(
                t,
                Some(
                    Token::Eq
                        | Token::Neq
                        | Token::Lt
                        | Token::Gt
                        | Token::LtEq
                        | Token::GtEq
                        | Token::Plus
                        | Token::Minus
                        | Token::Mul
                        | Token::Div
                        | Token::Mod
                        | Token::StringConcat
                        | Token::Spaceship
                        | Token::DoubleEq
                )
            )
        };
        let prev_kw = if p > 0 { kw(p - 1) } else { Keyword::NoKeyword };
        let next_kw = kw(n);
        let before = p > 0 && op(toks.get(p - 1));
        let after = op(toks.get(n))
            || matches!(
                next_kw,
                Keyword::IS | Keyword::IN | Keyword::BETWEEN | Keyword::LIKE | Keyword::ILIKE
            );
        !before
            && !after
            && (matches!(
                prev_kw,
                Keyword::AND | Keyword::OR | Keyword::NOT | Keyword::WHEN
            ) || matches!(next_kw, Keyword::AND | Keyword::OR | Keyword::THEN))
    };
    let mut i = 0;
    let mut in_from = false;
    while i < toks.len() {
        let Some(Token::Word(w)) = toks.get(i) else {
            if matches!(toks[i], Token::LParen | Token::RParen) {
                in_from = false;
            }
            i += 1;
            continue;
        };
        let name = w.value.to_ascii_lowercase();
        let k = kw(i);
        if matches!(k, Keyword::FROM | Keyword::JOIN) {
            in_from = true;
            if let Some(t) = word(i + 1)
                && kw(i + 1) == Keyword::NoKeyword
            {
                out.tables.insert(t.to_ascii_lowercase());
                i += 2;
                // An alias, with or without AS.
                if kw(i) == Keyword::AS {
                    i += 2;
                } else if word(i).is_some() && kw(i) == Keyword::NoKeyword {
                    i += 1;
                }
                continue;
            }
            i += 1;
            continue;
        }
        if in_from
            && matches!(toks.get(i.wrapping_sub(1)), Some(Token::Comma))
            && k == Keyword::NoKeyword
        {
            out.tables.insert(name);
            i += 1;
            continue;
        }
        if k != Keyword::NoKeyword && w.quote_style.is_none() {
            if !matches!(k, Keyword::AS | Keyword::ON) {
                in_from = false;
            }
            i += 1;
            continue;
        }
        in_from = false;
        if matches!(toks.get(i + 1), Some(Token::LParen)) {
            // A function's name.
            i += 1;
            continue;
        }
        if matches!(toks.get(i + 1), Some(Token::Period))
            && let Some(Token::Word(c)) = toks.get(i + 2)
        {
            out.qualifiers.insert(name);
            let col = c.value.to_ascii_lowercase();
            if boolean_at(i, i + 2) {
                out.booleans.insert(col.clone());
            }
            out.columns.insert(col);
            i += 3;
            continue;
        }
        if UNITS.contains(&name.as_str()) {
            i += 1;
            continue;
        }
        if boolean_at(i, i) {
            out.booleans.insert(name.clone());
        }
        out.columns.insert(name);
        i += 1;
    }
}

/// Whether `e` is a predicate (`Some(true)`), a value that is not one
/// (`Some(false)`), or could be either (`None`).
fn predicate(e: &Expr) -> Option<bool> {
    match e {
        Expr::Nested(x) => predicate(x),
        Expr::BinaryOp { op, .. } => match op {
            BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo
            | BinaryOperator::StringConcat => Some(false),
            _ => Some(true),
        },
        Expr::UnaryOp { op, expr } => match op {
            UnaryOperator::Not => Some(true),
            _ => predicate(expr).map(|_| false),
        },
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotTrue(_)
        | Expr::IsNotFalse(_)
        | Expr::IsUnknown(_)
        | Expr::IsNotUnknown(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..)
        | Expr::In { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::SimilarTo { .. }
        | Expr::RLike { .. }
        | Expr::Exists { .. }
        | Expr::AnyOp { .. }
        | Expr::AllOp { .. } => Some(true),
        Expr::Value(v) => match v.value {
            Value::Boolean(_) => Some(true),
            Value::Null => None,
            _ => Some(false),
        },
        Expr::Cast { data_type, .. } => {
            let t = data_type.to_string().to_ascii_lowercase();
            (!t.starts_with("bool")).then_some(false)
        }
        Expr::TypedString(_) | Expr::Interval(_) | Expr::Extract { .. } => Some(false),
        Expr::Function(f) => {
            let n = f.name.to_string().to_ascii_uppercase();
            let value = n.starts_with("DATE")
                || n.starts_with("TIMESTAMP")
                || n.starts_with("DATETIME")
                || n.starts_with("TS_OR_DS")
                || matches!(
                    n.as_str(),
                    "CONCAT" | "SUBSTR" | "SUBSTRING" | "UPPER" | "LOWER" | "LENGTH" | "ABS"
                );
            value.then_some(false)
        }
        _ => None,
    }
}

fn parse_expr(e: &str) -> Option<Expr> {
    let stmts = Parser::parse_sql(&GenericDialect {}, &format!("SELECT {e}")).ok()?;
    let [Statement::Query(q)] = stmts.as_slice() else {
        return None;
    };
    let SetExpr::Select(s) = &*q.body else {
        return None;
    };
    match s.projection.as_slice() {
        [SelectItem::UnnamedExpr(x)] if s.from.is_empty() => Some(x.clone()),
        _ => None,
    }
}

/// The runnable form of the fixture pair `(a, b)` (expressions, or whole
/// queries), see the module doc.
pub fn fixture_pair(a: &str, b: &str, truth_values: bool) -> FixturePair {
    let mut n = Names::default();
    names(a, &mut n);
    names(b, &mut n);
    // Whole queries over tables run as written; a query without tables
    // (`SELECT x WHERE TRUE`) is a scalar subquery over `t`.
    let queries = is_query(a) && is_query(b) && !n.tables.is_empty();
    let mut columns: Vec<String> = ('a'..='z').map(String::from).collect();
    for c in &n.columns {
        if !columns.contains(c) {
            columns.push(c.clone());
        }
    }
    let mut tables: Vec<String> = vec!["t".into()];
    for t in n.tables.iter().chain(&n.qualifiers) {
        if !tables.contains(t) {
            tables.push(t.clone());
        }
    }
    let (left, right) = if queries {
        (a.to_string(), b.to_string())
    } else {
        let wrap = |e: &str| {
            if is_query(e) {
                format!("({e})")
            } else {
                e.to_string()
            }
        };
        let (a, b) = (&wrap(a)[..], &wrap(b)[..]);
        // Qualified columns read their tables; others read `t`.
        let from = if n.qualifiers.is_empty() {
            "t".to_string()
        } else {
            n.qualifiers.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        let (pa, pb) = (
            parse_expr(a).and_then(|e| predicate(&e)),
            parse_expr(b).and_then(|e| predicate(&e)),
        );
        let value =
            pa != Some(true) && pb != Some(true) && (pa == Some(false) || pb == Some(false));
        let q = |e: &str| {
            if value {
                format!("SELECT {e} AS v FROM {from}")
            } else if truth_values {
                format!("SELECT CASE WHEN ({e}) THEN 1 WHEN NOT ({e}) THEN 0 END AS v FROM {from}")
            } else {
                format!("SELECT CASE WHEN ({e}) THEN 1 ELSE 0 END AS v FROM {from}")
            }
        };
        (q(a), q(b))
    };
    let ddl_of = |types: &BTreeMap<String, Kind>, booleans: &BTreeSet<String>| {
        tables
            .iter()
            .map(|t| {
                let cols: Vec<String> = columns
                    .iter()
                    .map(|c| match types.get(c) {
                        Some(k) => format!("{c} {}", k.name()),
                        None if booleans.contains(c) => {
                            format!("{c} INTEGER CHECK ({c} IN (0, 1))")
                        }
                        None => format!("{c} INTEGER"),
                    })
                    .collect();
                format!("CREATE TABLE {t} ({});", cols.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let untyped = ddl_of(&BTreeMap::new(), &BTreeSet::new());
    let types = match Schema::from_ddl(&untyped) {
        Ok(s) => dates::date_columns(&[&left, &right], &s, "generic"),
        Err(_) => BTreeMap::new(),
    };
    FixturePair {
        left,
        right,
        ddl: ddl_of(&types, &n.booleans),
    }
}

#[cfg(test)]
mod tests {
    use super::fixture_pair;

    #[test]
    fn declares_what_the_pair_uses() {
        let p = fixture_pair(
            "DATE_TRUNC('year', x) = CAST('2021-01-01' AS DATE) OR y",
            "CAST(z AS DATE) > x",
            false,
        );
        assert_eq!(
            p.left,
            "SELECT CASE WHEN (DATE_TRUNC('year', x) = CAST('2021-01-01' AS DATE) OR y) THEN 1 ELSE 0 END AS v FROM t"
        );
        assert!(p.ddl.contains("x DATE,"), "{}", p.ddl);
        assert!(
            p.ddl.contains("y INTEGER CHECK (y IN (0, 1)),"),
            "{}",
            p.ddl
        );
        assert!(p.ddl.contains("z INTEGER);"), "{}", p.ddl);
        assert!(!p.ddl.contains("year"), "{}", p.ddl);
        let p = fixture_pair("t1.a = 39 AND t2.b = t1.a", "t1.a = 39 AND t2.b = 39", true);
        assert!(p.left.ends_with("FROM t1, t2"), "{}", p.left);
        assert!(p.ddl.contains("CREATE TABLE t2 (a INTEGER"), "{}", p.ddl);
        let p = fixture_pair(
            "DATE_TRUNC('week', CAST('2023-12-15' AS DATE))",
            "CAST('2023-12-11' AS DATE)",
            true,
        );
        assert_eq!(p.right, "SELECT CAST('2023-12-11' AS DATE) AS v FROM t");
        let p = fixture_pair(
            "SELECT t_bool.a AND TRUE FROM t_bool",
            "SELECT x1 FROM t_bool",
            true,
        );
        assert_eq!(p.left, "SELECT t_bool.a AND TRUE FROM t_bool");
        assert!(
            p.ddl
                .contains("\nCREATE TABLE t_bool (a INTEGER CHECK (a IN (0, 1)), b INTEGER"),
            "{}",
            p.ddl
        );
        assert!(p.ddl.contains(", x1 INTEGER);"), "{}", p.ddl);
        let p = fixture_pair("SELECT x WHERE TRUE", "SELECT x", false);
        assert_eq!(
            p.left,
            "SELECT CASE WHEN ((SELECT x WHERE TRUE)) THEN 1 ELSE 0 END AS v FROM t"
        );
    }
}
